//! `OktaError`: what went wrong talking to Okta, built from Okta's error JSON when there is one,
//! so callers can branch on `errorCode` and people see the summary, causes and request id.

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// Okta (or a proxy in front of it) answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request never got an HTTP answer: DNS, connect, TLS, timeout, or a cut connection.
    #[error("{method} {path}: {detail}")]
    Transport {
        method: String,
        path: String,
        detail: String,
        timeout: bool,
        /// The connection never opened, so the request cannot have reached Okta.
        connect: bool,
    },
    /// A 2xx answer whose body is not the JSON Okta documents.
    #[error(
        "{method} {path}: Okta's answer is not the expected JSON ({detail}) [request id {request_id}]"
    )]
    Decode {
        method: String,
        path: String,
        detail: String,
        request_id: String,
    },
    /// A link or path that would send the token to a host other than the configured org.
    #[error(
        "refusing to send the API token to {url}: only {org} is allowed (check the link or path)"
    )]
    ForeignOrigin { url: String, org: String },
    /// The org authorization server refused a token or revocation request.
    #[error("{0}")]
    OAuth(Box<OAuthError>),
    /// The client was built with settings that cannot work.
    #[error("{0}")]
    Setup(String),
    /// An input that cannot make a valid request (an empty id, a missing required field); nothing
    /// was sent. `field` names the input, e.g. `login` or `groupId`.
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}

/// A refusal from `/oauth2/v1/token` or `/oauth2/v1/revoke`, in RFC 6749's shape.
#[derive(Debug, thiserror::Error)]
#[error("Okta's authorization server answered {status} {error}: {description} ({hint})")]
pub struct OAuthError {
    pub status: u16,
    /// `invalid_client`, `invalid_scope`, `invalid_dpop_proof`, `invalid_grant`, …
    pub error: String,
    pub description: String,
    /// What to change in Okta or in the config.
    pub hint: String,
}

/// An HTTP error answer, with Okta's error object when the body had one.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub method: String,
    pub path: String,
    /// `errorCode`, e.g. `E0000007`; `None` when the body was not Okta's error JSON.
    pub code: Option<String>,
    pub summary: String,
    pub causes: Vec<String>,
    pub error_id: Option<String>,
    pub request_id: Option<String>,
    /// How many times the request was sent before giving up.
    pub attempts: u32,
    /// The `WWW-Authenticate` header of a 401 or 403 to an OAuth token: which scope is missing,
    /// or why the token or its DPoP proof was refused.
    pub www_authenticate: Option<String>,
}

impl OktaError {
    /// An input error about `field`.
    pub fn invalid(field: &str, problem: impl Into<String>) -> OktaError {
        OktaError::Invalid {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    /// Okta's `errorCode`, the only part of an error that is stable enough to branch on.
    pub fn code(&self) -> Option<&str> {
        match self {
            OktaError::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, when Okta answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            OktaError::Api(e) => Some(e.status),
            OktaError::OAuth(e) => Some(e.status),
            _ => None,
        }
    }

    /// The OAuth `error` of a refused token request, e.g. `invalid_grant`.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            OktaError::OAuth(e) => Some(&e.error),
            _ => None,
        }
    }

    /// Worth sending again later: rate limits, server errors and network failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            OktaError::Api(e) => e.status == 429 || e.status >= 500,
            OktaError::OAuth(e) => e.status == 429 || e.status >= 500,
            OktaError::Transport { .. } => true,
            _ => false,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: Option<String>,
    error_summary: Option<String>,
    error_id: Option<String>,
    #[serde(default)]
    error_causes: Vec<Cause>,
    // The OAuth endpoints use RFC 6749's shape instead.
    error: Option<String>,
    #[serde(rename = "error_description")]
    error_description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cause {
    error_summary: Option<String>,
}

impl ApiError {
    /// Builds the error from an answer's status and body. Non-JSON bodies (a proxy's HTML page)
    /// still give a readable summary.
    pub fn from_response(
        status: u16,
        method: &str,
        path: &str,
        body: &[u8],
        request_id: Option<String>,
    ) -> ApiError {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let (code, summary, causes, error_id) = match parsed {
            Some(b) if b.error_code.is_some() || b.error.is_some() => (
                b.error_code.or(b.error),
                b.error_summary.or(b.error_description).unwrap_or_default(),
                b.error_causes
                    .into_iter()
                    .filter_map(|c| c.error_summary)
                    .collect(),
                b.error_id,
            ),
            _ => (None, body_excerpt(body), Vec::new(), None),
        };
        ApiError {
            status,
            method: method.to_owned(),
            path: path.to_owned(),
            code,
            summary,
            causes,
            error_id,
            request_id,
            attempts: 1,
            www_authenticate: None,
        }
    }

    /// A parameter of the `WWW-Authenticate` header, e.g. `scope` or `error`.
    fn challenge(&self, name: &str) -> Option<&str> {
        let header = self.www_authenticate.as_deref()?;
        let start = header.find(&format!("{name}=\""))? + name.len() + 2;
        let len = header[start..].find('"')?;
        Some(&header[start..start + len])
    }

    /// What a person can do about it, for the statuses that have a clear remedy.
    fn hint(&self) -> Option<String> {
        if let Some(hint) = self.oauth_hint() {
            return Some(hint);
        }
        let fixed = match (self.status, self.code.as_deref()) {
            (401, _) => Some(
                "the API token was rejected: check OKTA_API_TOKEN (or the token file); \
                 tokens expire after 30 days unused and die with their admin",
            ),
            (403, _) => Some("the token's admin lacks the permission or scope for this call"),
            (429, _) => Some(
                "Okta's rate limit held after every retry; lower rate_limit_share or retry later",
            ),
            (404, _) => Some("no such object in this org (deleted users also answer 404)"),
            _ => None,
        };
        fixed.map(str::to_owned)
    }

    /// Hints for refusals of OAuth access tokens, read from `WWW-Authenticate`.
    fn oauth_hint(&self) -> Option<String> {
        let error = self.challenge("error")?;
        Some(match error {
            "insufficient_scope" => {
                let scope = self
                    .challenge("scope")
                    .unwrap_or("the scope this call needs");
                format!(
                    "the access token lacks {scope}: grant it on the app's \"Okta API Scopes\" \
                     tab in the Admin Console and add it to okta.scopes (OKTA_SCOPES)"
                )
            }
            "invalid_dpop_proof" => "Okta refused the DPoP proof; check the machine's clock, \
                 since every proof carries the time"
                .into(),
            "use_dpop_nonce" => "Okta asked for a DPoP nonce again after one retry".into(),
            _ => "the access token was refused even after a renewal: check that the app is \
                 active, its scopes are granted and an admin role is assigned to it"
                .into(),
        })
    }
}

/// A short, single-line view of a non-JSON body: tags and runs of white space removed.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.is_empty() {
        return "no error details in the body".into();
    }
    let cut: String = joined.chars().take(200).collect();
    format!("non-JSON answer: {cut}")
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: Okta answered {}",
            self.method, self.path, self.status
        )?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.summary)?;
        for cause in &self.causes {
            write!(f, "; {cause}")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if self.attempts > 1 {
            write!(f, " [after {} attempts]", self.attempts)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_error_json_gives_code_summary_causes_and_request_id() {
        let body = br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorLink":"E0000001","errorId":"oae1","errorCauses":[{"errorSummary":"login: An object with this field already exists in the current organization"}]}"#;
        let e = OktaError::Api(Box::new(ApiError::from_response(
            400,
            "POST",
            "/api/v1/users",
            body,
            Some("req-1".into()),
        )));
        assert_eq!(e.code(), Some("E0000001"));
        assert!(!e.is_retryable());
        let text = e.to_string();
        for part in [
            "400",
            "E0000001",
            "Api validation failed: login",
            "already exists",
            "req-1",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn html_from_a_proxy_still_gives_a_clear_error() {
        let body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
        let e = OktaError::Api(Box::new(ApiError::from_response(
            502,
            "GET",
            "/api/v1/users",
            body,
            None,
        )));
        assert_eq!(e.code(), None);
        assert!(e.is_retryable());
        assert!(
            e.to_string()
                .contains("non-JSON answer: 502 Bad Gateway Bad Gateway"),
            "{e}"
        );
    }

    #[test]
    fn unauthorized_names_the_token_problem() {
        let body =
            br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorCauses":[]}"#;
        let e = ApiError::from_response(401, "GET", "/api/v1/users", body, None);
        let text = e.to_string();
        assert!(
            text.contains("E0000011") && text.contains("OKTA_API_TOKEN"),
            "{text}"
        );
    }

    #[test]
    fn oauth_error_shape_is_understood() {
        let body =
            br#"{"error":"invalid_client","error_description":"The client secret is wrong."}"#;
        let e = ApiError::from_response(401, "POST", "/oauth2/v1/token", body, None);
        assert_eq!(e.code.as_deref(), Some("invalid_client"));
        assert_eq!(e.summary, "The client secret is wrong.");
    }
}
