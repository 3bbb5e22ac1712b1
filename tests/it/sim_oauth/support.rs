//! Helpers for the OAuth tests: key fixtures, client assertions and DPoP proofs signed in the
//! test, token requests and API calls sent with plain reqwest, and error-shape assertions.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use okta_sim::{OAuthApp, PublicKey, Sim, SimConfig};
use reqwest::Response;
use serde_json::{Value, json};

use crate::sim_support::{client, start};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const SVC: &str = "0oaservice";

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oauth")
        .join(name);
    std::fs::read_to_string(&path).expect("the key fixture exists")
}

pub fn public_pem(name: &str, kid: Option<&str>) -> PublicKey {
    PublicKey::Pem {
        kid: kid.map(str::to_string),
        pem: fixture(name),
    }
}

/// The PKCS#1 RSA key (`BEGIN RSA PRIVATE KEY`) whose public half is `rsa-public.pem`.
pub fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(fixture("rsa-pkcs1.pem").as_bytes()).expect("an RSA key")
}

pub fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(fixture("ec-p256-pkcs8.pem").as_bytes()).expect("an EC key")
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256(data: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, data.as_bytes()).as_ref())
}

/// A jti no other request in this test binary uses.
pub fn new_jti() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("jti-{nanos}-{}", N.fetch_add(1, Ordering::SeqCst))
}

/// A compact JWS over exactly this header and these claims.
pub fn jwt(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let msg = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).expect("signs");
    format!("{msg}.{sig}")
}

pub fn token_url(sim: &Sim) -> String {
    format!("{}/oauth2/v1/token", sim.base_url)
}

/// The claims of a valid client assertion for `client`.
pub fn claims(sim: &Sim, client: &str) -> Value {
    json!({"iss": client, "sub": client, "aud": token_url(sim), "iat": now(),
        "exp": now() + 300, "jti": new_jti()})
}

pub fn assertion_with(claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    jwt(&json!({"alg": alg, "typ": "JWT"}), claims, key, alg)
}

pub fn assertion(sim: &Sim, client: &str) -> String {
    assertion_with(&claims(sim, client), &rsa_key(), Algorithm::RS256)
}

/// A simulator with a small org and these OAuth apps.
pub async fn sim_with(apps: Vec<OAuthApp>) -> Sim {
    start(SimConfig {
        users: 20,
        logs: 20,
        groups: 3,
        apps: 2,
        oauth_apps: apps,
        ..SimConfig::default()
    })
    .await
}

/// The service app `SVC`, keyed by `rsa-public.pem`, granted `scopes`.
pub fn service_app(scopes: &[&str]) -> OAuthApp {
    OAuthApp::service(
        SVC,
        vec![public_pem("rsa-public.pem", None)],
        scopes.iter().copied(),
    )
}

/// POST a form to an `/oauth2/v1` endpoint with extra headers.
pub async fn post_form(
    sim: &Sim,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Response {
    let mut rb = client().post(format!("{}{path}", sim.base_url)).form(form);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.expect("the server answers")
}

/// A client-credentials token request with this assertion (and DPoP proof).
pub async fn client_credentials(
    sim: &Sim,
    assertion: &str,
    scope: &str,
    dpop: Option<&str>,
) -> Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    let headers: Vec<(&str, &str)> = dpop.map(|p| ("DPoP", p)).into_iter().collect();
    post_form(sim, "/oauth2/v1/token", &form, &headers).await
}

pub async fn body(r: Response) -> Value {
    r.json().await.expect("a JSON body")
}

/// Assert an OAuth error of this status and code; returns its description.
pub async fn oauth_error(r: Response, status: u16, error: &str) -> String {
    assert_eq!(r.status(), status, "status of an {error} answer");
    let b = body(r).await;
    assert_eq!(b["error"], error, "{b}");
    b["error_description"]
        .as_str()
        .expect("a description")
        .to_string()
}

/// A bearer token for `SVC` (an RSA assertion) with these scopes.
pub async fn service_token(sim: &Sim, scope: &str) -> String {
    let r = client_credentials(sim, &assertion(sim, SVC), scope, None).await;
    assert_eq!(r.status(), 200);
    body(r).await["access_token"]
        .as_str()
        .expect("a token")
        .to_string()
}

/// GET with an `Authorization` value and an optional DPoP proof.
pub async fn api_get(sim: &Sim, path: &str, auth: &str, dpop: Option<&str>) -> Response {
    let mut rb = client()
        .get(format!("{}{path}", sim.base_url))
        .header("Authorization", auth);
    if let Some(p) = dpop {
        rb = rb.header("DPoP", p);
    }
    rb.send().await.expect("the server answers")
}

pub fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Ask until `done` holds for the answer, or fail after `limit`.
pub async fn wait_for<F, Fut>(
    limit: Duration,
    mut ask: F,
    done: impl Fn(&Response) -> bool,
) -> Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let deadline = Instant::now() + limit;
    loop {
        let r = ask().await;
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A DPoP key pair made for the test.
pub struct DpopKey {
    key: EncodingKey,
    pub jwk: Value,
}

impl DpopKey {
    pub fn new() -> DpopKey {
        let k = okta_sim::generate_ec_key(None);
        let PublicKey::Jwk(jwk) = k.public else {
            panic!("generate_ec_key gives a JWK")
        };
        let key = EncodingKey::from_ec_pem(k.private_pem.as_bytes()).expect("PKCS#8 EC");
        DpopKey { key, jwk }
    }

    /// A proof with exactly these claims.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
        jwt(&header, claims, &self.key, Algorithm::ES256)
    }

    /// A fresh proof for `htm htu`, with a nonce and the `ath` of `token` when given.
    pub fn proof(&self, htm: &str, htu: &str, nonce: Option<&str>, token: Option<&str>) -> String {
        let mut c = json!({"htm": htm, "htu": htu, "iat": now(), "jti": new_jti()});
        if let Some(n) = nonce {
            c["nonce"] = json!(n);
        }
        if let Some(t) = token {
            c["ath"] = json!(sha256(t));
        }
        self.sign(&c)
    }
}

/// The current DPoP nonce, learnt the way a client learns it: from a `use_dpop_nonce` answer.
pub async fn learn_nonce(sim: &Sim, client: &str, key: &DpopKey) -> String {
    let proof = key.proof("POST", &token_url(sim), None, None);
    let r = client_credentials(
        sim,
        &assertion(sim, client),
        "okta.users.read",
        Some(&proof),
    )
    .await;
    let nonce = header(&r, "dpop-nonce");
    oauth_error(r, 400, "use_dpop_nonce").await;
    nonce
}

/// A DPoP-bound token for the DPoP service app `client` with these scopes.
pub async fn dpop_token(sim: &Sim, client: &str, key: &DpopKey, scope: &str) -> String {
    let nonce = learn_nonce(sim, client, key).await;
    let proof = key.proof("POST", &token_url(sim), Some(&nonce), None);
    let r = client_credentials(sim, &assertion(sim, client), scope, Some(&proof)).await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert_eq!(b["token_type"], "DPoP");
    b["access_token"].as_str().expect("a token").to_string()
}
