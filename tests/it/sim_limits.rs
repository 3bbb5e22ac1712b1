//! Rate limits, concurrency limits, authentication and the Content-Length rule.

use std::time::Duration;

use okta_sim::SimConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sim_support::*;

fn header(r: &reqwest::Response, name: &str) -> i64 {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

#[tokio::test]
async fn a_bucket_of_n_answers_429_e0000047_on_request_n_plus_one_with_consistent_headers() {
    let sim = start(SimConfig {
        rate_limit: Some(5),
        rate_window: Duration::from_secs(2),
        ..small()
    })
    .await;
    let mut resets = Vec::new();
    for i in 1..=5 {
        let r = get(&sim, "/api/v1/users?limit=1").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-rate-limit-limit"), 5);
        assert_eq!(header(&r, "x-rate-limit-remaining"), 5 - i);
        resets.push(header(&r, "x-rate-limit-reset"));
    }
    let r = get(&sim, "/api/v1/users?limit=1").await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        (
            header(&r, "x-rate-limit-limit"),
            header(&r, "x-rate-limit-remaining")
        ),
        (5, 0)
    );
    let reset = header(&r, "x-rate-limit-reset");
    assert!(resets.iter().all(|x| *x == reset), "one window, one reset");
    let now = chrono::Utc::now().timestamp();
    assert!(
        reset > now - 1 && reset <= now + 3,
        "reset {reset} is the window end in epoch seconds (now {now})"
    );
    assert!(r.headers().contains_key("x-okta-request-id") && r.headers().contains_key("date"));
    assert_eq!(json(r).await["errorCode"], "E0000047");
    let other = get(&sim, "/api/v1/groups").await;
    assert_eq!(other.status(), 200, "other buckets are not affected");
    let r = get(&sim, "/api/v1/users?limit=1").await;
    assert_eq!(r.status(), 429, "a 429 does not open a new window");
    let c = admin_get(&sim, "/__sim/counters").await;
    assert_eq!(c["rate_limited"], 2);
    let mut r = get(&sim, "/api/v1/users?limit=1").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    while r.status() == 429 {
        assert!(
            std::time::Instant::now() < deadline,
            "the window never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        r = get(&sim, "/api/v1/users?limit=1").await;
    }
    assert_eq!(r.status(), 200, "a new window opens after the old one ends");
    assert_eq!(header(&r, "x-rate-limit-remaining"), 4);
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_get_429_with_limit_zero() {
    let sim = start(SimConfig {
        concurrency_limit: Some(2),
        ..small()
    })
    .await;
    let slow = serde_json::json!({"status": 200, "body": [], "delay_ms": 600});
    admin_post(
        &sim,
        "/__sim/script",
        serde_json::json!({"responses": [slow.clone(), slow]}),
    )
    .await;
    let a = get(&sim, "/api/v1/groups");
    let b = get(&sim, "/api/v1/groups");
    let c = async {
        crate::helpers::wait_until(
            "two requests are in flight",
            Duration::from_secs(5),
            || async { admin_get(&sim, "/__sim/counters").await["peak_concurrency"] == 2 },
        )
        .await;
        get(&sim, "/api/v1/users").await
    };
    let (a, b, c) = tokio::join!(a, b, c);
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(c.status(), 429);
    assert_eq!(
        (
            header(&c, "x-rate-limit-limit"),
            header(&c, "x-rate-limit-remaining")
        ),
        (0, 0)
    );
    let now = chrono::Utc::now().timestamp();
    assert!((now..=now + 2).contains(&header(&c, "x-rate-limit-reset")));
    assert_eq!(json(c).await["errorCode"], "E0000047");
    assert_eq!(
        admin_get(&sim, "/__sim/counters").await["peak_concurrency"],
        3
    );
    assert_eq!(
        get(&sim, "/api/v1/users").await.status(),
        200,
        "free once concurrency drops"
    );
}

#[tokio::test]
async fn a_bad_or_missing_token_gets_401_e0000011_and_bearer_is_accepted() {
    let sim = start(small()).await;
    let url = format!("{}/api/v1/users", sim.base_url);
    for auth in [None, Some("SSWS wrong"), Some("Basic abc")] {
        let mut rb = client().get(&url);
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert!(r.headers().contains_key("x-rate-limit-limit"));
        let b = json(r).await;
        assert_eq!(b["errorCode"], "E0000011");
        assert_eq!(b["errorSummary"], "Invalid token provided");
    }
    let r = client()
        .get(&url)
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_post_without_body_or_content_length_gets_411() {
    let sim = start(small()).await;
    let addr = sim.base_url.trim_start_matches("http://").to_string();
    let users = json(
        get(
            &sim,
            "/api/v1/users?search=status%20eq%20%22ACTIVE%22&limit=1",
        )
        .await,
    )
    .await;
    let id = users[0]["id"].as_str().unwrap().to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST /api/v1/users/{id}/lifecycle/suspend HTTP/1.1\r\nHost: {addr}\r\nAuthorization: SSWS {}\r\nConnection: close\r\n\r\n",
        sim.token
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 411"), "{out}");
    let ok = send(
        &sim,
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}/lifecycle/suspend"),
        None,
    )
    .await;
    assert_eq!(ok.status(), 200, "with Content-Length: 0 it works");
}

#[tokio::test]
async fn every_response_carries_date_request_id_and_rate_headers() {
    let sim = start(small()).await;
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/api/v1/users",
        "/api/v1/users/nope",
        "/api/v1/policies",
        "/api/v1/nothing",
    ] {
        let r = get(&sim, path).await;
        for h in [
            "date",
            "x-okta-request-id",
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
        ] {
            assert!(r.headers().contains_key(h), "{path} lacks {h}");
        }
        seen.insert(
            r.headers()["x-okta-request-id"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen.len(), 4, "request ids are unique");
}

#[tokio::test]
async fn asked_for_okta_limits_each_bucket_gets_a_developer_orgs_share_scaled_and_overridable() {
    let sim = start(SimConfig {
        rate_limits: Some(okta_sim::RateLimits {
            multiplier: 0.1,
            overrides: vec![(okta_sim::Bucket::AppById, 1)],
        }),
        ..small()
    })
    .await;
    // A developer org allows 20 System Log calls a minute: a tenth is 2.
    for remaining in [1, 0] {
        let r = get(&sim, "/api/v1/logs?limit=1").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-rate-limit-limit"), 2);
        assert_eq!(header(&r, "x-rate-limit-remaining"), remaining);
    }
    assert_eq!(get(&sim, "/api/v1/logs?limit=1").await.status(), 429);
    // Users: 100 a minute, a tenth is 10; lifecycle calls are in "most other API actions".
    let r = get(&sim, "/api/v1/users?limit=1").await;
    assert_eq!(header(&r, "x-rate-limit-limit"), 10);
    let id = json(r).await[0]["id"].as_str().unwrap().to_string();
    let r = send(
        &sim,
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}/lifecycle/suspend"),
        None,
    )
    .await;
    assert_eq!(header(&r, "x-rate-limit-limit"), 10, "the /api/v1 bucket");
    assert_eq!(header(&r, "x-rate-limit-remaining"), 9, "its own window");
    let apps = json(get(&sim, "/api/v1/apps").await).await;
    let app = apps[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&sim, &format!("/api/v1/apps/{app}")).await.status(),
        200
    );
    let r = get(&sim, &format!("/api/v1/apps/{app}")).await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "x-rate-limit-limit")),
        (429, 1)
    );
    // At run time one bucket can be changed by name.
    let s = admin_post(
        &sim,
        "/__sim/settings",
        serde_json::json!({"bucket_limits": {"logs": 50}}),
    )
    .await;
    assert_eq!(s["bucket_limits"]["logs"], 50);
    assert_eq!(
        s["concurrency_limit"], 35,
        "a developer org's concurrency limit"
    );
}
