//! `GET /oauth2/v1/authorize` for the authorization-code flow, approved at once (there is no
//! login page): an unknown client or unregistered redirect URI is answered here with 400;
//! every other problem, and the code itself, goes back to the redirect URI.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::apps::{AppKind, Registered};
use super::error::OAuthError;
use super::request::Form;
use super::scopes;
use super::store::{CODE_LIFETIME_MS, Code, random_token};
use crate::state::{Shared, lock};
use crate::util::now_ms;

pub(crate) async fn authorize(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let form = match Form::from_query(raw.unwrap_or_default().as_bytes()) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let client = form.get("client_id").map(str::to_string);
    let reg = match target(&s, &form) {
        Ok(reg) => reg,
        Err(e) => {
            lock(&s.oauth_state).reject(client.as_deref(), "authorize", None, &e);
            return e.into_response();
        }
    };
    let redirect = form.get("redirect_uri").unwrap_or_default();
    let state = form.get("state");
    let location = match approve(&form, reg) {
        Ok((scopes, challenge)) => {
            let code = random_token(32);
            let entry = Code {
                client_id: reg.app.client_id.clone(),
                redirect_uri: redirect.to_string(),
                scopes,
                challenge,
                expires_ms: now_ms() + CODE_LIFETIME_MS,
            };
            lock(&s.oauth_state).codes.insert(code.clone(), entry);
            with_query(redirect, &[("code", &code)], state)
        }
        Err(e) => {
            lock(&s.oauth_state).reject(client.as_deref(), "authorize", None, &e);
            let pairs = [
                ("error", e.error),
                ("error_description", e.description.as_str()),
            ];
            with_query(redirect, &pairs, state)
        }
    };
    found(&location)
}

/// The app and redirect URI, checked before anything may be sent to that URI.
fn target<'s>(s: &'s Shared, form: &Form) -> Result<&'s Registered, OAuthError> {
    let id = form.require("client_id")?;
    let reg = s.oauth.get(id).ok_or_else(|| OAuthError {
        status: StatusCode::BAD_REQUEST,
        ..super::assertion::unknown_client(id)
    })?;
    let redirect = form.require("redirect_uri")?;
    if !reg.app.redirect_uris.iter().any(|u| u == redirect) {
        return Err(OAuthError::invalid_request(format!(
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings: '{redirect}' is not."
        )));
    }
    Ok(reg)
}

/// The granted scopes and the PKCE challenge, or the error to redirect with.
fn approve(form: &Form, reg: &Registered) -> Result<(Vec<String>, String), OAuthError> {
    if reg.app.kind() == AppKind::Service {
        return Err(OAuthError::new(
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. Configured grant types: [client_credentials].",
        ));
    }
    match form.get("response_type") {
        Some("code") => {}
        _ => {
            return Err(OAuthError::new(
                "unsupported_response_type",
                "The response type isn't supported by the authorization server: use response_type=code.",
            ));
        }
    }
    form.require("state")?;
    let challenge = form.get("code_challenge").ok_or_else(|| {
        OAuthError::invalid_request(
            "PKCE is required: send code_challenge and code_challenge_method=S256.",
        )
    })?;
    if form.get("code_challenge_method") != Some("S256") {
        return Err(OAuthError::invalid_request(
            "The PKCE code_challenge_method must be S256 ('plain' is not supported).",
        ));
    }
    let scopes = scopes::parse(form.get("scope"));
    scopes::check_granted(&scopes, &reg.app.scopes, true)?;
    Ok((scopes, challenge.to_string()))
}

/// `uri` with `pairs` and `state` added to its query.
fn with_query(uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut url) = url::Url::parse(uri) else {
        return uri.to_string();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    url.to_string()
}

fn found(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
