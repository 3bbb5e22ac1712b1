//! The authorization-code flow with PKCE, refresh-token rotation, DPoP-bound refresh tokens
//! and revocation, for web apps (client secret) and public clients.

use base64::Engine as _;
use okta_sim::{OAuthApp, Sim};
use reqwest::Response;
use serde_json::Value;

use super::support::*;
use crate::sim_support::admin_get;

const WEB: &str = "0oaweb";
const SECRET: &str = "web-secret+/=";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn web_app(secret: Option<&str>) -> OAuthApp {
    OAuthApp::web(
        WEB,
        secret.map(str::to_string),
        [REDIRECT],
        ["okta.users.read", "okta.groups.read"],
    )
}

/// GET /authorize without following the redirect.
async fn authorize(sim: &Sim, params: &[(&str, &str)]) -> Response {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url =
        reqwest::Url::parse_with_params(&format!("{}/oauth2/v1/authorize", sim.base_url), params)
            .unwrap();
    c.get(url).send().await.expect("the server answers")
}

/// The query of the Location a 302 points at.
fn redirect_query(r: &Response) -> Vec<(String, String)> {
    assert_eq!(r.status(), 302);
    let loc = reqwest::Url::parse(&header(r, "location")).expect("a Location URL");
    assert_eq!(loc.as_str().split('?').next(), Some(REDIRECT));
    loc.query_pairs().into_owned().collect()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// A code for `scope`, with the S256 challenge of `VERIFIER`.
async fn code(sim: &Sim, scope: &str) -> String {
    let challenge = sha256(VERIFIER);
    let r = authorize(
        sim,
        &[
            ("client_id", WEB),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let q = redirect_query(&r);
    assert_eq!(param(&q, "state"), Some("st-1"));
    param(&q, "code").expect("a code").to_string()
}

fn basic(secret: &str) -> String {
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("{WEB}:{secret}"));
    format!("Basic {creds}")
}

async fn exchange(sim: &Sim, code: &str, verifier: &str, auth: &str) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    post_form(sim, "/oauth2/v1/token", &form, &[("Authorization", auth)]).await
}

async fn refresh(
    sim: &Sim,
    token: &str,
    extra: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    post_form(sim, "/oauth2/v1/token", &form, headers).await
}

#[tokio::test]
async fn a_code_exchanges_once_and_only_with_the_right_pkce_verifier() {
    let sim = sim_with(vec![web_app(Some(SECRET))]).await;
    let c = code(&sim, "okta.users.read").await;
    let wrong = "x".repeat(43);
    let d = oauth_error(
        exchange(&sim, &c, &wrong, &basic(SECRET)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(d, "PKCE verification failed.");
    let r = exchange(&sim, &c, VERIFIER, &basic(SECRET)).await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert_eq!(
        (b["token_type"].as_str(), b["scope"].as_str()),
        (Some("Bearer"), Some("okta.users.read"))
    );
    assert!(
        b.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let auth = format!("Bearer {}", b["access_token"].as_str().unwrap());
    assert_eq!(
        api_get(&sim, "/api/v1/users", &auth, None).await.status(),
        200
    );
    let d = oauth_error(
        exchange(&sim, &c, VERIFIER, &basic(SECRET)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(d, "The authorization code is invalid or has expired.");
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_and_redirect_uris_without_redirecting() {
    let sim = sim_with(vec![web_app(Some(SECRET))]).await;
    let base = [
        ("response_type", "code"),
        ("scope", "okta.users.read"),
        ("state", "s"),
    ];
    for (client_id, redirect) in [
        ("0oanobody", REDIRECT),
        (WEB, "http://127.0.0.1:9999/elsewhere"),
    ] {
        let mut params = base.to_vec();
        params.extend([("client_id", client_id), ("redirect_uri", redirect)]);
        let r = authorize(&sim, &params).await;
        assert_eq!(r.status(), 400, "{client_id} {redirect}");
        assert!(r.headers().get("location").is_none());
        let b: Value = r.json().await.unwrap();
        assert!(
            b["error"].is_string() && b["error_description"].is_string(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn authorize_sends_pkce_and_scope_problems_back_to_the_redirect_uri() {
    let sim = sim_with(vec![web_app(Some(SECRET))]).await;
    let challenge = sha256(VERIFIER);
    let base = [
        ("client_id", WEB),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("state", "st-9"),
    ];
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("scope", "okta.users.read")], "invalid_request"),
        (
            &[
                ("scope", "okta.users.read"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("scope", "okta.users.manage"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
        ),
    ];
    for (extra, error) in cases {
        let mut params = base.to_vec();
        params.extend_from_slice(extra);
        let q = redirect_query(&authorize(&sim, &params).await);
        assert_eq!(param(&q, "error"), Some(error), "{extra:?}");
        assert!(param(&q, "error_description").is_some_and(|d| !d.is_empty()));
        assert_eq!(param(&q, "state"), Some("st-9"));
        assert!(param(&q, "code").is_none());
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_used_one_stops_working() {
    let sim = sim_with(vec![web_app(Some(SECRET))]).await;
    let c = code(&sim, "okta.users.read okta.groups.read offline_access").await;
    let b = body(exchange(&sim, &c, VERIFIER, &basic(SECRET)).await).await;
    assert_eq!(
        b["scope"],
        "okta.users.read okta.groups.read offline_access"
    );
    let first = b["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token")
        .to_string();
    // client_secret_post this time, and a narrower scope.
    let post = [("client_id", WEB), ("client_secret", SECRET)];
    let mut extra = post.to_vec();
    extra.push(("scope", "okta.users.read"));
    let r = refresh(&sim, &first, &extra, &[]).await;
    assert_eq!(r.status(), 200);
    let b = body(r).await;
    assert_eq!(b["scope"], "okta.users.read");
    let second = b["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_string();
    assert_ne!(first, second);
    let d = oauth_error(
        refresh(&sim, &first, &post, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(d, "The refresh token is invalid or expired.");
    let mut wider = post.to_vec();
    wider.push(("scope", "okta.users.manage"));
    oauth_error(
        refresh(&sim, &second, &wider, &[]).await,
        400,
        "invalid_scope",
    )
    .await;
    let r = refresh(&sim, &second, &[], &[("Authorization", &basic(SECRET))]).await;
    assert_eq!(
        body(r).await["scope"],
        "okta.users.read okta.groups.read offline_access",
        "the grant's scopes by default"
    );
    let stats = admin_get(&sim, "/__sim/oauth").await;
    assert_eq!(
        (
            stats["clients"][WEB]["refreshes"].as_u64(),
            stats["clients"][WEB]["tokens_issued"].as_u64()
        ),
        (Some(2), Some(3))
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_with_invalid_client() {
    let sim = sim_with(vec![web_app(Some(SECRET))]).await;
    let c = code(&sim, "okta.users.read").await;
    let d = oauth_error(
        exchange(&sim, &c, VERIFIER, &basic("nope")).await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(
        d,
        "The client secret supplied for a confidential client is invalid."
    );
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &c),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", WEB),
        ("client_secret", "nope"),
    ];
    oauth_error(
        post_form(&sim, "/oauth2/v1/token", &form, &[]).await,
        401,
        "invalid_client",
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &c),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", WEB),
    ];
    oauth_error(
        post_form(&sim, "/oauth2/v1/token", &form, &[]).await,
        401,
        "invalid_client",
    )
    .await;
    let encoded = basic(
        &SECRET
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D"),
    );
    assert_eq!(
        exchange(&sim, &c, VERIFIER, &encoded).await.status(),
        200,
        "form-encoded Basic credentials work too"
    );
}

#[tokio::test]
async fn a_public_client_exchanges_its_code_with_its_client_id_alone() {
    let sim = sim_with(vec![web_app(None)]).await;
    let c = code(&sim, "okta.users.read").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &c),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", WEB),
    ];
    let r = post_form(&sim, "/oauth2/v1/token", &form, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        admin_get(&sim, "/__sim/oauth").await["clients"][WEB]["kind"],
        "public"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_stops_it_and_the_access_tokens_minted_from_it() {
    let sim = sim_with(vec![web_app(Some(SECRET))]).await;
    let c = code(&sim, "okta.users.read offline_access").await;
    let b = body(exchange(&sim, &c, VERIFIER, &basic(SECRET)).await).await;
    let (access, rt) = (
        b["access_token"].as_str().unwrap(),
        b["refresh_token"].as_str().unwrap(),
    );
    let auth = format!("Bearer {access}");
    assert_eq!(
        api_get(&sim, "/api/v1/users", &auth, None).await.status(),
        200
    );
    let r = post_form(
        &sim,
        "/oauth2/v1/revoke",
        &[("token", rt), ("token_type_hint", "refresh_token")],
        &[("Authorization", &basic(SECRET))],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert!(r.bytes().await.unwrap().is_empty());
    let d = oauth_error(
        refresh(&sim, rt, &[], &[("Authorization", &basic(SECRET))]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(d, "The refresh token is invalid or expired.");
    let r = api_get(&sim, "/api/v1/users", &auth, None).await;
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").contains("error=\"invalid_token\""));
    let r = post_form(
        &sim,
        "/oauth2/v1/revoke",
        &[("token", "never-issued")],
        &[("Authorization", &basic(SECRET))],
    )
    .await;
    assert_eq!(
        r.status(),
        200,
        "an unknown token is revoked too (RFC 7009)"
    );
    let r = post_form(&sim, "/oauth2/v1/revoke", &[("token", rt)], &[]).await;
    oauth_error(r, 401, "invalid_client").await;
    assert_eq!(
        admin_get(&sim, "/__sim/oauth").await["clients"][WEB]["revocations"],
        1
    );
}

#[tokio::test]
async fn revoking_an_access_token_stops_that_token_only() {
    let sim = sim_with(vec![service_app(&["okta.users.read"])]).await;
    let (a, b) = (
        service_token(&sim, "okta.users.read").await,
        service_token(&sim, "okta.users.read").await,
    );
    let form = [
        ("token", a.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &assertion(&sim, SVC)),
    ];
    assert_eq!(
        post_form(&sim, "/oauth2/v1/revoke", &form, &[])
            .await
            .status(),
        200
    );
    assert_eq!(
        api_get(&sim, "/api/v1/users", &format!("Bearer {a}"), None)
            .await
            .status(),
        401
    );
    assert_eq!(
        api_get(&sim, "/api/v1/users", &format!("Bearer {b}"), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_dpop_bound_refresh_token_needs_a_proof_from_the_same_key() {
    let mut app = web_app(Some(SECRET));
    app.dpop = true;
    let sim = sim_with(vec![app]).await;
    let key = DpopKey::new();
    let c = code(&sim, "okta.users.read offline_access").await;
    let url = token_url(&sim);
    let proof = key.proof("POST", &url, None, None);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &c),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let auth = basic(SECRET);
    let r = post_form(
        &sim,
        "/oauth2/v1/token",
        &form,
        &[("Authorization", &auth), ("DPoP", &proof)],
    )
    .await;
    let nonce = header(&r, "dpop-nonce");
    oauth_error(r, 400, "use_dpop_nonce").await;
    let proof = key.proof("POST", &url, Some(&nonce), None);
    let r = post_form(
        &sim,
        "/oauth2/v1/token",
        &form,
        &[("Authorization", &auth), ("DPoP", &proof)],
    )
    .await;
    assert_eq!(r.status(), 200, "the code survives a use_dpop_nonce answer");
    let b = body(r).await;
    assert_eq!(b["token_type"], "DPoP");
    let rt = b["refresh_token"].as_str().unwrap();
    let other = DpopKey::new().proof("POST", &url, Some(&nonce), None);
    let r = refresh(&sim, rt, &[], &[("Authorization", &auth), ("DPoP", &other)]).await;
    let d = oauth_error(r, 400, "invalid_dpop_proof").await;
    assert!(d.contains("does not match the key"), "{d}");
    let same = key.proof("POST", &url, Some(&nonce), None);
    let r = refresh(&sim, rt, &[], &[("Authorization", &auth), ("DPoP", &same)]).await;
    assert_eq!(
        r.status(),
        200,
        "a refused proof leaves the refresh token usable"
    );
    assert_eq!(body(r).await["token_type"], "DPoP");
}
