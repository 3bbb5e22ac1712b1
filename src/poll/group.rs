//! What a group of pages becomes inside the state writer's transaction: the deltas every sink
//! receives (users that are news on a stream, every event, tombstones for deleted users), the
//! rows the mirror writes, what each user's state is now, and each run's counters.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::delta::{Delta, Op, stream, utc_millis};
use crate::store::{Columns, GroupTx, RunCounts, RunId, StoreError, UserState};

use super::plan::{Seen, Want, plan_tombstone, plan_user};
use super::records::{EventRecord, Records, UserRecord};

/// How the writer turns a run's pages into deltas.
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    /// `new_users` takes users it has not emitted, created from here on.
    pub new: Option<Want>,
    /// `updated_users` takes versions it has not emitted, changed from here on.
    pub updated: Option<Want>,
    /// A reconciliation that started at this time: mark every user found as seen.
    pub seen_at: Option<String>,
    /// Tombstone users that `user.lifecycle.delete.*` events name.
    pub tombstones: bool,
    /// After the pages: tombstone users the reconciliation that started then did not find.
    pub sweep: Option<String>,
    /// The run that counts each stream's records.
    pub runs: Vec<(&'static str, RunId)>,
    /// The run that counts records of other streams, and the requests.
    pub primary: Option<RunId>,
}

/// One group as the writer receives it.
#[derive(Debug)]
pub(super) struct GroupInput {
    pub pages: Vec<Records>,
    pub plan: Plan,
    pub cursors: Vec<(&'static str, String)>,
    pub requests: u64,
    pub rate_limited: u64,
    /// Also write the mirror tables of the state database.
    pub mirror: bool,
}

/// Records per stream.
pub(super) type Counts = BTreeMap<&'static str, u64>;

/// The group planned: deltas in order, each with the columns to mirror (none for a second delta
/// of the same user version), and the records each page gave each stream.
#[derive(Debug, Default)]
pub(super) struct Planned {
    pub deltas: Vec<Delta>,
    pub columns: Vec<Option<Columns>>,
    pub per_page: Vec<Counts>,
    /// Users' new states, stored while the sinks write.
    pub states: Vec<(String, UserState)>,
    /// Users a reconciliation found.
    pub seen: Vec<String>,
}

impl Planned {
    fn push(&mut self, delta: Delta, columns: Option<Columns>) {
        self.deltas.push(delta);
        self.columns.push(columns);
    }
}

/// Plans the group's deltas, storing each user's new state in `tx` on the way.
pub(super) fn plan(tx: &GroupTx<'_>, input: &mut GroupInput) -> Result<Planned, StoreError> {
    let emitted_at = utc_millis(chrono::Utc::now());
    let mut planned = Planned::default();
    for page in std::mem::take(&mut input.pages) {
        let before = planned.deltas.len();
        match page {
            Records::Users(users) => plan_users(tx, &input.plan, users, &emitted_at, &mut planned)?,
            Records::Events(events) => {
                plan_events(tx, &input.plan, events, &emitted_at, &mut planned)?;
            }
        }
        planned.per_page.push(counts(&planned.deltas[before..]));
    }
    if let Some(at) = &input.plan.sweep {
        let before = planned.deltas.len();
        for (id, _) in tx.unseen_users(at)? {
            tombstone(tx, &id, at, "reconcile", &mut planned)?;
        }
        planned.per_page.push(counts(&planned.deltas[before..]));
    }
    Ok(planned)
}

/// Stores what the group moved: mirror rows, cursors, run counters.
pub(super) fn write(
    tx: &GroupTx<'_>,
    input: &GroupInput,
    deltas: &[Delta],
    planned: &Planned,
) -> Result<(), StoreError> {
    if input.mirror {
        let mut rows: Vec<_> = deltas
            .iter()
            .zip(&planned.columns)
            .filter_map(|(d, c)| c.as_ref().map(|c| (d, c)))
            .collect();
        // Users in id order walk the id index once instead of landing all over it (the mirror
        // keeps the newest version whatever the order); events keep their arrival order.
        if rows.iter().all(|(_, c)| matches!(c, Columns::User(_))) {
            rows.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        }
        tx.mirror(rows)?;
    }
    let mut states: Vec<_> = planned.states.iter().collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, state) in states {
        tx.put_user_state(id, state)?;
    }
    if let Some(at) = &input.plan.seen_at {
        for id in &planned.seen {
            tx.mark_seen(id, at)?;
        }
    }
    for (stream, cursor) in &input.cursors {
        tx.put_cursor(stream, cursor)?;
    }
    let mut per_run: BTreeMap<i64, RunCounts> = BTreeMap::new();
    let total = planned.per_page.iter().flatten();
    for (stream, n) in total {
        let run = input
            .plan
            .runs
            .iter()
            .find(|(s, _)| s == stream)
            .map(|(_, r)| *r);
        if let Some(run) = run.or(input.plan.primary) {
            per_run.entry(run.0).or_default().records += n;
        }
    }
    if let Some(primary) = input.plan.primary {
        let counts = per_run.entry(primary.0).or_default();
        counts.requests += input.requests;
        counts.rate_limited += input.rate_limited;
    }
    for (run, counts) in per_run {
        tx.count_run(RunId(run), counts)?;
    }
    Ok(())
}

fn plan_users(
    tx: &GroupTx<'_>,
    plan: &Plan,
    users: Vec<UserRecord>,
    emitted_at: &str,
    planned: &mut Planned,
) -> Result<(), StoreError> {
    let mut known = tx.user_states(users.iter().map(|u| u.cols.id.as_str()))?;
    for user in users {
        let id = user.cols.id.clone();
        let last_updated = user.cols.last_updated.clone().unwrap_or_default();
        let seen = Seen {
            created: user.cols.created.as_deref(),
            last_updated: &last_updated,
        };
        let decided = plan_user(
            known.get(&id),
            seen,
            plan.new.as_ref(),
            plan.updated.as_ref(),
        );
        if let Some(p) = decided {
            let raw: Arc<RawValue> = user.raw.into();
            let delta = |stream: &str, raw| upsert(stream, &id, &last_updated, emitted_at, raw);
            match (p.new, p.updated) {
                (true, true) => {
                    planned.push(delta(stream::NEW_USERS, raw.clone()), None);
                    planned.push(
                        delta(stream::UPDATED_USERS, raw),
                        Some(Columns::User(user.cols)),
                    );
                }
                (true, false) => planned.push(
                    delta(stream::NEW_USERS, raw),
                    Some(Columns::User(user.cols)),
                ),
                (false, true) => planned.push(
                    delta(stream::UPDATED_USERS, raw),
                    Some(Columns::User(user.cols)),
                ),
                (false, false) => {}
            }
            planned.states.push((id.clone(), p.state.clone()));
            known.insert(id.clone(), p.state);
        }
        if plan.seen_at.is_some() {
            planned.seen.push(id);
        }
    }
    Ok(())
}

fn plan_events(
    tx: &GroupTx<'_>,
    plan: &Plan,
    events: Vec<EventRecord>,
    emitted_at: &str,
    planned: &mut Planned,
) -> Result<(), StoreError> {
    let mut deleted = Vec::new();
    for event in events {
        if plan.tombstones {
            for id in event.cols.deleted_users(&event.raw) {
                deleted.push((id, event.cols.published.clone(), event.cols.uuid.clone()));
            }
        }
        let (uuid, published) = (event.cols.uuid.clone(), event.cols.published.clone());
        let delta = upsert(
            stream::SYSTEM_LOG,
            &uuid,
            &published,
            emitted_at,
            event.raw.into(),
        );
        planned.push(delta, Some(Columns::Event(event.cols)));
    }
    if deleted.is_empty() {
        return Ok(());
    }
    for (id, at, uuid) in deleted {
        tombstone(tx, &id, &at, &uuid, planned)?;
    }
    Ok(())
}

/// Tombstones user `id` deleted at `at` unless it already is (or was seen after). The state
/// is read here, so a second event about the same deletion finds the first one's.
fn tombstone(
    tx: &GroupTx<'_>,
    id: &str,
    at: &str,
    via: &str,
    planned: &mut Planned,
) -> Result<(), StoreError> {
    let stored = tx.user_states([id])?;
    let Some(state) = plan_tombstone(stored.get(id), at) else {
        return Ok(());
    };
    tx.put_user_state(id, &state)?;
    planned.push(Delta::user_deleted(id, at, via), Some(Columns::Deleted));
    Ok(())
}

fn upsert(stream: &str, id: &str, version: &str, emitted_at: &str, raw: Arc<RawValue>) -> Delta {
    Delta {
        stream: stream.to_owned(),
        op: Op::Upsert,
        id: id.to_owned(),
        version: version.to_owned(),
        emitted_at: emitted_at.to_owned(),
        data: raw,
    }
}

/// Records per stream among `deltas`.
fn counts(deltas: &[Delta]) -> Counts {
    let mut out = Counts::new();
    for d in deltas {
        let name = [
            stream::NEW_USERS,
            stream::UPDATED_USERS,
            stream::SYSTEM_LOG,
            stream::EVENT_HOOK,
        ]
        .into_iter()
        .find(|s| *s == d.stream)
        .unwrap_or(stream::SYSTEM_LOG);
        *out.entry(name).or_default() += 1;
    }
    out
}
