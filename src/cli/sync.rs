//! `oktasync run` (the daemon), `oktasync sync` (one catch-up cycle, then exit) and
//! `oktasync reconcile` (one reconciliation of every user, then exit).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::watch;

use super::Context;
use crate::config::{Config, STREAMS, SyncSettings};
use crate::delta::stream;
use crate::endpoints;
use crate::poll::{Engine, RECONCILE, RunSummary, is_broken_pipe, schedule};
use crate::systemd::Systemd;

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
    /// updated_users (OAuth scope okta.users.read), system_log (okta.logs.read), groups and
    /// group_members (okta.groups.read), apps (okta.apps.read), app_users (okta.apps.read and
    /// okta.logs.read)]
    #[arg(value_name = "STREAM")]
    streams: Vec<String>,
    #[command(flatten)]
    target: Target,
}

fn engine(ctx: &Context, config: &Config, target: &Target) -> anyhow::Result<Engine> {
    let settings = target.apply(config.sync.clone());
    Engine::open(ctx.client_at(config, &settings.state)?, settings)
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

/// The daemon: the pollers on their schedules, `/metrics`, `/healthz` and `/readyz` when
/// `metrics.listen` is set, and the event hook receiver when `hook.listen` is set (serving the
/// same three endpoints on its listener too). systemd hears READY=1 once all are up.
pub async fn run(ctx: &Context, opts: RunOpts) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let engine = engine(ctx, &config, &opts.target)?;
    let shutdown = signals()?;
    let receiver = match config.hook.listen {
        Some(addr) => {
            let operator = config
                .metrics
                .listen
                .map(|_| endpoints::router(engine.clone()));
            let started = super::hook::start_in_daemon(
                &engine,
                &config.hook,
                addr,
                operator,
                shutdown.clone(),
            );
            Some(started.await?)
        }
        None => None,
    };
    let server = match config.metrics.listen {
        Some(addr) => {
            let listener = endpoints::bind(addr).await?;
            let router = endpoints::router(engine.clone());
            Some(tokio::spawn(endpoints::serve(
                listener,
                router,
                shutdown.clone(),
            )))
        }
        None => None,
    };
    tracing::info!(state = %engine.state_path().display(), "oktasync running");
    let result = schedule::run_daemon(engine, shutdown, Arc::new(Systemd)).await;
    if let Some(server) = server {
        match tokio::time::timeout(Duration::from_secs(2), server).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = format!("{e:#}"), "metrics listener failed"),
            Ok(_) => {}
            Err(_) => tracing::warn!("the metrics listener did not stop within 2 s"),
        }
    }
    if let Some(receiver) = receiver
        && let Err(e) = receiver.finish(super::hook::STOP_DEADLINE).await
    {
        tracing::warn!(error = format!("{e:#}"), "hook receiver failed");
    }
    result
}

pub async fn sync(ctx: &Context, opts: SyncOpts) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let engine = engine(ctx, &config, &opts.target)?;
    let streams = pick_streams(&engine, &opts.streams)?;
    let progress = super::progress::follow(ctx.progress, &engine);
    let synced = sync_streams(&engine, &streams, signals()?).await;
    progress.finish();
    synced.map(drop)
}

/// Options for `oktasync reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileOpts {
    #[command(flatten)]
    target: Target,
}

/// One reconciliation now: every user listed through `search`; missed versions emitted, users
/// deleted in Okta tombstoned.
pub async fn reconcile(ctx: &Context, opts: ReconcileOpts) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let engine = engine(ctx, &config, &opts.target)?;
    let progress = super::progress::follow(ctx.progress, &engine);
    let done = sync_streams(&engine, &[RECONCILE], signals()?).await;
    progress.finish();
    done.map(drop)
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

/// The streams in the order given, the two users streams together (they share one scan).
fn batches<'a>(streams: &[&'a str]) -> Vec<Vec<&'a str>> {
    let users = |s: &str| s == stream::NEW_USERS || s == stream::UPDATED_USERS;
    let mut out: Vec<Vec<&str>> = Vec::new();
    for s in streams {
        match out
            .iter_mut()
            .find(|b| users(s) && b.iter().all(|x| users(x)))
        {
            Some(batch) if !batch.contains(s) => batch.push(s),
            Some(_) => {}
            None => out.push(vec![s]),
        }
    }
    out
}

/// Runs each stream once until caught up, logging what each synced. A stream that fails does
/// not stop the others; the error names every stream that failed. A closed stdout or shutdown
/// stops everything at once.
pub async fn sync_streams(
    engine: &Engine,
    streams: &[&str],
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for batch in batches(streams) {
        if *shutdown.borrow() {
            break;
        }
        let names = batch.join(" and ");
        match engine.run_streams(&batch, &shutdown).await {
            Ok(summaries) => {
                for s in &summaries {
                    tracing::info!(
                        stream = s.stream,
                        count = s.records,
                        pages = s.pages,
                        requests = s.requests,
                        rate_limited = s.rate_limited,
                        "synced"
                    );
                }
                out.extend(summaries);
            }
            Err(e) if is_broken_pipe(&e) || *shutdown.borrow() => {
                return Err(e.context(format!("{names} sync stopped")));
            }
            Err(e) => {
                tracing::error!(stream = %names, error = format!("{e:#}"), "sync failed; going on with the other streams");
                failed.push(format!("{names}: {e:#}"));
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} sync runs failed (the others synced): {}",
            failed.len(),
            batches(streams).len(),
            failed.join("; ")
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_streams_run_together_and_the_others_alone_in_the_order_given() {
        let cases: [(&[&str], Vec<Vec<&str>>); 4] = [
            (
                &["new_users", "updated_users", "system_log"],
                vec![vec!["new_users", "updated_users"], vec!["system_log"]],
            ),
            (
                &["system_log", "updated_users", "new_users"],
                vec![vec!["system_log"], vec!["updated_users", "new_users"]],
            ),
            (&["new_users"], vec![vec!["new_users"]]),
            (&["new_users", "new_users"], vec![vec!["new_users"]]),
        ];
        for (streams, expected) in cases {
            assert_eq!(batches(streams), expected, "{streams:?}");
        }
    }
}
