//! OAuth 2.0 connections end to end against the simulator's authorization server: client
//! credentials with `private_key_jwt`, with and without DPoP, and every way they fail, each with
//! a message that says what to fix.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use okta_sim::{OAuthApp, PublicKey, Sim, SimConfig};
use oktasync::config::{Credentials, DpopMode, ServiceApp, SigningKey};
use oktasync::okta::OktaClient;
use serde_json::Value;

use crate::helpers::{fast_options, sim_get};
use crate::sync::{assert_converged, settings, sync_all};

pub const CLIENT_ID: &str = "0oa-service-app";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oauth")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("a fixture key")
}

/// Every read and manage scope the admin commands use.
pub fn all_scopes() -> Vec<String> {
    let mut scopes = vec!["okta.logs.read".to_owned()];
    for family in [
        "users",
        "groups",
        "apps",
        "eventHooks",
        "policies",
        "realms",
        "userTypes",
    ] {
        scopes.push(format!("okta.{family}.read"));
        scopes.push(format!("okta.{family}.manage"));
    }
    scopes
}

/// A service app that accepts assertions signed with the RSA fixture key (kid `k1`).
pub fn service_app(dpop: bool, lifetime: Duration) -> OAuthApp {
    let key = PublicKey::Pem {
        kid: Some("k1".into()),
        pem: read("rsa-public.pem"),
    };
    let mut app = OAuthApp::service(CLIENT_ID, vec![key], all_scopes());
    app.dpop = dpop;
    app.token_lifetime = lifetime;
    app
}

pub async fn sim_with(apps: Vec<OAuthApp>, config: SimConfig) -> Sim {
    let config = SimConfig {
        oauth_apps: apps,
        ..config
    };
    okta_sim::spawn(config).await.expect("the simulator starts")
}

fn small() -> SimConfig {
    SimConfig {
        users: 60,
        logs: 150,
        groups: 4,
        apps: 3,
        ..SimConfig::default()
    }
}

/// Client-credentials settings as the config would make them.
fn credentials(key: &str, client_id: &str, scopes: &[&str], dpop: DpopMode) -> Credentials {
    Credentials::ClientCredentials(ServiceApp {
        client_id: client_id.into(),
        key: SigningKey::from_pem(&read(key), Some("k1".into())).expect("the fixture key loads"),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        dpop,
    })
}

fn client(sim: &Sim, creds: Credentials) -> OktaClient {
    let org = url::Url::parse(&sim.base_url).expect("the simulator's URL");
    OktaClient::with_credentials(org, creds, fast_options(), None).expect("a client")
}

/// The simulator's record of its authorization server.
async fn oauth_truth(sim: &Sim) -> Value {
    sim_get(sim, "/__sim/oauth").await
}

const READ: [&str; 2] = ["okta.users.read", "okta.logs.read"];

#[tokio::test]
async fn a_service_app_syncs_every_stream_into_the_mirror_with_and_without_dpop() {
    for (dpop, mode) in [
        (false, DpopMode::Auto),
        (true, DpopMode::Auto),
        (true, DpopMode::Always),
    ] {
        let sim = sim_with(vec![service_app(dpop, Duration::from_secs(3600))], small()).await;
        let dir = tempfile::tempdir().unwrap();
        let client = client(&sim, credentials("rsa-pkcs1.pem", CLIENT_ID, &READ, mode));
        sync_all(&client, settings(dir.path(), Some(20)))
            .await
            .unwrap_or_else(|e| panic!("dpop {dpop} {mode:?}: {e:#}"));
        assert_converged(&sim, dir.path()).await;
        let info = client.auth().token_info().await.unwrap();
        assert_eq!(
            info.dpop, dpop,
            "the token is DPoP-bound exactly when the app requires it"
        );
        assert_eq!(
            client.auth().token_requests(),
            match (dpop, mode) {
                (false, _) => 1,
                (true, DpopMode::Always) => 2, // the nonce challenge
                _ => 3,                        // learning DPoP is required, then the nonce
            },
            "one token served every request (dpop {dpop}, {mode:?})"
        );
    }
}

#[tokio::test]
async fn an_ec_key_in_sec1_form_signs_assertions_okta_accepts() {
    let key = PublicKey::Pem {
        kid: None,
        pem: read("ec-p256-public.pem"),
    };
    let app = OAuthApp::service(CLIENT_ID, vec![key], all_scopes());
    let sim = sim_with(vec![app], small()).await;
    let creds = Credentials::ClientCredentials(ServiceApp {
        client_id: CLIENT_ID.into(),
        key: SigningKey::from_pem(&read("ec-p256-sec1.pem"), None).unwrap(),
        scopes: vec!["okta.users.read".into()],
        dpop: DpopMode::Auto,
    });
    let users: Vec<Value> = client(&sim, creds)
        .get_json("/api/v1/users", &[("limit", "5")])
        .await
        .expect("an EC-signed assertion gets a working token");
    assert_eq!(users.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_longer_than_the_token_lifetime_renews_it_without_a_refused_request() {
    let lifetime = Duration::from_secs(2);
    let config = SimConfig {
        rate_limit: Some(24),
        rate_window: Duration::from_secs(1),
        ..small()
    };
    let sim = sim_with(vec![service_app(true, lifetime)], config).await;
    let dir = tempfile::tempdir().unwrap();
    let client = client(
        &sim,
        credentials("rsa-pkcs8.pem", CLIENT_ID, &READ, DpopMode::Auto),
    );
    let started = Instant::now();
    sync_all(&client, settings(dir.path(), Some(5)))
        .await
        .expect("the sync succeeds");
    let took = started.elapsed();
    assert!(
        took > lifetime * 2,
        "the sync outlived two tokens ({took:?})"
    );
    assert_converged(&sim, dir.path()).await;
    let stats = client.stats();
    assert_eq!(
        stats.retries, 0,
        "no request was refused or resent: {stats:?}"
    );
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    // Tokens are fetched when a request needs one, so idle stretches need none: at least one
    // renewal, and far fewer tokens than requests.
    let tokens = client.auth().token_requests();
    assert!(
        tokens >= 2 && tokens * 2 < stats.requests,
        "tokens were renewed as they aged, not per call: {tokens} token requests for {} API \
         requests over {took:?}",
        stats.requests
    );
}

/// The error a client-credentials request gets, as people see it.
async fn refusal(sim: &Sim, creds: Credentials, path: &str) -> String {
    client(sim, creds)
        .get_json::<Value>(path, &[])
        .await
        .expect_err("Okta refuses")
        .to_string()
}

#[tokio::test]
async fn each_refusal_says_what_to_fix_in_okta_or_in_the_config() {
    let sim = sim_with(vec![service_app(true, Duration::from_secs(3600))], small()).await;
    let cases = [
        (
            credentials("other-rsa-pkcs1.pem", CLIENT_ID, &READ, DpopMode::Auto),
            "/api/v1/users",
            "invalid_client",
            "the public key on the app's General tab matches okta.private_key_file",
        ),
        (
            credentials("rsa-pkcs1.pem", "0oa-nobody", &READ, DpopMode::Auto),
            "/api/v1/users",
            "invalid_client",
            "check okta.client_id (OKTA_CLIENT_ID)",
        ),
        (
            credentials("rsa-pkcs1.pem", CLIENT_ID, &READ, DpopMode::Never),
            "/api/v1/users",
            "invalid_dpop_proof",
            "set okta.dpop = \"auto\" or \"always\"",
        ),
        (
            credentials(
                "rsa-pkcs1.pem",
                CLIENT_ID,
                &["okta.users.read"],
                DpopMode::Auto,
            ),
            "/api/v1/logs",
            "E0000006",
            "the access token lacks okta.logs.read: grant it on the app's \"Okta API Scopes\" tab",
        ),
    ];
    for (creds, path, code, fix) in cases {
        let message = refusal(&sim, creds, path).await;
        assert!(
            message.contains(code) && message.contains(fix),
            "{code}: {message}"
        );
    }
}

#[tokio::test]
async fn a_scope_the_app_was_not_granted_is_refused_naming_where_to_grant_it() {
    let mut app = service_app(false, Duration::from_secs(3600));
    app.scopes = vec!["okta.users.read".into()];
    let sim = sim_with(vec![app], small()).await;
    let creds = credentials("rsa-pkcs1.pem", CLIENT_ID, &READ, DpopMode::Auto);
    let message = refusal(&sim, creds, "/api/v1/users").await;
    assert!(
        message.contains("invalid_scope") && message.contains("\"Okta API Scopes\" tab"),
        "{message}"
    );
    let rejected = oauth_truth(&sim).await.to_string();
    assert!(rejected.contains("invalid_scope"), "{rejected}");
}

#[tokio::test]
async fn a_dpop_proof_for_a_login_with_an_at_sign_is_signed_over_the_decoded_path() {
    let sim = sim_with(vec![service_app(true, Duration::from_secs(3600))], small()).await;
    let client = client(
        &sim,
        credentials("rsa-pkcs1.pem", CLIENT_ID, &READ, DpopMode::Always),
    );
    let listed: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "1")])
        .await
        .expect("a listing with DPoP");
    let login = listed[0]["profile"]["login"]
        .as_str()
        .expect("a user with a login")
        .to_owned();
    assert!(login.contains('@'), "{login}");
    let user = client
        .users()
        .get(&login, None)
        .await
        .expect("GET by login with DPoP");
    assert_eq!(user["profile"]["login"], login.as_str());
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn a_nonce_asked_for_on_an_api_call_is_answered_once_and_kept_for_later_calls() {
    let sim = sim_with(vec![service_app(true, Duration::from_secs(3600))], small()).await;
    let client = client(
        &sim,
        credentials("rsa-pkcs1.pem", CLIENT_ID, &READ, DpopMode::Auto),
    );
    let first: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "1")])
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    crate::helpers::sim_post(
        &sim,
        "/__sim/settings",
        serde_json::json!({"dpop_nonce_on_api": true}),
    )
    .await;
    sim_post_rotate(&sim).await;
    for _ in 0..3 {
        let page: Vec<Value> = client
            .get_json("/api/v1/users", &[("limit", "1")])
            .await
            .expect("the nonce challenge is answered");
        assert_eq!(page.len(), 1);
    }
    assert_eq!(
        client.stats().retries,
        1,
        "one resend for the challenge, then the remembered nonce serves every call"
    );
    assert_eq!(client.auth().token_requests(), 3, "the token was kept");
}

async fn sim_post_rotate(sim: &Sim) {
    crate::helpers::sim_post(sim, "/__sim/oauth/rotate-nonce", serde_json::json!({})).await;
}
