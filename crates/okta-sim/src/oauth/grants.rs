//! The three grants `/token` serves, each checked before anything is consumed, so a request
//! refused (or answered with `use_dpop_nonce`) leaves its code or refresh token usable:
//! `client_credentials`, `authorization_code` with PKCE S256, and `refresh_token` with
//! rotation.

use serde_json::{Value, json};

use super::apps::Registered;
use super::dpop::bind_token_request;
use super::error::OAuthError;
use super::jose::sha256_b64url;
use super::request::Call;
use super::scopes;
use super::store::{Code, Issue, RefreshPlan, RefreshState};

pub(crate) fn client_credentials(c: &mut Call, reg: &Registered) -> Result<Value, OAuthError> {
    let scopes = scopes::parse(c.form.get("scope"));
    scopes::check_granted(&scopes, &reg.app.scopes, false)?;
    let jkt = bind_token_request(c, reg.app.dpop)?;
    Ok(issue(c, reg, scopes, jkt, RefreshPlan::None))
}

pub(crate) fn authorization_code(c: &mut Call, reg: &Registered) -> Result<Value, OAuthError> {
    let code_value = c.form.require("code")?.to_string();
    let code = redeemable(c, reg, &code_value)?;
    let jkt = bind_token_request(c, reg.app.dpop)?;
    c.store.codes.remove(&code_value);
    let plan = if code.scopes.iter().any(|s| s == "offline_access") {
        RefreshPlan::NewGrant
    } else {
        RefreshPlan::None
    };
    Ok(issue(c, reg, code.scopes, jkt, plan))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The code, if this client may exchange it with this redirect URI and PKCE verifier.
fn redeemable(c: &Call, reg: &Registered, value: &str) -> Result<Code, OAuthError> {
    let code = c
        .store
        .codes
        .get(value)
        .filter(|k| k.expires_ms > c.now_ms)
        .cloned()
        .ok_or_else(|| {
            OAuthError::invalid_grant("The authorization code is invalid or has expired.")
        })?;
    if code.client_id != reg.app.client_id {
        return Err(OAuthError::invalid_grant(
            "The grant was issued to another client. Ensure that the client_id matches the one used at the authorize request.",
        ));
    }
    if c.form.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "The 'redirect_uri' does not match the redirect_uri used in the authorization request.",
        ));
    }
    let verifier = c.form.get("code_verifier").ok_or_else(|| {
        OAuthError::invalid_request(
            "PKCE code verifier is required when the parameter code_challenge is included in the authorization request.",
        )
    })?;
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
        return Err(OAuthError::invalid_request(
            "The PKCE code_verifier must be 43 to 128 characters from A-Z, a-z, 0-9 and '-._~'.",
        ));
    }
    if sha256_b64url(verifier.as_bytes()) != code.challenge {
        return Err(OAuthError::invalid_grant("PKCE verification failed."));
    }
    Ok(code)
}

pub(crate) fn refresh(c: &mut Call, reg: &Registered) -> Result<Value, OAuthError> {
    let value = c.form.require("refresh_token")?.to_string();
    let old = c
        .store
        .refresh
        .get(&value)
        .filter(|r| r.state == RefreshState::Live && r.client_id == reg.app.client_id)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("The refresh token is invalid or expired."))?;
    let scopes = match c.form.get("scope") {
        None => old.scopes.clone(),
        Some(raw) => {
            let want = scopes::parse(Some(raw));
            let extra: Vec<&str> = want
                .iter()
                .filter(|s| !old.scopes.contains(s))
                .map(String::as_str)
                .collect();
            if !extra.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "The requested scopes were not all granted in the original request: {}.",
                    extra.join(" ")
                )));
            }
            want
        }
    };
    let jkt = bind_token_request(c, reg.app.dpop)?;
    if old.jkt.is_some() && jkt != old.jkt {
        return Err(OAuthError::invalid_dpop_proof(
            "The DPoP proof key does not match the key the refresh token is bound to.",
        ));
    }
    if let Some(r) = c.store.refresh.get_mut(&value) {
        r.state = RefreshState::Used;
    }
    c.store.stats(&reg.app.client_id).refreshes += 1;
    let plan = RefreshPlan::Rotate {
        grant: old.grant,
        scopes: old.scopes,
    };
    Ok(issue(c, reg, scopes, jkt, plan))
}

/// Mint the tokens and write the token response.
fn issue(
    c: &mut Call,
    reg: &Registered,
    scopes: Vec<String>,
    jkt: Option<String>,
    refresh: RefreshPlan,
) -> Value {
    let lifetime = reg.app.token_lifetime;
    let scope = scopes.join(" ");
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    let i = Issue {
        client_id: &reg.app.client_id,
        scopes,
        jkt,
        lifetime,
        refresh,
    };
    let t = c.store.issue(i, c.now_ms);
    let mut v = json!({
        "token_type": token_type, "expires_in": lifetime.as_secs(),
        "access_token": t.access_token, "scope": scope,
    });
    if let Some(rt) = t.refresh_token {
        v["refresh_token"] = json!(rt);
    }
    v
}
