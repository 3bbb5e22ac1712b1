//! The sync engine end to end against the simulator: every comparison is with the simulator's
//! truth, never with the engine's own idea of it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use okta_sim::{Sim, SimConfig};
use oktasync::config::{StartAt, SyncSettings};
use oktasync::okta::OktaClient;
use oktasync::poll::{Engine, RunSummary};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::helpers::{sim_post, spawn_sim, truth_logs, truth_users};

/// Settings for a sync into `dir`: state (and mirror) in `state.db`, NDJSON in `out.ndjson`,
/// every poller starting from the beginning.
pub fn settings(dir: &Path, page_size: Option<u32>) -> SyncSettings {
    let state = dir.join("state.db");
    let sinks = vec![
        format!("sqlite:{}", state.display()),
        format!("file:{}", dir.join("out.ndjson").display()),
    ];
    let mut settings = SyncSettings::local(state, sinks, StartAt::All);
    for p in &mut settings.pollers {
        if let Some(size) = page_size {
            p.page_size = size;
        }
    }
    settings.lookback = Duration::from_secs(5);
    settings
}

pub async fn sync_all(
    client: &OktaClient,
    settings: SyncSettings,
) -> anyhow::Result<Vec<RunSummary>> {
    let engine = Engine::open(client.clone(), settings)?;
    let (_keep, shutdown) = watch::channel(false);
    let mut out = engine
        .run_streams(&["new_users", "updated_users"], &shutdown)
        .await?;
    out.push(engine.run_once("system_log", &shutdown).await?);
    Ok(out)
}

/// The mirror's users (those not deleted in Okta) as `(id, last_updated)` and its System Log
/// uuids, sorted.
pub fn mirror(state: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let db = rusqlite::Connection::open(state).unwrap();
    let mut users: Vec<(String, String)> = db
        .prepare("SELECT id, last_updated FROM users WHERE deleted_at IS NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    users.sort();
    let logs: Vec<String> = db
        .prepare("SELECT uuid FROM system_log ORDER BY uuid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (users, logs)
}

/// Every NDJSON line in `dir` (the live file and any rotated ones), parsed.
pub fn ndjson_lines(dir: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("out.ndjson")
        {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                lines.push(serde_json::from_str(line).expect("every line is one JSON object"));
            }
        }
    }
    lines
}

/// `(stream, id, version)` keys of NDJSON lines, with how often each occurs.
pub fn keys(lines: &[Value]) -> HashMap<(String, String, String), usize> {
    let mut out = HashMap::new();
    for l in lines {
        let key = (
            l["stream"].as_str().unwrap().to_owned(),
            l["id"].as_str().unwrap().to_owned(),
            l["version"].as_str().unwrap().to_owned(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

pub async fn assert_converged(sim: &Sim, dir: &Path) {
    let (users, logs) = mirror(&dir.join("state.db"));
    assert_eq!(
        users,
        truth_users(sim).await,
        "mirror users equal the simulator's"
    );
    assert_eq!(
        logs,
        truth_logs(sim).await,
        "mirror events equal the simulator's"
    );
    let lines = ndjson_lines(dir);
    let streamed: BTreeSet<(String, String)> = lines
        .iter()
        .filter(|l| l["stream"] == "updated_users")
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for user in truth_users(sim).await {
        assert!(
            streamed.contains(&user),
            "NDJSON has the current version of {user:?}"
        );
    }
    let created: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["stream"] == "new_users")
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for (id, _) in truth_users(sim).await {
        assert!(
            created.contains(id.as_str()),
            "NDJSON has user {id} as a new user"
        );
    }
    let events: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["stream"] == "system_log")
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for uuid in truth_logs(sim).await {
        assert!(events.contains(uuid.as_str()), "NDJSON has event {uuid}");
    }
}

#[tokio::test]
async fn a_full_backfill_equals_the_simulators_truth_in_every_sink() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 300,
        logs: 1500,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let summaries = sync_all(&client, settings(dir.path(), None)).await.unwrap();
    assert_eq!(
        summaries[0].records, 300,
        "new_users emits every user, DEPROVISIONED included"
    );
    assert_converged(&sim, dir.path()).await;
    let lines = ndjson_lines(dir.path());
    assert!(
        keys(&lines).values().all(|n| *n == 1),
        "no duplicate without a crash"
    );
    let first = &lines[0];
    for field in ["stream", "op", "id", "version", "emitted_at", "data"] {
        assert!(first.get(field).is_some(), "envelope has {field}: {first}");
    }
    // The backfill ran without its random-order indexes; every query has its index again.
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    for (query, index) in [
        (
            "SELECT uuid FROM system_log WHERE actor_id = '00u1' ORDER BY published",
            "system_log_actor_id",
        ),
        (
            "SELECT id FROM users WHERE login = 'a@example.com'",
            "users_login",
        ),
        (
            "SELECT id FROM users WHERE email = 'a@example.com'",
            "users_email",
        ),
    ] {
        let plan: String = db
            .query_row(&format!("EXPLAIN QUERY PLAN {query}"), [], |r| r.get(3))
            .unwrap();
        assert!(
            plan.contains(index),
            "{index} is back after the backfill: {plan}"
        );
    }
}

#[tokio::test]
async fn equal_timestamps_across_small_pages_are_each_delivered_once() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 200,
        logs: 50,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), Some(7)))
        .await
        .unwrap();
    let counts = keys(&ndjson_lines(dir.path()));
    let updated: Vec<_> = counts
        .iter()
        .filter(|((s, _, _), _)| s == "updated_users")
        .collect();
    assert_eq!(updated.len(), 200);
    assert!(updated.iter().all(|(_, n)| **n == 1));
    let truth = truth_users(&sim).await;
    let mut versions: HashMap<&str, usize> = HashMap::new();
    for (_, ts) in &truth {
        *versions.entry(ts.as_str()).or_insert(0) += 1;
    }
    assert!(
        versions.values().any(|n| *n > 7),
        "the simulator really has ties longer than a page"
    );
}

#[tokio::test]
async fn users_changed_while_a_sync_runs_are_caught_by_the_next_run() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 400,
        logs: 200,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let running = tokio::spawn({
        let (client, settings) = (client.clone(), settings(dir.path(), Some(20)));
        async move { sync_all(&client, settings).await }
    });
    crate::helpers::wait_until("the sync is under way", Duration::from_secs(10), || async {
        crate::helpers::sim_get(&sim, "/__sim/counters").await["requests_total"]
            .as_u64()
            .is_some_and(|n| n > 0)
    })
    .await;
    sim_post(&sim, "/__sim/users/touch", json!({ "count": 25 })).await;
    sim_post(&sim, "/__sim/users/create", json!({ "count": 10 })).await;
    running.await.unwrap().unwrap();
    sync_all(&client, settings(dir.path(), Some(20)))
        .await
        .unwrap();
    assert_converged(&sim, dir.path()).await;
}

#[tokio::test]
async fn late_persisted_log_events_are_all_delivered_exactly_once() {
    let config = SimConfig {
        users: 20,
        logs: 100,
        log_lag_seconds: 2,
        ..SimConfig::default()
    };
    let (sim, client) = spawn_sim(config).await;
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..6 {
        sim_post(&sim, "/__sim/logs", json!({ "count": 40 })).await;
        sync_all(&client, settings(dir.path(), Some(25)))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    crate::helpers::wait_until(
        "every event is persisted",
        Duration::from_secs(5),
        || async { crate::helpers::visible_logs(&sim).await == 100 + 6 * 40 },
    )
    .await;
    sync_all(&client, settings(dir.path(), Some(25)))
        .await
        .unwrap();
    assert_converged(&sim, dir.path()).await;
    let counts = keys(&ndjson_lines(dir.path()));
    let events: Vec<_> = counts
        .iter()
        .filter(|((s, _, _), _)| s == "system_log")
        .collect();
    assert_eq!(events.len(), truth_logs(&sim).await.len());
    assert!(
        events.iter().all(|(_, n)| **n == 1),
        "no event delivered twice"
    );
}

#[tokio::test]
async fn rate_limit_storms_and_injected_faults_still_converge() {
    let config = SimConfig {
        users: 150,
        logs: 400,
        rate_limit: Some(30),
        rate_window: Duration::from_secs(1),
        fail_rate: 0.05,
        ..SimConfig::default()
    };
    let (sim, client) = spawn_sim(config).await;
    let dir = tempfile::tempdir().unwrap();
    let mut clean = false;
    for _ in 0..10 {
        if sync_all(&client, settings(dir.path(), Some(20)))
            .await
            .is_ok()
        {
            clean = true;
            break;
        }
    }
    assert!(clean, "a sync completes despite faults");
    sim_post(&sim, "/__sim/settings", json!({ "fail_rate": 0.0 })).await;
    assert_converged(&sim, dir.path()).await;
    let counters = crate::helpers::sim_get(&sim, "/__sim/counters").await;
    assert!(
        counters["faults"].as_u64().unwrap() > 0,
        "faults were injected: {counters}"
    );
}

#[tokio::test]
async fn a_system_log_filter_narrows_the_query_and_changing_it_needs_a_cursor_reset() {
    let (_sim, client) = spawn_sim(SimConfig {
        users: 30,
        logs: 800,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut with_filter = settings(dir.path(), None);
    let logs = with_filter
        .pollers
        .iter_mut()
        .find(|p| p.stream == "system_log")
        .unwrap();
    logs.filter = Some("eventType eq \"user.session.start\"".into());
    let engine = Engine::open(client.clone(), with_filter).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    let run = engine.run_once("system_log", &shutdown).await.unwrap();
    assert!(run.records > 0);
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let other: i64 = db
        .query_row(
            "SELECT count(*) FROM system_log WHERE event_type != 'user.session.start'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(other, 0, "only the filtered event type was synced");
    drop(engine);
    let err = sync_all(&client, settings(dir.path(), None))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("cursor reset system_log"),
        "{err:#}"
    );
}

#[tokio::test]
async fn a_second_sync_into_the_same_state_is_refused_while_the_first_holds_it() {
    let (_sim, client) = spawn_sim(SimConfig {
        users: 10,
        logs: 10,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let first = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    let err = Engine::open(client.clone(), settings(dir.path(), None))
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("another oktasync is syncing"),
        "{err:#}"
    );
    drop(first);
    sync_all(&client, settings(dir.path(), None)).await.unwrap();
}
