//! One scheduled firing of the daemon: runs its streams (the two users streams together when they
//! share a schedule) unless a run is still going or the poller is backing off after failures.
//! A failure is logged once per distinct error, not once per tick; a closed stdout stops the
//! whole daemon.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::{Engine, Shutdown, backoff, is_broken_pipe};

/// An error that stops the daemon (stdout's reader went away), and who wants to hear of it.
#[derive(Default)]
pub(super) struct Fatal {
    error: StdMutex<Option<anyhow::Error>>,
    pub notify: Notify,
}

impl Fatal {
    fn raise(&self, e: anyhow::Error) {
        self.error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(e);
        self.notify.notify_one();
    }

    /// The error that stopped the daemon, if one did.
    pub fn take(&self) -> Option<anyhow::Error> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Failures in a row and the wait they earned.
#[derive(Debug, Default)]
struct Failing {
    failures: u64,
    until: Option<Instant>,
    last_error: Option<String>,
}

/// One scheduled firing of some streams.
#[derive(Clone)]
pub(super) struct Tick {
    pub engine: Engine,
    pub streams: Vec<&'static str>,
    /// Held while a run is going: a run is never started twice.
    pub lock: Arc<Mutex<()>>,
    pub shutdown: Shutdown,
    pub fatal: Arc<Fatal>,
    /// How often the schedule fires: the first wait after a failure.
    interval: Duration,
    failing: Arc<StdMutex<Failing>>,
}

impl Tick {
    pub fn new(
        engine: &Engine,
        streams: Vec<&'static str>,
        interval: Duration,
        shutdown: &Shutdown,
        fatal: &Arc<Fatal>,
    ) -> Tick {
        Tick {
            engine: engine.clone(),
            streams,
            lock: Arc::new(Mutex::new(())),
            shutdown: shutdown.clone(),
            fatal: fatal.clone(),
            interval,
            failing: Arc::default(),
        }
    }

    fn name(&self) -> String {
        self.streams.join("+")
    }

    pub async fn fire(&self) {
        for stream in &self.streams {
            self.engine.activity().fired(stream);
        }
        let Ok(_running) = self.lock.try_lock() else {
            tracing::debug!(stream = %self.name(), "previous run still going; skipping this tick");
            return;
        };
        if *self.shutdown.borrow() {
            return;
        }
        let until = self.failing().until;
        if let Some(until) = until.filter(|u| Instant::now() < *u) {
            let secs = (until - Instant::now()).as_secs();
            tracing::debug!(stream = %self.name(), retry_in_secs = secs, "backing off after failures; skipping this tick");
            return;
        }
        let started = Instant::now();
        match self.engine.run_streams(&self.streams, &self.shutdown).await {
            Ok(summaries) => {
                *self.failing() = Failing::default();
                for s in summaries {
                    tracing::info!(
                        stream = s.stream,
                        count = s.records,
                        requests = s.requests,
                        "run finished"
                    );
                }
            }
            Err(e) if is_broken_pipe(&e) => self.fatal.raise(e),
            Err(e) => self.failed(&e, started),
        }
    }

    /// Counts a failure, sets the wait before the next run (from the start of this one), and
    /// logs the error if it is new.
    fn failed(&self, e: &anyhow::Error, started: Instant) {
        let error = format!("{e:#}");
        let mut failing = self.failing();
        failing.failures += 1;
        let wait = backoff::delay(failing.failures, self.interval);
        failing.until = Some(started + wait);
        let (stream, failures, retry_in_secs) = (self.name(), failing.failures, wait.as_secs());
        if failing.last_error.as_deref() == Some(error.as_str()) {
            tracing::debug!(stream = %stream, failures, retry_in_secs, error = %error, "run failed again");
        } else {
            tracing::error!(stream = %stream, failures, retry_in_secs, error = %error, "run failed");
        }
        failing.last_error = Some(error);
    }

    fn failing(&self) -> std::sync::MutexGuard<'_, Failing> {
        self.failing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use tokio::sync::watch;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::config::{StartAt, SyncSettings};
    use crate::okta::{ClientOptions, OktaClient};
    use crate::store::Store;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<StdMutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// An engine whose system_log cursor belongs to another filter, so every run fails at once.
    fn failing_engine(dir: &std::path::Path) -> Engine {
        let state = dir.join("state.db");
        let cursor = r#"{"next":"http://127.0.0.1:9/api/v1/logs","filter":"eventType eq \"x\""}"#;
        let mut store = Store::open(&state).unwrap();
        store.reset_cursor("system_log", Some(cursor)).unwrap();
        drop(store);
        let org = url::Url::parse("http://127.0.0.1:9").unwrap();
        let client = OktaClient::new(org, "t".into(), ClientOptions::default()).unwrap();
        Engine::open(client, SyncSettings::local(state, Vec::new(), StartAt::Now)).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_poller_backs_off_doubling_its_wait_and_logs_the_same_error_once() {
        let dir = tempfile::tempdir().unwrap();
        let engine = failing_engine(dir.path());
        let (_stop, shutdown) = watch::channel(false);
        let every = Duration::from_secs(15);
        let tick = Tick::new(
            &engine,
            vec!["system_log"],
            every,
            &shutdown,
            &Arc::default(),
        );
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let failures = || async {
            let status = engine.writer.call(|s| s.status()).await.unwrap();
            status
                .iter()
                .find(|s| s.stream == "system_log")
                .map_or(0, |s| s.failures)
        };
        // (seconds to let pass before firing, failed runs expected after firing)
        let schedule = [(0, 1), (1, 1), (15, 2), (16, 2), (15, 3), (59, 3), (1, 4)];
        for (i, (wait, expected)) in schedule.into_iter().enumerate() {
            tokio::time::advance(Duration::from_secs(wait)).await;
            tick.fire().await;
            assert_eq!(failures().await, expected, "firing {i}");
        }
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let errors = text
            .lines()
            .filter(|l| l.contains("ERROR") && l.contains("run failed"))
            .count();
        assert_eq!(errors, 1, "the same error is logged once: {text}");
        assert!(text.contains("run failed again"), "{text}");
        assert!(text.contains("backing off"), "{text}");
    }
}
