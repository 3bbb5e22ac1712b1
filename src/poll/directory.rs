//! What the directory pollers share: their typed cursors read from the state database, the small
//! bodies of membership deltas and tombstones, a listing read to its end, and Okta's 404 told
//! apart from other errors.

use anyhow::Context as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::page_run::PageRun;
use crate::okta::{OktaClient, OktaError};
use crate::sink::{Delta, Op, utc_millis};

/// The stored cursor of the run's stream, or `None` before its first commit.
pub(super) async fn load_cursor<T: DeserializeOwned>(run: &PageRun) -> anyhow::Result<Option<T>> {
    let stream = run.poller.stream;
    match run.engine.cursor(stream).await? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).with_context(|| {
            format!(
                "the stored {stream} cursor is unreadable; reset it with `oktasync cursor reset {stream}`"
            )
        }),
    }
}

/// Delivers and commits again the page a crash left staged (it may have reached some sinks and
/// not the state database), so the next diff starts from what the sinks were told.
pub(super) async fn finish_pending(run: &mut PageRun) -> anyhow::Result<()> {
    let stream = run.poller.stream;
    let pending = run.engine.with_store(move |s| s.pending(stream)).await?;
    if pending.is_empty() {
        return Ok(());
    }
    tracing::info!(
        stream,
        count = pending.len(),
        "delivering again the page a stop left uncommitted"
    );
    let cursor = run
        .engine
        .cursor(stream)
        .await?
        .unwrap_or_else(|| "{}".into());
    run.commit(pending, cursor, None).await
}

/// True when Okta said the object does not exist (any more).
pub(super) fn is_not_found(e: &OktaError) -> bool {
    matches!(e, OktaError::Api(api) if api.status == 404)
}

/// A tombstone: `op: delete` with `{"id": …}` as data, versioned now.
pub(super) fn tombstone(stream: &str, id: &str) -> Delta {
    let data = serde_json::json!({ "id": id }).to_string();
    let now = utc_millis(chrono::Utc::now());
    Delta::new(stream, id, &now, raw(data)).with_op(Op::Delete)
}

/// Which side of a membership or assignment delta names the group or app.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owner {
    Group,
    App,
}

/// A membership (`"<group>/<user>"`) or assignment (`"<app>/<user>"`) delta whose data is just
/// the two ids (and the scope an assignment had, when it is known).
pub(super) fn pair(owner: Owner, ids: (&str, &str), scope: Option<&str>, version: &str) -> Delta {
    let (stream, key) = match owner {
        Owner::Group => (crate::sink::stream::GROUP_MEMBERS, "groupId"),
        Owner::App => (crate::sink::stream::APP_USERS, "appId"),
    };
    let mut data = serde_json::json!({ key: ids.0, "userId": ids.1 });
    if let Some(scope) = scope {
        data["scope"] = scope.into();
    }
    let id = format!("{}/{}", ids.0, ids.1);
    Delta::new(stream, &id, version, raw(data.to_string()))
}

fn raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).unwrap_or_else(|_| unreachable!("serde_json wrote valid JSON"))
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// Every item of `GET path?query`, page by page; `None` when Okta answers 404.
pub(super) async fn list_all(
    client: &OktaClient,
    path: &str,
    query: &[(&str, &str)],
) -> anyhow::Result<Option<Vec<(String, Box<RawValue>)>>> {
    let mut pages = client.pages(path, query)?;
    let mut items = Vec::new();
    loop {
        let page = match pages.next_page().await {
            Ok(Some(page)) => page,
            Ok(None) => return Ok(Some(items)),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        for raw in page.items {
            let id: Id = serde_json::from_str(raw.get())
                .with_context(|| format!("an item of {path} without an id"))?;
            items.push((id.id, raw));
        }
    }
}
