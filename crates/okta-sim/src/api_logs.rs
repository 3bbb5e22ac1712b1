//! `GET /api/v1/logs`: polling queries (no `until`, ascending) walk events in persistence
//! order and always return a `next` link; bounded or descending queries walk `published` and
//! end. Also validates `since`, `after`, `filter` and `q` the way Okta does. With `after`,
//! the cursor decides where a page starts: `since` repeated beside it (as Okta's SDKs send
//! it) is accepted and changes nothing.

use std::sync::Arc;

use axum::extract::{RawQuery, State};

use super::cursor;
use super::log_json;
use super::log_view::{self, View};
use super::logs::{Bounded, Event, Pos};
use super::respond::{ApiError, ApiResult, Params, page_body};
use super::state::{Shared, lock};
use super::util::{now_ms, parse_ms};

const DAY: i64 = 86_400_000;
const PATH: &str = "/api/v1/logs";

fn scim_error(cause: impl Into<String>) -> ApiError {
    ApiError::new(400, "E0000053", "Invalid SCIM filter.").cause(cause)
}

fn time_param(p: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    match p.get(name) {
        None | Some("") => Ok(None),
        Some(v) => parse_ms(v)
            .map(Some)
            .ok_or_else(|| scim_error(format!("{name}: invalid date {v:?}"))),
    }
}

fn pos_cursor(tag: &str, c: &str) -> Result<(Pos, Option<i64>), ApiError> {
    let bad = || ApiError::validation("after", "after: The cursor is not valid for this query");
    let f = cursor::decode(tag, c).ok_or_else(bad)?;
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok());
    let (t, seq) = (num(0).ok_or_else(bad)?, num(1).ok_or_else(bad)?);
    Ok(((t, seq as u32), num(2)))
}

/// The parsed query.
struct LogQuery {
    since: Option<i64>,
    until: Option<i64>,
    descending: bool,
    limit: usize,
}

fn parse_query(p: &Params, now: i64) -> Result<LogQuery, ApiError> {
    let since = time_param(p, "since")?;
    let until = time_param(p, "until")?;
    if since.is_some_and(|s| s < now - 180 * DAY) {
        return Err(ApiError::new(400, "E0000053", "Invalid SCIM filter.")
            .cause("since parameter is over 180 days prior to the current day"));
    }
    let descending = match p.get("sortOrder") {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(o) => {
            return Err(ApiError::validation(
                "sortOrder",
                format!("sortOrder: invalid value {o:?}"),
            ));
        }
    };
    Ok(LogQuery {
        since,
        until,
        descending,
        limit: p.limit(100, 1000)?,
    })
}

pub async fn list(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let now = now_ms();
    let q = parse_query(&p, now)?;
    let filter = p
        .get("filter")
        .map(log_view::compile_filter)
        .transpose()
        .map_err(scim_error)?;
    let words = log_view::keywords(p.get("q").unwrap_or("")).map_err(scim_error)?;
    let mut w = lock(&s.world);
    w.logs.flush(now);
    let store = &w.logs;
    let keep = |e: &Event| View { store, ev: e }.matches(filter.as_ref(), &words);
    let retention = now - 90 * DAY;
    let (events, next) = if q.until.is_none() && !q.descending {
        let start = match p.get("after") {
            Some(c) => pos_cursor("p", c)?.0,
            None => (q.since.unwrap_or(now - 7 * DAY).max(retention), 0),
        };
        let (events, next) = store.poll(start, q.limit, &keep);
        let c = cursor::encode("p", &[&next.0.to_string(), &next.1.to_string()]);
        (events, Some(p.with_after(&c, &["since"])))
    } else {
        let until = q.until.unwrap_or(now);
        let (start, since) = match p.get("after") {
            Some(c) => {
                let (pos, since) = pos_cursor("b", c)?;
                (Some(pos), since.unwrap_or(until - 7 * DAY))
            }
            None => (None, q.since.unwrap_or(until - 7 * DAY)),
        };
        let b = Bounded {
            since: since.max(retention),
            until,
            descending: q.descending,
            start,
            limit: q.limit,
        };
        let (events, more) = store.bounded(&b, &keep);
        let next = more.map(|(t, seq)| {
            let c = cursor::encode("b", &[&t.to_string(), &seq.to_string(), &since.to_string()]);
            p.with_after(&c, &["since"])
        });
        (events, next)
    };
    let body = log_json::page(store, &events);
    page_body(&s.base_url, PATH, raw.as_deref(), body, next)
}
