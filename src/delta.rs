//! The envelope every sink receives: one change to one Okta object, an upsert carrying the object
//! byte for byte as Okta sent it or a tombstone saying the object is gone. It sits below both
//! `store` and `sink`, which each take deltas and know nothing of each other.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The stream names a [`Delta`] can carry.
pub mod stream {
    /// Users seen for the first time.
    pub const NEW_USERS: &str = "new_users";
    /// Users whose `lastUpdated` moved, and users deleted in Okta (as tombstones).
    pub const UPDATED_USERS: &str = "updated_users";
    /// Events read from the System Log API.
    pub const SYSTEM_LOG: &str = "system_log";
    /// Events pushed to us by an Okta event hook.
    pub const EVENT_HOOK: &str = "event_hook";
    /// Groups whose profile or membership time moved, and deleted groups.
    pub const GROUPS: &str = "groups";
    /// Memberships: `"<group>/<user>"`.
    pub const GROUP_MEMBERS: &str = "group_members";
    /// Applications, and deleted ones.
    pub const APPS: &str = "apps";
    /// App assignments: `"<app>/<user>"`.
    pub const APP_USERS: &str = "app_users";
}

/// What a delta does to its object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// The object as it is now (new or changed): `data` is the whole Okta object.
    #[default]
    Upsert,
    /// The object was deleted in Okta: `data` says how that was learnt.
    Delete,
    /// A membership or assignment appeared since the last sync.
    Add,
    /// A membership or assignment went away.
    Remove,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
            Op::Add => "add",
            Op::Remove => "remove",
        }
    }
}

/// One change, as written to every sink: a small envelope around the Okta object, which is kept
/// byte for byte as received (unknown fields included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delta {
    /// One of the [`stream`] names.
    pub stream: String,
    /// An upsert, or a tombstone for an object deleted in Okta.
    #[serde(default)]
    pub op: Op,
    /// Okta user, group or app id, event uuid, or `"<group>/<user>"`, `"<app>/<user>"`.
    pub id: String,
    /// User `lastUpdated` or event `published`; for a tombstone, when the deletion was seen.
    pub version: String,
    /// When oktasync emitted this delta: RFC 3339 UTC with milliseconds.
    pub emitted_at: String,
    /// The Okta object exactly as received; for a tombstone, `{"id":…,"deletedAt":…,"via":…}`.
    /// Shared: a user new on both users streams is one object in two deltas.
    pub data: Arc<RawValue>,
}

impl Delta {
    /// An upsert emitted now.
    pub fn new(stream: &str, id: &str, version: &str, data: impl Into<Arc<RawValue>>) -> Delta {
        Delta {
            stream: stream.to_owned(),
            op: Op::Upsert,
            id: id.to_owned(),
            version: version.to_owned(),
            emitted_at: utc_millis(Utc::now()),
            data: data.into(),
        }
    }

    /// The same delta with another [`Op`].
    pub fn with_op(mut self, op: Op) -> Delta {
        self.op = op;
        self
    }

    /// A tombstone emitted now for user `id`, deleted by `deleted_at` as `via` showed (an event
    /// uuid, or `reconcile`).
    pub fn user_deleted(id: &str, deleted_at: &str, via: &str) -> Delta {
        let mut data = String::with_capacity(96);
        data.push_str("{\"id\":");
        push_json_string(&mut data, id);
        data.push_str(",\"deletedAt\":");
        push_json_string(&mut data, deleted_at);
        data.push_str(",\"via\":");
        push_json_string(&mut data, via);
        data.push('}');
        let data = RawValue::from_string(data)
            .unwrap_or_else(|e| unreachable!("escaped strings make valid JSON: {e}"));
        Delta::new(stream::UPDATED_USERS, id, deleted_at, data).with_op(Op::Delete)
    }

    /// `{"stream":…,"op":…,"id":…,"version":…,"emitted_at":…,"data":<raw>}` with keys in that
    /// order and no trailing newline.
    pub fn to_line(&self) -> String {
        let mut line = String::with_capacity(self.data.get().len() + 160);
        self.push_line(&mut line);
        line
    }

    /// Appends [`Delta::to_line`] to `out`.
    pub fn push_line(&self, out: &mut String) {
        out.push_str("{\"stream\":");
        push_json_string(out, &self.stream);
        out.push_str(",\"op\":\"");
        out.push_str(self.op.as_str());
        out.push_str("\",\"id\":");
        push_json_string(out, &self.id);
        out.push_str(",\"version\":");
        push_json_string(out, &self.version);
        out.push_str(",\"emitted_at\":");
        push_json_string(out, &self.emitted_at);
        out.push_str(",\"data\":");
        out.push_str(self.data.get());
        out.push('}');
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// RFC 3339 UTC with milliseconds, e.g. `2024-08-13T15:58:20.353Z`.
pub fn utc_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uuid: &str) -> Delta {
        let data = format!(
            r#"{{ "uuid": "{uuid}", "published": "2024-01-01T00:00:00.000Z", "newField": {{"n": 1.50}} }}"#
        );
        Delta::new(
            stream::SYSTEM_LOG,
            uuid,
            "2024-01-01T00:00:00.000Z",
            RawValue::from_string(data).unwrap(),
        )
    }

    #[test]
    fn a_line_has_the_envelope_keys_in_order_and_the_okta_object_byte_for_byte() {
        let mut d = event("e1");
        d.emitted_at = "2024-01-02T03:04:05.678Z".into();
        d.id = "quote\" back\\ nl\n ctl\u{1} é".into();
        let expected = concat!(
            r#"{"stream":"system_log","op":"upsert","id":"quote\" back\\ nl\n ctl\u0001 é","#,
            r#""version":"2024-01-01T00:00:00.000Z","emitted_at":"2024-01-02T03:04:05.678Z","#,
            r#""data":{ "uuid": "e1", "published": "2024-01-01T00:00:00.000Z", "newField": {"n": 1.50} }}"#
        );
        assert_eq!(d.to_line(), expected);
        let parsed: Delta = serde_json::from_str(&d.to_line()).unwrap();
        assert_eq!((parsed.id, parsed.op), (d.id, Op::Upsert));
        assert_eq!(parsed.data.get(), d.data.get());
    }

    #[test]
    fn a_tombstone_says_delete_and_how_the_deletion_was_seen() {
        let mut d = Delta::user_deleted("00u\"1", "2024-01-01T00:00:00.000Z", "reconcile");
        d.emitted_at = "2024-01-02T03:04:05.678Z".into();
        assert_eq!(
            d.to_line(),
            concat!(
                r#"{"stream":"updated_users","op":"delete","id":"00u\"1","#,
                r#""version":"2024-01-01T00:00:00.000Z","emitted_at":"2024-01-02T03:04:05.678Z","#,
                r#""data":{"id":"00u\"1","deletedAt":"2024-01-01T00:00:00.000Z","via":"reconcile"}}"#
            )
        );
        let parsed: Delta = serde_json::from_str(&d.to_line()).unwrap();
        assert_eq!(parsed.op, Op::Delete);
    }

    #[test]
    fn every_op_is_written_in_lowercase_and_reads_back() {
        for (op, text) in [
            (Op::Upsert, "upsert"),
            (Op::Delete, "delete"),
            (Op::Add, "add"),
            (Op::Remove, "remove"),
        ] {
            let line = event("e").with_op(op).to_line();
            assert!(line.contains(&format!(r#""op":"{text}""#)), "{line}");
            assert_eq!(serde_json::from_str::<Delta>(&line).unwrap().op, op);
        }
    }

    #[test]
    fn a_line_without_op_reads_back_as_an_upsert() {
        let line = r#"{"stream":"system_log","id":"e","version":"v","emitted_at":"t","data":{}}"#;
        assert_eq!(serde_json::from_str::<Delta>(line).unwrap().op, Op::Upsert);
    }

    #[test]
    fn emitted_at_is_rfc3339_utc_with_milliseconds() {
        let at = event("e1").emitted_at;
        assert_eq!(at.len(), "2024-01-02T03:04:05.678Z".len(), "{at}");
        assert!(at.ends_with('Z') && DateTime::parse_from_rfc3339(&at).is_ok());
    }
}
