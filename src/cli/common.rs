//! What every command group shares: paging flags and printing a list page by page (with the
//! next `after` cursor on stderr), printing one answer, and sending or (with `--dry-run`)
//! only showing the requests of a destructive command.

use anyhow::Context as _;
use serde_json::Value;

use super::Context;
use super::output::Column;
use super::progress::Progress;
use crate::okta::OktaClient;
use crate::okta::api::{Call, Listing, after_cursor};

/// `--limit`, `--after`, `--all`.
#[derive(Debug, Clone, clap::Args)]
pub struct PageArgs {
    /// Items per page, e.g. 200
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Start after this cursor (printed on stderr by the previous page), e.g. 00u1abcdEFGH
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
    /// Follow every page, e.g. `--all` (default: the first page only)
    #[arg(long)]
    pub all: bool,
}

/// `--dry-run`.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DryRun {
    /// Print the request(s) that would be sent, secrets redacted, and send nothing, e.g. `--dry-run`
    #[arg(long)]
    pub dry_run: bool,
}

/// Prints a list: the first page, or every page with `all` (at most `max` items). When more
/// pages exist, the cursor for `--after` goes to stderr.
pub async fn print_list(
    ctx: &Context,
    mut listing: Listing,
    all: bool,
    max: Option<usize>,
    columns: &'static [Column],
) -> anyhow::Result<()> {
    let mut out = ctx.printer(columns).list();
    let mut progress = Progress::start(ctx.progress && all);
    let (mut count, mut next, mut cut, mut pages) = (0usize, None, false, 0u64);
    while let Some(page) = listing.next_page().await? {
        let take = max.map_or(page.items.len(), |m| {
            m.saturating_sub(count).min(page.items.len())
        });
        cut = take < page.items.len();
        out.items(&page.items[..take])?;
        count += take;
        pages += 1;
        // System Log events carry `published`; read oldest first, it gives an estimate.
        let position = page.items.last().and_then(|i| i.get("published")?.as_str());
        progress.update("", count as u64, pages, position);
        next = if cut { None } else { page.next };
        let full = max.is_some_and(|m| count >= m);
        if !all || page.items.is_empty() || next.is_none() || full {
            break;
        }
    }
    progress.finish();
    out.finish()?;
    if cut {
        eprintln!("stopped at {count} items (--max); narrow the query or raise --max to see more");
    } else if let Some(next) = next {
        match after_cursor(&next) {
            Some(cursor) => eprintln!("next page: --after {cursor}"),
            None => eprintln!("next page: {next}"),
        }
    }
    Ok(())
}

/// Prints one answer; a body-less answer (204) prints nothing on stdout and `done` on stderr.
pub fn print_value(
    ctx: &Context,
    value: &Value,
    columns: &'static [Column],
    done: &str,
) -> anyhow::Result<()> {
    if value.is_null() {
        eprintln!("{done}");
        return Ok(());
    }
    ctx.printer(columns)
        .object(value)
        .context("cannot write to stdout")
}

/// Prints what the calls would send (secrets redacted): one object, or a list for several.
pub fn show_calls(ctx: &Context, calls: &[Call]) -> anyhow::Result<()> {
    let shown: Vec<Value> = calls.iter().map(Call::redacted).collect();
    let printer = ctx.printer(DRY_RUN_COLUMNS);
    match shown.as_slice() {
        [one] => printer.object(one)?,
        many => {
            let mut list = printer.list();
            list.items(many)?;
            list.finish()?;
        }
    }
    Ok(())
}

const DRY_RUN_COLUMNS: &[Column] = &[
    ("OPERATION", "operation"),
    ("METHOD", "method"),
    ("URL", "url"),
];

/// Sends one call, or only shows it with `--dry-run`; prints the answer.
pub async fn send_or_show(
    ctx: &Context,
    client: &OktaClient,
    call: Call,
    dry_run: DryRun,
    done: &str,
) -> anyhow::Result<()> {
    if dry_run.dry_run {
        return show_calls(ctx, &[call]);
    }
    let answer = client.send_json(call).await?;
    print_value(ctx, &answer, &[], done)
}

/// Prints what a raw request would send (secrets redacted).
pub fn show_calls_raw(ctx: &Context, request: &crate::okta::Request) -> anyhow::Result<()> {
    ctx.printer(DRY_RUN_COLUMNS).object(&request.redacted())?;
    Ok(())
}
