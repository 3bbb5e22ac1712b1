//! The operator's HTTP endpoints: `/metrics` (every metric, Prometheus text format), `/healthz`
//! (the process answers) and `/readyz` (the state database answers a write and every enabled
//! poller last succeeded within twice its schedule's interval). They form one axum [`Router`]
//! that a listener of its own serves, or that the event-hook receiver merges into its listener.

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::metrics;
use crate::poll::health::{self, Expected, Now};
use crate::poll::{Engine, Shutdown, stopped};

/// The longest `/readyz` waits for the state database before calling it unready.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Health {
    engine: Engine,
    expected: std::sync::Arc<Vec<Expected>>,
}

/// `/metrics`, `/healthz` and `/readyz` for the pollers of `engine`.
pub fn router(engine: Engine) -> Router {
    let expected = std::sync::Arc::new(engine.expected());
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Health { engine, expected })
}

/// Binds the metrics listener; the error names the config key.
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("metrics.listen: cannot listen on {addr}; is another process using it?")
    })
}

/// Serves `router` on `listener` until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("the metrics listener has no address")?;
    tracing::info!(addr = %addr, "serving /metrics, /healthz and /readyz");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stopped(&mut shutdown).await })
        .await
        .context("the metrics listener failed")
}

async fn metrics() -> Response {
    let body = metrics::global().encode(Utc::now());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when ready, 503 when not; the JSON body says what each check found.
async fn readyz(State(h): State<Health>) -> Response {
    let database = match tokio::time::timeout(DB_CHECK_TIMEOUT, h.engine.check_writable()).await {
        Ok(Ok(())) => Ok("writable"),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no answer within {}s", DB_CHECK_TIMEOUT.as_secs())),
    };
    let now = Now {
        wall: Utc::now(),
        mono: Instant::now(),
        started: h.engine.activity().started(),
    };
    let pollers = health::readiness(&h.expected, &h.engine.activity().snapshot(), &now);
    let ready = database.is_ok() && pollers.iter().all(|(_, r)| r.is_ok());
    let mut body = Map::new();
    body.insert("ready".into(), ready.into());
    body.insert("database".into(), verdict(&database));
    let pollers: Map<String, Value> = pollers
        .iter()
        .map(|(stream, r)| ((*stream).to_owned(), verdict(r)))
        .collect();
    body.insert("pollers".into(), pollers.into());
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(Value::Object(body))).into_response()
}

fn verdict(r: &Result<&'static str, String>) -> Value {
    match r {
        Ok(state) => json!({ "ok": true, "state": state }),
        Err(why) => json!({ "ok": false, "error": why }),
    }
}
