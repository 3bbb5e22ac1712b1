//! `/api/v1` with OAuth tokens: scopes per operation (403 E0000006 naming the scope), expired
//! and unknown tokens (401 `invalid_token`), and the API token in every form Okta's SDKs
//! send it.

use std::time::Duration;

use okta_sim::OAuthApp;

use super::support::*;
use crate::sim_support::{client, json};

#[tokio::test]
async fn a_token_without_the_operations_scope_gets_403_e0000006_naming_the_scope() {
    let sim = sim_with(vec![service_app(&[
        "okta.users.read",
        "okta.groups.manage",
    ])])
    .await;
    let token = service_token(&sim, "okta.users.read okta.groups.manage").await;
    let auth = format!("Bearer {token}");
    assert_eq!(
        api_get(&sim, "/api/v1/users", &auth, None).await.status(),
        200
    );
    assert_eq!(
        api_get(&sim, "/api/v1/groups", &auth, None).await.status(),
        200,
        "manage includes read"
    );
    let r = api_get(&sim, "/api/v1/logs", &auth, None).await;
    assert_eq!(r.status(), 403);
    let challenge = header(&r, "www-authenticate");
    let base = &sim.base_url;
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", scope=\"okta.logs.read\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"/api/v1/logs\""
        )
    );
    let b = json(r).await;
    assert_eq!(b["errorCode"], "E0000006");
    assert_eq!(
        b["errorSummary"],
        "You do not have permission to perform the requested action"
    );
    let r = client()
        .post(format!("{base}/api/v1/users"))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"profile": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a write needs manage");
    assert!(header(&r, "www-authenticate").contains("scope=\"okta.users.manage\""));
}

#[tokio::test]
async fn an_expired_access_token_gets_401_invalid_token_with_the_bearer_challenge() {
    let mut app = service_app(&["okta.users.read"]);
    app.token_lifetime = Duration::from_secs(1);
    let sim = sim_with(vec![app]).await;
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
    let b = body(r).await;
    assert_eq!(b["expires_in"], 1);
    let auth = format!("Bearer {}", b["access_token"].as_str().unwrap());
    let r = wait_for(
        Duration::from_secs(5),
        || api_get(&sim, "/api/v1/users?limit=1", &auth, None),
        |r| r.status() != 200,
    )
    .await;
    assert_eq!(r.status(), 401);
    let base = &sim.base_url;
    assert_eq!(
        header(&r, "www-authenticate"),
        format!(
            "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", error=\"invalid_token\", error_description=\"The token has expired.\""
        )
    );
    let b = json(r).await;
    assert_eq!(
        (b["errorCode"].as_str(), b["errorSummary"].as_str()),
        (Some("E0000011"), Some("Invalid token provided"))
    );
}

#[tokio::test]
async fn an_unknown_bearer_token_gets_the_same_401_invalid_token() {
    let sim = sim_with(vec![]).await;
    let r = api_get(
        &sim,
        "/api/v1/users",
        "Bearer not-a-token-the-org-issued",
        None,
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").contains("error=\"invalid_token\""));
    assert_eq!(json(r).await["errorCode"], "E0000011");
}

#[tokio::test]
async fn the_api_token_works_as_ssws_with_or_without_a_space_and_as_bearer() {
    let sim = sim_with(vec![]).await;
    for auth in [
        format!("SSWS {}", sim.token),
        format!("SSWS{}", sim.token),
        format!("Bearer {}", sim.token),
    ] {
        assert_eq!(
            api_get(&sim, "/api/v1/groups", &auth, None).await.status(),
            200,
            "{auth}"
        );
    }
    for auth in [
        format!("SSWS{}x", sim.token),
        "SSWSwrong".into(),
        "SSWS".into(),
    ] {
        let r = api_get(&sim, "/api/v1/groups", &auth, None).await;
        assert_eq!(r.status(), 401, "{auth}");
        assert_eq!(json(r).await["errorCode"], "E0000011");
    }
}

#[tokio::test]
async fn oauth_requests_have_their_own_rate_limit_bucket_and_answer_429_in_oktas_shape() {
    let sim = crate::sim_support::start(okta_sim::SimConfig {
        users: 20,
        logs: 20,
        rate_limit: Some(2),
        oauth_apps: vec![OAuthApp::service(
            SVC,
            vec![public_pem("rsa-public.pem", None)],
            ["okta.users.read"],
        )],
        ..okta_sim::SimConfig::default()
    })
    .await;
    for _ in 0..2 {
        let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
        assert_eq!(r.status(), 200);
    }
    let r = client_credentials(&sim, &assertion(&sim, SVC), "okta.users.read", None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-rate-limit-remaining"), "0");
    assert_eq!(json(r).await["errorCode"], "E0000047");
    let users = api_get(&sim, "/api/v1/users", &format!("SSWS {}", sim.token), None).await;
    assert_eq!(users.status(), 200, "the API buckets are separate");
}
