//! Helpers for the simulator tests: start one, call it with its token, read Link headers and
//! follow `next` links to the end.

use okta_sim::{self as sim, Sim, SimConfig};
use reqwest::{Client, Response};
use serde_json::Value;

pub fn small() -> SimConfig {
    SimConfig {
        users: 120,
        logs: 300,
        groups: 6,
        apps: 4,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> Sim {
    sim::spawn(config).await.expect("the simulator starts")
}

pub fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(8)
        .build()
        .expect("a reqwest client")
}

pub async fn get(sim: &Sim, path: &str) -> Response {
    get_url(sim, &format!("{}{path}", sim.base_url)).await
}

pub async fn get_url(sim: &Sim, url: &str) -> Response {
    client()
        .get(url)
        .header("Authorization", format!("SSWS {}", sim.token))
        .send()
        .await
        .expect("GET answers")
}

pub async fn send(sim: &Sim, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
    let rb = client()
        .request(method, format!("{}{path}", sim.base_url))
        .header("Authorization", format!("SSWS {}", sim.token))
        .header("Accept", "application/json");
    let rb = match body {
        Some(b) => rb.json(&b),
        None => rb.header("Content-Length", "0"),
    };
    rb.send().await.expect("request answers")
}

pub async fn json(r: Response) -> Value {
    r.json().await.expect("a JSON body")
}

pub async fn admin_get(sim: &Sim, path: &str) -> Value {
    json(
        client()
            .get(format!("{}{path}", sim.base_url))
            .send()
            .await
            .expect("admin answers"),
    )
    .await
}

pub async fn admin_post(sim: &Sim, path: &str, body: Value) -> Value {
    json(
        client()
            .post(format!("{}{path}", sim.base_url))
            .json(&body)
            .send()
            .await
            .expect("admin answers"),
    )
    .await
}

/// Every `Link` header line as (url, rel).
pub fn links(r: &Response) -> Vec<(String, String)> {
    r.headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (url, rest) = v.split_once(">;")?;
            let rel = rest.split("rel=\"").nth(1)?.trim_end_matches('"');
            Some((url.trim_start_matches('<').to_string(), rel.to_string()))
        })
        .collect()
}

pub fn next_link(r: &Response) -> Option<String> {
    links(r)
        .into_iter()
        .find(|(_, rel)| rel == "next")
        .map(|(u, _)| u)
}

/// Follow `next` from `path` until it stops (or an empty page, for log polling).
pub async fn follow(sim: &Sim, path: &str) -> (Vec<Value>, usize) {
    let mut url = format!("{}{path}", sim.base_url);
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = get_url(sim, &url).await;
        assert_eq!(r.status(), 200, "{url}");
        let next = next_link(&r);
        let page: Vec<Value> = json(r).await.as_array().cloned().unwrap_or_default();
        pages += 1;
        let empty = page.is_empty();
        items.extend(page);
        match next {
            Some(n) if !empty => url = n,
            _ => return (items, pages),
        }
        assert!(pages < 100_000, "runaway pagination");
    }
}

pub fn ids(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[key].as_str().unwrap_or_default().to_string())
        .collect()
}
