//! `oktasync users delete|activate|deactivate|reactivate|suspend|unsuspend|unlock|
//! reset-password|clear-sessions|unenroll-factor`: a user's lifecycle, sessions and factors.
//! The destructive ones take `--dry-run`.

use super::common::{DryRun, print_value, send_or_show, show_calls};
use super::users::USER_COLUMNS;
use super::{Context, input};
use crate::okta::api::DeleteOutcome;

#[derive(Debug, clap::Args)]
pub(super) struct IdArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
}

#[derive(Debug, clap::Args)]
pub(super) struct EmailArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
    /// Have Okta email the user (sent as sendEmail=true; otherwise false), e.g. `--send-email`
    #[arg(long)]
    send_email: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct DeactivateArgs {
    #[command(flatten)]
    user: EmailArgs,
    #[command(flatten)]
    dry_run: DryRun,
}

#[derive(Debug, clap::Args)]
pub(super) struct DeleteArgs {
    #[command(flatten)]
    user: EmailArgs,
    #[command(flatten)]
    dry_run: DryRun,
}

#[derive(Debug, clap::Args)]
pub(super) struct ResetArgs {
    #[command(flatten)]
    user: EmailArgs,
    /// End the user's sessions too, e.g. `--revoke-sessions`
    #[arg(long)]
    revoke_sessions: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct ClearArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
    /// Also revoke the user's OIDC and OAuth tokens, e.g. `--oauth-tokens`
    #[arg(long)]
    oauth_tokens: bool,
    /// Also forget remembered devices and factors (sent as forgetDevices=true; otherwise false), e.g. `--forget-devices`
    #[arg(long)]
    forget_devices: bool,
    #[command(flatten)]
    dry_run: DryRun,
}

#[derive(Debug, clap::Args)]
pub(super) struct UnenrollArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
    /// Factor id (see `users factors`), e.g. mbl1abcdEFGH2345
    #[arg(value_parser = input::object_id)]
    factor_id: String,
    /// Also remove the phone number as a recovery method (sms and call), e.g. `--remove-recovery-enrollment`
    #[arg(long)]
    remove_recovery_enrollment: bool,
    #[command(flatten)]
    dry_run: DryRun,
}

pub(super) async fn delete(args: DeleteArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let users = client.users();
    let (id, send_email) = (&args.user.id, args.user.send_email);
    if args.dry_run.dry_run {
        return show_calls(ctx, &[users.delete_call(id, send_email)?]);
    }
    match users.delete(id, send_email).await? {
        DeleteOutcome::Deleted => eprintln!("deleted user {id}"),
        DeleteOutcome::Deactivated { status } => eprintln!(
            "user {id} was not deprovisioned, so Okta only deactivated it (status now {status}); \
             run `oktasync users delete {id}` again to delete it"
        ),
    }
    Ok(())
}

pub(super) async fn status(args: EmailArgs, action: &str, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let call = client
        .users()
        .status_call(&args.id, action, args.send_email)?;
    let answer = client.send_json(call).await?;
    print_value(ctx, &answer, &[], &format!("{action}d user {}", args.id))
}

pub(super) async fn deactivate(args: DeactivateArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let call = client
        .users()
        .status_call(&args.user.id, "deactivate", args.user.send_email)?;
    let done = format!("deactivated user {}", args.user.id);
    send_or_show(ctx, &client, call, args.dry_run, &done).await
}

pub(super) async fn transition(args: IdArgs, action: &str, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let call = client.users().transition_call(&args.id, action)?;
    let answer = client.send_json(call).await?;
    print_value(
        ctx,
        &answer,
        USER_COLUMNS,
        &format!("{action}: done for user {}", args.id),
    )
}

pub(super) async fn reset_password(args: ResetArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let (id, email) = (&args.user.id, args.user.send_email);
    let answer = client
        .users()
        .reset_password(id, email, args.revoke_sessions)
        .await?;
    print_value(
        ctx,
        &answer,
        &[],
        &format!("password reset started for user {id}"),
    )
}

pub(super) async fn clear_sessions(args: ClearArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let call =
        client
            .users()
            .clear_sessions_call(&args.id, args.oauth_tokens, args.forget_devices)?;
    let done = format!("cleared the sessions of user {}", args.id);
    send_or_show(ctx, &client, call, args.dry_run, &done).await
}

pub(super) async fn unenroll_factor(args: UnenrollArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let call = client.users().unenroll_factor_call(
        &args.id,
        &args.factor_id,
        args.remove_recovery_enrollment,
    )?;
    let done = format!("removed factor {} of user {}", args.factor_id, args.id);
    send_or_show(ctx, &client, call, args.dry_run, &done).await
}
