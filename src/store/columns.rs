//! The fields the mirror keeps in their own columns, read from an Okta object in one serde pass.
//! The pollers parse each object once into these and hand them on with the delta.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::StoreError;
use crate::delta::{Delta, Op, stream};

/// The user fields the mirror keeps in columns, read in one pass over the JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct UserColumns {
    pub id: String,
    pub status: Option<String>,
    #[serde(default)]
    pub profile: Profile,
    pub created: Option<String>,
    #[serde(rename = "lastUpdated")]
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Profile {
    pub login: Option<String>,
    pub email: Option<String>,
}

/// The LogEvent fields the mirror keeps in columns.
#[derive(Debug, Deserialize)]
pub struct EventColumns {
    pub uuid: String,
    pub published: String,
    #[serde(rename = "eventType")]
    pub event_type: Option<String>,
    pub severity: Option<String>,
    pub actor: Option<Id>,
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Id {
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    pub result: Option<String>,
}

/// Only the targets of an event, read again for the few events that delete a user.
#[derive(Deserialize)]
struct Targets {
    target: Option<Vec<Target>>,
}

#[derive(Deserialize)]
struct Target {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl EventColumns {
    /// The ids of the users this event (whose JSON is `raw`) says were deleted
    /// (`user.lifecycle.delete.*`).
    pub fn deleted_users(&self, raw: &RawValue) -> Vec<String> {
        let deletes = self
            .event_type
            .as_deref()
            .is_some_and(|t| t.starts_with("user.lifecycle.delete."));
        if !deletes {
            return Vec::new();
        }
        let targets: Option<Targets> = serde_json::from_str(raw.get()).ok();
        targets
            .and_then(|t| t.target)
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.kind.as_deref() == Some("User"))
            .filter_map(|t| t.id)
            .collect()
    }
}

/// The columns of one delta, as the mirror writes them.
#[derive(Debug)]
pub enum Columns {
    User(UserColumns),
    Event(EventColumns),
    /// A tombstone: no columns, only the id and when.
    Deleted,
    /// A group, app, membership or assignment: the directory tables read their own columns.
    Directory,
}

impl Columns {
    /// Parses the columns of a delta that came without them.
    pub fn of(delta: &Delta) -> Result<Columns, StoreError> {
        if super::is_directory(&delta.stream) {
            return Ok(Columns::Directory);
        }
        if delta.op == Op::Delete {
            return Ok(Columns::Deleted);
        }
        match delta.stream.as_str() {
            stream::NEW_USERS | stream::UPDATED_USERS => columns(delta).map(Columns::User),
            stream::SYSTEM_LOG | stream::EVENT_HOOK => columns(delta).map(Columns::Event),
            other => Err(StoreError::UnknownStream(other.to_owned())),
        }
    }
}

pub(super) fn columns<'a, T: Deserialize<'a>>(delta: &'a Delta) -> Result<T, StoreError> {
    serde_json::from_str(delta.data.get()).map_err(|e| StoreError::Shape {
        stream: delta.stream.clone(),
        id: delta.id.clone(),
        problem: format!("not an Okta object ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deleted(event_type: &str, target: &str) -> Vec<String> {
        let json = format!(
            r#"{{"uuid":"e","published":"p","eventType":"{event_type}","target":{target}}}"#
        );
        let cols: EventColumns = serde_json::from_str(&json).unwrap();
        cols.deleted_users(&RawValue::from_string(json).unwrap())
    }

    #[test]
    fn only_user_targets_of_user_delete_events_count_as_deleted() {
        let users = r#"[{"id":"00g1","type":"UserGroup"},{"id":"00u1","type":"User"}]"#;
        let cases = [
            ("user.lifecycle.delete.initiated", users, vec!["00u1"]),
            ("user.lifecycle.delete.completed", users, vec!["00u1"]),
            ("user.lifecycle.deactivate", users, vec![]),
            ("group.lifecycle.delete", users, vec![]),
            ("user.lifecycle.delete.initiated", "null", vec![]),
            ("user.lifecycle.delete.initiated", r#"{"odd":1}"#, vec![]),
        ];
        for (event_type, target, want) in cases {
            assert_eq!(deleted(event_type, target), want, "{event_type} {target}");
        }
    }
}
