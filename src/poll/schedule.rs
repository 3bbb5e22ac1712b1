//! The daemon: each enabled poller runs once at start, then on its cron schedule (the two users
//! pollers together when they share one), and the reconciliation on its own; a run still going
//! is never started twice, a failing poller backs off, and shutdown lets every run stop at a
//! group boundary. Its
//! supervision loop tells systemd what the pollers are doing and feeds the watchdog only while
//! none of them is wedged, so a stuck process is restarted.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::health::{self, Now};
use super::tick::{Fatal, Tick};
use super::{Engine, RECONCILE, Shutdown, stopped};
use crate::delta::stream;
use crate::systemd::{Notice, Notifier};

/// How long runs get to reach a safe point after shutdown, well inside systemd's stop timeout.
const STOP_DEADLINE: Duration = Duration::from_secs(8);

/// How often the `STATUS=` line is refreshed (it is sent only when it changed).
const STATUS_PERIOD: Duration = Duration::from_secs(2);

/// Runs the pollers until `shutdown` fires, then waits for in-flight runs to commit. Returns
/// the error that stopped the daemon early (stdout's reader went away), if one did.
pub async fn run_daemon(
    engine: Engine,
    shutdown: Shutdown,
    notifier: Arc<dyn Notifier>,
) -> anyhow::Result<()> {
    let fatal = Arc::new(Fatal::default());
    let shutdown = stop_on_fatal(shutdown, &fatal);
    let mut scheduler = JobScheduler::new()
        .await
        .context("cannot start the scheduler")?;
    let locks = schedule(&engine, &mut scheduler, &shutdown, &fatal).await?;
    scheduler
        .start()
        .await
        .context("cannot start the scheduler")?;
    notifier.notify(Notice::Ready);
    supervise(&engine, notifier.as_ref(), shutdown).await;
    notifier.notify(Notice::Stopping);
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
    fatal.take().map_or(Ok(()), Err)
}

/// A shutdown signal that also fires when a run raises a fatal error.
fn stop_on_fatal(mut outer: Shutdown, fatal: &Arc<Fatal>) -> Shutdown {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let fatal = fatal.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = stopped(&mut outer) => {}
            () = fatal.notify.notified() => {}
        }
        let _ = tx.send(true);
        // Keep the sender alive so receivers see the signal rather than a closed channel.
        std::future::pending::<()>().await;
    });
    rx
}

/// The streams each cron job runs: the two users pollers together when they share a schedule,
/// every other poller alone, and the reconciliation when it is on.
fn jobs(engine: &Engine) -> Vec<(Vec<&'static str>, String)> {
    let mut jobs: Vec<(Vec<&'static str>, String)> = Vec::new();
    let users = |s: &str| s == stream::NEW_USERS || s == stream::UPDATED_USERS;
    for poller in engine.settings().pollers.iter().filter(|p| p.enabled) {
        let shared = jobs.iter_mut().find(|(streams, schedule)| {
            users(poller.stream) && streams.iter().all(|s| users(s)) && *schedule == poller.schedule
        });
        match shared {
            Some((streams, _)) => streams.push(poller.stream),
            None => jobs.push((vec![poller.stream], poller.schedule.clone())),
        }
    }
    if let Some(cron) = &engine.settings().reconcile {
        jobs.push((vec![RECONCILE], cron.clone()));
    }
    jobs
}

/// Starts each poller's first run and adds the cron jobs; returns the locks that show whether a
/// run is going.
async fn schedule(
    engine: &Engine,
    scheduler: &mut JobScheduler,
    shutdown: &Shutdown,
    fatal: &Arc<Fatal>,
) -> anyhow::Result<Vec<Arc<Mutex<()>>>> {
    let mut locks = Vec::new();
    for (streams, cron) in jobs(engine) {
        let name = streams.join("+");
        let interval =
            health::expected_interval(&cron, Utc::now()).unwrap_or(Duration::from_secs(300));
        let tick = Tick::new(engine, streams, interval, shutdown, fatal);
        locks.push(tick.lock.clone());
        if tick.streams != [RECONCILE] {
            let first = tick.clone();
            tokio::spawn(async move { first.fire().await });
        }
        let job = Job::new_async(cron.as_str(), move |_id, _scheduler| {
            let tick = tick.clone();
            Box::pin(async move { tick.fire().await })
        })
        .with_context(|| {
            format!("the schedule of {name}: {cron:?} is not a valid cron expression")
        })?;
        scheduler
            .add(job)
            .await
            .context("cannot schedule a poller")?;
        tracing::info!(stream = %name, schedule = %cron, "poller scheduled");
    }
    Ok(locks)
}

/// Until shutdown: refreshes systemd's status line, and pings the watchdog at half its timeout
/// as long as no poller is wedged (see [`health::wedged`]).
async fn supervise(engine: &Engine, notifier: &dyn Notifier, mut shutdown: Shutdown) {
    let expected = engine.expected();
    let watchdog = notifier.watchdog();
    let mut status_tick = tokio::time::interval(STATUS_PERIOD);
    // Unused without a watchdog (its branch is disabled), but an interval needs a period.
    let half = watchdog.map_or(STATUS_PERIOD, |w| (w / 2).max(Duration::from_millis(10)));
    let mut watchdog_tick = tokio::time::interval(half);
    let (mut status, mut wedged) = (String::new(), None);
    loop {
        let ping = tokio::select! {
            () = stopped(&mut shutdown) => return,
            _ = status_tick.tick() => false,
            _ = watchdog_tick.tick(), if watchdog.is_some() => true,
        };
        let states = engine.activity().snapshot();
        let line = health::status_line(&expected, &states);
        if line != status {
            notifier.notify(Notice::Status(line.clone()));
            status = line;
        }
        if !ping {
            continue;
        }
        let now = Now {
            wall: Utc::now(),
            mono: Instant::now(),
            started: engine.activity().started(),
        };
        let why = health::wedged(&expected, &states, &now);
        match &why {
            None => notifier.notify(Notice::Watchdog),
            Some(reason) if wedged.as_ref() != Some(reason) => {
                tracing::error!(reason = %reason, "a poller is wedged: no longer feeding the systemd watchdog");
            }
            Some(_) => {}
        }
        wedged = why;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use super::*;
    use crate::config::{STREAMS, StartAt, SyncSettings};
    use crate::okta::{ClientOptions, OktaClient};

    /// Remembers every notice; the watchdog timeout is one minute.
    #[derive(Default)]
    struct Recorder(StdMutex<Vec<Notice>>);

    impl Notifier for Recorder {
        fn notify(&self, notice: Notice) {
            self.0.lock().unwrap().push(notice);
        }

        fn watchdog(&self) -> Option<Duration> {
            Some(Duration::from_secs(60))
        }
    }

    impl Recorder {
        fn pings(&self) -> usize {
            let notices = self.0.lock().unwrap();
            notices.iter().filter(|n| **n == Notice::Watchdog).count()
        }
    }

    fn engine(dir: &std::path::Path) -> Engine {
        let org = url::Url::parse("http://127.0.0.1:9").unwrap();
        let client = OktaClient::new(org, "t".into(), ClientOptions::default()).unwrap();
        let settings = SyncSettings::local(dir.join("state.db"), Vec::new(), StartAt::Now);
        Engine::open(client, settings).unwrap()
    }

    /// Lets the clock run `minutes`, the scheduler firing every poller each minute.
    async fn minutes(engine: &Engine, minutes: u32) {
        for _ in 0..minutes {
            for _ in 0..30 {
                tokio::time::advance(Duration::from_secs(2)).await;
                tokio::task::yield_now().await;
            }
            for stream in STREAMS {
                engine.activity().fired(stream);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_is_fed_only_while_no_run_is_wedged() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        engine.activity().run_started("system_log");
        let recorder = Arc::new(Recorder::default());
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let task = tokio::spawn({
            let (engine, recorder) = (engine.clone(), recorder.clone());
            async move { supervise(&engine, recorder.as_ref(), shutdown).await }
        });
        minutes(&engine, 14).await;
        let fed = recorder.pings();
        assert!(
            fed >= 28,
            "a running run is not wedged for 15 minutes: {fed} pings"
        );
        minutes(&engine, 3).await;
        let starved = recorder.pings();
        assert!(
            starved <= fed + 2,
            "no pings once the run is silent for 15 minutes"
        );
        engine.activity().page("system_log", 10, None);
        minutes(&engine, 1).await;
        assert!(
            recorder.pings() > starved,
            "a committed page feeds the watchdog again"
        );
        stop.send(true).unwrap();
        task.await.unwrap();
        let notices = recorder.0.lock().unwrap();
        assert!(
            notices
                .iter()
                .any(|n| matches!(n, Notice::Status(s) if s.contains("system_log: syncing")))
        );
    }
}
