//! Where deltas go: the [`Delta`] envelope every sink receives.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The stream names a [`Delta`] can carry.
pub mod stream {
    /// Users seen for the first time.
    pub const NEW_USERS: &str = "new_users";
    /// Users whose `lastUpdated` moved.
    pub const UPDATED_USERS: &str = "updated_users";
    /// Events read from the System Log API.
    pub const SYSTEM_LOG: &str = "system_log";
    /// Events pushed to us by an Okta event hook.
    pub const EVENT_HOOK: &str = "event_hook";
}

/// One change, as written to every sink: a small envelope around the Okta object, which is kept
/// byte for byte as received (unknown fields included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delta {
    /// One of the [`stream`] names.
    pub stream: String,
    /// Okta user id or event uuid.
    pub id: String,
    /// User `lastUpdated` or event `published`.
    pub version: String,
    /// When oktasync emitted this delta: RFC 3339 UTC with milliseconds.
    pub emitted_at: String,
    /// The Okta object exactly as received.
    pub data: Box<RawValue>,
}

impl Delta {
    /// A delta emitted now.
    pub fn new(stream: &str, id: &str, version: &str, data: Box<RawValue>) -> Delta {
        Delta {
            stream: stream.to_owned(),
            id: id.to_owned(),
            version: version.to_owned(),
            emitted_at: utc_millis(Utc::now()),
            data,
        }
    }

    /// `{"stream":…,"id":…,"version":…,"emitted_at":…,"data":<raw>}` with keys in that order and
    /// no trailing newline.
    pub fn to_line(&self) -> String {
        let mut line = String::with_capacity(self.data.get().len() + 128);
        line.push_str("{\"stream\":");
        push_json_string(&mut line, &self.stream);
        line.push_str(",\"id\":");
        push_json_string(&mut line, &self.id);
        line.push_str(",\"version\":");
        push_json_string(&mut line, &self.version);
        line.push_str(",\"emitted_at\":");
        push_json_string(&mut line, &self.emitted_at);
        line.push_str(",\"data\":");
        line.push_str(self.data.get());
        line.push('}');
        line
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
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
pub(crate) fn utc_millis(t: DateTime<Utc>) -> String {
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
            r#"{"stream":"system_log","id":"quote\" back\\ nl\n ctl\u0001 é","#,
            r#""version":"2024-01-01T00:00:00.000Z","emitted_at":"2024-01-02T03:04:05.678Z","#,
            r#""data":{ "uuid": "e1", "published": "2024-01-01T00:00:00.000Z", "newField": {"n": 1.50} }}"#
        );
        assert_eq!(d.to_line(), expected);
        let parsed: Delta = serde_json::from_str(&d.to_line()).unwrap();
        assert_eq!(parsed.id, d.id);
        assert_eq!(parsed.data.get(), d.data.get());
    }

    #[test]
    fn emitted_at_is_rfc3339_utc_with_milliseconds() {
        let at = event("e1").emitted_at;
        assert_eq!(at.len(), "2024-01-02T03:04:05.678Z".len(), "{at}");
        assert!(at.ends_with('Z') && DateTime::parse_from_rfc3339(&at).is_ok());
    }
}
