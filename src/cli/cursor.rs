//! `oktasync cursor`: show or reset a poller's cursor, e.g. to re-sync from a date.

use anyhow::{Context as _, bail};
use chrono::Utc;

use super::Context;
use super::sync::Target;
use crate::config::{STREAMS, StartAt};
use crate::poll::plan::{UsersCursor, okta_time};
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a stream's stored cursor, e.g. `cursor show system_log`.
    Show {
        /// new_users, updated_users or system_log
        stream: String,
        #[command(flatten)]
        target: Target,
    },
    /// Forget a stream's cursor so its next run starts from --to (or its configured start).
    Reset {
        /// new_users, updated_users or system_log
        stream: String,
        /// Where to restart: now, all, -24h, or an RFC 3339 time, e.g. --to 2026-01-31T00:00:00Z
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    let (stream, target, to) = match cmd {
        Command::Show { stream, target } => (stream, target, None),
        Command::Reset { stream, target, to } => (stream, target, Some(to)),
    };
    if !STREAMS.contains(&stream.as_str()) {
        bail!(
            "unknown stream {stream:?}: the streams are {}",
            STREAMS.join(", ")
        );
    }
    let settings = target.apply(ctx.config()?.sync);
    let mut store = Store::open(&settings.state)
        .with_context(|| format!("cannot open {}", settings.state.display()))?;
    match to {
        None => println!(
            "{}",
            store.cursor(&stream)?.unwrap_or_else(|| "null".into())
        ),
        Some(to) => {
            let _one_writer = crate::store::lock_state(&settings.state)?;
            let value = reset_value(&stream, to.as_deref())?;
            store.reset_cursor(&stream, value.as_deref())?;
            eprintln!(
                "{stream}: cursor reset; the next run starts from {}",
                to.as_deref().unwrap_or("the configured start")
            );
        }
    }
    Ok(())
}

/// The cursor to store for `--to WHEN`: a users high-water mark, or nothing for the System Log
/// (its next run then starts a new polling query; set its `start` to choose where).
fn reset_value(stream: &str, to: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(to) = to else { return Ok(None) };
    let at = StartAt::parse("--to", to)?.resolve(Utc::now());
    if !matches!(stream, "new_users" | "updated_users") {
        bail!(
            "--to is for the users streams; for system_log set pollers.system_log.start = {:?} and reset without --to \
             (a directory stream reset without --to lists everything again)",
            okta_time(at)
        );
    }
    Ok(Some(serde_json::to_string(&UsersCursor::starting_at(at))?))
}
