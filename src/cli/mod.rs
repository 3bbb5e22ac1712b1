//! The command line: the top-level parser, the shared `Context` (config and client), and one
//! module per command group.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::okta::OktaClient;

pub mod cursor;
pub mod demo;
pub mod sim;
pub mod status;
pub mod sync;

/// Sync Okta users and the System Log into SQLite and NDJSON, and script Okta admin actions.
#[derive(Debug, Parser)]
#[command(name = "oktasync", version, about)]
pub struct Cli {
    /// Config file (TOML), e.g. /etc/oktasync/oktasync.toml [default: ./oktasync.toml, then
    /// /etc/oktasync/oktasync.toml, if present]
    #[arg(long, global = true, env = "OKTASYNC_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local Okta simulator (for trying oktasync and for tests), e.g. `oktasync sim --port 8089`.
    Sim(sim::Opts),
    /// Run the pollers on their schedules until SIGTERM or SIGINT (the systemd service).
    Run(sync::RunOpts),
    /// Run one catch-up cycle of the pollers, then exit (for cron, backfills and scripts).
    Sync(sync::SyncOpts),
    /// Show each poller's cursor, last success, lag, records and last error.
    Status(status::Opts),
    /// Inspect or move a poller's cursor.
    #[command(subcommand)]
    Cursor(cursor::Command),
    /// Try oktasync end to end on a built-in simulated org: sync into ./oktasync-demo.db and ./oktasync-demo.ndjson.
    Demo(demo::Opts),
}

/// What every command may need: the config file's location, loaded on demand.
#[derive(Debug, Clone)]
pub struct Context {
    pub config_path: Option<PathBuf>,
}

impl Context {
    /// The config: defaults, then the file, then the environment.
    pub fn config(&self) -> anyhow::Result<Config> {
        let env = |key: &str| std::env::var(key).ok();
        Config::load(self.config_path.as_deref(), &env).context("invalid configuration")
    }

    /// A client for the configured org.
    pub fn client(&self) -> anyhow::Result<OktaClient> {
        self.client_from(&self.config()?)
    }

    /// A client for the org of an already loaded config.
    pub fn client_from(&self, config: &Config) -> anyhow::Result<OktaClient> {
        let settings = config.okta().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(OktaClient::from_settings(settings)?)
    }
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let ctx = Context {
            config_path: self.config,
        };
        match self.command {
            Command::Sim(opts) => sim::run(opts).await,
            Command::Run(opts) => sync::run(&ctx, opts).await,
            Command::Sync(opts) => sync::sync(&ctx, opts).await,
            Command::Status(opts) => status::run(&ctx, opts).await,
            Command::Cursor(cmd) => cursor::run(&ctx, cmd).await,
            Command::Demo(opts) => demo::run(opts).await,
        }
    }
}
