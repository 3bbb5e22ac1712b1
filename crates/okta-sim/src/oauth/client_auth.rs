//! Who is calling `/token` or `/revoke`: exactly one way of authenticating, as the app's kind
//! demands: `private_key_jwt` for service apps, `client_secret_basic` or `client_secret_post`
//! for web apps, the bare `client_id` for public clients.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::apps::{AppKind, Registered};
use super::assertion::{self, unknown_client};
use super::error::OAuthError;
use super::jose::percent_decode;
use super::request::Call;

/// Authenticate the client of `c`; `c.client` names it from the first moment it is known.
pub(crate) fn authenticate<'a>(c: &mut Call<'a>) -> Result<&'a Registered, OAuthError> {
    let basic = basic_credentials(c.headers)?;
    let assertion =
        c.form.get("client_assertion").is_some() || c.form.get("client_assertion_type").is_some();
    let post = c.form.get("client_secret").map(str::to_string);
    if [basic.is_some(), assertion, post.is_some()]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        return Err(OAuthError::invalid_request(
            "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.",
        ));
    }
    if assertion {
        return assertion::verify(c);
    }
    let form_id = c.form.get("client_id").map(str::to_string);
    let (id, secret) = match (basic, post) {
        (Some((id, _)), _) if form_id.as_ref().is_some_and(|f| *f != id) => {
            return Err(OAuthError::invalid_client(format!(
                "The client_id in the body does not match the client '{id}' of the Authorization header."
            )));
        }
        (Some((id, secret)), _) => (id, Some(secret)),
        (None, secret) => (form_id.ok_or_else(no_credentials)?, secret),
    };
    c.client = Some(id.clone());
    let reg = c.registry().get(&id).ok_or_else(|| unknown_client(&id))?;
    check_secret(reg, secret.as_deref())?;
    Ok(reg)
}

fn no_credentials() -> OAuthError {
    OAuthError::invalid_client("No client credentials found.")
}

/// `Authorization: Basic base64(id:secret)`, if sent.
fn basic_credentials(h: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((scheme, rest)) = v.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Ok(None);
    }
    let bad =
        || OAuthError::invalid_client("The Authorization header has malformed Basic credentials.");
    let bytes = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((id.to_string(), secret.to_string())))
}

/// Compare without an early exit, so timing says nothing about the secret.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn check_secret(reg: &Registered, secret: Option<&str>) -> Result<(), OAuthError> {
    let id = &reg.app.client_id;
    match (reg.app.kind(), secret, reg.app.client_secret.as_deref()) {
        (AppKind::Service, _, _) => Err(OAuthError::invalid_client(format!(
            "The client '{id}' must authenticate with private_key_jwt: send a signed client_assertion."
        ))),
        // RFC 6749 form-encodes Basic credentials; most clients do not. Accept both.
        (AppKind::Web, Some(s), Some(want)) if same(s, want) || same(&percent_decode(s), want) => {
            Ok(())
        }
        (AppKind::Web, Some(_), _) => Err(OAuthError::invalid_client(
            "The client secret supplied for a confidential client is invalid.",
        )),
        (AppKind::Web, None, _) => Err(OAuthError::invalid_client(format!(
            "The client '{id}' is confidential: authenticate with its secret (client_secret_basic or client_secret_post)."
        ))),
        (AppKind::Public, None, _) => Ok(()),
        (AppKind::Public, Some(_), _) => Err(OAuthError::invalid_client(format!(
            "The client '{id}' is a public client and has no secret: send only its client_id."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn basic_credentials_are_read_and_malformed_ones_refused() {
        let mut h = HeaderMap::new();
        assert_eq!(basic_credentials(&h).unwrap(), None);
        let v = format!("Basic {}", STANDARD.encode("web:s3:cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("web".into(), "s3:cret".into()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert_eq!(basic_credentials(&h).unwrap_err().error, "invalid_client");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(
            basic_credentials(&h).unwrap(),
            None,
            "other schemes are not client credentials"
        );
    }

    #[test]
    fn secrets_compare_equal_only_when_identical() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "abcd") && !same("", "a"));
    }
}
