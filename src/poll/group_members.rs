//! The `group_members` poller: each group whose `lastMembershipUpdated` moved past the value its
//! members were last listed at (kept in the `groups` table) has its members re-listed
//! (`GET /api/v1/groups/{id}/users`) and the difference with the mirror emitted, `add` and
//! `remove` (`upsert` on the first full pass, which lists what is there rather than a change).
//! Each group's diff commits together with its new synced mark, a few groups per transaction, so
//! a kill resumes at the next group not yet synced. The next group's listing is fetched while the
//! current one is diffed and committed. Memberships of deleted groups are removed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::Shutdown;
use super::directory::{Owner, finish_pending, list_all, load_cursor, pair};
use super::directory_plan::{GroupsCursor, MembersCursor, diff_ids, later, new_op};
use super::page_run::PageRun;
use crate::okta::OktaClient;
use crate::sink::{Delta, Op, stream, utc_millis};
use crate::store::Mark;

/// Groups read from the state database at a time.
const BATCH: u32 = 100;

/// Commit once this many deltas or groups are pending, or this long after the first.
const FLUSH_DELTAS: usize = 2000;
const FLUSH_GROUPS: usize = 50;
const FLUSH_AFTER: Duration = Duration::from_secs(1);

/// One group's listing: its member ids, or `None` when the group is gone (404).
type Listing = JoinHandle<anyhow::Result<Option<BTreeSet<String>>>>;

/// Deltas and marks waiting to commit together.
#[derive(Default)]
struct Pending {
    deltas: Vec<Delta>,
    marks: Vec<Mark>,
    since: Option<Instant>,
}

impl Pending {
    fn due(&self) -> bool {
        self.deltas.len() >= FLUSH_DELTAS
            || self.marks.len() >= FLUSH_GROUPS
            || self.since.is_some_and(|t| t.elapsed() >= FLUSH_AFTER)
    }
}

pub(super) async fn run(run: &mut PageRun, shutdown: &Shutdown) -> anyhow::Result<()> {
    finish_pending(run).await?;
    let mut cursor: MembersCursor = load_cursor(run).await?.unwrap_or_default();
    // The first pass ends only once it has covered a complete listing of the groups.
    let groups_listed = match run.engine.cursor(stream::GROUPS).await? {
        Some(text) => {
            serde_json::from_str::<GroupsCursor>(&text).is_ok_and(|c| c.reconciled_at.is_some())
        }
        None => false,
    };
    remove_orphans(run, &cursor).await?;
    let mut pending = Pending::default();
    let mut after = String::new();
    loop {
        let from = after.clone();
        let todo = run
            .engine
            .with_store(move |s| s.groups_to_sync(&from, BATCH))
            .await?;
        let Some((last, _)) = todo.last() else {
            break;
        };
        after = last.clone();
        if !sync_groups(run, &mut cursor, &mut pending, todo, shutdown).await? {
            return flush(run, &cursor, &mut pending).await;
        }
    }
    cursor.baseline_done |= groups_listed;
    flush(run, &cursor, &mut pending).await?;
    // The pass is complete: record it even when nothing was pending.
    run.commit(Vec::new(), serde_json::to_string(&cursor)?, None)
        .await
}

/// Lists and diffs `todo` in order, the next listing running while one is diffed. Returns false
/// when shutdown stopped it.
async fn sync_groups(
    run: &mut PageRun,
    cursor: &mut MembersCursor,
    pending: &mut Pending,
    todo: Vec<(String, String)>,
    shutdown: &Shutdown,
) -> anyhow::Result<bool> {
    let client = run.engine.client.clone();
    let limit = run.poller.page_size;
    let mut next: Option<Listing> = todo.first().map(|(g, _)| listing(&client, g, limit));
    for (i, (group, synced_at)) in todo.iter().enumerate() {
        let Some(current) = next.take() else { break };
        if *shutdown.borrow() {
            current.abort();
            return Ok(false);
        }
        next = todo.get(i + 1).map(|(g, _)| listing(&client, g, limit));
        let listed = match current.await {
            Ok(listed) => listed,
            Err(e) => Err(anyhow::anyhow!("a member listing task failed: {e}")),
        };
        let listed = match listed {
            Ok(listed) => listed,
            Err(e) => {
                next.iter().for_each(JoinHandle::abort);
                return Err(e.context(format!("listing the members of group {group}")));
            }
        };
        // A group gone meanwhile is left for `groups` to tombstone.
        if let Some(listed) = listed {
            let deltas = diff(run, group, synced_at, listed, cursor.baseline_done).await?;
            pending.deltas.extend(deltas);
            pending.marks.push(Mark::MembersSynced {
                group: group.clone(),
                at: synced_at.clone(),
            });
            pending.since.get_or_insert_with(Instant::now);
        }
        cursor.last_group = Some(group.clone());
        cursor.hwm = Some(later(synced_at, cursor.hwm.as_deref()).to_owned());
        if pending.due() {
            flush(run, cursor, pending).await?;
        }
    }
    Ok(true)
}

fn listing(client: &OktaClient, group: &str, limit: u32) -> Listing {
    let (client, path) = (client.clone(), format!("/api/v1/groups/{group}/users"));
    tokio::spawn(async move {
        let limit = limit.to_string();
        let items = list_all(&client, &path, &[("limit", limit.as_str())]).await?;
        Ok(items.map(|items| items.into_iter().map(|(id, _)| id).collect()))
    })
}

/// The membership deltas that take the mirror from what it holds to `listed`.
async fn diff(
    run: &PageRun,
    group: &str,
    version: &str,
    listed: BTreeSet<String>,
    baseline_done: bool,
) -> anyhow::Result<Vec<Delta>> {
    let g = group.to_owned();
    let stored = run
        .engine
        .with_store(move |s| s.group_member_ids(&g))
        .await?;
    let (added, removed) = diff_ids(&listed, &stored);
    let op = new_op(!baseline_done);
    let adds = added
        .iter()
        .map(|u| pair(Owner::Group, (group, u), None, version).with_op(op));
    let removes = removed
        .iter()
        .map(|u| pair(Owner::Group, (group, u), None, version).with_op(Op::Remove));
    Ok(adds.chain(removes).collect())
}

async fn flush(
    run: &mut PageRun,
    cursor: &MembersCursor,
    pending: &mut Pending,
) -> anyhow::Result<()> {
    if pending.marks.is_empty() && pending.deltas.is_empty() {
        return Ok(());
    }
    let deltas = std::mem::take(&mut pending.deltas);
    let marks = std::mem::take(&mut pending.marks);
    pending.since = None;
    let position = cursor.hwm.clone();
    run.commit_marked(deltas, serde_json::to_string(cursor)?, position, marks)
        .await
}

/// Removes the memberships of groups that were tombstoned, a thousand per commit.
async fn remove_orphans(run: &mut PageRun, cursor: &MembersCursor) -> anyhow::Result<()> {
    let orphans = run.engine.with_store(|s| s.orphan_members()).await?;
    let now = utc_millis(chrono::Utc::now());
    for chunk in orphans.chunks(1000) {
        let deltas = chunk
            .iter()
            .map(|(g, u, _)| pair(Owner::Group, (g, u), None, &now).with_op(Op::Remove))
            .collect();
        run.commit(deltas, serde_json::to_string(cursor)?, None)
            .await?;
    }
    if !orphans.is_empty() {
        tracing::info!(
            stream = stream::GROUP_MEMBERS,
            count = orphans.len(),
            "removed the members of deleted groups"
        );
    }
    Ok(())
}
