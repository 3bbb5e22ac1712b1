//! Groups: list, read, create, replace and delete groups, and list, add and remove members.

use serde_json::{Value, json};

use super::list::{Listing, Query, SearchQuery};
use super::{Call, ids};
use crate::okta::{OktaClient, OktaError};

/// `GET /api/v1/groups` parameters.
pub type GroupQuery = SearchQuery;

/// Group operations; get one with [`OktaClient::groups`].
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a> {
    pub(super) client: &'a OktaClient,
}

/// A group's profile (`name` and `description`).
#[derive(Debug, Clone, Default)]
pub struct GroupProfile {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl GroupProfile {
    fn body(&self) -> Value {
        let mut profile = json!({});
        if let Some(n) = &self.name {
            profile["name"] = json!(n);
        }
        if let Some(d) = &self.description {
            profile["description"] = json!(d);
        }
        json!({ "profile": profile })
    }
}

impl<'a> Groups<'a> {
    pub fn list_call(&self, query: &GroupQuery) -> Result<Call, OktaError> {
        let q = query.query();
        self.client.call("listGroups", &["groups"], q, None)
    }

    pub fn list(&self, query: &GroupQuery) -> Result<Listing, OktaError> {
        Listing::new(self.client, self.list_call(query)?)
    }

    pub fn get_call(&self, id: &str) -> Result<Call, OktaError> {
        ids::object_id("groupId", id)?;
        self.client
            .call("getGroup", &["groups", id], Query::new(), None)
    }

    pub async fn get(&self, id: &str) -> Result<Value, OktaError> {
        self.client.send_json(self.get_call(id)?).await
    }

    pub fn create_call(&self, profile: &GroupProfile) -> Result<Call, OktaError> {
        if profile.name.as_deref().is_none_or(str::is_empty) {
            return Err(OktaError::invalid("name", "a group needs a name"));
        }
        self.client
            .call("addGroup", &["groups"], Query::new(), Some(profile.body()))
    }

    /// Creates an OKTA_GROUP.
    pub async fn create(&self, profile: &GroupProfile) -> Result<Value, OktaError> {
        self.client.send_json(self.create_call(profile)?).await
    }

    pub fn replace_call(&self, id: &str, profile: &GroupProfile) -> Result<Call, OktaError> {
        ids::object_id("groupId", id)?;
        if profile.name.as_deref().is_none_or(str::is_empty) {
            return Err(OktaError::invalid(
                "name",
                "the group's profile needs a name",
            ));
        }
        let path = ["groups", id];
        self.client
            .call("replaceGroup", &path, Query::new(), Some(profile.body()))
    }

    /// Replaces the group's profile (OKTA_GROUP only): a description left out is removed.
    pub async fn replace(&self, id: &str, profile: &GroupProfile) -> Result<Value, OktaError> {
        self.client.send_json(self.replace_call(id, profile)?).await
    }

    /// Changes only the given profile fields: reads the group, then replaces its profile with
    /// the merge (no read when both fields are given).
    pub async fn update(&self, id: &str, change: &GroupProfile) -> Result<Value, OktaError> {
        let mut merged = change.clone();
        if change.name.is_none() || change.description.is_none() {
            let current = self.get(id).await?;
            let text = |key: &str| current["profile"][key].as_str().map(str::to_owned);
            merged.name = merged.name.or_else(|| text("name"));
            merged.description = merged.description.or_else(|| text("description"));
        }
        self.replace(id, &merged).await
    }

    pub fn delete_call(&self, id: &str) -> Result<Call, OktaError> {
        ids::object_id("groupId", id)?;
        self.client
            .call("deleteGroup", &["groups", id], Query::new(), None)
    }

    pub async fn delete(&self, id: &str) -> Result<(), OktaError> {
        self.client.send(self.delete_call(id)?).await.map(drop)
    }

    pub fn members_call(
        &self,
        id: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<Call, OktaError> {
        ids::object_id("groupId", id)?;
        let q = Query::new().opt("after", after).opt("limit", limit);
        self.client
            .call("listGroupUsers", &["groups", id, "users"], q, None)
    }

    /// The group's members, page by page.
    pub fn members(
        &self,
        id: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<Listing, OktaError> {
        Listing::new(self.client, self.members_call(id, limit, after)?)
    }

    fn membership_call(&self, op: &str, group_id: &str, user_id: &str) -> Result<Call, OktaError> {
        ids::object_id("groupId", group_id)?;
        ids::object_id("userId", user_id)?;
        let path = ["groups", group_id, "users", user_id];
        self.client.call(op, &path, Query::new(), None)
    }

    pub fn add_user_call(&self, group_id: &str, user_id: &str) -> Result<Call, OktaError> {
        self.membership_call("assignUserToGroup", group_id, user_id)
    }

    /// Adds a user (by id) to an OKTA_GROUP.
    pub async fn add_user(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.client
            .send(self.add_user_call(group_id, user_id)?)
            .await
            .map(drop)
    }

    pub fn remove_user_call(&self, group_id: &str, user_id: &str) -> Result<Call, OktaError> {
        self.membership_call("unassignUserFromGroup", group_id, user_id)
    }

    pub async fn remove_user(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.client
            .send(self.remove_user_call(group_id, user_id)?)
            .await
            .map(drop)
    }
}
