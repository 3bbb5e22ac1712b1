//! `oktasync apps …`: list and show applications; assign, show, update and remove a user's
//! assignment.

use anyhow::bail;
use clap::Subcommand;
use secrecy::SecretString;
use serde_json::{Map, Value};

use super::common::{DryRun, PageArgs, print_list, print_value, send_or_show};
use super::output::Column;
use super::{Context, input};
use crate::okta::api::{AppAssignment, AppQuery, AppUserUpdate};

/// Options for `oktasync apps`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List applications, e.g. `oktasync apps list --filter 'status eq "ACTIVE"' --all`
    List(ListArgs),
    /// Show one application, e.g. `oktasync apps get 0oafxqCAJWWGELFTYASJ`
    Get(GetArgs),
    /// Assign a user to an app, e.g. `oktasync apps assign 0oafxqCAJWWGELFTYASJ 00ub0oNGTSWTBKOLGLNR --username jdoe`
    Assign(AssignArgs),
    /// Show a user's assignment, e.g. `oktasync apps assignment 0oafxqCAJWWGELFTYASJ 00ub0oNGTSWTBKOLGLNR`
    Assignment(PairArgs),
    /// Change an assignment's credentials or profile, e.g. `oktasync apps update-assignment 0oafxqCAJWWGELFTYASJ 00ub0oNGTSWTBKOLGLNR --profile '{"role":"admin"}'`
    UpdateAssignment(UpdateArgs),
    /// Remove a user from an app, e.g. `oktasync apps unassign 0oafxqCAJWWGELFTYASJ 00ub0oNGTSWTBKOLGLNR --dry-run`
    Unassign(UnassignArgs),
}

const APP_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("STATUS", "status"),
    ("NAME", "name"),
    ("LABEL", "label"),
    ("SIGN-ON", "signOnMode"),
];
const APP_USER_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("STATUS", "status"),
    ("SCOPE", "scope"),
    ("USERNAME", "credentials.userName"),
];

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Name or label prefix, e.g. Salesforce
    #[arg(long, value_name = "TEXT")]
    q: Option<String>,
    /// Filter expression, e.g. 'user.id eq "00ub0oNGTSWTBKOLGLNR"'
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Embed more data, e.g. user/00ub0oNGTSWTBKOLGLNR
    #[arg(long, value_name = "WHAT")]
    expand: Option<String>,
    /// Include apps that are not deleted but inactive too, e.g. `--include-non-deleted`
    #[arg(long)]
    include_non_deleted: bool,
    /// Ask Okta for its faster, leaner listing, e.g. `--use-optimization`
    #[arg(long)]
    use_optimization: bool,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// App id, e.g. 0oafxqCAJWWGELFTYASJ
    #[arg(value_parser = input::object_id)]
    id: String,
    /// Embed more data, e.g. user/00ub0oNGTSWTBKOLGLNR
    #[arg(long, value_name = "WHAT")]
    expand: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PairArgs {
    /// App id, e.g. 0oafxqCAJWWGELFTYASJ
    #[arg(value_parser = input::object_id)]
    app_id: String,
    /// User id (not a login), e.g. 00ub0oNGTSWTBKOLGLNR
    #[arg(value_parser = input::object_id)]
    user_id: String,
}

#[derive(Debug, clap::Args)]
struct CredentialArgs {
    /// User name in the app, e.g. jdoe
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
    /// Password in the app, e.g. 'App-Pa55word'
    #[arg(long, value_name = "PASSWORD")]
    password: Option<SecretString>,
    /// App profile attributes, inline JSON or @file.json, e.g. '{"role":"admin"}'
    #[arg(long, value_name = "JSON", value_parser = input::json_object)]
    profile: Option<Map<String, Value>>,
}

#[derive(Debug, clap::Args)]
struct AssignArgs {
    #[command(flatten)]
    pair: PairArgs,
    /// Assignment scope, e.g. USER
    #[arg(long, value_name = "SCOPE", value_parser = ["USER", "GROUP"])]
    scope: Option<String>,
    #[command(flatten)]
    credentials: CredentialArgs,
}

#[derive(Debug, clap::Args)]
struct UpdateArgs {
    #[command(flatten)]
    pair: PairArgs,
    #[command(flatten)]
    credentials: CredentialArgs,
}

#[derive(Debug, clap::Args)]
struct UnassignArgs {
    #[command(flatten)]
    pair: PairArgs,
    /// Have Okta email the user (sent as sendEmail=true; otherwise false), e.g. `--send-email`
    #[arg(long)]
    send_email: bool,
    #[command(flatten)]
    dry_run: DryRun,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    match opts.command {
        Verb::List(args) => list(args, ctx).await,
        Verb::Get(args) => {
            let apps = ctx.client()?;
            let app = apps.apps().get(&args.id, args.expand.as_deref()).await?;
            print_value(ctx, &app, APP_COLUMNS, "")
        }
        Verb::Assign(args) => assign(args, ctx).await,
        Verb::Assignment(args) => {
            let client = ctx.client()?;
            let app_user = client
                .apps()
                .assignment(&args.app_id, &args.user_id)
                .await?;
            print_value(ctx, &app_user, APP_USER_COLUMNS, "")
        }
        Verb::UpdateAssignment(args) => update(args, ctx).await,
        Verb::Unassign(args) => {
            let client = ctx.client()?;
            let (app, user) = (&args.pair.app_id, &args.pair.user_id);
            let call = client.apps().unassign_call(app, user, args.send_email)?;
            let done = format!("removed user {user} from app {app}");
            send_or_show(ctx, &client, call, args.dry_run, &done).await
        }
    }
}

async fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let query = AppQuery {
        q: args.q,
        filter: args.filter,
        limit: args.page.limit,
        after: args.page.after,
        expand: args.expand,
        include_non_deleted: args.include_non_deleted,
        use_optimization: args.use_optimization,
    };
    let client = ctx.client()?;
    let listing = client.apps().list(&query)?;
    print_list(ctx, listing, args.page.all, None, APP_COLUMNS).await
}

async fn assign(args: AssignArgs, ctx: &Context) -> anyhow::Result<()> {
    let c = args.credentials;
    let assignment = AppAssignment {
        user_id: args.pair.user_id,
        scope: args.scope,
        user_name: c.username,
        password: c.password,
        profile: c.profile,
    };
    let client = ctx.client()?;
    let app_user = client.apps().assign(&args.pair.app_id, &assignment).await?;
    print_value(ctx, &app_user, APP_USER_COLUMNS, "")
}

async fn update(args: UpdateArgs, ctx: &Context) -> anyhow::Result<()> {
    let c = args.credentials;
    if c.username.is_none() && c.password.is_none() && c.profile.is_none() {
        bail!("nothing to update: give --profile, --username or --password");
    }
    let update = AppUserUpdate {
        user_name: c.username,
        password: c.password,
        profile: c.profile,
    };
    let (app, user) = (&args.pair.app_id, &args.pair.user_id);
    let app_user = ctx
        .client()?
        .apps()
        .update_assignment(app, user, &update)
        .await?;
    print_value(ctx, &app_user, APP_USER_COLUMNS, "")
}
