//! `oktasync status`: each poller's position, lag, last success, records, failures in a row
//! (and when the daemon tries again) and last error, read from the state database (no Okta
//! token needed).

use anyhow::Context as _;
use chrono::Utc;
use serde::Serialize;

use super::Context;
use super::sync::Target;
use crate::config::SyncSettings;
use crate::poll::backoff;
use crate::poll::health::expected_interval;
use crate::poll::plan::{okta_time, parse_time};
use crate::store::{Store, StreamStatus};

/// Options for `oktasync status`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Print JSON (one array of streams) instead of a table, e.g. `status --json | jq .`
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

/// One stream's status, with the newest record time its cursor has passed and how long ago it
/// was last caught up.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    status: StreamStatus,
    /// The newest record timestamp the cursor has passed.
    position: Option<String>,
    /// Seconds since the stream was last caught up (its last successful run ended).
    lag_seconds: Option<i64>,
    /// After failures in a row: the earliest time `oktasync run` tries this stream again.
    retry_at: Option<String>,
}

pub async fn run(ctx: &Context, opts: Opts) -> anyhow::Result<()> {
    let settings = opts.target.apply(ctx.config()?.sync);
    if !settings.state.exists() {
        anyhow::bail!(
            "no state database at {}: run `oktasync sync` first (or pass --state)",
            settings.state.display()
        );
    }
    let store = Store::open(&settings.state)
        .with_context(|| format!("cannot open {}", settings.state.display()))?;
    let interval = |stream: &str| {
        let schedule = match settings.poller(stream) {
            Some(p) => Some(p.schedule.clone()),
            None => settings.reconcile.clone(),
        };
        schedule
            .and_then(|s| expected_interval(&s, Utc::now()))
            .unwrap_or(std::time::Duration::from_secs(300))
    };
    let rows: Vec<Row> = with_every_poller(store.status()?, &settings)
        .into_iter()
        .map(|s| {
            let every = interval(&s.stream);
            row(s, every)
        })
        .collect();
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    print_table(&rows);
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<14} {:<25} {:>9} {:<25} {:>9} {:>5}  LAST ERROR",
        "STREAM", "POSITION", "LAG", "LAST SUCCESS", "RECORDS", "FAILS"
    );
    for r in rows {
        let mut error = r
            .status
            .last_run
            .as_ref()
            .and_then(|run| run.error.clone())
            .unwrap_or_default();
        if let Some(at) = &r.retry_at {
            error = format!("{error} (run retries after {at})");
        }
        println!(
            "{:<14} {:<25} {:>9} {:<25} {:>9} {:>5}  {}",
            r.status.stream,
            r.position.as_deref().unwrap_or("-"),
            r.lag_seconds.map_or("-".into(), human_secs),
            r.status.last_success_at.as_deref().unwrap_or("never"),
            r.status.total_records,
            r.status.failures,
            error
        );
    }
}

/// The stored statuses, plus an empty one for each enabled poller that never ran, so every
/// enabled poller is named.
fn with_every_poller(mut streams: Vec<StreamStatus>, settings: &SyncSettings) -> Vec<StreamStatus> {
    for p in settings.pollers.iter().filter(|p| p.enabled) {
        if !streams.iter().any(|s| s.stream == p.stream) {
            streams.push(StreamStatus {
                stream: p.stream.to_owned(),
                cursor: None,
                cursor_updated_at: None,
                last_success_at: None,
                last_run: None,
                failures: 0,
                total_records: 0,
            });
        }
    }
    streams
}

/// The row of `status` for a poller scheduled every `interval`.
fn row(status: StreamStatus, interval: std::time::Duration) -> Row {
    let position = status
        .cursor
        .as_deref()
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        .and_then(|v| {
            ["membership_hwm", "hwm", "last_published", "reconciled_at"]
                .iter()
                .find_map(|k| v.get(k).and_then(|p| p.as_str().map(str::to_owned)))
        });
    let lag_seconds = status
        .last_success_at
        .as_deref()
        .and_then(parse_time)
        .map(|t| (Utc::now() - t).num_seconds());
    let retry_at = status
        .last_run
        .as_ref()
        .filter(|run| run.ended_at.is_some())
        .and_then(|run| parse_time(&run.started_at))
        .and_then(|started| backoff::retry_at(status.failures, started, interval))
        .map(okta_time);
    Row {
        status,
        position,
        lag_seconds,
        retry_at,
    }
}

fn human_secs(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunStatus;

    fn status(failures: u64, ended_at: Option<&str>) -> StreamStatus {
        StreamStatus {
            stream: "system_log".into(),
            cursor: Some(r#"{"next":"x","last_published":"2026-01-01T00:00:00.000Z"}"#.into()),
            cursor_updated_at: None,
            last_success_at: None,
            last_run: Some(RunStatus {
                id: 1,
                started_at: "2026-01-02T00:00:00.000Z".into(),
                ended_at: ended_at.map(Into::into),
                records: 0,
                requests: 1,
                rate_limited: 0,
                error: Some("Okta returned 500".into()),
            }),
            failures,
            total_records: 0,
        }
    }

    #[test]
    fn a_stream_failing_in_a_row_shows_when_run_tries_it_again() {
        let ended = Some("2026-01-02T00:00:10.000Z");
        let cases = [
            (0, ended, None),
            (1, ended, Some("2026-01-02T00:00:30.000Z")),
            (3, ended, Some("2026-01-02T00:02:00.000Z")),
            (2, None, None),
        ];
        for (failures, ended_at, retry) in cases {
            let r = row(
                status(failures, ended_at),
                std::time::Duration::from_secs(30),
            );
            assert_eq!(r.retry_at.as_deref(), retry, "{failures} {ended_at:?}");
            assert_eq!(r.position.as_deref(), Some("2026-01-01T00:00:00.000Z"));
        }
    }
}
