//! What is done to an existing user: delete, lifecycle changes, passwords, sessions, factors, and
//! the user's groups and app links.

use serde_json::{Value, json};

use super::list::{Listing, Query};
use super::users::{Password, Users};
use super::{Call, ids};
use crate::okta::OktaError;

/// What `DELETE /api/v1/users/{id}` did: Okta deletes only a DEPROVISIONED user; any other user
/// is deactivated by the first call and needs a second one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// The user was only deactivated; it is now in this status (normally `DEPROVISIONED`).
    Deactivated {
        status: String,
    },
}

/// A password change: with `old`, the user-knows-the-old-password change; without it, an
/// admin set (a cleartext password or an imported hash).
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub new: Password,
    pub old: Option<Password>,
    /// End the user's other sessions too.
    pub revoke_sessions: bool,
}

/// The lifecycle transitions that take no parameters.
const PLAIN_LIFECYCLE: [(&str, &str); 3] = [
    ("suspend", "suspendUser"),
    ("unsuspend", "unsuspendUser"),
    ("unlock", "unlockUser"),
];

impl<'a> Users<'a> {
    pub fn delete_call(&self, id: &str, send_email: bool) -> Result<Call, OktaError> {
        ids::user_ref("id", id)?;
        let q = Query::new().flag("sendEmail", send_email);
        self.client.call("deleteUser", &["users", id], q, None)
    }

    /// Deletes a user, then reads it back to tell whether Okta deleted it or only deactivated it.
    pub async fn delete(&self, id: &str, send_email: bool) -> Result<DeleteOutcome, OktaError> {
        self.client.send(self.delete_call(id, send_email)?).await?;
        match self.get(id, None).await {
            Ok(user) => Ok(DeleteOutcome::Deactivated {
                status: user["status"]
                    .as_str()
                    .unwrap_or("DEPROVISIONED")
                    .to_owned(),
            }),
            Err(e) if e.status() == Some(404) => Ok(DeleteOutcome::Deleted),
            Err(e) => Err(e),
        }
    }

    fn lifecycle_call(
        &self,
        id: &str,
        action: &str,
        op: &str,
        q: Query,
    ) -> Result<Call, OktaError> {
        ids::user_ref("id", id)?;
        self.client
            .call(op, &["users", id, "lifecycle", action], q, None)
    }

    /// `activate`, `deactivate` or `reactivate`, with `sendEmail` sent explicitly.
    pub fn status_call(&self, id: &str, action: &str, send_email: bool) -> Result<Call, OktaError> {
        let op = match action {
            "activate" => "activateUser",
            "deactivate" => "deactivateUser",
            "reactivate" => "reactivateUser",
            other => {
                return Err(OktaError::invalid(
                    "action",
                    format!("unknown action {other}"),
                ));
            }
        };
        self.lifecycle_call(id, action, op, Query::new().flag("sendEmail", send_email))
    }

    /// Activates a STAGED or DEPROVISIONED user; without email the answer has the activation link.
    pub async fn activate(&self, id: &str, send_email: bool) -> Result<Value, OktaError> {
        self.client
            .send_json(self.status_call(id, "activate", send_email)?)
            .await
    }

    /// Deactivates (deprovisions) a user.
    pub async fn deactivate(&self, id: &str, send_email: bool) -> Result<(), OktaError> {
        self.client
            .send(self.status_call(id, "deactivate", send_email)?)
            .await?;
        Ok(())
    }

    /// Reactivates a PROVISIONED or RECOVERY user.
    pub async fn reactivate(&self, id: &str, send_email: bool) -> Result<Value, OktaError> {
        self.client
            .send_json(self.status_call(id, "reactivate", send_email)?)
            .await
    }

    /// `suspend`, `unsuspend` or `unlock`.
    pub fn transition_call(&self, id: &str, action: &str) -> Result<Call, OktaError> {
        let (_, op) = PLAIN_LIFECYCLE
            .iter()
            .find(|(a, _)| *a == action)
            .ok_or_else(|| OktaError::invalid("action", format!("unknown action {action}")))?;
        self.lifecycle_call(id, action, op, Query::new())
    }

    pub async fn suspend(&self, id: &str) -> Result<(), OktaError> {
        self.client
            .send(self.transition_call(id, "suspend")?)
            .await
            .map(drop)
    }

    pub async fn unsuspend(&self, id: &str) -> Result<(), OktaError> {
        self.client
            .send(self.transition_call(id, "unsuspend")?)
            .await
            .map(drop)
    }

    pub async fn unlock(&self, id: &str) -> Result<(), OktaError> {
        self.client
            .send(self.transition_call(id, "unlock")?)
            .await
            .map(drop)
    }

    pub fn reset_password_call(
        &self,
        id: &str,
        send_email: bool,
        revoke_sessions: bool,
    ) -> Result<Call, OktaError> {
        let q = Query::new()
            .flag("sendEmail", send_email)
            .flag("revokeSessions", revoke_sessions);
        self.lifecycle_call(id, "reset_password", "resetPassword", q)
    }

    /// Starts a password reset; without email the answer holds `resetPasswordUrl`.
    pub async fn reset_password(
        &self,
        id: &str,
        send_email: bool,
        revoke_sessions: bool,
    ) -> Result<Value, OktaError> {
        self.client
            .send_json(self.reset_password_call(id, send_email, revoke_sessions)?)
            .await
    }

    /// The requests a password change sends, in order.
    pub fn set_password_calls(
        &self,
        id: &str,
        change: &PasswordChange,
    ) -> Result<Vec<Call>, OktaError> {
        ids::user_ref("id", id)?;
        if let Some(old) = &change.old {
            let body = json!({
                "oldPassword": old.to_json(),
                "newPassword": change.new.to_json(),
                "revokeSessions": change.revoke_sessions,
            });
            let path = ["users", id, "credentials", "change_password"];
            return Ok(vec![self.client.call(
                "changePassword",
                &path,
                Query::new(),
                Some(body),
            )?]);
        }
        let body = json!({"credentials": {"password": change.new.to_json()}});
        let mut calls =
            vec![
                self.client
                    .call("updateUser", &["users", id], Query::new(), Some(body))?,
            ];
        if change.revoke_sessions {
            calls.push(self.clear_sessions_call(id, false, false)?);
        }
        Ok(calls)
    }

    /// Sets or changes the password; returns the answer of the password call.
    pub async fn set_password(
        &self,
        id: &str,
        change: &PasswordChange,
    ) -> Result<Value, OktaError> {
        let mut answer = Value::Null;
        for (i, call) in self.set_password_calls(id, change)?.into_iter().enumerate() {
            let value = self.client.send_json(call).await?;
            if i == 0 {
                answer = value;
            }
        }
        Ok(answer)
    }

    /// `oauthTokens` and `forgetDevices` are both sent explicitly (Okta's `forgetDevices`
    /// default differs between Classic and Identity Engine orgs).
    pub fn clear_sessions_call(
        &self,
        id: &str,
        oauth_tokens: bool,
        forget_devices: bool,
    ) -> Result<Call, OktaError> {
        ids::user_ref("userId", id)?;
        let q = Query::new()
            .flag("oauthTokens", oauth_tokens)
            .flag("forgetDevices", forget_devices);
        self.client
            .call("revokeUserSessions", &["users", id, "sessions"], q, None)
    }

    /// Ends every session of the user (and, if asked, its OAuth tokens and remembered devices).
    pub async fn clear_sessions(
        &self,
        id: &str,
        oauth_tokens: bool,
        forget_devices: bool,
    ) -> Result<(), OktaError> {
        let call = self.clear_sessions_call(id, oauth_tokens, forget_devices)?;
        self.client.send(call).await.map(drop)
    }

    fn sub_list(&self, id: &str, op: &str, what: &str) -> Result<Listing, OktaError> {
        ids::user_ref("id", id)?;
        let call = self
            .client
            .call(op, &["users", id, what], Query::new(), None)?;
        Listing::new(self.client, call)
    }

    /// The groups the user is in.
    pub fn groups(&self, id: &str) -> Result<Listing, OktaError> {
        self.sub_list(id, "listUserGroups", "groups")
    }

    /// The user's app links (direct and group assignments).
    pub fn app_links(&self, id: &str) -> Result<Listing, OktaError> {
        self.sub_list(id, "listAppLinks", "appLinks")
    }

    /// The user's enrolled factors.
    pub fn factors(&self, id: &str) -> Result<Listing, OktaError> {
        ids::user_ref("userId", id)?;
        self.sub_list(id, "listFactors", "factors")
    }

    pub fn unenroll_factor_call(
        &self,
        id: &str,
        factor_id: &str,
        remove_recovery: bool,
    ) -> Result<Call, OktaError> {
        ids::user_ref("userId", id)?;
        ids::object_id("factorId", factor_id)?;
        let q = Query::new().flag_if("removeRecoveryEnrollment", remove_recovery);
        let path = ["users", id, "factors", factor_id];
        self.client.call("unenrollFactor", &path, q, None)
    }

    /// Removes one enrolled factor.
    pub async fn unenroll_factor(
        &self,
        id: &str,
        factor_id: &str,
        remove_recovery: bool,
    ) -> Result<(), OktaError> {
        let call = self.unenroll_factor_call(id, factor_id, remove_recovery)?;
        self.client.send(call).await.map(drop)
    }
}
