//! The state database, and the only code that touches SQLite: it opens and migrates the file,
//! keeps cursors and run bookkeeping, and upserts the users and System Log mirror, committing a
//! page's rows and its cursor in one transaction so a cursor never moves without its data.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
    params,
};

use crate::sink::{Delta, stream, utc_millis};

mod columns;
mod directory;
mod directory_read;
mod files;
mod grants;
mod hook;
mod types;

use columns::{EventColumns, UserColumns, columns};
pub use directory::{is_directory, stages_pages};
pub use directory_read::{AppVersion, AssignmentVersion, GroupVersion, Orphan};
pub use files::lock_state;
use files::{create_private, restrict_sidecars};
pub use grants::StateGrants;
pub use hook::{HookRegistration, InboxBatch, ReceiverStats};
pub use types::{Mark, MirrorCounts, PageCommit, RunId, RunStatus, StreamStatus};

/// Schema migrations; entry `i` takes the database from `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../schema.sql"),
    include_str!("../migrations/002-oauth-grants.sql"),
    include_str!("../migrations/003-hook.sql"),
    include_str!("../migrations/004-directory.sql"),
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
    columns::<EventColumns>(delta).map(drop)
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

/// An open state database (or a separate mirror with the same schema).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens the database at `path`, creating it with mode 0600 if it does not exist, and brings
    /// its schema up to [`SCHEMA_VERSION`]. A database from a newer oktasync is refused.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        create_private(path)?;
        let open_err = |cause| StoreError::Open {
            path: path.to_path_buf(),
            cause,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        configure(&conn, path).map_err(open_err)?;
        migrate(&mut conn, path)?;
        restrict_sidecars(path)?;
        Ok(Store { conn })
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
        let now = utc_millis(Utc::now());
        let tx = self.write_tx()?;
        let rows = page
            .deltas
            .iter()
            .filter(|d| page.mirror || is_directory(&d.stream));
        mirror_rows(&tx, rows, &now)?;
        directory::apply_marks(&tx, page.marks)?;
        directory::clear_pending(&tx, page.stream)?;
        put_cursor(&tx, page.stream, page.cursor, &now)?;
        let changed = tx
            .prepare_cached(
                "UPDATE runs SET records = records + ?2, requests = requests + ?3,
                 rate_limited = rate_limited + ?4 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    page.run.0,
                    sql_int(page.deltas.len() as u64),
                    sql_int(page.requests),
                    sql_int(page.rate_limited)
                ])
            })
            .ctx("count the page in its run")?;
        if changed != 1 {
            return Err(StoreError::UnknownRun(page.run.0));
        }
        tx.commit().ctx("commit the page")
    }

    /// Upserts the deltas into the mirror tables in one transaction, touching no cursor.
    pub fn upsert(&mut self, deltas: &[Delta]) -> Result<(), StoreError> {
        let now = utc_millis(Utc::now());
        let tx = self.write_tx()?;
        mirror_rows(&tx, deltas, &now)?;
        tx.commit().ctx("commit mirror rows")
    }

    /// Records the start of a run of `stream`.
    pub fn begin_run(&mut self, stream: &str) -> Result<RunId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (stream, started_at) VALUES (?1, ?2)",
                params![stream, utc_millis(Utc::now())],
            )
            .ctx("record the start of a run")?;
        Ok(RunId(self.conn.last_insert_rowid()))
    }

    /// Records the end of a run, with its error if it failed.
    pub fn end_run(&mut self, run: RunId, error: Option<&str>) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET ended_at = ?2, error = ?3 WHERE id = ?1",
                params![run.0, utc_millis(Utc::now()), error],
            )
            .ctx("record the end of a run")?;
        if changed != 1 {
            return Err(StoreError::UnknownRun(run.0));
        }
        Ok(())
    }

    /// One entry per stream that has a cursor or a run, by stream name.
    pub fn status(&self) -> Result<Vec<StreamStatus>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM stream_status")
            .ctx("read status")?;
        let rows = stmt.query_map([], status_row).ctx("read status")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read status")
    }

    /// Sets the cursor of `stream` to `value`, or deletes it when `value` is `None` so the next
    /// run starts from scratch (for `group_members`, every group's members are listed again).
    pub fn reset_cursor(&mut self, stream: &str, value: Option<&str>) -> Result<(), StoreError> {
        if stream == stream::GROUP_MEMBERS && value.is_none() {
            self.conn
                .execute("UPDATE groups SET members_synced = NULL", [])
                .ctx("forget which groups' members were listed")?;
        }
        match value {
            Some(v) => put_cursor(&self.conn, stream, v, &utc_millis(Utc::now())),
            None => self
                .conn
                .execute("DELETE FROM cursors WHERE stream = ?1", [stream])
                .map(drop)
                .ctx("delete a cursor"),
        }
    }

    /// Takes the write lock and lets it go (`BEGIN IMMEDIATE; ROLLBACK`): proof that the
    /// database still answers a write, for readiness checks.
    pub fn check_writable(&mut self) -> Result<(), StoreError> {
        self.write_tx()?.rollback().ctx("roll back the write check")
    }

    /// How many rows the mirror tables hold.
    pub fn mirror_counts(&self) -> Result<MirrorCounts, StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM system_log)",
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

    /// A write transaction that takes the write lock up front, so it waits (up to the busy
    /// timeout) instead of failing when another connection is writing.
    fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin a transaction")
    }
}

fn configure(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Okta objects are 1-3 KB: 16 KiB pages keep several per page (applies to new files only).
    conn.pragma_update(None, "page_size", 16_384)?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), journal_mode = %mode,
            "state database is not in WAL mode; readers may block the sync");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
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
    .and_then(|mut s| s.execute(params![stream, value, now]))
    .map(drop)
    .ctx("store a cursor")
}

/// Users: a row is replaced only by a version at least as new.
const UPSERT_USER: &str = "
INSERT INTO users (id, status, login, email, created, last_updated, data, synced_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT(id) DO UPDATE SET
    status = excluded.status, login = excluded.login, email = excluded.email,
    created = excluded.created, last_updated = excluded.last_updated, data = excluded.data,
    synced_at = excluded.synced_at
WHERE excluded.last_updated >= users.last_updated";

/// Events are immutable: the first copy of a uuid stays, and with it `received_via`, the stream
/// (poller or event hook) that delivered it first. Only the uuid conflict is ignored; a row that
/// breaks another constraint still fails the batch.
const INSERT_EVENT: &str = "
INSERT INTO system_log (uuid, published, event_type, severity, actor_id, outcome, data, synced_at,
                        received_via)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT(uuid) DO NOTHING";

fn mirror_rows<'a>(
    tx: &Transaction<'_>,
    deltas: impl IntoIterator<Item = &'a Delta>,
    synced_at: &str,
) -> Result<(), StoreError> {
    let mut users = tx
        .prepare_cached(UPSERT_USER)
        .ctx("prepare the users upsert")?;
    let mut events = tx
        .prepare_cached(INSERT_EVENT)
        .ctx("prepare the system_log insert")?;
    for delta in deltas {
        let data = delta.data.get();
        let done = match delta.stream.as_str() {
            stream::NEW_USERS | stream::UPDATED_USERS => {
                let u: UserColumns = columns(delta)?;
                let last_updated = u.last_updated.unwrap_or_else(|| delta.version.clone());
                users.execute(params![
                    delta.id,
                    u.status,
                    u.profile.login,
                    u.profile.email,
                    u.created,
                    last_updated,
                    data,
                    synced_at
                ])
            }
            stream::SYSTEM_LOG | stream::EVENT_HOOK => {
                let e: EventColumns = columns(delta)?;
                let published = e.published.unwrap_or_else(|| delta.version.clone());
                let actor = e.actor.and_then(|a| a.id);
                let outcome = e.outcome.and_then(|o| o.result);
                events.execute(params![
                    delta.id,
                    published,
                    e.event_type,
                    e.severity,
                    actor,
                    outcome,
                    data,
                    synced_at,
                    delta.stream
                ])
            }
            other if is_directory(other) => {
                directory::mirror_delta(tx, delta, synced_at)?;
                continue;
            }
            other => return Err(StoreError::UnknownStream(other.to_owned())),
        };
        done.map_err(|cause| StoreError::Row {
            stream: delta.stream.clone(),
            id: delta.id.clone(),
            cause,
        })?;
    }
    Ok(())
}

fn status_row(row: &Row<'_>) -> rusqlite::Result<StreamStatus> {
    let last_run = match row.get::<_, Option<i64>>("last_run_id")? {
        None => None,
        Some(id) => Some(RunStatus {
            id,
            started_at: row.get("last_run_started_at")?,
            ended_at: row.get("last_run_ended_at")?,
            records: count(row, "last_run_records")?,
            requests: count(row, "last_run_requests")?,
            rate_limited: count(row, "last_run_rate_limited")?,
            error: row.get("last_run_error")?,
        }),
    };
    Ok(StreamStatus {
        stream: row.get("stream")?,
        cursor: row.get("cursor")?,
        cursor_updated_at: row.get("cursor_updated_at")?,
        last_success_at: row.get("last_success_at")?,
        last_run,
        total_records: count(row, "total_records")?,
    })
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
mod tests {
    use super::*;
    use serde_json::value::RawValue;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
        store: Store,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).unwrap();
        Fixture {
            _dir: dir,
            path,
            store,
        }
    }

    fn raw(json: String) -> Box<RawValue> {
        RawValue::from_string(json).unwrap()
    }

    fn user(id: &str, status: &str, login: &str, last_updated: &str) -> Delta {
        let data = format!(
            r#"{{"id":"{id}","status":"{status}","created":"2024-01-01T00:00:00.000Z",
            "lastUpdated":"{last_updated}","statusChanged":"{last_updated}",
            "profile":{{"login":"{login}","email":"{login}","department":"R&D"}},"futureField":[1]}}"#
        );
        Delta::new(stream::UPDATED_USERS, id, last_updated, raw(data))
    }

    fn event(uuid: &str, event_type: &str, outcome: &str, published: &str) -> Delta {
        let data = format!(
            r#"{{"uuid":"{uuid}","published":"{published}","eventType":"{event_type}",
            "severity":"INFO","actor":{{"id":"00u1","alternateId":"ann@example.com"}},
            "outcome":{{"result":"{outcome}","reason":"INVALID_CREDENTIALS"}},
            "client":{{"ipAddress":"192.0.2.7"}},"target":null}}"#
        );
        Delta::new(stream::SYSTEM_LOG, uuid, published, raw(data))
    }

    fn hours_ago(h: i64) -> String {
        utc_millis(Utc::now() - chrono::Duration::hours(h))
    }

    fn page<'a>(run: RunId, cursor: &'a str, deltas: &'a [Delta]) -> PageCommit<'a> {
        PageCommit {
            stream: stream::SYSTEM_LOG,
            run,
            cursor,
            deltas,
            mirror: true,
            requests: 1,
            rate_limited: 0,
            marks: &[],
        }
    }

    fn strings(store: &Store, sql: &str) -> Vec<String> {
        let mut stmt = store.conn.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    use std::fs;

    #[test]
    fn a_new_state_file_and_its_wal_and_shm_are_created_with_mode_0600() {
        let f = fixture();
        assert_eq!(mode(&f.path), 0o600);
        for suffix in ["-wal", "-shm"] {
            let mut name = f.path.as_os_str().to_owned();
            name.push(suffix);
            assert_eq!(mode(Path::new(&name)), 0o600, "{suffix}");
        }
    }

    #[test]
    fn opening_migrates_to_the_latest_user_version_and_reopening_keeps_data() {
        let mut f = fixture();
        let version: i64 = f
            .store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, i64::from(SCHEMA_VERSION));
        let journal: String = f
            .store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        f.store.reset_cursor("system_log", Some("c1")).unwrap();
        drop(f.store);
        let store = Store::open(&f.path).unwrap();
        assert_eq!(store.cursor("system_log").unwrap().as_deref(), Some("c1"));
    }

    #[test]
    fn a_database_with_a_newer_user_version_is_refused_with_an_upgrade_hint() {
        let f = fixture();
        f.store
            .conn
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(f.store);
        let err = Store::open(&f.path).unwrap_err();
        let newer = i64::from(SCHEMA_VERSION) + 1;
        assert!(
            matches!(err, StoreError::TooNew { found, .. } if found == newer),
            "{err:?}"
        );
        let message = err.to_string();
        let expected = format!(
            "has schema version {newer} but this oktasync understands up to {SCHEMA_VERSION}"
        );
        assert!(message.contains(&expected), "{message}");
        assert!(message.ends_with("upgrade oktasync"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_with_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        fs::write(
            &path,
            "these are not the rows you are looking for, ".repeat(50),
        )
        .unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn commit_page_moves_rows_cursor_and_run_counters_together() {
        let mut f = fixture();
        let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        let deltas = [
            event("e1", "user.session.start", "SUCCESS", &hours_ago(1)),
            user(
                "00u1",
                "ACTIVE",
                "ann@example.com",
                "2024-02-01T00:00:00.000Z",
            ),
        ];
        f.store
            .commit_page(&page(run, "after=e1", &deltas))
            .unwrap();
        assert_eq!(
            f.store.cursor(stream::SYSTEM_LOG).unwrap().as_deref(),
            Some("after=e1")
        );
        let counts = f.store.mirror_counts().unwrap();
        assert_eq!(
            counts,
            MirrorCounts {
                users: 1,
                system_log: 1
            }
        );
        let status = f.store.status().unwrap();
        let last_run = status[0].last_run.as_ref().unwrap();
        assert_eq!((last_run.records, last_run.requests), (2, 1));
    }

    #[test]
    fn commit_page_without_mirror_moves_only_the_cursor() {
        let mut f = fixture();
        let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        let deltas = [event("e1", "user.session.start", "SUCCESS", &hours_ago(1))];
        let mut p = page(run, "after=e1", &deltas);
        p.mirror = false;
        f.store.commit_page(&p).unwrap();
        assert_eq!(
            f.store.cursor(stream::SYSTEM_LOG).unwrap().as_deref(),
            Some("after=e1")
        );
        assert_eq!(f.store.mirror_counts().unwrap().system_log, 0);
    }

    #[test]
    fn a_page_failing_midway_moves_neither_rows_nor_cursor_nor_counters() {
        let mut f = fixture();
        let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        let first = [event("e0", "user.session.start", "SUCCESS", &hours_ago(2))];
        f.store.commit_page(&page(run, "after=e0", &first)).unwrap();
        let unknown = Delta::new("s3", "x", "v", raw("{}".into()));
        let not_an_object = Delta::new(stream::SYSTEM_LOG, "e2", "v", raw("[1,2]".into()));
        let cases = [
            (unknown, r#"unknown stream "s3""#),
            (
                not_an_object,
                "cannot mirror system_log record e2: not an Okta object",
            ),
        ];
        for (bad, expected) in cases {
            let good = event("e1", "user.session.start", "SUCCESS", &hours_ago(1));
            let deltas = [good, bad, event("e3", "app.x", "SUCCESS", &hours_ago(1))];
            let err = f
                .store
                .commit_page(&page(run, "after=e3", &deltas))
                .unwrap_err();
            println!("{err}");
            assert!(err.to_string().contains(expected), "{err}");
            assert_eq!(
                f.store.cursor(stream::SYSTEM_LOG).unwrap().as_deref(),
                Some("after=e0")
            );
            assert_eq!(f.store.mirror_counts().unwrap().system_log, 1);
            let status = f.store.status().unwrap();
            assert_eq!(status[0].last_run.as_ref().unwrap().records, 1);
        }
    }

    #[test]
    fn commit_page_for_an_unknown_run_changes_nothing() {
        let mut f = fixture();
        let deltas = [event("e1", "user.session.start", "SUCCESS", &hours_ago(1))];
        let err = f
            .store
            .commit_page(&page(RunId(42), "after=e1", &deltas))
            .unwrap_err();
        assert!(matches!(err, StoreError::UnknownRun(42)));
        assert_eq!(f.store.cursor(stream::SYSTEM_LOG).unwrap(), None);
        assert_eq!(f.store.mirror_counts().unwrap().system_log, 0);
    }

    #[test]
    fn mirror_columns_are_read_from_the_okta_json_and_the_object_is_kept_whole() {
        let mut f = fixture();
        let u = user(
            "00u1",
            "ACTIVE",
            "ann@example.com",
            "2024-02-01T00:00:00.000Z",
        );
        let e = event(
            "e1",
            "user.session.start",
            "FAILURE",
            "2024-02-02T00:00:00.000Z",
        );
        f.store.upsert(&[u.clone(), e.clone()]).unwrap();
        let row = strings(
            &f.store,
            "SELECT status || ' ' || login || ' ' || email || ' ' || last_updated FROM users",
        );
        assert_eq!(
            row,
            ["ACTIVE ann@example.com ann@example.com 2024-02-01T00:00:00.000Z"]
        );
        let row = strings(
            &f.store,
            "SELECT published || ' ' || event_type || ' ' || severity || ' ' || actor_id || ' ' || outcome FROM system_log",
        );
        assert_eq!(
            row,
            ["2024-02-02T00:00:00.000Z user.session.start INFO 00u1 FAILURE"]
        );
        assert_eq!(strings(&f.store, "SELECT data FROM users"), [u.data.get()]);
        assert_eq!(
            strings(&f.store, "SELECT data FROM system_log"),
            [e.data.get()]
        );
    }

    #[test]
    fn older_user_version_never_overwrites_newer_row_in_mirror() {
        let mut f = fixture();
        let newer = user(
            "00u1",
            "SUSPENDED",
            "ann@example.com",
            "2024-03-01T00:00:00.000Z",
        );
        let older = user(
            "00u1",
            "ACTIVE",
            "ann@example.com",
            "2024-02-01T00:00:00.000Z",
        );
        f.store.upsert(&[newer]).unwrap();
        f.store.upsert(&[older]).unwrap();
        assert_eq!(strings(&f.store, "SELECT status FROM users"), ["SUSPENDED"]);
        let newest = user(
            "00u1",
            "ACTIVE",
            "ann@example.com",
            "2024-04-01T00:00:00.000Z",
        );
        f.store.upsert(&[newest]).unwrap();
        assert_eq!(strings(&f.store, "SELECT status FROM users"), ["ACTIVE"]);
    }

    #[test]
    fn upserting_the_same_deltas_twice_changes_nothing() {
        let mut f = fixture();
        let deltas = [
            user(
                "00u1",
                "ACTIVE",
                "ann@example.com",
                "2024-02-01T00:00:00.000Z",
            ),
            event(
                "e1",
                "user.session.start",
                "SUCCESS",
                "2024-02-02T00:00:00.000Z",
            ),
        ];
        f.store.upsert(&deltas).unwrap();
        let snapshot = strings(
            &f.store,
            "SELECT data FROM users UNION ALL SELECT data FROM system_log",
        );
        f.store.upsert(&deltas).unwrap();
        let again = strings(
            &f.store,
            "SELECT data FROM users UNION ALL SELECT data FROM system_log",
        );
        assert_eq!(snapshot, again);
        assert_eq!(
            f.store.mirror_counts().unwrap(),
            MirrorCounts {
                users: 1,
                system_log: 1
            }
        );
    }

    #[test]
    fn event_hook_events_share_the_system_log_table_and_the_first_copy_stays() {
        let mut f = fixture();
        let polled = event(
            "e1",
            "user.session.start",
            "SUCCESS",
            "2024-02-02T00:00:00.000Z",
        );
        let mut hooked = event(
            "e1",
            "user.session.start",
            "FAILURE",
            "2024-02-02T00:00:00.000Z",
        );
        hooked.stream = stream::EVENT_HOOK.into();
        f.store.upsert(&[polled, hooked]).unwrap();
        assert_eq!(
            strings(
                &f.store,
                "SELECT outcome || ' ' || received_via FROM system_log"
            ),
            ["SUCCESS system_log"]
        );
    }

    #[test]
    fn active_and_deprovisioned_views_list_only_their_users_in_order() {
        let mut f = fixture();
        f.store
            .upsert(&[
                user(
                    "00u1",
                    "ACTIVE",
                    "zed@example.com",
                    "2024-02-01T00:00:00.000Z",
                ),
                user(
                    "00u2",
                    "ACTIVE",
                    "amy@example.com",
                    "2024-02-01T00:00:00.000Z",
                ),
                user(
                    "00u3",
                    "DEPROVISIONED",
                    "old@example.com",
                    "2024-01-01T00:00:00.000Z",
                ),
                user(
                    "00u4",
                    "DEPROVISIONED",
                    "gone@example.com",
                    "2024-03-01T00:00:00.000Z",
                ),
                user(
                    "00u5",
                    "SUSPENDED",
                    "sus@example.com",
                    "2024-02-01T00:00:00.000Z",
                ),
            ])
            .unwrap();
        assert_eq!(
            strings(&f.store, "SELECT login FROM active_users"),
            ["amy@example.com", "zed@example.com"]
        );
        assert_eq!(
            strings(&f.store, "SELECT login FROM deprovisioned_users"),
            ["gone@example.com", "old@example.com"]
        );
    }

    #[test]
    fn last_day_views_count_only_recent_events_and_only_failed_sign_ins() {
        let mut f = fixture();
        f.store
            .upsert(&[
                event("e1", "user.session.start", "FAILURE", &hours_ago(1)),
                event("e2", "user.session.start", "FAILURE", &hours_ago(2)),
                event("e3", "user.session.start", "SUCCESS", &hours_ago(1)),
                event("e4", "user.session.start", "FAILURE", &hours_ago(25)),
                event("e5", "user.lifecycle.create", "FAILURE", &hours_ago(1)),
            ])
            .unwrap();
        assert_eq!(
            strings(&f.store, "SELECT uuid FROM failed_sign_ins_last_day"),
            ["e1", "e2"]
        );
        assert_eq!(
            strings(
                &f.store,
                "SELECT ip_address || ' ' || login || ' ' || reason FROM failed_sign_ins_last_day LIMIT 1"
            ),
            ["192.0.2.7 ann@example.com INVALID_CREDENTIALS"]
        );
        assert_eq!(
            strings(
                &f.store,
                "SELECT event_type || '=' || events FROM events_by_type_last_day"
            ),
            ["user.session.start=3", "user.lifecycle.create=1"]
        );
    }

    #[test]
    fn reset_cursor_sets_a_value_or_deletes_the_cursor() {
        let mut f = fixture();
        f.store
            .reset_cursor("new_users", Some("2024-01-01T00:00:00.000Z"))
            .unwrap();
        assert_eq!(
            f.store.cursor("new_users").unwrap().as_deref(),
            Some("2024-01-01T00:00:00.000Z")
        );
        f.store.reset_cursor("new_users", None).unwrap();
        assert_eq!(f.store.cursor("new_users").unwrap(), None);
        assert!(f.store.status().unwrap().is_empty());
    }

    #[test]
    fn status_reports_cursor_last_run_last_success_and_total_records() {
        let mut f = fixture();
        let ok = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        let deltas = [
            event("e1", "a", "SUCCESS", &hours_ago(1)),
            event("e2", "a", "SUCCESS", &hours_ago(1)),
        ];
        f.store.commit_page(&page(ok, "after=e2", &deltas)).unwrap();
        f.store.end_run(ok, None).unwrap();
        let failed = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        f.store
            .commit_page(&PageCommit {
                requests: 3,
                rate_limited: 2,
                ..page(failed, "after=e3", &deltas[..1])
            })
            .unwrap();
        f.store.end_run(failed, Some("Okta returned 500")).unwrap();
        f.store.begin_run(stream::NEW_USERS).unwrap();

        let status = f.store.status().unwrap();
        let names: Vec<&str> = status.iter().map(|s| s.stream.as_str()).collect();
        assert_eq!(names, [stream::NEW_USERS, stream::SYSTEM_LOG]);
        let log = &status[1];
        assert_eq!(log.cursor.as_deref(), Some("after=e3"));
        assert!(log.cursor_updated_at.is_some());
        assert_eq!(log.total_records, 3);
        let last = log.last_run.as_ref().unwrap();
        assert_eq!(
            (last.id, last.records, last.requests, last.rate_limited),
            (failed.0, 1, 3, 2)
        );
        assert_eq!(last.error.as_deref(), Some("Okta returned 500"));
        assert!(log.last_success_at.is_some() && last.ended_at.is_some());
        let users = &status[0];
        assert_eq!(
            (users.cursor.as_deref(), users.last_success_at.as_deref()),
            (None, None)
        );
        assert_eq!(users.last_run.as_ref().unwrap().ended_at, None);
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json[1]["last_run"]["error"], "Okta returned 500");
    }

    #[test]
    fn the_write_check_fails_while_another_connection_holds_the_write_lock() {
        let mut f = fixture();
        f.store.check_writable().unwrap();
        let other = Connection::open(&f.path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        f.store
            .conn
            .busy_timeout(Duration::from_millis(50))
            .unwrap();
        let err = f.store.check_writable().unwrap_err();
        assert!(err.is_busy(), "{err}");
        other.execute_batch("ROLLBACK").unwrap();
        f.store.check_writable().unwrap();
    }

    #[test]
    fn end_run_for_an_unknown_run_is_an_error() {
        let mut f = fixture();
        assert!(matches!(
            f.store.end_run(RunId(7), None),
            Err(StoreError::UnknownRun(7))
        ));
    }

    #[test]
    fn a_thousand_row_page_commits_in_one_transaction() {
        let mut f = fixture();
        let run = f.store.begin_run(stream::SYSTEM_LOG).unwrap();
        let published = hours_ago(1);
        let deltas: Vec<Delta> = (0..1000)
            .map(|i| {
                event(
                    &format!("e{i}"),
                    "user.session.start",
                    "SUCCESS",
                    &published,
                )
            })
            .collect();
        let started = Instant::now();
        f.store
            .commit_page(&page(run, "after=e999", &deltas))
            .unwrap();
        println!("commit_page of 1000 events took {:?}", started.elapsed());
        assert_eq!(f.store.mirror_counts().unwrap().system_log, 1000);
    }

    #[test]
    fn a_second_writer_of_the_same_state_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let first = lock_state(&state).unwrap();
        let err = lock_state(&state).unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("another oktasync"), "{err}");
        drop(first);
        lock_state(&state).unwrap();
    }
}
