//! The Okta event hook receiver: it answers Okta's verification challenge, accepts authenticated
//! deliveries, commits their events to the state database before answering, and emits them to
//! the sinks as stream `event_hook`, where the mirror keeps one row per event uuid whichever of
//! hook and poller brought it first. Also the registration of the hook at Okta.
//!
//! - [`delivery`]: pure request checks (challenge, secret, content type, body shape).
//! - [`inbox`]: the write path: group commit, then emission to the sinks.
//! - [`register`]: `hook register`, `unregister` and `status` against Okta and the state database.
//! - [`eligible`]: the event types Okta lets a hook subscribe to.
//! - `tls`: optional built-in HTTPS.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub mod delivery;
pub mod eligible;
mod http;
pub mod inbox;
pub mod register;
mod secrets;
mod tls;

pub use inbox::{Outputs, Workers};

use crate::config::{HookSettings, SyncSettings};
use crate::sink::Sinks;
use crate::store::Store;

/// Deliveries handled at once, at most; more are answered 503 (Okta retries once).
const MAX_IN_FLIGHT: usize = 1024;

/// The receiver: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    inbox: inbox::Inbox,
    secrets: Arc<secrets::Secrets>,
    permits: Semaphore,
}

impl Receiver {
    /// Starts the write path on `outputs` (every commit fsynced from now on) and loads the
    /// secrets: the configured one and those `hook register` stored.
    pub fn start(outputs: Outputs, settings: &HookSettings) -> anyhow::Result<(Receiver, Workers)> {
        let store = outputs.store.clone();
        store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sync_every_commit()?;
        let fixed = settings
            .secret
            .clone()
            .map(|s| (settings.secret_header.as_str(), s));
        let secrets = Arc::new(secrets::Secrets::new(fixed, store)?);
        if secrets.len() == 0 {
            tracing::warn!(
                "no event hook secret yet: deliveries are refused (401) until `oktasync hook register` stores one or hook.secret_file names one"
            );
        }
        let (inbox, workers) =
            inbox::Inbox::start(outputs).context("cannot start the hook receiver's threads")?;
        let inner = Inner {
            inbox,
            secrets,
            permits: Semaphore::new(MAX_IN_FLIGHT),
        };
        Ok((
            Receiver {
                inner: Arc::new(inner),
            },
            workers,
        ))
    }

    /// The receiver on every path no other route of the final router claims; merge it with
    /// [`health_router`] or with the daemon's `/metrics`, `/healthz` and `/readyz`.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(http::handle)
            .with_state(self.clone())
    }
}

/// `/healthz` for a receiver running alone (`hook serve`).
pub fn health_router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok\n" }))
}

/// The state database (locked for this process) and the sinks of `settings`, for `hook serve`.
pub fn open_outputs(settings: &SyncSettings) -> anyhow::Result<(Outputs, std::fs::File)> {
    let lock = crate::store::lock_state(&settings.state)?;
    let store = Store::open(&settings.state).with_context(|| {
        format!(
            "cannot open the state database {}",
            settings.state.display()
        )
    })?;
    let (sinks, specs) = Sinks::configured(settings)?;
    let outputs = Outputs {
        mirror_in_state: sinks.mirrors_state(),
        store: Arc::new(Mutex::new(store)),
        sinks: Arc::new(sinks),
        sink_names: specs.iter().map(ToString::to_string).collect(),
    };
    Ok((outputs, lock))
}

/// A bound receiver listener: plain HTTP (behind a reverse proxy) or built-in HTTPS.
pub enum HookListener {
    Plain(TcpListener),
    Tls(tls::TlsListener),
}

impl HookListener {
    /// Binds `addr`, with TLS when `settings` name a certificate and key; errors name the key.
    pub async fn bind(addr: SocketAddr, settings: &HookSettings) -> anyhow::Result<HookListener> {
        let acceptor = settings.tls.as_ref().map(tls::acceptor).transpose()?;
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("hook.listen: cannot listen on {addr}; is another process using it?")
        })?;
        Ok(match acceptor {
            Some(acceptor) => HookListener::Tls(tls::TlsListener::new(listener, acceptor)?),
            None => HookListener::Plain(listener),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            HookListener::Plain(l) => l.local_addr(),
            HookListener::Tls(l) => axum::serve::Listener::local_addr(l),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: HookListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("the hook listener has no address")?;
    let result = match listener {
        HookListener::Plain(l) => {
            tracing::info!(addr = %addr, tls = false, "event hook receiver listening");
            axum::serve(l, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
        HookListener::Tls(l) => {
            tracing::info!(addr = %addr, tls = true, "event hook receiver listening");
            axum::serve(l, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    result.context("the hook listener failed")
}

/// A receiver serving on its listener.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    workers: Workers,
}

/// Serves a receiver on `listener` until `shutdown` resolves: the hook on every path, plus
/// `operator` (the daemon's `/metrics`, `/healthz` and `/readyz`) when given, else `/healthz`.
pub fn spawn(
    outputs: Outputs,
    settings: &HookSettings,
    listener: HookListener,
    operator: Option<Router>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let addr = listener
        .local_addr()
        .context("the hook listener has no address")?;
    let (receiver, workers) = Receiver::start(outputs, settings)?;
    let router = receiver
        .router()
        .merge(operator.unwrap_or_else(health_router));
    drop(receiver);
    let server = tokio::spawn(serve(listener, router, shutdown));
    Ok(Running {
        addr,
        server,
        workers,
    })
}

impl Running {
    /// After shutdown fired: waits for the requests in flight (up to `deadline`), then for the
    /// threads to commit and emit what they hold (up to `deadline` again). What is left stays in
    /// the inbox for the next start.
    pub async fn finish(self, deadline: std::time::Duration) -> anyhow::Result<()> {
        let served = match tokio::time::timeout(deadline, self.server).await {
            Ok(joined) => joined.context("the hook receiver task failed")?,
            Err(_) => Err(anyhow::anyhow!(
                "the hook listener did not stop within {} s",
                deadline.as_secs()
            )),
        };
        if !self.workers.stop(deadline).await {
            tracing::warn!(
                "the hook receiver did not finish emitting in time; the inbox keeps the rest for the next start"
            );
        }
        served
    }
}

/// The secret `hook register` generates: 32 random bytes, base64url.
pub fn new_secret() -> SecretString {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
