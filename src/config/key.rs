//! The private key of an OAuth 2.0 service app, read from PEM and checked at start-up: RSA as
//! PKCS#1 (`openssl genrsa`) or PKCS#8, EC P-256 as PKCS#8 or SEC1 (`openssl ecparam -genkey`).
//! It signs client assertions; its bytes never print.

use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// A key that signs `private_key_jwt` client assertions, with the `kid` Okta shows for it.
#[derive(Clone)]
pub struct SigningKey {
    key: EncodingKey,
    algorithm: Algorithm,
    pub key_id: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The fix offered whenever a key cannot be used.
const KEY_FORMS: &str = "give the private key whose public half is on the app's General tab, \
     as PEM: -----BEGIN PRIVATE KEY----- (PKCS#8), -----BEGIN RSA PRIVATE KEY----- \
     (openssl genrsa) or -----BEGIN EC PRIVATE KEY----- (P-256)";

impl SigningKey {
    /// Reads a PEM private key and proves it can sign, so a bad key fails at start-up.
    pub fn from_pem(pem: &str, key_id: Option<String>) -> Result<SigningKey, String> {
        let label = pem_label(pem).ok_or_else(|| format!("this is not a PEM key; {KEY_FORMS}"))?;
        let (key, algorithm) = match label.as_str() {
            "RSA PRIVATE KEY" => (EncodingKey::from_rsa_pem(pem.as_bytes()), Algorithm::RS256),
            "EC PRIVATE KEY" => (sec1_to_pkcs8(pem), Algorithm::ES256),
            "PRIVATE KEY" => match EncodingKey::from_rsa_pem(pem.as_bytes()) {
                Ok(k) => (Ok(k), Algorithm::RS256),
                Err(_) => (EncodingKey::from_ec_pem(pem.as_bytes()), Algorithm::ES256),
            },
            "ENCRYPTED PRIVATE KEY" => {
                return Err("the key is encrypted; decrypt it with \
                     `openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain.pem` and keep the \
                     result readable only by oktasync"
                    .into());
            }
            other => return Err(format!("a PEM {other:?} is not a private key; {KEY_FORMS}")),
        };
        let key = key.map_err(|e| format!("the key cannot be read ({e}); {KEY_FORMS}"))?;
        let signing = SigningKey {
            key,
            algorithm,
            key_id,
        };
        signing
            .sign(&serde_json::json!({"check": true}))
            .map_err(|e| {
                format!("the key cannot sign ({e}); only RSA and EC P-256 keys work; {KEY_FORMS}")
            })?;
        Ok(signing)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A JWT of `claims`, signed, with `kid` when one is configured.
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid.clone_from(&self.key_id);
        jsonwebtoken::encode(&header, claims, &self.key)
    }
}

/// The label of the first PEM block (`RSA PRIVATE KEY`, …).
fn pem_label(pem: &str) -> Option<String> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = pem[start..].find("-----")?;
    Some(pem[start..start + end].to_owned())
}

/// SEC1 (`EC PRIVATE KEY`) wrapped as PKCS#8 for P-256, which is what the signer reads.
fn sec1_to_pkcs8(pem: &str) -> Result<EncodingKey, jsonwebtoken::errors::Error> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.contains(':'))
        .collect();
    let sec1 = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|_| jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    // AlgorithmIdentifier { id-ecPublicKey, prime256v1 }.
    const ALGORITHM: [u8; 21] = [
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
        0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut inner = vec![0x02, 0x01, 0x00];
    inner.extend_from_slice(&ALGORITHM);
    inner.extend(der(0x04, &sec1));
    Ok(EncodingKey::from_ec_der(&der(0x30, &inner)))
}

/// One DER element: tag, length, contents.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/oauth")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn rsa_and_ec_keys_in_every_usual_pem_form_load_and_sign() {
        for (name, alg) in [
            ("rsa-pkcs1.pem", Algorithm::RS256),
            ("rsa-pkcs8.pem", Algorithm::RS256),
            ("ec-p256-pkcs8.pem", Algorithm::ES256),
            ("ec-p256-sec1.pem", Algorithm::ES256),
        ] {
            let key = SigningKey::from_pem(&fixture(name), Some("k1".into()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(key.algorithm(), alg, "{name}");
            let jwt = key.sign(&serde_json::json!({"a": 1})).unwrap();
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.kid.as_deref(), Some("k1"), "{name}");
        }
    }

    #[test]
    fn keys_that_cannot_sign_are_refused_with_the_forms_that_work() {
        for (pem, needle) in [
            ("not a key".to_owned(), "not a PEM key"),
            (fixture("rsa-public.pem"), "not a private key"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                    .to_owned(),
                "encrypted",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_owned(),
                "BEGIN RSA PRIVATE KEY",
            ),
        ] {
            let err = SigningKey::from_pem(&pem, None).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = SigningKey::from_pem(&fixture("rsa-pkcs1.pem"), None).unwrap();
        let shown = format!("{key:?}");
        assert!(
            shown.contains("[redacted]") && !shown.contains("MII"),
            "{shown}"
        );
    }
}
