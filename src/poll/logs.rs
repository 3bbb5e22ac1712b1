//! The `system_log` poller, by Okta's polling-query protocol: one query started from `since`,
//! then only `next` links; the last `next` link is the durable cursor, and an empty page means
//! caught up. The same stored link is requested again on the next run.

use anyhow::{Context as _, bail};
use chrono::Utc;
use serde::Deserialize;

use super::plan::{LogCursor, clamp_log_start, okta_time};
use super::{Prefetch, Run, Shutdown};
use crate::sink::Delta;

#[derive(Deserialize)]
struct EventKeys {
    uuid: String,
    published: String,
}

pub(super) async fn run(run: &mut Run, shutdown: &Shutdown) -> anyhow::Result<()> {
    let stream = run.poller.stream;
    let (filter, q) = (run.poller.filter.clone(), run.poller.q.clone());
    let mut cursor = match run.engine.cursor(stream).await? {
        Some(text) => serde_json::from_str::<LogCursor>(&text)
            .with_context(|| format!("the stored {stream} cursor is unreadable; reset it with `oktasync cursor reset {stream}`"))?,
        None => LogCursor { filter: filter.clone(), q: q.clone(), ..LogCursor::default() },
    };
    if cursor.filter != filter || cursor.q != q {
        bail!(
            "pollers.system_log filter or q changed since the cursor was saved (was filter={:?} q={:?}); \
             run `oktasync cursor reset system_log` to start a new query from the configured start",
            cursor.filter,
            cursor.q
        );
    }
    let first = if cursor.next.is_empty() {
        first_url(run)?
    } else {
        cursor.next.clone()
    };
    let pages = run.engine.client.pages_from(&first)?;
    let mut prefetch = Prefetch::start(pages);
    let mut shutdown = shutdown.clone();
    while let Some(page) = prefetch
        .next(&mut shutdown, |p| !p.items.is_empty())
        .await?
    {
        let caught_up = page.items.is_empty();
        let mut deltas = Vec::with_capacity(page.items.len());
        for raw in page.items {
            let event: EventKeys = serde_json::from_str(raw.get())
                .context("a System Log event without uuid or published")?;
            cursor.last_published = Some(event.published.clone());
            deltas.push(Delta::new(stream, &event.uuid, &event.published, raw));
        }
        match &page.next {
            Some(next) => cursor.next = next.to_string(),
            None => tracing::warn!(
                stream,
                "Okta sent no next link on a polling query; the same page will be read again next run"
            ),
        }
        let position = cursor.last_published.clone();
        run.commit(deltas, serde_json::to_string(&cursor)?, position)
            .await?;
        if caught_up || page.next.is_none() || *shutdown.borrow() {
            break;
        }
    }
    Ok(())
}

/// The URL that starts a new polling query: `since` the configured start (clamped to Okta's
/// retention), ascending, with the configured filter and keywords.
fn first_url(run: &Run) -> anyhow::Result<String> {
    let now = Utc::now();
    let (since, clamped) = clamp_log_start(run.poller.start.resolve(now), now);
    if clamped {
        tracing::warn!(stream = run.poller.stream, since = %okta_time(since), "start is older than Okta keeps events (90 days): starting at the oldest retained");
    }
    let mut query = vec![
        ("since", okta_time(since)),
        ("sortOrder", "ASCENDING".to_owned()),
        ("limit", run.poller.page_size.to_string()),
    ];
    query.extend(run.poller.filter.clone().map(|f| ("filter", f)));
    query.extend(run.poller.q.clone().map(|q| ("q", q)));
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(run.engine.client.url("/api/v1/logs", &query)?.to_string())
}
