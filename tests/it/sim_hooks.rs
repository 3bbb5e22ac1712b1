//! The simulator delivers event hooks the way Okta does: only to ACTIVE and VERIFIED hooks, the
//! events of their types in Okta's envelope with their headers and secret, batched, retried once
//! after a 5xx or a timeout and never after a 4xx; hook URLs must be HTTPS off loopback.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use okta_sim::Sim;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{sim_get, sim_post};
use crate::hook_support::eventually;
use crate::sim_support::{json as body_json, send, small, start};

/// What the endpoint answers a POST with: a status, after a delay.
type Answer = (u16, Duration);

/// A hook endpoint on loopback: echoes the challenge, answers POSTs from a script (then 200),
/// and keeps every POST's headers and body.
#[derive(Clone, Default)]
struct Endpoint {
    script: Arc<Mutex<VecDeque<Answer>>>,
    posts: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

impl Endpoint {
    async fn serve(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::get(|h: HeaderMap| async move {
                let c = h
                    .get("x-okta-verification-challenge")
                    .and_then(|v| v.to_str().ok());
                axum::Json(json!({ "verification": c.unwrap_or_default() }))
            })
            .post(move |h: HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    let answer = me.script.lock().unwrap().pop_front();
                    let (status, delay) = answer.unwrap_or((200, Duration::ZERO));
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    me.posts.lock().unwrap().push((h, body));
                    tokio::time::sleep(delay).await;
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn posts(&self) -> Vec<(HeaderMap, Value)> {
        self.posts.lock().unwrap().clone()
    }
}

/// Creates a hook for `events` at `uri`, verified unless `verify` is false; its id.
async fn hook(sim: &Sim, uri: &str, events: &[&str], verify: bool) -> String {
    let body = json!({"name": "test", "events": {"type": "EVENT_TYPE", "items": events},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri,
            "headers": [{"key": "X-Source", "value": "okta"}],
            "authScheme": {"type": "HEADER", "key": "Authorization", "value": "s3cret"}}}});
    let created = body_json(send(sim, Method::POST, "/api/v1/eventHooks", Some(body)).await).await;
    let id = created["id"].as_str().expect("a hook id").to_owned();
    if verify {
        let path = format!("/api/v1/eventHooks/{id}/lifecycle/verify");
        let verified = body_json(send(sim, Method::POST, &path, None).await).await;
        assert_eq!(verified["verificationStatus"], "VERIFIED");
    }
    id
}

/// Creates `n` users through the simulator; each writes a create and an activate event.
async fn new_users(sim: &Sim, n: usize) -> Vec<String> {
    let made = sim_post(sim, "/__sim/users/create", json!({ "count": n })).await;
    made["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect()
}

/// The attempts the simulator made to `hook_id`.
async fn attempts(sim: &Sim, hook_id: &str) -> Vec<Value> {
    let all = sim_get(sim, "/__sim/hooks/deliveries").await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["hook_id"] == hook_id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn deliveries_carry_okta_s_envelope_the_hook_s_headers_and_only_its_event_types() {
    let sim = start(small()).await;
    let endpoint = Endpoint::default();
    let uri = endpoint.serve().await;
    let id = hook(&sim, &uri, &["user.lifecycle.create"], true).await;
    let users = new_users(&sim, 2).await;
    let e = endpoint.clone();
    eventually(Duration::from_secs(5), "a delivery", || async {
        !e.posts().is_empty()
    })
    .await;
    let (headers, body) = endpoint.posts().remove(0);
    assert_eq!(headers["authorization"], "s3cret");
    assert_eq!(headers["x-source"], "okta");
    assert_eq!(headers["content-type"], "application/json");
    for (key, value) in [
        ("eventType", json!("com.okta.event_hook")),
        ("eventTypeVersion", json!("1.0")),
        ("cloudEventsVersion", json!("0.1")),
        ("contentType", json!("application/json")),
        (
            "source",
            json!(format!("{}/api/v1/eventHooks/{id}", sim.base_url)),
        ),
    ] {
        assert_eq!(body[key], value, "{key}");
    }
    assert!(body["eventId"].is_string() && body["eventTime"].is_string());
    let events = body["data"]["events"].as_array().unwrap();
    let types: BTreeSet<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["user.lifecycle.create"]),
        "not the activations"
    );
    let targets: BTreeSet<String> = events
        .iter()
        .map(|e| e["target"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        targets,
        users.into_iter().collect(),
        "one create event per new user"
    );
}

#[tokio::test]
async fn a_5xx_or_a_timeout_is_retried_once_and_a_4xx_never() {
    let sim = start(small()).await;
    let endpoint = Endpoint::default();
    let uri = endpoint.serve().await;
    let id = hook(&sim, &uri, &["user.lifecycle.create"], true).await;
    let cases: [(Vec<Answer>, Vec<Value>); 4] = [
        (vec![(500, Duration::ZERO)], vec![json!(500), json!(200)]),
        (vec![(400, Duration::ZERO)], vec![json!(400)]),
        (
            vec![(503, Duration::ZERO), (502, Duration::ZERO)],
            vec![json!(503), json!(502)],
        ),
        (
            vec![(200, Duration::from_secs(4))],
            vec![Value::Null, json!(200)],
        ),
    ];
    for (script, expected) in cases {
        *endpoint.script.lock().unwrap() = script.into();
        let before = attempts(&sim, &id).await.len();
        let started = Instant::now();
        new_users(&sim, 1).await;
        let done = || async { attempts(&sim, &id).await.len() >= before + expected.len() };
        eventually(Duration::from_secs(10), "the attempts", done).await;
        let made: Vec<Value> = attempts(&sim, &id).await[before..].to_vec();
        let statuses: Vec<Value> = made.iter().map(|a| a["status"].clone()).collect();
        assert_eq!(statuses, expected);
        assert!(
            made.iter().all(|a| a["event_id"] == made[0]["event_id"]),
            "a retry is the same delivery"
        );
        if expected[0].is_null() {
            assert!(
                made[0]["error"]
                    .as_str()
                    .unwrap()
                    .contains("timed out after 3 s")
            );
            assert!(started.elapsed() >= Duration::from_secs(3));
        }
    }
    let settled = attempts(&sim, &id).await.len();
    let witness = Endpoint::default();
    let witness_id = hook(
        &sim,
        &witness.serve().await,
        &["user.lifecycle.create"],
        true,
    )
    .await;
    new_users(&sim, 1).await;
    let done = || async { !attempts(&sim, &witness_id).await.is_empty() };
    eventually(Duration::from_secs(5), "the witness hook's delivery", done).await;
    assert_eq!(
        attempts(&sim, &id).await.len(),
        settled + 1,
        "no third attempt of anything"
    );
}

#[tokio::test]
async fn only_active_and_verified_hooks_get_events_in_batches_of_the_configured_size() {
    let sim = start(small()).await;
    let (witness, unverified, inactive) = (
        Endpoint::default(),
        Endpoint::default(),
        Endpoint::default(),
    );
    let events = ["user.lifecycle.create", "user.lifecycle.activate"];
    let witness_id = hook(&sim, &witness.serve().await, &events, true).await;
    hook(&sim, &unverified.serve().await, &events, false).await;
    let off = hook(&sim, &inactive.serve().await, &events, true).await;
    send(
        &sim,
        Method::POST,
        &format!("/api/v1/eventHooks/{off}/lifecycle/deactivate"),
        None,
    )
    .await;
    sim_post(&sim, "/__sim/hooks/settings", json!({"batch_size": 2})).await;
    new_users(&sim, 3).await;
    let done = || async { attempts(&sim, &witness_id).await.len() >= 3 };
    eventually(Duration::from_secs(5), "three deliveries", done).await;
    let sizes: Vec<usize> = witness
        .posts()
        .iter()
        .map(|(_, b)| b["data"]["events"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [2, 2, 2], "six events in batches of two");
    assert!(unverified.posts().is_empty() && inactive.posts().is_empty());
}

#[tokio::test]
async fn hook_urls_off_loopback_must_be_https_and_filters_must_be_understood() {
    let sim = start(small()).await;
    let body = |uri: &str, filter: Value| {
        json!({"name": "n", "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"], "filter": filter},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri}}})
    };
    let good = json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [{"event": "user.lifecycle.create",
        "condition": {"expression": "event.target.?[type eq 'User'].size() > 0"}}]});
    let bad = json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [{"event": "user.lifecycle.create",
        "condition": {"expression": "user.matches('x"}}]});
    for (uri, filter, status) in [
        ("https://hooks.example.com/okta", Value::Null, 200),
        ("http://127.0.0.1:9/hook", good.clone(), 200),
        ("http://hooks.example.com/okta", Value::Null, 400),
        ("https://hooks.example.com/okta", bad, 400),
    ] {
        let answer = send(
            &sim,
            Method::POST,
            "/api/v1/eventHooks",
            Some(body(uri, filter)),
        )
        .await;
        assert_eq!(answer.status(), status, "{uri}");
        if status == 400 {
            assert_eq!(body_json(answer).await["errorCode"], "E0000001");
        }
    }
}
