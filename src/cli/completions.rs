//! `oktasync completions SHELL`: the shell's completion script, generated from the command-line
//! definition so it always knows every command and flag.

use std::io::Write;

use anyhow::Context as _;
use clap::CommandFactory;
use clap_complete::Shell;

/// Options for `oktasync completions`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The shell, e.g. bash (also zsh, fish, elvish, powershell)
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let mut cmd = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(opts.shell, &mut cmd, "oktasync", &mut script);
    write_stdout(&script)
}

/// Writes `bytes` to stdout; a reader that went away early is not an error.
pub(super) fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}
