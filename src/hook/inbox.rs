//! The receiver's write path, on two threads of its own so no SQLite connection is ever held
//! across an `.await`. The committer takes every delivery waiting at once and commits their
//! events in one fsynced transaction (group commit) before any of them is answered; the emitter
//! then hands inbox events to the sinks and deletes them in the transaction that mirrors them.
//! When the state database's mirror is the only sink, the commit itself is the emission.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::metrics;
use crate::sink::{Delta, Sinks, stream};
use crate::store::Store;

/// Deliveries committed together at most (each is at most 256 KiB).
const MAX_GROUP: usize = 256;
/// Inbox events handed to the sinks at once.
const EMIT_BATCH: usize = 1000;
/// How often an idle emitter looks at the inbox anyway.
const IDLE_CHECK: Duration = Duration::from_secs(5);
/// Retry delays after a sink failure, doubling up to the last.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Where accepted events go: the state database and the sinks, shared with the pollers when the
/// receiver runs inside `oktasync run`.
#[derive(Clone)]
pub struct Outputs {
    pub store: Arc<Mutex<Store>>,
    pub sinks: Arc<Sinks>,
    /// A `sqlite:` sink is the state database itself.
    pub mirror_in_state: bool,
    /// The sinks as metric labels.
    pub sink_names: Vec<String>,
}

/// How far the emitter got, for the handlers waiting on it.
#[derive(Debug, Clone, Default)]
struct Emitted {
    /// Every inbox event up to this sequence number is in every sink.
    through: i64,
    /// The last attempt failed, covering events up to `failed_high`.
    failing: Option<String>,
    failed_high: i64,
}

/// What became of a delivery's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Committed and in every sink.
    Emitted,
    /// Committed; the sinks have not confirmed them yet, and the emitter keeps trying.
    Pending,
}

/// Why a delivery is answered 503 (so Okta retries).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AcceptError {
    #[error("cannot commit the events: {0}")]
    Commit(String),
    #[error("committed, but a sink refused them: {0}")]
    Sinks(String),
}

struct Job {
    events: Vec<Delta>,
    reply: oneshot::Sender<Result<i64, String>>,
}

/// The handle the HTTP handlers use; the threads stop once every handle is gone.
pub struct Inbox {
    jobs: mpsc::Sender<Job>,
    emitted: watch::Receiver<Emitted>,
    direct: bool,
}

/// The two threads, to wait for at shutdown.
pub struct Workers {
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Waits up to `deadline` for both threads to finish their work and stop.
    pub async fn stop(self, deadline: Duration) -> bool {
        let join = tokio::task::spawn_blocking(move || {
            for thread in self.threads {
                let _ = thread.join();
            }
        });
        tokio::time::timeout(deadline, join).await.is_ok()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inbox {
    /// Starts the committer and the emitter; the emitter first drains what a previous process
    /// left in the inbox.
    pub fn start(outputs: Outputs) -> std::io::Result<(Inbox, Workers)> {
        let external = outputs.sinks.beyond_state();
        let direct = outputs.mirror_in_state && !external;
        let (jobs, job_rx) = mpsc::channel(4096);
        let (status, emitted) = watch::channel(Emitted::default());
        let (wake, wake_rx) = std_mpsc::channel();
        let committer = Committer {
            outputs: outputs.clone(),
            direct,
            wake,
        };
        let threads = vec![
            std::thread::Builder::new()
                .name("hook-commit".into())
                .spawn(move || committer.run(job_rx))?,
            std::thread::Builder::new()
                .name("hook-emit".into())
                .spawn(move || emit_loop(&outputs, &wake_rx, &status))?,
        ];
        Ok((
            Inbox {
                jobs,
                emitted,
                direct,
            },
            Workers { threads },
        ))
    }

    /// Commits `events` durably, then waits until `deadline` for the sinks to take them.
    pub async fn accept(
        &self,
        events: Vec<Delta>,
        deadline: Instant,
    ) -> Result<Accepted, AcceptError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || AcceptError::Commit("the receiver is stopping".into());
        self.jobs
            .send(Job { events, reply })
            .await
            .map_err(|_| stopped())?;
        let mine = answer
            .await
            .map_err(|_| stopped())?
            .map_err(AcceptError::Commit)?;
        if self.direct {
            return Ok(Accepted::Emitted);
        }
        let mut emitted = self.emitted.clone();
        let waited = tokio::time::timeout_at(deadline, async {
            loop {
                {
                    let e = emitted.borrow_and_update();
                    if e.through >= mine {
                        return Ok(Accepted::Emitted);
                    }
                    if let Some(why) = e.failing.as_ref().filter(|_| e.failed_high >= mine) {
                        return Err(AcceptError::Sinks(why.clone()));
                    }
                }
                if emitted.changed().await.is_err() {
                    return Ok(Accepted::Pending);
                }
            }
        })
        .await;
        waited.unwrap_or(Ok(Accepted::Pending))
    }
}

struct Committer {
    outputs: Outputs,
    direct: bool,
    wake: std_mpsc::Sender<()>,
}

impl Committer {
    /// Until every [`Inbox`] is gone: take the deliveries waiting now, commit them together,
    /// answer each, and wake the emitter.
    fn run(self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(first) = jobs.blocking_recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let (events, replies): (Vec<Vec<Delta>>, Vec<_>) =
                group.into_iter().map(|j| (j.events, j.reply)).unzip();
            let events: Vec<Delta> = events.into_iter().flatten().collect();
            let deliveries = replies.len() as u64;
            let result = lock(&self.outputs.store)
                .accept_hook_events(&events, deliveries, self.direct)
                .map_err(|e| e.to_string());
            match &result {
                Ok(_) if self.direct => self.emitted(events.len()),
                Ok(_) => drop(self.wake.send(())),
                Err(e) => {
                    tracing::error!(error = %e, count = events.len(), "cannot commit event hook deliveries")
                }
            }
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
    }

    fn emitted(&self, count: usize) {
        let names = &self.outputs.sink_names;
        metrics::global().page_committed(stream::EVENT_HOOK, names, count as u64);
    }
}

/// One emission: the oldest inbox events to every sink, then mirrored and deleted together.
/// Returns how far the inbox is emitted and how many events this took (0: it was empty).
fn emit_once(outputs: &Outputs) -> Result<(i64, usize), (String, i64)> {
    let batch = lock(&outputs.store)
        .inbox_batch(EMIT_BATCH)
        .map_err(|e| (e.to_string(), 0))?;
    let count = batch.deltas.len();
    if count == 0 {
        return Ok((batch.through, 0));
    }
    let failed = |e: String| (e, batch.through);
    outputs
        .sinks
        .deliver(&batch.deltas)
        .map_err(|e| failed(e.to_string()))?;
    lock(&outputs.store)
        .finish_inbox_batch(&batch, outputs.mirror_in_state)
        .map_err(|e| failed(e.to_string()))?;
    metrics::global().page_committed(stream::EVENT_HOOK, &outputs.sink_names, count as u64);
    tracing::debug!(stream = stream::EVENT_HOOK, count, "hook events emitted");
    Ok((batch.through, count))
}

/// Until the committer is gone and the inbox is empty (or failing): emit, then wait for a
/// wake-up, a retry time or the idle check.
fn emit_loop(outputs: &Outputs, wake: &std_mpsc::Receiver<()>, status: &watch::Sender<Emitted>) {
    let mut retry = RETRY_FIRST;
    let mut closing = false;
    loop {
        let wait = match emit_once(outputs) {
            Ok((through, count)) => {
                status.send_modify(|e| {
                    e.through = e.through.max(through);
                    e.failing = None;
                });
                retry = RETRY_FIRST;
                if count > 0 {
                    continue;
                }
                IDLE_CHECK
            }
            Err((why, failed_high)) => {
                tracing::error!(error = %why, retry_in_ms = retry.as_millis() as u64,
                    "cannot deliver event hook events to the sinks; they stay in the inbox");
                status.send_modify(|e| {
                    e.failing = Some(why);
                    e.failed_high = e.failed_high.max(failed_high);
                });
                let wait = retry;
                retry = (retry * 2).min(RETRY_MAX);
                wait
            }
        };
        if closing {
            return;
        }
        match wake.recv_timeout(wait) {
            Ok(()) => while wake.try_recv().is_ok() {},
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => closing = true,
        }
    }
}
