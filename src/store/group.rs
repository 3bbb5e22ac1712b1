//! One group of pages committed in a single transaction: the mirror rows, what the users streams
//! have emitted per user, the cursors and the runs' counters all move together or not at all.

use std::collections::HashMap;

use rusqlite::{Transaction, TransactionBehavior, params};

use super::columns::Columns;
use super::{
    Context, Mark, RunId, Store, StoreError, directory, mirror, mirror_rows, put_cursor, sql_int,
};
use crate::delta::{Delta, utc_millis};

/// What the users streams have emitted for one user (a row of `user_state`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserState {
    pub created: Option<String>,
    /// The newest `lastUpdated` seen.
    pub last_updated: String,
    /// A `new_users` delta carried this user.
    pub new_emitted: bool,
    /// `lastUpdated` of the last `updated_users` delta.
    pub emitted: Option<String>,
    /// When a tombstone said the user was deleted.
    pub deleted_at: Option<String>,
}

/// An open group transaction; dropping it without [`GroupTx::commit`] rolls everything back.
pub struct GroupTx<'a> {
    tx: Transaction<'a>,
    now: String,
}

impl Store {
    /// Begins a group, taking the write lock up front (once the WAL has been copied, if it grew
    /// long: see [`Checkpointer::settle`]).
    pub fn begin_group(&mut self) -> Result<GroupTx<'_>, StoreError> {
        if let Some(c) = &self.checkpointer {
            c.settle();
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin a transaction")?;
        Ok(GroupTx {
            tx,
            now: utc_millis(chrono::Utc::now()),
        })
    }
}

const SELECT_STATES: &str = "
SELECT s.created, s.last_updated, s.new_emitted, s.emitted, s.deleted_at, s.id
FROM json_each(?1) AS j JOIN user_state AS s ON s.id = j.value";

const PUT_STATE: &str = "
INSERT INTO user_state (id, created, last_updated, new_emitted, emitted, deleted_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT(id) DO UPDATE SET created = excluded.created, last_updated = excluded.last_updated,
    new_emitted = excluded.new_emitted, emitted = excluded.emitted,
    deleted_at = excluded.deleted_at";

fn state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserState> {
    Ok(UserState {
        created: r.get(0)?,
        last_updated: r.get(1)?,
        new_emitted: r.get(2)?,
        emitted: r.get(3)?,
        deleted_at: r.get(4)?,
    })
}

impl GroupTx<'_> {
    /// The stored state of each of `ids` that has one, read in one statement (the ids passed
    /// as one JSON array, looked up in id order).
    pub fn user_states<'i>(
        &self,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result<HashMap<String, UserState>, StoreError> {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let ids = serde_json::Value::from(ids).to_string();
        let mut stmt = self
            .tx
            .prepare_cached(SELECT_STATES)
            .ctx("prepare the user state lookup")?;
        let rows = stmt
            .query_map([ids], |r| Ok((r.get::<_, String>(5)?, state_row(r)?)))
            .ctx("read user states")?;
        rows.collect::<rusqlite::Result<HashMap<_, _>>>()
            .ctx("read user states")
    }

    /// Stores the state of user `id`.
    pub fn put_user_state(&self, id: &str, s: &UserState) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(PUT_STATE)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    s.created,
                    s.last_updated,
                    s.new_emitted,
                    s.emitted,
                    s.deleted_at
                ])
            })
            .map(drop)
            .ctx("store a user state")
    }

    /// Notes that the reconciliation that started at `at` found user `id`.
    pub fn mark_seen(&self, id: &str, at: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE user_state SET seen_at = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([id, at]))
            .map(drop)
            .ctx("mark a user as seen")
    }

    /// Users not deleted, last changed before `at`, that the reconciliation which started at
    /// `at` did not find.
    pub fn unseen_users(&self, at: &str) -> Result<Vec<(String, UserState)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT created, last_updated, new_emitted, emitted, deleted_at, id
                 FROM user_state WHERE deleted_at IS NULL AND last_updated < ?1
                 AND (seen_at IS NULL OR seen_at < ?1) ORDER BY id",
            )
            .ctx("prepare the unseen users query")?;
        let rows = stmt
            .query_map([at], |r| Ok((r.get::<_, String>(5)?, state_row(r)?)))
            .ctx("find unseen users")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx("find unseen users")
    }

    /// Writes each delta with its columns to the mirror tables.
    pub fn mirror<'d>(
        &self,
        rows: impl IntoIterator<Item = (&'d Delta, &'d Columns)>,
    ) -> Result<(), StoreError> {
        mirror::write(&self.tx, rows, &self.now)
    }

    /// Writes deltas that came without their columns to the mirror tables, parsing them here.
    pub fn mirror_deltas(&self, deltas: &[Delta]) -> Result<(), StoreError> {
        mirror_rows(&self.tx, deltas, &self.now)
    }

    /// As [`GroupTx::mirror_deltas`], for deltas picked out of a page.
    pub fn mirror_delta_refs(&self, deltas: &[&Delta]) -> Result<(), StoreError> {
        mirror_rows(&self.tx, deltas.iter().copied(), &self.now)
    }

    /// Applies the bookkeeping marks a directory page commits with its rows.
    pub fn apply_marks(&self, marks: &[Mark]) -> Result<(), StoreError> {
        directory::apply_marks(&self.tx, marks)
    }

    /// Clears the page of `stream` staged before its delivery.
    pub fn clear_pending(&self, stream: &str) -> Result<(), StoreError> {
        directory::clear_pending(&self.tx, stream)
    }

    pub fn put_cursor(&self, stream: &str, value: &str) -> Result<(), StoreError> {
        put_cursor(&self.tx, stream, value, &self.now)
    }

    /// Adds to a run's counters.
    pub fn count_run(&self, run: RunId, counts: RunCounts) -> Result<(), StoreError> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE runs SET records = records + ?2, requests = requests + ?3,
                 rate_limited = rate_limited + ?4 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run.0,
                    sql_int(counts.records),
                    sql_int(counts.requests),
                    sql_int(counts.rate_limited)
                ])
            })
            .ctx("count the page in its run")?;
        if changed != 1 {
            return Err(StoreError::UnknownRun(run.0));
        }
        Ok(())
    }

    /// Commits (the writer's WAL hook then lets the checkpointer copy the new pages).
    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().ctx("commit the page")
    }
}

/// What a group adds to one run's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub records: u64,
    pub requests: u64,
    pub rate_limited: u64,
}
