//! `oktasync pick …`: `[{"key": id, "label": name}]` picklists for scripts and UIs.

use clap::Subcommand;

use super::output::Column;
use super::{Context, input};
use crate::okta::api::PickList;

/// Options for `oktasync pick`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    list: Which,
    /// Only names starting with this (users, groups, apps), e.g. Sal
    #[arg(long, global = true, value_name = "TEXT")]
    q: Option<String>,
    /// At most this many entries, e.g. 500
    #[arg(long, global = true, value_name = "N")]
    max: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Which {
    /// Users as "First Last (login)", e.g. `oktasync pick users --q jane`
    Users,
    /// Groups by name, e.g. `oktasync pick groups`
    Groups,
    /// Applications by label, e.g. `oktasync pick apps`
    Apps,
    /// Event hooks by name, e.g. `oktasync pick hooks`
    Hooks,
    /// Realms by name, e.g. `oktasync pick realms`
    Realms,
    /// User types by display name, e.g. `oktasync pick user-types`
    UserTypes,
    /// A user's factors, e.g. `oktasync pick factors --user jane.doe@example.com`
    Factors(FactorArgs),
}

#[derive(Debug, clap::Args)]
struct FactorArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(long, value_name = "USER", value_parser = input::user_ref)]
    user: String,
}

const PICK_COLUMNS: &[Column] = &[("KEY", "key"), ("LABEL", "label")];

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    let list = match opts.list {
        Which::Users => PickList::Users,
        Which::Groups => PickList::Groups,
        Which::Apps => PickList::Apps,
        Which::Hooks => PickList::Hooks,
        Which::Realms => PickList::Realms,
        Which::UserTypes => PickList::UserTypes,
        Which::Factors(args) => PickList::Factors { user: args.user },
    };
    let client = ctx.client()?;
    let items = client.pick(&list, opts.q.as_deref(), opts.max).await?;
    let values: Vec<serde_json::Value> = items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let mut out = ctx.printer(PICK_COLUMNS).list();
    out.items(&values)?;
    out.finish()?;
    Ok(())
}
