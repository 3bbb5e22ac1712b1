//! Table-driven tests of the planning rules.

use super::*;

const LOOKBACK: Duration = Duration::from_secs(300);

fn state(
    created: &str,
    last: &str,
    new: bool,
    emitted: Option<&str>,
    deleted: Option<&str>,
) -> UserState {
    UserState {
        created: Some(created.into()),
        last_updated: last.into(),
        new_emitted: new,
        emitted: emitted.map(Into::into),
        deleted_at: deleted.map(Into::into),
    }
}

fn want(floor: &str) -> Want {
    Want {
        floor: floor.into(),
    }
}

const T1: &str = "2026-01-01T00:00:01.000Z";
const T2: &str = "2026-01-01T00:00:02.000Z";
const T3: &str = "2026-01-01T00:00:03.000Z";
const EPOCH: &str = "1970-01-01T00:00:00.000Z";

/// Known state, created, lastUpdated, new floor, updated floor, then (new, updated) if planned.
type Case = (
    Option<UserState>,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<(bool, bool)>,
);

#[test]
fn users_are_news_on_each_stream_once_per_version() {
    // (known, created, lastUpdated, new floor, updated floor) -> (new, updated)
    let cases: Vec<Case> = vec![
        (None, T1, T1, Some(EPOCH), Some(EPOCH), Some((true, true))),
        (None, T1, T2, None, Some(EPOCH), Some((false, true))),
        (None, T1, T2, Some(EPOCH), None, Some((true, false))),
        (
            Some(state(T1, T1, true, Some(T1), None)),
            T1,
            T1,
            Some(EPOCH),
            Some(EPOCH),
            None,
        ),
        (
            Some(state(T1, T1, true, Some(T1), None)),
            T1,
            T2,
            Some(EPOCH),
            Some(EPOCH),
            Some((false, true)),
        ),
        (
            Some(state(T1, T2, true, Some(T2), None)),
            T1,
            T1,
            Some(EPOCH),
            Some(EPOCH),
            None,
        ),
        // Created before the new_users window: not new (it was, or it predates the start).
        (None, T1, T3, Some(T2), Some(EPOCH), Some((false, true))),
        // Changed before the updated_users window and never emitted: not news there.
        (None, T1, T1, Some(EPOCH), Some(T2), Some((true, false))),
        // Emitted before: a newer version is news even below the window (a lagging index).
        (
            Some(state(T1, T1, true, Some(T1), None)),
            T1,
            T2,
            None,
            Some(T3),
            Some((false, true)),
        ),
        // A copy no newer than the deletion is stale.
        (
            Some(state(T1, T1, true, Some(T1), Some(T2))),
            T1,
            T2,
            Some(EPOCH),
            Some(EPOCH),
            None,
        ),
        // A newer copy means the user exists after all.
        (
            Some(state(T1, T1, true, Some(T1), Some(T2))),
            T1,
            T3,
            Some(EPOCH),
            Some(EPOCH),
            Some((false, true)),
        ),
    ];
    for (i, (known, created, last, new, updated, expected)) in cases.into_iter().enumerate() {
        let seen = Seen {
            created: Some(created),
            last_updated: last,
        };
        let plan = plan_user(
            known.as_ref(),
            seen,
            new.map(want).as_ref(),
            updated.map(want).as_ref(),
        );
        assert_eq!(
            plan.as_ref().map(|p| (p.new, p.updated)),
            expected,
            "case {i}"
        );
        if let Some(p) = plan {
            assert_eq!(p.state.deleted_at, None, "case {i}");
            assert!(
                !after(
                    &known.map(|k| k.last_updated).unwrap_or_default(),
                    &p.state.last_updated
                ),
                "case {i}"
            );
        }
    }
}

#[test]
fn a_users_state_remembers_what_each_stream_emitted() {
    let seen = Seen {
        created: Some(T1),
        last_updated: T2,
    };
    let p = plan_user(None, seen, Some(&want(EPOCH)), Some(&want(EPOCH))).unwrap();
    assert_eq!(p.state, state(T1, T2, true, Some(T2), None));
    let only_new = plan_user(None, seen, Some(&want(EPOCH)), None).unwrap();
    assert_eq!(only_new.state, state(T1, T2, true, None, None));
}

#[test]
fn a_user_is_tombstoned_once_and_not_if_seen_after_the_deletion() {
    let cases = [
        (None, T2, Some(T2)),
        (Some(state(T1, T1, true, Some(T1), None)), T2, Some(T2)),
        (Some(state(T1, T1, true, Some(T1), Some(T2))), T3, None),
        (Some(state(T1, T3, true, Some(T3), None)), T2, None),
    ];
    for (i, (known, at, deleted)) in cases.into_iter().enumerate() {
        let planned = plan_tombstone(known.as_ref(), at);
        assert_eq!(
            planned.as_ref().and_then(|s| s.deleted_at.as_deref()),
            deleted,
            "case {i}"
        );
    }
    assert_eq!(plan_tombstone(None, T2).unwrap().last_updated, T2);
}

#[test]
fn the_users_query_reaches_back_by_the_look_back_window_and_only_moves_forward() {
    let mut c = UsersCursor::starting_at(DateTime::UNIX_EPOCH);
    c.advance(T2);
    c.advance(T1);
    assert_eq!(c.hwm, T2);
    assert_eq!(c.query_from(LOOKBACK), "2025-12-31T23:55:02.000Z");
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, format!(r#"{{"hwm":"{T2}"}}"#));
    let old: UsersCursor =
        serde_json::from_str(r#"{"hwm":"2026-01-01T00:00:02.000Z","seen":[["a","b"]]}"#).unwrap();
    assert_eq!(old, c, "a cursor from before user_state still reads");
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

#[test]
fn a_lost_log_query_restarts_a_margin_before_its_last_event_within_retention() {
    let now = parse_time("2026-06-01T00:00:00.000Z").unwrap();
    let cursor = |last: Option<&str>| LogCursor {
        next: "https://x/api/v1/logs?after=1".into(),
        last_published: last.map(Into::into),
        ..LogCursor::default()
    };
    let (since, lost) = log_restart(&cursor(Some("2026-05-31T12:00:00.000Z")), now).unwrap();
    assert_eq!(
        (okta_time(since).as_str(), lost),
        ("2026-05-31T11:45:00.000Z", None)
    );
    let (since, lost) = log_restart(&cursor(Some("2026-01-01T00:00:00.000Z")), now).unwrap();
    assert_eq!(okta_time(since), "2026-03-03T00:00:00.000Z");
    assert_eq!(
        lost.as_deref(),
        Some("2026-01-01T00:00:00.000Z to 2026-03-03T00:00:00.000Z")
    );
    assert!(log_restart(&cursor(None), now).is_none());
    assert!(log_cursor_expired(
        &cursor(Some("2026-01-01T00:00:00.000Z")),
        now
    ));
    assert!(!log_cursor_expired(
        &cursor(Some("2026-05-31T00:00:00.000Z")),
        now
    ));
    assert!(!log_cursor_expired(&cursor(None), now));
}

#[test]
fn timestamps_compare_by_time_whatever_their_form() {
    let cases = [
        ("2026-01-01T00:00:02.000Z", "2026-01-01T00:00:01.000Z", true),
        (
            "2026-01-01T00:00:01.000Z",
            "2026-01-01T00:00:01.000Z",
            false,
        ),
        ("2026-01-01T00:00:01Z", "2026-01-01T00:00:00.500Z", true),
        (
            "2026-01-01T01:00:00+02:00",
            "2026-01-01T00:00:00.000Z",
            false,
        ),
        ("2026-01-01T00:00:00.001Z", "2025-12-31T23:59:59.999Z", true),
    ];
    for (a, b, expected) in cases {
        assert_eq!(after(a, b), expected, "{a} after {b}");
    }
}
