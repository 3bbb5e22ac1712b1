//! `oktasync auth login|status|logout`: log in with the authorization-code flow (PKCE, a
//! loopback redirect), show what the configured connection is allowed to do, and log out by
//! revoking the refresh token. Nothing here ever prints a token, key or secret.

use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Serialize;
use tokio::sync::mpsc;

use super::Context;
use super::sync::Target;
use crate::config::Credentials;
use crate::okta::OktaClient;
use crate::okta::auth::{Pkce, TokenInfo};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Log in as an Okta admin (okta.auth = "authorization_code"): open the authorize URL,
    /// approve, and the refresh token is kept in the state database.
    Login(LoginOpts),
    /// Show the connection: type, client id, scopes granted, token type and expiry (never a token).
    Status(StatusOpts),
    /// Revoke the stored refresh token at Okta and forget it.
    Logout(StateOpt),
}

#[derive(Debug, clap::Args)]
pub struct LoginOpts {
    /// Print the URL only; do not try to open a browser.
    #[arg(long)]
    no_browser: bool,
    /// How long to wait for the approval, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    timeout: u64,
    #[command(flatten)]
    state: StateOpt,
}

#[derive(Debug, clap::Args)]
pub struct StatusOpts {
    /// Print JSON instead of lines.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    state: StateOpt,
}

#[derive(Debug, clap::Args)]
pub struct StateOpt {
    /// State database holding the login [default: sync.state]
    #[arg(long, value_name = "PATH")]
    state: Option<std::path::PathBuf>,
}

impl StateOpt {
    fn client(&self, ctx: &Context) -> anyhow::Result<OktaClient> {
        let config = ctx.config()?;
        let target = Target {
            state: self.state.clone(),
            sinks: Vec::new(),
        };
        let settings = target.apply(config.sync.clone());
        ctx.client_at(&config, &settings.state)
    }
}

pub async fn run(ctx: &Context, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Login(opts) => login(ctx, opts).await,
        Command::Status(opts) => status(ctx, opts).await,
        Command::Logout(opts) => {
            let client = opts.client(ctx)?;
            if client.auth().logout().await? {
                eprintln!("logged out: the refresh token is revoked at Okta and forgotten");
            } else {
                eprintln!("not logged in: nothing to revoke");
            }
            Ok(())
        }
    }
}

async fn login(ctx: &Context, opts: LoginOpts) -> anyhow::Result<()> {
    let client = opts.state.client(ctx)?;
    let auth = client.auth();
    let pkce = Pkce::default();
    let url = auth.authorize_url(&pkce)?;
    let redirect = auth.redirect_uri()?;
    let port = url::Url::parse(&redirect)?.port().unwrap_or(80);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{port} for Okta's redirect: free the port or set \
                 okta.redirect_port (and the app's sign-in redirect URI) to another"
            )
        })?;
    eprintln!(
        "Open this URL and approve oktasync (the app's sign-in redirect URIs must include \
         {redirect}):\n\n  {url}\n"
    );
    if !opts.no_browser {
        open_browser(url.as_str());
    }
    let wait = Duration::from_secs(opts.timeout);
    let code = tokio::time::timeout(wait, callback(listener, pkce.state.clone()))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no approval within {} s: run `auth login` again",
                opts.timeout
            )
        })??;
    let info = auth.exchange_code(&code, &pkce).await?;
    eprintln!("logged in; the refresh token is kept in the state database");
    print_status(&client, Some(&info), false)
}

/// Serves `/callback` until Okta redirects there once; returns the code.
async fn callback(listener: tokio::net::TcpListener, state: String) -> anyhow::Result<String> {
    type Params = std::collections::HashMap<String, String>;
    let (tx, mut rx) = mpsc::channel::<anyhow::Result<String>>(1);
    let handler = |State((tx, state)): State<(mpsc::Sender<anyhow::Result<String>>, String)>,
                   Query(q): Query<Params>| async move {
        let result = match (q.get("error"), q.get("code"), q.get("state")) {
            (Some(error), _, _) => Err(anyhow::anyhow!(
                "Okta refused the login: {error}: {} (check the app's assignments and grant types)",
                q.get("error_description").map_or("", String::as_str)
            )),
            (None, Some(code), Some(s)) if *s == state => Ok(code.clone()),
            (None, Some(_), _) => Err(anyhow::anyhow!(
                "the redirect's state does not match this login (a stale or forged link): run \
                 `auth login` again"
            )),
            _ => Err(anyhow::anyhow!("the redirect carried no code")),
        };
        let page = if result.is_ok() {
            "oktasync is logged in. You can close this window."
        } else {
            "oktasync could not log in; see the terminal."
        };
        let _ = tx.send(result).await;
        Html(format!(
            "<!doctype html><title>oktasync</title><p>{page}</p>"
        ))
    };
    let app = axum::Router::new()
        .route("/callback", axum::routing::get(handler))
        .with_state((tx, state));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let result = rx.recv().await;
    server.abort();
    result.unwrap_or_else(|| bail!("the callback listener stopped"))
}

/// Best effort: a browser on a desktop; on a server the printed URL is enough.
fn open_browser(url: &str) {
    let desktop = std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || cfg!(target_os = "macos");
    if !desktop {
        return;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

async fn status(ctx: &Context, opts: StatusOpts) -> anyhow::Result<()> {
    let client = opts.state.client(ctx)?;
    let info = match client.auth().credentials() {
        Credentials::ApiToken(_) => {
            client
                .get_json::<serde_json::Value>("/api/v1/users", &[("limit", "1")])
                .await?;
            None
        }
        _ => Some(client.auth().token_info().await?),
    };
    print_status(&client, info.as_ref(), opts.json)
}

#[derive(Serialize)]
struct StatusView<'a> {
    connection: &'static str,
    org: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    token: Option<&'a TokenInfo>,
}

fn print_status(client: &OktaClient, info: Option<&TokenInfo>, json: bool) -> anyhow::Result<()> {
    let creds = client.auth().credentials();
    let client_id = match creds {
        Credentials::ApiToken(_) => None,
        Credentials::ClientCredentials(app) => Some(app.client_id.as_str()),
        Credentials::AuthorizationCode(app) => Some(app.client_id.as_str()),
    };
    let view = StatusView {
        connection: creds.kind(),
        org: client.org().as_str(),
        client_id,
        token: info,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(());
    }
    println!("connection:     {}", view.connection);
    println!("org:            {}", view.org);
    if let Some(id) = client_id {
        println!("client id:      {id}");
    }
    match info {
        Some(t) => {
            println!("scopes granted: {}", t.scopes.join(" "));
            println!(
                "token:          {}, expires in {} s",
                t.token_type, t.expires_in_secs
            );
            println!(
                "DPoP:           {}",
                if t.dpop {
                    "yes (tokens are bound to a key)"
                } else {
                    "no"
                }
            );
        }
        None => println!("API token:      accepted (the admin's own permissions apply)"),
    }
    Ok(())
}
