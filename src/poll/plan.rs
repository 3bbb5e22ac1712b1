//! Cursor planning, with no I/O: where a users query starts, which users of a page are news on
//! which stream, when a user counts as deleted, and where a System Log query starts or restarts.
//! Every rule that decides completeness lives here so it can be tested with plain tables.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::store::UserState;

/// A backlog older than this is a backfill: the mirror's random-order indexes are dropped while
/// it runs (the System Log's actor index; the users' login and email indexes).
pub const BACKFILL_BEHIND: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Okta's timestamp format: UTC with milliseconds, e.g. `2026-01-31T09:00:00.000Z`.
pub fn okta_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an Okta timestamp; `None` when it is not RFC 3339.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// True when timestamp `a` is after `b` (by time when both parse, else as text). Two
/// timestamps in Okta's own format compare as text without parsing.
pub fn after(a: &str, b: &str) -> bool {
    if okta_format(a) && okta_format(b) {
        return a > b;
    }
    match (parse_time(a), parse_time(b)) {
        (Some(a), Some(b)) => a > b,
        _ => a > b,
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: UTC with milliseconds, which sorts as text.
fn okta_format(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    b.len() == 24
        && digits.iter().all(|i| b[*i].is_ascii_digit())
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ]
        .iter()
        .all(|(i, c)| b[*i] == *c)
}

/// `t` minus `d`, as an Okta timestamp (`t` itself when it does not parse).
fn minus(t: &str, d: Duration) -> String {
    match parse_time(t) {
        Some(t) => okta_time(t - chrono::Duration::from_std(d).unwrap_or_default()),
        None => t.to_owned(),
    }
}

/// Where a users poller stands: the highest timestamp it has passed. What it emitted per user
/// is kept in the state database's `user_state` table, not here, so this stays small whatever
/// the burst.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsersCursor {
    pub hwm: String,
}

impl UsersCursor {
    pub fn starting_at(t: DateTime<Utc>) -> UsersCursor {
        UsersCursor { hwm: okta_time(t) }
    }

    /// The lower bound of the next query: the high-water mark minus the look-back window, since
    /// Okta's search index may show a record some time after its timestamp.
    pub fn query_from(&self, lookback: Duration) -> String {
        minus(&self.hwm, lookback)
    }

    /// Moves the high-water mark up to `t` if `t` is later.
    pub fn advance(&mut self, t: &str) {
        if after(t, &self.hwm) {
            self.hwm = t.to_owned();
        }
    }
}

/// What one users stream wants from a page: users whose version it has not emitted, at or
/// after `floor` (the start of its query window) when it never emitted them at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub floor: String,
}

/// One user as a page shows it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub created: Option<&'a str>,
    pub last_updated: &'a str,
}

/// Which streams get this user, and the user's state after the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPlan {
    pub new: bool,
    pub updated: bool,
    pub state: UserState,
}

/// Decides whether a user seen on a page is news for `new_users` and `updated_users`. A copy no
/// newer than the user's deletion is stale (the search index lags) and changes nothing; a newer
/// one means the user exists after all.
pub fn plan_user(
    known: Option<&UserState>,
    seen: Seen<'_>,
    new: Option<&Want>,
    updated: Option<&Want>,
) -> Option<UserPlan> {
    let mut state = known.cloned().unwrap_or_default();
    if let Some(deleted) = &state.deleted_at
        && !after(seen.last_updated, deleted)
    {
        return None;
    }
    let created = seen.created.unwrap_or(seen.last_updated);
    let new = new.is_some_and(|w| !state.new_emitted && !after(&w.floor, created));
    let updated = updated.is_some_and(|w| match &state.emitted {
        Some(emitted) => after(seen.last_updated, emitted),
        None => !after(&w.floor, seen.last_updated),
    });
    state.created = seen.created.map(str::to_owned).or(state.created);
    if known.is_none() || after(seen.last_updated, &state.last_updated) {
        state.last_updated = seen.last_updated.to_owned();
    }
    state.new_emitted |= new;
    if updated {
        state.emitted = Some(seen.last_updated.to_owned());
    }
    state.deleted_at = None;
    let changed = known != Some(&state);
    (new || updated || changed).then_some(UserPlan {
        new,
        updated,
        state,
    })
}

/// The state of a user deleted at `at`, or `None` when there is nothing to tombstone: it is
/// already tombstoned, or a version newer than `at` was seen (so it existed after).
pub fn plan_tombstone(known: Option<&UserState>, at: &str) -> Option<UserState> {
    let mut state = known.cloned().unwrap_or_else(|| UserState {
        last_updated: at.to_owned(),
        ..UserState::default()
    });
    if state.deleted_at.is_some() || after(&state.last_updated, at) {
        return None;
    }
    state.deleted_at = Some(at.to_owned());
    Some(state)
}

/// Where the System Log poller stands: the last `next` link of its polling query, and the query
/// it belongs to, so a changed filter is noticed instead of silently mixing two queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogCursor {
    /// Empty until a query has started: the next run starts one `since` (or the configured start).
    pub next: String,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    /// `published` of the last event delivered: for `status`, and to restart a lost query.
    #[serde(default)]
    pub last_published: Option<String>,
    /// Where a new query starts (from `cursor reset system_log --to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// The oldest `since` Okta serves: events older than 90 days are gone.
pub const LOG_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// How far before the last delivered event a restarted query begins, for events Okta persisted
/// late (their `published` is older than their place in the old query).
pub const LOG_RESTART_MARGIN: Duration = Duration::from_secs(15 * 60);

/// Clamps a System Log start to the retention window. Returns the start and whether it moved.
pub fn clamp_log_start(start: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, bool) {
    let oldest = now - chrono::Duration::from_std(LOG_RETENTION).unwrap_or_default();
    if start < oldest {
        (oldest, true)
    } else {
        (start, false)
    }
}

/// True when the cursor's last event is older than Okta keeps events: its link is useless.
pub fn log_cursor_expired(cursor: &LogCursor, now: DateTime<Utc>) -> bool {
    let last = cursor.last_published.as_deref().and_then(parse_time);
    !cursor.next.is_empty() && last.is_some_and(|t| clamp_log_start(t, now).1)
}

/// Where to start again after the stored link was lost: the last event's `published` minus the
/// margin, clamped to retention. `None` without a last event (use the configured start).
/// The second value is the window that may be missing, if any: from the last event to the
/// oldest retained one when clamping cut it off.
pub fn log_restart(
    cursor: &LogCursor,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Option<String>)> {
    let last = parse_time(cursor.last_published.as_deref()?)?;
    let wanted = last - chrono::Duration::from_std(LOG_RESTART_MARGIN).unwrap_or_default();
    let (since, clamped) = clamp_log_start(wanted, now);
    let lost = clamped.then(|| format!("{} to {}", okta_time(last), okta_time(since)));
    Some((since, lost))
}

#[cfg(test)]
mod tests;
