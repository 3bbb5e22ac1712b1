//! `oktasync run` as systemd and Prometheus meet it: the sd_notify messages in order, `/metrics`
//! read with a Prometheus text-format parser after a sync, and `/readyz` turning unready when a
//! poller keeps failing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use prometheus_parse::{Scrape, Value as Sample};
use serde_json::{Value, json};

use crate::helpers::{sim_post, spawn_sim, truth_logs};

const CONFIG: &str = r#"
[metrics]
listen = "127.0.0.1:0"
[pollers.system_log]
start = "all"
schedule = "*/1 * * * * *"
"#;

/// `oktasync run` against `sim` with JSON logs, state in `dir`, mirror and NDJSON sinks.
fn daemon(sim: &Sim, dir: &Path) -> Command {
    std::fs::write(dir.join("oktasync.toml"), CONFIG).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.args(["run", "--log-format", "json", "--config"])
        .arg(dir.join("oktasync.toml"))
        .env("OKTA_DOMAIN", &sim.base_url)
        .env("OKTA_API_TOKEN", &sim.token)
        .env("OKTASYNC_STATE", dir.join("state.db"))
        .env("OKTASYNC_SINKS", sinks(dir).join(","))
        .env("RUST_LOG", "oktasync=info")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn sinks(dir: &Path) -> [String; 2] {
    [
        format!("sqlite:{}", dir.join("state.db").display()),
        format!("file:{}", dir.join("out.ndjson").display()),
    ]
}

/// A running daemon, its stderr lines (each parsed as JSON) and the address of its endpoints.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<Value>,
    base: String,
}

impl Daemon {
    fn start(mut cmd: Command) -> Daemon {
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                let parsed: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Daemon {
            child,
            lines,
            base: String::new(),
        };
        let serving =
            daemon.wait_for_log(|l| l["message"] == "serving /metrics, /healthz and /readyz");
        daemon.base = format!("http://{}", serving["addr"].as_str().unwrap());
        daemon
    }

    /// The first log line matching `want`, within 30 s.
    fn wait_for_log(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!("no such log line within 60 s: {e}"),
            }
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Polls `/readyz` until `want(status, body)`, within `secs`.
    async fn wait_for_readyz(&self, secs: u64, want: impl Fn(u16, &Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.get("/readyz").await;
            let body: Value = serde_json::from_str(&body).unwrap();
            if want(status, &body) {
                return body;
            }
            assert!(Instant::now() < deadline, "/readyz stayed {status} {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(mut self) {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit status {status:?}");
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every sample of a scrape, by metric name and sorted labels.
type Samples = HashMap<(String, Vec<(String, String)>), f64>;

fn samples(text: &str) -> Samples {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            let value = match s.value {
                Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => v,
                other => panic!("unexpected sample {other:?}"),
            };
            ((s.metric, labels), value)
        })
        .collect()
}

fn sample(all: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut key: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    key.sort();
    *all.get(&(name.to_owned(), key))
        .unwrap_or_else(|| panic!("no {name}{labels:?} in {:#?}", all.keys()))
}

fn ready_and_caught_up(status: u16, body: &Value) -> bool {
    let pollers = body["pollers"].as_object().unwrap();
    status == 200
        && pollers.len() == oktasync::config::STREAMS.len()
        && pollers.values().all(|p| p["state"] == "fresh")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_a_sync_hold_every_series_with_the_counts_the_sync_made() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 120,
        logs: 300,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(daemon(&sim, dir.path()));
    assert_eq!(daemon.get("/healthz").await, (200, "ok\n".to_owned()));
    daemon.wait_for_readyz(60, ready_and_caught_up).await;
    let (status, text) = daemon.get("/metrics").await;
    assert_eq!(status, 200);
    let all = samples(&text);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let events = truth_logs(&sim).await.len() as f64;
    for (stream, records) in [
        ("new_users", 120.0),
        ("updated_users", 120.0),
        ("system_log", events),
    ] {
        for sink in sinks(dir.path()) {
            let emitted = sample(
                &all,
                "oktasync_records_emitted_total",
                &[("stream", stream), ("sink", &sink)],
            );
            assert_eq!(emitted, records, "{stream} → {sink}");
        }
        let s = [("stream", stream)];
        assert!(
            sample(&all, "oktasync_pages_committed_total", &s) >= 1.0,
            "{stream}"
        );
        assert_eq!(
            sample(&all, "oktasync_run_failures_total", &s),
            0.0,
            "{stream}"
        );
        let lag = sample(&all, "oktasync_cursor_lag_seconds", &s);
        assert!((0.0..60.0).contains(&lag), "{stream} lag {lag}");
        let last = sample(&all, "oktasync_last_success_timestamp_seconds", &s);
        assert!(
            now - last < 60.0 && last <= now + 1.0,
            "{stream} last success {last}, now {now}"
        );
    }
    for bucket in ["users", "logs"] {
        let b = [("bucket", bucket)];
        assert!(
            sample(
                &all,
                "oktasync_okta_requests_total",
                &[("bucket", bucket), ("status", "200")]
            ) >= 1.0
        );
        assert_eq!(sample(&all, "oktasync_okta_rate_limited_total", &b), 0.0);
        assert_eq!(sample(&all, "oktasync_okta_retries_total", &b), 0.0);
        let remaining = sample(&all, "oktasync_okta_rate_limit_remaining", &b);
        let limit = sample(&all, "oktasync_okta_rate_limit_limit", &b);
        assert!(
            remaining > 0.0 && remaining < limit,
            "{bucket}: {remaining} of {limit}"
        );
        assert!(sample(&all, "oktasync_okta_rate_limit_wait_seconds_total", &b) >= 0.0);
    }
    for result in ["accepted", "refused"] {
        assert_eq!(
            sample(
                &all,
                "oktasync_hook_deliveries_total",
                &[("result", result)]
            ),
            0.0
        );
    }
    assert_eq!(
        sample(
            &all,
            "oktasync_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_unready_when_a_poller_keeps_failing_and_says_which() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 50,
        logs: 100,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(daemon(&sim, dir.path()));
    daemon.wait_for_readyz(60, ready_and_caught_up).await;
    sim_post(&sim, "/__sim/settings", json!({ "fail_rate": 1.0 })).await;
    daemon.wait_for_log(|l| l["message"] == "run failed" && l["stream"] == "system_log");
    let body = daemon.wait_for_readyz(60, |status, _| status == 503).await;
    assert_eq!(body["ready"], false, "{body}");
    assert_eq!(body["database"]["ok"], true, "{body}");
    let logs = &body["pollers"]["system_log"];
    assert_eq!(logs["ok"], false, "{body}");
    let why = logs["error"].as_str().unwrap();
    assert!(
        why.contains("expected within 2s") && why.contains("last error"),
        "{why}"
    );
    let (_, text) = daemon.get("/metrics").await;
    let failures = sample(
        &samples(&text),
        "oktasync_run_failures_total",
        &[("stream", "system_log")],
    );
    assert!(failures >= 1.0, "{failures}");
    sim_post(&sim, "/__sim/settings", json!({ "fail_rate": 0.0 })).await;
    daemon.wait_for_readyz(60, |status, _| status == 200).await;
    daemon.stop();
}

/// Every datagram sent to `socket` until one equals `last` or 30 s pass.
fn notices_until(socket: &UnixDatagram, last: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = text.lines().any(|l| l == last);
            seen.push(text);
            if done {
                return;
            }
        }
    }
    panic!("no {last} within 30 s; saw {seen:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_tells_systemd_ready_then_feeds_the_watchdog_then_says_stopping() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 50,
        logs: 100,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut cmd = daemon(&sim, dir.path());
    cmd.env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .stderr(Stdio::null());
    let child = cmd.spawn().unwrap();
    let mut seen = Vec::new();
    notices_until(&socket, "READY=1", &mut seen);
    notices_until(&socket, "WATCHDOG=1", &mut seen);
    terminate(&child);
    notices_until(&socket, "STOPPING=1", &mut seen);
    let position = |what: &str| {
        seen.iter()
            .position(|m| m.lines().any(|l| l == what))
            .unwrap()
    };
    assert!(position("READY=1") < position("WATCHDOG=1"), "{seen:#?}");
    assert!(position("WATCHDOG=1") < position("STOPPING=1"), "{seen:#?}");
    let status = seen
        .iter()
        .find(|m| m.starts_with("STATUS="))
        .expect("a STATUS= line");
    assert!(status.contains("system_log: "), "{status}");
    let mut child = child;
    assert!(child.wait().unwrap().success());
}
