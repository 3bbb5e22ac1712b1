//! The state database, and the only code that touches SQLite: it opens and migrates the file,
//! keeps cursors, run bookkeeping and what the users streams have emitted, and writes the users
//! and System Log mirror, committing a group of pages' rows and cursors in one transaction so a
//! cursor never moves without its data.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
};

use crate::delta::{Delta, stream, utc_millis};

mod checkpoint;
mod columns;
mod directory;
mod directory_read;
mod files;
mod grants;
mod group;
mod hook;
mod mirror;
mod runs;
mod types;
mod upkeep;
pub use upkeep::BackfillIndexes;

use checkpoint::Checkpointer;
pub use columns::{Columns, EventColumns, Id, Outcome, Profile, UserColumns};
pub use directory::{is_directory, stages_pages};
pub use directory_read::{AppVersion, AssignmentVersion, GroupVersion, Orphan};
pub use files::lock_state;
use files::{create_private, restrict_sidecars};
pub use grants::StateGrants;
pub use group::{GroupTx, RunCounts, UserState};
pub use hook::{HookRegistration, InboxBatch, ReceiverStats};
pub use types::{Mark, MirrorCounts, PageCommit, RunId, RunStatus, StreamStatus};

/// Schema migrations; entry `i` takes the database from `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../schema.sql"),
    include_str!("../migrations/002-oauth-grants.sql"),
    include_str!("../migrations/003-hook.sql"),
    include_str!("../migrations/004-directory.sql"),
    include_str!("../migrations/005-mirror.sql"),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Why a state database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create state database {path}: {cause}; check that its directory exists and is writable"
    )]
    Create { path: PathBuf, cause: io::Error },
    #[error("cannot open state database {path}: {cause}; check that it is an SQLite file")]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "state database {path} has schema version {found} but this oktasync understands up to {supported}: upgrade oktasync"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: u32,
    },
    #[error(
        "cannot migrate state database {path} to schema version {version}: {cause}; check that it is an oktasync state file"
    )]
    Migrate {
        path: PathBuf,
        version: u32,
        cause: rusqlite::Error,
    },
    #[error("cannot restrict permissions of {path}: {cause}; check who owns it")]
    Permissions { path: PathBuf, cause: io::Error },
    #[error(
        "unknown stream {0:?}: expected new_users, updated_users, system_log, event_hook, groups, group_members, apps or app_users"
    )]
    UnknownStream(String),
    #[error("cannot mirror {stream} record {id}: {cause}; nothing from this batch was written")]
    Row {
        stream: String,
        id: String,
        cause: rusqlite::Error,
    },
    #[error("cannot mirror {stream} record {id}: {problem}; nothing from this batch was written")]
    Shape {
        stream: String,
        id: String,
        problem: String,
    },
    #[error(
        "another oktasync is syncing into {path}; stop it first (or give this one its own --state)"
    )]
    Locked { path: PathBuf },
    #[error("run {0} is not in the state database; start a run with begin_run first")]
    UnknownRun(i64),
    #[error("state database: cannot {action}: {cause}")]
    Sql {
        action: &'static str,
        cause: rusqlite::Error,
    },
}

impl StoreError {
    /// True when another connection held the lock past the busy timeout: retrying later may work.
    pub fn is_busy(&self) -> bool {
        let cause = match self {
            StoreError::Sql { cause, .. }
            | StoreError::Row { cause, .. }
            | StoreError::Open { cause, .. }
            | StoreError::Migrate { cause, .. } => cause,
            _ => return false,
        };
        matches!(
            cause.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }
}

/// Checks that an event has the shape the mirror reads (its column fields are strings or absent),
/// so that accepting it now can never fail a mirror transaction later.
pub fn check_event_shape(delta: &Delta) -> Result<(), StoreError> {
    columns::columns::<EventColumns>(delta).map(drop)
}

/// Adds the failed action to a rusqlite error.
trait Context<T> {
    fn ctx(self, action: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, action: &'static str) -> Result<T, StoreError> {
        self.map_err(|cause| StoreError::Sql { action, cause })
    }
}

/// How a connection commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Reads and occasional writes; SQLite checkpoints as usual.
    Plain,
    /// The one writer of the sync: checkpoints happen on a thread of their own.
    Writer,
    /// A separate mirror: as `Writer`, and every commit is on disk before it returns
    /// (`synchronous=FULL`), so the mirror is never behind the state cursor after a power loss.
    DurableMirror,
}

/// An open state database (or a separate mirror with the same schema).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    checkpointer: Option<Checkpointer>,
}

impl Store {
    /// Opens the database at `path`, creating it with mode 0600 if it does not exist, and brings
    /// its schema up to [`SCHEMA_VERSION`]. A database from a newer oktasync is refused.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_as(path, Role::Plain)
    }

    /// As [`Store::open`], for the sync's writer: WAL checkpoints run on a thread of their own.
    pub fn open_writer(path: &Path) -> Result<Store, StoreError> {
        Store::open_as(path, Role::Writer)
    }

    /// As [`Store::open_writer`], for a separate mirror: each commit is durable before it returns.
    pub fn open_mirror(path: &Path) -> Result<Store, StoreError> {
        Store::open_as(path, Role::DurableMirror)
    }

    fn open_as(path: &Path, role: Role) -> Result<Store, StoreError> {
        create_private(path)?;
        let open_err = |cause| StoreError::Open {
            path: path.to_path_buf(),
            cause,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        configure(&conn, path, role).map_err(open_err)?;
        migrate(&mut conn, path)?;
        restrict_sidecars(path)?;
        let checkpointer = match role {
            Role::Plain => None,
            Role::Writer | Role::DurableMirror => Checkpointer::spawn(path),
        };
        if let Some(c) = &checkpointer {
            c.watch(&mut conn).map_err(open_err)?;
        }
        Ok(Store { conn, checkpointer })
    }

    /// The stored cursor of `stream`, if any.
    pub fn cursor(&self, stream: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM cursors WHERE stream = ?1")
            .and_then(|mut s| s.query_row([stream], |r| r.get(0)).optional())
            .ctx("read a cursor")
    }

    /// In one transaction: mirror the deltas (if `mirror`; directory deltas always, since the
    /// directory pollers diff against them), apply the page's marks, store the cursor, and add
    /// the page to the run's counters. On any error nothing changes.
    pub fn commit_page(&mut self, page: &PageCommit<'_>) -> Result<(), StoreError> {
        let group = self.begin_group()?;
        let rows: Vec<&Delta> = page
            .deltas
            .iter()
            .filter(|d| page.mirror || is_directory(&d.stream))
            .collect();
        group.mirror_delta_refs(&rows)?;
        group.apply_marks(page.marks)?;
        group.clear_pending(page.stream)?;
        group.put_cursor(page.stream, page.cursor)?;
        let counts = RunCounts {
            records: page.deltas.len() as u64,
            requests: page.requests,
            rate_limited: page.rate_limited,
        };
        group.count_run(page.run, counts)?;
        group.commit()
    }

    /// Writes the deltas into the mirror tables in one transaction, touching no cursor.
    pub fn upsert(&mut self, deltas: &[Delta]) -> Result<(), StoreError> {
        let group = self.begin_group()?;
        group.mirror_deltas(deltas)?;
        group.commit()
    }

    /// Sets the cursor of `stream` to `value`, or deletes it when `value` is `None` so the next
    /// run starts from scratch. For a users stream, users changed since the new position (all,
    /// without one) count as not yet emitted, so the next run emits them again; for
    /// `group_members`, every group's members are listed again.
    pub fn reset_cursor(&mut self, stream: &str, value: Option<&str>) -> Result<(), StoreError> {
        let now = utc_millis(Utc::now());
        let tx = self.write_tx()?;
        if stream == stream::GROUP_MEMBERS && value.is_none() {
            tx.execute("UPDATE groups SET members_synced = NULL", [])
                .ctx("forget which groups' members were listed")?;
        }
        match value {
            Some(v) => put_cursor(&tx, stream, v, &now)?,
            None => tx
                .execute("DELETE FROM cursors WHERE stream = ?1", [stream])
                .map(drop)
                .ctx("delete a cursor")?,
        }
        let forget = match stream {
            stream::NEW_USERS => "UPDATE user_state SET new_emitted = 0 WHERE created >= ?1",
            stream::UPDATED_USERS => {
                "UPDATE user_state SET emitted = NULL WHERE last_updated >= ?1"
            }
            _ => "SELECT ?1 WHERE false",
        };
        let from: Option<String> = value
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
            .and_then(|v| v.get("hwm")?.as_str().map(str::to_owned));
        tx.execute(forget, [from.unwrap_or_default()])
            .ctx("forget what a users stream emitted")?;
        tx.commit().ctx("commit the cursor reset")
    }

    /// A write transaction that takes the write lock up front, so it waits (up to the busy
    /// timeout) instead of failing when another connection is writing.
    fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin a transaction")
    }

    /// Takes the write lock and lets it go (`BEGIN IMMEDIATE; ROLLBACK`): proof that the
    /// database still answers a write, for readiness checks.
    pub fn check_writable(&mut self) -> Result<(), StoreError> {
        self.write_tx()?.rollback().ctx("roll back the write check")
    }

    /// True when every commit is on disk before it returns (`synchronous=FULL` or more).
    pub fn commits_durably(&self) -> Result<bool, StoreError> {
        self.conn
            .pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))
            .map(|level| level >= 2)
            .ctx("read the synchronous setting")
    }

    /// How many rows the mirror tables hold (users not deleted in Okta).
    pub fn mirror_counts(&self) -> Result<MirrorCounts, StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM users WHERE deleted_at IS NULL),
                        (SELECT count(*) FROM system_log)",
                [],
                |r| {
                    Ok(MirrorCounts {
                        users: count(r, 0)?,
                        system_log: count(r, 1)?,
                    })
                },
            )
            .ctx("count mirror rows")
    }
}

fn configure(conn: &Connection, path: &Path, role: Role) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Okta objects are 1-3 KB: 16 KiB pages keep several per page (applies to new files only).
    conn.pragma_update(None, "page_size", 16_384)?;
    conn.pragma_update(None, "cache_size", -8_192)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), journal_mode = %mode,
            "state database is not in WAL mode; readers may block the sync");
    }
    // A WAL reset after a checkpoint truncates the file back to this size (above the size at
    // which the writer lets a checkpoint finish, so a busy sync does not truncate every time).
    conn.pragma_update(None, "journal_size_limit", 256 * 1024 * 1024)?;
    let synchronous = match role {
        Role::DurableMirror => "FULL",
        Role::Plain | Role::Writer => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")
}

/// Applies every migration the database lacks, all in one transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|cause| StoreError::Open {
            path: path.to_path_buf(),
            cause,
        })?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx("read the schema version")?;
    if found < 0 || found > i64::from(SCHEMA_VERSION) {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = from as u32 + 1;
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .map_err(|cause| StoreError::Migrate {
                path: path.to_path_buf(),
                version,
                cause,
            })?;
        tracing::info!(path = %path.display(), version, "migrated state database");
    }
    tx.commit().ctx("commit the schema migration")
}

fn put_cursor(conn: &Connection, stream: &str, value: &str, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO cursors (stream, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| s.execute(rusqlite::params![stream, value, now]))
    .map(drop)
    .ctx("store a cursor")
}

/// Writes deltas that came without their columns to the mirror tables (directory deltas to the
/// directory tables), parsing them here.
fn mirror_rows<'a>(
    tx: &Transaction<'_>,
    deltas: impl IntoIterator<Item = &'a Delta>,
    synced_at: &str,
) -> Result<(), StoreError> {
    let deltas: Vec<&Delta> = deltas.into_iter().collect();
    let columns = deltas
        .iter()
        .map(|d| Columns::of(d))
        .collect::<Result<Vec<_>, _>>()?;
    mirror::write(tx, deltas.into_iter().zip(&columns), synced_at)
}

/// A counter column as u64 (counters are never negative).
fn count<I: rusqlite::RowIndex>(row: &Row<'_>, idx: I) -> rusqlite::Result<u64> {
    row.get::<_, i64>(idx)
        .map(|n| u64::try_from(n).unwrap_or(0))
}

/// A counter as SQLite's integer type, saturating.
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
