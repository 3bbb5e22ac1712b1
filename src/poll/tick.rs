//! One scheduled firing of the daemon: runs its streams (the two users streams together when they
//! share a schedule) unless a run is still going or the poller is backing off after failures.
//! A failure is logged once per distinct error, not once per tick; a closed stdout stops the
//! whole daemon.

use std::sync::{Arc, Mutex as StdMutex};

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
    failing: Arc<StdMutex<Failing>>,
}

impl Tick {
    pub fn new(
        engine: &Engine,
        streams: Vec<&'static str>,
        shutdown: &Shutdown,
        fatal: &Arc<Fatal>,
    ) -> Tick {
        Tick {
            engine: engine.clone(),
            streams,
            lock: Arc::new(Mutex::new(())),
            shutdown: shutdown.clone(),
            fatal: fatal.clone(),
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
            Err(e) => self.failed(&e),
        }
    }

    /// Counts a failure, sets the wait before the next run, and logs the error if it is new.
    fn failed(&self, e: &anyhow::Error) {
        let error = format!("{e:#}");
        let mut failing = self.failing();
        failing.failures += 1;
        let wait = backoff::delay(failing.failures);
        failing.until = Some(Instant::now() + wait);
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
