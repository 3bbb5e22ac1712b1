//! The users streams share one scan and keep their state per user, not in the cursor: a first
//! backfill reads each user once, and a burst of updates at one timestamp leaves the cursor small.

use std::time::Instant;

use okta_sim::SimConfig;
use oktasync::poll::Engine;
use serde_json::json;
use tokio::sync::watch;

use crate::helpers::{requests, sim_post, spawn_sim, truth_users};
use crate::sync::{assert_converged, settings, sync_all};

fn users_cursor_sizes(dir: &std::path::Path) -> Vec<usize> {
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT length(value) FROM cursors WHERE stream IN ('new_users', 'updated_users')")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|n| n.unwrap() as usize)
        .collect()
}

#[tokio::test]
async fn a_first_backfill_reads_each_user_once_for_both_users_streams() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 2000,
        logs: 10,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
    let user_requests = requests(&sim)
        .await
        .iter()
        .filter(|r| r["path"] == "/api/v1/users")
        .count();
    assert_eq!(user_requests, 2000 / 200, "one scan of 200-user pages");
    assert_converged(&sim, dir.path()).await;
}

/// How many users share the newest `lastUpdated`.
fn burst_users(truth: &[(String, String)]) -> usize {
    let newest = truth
        .iter()
        .map(|(_, t)| t.as_str())
        .max()
        .unwrap_or_default();
    truth.iter().filter(|(_, t)| t == newest).count()
}

#[tokio::test]
async fn a_burst_of_100000_updates_at_one_timestamp_keeps_the_users_cursors_small() {
    let started = Instant::now();
    let (sim, client) = spawn_sim(SimConfig {
        users: 100_000,
        logs: 10,
        ..SimConfig::default()
    })
    .await;
    println!("simulator ready in {:?}", started.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), None);
    for p in &mut s.pollers {
        p.start = oktasync::config::StartAt::Now;
    }
    let engine = Engine::open(client.clone(), s).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    let users = ["new_users", "updated_users"];
    engine.run_streams(&users, &shutdown).await.unwrap();
    let touched = sim_post(&sim, "/__sim/users/touch", json!({ "count": 100_000 })).await;
    assert_eq!(touched["touched"].as_array().unwrap().len(), 100_000);
    let truth = truth_users(&sim).await;
    let burst = burst_users(&truth);
    assert!(burst > 50_000, "{burst} users share the newest lastUpdated");
    println!("burst made at {:?}", started.elapsed());
    let summaries = engine.run_streams(&users, &shutdown).await.unwrap();
    println!("burst synced at {:?}", started.elapsed());
    assert_eq!(summaries[0].records, 0, "no user is new");
    assert_eq!(
        summaries[1].records as usize, burst,
        "each changed user once"
    );
    let sizes = users_cursor_sizes(dir.path());
    assert_eq!(sizes.len(), 2);
    assert!(sizes.iter().all(|n| *n < 100), "cursor sizes {sizes:?}");
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let tracked: i64 = db
        .query_row(
            "SELECT count(*) FROM user_state WHERE emitted = last_updated",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        tracked as usize, burst,
        "one state row per user of the burst, touched once"
    );
    let again = engine.run_streams(&users, &shutdown).await.unwrap();
    assert_eq!(again[1].records, 0, "nothing twice");
}
