//! The simulator's users search index lags writes, as Okta documents for `search` and `filter`:
//! a change shows there only after the lag in force when it was made, while plain listing and GET
//! by id show it at once.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::sim_support::*;

/// `lastUpdated` of `id` as `search` (all statuses) shows it, or `None` if search has no such user.
async fn searched(sim: &okta_sim::Sim, id: &str) -> Option<String> {
    let search: String =
        url::form_urlencoded::byte_serialize(format!("id eq \"{id}\"").as_bytes()).collect();
    let found = json(get(sim, &format!("/api/v1/users?search={search}")).await).await;
    let users = found.as_array().expect("a search answers an array");
    users
        .first()
        .map(|u| u["lastUpdated"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_write_shows_in_search_only_after_the_lag_but_at_once_in_get_and_listing() {
    let sim = start(small()).await;
    let listed = json(get(&sim, "/api/v1/users?limit=1").await).await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let before = searched(&sim, &id).await.expect("search finds the user");
    admin_post(&sim, "/__sim/settings", json!({ "search_lag_seconds": 1 })).await;
    let touched_at = Instant::now();
    let update = json!({ "profile": { "title": "Lagging" } });
    let r = send(
        &sim,
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}"),
        Some(update),
    )
    .await;
    assert_eq!(r.status(), 200);
    let now = json(get(&sim, &format!("/api/v1/users/{id}")).await).await;
    let current = now["lastUpdated"].as_str().unwrap().to_owned();
    assert_ne!(current, before, "GET by id sees the write at once");
    let plain = json(get(&sim, "/api/v1/users?limit=1").await).await;
    assert_eq!(
        plain[0]["lastUpdated"],
        current.as_str(),
        "listing sees it at once"
    );
    assert_eq!(searched(&sim, &id).await.as_deref(), Some(before.as_str()));
    let deadline = touched_at + Duration::from_secs(10);
    while searched(&sim, &id).await.as_deref() != Some(current.as_str()) {
        assert!(Instant::now() < deadline, "search never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        touched_at.elapsed() >= Duration::from_millis(900),
        "search showed the write before the lag had passed"
    );
}
