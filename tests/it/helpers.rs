//! Shared test helpers: a simulator with a client pointed at it, and the simulator's admin API.

use std::time::Duration;

use okta_sim::{Sim, SimConfig, spawn};
use oktasync::okta::{ClientOptions, OktaClient};
use secrecy::SecretString;
use serde_json::Value;

/// Retry and pacing options that keep tests fast.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        min_backoff: Duration::from_millis(10),
        request_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

/// A running simulator and a client for it.
pub async fn spawn_sim(config: SimConfig) -> (Sim, OktaClient) {
    let sim = spawn(config).await.expect("simulator starts");
    let client = client_for(&sim, fast_options());
    (sim, client)
}

pub fn client_for(sim: &Sim, options: ClientOptions) -> OktaClient {
    let org = url::Url::parse(&sim.base_url).expect("simulator URL");
    OktaClient::new(org, SecretString::from(sim.token.clone()), options).expect("client")
}

/// GET an admin endpoint of the simulator (`/__sim/...`).
pub async fn sim_get(sim: &Sim, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.base_url))
        .await
        .expect("sim admin GET")
        .json()
        .await
        .expect("sim admin JSON")
}

/// POST to an admin endpoint of the simulator.
pub async fn sim_post(sim: &Sim, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .expect("sim admin POST");
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Queues canned responses that the simulator serves to the next matching API requests.
pub async fn script(sim: &Sim, responses: Value) {
    sim_post(
        sim,
        "/__sim/script",
        serde_json::json!({ "responses": responses }),
    )
    .await;
}

/// The API requests the simulator received, oldest first.
pub async fn requests(sim: &Sim) -> Vec<Value> {
    sim_get(sim, "/__sim/requests")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every user the simulator holds, as `(id, lastUpdated)`, sorted.
pub async fn truth_users(sim: &Sim) -> Vec<(String, String)> {
    let truth = sim_get(sim, "/__sim/truth?logs=false").await;
    let mut users: Vec<(String, String)> = truth["users"]
        .as_array()
        .expect("truth users")
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["lastUpdated"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    users.sort();
    users
}

/// Every System Log uuid the simulator shows now, sorted.
pub async fn truth_logs(sim: &Sim) -> Vec<String> {
    let truth = sim_get(sim, "/__sim/truth").await;
    let mut logs: Vec<String> = truth["logs"]
        .as_array()
        .expect("truth logs")
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    logs.sort();
    logs
}

/// Epoch seconds now.
pub fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Wait until `cond` holds, checking every 20 ms; fail naming `what` after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many System Log events the simulator shows now.
pub async fn visible_logs(sim: &Sim) -> usize {
    sim_get(sim, "/__sim/truth").await["logs"]
        .as_array()
        .map_or(0, Vec::len)
}
