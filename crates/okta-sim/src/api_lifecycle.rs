//! User lifecycle operations (`/lifecycle/*`), password change and session clearing: which
//! status each may start from, what it becomes, what comes back, and the events written.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::logs::NONE;
use super::model::Status;
use super::pipeline::Ctx;
use super::render;
use super::respond::{ApiError, ApiResult, Params, no_content, ok, parse_body};
use super::state::{Shared, World, lock};
use super::util::{Rng, mix2, now_ms, okta_id};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Activate,
    Deactivate,
    Reactivate,
    Suspend,
    Unsuspend,
    Unlock,
    ResetPassword,
    ExpirePassword,
    ResetFactors,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "activate" => Action::Activate,
            "deactivate" => Action::Deactivate,
            "reactivate" => Action::Reactivate,
            "suspend" => Action::Suspend,
            "unsuspend" => Action::Unsuspend,
            "unlock" => Action::Unlock,
            "reset_password" => Action::ResetPassword,
            "expire_password" => Action::ExpirePassword,
            "reset_factors" => Action::ResetFactors,
            _ => return None,
        })
    }

    fn event(self) -> &'static str {
        match self {
            Action::Activate => "user.lifecycle.activate",
            Action::Deactivate => "user.lifecycle.deactivate",
            Action::Reactivate => "user.lifecycle.reactivate",
            Action::Suspend => "user.lifecycle.suspend",
            Action::Unsuspend => "user.lifecycle.unsuspend",
            Action::Unlock => "user.account.unlock",
            Action::ResetPassword => "user.account.reset_password",
            Action::ExpirePassword => "user.account.expire_password",
            Action::ResetFactors => "user.mfa.factor.deactivate",
        }
    }
}

/// The status after `action` from `from`, or Okta's refusal (status, code, summary).
pub fn transition(from: Status, action: Action, has_password: bool) -> Result<Status, ApiError> {
    use Status::*;
    let invalid = |what: &str| {
        ApiError::validation(
            what,
            format!("Cannot {what} a user with status {}", from.as_str()),
        )
    };
    match action {
        Action::Activate => match from {
            Staged | Provisioned | Deprovisioned => {
                Ok(if has_password { Active } else { Provisioned })
            }
            _ => Err(ApiError::new(
                403,
                "E0000016",
                "Activation failed because the user is already active",
            )),
        },
        Action::Deactivate => Ok(Deprovisioned),
        Action::Reactivate if matches!(from, Provisioned | Recovery) => Ok(Provisioned),
        Action::Suspend if from == Active => Ok(Suspended),
        Action::Unsuspend if from == Suspended => Ok(Active),
        Action::Unlock if matches!(from, LockedOut | Active) => Ok(Active),
        Action::ResetPassword | Action::ExpirePassword | Action::ResetFactors
            if matches!(from, Staged | Deprovisioned) =>
        {
            Err(ApiError::new(
                403,
                "E0000038",
                "This operation is not allowed in the user's current status.",
            ))
        }
        Action::ResetPassword => Ok(Recovery),
        Action::ExpirePassword => Ok(PasswordExpired),
        Action::ResetFactors => Ok(from),
        Action::Reactivate => Err(invalid("reactivate")),
        Action::Suspend => Err(invalid("suspend")),
        Action::Unsuspend => Err(invalid("unsuspend")),
        Action::Unlock => Err(invalid("unlock")),
    }
}

fn token(seed: u64, id: &str) -> String {
    okta_id(
        "",
        &mut Rng::new(mix2(seed, id.len() as u64 ^ now_ms() as u64)),
    )
}

/// Apply `action` to the user at `key`; false when nothing changed (deactivating twice).
/// Activation, and deactivation with `Prefer: respond-async`, run asynchronously.
fn apply(
    w: &mut World,
    key: &str,
    action: Action,
    rid: &str,
    respond_async: bool,
) -> Result<bool, ApiError> {
    let now = now_ms();
    let Some(u) = w.org.users.get(key) else {
        return Err(ApiError::not_found(key, "User"));
    };
    let has_pw = u.password.is_some() || u.password_changed.is_some();
    let to = transition(u.status, action, has_pw)?;
    if action == Action::Deactivate && u.status == Status::Deprovisioned {
        return Ok(false);
    }
    let ent = u.ent;
    if action == Action::Activate || action == Action::Deactivate && respond_async {
        w.change_status(key, to, now);
        w.emit(action.event(), [ent, NONE], rid);
        return Ok(true);
    }
    let Some(u) = w.user_mut(key) else {
        return Err(ApiError::not_found(key, "User"));
    };
    u.transitioning = None;
    if to != u.status {
        u.status = to;
        u.status_changed = Some(now);
    }
    if action == Action::ResetFactors {
        u.factors = 0;
    }
    u.last_updated = now;
    w.emit(action.event(), [ent, NONE], rid);
    Ok(true)
}

pub async fn lifecycle(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, op)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let respond_async = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("respond-async"));
    let p = Params::parse(raw.as_deref());
    let action = Action::parse(&op).ok_or_else(ApiError::path_not_found)?;
    if action == Action::ResetPassword && p.get("sendEmail").is_none() {
        let e = ApiError::new(
            400,
            "E0000028",
            "The request is missing a required parameter.",
        );
        return Err(e.cause("sendEmail: is required"));
    }
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    if !apply(&mut w, &key, action, &ctx.request_id, respond_async)? {
        return ok(json!({}));
    }
    let base = &s.base_url;
    let tok = token(s.seed, &key);
    match action {
        Action::Activate | Action::Reactivate
            if !p.flag("sendEmail", action == Action::Activate) =>
        {
            ok(json!({"activationUrl": format!("{base}/welcome/{tok}"), "activationToken": tok}))
        }
        Action::ResetPassword if !p.flag("sendEmail", true) => {
            ok(json!({"resetPasswordUrl": format!("{base}/reset_password/{tok}")}))
        }
        Action::ExpirePassword => ok(render::user(&w.org.users[&key], &w.org, base, true)),
        _ => ok(json!({})),
    }
}

/// Statuses that may change password, and the old-password check.
fn may_change_password(status: Status, stored: Option<&str>, old: &str) -> Result<(), ApiError> {
    if !matches!(
        status,
        Status::Staged | Status::Active | Status::PasswordExpired | Status::Recovery
    ) {
        return Err(ApiError::new(
            403,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        ));
    }
    if stored.is_some_and(|p| p != old) {
        let e = ApiError::new(403, "E0000014", "Update of credentials failed");
        return Err(e.cause("oldPassword: The credentials provided were incorrect."));
    }
    Ok(())
}

pub async fn change_password(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?.unwrap_or(Value::Null);
    let new = body.pointer("/newPassword/value").and_then(Value::as_str);
    let old = body.pointer("/oldPassword/value").and_then(Value::as_str);
    let (Some(new), Some(old)) = (new, old) else {
        return Err(ApiError::validation(
            "newPassword",
            "newPassword: The field cannot be left blank",
        ));
    };
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    let Some(u) = w.user_mut(&key) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    may_change_password(u.status, u.password.as_deref(), old)?;
    let now = now_ms();
    (u.password, u.password_changed, u.last_updated) = (Some(new.into()), Some(now), now);
    if matches!(u.status, Status::PasswordExpired | Status::Recovery) {
        (u.status, u.status_changed) = (Status::Active, Some(now));
    }
    let creds = json!({"password": {},
        "recovery_question": u.recovery_question.as_deref().map(|q| json!({"question": q})),
        "provider": {"type": u.provider, "name": u.provider}});
    let ent = u.ent;
    w.emit("user.account.update_password", [ent, NONE], &ctx.request_id);
    ok(creds)
}

pub async fn clear_sessions(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    let ent = w.org.users[&key].ent;
    w.emit("user.session.clear", [ent, u32::MAX], &ctx.request_id);
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn lifecycle_actions_move_between_okta_statuses() {
        let cases = [
            (Staged, Action::Activate, true, Some(Active)),
            (Staged, Action::Activate, false, Some(Provisioned)),
            (Deprovisioned, Action::Activate, true, Some(Active)),
            (Active, Action::Activate, true, None),
            (Active, Action::Suspend, true, Some(Suspended)),
            (Staged, Action::Suspend, true, None),
            (Suspended, Action::Suspend, true, None),
            (Suspended, Action::Unsuspend, true, Some(Active)),
            (Active, Action::Unsuspend, true, None),
            (LockedOut, Action::Unlock, true, Some(Active)),
            (Suspended, Action::Unlock, true, None),
            (Active, Action::ResetPassword, true, Some(Recovery)),
            (Deprovisioned, Action::ResetPassword, true, None),
            (Active, Action::ExpirePassword, true, Some(PasswordExpired)),
            (Provisioned, Action::Reactivate, false, Some(Provisioned)),
            (Active, Action::Reactivate, true, None),
            (Suspended, Action::Deactivate, true, Some(Deprovisioned)),
        ];
        for (from, action, pw, want) in cases {
            let got = transition(from, action, pw).ok();
            assert_eq!(got, want, "{from:?} {action:?}");
        }
    }

    #[test]
    fn refusals_carry_okta_error_codes() {
        assert_eq!(
            transition(Staged, Action::Suspend, true).unwrap_err().code,
            "E0000001"
        );
        assert_eq!(
            transition(Active, Action::Activate, true).unwrap_err().code,
            "E0000016"
        );
        assert_eq!(
            transition(Staged, Action::ExpirePassword, true)
                .unwrap_err()
                .code,
            "E0000038"
        );
    }
}
