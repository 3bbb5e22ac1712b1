//! WAL checkpoints off the commit path: the writing connection never checkpoints itself
//! (`wal_autocheckpoint = 0`); its WAL hook reports, after each commit, how many frames the WAL
//! holds and nudges this thread, which copies committed pages into the database file with a
//! connection of its own (`PASSIVE`: it never blocks the writer). A WAL can only restart from its
//! beginning when a transaction begins with everything in it copied, which a writer that never
//! pauses would never see (each checkpoint ends behind the commits made while it ran): so once
//! the WAL holds more than [`SETTLE_FRAMES`], the writer waits, before its next transaction, for
//! a checkpoint that has seen every frame it wrote and copied them all; that transaction then
//! starts the WAL over.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::Connection;

/// WAL frames (16 KiB pages) after which the writer lets a checkpoint complete: 64 MiB.
pub(super) const SETTLE_FRAMES: i64 = 4096;

/// What the last checkpoint found: frames in the WAL, frames copied, and how many ran.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    runs: u64,
    log: i64,
    copied: i64,
}

#[derive(Debug, Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
    /// Frames in the WAL after the writer's last commit, from its WAL hook.
    frames: AtomicI64,
}

/// Keeps the WAL of one database file short, from a thread of its own.
#[derive(Debug)]
pub(super) struct Checkpointer {
    nudges: SyncSender<()>,
    shared: Arc<Shared>,
    settle_frames: i64,
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database at `path`; `None` if it cannot open it
    /// (the writer then checkpoints as SQLite does by default).
    pub(super) fn spawn(path: &Path) -> Option<Checkpointer> {
        Checkpointer::spawn_settling_at(path, SETTLE_FRAMES)
    }

    /// As [`Checkpointer::spawn`], settling once the WAL holds `settle_frames` frames.
    fn spawn_settling_at(path: &Path, settle_frames: i64) -> Option<Checkpointer> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(Duration::from_secs(1)).ok()?;
        let (nudges, rx) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        crate::background::spawn("oktasync-checkpoint".into(), move || {
            run(&conn, &rx, &theirs);
        })
        .ok()?;
        Some(Checkpointer {
            nudges,
            shared,
            settle_frames,
        })
    }

    /// Makes `writer` leave checkpoints to this thread: no automatic checkpoint, and after each
    /// commit the WAL's size noted and a checkpoint asked for.
    pub(super) fn watch(&self, writer: &mut Connection) -> rusqlite::Result<()> {
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (nudges, shared) = (self.nudges.clone(), self.shared.clone());
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            shared.frames.store(i64::from(frames), Ordering::Relaxed);
            nudge(&nudges);
            Ok(())
        }))
    }

    /// Before a write transaction: if the WAL is past the settle size, waits (a few rounds at
    /// most) for a checkpoint that has seen all of it to copy all of it, so the transaction
    /// restarts the WAL.
    pub(super) fn settle(&self) {
        for _ in 0..4 {
            let frames = self.shared.frames.load(Ordering::Relaxed);
            if frames < self.settle_frames {
                return;
            }
            let before = self.progress().runs;
            nudge(&self.nudges);
            let guard = self
                .shared
                .progress
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let waited =
                self.shared
                    .changed
                    .wait_timeout_while(guard, Duration::from_secs(5), |p| p.runs == before);
            let Ok((progress, timeout)) = waited else {
                return;
            };
            if timeout.timed_out() {
                return;
            }
            if progress.log >= frames && progress.copied >= progress.log {
                // The transaction about to begin starts the WAL over.
                self.shared.frames.store(0, Ordering::Relaxed);
                return;
            }
        }
    }

    fn progress(&self) -> Progress {
        *self
            .shared
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Asks for a checkpoint soon. Never blocks.
fn nudge(nudges: &SyncSender<()>) {
    match nudges.try_send(()) {
        Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
    }
}

/// Checkpoints once per burst of nudges until the writer goes away.
fn run(conn: &Connection, nudges: &Receiver<()>, shared: &Shared) {
    while nudges.recv().is_ok() {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        let (log, copied) = match done {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "WAL checkpoint did not run; retrying after the next commit");
                (0, 0)
            }
        };
        let mut progress = shared.progress.lock().unwrap_or_else(|p| p.into_inner());
        *progress = Progress {
            runs: progress.runs + 1,
            log,
            copied,
        };
        shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_that_never_pauses_still_restarts_the_wal_once_it_is_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute("CREATE TABLE t (x BLOB)", []).unwrap();
        // 64 frames of 4 KiB pages: the WAL should stay within a few times 256 KiB.
        let checkpointer = Checkpointer::spawn_settling_at(&path, 64).unwrap();
        checkpointer.watch(&mut conn).unwrap();
        let blob = vec![7u8; 64 << 10];
        for _ in 0..300 {
            checkpointer.settle();
            conn.execute("INSERT INTO t (x) VALUES (?1)", [&blob])
                .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("wal.db-wal"))
            .unwrap()
            .len();
        let written = 300 * blob.len() as u64;
        assert!(
            wal < 4 << 20,
            "the WAL grew to {wal} bytes for {written} bytes written: it never restarted"
        );
    }
}
