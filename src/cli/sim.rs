//! `oktasync sim`: run the local Okta simulator until SIGINT or SIGTERM, after printing the
//! environment lines a client needs on stdout: `OKTA_DOMAIN` and `OKTA_API_TOKEN`, then, for
//! the OAuth apps asked for, `OKTA_AUTH`, `OKTA_CLIENT_ID` and where the key or secret is
//! (never a secret itself).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use okta_sim::{self as sim, OAuthApp, PublicKey, SimConfig};

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
    /// Seconds before a users write shows in `search` and `filter` (listing and GET by id see it at once), e.g. `--search-lag-seconds 2`.
    #[arg(long, default_value_t = 0)]
    pub search_lag_seconds: u64,
    /// API token to accept (default derived from the seed), e.g. `--token sim-secret`.
    #[arg(long, env = "OKTASYNC_SIM_TOKEN")]
    pub token: Option<String>,
    /// Add an OAuth service app (client credentials, private_key_jwt), e.g. `--oauth-client-id 0oasvc`.
    #[arg(long)]
    pub oauth_client_id: Option<String>,
    /// Scopes granted to the OAuth apps, space-separated, e.g. `--oauth-scopes "okta.users.read okta.logs.read"`
    /// (default: every okta.*.read and .manage scope the simulator checks).
    #[arg(long)]
    pub oauth_scopes: Option<String>,
    /// PEM public key of the service app, e.g. `--oauth-public-key key.pub`; without it a new
    /// EC P-256 key pair is made and its private key written to a file only you can read.
    #[arg(long, requires = "oauth_client_id")]
    pub oauth_public_key: Option<PathBuf>,
    /// Require DPoP in token requests, as new Okta service apps do.
    #[arg(long)]
    pub oauth_dpop: bool,
    /// Access-token lifetime in seconds, e.g. `--oauth-token-lifetime 60` (Okta: 3600).
    #[arg(long, default_value_t = 3600)]
    pub oauth_token_lifetime: u64,
    /// Add an OAuth web app for the authorization-code flow, e.g. `--oauth-web-client-id 0oaweb`.
    #[arg(long)]
    pub oauth_web_client_id: Option<String>,
    /// File holding the web app's client secret, e.g. `--oauth-client-secret-file secret.txt`
    /// (without it the web app is a public client that uses PKCE alone).
    #[arg(long, requires = "oauth_web_client_id")]
    pub oauth_client_secret_file: Option<PathBuf>,
    /// Port of the web app's redirect URI `http://127.0.0.1:PORT/callback`.
    #[arg(long, default_value_t = 8765)]
    pub oauth_redirect_port: u16,
}

/// The OAuth apps to register, and the lines that tell a client how to use them.
struct OAuthSetup {
    apps: Vec<OAuthApp>,
    lines: Vec<String>,
    /// A directory holding a generated private key, removed when the simulator stops.
    key_dir: Option<PathBuf>,
}

impl Opts {
    fn config(&self, oauth_apps: Vec<OAuthApp>) -> anyhow::Result<SimConfig> {
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
            search_lag: Duration::from_secs(self.search_lag_seconds),
            token: self
                .token
                .clone()
                .unwrap_or_else(|| sim::default_token(self.seed)),
            now: None,
            oauth_apps,
        })
    }

    fn scopes(&self) -> Vec<String> {
        match &self.oauth_scopes {
            Some(s) => s.split_whitespace().map(str::to_string).collect(),
            None => sim::API_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn with_defaults(&self, mut app: OAuthApp) -> OAuthApp {
        app.dpop = self.oauth_dpop;
        app.token_lifetime = Duration::from_secs(self.oauth_token_lifetime);
        app
    }

    /// The apps asked for on the command line; a generated private key is written to disk.
    fn oauth(&self) -> anyhow::Result<OAuthSetup> {
        let mut setup = OAuthSetup {
            apps: vec![],
            lines: vec![],
            key_dir: None,
        };
        if self.oauth_client_id.is_none() && self.oauth_web_client_id.is_none() {
            return Ok(setup);
        }
        if self.oauth_token_lifetime == 0 {
            anyhow::bail!("--oauth-token-lifetime must be at least 1 second");
        }
        let scopes = self.scopes();
        if scopes.is_empty() {
            anyhow::bail!("--oauth-scopes must name at least one scope");
        }
        let quoted = format!("OKTA_SCOPES=\"{}\"", scopes.join(" "));
        if let Some(id) = &self.oauth_client_id {
            let (key, key_line) = self.service_key(id, &mut setup.key_dir)?;
            let app = OAuthApp::service(id.clone(), vec![key], scopes.clone());
            setup.apps.push(self.with_defaults(app));
            setup.lines.extend([
                "OKTA_AUTH=client_credentials".to_string(),
                format!("OKTA_CLIENT_ID={id}"),
                key_line,
                quoted.clone(),
            ]);
        }
        if let Some(id) = &self.oauth_web_client_id {
            self.web_app(id, scopes, &quoted, &mut setup)?;
        }
        Ok(setup)
    }

    /// The web app for the authorization-code flow, and its lines. With a service app too,
    /// the service app's lines are the ones in force and these are printed as comments.
    fn web_app(
        &self,
        id: &str,
        scopes: Vec<String>,
        quoted: &str,
        setup: &mut OAuthSetup,
    ) -> anyhow::Result<()> {
        let redirect = format!("http://127.0.0.1:{}/callback", self.oauth_redirect_port);
        let secret = self
            .oauth_client_secret_file
            .as_deref()
            .map(read_secret)
            .transpose()?;
        let app = OAuthApp::web(id, secret, [redirect.clone()], scopes);
        setup.apps.push(self.with_defaults(app));
        let prefix = if self.oauth_client_id.is_some() {
            "# "
        } else {
            ""
        };
        let mut lines = vec![
            "OKTA_AUTH=authorization_code".to_string(),
            format!("OKTA_CLIENT_ID={id}"),
        ];
        if let Some(path) = &self.oauth_client_secret_file {
            lines.push(format!("OKTA_CLIENT_SECRET_FILE={}", path.display()));
        }
        lines.push(quoted.to_string());
        setup
            .lines
            .push(format!("# authorization-code app, redirect URI {redirect}"));
        setup
            .lines
            .extend(lines.into_iter().map(|l| format!("{prefix}{l}")));
        Ok(())
    }

    /// The service app's public key, and the line that says where its private key is.
    fn service_key(
        &self,
        id: &str,
        key_dir: &mut Option<PathBuf>,
    ) -> anyhow::Result<(PublicKey, String)> {
        if let Some(path) = &self.oauth_public_key {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading --oauth-public-key {}", path.display()))?;
            let line = format!(
                "# OKTA_PRIVATE_KEY_FILE=<the private key of {}>",
                path.display()
            );
            return Ok((PublicKey::Pem { kid: None, pem }, line));
        }
        let key = sim::generate_ec_key(None);
        let dir = std::env::temp_dir().join(format!("oktasync-sim-{}", std::process::id()));
        create_private_dir(&dir)?;
        *key_dir = Some(dir.clone());
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let file = dir.join(format!("{safe}.pem"));
        write_private(&file, &key.private_pem)?;
        Ok((
            key.public,
            format!("OKTA_PRIVATE_KEY_FILE={}", file.display()),
        ))
    }
}

fn read_secret(path: &Path) -> anyhow::Result<String> {
    let raw = std::fs::read_to_string(path)
        .with_context(|| format!("reading --oauth-client-secret-file {}", path.display()))?;
    let secret = raw.trim();
    if secret.is_empty() {
        anyhow::bail!("--oauth-client-secret-file {} is empty", path.display());
    }
    Ok(secret.to_string())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.recursive(true)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Write `text` to a new file that only the owner can read (0600).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
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
    let oauth = opts.oauth()?;
    let result = serve(&opts, oauth.apps, &oauth.lines).await;
    if let Some(dir) = &oauth.key_dir
        && let Err(e) = std::fs::remove_dir_all(dir)
    {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot remove the generated key");
    }
    result
}

async fn serve(opts: &Opts, apps: Vec<OAuthApp>, oauth_lines: &[String]) -> anyhow::Result<()> {
    let config = opts.config(apps)?;
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
    for line in oauth_lines {
        writeln!(out, "{line}")?;
    }
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
