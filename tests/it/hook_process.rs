//! The receiver as the `oktasync` binary runs it: `hook serve` killed with SIGKILL after it
//! answered 200 but before its sinks took the events loses nothing once restarted, and
//! `oktasync run` with `[hook] listen` serves the receiver and the operator's endpoints on one
//! listener, logging one line per refusal and never a secret.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use serde_json::Value;

use crate::helpers::spawn_sim;
use crate::hook_support::*;

/// A child process, its stderr as parsed JSON log lines, and the receiver's base URL.
struct Proc {
    child: Child,
    logs: mpsc::Receiver<Value>,
    /// Every log line received so far.
    seen: Vec<Value>,
    base: String,
}

impl Proc {
    fn start(mut cmd: Command) -> Proc {
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let parsed: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        let mut p = Proc {
            child,
            logs,
            seen: Vec::new(),
            base: String::new(),
        };
        let listening = p.wait_for(|l| l["message"] == "event hook receiver listening");
        p.base = format!("http://{}", listening["addr"].as_str().unwrap());
        p
    }

    fn wait_for(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => panic!("no such log line within 30 s: {e}"),
            }
        }
    }

    /// Every log line so far (wait for the process to end first to get them all).
    fn all_logs(&mut self) -> Vec<Value> {
        self.seen.extend(self.logs.try_iter());
        self.seen.clone()
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

fn secret_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("hook-secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    path
}

/// `oktasync hook serve` on port 0 with state in `dir`, NDJSON on stdout and the mirror.
fn hook_serve(dir: &Path) -> Command {
    let state = dir.join("state.db");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.args([
        "hook",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--state",
    ])
    .arg(&state)
    .args(["--sink", "stdout", "--sink"])
    .arg(format!("sqlite:{}", state.display()))
    .current_dir(dir)
    .env("OKTASYNC_HOOK_SECRET_FILE", secret_file(dir))
    .env("RUST_LOG", "oktasync=info")
    .env_remove("OKTASYNC_CONFIG")
    .env_remove("NOTIFY_SOCKET")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// The uuids of the complete NDJSON lines in `text` (a torn last line is ignored).
fn stdout_uuids(text: &str) -> Vec<String> {
    let mut parts: Vec<&str> = text.split('\n').collect();
    parts.pop();
    parts
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("stdout holds only NDJSON");
            assert_eq!(v["stream"], "event_hook");
            v["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_killed_with_sigkill_between_accepting_and_emitting_loses_nothing_after_restart()
{
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    // Nobody reads the first process's stdout: once the pipe is full, its emitter is stuck.
    let mut first = Proc::start(hook_serve(dir.path()));
    let url = format!("{}/okta/event-hook", first.base);
    let sent: Vec<String> = (0..60).map(|i| format!("u-kill-{i:02}")).collect();
    let posts: Vec<_> = sent
        .iter()
        .map(|uuid| {
            let body = delivery(&[log_event(uuid, "user.lifecycle.create", 4096)]);
            let url = url.clone();
            tokio::spawn(async move { post(&url, Some(SECRET), body).await.0 })
        })
        .collect();
    for p in posts {
        assert_eq!(p.await.unwrap(), 200, "every delivery was answered 200");
    }
    let waiting = inbox_len(&state);
    assert!(
        waiting > 0,
        "the kill must come while answered events wait for the sinks"
    );
    first.signal("-KILL");
    first.child.wait().unwrap();
    let mut before = String::new();
    first
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut before)
        .unwrap();

    let mut cmd = hook_serve(dir.path());
    cmd.stdout(Stdio::piped());
    let mut second = Proc::start(cmd);
    let mut out = second.child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).unwrap();
        text
    });
    eventually(
        Duration::from_secs(20),
        "the inbox is drained after the restart",
        || async { inbox_len(&state) == 0 },
    )
    .await;
    second.signal("-TERM");
    assert!(second.child.wait().unwrap().success());
    let after = reader.join().unwrap();
    let emitted: BTreeSet<String> = stdout_uuids(&before)
        .into_iter()
        .chain(stdout_uuids(&after))
        .collect();
    let sent: BTreeSet<String> = sent.into_iter().collect();
    assert_eq!(emitted, sent, "every answered event reached stdout");
    assert!(
        stdout_uuids(&after).len() as i64 >= waiting,
        "the restart emitted what waited"
    );
    let mirrored: BTreeSet<String> = mirror_events(&state).into_iter().map(|(u, _)| u).collect();
    assert_eq!(mirrored, sent, "and the mirror");
    for line in first.all_logs().into_iter().chain(second.all_logs()) {
        assert!(!line.to_string().contains(SECRET), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_hook_listen_serves_the_receiver_and_metrics_on_one_listener_and_logs_each_refusal()
 {
    let (sim, _) = spawn_sim(SimConfig {
        users: 10,
        logs: 20,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = "[metrics]\nlisten = \"127.0.0.1:0\"\n[hook]\nlisten = \"127.0.0.1:0\"\n";
    std::fs::write(dir.path().join("oktasync.toml"), config).unwrap();
    let state = dir.path().join("state.db");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.args(["run", "--log-format", "json", "--config"])
        .arg(dir.path().join("oktasync.toml"))
        .env("OKTA_DOMAIN", &sim.base_url)
        .env("OKTA_API_TOKEN", &sim.token)
        .env("OKTASYNC_STATE", &state)
        .env("OKTASYNC_HOOK_SECRET_FILE", secret_file(dir.path()))
        .env("RUST_LOG", "oktasync=debug")
        .env_remove("OKTASYNC_SINKS")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut daemon = Proc::start(cmd);
    let url = format!("{}/okta/event-hook", daemon.base);
    let body = delivery(&[log_event("u-daemon-1", "user.lifecycle.create", 0)]);
    assert_eq!(
        post(&url, Some("not-the-secret"), body.clone()).await.0,
        401
    );
    let refusal = daemon.wait_for(|l| l["message"] == "event hook request refused");
    assert_eq!(refusal["status"], 401);
    assert_eq!(post(&url, Some(SECRET), body).await.0, 200);
    // The daemon's own system_log poller may have mirrored the simulator's recent events too.
    let events = mirror_events(&state);
    assert!(
        events.contains(&("u-daemon-1".to_owned(), "event_hook".to_owned())),
        "the delivered event is mirrored as received by the hook: {events:?}"
    );
    let metrics = reqwest::get(format!("{}/metrics", daemon.base))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200, "/metrics on the hook listener");
    let text = metrics.text().await.unwrap();
    let accepted = text
        .lines()
        .find(|l| l.starts_with("oktasync_hook_deliveries_total{result=\"accepted\"}"))
        .expect("the accepted series");
    assert!(accepted.ends_with(" 1"), "{accepted}");
    assert!(
        text.contains("oktasync_hook_deliveries_total{result=\"refused\"} 1"),
        "{text}"
    );
    let ready = reqwest::get(format!("{}/readyz", daemon.base))
        .await
        .unwrap();
    assert!(ready.text().await.unwrap().contains("\"database\""));
    daemon.signal("-TERM");
    assert!(daemon.child.wait().unwrap().success());
    let logs = daemon.all_logs();
    let refusals = logs
        .iter()
        .filter(|l| l["message"] == "event hook request refused")
        .count();
    assert_eq!(refusals, 1, "one line for the one refusal");
    for line in logs.iter().map(Value::to_string) {
        assert!(
            !line.contains(SECRET) && !line.contains("not-the-secret"),
            "{line}"
        );
    }
}
