//! Who may call `/api/v1`, decided in the request pipeline: the API token (`SSWS <token>`,
//! `SSWS<token>` or `Bearer <token>`, all scopes), an OAuth access token as `Bearer`, or a
//! DPoP-bound one as `DPoP` with a proof of possession; then the scope the operation needs.
//! Refusals carry Okta's error body and the `WWW-Authenticate` challenge.

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::dpop::{Expect, check, proof_header};
use super::jose::{percent_decode, sha256_b64url};
use super::scopes::required;
use super::store::Access;
use crate::respond::ApiError;
use crate::state::{Shared, lock};

/// A refused API request: Okta's error and the challenge headers.
#[derive(Debug)]
pub(crate) struct Denial {
    error: ApiError,
    challenge: Option<String>,
    nonce: Option<String>,
}

impl Denial {
    /// A bad or missing API token: 401 E0000011 with no challenge, as before OAuth.
    fn invalid_token_plain() -> Denial {
        Denial {
            error: ApiError::new(401, "E0000011", "Invalid token provided"),
            challenge: None,
            nonce: None,
        }
    }

    fn unauthorized(challenge: String) -> Denial {
        Denial {
            challenge: Some(challenge),
            ..Denial::invalid_token_plain()
        }
    }

    pub fn response(self) -> Response {
        let mut r = self.error.into_response();
        let h = r.headers_mut();
        if let Some(v) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        if let Some(v) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            h.insert("dpop-nonce", v);
        }
        r
    }
}

/// Text safe inside a quoted header parameter: visible ASCII without `"` or `\`.
fn quotable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect()
}

/// How the token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    DPoP,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "Bearer",
            Scheme::DPoP => "DPoP",
        }
    }
}

/// The challenge for a token that is unknown, expired or revoked.
fn invalid_token(s: &Shared, scheme: Scheme, why: &str) -> Denial {
    let base = &s.base_url;
    Denial::unauthorized(format!(
        "{} authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", error=\"invalid_token\", error_description=\"{why}\"",
        scheme.as_str()
    ))
}

fn invalid_proof(why: &str) -> Denial {
    Denial::unauthorized(format!(
        "DPoP error=\"invalid_dpop_proof\", error_description=\"{}\"",
        quotable(why)
    ))
}

/// Authenticate the request and check the scope its operation needs.
pub(crate) fn admit(s: &Shared, parts: &Parts, now_ms: i64) -> Result<(), Denial> {
    let Some(value) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Denial::invalid_token_plain());
    };
    let value = value.trim();
    let (scheme, cred) = value.split_once(' ').unwrap_or((value, ""));
    let cred = cred.trim();
    if scheme
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SSWS"))
    {
        // `SSWS <token>`, or `SSWS<token>` as Okta's Python SDK sends it.
        let token = if scheme.len() == 4 {
            cred
        } else {
            value.get(4..).unwrap_or_default()
        };
        return if token == s.token {
            Ok(())
        } else {
            Err(Denial::invalid_token_plain())
        };
    }
    let scheme = if scheme.eq_ignore_ascii_case("Bearer") {
        if cred == s.token {
            return Ok(());
        }
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("DPoP") {
        Scheme::DPoP
    } else {
        return Err(Denial::invalid_token_plain());
    };
    let access = oauth_token(s, parts, scheme, cred, now_ms)?;
    check_scope(s, parts, scheme, &access)
}

/// A live access token presented the way its binding demands.
fn oauth_token(
    s: &Shared,
    parts: &Parts,
    scheme: Scheme,
    token: &str,
    now_ms: i64,
) -> Result<Access, Denial> {
    let access = lock(&s.oauth_state).access.get(token).cloned();
    let Some(access) = access else {
        return Err(invalid_token(s, scheme, "The access token is invalid."));
    };
    if access.revoked {
        return Err(invalid_token(
            s,
            scheme,
            "The access token has been revoked.",
        ));
    }
    if access.expires_ms <= now_ms {
        return Err(invalid_token(s, scheme, "The token has expired."));
    }
    match (scheme, &access.jkt) {
        (Scheme::Bearer, None) => Ok(access),
        (Scheme::Bearer, Some(_)) => Err(invalid_proof(
            "The access token is DPoP-bound: send it as 'Authorization: DPoP' with a DPoP proof.",
        )),
        (Scheme::DPoP, None) => Err(invalid_token(
            s,
            scheme,
            "The access token is not DPoP-bound: send it as a Bearer token.",
        )),
        (Scheme::DPoP, Some(jkt)) => {
            prove_possession(s, parts, token, jkt, now_ms)?;
            Ok(access)
        }
    }
}

/// The request's DPoP proof: valid for this method and URL, signed by the bound key, fresh,
/// and (when the setting demands it) carrying the current nonce.
fn prove_possession(
    s: &Shared,
    parts: &Parts,
    token: &str,
    jkt: &str,
    now_ms: i64,
) -> Result<(), Denial> {
    let proof = proof_header(&parts.headers).map_err(|e| invalid_proof(&e))?;
    let htu = format!("{}{}", s.base_url, percent_decode(parts.uri.path()));
    let ath = sha256_b64url(token.as_bytes());
    let now_s = now_ms.div_euclid(1000);
    let expect = Expect {
        htm: parts.method.as_str(),
        htu: &htu,
        ath: Some(&ath),
        now_s,
    };
    let p = check(proof, &expect).map_err(|e| invalid_proof(&e))?;
    if p.jkt != jkt {
        return Err(invalid_proof(
            "The DPoP proof key does not match the key the access token is bound to.",
        ));
    }
    let mut st = lock(&s.oauth_state);
    if !st.first_proof_use(&p.jti, now_s) {
        return Err(invalid_proof(
            "The DPoP proof 'jti' has already been used: make a new proof for every request.",
        ));
    }
    if s.settings().dpop_nonce_on_api && p.nonce.as_deref() != Some(st.nonce.as_str()) {
        return Err(Denial {
            nonce: Some(st.nonce.clone()),
            ..Denial::unauthorized(
                "DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof.\"".into(),
            )
        });
    }
    Ok(())
}

/// 403 E0000006 unless the token has the scope the operation needs.
fn check_scope(s: &Shared, parts: &Parts, scheme: Scheme, access: &Access) -> Result<(), Denial> {
    let path = parts.uri.path();
    let Some(need) = required(parts.method.as_str(), path) else {
        return Ok(());
    };
    if need.met_by(&access.scopes) {
        return Ok(());
    }
    let base = &s.base_url;
    let challenge = format!(
        "{} authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", scope=\"{}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{}\"",
        scheme.as_str(),
        need.named(),
        quotable(path)
    );
    Err(Denial {
        error: ApiError::new(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
        ),
        challenge: Some(challenge),
        nonce: None,
    })
}
