//! DPoP proofs (RFC 9449): checking one against what the request expects, as a pure function,
//! and binding a token request to the proof's key (one proof per request, then the server's
//! nonce). The API side of DPoP lives in `api_auth`.

use axum::http::HeaderMap;

use super::error::OAuthError;
use super::jose::{Jwt, dpop_alg, jwk_key, thumbprint};
use super::request::Call;

/// How far a proof's `iat` may be from the server's clock, either way.
pub(crate) const IAT_WINDOW_S: i64 = 300;

/// What the request a proof travels with looks like.
pub(crate) struct Expect<'a> {
    pub htm: &'a str,
    pub htu: &'a str,
    /// base64url(SHA-256(access token)) on resource requests.
    pub ath: Option<&'a str>,
    pub now_s: i64,
}

/// A proof that passed every stateless check.
#[derive(Debug)]
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    pub jti: String,
    pub nonce: Option<String>,
}

/// The one `DPoP` header of a request; Err(description) if there is none or several.
pub(crate) fn proof_header(h: &HeaderMap) -> Result<&str, String> {
    let mut all = h.get_all("dpop").iter();
    match (all.next(), all.next()) {
        (Some(v), None) => v
            .to_str()
            .map_err(|_| "The DPoP proof JWT header is not valid text.".to_string()),
        (None, _) => Err("The DPoP proof JWT header is missing.".into()),
        (Some(_), Some(_)) => Err("Send exactly one DPoP proof JWT header.".into()),
    }
}

/// Check a proof's form, key, signature and claims. Replay and nonce are the caller's.
pub(crate) fn check(proof: &str, e: &Expect) -> Result<Proof, String> {
    let jwt =
        Jwt::parse(proof).ok_or("The DPoP proof is not a valid JWT (header.payload.signature).")?;
    if jwt.header_str("typ") != Some("dpop+jwt") {
        return Err("The DPoP proof JWT header 'typ' must be 'dpop+jwt'.".into());
    }
    let alg = jwt.header_str("alg").and_then(dpop_alg).ok_or(
        "The DPoP proof JWT header 'alg' must name an asymmetric algorithm (ES256, ES384, RS256, PS256, ...).",
    )?;
    let jwk = jwt
        .header
        .get("jwk")
        .ok_or("The DPoP proof JWT header has no 'jwk' public key.")?;
    let (family, key) =
        jwk_key(jwk).map_err(|e| format!("The DPoP proof 'jwk' header is invalid: {e}."))?;
    if !jwt.verifies(&key, family, alg) {
        return Err(
            "The DPoP proof JWT signature is invalid: it does not verify with the proof's 'jwk'."
                .into(),
        );
    }
    check_claims(&jwt, e)?;
    Ok(Proof {
        jkt: thumbprint(jwk)?,
        jti: jwt.claim_str("jti").unwrap_or_default().to_string(),
        nonce: jwt.claim_str("nonce").map(str::to_string),
    })
}

fn check_claims(jwt: &Jwt, e: &Expect) -> Result<(), String> {
    if jwt.claim_str("htm") != Some(e.htm) {
        return Err(format!(
            "The DPoP proof 'htm' claim must be the request method '{}'.",
            e.htm
        ));
    }
    if jwt.claim_str("htu") != Some(e.htu) {
        return Err(format!(
            "The DPoP proof 'htu' claim must be the request URL without query or fragment, with the path percent-decoded ('{}').",
            e.htu
        ));
    }
    match jwt.claim_secs("iat") {
        None => return Err("The DPoP proof has no 'iat' claim.".into()),
        Some(iat) if (iat - e.now_s).abs() > IAT_WINDOW_S => {
            return Err(format!(
                "The DPoP proof 'iat' claim is more than {IAT_WINDOW_S} seconds away from the server's time."
            ));
        }
        Some(_) => {}
    }
    if jwt.claim_str("jti").is_none() {
        return Err("The DPoP proof has no 'jti' claim.".into());
    }
    if let Some(want) = e.ath
        && jwt.claim_str("ath") != Some(want)
    {
        return Err(
            "The DPoP proof 'ath' claim must be the base64url SHA-256 hash of the access token."
                .into(),
        );
    }
    Ok(())
}

/// For an app that requires DPoP: the key thumbprint a token request binds its tokens to.
/// A valid proof without the current nonce is answered with `use_dpop_nonce`.
pub(crate) fn bind_token_request(c: &mut Call, dpop: bool) -> Result<Option<String>, OAuthError> {
    if !dpop {
        return Ok(None);
    }
    let proof = proof_header(c.headers).map_err(OAuthError::invalid_dpop_proof)?;
    let url = c.token_url();
    let expect = Expect {
        htm: "POST",
        htu: &url,
        ath: None,
        now_s: c.now_s(),
    };
    let p = check(proof, &expect).map_err(OAuthError::invalid_dpop_proof)?;
    if !c.store.first_proof_use(&p.jti, c.now_s()) {
        return Err(OAuthError::invalid_dpop_proof(
            "The DPoP proof 'jti' has already been used: make a new proof for every request.",
        ));
    }
    if p.nonce.as_deref() != Some(c.store.nonce.as_str()) {
        return Err(OAuthError::use_dpop_nonce(&c.store.nonce));
    }
    Ok(Some(p.jkt))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, EncodingKey};
    use serde_json::{Value, json};

    use super::*;
    use crate::oauth::jose::b64url;
    use crate::{PublicKey, generate_ec_key};

    const HTU: &str = "http://127.0.0.1:1/oauth2/v1/token";

    struct Signer {
        key: EncodingKey,
        jwk: Value,
    }

    fn signer() -> Signer {
        let k = generate_ec_key(None);
        let PublicKey::Jwk(jwk) = k.public else {
            panic!("a JWK")
        };
        let key = EncodingKey::from_ec_pem(k.private_pem.as_bytes()).expect("PKCS#8");
        Signer { key, jwk }
    }

    fn sign(s: &Signer, header: Value, claims: Value) -> String {
        let msg = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &s.key, Algorithm::ES256).unwrap();
        format!("{msg}.{sig}")
    }

    fn header(s: &Signer) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": s.jwk})
    }

    fn claims() -> Value {
        json!({"htm": "POST", "htu": HTU, "iat": 1000, "jti": "j1"})
    }

    fn expect(ath: Option<&str>) -> Expect<'_> {
        Expect {
            htm: "POST",
            htu: HTU,
            ath,
            now_s: 1000,
        }
    }

    #[test]
    fn a_well_formed_proof_yields_the_keys_thumbprint_jti_and_nonce() {
        let s = signer();
        let mut c = claims();
        c["nonce"] = json!("n1");
        let p = check(&sign(&s, header(&s), c), &expect(None)).expect("valid");
        assert_eq!(p.jkt, thumbprint(&s.jwk).unwrap());
        assert_eq!((p.jti.as_str(), p.nonce.as_deref()), ("j1", Some("n1")));
    }

    #[test]
    fn each_failed_check_is_named_in_the_description() {
        let s = signer();
        let other = signer();
        let mut private = s.jwk.clone();
        private["d"] = json!("AAAA");
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            c
        };
        let cases = [
            (
                json!({"typ": "JWT", "alg": "ES256", "jwk": s.jwk}),
                claims(),
                "'typ'",
            ),
            (
                json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": s.jwk}),
                claims(),
                "'alg'",
            ),
            (
                json!({"typ": "dpop+jwt", "alg": "ES256"}),
                claims(),
                "'jwk'",
            ),
            (
                json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
                claims(),
                "private member",
            ),
            (header(&other), claims(), "signature"),
            (header(&s), with("htm", json!("GET")), "'htm'"),
            (
                header(&s),
                with("htu", json!(format!("{HTU}?x=1"))),
                "'htu'",
            ),
            (header(&s), with("iat", json!(1301)), "'iat'"),
            (header(&s), with("iat", json!(699)), "'iat'"),
            (header(&s), with("jti", Value::Null), "'jti'"),
        ];
        for (h, c, named) in cases {
            let err = check(&sign(&s, h.clone(), c), &expect(None)).unwrap_err();
            assert!(err.contains(named), "{h}: {err}");
        }
        assert!(check("not.a.jwt", &expect(None)).is_err());
    }

    #[test]
    fn resource_proofs_need_the_hash_of_the_access_token() {
        let s = signer();
        let ath = crate::oauth::jose::sha256_b64url(b"token");
        let mut c = claims();
        c["ath"] = json!(ath);
        assert!(check(&sign(&s, header(&s), c.clone()), &expect(Some(&ath))).is_ok());
        let err = check(&sign(&s, header(&s), claims()), &expect(Some(&ath))).unwrap_err();
        assert!(err.contains("'ath'"), "{err}");
    }
}
