//! `oktasync sim`: run the local Okta simulator until SIGINT or SIGTERM, after printing the two
//! environment lines a client needs (`OKTA_DOMAIN`, `OKTA_API_TOKEN`) on stdout.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;

use okta_sim::{self as sim, SimConfig};

/// Options for `oktasync sim`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Port to listen on at 127.0.0.1, e.g. `--port 8089` (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// Number of users to generate, e.g. `--users 10000`.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Number of initial System Log events, e.g. `--logs 50000`.
    #[arg(long, default_value_t = 1000)]
    pub logs: usize,
    /// Number of groups (the first is the built-in Everyone), e.g. `--groups 20`.
    #[arg(long, default_value_t = 20)]
    pub groups: usize,
    /// Number of applications, e.g. `--apps 10`.
    #[arg(long, default_value_t = 10)]
    pub apps: usize,
    /// Seed for all generated data, e.g. `--seed 7`.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Requests allowed per rate-limit window in each bucket, e.g. `--rate-limit 600`.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Length of a rate-limit window in seconds, e.g. `--rate-window-secs 60`.
    #[arg(long, default_value_t = 60)]
    pub rate_window_secs: u64,
    /// Requests allowed in flight at once, e.g. `--concurrency-limit 75`.
    #[arg(long)]
    pub concurrency_limit: Option<u32>,
    /// Share of API requests that fail (500/502/503, slow, truncated, dropped), e.g. `--fail-rate 0.05`.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Maximum seconds before a System Log event becomes visible, e.g. `--log-lag-seconds 5`.
    #[arg(long, default_value_t = 0)]
    pub log_lag_seconds: u64,
    /// API token to accept (default derived from the seed), e.g. `--token sim-secret`.
    #[arg(long, env = "OKTASYNC_SIM_TOKEN")]
    pub token: Option<String>,
}

impl Opts {
    fn config(&self) -> anyhow::Result<SimConfig> {
        if !(0.0..=1.0).contains(&self.fail_rate) {
            anyhow::bail!(
                "--fail-rate must be between 0 and 1, got {}",
                self.fail_rate
            );
        }
        if self.rate_window_secs == 0 {
            anyhow::bail!("--rate-window-secs must be at least 1");
        }
        Ok(SimConfig {
            users: self.users,
            logs: self.logs,
            groups: self.groups,
            apps: self.apps,
            seed: self.seed,
            rate_limit: self.rate_limit,
            rate_window: Duration::from_secs(self.rate_window_secs),
            concurrency_limit: self.concurrency_limit,
            fail_rate: self.fail_rate,
            log_lag_seconds: self.log_lag_seconds,
            token: self
                .token
                .clone()
                .unwrap_or_else(|| sim::default_token(self.seed)),
            now: None,
            oauth_apps: vec![],
        })
    }
}

/// Resolves on the first SIGINT or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, stopping"),
        _ = term => tracing::info!("SIGTERM received, stopping"),
    }
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let config = opts.config()?;
    let token = config.token.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .with_context(|| {
            format!(
                "binding 127.0.0.1:{}; is the port in use? try --port 0",
                opts.port
            )
        })?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let signals = tokio::spawn(async move {
        stop_signal().await;
        let _ = tx.send(());
    });
    let ready = async move {
        let _ = rx.await;
    };
    tracing::info!(
        users = opts.users,
        logs = opts.logs,
        seed = opts.seed,
        "generating the simulated org"
    );
    let mut server = tokio::spawn(sim::run(listener, config, ready));
    // The org is generated before the server accepts; announce once it answers.
    tokio::select! {
        _ = wait_until_ready(addr) => {}
        r = &mut server => {
            signals.abort();
            return r.context("the simulator task failed")?;
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "OKTA_DOMAIN=http://{addr}")?;
    writeln!(out, "OKTA_API_TOKEN={token}")?;
    out.flush().context("writing to stdout")?;
    drop(out);
    tracing::info!(%addr, "simulator ready");
    let result = server.await.context("the simulator task failed")?;
    signals.abort();
    result
}

/// Poll the admin endpoint until the server answers.
async fn wait_until_ready(addr: std::net::SocketAddr) {
    let url = format!("http://{addr}/__sim/counters");
    let client = reqwest::Client::new();
    for _ in 0..6000 {
        if client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
