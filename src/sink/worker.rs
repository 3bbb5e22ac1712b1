//! One thread per sink: batches go to every sink at once, and a [`Delivery`] resolves when each
//! has made its copy durable. A write stuck in the kernel (a stdout nobody reads) holds only its
//! own thread, which the process can abandon at exit.

use std::fmt;
use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{BatchSink, Delta, SinkError};

type Ack = oneshot::Sender<Result<(), SinkError>>;

/// A sink running on a thread of its own.
pub(super) struct Worker {
    name: String,
    jobs: mpsc::Sender<(Arc<Vec<Delta>>, Ack)>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

impl Worker {
    /// Starts the thread that writes `sink`'s batches in order. If no thread can start, the
    /// sink reports itself stopped on the first batch.
    pub(super) fn spawn(name: String, mut sink: impl BatchSink) -> Worker {
        let (jobs, rx) = mpsc::channel::<(Arc<Vec<Delta>>, Ack)>();
        let started = crate::background::spawn(format!("oktasync-sink-{name}"), move || {
            for (batch, ack) in rx {
                let _ = ack.send(sink.write_batch(&batch));
            }
        });
        if let Err(e) = started {
            tracing::error!(sink = %name, error = %e, "cannot start the sink's thread");
        }
        Worker { name, jobs }
    }
}

/// A batch on its way to every sink.
#[derive(Debug)]
pub struct Delivery {
    acks: Vec<(String, oneshot::Receiver<Result<(), SinkError>>)>,
}

impl Delivery {
    pub(super) fn of(workers: &[Worker], batch: Arc<Vec<Delta>>) -> Delivery {
        let mut acks = Vec::with_capacity(workers.len());
        for w in workers.iter().filter(|_| !batch.is_empty()) {
            let (tx, rx) = oneshot::channel();
            // A worker whose thread is gone drops the ack, which reads as "stopped" below.
            let _ = w.jobs.send((batch.clone(), tx));
            acks.push((w.name.clone(), rx));
        }
        Delivery { acks }
    }

    /// Resolves once every sink has the batch durable, or with the first sink's error.
    pub async fn wait(self) -> Result<(), SinkError> {
        let mut first_error = None;
        for (name, ack) in self.acks {
            let result = ack.await.unwrap_or(Err(SinkError::Stopped(name)));
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// As [`Delivery::wait`], blocking the calling (non-async) thread.
    pub fn wait_blocking(self) -> Result<(), SinkError> {
        let mut first_error = None;
        for (name, ack) in self.acks {
            let result = ack.blocking_recv().unwrap_or(Err(SinkError::Stopped(name)));
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl BatchSink for super::StdoutSink {
    fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        super::StdoutSink::write_batch(self, deltas)
    }
}

impl BatchSink for super::FileSink {
    fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        super::FileSink::write_batch(self, deltas)
    }
}

impl BatchSink for super::SqliteSink {
    fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        super::SqliteSink::write_batch(self, deltas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// Takes `delay` per batch, then fails if asked to.
    struct Slow {
        delay: Duration,
        fail: bool,
        done: Arc<AtomicUsize>,
    }

    impl BatchSink for Slow {
        fn write_batch(&mut self, _: &[Delta]) -> Result<(), SinkError> {
            std::thread::sleep(self.delay);
            self.done.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                Err(SinkError::Stopped("slow".into()))
            } else {
                Ok(())
            }
        }
    }

    fn batch() -> Arc<Vec<Delta>> {
        let data = serde_json::value::RawValue::from_string("{}".into()).unwrap();
        Arc::new(vec![Delta::new("system_log", "e", "v", data)])
    }

    #[test]
    fn sinks_write_the_same_batch_at_the_same_time() {
        let done = Arc::new(AtomicUsize::new(0));
        let workers: Vec<Worker> = (0..3)
            .map(|i| {
                let sink = Slow {
                    delay: Duration::from_millis(300),
                    fail: false,
                    done: done.clone(),
                };
                Worker::spawn(format!("s{i}"), sink)
            })
            .collect();
        let started = Instant::now();
        Delivery::of(&workers, batch()).wait_blocking().unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 3);
        assert!(
            started.elapsed() < Duration::from_millis(800),
            "three 300 ms writes took {:?}: not in parallel",
            started.elapsed()
        );
    }

    /// Notes the priority of the thread that writes its batches.
    #[cfg(target_os = "linux")]
    struct Nice(Arc<std::sync::Mutex<Option<i32>>>);

    #[cfg(target_os = "linux")]
    impl BatchSink for Nice {
        fn write_batch(&mut self, _: &[Delta]) -> Result<(), SinkError> {
            *self.0.lock().unwrap() = crate::background::nice();
            Ok(())
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sinks_write_on_threads_below_the_priority_of_the_caller() {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let worker = Worker::spawn("nice".into(), Nice(seen.clone()));
        Delivery::of(&[worker], batch()).wait_blocking().unwrap();
        let caller = crate::background::nice().unwrap();
        let expected = (caller + crate::background::NICE_STEPS).min(19);
        assert_eq!(*seen.lock().unwrap(), Some(expected));
    }

    #[test]
    fn a_failing_sink_fails_the_delivery_after_every_sink_has_answered() {
        let done = Arc::new(AtomicUsize::new(0));
        let sink = |fail| Slow {
            delay: Duration::from_millis(10),
            fail,
            done: done.clone(),
        };
        let workers = [
            Worker::spawn("bad".into(), sink(true)),
            Worker::spawn("good".into(), sink(false)),
        ];
        let err = Delivery::of(&workers, batch()).wait_blocking().unwrap_err();
        assert!(
            matches!(err, SinkError::Stopped(ref s) if s == "slow"),
            "{err}"
        );
        assert_eq!(done.load(Ordering::SeqCst), 2);
    }
}
