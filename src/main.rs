//! The `oktasync` binary: parse the command line, set up logging on stderr, run, map errors to
//! exit codes. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use oktasync::cli::{logging, progress};
use oktasync::config::LogFormat;

/// The exit code when stdout's reader went away (as a shell reports a writer ended by SIGPIPE).
const EXIT_STDOUT_CLOSED: u8 = 141;

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
    let result = runtime.block_on(cli.run(progress));
    // A sink thread stuck in a write (a stdout nobody reads) must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if oktasync::poll::is_broken_pipe(&e) => {
            let message = "stdout was closed by its reader, so oktasync stopped; every cursor \
                stays at the last batch stdout took, and the next run resumes there";
            match format {
                LogFormat::Json => tracing::warn!(exit_code = EXIT_STDOUT_CLOSED, "{message}"),
                _ => eprintln!("oktasync: {message}"),
            }
            ExitCode::from(EXIT_STDOUT_CLOSED)
        }
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
