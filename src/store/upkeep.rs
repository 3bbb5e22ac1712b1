//! Mirror upkeep outside the page path: indexes whose inserts land all over the file, dropped
//! while a backfill of their table runs and rebuilt once it has caught up, and the optional
//! retention of mirrored events.

use chrono::Utc;

use super::{Context, Store, StoreError, sql_int};
use crate::delta::utc_millis;

/// Rows deleted per transaction when pruning, so readers and writers are never held up long.
const PRUNE_BATCH: i64 = 10_000;

/// A table's indexes in random order of arrival: a backfill into them would rewrite most of their
/// pages on every commit, so it runs without them and they are built once, in sorted order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackfillIndexes {
    /// `system_log (actor_id, published)`.
    SystemLog,
    /// `users (login)` and `users (email)`.
    Users,
}

impl BackfillIndexes {
    /// Each index's name and what it is on.
    fn indexes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            BackfillIndexes::SystemLog => {
                &[("system_log_actor_id", "system_log (actor_id, published)")]
            }
            BackfillIndexes::Users => &[
                ("users_login", "users (login)"),
                ("users_email", "users (email)"),
            ],
        }
    }
}

impl Store {
    /// Drops `which` indexes for a backfill. Returns whether any existed.
    pub fn drop_backfill_indexes(&mut self, which: BackfillIndexes) -> Result<bool, StoreError> {
        let mut dropped = false;
        for (name, _) in which.indexes() {
            if self.has_index(name)? {
                self.conn
                    .execute(&format!("DROP INDEX {name}"), [])
                    .ctx("drop an index for a backfill")?;
                dropped = true;
            }
        }
        Ok(dropped)
    }

    /// Builds those of `which` indexes that are missing. Returns whether any was.
    pub fn ensure_backfill_indexes(&mut self, which: BackfillIndexes) -> Result<bool, StoreError> {
        let mut built = false;
        for (name, on) in which.indexes() {
            if !self.has_index(name)? {
                self.conn
                    .execute(&format!("CREATE INDEX {name} ON {on}"), [])
                    .ctx("build an index after a backfill")?;
                built = true;
            }
        }
        Ok(built)
    }

    fn has_index(&self, name: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .ctx("look for an index")
    }

    /// Deletes mirrored events published more than `days` days ago, oldest first, in batches.
    /// Returns how many went.
    pub fn prune_events(&mut self, days: u64) -> Result<u64, StoreError> {
        let cutoff = utc_millis(Utc::now() - chrono::Duration::days(sql_int(days)));
        let mut total = 0;
        loop {
            let n = self
                .conn
                .execute(
                    "DELETE FROM system_log WHERE id IN (SELECT id FROM system_log
                     WHERE published < ?1 ORDER BY published LIMIT ?2)",
                    rusqlite::params![cutoff, PRUNE_BATCH],
                )
                .ctx("prune old System Log events")?;
            total += n as u64;
            if (n as i64) < PRUNE_BATCH {
                return Ok(total);
            }
        }
    }
}
