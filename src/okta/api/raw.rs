//! Raw requests: any method on a path under `/api/v1` (or a full URL of the same org), for the
//! operations oktasync has no typed method for. The token still never leaves the org.

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::okta::redact::{REDACTED, is_secret_name, redact_json};
use crate::okta::{OktaClient, OktaError, Request, Response, RetryPolicy, Upload};

/// A request described by its parts. `Debug` redacts credentials.
#[derive(Clone)]
pub struct RawRequest {
    pub method: Method,
    /// `/api/v1/…`, or a full URL of the configured org.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A form or multipart body instead of JSON.
    pub upload: Option<Upload>,
    pub policy: Option<RetryPolicy>,
}

impl RawRequest {
    pub fn new(method: Method, path: impl Into<String>) -> RawRequest {
        RawRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            upload: None,
            policy: None,
        }
    }
}

impl std::fmt::Debug for RawRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |pairs: &[(String, String)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) { REDACTED } else { v };
                    (k.clone(), v.to_owned())
                })
                .collect()
        };
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &shown(&self.query))
            .field("headers", &shown(&self.headers))
            .field("body", &self.body.as_ref().map(redact_json))
            .field("upload", &self.upload)
            .field("policy", &self.policy)
            .finish()
    }
}

/// Headers the client owns; a raw request may not set them.
const RESERVED_HEADERS: [&str; 3] = ["authorization", "host", "content-length"];

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), OktaError> {
    let field = format!("header {name}");
    let parsed = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|e| OktaError::invalid(&field, format!("not a header name: {e}")))?;
    if RESERVED_HEADERS.contains(&parsed.as_str()) {
        return Err(OktaError::invalid(
            &field,
            "oktasync sets this header itself (the API token comes from the config)",
        ));
    }
    let value = HeaderValue::from_str(value.trim())
        .map_err(|e| OktaError::invalid(&field, format!("not a header value: {e}")))?;
    Ok((parsed, value))
}

/// A raw path as given, resolved against the API base: `/users/me` (relative to `/api/v1`, as
/// Okta's API reference writes paths) means `/api/v1/users/me`; `/api/v1/…` and full org URLs
/// stay as they are. A path naming another base (`/oauth2/…`, `/api/v2/…`) or not starting with
/// `/` is refused.
pub fn api_path(path: &str) -> Result<String, OktaError> {
    let in_api = path == "/api/v1" || path.starts_with("/api/v1/") || path.starts_with("/api/v1?");
    if path.contains("://") || in_api {
        return Ok(path.to_owned());
    }
    let first = path
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    if !path.starts_with('/') || matches!(first, "api" | "oauth2") {
        return Err(OktaError::invalid(
            "path",
            format!(
                "{path:?} is not an API path: give it relative to /api/v1 (/users/me), under \
                 /api/v1 (/api/v1/users/me), or as a URL of the org"
            ),
        ));
    }
    Ok(format!("/api/v1{path}"))
}

impl OktaClient {
    /// Builds a raw request, refusing paths outside `/api/v1` and URLs of other hosts.
    pub fn raw_request(&self, raw: &RawRequest) -> Result<Request, OktaError> {
        let path = api_path(raw.path.trim())?;
        let path = path.as_str();
        let full_url = path.contains("://");
        let pairs: Vec<(&str, &str)> = raw
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = self.url(path, &pairs)?;
        if !full_url && !url.path().starts_with("/api/v1") {
            return Err(OktaError::invalid(
                "path",
                format!("{path:?} leaves /api/v1"),
            ));
        }
        let mut request = Request::new(raw.method.clone(), url);
        for (name, value) in &raw.headers {
            let (name, value) = header(name, value)?;
            request = request.header(name, value);
        }
        request.body = raw.body.clone();
        request.upload = raw.upload.clone();
        request.policy = raw.policy.clone();
        if request.body.is_some() && request.upload.is_some() {
            return Err(OktaError::invalid(
                "body",
                "send either JSON data or a form, not both",
            ));
        }
        Ok(request)
    }

    /// Sends a raw request; any 2xx answer comes back as is.
    pub async fn raw(&self, raw: &RawRequest) -> Result<Response, OktaError> {
        self.execute(self.raw_request(raw)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_api_base_the_api_path_and_org_urls_are_all_accepted() {
        for (given, want) in [
            ("/users", "/api/v1/users"),
            (
                "/users/00u1/lifecycle/suspend",
                "/api/v1/users/00u1/lifecycle/suspend",
            ),
            ("/api/v1/users", "/api/v1/users"),
            ("/api/v1", "/api/v1"),
            ("/api/v1?x=1", "/api/v1?x=1"),
            ("/", "/api/v1/"),
            (
                "https://dev-1.okta.com/api/v1/users",
                "https://dev-1.okta.com/api/v1/users",
            ),
        ] {
            assert_eq!(api_path(given).unwrap(), want, "{given}");
        }
        for refused in [
            "users",
            "/oauth2/v1/token",
            "/api/v2/users",
            "/api",
            "api/v1/users",
        ] {
            let err = api_path(refused).unwrap_err().to_string();
            assert!(err.contains("is not an API path"), "{refused}: {err}");
        }
    }

    #[test]
    fn debug_of_a_raw_request_hides_credentials() {
        let mut raw = RawRequest::new(Method::POST, "/api/v1/users");
        raw.headers = vec![
            ("X-Api-Key".into(), "k-123".into()),
            ("Prefer".into(), "respond-async".into()),
        ];
        raw.body = Some(serde_json::json!({"credentials": {"password": {"value": "pw-456"}}}));
        let text = format!("{raw:?}");
        assert!(
            !text.contains("k-123") && !text.contains("pw-456"),
            "{text}"
        );
        assert!(text.contains("respond-async"), "{text}");
    }
}
