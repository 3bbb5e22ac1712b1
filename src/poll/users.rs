//! The `new_users` and `updated_users` pollers: a `search` from the high-water mark minus the
//! look-back window, sorted ascending, read page by page. When both run they share one scan by
//! `lastUpdated` (a user's `lastUpdated` is never before its `created`, so that scan holds every
//! user `new_users` wants too), and each user is read once, not twice.

use anyhow::Context as _;
use chrono::Utc;

use super::pipeline::{self, Ended, Fetched, Scan};
use super::plan::{BACKFILL_BEHIND, UsersCursor, Want, after, parse_time};
use super::records::{self, Records};
use super::{Run, Shutdown};
use crate::delta::stream;
use crate::store::BackfillIndexes;

/// Bytes of users at which a group closes. Larger than for events: the users tables' indexes on
/// id, login and email take inserts all over, so a commit rewrites most of their pages whatever
/// its size, and fewer, larger groups rewrite them less often (10,000 users, the row cap, is
/// about 9 MB).
pub(super) const USERS_GROUP_BYTES: usize = 16 << 20;

/// The cursors of the streams a users scan feeds, moved by `created` or by `lastUpdated`.
struct UsersScan {
    cursors: Vec<(&'static str, UsersCursor)>,
    by_created: bool,
}

impl Scan for UsersScan {
    fn advance(&mut self, page: &Fetched) -> Option<String> {
        let Records::Users(users) = &page.records else {
            return None;
        };
        for user in users {
            let key = if self.by_created {
                user.cols.created.as_deref()
            } else {
                user.cols.last_updated.as_deref()
            };
            if let Some(t) = key {
                for (_, cursor) in &mut self.cursors {
                    cursor.advance(t);
                }
            }
        }
        self.cursors.first().map(|(_, c)| c.hwm.clone())
    }

    fn cursors(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        self.cursors
            .iter()
            .map(|(s, c)| Ok((*s, serde_json::to_string(c)?)))
            .collect()
    }

    fn group_bytes(&self) -> usize {
        USERS_GROUP_BYTES
    }
}

pub(super) async fn run(run: &mut Run, shutdown: &Shutdown) -> anyhow::Result<()> {
    let lookback = run.engine.settings.lookback;
    let mut cursors = Vec::new();
    for (stream, _) in run.runs.clone() {
        cursors.push((stream, stored_cursor(run, stream).await?));
    }
    let want = |s: &str| {
        cursors.iter().find(|(c, _)| *c == s).map(|(_, c)| Want {
            floor: c.query_from(lookback),
        })
    };
    run.plan.new = want(stream::NEW_USERS);
    run.plan.updated = want(stream::UPDATED_USERS);
    let by_created = run.plan.updated.is_none();
    let field = if by_created { "created" } else { "lastUpdated" };
    let from = [&run.plan.new, &run.plan.updated]
        .into_iter()
        .flatten()
        .map(|w| w.floor.clone())
        .reduce(|a, b| if after(&a, &b) { b } else { a })
        .context("a users run without a users stream")?;
    let page_size = run
        .runs
        .iter()
        .filter_map(|(s, _)| run.engine.settings.poller(s).map(|p| p.page_size))
        .min()
        .unwrap_or(200);
    let search = format!("{field} ge \"{from}\"");
    let limit = page_size.to_string();
    let query = [
        ("search", search.as_str()),
        ("sortBy", field),
        ("sortOrder", "asc"),
        ("limit", limit.as_str()),
    ];
    tracing::info!(stream = run.runs[0].0, search = %search, "polling users");
    if parse_time(&from).is_none_or(|t| Utc::now() - t > BACKFILL_BEHIND) {
        run.drop_backfill_indexes(BackfillIndexes::Users).await?;
    }
    let pages = run.engine.client.pages("/api/v1/users", &query)?;
    let fetcher = pipeline::fetch_ahead(pages, None, records::users, false, USERS_GROUP_BYTES)?;
    let mut scan = UsersScan {
        cursors,
        by_created,
    };
    let ended = pipeline::drive(run, fetcher, &mut scan, shutdown).await?;
    if ended == Ended::CaughtUp {
        run.ensure_backfill_indexes(BackfillIndexes::Users).await?;
    }
    Ok(())
}

/// The stored cursor of a users stream, or one at its configured start.
pub(super) async fn stored_cursor(run: &Run, stream: &'static str) -> anyhow::Result<UsersCursor> {
    Ok(match run.engine.cursor(stream).await? {
        Some(text) => serde_json::from_str::<UsersCursor>(&text).with_context(|| {
            format!(
                "the stored {stream} cursor is unreadable; reset it with `oktasync cursor reset {stream}`"
            )
        })?,
        None => {
            let start = run.engine.settings.poller(stream).map(|p| p.start);
            UsersCursor::starting_at(start.map_or(Utc::now(), |s| s.resolve(Utc::now())))
        }
    })
}
