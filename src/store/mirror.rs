//! The mirror's writes: users upserted by version, users tombstoned when Okta deleted them, and
//! System Log events inserted once each, in arrival order; directory deltas go on to
//! [`super::directory`].

use rusqlite::{Transaction, params};

use super::columns::{Columns, EventColumns, UserColumns};
use super::{Context, StoreError};
use crate::delta::Delta;

/// Users: a row is replaced only by a version at least as new, and a deleted user comes back
/// only with a version newer than its deletion.
const UPSERT_USER: &str = "
INSERT INTO users (id, status, login, email, created, last_updated, data, synced_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT(id) DO UPDATE SET
    status = excluded.status, login = excluded.login, email = excluded.email,
    created = excluded.created, last_updated = excluded.last_updated, data = excluded.data,
    synced_at = excluded.synced_at, deleted_at = NULL
WHERE excluded.last_updated >= users.last_updated
  AND (users.deleted_at IS NULL OR excluded.last_updated > users.deleted_at)";

/// A tombstone keeps the user's last known row (or, for a user never mirrored, a stub whose
/// `last_updated` is the deletion time, so no older copy can bring it back).
const DELETE_USER: &str = "
INSERT INTO users (id, last_updated, data, synced_at, deleted_at)
VALUES (?1, ?2, ?3, ?4, ?2)
ON CONFLICT(id) DO UPDATE SET deleted_at = excluded.deleted_at, synced_at = excluded.synced_at
WHERE users.deleted_at IS NULL AND users.last_updated <= excluded.deleted_at";

/// Events are immutable and their `published` never changes: the first copy of a
/// (published, uuid) stays, whichever stream delivered it. Only that conflict is ignored.
const INSERT_EVENT: &str = "
INSERT INTO system_log
    (uuid, published, event_type, severity, actor_id, outcome, data, synced_at, received_via)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT(published, uuid) DO NOTHING";

/// Writes each delta with its columns to the mirror tables.
pub(super) fn write<'d>(
    tx: &Transaction<'_>,
    rows: impl IntoIterator<Item = (&'d Delta, &'d Columns)>,
    synced_at: &str,
) -> Result<(), StoreError> {
    let mut users = tx
        .prepare_cached(UPSERT_USER)
        .ctx("prepare the users upsert")?;
    let mut deletes = tx
        .prepare_cached(DELETE_USER)
        .ctx("prepare the users tombstone")?;
    let mut events = tx
        .prepare_cached(INSERT_EVENT)
        .ctx("prepare the system_log insert")?;
    for (delta, cols) in rows {
        let done = match cols {
            Columns::User(u) => upsert_user(&mut users, delta, u, synced_at),
            Columns::Event(e) => insert_event(&mut events, delta, e, synced_at),
            Columns::Directory => {
                super::directory::mirror_delta(tx, delta, synced_at)?;
                continue;
            }
            Columns::Deleted => deletes.execute(params![
                delta.id,
                delta.version,
                delta.data.get(),
                synced_at
            ]),
        };
        done.map_err(|cause| StoreError::Row {
            stream: delta.stream.clone(),
            id: delta.id.clone(),
            cause,
        })?;
    }
    Ok(())
}

fn upsert_user(
    stmt: &mut rusqlite::CachedStatement<'_>,
    delta: &Delta,
    u: &UserColumns,
    synced_at: &str,
) -> rusqlite::Result<usize> {
    let last_updated = u.last_updated.as_deref().unwrap_or(&delta.version);
    stmt.execute(params![
        delta.id,
        u.status,
        u.profile.login,
        u.profile.email,
        u.created,
        last_updated,
        delta.data.get(),
        synced_at
    ])
}

fn insert_event(
    stmt: &mut rusqlite::CachedStatement<'_>,
    delta: &Delta,
    e: &EventColumns,
    synced_at: &str,
) -> rusqlite::Result<usize> {
    stmt.execute(params![
        delta.id,
        e.published,
        e.event_type,
        e.severity,
        e.actor.as_ref().and_then(|a| a.id.as_deref()),
        e.outcome.as_ref().and_then(|o| o.result.as_deref()),
        delta.data.get(),
        synced_at,
        delta.stream
    ])
}
