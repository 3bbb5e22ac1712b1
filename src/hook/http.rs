//! The receiver's HTTP face: Okta's verification GET, and delivery POSTs checked in the order
//! that costs an abuser most and us least (capacity, secret, content type, size, JSON shape)
//! before the events are committed. Each refusal is one 4xx with an empty body and one log line.

use std::pin::Pin;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::Receiver;
use super::delivery::{self, CHALLENGE_HEADER, MAX_BODY_BYTES, Refusal};
use super::inbox::Accepted;
use crate::metrics;

/// Okta waits 3 s for an answer; committed events are answered by then even if the sinks have
/// not confirmed them yet (they stay in the inbox until they do).
const ANSWER_WITHIN: Duration = Duration::from_millis(2500);
/// The longest a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every method on every path the router does not give to another handler.
pub(super) async fn handle(
    State(receiver): State<Receiver>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match method {
        Method::GET => verify(&headers),
        Method::POST => deliver(&receiver, &headers, body).await,
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, POST")],
        )
            .into_response(),
    }
}

fn verify(headers: &HeaderMap) -> Response {
    let challenge = headers.get(CHALLENGE_HEADER).and_then(|v| v.to_str().ok());
    match delivery::verification(challenge) {
        Ok(answer) => {
            tracing::info!("answered Okta's event hook verification challenge");
            Json(answer).into_response()
        }
        Err(refusal) => refuse(&refusal),
    }
}

async fn deliver(receiver: &Receiver, headers: &HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let Ok(_permit) = receiver.inner.permits.try_acquire() else {
        tracing::warn!(
            status = 503,
            "event hook delivery refused: too many in flight"
        );
        metrics::global().hook_delivery(false);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let events = match checked_events(receiver, headers, body).await {
        Ok(events) => events,
        Err(refusal) => return refuse(&refusal),
    };
    let count = events.len();
    if count == 0 {
        metrics::global().hook_delivery(true);
        return StatusCode::OK.into_response();
    }
    let outcome = receiver
        .inner
        .inbox
        .accept(events, started + ANSWER_WITHIN)
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(state) => {
            metrics::global().hook_delivery(true);
            let pending = state == Accepted::Pending;
            tracing::debug!(count, elapsed_ms, pending, "event hook delivery accepted");
            StatusCode::OK.into_response()
        }
        Err(e) => {
            metrics::global().hook_delivery(false);
            tracing::error!(status = 503, count, error = %e, "event hook delivery not accepted; Okta will retry it once");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The checks, in order, then the events.
async fn checked_events(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<crate::sink::Delta>, Refusal> {
    if !receiver.inner.secrets.admit(headers).await {
        return Err(Refusal::Unauthorized);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    delivery::check_content_type(content_type)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(Refusal::TooLarge);
    }
    let bytes = tokio::time::timeout(BODY_TIMEOUT, read_limited(body))
        .await
        .map_err(|_| Refusal::Unreadable("the body took too long to arrive".into()))??;
    delivery::parse_delivery(&bytes)
}

/// The body, refused as soon as it grows past [`MAX_BODY_BYTES`].
async fn read_limited(mut body: Body) -> Result<Vec<u8>, Refusal> {
    let mut buf = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| Refusal::Unreadable(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_BODY_BYTES {
                return Err(Refusal::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// One log line and an empty 4xx.
fn refuse(refusal: &Refusal) -> Response {
    let status = refusal.status();
    tracing::warn!(status, reason = %refusal, "event hook request refused");
    if *refusal != Refusal::NoChallenge {
        metrics::global().hook_delivery(false);
    }
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::BAD_REQUEST)
        .into_response()
}
