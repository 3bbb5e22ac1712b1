//! The sync engine: the one place where a page from Okta, a sink write and a cursor commit meet.
//! Pages are committed in groups: every sink writes a group's deltas at once (stdout flushed,
//! files fsynced, separate mirrors committed) and only then does the state database commit the
//! group's cursors, together with the mirror rows when the mirror is the state database.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::sync::watch;

use crate::config::{PollerSettings, SyncSettings};
use crate::delta::stream;
use crate::metrics;
use crate::okta::OktaClient;
use crate::sink::{SinkError, Sinks};
use crate::store::{Store, is_directory};

pub mod activity;
mod app_users;
mod apps;
pub mod backoff;
mod directory;
pub mod directory_plan;
mod group;
mod group_members;
mod groups;
pub mod health;
mod logs;
mod page_run;
mod pipeline;
pub mod plan;
mod reconcile;
mod records;
mod run;
pub mod schedule;
mod tick;
mod users;
mod writer;

use activity::Activity;
use health::Expected;
use page_run::PageRun;
use run::Run;
use writer::Writer;

/// The pseudo-stream under which reconciliations are recorded in `runs`.
pub const RECONCILE: &str = "reconcile";

/// Tells running pollers to stop at the next safe point (between groups of pages).
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

/// True when `e` comes from stdout's reader having gone away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<SinkError>()
            .is_some_and(SinkError::is_broken_pipe)
    })
}

/// Client, state and sinks, shared by every poller.
#[derive(Clone)]
pub struct Engine {
    client: OktaClient,
    writer: Writer,
    sinks: Arc<Sinks>,
    mirror_in_state: bool,
    /// Some sink is outside the state database: diff pages are staged before delivery.
    stage_diffs: bool,
    settings: Arc<SyncSettings>,
    /// The sinks as metric labels (`stdout`, `file:PATH`, `sqlite:PATH`).
    sink_names: Arc<Vec<String>>,
    activity: Arc<Activity>,
    /// When a run first saw shutdown: every run's grace for a stuck sink ends a fixed time after.
    stopping: Arc<std::sync::OnceLock<tokio::time::Instant>>,
    /// Held while any clone lives: one writer per state database.
    _lock: Arc<std::fs::File>,
}

impl Engine {
    /// Opens the state database and every sink named in `settings`.
    pub fn open(client: OktaClient, settings: SyncSettings) -> anyhow::Result<Engine> {
        let lock = crate::store::lock_state(&settings.state)?;
        let store = Store::open_writer(&settings.state).with_context(|| {
            format!(
                "cannot open the state database {}",
                settings.state.display()
            )
        })?;
        let (sinks, specs) = Sinks::configured(&settings)?;
        let sink_names: Vec<String> = specs.iter().map(ToString::to_string).collect();
        let activity = restore_activity(&store, &settings, &sink_names)?;
        Ok(Engine {
            client,
            writer: Writer::spawn(store)?,
            mirror_in_state: sinks.mirrors_state(),
            stage_diffs: sinks.beyond_state(),
            sinks: Arc::new(sinks),
            settings: Arc::new(settings),
            sink_names: Arc::new(sink_names),
            activity: Arc::new(activity),
            stopping: Arc::default(),
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
        self.writer.call(Store::check_writable).await
    }

    /// A connection to the state database this engine commits to, for the event hook receiver
    /// in the same process (which holds the state lock through this engine). The receiver's
    /// commits wait for the writer's (SQLite's busy timeout) and never interleave with them.
    pub fn store_handle(&self) -> anyhow::Result<Arc<Mutex<Store>>> {
        let store = Store::open(&self.settings.state).with_context(|| {
            format!(
                "cannot open the state database {}",
                self.settings.state.display()
            )
        })?;
        Ok(Arc::new(Mutex::new(store)))
    }

    /// The sinks this engine delivers to, shared with the event hook receiver.
    pub fn sinks_handle(&self) -> Arc<Sinks> {
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

    /// The stored cursor of `stream`, if any.
    pub async fn cursor(&self, stream: &str) -> anyhow::Result<Option<String>> {
        let stream = stream.to_owned();
        self.writer.call(move |s| s.cursor(&stream)).await
    }

    /// Runs one poller (or [`RECONCILE`]) until it has caught up (or `shutdown` says stop),
    /// recording the run.
    pub async fn run_once(&self, stream: &str, shutdown: &Shutdown) -> anyhow::Result<RunSummary> {
        let mut summaries = self.run_streams(&[stream], shutdown).await?;
        summaries.pop().context("the run produced no summary")
    }

    /// Runs the streams together until caught up: `new_users` and `updated_users` share one
    /// scan of the users; `system_log` and [`RECONCILE`] run alone. Each stream's run is
    /// recorded in the state database.
    pub async fn run_streams(
        &self,
        streams: &[&str],
        shutdown: &Shutdown,
    ) -> anyhow::Result<Vec<RunSummary>> {
        let kind = Kind::of(streams)?;
        if let Kind::Directory(name) = kind {
            return Ok(vec![self.run_directory(name, shutdown).await?]);
        }
        let mut runs = Vec::new();
        for name in kind.streams(streams) {
            let id = self.writer.call(move |s| s.begin_run(name)).await?;
            self.activity.run_started(name);
            runs.push((name, id));
        }
        let mut run = Run::new(self.clone(), runs.clone());
        let result = match kind {
            Kind::Users => users::run(&mut run, shutdown).await,
            Kind::Logs => logs::run(&mut run, shutdown).await,
            Kind::Reconcile => reconcile::run(&mut run, shutdown).await,
            Kind::Directory(_) => unreachable!("directory streams run page by page above"),
        };
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let mut recorded = Ok(());
        for (name, id) in runs {
            let (ended, history) = (error.clone(), self.settings.run_history);
            let done = self
                .writer
                .call(move |s| {
                    s.end_run(id, ended.as_deref())?;
                    s.prune_runs(name, history.keep, history.keep_days)
                })
                .await;
            let failed = error
                .clone()
                .or_else(|| done.as_ref().err().map(|e| format!("{e:#}")));
            match &failed {
                Some(_) => metrics::global().run_failed(name),
                None => metrics::global().caught_up(name, chrono::Utc::now()),
            }
            self.activity.run_ended(name, failed);
            recorded = recorded.and(done.map(drop));
        }
        result?;
        recorded?;
        Ok(run.into_summaries())
    }

    /// Runs one directory stream page by page (see [`page_run`]), recording the run.
    async fn run_directory(
        &self,
        name: &'static str,
        shutdown: &Shutdown,
    ) -> anyhow::Result<RunSummary> {
        let poller = self
            .settings
            .poller(name)
            .with_context(|| format!("unknown stream {name:?}"))?
            .clone();
        let id = self.writer.call(move |s| s.begin_run(name)).await?;
        self.activity.run_started(name);
        let mut run = PageRun::new(self.clone(), poller, id, shutdown);
        let result = match name {
            stream::GROUPS => groups::run(&mut run, shutdown).await,
            stream::GROUP_MEMBERS => group_members::run(&mut run, shutdown).await,
            stream::APPS => apps::run(&mut run, shutdown).await,
            _ => app_users::run(&mut run, shutdown).await,
        };
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        let (ended, history) = (error.clone(), self.settings.run_history);
        let recorded = self
            .writer
            .call(move |s| {
                s.end_run(id, ended.as_deref())?;
                s.prune_runs(name, history.keep, history.keep_days)
            })
            .await;
        let error = error.or_else(|| recorded.as_ref().err().map(|e| format!("{e:#}")));
        match &error {
            Some(_) => metrics::global().run_failed(name),
            None => metrics::global().caught_up(name, chrono::Utc::now()),
        }
        self.activity.run_ended(name, error);
        recorded?;
        result.map(|()| run.summary)
    }

    /// The settings of an enabled poller, if it is one.
    fn poller(&self, stream: &str) -> Option<&PollerSettings> {
        self.settings.poller(stream).filter(|p| p.enabled)
    }
}

/// What a set of streams runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Users,
    Logs,
    Reconcile,
    /// One of the directory streams, which commit page by page.
    Directory(&'static str),
}

impl Kind {
    fn of(streams: &[&str]) -> anyhow::Result<Kind> {
        let users = [stream::NEW_USERS, stream::UPDATED_USERS];
        match streams {
            [] => anyhow::bail!("no stream to run"),
            [s] if *s == stream::SYSTEM_LOG => Ok(Kind::Logs),
            [s] if *s == RECONCILE => Ok(Kind::Reconcile),
            [s] if is_directory(s) => Ok(Kind::Directory(directory_name(s))),
            s if s.iter().all(|s| users.contains(s)) => Ok(Kind::Users),
            s => anyhow::bail!(
                "unknown stream or combination {s:?}: the streams are new_users, updated_users, \
                 system_log, groups, group_members, apps, app_users and reconcile; only the two \
                 users streams run together"
            ),
        }
    }

    /// The streams, as static names, in a fixed order.
    fn streams(self, asked: &[&str]) -> Vec<&'static str> {
        let all = [
            stream::NEW_USERS,
            stream::UPDATED_USERS,
            stream::SYSTEM_LOG,
            stream::GROUPS,
            stream::GROUP_MEMBERS,
            stream::APPS,
            stream::APP_USERS,
            RECONCILE,
        ];
        all.into_iter().filter(|s| asked.contains(s)).collect()
    }
}

/// The static name of a directory stream.
fn directory_name(s: &str) -> &'static str {
    [
        stream::GROUPS,
        stream::GROUP_MEMBERS,
        stream::APPS,
        stream::APP_USERS,
    ]
    .into_iter()
    .find(|d| *d == s)
    .unwrap_or(stream::APP_USERS)
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
