//! The fields the mirror keeps in their own columns, read from an Okta object in one serde pass.

use serde::Deserialize;

use super::StoreError;
use crate::sink::Delta;

/// The user fields the mirror keeps in columns, read in one pass over the JSON.
#[derive(Deserialize)]
pub(super) struct UserColumns {
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) profile: Profile,
    pub(super) created: Option<String>,
    #[serde(rename = "lastUpdated")]
    pub(super) last_updated: Option<String>,
}

#[derive(Default, Deserialize)]
pub(super) struct Profile {
    pub(super) login: Option<String>,
    pub(super) email: Option<String>,
}

/// The LogEvent fields the mirror keeps in columns.
#[derive(Deserialize)]
pub(super) struct EventColumns {
    pub(super) published: Option<String>,
    #[serde(rename = "eventType")]
    pub(super) event_type: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) actor: Option<Id>,
    pub(super) outcome: Option<Outcome>,
}

#[derive(Deserialize)]
pub(super) struct Id {
    pub(super) id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Outcome {
    pub(super) result: Option<String>,
}

pub(super) fn columns<'a, T: Deserialize<'a>>(delta: &'a Delta) -> Result<T, StoreError> {
    serde_json::from_str(delta.data.get()).map_err(|e| StoreError::Shape {
        stream: delta.stream.clone(),
        id: delta.id.clone(),
        problem: format!("not an Okta object ({e})"),
    })
}
