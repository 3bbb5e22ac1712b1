//! Sinks that fail cleanly: a closed stdout ends `sync` at once with one message and exit code
//! 141 and loses nothing; a stuck stdout does not hold SIGTERM up; no cursor moves past what
//! every sink took; `sync` runs the other streams after one fails and names the failed ones.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use oktasync::poll::Engine;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::helpers::{sim_post, spawn_sim, truth_logs, truth_users};
use crate::sync::{mirror, settings, sync_all};

/// `oktasync ARGS` against `sim` with state in `dir`, the given config file text and its sinks
/// (no `OKTASYNC_SINKS`), logging at info.
fn oktasync(sim: &Sim, dir: &Path, config: &str, args: &[&str]) -> Command {
    let mut cmd = crate::process::oktasync_with(sim, dir, config, args);
    cmd.env_remove("OKTASYNC_SINKS")
        .env("RUST_LOG", "oktasync=info");
    cmd
}

const ALL: &str = r#"
[pollers.system_log]
start = "all"
"#;

/// Waits for `child` to exit within `limit`; kills it and fails otherwise.
fn exit_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("oktasync did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `oktasync ARGS` with stdout read for one line and then closed, as `| head -1` does;
/// returns the exit status and stderr.
async fn closed_after_one_line(mut cmd: Command) -> (std::process::ExitStatus, String) {
    tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(first["op"], "upsert");
        drop(lines);
        let status = exit_within(&mut child, Duration::from_secs(10));
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, stderr)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_to_a_stdout_closed_after_one_line_stops_the_daemon_with_exit_code_141() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 300,
        logs: 400,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cmd = oktasync(&sim, dir.path(), ALL, &["run", "--sink", "stdout"]);
    let (status, stderr) = closed_after_one_line(cmd).await;
    assert_eq!(status.code(), Some(141), "{stderr}");
    assert_eq!(stderr.matches("stdout was closed").count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_to_a_stdout_closed_after_one_line_exits_at_once_and_a_rerun_loses_nothing() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 300,
        logs: 400,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let cmd = oktasync(&sim, &d, ALL, &["sync", "--sink", "stdout"]);
    let (status, stderr) = closed_after_one_line(cmd).await;
    assert_eq!(status.code(), Some(141), "{stderr}");
    assert_eq!(stderr.matches("stdout was closed").count(), 1, "{stderr}");
    let rerun = tokio::task::spawn_blocking({
        let mut cmd = oktasync(&sim, &d, ALL, &["sync", "--sink", "stdout"]);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(rerun.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let has = |stream: &str, id: &str| lines.iter().any(|l| l["stream"] == stream && l["id"] == id);
    for (id, _) in truth_users(&sim).await {
        assert!(
            has("new_users", &id) && has("updated_users", &id),
            "user {id} was lost"
        );
    }
    for uuid in truth_logs(&sim).await {
        assert!(has("system_log", &uuid), "event {uuid} was lost");
    }
}

/// True when a thread of process `pid` sleeps writing to a pipe.
fn blocked_on_a_pipe(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains("pipe_write"))
    })
}

/// Cursors of the users and System Log streams, whose pages outgrow a pipe's buffer here (the
/// few groups and apps fit in it, so their cursors rightly move once stdout has taken them).
fn bulk_cursors(state: &Path) -> i64 {
    let db = rusqlite::Connection::open(state).unwrap();
    db.query_row(
        "SELECT count(*) FROM cursors
         WHERE stream IN ('new_users', 'updated_users', 'system_log')",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_run_within_ten_seconds_while_stdout_is_stuck_and_no_cursor_moves() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 300,
        logs: 200,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = oktasync(&sim, dir.path(), ALL, &["run", "--sink", "stdout"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !blocked_on_a_pipe(pid) {
        assert!(
            Instant::now() < deadline,
            "oktasync never filled its stdout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = exit_within(&mut child, Duration::from_secs(10));
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, stderr)
    })
    .await
    .unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert!(status.1.contains("abandoned"), "{}", status.1);
    assert_eq!(
        bulk_cursors(&dir.path().join("state.db")),
        0,
        "no cursor moved past what stdout took"
    );
}

#[tokio::test]
async fn a_sink_that_fails_moves_no_cursor_and_writes_no_mirror_row() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 30,
        logs: 200,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut s = settings(dir.path(), None);
    s.sinks[1] = format!("file:{}", out.join("events.ndjson").display());
    sync_all(&client, s.clone()).await.unwrap();
    let before = (
        cursor(dir.path(), "system_log"),
        mirror(&dir.path().join("state.db")),
    );
    sim_post(&sim, "/__sim/logs", json!({ "count": 50 })).await;
    let engine = Engine::open(client.clone(), s).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    let err = engine.run_once("system_log", &shutdown).await.unwrap_err();
    assert!(format!("{err:#}").contains("events.ndjson"), "{err:#}");
    let after = (
        cursor(dir.path(), "system_log"),
        mirror(&dir.path().join("state.db")),
    );
    assert_eq!(before, after);
}

fn cursor(dir: &Path, stream: &str) -> Option<String> {
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    db.query_row(
        "SELECT value FROM cursors WHERE stream = ?1",
        [stream],
        |r| r.get(0),
    )
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_runs_the_other_streams_after_one_fails_and_exits_non_zero_naming_it() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 40,
        logs: 100,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let filtered = format!("{ALL}filter = \"eventType eq \\\"user.session.start\\\"\"\n");
    let first = oktasync(&sim, &d, &filtered, &["sync", "system_log"])
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = tokio::task::spawn_blocking({
        let mut cmd = oktasync(
            &sim,
            &d,
            ALL,
            &["sync", "system_log", "new_users", "updated_users"],
        );
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 of 2 sync runs failed")
            && stderr.contains("system_log: pollers.system_log filter"),
        "{stderr}"
    );
    let (users, _) = mirror(&d.join("state.db"));
    assert_eq!(
        users,
        truth_users(&sim).await,
        "the users streams synced after the failure"
    );
}
