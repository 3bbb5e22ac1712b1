//! The typed admin API: one method per Okta management operation oktasync offers (users, groups,
//! apps, event hooks, policies, realms, user types, System Log, raw requests and picklists).
//! Each operation is first built as a [`Call`] (a checked, unsent request, which is what a dry
//! run shows) and then sent by the client. Okta's objects come back as `serde_json::Value`, every
//! field kept.

mod apps;
mod directory;
mod groups;
mod hooks;
pub mod ids;
mod list;
pub mod ops;
mod pick;
mod raw;
mod user_actions;
mod users;

use reqwest::Method;
use serde_json::Value;

use super::{OktaClient, OktaError, Request, Response};
pub use apps::{AppAssignment, AppQuery, AppUserUpdate, Apps};
pub use directory::{LogQuery, LogSortOrder, PolicyQuery, RealmQuery};
pub use groups::{GroupProfile, GroupQuery, Groups};
pub use hooks::{EventHooks, NewEventHook};
pub use list::{ListPage, Listing, Query, SearchQuery, SortOrder, after_cursor};
pub use ops::{OPERATIONS, Operation};
pub use pick::{PickItem, PickList};
pub use raw::RawRequest;
pub use user_actions::{DeleteOutcome, PasswordChange};
pub use users::{
    CredentialsInput, NewUser, Password, ProfileInput, Provider, RecoveryQuestion, SecretJson,
    UserQuery, UserUpdate, Users,
};

/// One checked request, not yet sent, and the operation it is.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: &'static Operation,
    pub request: Request,
}

impl Call {
    /// The request as it would be sent, secrets redacted, with its `operation` id.
    pub fn redacted(&self) -> Value {
        let mut shown = self.request.redacted();
        shown["operation"] = Value::String(self.operation.id.into());
        shown
    }
}

impl OktaClient {
    pub fn users(&self) -> Users<'_> {
        Users { client: self }
    }

    pub fn groups(&self) -> Groups<'_> {
        Groups { client: self }
    }

    pub fn apps(&self) -> Apps<'_> {
        Apps { client: self }
    }

    pub fn event_hooks(&self) -> EventHooks<'_> {
        EventHooks { client: self }
    }

    /// Builds the call for operation `op_id` on `/api/v1/<segments…>` (each segment
    /// percent-encoded as needed), checking the query and body against the operation's spec.
    pub fn call(
        &self,
        op_id: &str,
        segments: &[&str],
        query: Query,
        body: Option<Value>,
    ) -> Result<Call, OktaError> {
        let operation = ops::operation(op_id);
        for (name, value) in query.pairs() {
            operation
                .check_param(name, value)
                .map_err(|problem| OktaError::invalid(name, problem))?;
        }
        operation
            .check_body(body.as_ref())
            .map_err(|problem| OktaError::invalid("body", problem))?;
        let mut url = self.url("/api/v1", &[])?;
        url.path_segments_mut()
            .map_err(|()| OktaError::Setup("the org URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.pairs().is_empty() {
            url.query_pairs_mut().extend_pairs(query.pairs());
        }
        let method = Method::from_bytes(operation.method.as_bytes())
            .map_err(|e| OktaError::Setup(e.to_string()))?;
        let mut request = Request::new(method, url);
        request.body = body;
        Ok(Call { operation, request })
    }

    /// Sends a call and returns Okta's answer.
    pub async fn send(&self, call: Call) -> Result<Response, OktaError> {
        self.execute(call.request).await
    }

    /// Sends a call and parses the JSON answer; a body-less answer (204) gives `Value::Null`.
    pub async fn send_json(&self, call: Call) -> Result<Value, OktaError> {
        let method = call.request.method.to_string();
        let path = call.request.url.path().to_owned();
        let response = self.execute(call.request).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&response.body).map_err(|e| OktaError::Decode {
            method,
            path,
            detail: e.to_string(),
            request_id: response.request_id.unwrap_or_default(),
        })
    }
}
