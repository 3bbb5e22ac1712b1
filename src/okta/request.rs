//! `Request`: one request to Okta as data (method, URL, JSON or form/multipart body, extra
//! headers, optional per-request retry policy), and its redacted rendering for dry runs and `Debug`.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use url::Url;

use super::redact::{REDACTED, is_secret_name, redact_header, redact_json, redact_url};

/// One request to Okta. Paths are resolved against the org by [`super::OktaClient::url`].
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub body: Option<Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A form or multipart body, sent instead of `body` when set.
    pub upload: Option<Upload>,
    /// Overrides the client's timeout and retry settings for this request only.
    pub policy: Option<RetryPolicy>,
}

/// A non-JSON body.
#[derive(Clone)]
pub enum Upload {
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, String)>),
    /// `multipart/form-data` parts.
    Multipart(Vec<Part>),
}

/// One multipart part: a text field or a file read into memory.
#[derive(Clone)]
pub struct Part {
    pub name: String,
    pub content: PartContent,
}

#[derive(Clone)]
pub enum PartContent {
    Text(String),
    File { file_name: String, bytes: Vec<u8> },
}

/// Per-request timeout and retries (curl-like), replacing the client's defaults.
#[derive(Debug, Clone, Default)]
pub struct RetryPolicy {
    pub timeout: Option<Duration>,
    /// How many times to send again after a failure.
    pub retries: Option<usize>,
    /// The wait between attempts; the first wait when `exponential_backoff` is set.
    pub retry_delay: Option<Duration>,
    /// Double the wait after each attempt.
    pub exponential_backoff: bool,
    /// Retry every failure, 4xx and non-idempotent methods included.
    pub retry_all_errors: bool,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            body: None,
            headers: Vec::new(),
            upload: None,
            policy: None,
        }
    }

    pub fn json(mut self, body: Value) -> Request {
        self.body = Some(body);
        self
    }

    /// Adds a header sent as given (after the client's own headers).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Request {
        self.headers.push((name, value));
        self
    }

    /// Safe to send again after it may have reached Okta (GET, HEAD, PUT).
    pub(crate) fn is_idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::OPTIONS
        )
    }

    /// The request as JSON for people and scripts, secrets redacted: `method`, `url`, `headers`
    /// (with the `Authorization` the client adds), and `body` or `form`/`multipart`.
    pub fn redacted(&self) -> Value {
        let mut headers = serde_json::Map::new();
        headers.insert("Authorization".into(), format!("SSWS {REDACTED}").into());
        for (name, value) in &self.headers {
            headers.insert(name.to_string(), redact_header(name, value).into());
        }
        let mut shown = json!({
            "method": self.method.as_str(),
            "url": redact_url(&self.url),
            "headers": headers,
        });
        if let Some(body) = &self.body {
            shown["body"] = redact_json(body);
        }
        match &self.upload {
            Some(Upload::Form(fields)) => shown["form"] = fields_json(fields),
            Some(Upload::Multipart(parts)) => {
                shown["multipart"] = parts.iter().map(part_json).collect();
            }
            None => {}
        }
        shown
    }
}

fn fields_json(fields: &[(String, String)]) -> Value {
    fields
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_name(k) { REDACTED } else { v };
            json!({"name": k, "value": v})
        })
        .collect()
}

fn part_json(part: &Part) -> Value {
    match &part.content {
        PartContent::Text(v) => {
            let v = if is_secret_name(&part.name) {
                REDACTED
            } else {
                v
            };
            json!({"name": part.name, "value": v})
        }
        PartContent::File { file_name, bytes } => {
            json!({"name": part.name, "file": file_name, "bytes": bytes.len()})
        }
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request({})", self.redacted())
    }
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Part({})", part_json(self))
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upload::Form(fields) => write!(f, "Form({})", fields_json(fields)),
            Upload::Multipart(parts) => {
                let shown: Vec<Value> = parts.iter().map(part_json).collect();
                write!(f, "Multipart({})", Value::Array(shown))
            }
        }
    }
}

/// A fresh multipart form (reqwest's form is consumed by each send).
pub(super) fn multipart_form(parts: &[Part]) -> reqwest::multipart::Form {
    parts
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, part| {
            match &part.content {
                PartContent::Text(v) => form.text(part.name.clone(), v.clone()),
                PartContent::File { file_name, bytes } => form.part(
                    part.name.clone(),
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.clone()),
                ),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_dry_run_views_never_show_the_password() {
        let url = Url::parse("https://o.okta.com/api/v1/users/00u1").unwrap();
        let req = Request::new(Method::POST, url)
            .json(json!({"credentials": {"password": {"value": "Secr3t!"}}}))
            .header(
                HeaderName::from_static("x-auth-token"),
                HeaderValue::from_static("tok"),
            );
        let debug = format!("{req:?}");
        let shown = req.redacted().to_string();
        for text in [&debug, &shown] {
            assert!(
                !text.contains("Secr3t!") && !text.contains("tok\""),
                "{text}"
            );
            assert!(text.contains("/api/v1/users/00u1"), "{text}");
        }
    }

    #[test]
    fn form_and_file_parts_are_described_without_file_contents() {
        let url = Url::parse("https://o.okta.com/api/v1/x").unwrap();
        let mut req = Request::new(Method::POST, url);
        req.upload = Some(Upload::Multipart(vec![
            Part {
                name: "file".into(),
                content: PartContent::File {
                    file_name: "logo.png".into(),
                    bytes: vec![1, 2, 3],
                },
            },
            Part {
                name: "client_secret".into(),
                content: PartContent::Text("s3".into()),
            },
        ]));
        let shown = req.redacted().to_string();
        assert!(
            shown.contains("logo.png") && shown.contains("\"bytes\":3"),
            "{shown}"
        );
        assert!(!shown.contains("s3\""), "{shown}");
    }
}
