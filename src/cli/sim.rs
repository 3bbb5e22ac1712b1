//! `oktasync sim`: run the local Okta simulator until SIGINT/SIGTERM.

/// Options for `oktasync sim`.
#[derive(Debug, clap::Args)]
pub struct Opts {}

pub async fn run(_opts: Opts) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not built yet")
}
