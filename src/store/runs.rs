//! Run bookkeeping: a row per run of a poller, pruned to a bounded history whose records are
//! carried into `run_totals`, and the per-stream status `oktasync status` prints.

use chrono::Utc;
use rusqlite::{Row, params};

use super::{Context, RunId, RunStatus, Store, StoreError, StreamStatus, count, sql_int};
use crate::delta::utc_millis;

/// The runs of stream ?1 started before ?2 or older than the newest ?3, but never its latest run
/// nor its latest success.
const CHOOSE_PRUNED: &str = "
INSERT INTO temp.pruned_runs (id, records)
SELECT id, records FROM runs r WHERE r.stream = ?1
  AND (r.started_at < ?2 OR r.id <= coalesce((SELECT id FROM runs k
       WHERE k.stream = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?3), 0))
  AND r.id < (SELECT max(id) FROM runs n WHERE n.stream = ?1)
  AND r.id IS NOT (SELECT max(id) FROM runs ok WHERE ok.stream = ?1
       AND ok.ended_at IS NOT NULL AND ok.error IS NULL)";

impl Store {
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

    /// Deletes the runs of `stream` beyond the newest `keep` or older than `keep_days` days (0:
    /// no limit), never its latest run nor its latest successful one, adding their records to
    /// the stream's carried total. Returns how many went.
    pub fn prune_runs(
        &mut self,
        stream: &str,
        keep: u64,
        keep_days: u64,
    ) -> Result<u64, StoreError> {
        let cutoff = match keep_days {
            0 => String::new(),
            days => utc_millis(Utc::now() - chrono::Duration::days(sql_int(days))),
        };
        let offset = match keep {
            0 => i64::MAX,
            keep => sql_int(keep),
        };
        let tx = self.conn.transaction().ctx("begin pruning runs")?;
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS pruned_runs (id INTEGER PRIMARY KEY, records INTEGER)",
            [],
        )
        .ctx("prune runs")?;
        tx.execute("DELETE FROM temp.pruned_runs", [])
            .ctx("prune runs")?;
        let pruned = tx
            .execute(CHOOSE_PRUNED, params![stream, cutoff, offset])
            .ctx("choose runs to prune")?;
        if pruned > 0 {
            tx.execute(
                "INSERT INTO run_totals (stream, runs, records)
                 SELECT ?1, count(*), coalesce(sum(records), 0) FROM temp.pruned_runs WHERE true
                 ON CONFLICT(stream) DO UPDATE SET runs = runs + excluded.runs,
                     records = records + excluded.records",
                [stream],
            )
            .ctx("carry the totals of pruned runs")?;
            tx.execute(
                "DELETE FROM runs WHERE id IN (SELECT id FROM temp.pruned_runs)",
                [],
            )
            .ctx("delete pruned runs")?;
        }
        tx.commit().ctx("commit pruning runs")?;
        Ok(pruned as u64)
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
        failures: count(row, "failures")?,
        total_records: count(row, "total_records")?,
    })
}
