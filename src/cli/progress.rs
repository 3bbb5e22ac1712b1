//! A live progress line on stderr for long reads (a sync backfill, `logs get --all`, `users list
//! --all`): records, pages, time spent waiting on rate limits, and an estimate of the time left
//! when records arrive in time order. Shown only when stderr is a terminal, never on stdout; log
//! lines written meanwhile lift it out of their way.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;

use crate::metrics;
use crate::poll::Engine;
use crate::poll::plan::parse_time;

/// The progress line being drawn, if any, so log lines can suspend it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Progress is drawn only on a terminal that can redraw a line, and not when logs are JSON
/// (whoever reads those wants records, not a spinner).
pub fn enabled(stderr_is_terminal: bool, term: Option<&str>, json_logs: bool) -> bool {
    stderr_is_terminal && term != Some("dumb") && !json_logs
}

/// Runs `write` with the progress line (if one is drawn) cleared, then redraws it.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let bar = ACTIVE.lock().ok().and_then(|active| active.clone());
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// One progress line; hidden when not enabled. Cleared when dropped.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    /// The first record time seen, for the estimate.
    first: Option<DateTime<Utc>>,
    /// Rate-limit waits before this line started, so it shows only its own.
    baseline: (Duration, u64),
}

impl Progress {
    pub fn start(enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            if let Ok(mut active) = ACTIVE.lock() {
                *active = Some(bar.clone());
            }
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            first: None,
            baseline: metrics::global().rate_limit_waits(),
        }
    }

    /// Shows `records` in `pages` so far; `position` is the newest record time read, when
    /// records come oldest first.
    pub fn update(&mut self, label: &str, records: u64, pages: u64, position: Option<&str>) {
        let Some(bar) = &self.bar else { return };
        let position = position.and_then(parse_time);
        if self.first.is_none() {
            self.first = position;
        }
        let eta = match (self.first, position) {
            (Some(first), Some(at)) => remaining(first, at, Utc::now(), self.started.elapsed()),
            _ => None,
        };
        let (paced, limited) = metrics::global().rate_limit_waits();
        let waits = (
            paced.saturating_sub(self.baseline.0),
            limited - self.baseline.1,
        );
        bar.set_message(line(label, records, pages, waits, eta));
    }

    /// Starts counting afresh (a new stream in the same line).
    pub fn restart(&mut self) {
        self.started = Instant::now();
        self.first = None;
        self.baseline = metrics::global().rate_limit_waits();
    }

    /// Clears the line.
    pub fn finish(self) {}
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
        }
    }
}

/// The text of a progress line, e.g.
/// `system_log: 12000 records, 12 pages, rate-limit waits 3s (2 × 429), ~2m left`.
pub fn line(
    label: &str,
    records: u64,
    pages: u64,
    waits: (Duration, u64),
    eta: Option<Duration>,
) -> String {
    let mut text = format!("{records} records, {pages} pages");
    if !label.is_empty() {
        text = format!("{label}: {text}");
    }
    if !waits.0.is_zero() || waits.1 > 0 {
        text.push_str(&format!(", rate-limit waits {}", human(waits.0)));
        if waits.1 > 0 {
            text.push_str(&format!(" ({} × 429)", waits.1));
        }
    }
    if let Some(eta) = eta {
        text.push_str(&format!(", ~{} left", human(eta)));
    }
    text
}

/// Time left to reach `now`, for records read oldest first: the span still to read at the pace
/// the span from `first` to `position` took. `None` until there is a pace to go by.
pub fn remaining(
    first: DateTime<Utc>,
    position: DateTime<Utc>,
    now: DateTime<Utc>,
    elapsed: Duration,
) -> Option<Duration> {
    let covered = (position - first).num_milliseconds();
    let left = (now - position).num_milliseconds().max(0);
    if covered <= 0 || elapsed < Duration::from_secs(1) {
        return None;
    }
    let secs = elapsed.as_secs_f64() * left as f64 / covered as f64;
    Some(Duration::from_secs_f64(secs.min(1e9)))
}

fn human(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// Follows a sync's pollers with a progress line until [`Follower::finish`].
pub struct Follower {
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A progress line for `engine`'s running poller, refreshed five times a second.
pub fn follow(enabled: bool, engine: &Engine) -> Follower {
    if !enabled {
        return Follower { task: None };
    }
    let engine = engine.clone();
    let task = tokio::spawn(async move {
        let mut progress = Progress::start(true);
        let mut current = "";
        loop {
            let running = engine
                .activity()
                .snapshot()
                .into_iter()
                .find(|(_, p)| p.running);
            if let Some((stream, p)) = running {
                if stream != current {
                    progress.restart();
                    current = stream;
                }
                progress.update(stream, p.records, p.pages, p.position.as_deref());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    Follower { task: Some(task) }
}

impl Follower {
    /// Stops following and clears the line.
    pub fn finish(self) {}
}

impl Drop for Follower {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_drawn_only_on_a_terminal_that_redraws_and_with_text_logs() {
        for (terminal, term, json, want) in [
            (true, Some("xterm-256color"), false, true),
            (true, None, false, true),
            (false, Some("xterm-256color"), false, false), // a pipe, a file, journald
            (true, Some("dumb"), false, false),
            (true, Some("xterm"), true, false),
        ] {
            assert_eq!(
                enabled(terminal, term, json),
                want,
                "{terminal} {term:?} {json}"
            );
        }
    }

    #[test]
    fn the_line_shows_records_pages_waits_and_the_estimate_when_known() {
        assert_eq!(
            line("", 200, 1, (Duration::ZERO, 0), None),
            "200 records, 1 pages"
        );
        assert_eq!(
            line(
                "system_log",
                12_000,
                12,
                (Duration::from_secs(3), 2),
                Some(Duration::from_secs(150))
            ),
            "system_log: 12000 records, 12 pages, rate-limit waits 3s (2 × 429), ~2m left"
        );
    }

    #[test]
    fn the_estimate_reads_the_rest_of_the_span_at_the_pace_so_far() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let first = t("2026-01-01T00:00:00Z");
        let now = t("2026-01-04T00:00:00Z");
        // A day read in 10 s, two days to go: 20 s.
        let eta = remaining(
            first,
            t("2026-01-02T00:00:00Z"),
            now,
            Duration::from_secs(10),
        );
        assert_eq!(eta, Some(Duration::from_secs(20)));
        assert_eq!(
            remaining(first, first, now, Duration::from_secs(10)),
            None,
            "no pace yet"
        );
        let newest_first = remaining(now, first, now, Duration::from_secs(10));
        assert_eq!(newest_first, None, "records newest first give no estimate");
        assert_eq!(
            remaining(first, now, now, Duration::from_secs(10)),
            Some(Duration::ZERO)
        );
    }
}
