//! The state database's tests: migrations, the mirror's rules, cursors, runs and upkeep.

use super::*;
use serde_json::value::RawValue;
use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open(&path).unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
    }
}

fn raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).unwrap()
}

fn user(id: &str, status: &str, login: &str, last_updated: &str) -> Delta {
    let data = format!(
        r#"{{"id":"{id}","status":"{status}","created":"2024-01-01T00:00:00.000Z",
        "lastUpdated":"{last_updated}","statusChanged":"{last_updated}",
        "profile":{{"login":"{login}","email":"{login}","department":"R&D"}},"futureField":[1]}}"#
    );
    Delta::new(stream::UPDATED_USERS, id, last_updated, raw(data))
}

fn event(uuid: &str, event_type: &str, outcome: &str, published: &str) -> Delta {
    let data = format!(
        r#"{{"uuid":"{uuid}","published":"{published}","eventType":"{event_type}",
        "severity":"INFO","actor":{{"id":"00u1","alternateId":"ann@example.com"}},
        "outcome":{{"result":"{outcome}","reason":"INVALID_CREDENTIALS"}},
        "client":{{"ipAddress":"192.0.2.7"}},"target":null}}"#
    );
    Delta::new(stream::SYSTEM_LOG, uuid, published, raw(data))
}

fn hours_ago(h: i64) -> String {
    utc_millis(Utc::now() - chrono::Duration::hours(h))
}

fn page<'a>(run: RunId, cursor: &'a str, deltas: &'a [Delta]) -> PageCommit<'a> {
    PageCommit {
        stream: stream::SYSTEM_LOG,
        run,
        cursor,
        deltas,
        mirror: true,
        requests: 1,
        rate_limited: 0,
        marks: &[],
    }
}

fn strings(store: &Store, sql: &str) -> Vec<String> {
    let mut stmt = store.conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

use std::fs;

#[test]
fn a_new_state_file_and_its_wal_and_shm_are_created_with_mode_0600() {
    let f = fixture();
    assert_eq!(mode(&f.path), 0o600);
    for suffix in ["-wal", "-shm"] {
        let mut name = f.path.as_os_str().to_owned();
        name.push(suffix);
        assert_eq!(mode(Path::new(&name)), 0o600, "{suffix}");
    }
}

#[test]
fn opening_migrates_to_the_latest_user_version_and_reopening_keeps_data() {
    let mut f = fixture();
    let version: i64 = f
        .store
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, i64::from(SCHEMA_VERSION));
    let journal: String = f
        .store
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    f.store.reset_cursor("system_log", Some("c1")).unwrap();
    drop(f.store);
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.cursor("system_log").unwrap().as_deref(), Some("c1"));
}

#[test]
fn a_database_with_a_newer_user_version_is_refused_with_an_upgrade_hint() {
    let f = fixture();
    f.store
        .conn
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(f.store);
    let err = Store::open(&f.path).unwrap_err();
    let newer = i64::from(SCHEMA_VERSION) + 1;
    assert!(
        matches!(err, StoreError::TooNew { found, .. } if found == newer),
        "{err:?}"
    );
    let message = err.to_string();
    let expected =
        format!("has schema version {newer} but this oktasync understands up to {SCHEMA_VERSION}");
    assert!(message.contains(&expected), "{message}");
    assert!(message.ends_with("upgrade oktasync"), "{message}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_with_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(
        &path,
        "these are not the rows you are looking for, ".repeat(50),
    )
    .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn commit_page_moves_rows_cursor_and_run_counters_together() {
    let mut f = fixture();
    let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
    let deltas = [
        event("e1", "user.session.start", "SUCCESS", &hours_ago(1)),
        user(
            "00u1",
            "ACTIVE",
            "ann@example.com",
            "2024-02-01T00:00:00.000Z",
        ),
    ];
    f.store
        .commit_page(&page(run, "after=e1", &deltas))
        .unwrap();
    assert_eq!(
        f.store.cursor(stream::SYSTEM_LOG).unwrap().as_deref(),
        Some("after=e1")
    );
    let counts = f.store.mirror_counts().unwrap();
    assert_eq!(
        counts,
        MirrorCounts {
            users: 1,
            system_log: 1
        }
    );
    let status = f.store.status().unwrap();
    let last_run = status[0].last_run.as_ref().unwrap();
    assert_eq!((last_run.records, last_run.requests), (2, 1));
}

#[test]
fn commit_page_without_mirror_moves_only_the_cursor() {
    let mut f = fixture();
    let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
    let deltas = [event("e1", "user.session.start", "SUCCESS", &hours_ago(1))];
    let mut p = page(run, "after=e1", &deltas);
    p.mirror = false;
    f.store.commit_page(&p).unwrap();
    assert_eq!(
        f.store.cursor(stream::SYSTEM_LOG).unwrap().as_deref(),
        Some("after=e1")
    );
    assert_eq!(f.store.mirror_counts().unwrap().system_log, 0);
}

#[test]
fn a_page_failing_midway_moves_neither_rows_nor_cursor_nor_counters() {
    let mut f = fixture();
    let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
    let first = [event("e0", "user.session.start", "SUCCESS", &hours_ago(2))];
    f.store.commit_page(&page(run, "after=e0", &first)).unwrap();
    let unknown = Delta::new("s3", "x", "v", raw("{}".into()));
    let not_an_object = Delta::new(stream::SYSTEM_LOG, "e2", "v", raw("[1,2]".into()));
    let cases = [
        (unknown, r#"unknown stream "s3""#),
        (
            not_an_object,
            "cannot mirror system_log record e2: not an Okta object",
        ),
    ];
    for (bad, expected) in cases {
        let good = event("e1", "user.session.start", "SUCCESS", &hours_ago(1));
        let deltas = [good, bad, event("e3", "app.x", "SUCCESS", &hours_ago(1))];
        let err = f
            .store
            .commit_page(&page(run, "after=e3", &deltas))
            .unwrap_err();
        println!("{err}");
        assert!(err.to_string().contains(expected), "{err}");
        assert_eq!(
            f.store.cursor(stream::SYSTEM_LOG).unwrap().as_deref(),
            Some("after=e0")
        );
        assert_eq!(f.store.mirror_counts().unwrap().system_log, 1);
        let status = f.store.status().unwrap();
        assert_eq!(status[0].last_run.as_ref().unwrap().records, 1);
    }
}

#[test]
fn commit_page_for_an_unknown_run_changes_nothing() {
    let mut f = fixture();
    let deltas = [event("e1", "user.session.start", "SUCCESS", &hours_ago(1))];
    let err = f
        .store
        .commit_page(&page(RunId(42), "after=e1", &deltas))
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun(42)));
    assert_eq!(f.store.cursor(stream::SYSTEM_LOG).unwrap(), None);
    assert_eq!(f.store.mirror_counts().unwrap().system_log, 0);
}

#[test]
fn mirror_columns_are_read_from_the_okta_json_and_the_object_is_kept_whole() {
    let mut f = fixture();
    let u = user(
        "00u1",
        "ACTIVE",
        "ann@example.com",
        "2024-02-01T00:00:00.000Z",
    );
    let e = event(
        "e1",
        "user.session.start",
        "FAILURE",
        "2024-02-02T00:00:00.000Z",
    );
    f.store.upsert(&[u.clone(), e.clone()]).unwrap();
    let row = strings(
        &f.store,
        "SELECT status || ' ' || login || ' ' || email || ' ' || last_updated FROM users",
    );
    assert_eq!(
        row,
        ["ACTIVE ann@example.com ann@example.com 2024-02-01T00:00:00.000Z"]
    );
    let row = strings(
        &f.store,
        "SELECT published || ' ' || event_type || ' ' || severity || ' ' || actor_id || ' ' || outcome FROM system_log",
    );
    assert_eq!(
        row,
        ["2024-02-02T00:00:00.000Z user.session.start INFO 00u1 FAILURE"]
    );
    assert_eq!(strings(&f.store, "SELECT data FROM users"), [u.data.get()]);
    assert_eq!(
        strings(&f.store, "SELECT data FROM system_log"),
        [e.data.get()]
    );
}

#[test]
fn older_user_version_never_overwrites_newer_row_in_mirror() {
    let mut f = fixture();
    let newer = user(
        "00u1",
        "SUSPENDED",
        "ann@example.com",
        "2024-03-01T00:00:00.000Z",
    );
    let older = user(
        "00u1",
        "ACTIVE",
        "ann@example.com",
        "2024-02-01T00:00:00.000Z",
    );
    f.store.upsert(&[newer]).unwrap();
    f.store.upsert(&[older]).unwrap();
    assert_eq!(strings(&f.store, "SELECT status FROM users"), ["SUSPENDED"]);
    let newest = user(
        "00u1",
        "ACTIVE",
        "ann@example.com",
        "2024-04-01T00:00:00.000Z",
    );
    f.store.upsert(&[newest]).unwrap();
    assert_eq!(strings(&f.store, "SELECT status FROM users"), ["ACTIVE"]);
}

#[test]
fn upserting_the_same_deltas_twice_changes_nothing() {
    let mut f = fixture();
    let deltas = [
        user(
            "00u1",
            "ACTIVE",
            "ann@example.com",
            "2024-02-01T00:00:00.000Z",
        ),
        event(
            "e1",
            "user.session.start",
            "SUCCESS",
            "2024-02-02T00:00:00.000Z",
        ),
    ];
    f.store.upsert(&deltas).unwrap();
    let snapshot = strings(
        &f.store,
        "SELECT data FROM users UNION ALL SELECT data FROM system_log",
    );
    f.store.upsert(&deltas).unwrap();
    let again = strings(
        &f.store,
        "SELECT data FROM users UNION ALL SELECT data FROM system_log",
    );
    assert_eq!(snapshot, again);
    assert_eq!(
        f.store.mirror_counts().unwrap(),
        MirrorCounts {
            users: 1,
            system_log: 1
        }
    );
}

#[test]
fn event_hook_events_share_the_system_log_table_and_the_first_copy_stays() {
    let mut f = fixture();
    let polled = event(
        "e1",
        "user.session.start",
        "SUCCESS",
        "2024-02-02T00:00:00.000Z",
    );
    let mut hooked = event(
        "e1",
        "user.session.start",
        "FAILURE",
        "2024-02-02T00:00:00.000Z",
    );
    hooked.stream = stream::EVENT_HOOK.into();
    f.store.upsert(&[hooked.clone(), polled]).unwrap();
    assert_eq!(
        strings(
            &f.store,
            "SELECT outcome || ' ' || received_via FROM system_log"
        ),
        ["FAILURE event_hook"]
    );
    let mut late = event(
        "e2",
        "user.session.start",
        "SUCCESS",
        "2024-02-01T00:00:00.000Z",
    );
    f.store.upsert(&[late.clone()]).unwrap();
    late.stream = stream::EVENT_HOOK.into();
    f.store.upsert(&[late]).unwrap();
    assert_eq!(
        strings(
            &f.store,
            "SELECT uuid || ' ' || received_via FROM system_log ORDER BY id"
        ),
        ["e1 event_hook", "e2 system_log"],
        "a late event is kept once, in arrival order"
    );
}

#[test]
fn active_and_deprovisioned_views_list_only_their_users_in_order() {
    let mut f = fixture();
    f.store
        .upsert(&[
            user(
                "00u1",
                "ACTIVE",
                "zed@example.com",
                "2024-02-01T00:00:00.000Z",
            ),
            user(
                "00u2",
                "ACTIVE",
                "amy@example.com",
                "2024-02-01T00:00:00.000Z",
            ),
            user(
                "00u3",
                "DEPROVISIONED",
                "old@example.com",
                "2024-01-01T00:00:00.000Z",
            ),
            user(
                "00u4",
                "DEPROVISIONED",
                "gone@example.com",
                "2024-03-01T00:00:00.000Z",
            ),
            user(
                "00u5",
                "SUSPENDED",
                "sus@example.com",
                "2024-02-01T00:00:00.000Z",
            ),
        ])
        .unwrap();
    assert_eq!(
        strings(&f.store, "SELECT login FROM active_users"),
        ["amy@example.com", "zed@example.com"]
    );
    assert_eq!(
        strings(&f.store, "SELECT login FROM deprovisioned_users"),
        ["gone@example.com", "old@example.com"]
    );
}

#[test]
fn last_day_views_count_only_recent_events_and_only_failed_sign_ins() {
    let mut f = fixture();
    f.store
        .upsert(&[
            event("e1", "user.session.start", "FAILURE", &hours_ago(1)),
            event("e2", "user.session.start", "FAILURE", &hours_ago(2)),
            event("e3", "user.session.start", "SUCCESS", &hours_ago(1)),
            event("e4", "user.session.start", "FAILURE", &hours_ago(25)),
            event("e5", "user.lifecycle.create", "FAILURE", &hours_ago(1)),
        ])
        .unwrap();
    assert_eq!(
        strings(&f.store, "SELECT uuid FROM failed_sign_ins_last_day"),
        ["e1", "e2"]
    );
    assert_eq!(
        strings(
            &f.store,
            "SELECT ip_address || ' ' || login || ' ' || reason FROM failed_sign_ins_last_day LIMIT 1"
        ),
        ["192.0.2.7 ann@example.com INVALID_CREDENTIALS"]
    );
    assert_eq!(
        strings(
            &f.store,
            "SELECT event_type || '=' || events FROM events_by_type_last_day"
        ),
        ["user.session.start=3", "user.lifecycle.create=1"]
    );
}

#[test]
fn reset_cursor_sets_a_value_or_deletes_the_cursor() {
    let mut f = fixture();
    f.store
        .reset_cursor("new_users", Some("2024-01-01T00:00:00.000Z"))
        .unwrap();
    assert_eq!(
        f.store.cursor("new_users").unwrap().as_deref(),
        Some("2024-01-01T00:00:00.000Z")
    );
    f.store.reset_cursor("new_users", None).unwrap();
    assert_eq!(f.store.cursor("new_users").unwrap(), None);
    assert!(f.store.status().unwrap().is_empty());
}

#[test]
fn status_reports_cursor_last_run_last_success_and_total_records() {
    let mut f = fixture();
    let ok = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
    let deltas = [
        event("e1", "a", "SUCCESS", &hours_ago(1)),
        event("e2", "a", "SUCCESS", &hours_ago(1)),
    ];
    f.store.commit_page(&page(ok, "after=e2", &deltas)).unwrap();
    f.store.end_run(ok, None).unwrap();
    let failed = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
    f.store
        .commit_page(&PageCommit {
            requests: 3,
            rate_limited: 2,
            ..page(failed, "after=e3", &deltas[..1])
        })
        .unwrap();
    f.store.end_run(failed, Some("Okta returned 500")).unwrap();
    f.store.begin_run(stream::NEW_USERS).unwrap();

    let status = f.store.status().unwrap();
    let names: Vec<&str> = status.iter().map(|s| s.stream.as_str()).collect();
    assert_eq!(names, [stream::NEW_USERS, stream::SYSTEM_LOG]);
    let log = &status[1];
    assert_eq!(log.cursor.as_deref(), Some("after=e3"));
    assert!(log.cursor_updated_at.is_some());
    assert_eq!(log.total_records, 3);
    let last = log.last_run.as_ref().unwrap();
    assert_eq!(
        (last.id, last.records, last.requests, last.rate_limited),
        (failed.0, 1, 3, 2)
    );
    assert_eq!(last.error.as_deref(), Some("Okta returned 500"));
    assert!(log.last_success_at.is_some() && last.ended_at.is_some());
    let users = &status[0];
    assert_eq!(
        (users.cursor.as_deref(), users.last_success_at.as_deref()),
        (None, None)
    );
    assert_eq!(users.last_run.as_ref().unwrap().ended_at, None);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json[1]["last_run"]["error"], "Okta returned 500");
}

#[test]
fn the_write_check_fails_while_another_connection_holds_the_write_lock() {
    let mut f = fixture();
    f.store.check_writable().unwrap();
    let other = Connection::open(&f.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    f.store
        .conn
        .busy_timeout(Duration::from_millis(50))
        .unwrap();
    let err = f.store.check_writable().unwrap_err();
    assert!(err.is_busy(), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    f.store.check_writable().unwrap();
}

#[test]
fn end_run_for_an_unknown_run_is_an_error() {
    let mut f = fixture();
    assert!(matches!(
        f.store.end_run(RunId(7), None),
        Err(StoreError::UnknownRun(7))
    ));
}

#[test]
fn a_thousand_row_page_commits_in_one_transaction() {
    let mut f = fixture();
    let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
    let published = hours_ago(1);
    let deltas: Vec<Delta> = (0..1000)
        .map(|i| {
            event(
                &format!("e{i}"),
                "user.session.start",
                "SUCCESS",
                &published,
            )
        })
        .collect();
    let started = Instant::now();
    f.store
        .commit_page(&page(run, "after=e999", &deltas))
        .unwrap();
    println!("commit_page of 1000 events took {:?}", started.elapsed());
    assert_eq!(f.store.mirror_counts().unwrap().system_log, 1000);
}

#[test]
fn a_second_writer_of_the_same_state_is_refused_until_the_first_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let first = lock_state(&state).unwrap();
    let err = lock_state(&state).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another oktasync"), "{err}");
    drop(first);
    lock_state(&state).unwrap();
}

fn tombstone(id: &str, at: &str) -> Delta {
    Delta::user_deleted(id, at, "e-delete")
}

#[test]
fn a_deleted_user_leaves_the_views_stays_queryable_and_only_a_newer_version_brings_it_back() {
    let mut f = fixture();
    let ann = user(
        "00u1",
        "ACTIVE",
        "ann@example.com",
        "2024-02-01T00:00:00.000Z",
    );
    f.store.upsert(std::slice::from_ref(&ann)).unwrap();
    f.store
        .upsert(&[tombstone("00u1", "2024-03-01T00:00:00.000Z")])
        .unwrap();
    assert!(strings(&f.store, "SELECT login FROM active_users").is_empty());
    assert_eq!(
        strings(
            &f.store,
            "SELECT login || ' ' || last_status || ' ' || deleted_at FROM deleted_users"
        ),
        ["ann@example.com ACTIVE 2024-03-01T00:00:00.000Z"]
    );
    assert_eq!(f.store.mirror_counts().unwrap().users, 0);
    f.store.upsert(&[ann]).unwrap();
    let stale = user(
        "00u1",
        "ACTIVE",
        "ann@example.com",
        "2024-02-15T00:00:00.000Z",
    );
    f.store.upsert(&[stale]).unwrap();
    assert!(
        strings(&f.store, "SELECT login FROM active_users").is_empty(),
        "a copy older than the deletion does not bring the user back"
    );
    let newer = user(
        "00u1",
        "ACTIVE",
        "ann@example.com",
        "2024-04-01T00:00:00.000Z",
    );
    f.store.upsert(&[newer]).unwrap();
    assert_eq!(
        strings(&f.store, "SELECT login FROM active_users"),
        ["ann@example.com"]
    );
}

#[test]
fn a_tombstone_for_a_user_never_mirrored_keeps_older_copies_out() {
    let mut f = fixture();
    f.store
        .upsert(&[tombstone("00u9", "2024-03-01T00:00:00.000Z")])
        .unwrap();
    let lagging = user(
        "00u9",
        "DEPROVISIONED",
        "gone@example.com",
        "2024-02-01T00:00:00.000Z",
    );
    f.store.upsert(&[lagging]).unwrap();
    assert_eq!(f.store.mirror_counts().unwrap().users, 0);
    assert!(strings(&f.store, "SELECT id FROM deprovisioned_users").is_empty());
    assert_eq!(strings(&f.store, "SELECT id FROM deleted_users"), ["00u9"]);
}

#[test]
fn a_separate_mirror_commits_with_synchronous_full_and_the_state_with_normal() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Store::open_mirror(&dir.path().join("mirror.db")).unwrap();
    let state = Store::open_writer(&dir.path().join("state.db")).unwrap();
    let level = |s: &Store| -> i64 {
        s.conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        (level(&mirror), level(&state)),
        (2, 1),
        "FULL is 2, NORMAL 1"
    );
    let autocheckpoint = |s: &Store| -> i64 {
        s.conn
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        autocheckpoint(&state),
        0,
        "the writer never checkpoints inline"
    );
}

#[test]
fn the_checkpoint_thread_empties_the_wal_after_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut store = Store::open_writer(&path).unwrap();
    let deltas: Vec<Delta> = (0..500)
        .map(|i| event(&format!("e{i}"), "a", "SUCCESS", &hours_ago(1)))
        .collect();
    store.upsert(&deltas).unwrap();
    let reader = Connection::open(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (log, copied): (i64, i64) = reader
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        // Copied by the thread already, or by this probe: either way nothing was left behind.
        if log == copied {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL was never checkpointed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_version_2_database_migrates_keeping_its_rows_and_what_was_emitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(MIGRATIONS[0]).unwrap();
    conn.execute_batch(MIGRATIONS[1]).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    conn.execute_batch(
        r#"INSERT INTO users VALUES ('00u1','ACTIVE','ann','ann@x','2024-01-01T00:00:00.000Z',
               '2024-01-02T00:00:00.000Z','{"id":"00u1"}','2024-01-03T00:00:00.000Z');
           INSERT INTO users VALUES ('00u2','ACTIVE','bob','bob@x','2024-05-01T00:00:00.000Z',
               '2024-05-02T00:00:00.000Z','{"id":"00u2"}','2024-05-03T00:00:00.000Z');
           INSERT INTO system_log VALUES ('e2','2024-01-02T00:00:00.000Z','a','INFO','00u1',
               'SUCCESS','{}','2024-01-03T00:00:00.000Z');
           INSERT INTO system_log VALUES ('e1','2024-01-01T00:00:00.000Z','a','INFO','00u1',
               'SUCCESS','{}','2024-01-03T00:00:00.000Z');
           INSERT INTO cursors VALUES ('new_users','{"hwm":"2024-03-01T00:00:00.000Z","seen":[]}','x');
           INSERT INTO cursors VALUES ('updated_users','{"hwm":"2024-06-01T00:00:00.000Z","seen":[]}','x');"#,
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        strings(&store, "SELECT uuid FROM system_log ORDER BY id"),
        ["e1", "e2"],
        "events keep their rows, in published order"
    );
    assert_eq!(
        strings(&store, "SELECT login FROM active_users"),
        ["ann", "bob"]
    );
    assert_eq!(
        strings(
            &store,
            "SELECT id || ' ' || new_emitted || ' ' || coalesce(emitted, '-') FROM user_state ORDER BY id"
        ),
        [
            "00u1 1 2024-01-02T00:00:00.000Z",
            "00u2 0 2024-05-02T00:00:00.000Z"
        ],
        "users below a stream's high-water mark count as emitted on it"
    );
}

#[test]
fn a_version_4_database_keeps_which_stream_delivered_each_event_and_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let conn = Connection::open(&path).unwrap();
    for sql in &MIGRATIONS[..4] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 4).unwrap();
    conn.execute_batch(
        r#"INSERT INTO system_log VALUES ('e1','2024-01-01T00:00:00.000Z','a','INFO','00u1',
               'SUCCESS','{}','2024-01-03T00:00:00.000Z','event_hook');
           INSERT INTO system_log VALUES ('e2','2024-01-02T00:00:00.000Z','a','INFO','00u1',
               'SUCCESS','{}','2024-01-03T00:00:00.000Z','system_log');
           INSERT INTO groups (id, name, last_updated, data, synced_at)
               VALUES ('00g1','Sales','2024-01-01T00:00:00.000Z','{}','x');"#,
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        strings(
            &store,
            "SELECT uuid || ' ' || received_via FROM system_log ORDER BY id"
        ),
        ["e1 event_hook", "e2 system_log"]
    );
    assert_eq!(strings(&store, "SELECT name FROM groups"), ["Sales"]);
}

#[test]
fn resetting_a_users_cursor_forgets_what_it_emitted_from_there_on() {
    let mut f = fixture();
    {
        let group = f.store.begin_group().unwrap();
        for (id, t) in [
            ("a", "2024-01-01T00:00:00.000Z"),
            ("b", "2024-03-01T00:00:00.000Z"),
        ] {
            let state = UserState {
                created: Some(t.into()),
                last_updated: t.into(),
                new_emitted: true,
                emitted: Some(t.into()),
                deleted_at: None,
            };
            group.put_user_state(id, &state).unwrap();
        }
        group.commit().unwrap();
    }
    let to = r#"{"hwm":"2024-02-01T00:00:00.000Z"}"#;
    f.store
        .reset_cursor(stream::UPDATED_USERS, Some(to))
        .unwrap();
    f.store.reset_cursor(stream::NEW_USERS, None).unwrap();
    assert_eq!(
        strings(
            &f.store,
            "SELECT id || ' ' || new_emitted || ' ' || coalesce(emitted, '-') FROM user_state ORDER BY id"
        ),
        ["a 0 2024-01-01T00:00:00.000Z", "b 0 -"]
    );
}

#[test]
fn pruning_keeps_the_newest_runs_and_the_last_success_and_carries_the_records() {
    let mut f = fixture();
    let mut ids = Vec::new();
    for i in 0..6 {
        let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        let deltas = [event(&format!("e{i}"), "a", "SUCCESS", &hours_ago(1))];
        f.store
            .commit_page(&page(run, &format!("c{i}"), &deltas))
            .unwrap();
        let error = (i > 0).then_some("Okta returned 500");
        f.store.end_run(run, error).unwrap();
        ids.push(run.0);
    }
    assert_eq!(f.store.prune_runs(stream::SYSTEM_LOG, 2, 30).unwrap(), 3);
    let kept: Vec<i64> = {
        let mut stmt = f
            .store
            .conn
            .prepare("SELECT id FROM runs ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(kept, [ids[0], ids[4], ids[5]], "the last success stays");
    let status = f.store.status().unwrap();
    assert_eq!(status[0].total_records, 6, "pruned records still count");
    assert_eq!(
        status[0].failures, 2,
        "failures in a row among the runs kept"
    );
    assert!(status[0].last_success_at.is_some());
}

#[test]
fn event_retention_deletes_only_events_older_than_the_limit() {
    let mut f = fixture();
    f.store
        .upsert(&[
            event("old", "a", "SUCCESS", &hours_ago(24 * 40)),
            event("new", "a", "SUCCESS", &hours_ago(24 * 20)),
        ])
        .unwrap();
    assert_eq!(f.store.prune_events(30).unwrap(), 1);
    assert_eq!(strings(&f.store, "SELECT uuid FROM system_log"), ["new"]);
}

#[test]
fn backfill_indexes_are_dropped_and_built_again_once_asked() {
    let mut f = fixture();
    for (which, query, index) in [
        (
            BackfillIndexes::SystemLog,
            "SELECT * FROM system_log WHERE actor_id = '00u1'",
            "system_log_actor_id",
        ),
        (
            BackfillIndexes::Users,
            "SELECT * FROM users WHERE login = 'a@b'",
            "users_login",
        ),
        (
            BackfillIndexes::Users,
            "SELECT * FROM users WHERE email = 'a@b'",
            "users_email",
        ),
    ] {
        let plan = |store: &Store| -> String {
            store
                .conn
                .query_row(&format!("EXPLAIN QUERY PLAN {query}"), [], |r| r.get(3))
                .unwrap()
        };
        assert!(plan(&f.store).contains(index), "{}", plan(&f.store));
        assert!(f.store.drop_backfill_indexes(which).unwrap());
        assert!(!f.store.drop_backfill_indexes(which).unwrap());
        assert!(!plan(&f.store).contains(index), "{}", plan(&f.store));
        assert!(f.store.ensure_backfill_indexes(which).unwrap());
        assert!(!f.store.ensure_backfill_indexes(which).unwrap());
        assert!(plan(&f.store).contains(index), "{}", plan(&f.store));
    }
}

#[test]
fn unseen_users_are_those_alive_changed_before_the_reconciliation_and_not_found_by_it() {
    let mut f = fixture();
    let group = f.store.begin_group().unwrap();
    let state = |t: &str, deleted: Option<&str>| UserState {
        created: Some(t.into()),
        last_updated: t.into(),
        new_emitted: true,
        emitted: Some(t.into()),
        deleted_at: deleted.map(Into::into),
    };
    let r = "2024-06-01T00:00:00.000Z";
    group
        .put_user_state("found", &state("2024-01-01T00:00:00.000Z", None))
        .unwrap();
    group
        .put_user_state("gone", &state("2024-01-01T00:00:00.000Z", None))
        .unwrap();
    group
        .put_user_state("newer", &state("2024-07-01T00:00:00.000Z", None))
        .unwrap();
    group
        .put_user_state(
            "dead",
            &state("2024-01-01T00:00:00.000Z", Some("2024-02-01T00:00:00.000Z")),
        )
        .unwrap();
    group.mark_seen("found", r).unwrap();
    let unseen: Vec<String> = group
        .unseen_users(r)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(unseen, ["gone"]);
}

#[test]
fn user_states_returns_each_stored_state_once_and_nothing_for_unknown_ids() {
    let mut f = fixture();
    let group = f.store.begin_group().unwrap();
    let state = |t: &str| UserState {
        created: Some(t.into()),
        last_updated: t.into(),
        new_emitted: true,
        emitted: None,
        deleted_at: None,
    };
    let odd = "00u\"quote\\slash";
    group
        .put_user_state("00ub", &state("2024-02-01T00:00:00.000Z"))
        .unwrap();
    group
        .put_user_state(odd, &state("2024-03-01T00:00:00.000Z"))
        .unwrap();
    let found = group
        .user_states(["00ub", "00umissing", "00ub", odd])
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found["00ub"], state("2024-02-01T00:00:00.000Z"));
    assert_eq!(found[odd], state("2024-03-01T00:00:00.000Z"));
    assert!(group.user_states([]).unwrap().is_empty());
}
