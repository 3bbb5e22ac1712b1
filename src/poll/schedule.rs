//! The daemon: each enabled poller runs once at start, then on its cron schedule; a run still
//! going is never started twice, and shutdown lets every run stop at a page boundary.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::{Engine, Shutdown, stopped};

/// How long runs get to reach a safe point after shutdown, well inside systemd's stop timeout.
const STOP_DEADLINE: Duration = Duration::from_secs(8);

/// Runs the pollers until `shutdown` fires, then waits for in-flight runs to commit.
pub async fn run_daemon(engine: Engine, shutdown: Shutdown) -> anyhow::Result<()> {
    let mut scheduler = JobScheduler::new()
        .await
        .context("cannot start the scheduler")?;
    let mut locks = Vec::new();
    for poller in engine.settings().pollers.iter().filter(|p| p.enabled) {
        let lock = Arc::new(Mutex::new(()));
        locks.push(lock.clone());
        let tick = Tick {
            engine: engine.clone(),
            stream: poller.stream,
            lock,
            shutdown: shutdown.clone(),
        };
        let first = tick.clone();
        tokio::spawn(async move { first.fire().await });
        let job = Job::new_async(poller.schedule.as_str(), move |_id, _scheduler| {
            let tick = tick.clone();
            Box::pin(async move { tick.fire().await })
        })
        .with_context(|| {
            format!(
                "pollers.{}.schedule: {:?} is not a valid cron expression",
                poller.stream, poller.schedule
            )
        })?;
        scheduler
            .add(job)
            .await
            .context("cannot schedule a poller")?;
        tracing::info!(stream = poller.stream, schedule = %poller.schedule, "poller scheduled");
    }
    scheduler
        .start()
        .await
        .context("cannot start the scheduler")?;
    let mut waiter = shutdown.clone();
    stopped(&mut waiter).await;
    tracing::info!("shutting down: letting runs reach a page boundary");
    scheduler
        .shutdown()
        .await
        .context("cannot stop the scheduler")?;
    let all_idle = async {
        for lock in &locks {
            let _ = lock.lock().await;
        }
    };
    if tokio::time::timeout(STOP_DEADLINE, all_idle).await.is_err() {
        tracing::warn!("a run did not stop in time; its last page will be read again next start");
    }
    Ok(())
}

/// One scheduled firing of one poller.
#[derive(Clone)]
struct Tick {
    engine: Engine,
    stream: &'static str,
    lock: Arc<Mutex<()>>,
    shutdown: Shutdown,
}

impl Tick {
    async fn fire(&self) {
        let Ok(_running) = self.lock.try_lock() else {
            tracing::debug!(
                stream = self.stream,
                "previous run still going; skipping this tick"
            );
            return;
        };
        if *self.shutdown.borrow() {
            return;
        }
        match self.engine.run_once(self.stream, &self.shutdown).await {
            Ok(s) => tracing::info!(
                stream = self.stream,
                count = s.records,
                requests = s.requests,
                "run finished"
            ),
            Err(e) => tracing::error!(stream = self.stream, error = format!("{e:#}"), "run failed"),
        }
    }
}
