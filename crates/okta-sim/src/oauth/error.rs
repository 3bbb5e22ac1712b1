//! Errors in the RFC 6749 shape the `/oauth2/v1` endpoints answer with:
//! `{"error": "...", "error_description": "..."}`, 401 for `invalid_client` and 400 otherwise,
//! plus the `DPoP-Nonce` header that goes with `use_dpop_nonce`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::respond::json_body;

/// An OAuth error response.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// Sent as `DPoP-Nonce` with `use_dpop_nonce`.
    pub nonce: Option<String>,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        OAuthError {
            status,
            error,
            description: description.into(),
            nonce: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", d)
    }

    pub fn invalid_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_client", d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_grant", d)
    }

    pub fn invalid_scope(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_scope", d)
    }

    pub fn invalid_dpop_proof(d: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_dpop_proof", d)
    }

    pub fn use_dpop_nonce(nonce: &str) -> OAuthError {
        OAuthError {
            nonce: Some(nonce.to_string()),
            ..OAuthError::new(
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
            )
        }
    }

    /// A required form parameter is missing.
    pub fn missing(name: &str) -> OAuthError {
        OAuthError::invalid_request(format!("The '{name}' parameter is required."))
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut r = json_body(&body);
        *r.status_mut() = self.status;
        if let Some(v) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            r.headers_mut().insert("dpop-nonce", v);
        }
        r
    }
}
