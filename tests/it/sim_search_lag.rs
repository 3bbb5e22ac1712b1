//! Okta's users search is eventually consistent: with a search lag, `search` and `filter`
//! see a write only after a random delay of up to the lag, while the plain listing and GET by
//! id see it at once.

use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::sim_support::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn search_ids(sim: &Sim, mode: &str, expr: &str) -> Vec<String> {
    let (items, _) = follow(sim, &format!("/api/v1/users?{mode}={}", enc(expr))).await;
    ids(&items, "id")
}

/// Wait (with a deadline) until `search` finds exactly `want`; how long it took.
async fn until_search_finds(
    sim: &Sim,
    expr: &str,
    want: &[String],
    deadline: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        if search_ids(sim, "search", expr).await == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < deadline,
            "search never showed {want:?} for {expr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn new_user(login: &str) -> Value {
    json!({"profile": {"login": login, "email": login, "firstName": "Lag", "lastName": "Test"}})
}

#[tokio::test]
async fn search_and_filter_see_a_write_only_after_the_lag_while_listing_and_get_see_it_at_once() {
    let sim = start(SimConfig {
        search_lag: Duration::from_millis(1500),
        ..small()
    })
    .await;
    let login = "lagging.user@example.com";
    let r = send(
        &sim,
        Method::POST,
        "/api/v1/users?activate=true",
        Some(new_user(login)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = json(r).await["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&sim, &format!("/api/v1/users/{id}")).await.status(),
        200
    );
    let (listed, _) = follow(&sim, "/api/v1/users").await;
    assert!(
        ids(&listed, "id").contains(&id),
        "the plain listing is immediate"
    );
    let expr = format!("profile.login eq \"{login}\"");
    let took = until_search_finds(
        &sim,
        &expr,
        std::slice::from_ref(&id),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        took <= Duration::from_millis(1700),
        "visible within the lag, took {took:?}"
    );
    assert_eq!(
        search_ids(&sim, "filter", &expr).await,
        std::slice::from_ref(&id),
        "filter reads the same index"
    );
    // A delete is lagged too: the index still finds the user for a while.
    admin_post(&sim, "/__sim/settings", json!({"search_lag_seconds": 30})).await;
    send(
        &sim,
        Method::POST,
        &format!("/api/v1/users/{id}/lifecycle/deactivate"),
        None,
    )
    .await;
    let deleted = send(&sim, Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        get(&sim, &format!("/api/v1/users/{id}")).await.status(),
        404
    );
    let truth = admin_get(&sim, "/__sim/truth?logs=false").await;
    assert!(
        !truth["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == id.as_str())
    );
    assert_eq!(
        search_ids(&sim, "search", &expr).await,
        [id],
        "the index has not caught up"
    );
}

#[tokio::test]
async fn without_a_lag_search_sees_every_write_at_once() {
    let sim = start(small()).await;
    let login = "prompt.user@example.com";
    let r = send(&sim, Method::POST, "/api/v1/users", Some(new_user(login))).await;
    let id = json(r).await["id"].as_str().unwrap().to_string();
    let expr = format!("profile.login eq \"{login}\"");
    assert_eq!(search_ids(&sim, "search", &expr).await, [id]);
}

async fn admin_post_settings(sim: &Sim, body: Value) -> Value {
    admin_post(sim, "/__sim/settings", body).await
}

#[tokio::test]
async fn the_search_lag_can_be_set_at_run_time_and_a_negative_one_is_refused() {
    let sim = start(small()).await;
    let s = admin_post_settings(&sim, json!({"search_lag_seconds": 2.5})).await;
    assert_eq!(s["search_lag_seconds"], 2.5);
    let bad = admin_post_settings(&sim, json!({"search_lag_seconds": -1})).await;
    assert_eq!(bad["errorCode"], "E0000001");
}

/// Every user `search` finds now, as `(id, lastUpdated)`, sorted.
pub async fn searched_versions(sim: &Sim) -> Vec<(String, String)> {
    let (items, _) = follow(sim, &format!("/api/v1/users?search={}", enc("id pr"))).await;
    let mut out: Vec<(String, String)> = items
        .iter()
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("lastUpdated"))
        })
        .collect();
    out.sort();
    out
}
