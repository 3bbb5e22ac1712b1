//! DPoP (RFC 9449) at the token endpoint (proof required, then the nonce) and on `/api/v1`
//! (the bound key, method, percent-decoded URL, token hash, fresh jti, optional nonce).

use okta_sim::OAuthApp;
use serde_json::json;

use super::support::*;
use crate::sim_support::{admin_get, admin_post, json};

fn dpop_app() -> OAuthApp {
    let mut app = service_app(&["okta.users.read", "okta.groups.read"]);
    app.dpop = true;
    app
}

#[tokio::test]
async fn a_dpop_app_refuses_a_token_request_without_a_proof() {
    let sim = sim_with(vec![dpop_app()]).await;
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
    let d = oauth_error(r, 400, "invalid_dpop_proof").await;
    assert_eq!(d, "The DPoP proof JWT header is missing.");
}

#[tokio::test]
async fn a_proof_without_the_nonce_gets_use_dpop_nonce_and_one_with_it_a_dpop_token() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let first = assertion(&sim, SVC);
    let proof = key.proof("POST", &token_url(&sim), None, None);
    let r = client_credentials(&sim, &first, "okta.users.read", Some(&proof)).await;
    let nonce = header(&r, "dpop-nonce");
    assert!(!nonce.is_empty(), "a DPoP-Nonce header");
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r).await,
        json!({"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof."})
    );
    let proof = key.proof("POST", &token_url(&sim), Some(&nonce), None);
    let r = client_credentials(&sim, &first, "okta.users.read", Some(&proof)).await;
    let d = oauth_error(r, 401, "invalid_client").await;
    assert!(
        d.contains("already been used"),
        "the first assertion was spent: {d}"
    );
    let proof = key.proof("POST", &token_url(&sim), Some(&nonce), None);
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", Some(&proof)).await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert_eq!(b["token_type"], "DPoP");
    let token = b["access_token"].as_str().unwrap();
    let url = format!("{}/api/v1/users", sim.base_url);
    let proof = key.proof("GET", &url, None, Some(token));
    let r = api_get(
        &sim,
        "/api/v1/users?limit=2",
        &format!("DPoP {token}"),
        Some(&proof),
    )
    .await;
    assert_eq!(r.status(), 200, "the query is not part of htu");
}

#[tokio::test]
async fn a_bad_token_request_proof_is_refused_with_a_description_of_the_failed_check() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let url = token_url(&sim);
    let base = json!({"htm": "POST", "htu": url, "iat": now(), "jti": new_jti()});
    let with = |k: &str, v: serde_json::Value| {
        let mut c = base.clone();
        c[k] = v;
        key.sign(&c)
    };
    let cases = [
        (with("htm", json!("GET")), "'htm'"),
        (
            with(
                "htu",
                json!(format!("{}/oauth2/v1/authorize", sim.base_url)),
            ),
            "'htu'",
        ),
        (with("iat", json!(now() - 400)), "'iat'"),
        ("eyJ.not.a-proof".to_string(), "not a valid JWT"),
    ];
    for (proof, named) in cases {
        let r =
            client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", Some(&proof)).await;
        let d = oauth_error(r, 400, "invalid_dpop_proof").await;
        assert!(d.contains(named), "expected {named} in {d}");
    }
}

#[tokio::test]
async fn a_dpop_token_sent_as_bearer_is_refused_with_invalid_dpop_proof() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let token = dpop_token(&sim, SVC, &key, "okta.users.read").await;
    let r = api_get(&sim, "/api/v1/users", &format!("Bearer {token}"), None).await;
    assert_eq!(r.status(), 401);
    assert!(
        header(&r, "www-authenticate")
            .starts_with("DPoP error=\"invalid_dpop_proof\", error_description=\""),
        "{}",
        header(&r, "www-authenticate")
    );
    assert_eq!(json(r).await["errorCode"], "E0000011");
}

#[tokio::test]
async fn api_proofs_with_the_wrong_htm_htu_ath_key_or_a_replayed_jti_are_refused() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let token = dpop_token(&sim, SVC, &key, "okta.users.read okta.groups.read").await;
    let auth = format!("DPoP {token}");
    let url = format!("{}/api/v1/groups", sim.base_url);
    let good = key.proof("GET", &url, None, Some(&token));
    let cases = [
        (key.proof("POST", &url, None, Some(&token)), "'htm'"),
        (
            key.proof(
                "GET",
                &format!("{}/api/v1/users", sim.base_url),
                None,
                Some(&token),
            ),
            "'htu'",
        ),
        (key.proof("GET", &url, None, Some("another-token")), "'ath'"),
        (key.proof("GET", &url, None, None), "'ath'"),
        (
            DpopKey::new().proof("GET", &url, None, Some(&token)),
            "does not match the key",
        ),
    ];
    for (proof, named) in cases {
        let r = api_get(&sim, "/api/v1/groups", &auth, Some(&proof)).await;
        assert_eq!(r.status(), 401, "{named}");
        let challenge = header(&r, "www-authenticate");
        assert!(
            challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{challenge}"
        );
        assert!(challenge.contains(named), "expected {named} in {challenge}");
    }
    let r = api_get(&sim, "/api/v1/groups", &auth, None).await;
    assert!(header(&r, "www-authenticate").contains("The DPoP proof JWT header is missing."));
    assert_eq!(
        api_get(&sim, "/api/v1/groups", &auth, Some(&good))
            .await
            .status(),
        200
    );
    let r = api_get(&sim, "/api/v1/groups", &auth, Some(&good)).await;
    assert_eq!(r.status(), 401, "a proof is good once");
    assert!(header(&r, "www-authenticate").contains("'jti'"));
}

#[tokio::test]
async fn htu_is_compared_with_the_percent_decoded_path() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let token = dpop_token(&sim, SVC, &key, "okta.users.read").await;
    let users = json(
        api_get(
            &sim,
            "/api/v1/users?limit=1",
            &format!("SSWS {}", sim.token),
            None,
        )
        .await,
    )
    .await;
    let login = users[0]["profile"]["login"].as_str().unwrap().to_string();
    assert!(login.contains('@'), "{login}");
    let encoded = format!("/api/v1/users/{}", login.replace('@', "%40"));
    let decoded_htu = format!("{}/api/v1/users/{login}", sim.base_url);
    let encoded_htu = format!("{}{encoded}", sim.base_url);
    let auth = format!("DPoP {token}");
    let r = api_get(
        &sim,
        &encoded,
        &auth,
        Some(&key.proof("GET", &decoded_htu, None, Some(&token))),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["profile"]["login"], login.as_str());
    let r = api_get(
        &sim,
        &encoded,
        &auth,
        Some(&key.proof("GET", &encoded_htu, None, Some(&token))),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").contains("invalid_dpop_proof"));
}

#[tokio::test]
async fn a_rotated_nonce_is_demanded_again_at_the_token_endpoint() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let old = learn_nonce(&sim, SVC, &key).await;
    let rotated = admin_post(&sim, "/__sim/oauth/rotate-nonce", json!({})).await;
    let new = rotated["dpop_nonce"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    let proof = key.proof("POST", &token_url(&sim), Some(&old), None);
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", Some(&proof)).await;
    assert_eq!(header(&r, "dpop-nonce"), new);
    oauth_error(r, 400, "use_dpop_nonce").await;
    let proof = key.proof("POST", &token_url(&sim), Some(&new), None);
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", Some(&proof)).await;
    assert_eq!(r.status(), 200);
    let stats = admin_get(&sim, "/__sim/oauth").await;
    let errors: Vec<_> = stats["clients"][SVC]["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(errors, ["use_dpop_nonce", "use_dpop_nonce"]);
}

#[tokio::test]
async fn api_calls_demand_the_nonce_once_the_setting_is_on() {
    let sim = sim_with(vec![dpop_app()]).await;
    let key = DpopKey::new();
    let token = dpop_token(&sim, SVC, &key, "okta.users.read").await;
    admin_post(&sim, "/__sim/settings", json!({"dpop_nonce_on_api": true})).await;
    let url = format!("{}/api/v1/users", sim.base_url);
    let auth = format!("DPoP {token}");
    let r = api_get(
        &sim,
        "/api/v1/users",
        &auth,
        Some(&key.proof("GET", &url, None, Some(&token))),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = header(&r, "dpop-nonce");
    assert!(!nonce.is_empty());
    let proof = key.proof("GET", &url, Some(&nonce), Some(&token));
    assert_eq!(
        api_get(&sim, "/api/v1/users", &auth, Some(&proof))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_app_without_dpop_ignores_a_proof_and_issues_a_bearer_token() {
    let sim = sim_with(vec![service_app(&["okta.users.read"])]).await;
    let proof = DpopKey::new().proof("POST", &token_url(&sim), None, None);
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", Some(&proof)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["token_type"], "Bearer");
}
