//! The directory mirror's writes and views, on a fresh state database.

use serde_json::value::RawValue;

use super::super::{PageCommit, RunId, Store};
use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    Fixture { _dir: dir, store }
}

fn delta(stream: &str, id: &str, version: &str, data: serde_json::Value, op: Op) -> Delta {
    let raw = RawValue::from_string(data.to_string()).unwrap();
    Delta::new(stream, id, version, raw).with_op(op)
}

fn group(id: &str, name: &str, updated: &str, members: &str) -> Delta {
    let data = serde_json::json!({"id": id, "type": "OKTA_GROUP", "created": "2024-01-01T00:00:00.000Z",
        "lastUpdated": updated, "lastMembershipUpdated": members,
        "profile": {"name": name, "description": null}});
    delta(stream::GROUPS, id, members, data, Op::Upsert)
}

fn member(group: &str, user: &str, op: Op) -> Delta {
    let data = serde_json::json!({"groupId": group, "userId": user});
    let id = format!("{group}/{user}");
    delta(stream::GROUP_MEMBERS, &id, &recent(), data, op)
}

fn app(id: &str, label: &str) -> Delta {
    let data = serde_json::json!({"id": id, "name": "bookmark", "label": label, "status": "ACTIVE",
        "signOnMode": "BOOKMARK", "lastUpdated": "2024-01-01T00:00:00.000Z"});
    delta(
        stream::APPS,
        id,
        "2024-01-01T00:00:00.000Z",
        data,
        Op::Upsert,
    )
}

fn assignment(app: &str, user: &str, scope: &str, op: Op) -> Delta {
    let data = serde_json::json!({"id": user, "scope": scope, "status": "ACTIVE", "lastUpdated": recent()});
    delta(
        stream::APP_USERS,
        &format!("{app}/{user}"),
        &recent(),
        data,
        op,
    )
}

fn recent() -> String {
    crate::sink::utc_millis(chrono::Utc::now() - chrono::Duration::hours(1))
}

fn strings(store: &Store, sql: &str) -> Vec<String> {
    let mut stmt = store.conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn user(id: &str, login: &str) -> Delta {
    let data = serde_json::json!({"id": id, "status": "ACTIVE", "lastUpdated": "2024-01-01T00:00:00.000Z",
        "profile": {"login": login, "email": login}});
    delta(
        stream::UPDATED_USERS,
        id,
        "2024-01-01T00:00:00.000Z",
        data,
        Op::Upsert,
    )
}

#[test]
fn a_group_keeps_its_newest_version_and_a_tombstone_is_never_revived() {
    let mut f = fixture();
    let new = group(
        "00g1",
        "Engineering",
        "2024-02-01T00:00:00.000Z",
        "2024-03-01T00:00:00.000Z",
    );
    let old = group(
        "00g1",
        "Eng",
        "2024-01-01T00:00:00.000Z",
        "2024-03-01T00:00:00.000Z",
    );
    f.store.upsert(&[new, old]).unwrap();
    assert_eq!(
        strings(&f.store, "SELECT name FROM groups"),
        ["Engineering"]
    );
    let gone = delta(
        stream::GROUPS,
        "00g1",
        "2024-04-01T00:00:00.000Z",
        serde_json::json!({"id": "00g1"}),
        Op::Delete,
    );
    f.store.upsert(&[gone]).unwrap();
    let stale = group(
        "00g1",
        "Engineering",
        "2024-02-01T00:00:00.000Z",
        "2024-03-01T00:00:00.000Z",
    );
    f.store.upsert(&[stale]).unwrap();
    let deleted = strings(&f.store, "SELECT deleted_at FROM groups WHERE id = '00g1'");
    assert_eq!(deleted.len(), 1, "the tombstone stays a row");
    assert_eq!(
        strings(&f.store, "SELECT name FROM groups"),
        ["Engineering"],
        "a stale copy did not overwrite it"
    );
    assert!(f.store.live_group_ids().unwrap().is_empty());
}

#[test]
fn adds_and_removes_change_rows_and_are_noted_once_even_when_replayed() {
    let mut f = fixture();
    let first = [
        member("00g1", "00u1", Op::Upsert),
        member("00g1", "00u2", Op::Add),
        assignment("0oa1", "00u1", "GROUP", Op::Add),
        assignment("0oa1", "00u2", "USER", Op::Upsert),
    ];
    let second = [
        member("00g1", "00u1", Op::Remove),
        assignment("0oa1", "00u2", "USER", Op::Remove),
    ];
    for batch in [&first[..], &first[..], &second[..], &second[..]] {
        f.store.upsert(batch).unwrap();
    }
    assert_eq!(
        strings(&f.store, "SELECT user_id FROM group_members"),
        ["00u2"]
    );
    assert_eq!(
        strings(&f.store, "SELECT user_id || ' ' || scope FROM app_users"),
        ["00u1 GROUP"]
    );
    let noted = strings(
        &f.store,
        "SELECT kind || ' ' || op || ' ' || target_id || '/' || user_id || ' ' || coalesce(scope, '-')
         FROM access_changes ORDER BY seq",
    );
    assert_eq!(
        noted,
        [
            "group add 00g1/00u2 -",
            "app add 0oa1/00u1 GROUP",
            "group remove 00g1/00u1 -",
            "app remove 0oa1/00u2 USER",
        ],
        "a first listing (upsert) is no change, and a replay notes nothing twice"
    );
}

#[test]
fn the_views_answer_the_common_questions() {
    let mut f = fixture();
    f.store
        .upsert(&[
            user("00u1", "ann@example.com"),
            user("00u2", "bob@example.com"),
            group(
                "00g1",
                "Engineering",
                "2024-01-01T00:00:00.000Z",
                "2024-01-02T00:00:00.000Z",
            ),
            group(
                "00g2",
                "Unused",
                "2024-01-01T00:00:00.000Z",
                "2024-01-02T00:00:00.000Z",
            ),
            group(
                "00g3",
                "Not listed yet",
                "2024-01-01T00:00:00.000Z",
                "2024-01-02T00:00:00.000Z",
            ),
            member("00g1", "00u1", Op::Upsert),
            member("00g1", "00u2", Op::Add),
            app("0oa1", "Slack"),
            assignment("0oa1", "00u1", "USER", Op::Upsert),
            assignment("0oa1", "00u2", "GROUP", Op::Add),
        ])
        .unwrap();
    let run = f.store.begin_run(stream::GROUP_MEMBERS).unwrap();
    let marks = ["00g1", "00g2"].map(|g| Mark::MembersSynced {
        group: g.into(),
        at: "2024-01-02T00:00:00.000Z".into(),
    });
    f.store.commit_page(&page(run, &marks)).unwrap();
    assert_eq!(
        strings(
            &f.store,
            "SELECT login || ' ' || group_name FROM user_groups"
        ),
        ["ann@example.com Engineering", "bob@example.com Engineering"]
    );
    assert_eq!(
        strings(&f.store, "SELECT name || ' ' || members FROM group_sizes"),
        ["Engineering 2", "Not listed yet 0", "Unused 0"]
    );
    assert_eq!(
        strings(
            &f.store,
            "SELECT login || ' ' || app_label || ' ' || how FROM user_apps"
        ),
        [
            "ann@example.com Slack direct",
            "bob@example.com Slack by group"
        ]
    );
    assert_eq!(
        strings(
            &f.store,
            "SELECT op || ' ' || kind || ' ' || login || ' ' || target FROM recent_access_changes ORDER BY kind"
        ),
        [
            "add app bob@example.com Slack",
            "add group bob@example.com Engineering"
        ]
    );
    assert_eq!(
        strings(&f.store, "SELECT name FROM empty_groups"),
        ["Unused"]
    );
}

fn page<'a>(run: RunId, marks: &'a [Mark]) -> PageCommit<'a> {
    PageCommit {
        stream: stream::GROUP_MEMBERS,
        run,
        cursor: "{}",
        deltas: &[],
        mirror: false,
        requests: 0,
        rate_limited: 0,
        marks,
    }
}

#[test]
fn directory_rows_reach_the_state_database_even_when_the_mirror_is_elsewhere() {
    let mut f = fixture();
    let run = f.store.begin_run(stream::GROUPS).unwrap();
    let deltas = [
        group(
            "00g1",
            "Engineering",
            "2024-01-01T00:00:00.000Z",
            "2024-01-02T00:00:00.000Z",
        ),
        user("00u1", "ann@example.com"),
    ];
    let commit = PageCommit {
        deltas: &deltas,
        stream: stream::GROUPS,
        ..page(run, &[])
    };
    f.store.commit_page(&commit).unwrap();
    assert_eq!(strings(&f.store, "SELECT id FROM groups"), ["00g1"]);
    assert!(
        strings(&f.store, "SELECT id FROM users").is_empty(),
        "users only when mirrored"
    );
    let todo = f.store.groups_to_sync("", 10).unwrap();
    assert_eq!(
        todo,
        [("00g1".to_owned(), "2024-01-02T00:00:00.000Z".to_owned())]
    );
    let marks = [Mark::MembersSynced {
        group: "00g1".into(),
        at: "2024-01-02T00:00:00.000Z".into(),
    }];
    f.store.commit_page(&page(run, &marks)).unwrap();
    assert!(
        f.store.groups_to_sync("", 10).unwrap().is_empty(),
        "synced at its clock"
    );
    f.store.reset_cursor(stream::GROUP_MEMBERS, None).unwrap();
    assert_eq!(
        f.store.groups_to_sync("", 10).unwrap().len(),
        1,
        "a reset lists it again"
    );
}

#[test]
fn a_membership_id_that_is_not_two_ids_is_refused_and_nothing_is_written() {
    let mut f = fixture();
    let bad = delta(
        stream::GROUP_MEMBERS,
        "00g1",
        &recent(),
        serde_json::json!({}),
        Op::Add,
    );
    let err = f
        .store
        .upsert(&[member("00g1", "00u1", Op::Add), bad])
        .unwrap_err();
    assert!(err.to_string().contains("<group or app>/<user>"), "{err}");
    assert!(strings(&f.store, "SELECT user_id FROM group_members").is_empty());
}

#[test]
fn a_staged_page_reads_back_in_order_until_its_commit_clears_it() {
    let mut f = fixture();
    let page_deltas = [
        member("00g1", "00u2", Op::Add),
        member("00g1", "00u1", Op::Remove),
    ];
    f.store
        .stage_pending(stream::GROUP_MEMBERS, &page_deltas)
        .unwrap();
    let staged = f.store.pending(stream::GROUP_MEMBERS).unwrap();
    let lines: Vec<String> = staged.iter().map(Delta::to_line).collect();
    let want: Vec<String> = page_deltas.iter().map(Delta::to_line).collect();
    assert_eq!(lines, want);
    assert!(
        f.store.pending(stream::APP_USERS).unwrap().is_empty(),
        "per stream"
    );
    let run = f.store.begin_run(stream::GROUP_MEMBERS).unwrap();
    f.store.commit_page(&page(run, &[])).unwrap();
    assert!(f.store.pending(stream::GROUP_MEMBERS).unwrap().is_empty());
}
