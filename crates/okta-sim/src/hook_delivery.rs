//! Event hook deliveries, made the way Okta makes them: every System Log event written after a
//! hook is ACTIVE and VERIFIED, of one of its event types and passing its filter, is POSTed to
//! its URL with its headers and secret, in batches of up to `batch_size` events, with a 3 s
//! timeout and one retry after a timeout, a connection failure or a 5xx (never after a 4xx).
//! `POST /__sim/hooks/settings` makes deliveries arrive out of order or twice; every attempt is
//! listed at `GET /__sim/hooks/deliveries`, the truth tests compare a receiver with.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog::KINDS;
use super::hook_filter;
use super::log_json;
use super::logs::{Event, LogStore, Pos};
use super::model::Hook;
use super::respond::{ApiError, parse_body};
use super::state::{Shared, lock};
use super::util::{fmt_ms, now_ms, uuid_from};

/// How often new System Log events are looked for.
const TICK: Duration = Duration::from_millis(50);
/// Okta's delivery timeout.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts kept for `GET /__sim/hooks/deliveries`.
const MAX_ATTEMPTS: usize = 5000;

/// How deliveries behave; tests change it with `POST /__sim/hooks/settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverySettings {
    /// Send each tick's batches newest first, and each batch's events newest first.
    pub reorder: bool,
    /// Send every delivery twice (the same `eventId`), as Okta may.
    pub duplicate: bool,
    /// Events per delivery, at most.
    pub batch_size: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            reorder: false,
            duplicate: false,
            batch_size: 50,
        }
    }
}

/// One POST to a hook, as `GET /__sim/hooks/deliveries` lists it.
#[derive(Debug, Clone, Serialize)]
struct Attempt {
    hook_id: String,
    event_id: String,
    attempt: u8,
    uuids: Vec<String>,
    status: Option<u16>,
    error: Option<String>,
    at: String,
}

/// The deliverer's state: where in the log it is, its settings and what it did.
#[derive(Debug, Default)]
pub struct Hub {
    position: Mutex<Option<Pos>>,
    settings: Mutex<DeliverySettings>,
    attempts: Mutex<VecDeque<Attempt>>,
    sent: Mutex<u64>,
}

/// One POST body's worth of events for one hook.
struct Batch {
    hook_id: String,
    uri: String,
    headers: Vec<(String, String)>,
    events: Vec<Value>,
}

/// A hook URL Okta would deliver to: HTTPS, or plain HTTP on loopback (for tests and demos).
pub fn check_uri(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|_| "channel.config.uri: Invalid URI".to_owned())?;
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("channel.config.uri: The URI must use HTTPS".into()),
    }
}

/// Starts the deliverer; it stops once the simulator is gone.
pub fn start(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    tokio::spawn(async move {
        let Ok(client) = reqwest::Client::builder().timeout(TIMEOUT).build() else {
            return;
        };
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            let Some(s) = weak.upgrade() else { return };
            let batches = collect(&s);
            if !batches.is_empty() {
                tokio::spawn(send_all(client.clone(), s, batches));
            }
        }
    });
}

/// The first position after every event visible now.
fn end_of(logs: &LogStore) -> Pos {
    logs.visible()
        .last()
        .map_or((0, 0), |e| (e.persisted, e.seq + 1))
}

/// The batches for the events written since the last tick.
fn collect(s: &Shared) -> Vec<Batch> {
    let settings = lock(&s.hooks.settings).clone();
    let mut position = lock(&s.hooks.position);
    let mut w = lock(&s.world);
    w.logs.flush(now_ms());
    let start = position.unwrap_or_else(|| end_of(&w.logs));
    let (page, next) = w.logs.poll(start, usize::MAX, &|_| true);
    *position = Some(next);
    let hooks: Vec<_> = w
        .org
        .hooks
        .iter()
        .filter(|h| h.active && h.verified)
        .collect();
    let wanted: Vec<&Event> = page
        .into_iter()
        .filter(|e| {
            let kind = KINDS[e.kind as usize].event_type;
            hooks.iter().any(|h| h.events.iter().any(|t| t == kind))
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let rendered: Vec<Value> =
        serde_json::from_str(&log_json::page(&w.logs, &wanted)).unwrap_or_default();
    let size = settings.batch_size.max(1);
    hooks
        .into_iter()
        .flat_map(|hook| batches_for(hook, &rendered, size))
        .collect()
}

/// The hook's share of `rendered` (its types, through its filter), `size` events per batch.
fn batches_for(hook: &Hook, rendered: &[Value], size: usize) -> Vec<Batch> {
    let events: Vec<Value> = rendered
        .iter()
        .filter(|ev| {
            let kind = ev["eventType"].as_str().unwrap_or_default();
            hook.events.iter().any(|t| t == kind) && hook_filter::passes(hook.filter.as_ref(), ev)
        })
        .cloned()
        .collect();
    let mut headers = hook.headers.clone();
    if let (Some(k), Some(v)) = (&hook.auth_key, &hook.auth_value) {
        headers.push((k.clone(), v.clone()));
    }
    events
        .chunks(size)
        .map(|chunk| Batch {
            hook_id: hook.id.clone(),
            uri: hook.uri.clone(),
            headers: headers.clone(),
            events: chunk.to_vec(),
        })
        .collect()
}

async fn send_all(client: reqwest::Client, s: Arc<Shared>, mut batches: Vec<Batch>) {
    let settings = lock(&s.hooks.settings).clone();
    if settings.reorder {
        batches.reverse();
        batches.iter_mut().for_each(|b| b.events.reverse());
    }
    for batch in &batches {
        let event_id = {
            let mut sent = lock(&s.hooks.sent);
            *sent += 1;
            uuid_from(*sent, s.seed ^ 0xD311)
        };
        let copies = if settings.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            deliver(&client, &s, batch, &event_id).await;
        }
    }
}

/// One delivery: a POST, and one more after a timeout, a connection failure or a 5xx.
async fn deliver(client: &reqwest::Client, s: &Shared, batch: &Batch, event_id: &str) {
    let body = json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
        "source": format!("{}/api/v1/eventHooks/{}", s.base_url, batch.hook_id),
        "eventId": event_id, "data": {"events": batch.events},
        "eventTime": fmt_ms(now_ms()), "contentType": "application/json",
    });
    let uuids: Vec<String> = batch
        .events
        .iter()
        .filter_map(|e| e["uuid"].as_str().map(String::from))
        .collect();
    for attempt in 1..=2u8 {
        let (status, error) = match check_uri(&batch.uri) {
            Err(why) => (None, Some(why)),
            Ok(()) => post(client, batch, &body).await,
        };
        let retry = check_uri(&batch.uri).is_ok() && status.is_none_or(|code| code >= 500);
        let record = Attempt {
            hook_id: batch.hook_id.clone(),
            event_id: event_id.to_owned(),
            attempt,
            uuids: uuids.clone(),
            status,
            error,
            at: fmt_ms(now_ms()),
        };
        let mut attempts = lock(&s.hooks.attempts);
        if attempts.len() == MAX_ATTEMPTS {
            attempts.pop_front();
        }
        attempts.push_back(record);
        if !retry {
            return;
        }
    }
}

async fn post(
    client: &reqwest::Client,
    batch: &Batch,
    body: &Value,
) -> (Option<u16>, Option<String>) {
    let mut request = client
        .post(&batch.uri)
        .header("Accept", "application/json")
        .json(body);
    for (k, v) in &batch.headers {
        request = request.header(k.as_str(), v.as_str());
    }
    match request.send().await {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) if e.is_timeout() => (None, Some("timed out after 3 s".into())),
        Err(e) => (None, Some(format!("cannot connect: {e}"))),
    }
}

#[derive(Deserialize)]
struct SettingsPatch {
    reorder: Option<bool>,
    duplicate: Option<bool>,
    batch_size: Option<usize>,
}

/// `POST /__sim/hooks/settings`: change how deliveries behave; answers the settings now.
pub async fn settings(State(s): State<Arc<Shared>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let patch: SettingsPatch = match parse_body(&body)? {
        Some(v) => {
            serde_json::from_value(v).map_err(|e| ApiError::validation("body", e.to_string()))?
        }
        None => SettingsPatch {
            reorder: None,
            duplicate: None,
            batch_size: None,
        },
    };
    let mut st = lock(&s.hooks.settings);
    st.reorder = patch.reorder.unwrap_or(st.reorder);
    st.duplicate = patch.duplicate.unwrap_or(st.duplicate);
    st.batch_size = patch.batch_size.unwrap_or(st.batch_size).clamp(1, 1000);
    Ok(Json(json!(*st)))
}

/// `GET /__sim/hooks/deliveries`: every delivery attempt, oldest first.
pub async fn deliveries(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(*lock(&s.hooks.attempts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_urls_must_be_https_except_on_loopback() {
        for (uri, ok) in [
            ("https://hooks.example.com/okta", true),
            ("http://127.0.0.1:8088/hook", true),
            ("http://localhost:8088/hook", true),
            ("http://[::1]:8088/hook", true),
            ("http://hooks.example.com/okta", false),
            ("http://10.0.0.5/hook", false),
            ("ftp://hooks.example.com/", false),
            ("not a url", false),
        ] {
            assert_eq!(check_uri(uri).is_ok(), ok, "{uri}");
        }
    }
}
