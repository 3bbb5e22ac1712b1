//! The path every `/oauth2/v1` request takes around its handler: number and record it (client
//! secrets masked), apply the OAuth rate-limit bucket (a 429 in Okta's error shape, as Okta
//! answers there), play a response scripted for an `/oauth2` prefix, then stamp the request
//! id, rate-limit headers and `Cache-Control: no-store`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::OAuthError;
use crate::limits::{Bucket, Decision};
use crate::listener::ConnHandle;
use crate::pipeline::{Ctx, MAX_BODY, play, record, request_id, stamp};
use crate::respond::ApiError;
use crate::state::{Shared, lock};
use crate::util::now_ms;

const MASK: &str = "[redacted]";

/// Headers as recorded: Basic credentials masked.
fn masked_headers(h: &HeaderMap) -> HeaderMap {
    let mut out = h.clone();
    let basic = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("basic"));
    if basic {
        out.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic [redacted]"),
        );
    }
    out
}

/// A form body as recorded: `client_secret` masked.
fn masked_body(body: &Bytes) -> Bytes {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    if !pairs.iter().any(|(k, _)| k == "client_secret") {
        return body.clone();
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, if k == "client_secret" { MASK } else { v });
    }
    Bytes::from(ser.finish())
}

/// Add the common headers, and forbid caching of anything the authorization server says.
fn finish(r: Response, rid: &str, d: Decision) -> Response {
    let mut r = stamp(r, rid, d);
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The middleware for every `/oauth2/v1` request.
pub(crate) async fn middleware(
    State(s): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
    next: Next,
) -> Response {
    let n = s.request_no.fetch_add(1, Ordering::SeqCst);
    let rid = request_id(s.seed, n);
    let now = now_ms();
    let (mut parts, body) = req.into_parts();
    let settings = s.settings();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let e = OAuthError::invalid_request("The request body is too large.");
        let d = lock(&s.control).limiter.peek(
            Bucket::OAuth2,
            now,
            settings.limits.of(Bucket::OAuth2),
            s.rate_window_ms,
        );
        return finish(e.into_response(), &rid, d);
    };
    record(
        &s,
        &parts.method,
        &parts.uri,
        &masked_headers(&parts.headers),
        &masked_body(&bytes),
    );
    let d = lock(&s.control).limiter.check(
        Bucket::OAuth2,
        now,
        settings.limits.of(Bucket::OAuth2),
        s.rate_window_ms,
    );
    if !d.allowed {
        lock(&s.control).rate_limited += 1;
        let summary = "API call exceeded rate limit due to too many requests.";
        return finish(
            ApiError::new(429, "E0000047", summary).into_response(),
            &rid,
            d,
        );
    }
    let script = lock(&s.control).take_oauth_script(parts.uri.path());
    if let Some(sc) = script {
        return finish(play(sc, &conn).await, &rid, d);
    }
    parts.extensions.insert(Ctx {
        request_id: rid.clone(),
    });
    let r = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    finish(r, &rid, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_requests_never_show_client_secrets() {
        let body =
            Bytes::from_static(b"grant_type=refresh_token&client_id=web&client_secret=s3cret");
        let masked = masked_body(&body);
        let text = String::from_utf8_lossy(&masked);
        assert!(!text.contains("s3cret") && text.contains("client_secret=%5Bredacted%5D"));
        let plain = Bytes::from_static(b"grant_type=client_credentials");
        assert_eq!(masked_body(&plain), plain);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic d2ViOnMzY3JldA=="),
        );
        assert_eq!(
            masked_headers(&h)[header::AUTHORIZATION],
            "Basic [redacted]"
        );
    }
}
