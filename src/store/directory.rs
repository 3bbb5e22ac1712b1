//! The directory mirror's writes: groups, memberships, apps and app assignments applied from
//! deltas (upserts, tombstones, adds and removes), each add and remove that really changed a row
//! noted once in `access_changes`, and the bookkeeping marks a page commits with its rows.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Deserialize;

use super::columns::columns;
use super::types::Mark;
use super::{Context, StoreError};
use crate::sink::{Delta, Op, stream};

/// True for the streams whose rows the state database always keeps (they are what the
/// directory pollers diff against), whether or not it is also the configured mirror.
pub fn is_directory(stream: &str) -> bool {
    matches!(
        stream,
        stream::GROUPS | stream::GROUP_MEMBERS | stream::APPS | stream::APP_USERS
    )
}

#[derive(Deserialize)]
struct GroupColumns {
    #[serde(rename = "type")]
    kind: Option<String>,
    created: Option<String>,
    #[serde(rename = "lastUpdated")]
    last_updated: Option<String>,
    #[serde(rename = "lastMembershipUpdated")]
    last_membership_updated: Option<String>,
    #[serde(default)]
    profile: GroupProfile,
}

#[derive(Default, Deserialize)]
struct GroupProfile {
    name: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct AppColumns {
    name: Option<String>,
    label: Option<String>,
    status: Option<String>,
    #[serde(rename = "signOnMode")]
    sign_on_mode: Option<String>,
    #[serde(rename = "lastUpdated")]
    last_updated: Option<String>,
}

#[derive(Deserialize)]
struct AssignmentColumns {
    scope: Option<String>,
    status: Option<String>,
    #[serde(rename = "lastUpdated")]
    last_updated: Option<String>,
}

/// A group is replaced only by a version at least as new in both its clocks; a tombstone stays
/// (Okta never reuses an id, so a deleted group seen again is a stale search result).
const UPSERT_GROUP: &str = "
INSERT INTO groups (id, type, name, description, created, last_updated, last_membership_updated,
                    data, synced_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT(id) DO UPDATE SET
    type = excluded.type, name = excluded.name, description = excluded.description,
    created = excluded.created, last_updated = excluded.last_updated,
    last_membership_updated = excluded.last_membership_updated, data = excluded.data,
    synced_at = excluded.synced_at
WHERE groups.deleted_at IS NULL AND excluded.last_updated >= groups.last_updated
  AND coalesce(excluded.last_membership_updated, '') >= coalesce(groups.last_membership_updated, '')";

const UPSERT_APP: &str = "
INSERT INTO apps (id, name, label, status, sign_on_mode, last_updated, data, synced_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT(id) DO UPDATE SET
    name = excluded.name, label = excluded.label, status = excluded.status,
    sign_on_mode = excluded.sign_on_mode, last_updated = excluded.last_updated,
    data = excluded.data, synced_at = excluded.synced_at
WHERE apps.deleted_at IS NULL AND excluded.last_updated >= apps.last_updated";

const UPSERT_APP_USER: &str = "
INSERT INTO app_users (app_id, user_id, scope, status, last_updated, data, synced_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT(app_id, user_id) DO UPDATE SET
    scope = excluded.scope, status = excluded.status, last_updated = excluded.last_updated,
    data = excluded.data, synced_at = excluded.synced_at
WHERE excluded.last_updated >= app_users.last_updated";

const LOG_CHANGE: &str = "
INSERT INTO access_changes (changed_at, seen_at, kind, op, target_id, user_id, scope)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Writes one directory delta.
pub(super) fn mirror_delta(
    tx: &Transaction<'_>,
    delta: &Delta,
    synced_at: &str,
) -> Result<(), StoreError> {
    let row = |cause| StoreError::Row {
        stream: delta.stream.clone(),
        id: delta.id.clone(),
        cause,
    };
    let gone = matches!(delta.op, Op::Delete | Op::Remove);
    match delta.stream.as_str() {
        stream::GROUPS if gone => tombstone(tx, "groups", &delta.id, synced_at).map_err(row),
        stream::GROUPS => upsert_group(tx, delta, synced_at),
        stream::APPS if gone => tombstone(tx, "apps", &delta.id, synced_at).map_err(row),
        stream::APPS => upsert_app(tx, delta, synced_at),
        stream::GROUP_MEMBERS => membership(tx, delta, synced_at),
        _ => assignment(tx, delta, synced_at),
    }
}

fn tombstone(tx: &Transaction<'_>, table: &str, id: &str, at: &str) -> rusqlite::Result<()> {
    let sql = format!(
        "UPDATE {table} SET deleted_at = ?2, synced_at = ?2 WHERE id = ?1 AND deleted_at IS NULL"
    );
    tx.prepare_cached(&sql)?.execute(params![id, at]).map(drop)
}

fn upsert_group(tx: &Transaction<'_>, delta: &Delta, synced_at: &str) -> Result<(), StoreError> {
    let g: GroupColumns = columns(delta)?;
    let last_updated = g.last_updated.unwrap_or_else(|| delta.version.clone());
    tx.prepare_cached(UPSERT_GROUP)
        .and_then(|mut s| {
            s.execute(params![
                delta.id,
                g.kind,
                g.profile.name,
                g.profile.description,
                g.created,
                last_updated,
                g.last_membership_updated,
                delta.data.get(),
                synced_at
            ])
        })
        .map(drop)
        .map_err(|cause| row_error(delta, cause))
}

fn upsert_app(tx: &Transaction<'_>, delta: &Delta, synced_at: &str) -> Result<(), StoreError> {
    let a: AppColumns = columns(delta)?;
    let last_updated = a.last_updated.unwrap_or_else(|| delta.version.clone());
    tx.prepare_cached(UPSERT_APP)
        .and_then(|mut s| {
            s.execute(params![
                delta.id,
                a.name,
                a.label,
                a.status,
                a.sign_on_mode,
                last_updated,
                delta.data.get(),
                synced_at
            ])
        })
        .map(drop)
        .map_err(|cause| row_error(delta, cause))
}

/// `"<group>/<user>"` or `"<app>/<user>"`.
fn pair(delta: &Delta) -> Result<(&str, &str), StoreError> {
    delta
        .id
        .split_once('/')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| StoreError::Shape {
            stream: delta.stream.clone(),
            id: delta.id.clone(),
            problem: "the id is not \"<group or app>/<user>\"".into(),
        })
}

fn row_error(delta: &Delta, cause: rusqlite::Error) -> StoreError {
    StoreError::Row {
        stream: delta.stream.clone(),
        id: delta.id.clone(),
        cause,
    }
}

/// A change as `access_changes` notes it.
struct Change<'a> {
    kind: &'static str,
    op: &'static str,
    target: &'a str,
    user: &'a str,
    scope: Option<&'a str>,
}

fn log_change(
    tx: &Transaction<'_>,
    c: &Change<'_>,
    delta: &Delta,
    seen: &str,
) -> rusqlite::Result<()> {
    let changed = if chrono::DateTime::parse_from_rfc3339(&delta.version).is_ok() {
        delta.version.as_str()
    } else {
        seen
    };
    tx.prepare_cached(LOG_CHANGE)?
        .execute(params![
            changed, seen, c.kind, c.op, c.target, c.user, c.scope
        ])
        .map(drop)
}

fn membership(tx: &Transaction<'_>, delta: &Delta, synced_at: &str) -> Result<(), StoreError> {
    let (group, user) = pair(delta)?;
    let (sql, op) = match delta.op {
        Op::Remove | Op::Delete => (
            "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
            "remove",
        ),
        Op::Upsert | Op::Add => (
            "INSERT INTO group_members (group_id, user_id, added_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            "add",
        ),
    };
    let done = || -> rusqlite::Result<()> {
        let mut stmt = tx.prepare_cached(sql)?;
        let changed = if op == "remove" {
            stmt.execute(params![group, user])?
        } else {
            stmt.execute(params![group, user, synced_at])?
        };
        if changed == 1 && delta.op != Op::Upsert {
            let c = Change {
                kind: "group",
                op,
                target: group,
                user,
                scope: None,
            };
            log_change(tx, &c, delta, synced_at)?;
        }
        Ok(())
    };
    done().map_err(|cause| row_error(delta, cause))
}

fn assignment(tx: &Transaction<'_>, delta: &Delta, synced_at: &str) -> Result<(), StoreError> {
    let (app, user) = pair(delta)?;
    if matches!(delta.op, Op::Remove | Op::Delete) {
        return remove_assignment(tx, delta, (app, user), synced_at);
    }
    let a: AssignmentColumns = columns(delta)?;
    let last_updated = a.last_updated.unwrap_or_else(|| delta.version.clone());
    let done = || -> rusqlite::Result<()> {
        let existed = tx
            .prepare_cached("SELECT 1 FROM app_users WHERE app_id = ?1 AND user_id = ?2")?
            .query_row(params![app, user], |_| Ok(()))
            .optional()?
            .is_some();
        tx.prepare_cached(UPSERT_APP_USER)?.execute(params![
            app,
            user,
            a.scope,
            a.status,
            last_updated,
            delta.data.get(),
            synced_at
        ])?;
        if !existed && delta.op == Op::Add {
            let c = Change {
                kind: "app",
                op: "add",
                target: app,
                user,
                scope: a.scope.as_deref(),
            };
            log_change(tx, &c, delta, synced_at)?;
        }
        Ok(())
    };
    done().map_err(|cause| row_error(delta, cause))
}

fn remove_assignment(
    tx: &Transaction<'_>,
    delta: &Delta,
    (app, user): (&str, &str),
    synced_at: &str,
) -> Result<(), StoreError> {
    let done = || -> rusqlite::Result<()> {
        let scope: Option<Option<String>> = tx
            .prepare_cached(
                "DELETE FROM app_users WHERE app_id = ?1 AND user_id = ?2 RETURNING scope",
            )?
            .query_row(params![app, user], |r| r.get(0))
            .optional()?;
        if let Some(scope) = scope {
            let c = Change {
                kind: "app",
                op: "remove",
                target: app,
                user,
                scope: scope.as_deref(),
            };
            log_change(tx, &c, delta, synced_at)?;
        }
        Ok(())
    };
    done().map_err(|cause| row_error(delta, cause))
}

/// True for the streams whose pages are staged before delivery: their deltas are diffs, so a
/// page a sink took but the state database did not would never be corrected by a later diff.
pub fn stages_pages(stream: &str) -> bool {
    matches!(stream, stream::GROUP_MEMBERS | stream::APP_USERS)
}

impl super::Store {
    /// Records `deltas` as the page of `stream` about to be delivered; [`Store::commit_page`]
    /// clears it. A page still staged at the next run was perhaps delivered, perhaps not: the
    /// run delivers and commits it again before anything else.
    pub fn stage_pending(&mut self, stream: &str, deltas: &[Delta]) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        clear_pending(&tx, stream)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO pending_deltas (stream, seq, line) VALUES (?1, ?2, ?3)",
                )
                .ctx("stage a page")?;
            for (seq, delta) in deltas.iter().enumerate() {
                insert
                    .execute(params![stream, seq as i64, delta.to_line()])
                    .ctx("stage a page")?;
            }
        }
        tx.commit().ctx("stage a page")
    }
}

pub(super) fn clear_pending(tx: &Transaction<'_>, stream: &str) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM pending_deltas WHERE stream = ?1")
        .and_then(|mut s| s.execute([stream]))
        .map(drop)
        .ctx("clear a staged page")
}

/// Applies the bookkeeping that goes with a page.
pub(super) fn apply_marks(tx: &Transaction<'_>, marks: &[Mark]) -> Result<(), StoreError> {
    for mark in marks {
        match mark {
            Mark::MembersSynced { group, at } => tx
                .prepare_cached("UPDATE groups SET members_synced = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![group, at]))
                .map(drop)
                .ctx("mark a group's members synced")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
