//! `POST /oauth2/v1/token` and `POST /oauth2/v1/revoke`: read the form, authenticate the
//! client, then hand a token request to its grant or revoke a token; every refusal is an
//! OAuth error and is counted under the client it named in `/__sim/oauth`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::client_auth::authenticate;
use super::error::OAuthError;
use super::grants;
use super::request::{Call, Form};
use crate::respond::json_body;
use crate::state::{Shared, lock};
use crate::util::now_ms;

const GRANTS: [&str; 3] = ["client_credentials", "authorization_code", "refresh_token"];

pub(crate) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&s, &headers, &body, "token")
}

pub(crate) async fn revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&s, &headers, &body, "revoke")
}

/// Run one call under the state lock; refusals are recorded before they are sent.
fn answer(s: &Shared, headers: &HeaderMap, body: &[u8], endpoint: &'static str) -> Response {
    let mut store = lock(&s.oauth_state);
    let mut c = Call {
        shared: s,
        store: &mut store,
        headers,
        form: Form::default(),
        now_ms: now_ms(),
        client: None,
    };
    let result = match endpoint {
        "token" => token_call(&mut c, body).map(|v| json_body(&v)),
        _ => revoke_call(&mut c, body).map(|()| StatusCode::OK.into_response()),
    };
    let client = c.client.take();
    let grant = c.form.get("grant_type").map(str::to_string);
    match result {
        Ok(r) => r,
        Err(e) => {
            store.reject(client.as_deref(), endpoint, grant.as_deref(), &e);
            e.into_response()
        }
    }
}

fn token_call(c: &mut Call, body: &[u8]) -> Result<Value, OAuthError> {
    c.form = Form::parse(c.headers, body)?;
    let grant = c.form.require("grant_type")?.to_string();
    if !GRANTS.contains(&grant.as_str()) {
        c.client = c.form.get("client_id").map(str::to_string);
        return Err(OAuthError::new(
            "unsupported_grant_type",
            format!("The grant type '{grant}' isn't supported by the authorization server."),
        ));
    }
    let reg = authenticate(c)?;
    let kind = reg.app.kind();
    if !kind.grants().contains(&grant.as_str()) {
        return Err(OAuthError::new(
            "unauthorized_client",
            format!(
                "The client is not authorized to use the provided grant type. Configured grant types: [{}].",
                kind.grants().join(", ")
            ),
        ));
    }
    match grant.as_str() {
        "client_credentials" => grants::client_credentials(c, reg),
        "authorization_code" => grants::authorization_code(c, reg),
        _ => grants::refresh(c, reg),
    }
}

/// RFC 7009: revoke the client's own token; unknown tokens are a success too.
fn revoke_call(c: &mut Call, body: &[u8]) -> Result<(), OAuthError> {
    c.form = Form::parse(c.headers, body)?;
    let token = c.form.require("token")?.to_string();
    if let Some(hint) = c.form.get("token_type_hint")
        && !matches!(hint, "access_token" | "refresh_token")
    {
        return Err(OAuthError::new(
            "unsupported_token_type",
            format!(
                "The token_type_hint '{hint}' isn't supported: use access_token or refresh_token."
            ),
        ));
    }
    let reg = authenticate(c)?;
    c.store.revoke(&reg.app.client_id, &token);
    Ok(())
}
