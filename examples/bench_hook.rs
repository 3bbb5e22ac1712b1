//! Benchmark: Okta-shaped event hook deliveries from a load generator on loopback to the
//! receiver in a child process, with durable writes (each group commit fsynced before any of its
//! deliveries is answered), beside the same load against a bare endpoint that answers 200
//! without writing (the floor). Prints deliveries/s, events/s and p50/p99 latency for batches of
//! 1 and 50 events.
//!
//! cargo run --release --example bench_hook -- [--deliveries 20000] [--concurrency 32] [--file]
//!
//! `--file` adds an NDJSON file sink beside the mirror (commit to the inbox, file fsync, mirror
//! commit, then the answer).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oktasync::config::{HookSettings, StartAt, SyncSettings};
use oktasync::hook::{self, HookListener};
use secrecy::SecretString;
use serde_json::json;

const CHILD: &str = "OKTASYNC_BENCH_HOOK_CHILD";
const SECRET: &str = "bench-hook-secret";

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(kind) = std::env::var(CHILD) {
        return serve_child(&kind).await;
    }
    let deliveries = arg("--deliveries").unwrap_or(20_000) as usize;
    let concurrency = arg("--concurrency").unwrap_or(32) as usize;
    let file = flag("--file");
    println!(
        "{deliveries} single-event deliveries (and {} of 50 events) over {concurrency} connections; sinks: mirror{}",
        deliveries / 10,
        if file { " + NDJSON file" } else { "" }
    );
    println!(
        "{:<24} {:>12} {:>10} {:>8} {:>8}",
        "", "deliveries/s", "events/s", "p50 ms", "p99 ms"
    );
    for batch in [1usize, 50] {
        let count = if batch == 1 {
            deliveries
        } else {
            deliveries / 10
        };
        for kind in ["floor", "receiver"] {
            let child = Server::start(kind, file)?;
            let result = load(&child.url, batch, count, concurrency).await?;
            let label = format!("{kind}, batch {batch}");
            println!(
                "{label:<24} {:>12.0} {:>10.0} {:>8.2} {:>8.2}",
                result.per_second,
                result.per_second * batch as f64,
                result.p50.as_secs_f64() * 1000.0,
                result.p99.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

/// A receiver (or the floor) in a child process, so its CPU and memory are its own.
struct Server {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(kind: &str, file: bool) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.env(CHILD, kind)
            .env("BENCH_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if file {
            cmd.env("BENCH_FILE", "1");
        }
        let mut child = cmd.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let addr = std::io::BufReader::new(stdout)
            .lines()
            .next()
            .transpose()?
            .unwrap_or_default();
        Ok(Server {
            url: format!("http://{addr}/okta/event-hook"),
            child,
            _dir: dir,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In the child: serve until the parent goes away.
async fn serve_child(kind: &str) -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(std::env::var("BENCH_DIR")?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    if kind == "floor" {
        let bare = axum::Router::new().fallback(|_body: axum::body::Bytes| async { "" });
        axum::serve(listener, bare).await?;
        return Ok(());
    }
    let state = dir.join("state.db");
    let mut sinks = vec![format!("sqlite:{}", state.display())];
    if std::env::var_os("BENCH_FILE").is_some() {
        sinks.push(format!("file:{}", dir.join("out.ndjson").display()));
    }
    let (outputs, _lock) = hook::open_outputs(&SyncSettings::local(state, sinks, StartAt::Now))?;
    let settings = HookSettings {
        secret: Some(SecretString::from(SECRET.to_owned())),
        ..HookSettings::default()
    };
    let _running = hook::spawn(
        outputs,
        &settings,
        HookListener::Plain(listener),
        None,
        std::future::pending(),
    )?;
    std::future::pending::<()>().await;
    Ok(())
}

struct Outcome {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// The load generator: `concurrency` connections posting deliveries of `batch` events.
struct Load {
    client: reqwest::Client,
    url: String,
    batch: usize,
    concurrency: usize,
}

/// `count` deliveries of `batch` events each, `concurrency` at a time, after a warm-up.
async fn load(
    url: &str,
    batch: usize,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Outcome> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let load = Load {
        client,
        url: url.to_owned(),
        batch,
        concurrency,
    };
    load.run((count / 20).max(concurrency), "warm").await?;
    let started = Instant::now();
    let mut latencies = load.run(count, "run").await?;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Outcome {
        per_second: count as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

impl Load {
    /// Sends `count` deliveries; the latency of each.
    async fn run(&self, count: usize, tag: &'static str) -> anyhow::Result<Vec<Duration>> {
        let next = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..self.concurrency)
            .map(|w| {
                let (client, url, next) = (self.client.clone(), self.url.clone(), next.clone());
                let batch = self.batch;
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= count {
                            return Ok::<_, anyhow::Error>(latencies);
                        }
                        let body = body(&format!("{tag}-{w}-{n}"), batch);
                        let started = Instant::now();
                        let response = client
                            .post(&url)
                            .header("Authorization", SECRET)
                            .header("Content-Type", "application/json")
                            .body(body)
                            .send()
                            .await?;
                        anyhow::ensure!(response.status() == 200, "answered {}", response.status());
                        latencies.push(started.elapsed());
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(count);
        for worker in workers {
            all.extend(worker.await??);
        }
        Ok(all)
    }
}

/// A delivery of `batch` LogEvents shaped like Okta's (about 1.5 KB each).
fn body(id: &str, batch: usize) -> String {
    let events: Vec<_> = (0..batch)
        .map(|i| {
            json!({
                "uuid": format!("{id}-{i}"), "published": "2024-05-01T12:00:00.000Z",
                "eventType": "user.lifecycle.create", "version": "0", "severity": "INFO",
                "displayMessage": "Create Okta user", "legacyEventType": "core.user.config.user_creation.success",
                "actor": {"id": "00u1qw6mqitPHM8AJ0g7", "type": "User", "alternateId": "admin@example.com", "displayName": "Example Admin"},
                "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Safari/537.36", "os": "Mac OS X", "browser": "CHROME"},
                           "zone": "null", "device": "Computer", "ipAddress": "142.126.158.61",
                           "geographicalContext": {"city": "Toronto", "state": "Ontario", "country": "Canada", "postalCode": "M4M", "geolocation": {"lat": 43.6567, "lon": -79.34}}},
                "outcome": {"result": "SUCCESS"},
                "target": [{"id": "00u1abcdEFGH", "type": "User", "alternateId": "new.hire@example.com", "displayName": "New Hire"}],
                "transaction": {"type": "WEB", "id": "ZCCzm8j2wTvzwele2NwLnwAADSc", "detail": {}},
                "debugContext": {"debugData": {"requestId": "ZCCzm8j2wTvzwele2NwLnwAADSc", "requestUri": "/api/v1/users", "url": "/api/v1/users?activate=true"}},
                "authenticationContext": {"authenticationStep": 0, "externalSessionId": "trs0fE7g-YqR2mrWfp2MmBw"},
                "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null}
            })
        })
        .collect();
    json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
        "source": "https://dev-12345.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
        "eventId": id, "data": {"events": events}, "eventTime": "2024-05-01T12:00:01.000Z",
        "contentType": "application/json",
    })
    .to_string()
}
