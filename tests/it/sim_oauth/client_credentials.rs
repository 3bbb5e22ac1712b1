//! Client credentials with `private_key_jwt`: valid RSA and EC assertions get tokens; each
//! kind of bad assertion is refused with `invalid_client` and a description naming the
//! problem; scopes must be requested and granted.

use jsonwebtoken::Algorithm;
use okta_sim::OAuthApp;
use serde_json::{Value, json};

use super::support::*;
use crate::sim_support::admin_get;

#[tokio::test]
async fn an_rsa_assertion_from_the_pkcs1_key_gets_a_bearer_token_that_lists_users() {
    let sim = sim_with(vec![service_app(&["okta.users.read", "okta.logs.read"])]).await;
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert!(!header(&r, "x-okta-request-id").is_empty());
    assert!(!header(&r, "x-rate-limit-remaining").is_empty());
    let b = body(r).await;
    assert_eq!(
        (&b["token_type"], &b["expires_in"], &b["scope"]),
        (&json!("Bearer"), &json!(3600), &json!("okta.users.read"))
    );
    assert!(
        b.get("refresh_token").is_none(),
        "client credentials get no refresh token"
    );
    let token = b["access_token"].as_str().unwrap();
    assert!(token.len() >= 32, "{token}");
    let users = api_get(
        &sim,
        "/api/v1/users?limit=5",
        &format!("Bearer {token}"),
        None,
    )
    .await;
    assert_eq!(users.status(), 200);
    assert_eq!(body(users).await.as_array().map(Vec::len), Some(5));
    let counters = admin_get(&sim, "/__sim/counters").await;
    assert_eq!(counters["requests"]["POST /oauth2/v1/token"], 1);
    let stats = admin_get(&sim, "/__sim/oauth").await;
    assert_eq!(stats["clients"][SVC]["tokens_issued"], 1);
    assert_eq!(stats["clients"][SVC]["kind"], "service");
}

#[tokio::test]
async fn an_ec_assertion_gets_a_token_and_a_kid_picks_the_key_it_names() {
    let keys = vec![
        public_pem("other-rsa-public.pem", Some("rsa-1")),
        public_pem("ec-p256-public.pem", Some("ec-1")),
    ];
    let sim = sim_with(vec![OAuthApp::service(SVC, keys, ["okta.users.read"])]).await;
    let sign = |kid: Option<&str>| {
        let mut h = json!({"alg": "ES256"});
        if let Some(k) = kid {
            h["kid"] = json!(k);
        }
        jwt(&h, &claims(&sim, SVC), &ec_key(), Algorithm::ES256)
    };
    for kid in [Some("ec-1"), None] {
        let r = client_credentials(&sim, &sign(kid), "okta.users.read", None).await;
        assert_eq!(r.status(), 200, "kid {kid:?}");
    }
    let r = client_credentials(&sim, &sign(Some("rsa-1")), "okta.users.read", None).await;
    let d = oauth_error(r, 401, "invalid_client").await;
    assert!(d.contains("signature is invalid"), "{d}");
    let r = client_credentials(&sim, &sign(Some("nope")), "okta.users.read", None).await;
    let d = oauth_error(r, 401, "invalid_client").await;
    assert!(d.contains("'nope'"), "{d}");
}

/// Claims of a valid assertion with one member changed (`null` removes it).
fn changed(base: &Value, key: &str, v: Value) -> Value {
    let mut c = base.clone();
    match v {
        Value::Null => {
            c.as_object_mut().unwrap().remove(key);
        }
        v => c[key] = v,
    }
    c
}

#[tokio::test]
async fn bad_assertions_are_refused_with_invalid_client_and_a_description_naming_the_problem() {
    let sim = sim_with(vec![service_app(&["okta.users.read"])]).await;
    let c = claims(&sim, SVC);
    let other =
        jsonwebtoken::EncodingKey::from_rsa_pem(fixture("other-rsa-pkcs1.pem").as_bytes()).unwrap();
    let wrong_key = assertion_with(&c, &other, Algorithm::RS256);
    let signed = |c: Value| assertion_with(&c, &rsa_key(), Algorithm::RS256);
    let unknown = changed(
        &changed(&c, "iss", json!("0oaunknown")),
        "sub",
        json!("0oaunknown"),
    );
    let cases = [
        (wrong_key, "signature is invalid"),
        (signed(unknown), "'0oaunknown'"),
        (signed(changed(&c, "sub", json!("0oaother"))), "'sub'"),
        (
            signed(changed(
                &c,
                "aud",
                json!(format!("{}/oauth2/default/v1/token", sim.base_url)),
            )),
            "audience",
        ),
        (signed(changed(&c, "exp", json!(now() - 10))), "expired"),
        (
            signed(changed(&c, "exp", json!(now() + 3700))),
            "expiration too far in the future",
        ),
        (signed(changed(&c, "exp", Value::Null)), "'exp'"),
        (signed(changed(&c, "jti", Value::Null)), "'jti'"),
        (
            jwt(
                &json!({"alg": "HS256"}),
                &c,
                &jsonwebtoken::EncodingKey::from_secret(b"k"),
                Algorithm::HS256,
            ),
            "'HS256'",
        ),
        ("not-a-jwt".to_string(), "malformed"),
    ];
    for (a, named) in &cases {
        let r = client_credentials(&sim, a, "okta.users.read", None).await;
        let d = oauth_error(r, 401, "invalid_client").await;
        assert!(d.contains(named), "expected {named:?} in {d:?}");
    }
    let stats = admin_get(&sim, "/__sim/oauth").await;
    let rejected = stats["clients"][SVC]["rejected"].as_array().unwrap();
    assert!(rejected.iter().all(|r| r["error"] == "invalid_client"));
    assert_eq!(
        stats["clients"]["0oaunknown"]["rejected"][0]["error"],
        "invalid_client"
    );
    assert_eq!(stats["clients"][SVC]["tokens_issued"], 0);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused_and_a_form_client_id_must_match_it() {
    let sim = sim_with(vec![service_app(&["okta.users.read"])]).await;
    let a = assertion(&sim, SVC);
    assert_eq!(
        client_credentials(&sim, &a, "okta.users.read", None)
            .await
            .status(),
        200
    );
    let r = client_credentials(&sim, &a, "okta.users.read", None).await;
    let d = oauth_error(r, 401, "invalid_client").await;
    assert!(
        d.starts_with("The client_assertion token has already been used"),
        "{d}"
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read"),
        ("client_id", "0oasomeoneelse"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &assertion(&sim, SVC)),
    ];
    let r = post_form(&sim, "/oauth2/v1/token", &form, &[]).await;
    let d = oauth_error(r, 401, "invalid_client").await;
    assert!(d.contains("does not match"), "{d}");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read"),
        ("client_assertion", "x"),
    ];
    let r = post_form(&sim, "/oauth2/v1/token", &form, &[]).await;
    let d = oauth_error(r, 400, "invalid_request").await;
    assert!(d.contains("client_assertion_type"), "{d}");
}

#[tokio::test]
async fn scopes_must_be_requested_and_granted_to_the_app() {
    let sim = sim_with(vec![service_app(&["okta.users.read", "okta.logs.read"])]).await;
    let r = client_credentials(&sim, &assertion(&sim, SVC), "", None).await;
    let d = oauth_error(r, 400, "invalid_scope").await;
    assert_eq!(d, "No scopes were requested.");
    let scope = "okta.users.read okta.users.manage okta.groups.read";
    let r = client_credentials(&sim, &assertion(&sim, SVC), scope, None).await;
    let d = oauth_error(r, 400, "invalid_scope").await;
    assert!(d.ends_with(": okta.users.manage okta.groups.read."), "{d}");
    let r = client_credentials(
        &sim,
        &assertion(&sim, SVC),
        "okta.logs.read okta.users.read",
        None,
    )
    .await;
    assert_eq!(body(r).await["scope"], "okta.logs.read okta.users.read");
}

#[tokio::test]
async fn token_requests_must_be_forms_with_a_grant_type_the_app_has() {
    let sim = sim_with(vec![service_app(&["okta.users.read"])]).await;
    let r = sim_client()
        .post(token_url(&sim))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "cache-control"), "no-store");
    oauth_error(r, 400, "invalid_request").await;
    let r = post_form(&sim, "/oauth2/v1/token", &[("grant_type", "password")], &[]).await;
    oauth_error(r, 400, "unsupported_grant_type").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &assertion(&sim, SVC)),
    ];
    let r = post_form(&sim, "/oauth2/v1/token", &form, &[]).await;
    let d = oauth_error(r, 400, "unauthorized_client").await;
    assert!(d.contains("[client_credentials]"), "{d}");
    let r = post_form(
        &sim,
        "/oauth2/v1/token",
        &[("grant_type", "client_credentials")],
        &[],
    )
    .await;
    let d = oauth_error(r, 401, "invalid_client").await;
    assert_eq!(d, "No client credentials found.");
}

fn sim_client() -> reqwest::Client {
    crate::sim_support::client()
}

#[tokio::test]
async fn a_response_scripted_for_the_token_path_is_played_once_and_api_scripts_are_left_alone() {
    let sim = sim_with(vec![service_app(&["okta.users.read"])]).await;
    let scripts = json!({"responses": [
        {"status": 503, "body": "busy", "path_prefix": "/oauth2/v1/token"},
        {"status": 500, "body": {"errorCode": "E0000009"}},
    ]});
    crate::sim_support::admin_post(&sim, "/__sim/script", scripts).await;
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
    assert_eq!(r.status(), 503);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
    assert_eq!(
        r.status(),
        200,
        "a script without an /oauth2 prefix is for API requests"
    );
    let r = api_get(&sim, "/api/v1/users", &format!("SSWS {}", sim.token), None).await;
    assert_eq!(r.status(), 500);
}
