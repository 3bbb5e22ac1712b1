//! Benchmark: backfill N users and M System Log events from the simulator into the SQLite mirror
//! (the state database) plus an NDJSON file, and print from the same run:
//! - the fetch floor: the same pages fetched with bare reqwest, nothing parsed or written (for the
//!   users, one scan: every user once, what a first backfill must read; the users floor and sync
//!   are each the median of five rounds (`--rounds`), a round being a floor then a sync into a
//!   new database, with the simulator's CPU time beside each);
//! - the storage floor: the same raw events inserted with bare rusqlite into a rowid table with
//!   no secondary index, one transaction per 10,000 rows, WAL (insert time only);
//! - the sync time, against the larger floor;
//! - the cost per 1,000 rows over the first and the last 10 % of the System Log backfill;
//! - this process's CPU time, peak RSS, and a few queries timed on the mirror.
//!
//! The simulator runs in a child process, so CPU time and RSS are the sync's alone.
//!
//! cargo run --release --example bench_sync -- [--users 100000] [--logs 1000000] [--rounds 5]

use std::time::Instant;

use okta_sim::SimConfig;
use oktasync::config::{StartAt, SyncSettings};
use oktasync::okta::{ClientOptions, OktaClient};
use oktasync::poll::Engine;
use tokio::sync::watch;

#[path = "support/storage.rs"]
mod storage;
mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(filter) = std::env::var("OKTASYNC_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let users = support::arg("--users").unwrap_or(100_000) as usize;
    let logs = support::arg("--logs").unwrap_or(1_000_000) as usize;
    // Rounds of the users floor and sync: this machine's speed varies from one second to the
    // next, so each side's figure is the median of its rounds.
    let rounds = support::arg("--rounds").unwrap_or(5).max(1) as usize;
    let sim = support::child_sim(SimConfig {
        users,
        logs,
        ..SimConfig::default()
    })
    .await?;
    println!(
        "org: {users} users, {logs} System Log events; load average at start {} on {} cores; {} free memory",
        storage::load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        storage::free_memory()
    );
    let users_first = format!(
        "{}/api/v1/users?search=lastUpdated%20ge%20%221970-01-01T00:00:00.000Z%22&sortBy=lastUpdated&sortOrder=asc&limit=200",
        sim.base
    );
    let since = oktasync::poll::plan::okta_time(chrono::Utc::now() - chrono::Duration::days(89));
    let logs_first = format!(
        "{}/api/v1/logs?since={since}&sortOrder=ASCENDING&limit=1000",
        sim.base
    );
    let (logs_floor, log_pages, log_bytes) = support::floor(&sim, logs_first.clone(), true).await?;
    let dir = tempfile::tempdir()?;
    let written = storage::bytes_written();
    let (storage_floor, rows) =
        storage::storage_floor(logs_first, &sim.token, &dir.path().join("floor.db")).await?;
    let floor_written = storage::bytes_written() - written;
    // Its 4 GB out of the page cache before the sync, which would otherwise start reclaiming
    // memory part-way through and pay for it in every write.
    for name in ["floor.db", "floor.db-wal", "floor.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    println!(
        "fetch floor (reqwest, no parsing): logs {:.2} s ({log_pages} pages, {:.0} MB)",
        logs_floor.as_secs_f64(),
        log_bytes as f64 / 1e6
    );
    println!(
        "storage floor (bare rusqlite, rowid table, 10,000 rows a transaction, WAL): {:.2} s for {rows} events = {:.2} µs/event; {:.2} GB written",
        storage_floor.as_secs_f64(),
        storage_floor.as_secs_f64() * 1e6 / rows.max(1) as f64,
        floor_written as f64 / 1e9
    );

    let client = OktaClient::new(
        sim.base.parse()?,
        sim.token.clone().into(),
        ClientOptions::default(),
    )?;
    // The System Log first, right after its floors and before the users' writes.
    let (_keep, shutdown) = watch::channel(false);
    let engine = Engine::open(client.clone(), settings(dir.path()))?;
    let stats_before = client.stats();
    flush_disk();
    storage::reset_peak_rss();
    let sampler = storage::sample(&engine, "system_log");
    let (started, cpu, written) = (
        Instant::now(),
        storage::cpu_time(),
        storage::bytes_written(),
    );
    let summary = engine.run_once("system_log", &shutdown).await?;
    let (elapsed, cpu) = (started.elapsed(), storage::cpu_time() - cpu);
    let written = storage::bytes_written() - written;
    let samples = sampler.await?;
    let floor = logs_floor.max(storage_floor);
    println!(
        "sync system_log: {} records in {:.2} s = {:.2}x the larger floor ({:.2} s); CPU {:.2} s = {:.2} µs/event; peak RSS {:.1} MB",
        summary.records,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / floor.as_secs_f64(),
        floor.as_secs_f64(),
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / summary.records.max(1) as f64,
        support::peak_rss_mb()
    );
    let tenths = storage::tenths(&samples, summary.records);
    let (first, last) = (tenths[0].0, tenths[9].0);
    println!(
        "cost per 1,000 rows: first 10 % {first:.2} ms, last 10 % {last:.2} ms ({:.2}x)",
        last / first
    );
    println!(
        "written by the System Log sync: {:.2} GB (mirror, its WAL and checkpoints, and the NDJSON file)",
        written as f64 / 1e9
    );
    let list = |pick: fn(&(f64, f64)) -> f64| {
        let ms: Vec<String> = tenths.iter().map(|t| format!("{:.1}", pick(t))).collect();
        ms.join(", ")
    };
    println!(
        "cost per 1,000 rows by tenth of the backfill (ms): {}",
        list(|t| t.0)
    );
    println!(
        "CPU per 1,000 rows by tenth, all threads of this process (ms): {}",
        list(|t| t.1)
    );
    for (thread, per_tenth) in storage::thread_tenths(&samples, summary.records) {
        let ms: Vec<String> = per_tenth.iter().map(|m| format!("{m:.1}")).collect();
        println!("  of which {thread}: {}", ms.join(", "));
    }
    let stats = client.stats();
    println!(
        "System Log requests: {}, 429s: {}",
        stats.requests - stats_before.requests,
        stats.rate_limited - stats_before.rate_limited
    );
    let threads: Vec<String> = storage::cpu_by_thread()
        .iter()
        .map(|(name, cpu)| format!("{name} {:.2} s", cpu.as_secs_f64()))
        .collect();
    println!(
        "CPU by thread so far (floors and System Log sync): {}",
        threads.join(", ")
    );
    drop(engine);

    // Users: `rounds` rounds of the fetch floor then a sync into a new state database, each
    // figure the median of its rounds, so one slow moment of the machine skews neither side.
    let (mut floors, mut syncs) = (Vec::new(), Vec::new());
    let sim_pid = sim.pid().to_string();
    for round in 0..rounds {
        flush_disk();
        let sim_cpu = storage::process_cpu_time(&sim_pid);
        let (floor, pages, _) = support::floor(&sim, users_first.clone(), false).await?;
        let sim_cpu_floor = storage::process_cpu_time(&sim_pid) - sim_cpu;
        // The last round syncs into the database that holds the events, for the queries.
        let round_dir = match round + 1 {
            n if n == rounds => dir.path().to_owned(),
            n => dir.path().join(format!("users-{n}")),
        };
        std::fs::create_dir_all(&round_dir)?;
        let engine = Engine::open(client.clone(), settings(&round_dir))?;
        flush_disk();
        storage::reset_peak_rss();
        let sim_cpu = storage::process_cpu_time(&sim_pid);
        let (started, cpu) = (Instant::now(), storage::cpu_time());
        let summaries = engine
            .run_streams(&["new_users", "updated_users"], &shutdown)
            .await?;
        let (elapsed, cpu) = (started.elapsed(), storage::cpu_time() - cpu);
        let sim_cpu_sync = storage::process_cpu_time(&sim_pid) - sim_cpu;
        let records: u64 = summaries.iter().map(|s| s.records).sum();
        let requests: u64 = summaries.iter().map(|s| s.requests).sum();
        println!(
            "  round {}: users fetch floor {:.2} s ({pages} pages, one scan; simulator CPU {:.2} s); sync new_users+updated_users {records} records ({requests} requests) in {:.2} s; CPU {:.2} s (simulator {:.2} s); peak RSS {:.1} MB",
            round + 1,
            floor.as_secs_f64(),
            sim_cpu_floor.as_secs_f64(),
            elapsed.as_secs_f64(),
            cpu.as_secs_f64(),
            sim_cpu_sync.as_secs_f64(),
            support::peak_rss_mb()
        );
        floors.push(floor);
        syncs.push(elapsed);
        drop(engine);
        if round_dir != dir.path() {
            std::fs::remove_dir_all(&round_dir)?;
        }
    }
    let (users_floor, users_sync) = (median(floors), median(syncs));
    println!(
        "sync new_users+updated_users (median of {rounds}): {:.2} s = {:.2}x the fetch floor ({:.2} s)",
        users_sync.as_secs_f64(),
        users_sync.as_secs_f64() / users_floor.as_secs_f64(),
        users_floor.as_secs_f64()
    );

    println!(
        "load average at end: {}; {} free memory",
        storage::load_average(),
        storage::free_memory()
    );
    println!("queries on the mirror:");
    storage::time_queries(&dir.path().join("state.db"))?;
    Ok(())
}

/// Starts a measurement with earlier writes on disk, not still being written back during it.
fn flush_disk() {
    let _ = std::process::Command::new("sync").status();
}

fn median(mut times: Vec<std::time::Duration>) -> std::time::Duration {
    times.sort();
    times[times.len() / 2]
}

fn settings(dir: &std::path::Path) -> SyncSettings {
    let state = dir.join("state.db");
    let sinks = vec![
        format!("sqlite:{}", state.display()),
        format!("file:{}", dir.join("out.ndjson").display()),
    ];
    let mut settings = SyncSettings::local(state, sinks, StartAt::All);
    settings.rotate_bytes = None;
    settings
}
