//! `oktasync man`: the manual page, generated from the command-line definition (roff, for
//! `man -l -` or a `man1` directory).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory;

/// Options for `oktasync man`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Write one page per command (oktasync.1, oktasync-run.1, …) into this directory instead of printing oktasync.1, e.g. /usr/local/share/man/man1
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let cmd = super::Cli::command();
    if let Some(dir) = opts.out_dir {
        clap_mangen::generate_to(cmd, &dir)
            .with_context(|| format!("cannot write manual pages into {}", dir.display()))?;
        return Ok(());
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .context("cannot render the manual page")?;
    super::completions::write_stdout(&page)
}
