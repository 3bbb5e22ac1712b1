//! The `new_users` and `updated_users` pollers: a `search` on `created` or `lastUpdated` from the
//! high-water mark minus the look-back window, sorted ascending, read page by page.

use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::plan::UsersCursor;
use super::{Prefetch, Run, Shutdown};
use crate::sink::Delta;

#[derive(Deserialize)]
struct UserKeys {
    id: String,
    created: Option<String>,
    #[serde(rename = "lastUpdated")]
    last_updated: Option<String>,
}

pub(super) async fn run(run: &mut Run, shutdown: &Shutdown) -> anyhow::Result<()> {
    let stream = run.poller.stream;
    let field = if stream == "new_users" {
        "created"
    } else {
        "lastUpdated"
    };
    let lookback = run.engine.settings.lookback;
    let mut cursor = match run.engine.cursor(stream).await? {
        Some(text) => serde_json::from_str::<UsersCursor>(&text)
            .with_context(|| format!("the stored {stream} cursor is unreadable; reset it with `oktasync cursor reset {stream}`"))?,
        None => UsersCursor::starting_at(run.poller.start.resolve(Utc::now())),
    };
    let search = format!("{field} ge \"{}\"", cursor.query_from(lookback));
    let limit = run.poller.page_size.to_string();
    let query = [
        ("search", search.as_str()),
        ("sortBy", field),
        ("sortOrder", "asc"),
        ("limit", limit.as_str()),
    ];
    tracing::info!(stream, search = %search, "polling users");
    let pages = run.engine.client.pages("/api/v1/users", &query)?;
    let mut prefetch = Prefetch::start(pages);
    let mut shutdown = shutdown.clone();
    while let Some(page) = prefetch.next(&mut shutdown, |_| true).await? {
        let deltas = plan(stream, field, &mut cursor, lookback, page.items)?;
        let position = Some(cursor.hwm.clone());
        run.commit(deltas, serde_json::to_string(&cursor)?, position)
            .await?;
        if *shutdown.borrow() {
            break;
        }
    }
    Ok(())
}

/// The page's users that are new deltas (version `lastUpdated`), moving the cursor past the page.
fn plan(
    stream: &str,
    field: &str,
    cursor: &mut UsersCursor,
    lookback: Duration,
    items: Vec<Box<RawValue>>,
) -> anyhow::Result<Vec<Delta>> {
    let mut keyed = Vec::with_capacity(items.len());
    for raw in items {
        let user: UserKeys =
            serde_json::from_str(raw.get()).context("an Okta user without an id")?;
        let key = if field == "created" {
            &user.created
        } else {
            &user.last_updated
        };
        let key = key
            .clone()
            .with_context(|| format!("user {} has no {field}", user.id))?;
        keyed.push(((user.id, key), user.last_updated.unwrap_or_default(), raw));
    }
    let pairs: Vec<(String, String)> = keyed.iter().map(|(pair, _, _)| pair.clone()).collect();
    let emit = cursor.plan_page(&pairs, lookback);
    let new = keyed.into_iter().zip(emit).filter(|(_, emit)| *emit);
    Ok(new
        .map(|(((id, _), version, raw), _)| Delta::new(stream, &id, &version, raw))
        .collect())
}
