//! `oktasync cursor`: show or reset a poller's cursor, e.g. to re-sync from a date.

use anyhow::{Context as _, bail};
use chrono::Utc;

use super::Context;
use super::sync::Target;
use crate::config::{STREAMS, StartAt};
use crate::poll::plan::{LogCursor, UsersCursor, okta_time};
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
    /// Move a stream's cursor so its next run starts from --to (or, without it, its configured start); for system_log a new polling query starts there.
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
            let logs = settings.poller("system_log");
            let query = (
                logs.and_then(|p| p.filter.clone()),
                logs.and_then(|p| p.q.clone()),
            );
            let value = reset_value(&stream, to.as_deref(), query)?;
            store.reset_cursor(&stream, value.as_deref())?;
            eprintln!(
                "{stream}: cursor reset; the next run starts from {}",
                to.as_deref().unwrap_or("the configured start")
            );
        }
    }
    Ok(())
}

/// The cursor to store for `--to WHEN`: a users high-water mark, or a System Log cursor whose
/// next run starts a new polling query there (with the configured `filter` and `q`).
fn reset_value(
    stream: &str,
    to: Option<&str>,
    (filter, q): (Option<String>, Option<String>),
) -> anyhow::Result<Option<String>> {
    let Some(to) = to else { return Ok(None) };
    if !matches!(stream, "new_users" | "updated_users" | "system_log") {
        bail!(
            "--to is for the users streams and system_log; a directory stream reset without --to lists everything again"
        );
    }
    let at = okta_time(StartAt::parse("--to", to)?.resolve(Utc::now()));
    let value = if stream == "system_log" {
        let cursor = LogCursor {
            filter,
            q,
            since: Some(at),
            ..LogCursor::default()
        };
        serde_json::to_string(&cursor)?
    } else {
        serde_json::to_string(&UsersCursor { hwm: at })?
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_to_a_time_stores_where_each_kind_of_stream_starts_again() {
        let at = "2026-01-31T00:00:00Z";
        let users = reset_value("updated_users", Some(at), (None, None)).unwrap();
        assert_eq!(
            users.as_deref(),
            Some(r#"{"hwm":"2026-01-31T00:00:00.000Z"}"#)
        );
        let query = (Some("eventType eq \"x\"".to_owned()), None);
        let logs = reset_value("system_log", Some(at), query).unwrap().unwrap();
        let cursor: LogCursor = serde_json::from_str(&logs).unwrap();
        assert_eq!(cursor.next, "");
        assert_eq!(cursor.since.as_deref(), Some("2026-01-31T00:00:00.000Z"));
        assert_eq!(cursor.filter.as_deref(), Some("eventType eq \"x\""));
        assert_eq!(reset_value("system_log", None, (None, None)).unwrap(), None);
        assert!(reset_value("system_log", Some("yesterday"), (None, None)).is_err());
    }
}
