//! `oktasync realms list`: the org's realms.

use clap::Subcommand;

use super::Context;
use super::common::{PageArgs, print_list};
use super::output::Column;
use crate::okta::api::{RealmQuery, SortOrder};

/// Options for `oktasync realms`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List realms, e.g. `oktasync realms list --search 'profile.name co "EMEA"'`
    List(ListArgs),
}

const REALM_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "profile.name"),
    ("TYPE", "profile.realmType"),
    ("DEFAULT", "isDefault"),
];

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Search expression (only profile.name co), e.g. 'profile.name co "EMEA"'
    #[arg(long, value_name = "EXPR")]
    search: Option<String>,
    /// Sort field, e.g. profile.name
    #[arg(long, value_name = "FIELD")]
    sort_by: Option<String>,
    /// Sort order, e.g. desc
    #[arg(long, value_enum, value_name = "ORDER")]
    sort_order: Option<SortOrder>,
    #[command(flatten)]
    page: PageArgs,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    let Verb::List(args) = opts.command;
    let query = RealmQuery {
        search: args.search,
        sort_by: args.sort_by,
        sort_order: args.sort_order,
        limit: args.page.limit,
        after: args.page.after,
    };
    let client = ctx.client()?;
    print_list(
        ctx,
        client.list_realms(&query)?,
        args.page.all,
        None,
        REALM_COLUMNS,
    )
    .await
}
