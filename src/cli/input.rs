//! Command-line input checks, all done before any request: JSON given inline or as `@file.json`,
//! `K=V` and `K:V` pairs, ids, times, and secrets read from stdin. Parsers used by clap return
//! plain messages (clap names the flag); the others name the flag themselves.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::okta::api::ids;
use crate::okta::{Part, PartContent};

/// JSON given inline or as `@path/to/file.json`.
pub fn json(text: &str) -> Result<Value, String> {
    let (source, body) = match text.strip_prefix('@') {
        Some(path) => {
            let body =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            (format!("{path} is"), body)
        }
        None => ("it is".to_owned(), text.to_owned()),
    };
    serde_json::from_str(&body).map_err(|e| format!("{source} not valid JSON ({e})"))
}

/// A JSON object, inline or `@file.json`.
pub fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    match json(text)? {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "expected a JSON object like {{\"key\":\"value\"}}, got {}",
            kind(&other)
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Object(_) => "an object",
    }
}

/// JSON that holds a secret (a password hash): parsed without ever echoing it in the error.
pub fn secret_json(flag: &str, secret: &SecretString) -> anyhow::Result<Value> {
    let text = secret.expose_secret();
    let parsed = match text.strip_prefix('@') {
        Some(path) => {
            let body = std::fs::read_to_string(path)
                .with_context(|| format!("{flag}: cannot read {path}"))?;
            serde_json::from_str(&body)
        }
        None => serde_json::from_str(text),
    };
    match parsed {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        Ok(_) => bail!("{flag}: expected a JSON object like {{\"algorithm\":\"BCRYPT\",…}}"),
        Err(e) => bail!(
            "{flag}: not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    }
}

fn split_pair(text: &str, sep: char, example: &str) -> Result<(String, String), String> {
    match text.split_once(sep) {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected {example}")),
    }
}

/// `KEY=VALUE`.
pub fn key_value(text: &str) -> Result<(String, String), String> {
    split_pair(text, '=', "KEY=VALUE, e.g. fields=id,profile")
}

/// `Name: value`.
pub fn header(text: &str) -> Result<(String, String), String> {
    let (k, v) = split_pair(text, ':', "NAME:VALUE, e.g. X-Request-Source: oktasync")?;
    Ok((k, v.trim().to_owned()))
}

/// `NAME=@path`: a file sent as a multipart part.
pub fn file_part(text: &str) -> Result<Part, String> {
    let (name, value) = split_pair(text, '=', "NAME=@PATH, e.g. file=@logo.png")?;
    let path = value
        .strip_prefix('@')
        .ok_or("expected NAME=@PATH (the path starts with @)")?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let file_name = Path::new(path)
        .file_name()
        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(Part {
        name,
        content: PartContent::File { file_name, bytes },
    })
}

/// An Okta object id.
pub fn object_id(text: &str) -> Result<String, String> {
    ids::check_object_id(text).map(|()| text.to_owned())
}

/// A user id, login or shortname.
pub fn user_ref(text: &str) -> Result<String, String> {
    ids::check_user_ref(text).map(|()| text.to_owned())
}

/// An ISO 8601 (RFC 3339) time.
pub fn time(text: &str) -> Result<String, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not an ISO 8601 time like 2024-05-01T00:00:00Z ({e})"))
}

/// A number of seconds (fractions allowed), e.g. `2.5`.
pub fn seconds(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{text:?} is not a number of seconds, e.g. 2.5"))
}

/// A secret read from the first line of stdin (for `--password-stdin`).
pub fn secret_from_stdin(flag: &str) -> anyhow::Result<SecretString> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{flag}: type the secret and press Enter: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("{flag}: cannot read stdin"))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        bail!("{flag}: stdin was empty; pipe the secret in, e.g. `printf %s \"$PW\" | oktasync …`");
    }
    Ok(SecretString::from(secret))
}

/// `--param`/`--query` pairs checked against the operation's spec before any request.
pub fn check_params(flag: &str, op_id: &str, params: &[(String, String)]) -> anyhow::Result<()> {
    let op = crate::okta::api::ops::operation(op_id);
    for (k, v) in params {
        op.check_param(k, v)
            .map_err(|problem| anyhow::anyhow!("{flag} {k}={v}: {problem}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_comes_inline_or_from_a_file() {
        assert_eq!(json(r#"{"a":1}"#).unwrap()["a"], 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"b":2}"#).unwrap();
        assert_eq!(json(&format!("@{}", path.display())).unwrap()["b"], 2);
        assert!(json("{oops").unwrap_err().contains("not valid JSON"));
        assert!(
            json("@/nonexistent/x.json")
                .unwrap_err()
                .contains("cannot read")
        );
        assert!(json_object("[1]").unwrap_err().contains("an array"));
    }

    #[test]
    fn a_bad_hash_is_reported_without_echoing_it() {
        let err =
            secret_json("--hash-password", &SecretString::from("{\"value\":\"abc")).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("--hash-password") && !text.contains("abc"),
            "{text}"
        );
    }

    #[test]
    fn pairs_split_at_the_first_separator() {
        assert_eq!(
            key_value("filter=a=b").unwrap(),
            ("filter".into(), "a=b".into())
        );
        assert_eq!(
            header("Prefer: respond-async").unwrap(),
            ("Prefer".into(), "respond-async".into())
        );
        assert!(key_value("novalue").is_err());
        assert!(header(":x").is_err());
        assert!(file_part("file=logo.png").is_err());
    }

    #[test]
    fn times_and_seconds_are_checked() {
        assert!(time("2024-05-01T00:00:00.000Z").is_ok());
        assert!(time("yesterday").is_err());
        assert_eq!(seconds("1.5").unwrap().as_millis(), 1500);
        assert!(seconds("-1").is_err());
    }
}
