//! The OAuth apps a simulator knows: their public configuration ([`OAuthApp`], [`PublicKey`]),
//! the registry of apps by client id with each app's keys parsed once at start-up, and
//! [`generate_ec_key`] for callers that need a throwaway key pair.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::DecodingKey;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

use super::jose::{Family, b64url, jwk_key};

/// Okta's fixed access-token lifetime on the org authorization server.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// An OAuth 2.0 client registered with the simulated org. Its kind follows from its fields:
/// with `public_keys` it is a service app (grant `client_credentials`, `private_key_jwt`
/// only); otherwise a web app (with `client_secret`) or a public PKCE-only client, both with
/// the grants `authorization_code` and `refresh_token`. Its `Debug` output hides the secret.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    /// Service apps (client_credentials + private_key_jwt): public keys the app accepts assertions from.
    pub public_keys: Vec<PublicKey>,
    /// Web apps: the secret for client_secret_basic / client_secret_post. None with no keys = a public (PKCE-only) client.
    pub client_secret: Option<String>,
    /// Scopes granted to the app on its "Okta API Scopes" tab, e.g. "okta.users.read".
    pub scopes: Vec<String>,
    /// "Require DPoP header in token requests".
    pub dpop: bool,
    /// Access-token lifetime (Okta: fixed 1 h; tests use a few seconds).
    pub token_lifetime: Duration,
    /// Redirect URIs registered for the authorization-code flow (exact match).
    pub redirect_uris: Vec<String>,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("public_keys", &self.public_keys)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("scopes", &self.scopes)
            .field("dpop", &self.dpop)
            .field("token_lifetime", &self.token_lifetime)
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// A public key a service app accepts client assertions from.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// An RSA or EC public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`), with the
    /// key id assertions name in their `kid` header, if any.
    Pem { kid: Option<String>, pem: String },
    /// A public JWK (`kty` RSA or EC); its `kid` member, if any, is the key id.
    Jwk(Value),
}

/// A fresh key pair from [`generate_ec_key`].
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), the form JWT libraries sign with.
    pub private_pem: String,
    /// The public half, ready for [`OAuthApp::public_keys`].
    pub public: PublicKey,
}

fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl OAuthApp {
    /// A service app with Okta's defaults: DPoP off, tokens live one hour.
    pub fn service(
        client_id: impl Into<String>,
        public_keys: Vec<PublicKey>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> OAuthApp {
        OAuthApp {
            client_id: client_id.into(),
            public_keys,
            client_secret: None,
            scopes: strings(scopes),
            dpop: false,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            redirect_uris: vec![],
        }
    }

    /// A web app (with a secret) or a public client (`None`) for the authorization-code flow,
    /// with Okta's defaults: DPoP off, tokens live one hour.
    pub fn web(
        client_id: impl Into<String>,
        client_secret: Option<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> OAuthApp {
        OAuthApp {
            client_id: client_id.into(),
            public_keys: vec![],
            client_secret,
            scopes: strings(scopes),
            dpop: false,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            redirect_uris: strings(redirect_uris),
        }
    }

    pub(crate) fn kind(&self) -> AppKind {
        match (self.public_keys.is_empty(), &self.client_secret) {
            (false, _) => AppKind::Service,
            (true, Some(_)) => AppKind::Web,
            (true, None) => AppKind::Public,
        }
    }
}

/// What an app is, which decides its grants and how it authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppKind {
    Service,
    Web,
    Public,
}

impl AppKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Service => "service",
            AppKind::Web => "web",
            AppKind::Public => "public",
        }
    }

    pub fn grants(self) -> &'static [&'static str] {
        match self {
            AppKind::Service => &["client_credentials"],
            AppKind::Web | AppKind::Public => &["authorization_code", "refresh_token"],
        }
    }
}

/// A key ready to verify signatures with.
pub(crate) struct VerifyKey {
    pub kid: Option<String>,
    pub family: Family,
    pub key: DecodingKey,
}

/// An app with its keys parsed.
pub(crate) struct Registered {
    pub app: OAuthApp,
    pub keys: Vec<VerifyKey>,
}

/// The apps by client id.
#[derive(Default)]
pub(crate) struct Registry {
    apps: BTreeMap<String, Registered>,
}

impl Registry {
    /// Check and index the configured apps; an error names the app and the key at fault.
    pub fn new(apps: &[OAuthApp]) -> anyhow::Result<Registry> {
        let mut out = BTreeMap::new();
        for app in apps {
            if app.client_id.is_empty() {
                bail!("an OAuth app has an empty client_id");
            }
            if !app.public_keys.is_empty() && app.client_secret.is_some() {
                bail!(
                    "OAuth app {}: give either public keys (a service app) or a client secret (a web app), not both",
                    app.client_id
                );
            }
            let keys = app
                .public_keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    parse_key(k).with_context(|| {
                        format!("OAuth app {}: public key #{}", app.client_id, i + 1)
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let reg = Registered {
                app: app.clone(),
                keys,
            };
            if out.insert(app.client_id.clone(), reg).is_some() {
                bail!("two OAuth apps share the client_id {}", app.client_id);
            }
        }
        Ok(Registry { apps: out })
    }

    pub fn get(&self, client_id: &str) -> Option<&Registered> {
        self.apps.get(client_id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Registered> {
        self.apps.values()
    }
}

fn parse_key(k: &PublicKey) -> anyhow::Result<VerifyKey> {
    match k {
        PublicKey::Pem { kid, pem } => {
            let label = pem.lines().next().unwrap_or("").trim();
            if label.contains("PRIVATE KEY") {
                bail!(
                    "this is a private key ({label}); give its public half, e.g. `openssl pkey -pubout`"
                );
            }
            let (family, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
                (Family::Rsa, key)
            } else if let Ok(key) = DecodingKey::from_ec_pem(pem.as_bytes()) {
                (Family::Ec, key)
            } else {
                bail!("not an RSA or EC public key in PEM (BEGIN PUBLIC KEY)");
            };
            Ok(VerifyKey {
                kid: kid.clone(),
                family,
                key,
            })
        }
        PublicKey::Jwk(jwk) => {
            let (family, key) = jwk_key(jwk).map_err(anyhow::Error::msg)?;
            let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_string);
            Ok(VerifyKey { kid, family, key })
        }
    }
}

/// PEM armour: base64 in lines of 64 characters between BEGIN and END lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A fresh EC P-256 key pair: the private key as PKCS#8 PEM, the public key as a JWK (with
/// `kid` when given). Panics only if the operating system's random source fails.
pub fn generate_ec_key(kid: Option<&str>) -> GeneratedKey {
    let rng = SystemRandom::new();
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("the system random source works");
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
        .expect("ring reads back the key it just generated");
    // An uncompressed point: 0x04, then x and y, 32 bytes each.
    let point = pair.public_key().as_ref();
    let mut jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
        "x": b64url(&point[1..33]), "y": b64url(&point[33..65]),
    });
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    GeneratedKey {
        private_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
        public: PublicKey::Jwk(jwk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_with_keys_is_a_service_app_and_one_with_a_secret_a_web_app() {
        let key = generate_ec_key(None).public;
        let svc = OAuthApp::service("svc", vec![key], ["okta.users.read"]);
        assert_eq!(svc.kind(), AppKind::Service);
        assert_eq!((svc.dpop, svc.token_lifetime.as_secs()), (false, 3600));
        let web = OAuthApp::web(
            "web",
            Some("s".into()),
            ["http://x/cb"],
            ["okta.users.read"],
        );
        assert_eq!(web.kind(), AppKind::Web);
        let public = OAuthApp::web("pub", None, ["http://x/cb"], ["okta.users.read"]);
        assert_eq!(public.kind(), AppKind::Public);
        let shown = format!("{web:?}");
        assert!(
            shown.contains("[redacted]") && !shown.contains("\"s\""),
            "{shown}"
        );
    }

    #[test]
    fn the_registry_refuses_private_keys_duplicates_and_mixed_apps() {
        let private = PublicKey::Pem {
            kid: None,
            pem: generate_ec_key(None).private_pem,
        };
        let err = Registry::new(&[OAuthApp::service("a", vec![private], ["x"])]);
        assert!(format!("{:#}", err.err().unwrap()).contains("private key"));
        let app = OAuthApp::web("a", Some("s".into()), ["http://x/cb"], ["x"]);
        assert!(Registry::new(&[app.clone(), app.clone()]).is_err());
        let mut mixed = app;
        mixed.public_keys.push(generate_ec_key(None).public);
        assert!(Registry::new(&[mixed]).is_err());
    }

    #[test]
    fn generated_keys_are_pkcs8_pem_and_a_public_p256_jwk() {
        let k = generate_ec_key(Some("k1"));
        assert!(k.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(jsonwebtoken::EncodingKey::from_ec_pem(k.private_pem.as_bytes()).is_ok());
        let PublicKey::Jwk(jwk) = &k.public else {
            panic!("a JWK")
        };
        assert_eq!(
            (jwk["kty"].as_str(), jwk["kid"].as_str()),
            (Some("EC"), Some("k1"))
        );
        assert!(jwk.get("d").is_none());
        let reg = Registry::new(&[OAuthApp::service("a", vec![k.public.clone()], ["x"])]);
        assert!(reg.is_ok());
    }
}
