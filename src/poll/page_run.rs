//! The directory streams' commit path: one page at a time on the engine's one writer. A page is
//! staged in `pending_deltas` first when it is a diff and some sink lies beyond the state
//! database, then delivered to every sink, then committed with its cursor, its mirror rows and
//! its marks in one transaction (which also clears the staged copy). A crash between delivery and
//! commit repeats the page, never skips it.

use anyhow::Context as _;

use super::{Engine, RunSummary, Shutdown, pipeline, stopped};
use crate::config::PollerSettings;
use crate::metrics;
use crate::okta::{Page, Pages, Stats};
use crate::sink::Delta;
use crate::store::{Mark, PageCommit, RunId, Store, StoreError, stages_pages};

/// One run of one directory poller: its settings and running totals.
pub(super) struct PageRun {
    pub engine: Engine,
    pub poller: PollerSettings,
    pub id: RunId,
    pub summary: RunSummary,
    /// Client counters when the last page was committed.
    stats: Stats,
    /// Bounds a stuck sink's hold on shutdown, as for the grouped streams.
    shutdown: Shutdown,
}

impl PageRun {
    pub fn new(engine: Engine, poller: PollerSettings, id: RunId, shutdown: &Shutdown) -> PageRun {
        PageRun {
            shutdown: shutdown.clone(),
            stats: engine.client.stats(),
            summary: RunSummary {
                stream: poller.stream.to_owned(),
                ..RunSummary::default()
            },
            engine,
            poller,
            id,
        }
    }

    /// Delivers `deltas` to every sink, then commits `cursor` (with the mirror rows).
    /// `position` is the newest record time the cursor has now passed.
    pub async fn commit(
        &mut self,
        deltas: Vec<Delta>,
        cursor: String,
        position: Option<String>,
    ) -> anyhow::Result<()> {
        self.commit_marked(deltas, cursor, position, Vec::new())
            .await
    }

    /// [`PageRun::commit`], with `marks` committed in the same transaction as the rows.
    pub async fn commit_marked(
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
        self.summary.records += records;
        self.summary.pages += 1;
        self.summary.requests += requests;
        self.summary.rate_limited += rate_limited;
        let stream = self.poller.stream;
        let stage = self.engine.stage_diffs && stages_pages(stream) && !deltas.is_empty();
        let deltas = std::sync::Arc::new(deltas);
        if stage {
            let staged = deltas.clone();
            self.engine
                .writer
                .call(move |s| s.stage_pending(stream, &staged))
                .await
                .context("staging the page")?;
        }
        let mut grace = pipeline::grace(self.engine.stopping.clone(), &self.shutdown);
        let delivery = self.engine.sinks.send(deltas.clone()).wait();
        pipeline::within(delivery, &mut grace)
            .await?
            .context("delivering to the sinks")?;
        let (run, mirror) = (self.id, self.engine.mirror_in_state);
        self.engine
            .writer
            .call(move |s| {
                s.commit_page(&PageCommit {
                    stream,
                    run,
                    cursor: &cursor,
                    deltas: &deltas,
                    mirror,
                    requests,
                    rate_limited,
                    marks: &marks,
                })
            })
            .await
            .context("committing the cursor")?;
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

impl Engine {
    /// Runs blocking store work on the writer thread.
    pub(super) async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> anyhow::Result<T> {
        self.writer.call(f).await
    }
}

/// Fetches pages one ahead of the one being delivered, so Okta and the sinks work at once.
/// Returns `None` when the list has ended or `shutdown` fired before the next page arrived.
pub(super) struct Prefetch {
    pending: Option<tokio::task::JoinHandle<Fetched>>,
}

/// A fetch hands the `Pages` back with its result so the next fetch can continue from it.
type Fetched = (Pages, Result<Option<Page>, crate::okta::OktaError>);

impl Prefetch {
    pub fn start(pages: Pages) -> Prefetch {
        Prefetch {
            pending: Some(tokio::spawn(fetch(pages))),
        }
    }

    /// The next page; `keep_going` decides whether to fetch the one after it meanwhile.
    pub async fn next(
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

async fn fetch(mut pages: Pages) -> Fetched {
    let page = pages.next_page().await;
    (pages, page)
}
