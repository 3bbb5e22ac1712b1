//! The command line: the top-level parser, the shared `Context` (config and client), and one
//! module per command group.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::okta::OktaClient;

pub mod sim;

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
        let config = self.config()?;
        let settings = config.okta().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(OktaClient::from_settings(settings)?)
    }
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let _ctx = Context {
            config_path: self.config,
        };
        match self.command {
            Command::Sim(opts) => sim::run(opts).await,
        }
    }
}
