//! The path every `/api/v1` request takes before its handler, in Okta's order: record and
//! count it, enforce concurrency, authenticate (API token or OAuth access token) and check
//! the token's scopes, demand a length, apply the rate-limit bucket, serve a scripted
//! response or an injected fault (half the failed writes applied first, their answer lost, as
//! can happen on Okta), then stamp the common headers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::limits::{Bucket, Decision};
use super::listener::ConnHandle;
use super::oauth::{self, Denial};
use super::respond::{ApiError, json_body};
use super::state::{Recorded, Scripted, Shared, lock};
use super::util::{Rng, mix2, now_ms, okta_id};

pub const MAX_BODY: usize = 1 << 20;

/// Per-request facts handlers need.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
}

/// What fault injection does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Internal,
    BadGateway,
    Unavailable,
    Slow(u64),
    Truncate,
    Drop,
}

/// Whether a write that fails with `f` is applied before the failure (as on Okta, where a
/// write can succeed and its answer be lost): half of the 500s, 502s, 503s and dropped
/// connections, decided from the seed and the request number alone.
pub fn applied_anyway(seed: u64, n: u64, f: Fault, method: &Method) -> bool {
    let write = matches!(*method, Method::POST | Method::PUT | Method::DELETE);
    let lossy = matches!(
        f,
        Fault::Internal | Fault::BadGateway | Fault::Unavailable | Fault::Drop
    );
    write && lossy && mix2(seed ^ 0xA991, n).is_multiple_of(2)
}

/// Decide, from the seed and the request number alone, whether and how a request fails.
pub fn fault_for(seed: u64, n: u64, rate: f64) -> Option<Fault> {
    let h = mix2(seed ^ 0xFA17, n);
    if ((h >> 11) as f64 / (1u64 << 53) as f64) >= rate {
        return None;
    }
    Some(match mix2(h, 1) % 100 {
        0..=29 => Fault::Internal,
        30..=44 => Fault::BadGateway,
        45..=59 => Fault::Unavailable,
        60..=74 => Fault::Slow(1000 + mix2(h, 2) % 1000),
        75..=89 => Fault::Truncate,
        _ => Fault::Drop,
    })
}

/// The route template used as a counter key: ids become placeholders.
pub fn route_template(path: &str) -> String {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return path.to_string();
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let keep_id = matches!(segs.first(), Some(&"meta"));
    let out: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match i {
            1 if !keep_id => "{id}",
            3 if matches!(segs.get(2), Some(&"users") | Some(&"factors")) => "{subId}",
            _ => s,
        })
        .collect();
    format!("/api/v1/{}", out.join("/"))
}

fn html(status: u16, title: &str) -> Response {
    let body = format!(
        "<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n<center><h1>{status} {title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        body,
    )
        .into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

pub fn record(
    s: &Shared,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) {
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    };
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let key = format!("{} {}", method, route_template(uri.path()));
    let mut c = lock(&s.control);
    c.requests_total += 1;
    *c.requests.entry(key).or_default() += 1;
    c.record(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body,
    });
}

fn set(h: &mut HeaderMap, name: &'static str, value: &str, overwrite: bool) {
    if let Ok(v) = HeaderValue::from_str(value) {
        let name = HeaderName::from_static(name);
        if overwrite || !h.contains_key(&name) {
            h.insert(name, v);
        }
    }
}

/// Add Date, request id and rate-limit headers unless the response already has them.
pub fn stamp(mut r: Response, rid: &str, d: Decision) -> Response {
    let h = r.headers_mut();
    set(
        h,
        "date",
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
        false,
    );
    set(h, "x-okta-request-id", rid, false);
    set(h, "x-rate-limit-limit", &d.limit.to_string(), false);
    set(h, "x-rate-limit-remaining", &d.remaining.to_string(), false);
    set(h, "x-rate-limit-reset", &d.reset.to_string(), false);
    r
}

fn scripted(sc: &Scripted) -> Response {
    let mut r = match &sc.body {
        Value::String(s) => s.clone().into_response(),
        Value::Null => Body::empty().into_response(),
        v => json_body(v),
    };
    *r.status_mut() = StatusCode::from_u16(sc.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in &sc.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// One request that fault injection hit.
struct Faulted<'a> {
    fault: Fault,
    /// Run the handler (and so apply a write) before failing.
    apply_first: bool,
    conn: &'a ConnHandle,
}

async fn apply_fault(s: &Shared, hit: Faulted<'_>, req: Request, next: Next) -> Response {
    let (f, conn) = (hit.fault, hit.conn);
    if hit.apply_first {
        let applied = next.run(req).await.status().is_success();
        let mut c = lock(&s.control);
        c.faults += 1;
        c.faults_applied += u64::from(applied);
        return failure(f, conn);
    }
    lock(&s.control).faults += 1;
    match f {
        Fault::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Fault::Truncate => {
            let r = next.run(req).await;
            let (parts, body) = r.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            conn.truncate_after(bytes.len() / 2);
            let mut r = Response::from_parts(parts, Body::from(bytes.clone()));
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            r
        }
        _ => failure(f, conn),
    }
}

/// The answer of a lossy fault: an error page, or a connection closed without an answer.
fn failure(f: Fault, conn: &ConnHandle) -> Response {
    match f {
        Fault::BadGateway => html(502, "Bad Gateway"),
        Fault::Unavailable => html(503, "Service Temporarily Unavailable"),
        Fault::Drop => {
            conn.drop_connection();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        _ => ApiError::new(500, "E0000009", "Internal Server Error").into_response(),
    }
}

/// Why a request was turned away before its handler.
#[derive(Debug)]
enum Refusal {
    TooMany,
    /// No valid credentials, or a token without the scope the operation needs.
    Denied(Box<Denial>),
    LengthRequired,
}

impl Refusal {
    fn response(self) -> Response {
        let summary = "API call exceeded rate limit due to too many requests.";
        match self {
            Refusal::TooMany => ApiError::new(429, "E0000047", summary).into_response(),
            Refusal::Denied(d) => d.response(),
            Refusal::LengthRequired => html(411, "Length Required"),
        }
    }
}

/// Concurrency, authentication, the length rule and the rate-limit bucket, in Okta's order.
/// Ok = the bucket's decision for an admitted request; Err = the refusal to send.
fn admit(
    s: &Shared,
    parts: &Parts,
    in_flight: u32,
    now: i64,
) -> Result<Decision, (Refusal, Decision)> {
    let settings = s.settings();
    let bucket = Bucket::of(parts.method.as_str(), parts.uri.path());
    let limit = settings.limits.of(bucket);
    let peek = lock(&s.control)
        .limiter
        .peek(bucket, now, limit, s.rate_window_ms);
    if settings.concurrency_limit.is_some_and(|c| in_flight > c) {
        lock(&s.control).rate_limited += 1;
        let reset = now.div_euclid(1000) + 1;
        return Err((
            Refusal::TooMany,
            Decision {
                allowed: false,
                limit: 0,
                remaining: 0,
                reset,
            },
        ));
    }
    if let Err(d) = oauth::admit(s, parts, now) {
        return Err((Refusal::Denied(Box::new(d)), peek));
    }
    let has_len = parts.headers.contains_key(header::CONTENT_LENGTH)
        || parts.headers.contains_key(header::TRANSFER_ENCODING);
    if matches!(parts.method, Method::POST | Method::PUT) && !has_len {
        return Err((Refusal::LengthRequired, peek));
    }
    let d = lock(&s.control)
        .limiter
        .check(bucket, now, limit, s.rate_window_ms);
    if !d.allowed {
        lock(&s.control).rate_limited += 1;
        return Err((Refusal::TooMany, d));
    }
    Ok(d)
}

pub async fn play(sc: Scripted, conn: &ConnHandle) -> Response {
    if sc.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.delay_ms)).await;
    }
    if sc.drop {
        conn.drop_connection();
    }
    scripted(&sc)
}

/// A 27-character request id, unique per request.
pub fn request_id(seed: u64, n: u64) -> String {
    okta_id("", &mut Rng::new(mix2(seed, n))) + &okta_id("", &mut Rng::new(mix2(n, seed)))[..7]
}

/// The middleware for every API request.
pub async fn api(
    State(s): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
    next: Next,
) -> Response {
    let n = s
        .request_no
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let rid = request_id(s.seed, n);
    let now = now_ms();
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let e = ApiError::new(
            413,
            "E0000001",
            "Api validation failed: request body is too large",
        );
        return stamp(
            e.into_response(),
            &rid,
            Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset: now / 1000 + 1,
            },
        );
    };
    record(&s, &parts.method, &parts.uri, &parts.headers, &bytes);
    lock(&s.world).settle_transitions(now);
    let (_guard, in_flight) = s.enter();
    let d = match admit(&s, &parts, in_flight, now) {
        Ok(d) => d,
        Err((r, d)) => return stamp(r.response(), &rid, d),
    };
    let script = lock(&s.control).take_script(parts.uri.path());
    if let Some(sc) = script {
        return stamp(play(sc, &conn).await, &rid, d);
    }
    parts.extensions.insert(Ctx {
        request_id: rid.clone(),
    });
    let req = Request::from_parts(parts, Body::from(bytes));
    let r = match fault_for(s.seed, n, s.settings().fail_rate) {
        Some(fault) => {
            let apply_first = applied_anyway(s.seed, n, fault, req.method());
            let hit = Faulted {
                fault,
                apply_first,
                conn: &conn,
            };
            apply_fault(&s, hit, req, next).await
        }
        None => next.run(req).await,
    };
    stamp(r, &rid, d)
}

/// Unknown paths under `/api/v1`: 404 E0000008.
pub async fn not_found() -> Response {
    ApiError::path_not_found().into_response()
}

/// A known path with a method it does not take: 405 E0000022.
pub async fn method_not_allowed() -> Response {
    ApiError::new(
        405,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_keys_replace_ids_with_placeholders() {
        let cases = [
            ("/api/v1/users", "/api/v1/users"),
            ("/api/v1/users/00u1", "/api/v1/users/{id}"),
            (
                "/api/v1/users/00u1/lifecycle/activate",
                "/api/v1/users/{id}/lifecycle/activate",
            ),
            (
                "/api/v1/groups/00g1/users/00u1",
                "/api/v1/groups/{id}/users/{subId}",
            ),
            (
                "/api/v1/users/00u1/factors/mbl1",
                "/api/v1/users/{id}/factors/{subId}",
            ),
            ("/api/v1/meta/types/user", "/api/v1/meta/types/user"),
            (
                "/api/v1/eventHooks/who1/lifecycle/verify",
                "/api/v1/eventHooks/{id}/lifecycle/verify",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(route_template(p), want);
        }
    }

    #[test]
    fn half_the_lossy_failures_of_writes_are_applied_and_never_those_of_reads() {
        let (post, get) = (Method::POST, Method::GET);
        let applied = (0..1000)
            .filter(|n| applied_anyway(7, *n, Fault::Internal, &post))
            .count();
        assert!((400..600).contains(&applied), "{applied}");
        assert!((0..1000).all(|n| !applied_anyway(7, n, Fault::Drop, &get)));
        assert!((0..1000).all(|n| !applied_anyway(7, n, Fault::Truncate, &post)));
        assert!((0..1000).any(|n| applied_anyway(7, n, Fault::Drop, &Method::DELETE)));
    }

    #[test]
    fn faults_depend_only_on_seed_and_request_number_and_follow_the_rate() {
        assert_eq!(fault_for(7, 3, 0.5), fault_for(7, 3, 0.5));
        assert!((0..1000).all(|n| fault_for(7, n, 0.0).is_none()));
        assert!((0..1000).all(|n| fault_for(7, n, 1.0).is_some()));
        let hits = (0..10_000)
            .filter(|n| fault_for(7, *n, 0.1).is_some())
            .count();
        assert!((800..1200).contains(&hits), "{hits}");
        let kinds: std::collections::HashSet<_> = (0..1000)
            .filter_map(|n| fault_for(7, n, 1.0))
            .map(|f| std::mem::discriminant(&f))
            .collect();
        assert_eq!(kinds.len(), 6, "every kind of fault happens");
    }
}
