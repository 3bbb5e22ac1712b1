//! The `groups` poller: one search per run for the groups whose profile (`lastUpdated`) or
//! members (`lastMembershipUpdated`) changed since the high-water marks minus the look-back
//! window, emitting those that differ from the mirror (their new `lastMembershipUpdated` is what
//! sends `group_members` to re-list them). On the first run and on its reconcile schedule it lists
//! every group instead and tombstones those Okta no longer has; between reconciles a
//! `group.lifecycle.delete` in the System Log mirror tombstones a group as soon as Okta confirms.

use std::collections::BTreeSet;

use anyhow::Context as _;
use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Shutdown;
use super::directory::{is_not_found, load_cursor, tombstone};
use super::directory_plan::{GroupsCursor, later, reconcile_due};
use super::page_run::{PageRun, Prefetch};
use super::plan::okta_time;
use crate::sink::{Delta, stream};

#[derive(Deserialize)]
struct GroupKeys {
    id: String,
    #[serde(rename = "lastUpdated")]
    last_updated: String,
    #[serde(rename = "lastMembershipUpdated")]
    last_membership_updated: Option<String>,
}

/// The newest timestamps a listing has shown, and (for a full listing) every id in it.
#[derive(Default)]
struct Seen {
    updated: Option<String>,
    membership: Option<String>,
    ids: BTreeSet<String>,
}

pub(super) async fn run(run: &mut PageRun, shutdown: &Shutdown) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut cursor: GroupsCursor = load_cursor(run).await?.unwrap_or_default();
    let full = reconcile_due(
        run.poller.reconcile.as_deref(),
        cursor.reconciled_at.as_deref(),
        now,
    );
    let limit = run.poller.page_size.to_string();
    let search = cursor.search(run.engine.settings.lookback);
    let mut query = vec![("limit", limit.as_str())];
    if !full {
        query.push(("search", search.as_str()));
    }
    tracing::info!(stream = stream::GROUPS, full, search = %search, "polling groups");
    let pages = run.engine.client.pages("/api/v1/groups", &query)?;
    let mut prefetch = Prefetch::start(pages);
    let mut shutdown = shutdown.clone();
    let mut seen = Seen::default();
    let text = serde_json::to_string(&cursor)?;
    while let Some(page) = prefetch.next(&mut shutdown, |_| true).await? {
        let deltas = changed(run, page.items, &mut seen).await?;
        run.commit(
            deltas,
            text.clone(),
            Some(later(&cursor.hwm, Some(&cursor.membership_hwm)).to_owned()),
        )
        .await?;
    }
    if *shutdown.borrow() {
        // A listing cut short proves nothing about what is missing: the marks stay.
        return Ok(());
    }
    cursor.advance(seen.updated.as_deref(), seen.membership.as_deref());
    let mut gone = Vec::new();
    if full {
        let live = run.engine.with_store(|s| s.live_group_ids()).await?;
        gone.extend(
            live.difference(&seen.ids)
                .map(|id| tombstone(stream::GROUPS, id)),
        );
        cursor.reconciled_at = Some(okta_time(now));
    } else {
        gone.extend(logged_deletes(run, &mut cursor).await?);
    }
    let position = Some(later(&cursor.hwm, Some(&cursor.membership_hwm)).to_owned());
    run.commit(gone, serde_json::to_string(&cursor)?, position)
        .await
}

/// The groups of a page that differ from the mirror, as upserts versioned by the later of their
/// two clocks; records what the page showed in `seen`.
async fn changed(
    run: &PageRun,
    items: Vec<Box<RawValue>>,
    seen: &mut Seen,
) -> anyhow::Result<Vec<Delta>> {
    let mut keyed = Vec::with_capacity(items.len());
    for raw in items {
        let g: GroupKeys =
            serde_json::from_str(raw.get()).context("an Okta group without id or lastUpdated")?;
        seen.updated = Some(later(&g.last_updated, seen.updated.as_deref()).to_owned());
        if let Some(m) = &g.last_membership_updated {
            seen.membership = Some(later(m, seen.membership.as_deref()).to_owned());
        }
        seen.ids.insert(g.id.clone());
        keyed.push((g, raw));
    }
    let ids: Vec<String> = keyed.iter().map(|(g, _)| g.id.clone()).collect();
    let stored = run
        .engine
        .with_store(move |s| s.group_versions(&ids))
        .await?;
    let deltas = keyed
        .into_iter()
        .filter(|(g, _)| match stored.get(&g.id) {
            None => true,
            Some(v) => {
                !v.deleted
                    && (v.last_updated != g.last_updated
                        || v.last_membership_updated != g.last_membership_updated)
            }
        })
        .map(|(g, raw)| {
            let version = later(&g.last_updated, g.last_membership_updated.as_deref());
            Delta::new(stream::GROUPS, &g.id, version, raw)
        })
        .collect();
    Ok(deltas)
}

/// Tombstones for the live groups that `group.lifecycle.delete` events in the System Log mirror
/// name and Okta no longer has (a 404), moving the cursor past those events.
async fn logged_deletes(run: &PageRun, cursor: &mut GroupsCursor) -> anyhow::Result<Vec<Delta>> {
    let since = cursor.deletes_seen.clone().unwrap_or_default();
    let (named, newest) = run
        .engine
        .with_store(move |s| s.deleted_group_events(&since))
        .await?;
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let live = run.engine.with_store(|s| s.live_group_ids()).await?;
    let mut gone = Vec::new();
    for id in named.intersection(&live) {
        let path = format!("/api/v1/groups/{id}");
        match run
            .engine
            .client
            .get_json::<serde_json::Value>(&path, &[])
            .await
        {
            Err(e) if is_not_found(&e) => gone.push(tombstone(stream::GROUPS, id)),
            Err(e) => return Err(e).context("checking a group the System Log says was deleted"),
            Ok(_) => {}
        }
    }
    if newest.is_some() {
        cursor.deletes_seen = newest;
    }
    Ok(gone)
}
