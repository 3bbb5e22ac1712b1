//! The values the state database hands out and takes in: run ids, page commits, and the
//! per-stream status that `oktasync status` prints.

use serde::Serialize;

use crate::delta::Delta;

/// A row in `runs`, from [`Store::begin_run`](super::Store::begin_run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunId(pub i64);

/// One page, committed by [`Store::commit_page`](super::Store::commit_page) in a single transaction.
#[derive(Debug, Clone, Copy)]
pub struct PageCommit<'a> {
    /// The cursor's stream name.
    pub stream: &'a str,
    /// The run whose counters grow.
    pub run: RunId,
    /// The new cursor value: opaque text chosen by the poller.
    pub cursor: &'a str,
    /// The page's deltas; `deltas.len()` is added to the run's records.
    pub deltas: &'a [Delta],
    /// Also upsert the deltas into this database's mirror tables.
    pub mirror: bool,
    /// HTTP requests made for this page.
    pub requests: u64,
    /// Rate-limited responses met for this page.
    pub rate_limited: u64,
    /// Bookkeeping that moves with the page's rows.
    pub marks: &'a [Mark],
}

/// State a page commits besides its rows and cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// `group`'s members in the mirror are those of its `lastMembershipUpdated` `at`.
    MembersSynced { group: String, at: String },
}

/// What `oktasync status` shows for one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamStatus {
    pub stream: String,
    pub cursor: Option<String>,
    pub cursor_updated_at: Option<String>,
    /// When the latest run that ended without error ended.
    pub last_success_at: Option<String>,
    /// The latest run, finished or not; its `error` is set if it failed.
    pub last_run: Option<RunStatus>,
    /// Runs that failed since the last success.
    pub failures: u64,
    /// Records committed over all runs of this stream (pruned runs included).
    pub total_records: u64,
}

/// One row of `runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunStatus {
    pub id: i64,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub records: u64,
    pub requests: u64,
    pub rate_limited: u64,
    pub error: Option<String>,
}

/// Row counts of the mirror tables (users not deleted in Okta).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MirrorCounts {
    pub users: u64,
    pub system_log: u64,
}
