//! The `apps` poller: the whole app list each run (`ACTIVE` and `INACTIVE`; an org has
//! hundreds of apps, a few pages), diffed with the mirror: the apps that are new or changed are
//! upserted, and those Okta no longer lists are tombstoned, all in one commit once the list is
//! complete (a list cut short tombstones nothing).

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::Shutdown;
use super::directory::{list_all, tombstone};
use super::page_run::PageRun;
use super::plan::okta_time;
use crate::sink::{Delta, stream};
use crate::store::AppVersion;

#[derive(Deserialize)]
struct AppKeys {
    #[serde(rename = "lastUpdated")]
    last_updated: String,
    status: Option<String>,
}

/// When the list was last read and how many apps it had, for `status`.
#[derive(Serialize)]
struct AppsCursor {
    hwm: String,
    apps: usize,
}

pub(super) async fn run(run: &mut PageRun, shutdown: &Shutdown) -> anyhow::Result<()> {
    let limit = run.poller.page_size.to_string();
    let query = [("limit", limit.as_str()), ("includeNonDeleted", "true")];
    let mut shutdown = shutdown.clone();
    let listed = tokio::select! {
        listed = list_all(&run.engine.client, "/api/v1/apps", &query) => listed?,
        () = super::stopped(&mut shutdown) => return Ok(()),
    };
    let listed = listed.ok_or_else(|| anyhow::anyhow!("Okta answered 404 to GET /api/v1/apps"))?;
    let stored = run.engine.with_store(|s| s.app_versions()).await?;
    let mut deltas = Vec::new();
    for (id, raw) in &listed {
        let keys: AppKeys = serde_json::from_str(raw.get())
            .map_err(|e| anyhow::anyhow!("app {id} has no lastUpdated: {e}"))?;
        let now = AppVersion {
            last_updated: keys.last_updated.clone(),
            status: keys.status,
            deleted: false,
        };
        if stored.get(id).is_none_or(|s| !s.deleted && *s != now) {
            deltas.push(Delta::new(
                stream::APPS,
                id,
                &keys.last_updated,
                raw.clone(),
            ));
        }
    }
    let ids: std::collections::BTreeSet<&str> = listed.iter().map(|(id, _)| id.as_str()).collect();
    for (id, _) in stored
        .iter()
        .filter(|(id, v)| !v.deleted && !ids.contains(id.as_str()))
    {
        deltas.push(tombstone(stream::APPS, id));
    }
    let cursor = AppsCursor {
        hwm: okta_time(Utc::now()),
        apps: listed.len(),
    };
    run.commit(deltas, serde_json::to_string(&cursor)?, None)
        .await
}
