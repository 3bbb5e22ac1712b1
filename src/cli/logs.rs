//! `oktasync logs get`: System Log events, a page or every page up to a cap.

use clap::Subcommand;

use super::common::{PageArgs, print_list};
use super::output::Column;
use super::{Context, input};
use crate::okta::api::{LogQuery, LogSortOrder};

/// Options for `oktasync logs`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Read System Log events, e.g. `oktasync logs get --since 2024-05-01T00:00:00Z --filter 'eventType eq "user.session.start"' --all`
    Get(GetArgs),
}

const LOG_COLUMNS: &[Column] = &[
    ("PUBLISHED", "published"),
    ("EVENT", "eventType"),
    ("RESULT", "outcome.result"),
    ("ACTOR", "actor.alternateId"),
    ("MESSAGE", "displayMessage"),
];

/// The most events one `logs get` prints unless `--max` says otherwise.
const DEFAULT_MAX: usize = 10_000;

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// Earliest time (ISO 8601; Okta's default is 7 days before --until), e.g. 2024-05-01T00:00:00Z
    #[arg(long, value_name = "TIME", value_parser = input::time, conflicts_with = "after")]
    since: Option<String>,
    /// Latest time (ISO 8601), e.g. 2024-05-02T00:00:00Z
    #[arg(long, value_name = "TIME", value_parser = input::time)]
    until: Option<String>,
    /// SCIM filter on event fields, e.g. 'eventType eq "user.lifecycle.deactivate"'
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Keywords that must all match, e.g. 'jane FAILURE'
    #[arg(long, value_name = "TEXT")]
    q: Option<String>,
    /// Order by published time, e.g. DESCENDING
    #[arg(long, value_enum, value_name = "ORDER", ignore_case = true)]
    sort_order: Option<LogSortOrder>,
    #[command(flatten)]
    page: PageArgs,
    /// Stop after this many events, e.g. 50000
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX)]
    max: usize,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    let Verb::Get(args) = opts.command;
    if args.page.limit.is_some_and(|l| l > 1000) {
        anyhow::bail!("--limit: the System Log takes at most 1000 events per page");
    }
    let query = LogQuery {
        since: args.since,
        until: args.until,
        filter: args.filter,
        q: args.q,
        sort_order: args.sort_order,
        limit: args.page.limit.or(args.page.all.then_some(1000)),
        after: args.page.after,
    };
    let client = ctx.client()?;
    let listing = client.list_logs(&query)?;
    print_list(ctx, listing, args.page.all, Some(args.max), LOG_COLUMNS).await
}
