//! Redaction: how a request is shown to people (dry runs, `Debug`, logs) without its secrets.
//! Passwords, hash values, recovery answers, hook auth values and credential-bearing headers and
//! query parameters become `[redacted]`; everything else is shown as it would be sent.

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use url::Url;

pub const REDACTED: &str = "[redacted]";

/// Object keys whose values are secret wherever they appear in a JSON body.
const SECRET_KEYS: [&str; 6] = ["value", "answer", "salt", "password", "secret", "token"];

/// Names (of headers, query parameters or JSON keys) that carry credentials.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_KEYS.contains(&lower.as_str())
        || [
            "auth", "token", "secret", "password", "cookie", "api-key", "apikey",
        ]
        .iter()
        .any(|part| lower.contains(part))
}

/// A copy of `body` with every secret value replaced by `[redacted]`. A secret key's whole
/// subtree goes (e.g. `hash`), except that objects under `password` keep their key names.
pub fn redact_json(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(redact_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(key, value)| {
            let shown = match value {
                Value::Object(_) | Value::Array(_) if key == "hash" => redact_all(value),
                Value::Object(_) | Value::Array(_) => redact_json(value),
                Value::Null | Value::Bool(_) => value.clone(),
                _ if is_secret_name(key) => Value::String(REDACTED.into()),
                _ => value.clone(),
            };
            (key.clone(), shown)
        })
        .collect()
}

/// Every scalar under `value` redacted, keys kept (for password hashes: the algorithm is not a
/// secret on its own, but a salt, a work factor and a digest belong together).
fn redact_all(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = if k == "algorithm" {
                        v.clone()
                    } else {
                        redact_all(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_all).collect()),
        Value::Null => Value::Null,
        _ => Value::String(REDACTED.into()),
    }
}

/// The URL with credential-looking query values redacted.
pub fn redact_url(url: &Url) -> String {
    if !url.query_pairs().any(|(k, _)| is_secret_name(&k)) {
        return url.to_string();
    }
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_name(&k) {
                REDACTED.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

/// A header as it may be shown: its value redacted when the name carries credentials.
pub fn redact_header(name: &HeaderName, value: &HeaderValue) -> String {
    if is_secret_name(name.as_str()) || value.is_sensitive() {
        REDACTED.into()
    } else {
        value.to_str().unwrap_or("[not UTF-8]").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passwords_answers_and_hashes_are_redacted_but_the_shape_stays() {
        let body = json!({
            "profile": {"login": "a@example.com", "firstName": "Ann"},
            "credentials": {
                "password": {"hash": {"algorithm": "BCRYPT", "workFactor": 10, "salt": "s", "value": "h"}},
                "recovery_question": {"question": "q?", "answer": "42"}
            },
            "oldPassword": {"value": "old"},
            "channel": {"config": {"authScheme": {"type": "HEADER", "key": "Authorization", "value": "sek"}}}
        });
        let shown = redact_json(&body).to_string();
        for secret in ["\"h\"", "\"s\"", "\"42\"", "\"old\"", "\"sek\"", "10"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        for kept in ["a@example.com", "BCRYPT", "q?", "Authorization", "HEADER"] {
            assert!(shown.contains(kept), "{kept} missing in {shown}");
        }
    }

    #[test]
    fn a_plain_password_string_is_redacted() {
        let shown = redact_json(&json!({"password": "hunter2", "name": "x"})).to_string();
        assert!(
            !shown.contains("hunter2") && shown.contains("\"x\""),
            "{shown}"
        );
    }

    #[test]
    fn credential_query_values_are_redacted_and_others_kept() {
        let url = Url::parse("https://o.okta.com/api/v1/x?token=abc&limit=5").unwrap();
        let shown = redact_url(&url);
        assert!(
            !shown.contains("abc") && shown.contains("limit=5"),
            "{shown}"
        );
    }

    #[test]
    fn auth_like_header_names_are_secret_and_ordinary_ones_are_not() {
        for name in ["Authorization", "X-Api-Key", "Cookie", "X-Auth-Token"] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["Accept", "Prefer", "X-Other-Header"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
