//! The sync engine: the one place where a page from Okta, a sink write and a cursor commit meet.
//! Each page is delivered to every sink (flushed, fsynced) and only then is its cursor committed,
//! together with the mirror rows when the mirror is the state database.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::sync::watch;

use crate::config::{PollerSettings, SyncSettings};
use crate::metrics;
use crate::okta::{OktaClient, Page, Pages, Stats};
use crate::sink::{Delta, Rotation, SinkSpec, Sinks};
use crate::store::{Mark, PageCommit, RunId, Store, stages_pages};

pub mod activity;
mod app_users;
mod apps;
mod directory;
pub mod directory_plan;
mod group_members;
mod groups;
pub mod health;
mod logs;
pub mod plan;
pub mod schedule;
mod users;

use activity::Activity;
use health::Expected;

/// Tells running pollers to stop at the next safe point (between pages).
pub type Shutdown = watch::Receiver<bool>;

/// What one run of one poller did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunSummary {
    pub stream: String,
    pub records: u64,
    pub pages: u64,
    pub requests: u64,
    pub rate_limited: u64,
}

/// Client, state and sinks, shared by every poller.
#[derive(Clone)]
pub struct Engine {
    client: OktaClient,
    store: Arc<Mutex<Store>>,
    sinks: Arc<Mutex<Sinks>>,
    mirror_in_state: bool,
    /// Some sink is outside the state database: diff pages are staged before delivery.
    stage_diffs: bool,
    settings: Arc<SyncSettings>,
    /// The sinks as metric labels (`stdout`, `file:PATH`, `sqlite:PATH`).
    sink_names: Arc<Vec<String>>,
    activity: Arc<Activity>,
    /// Held while any clone lives: one writer per state database.
    _lock: Arc<std::fs::File>,
}

impl Engine {
    /// Opens the state database and every sink named in `settings`.
    pub fn open(client: OktaClient, settings: SyncSettings) -> anyhow::Result<Engine> {
        let specs = settings
            .sink_specs()
            .iter()
            .map(|s| {
                s.parse::<SinkSpec>()
                    .with_context(|| format!("sync.sinks: {s:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let lock = crate::store::lock_state(&settings.state)?;
        let store = Store::open(&settings.state).with_context(|| {
            format!(
                "cannot open the state database {}",
                settings.state.display()
            )
        })?;
        let rotation = Rotation {
            max_bytes: settings.rotate_bytes,
            daily: settings.rotate_daily,
        };
        let sinks =
            Sinks::open(&specs, &settings.state, rotation).context("cannot open the sinks")?;
        let sink_names: Vec<String> = specs.iter().map(ToString::to_string).collect();
        let activity = restore_activity(&store, &settings, &sink_names)?;
        Ok(Engine {
            client,
            mirror_in_state: sinks.mirrors_state(),
            stage_diffs: sinks.beyond_state(),
            store: Arc::new(Mutex::new(store)),
            sinks: Arc::new(Mutex::new(sinks)),
            settings: Arc::new(settings),
            sink_names: Arc::new(sink_names),
            activity: Arc::new(activity),
            _lock: Arc::new(lock),
        })
    }

    /// What each poller is doing.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// The enabled pollers and how often each is expected to run, from its cron schedule.
    pub fn expected(&self) -> Vec<Expected> {
        let now = chrono::Utc::now();
        self.settings
            .pollers
            .iter()
            .filter(|p| p.enabled)
            .map(|p| Expected {
                stream: p.stream,
                interval: health::expected_interval(&p.schedule, now)
                    .unwrap_or(std::time::Duration::from_secs(300)),
            })
            .collect()
    }

    /// Fails unless the state database answers a write.
    pub async fn check_writable(&self) -> anyhow::Result<()> {
        self.with_store(Store::check_writable).await
    }

    /// The state database this engine commits to, for the event hook receiver in the same
    /// process (one connection, one writer).
    pub fn store_handle(&self) -> Arc<Mutex<Store>> {
        self.store.clone()
    }

    /// The sinks this engine delivers to, shared the same way.
    pub fn sinks_handle(&self) -> Arc<Mutex<Sinks>> {
        self.sinks.clone()
    }

    /// True when a `sqlite:` sink is the state database itself.
    pub fn mirrors_state(&self) -> bool {
        self.mirror_in_state
    }

    /// The sinks as metric labels.
    pub fn sink_names(&self) -> Vec<String> {
        self.sink_names.to_vec()
    }

    pub fn state_path(&self) -> PathBuf {
        self.settings.state.clone()
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// Runs one poller until it has caught up (or `shutdown` says stop), recording the run.
    pub async fn run_once(&self, stream: &str, shutdown: &Shutdown) -> anyhow::Result<RunSummary> {
        let poller = self
            .settings
            .poller(stream)
            .with_context(|| format!("unknown stream {stream:?}"))?
            .clone();
        let stream_name = poller.stream;
        let run_id = self.with_store(move |s| s.begin_run(stream_name)).await?;
        self.activity.run_started(stream_name);
        let mut run = Run {
            engine: self.clone(),
            poller,
            id: run_id,
            summary: RunSummary::default(),
            stats: self.client.stats(),
        };
        run.summary.stream = stream.to_owned();
        let result = match stream {
            "system_log" => logs::run(&mut run, shutdown).await,
            "groups" => groups::run(&mut run, shutdown).await,
            "group_members" => group_members::run(&mut run, shutdown).await,
            "apps" => apps::run(&mut run, shutdown).await,
            "app_users" => app_users::run(&mut run, shutdown).await,
            _ => users::run(&mut run, shutdown).await,
        };
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let ended = error.clone();
        let recorded = self
            .with_store(move |s| s.end_run(run_id, ended.as_deref()))
            .await;
        let error = error.or_else(|| recorded.as_ref().err().map(|e| format!("{e:#}")));
        match &error {
            Some(_) => metrics::global().run_failed(stream_name),
            None => metrics::global().caught_up(stream_name, chrono::Utc::now()),
        }
        self.activity.run_ended(stream_name, error);
        recorded?;
        result.map(|()| run.summary)
    }

    /// Runs blocking store work off the async threads.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> anyhow::Result<T> {
        let store = self.store.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .context("store task failed")??;
        Ok(out)
    }

    /// The stored cursor of `stream`, if any.
    pub async fn cursor(&self, stream: &str) -> anyhow::Result<Option<String>> {
        let stream = stream.to_owned();
        self.with_store(move |s| s.cursor(&stream)).await
    }
}

/// One run of one poller: its settings and running totals.
struct Run {
    engine: Engine,
    poller: PollerSettings,
    id: RunId,
    summary: RunSummary,
    /// Client counters when the last page was committed.
    stats: Stats,
}

impl Run {
    /// Delivers `deltas` to every sink, then commits `cursor` (with the mirror rows when the
    /// mirror is the state database). A crash between the two repeats this page, never skips it.
    /// `position` is the newest record time the cursor has now passed.
    async fn commit(
        &mut self,
        deltas: Vec<Delta>,
        cursor: String,
        position: Option<String>,
    ) -> anyhow::Result<()> {
        self.commit_marked(deltas, cursor, position, Vec::new())
            .await
    }

    /// [`Run::commit`], with `marks` committed in the same transaction as the rows.
    async fn commit_marked(
        &mut self,
        deltas: Vec<Delta>,
        cursor: String,
        position: Option<String>,
        marks: Vec<Mark>,
    ) -> anyhow::Result<()> {
        let records = deltas.len() as u64;
        let now = self.engine.client.stats();
        let requests = now.requests - self.stats.requests;
        let rate_limited = now.rate_limited - self.stats.rate_limited;
        self.stats = now;
        self.summary.records += deltas.len() as u64;
        self.summary.pages += 1;
        self.summary.requests += requests;
        self.summary.rate_limited += rate_limited;
        let (sinks, store) = (self.engine.sinks.clone(), self.engine.store.clone());
        let (stream, run, mirror) = (self.poller.stream, self.id, self.engine.mirror_in_state);
        let stage = self.engine.stage_diffs && stages_pages(stream) && !deltas.is_empty();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let page = PageCommit {
                stream,
                run,
                cursor: &cursor,
                deltas: &deltas,
                mirror,
                requests,
                rate_limited,
                marks: &marks,
            };
            write_page(&sinks, &store, &page, stage)
        })
        .await
        .context("commit task failed")??;
        metrics::global().page_committed(stream, &self.engine.sink_names, records);
        self.engine.activity.page(stream, records, position);
        tracing::debug!(
            stream,
            count = self.summary.records,
            pages = self.summary.pages,
            "page committed"
        );
        Ok(())
    }
}

/// Stages the page (when `stage`), delivers it to every sink, then commits it: blocking work.
fn write_page(
    sinks: &Mutex<Sinks>,
    store: &Mutex<Store>,
    page: &PageCommit<'_>,
    stage: bool,
) -> anyhow::Result<()> {
    let lock_store = || store.lock().unwrap_or_else(|p| p.into_inner());
    if stage {
        lock_store()
            .stage_pending(page.stream, page.deltas)
            .context("staging the page")?;
    }
    sinks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .deliver(page.deltas)
        .context("delivering to the sinks")?;
    lock_store()
        .commit_page(page)
        .context("committing the cursor")
}

/// Fetches pages one ahead of the one being delivered, so Okta and the sinks work at once.
/// Returns `None` when the list has ended or `shutdown` fired before the next page arrived.
struct Prefetch {
    pending: Option<tokio::task::JoinHandle<Fetched>>,
}

/// A fetch hands the `Pages` back with its result so the next fetch can continue from it.
type Fetched = (Pages, Result<Option<Page>, crate::okta::OktaError>);

impl Prefetch {
    fn start(pages: Pages) -> Prefetch {
        Prefetch {
            pending: Some(tokio::spawn(fetch(pages))),
        }
    }

    /// The next page; `keep_going` decides whether to fetch the one after it meanwhile.
    async fn next(
        &mut self,
        shutdown: &mut Shutdown,
        keep_going: impl Fn(&Page) -> bool,
    ) -> anyhow::Result<Option<Page>> {
        let Some(handle) = self.pending.take() else {
            return Ok(None);
        };
        if *shutdown.borrow() {
            handle.abort();
            return Ok(None);
        }
        let abort = handle.abort_handle();
        let (pages, page) = tokio::select! {
            joined = handle => joined.context("page fetch task failed")?,
            () = stopped(shutdown) => { abort.abort(); return Ok(None) }
        };
        let page = page?;
        if let Some(p) = &page
            && p.next.is_some()
            && keep_going(p)
        {
            self.pending = Some(tokio::spawn(fetch(pages)));
        }
        Ok(page)
    }
}

/// Resolves once shutdown is signalled; never, if the sender is gone without signalling.
pub async fn stopped(shutdown: &mut Shutdown) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The pollers' state as the database left it: last successes for `/readyz`, the status line and
/// the cursor-lag metric, and every stream and sink series created at zero.
fn restore_activity(
    store: &Store,
    settings: &SyncSettings,
    sink_names: &[String],
) -> anyhow::Result<Activity> {
    let activity = Activity::default();
    let enabled: Vec<&'static str> = settings
        .pollers
        .iter()
        .filter(|p| p.enabled)
        .map(|p| p.stream)
        .collect();
    metrics::global().init_streams(&enabled, sink_names);
    for status in store.status().context("cannot read the run history")? {
        let Some(stream) = enabled.iter().find(|s| **s == status.stream) else {
            continue;
        };
        let last = status.last_success_at.as_deref().and_then(plan::parse_time);
        if let Some(at) = last {
            metrics::global().caught_up(stream, at);
        }
        activity.restored(stream, last);
    }
    Ok(activity)
}

async fn fetch(mut pages: Pages) -> Fetched {
    let page = pages.next_page().await;
    (pages, page)
}
