//! `private_key_jwt` client authentication: the signed client assertion a service app sends
//! to `/token`, checked the way Okta does: supported algorithm, key by `kid`, signature,
//! `iss` = `sub` = the client, `aud` = the token URL, `exp` within the hour, `jti` once.

use serde_json::Value;

use super::apps::Registered;
use super::error::OAuthError;
use super::jose::{Jwt, assertion_alg};
use super::request::Call;

pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion may expire (Okta: one hour).
const MAX_EXP_AHEAD_S: i64 = 3600;

/// Authenticate the client of `c` by its `client_assertion`.
pub(crate) fn verify<'a>(c: &mut Call<'a>) -> Result<&'a Registered, OAuthError> {
    if c.form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "The 'client_assertion_type' is invalid: it must be '{ASSERTION_TYPE}'."
        )));
    }
    let raw = c.form.require("client_assertion")?.to_string();
    let jwt = Jwt::parse(&raw).ok_or_else(|| {
        OAuthError::invalid_client(
            "The client_assertion token is malformed: it must be a signed JWT (header.payload.signature).",
        )
    })?;
    let client = issuer(&jwt, c.form.get("client_id"))?;
    c.client = Some(client.clone());
    let reg = c
        .registry()
        .get(&client)
        .ok_or_else(|| unknown_client(&client))?;
    if reg.keys.is_empty() {
        return Err(OAuthError::invalid_client(format!(
            "The client '{client}' has no public keys and cannot authenticate with private_key_jwt."
        )));
    }
    check_signature(&jwt, reg)?;
    check_claims(&jwt, &c.token_url(), c.now_s())?;
    let jti = jwt.claim_str("jti").ok_or_else(|| {
        OAuthError::invalid_client("The client_assertion token must have a 'jti' claim.")
    })?;
    let exp = jwt.claim_secs("exp").unwrap_or_default();
    if !c.store.first_assertion_use(&client, jti, exp, c.now_s()) {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has already been used: send a new 'jti' with every assertion.",
        ));
    }
    Ok(reg)
}

pub(crate) fn unknown_client(id: &str) -> OAuthError {
    OAuthError::invalid_client(format!(
        "Invalid value for the 'client_id' parameter: no client has the id '{id}'."
    ))
}

/// The client named by `iss` and `sub` (which must agree, with the form's `client_id` too).
fn issuer(jwt: &Jwt, form_client: Option<&str>) -> Result<String, OAuthError> {
    let (iss, sub) = (jwt.claim_str("iss"), jwt.claim_str("sub"));
    let iss = match (iss, sub) {
        (Some(i), Some(s)) if i == s => i,
        (Some(i), Some(s)) => {
            return Err(OAuthError::invalid_client(format!(
                "The client_assertion 'iss' ('{i}') and 'sub' ('{s}') claims must both be the client_id."
            )));
        }
        _ => {
            return Err(OAuthError::invalid_client(
                "The client_assertion token must have 'iss' and 'sub' claims, both the client_id.",
            ));
        }
    };
    match form_client {
        Some(f) if f != iss => Err(OAuthError::invalid_client(format!(
            "The client_id '{f}' does not match the client_assertion 'iss' and 'sub' claims ('{iss}')."
        ))),
        _ => Ok(iss.to_string()),
    }
}

/// The algorithm is supported and the signature verifies with a key of the client: the key
/// named by `kid` (keys registered without a kid stand in for any kid), or any key.
fn check_signature(jwt: &Jwt, reg: &Registered) -> Result<(), OAuthError> {
    let alg_name = jwt.header_str("alg").unwrap_or("");
    let alg = assertion_alg(alg_name).ok_or_else(|| {
        OAuthError::invalid_client(format!(
            "The client_assertion algorithm '{alg_name}' is not supported: use RS256, RS384, RS512, ES256 or ES384."
        ))
    })?;
    let mut keys: Vec<_> = reg.keys.iter().collect();
    if let Some(kid) = jwt.header_str("kid") {
        let named: Vec<_> = keys
            .iter()
            .copied()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .collect();
        keys = if named.is_empty() {
            keys.into_iter().filter(|k| k.kid.is_none()).collect()
        } else {
            named
        };
        if keys.is_empty() {
            return Err(OAuthError::invalid_client(format!(
                "The client_assertion key id (kid) '{kid}' is not one of the client's registered keys."
            )));
        }
    }
    if keys.iter().any(|k| jwt.verifies(&k.key, k.family, alg)) {
        return Ok(());
    }
    Err(OAuthError::invalid_client(
        "The client_assertion signature is invalid: it does not verify with the client's registered public keys.",
    ))
}

fn check_claims(jwt: &Jwt, token_url: &str, now_s: i64) -> Result<(), OAuthError> {
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(a)) => a == token_url,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(token_url)),
        _ => false,
    };
    if !aud_ok {
        let got = jwt.claims.get("aud").map(Value::to_string);
        return Err(OAuthError::invalid_client(format!(
            "The audience (aud) claim of the client_assertion must be '{token_url}', not {}.",
            got.as_deref().unwrap_or("missing")
        )));
    }
    let exp = jwt.claim_secs("exp").ok_or_else(|| {
        OAuthError::invalid_client("The client_assertion token must have an 'exp' claim.")
    })?;
    if exp <= now_s {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is expired: its 'exp' claim is in the past.",
        ));
    }
    if exp - now_s > MAX_EXP_AHEAD_S {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has an expiration too far in the future: 'exp' must be at most 1 hour from now.",
        ));
    }
    Ok(())
}
