//! The state database's one writer: a thread that owns the connection, so no async task ever
//! holds it. Small jobs run one at a time; a group is planned, its deltas handed back for the
//! sinks, its rows written, and the transaction kept open until the caller says every sink has
//! the batch: then it commits, else it rolls back and no cursor moves.

use std::sync::Arc;
use std::sync::mpsc;

use anyhow::Context as _;
use tokio::sync::oneshot;

use super::group::{self, Counts, GroupInput};
use crate::delta::Delta;
use crate::store::{Store, StoreError};

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;
type Await<T> = oneshot::Receiver<Result<T, StoreError>>;

enum Job {
    Call(Box<dyn FnOnce(&mut Store) + Send>),
    Group(Box<GroupJob>),
}

struct GroupJob {
    input: GroupInput,
    planned: Reply<(Arc<Vec<Delta>>, Vec<Counts>)>,
    prepared: Reply<()>,
    verdict: oneshot::Receiver<bool>,
    done: Reply<()>,
}

/// A group in the writer: await `planned` for the deltas, then `prepared`, then send the
/// verdict (true: commit) and await `done`. Dropping the verdict rolls the group back.
pub(super) struct GroupHandle {
    pub planned: Await<(Arc<Vec<Delta>>, Vec<Counts>)>,
    pub prepared: Await<()>,
    pub verdict: oneshot::Sender<bool>,
    pub done: Await<()>,
}

/// Sends work to the writer thread.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread, which owns `store` until every `Writer` clone is gone.
    pub fn spawn(mut store: Store) -> anyhow::Result<Writer> {
        let (jobs, rx) = mpsc::channel::<Job>();
        crate::background::spawn("oktasync-state".into(), move || {
            for job in rx {
                match job {
                    Job::Call(f) => f(&mut store),
                    Job::Group(g) => run_group(&mut store, *g),
                }
            }
        })
        .context("cannot start the state database's thread")?;
        Ok(Writer { jobs })
    }

    /// Runs `f` on the writer thread and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = oneshot::channel();
        let job = Job::Call(Box::new(move |store| {
            let _ = tx.send(f(store));
        }));
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the state database's thread has stopped"))?;
        Ok(rx
            .await
            .context("the state database's thread has stopped")??)
    }

    /// Queues a group; see [`GroupHandle`].
    pub fn group(&self, input: GroupInput) -> GroupHandle {
        let (planned, planned_rx) = oneshot::channel();
        let (prepared, prepared_rx) = oneshot::channel();
        let (verdict_tx, verdict) = oneshot::channel();
        let (done, done_rx) = oneshot::channel();
        let job = GroupJob {
            input,
            planned,
            prepared,
            verdict,
            done,
        };
        // If the thread is gone the job is dropped with its senders: the handle then reads as
        // "stopped" at its first await.
        let _ = self.jobs.send(Job::Group(Box::new(job)));
        GroupHandle {
            planned: planned_rx,
            prepared: prepared_rx,
            verdict: verdict_tx,
            done: done_rx,
        }
    }
}

fn run_group(store: &mut Store, job: GroupJob) {
    let GroupJob {
        mut input,
        planned,
        prepared,
        verdict,
        done,
    } = job;
    let started = std::time::Instant::now();
    let tx = match store.begin_group() {
        Ok(tx) => tx,
        Err(e) => return drop(planned.send(Err(e))),
    };
    let mut plan = match group::plan(&tx, &mut input) {
        Ok(p) => p,
        Err(e) => return drop(planned.send(Err(e))),
    };
    let begun = started.elapsed();
    let deltas = Arc::new(std::mem::take(&mut plan.deltas));
    if planned
        .send(Ok((deltas.clone(), plan.per_page.clone())))
        .is_err()
    {
        return;
    }
    let written = group::write(&tx, &input, &deltas, &plan);
    let (ok, wrote) = (written.is_ok(), started.elapsed());
    let _ = prepared.send(written);
    if ok && verdict.blocking_recv() == Ok(true) {
        let waited = started.elapsed();
        let _ = done.send(tx.commit());
        tracing::debug!(
            rows = deltas.len(),
            planned_ms = begun.as_millis() as u64,
            written_ms = wrote.as_millis() as u64,
            sinks_ms = waited.as_millis() as u64,
            committed_ms = started.elapsed().as_millis() as u64,
            "group in the state database"
        );
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writer_thread_runs_below_the_priority_of_the_runtime_that_started_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&dir.path().join("state.db")).unwrap();
        let runtime = crate::background::nice().unwrap();
        let writer = Writer::spawn(store).unwrap();
        let theirs = writer
            .call(|_| Ok(crate::background::nice()))
            .await
            .unwrap();
        assert_eq!(
            theirs,
            Some((runtime + crate::background::NICE_STEPS).min(19))
        );
    }
}
