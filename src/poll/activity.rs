//! What each poller is doing, as the engine last reported it: running or idle, this run's pages
//! and records and position, its last success and latest error, and when the scheduler last fired
//! it. The engine is the only writer; the daemon's watchdog and status line, `/readyz` and the
//! progress lines of `oktasync sync` read snapshots.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// One poller's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollerState {
    /// A run is in progress.
    pub running: bool,
    /// When the current (or last) run started.
    pub run_started: Option<Instant>,
    /// When the current run last committed a page; `None` until its first page.
    pub last_page: Option<Instant>,
    /// When the scheduler last fired this poller (even if a run was still going).
    pub last_fired: Option<Instant>,
    /// Records committed by the current (or last) run.
    pub records: u64,
    /// Pages committed by the current (or last) run.
    pub pages: u64,
    /// The newest record time the cursor has passed.
    pub position: Option<String>,
    /// When the last successful run ended (loaded from the state database at start).
    pub last_success: Option<DateTime<Utc>>,
    /// Why the latest finished run failed; `None` if it succeeded.
    pub last_error: Option<String>,
    /// Failed runs since this process started.
    pub failures: u64,
}

/// Every poller's state, by stream.
#[derive(Debug)]
pub struct Activity {
    pollers: Mutex<BTreeMap<&'static str, PollerState>>,
    started: Instant,
}

impl Default for Activity {
    fn default() -> Activity {
        Activity {
            pollers: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        }
    }
}

impl Activity {
    /// When the engine was opened: the start of the start-up grace period.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// A copy of every poller's state.
    pub fn snapshot(&self) -> BTreeMap<&'static str, PollerState> {
        self.pollers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// One poller's state (the default if it never reported).
    pub fn get(&self, stream: &str) -> PollerState {
        let pollers = self.pollers.lock().unwrap_or_else(|p| p.into_inner());
        pollers.get(stream).cloned().unwrap_or_default()
    }

    fn update(&self, stream: &'static str, f: impl FnOnce(&mut PollerState)) {
        let mut pollers = self.pollers.lock().unwrap_or_else(|p| p.into_inner());
        f(pollers.entry(stream).or_default());
    }

    /// The last success recorded in the state database, before this process ran anything.
    pub(crate) fn restored(&self, stream: &'static str, last_success: Option<DateTime<Utc>>) {
        self.update(stream, |p| p.last_success = last_success);
    }

    /// The scheduler fired the poller.
    pub(crate) fn fired(&self, stream: &'static str) {
        self.update(stream, |p| p.last_fired = Some(Instant::now()));
    }

    pub(crate) fn run_started(&self, stream: &'static str) {
        self.update(stream, |p| {
            p.running = true;
            p.run_started = Some(Instant::now());
            p.last_page = None;
            p.records = 0;
            p.pages = 0;
        });
    }

    pub(crate) fn page(&self, stream: &'static str, records: u64, position: Option<String>) {
        self.update(stream, |p| {
            p.last_page = Some(Instant::now());
            p.records += records;
            p.pages += 1;
            if position.is_some() {
                p.position = position;
            }
        });
    }

    pub(crate) fn run_ended(&self, stream: &'static str, error: Option<String>) {
        self.update(stream, |p| {
            p.running = false;
            if error.is_some() {
                p.failures += 1;
            } else {
                p.last_success = Some(Utc::now());
            }
            p.last_error = error;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_resets_its_counters_and_its_end_records_success_or_the_error() {
        let a = Activity::default();
        a.run_started("system_log");
        a.page("system_log", 10, Some("2026-01-01T00:00:00.000Z".into()));
        a.page("system_log", 5, None);
        let s = a.get("system_log");
        assert!(s.running && s.last_page.is_some());
        assert_eq!((s.records, s.pages), (15, 2));
        assert_eq!(s.position.as_deref(), Some("2026-01-01T00:00:00.000Z"));
        a.run_ended("system_log", Some("Okta returned 500".into()));
        let s = a.get("system_log");
        assert!(!s.running && s.last_success.is_none());
        assert_eq!(
            (s.failures, s.last_error.as_deref()),
            (1, Some("Okta returned 500"))
        );
        a.run_started("system_log");
        assert_eq!(
            (a.get("system_log").records, a.get("system_log").last_page),
            (0, None)
        );
        a.run_ended("system_log", None);
        let s = a.get("system_log");
        assert!(s.last_success.is_some() && s.last_error.is_none() && s.failures == 1);
        assert_eq!(s.position.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    }
}
