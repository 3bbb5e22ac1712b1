//! The command line: the top-level parser and one module per command group.

use clap::{Parser, Subcommand};

pub mod sim;

/// Sync Okta users and the System Log into SQLite and NDJSON, and script Okta admin actions.
#[derive(Debug, Parser)]
#[command(name = "oktasync", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local Okta simulator (for trying oktasync and for tests), e.g. `oktasync sim --port 8089`.
    Sim(sim::Opts),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Sim(opts) => sim::run(opts).await,
        }
    }
}
