//! The JOSE pieces both verifiers (client assertions and DPoP proofs) share, as pure
//! functions: splitting a compact JWT, the asymmetric algorithms accepted, a public JWK as a
//! verification key, the RFC 7638 thumbprint, SHA-256 in base64url, and the percent-decoding
//! Okta applies to a request path before comparing it with a proof's `htu`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use ring::digest::{SHA256, digest};
use serde_json::{Map, Value};

/// Key families, to match a key with an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Rsa,
    Ec,
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url(SHA-256(data)): PKCE S256 challenges, DPoP `ath`, thumbprints.
pub(crate) fn sha256_b64url(data: &[u8]) -> String {
    b64url(digest(&SHA256, data).as_ref())
}

/// The algorithms accepted for client assertions (Okta's list, as far as ring verifies).
pub(crate) fn assertion_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

/// The asymmetric algorithms accepted for DPoP proofs.
pub(crate) fn dpop_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        _ => return assertion_alg(name),
    })
}

pub(crate) fn family(alg: Algorithm) -> Family {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => Family::Ec,
        _ => Family::Rsa,
    }
}

/// A compact JWS split into its parts; header and claims are JSON objects.
pub(crate) struct Jwt<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    message: &'a str,
    signature: &'a str,
}

fn json_segment(seg: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(seg).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

impl<'a> Jwt<'a> {
    /// Split `token`; None unless it has three segments and two JSON-object halves.
    pub fn parse(token: &'a str) -> Option<Jwt<'a>> {
        let (message, signature) = token.trim().rsplit_once('.')?;
        let (header, claims) = message.split_once('.')?;
        Some(Jwt {
            header: json_segment(header)?,
            claims: json_segment(claims)?,
            message,
            signature,
        })
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric claim in whole seconds (fractions are cut).
    pub fn claim_secs(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }

    /// Whether the signature verifies with `key` under `alg` (an asymmetric algorithm the
    /// caller has already accepted, so a public key is never used as an HMAC secret).
    pub fn verifies(&self, key: &DecodingKey, key_family: Family, alg: Algorithm) -> bool {
        family(alg) == key_family
            && jsonwebtoken::crypto::verify(self.signature, self.message.as_bytes(), key, alg)
                .unwrap_or(false)
    }
}

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

fn member<'v>(jwk: &'v Value, name: &str) -> Result<&'v str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the JWK has no '{name}' member"))
}

/// A public JWK as a verification key. Refuses private members, symmetric keys and curves
/// other than P-256 and P-384.
pub(crate) fn jwk_key(jwk: &Value) -> Result<(Family, DecodingKey), String> {
    if !jwk.is_object() {
        return Err("the JWK is not a JSON object".into());
    }
    if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| jwk.get(**m).is_some()) {
        return Err(format!(
            "the JWK must be a public key, but it has the private member '{m}'"
        ));
    }
    let bad = |e: jsonwebtoken::errors::Error| format!("the JWK is not a valid public key: {e}");
    match member(jwk, "kty")? {
        "RSA" => {
            let key = DecodingKey::from_rsa_components(member(jwk, "n")?, member(jwk, "e")?)
                .map_err(bad)?;
            Ok((Family::Rsa, key))
        }
        "EC" => match member(jwk, "crv")? {
            "P-256" | "P-384" => {
                let key = DecodingKey::from_ec_components(member(jwk, "x")?, member(jwk, "y")?)
                    .map_err(bad)?;
                Ok((Family::Ec, key))
            }
            other => Err(format!("the JWK curve '{other}' is not supported")),
        },
        other => Err(format!(
            "the JWK key type '{other}' is not an asymmetric key type (RSA or EC)"
        )),
    }
}

/// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order,
/// serialized without whitespace, in base64url.
pub(crate) fn thumbprint(jwk: &Value) -> Result<String, String> {
    let canonical = match member(jwk, "kty")? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            Value::from(member(jwk, "crv")?),
            Value::from(member(jwk, "x")?),
            Value::from(member(jwk, "y")?)
        ),
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            Value::from(member(jwk, "e")?),
            Value::from(member(jwk, "n")?)
        ),
        other => return Err(format!("no thumbprint for key type '{other}'")),
    };
    Ok(sha256_b64url(canonical.as_bytes()))
}

/// Decode `%XX` escapes (anything else, including a stray `%`, is kept as is).
pub(crate) fn percent_decode(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn thumbprints_match_the_rfc_7638_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn ec_thumbprints_use_crv_kty_x_y_and_ignore_other_members() {
        let a = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "BB"});
        let b =
            json!({"y": "BB", "use": "sig", "x": "AA", "kid": "k", "crv": "P-256", "kty": "EC"});
        assert_eq!(thumbprint(&a), thumbprint(&b));
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"AA","y":"BB"}"#;
        assert_eq!(thumbprint(&a).unwrap(), sha256_b64url(canonical.as_bytes()));
        assert!(thumbprint(&json!({"kty": "oct", "k": "AA"})).is_err());
    }

    #[test]
    fn s256_of_the_rfc_7636_verifier_is_its_challenge() {
        assert_eq!(
            sha256_b64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn jwks_with_private_members_or_symmetric_keys_are_refused() {
        let k = crate::generate_ec_key(None);
        let crate::PublicKey::Jwk(mut jwk) = k.public else {
            panic!("a JWK")
        };
        assert!(jwk_key(&jwk).is_ok());
        jwk["d"] = json!("secret");
        let err = jwk_key(&jwk).err().unwrap_or_default();
        assert!(err.contains("private member 'd'"), "{err}");
        assert!(jwk_key(&json!({"kty": "oct", "k": "c2VjcmV0"})).is_err());
        assert!(jwk_key(&json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"})).is_err());
    }

    #[test]
    fn paths_are_percent_decoded_like_okta_does_before_comparing_htu() {
        let cases = [
            ("/api/v1/users/alice%40x.com", "/api/v1/users/alice@x.com"),
            ("/api/v1/users/alice@x.com", "/api/v1/users/alice@x.com"),
            ("/api/v1/users/a%2Fb", "/api/v1/users/a/b"),
            ("/api/v1/users/%C3%A9", "/api/v1/users/é"),
            ("/100%", "/100%"),
            ("/%zz", "/%zz"),
        ];
        for (raw, want) in cases {
            assert_eq!(percent_decode(raw), want, "{raw}");
        }
    }

    #[test]
    fn only_asymmetric_algorithms_are_accepted() {
        assert!(assertion_alg("HS256").is_none() && dpop_alg("HS256").is_none());
        assert!(assertion_alg("none").is_none() && dpop_alg("none").is_none());
        assert!(assertion_alg("PS256").is_none() && dpop_alg("PS256").is_some());
        assert_eq!(assertion_alg("ES256"), Some(Algorithm::ES256));
    }

    #[test]
    fn jwts_need_three_segments_with_json_object_halves() {
        assert!(Jwt::parse("a.b").is_none());
        assert!(Jwt::parse("not a jwt").is_none());
        let h = b64url(br#"{"alg":"ES256"}"#);
        let c = b64url(br#"{"iat":1.5}"#);
        let token = format!("{h}.{c}.sig");
        let jwt = Jwt::parse(&token).expect("parses");
        assert_eq!(jwt.header_str("alg"), Some("ES256"));
        assert_eq!(jwt.claim_secs("iat"), Some(1));
        assert!(Jwt::parse(&format!("{h}.{}.sig", b64url(b"[1]"))).is_none());
    }
}
