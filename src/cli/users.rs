//! `oktasync users …`: every user command, dispatched from here; reads (list, get, groups, apps,
//! factors) live here, profile and password edits in `user_edit`, lifecycle in `user_lifecycle`.

use clap::Subcommand;

use super::common::{PageArgs, print_list, print_value};
use super::output::Column;
use super::{Context, input, user_edit, user_lifecycle};
use crate::okta::api::{SortOrder, UserQuery};

/// Options for `oktasync users`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List users, e.g. `oktasync users list --search 'profile.department eq "Sales"' --all`
    List(ListArgs),
    /// Show one user, e.g. `oktasync users get jane.doe@example.com`
    Get(GetArgs),
    /// Create a user, e.g. `oktasync users create --login jane@example.com --email jane@example.com --first-name Jane --last-name Doe`
    Create(user_edit::CreateArgs),
    /// Change the given profile fields and credentials, keeping the rest, e.g. `oktasync users update jane@example.com --department Sales`
    Update(user_edit::UpdateArgs),
    /// Delete a deprovisioned user (an active one is only deactivated), e.g. `oktasync users delete 00ub0oNGTSWTBKOLGLNR`
    Delete(user_lifecycle::DeleteArgs),
    /// Activate a staged or deprovisioned user, e.g. `oktasync users activate 00ub0oNGTSWTBKOLGLNR --send-email`
    Activate(user_lifecycle::EmailArgs),
    /// Deactivate (deprovision) a user, e.g. `oktasync users deactivate jane@example.com --dry-run`
    Deactivate(user_lifecycle::DeactivateArgs),
    /// Reactivate a provisioned user, e.g. `oktasync users reactivate 00ub0oNGTSWTBKOLGLNR`
    Reactivate(user_lifecycle::EmailArgs),
    /// Suspend an active user, e.g. `oktasync users suspend 00ub0oNGTSWTBKOLGLNR`
    Suspend(user_lifecycle::IdArgs),
    /// Unsuspend a suspended user, e.g. `oktasync users unsuspend 00ub0oNGTSWTBKOLGLNR`
    Unsuspend(user_lifecycle::IdArgs),
    /// Unlock a locked-out user, e.g. `oktasync users unlock 00ub0oNGTSWTBKOLGLNR`
    Unlock(user_lifecycle::IdArgs),
    /// Start a password reset, e.g. `oktasync users reset-password jane@example.com --revoke-sessions`
    ResetPassword(user_lifecycle::ResetArgs),
    /// Set or change a password, e.g. `printf %s "$PW" | oktasync users set-password jane@example.com --new-password-stdin`
    SetPassword(user_edit::SetPasswordArgs),
    /// End all of a user's sessions, e.g. `oktasync users clear-sessions jane@example.com --oauth-tokens`
    ClearSessions(user_lifecycle::ClearArgs),
    /// The groups a user is in, e.g. `oktasync users groups jane@example.com`
    Groups(SubListArgs),
    /// The apps a user can reach (app links), e.g. `oktasync users apps jane@example.com`
    Apps(SubListArgs),
    /// A user's enrolled factors, e.g. `oktasync users factors jane@example.com`
    Factors(SubListArgs),
    /// Remove one enrolled factor, e.g. `oktasync users unenroll-factor 00ub0oNGTSWTBKOLGLNR sms1abcdEFGH`
    UnenrollFactor(user_lifecycle::UnenrollArgs),
}

pub const USER_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("STATUS", "status"),
    ("LOGIN", "profile.login"),
    ("EMAIL", "profile.email"),
    ("FIRST", "profile.firstName"),
    ("LAST", "profile.lastName"),
];
const APP_LINK_COLUMNS: &[Column] = &[
    ("APP", "appInstanceId"),
    ("NAME", "appName"),
    ("LABEL", "label"),
];
const FACTOR_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("TYPE", "factorType"),
    ("PROVIDER", "provider"),
    ("STATUS", "status"),
];

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Search expression (includes deprovisioned users), e.g. 'status eq "ACTIVE"'
    #[arg(long, value_name = "EXPR")]
    search: Option<String>,
    /// Filter expression, e.g. 'lastUpdated gt "2024-01-01T00:00:00.000Z"'
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Name or email prefix (not paged), e.g. jane
    #[arg(long, value_name = "TEXT")]
    q: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Sort field (with --search), e.g. lastUpdated
    #[arg(long, value_name = "FIELD")]
    sort_by: Option<String>,
    /// Sort order (with --search), e.g. desc
    #[arg(long, value_enum, value_name = "ORDER")]
    sort_order: Option<SortOrder>,
    /// Extra query parameter (repeatable), e.g. fields=id,profile:(login)
    #[arg(long = "param", value_name = "K=V", value_parser = input::key_value)]
    params: Vec<(String, String)>,
    /// Embed more data, e.g. classification
    #[arg(long, value_name = "WHAT")]
    expand: Option<String>,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
    /// Embed more data, e.g. blocks
    #[arg(long, value_name = "WHAT")]
    expand: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(super) struct SubListArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    match opts.command {
        Verb::List(args) => list(args, ctx).await,
        Verb::Get(args) => {
            let client = ctx.client()?;
            let user = client.users().get(&args.id, args.expand.as_deref()).await?;
            print_value(ctx, &user, USER_COLUMNS, "")
        }
        Verb::Create(args) => user_edit::create(args, ctx).await,
        Verb::Update(args) => user_edit::update(args, ctx).await,
        Verb::SetPassword(args) => user_edit::set_password(args, ctx).await,
        Verb::Groups(args) => sub_list(args, SubList::Groups, ctx).await,
        Verb::Apps(args) => sub_list(args, SubList::Apps, ctx).await,
        Verb::Factors(args) => sub_list(args, SubList::Factors, ctx).await,
        Verb::Delete(args) => user_lifecycle::delete(args, ctx).await,
        Verb::Activate(args) => user_lifecycle::status(args, "activate", ctx).await,
        Verb::Reactivate(args) => user_lifecycle::status(args, "reactivate", ctx).await,
        Verb::Deactivate(args) => user_lifecycle::deactivate(args, ctx).await,
        Verb::Suspend(args) => user_lifecycle::transition(args, "suspend", ctx).await,
        Verb::Unsuspend(args) => user_lifecycle::transition(args, "unsuspend", ctx).await,
        Verb::Unlock(args) => user_lifecycle::transition(args, "unlock", ctx).await,
        Verb::ResetPassword(args) => user_lifecycle::reset_password(args, ctx).await,
        Verb::ClearSessions(args) => user_lifecycle::clear_sessions(args, ctx).await,
        Verb::UnenrollFactor(args) => user_lifecycle::unenroll_factor(args, ctx).await,
    }
}

/// The lists under one user.
enum SubList {
    Groups,
    Apps,
    Factors,
}

async fn sub_list(args: SubListArgs, which: SubList, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let users = client.users();
    let (listing, columns) = match which {
        SubList::Groups => (users.groups(&args.id)?, super::groups::GROUP_COLUMNS),
        SubList::Apps => (users.app_links(&args.id)?, APP_LINK_COLUMNS),
        SubList::Factors => (users.factors(&args.id)?, FACTOR_COLUMNS),
    };
    print_list(ctx, listing, true, None, columns).await
}

async fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    input::check_params("--param", "listUsers", &args.params)?;
    let query = UserQuery {
        search: args.search,
        filter: args.filter,
        q: args.q,
        limit: args.page.limit,
        after: args.page.after,
        sort_by: args.sort_by,
        sort_order: args.sort_order,
        expand: args.expand,
        extra: args.params,
    };
    let client = ctx.client()?;
    print_list(
        ctx,
        client.users().list(&query)?,
        args.page.all,
        None,
        USER_COLUMNS,
    )
    .await
}
