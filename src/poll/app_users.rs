//! The `app_users` poller: app assignments kept current from the System Log, with a full
//! reconcile on the first run and on its schedule. The reconcile lists every app's assignments
//! (`GET /api/v1/apps/{id}/users`) and diffs each app with the mirror, one commit per app, so a
//! kill resumes at the next app. Between reconciles a polling query of its own on the assignment
//! events (started where the first reconcile started) says which assignments changed; each is
//! read again from Okta, or its whole app when that costs no more requests, so the mirror takes
//! Okta's current answer, not the event's word. Assignments of deleted apps are removed.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Shutdown;
use super::directory::{Owner, finish_pending, is_not_found, list_all, load_cursor, pair};
use super::directory_plan::{
    AppUsersCursor, EventKeys, Reconcile, assignment_op, events_filter, plan_refresh, reconcile_due,
};
use super::page_run::{PageRun, Prefetch};
use super::plan::{okta_time, parse_time};
use crate::sink::{Delta, Op, stream, utc_millis};
use crate::store::AssignmentVersion;

#[derive(Deserialize)]
struct AssignmentKeys {
    #[serde(rename = "lastUpdated")]
    last_updated: String,
    scope: Option<String>,
    status: Option<String>,
}

impl AssignmentKeys {
    fn version(self) -> AssignmentVersion {
        AssignmentVersion {
            last_updated: self.last_updated,
            scope: self.scope,
            status: self.status,
        }
    }
}

pub(super) async fn run(run: &mut PageRun, shutdown: &Shutdown) -> anyhow::Result<()> {
    let now = Utc::now();
    finish_pending(run).await?;
    let mut cursor: AppUsersCursor = load_cursor(run).await?.unwrap_or_default();
    let due = reconcile_due(
        run.poller.reconcile.as_deref(),
        cursor.reconciled_at.as_deref(),
        now,
    );
    if cursor.reconcile.is_none() && due {
        cursor.reconcile = Some(Reconcile {
            started_at: okta_time(now),
            after_app: None,
        });
    }
    if cursor.next.is_empty() {
        let started = cursor.reconcile.as_ref().map(|r| r.started_at.clone());
        let since = started.as_deref().and_then(parse_time).unwrap_or(now);
        cursor.next = first_url(run, since)?;
    }
    if cursor.reconcile.is_some() && !reconcile(run, &mut cursor, shutdown).await? {
        return Ok(());
    }
    remove_orphans(run, &cursor).await?;
    follow_events(run, &mut cursor, shutdown).await
}

/// The polling query on assignment events from `since` minus the look-back window.
fn first_url(run: &PageRun, since: DateTime<Utc>) -> anyhow::Result<String> {
    let lookback = chrono::Duration::from_std(run.engine.settings.lookback).unwrap_or_default();
    let query = [
        ("since", okta_time(since - lookback)),
        ("sortOrder", "ASCENDING".to_owned()),
        ("limit", "1000".to_owned()),
        ("filter", events_filter()),
    ];
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(run.engine.client.url("/api/v1/logs", &query)?.to_string())
}

/// Lists every app's assignments after the reconcile's last finished app. Returns false when
/// shutdown stopped it (it resumes there next run).
async fn reconcile(
    run: &mut PageRun,
    cursor: &mut AppUsersCursor,
    shutdown: &Shutdown,
) -> anyhow::Result<bool> {
    let baseline = cursor.reconciled_at.is_none();
    let query = [("limit", "200"), ("includeNonDeleted", "true")];
    let apps = list_all(&run.engine.client, "/api/v1/apps", &query)
        .await?
        .context("Okta answered 404 to GET /api/v1/apps")?;
    let ids: std::collections::BTreeSet<String> = apps.into_iter().map(|(id, _)| id).collect();
    let after = cursor
        .reconcile
        .as_ref()
        .and_then(|r| r.after_app.clone())
        .unwrap_or_default();
    for app in ids.iter().filter(|id| **id > after) {
        if *shutdown.borrow() {
            return Ok(false);
        }
        let deltas = relist(run, app, baseline).await?;
        if let Some(r) = &mut cursor.reconcile {
            r.after_app = Some(app.clone());
        }
        run.commit(deltas, serde_json::to_string(cursor)?, None)
            .await?;
    }
    let stored = run.engine.with_store(|s| s.assignment_counts()).await?;
    let mut gone = Vec::new();
    for app in stored.keys().filter(|a| !ids.contains(*a)) {
        gone.extend(relist_as(run, app, Some(Vec::new()), baseline).await?);
    }
    cursor.reconciled_at = cursor.reconcile.take().map(|r| r.started_at);
    run.commit(gone, serde_json::to_string(cursor)?, None)
        .await?;
    Ok(true)
}

/// The deltas that take the mirror's assignments of `app` to Okta's listing of them now.
async fn relist(run: &PageRun, app: &str, baseline: bool) -> anyhow::Result<Vec<Delta>> {
    let limit = run.poller.page_size.to_string();
    let path = format!("/api/v1/apps/{app}/users");
    let listed = list_all(&run.engine.client, &path, &[("limit", limit.as_str())]).await?;
    relist_as(run, app, listed, baseline).await
}

/// [`relist`] given the listing (`None`: the app is gone, so are its assignments).
async fn relist_as(
    run: &PageRun,
    app: &str,
    listed: Option<Vec<(String, Box<RawValue>)>>,
    baseline: bool,
) -> anyhow::Result<Vec<Delta>> {
    let owned = app.to_owned();
    let mut stored = run
        .engine
        .with_store(move |s| s.app_assignments(&owned))
        .await?;
    let mut deltas = Vec::new();
    for (user, raw) in listed.unwrap_or_default() {
        let keys: AssignmentKeys = serde_json::from_str(raw.get())
            .with_context(|| format!("assignment {app}/{user} has no lastUpdated"))?;
        let version = keys.version();
        if let Some(op) = assignment_op(stored.get(&user), &version, baseline) {
            let id = format!("{app}/{user}");
            deltas.push(Delta::new(stream::APP_USERS, &id, &version.last_updated, raw).with_op(op));
        }
        stored.remove(&user);
    }
    let now = utc_millis(Utc::now());
    for (user, gone) in stored {
        let delta = pair(Owner::App, (app, &user), gone.scope.as_deref(), &now);
        deltas.push(delta.with_op(Op::Remove));
    }
    Ok(deltas)
}

/// One assignment read again: an upsert or add if Okta has it and the mirror differs, a remove
/// if Okta answers 404 and the mirror has it.
async fn reread(run: &PageRun, app: &str, user: &str) -> anyhow::Result<Option<Delta>> {
    let path = format!("/api/v1/apps/{app}/users/{user}");
    let fetched = match run
        .engine
        .client
        .get_json::<Box<RawValue>>(&path, &[])
        .await
    {
        Ok(raw) => Some(raw),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e).with_context(|| format!("reading assignment {app}/{user}")),
    };
    let (a, u) = (app.to_owned(), user.to_owned());
    let stored = run
        .engine
        .with_store(move |s| s.app_assignment(&a, &u))
        .await?;
    let id = format!("{app}/{user}");
    Ok(match (fetched, stored) {
        (Some(raw), stored) => {
            let keys: AssignmentKeys = serde_json::from_str(raw.get())
                .with_context(|| format!("assignment {id} has no lastUpdated"))?;
            let version = keys.version();
            assignment_op(stored.as_ref(), &version, false).map(|op| {
                Delta::new(stream::APP_USERS, &id, &version.last_updated, raw).with_op(op)
            })
        }
        (None, Some(gone)) => {
            let now = utc_millis(Utc::now());
            let delta = pair(Owner::App, (app, user), gone.scope.as_deref(), &now);
            Some(delta.with_op(Op::Remove))
        }
        (None, None) => None,
    })
}

/// Follows the events query from the cursor until an empty page, reading again what each page
/// of events says changed, and committing the page's deltas with the query's next link.
async fn follow_events(
    run: &mut PageRun,
    cursor: &mut AppUsersCursor,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let pages = run.engine.client.pages_from(&cursor.next)?;
    let mut prefetch = Prefetch::start(pages);
    let mut shutdown = shutdown.clone();
    while let Some(page) = prefetch
        .next(&mut shutdown, |p| !p.items.is_empty())
        .await?
    {
        let caught_up = page.items.is_empty();
        let events: Vec<EventKeys> = page
            .parse()
            .context("a System Log event without eventType or published")?;
        if let Some(last) = events.last() {
            cursor.last_published = Some(last.published.clone());
        }
        let deltas = refresh(run, &events).await?;
        match &page.next {
            Some(next) => cursor.next = next.to_string(),
            None => tracing::warn!(
                stream = stream::APP_USERS,
                "Okta sent no next link on a polling query; the same page will be read again next run"
            ),
        }
        let position = cursor.last_published.clone();
        run.commit(deltas, serde_json::to_string(cursor)?, position)
            .await?;
        if caught_up || page.next.is_none() || *shutdown.borrow() {
            break;
        }
    }
    Ok(())
}

/// Reads again the assignments a page of events names.
async fn refresh(run: &PageRun, events: &[EventKeys]) -> anyhow::Result<Vec<Delta>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let apps: std::collections::BTreeSet<String> = events.iter().filter_map(|e| e.app()).collect();
    let sizes = run
        .engine
        .with_store(move |s| s.assignment_counts_of(&apps))
        .await?;
    let plan = plan_refresh(events, &sizes, run.poller.page_size);
    let mut deltas = Vec::new();
    for app in &plan.apps {
        deltas.extend(relist(run, app, false).await?);
    }
    for (app, user) in &plan.pairs {
        deltas.extend(reread(run, app, user).await?);
    }
    Ok(deltas)
}

/// Removes the assignments of apps the `apps` stream tombstoned, a thousand per commit.
async fn remove_orphans(run: &mut PageRun, cursor: &AppUsersCursor) -> anyhow::Result<()> {
    let orphans = run.engine.with_store(|s| s.orphan_assignments()).await?;
    let now = utc_millis(Utc::now());
    for chunk in orphans.chunks(1000) {
        let deltas = chunk
            .iter()
            .map(|(a, u, scope)| {
                pair(Owner::App, (a, u), scope.as_deref(), &now).with_op(Op::Remove)
            })
            .collect();
        run.commit(deltas, serde_json::to_string(cursor)?, None)
            .await?;
    }
    Ok(())
}
