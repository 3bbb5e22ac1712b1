//! A local Okta org on loopback, for oktasync's tests, benchmarks and demo. It speaks only HTTP:
//! [`spawn`] starts one on port 0 inside the current runtime, [`run`] serves one on a listener
//! you bound until a shutdown future resolves. Everything it returns is generated from the
//! seed, and it behaves like Okta where integrations break: late System Log events, equal
//! timestamps across page boundaries, rate limits, and DEPROVISIONED users hidden from plain
//! listings. With [`SimConfig::oauth_apps`] it is also Okta's org authorization server
//! (`/oauth2/v1/token`, `/authorize`, `/revoke`, DPoP), and `/api/v1` accepts the access
//! tokens it issues, scope by scope.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod admin;
mod api_apps;
mod api_groups;
mod api_hooks;
mod api_lifecycle;
mod api_logs;
mod api_misc;
mod api_user_write;
mod api_users;
mod catalog;
mod cursor;
mod limits;
mod listener;
mod log_gen;
mod log_json;
mod log_view;
mod logs;
mod model;
mod oauth;
mod org_fixtures;
mod org_gen;
mod pipeline;
mod render;
mod respond;
mod scim;
mod search_lag;
mod server;
mod state;
mod user_query;
mod util;

use listener::{ConnHandle, SimListener};
pub use oauth::{
    API_SCOPES, DEFAULT_TOKEN_LIFETIME, GeneratedKey, OAuthApp, PublicKey, generate_ec_key,
};
use state::{Control, Settings, Shared, World};

/// The per-bucket limit when none is configured.
pub const DEFAULT_RATE_LIMIT: u32 = 100_000;

/// What to generate and how to behave.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub users: usize,
    /// Initial System Log events.
    pub logs: usize,
    pub groups: usize,
    pub apps: usize,
    pub seed: u64,
    /// Requests per window per bucket; `None` = [`DEFAULT_RATE_LIMIT`].
    pub rate_limit: Option<u32>,
    /// Length of a rate-limit window (whole seconds).
    pub rate_window: Duration,
    /// Requests in flight allowed at once; `None` = unlimited.
    pub concurrency_limit: Option<u32>,
    /// Share of API requests that fail (0.0..=1.0).
    pub fail_rate: f64,
    /// Maximum delay between an event's `published` time and when it becomes visible.
    pub log_lag_seconds: u64,
    /// How long a users write takes to show in `search` and `filter` (plain listing and GET by
    /// id see it at once), as Okta documents for its search index.
    pub search_lag: Duration,
    /// The API token accepted in `Authorization: SSWS …` (also `SSWS…`) or `Bearer …`.
    pub token: String,
    /// Anchor for generated timestamps; `None` = now.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// OAuth clients of the org authorization server (none by default).
    pub oauth_apps: Vec<OAuthApp>,
}

/// The token a simulator with this seed accepts by default.
pub fn default_token(seed: u64) -> String {
    format!(
        "sim-{}",
        util::hex_id(&mut util::Rng::new(seed ^ 0x70CE), 12)
    )
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            users: 200,
            logs: 1000,
            groups: 20,
            apps: 10,
            seed: 7,
            rate_limit: None,
            rate_window: Duration::from_secs(60),
            concurrency_limit: None,
            fail_rate: 0.0,
            log_lag_seconds: 0,
            search_lag: Duration::ZERO,
            token: default_token(7),
            now: None,
            oauth_apps: vec![],
        }
    }
}

/// A running simulator. Dropping it stops the server too.
pub struct Sim {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sim {
    /// Stop serving and wait (briefly) for open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Generate the org and its history.
fn build(config: &SimConfig, base_url: String, oauth: oauth::Registry) -> Shared {
    let anchor = config
        .now
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(util::now_ms);
    let lag_ms = config.log_lag_seconds as i64 * 1000;
    let mut logs = logs::LogStore::new(config.seed, lag_ms);
    let plan = org_gen::Plan {
        users: config.users,
        groups: config.groups,
        apps: config.apps,
        seed: config.seed,
        now: anchor,
    };
    let org = org_gen::build(&plan, &mut logs);
    let cast = log_gen::Cast::of(&org);
    logs.load(
        log_gen::history(config.logs, config.seed, anchor, lag_ms, &cast),
        util::now_ms(),
    );
    let mut world = World {
        org,
        logs,
        sort_cache: None,
        minted: 0,
        search_lag_ms: 0,
        index: None,
    };
    world.set_search_lag(config.search_lag.as_millis() as i64);
    Shared {
        base_url,
        token: config.token.clone(),
        seed: config.seed,
        rate_window_ms: config.rate_window.as_millis().max(1) as i64,
        world: Mutex::new(world),
        settings: Mutex::new(Settings {
            rate_limit: config.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT),
            concurrency_limit: config.concurrency_limit,
            fail_rate: config.fail_rate.clamp(0.0, 1.0),
            log_lag_seconds: config.log_lag_seconds,
            search_lag_seconds: config.search_lag.as_secs(),
            dpop_nonce_on_api: false,
        }),
        control: Mutex::new(Control::default()),
        oauth,
        oauth_state: Mutex::new(oauth::Store::default()),
        in_flight: AtomicU32::new(0),
        peak: AtomicU32::new(0),
        request_no: AtomicU64::new(0),
    }
}

async fn prepare(listener: &TcpListener, config: SimConfig) -> anyhow::Result<Arc<Shared>> {
    let addr = listener
        .local_addr()
        .context("reading the simulator's listening address")?;
    let base_url = format!("http://{addr}");
    let registry = oauth::Registry::new(&config.oauth_apps)?;
    let shared = tokio::task::spawn_blocking(move || build(&config, base_url, registry))
        .await
        .context("generating the simulated org")?;
    Ok(Arc::new(shared))
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = server::router(shared).into_make_service_with_connect_info::<ConnHandle>();
    axum::serve(SimListener(listener), app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the simulator")
}

/// Serve a simulator on `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shared = prepare(&listener, config).await?;
    serve(listener, shared, shutdown).await
}

/// Start a simulator on `127.0.0.1:0` in a background task.
pub async fn spawn(config: SimConfig) -> anyhow::Result<Sim> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let token = config.token.clone();
    let shared = prepare(&listener, config).await?;
    let base_url = shared.base_url.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.await;
        };
        if let Err(e) = serve(listener, shared, stop).await {
            tracing::error!(error = %e, "simulator stopped with an error");
        }
    });
    Ok(Sim {
        base_url,
        token,
        stop: Some(tx),
        task: Some(task),
    })
}
