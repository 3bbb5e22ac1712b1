//! Cursor planning, with no I/O: which users of a page are new deltas, how the users high-water
//! mark moves, and what the System Log cursor holds. Every rule that decides completeness lives
//! here so it can be tested with plain tables.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

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

/// Where a users poller stands: the highest timestamp emitted so far, and every `(id, timestamp)`
/// emitted within the look-back window below it, so re-reading that window emits nothing twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsersCursor {
    pub hwm: String,
    pub seen: BTreeSet<(String, String)>,
}

impl UsersCursor {
    pub fn starting_at(t: DateTime<Utc>) -> UsersCursor {
        UsersCursor {
            hwm: okta_time(t),
            seen: BTreeSet::new(),
        }
    }

    /// The lower bound of the next query: the high-water mark minus the look-back window, since
    /// Okta's search index may show a record some time after its timestamp.
    pub fn query_from(&self, lookback: Duration) -> String {
        match parse_time(&self.hwm) {
            Some(t) => okta_time(t - chrono::Duration::from_std(lookback).unwrap_or_default()),
            None => self.hwm.clone(),
        }
    }

    /// Takes one page of `(id, timestamp)` pairs in query order. Returns, for each, whether it is a
    /// new delta, and moves the cursor past the page.
    pub fn plan_page(&mut self, page: &[(String, String)], lookback: Duration) -> Vec<bool> {
        let emit: Vec<bool> = page
            .iter()
            .map(|key| self.seen.insert(key.clone()))
            .collect();
        for (_, ts) in page {
            if parse_time(ts) > parse_time(&self.hwm) {
                self.hwm.clone_from(ts);
            }
        }
        let floor = parse_time(&self.query_from(lookback));
        self.seen.retain(|(_, ts)| parse_time(ts) >= floor);
        emit
    }
}

/// Where the System Log poller stands: the last `next` link of its polling query, and the query
/// it belongs to, so a changed filter is noticed instead of silently mixing two queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogCursor {
    pub next: String,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    /// `published` of the last event delivered, for `status`.
    #[serde(default)]
    pub last_published: Option<String>,
}

/// The oldest `since` Okta serves: events older than 90 days are gone.
pub const LOG_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// Clamps a System Log start to the retention window. Returns the start and whether it moved.
pub fn clamp_log_start(start: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, bool) {
    let oldest = now - chrono::Duration::from_std(LOG_RETENTION).unwrap_or_default();
    if start < oldest {
        (oldest, true)
    } else {
        (start, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOKBACK: Duration = Duration::from_secs(300);

    fn page(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(id, ts)| (id.to_string(), ts.to_string()))
            .collect()
    }

    #[test]
    fn equal_timestamps_across_pages_are_each_emitted_once() {
        let mut c = UsersCursor::starting_at(DateTime::UNIX_EPOCH);
        let t = "2026-01-01T00:00:00.000Z";
        assert_eq!(
            c.plan_page(&page(&[("a", t), ("b", t)]), LOOKBACK),
            [true, true]
        );
        assert_eq!(c.query_from(LOOKBACK), "2025-12-31T23:55:00.000Z");
        // The next query starts before the high-water mark and sees a and b again, plus c.
        assert_eq!(
            c.plan_page(&page(&[("a", t), ("b", t), ("c", t)]), LOOKBACK),
            [false, false, true]
        );
        assert_eq!(c.hwm, t);
        assert_eq!(c.seen.len(), 3);
    }

    #[test]
    fn a_late_index_entry_inside_the_look_back_window_is_still_caught() {
        let mut c = UsersCursor::starting_at(DateTime::UNIX_EPOCH);
        c.plan_page(&page(&[("a", "2026-01-01T00:10:00.000Z")]), LOOKBACK);
        // b changed two minutes before a but only now shows up in search.
        let late = page(&[
            ("b", "2026-01-01T00:08:00.000Z"),
            ("a", "2026-01-01T00:10:00.000Z"),
        ]);
        assert_eq!(c.plan_page(&late, LOOKBACK), [true, false]);
        assert_eq!(c.hwm, "2026-01-01T00:10:00.000Z");
    }

    #[test]
    fn a_new_version_of_a_known_user_is_a_new_delta() {
        let mut c = UsersCursor::starting_at(DateTime::UNIX_EPOCH);
        c.plan_page(&page(&[("a", "2026-01-01T00:00:00.000Z")]), LOOKBACK);
        assert_eq!(
            c.plan_page(&page(&[("a", "2026-01-01T00:00:01.000Z")]), LOOKBACK),
            [true]
        );
    }

    #[test]
    fn entries_older_than_the_look_back_window_are_forgotten() {
        let mut c = UsersCursor::starting_at(DateTime::UNIX_EPOCH);
        c.plan_page(&page(&[("a", "2026-01-01T00:00:00.000Z")]), LOOKBACK);
        c.plan_page(&page(&[("b", "2026-01-01T01:00:00.000Z")]), LOOKBACK);
        let ids: Vec<&str> = c.seen.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["b"]);
    }

    #[test]
    fn log_start_is_clamped_to_retention() {
        let now = parse_time("2026-06-01T00:00:00.000Z").unwrap();
        let (start, moved) = clamp_log_start(DateTime::UNIX_EPOCH, now);
        assert!(moved);
        assert_eq!(okta_time(start), "2026-03-03T00:00:00.000Z");
        let recent = parse_time("2026-05-31T00:00:00.000Z").unwrap();
        assert_eq!(clamp_log_start(recent, now), (recent, false));
    }
}
