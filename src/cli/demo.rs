//! `oktasync demo`: starts the simulator in-process, runs every poller once into
//! `./oktasync-demo.db` (mirror) and `./oktasync-demo.ndjson`, then shows what to try next.

use std::path::PathBuf;

use anyhow::Context as _;
use secrecy::SecretString;
use tokio::sync::watch;

use super::sync::sync_streams;
use crate::config::{STREAMS, StartAt, SyncSettings};
use crate::okta::{ClientOptions, OktaClient};
use crate::poll::Engine;
use crate::store::Store;
use okta_sim::{SimConfig, spawn};

/// Options for `oktasync demo`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Users in the simulated org, e.g. --users 2000
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// System Log events in the simulated org (spread over the last 7 days), e.g. --logs 20000
    #[arg(long, default_value_t = 5000)]
    logs: usize,
}

const DB: &str = "oktasync-demo.db";
const NDJSON: &str = "oktasync-demo.ndjson";

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    for stale in [DB, "oktasync-demo.db-wal", "oktasync-demo.db-shm", NDJSON] {
        match std::fs::remove_file(stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).context(format!("cannot remove the old {stale}"));
            }
            _ => {}
        }
    }
    let sim = spawn(SimConfig {
        users: opts.users,
        logs: opts.logs,
        ..SimConfig::default()
    })
    .await?;
    eprintln!(
        "simulated Okta org at {} with {} users and {} System Log events",
        sim.base_url, opts.users, opts.logs
    );
    let org = url::Url::parse(&sim.base_url)?;
    let client = OktaClient::new(
        org,
        SecretString::from(sim.token.clone()),
        ClientOptions::default(),
    )?;
    let sinks = vec![format!("sqlite:{DB}"), format!("file:{NDJSON}")];
    let engine = Engine::open(client, SyncSettings::local(DB.into(), sinks, StartAt::All))?;
    let (_keep, shutdown) = watch::channel(false);
    let started = std::time::Instant::now();
    let summaries = sync_streams(&engine, &STREAMS, shutdown).await?;
    let elapsed = started.elapsed();
    let counts = Store::open(&PathBuf::from(DB))?.mirror_counts()?;
    println!("synced in {:.1} s:", elapsed.as_secs_f64());
    for s in &summaries {
        println!(
            "  {:<14} {:>6} deltas in {:>3} pages ({} requests)",
            s.stream, s.records, s.pages, s.requests
        );
    }
    println!(
        "mirror {DB}: {} users, {} System Log events; stream {NDJSON}\n",
        counts.users, counts.system_log
    );
    println!("{}", next_steps());
    sim.shutdown().await;
    Ok(())
}

fn next_steps() -> String {
    format!(
        "Next steps:\n\
         1. Query the mirror:\n   sqlite3 {DB} \"SELECT login, status, last_updated FROM users ORDER BY last_updated DESC LIMIT 5\"\n   sqlite3 {DB} \"SELECT * FROM failed_sign_ins_last_day LIMIT 5\"\n   sqlite3 {DB} \"SELECT name, members FROM group_sizes LIMIT 5\"\n\
         2. Filter the NDJSON stream:\n   jq -c 'select(.stream == \"system_log\") | {{id, type: .data.eventType, outcome: .data.outcome.result}}' {NDJSON} | head\n\
         3. Point the same sync at your Okta org:\n   export OKTA_DOMAIN=dev-12345.okta.com OKTA_API_TOKEN=…   # or api_token_file in oktasync.toml\n   oktasync sync --state oktasync.db --sink sqlite:oktasync.db --sink file:okta.ndjson\n   oktasync status"
    )
}
