//! What a request to the receiver means, decided without I/O: Okta's verification challenge and
//! its answer, the shared secret compared in constant time, and a delivery body read into
//! `event_hook` deltas with each LogEvent kept byte for byte.

use ring::digest::{SHA256, digest};
use serde::Deserialize;
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;

use crate::sink::{Delta, stream};
use crate::store::{StoreError, check_event_shape};

/// The largest delivery body accepted. Okta's deliveries are small batches of LogEvents.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The header of Okta's one-time verification request.
pub const CHALLENGE_HEADER: &str = "x-okta-verification-challenge";

/// Why a request is refused; each maps to one 4xx status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no shared secret, or the wrong one")]
    Unauthorized,
    #[error("a GET without the X-Okta-Verification-Challenge header, or with an unusable one")]
    NoChallenge,
    #[error("Content-Type is {0:?}, not application/json")]
    ContentType(String),
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body could not be read: {0}")]
    Unreadable(String),
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not an Okta event hook delivery: {0}")]
    Shape(String),
}

impl Refusal {
    /// The HTTP status this refusal is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Unauthorized => 401,
            Refusal::NoChallenge
            | Refusal::Unreadable(_)
            | Refusal::NotJson(_)
            | Refusal::Shape(_) => 400,
            Refusal::ContentType(_) => 415,
            Refusal::TooLarge => 413,
        }
    }
}

/// The JSON answer to a verification request carrying `challenge`.
pub fn verification(challenge: Option<&str>) -> Result<serde_json::Value, Refusal> {
    match challenge {
        Some(value) if usable_challenge(value) => Ok(serde_json::json!({ "verification": value })),
        _ => Err(Refusal::NoChallenge),
    }
}

/// Okta's challenges are short printable tokens; anything else is not echoed.
fn usable_challenge(value: &str) -> bool {
    !value.is_empty() && value.len() <= 512 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// True when some `(presented, secret)` pair matches: the value a request carries in a secret's
/// header, and that secret. Both sides are hashed first and every pair is compared, so the time
/// taken says nothing about the secrets' contents or lengths.
pub fn secret_matches<'a>(pairs: impl IntoIterator<Item = (Option<&'a [u8]>, &'a [u8])>) -> bool {
    let mut found = subtle::Choice::from(0);
    for (presented, secret) in pairs {
        let Some(presented) = presented else {
            continue;
        };
        let given = digest(&SHA256, presented);
        found |= digest(&SHA256, secret).as_ref().ct_eq(given.as_ref());
    }
    found.into()
}

/// Accepts `application/json`, with or without parameters such as `charset=utf-8`.
pub fn check_content_type(value: Option<&str>) -> Result<(), Refusal> {
    let value = value.unwrap_or_default();
    let essence = value.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Refusal::ContentType(value.chars().take(100).collect()))
    }
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(rename = "eventType", borrow)]
    event_type: Option<&'a str>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    events: Option<Vec<Box<RawValue>>>,
}

#[derive(Deserialize)]
struct EventKeys {
    uuid: Option<String>,
    published: Option<String>,
}

/// The delivery's events as `event_hook` deltas, in the order Okta sent them.
pub fn parse_delivery(body: &[u8]) -> Result<Vec<Delta>, Refusal> {
    let text = std::str::from_utf8(body).map_err(|e| Refusal::NotJson(e.to_string()))?;
    let parsed: Body<'_> = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Refusal::Shape(e.to_string()),
        _ => Refusal::NotJson(e.to_string()),
    })?;
    if let Some(kind) = parsed.event_type.filter(|t| *t != "com.okta.event_hook") {
        return Err(Refusal::Shape(format!(
            "eventType is {kind:?}, not com.okta.event_hook"
        )));
    }
    let events = parsed
        .data
        .and_then(|d| d.events)
        .ok_or_else(|| Refusal::Shape("it has no data.events list".into()))?;
    events
        .into_iter()
        .enumerate()
        .map(|(i, raw)| event_delta(i, raw))
        .collect()
}

fn event_delta(i: usize, raw: Box<RawValue>) -> Result<Delta, Refusal> {
    let keys: EventKeys = serde_json::from_str(raw.get())
        .map_err(|e| Refusal::Shape(format!("data.events[{i}] is not a LogEvent object ({e})")))?;
    let (Some(uuid), Some(published)) = (keys.uuid, keys.published) else {
        return Err(Refusal::Shape(format!(
            "data.events[{i}] lacks a uuid or published string"
        )));
    };
    if uuid.is_empty() {
        return Err(Refusal::Shape(format!(
            "data.events[{i}] has an empty uuid"
        )));
    }
    let delta = Delta::new(stream::EVENT_HOOK, &uuid, &published, raw);
    check_event_shape(&delta).map_err(|e| match e {
        StoreError::Shape { problem, .. } => {
            Refusal::Shape(format!("data.events[{i}] is {problem}"))
        }
        other => Refusal::Shape(other.to_string()),
    })?;
    Ok(delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"uuid":"f1d0b993-cc19-11ed-a688-db22c99ef6c4","published":"2023-03-26T21:05:32.159Z","eventType":"user.session.start","n":1.50}"#;

    fn delivery(events: &str) -> String {
        format!(
            r#"{{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",
            "source":"https://dev-1.okta.com/api/v1/eventHooks/who1","eventId":"85b60edb",
            "data":{{"events":[{events}]}},"eventTime":"2023-03-28T17:03:37.093Z","contentType":"application/json"}}"#
        )
    }

    #[test]
    fn a_delivery_becomes_event_hook_deltas_with_each_event_kept_byte_for_byte() {
        let second = EVENT.replace("f1d0b993", "a2").replace("21:05", "21:06");
        let deltas = parse_delivery(delivery(&format!("{EVENT},{second}")).as_bytes()).unwrap();
        assert_eq!(deltas.len(), 2);
        assert_eq!(deltas[0].stream, "event_hook");
        assert_eq!(deltas[0].id, "f1d0b993-cc19-11ed-a688-db22c99ef6c4");
        assert_eq!(deltas[0].version, "2023-03-26T21:05:32.159Z");
        assert_eq!(deltas[0].data.get(), EVENT);
        assert_eq!(deltas[1].version, "2023-03-26T21:06:32.159Z");
        assert!(parse_delivery(delivery("").as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn bodies_that_are_not_json_or_not_a_delivery_are_refused_with_the_reason() {
        type Expect = fn(&Refusal) -> bool;
        let cases: &[(&str, Expect)] = &[
            ("", |r| matches!(r, Refusal::NotJson(_))),
            ("{\"data\":", |r| matches!(r, Refusal::NotJson(_))),
            ("\u{FF}", |r| matches!(r, Refusal::NotJson(_))),
            ("[1,2]", |r| matches!(r, Refusal::Shape(_))),
            (
                "{}",
                |r| matches!(r, Refusal::Shape(s) if s.contains("data.events")),
            ),
            (r#"{"data":{"events":{}}}"#, |r| {
                matches!(r, Refusal::Shape(_))
            }),
            (
                r#"{"data":{"events":[1]}}"#,
                |r| matches!(r, Refusal::Shape(s) if s.contains("data.events[0]")),
            ),
            (
                r#"{"data":{"events":[{"uuid":"u"}]}}"#,
                |r| matches!(r, Refusal::Shape(s) if s.contains("published")),
            ),
            (
                r#"{"data":{"events":[{"uuid":"","published":"t"}]}}"#,
                |r| matches!(r, Refusal::Shape(s) if s.contains("empty uuid")),
            ),
            (
                r#"{"data":{"events":[{"uuid":"u","published":"t","severity":3}]}}"#,
                |r| matches!(r, Refusal::Shape(s) if s.contains("data.events[0] is not an Okta object")),
            ),
            (
                r#"{"data":{"events":[{"uuid":"u","published":"t","actor":"x"}]}}"#,
                |r| matches!(r, Refusal::Shape(_)),
            ),
            (
                r#"{"eventType":"com.okta.other","data":{"events":[]}}"#,
                |r| matches!(r, Refusal::Shape(s) if s.contains("com.okta.other")),
            ),
        ];
        for (body, expected) in cases {
            let refusal = parse_delivery(body.as_bytes()).unwrap_err();
            assert!(expected(&refusal), "{body:?}: {refusal:?}");
            assert_eq!(refusal.status(), 400, "{body:?}");
        }
    }

    #[test]
    fn the_challenge_is_echoed_only_when_it_is_a_plain_token() {
        let cases = [
            (Some("2fJpT1DwpABTRm3ZPyvVVdmUzgSHiDl4"), true),
            (Some("a-b_c.d~e"), true),
            (None, false),
            (Some(""), false),
            (Some("has space"), false),
            (Some("<script>"), true),
            (Some("line\nbreak"), false),
        ];
        for (challenge, echoed) in cases {
            let answer = verification(challenge);
            assert_eq!(answer.is_ok(), echoed, "{challenge:?}");
            if let Ok(body) = answer {
                assert_eq!(body["verification"], challenge.unwrap());
            }
        }
        assert!(verification(Some(&"x".repeat(513))).is_err());
    }

    #[test]
    fn the_secret_must_match_one_of_the_known_secrets_exactly() {
        let known: [&[u8]; 2] = [b"first-secret", b"second-secret"];
        let cases: [(Option<&[u8]>, bool); 7] = [
            (Some(b"first-secret"), true),
            (Some(b"second-secret"), true),
            (Some(b"first-secre"), false),
            (Some(b"first-secret "), false),
            (Some(b""), false),
            (Some(b"FIRST-SECRET"), false),
            (None, false),
        ];
        for (presented, ok) in cases {
            let pairs = known.iter().map(|k| (presented, *k));
            assert_eq!(secret_matches(pairs), ok, "{presented:?}");
        }
        assert!(!secret_matches([]), "no secret, no entry");
        let second_header_only = [
            (None, &b"first-secret"[..]),
            (Some(&b"second-secret"[..]), b"second-secret"),
        ];
        assert!(secret_matches(second_header_only));
    }

    #[test]
    fn only_json_content_types_are_accepted() {
        for (value, ok) in [
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("Application/JSON"), true),
            (Some("text/plain"), false),
            (Some("application/jsonx"), false),
            (None, false),
        ] {
            assert_eq!(check_content_type(value).is_ok(), ok, "{value:?}");
        }
        assert_eq!(
            check_content_type(Some("text/plain")).unwrap_err().status(),
            415
        );
    }
}
