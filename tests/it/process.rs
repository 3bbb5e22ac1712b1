//! The `oktasync` binary as people run it: stdout is pure NDJSON, SIGKILL at any point loses
//! nothing, and SIGTERM stops the daemon cleanly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use serde_json::{Value, json};

use crate::helpers::{sim_post, spawn_sim, truth_logs, truth_users};
use crate::sync::{assert_converged, mirror};

const CONFIG: &str = r#"
[sync]
lookback_secs = 5
[pollers.new_users]
page_size = 20
[pollers.updated_users]
page_size = 20
[pollers.system_log]
start = "all"
page_size = 100
schedule = "*/1 * * * * *"
"#;

/// `oktasync ARGS` against `sim`, with state and sinks in `dir`.
fn oktasync(sim: &Sim, dir: &Path, args: &[&str]) -> Command {
    oktasync_with(sim, dir, CONFIG, args)
}

/// `oktasync ARGS` against `sim` with `config`, state and NDJSON (and a mirror) in `dir`.
pub fn oktasync_with(sim: &Sim, dir: &Path, config: &str, args: &[&str]) -> Command {
    std::fs::write(dir.join("oktasync.toml"), config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.args(args)
        .arg("--config")
        .arg(dir.join("oktasync.toml"))
        .env("OKTA_DOMAIN", &sim.base_url)
        .env("OKTA_API_TOKEN", &sim.token)
        .env("OKTASYNC_STATE", dir.join("state.db"))
        .env(
            "OKTASYNC_SINKS",
            format!(
                "sqlite:{},file:{}",
                dir.join("state.db").display(),
                dir.join("out.ndjson").display()
            ),
        )
        .env("RUST_LOG", "oktasync=warn")
        .stdin(Stdio::null());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_carries_only_ndjson_envelopes() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 120,
        logs: 300,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let mut cmd = oktasync(&sim, dir.path(), &["sync", "--sink", "stdout"]);
        cmd.env("RUST_LOG", "oktasync=debug");
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let users_and_logs = lines
        .iter()
        .filter(|l| {
            ["new_users", "updated_users", "system_log"].contains(&l["stream"].as_str().unwrap())
        })
        .count();
    assert_eq!(users_and_logs, 120 + 120 + truth_logs(&sim).await.len());
    assert!(
        lines.iter().any(|l| l["stream"] == "group_members"),
        "the directory streams run by default"
    );
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["data", "emitted_at", "id", "op", "stream", "version"]
        );
        assert_eq!(line["op"], "upsert", "{line}");
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).is_empty(),
        "logs went to stderr"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_twenty_points_then_restart_converges_with_nothing_missing() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 1500,
        logs: 6000,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = 0x5eed;
    // Kills aim inside a run: the window shrinks whenever a run finished before its kill.
    let mut window_ms = 400;
    for point in 0..20 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(10 + (seed >> 33) % window_ms);
        let mut child = oktasync(&sim, dir.path(), &["sync"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_some() {
            println!("kill point {point}: the run finished within {delay:?}");
            window_ms = (window_ms / 2).max(20);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The org keeps changing between restarts, so every run has work to be cut short.
        sim_post(&sim, "/__sim/users/touch", json!({ "count": 100 })).await;
        sim_post(&sim, "/__sim/users/create", json!({ "count": 5 })).await;
        sim_post(&sim, "/__sim/logs", json!({ "count": 500 })).await;
    }
    let out = oktasync(&sim, dir.path(), &["sync"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_converged(&sim, dir.path()).await;
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let killed: i64 = db
        .query_row(
            "SELECT count(*) FROM runs WHERE ended_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!("{killed} of 20 kills landed inside a run");
    assert!(killed >= 10, "kills landed inside runs ({killed} of 20)");
    let (users, _) = mirror(&dir.path().join("state.db"));
    assert_eq!(users.len(), truth_users(&sim).await.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_cleanly_within_ten_seconds() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 3000,
        logs: 20_000,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = oktasync(&sim, dir.path(), &["run"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.path().join("state.db");
    crate::helpers::wait_until("a cursor is committed", Duration::from_secs(20), || {
        let state = state.clone();
        async move {
            rusqlite::Connection::open(&state)
                .and_then(|db| {
                    db.query_row("SELECT count(*) FROM cursors", [], |r| r.get::<_, i64>(0))
                })
                .is_ok_and(|n| n > 0)
        }
    })
    .await;
    let signalled = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(10));
    let db = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let cursors: i64 = db
        .query_row("SELECT count(*) FROM cursors", [], |r| r.get(0))
        .unwrap();
    assert!(cursors > 0, "work done before the signal was committed");
    let overlapping: i64 = db
        .query_row(
            "SELECT count(*) FROM runs a JOIN runs b ON a.stream = b.stream AND a.id < b.id
             WHERE b.started_at < coalesce(a.ended_at, '9999')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        overlapping, 0,
        "a poller never runs twice at once, even on a one-second schedule"
    );
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_every_stream_and_cursor_reset_moves_a_position() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 100,
        logs: 300,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(oktasync(&sim, d, &["sync"]));
    let status: Value =
        serde_json::from_str(&run_ok(oktasync(&sim, d, &["status", "--json"]))).unwrap();
    assert_eq!(
        status.as_array().unwrap().len(),
        oktasync::config::STREAMS.len(),
        "{status}"
    );
    for s in status.as_array().unwrap() {
        assert!(
            s["position"].is_string() && s["total_records"].as_u64().unwrap() > 0,
            "{s}"
        );
        assert!(
            s["last_success_at"].is_string() && s["lag_seconds"].is_i64(),
            "{s}"
        );
    }
    let table = run_ok(oktasync(&sim, d, &["status"]));
    assert!(
        table.starts_with("STREAM") && table.contains("system_log"),
        "{table}"
    );

    run_ok(oktasync(
        &sim,
        d,
        &[
            "cursor",
            "reset",
            "updated_users",
            "--to",
            "2020-01-01T00:00:00Z",
        ],
    ));
    let cursor: Value = serde_json::from_str(&run_ok(oktasync(
        &sim,
        d,
        &["cursor", "show", "updated_users"],
    )))
    .unwrap();
    assert_eq!(cursor["hwm"], "2020-01-01T00:00:00.000Z");
    run_ok(oktasync(&sim, d, &["cursor", "reset", "system_log"]));
    assert_eq!(
        run_ok(oktasync(&sim, d, &["cursor", "show", "system_log"])).trim(),
        "null"
    );
    run_ok(oktasync(&sim, d, &["sync", "updated_users", "system_log"]));
    crate::sync::assert_converged(&sim, d).await;
    let bad = oktasync(&sim, d, &["cursor", "reset", "roles"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("new_users, updated_users, system_log, groups")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_syncs_a_simulated_org_and_prints_next_steps() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .args(["demo", "--users", "150", "--logs", "400"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("150 users")
            && stdout.contains("sqlite3 oktasync-demo.db")
            && stdout.contains("jq"),
        "{stdout}"
    );
    let (users, logs) = mirror(&dir.path().join("oktasync-demo.db"));
    assert_eq!(users.len(), 150);
    assert!(!logs.is_empty());
    let lines = std::fs::read_to_string(dir.path().join("oktasync-demo.ndjson")).unwrap();
    let users_and_logs = lines
        .lines()
        .filter(|l| {
            !["groups", "group_members", "apps", "app_users"]
                .iter()
                .any(|s| l.starts_with(&format!("{{\"stream\":\"{s}\"")))
        })
        .count();
    assert_eq!(users_and_logs, 150 + 150 + logs.len());
}
