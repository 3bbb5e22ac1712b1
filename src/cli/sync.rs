//! `oktasync run` (the daemon) and `oktasync sync` (one catch-up cycle, then exit).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use tokio::sync::watch;

use super::Context;
use crate::config::{STREAMS, SyncSettings};
use crate::poll::{Engine, RunSummary, schedule};

/// Where state and deltas go; flags override the config file and environment.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// State database (cursors, run history, and the mirror by default), e.g. /var/lib/oktasync/oktasync.db
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Where deltas go, repeatable: stdout, file:PATH or sqlite:PATH, e.g. --sink file:/var/log/okta.ndjson
    #[arg(long = "sink", value_name = "SPEC")]
    pub sinks: Vec<String>,
}

impl Target {
    /// Applies the flags over the configured settings.
    pub fn apply(&self, mut settings: SyncSettings) -> SyncSettings {
        if let Some(state) = &self.state {
            settings.state = state.clone();
        }
        if !self.sinks.is_empty() {
            settings.sinks = self.sinks.clone();
        }
        settings
    }
}

/// Options for `oktasync run`.
#[derive(Debug, clap::Args)]
pub struct RunOpts {
    #[command(flatten)]
    target: Target,
}

/// Options for `oktasync sync`.
#[derive(Debug, clap::Args)]
pub struct SyncOpts {
    /// Streams to sync, e.g. `system_log` [default: every enabled poller: new_users and
    /// updated_users (OAuth scope okta.users.read), system_log (okta.logs.read)]
    #[arg(value_name = "STREAM")]
    streams: Vec<String>,
    #[command(flatten)]
    target: Target,
}

fn engine(ctx: &Context, target: &Target) -> anyhow::Result<Engine> {
    let config = ctx.config()?;
    let settings = target.apply(config.sync.clone());
    Engine::open(ctx.client_at(&config, &settings.state)?, settings)
}

/// A shutdown signal fed by SIGTERM and SIGINT.
pub fn signals() -> anyhow::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
        let _ = tx.send(true);
        // Keep the sender alive so receivers see the signal rather than a closed channel.
        std::future::pending::<()>().await;
    });
    Ok(rx)
}

pub async fn run(ctx: &Context, opts: RunOpts) -> anyhow::Result<()> {
    let engine = engine(ctx, &opts.target)?;
    tracing::info!(state = %engine.state_path().display(), "oktasync running");
    schedule::run_daemon(engine, signals()?).await
}

pub async fn sync(ctx: &Context, opts: SyncOpts) -> anyhow::Result<()> {
    let engine = engine(ctx, &opts.target)?;
    let streams = pick_streams(&engine, &opts.streams)?;
    let summaries = sync_streams(&engine, &streams, signals()?).await?;
    for s in summaries {
        eprintln!(
            "{}: {} records in {} pages, {} requests, {} rate-limited",
            s.stream, s.records, s.pages, s.requests, s.rate_limited
        );
    }
    Ok(())
}

fn pick_streams(engine: &Engine, asked: &[String]) -> anyhow::Result<Vec<&'static str>> {
    if asked.is_empty() {
        return Ok(engine
            .settings()
            .pollers
            .iter()
            .filter(|p| p.enabled)
            .map(|p| p.stream)
            .collect());
    }
    asked
        .iter()
        .map(|a| match STREAMS.iter().find(|s| **s == a) {
            Some(s) => Ok(*s),
            None => bail!(
                "unknown stream {a:?}: the streams are {}",
                STREAMS.join(", ")
            ),
        })
        .collect()
}

/// Runs each stream once, in order, until caught up; stops early on shutdown.
pub async fn sync_streams(
    engine: &Engine,
    streams: &[&str],
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    for stream in streams {
        if *shutdown.borrow() {
            break;
        }
        out.push(
            engine
                .run_once(stream, &shutdown)
                .await
                .with_context(|| format!("{stream} sync failed"))?,
        );
    }
    Ok(out)
}
