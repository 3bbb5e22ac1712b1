//! Reconciliation: one `search` over every user (all statuses, by `lastUpdated` so a user
//! changed meanwhile is found again further on, never skipped). Each version not yet emitted is
//! emitted (repairing what the search-index lag hid past the look-back window), and once the
//! scan is complete every user not found, and unchanged since the scan began, is tombstoned.

use chrono::Utc;

use super::pipeline::{self, Ended, Fetched, Scan};
use super::plan::{Want, okta_time};
use super::records;
use super::users::stored_cursor;
use super::{Run, Shutdown};
use crate::delta::stream;

/// Moves no cursor: a reconciliation starts from the beginning each time.
struct NoCursor;

impl Scan for NoCursor {
    fn advance(&mut self, _: &Fetched) -> Option<String> {
        None
    }

    fn cursors(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        Ok(Vec::new())
    }

    fn group_bytes(&self) -> usize {
        super::users::USERS_GROUP_BYTES
    }
}

pub(super) async fn run(run: &mut Run, shutdown: &Shutdown) -> anyhow::Result<()> {
    let started = okta_time(Utc::now());
    let lookback = run.engine.settings.lookback;
    for s in [stream::NEW_USERS, stream::UPDATED_USERS] {
        if run.engine.poller(s).is_some() {
            let floor = stored_cursor(run, s).await?.query_from(lookback);
            let want = Some(Want { floor });
            match s {
                stream::NEW_USERS => run.plan.new = want,
                _ => run.plan.updated = want,
            }
        }
    }
    run.plan.seen_at = Some(started.clone());
    let page_size = run
        .engine
        .settings
        .poller(stream::UPDATED_USERS)
        .map_or(200, |p| p.page_size)
        .to_string();
    let query = [
        ("search", "lastUpdated ge \"1970-01-01T00:00:00.000Z\""),
        ("sortBy", "lastUpdated"),
        ("sortOrder", "asc"),
        ("limit", page_size.as_str()),
    ];
    tracing::info!(since = %started, "reconciling every user");
    let pages = run.engine.client.pages("/api/v1/users", &query)?;
    let fetcher = pipeline::fetch_ahead(
        pages,
        None,
        records::users,
        false,
        super::users::USERS_GROUP_BYTES,
    )?;
    let ended = pipeline::drive(run, fetcher, &mut NoCursor, shutdown).await?;
    if ended != Ended::CaughtUp || *shutdown.borrow() {
        tracing::info!("reconciliation stopped before the end: no user is tombstoned this time");
        return Ok(());
    }
    run.plan.seen_at = None;
    run.plan.sweep = Some(started);
    run.commit_group(Vec::new(), Vec::new(), Vec::new(), shutdown)
        .await
}
