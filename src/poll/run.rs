//! One run of one or more streams: how the writer plans its pages, each group's commit (the
//! writer and every sink at once, the cursor last), and the run's running totals.

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::group::{Counts, GroupInput, Plan};
use super::records::Records;
use super::{Engine, RunSummary, Shutdown, pipeline};
use crate::metrics;
use crate::okta::Stats;
use crate::store::{BackfillIndexes, RunId};

/// One run of one or more streams: how the writer plans its pages, and running totals.
pub(super) struct Run {
    pub engine: Engine,
    /// Each stream of the run with its run row, in order.
    pub runs: Vec<(&'static str, RunId)>,
    pub plan: Plan,
    summaries: BTreeMap<&'static str, RunSummary>,
    /// Client counters when the last group was committed.
    stats: Stats,
}

impl Run {
    pub fn new(engine: Engine, runs: Vec<(&'static str, RunId)>) -> Run {
        let summaries = runs
            .iter()
            .map(|(s, _)| {
                let summary = RunSummary {
                    stream: (*s).to_owned(),
                    ..RunSummary::default()
                };
                (*s, summary)
            })
            .collect();
        Run {
            stats: engine.client.stats(),
            plan: Plan {
                runs: runs.clone(),
                primary: runs.last().map(|(_, id)| *id),
                ..Plan::default()
            },
            engine,
            runs,
            summaries,
        }
    }

    pub fn into_summaries(self) -> Vec<RunSummary> {
        let mut summaries = self.summaries;
        self.runs
            .iter()
            .filter_map(|(s, _)| summaries.remove(s))
            .collect()
    }

    /// Drops `which` indexes of the state database's mirror for a backfill (none without one).
    pub async fn drop_backfill_indexes(&self, which: BackfillIndexes) -> anyhow::Result<()> {
        if self.engine.mirror_in_state {
            self.engine
                .writer
                .call(move |s| s.drop_backfill_indexes(which))
                .await?;
        }
        Ok(())
    }

    /// Builds those of `which` indexes a backfill dropped, once caught up.
    pub async fn ensure_backfill_indexes(&self, which: BackfillIndexes) -> anyhow::Result<()> {
        if !self.engine.mirror_in_state {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let built = self
            .engine
            .writer
            .call(move |s| s.ensure_backfill_indexes(which))
            .await?;
        if built {
            tracing::info!(
                indexes = ?which,
                seconds = started.elapsed().as_secs_f64(),
                "built the mirror's indexes after the backfill"
            );
        }
        Ok(())
    }

    /// Commits one group: the writer plans the deltas, every sink writes them while the writer
    /// writes the rows, and the transaction commits once every sink has them. A failure
    /// anywhere rolls the group back.
    pub async fn commit_group(
        &mut self,
        pages: Vec<Records>,
        cursors: Vec<(&'static str, String)>,
        positions: Vec<Option<String>>,
        shutdown: &Shutdown,
    ) -> anyhow::Result<()> {
        let now = self.engine.client.stats();
        let requests = now.requests - self.stats.requests;
        let rate_limited = now.rate_limited - self.stats.rate_limited;
        self.stats = now;
        let input = GroupInput {
            pages,
            plan: self.plan.clone(),
            cursors,
            requests,
            rate_limited,
            mirror: self.engine.mirror_in_state,
        };
        let handle = self.engine.writer.group(input);
        let mut grace = pipeline::grace(self.engine.stopping.clone(), shutdown);
        let stopped = || anyhow::anyhow!("the state database's thread has stopped");
        let planned = pipeline::within(handle.planned, &mut grace).await?;
        let (deltas, per_page) = planned.map_err(|_| stopped())??;
        let delivery = self.engine.sinks.send(deltas).wait();
        let delivered = pipeline::within(delivery, &mut grace).await?;
        let prepared = pipeline::within(handle.prepared, &mut grace).await?;
        delivered.context("delivering to the sinks")?;
        prepared
            .map_err(|_| stopped())?
            .context("writing the group")?;
        let _ = handle.verdict.send(true);
        pipeline::within(handle.done, &mut grace)
            .await?
            .map_err(|_| stopped())?
            .context("committing the cursor")?;
        self.count(&per_page, positions, requests, rate_limited);
        Ok(())
    }

    /// Adds a committed group to the summaries, the metrics and the activity.
    fn count(
        &mut self,
        per_page: &[Counts],
        positions: Vec<Option<String>>,
        requests: u64,
        rate_limited: u64,
    ) {
        let single = self.runs.len() == 1;
        let mut positions = positions.into_iter();
        for counts in per_page {
            let position = positions.next().flatten();
            for (stream, _) in &self.runs {
                let records = if single {
                    counts.values().sum()
                } else {
                    counts.get(stream).copied().unwrap_or(0)
                };
                metrics::global().page_committed(stream, &self.engine.sink_names, records);
                self.engine.activity.page(stream, records, position.clone());
                if let Some(s) = self.summaries.get_mut(stream) {
                    s.records += records;
                    s.pages += 1;
                }
            }
        }
        if let Some(primary) = self
            .runs
            .last()
            .and_then(|(s, _)| self.summaries.get_mut(s))
        {
            primary.requests += requests;
            primary.rate_limited += rate_limited;
        }
        tracing::debug!(pages = per_page.len(), "group committed");
    }
}
