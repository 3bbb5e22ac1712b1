//! Event hooks: create (ACTIVE + UNVERIFIED), list, get, replace, activate, deactivate,
//! delete (INACTIVE only) and verify, which really calls the hook URL with Okta's one-time
//! verification challenge.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use serde_json::Value;

use super::model::Hook;
use super::pipeline::Ctx;
use super::render;
use super::respond::{ApiError, ApiResult, no_content, ok, parse_body};
use super::state::{Shared, World, lock};
use super::util::{Rng, hex_id, mix2, now_ms};

/// The writable parts of a hook, validated as Okta does.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSpec {
    pub name: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub filter: Option<Value>,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub auth: Option<(String, Option<String>)>,
}

/// At most this many event hooks may be active in an org.
pub const MAX_ACTIVE: usize = 25;

/// Whether an event hook may subscribe to `event_type` (Okta's event-hook-eligible tag).
pub fn hook_eligible(event_type: &str) -> bool {
    include_str!("hook_eligible.txt")
        .lines()
        .any(|l| !l.starts_with('#') && l == event_type)
}

/// Okta delivers only over HTTPS; plain HTTP is allowed here to loopback, for local receivers.
fn uri_allowed(uri: &url::Url) -> bool {
    let loopback = match uri.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    uri.scheme() == "https" || uri.scheme() == "http" && loopback
}

/// Refuse one more active hook when the org has [`MAX_ACTIVE`] already.
fn room_for_active(w: &World) -> Result<(), ApiError> {
    if w.org.hooks.iter().filter(|h| h.active).count() >= MAX_ACTIVE {
        return Err(invalid(
            "status",
            "The maximum number of active event hooks (25) has been reached",
        ));
    }
    Ok(())
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::validation(field, format!("{field}: {why}"))
}

fn strings(b: &Value, ptr: &str) -> Vec<String> {
    let items = b
        .pointer(ptr)
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    items.filter_map(|v| v.as_str().map(String::from)).collect()
}

fn header_pairs(b: &Value) -> Vec<(String, String)> {
    let items = b
        .pointer("/channel/config/headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let pair = |h: &Value| {
        Some((
            h.get("key")?.as_str()?.to_string(),
            h.get("value")?.as_str()?.to_string(),
        ))
    };
    items.filter_map(pair).collect()
}

/// `authScheme`: only HEADER; the value is optional on replace.
fn auth_scheme(b: &Value) -> Result<Option<(String, Option<String>)>, ApiError> {
    let Some(a) = b
        .pointer("/channel/config/authScheme")
        .filter(|a| !a.is_null())
    else {
        return Ok(None);
    };
    if a.get("type").and_then(Value::as_str) != Some("HEADER") {
        return Err(invalid(
            "channel.config.authScheme.type",
            "Only HEADER is supported",
        ));
    }
    let key = a
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or("Authorization")
        .to_string();
    Ok(Some((
        key,
        a.get("value").and_then(Value::as_str).map(String::from),
    )))
}

pub fn parse_spec(b: &Value) -> Result<HookSpec, ApiError> {
    let s = |p: &str| b.pointer(p).and_then(Value::as_str);
    let blank = "The field cannot be left blank";
    let name = s("/name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| invalid("name", blank))?;
    if s("/events/type") != Some("EVENT_TYPE") {
        return Err(invalid("events.type", "Only EVENT_TYPE is supported"));
    }
    let events = strings(b, "/events/items");
    if events.is_empty() {
        return Err(invalid("events.items", blank));
    }
    if let Some(e) = events.iter().find(|e| !hook_eligible(e)) {
        return Err(invalid(
            "events.items",
            &format!("{e} is not an event type eligible for event hooks"),
        ));
    }
    if s("/channel/type") != Some("HTTP") || s("/channel/version") != Some("1.0.0") {
        return Err(invalid(
            "channel",
            "channel.type must be HTTP and channel.version 1.0.0",
        ));
    }
    let uri = s("/channel/config/uri").ok_or_else(|| invalid("channel.config.uri", blank))?;
    match url::Url::parse(uri) {
        Err(_) => return Err(invalid("channel.config.uri", "Invalid URI")),
        Ok(u) if !uri_allowed(&u) => {
            return Err(invalid("channel.config.uri", "The URI must use HTTPS"));
        }
        Ok(_) => {}
    }
    super::hook_delivery::check_uri(uri)
        .map_err(|why| ApiError::validation("channel.config.uri", why))?;
    if let Some(filter) = b.pointer("/events/filter").filter(|f| !f.is_null()) {
        super::hook_filter::check(filter)
            .map_err(|why| ApiError::validation("events.filter", why))?;
    }
    Ok(HookSpec {
        name: name.to_string(),
        description: s("/description").map(String::from),
        events,
        filter: b
            .pointer("/events/filter")
            .filter(|f| !f.is_null())
            .cloned(),
        uri: uri.to_string(),
        headers: header_pairs(b),
        auth: auth_scheme(b)?,
    })
}

fn find(w: &mut World, id: &str) -> Result<usize, ApiError> {
    w.org
        .hooks
        .iter()
        .position(|h| h.id == id)
        .ok_or_else(|| ApiError::not_found(id, "EventHook"))
}

fn admin_id(w: &World) -> String {
    w.org.admin_id.clone()
}

pub async fn list(State(s): State<Arc<Shared>>) -> ApiResult {
    let w = lock(&s.world);
    let admin = admin_id(&w);
    ok(Value::Array(
        w.org
            .hooks
            .iter()
            .map(|h| render::hook(h, &s.base_url, &admin))
            .collect(),
    ))
}

pub async fn get(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let mut w = lock(&s.world);
    let i = find(&mut w, &id)?;
    ok(render::hook(&w.org.hooks[i], &s.base_url, &admin_id(&w)))
}

pub async fn create(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    let spec = parse_spec(&parse_body(&body)?.unwrap_or(Value::Null))?;
    let mut w = lock(&s.world);
    room_for_active(&w)?;
    let now = now_ms();
    let id = w.mint_id("who");
    let ent = w.logs.add_ent("EventHook", &id, &spec.name, &spec.name);
    let (auth_key, auth_value) = spec.auth.map(|(k, v)| (Some(k), v)).unwrap_or((None, None));
    w.org.hooks.push(Hook {
        id,
        name: spec.name,
        description: spec.description,
        active: true,
        verified: false,
        created: now,
        last_updated: now,
        events: spec.events,
        filter: spec.filter,
        uri: spec.uri,
        headers: spec.headers,
        auth_key,
        auth_value,
        ent,
    });
    w.emit("event_hook.created", [ent, u32::MAX], &ctx.request_id);
    let admin = admin_id(&w);
    ok(render::hook(
        w.org
            .hooks
            .last()
            .ok_or_else(|| ApiError::not_found("hook", "EventHook"))?,
        &s.base_url,
        &admin,
    ))
}

pub async fn replace(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let spec = parse_spec(&parse_body(&body)?.unwrap_or(Value::Null))?;
    let mut w = lock(&s.world);
    let i = find(&mut w, &id)?;
    let h = &mut w.org.hooks[i];
    let channel_changed = h.uri != spec.uri
        || h.headers != spec.headers
        || spec.auth.as_ref().is_some_and(|a| a.1.is_some());
    h.name = spec.name;
    h.description = spec.description;
    h.events = spec.events;
    h.filter = spec.filter;
    h.uri = spec.uri;
    h.headers = spec.headers;
    if let Some((k, v)) = spec.auth {
        h.auth_key = Some(k);
        h.auth_value = v.or(h.auth_value.take());
    }
    if channel_changed {
        h.verified = false;
    }
    h.last_updated = now_ms();
    let ent = h.ent;
    w.emit("event_hook.updated", [ent, u32::MAX], &ctx.request_id);
    ok(render::hook(&w.org.hooks[i], &s.base_url, &admin_id(&w)))
}

pub async fn delete(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let i = find(&mut w, &id)?;
    if w.org.hooks[i].active {
        return Err(ApiError::validation(
            "status",
            "status: An ACTIVE event hook cannot be deleted; deactivate it first",
        ));
    }
    let h = w.org.hooks.remove(i);
    w.emit("event_hook.deleted", [h.ent, u32::MAX], &ctx.request_id);
    no_content()
}

pub async fn lifecycle(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, op)): Path<(String, String)>,
) -> ApiResult {
    if op == "verify" {
        return verify(s, ctx, id).await;
    }
    let active = match op.as_str() {
        "activate" => true,
        "deactivate" => false,
        _ => return Err(ApiError::path_not_found()),
    };
    let mut w = lock(&s.world);
    let i = find(&mut w, &id)?;
    if active && !w.org.hooks[i].active {
        room_for_active(&w)?;
    }
    let h = &mut w.org.hooks[i];
    h.active = active;
    h.last_updated = now_ms();
    let ent = h.ent;
    w.emit(
        if active {
            "event_hook.activated"
        } else {
            "event_hook.deactivated"
        },
        [ent, u32::MAX],
        &ctx.request_id,
    );
    ok(render::hook(&w.org.hooks[i], &s.base_url, &admin_id(&w)))
}

/// Send Okta's verification GET once (plus one retry) and check the echoed challenge.
pub async fn challenge(
    uri: &str,
    headers: &[(String, String)],
    auth: Option<(String, String)>,
    value: &str,
) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    else {
        return false;
    };
    for _ in 0..2 {
        let mut rb = client
            .get(uri)
            .header("X-Okta-Verification-Challenge", value)
            .header("Accept", "application/json");
        for (k, v) in headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some((k, v)) = &auth {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let Ok(resp) = rb.send().await else { continue };
        if !resp.status().is_success() {
            continue;
        }
        let body: Option<Value> = resp.json().await.ok();
        return body
            .and_then(|b| {
                b.get("verification")
                    .and_then(Value::as_str)
                    .map(|v| v == value)
            })
            .unwrap_or(false);
    }
    false
}

async fn verify(s: Arc<Shared>, ctx: Ctx, id: String) -> ApiResult {
    let (uri, headers, auth) = {
        let mut w = lock(&s.world);
        let i = find(&mut w, &id)?;
        let h = &w.org.hooks[i];
        let auth = h.auth_key.clone().zip(h.auth_value.clone());
        (h.uri.clone(), h.headers.clone(), auth)
    };
    let value = hex_id(&mut Rng::new(mix2(s.seed, now_ms() as u64)), 16);
    if !challenge(&uri, &headers, auth, &value).await {
        return Err(ApiError::validation(
            "verification",
            "verification: Event hook verification failed; the endpoint did not echo the challenge",
        ));
    }
    let mut w = lock(&s.world);
    let i = find(&mut w, &id)?;
    let h = &mut w.org.hooks[i];
    h.verified = true;
    h.last_updated = now_ms();
    let ent = h.ent;
    w.emit("event_hook.verified", [ent, u32::MAX], &ctx.request_id);
    ok(render::hook(&w.org.hooks[i], &s.base_url, &admin_id(&w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({"name": "sync", "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "http://127.0.0.1:1/h",
            "headers": [{"key": "X-A", "value": "b"}], "authScheme": {"type": "HEADER", "key": "Authorization", "value": "s"}}}})
    }

    #[test]
    fn hooks_deliver_over_https_or_to_loopback_and_only_eligible_event_types() {
        for uri in [
            "https://hooks.example.com/okta",
            "http://127.0.0.1:8080/h",
            "http://localhost/h",
            "http://[::1]:9/h",
        ] {
            let mut b = body();
            b["channel"]["config"]["uri"] = json!(uri);
            assert!(parse_spec(&b).is_ok(), "{uri}");
        }
        assert!(hook_eligible("user.lifecycle.delete.initiated"));
        assert!(!hook_eligible("user.lifecycle.delete.completed"));
        assert!(!hook_eligible(
            "# The System Log event types Okta lets an event hook subscribe to: those its Event Types"
        ));
    }

    #[test]
    fn hook_bodies_are_validated_like_okta() {
        let spec = parse_spec(&body()).unwrap();
        assert_eq!(spec.auth, Some(("Authorization".into(), Some("s".into()))));
        assert_eq!(spec.headers, vec![("X-A".into(), "b".into())]);
        let mutations: [(&str, Value); 8] = [
            ("/name", json!("")),
            ("/events/type", json!("OTHER")),
            ("/events/items", json!([])),
            ("/events/items", json!(["user.lifecycle.delete.completed"])),
            (
                "/channel/config/uri",
                json!("http://hooks.example.com/okta"),
            ),
            ("/channel/config/uri", json!("http://10.0.0.1/okta")),
            ("/channel/version", json!("2.0.0")),
            ("/channel/config/authScheme/type", json!("BASIC")),
        ];
        for (ptr, v) in mutations {
            let mut b = body();
            if let Some(slot) = b.pointer_mut(ptr) {
                *slot = v;
            }
            assert_eq!(parse_spec(&b).unwrap_err().code, "E0000001", "{ptr}");
        }
    }
}
