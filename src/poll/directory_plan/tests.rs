//! The directory planning rules, table by table.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap()
}

#[test]
fn the_groups_search_reaches_back_by_the_look_back_in_both_clocks() {
    let mut c = GroupsCursor::default();
    assert_eq!(
        c.search(Duration::from_secs(300)),
        "lastUpdated gt \"1969-12-31T23:55:00.000Z\" or lastMembershipUpdated gt \"1969-12-31T23:55:00.000Z\""
    );
    c.advance(
        Some("2026-01-01T00:10:00.000Z"),
        Some("2026-01-02T00:00:00.000Z"),
    );
    c.advance(Some("2026-01-01T00:05:00.000Z"), None);
    assert_eq!(c.hwm, "2026-01-01T00:10:00.000Z", "marks never move back");
    assert_eq!(
        c.search(Duration::from_secs(60)),
        "lastUpdated gt \"2026-01-01T00:09:00.000Z\" or lastMembershipUpdated gt \"2026-01-01T23:59:00.000Z\""
    );
}

#[test]
fn a_reconcile_is_due_first_and_then_each_time_its_schedule_fires() {
    let hourly = Some("0 0 * * * *");
    let now = t("2026-01-01T10:30:00.000Z");
    let cases = [
        (hourly, None, true),
        (hourly, Some("2026-01-01T10:00:00.000Z"), false),
        (hourly, Some("2026-01-01T09:59:59.000Z"), true),
        (hourly, Some("2026-01-01T09:10:00.000Z"), true),
        (None, Some("2020-01-01T00:00:00.000Z"), false),
        (None, None, true),
        (Some("not cron"), Some("2020-01-01T00:00:00.000Z"), false),
    ];
    for (schedule, last, due) in cases {
        assert_eq!(
            reconcile_due(schedule, last, now),
            due,
            "{schedule:?} {last:?}"
        );
    }
}

#[test]
fn a_listing_diff_names_what_joined_and_what_left() {
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let (added, removed) = diff_ids(&set(&["a", "b", "d"]), &set(&["b", "c"]));
    assert_eq!(
        (added, removed),
        (vec!["a".into(), "d".into()], vec!["c".into()])
    );
    assert_eq!(diff_ids(&set(&[]), &set(&[])), (vec![], vec![]));
}

#[test]
fn assignments_are_new_changed_or_left_alone() {
    let v = |lu: &str, scope: &str| AssignmentVersion {
        last_updated: lu.into(),
        scope: Some(scope.into()),
        status: Some("ACTIVE".into()),
    };
    let listed = v("2026-01-01T00:00:00.000Z", "USER");
    assert_eq!(assignment_op(None, &listed, true), Some(Op::Upsert));
    assert_eq!(assignment_op(None, &listed, false), Some(Op::Add));
    assert_eq!(assignment_op(Some(&listed), &listed, false), None);
    let by_group = v("2026-01-01T00:00:00.000Z", "GROUP");
    assert_eq!(
        assignment_op(Some(&by_group), &listed, false),
        Some(Op::Upsert)
    );
}

fn event(kind: &str, targets: &[(&str, &str)]) -> EventKeys {
    EventKeys {
        event_type: kind.into(),
        published: "2026-01-01T00:00:00.000Z".into(),
        target: Some(
            targets
                .iter()
                .map(|(k, id)| Target {
                    id: Some(id.to_string()),
                    kind: Some(k.to_string()),
                })
                .collect(),
        ),
    }
}

#[test]
fn events_ask_for_single_assignments_or_whole_apps() {
    let add = "application.user_membership.add";
    let events = [
        event(add, &[("User", "u1"), ("AppInstance", "a1")]),
        event(
            "application.user_membership.remove",
            &[("AppUser", "u2"), ("AppInstance", "a1")],
        ),
        event(
            "group.application_assignment.add",
            &[("AppInstance", "a2"), ("UserGroup", "g1")],
        ),
        event(add, &[("User", "u3"), ("AppInstance", "a2")]),
        event(add, &[("User", "u4")]),
        // Two reads of a 1,000-assignment app cost less than listing its three pages…
        event(add, &[("User", "u5"), ("AppInstance", "big")]),
        event(add, &[("User", "u6"), ("AppInstance", "big")]),
        // …but two reads of a 10-assignment app cost more than its one page: list it.
        event(add, &[("User", "u1"), ("AppInstance", "small")]),
        event(add, &[("User", "u2"), ("AppInstance", "small")]),
    ];
    let sizes = HashMap::from([
        ("a1".to_string(), 600),
        ("big".to_string(), 1000),
        ("small".to_string(), 10),
    ]);
    let refresh = plan_refresh(&events, &sizes, 500);
    let apps: Vec<&str> = refresh.apps.iter().map(String::as_str).collect();
    assert_eq!(apps, ["a2", "small"]);
    let pairs: Vec<(&str, &str)> = refresh
        .pairs
        .iter()
        .map(|(a, u)| (a.as_str(), u.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("a1", "u1"), ("a1", "u2"), ("big", "u5"), ("big", "u6")]
    );
}

#[test]
fn the_events_filter_names_every_assignment_event() {
    let f = events_filter();
    assert_eq!(f.matches(" or ").count(), ASSIGNMENT_EVENTS.len() - 1);
    assert!(f.starts_with("eventType eq \"application.user_membership.add\""));
}
