//! DPoP (RFC 9449): an EC P-256 key pair that binds access tokens to this process (or, for the
//! authorization-code flow, to the stored refresh token), and the proof JWT sent with every
//! token request and API call.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use secrecy::{ExposeSecret, SecretSlice};
use url::Url;

/// The DPoP key: its private half never leaves this struct (nor prints).
pub struct DpopKey {
    pkcs8: SecretSlice<u8>,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopKey([redacted])")
    }
}

impl DpopKey {
    /// A fresh key pair.
    pub fn generate() -> Result<DpopKey, String> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| "cannot generate a DPoP key pair".to_owned())?;
        DpopKey::from_pkcs8(pkcs8.as_ref())
    }

    /// A key saved earlier with [`DpopKey::pkcs8`].
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<DpopKey, String> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|_| "the stored DPoP key is not an EC P-256 key".to_owned())?;
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        let jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            }),
        };
        Ok(DpopKey {
            pkcs8: SecretSlice::from(pkcs8.to_vec()),
            encoding: EncodingKey::from_ec_der(pkcs8),
            jwk,
        })
    }

    /// The private key as PKCS#8, for the state database only.
    pub fn pkcs8(&self) -> &[u8] {
        self.pkcs8.expose_secret()
    }

    /// A proof for one request: `htm`, `htu` (see [`htu`]), `iat`, a fresh `jti`, `ath` when an
    /// access token is sent, and the server's latest `nonce`.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut claims = serde_json::json!({
            "htm": method,
            "htu": htu(url),
            "iat": chrono::Utc::now().timestamp(),
            "jti": super::random_id(),
        });
        if let Some(token) = access_token {
            claims["ath"] = sha256_b64(token).into();
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| format!("cannot sign a DPoP proof: {e}"))
    }
}

/// The `htu` claim: the URL without query or fragment, its path percent-decoded, because Okta
/// compares the decoded path (a login with `@` in the path fails otherwise).
pub fn htu(url: &Url) -> String {
    let mut origin = url.origin().ascii_serialization();
    origin.push_str(&percent_encoding::percent_decode_str(url.path()).decode_utf8_lossy());
    origin
}

/// base64url(SHA-256(text)), as DPoP's `ath` and PKCE's S256 challenge are made.
pub fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_drops_query_and_fragment_and_decodes_the_path() {
        for (url, want) in [
            (
                "https://acme.okta.com/api/v1/users?limit=200#x",
                "https://acme.okta.com/api/v1/users",
            ),
            (
                "https://acme.okta.com/api/v1/users/alice%40example.com",
                "https://acme.okta.com/api/v1/users/alice@example.com",
            ),
            (
                "http://127.0.0.1:8089/api/v1/users/a%20b%2Bc",
                "http://127.0.0.1:8089/api/v1/users/a b+c",
            ),
            (
                "https://acme.okta.com:443/oauth2/v1/token",
                "https://acme.okta.com/oauth2/v1/token",
            ),
        ] {
            assert_eq!(htu(&Url::parse(url).unwrap()), want, "{url}");
        }
    }

    #[test]
    fn a_proof_carries_the_public_key_and_the_claims_rfc_9449_asks_for() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://acme.okta.com/api/v1/users/a%40b.com?x=1").unwrap();
        let proof = key.proof("GET", &url, Some("tok"), Some("n1")).unwrap();
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);
        let jwk = header.jwk.expect("the proof carries its jwk");
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&proof, &decoding, &validation)
            .expect("the proof verifies with its own jwk")
            .claims;
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://acme.okta.com/api/v1/users/a@b.com");
        assert_eq!(claims["ath"], sha256_b64("tok"));
        assert_eq!(claims["nonce"], "n1");
        let again = key.proof("GET", &url, Some("tok"), None).unwrap();
        let jti = |p: &str| {
            let body = p.split('.').nth(1).unwrap();
            let v: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
            v["jti"].as_str().unwrap().to_owned()
        };
        assert_ne!(jti(&proof), jti(&again), "every proof has a fresh jti");
    }

    #[test]
    fn a_saved_key_comes_back_as_the_same_key() {
        let key = DpopKey::generate().unwrap();
        let back = DpopKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(back.jwk, key.jwk);
        assert!(DpopKey::from_pkcs8(b"junk").is_err());
        assert_eq!(format!("{key:?}"), "DpopKey([redacted])");
    }

    #[test]
    fn sha256_matches_the_rfc_7636_example() {
        assert_eq!(
            sha256_b64("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
