//! The command line: the top-level parser, the shared `Context` (config, client and output
//! format), and one module per command group.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{Config, Credentials, LogFormat};
use crate::okta::OktaClient;

pub mod apps;
pub mod auth;
pub mod common;
pub mod completions;
pub mod cursor;
pub mod demo;
pub mod groups;
pub mod hook;
pub mod hooks;
pub mod input;
pub mod logging;
pub mod logs;
pub mod man;
pub mod output;
pub mod pick;
pub mod policies;
pub mod progress;
pub mod raw;
pub mod realms;
pub mod sim;
mod sim_behaviour;
pub mod status;
pub mod sync;
mod user_edit;
mod user_lifecycle;
pub mod user_types;
pub mod users;

/// Sync Okta users and the System Log into SQLite and NDJSON, and script Okta admin actions.
#[derive(Debug, Parser)]
#[command(name = "oktasync", version, about)]
pub struct Cli {
    /// Config file (TOML), e.g. /etc/oktasync/oktasync.toml [default: ./oktasync.toml, then
    /// /etc/oktasync/oktasync.toml, if present]
    #[arg(long, global = true, env = "OKTASYNC_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Log lines on stderr as text or JSON (one object per line), e.g. json [default: log.format, else text]
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Try oktasync end to end on a built-in simulated org: sync into ./oktasync-demo.db and ./oktasync-demo.ndjson.
    Demo(demo::Opts),
    /// Run the pollers on their schedules until SIGTERM or SIGINT (the systemd service).
    Run(sync::RunOpts),
    /// Run one catch-up cycle of the pollers, then exit (for cron, backfills and scripts).
    Sync(sync::SyncOpts),
    /// Reconcile every user now: list all through search, emit missed versions, tombstone users deleted in Okta.
    Reconcile(sync::ReconcileOpts),
    /// Show each poller's cursor, last success, lag, records and last error.
    Status(status::Opts),
    /// Inspect or move a poller's cursor.
    #[command(subcommand)]
    Cursor(cursor::Command),
    /// OAuth 2.0 login and the connection's status, e.g. `oktasync auth status`.
    #[command(subcommand)]
    Auth(auth::Command),
    /// Users: list, create, update, lifecycle, passwords, sessions, factors, e.g. `oktasync users get jane@example.com`.
    Users(Box<users::Opts>),
    /// Groups and their members, e.g. `oktasync groups add-user 00g1emaKYZTWRYYRRTSK 00u1abcdEFGH`.
    Groups(groups::Opts),
    /// Applications and user assignments, e.g. `oktasync apps assign 0oa1abcd 00u1abcd`.
    Apps(apps::Opts),
    /// The event hook receiver and its hook at Okta, e.g. `oktasync hook register --url https://hooks.example.com/okta/event-hook --event user.lifecycle.create`.
    Hook(hook::Opts),
    /// Event hooks, e.g. `oktasync hooks create --name sync --url https://example.com/hook --event user.lifecycle.create`.
    Hooks(hooks::Opts),
    /// Policies of one type, e.g. `oktasync policies list --type PASSWORD`.
    Policies(policies::Opts),
    /// Realms, e.g. `oktasync realms list --all`.
    Realms(realms::Opts),
    /// User types, e.g. `oktasync user-types list`.
    UserTypes(user_types::Opts),
    /// The System Log, e.g. `oktasync logs get --since 2024-05-01T00:00:00Z --all`.
    Logs(logs::Opts),
    /// Any request under /api/v1 of the org, e.g. `oktasync raw GET /users/me` (the same as /api/v1/users/me).
    Raw(Box<raw::Opts>),
    /// Key/label picklists for scripts and UIs, e.g. `oktasync pick groups`.
    Pick(pick::Opts),
    /// Run a local Okta simulator (for trying oktasync and for tests), e.g. `oktasync sim --port 8089`.
    Sim(sim::Opts),
    /// Print the shell completion script, e.g. `oktasync completions bash > /etc/bash_completion.d/oktasync`.
    Completions(completions::Opts),
    /// Print the manual page, e.g. `oktasync man | man -l -`.
    Man(man::Opts),
}

/// What every command may need: the config file's location (loaded on demand) and the output
/// format.
#[derive(Debug, Clone)]
pub struct Context {
    pub config_path: Option<PathBuf>,
    pub output: Option<output::Format>,
    /// Draw progress lines on stderr (it is a terminal that wants them).
    pub progress: bool,
}

impl Context {
    /// The config: defaults, then the file, then the environment.
    pub fn config(&self) -> anyhow::Result<Config> {
        let env = |key: &str| std::env::var(key).ok();
        Config::load(self.config_path.as_deref(), &env).context("invalid configuration")
    }

    /// A client for the configured org.
    pub fn client(&self) -> anyhow::Result<OktaClient> {
        self.client_from(&self.config()?)
    }

    /// A client for the org of an already loaded config.
    pub fn client_from(&self, config: &Config) -> anyhow::Result<OktaClient> {
        self.client_at(config, &config.sync.state)
    }

    /// A client whose authorization-code login lives in the state database `state`.
    pub fn client_at(
        &self,
        config: &Config,
        state: &std::path::Path,
    ) -> anyhow::Result<OktaClient> {
        let settings = config.okta().map_err(|e| anyhow::anyhow!("{e}"))?;
        let grants = crate::store::StateGrants {
            path: state.to_path_buf(),
        };
        let store = matches!(settings.credentials, Credentials::AuthorizationCode(_))
            .then(|| Arc::new(grants) as Arc<dyn crate::okta::auth::GrantStore>);
        Ok(OktaClient::from_settings(settings, store)?)
    }

    /// The same context printing in the format a command group was given.
    pub fn with_output(&self, arg: output::OutputArg) -> Context {
        Context {
            output: arg.output.or(self.output),
            ..self.clone()
        }
    }

    /// A printer on stdout in the chosen format.
    pub fn printer(&self, columns: &'static [output::Column]) -> output::Printer {
        output::Printer::stdout(self.output, columns)
    }
}

impl Cli {
    /// `--log-format`, else the configured `log.format` (text if the config cannot be read: the
    /// command reports that itself).
    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or_else(|| {
            let env = |key: &str| std::env::var(key).ok();
            Config::load(self.config.as_deref(), &env).map_or(LogFormat::Text, |c| c.log.format)
        })
    }

    /// Runs the command; `progress` says whether stderr wants progress lines.
    pub async fn run(self, progress: bool) -> anyhow::Result<()> {
        let ctx = Context {
            config_path: self.config,
            output: None,
            progress,
        };
        match self.command {
            Command::Sim(opts) => sim::run(opts).await,
            Command::Run(opts) => sync::run(&ctx, opts).await,
            Command::Sync(opts) => sync::sync(&ctx, opts).await,
            Command::Reconcile(opts) => sync::reconcile(&ctx, opts).await,
            Command::Status(opts) => status::run(&ctx, opts).await,
            Command::Cursor(cmd) => cursor::run(&ctx, cmd).await,
            Command::Demo(opts) => demo::run(opts).await,
            Command::Auth(cmd) => auth::run(&ctx, cmd).await,
            Command::Users(opts) => users::run(*opts, &ctx).await,
            Command::Groups(opts) => groups::run(opts, &ctx).await,
            Command::Apps(opts) => apps::run(opts, &ctx).await,
            Command::Hook(opts) => hook::run(opts, &ctx).await,
            Command::Hooks(opts) => hooks::run(opts, &ctx).await,
            Command::Policies(opts) => policies::run(opts, &ctx).await,
            Command::Realms(opts) => realms::run(opts, &ctx).await,
            Command::UserTypes(opts) => user_types::run(opts, &ctx).await,
            Command::Logs(opts) => logs::run(opts, &ctx).await,
            Command::Raw(opts) => raw::run(*opts, &ctx).await,
            Command::Pick(opts) => pick::run(opts, &ctx).await,
            Command::Completions(opts) => completions::run(opts),
            Command::Man(opts) => man::run(opts),
        }
    }
}
