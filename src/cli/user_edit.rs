//! `oktasync users create|update|set-password`: profile and credential flags, turned into the
//! library's typed inputs (secrets read from flags, stdin or files, and never echoed).

use anyhow::bail;
use clap::builder::PossibleValuesParser;
use secrecy::SecretString;
use serde_json::{Map, Value};

use super::common::print_value;
use super::users::USER_COLUMNS;
use super::{Context, input};
use crate::okta::api::{
    CredentialsInput, NewUser, Password, PasswordChange, ProfileInput, Provider, RecoveryQuestion,
    SecretJson, UserUpdate,
};

const PROVIDER_TYPES: [&str; 6] = [
    "OKTA",
    "ACTIVE_DIRECTORY",
    "LDAP",
    "FEDERATION",
    "SOCIAL",
    "IMPORT",
];

/// Profile attributes shared by `create` and `update`.
#[derive(Debug, clap::Args)]
pub(super) struct ProfileArgs {
    /// Login (usually an email address), e.g. jane.doe@example.com
    #[arg(long, value_name = "LOGIN")]
    login: Option<String>,
    /// Primary email, e.g. jane.doe@example.com
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// Given name, e.g. Jane
    #[arg(long, value_name = "NAME")]
    first_name: Option<String>,
    /// Family name, e.g. Doe
    #[arg(long, value_name = "NAME")]
    last_name: Option<String>,
    /// Department, e.g. Sales
    #[arg(long, value_name = "NAME")]
    department: Option<String>,
    /// Employee number, e.g. 4711
    #[arg(long, value_name = "ID")]
    employee_number: Option<String>,
    /// Mobile phone, e.g. +1-555-415-1337
    #[arg(long, value_name = "PHONE")]
    mobile_phone: Option<String>,
    /// Locale, e.g. en_US
    #[arg(long, value_name = "LOCALE")]
    locale: Option<String>,
    /// More profile attributes, inline JSON or @file.json, e.g. '{"costCenter":"CC-12"}'
    #[arg(long, value_name = "JSON", value_parser = input::json_object)]
    profile_extra: Option<Map<String, Value>>,
}

impl ProfileArgs {
    fn input(self) -> ProfileInput {
        ProfileInput {
            login: self.login,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            department: self.department,
            employee_number: self.employee_number,
            mobile_phone: self.mobile_phone,
            locale: self.locale,
            extra: self.profile_extra.unwrap_or_default(),
        }
    }
}

/// Credential flags shared by `create` and `update`.
#[derive(Debug, clap::Args)]
pub(super) struct CredentialArgs {
    /// Password (visible to other local users; prefer --password-stdin), e.g. 'Tr0ub4dor&3'
    #[arg(long, value_name = "PASSWORD", conflicts_with_all = ["password_stdin", "hash_password"])]
    password: Option<SecretString>,
    /// Read the password from the first line of stdin, e.g. `printf %s "$PW" | … --password-stdin`
    #[arg(long, conflicts_with = "hash_password")]
    password_stdin: bool,
    /// Imported password hash, inline JSON or @file.json, e.g. '{"algorithm":"BCRYPT","workFactor":10,"salt":"…","value":"…"}'
    #[arg(long, value_name = "JSON")]
    hash_password: Option<SecretString>,
    /// Recovery question, e.g. 'First concert?'
    #[arg(long, value_name = "TEXT", requires = "recovery_answer")]
    recovery_question: Option<String>,
    /// Recovery answer, e.g. 'Blur, 1995'
    #[arg(long, value_name = "TEXT", requires = "recovery_question")]
    recovery_answer: Option<SecretString>,
    /// Authentication provider type, e.g. ACTIVE_DIRECTORY
    #[arg(long, value_name = "TYPE", value_parser = PossibleValuesParser::new(PROVIDER_TYPES), ignore_case = true)]
    provider_type: Option<String>,
    /// Authentication provider name, e.g. corp.example.com
    #[arg(long, value_name = "NAME", requires = "provider_type")]
    provider_name: Option<String>,
}

impl CredentialArgs {
    fn input(self) -> anyhow::Result<CredentialsInput> {
        let password = match (self.password, self.password_stdin, self.hash_password) {
            (Some(p), _, _) => Some(Password::Plain(p)),
            (None, true, _) => Some(Password::Plain(input::secret_from_stdin(
                "--password-stdin",
            )?)),
            (None, false, Some(h)) => Some(Password::Hash(SecretJson(input::secret_json(
                "--hash-password",
                &h,
            )?))),
            (None, false, None) => None,
        };
        let recovery_question = match (self.recovery_question, self.recovery_answer) {
            (Some(question), Some(answer)) => Some(RecoveryQuestion { question, answer }),
            _ => None,
        };
        let provider = self.provider_type.map(|kind| Provider {
            kind: kind.to_uppercase(),
            name: self.provider_name,
        });
        Ok(CredentialsInput {
            password,
            recovery_question,
            provider,
        })
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum NextLogin {
    // Make the user change the password at first sign-in.
    ChangePassword,
}

#[derive(Debug, clap::Args)]
pub(super) struct CreateArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    #[command(flatten)]
    credentials: CredentialArgs,
    /// Add to this group (repeatable), e.g. 00g1emaKYZTWRYYRRTSK
    #[arg(long = "group-id", value_name = "ID", value_parser = input::object_id)]
    group_ids: Vec<String>,
    /// User type id, e.g. otyfnjfba4ye7pgjB0g4
    #[arg(long = "type", value_name = "ID", value_parser = input::object_id)]
    type_id: Option<String>,
    /// Realm id, e.g. guo1bfiNtSnZYILxO0g4
    #[arg(long, value_name = "ID", value_parser = input::object_id)]
    realm_id: Option<String>,
    /// Activate now (Okta's default), e.g. `--activate`
    #[arg(long, conflicts_with = "no_activate")]
    activate: bool,
    /// Create as STAGED, e.g. `--no-activate`
    #[arg(long)]
    no_activate: bool,
    /// What the user must do at first sign-in, e.g. change-password
    #[arg(long, value_enum, value_name = "ACTION")]
    next_login: Option<NextLogin>,
    /// Create with a non-Okta authentication provider (query provider=true), e.g. `--provider`
    #[arg(long)]
    provider: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct UpdateArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
    #[command(flatten)]
    profile: ProfileArgs,
    #[command(flatten)]
    credentials: CredentialArgs,
    /// Move to this realm, e.g. guo1bfiNtSnZYILxO0g4
    #[arg(long, value_name = "ID", value_parser = input::object_id)]
    realm_id: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("new").required(true)
    .args(["new_password", "new_password_stdin", "new_hash_password"])))]
pub(super) struct SetPasswordArgs {
    /// User id, login or shortname, e.g. jane.doe@example.com
    #[arg(value_parser = input::user_ref)]
    id: String,
    /// New password (visible to other local users; prefer --new-password-stdin), e.g. 'Tr0ub4dor&3'
    #[arg(long, value_name = "PASSWORD")]
    new_password: Option<SecretString>,
    /// Read the new password from the first line of stdin, e.g. `printf %s "$PW" | … --new-password-stdin`
    #[arg(long)]
    new_password_stdin: bool,
    /// New password as an imported hash, inline JSON or @file.json, e.g. @hash.json
    #[arg(long, value_name = "JSON")]
    new_hash_password: Option<SecretString>,
    /// Current password (makes this the user's own change), e.g. 'old-Pa55word'
    #[arg(long, value_name = "PASSWORD", conflicts_with = "old_hash_password")]
    old_password: Option<SecretString>,
    /// Current password as a hash, inline JSON or @file.json, e.g. @old-hash.json
    #[arg(long, value_name = "JSON")]
    old_hash_password: Option<SecretString>,
    /// End the user's other sessions too (after an admin set: a clear-sessions call), e.g. `--revoke-sessions`
    #[arg(long)]
    revoke_sessions: bool,
}

pub(super) async fn create(args: CreateArgs, ctx: &Context) -> anyhow::Result<()> {
    let profile = args.profile.input();
    if profile.login.is_none() && !profile.extra.contains_key("login") {
        bail!("--login is required (or give login in --profile-extra)");
    }
    if args.next_login.is_some() && args.no_activate {
        bail!("--next-login change-password needs the user activated; drop --no-activate");
    }
    let user = NewUser {
        profile,
        credentials: args.credentials.input()?,
        group_ids: args.group_ids,
        type_id: args.type_id,
        realm_id: args.realm_id,
        activate: match (args.activate, args.no_activate) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        provider: args.provider,
        change_password_at_next_login: args.next_login.is_some(),
    };
    let client = ctx.client()?;
    let created = client.users().create(&user).await?;
    print_value(ctx, &created, USER_COLUMNS, "")
}

pub(super) async fn update(args: UpdateArgs, ctx: &Context) -> anyhow::Result<()> {
    let update = UserUpdate {
        profile: args.profile.input(),
        credentials: args.credentials.input()?,
        realm_id: args.realm_id,
    };
    if update.profile.to_json().is_empty()
        && update.credentials.is_empty()
        && update.realm_id.is_none()
    {
        bail!(
            "nothing to update: give a profile flag (e.g. --department Sales), a credential flag or --realm-id"
        );
    }
    let client = ctx.client()?;
    let user = client.users().update(&args.id, &update).await?;
    print_value(ctx, &user, USER_COLUMNS, "")
}

fn password(
    flag: &str,
    plain: Option<SecretString>,
    hash: Option<SecretString>,
) -> anyhow::Result<Option<Password>> {
    Ok(match (plain, hash) {
        (Some(p), _) => Some(Password::Plain(p)),
        (None, Some(h)) => Some(Password::Hash(SecretJson(input::secret_json(flag, &h)?))),
        (None, None) => None,
    })
}

pub(super) async fn set_password(args: SetPasswordArgs, ctx: &Context) -> anyhow::Result<()> {
    let new = if args.new_password_stdin {
        Some(Password::Plain(input::secret_from_stdin(
            "--new-password-stdin",
        )?))
    } else {
        password(
            "--new-hash-password",
            args.new_password,
            args.new_hash_password,
        )?
    };
    let Some(new) = new else {
        bail!(
            "give the new password with --new-password, --new-password-stdin or --new-hash-password"
        );
    };
    let change = PasswordChange {
        new,
        old: password(
            "--old-hash-password",
            args.old_password,
            args.old_hash_password,
        )?,
        revoke_sessions: args.revoke_sessions,
    };
    let client = ctx.client()?;
    let answer = client.users().set_password(&args.id, &change).await?;
    print_value(ctx, &answer, &[], "password set")
}
