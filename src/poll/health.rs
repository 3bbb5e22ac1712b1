//! Judging the pollers from their [`Activity`](super::activity::Activity), with no I/O: how often
//! a cron schedule fires, whether every poller is ready (for `/readyz`), whether one is wedged
//! (for the systemd watchdog), and the one-line summary systemd shows as the service's status.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use tokio::time::Instant;

use super::activity::PollerState;

/// A run that has committed nothing for this long is wedged: it is longer than any wait the
/// client allows itself (10 minutes of retries per request, plus the request timeouts).
pub const STALL_LIMIT: Duration = Duration::from_secs(15 * 60);

/// The longest gap between two firings of `schedule` (cron with seconds, UTC, as the scheduler
/// reads it) over its next few firings; `None` if it does not parse or never fires.
pub fn expected_interval(schedule: &str, from: DateTime<Utc>) -> Option<Duration> {
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(schedule)
        .ok()?;
    // Step with find_next_occurrence: croner's iterator skips the second after each firing.
    let mut times = vec![cron.find_next_occurrence(&from, false).ok()?];
    while times.len() < 17 {
        let last = times[times.len() - 1];
        times.push(cron.find_next_occurrence(&last, false).ok()?);
    }
    times
        .windows(2)
        .filter_map(|w| (w[1] - w[0]).to_std().ok())
        .max()
}

/// One enabled poller as health checks see it: its stream and expected interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub stream: &'static str,
    pub interval: Duration,
}

impl Expected {
    /// A poller is fresh while its last success is younger than twice its interval.
    pub fn window(&self) -> Duration {
        self.interval * 2
    }
}

/// The clocks a health check is judged at.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub wall: DateTime<Utc>,
    pub mono: Instant,
    /// When the process started its pollers.
    pub started: Instant,
}

/// Whether one poller is ready, and why (not).
pub fn poller_ready(e: &Expected, p: &PollerState, now: &Now) -> Result<&'static str, String> {
    let window = e.window();
    let age = |t: DateTime<Utc>| (now.wall - t).to_std().unwrap_or_default();
    if p.last_success.is_some_and(|t| age(t) <= window) {
        return Ok("fresh");
    }
    let progressing = p
        .last_page
        .is_some_and(|t| now.mono - t <= window.max(STALL_LIMIT));
    if p.running && progressing {
        return Ok("catching up");
    }
    if now.mono - now.started <= window && p.failures == 0 {
        return Ok("starting");
    }
    let last = match p.last_success {
        Some(t) => format!("last success {}s ago", age(t).as_secs()),
        None => "no successful run yet".to_owned(),
    };
    let error = p
        .last_error
        .as_deref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default();
    Err(format!(
        "{last}, expected within {}s{error}",
        window.as_secs()
    ))
}

/// Every enabled poller's readiness, by stream; ready when all are `Ok`.
pub fn readiness(
    expected: &[Expected],
    states: &BTreeMap<&'static str, PollerState>,
    now: &Now,
) -> Vec<(&'static str, Result<&'static str, String>)> {
    expected
        .iter()
        .map(|e| {
            let state = states.get(e.stream).cloned().unwrap_or_default();
            (e.stream, poller_ready(e, &state, now))
        })
        .collect()
}

/// Why the pollers look wedged, if they do: a run that committed nothing for [`STALL_LIMIT`], or a
/// poller the scheduler stopped firing. The watchdog is fed only while this is `None`.
pub fn wedged(
    expected: &[Expected],
    states: &BTreeMap<&'static str, PollerState>,
    now: &Now,
) -> Option<String> {
    for e in expected {
        let Some(p) = states.get(e.stream) else {
            continue;
        };
        let progress = p.last_page.or(p.run_started).unwrap_or(now.started);
        if p.running && now.mono - progress > STALL_LIMIT {
            return Some(format!(
                "{}: the run has committed nothing for {}s",
                e.stream,
                (now.mono - progress).as_secs()
            ));
        }
        let fired = p.last_fired.unwrap_or(now.started);
        if now.mono - fired > e.window() + Duration::from_secs(60) {
            return Some(format!(
                "{}: not fired by the scheduler for {}s",
                e.stream,
                (now.mono - fired).as_secs()
            ));
        }
    }
    None
}

/// What the pollers are doing, in one line for systemd's `STATUS=`, e.g.
/// `system_log: syncing, 3000 records in 3 pages; new_users: idle, caught up 12:00:05Z`.
pub fn status_line(expected: &[Expected], states: &BTreeMap<&'static str, PollerState>) -> String {
    let parts: Vec<String> = expected
        .iter()
        .map(|e| {
            let p = states.get(e.stream).cloned().unwrap_or_default();
            let what = if p.running {
                format!("syncing, {} records in {} pages", p.records, p.pages)
            } else if let Some(err) = &p.last_error {
                format!("failed: {}", shorten(err, 80))
            } else if let Some(t) = p.last_success {
                format!("idle, caught up {}", t.format("%H:%M:%SZ"))
            } else {
                "waiting".to_owned()
            };
            format!("{}: {what}", e.stream)
        })
        .collect();
    parts.join("; ")
}

fn shorten(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_expected_interval_is_the_longest_gap_between_firings() {
        let from = at("2026-01-05T10:00:00Z"); // a Monday
        for (schedule, secs) in [
            ("*/30 * * * * *", 30),
            ("0 */5 * * * *", 300),
            ("0 0 * * * *", 3600),
            ("*/1 * * * * *", 1),
            ("0 0 9 * * MON-FRI", 3 * 86_400), // Friday to Monday
        ] {
            assert_eq!(
                expected_interval(schedule, from),
                Some(Duration::from_secs(secs)),
                "{schedule}"
            );
        }
        assert_eq!(expected_interval("every five minutes", from), None);
    }

    const LOGS: Expected = Expected {
        stream: "system_log",
        interval: Duration::from_secs(30),
    };

    /// A fixed wall clock, so ages come out exact.
    fn wall() -> DateTime<Utc> {
        at("2026-01-05T12:00:00Z")
    }

    fn now_after(started_secs_ago: u64) -> Now {
        let mono = Instant::now() + Duration::from_secs(10_000);
        let started = mono - Duration::from_secs(started_secs_ago);
        Now {
            wall: wall(),
            mono,
            started,
        }
    }

    fn succeeded(secs_ago: i64) -> PollerState {
        let last_success = Some(wall() - chrono::Duration::seconds(secs_ago));
        PollerState {
            last_success,
            ..PollerState::default()
        }
    }

    #[test]
    fn a_poller_is_ready_while_fresh_catching_up_or_starting_and_not_after() {
        let now = now_after(3600);
        let ready = |p: &PollerState| poller_ready(&LOGS, p, &now);
        assert_eq!(ready(&succeeded(59)), Ok("fresh"));
        assert!(ready(&succeeded(61)).is_err());
        let catching_up = PollerState {
            running: true,
            last_page: Some(now.mono - Duration::from_secs(5)),
            ..succeeded(4000)
        };
        assert_eq!(ready(&catching_up), Ok("catching up"));
        // A run that only retries (no page yet) is not progress.
        let retrying = PollerState {
            running: true,
            failures: 3,
            ..succeeded(4000)
        };
        let err = ready(&retrying).unwrap_err();
        assert!(
            err.contains("last success 4000s ago, expected within 60s"),
            "{err}"
        );
        let failing = PollerState {
            last_error: Some("Okta returned 500".into()),
            failures: 1,
            ..PollerState::default()
        };
        let err = ready(&failing).unwrap_err();
        assert!(
            err.contains("no successful run yet") && err.ends_with("last error: Okta returned 500"),
            "{err}"
        );

        let young = now_after(10);
        assert_eq!(
            poller_ready(&LOGS, &PollerState::default(), &young),
            Ok("starting")
        );
        assert!(
            poller_ready(&LOGS, &failing, &young).is_err(),
            "a failure ends the grace period"
        );
    }

    #[test]
    fn the_watchdog_sees_a_silent_run_or_a_scheduler_that_stopped_firing() {
        let now = now_after(7200);
        let states = |p: PollerState| BTreeMap::from([("system_log", p)]);
        let fired = Some(now.mono - Duration::from_secs(1));
        let busy = PollerState {
            running: true,
            last_fired: fired,
            last_page: Some(now.mono - Duration::from_secs(14 * 60)),
            ..PollerState::default()
        };
        assert_eq!(wedged(&[LOGS], &states(busy.clone()), &now), None);
        let silent = PollerState {
            last_page: Some(now.mono - Duration::from_secs(16 * 60)),
            ..busy
        };
        let why = wedged(&[LOGS], &states(silent), &now).unwrap();
        assert!(
            why.starts_with("system_log: the run has committed nothing for 960s"),
            "{why}"
        );
        let unscheduled = PollerState {
            last_fired: Some(now.mono - Duration::from_secs(121)),
            ..PollerState::default()
        };
        let why = wedged(&[LOGS], &states(unscheduled), &now).unwrap();
        assert!(why.contains("not fired by the scheduler for 121s"), "{why}");
    }

    #[test]
    fn the_status_line_says_what_each_poller_is_doing() {
        let users = Expected {
            stream: "new_users",
            interval: Duration::from_secs(300),
        };
        let states = BTreeMap::from([
            (
                "system_log",
                PollerState {
                    running: true,
                    records: 3000,
                    pages: 3,
                    ..PollerState::default()
                },
            ),
            (
                "new_users",
                PollerState {
                    last_success: Some(at("2026-01-05T12:00:05Z")),
                    ..PollerState::default()
                },
            ),
        ]);
        assert_eq!(
            status_line(&[LOGS, users], &states),
            "system_log: syncing, 3000 records in 3 pages; new_users: idle, caught up 12:00:05Z"
        );
        let failed = BTreeMap::from([(
            "new_users",
            PollerState {
                last_error: Some("x".repeat(100)),
                ..PollerState::default()
            },
        )]);
        let line = status_line(&[users], &failed);
        assert!(
            line.starts_with("new_users: failed: xxx") && line.ends_with('…'),
            "{line}"
        );
        assert_eq!(
            status_line(&[users], &BTreeMap::new()),
            "new_users: waiting"
        );
    }
}
