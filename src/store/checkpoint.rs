//! WAL checkpoints off the commit path: the writing connection never checkpoints itself
//! (`wal_autocheckpoint = 0`); after each commit it nudges this thread, which copies committed
//! pages into the database file with a connection of its own (`PASSIVE`: it never blocks the
//! writer), so the write-ahead log stays small without a commit ever paying for it.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use rusqlite::Connection;

/// Keeps the WAL of one database file short, from a thread of its own.
#[derive(Debug)]
pub(super) struct Checkpointer {
    nudges: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database at `path`; `None` if it cannot open it
    /// (the writer then checkpoints as SQLite does by default).
    pub(super) fn spawn(path: &Path) -> Option<Checkpointer> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(Duration::from_secs(1)).ok()?;
        let (nudges, rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("oktasync-checkpoint".into())
            .spawn(move || run(&conn, &rx))
            .ok()?;
        Some(Checkpointer { nudges })
    }

    /// A commit happened: checkpoint soon. Never blocks.
    pub(super) fn nudge(&self) {
        match self.nudges.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }
}

/// Checkpoints once per burst of nudges until the writer goes away.
fn run(conn: &Connection, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((log, copied)) => tracing::trace!(log, copied, "WAL checkpoint"),
            Err(e) => {
                tracing::debug!(error = %e, "WAL checkpoint did not run; retrying after the next commit")
            }
        }
    }
}
