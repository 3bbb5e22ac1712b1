//! Applications: list and read apps, and assign, read, update and remove a user's assignment.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::list::{Listing, Query};
use super::{Call, ids};
use crate::okta::{OktaClient, OktaError};

/// Application operations; get one with [`OktaClient::apps`].
#[derive(Debug, Clone, Copy)]
pub struct Apps<'a> {
    pub(super) client: &'a OktaClient,
}

/// `GET /api/v1/apps` parameters.
#[derive(Debug, Clone, Default)]
pub struct AppQuery {
    pub q: Option<String>,
    pub filter: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
    /// e.g. `user/00u…` (with `filter=user.id eq "00u…"`).
    pub expand: Option<String>,
    pub include_non_deleted: bool,
    pub use_optimization: bool,
}

/// A user's assignment to an app (`POST /api/v1/apps/{appId}/users`).
#[derive(Debug, Clone, Default)]
pub struct AppAssignment {
    pub user_id: String,
    /// `USER` (default) or `GROUP`.
    pub scope: Option<String>,
    pub user_name: Option<String>,
    pub password: Option<SecretString>,
    /// App-specific profile attributes (leave out the ones mapped from Okta).
    pub profile: Option<Map<String, Value>>,
}

/// A change to an assignment: credentials, profile, or both.
#[derive(Debug, Clone, Default)]
pub struct AppUserUpdate {
    pub user_name: Option<String>,
    pub password: Option<SecretString>,
    pub profile: Option<Map<String, Value>>,
}

fn credentials(user_name: &Option<String>, password: &Option<SecretString>) -> Option<Value> {
    let mut creds = Map::new();
    if let Some(name) = user_name {
        creds.insert("userName".into(), json!(name));
    }
    if let Some(p) = password {
        creds.insert("password".into(), json!({"value": p.expose_secret()}));
    }
    (!creds.is_empty()).then_some(Value::Object(creds))
}

impl<'a> Apps<'a> {
    pub fn list_call(&self, query: &AppQuery) -> Result<Call, OktaError> {
        let q = Query::new()
            .opt("q", query.q.as_ref())
            .opt("filter", query.filter.as_ref())
            .opt("limit", query.limit)
            .opt("after", query.after.as_ref())
            .opt("expand", query.expand.as_ref())
            .flag_if("includeNonDeleted", query.include_non_deleted)
            .flag_if("useOptimization", query.use_optimization);
        self.client.call("listApplications", &["apps"], q, None)
    }

    pub fn list(&self, query: &AppQuery) -> Result<Listing, OktaError> {
        Listing::new(self.client, self.list_call(query)?)
    }

    pub fn get_call(&self, id: &str, expand: Option<&str>) -> Result<Call, OktaError> {
        ids::object_id("appId", id)?;
        let q = Query::new().opt("expand", expand);
        self.client.call("getApplication", &["apps", id], q, None)
    }

    pub async fn get(&self, id: &str, expand: Option<&str>) -> Result<Value, OktaError> {
        self.client.send_json(self.get_call(id, expand)?).await
    }

    pub fn assign_call(&self, app_id: &str, assignment: &AppAssignment) -> Result<Call, OktaError> {
        ids::object_id("appId", app_id)?;
        ids::object_id("id", &assignment.user_id)?;
        let mut body = json!({"id": assignment.user_id});
        if let Some(scope) = &assignment.scope {
            body["scope"] = json!(scope);
        }
        if let Some(creds) = credentials(&assignment.user_name, &assignment.password) {
            body["credentials"] = creds;
        }
        if let Some(profile) = &assignment.profile {
            body["profile"] = Value::Object(profile.clone());
        }
        self.client.call(
            "assignUserToApplication",
            &["apps", app_id, "users"],
            Query::new(),
            Some(body),
        )
    }

    /// Assigns a user to an app; returns the app user.
    pub async fn assign(
        &self,
        app_id: &str,
        assignment: &AppAssignment,
    ) -> Result<Value, OktaError> {
        self.client
            .send_json(self.assign_call(app_id, assignment)?)
            .await
    }

    fn app_user_path<'p>(app_id: &'p str, user_id: &'p str) -> Result<[&'p str; 4], OktaError> {
        ids::object_id("appId", app_id)?;
        ids::object_id("userId", user_id)?;
        Ok(["apps", app_id, "users", user_id])
    }

    pub fn assignment_call(&self, app_id: &str, user_id: &str) -> Result<Call, OktaError> {
        let path = Self::app_user_path(app_id, user_id)?;
        self.client
            .call("getApplicationUser", &path, Query::new(), None)
    }

    /// The user's assignment to the app.
    pub async fn assignment(&self, app_id: &str, user_id: &str) -> Result<Value, OktaError> {
        self.client
            .send_json(self.assignment_call(app_id, user_id)?)
            .await
    }

    pub fn update_assignment_call(
        &self,
        app_id: &str,
        user_id: &str,
        update: &AppUserUpdate,
    ) -> Result<Call, OktaError> {
        let path = Self::app_user_path(app_id, user_id)?;
        let mut body = json!({});
        if let Some(creds) = credentials(&update.user_name, &update.password) {
            body["credentials"] = creds;
        }
        if let Some(profile) = &update.profile {
            body["profile"] = Value::Object(profile.clone());
        }
        if body.as_object().is_some_and(Map::is_empty) {
            return Err(OktaError::invalid(
                "profile",
                "give a profile or credentials (user name or password) to update",
            ));
        }
        self.client
            .call("updateApplicationUser", &path, Query::new(), Some(body))
    }

    /// Updates the assignment's credentials and/or profile.
    pub async fn update_assignment(
        &self,
        app_id: &str,
        user_id: &str,
        update: &AppUserUpdate,
    ) -> Result<Value, OktaError> {
        let call = self.update_assignment_call(app_id, user_id, update)?;
        self.client.send_json(call).await
    }

    pub fn unassign_call(
        &self,
        app_id: &str,
        user_id: &str,
        send_email: bool,
    ) -> Result<Call, OktaError> {
        let path = Self::app_user_path(app_id, user_id)?;
        let q = Query::new().flag("sendEmail", send_email);
        self.client
            .call("unassignUserFromApplication", &path, q, None)
    }

    /// Removes the user from the app (its app profile is lost).
    pub async fn unassign(
        &self,
        app_id: &str,
        user_id: &str,
        send_email: bool,
    ) -> Result<(), OktaError> {
        let call = self.unassign_call(app_id, user_id, send_email)?;
        self.client.send(call).await.map(drop)
    }
}
