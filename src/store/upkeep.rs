//! Mirror upkeep outside the page path: the System Log actor index, dropped while a backfill
//! appends and rebuilt once it has caught up, and the optional retention of mirrored events.

use chrono::Utc;

use super::{Context, Store, StoreError, sql_int};
use crate::delta::utc_millis;

const ACTOR_INDEX: &str = "CREATE INDEX IF NOT EXISTS system_log_actor_id
                           ON system_log (actor_id, published)";

/// Rows deleted per transaction when pruning, so readers and writers are never held up long.
const PRUNE_BATCH: i64 = 10_000;

impl Store {
    /// Drops the index by actor, whose inserts land all over the file, for a backfill. Returns
    /// whether it existed.
    pub fn drop_actor_index(&mut self) -> Result<bool, StoreError> {
        let existed = self.has_actor_index()?;
        if existed {
            self.conn
                .execute("DROP INDEX system_log_actor_id", [])
                .ctx("drop the actor index for a backfill")?;
        }
        Ok(existed)
    }

    /// Builds the index by actor if it is missing. Returns whether it had to.
    pub fn ensure_actor_index(&mut self) -> Result<bool, StoreError> {
        if self.has_actor_index()? {
            return Ok(false);
        }
        self.conn
            .execute(ACTOR_INDEX, [])
            .ctx("build the actor index")?;
        Ok(true)
    }

    fn has_actor_index(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema
                 WHERE type = 'index' AND name = 'system_log_actor_id'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .ctx("look for the actor index")
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
