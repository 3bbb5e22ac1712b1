//! `oktasync policies list`: the org's policies of one type.

use clap::Subcommand;
use clap::builder::PossibleValuesParser;

use super::Context;
use super::common::{PageArgs, print_list};
use super::output::Column;
use crate::okta::api::PolicyQuery;
use crate::okta::api::ops::POLICY_TYPES;

/// Options for `oktasync policies`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List policies of one type, e.g. `oktasync policies list --type PASSWORD --output table`
    List(ListArgs),
}

const POLICY_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("PRIORITY", "priority"),
    ("NAME", "name"),
];

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Policy type (required), e.g. OKTA_SIGN_ON
    #[arg(long = "type", value_name = "TYPE", ignore_case = true,
          value_parser = PossibleValuesParser::new(POLICY_TYPES))]
    policy_type: String,
    /// Only policies in this status, e.g. ACTIVE
    #[arg(long, value_name = "STATUS", value_parser = ["ACTIVE", "INACTIVE"], ignore_case = true)]
    status: Option<String>,
    /// Name contains, e.g. Default
    #[arg(long, value_name = "TEXT")]
    q: Option<String>,
    /// Embed more data, e.g. rules
    #[arg(long, value_name = "WHAT")]
    expand: Option<String>,
    /// Sort field, e.g. created
    #[arg(long, value_name = "FIELD")]
    sort_by: Option<String>,
    /// Only policies mapped to this resource, e.g. 0oafxqCAJWWGELFTYASJ
    #[arg(long, value_name = "ID")]
    resource_id: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    let Verb::List(args) = opts.command;
    let query = PolicyQuery {
        policy_type: args.policy_type.to_uppercase(),
        status: args.status.map(|s| s.to_uppercase()),
        q: args.q,
        expand: args.expand,
        sort_by: args.sort_by,
        resource_id: args.resource_id,
        limit: args.page.limit,
        after: args.page.after,
    };
    let client = ctx.client()?;
    print_list(
        ctx,
        client.list_policies(&query)?,
        args.page.all,
        None,
        POLICY_COLUMNS,
    )
    .await
}
