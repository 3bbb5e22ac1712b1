//! `oktasync hook …`: the event hook receiver run alone (`serve`), and the one hook at Okta that
//! feeds it (`register`, `unregister`, `status`). `oktasync hooks …` is the plain admin API for
//! any event hook; inside `oktasync run` the receiver starts when `[hook] listen` is set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::Value;

use super::output::Column;
use super::sync::{Target, signals};
use super::{Context, input};
use crate::config::{Config, HookSettings, TlsFiles};
use crate::hook::register::{self, Wanted};
use crate::hook::{self, HookListener, Outputs, Running};
use crate::poll::{Shutdown, stopped};
use crate::systemd::{Notice, Notifier, Systemd};

/// How long requests in flight, then the receiver's threads, get to finish at shutdown.
pub const STOP_DEADLINE: Duration = Duration::from_secs(4);

/// Options for `oktasync hook`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Run the receiver alone until SIGTERM or SIGINT, e.g. `oktasync hook serve --listen 127.0.0.1:8088`
    Serve(ServeArgs),
    /// Create or update the hook at Okta with a new shared secret, then activate and verify it, e.g. `oktasync hook register --url https://hooks.example.com/okta/event-hook --event user.lifecycle.create --event user.lifecycle.deactivate`
    Register(RegisterArgs),
    /// Deactivate and delete the hook at Okta and forget its secret, e.g. `oktasync hook unregister`
    Unregister(NameArgs),
    /// The hook's status at Okta beside what the receiver got, e.g. `oktasync hook status --output table`
    Status(NameArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address and port to listen on, e.g. 127.0.0.1:8088 [default: hook.listen]
    #[arg(long, value_name = "ADDR", value_parser = listen_addr)]
    listen: Option<SocketAddr>,
    /// Serve HTTPS with this certificate chain (PEM), e.g. /etc/oktasync/hook.crt [default: hook.tls_cert]
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM), e.g. /etc/oktasync/hook.key [default: hook.tls_key]
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, clap::Args)]
struct RegisterArgs {
    /// The public HTTPS URL Okta delivers to (your reverse proxy in front of the receiver), e.g. https://hooks.example.com/okta/event-hook
    #[arg(long, value_name = "URL")]
    url: String,
    /// Event type to subscribe to (repeatable; hook-eligible types only), e.g. user.lifecycle.create
    #[arg(long, value_name = "TYPE", required = true)]
    event: Vec<String>,
    /// Okta's event filter, inline JSON or @file.json, e.g. '{"type":"EXPRESSION_LANGUAGE","eventFilterMap":[{"event":"group.user_membership.add","condition":{"expression":"event.target.?[type eq '"'"'UserGroup'"'"'].size()>0"}}]}'
    #[arg(long, value_name = "JSON", value_parser = input::json)]
    filter: Option<Value>,
    /// Extra header Okta sends with each delivery (repeatable), e.g. 'X-Source: okta'
    #[arg(long, value_name = "K:V", value_parser = input::header)]
    header: Vec<(String, String)>,
    /// Accept event types missing from oktasync's hook-eligible table (Okta still checks), e.g. `--allow-any-event`
    #[arg(long)]
    allow_any_event: bool,
    #[command(flatten)]
    name: NameArgs,
}

#[derive(Debug, clap::Args)]
struct NameArgs {
    /// The hook's name at Okta, e.g. oktasync-prod
    #[arg(long, value_name = "NAME", default_value = "oktasync")]
    name: String,
    /// State database holding the hook's secret and the receiver's counters, e.g. /var/lib/oktasync/oktasync.db
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
}

const HOOK_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("STATUS", "status"),
    ("VERIFICATION", "verificationStatus"),
    ("NAME", "name"),
    ("URL", "url"),
    ("ACTION", "action"),
];

const STATUS_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("STATUS", "status"),
    ("VERIFICATION", "verificationStatus"),
    ("LAST DELIVERY", "last_delivery_at"),
    ("DELIVERIES", "deliveries"),
    ("EVENTS", "events_received"),
    ("INBOX", "inbox"),
];

fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    crate::config::parse_listen("--listen", text).map_err(|e| e.to_string())
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    match opts.command {
        Verb::Serve(args) => serve(ctx, args).await,
        Verb::Register(args) => {
            let config = ctx.config()?;
            let state = state_path(&config, &args.name);
            let wanted = Wanted {
                name: args.name.name.clone(),
                url: args.url,
                events: args.event,
                filter: args.filter,
                headers: args.header,
                secret_header: config.hook.secret_header.clone(),
            };
            register::check(&wanted, args.allow_any_event).map_err(anyhow::Error::msg)?;
            let client = ctx.client_at(&config, &state)?;
            let summary = register::register(&client, &state, wanted).await?;
            ctx.printer(HOOK_COLUMNS).object(&summary)?;
            Ok(())
        }
        Verb::Unregister(args) => {
            let config = ctx.config()?;
            let state = state_path(&config, &args);
            let client = ctx.client_at(&config, &state)?;
            let done = register::unregister(&client, &state, &args.name).await?;
            ctx.printer(&[]).object(&done)?;
            Ok(())
        }
        Verb::Status(args) => {
            let config = ctx.config()?;
            let state = state_path(&config, &args);
            let client = ctx.client_at(&config, &state)?;
            let status = register::status(&client, &state, &args.name).await?;
            ctx.printer(STATUS_COLUMNS).object(&status)?;
            Ok(())
        }
    }
}

fn state_path(config: &Config, args: &NameArgs) -> PathBuf {
    args.state
        .clone()
        .unwrap_or_else(|| config.sync.state.clone())
}

/// `hook serve`: the receiver and `/healthz` on one listener, the state database locked.
async fn serve(ctx: &Context, args: ServeArgs) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let settings = args.target.apply(config.sync.clone());
    let mut hook_settings = config.hook.clone();
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        hook_settings.tls = Some(TlsFiles { cert, key });
    }
    let addr = args.listen.or(hook_settings.listen).context(
        "hook serve needs an address: pass --listen 127.0.0.1:8088 or set listen under [hook]",
    )?;
    let (outputs, _lock) = hook::open_outputs(&settings)?;
    let listener = HookListener::bind(addr, &hook_settings).await?;
    let running = hook::spawn(outputs, &hook_settings, listener, None, until(signals()?))?;
    Systemd.notify(Notice::Ready);
    let served = running.finish(STOP_DEADLINE).await;
    Systemd.notify(Notice::Stopping);
    served
}

/// Resolves when `shutdown` fires.
pub async fn until(mut shutdown: Shutdown) {
    stopped(&mut shutdown).await;
}

/// The receiver inside `oktasync run`: the engine's state database and sinks, one process; its
/// listener also serves `operator` (the daemon's `/metrics`, `/healthz`, `/readyz`) when given.
pub async fn start_in_daemon(
    engine: &crate::poll::Engine,
    settings: &HookSettings,
    addr: SocketAddr,
    operator: Option<axum::Router>,
    shutdown: Shutdown,
) -> anyhow::Result<Running> {
    let outputs = Outputs {
        store: engine.store_handle()?,
        sinks: engine.sinks_handle(),
        mirror_in_state: engine.mirrors_state(),
        sink_names: engine.sink_names(),
    };
    let listener = HookListener::bind(addr, settings).await?;
    hook::spawn(outputs, settings, listener, operator, until(shutdown))
}
