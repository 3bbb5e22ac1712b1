//! `oktasync user-types list`: the org's user types.

use clap::Subcommand;

use super::Context;
use super::common::print_list;
use super::output::Column;

/// Options for `oktasync user-types`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List user types, e.g. `oktasync user-types list --output table`
    List,
}

const USER_TYPE_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("DISPLAY NAME", "displayName"),
    ("DEFAULT", "default"),
];

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    let Verb::List = opts.command;
    let client = ctx.client()?;
    print_list(
        ctx,
        client.list_user_types()?,
        true,
        None,
        USER_TYPE_COLUMNS,
    )
    .await
}
