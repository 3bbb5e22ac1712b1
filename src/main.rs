//! The `oktasync` binary: parse the command line, set up logging on stderr, run, map errors to
//! exit codes. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use oktasync::cli::{logging, progress};
use oktasync::config::LogFormat;

fn main() -> ExitCode {
    let cli = oktasync::cli::Cli::parse();
    let format = cli.log_format();
    let stderr = logging::Stderr::detect();
    logging::init(logging::setup(format, stderr));
    let term = std::env::var("TERM").ok();
    let progress = progress::enabled(stderr.terminal, term.as_deref(), format == LogFormat::Json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run(progress)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if format == LogFormat::Json => {
            tracing::error!(error = format!("{e:#}"), "oktasync failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
