//! The mirror as an exact copy of Okta: users deleted in Okta leave it (from the System Log, or
//! from a reconciliation), and a reconciliation repairs what the search index showed too late.
//! Every check compares with the simulator's truth.

use std::path::Path;
use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use oktasync::poll::{Engine, RECONCILE};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::helpers::{sim_post, spawn_sim, truth_users};
use crate::sim_support::{json as body, send};
use crate::sync::{assert_converged, mirror, ndjson_lines, settings, sync_all};

/// Deactivates then deletes user `id`, as Okta's two DELETE calls do.
pub async fn delete_user(sim: &Sim, id: &str) {
    for _ in 0..2 {
        let r = send(sim, Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
        assert_eq!(r.status(), 204, "DELETE /api/v1/users/{id}");
    }
}

/// Gives user `id` a new title; returns its new `lastUpdated`.
async fn touch(sim: &Sim, id: &str, title: &str) -> String {
    let change = json!({ "profile": { "title": title } });
    let r = send(
        sim,
        Method::POST,
        &format!("/api/v1/users/{id}"),
        Some(change),
    )
    .await;
    assert_eq!(r.status(), 200);
    body(r).await["lastUpdated"].as_str().unwrap().to_owned()
}

/// The NDJSON tombstone lines for user `id`.
fn tombstones(dir: &Path, id: &str) -> Vec<Value> {
    ndjson_lines(dir)
        .into_iter()
        .filter(|l| l["op"] == "delete" && l["id"] == id)
        .collect()
}

fn deleted_in_mirror(dir: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    let mut stmt = db.prepare("SELECT id FROM deleted_users").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn small() -> SimConfig {
    SimConfig {
        users: 40,
        logs: 100,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn a_user_deleted_between_syncs_leaves_the_live_mirror_and_every_sink_gets_one_tombstone() {
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
    let (id, _) = truth_users(&sim).await.remove(3);
    delete_user(&sim, &id).await;
    assert!(!truth_users(&sim).await.iter().any(|(u, _)| *u == id));
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
    assert_converged(&sim, dir.path()).await;
    assert_eq!(deleted_in_mirror(dir.path()), std::slice::from_ref(&id));
    let stones = tombstones(dir.path(), &id);
    assert_eq!(stones.len(), 1, "{stones:?}");
    assert_eq!(stones[0]["stream"], "updated_users");
    assert_eq!(stones[0]["data"]["id"], id.as_str());
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
    assert_eq!(
        tombstones(dir.path(), &id).len(),
        1,
        "never tombstoned twice"
    );
}

#[tokio::test]
async fn a_user_created_and_deleted_between_two_syncs_is_never_live_in_the_mirror() {
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
    let created = sim_post(&sim, "/__sim/users/create", json!({ "count": 1 })).await;
    let id = created["created"][0].as_str().unwrap().to_owned();
    delete_user(&sim, &id).await;
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
    assert_converged(&sim, dir.path()).await;
    let (users, _) = mirror(&dir.path().join("state.db"));
    assert!(!users.iter().any(|(u, _)| *u == id));
    assert_eq!(deleted_in_mirror(dir.path()), std::slice::from_ref(&id));
    assert_eq!(tombstones(dir.path(), &id).len(), 1);
}

/// Settings with the System Log poller off, so only a reconciliation can see deletions.
fn users_only(dir: &Path) -> oktasync::config::SyncSettings {
    let mut s = settings(dir, None);
    for p in &mut s.pollers {
        p.enabled = p.stream != "system_log";
    }
    s
}

#[tokio::test]
async fn users_deleted_while_the_system_log_is_not_read_are_tombstoned_by_a_reconciliation() {
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(client.clone(), users_only(dir.path())).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    let users = ["new_users", "updated_users"];
    engine.run_streams(&users, &shutdown).await.unwrap();
    let truth = truth_users(&sim).await;
    let gone: Vec<String> = [5, 9].iter().map(|i| truth[*i].0.clone()).collect();
    for id in &gone {
        delete_user(&sim, id).await;
    }
    engine.run_streams(&users, &shutdown).await.unwrap();
    let (live, _) = mirror(&dir.path().join("state.db"));
    assert_ne!(
        live,
        truth_users(&sim).await,
        "the users pollers alone cannot see deletions"
    );
    let run = engine.run_once(RECONCILE, &shutdown).await.unwrap();
    let (live, _) = mirror(&dir.path().join("state.db"));
    assert_eq!(
        live,
        truth_users(&sim).await,
        "after reconciling, the mirror equals the truth"
    );
    let mut deleted = deleted_in_mirror(dir.path());
    deleted.sort();
    let mut expected = gone.clone();
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(run.records, 2, "two tombstones and nothing else: {run:?}");
    for id in &gone {
        let stones = tombstones(dir.path(), id);
        assert_eq!(stones.len(), 1);
        assert_eq!(stones[0]["data"]["via"], "reconcile");
    }
}

fn parse(t: &str) -> chrono::DateTime<chrono::Utc> {
    oktasync::poll::plan::parse_time(t).expect("an Okta timestamp")
}

/// Waits until `search` shows user `id` at version `version`.
async fn until_searchable(sim: &Sim, id: &str, version: &str) {
    let search: String =
        url::form_urlencoded::byte_serialize(format!("id eq \"{id}\"").as_bytes()).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found =
            body(crate::sim_support::get(sim, &format!("/api/v1/users?search={search}")).await)
                .await;
        if found[0]["lastUpdated"] == version {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "search never showed {id} at {version}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reconciliation_repairs_a_change_the_search_index_showed_only_after_the_look_back_window()
{
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), None);
    s.lookback = Duration::from_secs(1);
    let engine = Engine::open(client.clone(), s).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    let users = ["new_users", "updated_users"];
    engine.run_streams(&users, &shutdown).await.unwrap();
    let truth = truth_users(&sim).await;
    let (late, other) = (truth[2].0.clone(), truth[7].0.clone());
    sim_post(&sim, "/__sim/settings", json!({ "search_lag_seconds": 4 })).await;
    let hidden = touch(&sim, &late, "Indexed late").await;
    sim_post(&sim, "/__sim/settings", json!({ "search_lag_seconds": 0 })).await;
    // The next change must land beyond the look-back window of the hidden one.
    let beyond = parse(&hidden) + chrono::Duration::milliseconds(1500);
    let deadline = Instant::now() + Duration::from_secs(10);
    while parse(&touch(&sim, &other, "Indexed at once").await) <= beyond {
        assert!(
            Instant::now() < deadline,
            "the simulator's clock does not move"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.run_streams(&users, &shutdown).await.unwrap();
    until_searchable(&sim, &late, &hidden).await;
    engine.run_streams(&users, &shutdown).await.unwrap();
    let (live, _) = mirror(&dir.path().join("state.db"));
    let stale = live.iter().find(|(id, _)| *id == late).unwrap();
    assert_ne!(
        stale.1, hidden,
        "the change was hidden past the look-back window"
    );
    engine.run_once(RECONCILE, &shutdown).await.unwrap();
    let (live, _) = mirror(&dir.path().join("state.db"));
    assert_eq!(live, truth_users(&sim).await);
    let lines = ndjson_lines(dir.path());
    assert!(
        lines
            .iter()
            .any(|l| l["stream"] == "updated_users" && l["id"] == late && l["version"] == hidden),
        "the repaired version went to the NDJSON file too"
    );
}

#[tokio::test]
async fn events_past_the_retention_leave_the_mirror_and_runs_past_the_history_are_pruned() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 20,
        logs: 2000,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), None);
    s.system_log_retention_days = Some(3);
    s.run_history.keep = 2;
    for _ in 0..3 {
        sync_all(&client, s.clone()).await.unwrap();
    }
    let cutoff = chrono::Utc::now() - chrono::Duration::days(3);
    let truth = crate::helpers::sim_get(&sim, "/__sim/truth").await;
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let kept: i64 = db
        .query_row("SELECT count(*) FROM system_log", [], |r| r.get(0))
        .unwrap();
    let oldest: String = db
        .query_row("SELECT min(published) FROM system_log", [], |r| r.get(0))
        .unwrap();
    assert!(parse(&oldest) >= cutoff, "{oldest} is older than 3 days");
    let all = truth["logs"].as_array().unwrap().len() as i64;
    assert!(kept > 0 && kept < all, "kept {kept} of {all}");
    let runs: i64 = db
        .query_row(
            "SELECT count(*) FROM runs WHERE stream = 'system_log'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(runs, 2, "three runs, two kept");
    let total: i64 = db
        .query_row(
            "SELECT total_records FROM stream_status WHERE stream = 'system_log'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(total, all, "pruned runs still count in the total");
}
