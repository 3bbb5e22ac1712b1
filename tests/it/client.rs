//! The Okta client against the simulator: pagination, pacing, 429s, retries, errors, and secrecy.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use oktasync::okta::{ClientOptions, OktaClient, OktaError, Request};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    client_for, epoch_now, fast_options, requests, script, sim_get, spawn_sim, truth_users,
};

async fn collect_ids(
    client: &OktaClient,
    path: &str,
    query: &[(&str, &str)],
) -> Result<(Vec<String>, usize), OktaError> {
    let mut pages = client.pages(path, query)?;
    let (mut ids, mut count) = (Vec::new(), 0);
    while let Some(page) = pages.next_page().await? {
        count += 1;
        for item in page.parse::<Value>().expect("JSON items") {
            ids.push(item["id"].as_str().expect("id").to_owned());
        }
    }
    Ok((ids, count))
}

#[tokio::test]
async fn search_listing_visits_every_user_once_even_when_timestamps_tie_across_pages() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 450,
        ..SimConfig::default()
    })
    .await;
    let query = [
        ("search", "lastUpdated ge \"1970-01-01T00:00:00.000Z\""),
        ("sortBy", "lastUpdated"),
        ("sortOrder", "asc"),
        ("limit", "50"),
    ];
    let (mut ids, pages) = collect_ids(&client, "/api/v1/users", &query).await.unwrap();
    assert_eq!(pages, 9);
    let listed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), listed, "no user listed twice");
    let truth: Vec<String> = truth_users(&sim)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, truth);
}

#[tokio::test]
async fn pacing_keeps_a_listing_bigger_than_the_bucket_free_of_429s() {
    let config = SimConfig {
        users: 60,
        rate_limit: Some(8),
        rate_window: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let (sim, client) = spawn_sim(config).await;
    let query = [
        ("search", "lastUpdated ge \"1970-01-01T00:00:00.000Z\""),
        ("limit", "5"),
    ];
    let (ids, pages) = collect_ids(&client, "/api/v1/users", &query).await.unwrap();
    assert_eq!((ids.len(), pages), (60, 12));
    assert_eq!(client.stats().rate_limited, 0);
    assert_eq!(sim_get(&sim, "/__sim/counters").await["rate_limited"], 0);
}

#[tokio::test]
async fn a_429_is_waited_out_until_the_reset_then_retried_with_retry_headers() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    let reset = (epoch_now() + 1).to_string();
    script(&sim, json!([{ "status": 429, "path_prefix": "/api/v1/groups",
        "headers": { "X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset, "X-Okta-Request-Id": "req-429" },
        "body": { "errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests.", "errorCauses": [] } }])).await;
    let started = Instant::now();
    let groups: Vec<Value> = client.get_json("/api/v1/groups", &[]).await.unwrap();
    assert!(!groups.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for the reset: {:?}",
        started.elapsed()
    );
    assert_eq!(client.stats().rate_limited, 1);
    let sent = requests(&sim).await;
    let retry = &sent[sent.len() - 1]["headers"];
    assert_eq!(retry["x-okta-retry-for"], "req-429");
    assert_eq!(retry["x-okta-retry-count"], "1");
}

#[tokio::test]
async fn a_burst_of_server_errors_is_retried_until_success() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    let error = json!({ "status": 500, "body": { "errorCode": "E0000009", "errorSummary": "Internal Server Error", "errorCauses": [] } });
    script(&sim, json!([error, error, error])).await;
    let users: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "3")])
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(requests(&sim).await.len(), 4);
    assert_eq!(client.stats().retries, 3);
}

#[tokio::test]
async fn persistent_server_errors_end_in_a_clear_error_after_the_retry_budget() {
    let (sim, _) = spawn_sim(SimConfig::default()).await;
    let client = client_for(
        &sim,
        ClientOptions {
            max_retries: 2,
            ..fast_options()
        },
    );
    let html =
        json!({ "status": 503, "body": "<html><body><h1>Service Unavailable</h1></body></html>" });
    script(&sim, json!([html, html, html, html])).await;
    let err = client
        .get_json::<Value>("/api/v1/users", &[])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), Some(503));
    assert!(
        text.contains("Service Unavailable") && text.contains("after 3 attempts"),
        "{text}"
    );
    assert_eq!(requests(&sim).await.len(), 3);
}

#[tokio::test]
async fn a_post_that_may_have_reached_okta_is_not_replayed() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    script(&sim, json!([{ "status": 500, "body": { "errorCode": "E0000009", "errorSummary": "Internal Server Error" } }])).await;
    let url = client.url("/api/v1/groups", &[]).unwrap();
    let err = client
        .execute(Request::new(Method::POST, url).json(json!({ "profile": { "name": "once" } })))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("E0000009"));
    assert_eq!(
        requests(&sim).await.len(),
        1,
        "the POST was sent exactly once"
    );
}

#[tokio::test]
async fn a_bad_token_gives_a_message_that_names_the_token_problem() {
    let (sim, _) = spawn_sim(SimConfig::default()).await;
    let org = url::Url::parse(&sim.base_url).unwrap();
    let client = OktaClient::new(org, "wrong".to_string().into(), fast_options()).unwrap();
    let err = client
        .get_json::<Value>("/api/v1/users", &[])
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), Some("E0000011")));
    assert!(err.to_string().contains("OKTA_API_TOKEN"), "{err}");
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused_and_never_requested() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    script(
        &sim,
        json!([{ "status": 200, "body": [{ "id": "00u1" }],
        "headers": { "Link": "<https://evil.example/api/v1/users?after=00u1>; rel=\"next\"" } }]),
    )
    .await;
    let mut pages = client.pages("/api/v1/users", &[]).unwrap();
    let err = pages.next_page().await.unwrap_err();
    assert!(matches!(err, OktaError::ForeignOrigin { .. }), "{err}");
    assert!(err.to_string().contains("evil.example"));
    assert_eq!(requests(&sim).await.len(), 1);
    assert!(
        client
            .url("https://evil.example/api/v1/users", &[])
            .is_err(),
        "paths to other hosts are refused too"
    );
}

#[tokio::test]
async fn comma_joined_link_headers_are_followed() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    let next = format!("{}/api/v1/groups?limit=2", sim.base_url);
    let link = format!(
        "<{}/api/v1/users>; rel=\"self\", <{next}>; rel=\"next\"",
        sim.base_url
    );
    script(
        &sim,
        json!([{ "status": 200, "body": [{ "id": "00u1" }], "headers": { "Link": link } }]),
    )
    .await;
    let mut pages = client.pages("/api/v1/users", &[]).unwrap();
    let first = pages.next_page().await.unwrap().unwrap();
    assert_eq!(first.next.as_ref().map(|u| u.as_str()), Some(next.as_str()));
    let second = pages.next_page().await.unwrap().unwrap();
    assert_eq!(second.items.len(), 2);
    assert!(
        second.items[0].get().contains("00g"),
        "the next page is the groups listing"
    );
}

#[tokio::test]
async fn requests_carry_okta_headers_and_bodyless_posts_send_content_length_zero() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    let user = sim_get(&sim, "/__sim/truth?logs=false").await["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "ACTIVE")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = client
        .url(&format!("/api/v1/users/{user}/lifecycle/suspend"), &[])
        .unwrap();
    client
        .execute(Request::new(Method::POST, url))
        .await
        .unwrap();
    let sent = requests(&sim).await;
    let headers = &sent[0]["headers"];
    assert_eq!(headers["content-length"], "0");
    assert_eq!(headers["accept"], "application/json");
    assert!(
        headers["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("oktasync/")
    );
    assert_eq!(headers["authorization"], format!("SSWS {}", sim.token));
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_get_is_retried() {
    let (sim, _) = spawn_sim(SimConfig::default()).await;
    let client = client_for(
        &sim,
        ClientOptions {
            request_timeout: Duration::from_millis(300),
            ..fast_options()
        },
    );
    script(
        &sim,
        json!([{ "status": 200, "body": [], "delay_ms": 2000 }]),
    )
    .await;
    let users: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "2")])
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(client.stats().retries, 1);
}

/// Collects everything written through `tracing` while it is the default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_never_appears_in_logs_errors_or_debug_output() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let error =
        json!({ "status": 500, "body": { "errorCode": "E0000009", "errorSummary": "boom" } });
    script(&sim, json!([error])).await;
    let _: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "1")])
        .await
        .unwrap();
    let org = url::Url::parse(&sim.base_url).unwrap();
    let bad = OktaClient::new(
        org,
        "not-the-token-but-secret".to_string().into(),
        fast_options(),
    )
    .unwrap();
    let err = bad
        .get_json::<Value>("/api/v1/users", &[])
        .await
        .unwrap_err();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "the retry was logged: {logs}");
    for text in [
        logs,
        err.to_string(),
        format!("{err:?}"),
        format!("{client:?}"),
        format!("{bad:?}"),
    ] {
        assert!(
            !text.contains(&sim.token) && !text.contains("not-the-token-but-secret"),
            "secret leaked: {text}"
        );
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    let elsewhere = format!("{}/api/v1/groups", sim.base_url);
    script(
        &sim,
        json!([{ "status": 302, "headers": { "Location": elsewhere }, "body": "" }]),
    )
    .await;
    let err = client
        .get_json::<Value>("/api/v1/users", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(302));
    assert_eq!(
        requests(&sim).await.len(),
        1,
        "the redirect target was never requested"
    );
}

#[tokio::test]
async fn a_rate_limit_wait_is_capped_then_the_request_goes_again() {
    let (sim, _) = spawn_sim(SimConfig::default()).await;
    let client = client_for(
        &sim,
        ClientOptions {
            max_rate_limit_wait: Duration::from_millis(300),
            ..fast_options()
        },
    );
    let reset = (epoch_now() + 3600).to_string();
    script(&sim, json!([{ "status": 429,
        "headers": { "X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset },
        "body": { "errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests." } }])).await;
    let started = Instant::now();
    let users: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "1")])
        .await
        .unwrap();
    assert_eq!(users.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?} instead of an hour",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_stop_when_the_total_wait_budget_would_be_exceeded() {
    let (sim, _) = spawn_sim(SimConfig::default()).await;
    let options = ClientOptions {
        min_backoff: Duration::from_millis(200),
        max_retry_time: Duration::from_millis(100),
        ..fast_options()
    };
    let client = client_for(&sim, options);
    let error = json!({ "status": 500, "body": { "errorCode": "E0000009", "errorSummary": "Internal Server Error" } });
    script(&sim, json!([error, error, error])).await;
    let started = Instant::now();
    let err = client
        .get_json::<Value>("/api/v1/users", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("E0000009"));
    assert_eq!(
        requests(&sim).await.len(),
        1,
        "no retry fits in a 100 ms budget"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_dropped_connection_is_retried_for_a_get_but_not_for_a_post() {
    let (sim, client) = spawn_sim(SimConfig::default()).await;
    script(&sim, json!([{ "status": 200, "drop": true }])).await;
    let users: Vec<Value> = client
        .get_json("/api/v1/users", &[("limit", "2")])
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(client.stats().retries, 1);

    script(&sim, json!([{ "status": 200, "drop": true }])).await;
    let url = client.url("/api/v1/groups", &[]).unwrap();
    let err = client
        .execute(Request::new(Method::POST, url).json(json!({ "profile": { "name": "once" } })))
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::Transport { .. }), "{err}");
    assert_eq!(
        client.stats().retries,
        1,
        "the POST may have landed, so it is not sent again"
    );
}
