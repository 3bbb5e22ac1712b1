//! The `system_log` poller, by Okta's polling-query protocol: one query started from `since`,
//! then only `next` links; the last `next` link is the durable cursor, and an empty page means
//! caught up. When Okta rejects the stored link, or its position is older than Okta keeps
//! events, a new query starts a margin before the last delivered event; the mirror's uniqueness
//! on (published, uuid) keeps it exact.

use anyhow::{Context as _, bail};
use chrono::Utc;

use super::pipeline::{self, Ended, Fetched, Scan};
use super::plan::{
    BACKFILL_BEHIND, LogCursor, clamp_log_start, log_cursor_expired, log_restart, okta_time,
    parse_time,
};
use super::records::{self, Records};
use super::{Run, Shutdown};
use crate::delta::stream;
use crate::okta::{OktaError, Pages, Unparsed};
use crate::store::BackfillIndexes;

struct LogScan {
    cursor: LogCursor,
}

impl Scan for LogScan {
    fn advance(&mut self, page: &Fetched) -> Option<String> {
        if let Records::Events(events) = &page.records
            && let Some(last) = events.last()
        {
            self.cursor.last_published = Some(last.cols.published.clone());
        }
        match &page.next {
            Some(next) => {
                self.cursor.next = next.to_string();
                self.cursor.since = None;
            }
            None => tracing::warn!(
                stream = stream::SYSTEM_LOG,
                "Okta sent no next link on a polling query; the same page will be read again next run"
            ),
        }
        self.cursor.last_published.clone()
    }

    fn cursors(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        Ok(vec![(
            stream::SYSTEM_LOG,
            serde_json::to_string(&self.cursor)?,
        )])
    }
}

pub(super) async fn run(run: &mut Run, shutdown: &Shutdown) -> anyhow::Result<()> {
    let poller = run
        .engine
        .poller(stream::SYSTEM_LOG)
        .or(run.engine.settings.poller(stream::SYSTEM_LOG))
        .context("no system_log poller settings")?
        .clone();
    let (filter, q) = (poller.filter.clone(), poller.q.clone());
    let mut cursor = match run.engine.cursor(stream::SYSTEM_LOG).await? {
        Some(text) => serde_json::from_str::<LogCursor>(&text)
            .context("the stored system_log cursor is unreadable; reset it with `oktasync cursor reset system_log`")?,
        None => LogCursor { filter: filter.clone(), q: q.clone(), ..LogCursor::default() },
    };
    if cursor.filter != filter || cursor.q != q {
        bail!(
            "pollers.system_log filter or q changed since the cursor was saved (was filter={:?} q={:?}); \
             run `oktasync cursor reset system_log` (optionally --to WHEN) to start a new query",
            cursor.filter,
            cursor.q
        );
    }
    run.plan.tombstones = [stream::NEW_USERS, stream::UPDATED_USERS]
        .iter()
        .any(|s| run.engine.poller(s).is_some());
    let backfill = is_backfill(&cursor);
    if backfill {
        run.drop_backfill_indexes(BackfillIndexes::SystemLog)
            .await?;
    }
    let (pages, first) = open_query(run, &mut cursor).await?;
    let fetcher =
        pipeline::fetch_ahead(pages, first, records::events, true, pipeline::GROUP_BYTES)?;
    let mut scan = LogScan { cursor };
    let ended = pipeline::drive(run, fetcher, &mut scan, shutdown).await?;
    if ended == Ended::CaughtUp {
        upkeep(run).await?;
    }
    Ok(())
}

/// With no position, or one more than a day old, the run is a backfill.
fn is_backfill(cursor: &LogCursor) -> bool {
    let last = cursor.last_published.as_deref().and_then(parse_time);
    cursor.next.is_empty() || last.is_none_or(|t| Utc::now() - t > BACKFILL_BEHIND)
}

/// Once caught up: the actor index back (if a backfill dropped it), and old events pruned.
async fn upkeep(run: &Run) -> anyhow::Result<()> {
    if run.engine.mirror_in_state {
        run.ensure_backfill_indexes(BackfillIndexes::SystemLog)
            .await?;
        if let Some(days) = run.engine.settings.system_log_retention_days {
            let pruned = run
                .engine
                .writer
                .call(move |s| s.prune_events(days))
                .await?;
            if pruned > 0 {
                tracing::info!(
                    count = pruned,
                    days,
                    "pruned System Log events past sync.system_log_retention_days"
                );
            }
        }
    }
    Ok(())
}

/// The pages to read: the stored link's, or a new query's when there is none, when its
/// position is past retention, or when Okta rejects it. Returns the first page if it had to be
/// fetched to find that out.
async fn open_query(
    run: &Run,
    cursor: &mut LogCursor,
) -> anyhow::Result<(Pages, Option<Unparsed>)> {
    let now = Utc::now();
    if cursor.next.is_empty() {
        return Ok((new_query(run, cursor.since.clone())?, None));
    }
    if log_cursor_expired(cursor, now) {
        return restart(
            run,
            cursor,
            "its position is older than Okta keeps events (90 days)",
        );
    }
    let mut pages = run.engine.client.pages_from(&cursor.next)?;
    match pages.next_unparsed().await {
        Ok(first) => Ok((pages, first)),
        Err(e) if rejected(&e) => restart(run, cursor, &format!("Okta rejected it ({e})")),
        Err(e) => Err(e.into()),
    }
}

/// A 4xx other than authentication, authorization or rate limiting: the link itself is bad.
fn rejected(e: &OktaError) -> bool {
    e.status()
        .is_some_and(|s| (400..500).contains(&s) && ![401, 403, 429].contains(&s))
}

/// Starts a new query a margin before the last delivered event, saying what may be missing.
fn restart(
    run: &Run,
    cursor: &mut LogCursor,
    why: &str,
) -> anyhow::Result<(Pages, Option<Unparsed>)> {
    let since = match log_restart(cursor, Utc::now()) {
        Some((since, lost)) => {
            let lost = lost.map_or_else(
                || {
                    format!(
                        "events persisted late with a published time before {}",
                        okta_time(since)
                    )
                },
                |window| format!("events published from {window}, which Okta no longer keeps"),
            );
            tracing::warn!(stream = stream::SYSTEM_LOG, since = %okta_time(since), missing = %lost,
                "the stored System Log position cannot be resumed ({why}): starting a new query; may be missing: {lost}");
            Some(okta_time(since))
        }
        None => {
            tracing::warn!(
                stream = stream::SYSTEM_LOG,
                "the stored System Log position cannot be resumed ({why}) and no event was delivered yet: starting from pollers.system_log.start"
            );
            None
        }
    };
    cursor.next.clear();
    Ok((new_query(run, since)?, None))
}

/// A new polling query from `since` (else the configured start), clamped to retention,
/// ascending, with the configured filter and keywords.
fn new_query(run: &Run, since: Option<String>) -> anyhow::Result<Pages> {
    let poller = run
        .engine
        .settings
        .poller(stream::SYSTEM_LOG)
        .context("no system_log poller settings")?;
    let now = Utc::now();
    let start = since
        .as_deref()
        .and_then(parse_time)
        .unwrap_or_else(|| poller.start.resolve(now));
    let (since, clamped) = clamp_log_start(start, now);
    if clamped {
        tracing::warn!(stream = stream::SYSTEM_LOG, since = %okta_time(since), "start is older than Okta keeps events (90 days): starting at the oldest retained");
    }
    let mut query = vec![
        ("since", okta_time(since)),
        ("sortOrder", "ASCENDING".to_owned()),
        ("limit", poller.page_size.to_string()),
    ];
    query.extend(poller.filter.clone().map(|f| ("filter", f)));
    query.extend(poller.q.clone().map(|q| ("q", q)));
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(run.engine.client.pages("/api/v1/logs", &query)?)
}
