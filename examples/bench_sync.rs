//! Benchmark: backfill N users and M System Log events from the simulator into the SQLite mirror
//! plus an NDJSON file, beside the raw floor (the same pages fetched with plain reqwest, nothing
//! parsed or written); print records/s, requests and peak RSS. The simulator runs in a child
//! process, so RSS is the sync's alone.
//!
//! cargo run --release --example bench_sync -- [--users 100000] [--logs 1000000]

use std::time::Instant;

use okta_sim::SimConfig;
use oktasync::config::{StartAt, SyncSettings};
use oktasync::okta::{ClientOptions, OktaClient};
use oktasync::poll::Engine;
use tokio::sync::watch;

mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users = support::arg("--users").unwrap_or(100_000) as usize;
    let logs = support::arg("--logs").unwrap_or(1_000_000) as usize;
    let sim = support::child_sim(SimConfig {
        users,
        logs,
        ..SimConfig::default()
    })
    .await?;
    println!("org: {users} users, {logs} System Log events");
    let since = "1970-01-01T00:00:00.000Z";
    let mut floor = std::time::Duration::ZERO;
    for field in ["created", "lastUpdated"] {
        let first = format!(
            "{}/api/v1/users?search={field}%20ge%20%22{since}%22&sortBy={field}&sortOrder=asc&limit=200",
            sim.base
        );
        floor += support::floor(&sim, first, false).await?.0;
    }
    let users_floor = floor;
    let since = oktasync::poll::plan::okta_time(chrono::Utc::now() - chrono::Duration::days(89));
    let first = format!(
        "{}/api/v1/logs?since={since}&sortOrder=ASCENDING&limit=1000",
        sim.base
    );
    let (logs_floor, log_pages, _) = support::floor(&sim, first, true).await?;
    println!(
        "floor (reqwest, no parsing): users {:.2} s, logs {:.2} s ({log_pages} pages)",
        users_floor.as_secs_f64(),
        logs_floor.as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    let client = OktaClient::new(
        sim.base.parse()?,
        sim.token.clone().into(),
        ClientOptions::default(),
    )?;
    let engine = Engine::open(client.clone(), settings(dir.path())?)?;
    let (_keep, shutdown) = watch::channel(false);
    for (streams, floor) in [
        (&["new_users", "updated_users"][..], users_floor),
        (&["system_log"][..], logs_floor),
    ] {
        let started = Instant::now();
        let mut records = 0;
        for stream in streams {
            records += engine.run_once(stream, &shutdown).await?.records;
        }
        let elapsed = started.elapsed();
        println!(
            "sync {}: {records} records in {:.2} s = {:.0} records/s; {:.2}x the floor",
            streams.join("+"),
            elapsed.as_secs_f64(),
            records as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / floor.as_secs_f64()
        );
    }
    let stats = client.stats();
    println!("requests: {}, 429s: {}", stats.requests, stats.rate_limited);
    println!("peak RSS: {:.1} MB", support::peak_rss_mb());
    Ok(())
}

fn settings(dir: &std::path::Path) -> anyhow::Result<SyncSettings> {
    let state = dir.join("state.db");
    let sinks = vec![
        format!("sqlite:{}", state.display()),
        format!("file:{}", dir.join("out.ndjson").display()),
    ];
    let mut settings = SyncSettings::local(state, sinks, StartAt::All);
    settings.rotate_bytes = None;
    Ok(settings)
}
