//! What Okta does out of sight of the answer: failed writes that were applied anyway, and
//! lifecycle changes that run asynchronously through `transitioningToStatus`.

use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::sim_support::*;

fn new_user(login: &str) -> Value {
    json!({"profile": {"login": login, "email": login, "firstName": "Async", "lastName": "Test"},
        "credentials": {"password": {"value": "Tr0ub4dor&3-horse"}}})
}

/// POST a user and report whether any answer came back, and its status.
async fn try_create(base_url: &str, token: &str, login: &str) -> Option<u16> {
    client()
        .post(format!("{base_url}/api/v1/users?activate=false"))
        .header("Authorization", format!("SSWS {token}"))
        .json(&new_user(login))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn some_writes_that_fail_with_500_or_a_dropped_connection_were_applied_and_the_truth_shows_it()
 {
    let sim = start(small()).await;
    let before = admin_get(&sim, "/__sim/truth?logs=false").await["users"]
        .as_array()
        .unwrap()
        .len();
    admin_post(&sim, "/__sim/settings", json!({"fail_rate": 1.0})).await;
    let logins: Vec<String> = (0..40)
        .map(|i| format!("lost.answer.{i}@example.com"))
        .collect();
    // At once, so that the slow faults overlap.
    let mut tries = tokio::task::JoinSet::new();
    for login in logins.clone() {
        let (base_url, token) = (sim.base_url.clone(), sim.token.clone());
        tries.spawn(async move { try_create(&base_url, &token, &login).await });
    }
    let mut answered_ok = 0;
    while let Some(status) = tries.join_next().await {
        if status.unwrap() == Some(200) {
            answered_ok += 1; // a slow or truncated answer still ran the handler
        }
    }
    admin_post(&sim, "/__sim/settings", json!({"fail_rate": 0.0})).await;
    let counters = admin_get(&sim, "/__sim/counters").await;
    let applied = counters["faults_applied"].as_u64().unwrap();
    let mut exist = 0;
    for login in &logins {
        if get(&sim, &format!("/api/v1/users/{login}")).await.status() == 200 {
            exist += 1;
        }
    }
    let after = admin_get(&sim, "/__sim/truth?logs=false").await["users"]
        .as_array()
        .unwrap()
        .len();
    assert!(applied > 0, "some failed writes were applied");
    assert_eq!(
        after - before,
        exist,
        "the truth holds every user that exists"
    );
    assert!(
        exist as u64 >= applied && exist < logins.len(),
        "{exist} created: {applied} despite an error, the rest by slow or truncated answers \
         ({answered_ok} answered 200); some failed writes were not applied"
    );
}

async fn user(sim: &Sim, id: &str) -> Value {
    json(get(sim, &format!("/api/v1/users/{id}")).await).await
}

/// Wait (with a deadline) until the user has `status` and no transition running.
async fn until_settled(sim: &Sim, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let u = user(sim, id).await;
        if u["status"] == status && u.get("transitioningToStatus").is_none() {
            return u;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never settled at {status}: {u}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn activation_and_async_deactivation_pass_through_transitioning_to_status() {
    let sim = start(SimConfig {
        transition: Duration::from_millis(400),
        ..small()
    })
    .await;
    let r = send(
        &sim,
        Method::POST,
        "/api/v1/users?activate=false",
        Some(new_user("t@example.com")),
    )
    .await;
    let id = json(r).await["id"].as_str().unwrap().to_string();
    let path = |op: &str| format!("/api/v1/users/{id}/lifecycle/{op}");
    let r = send(
        &sim,
        Method::POST,
        &format!("{}?sendEmail=false", path("activate")),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let u = user(&sim, &id).await;
    assert_eq!(
        (u["status"].as_str(), u["transitioningToStatus"].as_str()),
        (Some("STAGED"), Some("ACTIVE")),
        "activation is asynchronous"
    );
    let u = until_settled(&sim, &id, "ACTIVE").await;
    assert!(u["activated"].is_string());
    // Deactivation is synchronous unless asked for with Prefer: respond-async.
    let r = client()
        .post(format!("{}{}", sim.base_url, path("deactivate")))
        .header("Authorization", format!("SSWS {}", sim.token))
        .header("Prefer", "respond-async")
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let u = user(&sim, &id).await;
    assert_eq!(u["transitioningToStatus"], "DEPROVISIONED");
    assert_eq!(u["status"], "ACTIVE");
    until_settled(&sim, &id, "DEPROVISIONED").await;
    let truth = admin_get(&sim, "/__sim/truth?logs=false").await;
    let t = truth["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .cloned();
    assert_eq!(t.unwrap()["status"], "DEPROVISIONED");
    send(
        &sim,
        Method::POST,
        &format!("{}?sendEmail=false", path("activate")),
        None,
    )
    .await;
    until_settled(&sim, &id, "ACTIVE").await;
    send(&sim, Method::POST, &path("deactivate"), None).await;
    let u = user(&sim, &id).await;
    assert_eq!(
        (u["status"].as_str(), u.get("transitioningToStatus")),
        (Some("DEPROVISIONED"), None)
    );
}
