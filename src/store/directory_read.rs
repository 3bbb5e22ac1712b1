//! The directory as the state database holds it, read back for the directory pollers to diff
//! Okta against: which version of each group and app it has, which groups' members are behind,
//! who is in a group or assigned to an app, and what belongs to groups and apps now deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{OptionalExtension, params};

use super::{Context, Store, StoreError};

/// The two clocks of a group as last stored, and whether it is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersion {
    pub last_updated: String,
    pub last_membership_updated: Option<String>,
    pub deleted: bool,
}

/// An app as last stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppVersion {
    pub last_updated: String,
    pub status: Option<String>,
    pub deleted: bool,
}

/// An assignment as last stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentVersion {
    pub last_updated: String,
    pub scope: Option<String>,
    pub status: Option<String>,
}

/// A membership or assignment whose group or app is gone: `(group or app, user, scope)`.
pub type Orphan = (String, String, Option<String>);

impl Store {
    /// The stored version of each of `ids` that the mirror has.
    pub fn group_versions(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, GroupVersion>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT last_updated, last_membership_updated, deleted_at IS NOT NULL
                 FROM groups WHERE id = ?1",
            )
            .ctx("read group versions")?;
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            let version = stmt
                .query_row([id], |r| {
                    Ok(GroupVersion {
                        last_updated: r.get(0)?,
                        last_membership_updated: r.get(1)?,
                        deleted: r.get(2)?,
                    })
                })
                .optional()
                .ctx("read group versions")?;
            if let Some(v) = version {
                out.insert(id.clone(), v);
            }
        }
        Ok(out)
    }

    /// Ids of the groups the mirror holds that are not tombstones.
    pub fn live_group_ids(&self) -> Result<BTreeSet<String>, StoreError> {
        self.strings("SELECT id FROM groups WHERE deleted_at IS NULL", [])
            .map(|v| v.into_iter().collect())
    }

    /// Up to `limit` groups after `after` (by id) whose members are behind their
    /// `last_membership_updated`, with that value. Everyone (BUILT_IN) is never listed.
    pub fn groups_to_sync(
        &self,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, last_membership_updated FROM groups
                 WHERE id > ?1 AND deleted_at IS NULL AND type IS NOT 'BUILT_IN'
                   AND last_membership_updated IS NOT NULL
                   AND members_synced IS NOT last_membership_updated
                 ORDER BY id LIMIT ?2",
            )
            .ctx("read the groups to sync")?;
        let rows = stmt
            .query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("read the groups to sync")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx("read the groups to sync")
    }

    /// The members of `group` the mirror holds.
    pub fn group_member_ids(&self, group: &str) -> Result<BTreeSet<String>, StoreError> {
        self.strings(
            "SELECT user_id FROM group_members WHERE group_id = ?1",
            [group],
        )
        .map(|v| v.into_iter().collect())
    }

    /// Memberships of groups that are tombstones (read by key, not by scanning every membership).
    pub fn orphan_members(&self) -> Result<Vec<Orphan>, StoreError> {
        self.orphans(
            "SELECT group_id, user_id, NULL FROM group_members
             WHERE group_id IN (SELECT id FROM groups WHERE deleted_at IS NOT NULL)",
        )
    }

    /// Assignments of apps that are tombstones.
    pub fn orphan_assignments(&self) -> Result<Vec<Orphan>, StoreError> {
        self.orphans(
            "SELECT app_id, user_id, scope FROM app_users
             WHERE app_id IN (SELECT id FROM apps WHERE deleted_at IS NOT NULL)",
        )
    }

    /// Every app the mirror holds, tombstones included.
    pub fn app_versions(&self) -> Result<BTreeMap<String, AppVersion>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, last_updated, status, deleted_at IS NOT NULL FROM apps")
            .ctx("read app versions")?;
        let rows = stmt
            .query_map([], |r| {
                let version = AppVersion {
                    last_updated: r.get(1)?,
                    status: r.get(2)?,
                    deleted: r.get(3)?,
                };
                Ok((r.get(0)?, version))
            })
            .ctx("read app versions")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx("read app versions")
    }

    /// The assignments of `app` the mirror holds, by user.
    pub fn app_assignments(
        &self,
        app: &str,
    ) -> Result<HashMap<String, AssignmentVersion>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT user_id, last_updated, scope, status FROM app_users WHERE app_id = ?1",
            )
            .ctx("read app assignments")?;
        let rows = stmt
            .query_map([app], |r| {
                let version = AssignmentVersion {
                    last_updated: r.get(1)?,
                    scope: r.get(2)?,
                    status: r.get(3)?,
                };
                Ok((r.get(0)?, version))
            })
            .ctx("read app assignments")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx("read app assignments")
    }

    /// One stored assignment.
    pub fn app_assignment(
        &self,
        app: &str,
        user: &str,
    ) -> Result<Option<AssignmentVersion>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT last_updated, scope, status FROM app_users
                 WHERE app_id = ?1 AND user_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![app, user], |r| {
                    Ok(AssignmentVersion {
                        last_updated: r.get(0)?,
                        scope: r.get(1)?,
                        status: r.get(2)?,
                    })
                })
                .optional()
            })
            .ctx("read an app assignment")
    }

    /// How many assignments each of `apps` has.
    pub fn assignment_counts_of(
        &self,
        apps: &BTreeSet<String>,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT count(*) FROM app_users WHERE app_id = ?1")
            .ctx("count app assignments")?;
        let mut out = HashMap::with_capacity(apps.len());
        for app in apps {
            let n = stmt
                .query_row([app], |r| super::count(r, 0))
                .ctx("count app assignments")?;
            out.insert(app.clone(), n);
        }
        Ok(out)
    }

    /// How many assignments each app has, for the apps that have any.
    pub fn assignment_counts(&self) -> Result<HashMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT app_id, count(*) FROM app_users GROUP BY app_id")
            .ctx("count app assignments")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, super::count(r, 1)?)))
            .ctx("count app assignments")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx("count app assignments")
    }

    /// Groups named by `group.lifecycle.delete` events in the System Log mirror published after
    /// `since`, with the newest such `published`.
    pub fn deleted_group_events(
        &self,
        since: &str,
    ) -> Result<(BTreeSet<String>, Option<String>), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT json_extract(t.value, '$.id'), s.published
                 FROM system_log s, json_each(s.data, '$.target') t
                 WHERE s.event_type = 'group.lifecycle.delete' AND s.published > ?1
                   AND json_extract(t.value, '$.type') = 'UserGroup'",
            )
            .ctx("read group deletions from the System Log")?;
        let rows = stmt
            .query_map([since], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
            })
            .ctx("read group deletions from the System Log")?;
        let (mut ids, mut newest) = (BTreeSet::new(), None::<String>);
        for row in rows {
            let (id, published) = row.ctx("read group deletions from the System Log")?;
            ids.extend(id);
            if newest.as_ref().is_none_or(|n| published > *n) {
                newest = Some(published);
            }
        }
        Ok((ids, newest))
    }

    /// The page of `stream` staged but never committed, in order (empty when none).
    pub fn pending(&self, stream: &str) -> Result<Vec<crate::sink::Delta>, StoreError> {
        let lines = self.strings(
            "SELECT line FROM pending_deltas WHERE stream = ?1 ORDER BY seq",
            [stream],
        )?;
        lines
            .iter()
            .map(|line| {
                serde_json::from_str(line).map_err(|e| StoreError::Shape {
                    stream: stream.to_owned(),
                    id: String::new(),
                    problem: format!("a staged delta is unreadable ({e})"),
                })
            })
            .collect()
    }

    fn strings<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).ctx("read the directory")?;
        let rows = stmt.query_map(p, |r| r.get(0)).ctx("read the directory")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx("read the directory")
    }

    fn orphans(&self, sql: &str) -> Result<Vec<Orphan>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).ctx("read the directory")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ctx("read the directory")?;
        rows.collect::<rusqlite::Result<_>>()
            .ctx("read the directory")
    }
}
