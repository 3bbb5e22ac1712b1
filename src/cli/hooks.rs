//! `oktasync hooks …`: list, show, create, activate, deactivate, verify and delete event hooks,
//! and delete many at once after a confirmation.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::common::{DryRun, print_list, print_value, send_or_show, show_calls};
use super::output::Column;
use super::{Context, input};
use crate::okta::api::NewEventHook;

/// Options for `oktasync hooks`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// List every event hook, e.g. `oktasync hooks list --output table`
    List,
    /// Show one hook, e.g. `oktasync hooks get who8vt36qfNpCGz9H1e6`
    Get(HookArg),
    /// Create a hook, e.g. `oktasync hooks create --name sync --url https://example.com/okta/hook --event user.lifecycle.create`
    Create(CreateArgs),
    /// Activate a hook, e.g. `oktasync hooks activate who8vt36qfNpCGz9H1e6`
    Activate(HookArg),
    /// Deactivate a hook, e.g. `oktasync hooks deactivate who8vt36qfNpCGz9H1e6 --dry-run`
    Deactivate(DryRunHookArg),
    /// Have Okta verify the hook's endpoint, e.g. `oktasync hooks verify who8vt36qfNpCGz9H1e6`
    Verify(HookArg),
    /// Delete an inactive hook, e.g. `oktasync hooks delete who8vt36qfNpCGz9H1e6`
    Delete(DryRunHookArg),
    /// Deactivate and delete every hook (or those with one URL), e.g. `oktasync hooks delete-all --url https://example.com/okta/hook --yes`
    DeleteAll(DeleteAllArgs),
}

const HOOK_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("STATUS", "status"),
    ("VERIFICATION", "verificationStatus"),
    ("NAME", "name"),
    ("URL", "channel.config.uri"),
];

#[derive(Debug, clap::Args)]
struct HookArg {
    /// Event hook id, e.g. who8vt36qfNpCGz9H1e6
    #[arg(value_parser = input::object_id)]
    id: String,
}

#[derive(Debug, clap::Args)]
struct DryRunHookArg {
    #[command(flatten)]
    hook: HookArg,
    #[command(flatten)]
    dry_run: DryRun,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("subscription").required(true).args(["event", "events"])))]
struct CreateArgs {
    /// Hook name, e.g. sync-worker
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Where Okta sends events (https), e.g. https://example.com/okta/hook
    #[arg(long, value_name = "URL")]
    url: String,
    /// Description, e.g. 'Feeds the HR sync'
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Event type to subscribe to (repeatable), e.g. user.lifecycle.create
    #[arg(long, value_name = "TYPE")]
    event: Vec<String>,
    /// Event types as JSON (array, or an events object), inline or @file.json, e.g. '["user.lifecycle.create"]'
    #[arg(long, value_name = "JSON", value_parser = input::json, conflicts_with = "event")]
    events: Option<Value>,
    /// Event filter (early access), inline JSON or @file.json, e.g. '{"eventFilterMap":[…],"type":"EXPRESSION_LANGUAGE"}'
    #[arg(long, value_name = "JSON", value_parser = input::json)]
    filter: Option<Value>,
    /// Extra header Okta sends with each delivery (repeatable), e.g. 'X-Source: okta'
    #[arg(long, value_name = "K:V", value_parser = input::header)]
    header: Vec<(String, String)>,
    /// Authorization header Okta sends (secret), e.g. 'Authorization: Bearer s3cr3t'
    #[arg(long, value_name = "K:V")]
    auth_header: Option<SecretString>,
    /// Leave the new hook inactive, e.g. `--no-activate`
    #[arg(long)]
    no_activate: bool,
}

#[derive(Debug, clap::Args)]
struct DeleteAllArgs {
    /// Only hooks that deliver to this URL, e.g. https://example.com/okta/hook
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Do not ask for confirmation on a terminal, e.g. `--yes`
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    dry_run: DryRun,
}

pub async fn run(opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    match opts.command {
        Verb::List => {
            let client = ctx.client()?;
            print_list(ctx, client.event_hooks().list()?, true, None, HOOK_COLUMNS).await
        }
        Verb::Get(args) => {
            let hook = ctx.client()?.event_hooks().get(&args.id).await?;
            print_value(ctx, &hook, HOOK_COLUMNS, "")
        }
        Verb::Create(args) => create(args, ctx).await,
        Verb::Activate(args) => {
            let hook = ctx.client()?.event_hooks().activate(&args.id).await?;
            print_value(ctx, &hook, HOOK_COLUMNS, "activated")
        }
        Verb::Verify(args) => {
            let hook = ctx.client()?.event_hooks().verify(&args.id).await?;
            print_value(ctx, &hook, HOOK_COLUMNS, "verified")
        }
        Verb::Deactivate(args) => {
            let client = ctx.client()?;
            let call = client.event_hooks().deactivate_call(&args.hook.id)?;
            send_or_show(ctx, &client, call, args.dry_run, "deactivated").await
        }
        Verb::Delete(args) => {
            let client = ctx.client()?;
            let call = client.event_hooks().delete_call(&args.hook.id)?;
            let done = format!("deleted event hook {}", args.hook.id);
            send_or_show(ctx, &client, call, args.dry_run, &done).await
        }
        Verb::DeleteAll(args) => delete_all(args, ctx).await,
    }
}

/// `--events` as an array of types, or as an events object with `items` (and maybe `filter`).
fn subscription(args: &CreateArgs) -> anyhow::Result<(Vec<String>, Option<Value>)> {
    let Some(events) = &args.events else {
        return Ok((args.event.clone(), args.filter.clone()));
    };
    let (items, filter) = match events {
        Value::Array(_) => (events, None),
        Value::Object(map) => (map.get("items").unwrap_or(&Value::Null), map.get("filter")),
        _ => bail!("--events: expected a JSON array of event types or an object with items"),
    };
    let types: Option<Vec<String>> = items
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or(None);
    let Some(types) = types.filter(|t| !t.is_empty()) else {
        bail!(
            "--events: expected a non-empty list of event type strings, e.g. [\"user.lifecycle.create\"]"
        );
    };
    Ok((types, args.filter.clone().or_else(|| filter.cloned())))
}

async fn create(args: CreateArgs, ctx: &Context) -> anyhow::Result<()> {
    let (events, filter) = subscription(&args)?;
    let auth_header = match &args.auth_header {
        Some(secret) => match secret.expose_secret().split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                Some((k.trim().to_owned(), SecretString::from(v.trim().to_owned())))
            }
            _ => bail!("--auth-header: expected NAME:VALUE, e.g. 'Authorization: Bearer …'"),
        },
        None => None,
    };
    if url::Url::parse(&args.url).is_err() {
        bail!(
            "--url: {:?} is not a URL, e.g. https://example.com/okta/hook",
            args.url
        );
    }
    let hook = NewEventHook {
        name: args.name,
        url: args.url,
        description: args.description,
        events,
        filter,
        headers: args.header,
        auth_header,
        activate: !args.no_activate,
    };
    let created = ctx.client()?.event_hooks().create(&hook).await?;
    print_value(ctx, &created, HOOK_COLUMNS, "")
}

/// On a terminal, without `--yes`: show what goes and ask.
fn confirm(hooks: &[&Value]) -> anyhow::Result<bool> {
    for hook in hooks {
        let (id, name) = (
            hook["id"].as_str().unwrap_or("?"),
            hook["name"].as_str().unwrap_or(""),
        );
        eprintln!(
            "  {id}  {name}  {}",
            hook["channel"]["config"]["uri"].as_str().unwrap_or("")
        );
    }
    eprint!(
        "Delete these {} event hooks? Type yes to go on (or pass --yes): ",
        hooks.len()
    );
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}

async fn delete_all(args: DeleteAllArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let hooks = client.event_hooks();
    let plan = hooks.delete_all_plan(args.url.as_deref()).await?;
    if args.dry_run.dry_run {
        let calls: Vec<_> = plan.into_iter().flat_map(|(_, calls)| calls).collect();
        return show_calls(ctx, &calls);
    }
    if plan.is_empty() {
        eprintln!("no event hooks to delete");
        return Ok(());
    }
    let targets: Vec<&Value> = plan.iter().map(|(hook, _)| hook).collect();
    if !args.yes && std::io::stdin().is_terminal() && !confirm(&targets)? {
        bail!("nothing deleted (answer was not yes)");
    }
    let mut out = ctx.printer(HOOK_COLUMNS).list();
    for (hook, calls) in plan {
        for call in calls {
            client.send(call).await?;
        }
        out.items(std::slice::from_ref(&hook))?;
    }
    out.finish()?;
    Ok(())
}
