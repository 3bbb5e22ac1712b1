//! `oktasync groups …`: list, show, create, update and delete groups; list, add and remove
//! members.

use anyhow::bail;
use clap::Subcommand;

use super::common::{DryRun, PageArgs, print_list, print_value, send_or_show};
use super::output::Column;
use super::users::USER_COLUMNS;
use super::{Context, input};
use crate::okta::api::{GroupProfile, GroupQuery, SortOrder};

/// Options for `oktasync groups`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List groups, e.g. `oktasync groups list --q Sales --all`
    List(ListArgs),
    /// Show one group, e.g. `oktasync groups get 00g1emaKYZTWRYYRRTSK`
    Get(GroupArg),
    /// Create a group, e.g. `oktasync groups create --name Sales --description 'Sales team'`
    Create(CreateArgs),
    /// Change a group's name or description (the other is kept), e.g. `oktasync groups update 00g1emaKYZTWRYYRRTSK --description 'EMEA sales'`
    Update(UpdateArgs),
    /// Delete a group, e.g. `oktasync groups delete 00g1emaKYZTWRYYRRTSK --dry-run`
    Delete(DeleteArgs),
    /// List a group's members, e.g. `oktasync groups members 00g1emaKYZTWRYYRRTSK --all`
    Members(MembersArgs),
    /// Add a user to a group, e.g. `oktasync groups add-user 00g1emaKYZTWRYYRRTSK 00ub0oNGTSWTBKOLGLNR`
    AddUser(MemberArgs),
    /// Remove a user from a group, e.g. `oktasync groups remove-user 00g1emaKYZTWRYYRRTSK 00ub0oNGTSWTBKOLGLNR`
    RemoveUser(MemberArgs),
}

pub const GROUP_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("TYPE", "type"),
    ("NAME", "profile.name"),
    ("DESCRIPTION", "profile.description"),
];

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Search expression, e.g. 'type eq "OKTA_GROUP"'
    #[arg(long, value_name = "EXPR")]
    search: Option<String>,
    /// Filter expression, e.g. 'lastMembershipUpdated gt "2024-01-01T00:00:00.000Z"'
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Name prefix (not paged), e.g. Sales
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
    /// Extra query parameter (repeatable), e.g. expand=stats
    #[arg(long = "param", value_name = "K=V", value_parser = input::key_value)]
    params: Vec<(String, String)>,
    /// Embed more data, e.g. stats,app
    #[arg(long, value_name = "WHAT")]
    expand: Option<String>,
}

#[derive(Debug, clap::Args)]
struct GroupArg {
    /// Group id, e.g. 00g1emaKYZTWRYYRRTSK
    #[arg(value_parser = input::object_id)]
    id: String,
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// Group name, e.g. Sales
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Description, e.g. 'Sales team, all regions'
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

#[derive(Debug, clap::Args)]
struct UpdateArgs {
    /// Group id, e.g. 00g1emaKYZTWRYYRRTSK
    #[arg(value_parser = input::object_id)]
    id: String,
    /// New name, e.g. 'Sales EMEA'
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// New description, e.g. 'Sales team, EMEA'
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

#[derive(Debug, clap::Args)]
struct DeleteArgs {
    /// Group id, e.g. 00g1emaKYZTWRYYRRTSK
    #[arg(value_parser = input::object_id)]
    id: String,
    #[command(flatten)]
    dry_run: DryRun,
}

#[derive(Debug, clap::Args)]
struct MembersArgs {
    /// Group id, e.g. 00g1emaKYZTWRYYRRTSK
    #[arg(value_parser = input::object_id)]
    id: String,
    #[command(flatten)]
    page: PageArgs,
}

#[derive(Debug, clap::Args)]
struct MemberArgs {
    /// Group id, e.g. 00g1emaKYZTWRYYRRTSK
    #[arg(value_parser = input::object_id)]
    group_id: String,
    /// User id (not a login), e.g. 00ub0oNGTSWTBKOLGLNR
    #[arg(value_parser = input::object_id)]
    user_id: String,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    match opts.command {
        Verb::List(args) => list(args, ctx).await,
        Verb::Get(args) => {
            let group = ctx.client()?.groups().get(&args.id).await?;
            print_value(ctx, &group, GROUP_COLUMNS, "")
        }
        Verb::Create(args) => {
            let profile = GroupProfile {
                name: Some(args.name),
                description: args.description,
            };
            let group = ctx.client()?.groups().create(&profile).await?;
            print_value(ctx, &group, GROUP_COLUMNS, "")
        }
        Verb::Update(args) => update(args, ctx).await,
        Verb::Delete(args) => {
            let client = ctx.client()?;
            let call = client.groups().delete_call(&args.id)?;
            let done = format!("deleted group {}", args.id);
            send_or_show(ctx, &client, call, args.dry_run, &done).await
        }
        Verb::Members(args) => {
            let client = ctx.client()?;
            let (limit, after) = (args.page.limit, args.page.after.as_deref());
            let listing = client.groups().members(&args.id, limit, after)?;
            print_list(ctx, listing, args.page.all, None, USER_COLUMNS).await
        }
        Verb::AddUser(args) => membership(args, true, ctx).await,
        Verb::RemoveUser(args) => membership(args, false, ctx).await,
    }
}

async fn update(args: UpdateArgs, ctx: &Context) -> anyhow::Result<()> {
    if args.name.is_none() && args.description.is_none() {
        bail!("nothing to update: give --name or --description");
    }
    let change = GroupProfile {
        name: args.name,
        description: args.description,
    };
    let group = ctx.client()?.groups().update(&args.id, &change).await?;
    print_value(ctx, &group, GROUP_COLUMNS, "")
}

async fn membership(args: MemberArgs, add: bool, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let (group, user) = (&args.group_id, &args.user_id);
    if add {
        client.groups().add_user(group, user).await?;
        eprintln!("added user {user} to group {group}");
    } else {
        client.groups().remove_user(group, user).await?;
        eprintln!("removed user {user} from group {group}");
    }
    Ok(())
}

async fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    input::check_params("--param", "listGroups", &args.params)?;
    let query = GroupQuery {
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
        client.groups().list(&query)?,
        args.page.all,
        None,
        GROUP_COLUMNS,
    )
    .await
}
