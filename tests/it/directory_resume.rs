//! The directory backfill under a rate limit and across stops: no 429 at the default share, a
//! stopped run resumes at the next group not yet synced, an unchanged directory costs a handful
//! of requests, and a page a stop left staged reaches the sinks before any later diff.

use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use oktasync::poll::Engine;
use oktasync::sink::{Delta, Op};
use oktasync::store::Store;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::directory_support::{DIRECTORY, assert_mirrors, ids, sync_directory, truth};
use crate::helpers::{sim_get, sim_post, spawn_sim};
use crate::sync::{ndjson_lines, settings};

/// Requests the simulator counted for one route, e.g. `GET /api/v1/groups/{id}/users`.
async fn requests_to(sim: &okta_sim::Sim, route: &str) -> u64 {
    sim_get(sim, "/__sim/counters").await["requests"][route]
        .as_u64()
        .unwrap_or(0)
}

fn synced_groups(state: &std::path::Path) -> i64 {
    let db = rusqlite::Connection::open(state).unwrap();
    db.query_row(
        "SELECT count(*) FROM groups WHERE members_synced IS NOT NULL",
        [],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_backfill_meets_no_429_and_a_stopped_run_resumes_at_the_next_group() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 400,
        logs: 20,
        groups: 80,
        apps: 6,
        rate_limit: Some(40),
        rate_window: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    engine.run_once("groups", &shutdown).await.unwrap();
    let (stop, stopping) = watch::channel(false);
    let members = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_once("group_members", &stopping).await }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while synced_groups(&state) < 20 {
        assert!(Instant::now() < deadline, "no group synced within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    members.await.unwrap().unwrap();
    let done = synced_groups(&state);
    let groups = (truth(&sim).await.groups.len() - 1) as i64;
    assert!(
        done < groups,
        "the stop landed mid-backfill ({done} of {groups})"
    );
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;
    let listings = requests_to(&sim, "GET /api/v1/groups/{id}/users").await as i64;
    assert!(
        (groups..=groups + 2).contains(&listings),
        "each group listed once (one listing in flight at the stop may repeat): {listings} for {groups}"
    );
    let counters = sim_get(&sim, "/__sim/counters").await;
    assert_eq!(
        counters["rate_limited"], 0,
        "no 429 at share 0.5: {counters}"
    );
}

#[tokio::test]
async fn an_unchanged_directory_costs_a_handful_of_requests_not_one_per_group() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 300,
        logs: 20,
        groups: 400,
        apps: 30,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    sync_directory(&engine).await.unwrap();
    let backfill = sim_get(&sim, "/__sim/counters").await["requests_total"]
        .as_u64()
        .unwrap();
    assert!(backfill > 400, "the backfill lists every group: {backfill}");
    sim_post(&sim, "/__sim/counters/reset", json!({})).await;
    let runs = sync_directory(&engine).await.unwrap();
    let total = sim_get(&sim, "/__sim/counters").await["requests_total"]
        .as_u64()
        .unwrap();
    let per_stream: Vec<(String, u64)> = runs
        .iter()
        .map(|r| (r.stream.clone(), r.requests))
        .collect();
    assert!(
        total <= 5,
        "an unchanged cycle made {total} requests: {per_stream:?}"
    );
    assert_eq!(total, runs.iter().map(|r| r.requests).sum::<u64>());
    assert!(runs.iter().all(|r| r.records == 0), "{runs:?}");
}

#[tokio::test]
async fn a_page_a_stop_left_staged_is_delivered_again_and_the_next_diff_corrects_it() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 60,
        logs: 20,
        groups: 6,
        apps: 3,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    sync_directory(&engine).await.unwrap();
    drop(engine);
    let (users, groups, _) = ids(&sim).await;
    let before = truth(&sim).await;
    let outsider = users
        .iter()
        .find(|u| !before.members.contains(&(groups[1].clone(), u.to_string())))
        .unwrap();
    // A page told the sinks of a membership Okta no longer has, then the process stopped
    // before the state database committed it (or the group's synced mark, which goes with it).
    let id = format!("{}/{outsider}", groups[1]);
    let data = json!({"groupId": groups[1], "userId": outsider}).to_string();
    let raw = serde_json::value::RawValue::from_string(data).unwrap();
    let phantom =
        Delta::new("group_members", &id, "2026-01-01T00:00:00.000Z", raw).with_op(Op::Add);
    Store::open(&state)
        .unwrap()
        .stage_pending("group_members", &[phantom])
        .unwrap();
    rusqlite::Connection::open(&state)
        .unwrap()
        .execute(
            "UPDATE groups SET members_synced = NULL WHERE id = ?1",
            [&groups[1]],
        )
        .unwrap();
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    engine.run_once("group_members", &shutdown).await.unwrap();
    let lines: Vec<Value> = ndjson_lines(dir.path())
        .into_iter()
        .filter(|l| l["id"] == id.as_str())
        .collect();
    let ops: Vec<&str> = lines.iter().map(|l| l["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["add", "remove"], "delivered again, then corrected");
    for stream in DIRECTORY {
        engine.run_once(stream, &shutdown).await.unwrap();
    }
    assert_mirrors(&sim, &state).await;
}
