//! Event hooks: list, read, create, replace, activate, deactivate, verify and delete hooks, and delete
//! many at once (deactivating each first, as Okta requires).

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::list::{Listing, Query};
use super::{Call, ids};
use crate::okta::{OktaClient, OktaError};

/// Event hook operations; get one with [`OktaClient::event_hooks`].
#[derive(Debug, Clone, Copy)]
pub struct EventHooks<'a> {
    pub(super) client: &'a OktaClient,
}

/// A hook to create.
#[derive(Debug, Clone, Default)]
pub struct NewEventHook {
    pub name: String,
    /// Where Okta delivers events (`channel.config.uri`).
    pub url: String,
    pub description: Option<String>,
    /// Event types, e.g. `user.lifecycle.create`.
    pub events: Vec<String>,
    /// `events.filter` (early access), e.g. `{"eventFilterMap":[…]}`.
    pub filter: Option<Value>,
    /// Extra headers Okta sends with each delivery.
    pub headers: Vec<(String, String)>,
    /// The authorization header Okta sends (`authScheme`): name and secret value.
    pub auth_header: Option<(String, SecretString)>,
    /// Leave the hook ACTIVE (Okta's default on create); `false` deactivates it right away.
    pub activate: bool,
}

impl NewEventHook {
    fn body(&self) -> Result<Value, OktaError> {
        if self.name.trim().is_empty() {
            return Err(OktaError::invalid("name", "a hook needs a name"));
        }
        let url = url::Url::parse(&self.url)
            .map_err(|e| OktaError::invalid("url", format!("{:?} is not a URL: {e}", self.url)))?;
        let loopback = url.host_str().is_some_and(crate::config::is_loopback);
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(OktaError::invalid(
                "url",
                format!(
                    "{:?}: Okta delivers event hooks over HTTPS only, so the URL must start \
                     with https:// (plain http:// is accepted only for a loopback address, \
                     such as the simulator's)",
                    self.url
                ),
            ));
        }
        if self.events.is_empty() {
            return Err(OktaError::invalid(
                "events",
                "subscribe the hook to at least one event type",
            ));
        }
        let mut events = json!({"type": "EVENT_TYPE", "items": self.events});
        if let Some(filter) = &self.filter {
            events["filter"] = filter.clone();
        }
        let mut config = json!({"uri": self.url});
        if !self.headers.is_empty() {
            let headers: Vec<Value> = self
                .headers
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
            config["headers"] = Value::Array(headers);
        }
        if let Some((key, value)) = &self.auth_header {
            config["authScheme"] =
                json!({"type": "HEADER", "key": key, "value": value.expose_secret()});
        }
        let mut body = json!({
            "name": self.name,
            "events": events,
            "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
        });
        if let Some(d) = &self.description {
            body["description"] = json!(d);
        }
        Ok(body)
    }
}

impl<'a> EventHooks<'a> {
    pub fn list_call(&self) -> Result<Call, OktaError> {
        self.client
            .call("listEventHooks", &["eventHooks"], Query::new(), None)
    }

    /// Every hook (Okta does not page this list).
    pub fn list(&self) -> Result<Listing, OktaError> {
        Listing::new(self.client, self.list_call()?)
    }

    fn hook_call(&self, op: &str, id: &str, action: Option<&str>) -> Result<Call, OktaError> {
        ids::object_id("eventHookId", id)?;
        let mut path = vec!["eventHooks", id];
        if let Some(action) = action {
            path.extend(["lifecycle", action]);
        }
        self.client.call(op, &path, Query::new(), None)
    }

    pub fn get_call(&self, id: &str) -> Result<Call, OktaError> {
        self.hook_call("getEventHook", id, None)
    }

    pub async fn get(&self, id: &str) -> Result<Value, OktaError> {
        self.client.send_json(self.get_call(id)?).await
    }

    pub fn create_call(&self, hook: &NewEventHook) -> Result<Call, OktaError> {
        self.client.call(
            "createEventHook",
            &["eventHooks"],
            Query::new(),
            Some(hook.body()?),
        )
    }

    /// Creates a hook (ACTIVE, UNVERIFIED), then deactivates it when `activate` is false.
    /// Returns the hook as Okta last described it.
    pub async fn create(&self, hook: &NewEventHook) -> Result<Value, OktaError> {
        let created = self.client.send_json(self.create_call(hook)?).await?;
        if hook.activate {
            return Ok(created);
        }
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        self.deactivate(&id).await
    }

    pub fn replace_call(&self, id: &str, hook: &NewEventHook) -> Result<Call, OktaError> {
        ids::object_id("eventHookId", id)?;
        self.client.call(
            "replaceEventHook",
            &["eventHooks", id],
            Query::new(),
            Some(hook.body()?),
        )
    }

    /// Replaces the hook's name, events, filter and channel (Okta then wants it verified again
    /// if the channel changed). `hook.activate` is ignored: the status stays as it was.
    pub async fn replace(&self, id: &str, hook: &NewEventHook) -> Result<Value, OktaError> {
        self.client.send_json(self.replace_call(id, hook)?).await
    }

    pub fn activate_call(&self, id: &str) -> Result<Call, OktaError> {
        self.hook_call("activateEventHook", id, Some("activate"))
    }

    pub async fn activate(&self, id: &str) -> Result<Value, OktaError> {
        self.client.send_json(self.activate_call(id)?).await
    }

    pub fn deactivate_call(&self, id: &str) -> Result<Call, OktaError> {
        self.hook_call("deactivateEventHook", id, Some("deactivate"))
    }

    pub async fn deactivate(&self, id: &str) -> Result<Value, OktaError> {
        self.client.send_json(self.deactivate_call(id)?).await
    }

    pub fn verify_call(&self, id: &str) -> Result<Call, OktaError> {
        self.hook_call("verifyEventHook", id, Some("verify"))
    }

    /// Asks Okta to verify the hook's endpoint (it sends the one-time challenge GET).
    pub async fn verify(&self, id: &str) -> Result<Value, OktaError> {
        self.client.send_json(self.verify_call(id)?).await
    }

    pub fn delete_call(&self, id: &str) -> Result<Call, OktaError> {
        self.hook_call("deleteEventHook", id, None)
    }

    /// Deletes an INACTIVE hook.
    pub async fn delete(&self, id: &str) -> Result<(), OktaError> {
        self.client.send(self.delete_call(id)?).await.map(drop)
    }

    /// Reads every hook and plans the deletion of those whose URL is `uri` (all when `None`):
    /// a deactivation first for each ACTIVE one, then the delete. Nothing is changed yet.
    pub async fn delete_all_plan(
        &self,
        uri: Option<&str>,
    ) -> Result<Vec<(Value, Vec<Call>)>, OktaError> {
        let hooks = self.list()?.collect(None).await?.items;
        let mut plan = Vec::new();
        for hook in hooks {
            if uri.is_some_and(|u| hook["channel"]["config"]["uri"].as_str() != Some(u)) {
                continue;
            }
            let id = hook["id"].as_str().unwrap_or_default().to_owned();
            let mut calls = Vec::new();
            if hook["status"].as_str() != Some("INACTIVE") {
                calls.push(self.deactivate_call(&id)?);
            }
            calls.push(self.delete_call(&id)?);
            plan.push((hook, calls));
        }
        Ok(plan)
    }

    /// Deletes every hook whose URL is `uri` (all hooks when `None`); returns the deleted hooks.
    pub async fn delete_all(&self, uri: Option<&str>) -> Result<Vec<Value>, OktaError> {
        let mut deleted = Vec::new();
        for (hook, calls) in self.delete_all_plan(uri).await? {
            for call in calls {
                self.client.send(call).await?;
            }
            deleted.push(hook);
        }
        Ok(deleted)
    }
}
