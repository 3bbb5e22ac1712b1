//! The System Log: persistence lag, polling versus bounded queries, filters and parameter
//! validation.

use std::collections::HashSet;
use std::time::Duration;

use okta_sim::SimConfig;
use serde_json::{Value, json as j};

use crate::sim_support::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn lag_makes_naive_since_polling_miss_events_that_following_next_catches() {
    let sim = start(SimConfig {
        logs: 0,
        log_lag_seconds: 2,
        ..small()
    })
    .await;
    let start = chrono::Utc::now() - chrono::Duration::seconds(1);
    let since = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let r = get(
        &sim,
        &format!("/api/v1/logs?since={}&limit=1000", enc(&since)),
    )
    .await;
    let mut next = next_link(&r).expect("polling next");
    let mut naive_since = since.clone();
    let mut naive: HashSet<String> = HashSet::new();
    let mut followed: HashSet<String> = HashSet::new();
    for _ in 0..8 {
        admin_post(&sim, "/__sim/logs", j!({"count": 25})).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Naive client: a window from the last `published` it saw up to now.
        let until = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let path = format!(
            "/api/v1/logs?since={}&until={}&limit=1000",
            enc(&naive_since),
            enc(&until)
        );
        let r = get(&sim, &path).await;
        for e in json(r).await.as_array().unwrap() {
            naive.insert(e["uuid"].as_str().unwrap().to_string());
            let p = e["published"].as_str().unwrap().to_string();
            if p > naive_since {
                naive_since = p;
            }
        }
        // Careful client: follow next.
        let r = get_url(&sim, &next).await;
        next = next_link(&r).expect("polling next");
        followed.extend(ids(json(r).await.as_array().unwrap(), "uuid"));
    }
    crate::helpers::wait_until(
        "every event is persisted",
        Duration::from_secs(5),
        || async { crate::helpers::visible_logs(&sim).await == 200 },
    )
    .await;
    for _ in 0..3 {
        let r = get_url(&sim, &next).await;
        next = next_link(&r).unwrap();
        followed.extend(ids(json(r).await.as_array().unwrap(), "uuid"));
    }
    let truth: HashSet<String> = admin_get(&sim, "/__sim/truth").await["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(truth.len(), 200);
    assert_eq!(followed, truth, "following next sees every event");
    assert!(
        naive.len() < truth.len(),
        "naive since-polling misses late events ({} of {})",
        naive.len(),
        truth.len()
    );
}

#[tokio::test]
async fn events_are_invisible_until_persisted() {
    let sim = start(SimConfig {
        logs: 0,
        log_lag_seconds: 3,
        ..small()
    })
    .await;
    admin_post(&sim, "/__sim/logs", j!({"count": 200})).await;
    let now = admin_get(&sim, "/__sim/truth").await["logs"]
        .as_array()
        .unwrap()
        .len();
    assert!(now < 200, "some events are still in flight: {now}");
    let started = std::time::Instant::now();
    crate::helpers::wait_until(
        "every event is persisted",
        Duration::from_secs(6),
        || async { crate::helpers::visible_logs(&sim).await == 200 },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(3100),
        "all persisted within the 3 s lag"
    );
    assert_eq!(
        admin_get(&sim, "/__sim/truth").await["logs"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
}

#[tokio::test]
async fn bounded_queries_order_by_published_and_end_without_next() {
    let sim = start(small()).await;
    let until = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (items, pages) = follow(
        &sim,
        &format!("/api/v1/logs?until={}&limit=50", enc(&until)),
    )
    .await;
    assert_eq!(items.len(), 300);
    assert!(pages >= 6);
    let p: Vec<&str> = items
        .iter()
        .map(|e| e["published"].as_str().unwrap())
        .collect();
    assert!(p.windows(2).all(|w| w[0] <= w[1]));
    let (desc, _) = follow(&sim, "/api/v1/logs?sortOrder=DESCENDING&limit=70").await;
    assert_eq!(desc.len(), 300);
    let p: Vec<&str> = desc
        .iter()
        .map(|e| e["published"].as_str().unwrap())
        .collect();
    assert!(p.windows(2).all(|w| w[0] >= w[1]));
    let last = get(
        &sim,
        &format!("/api/v1/logs?until={}&limit=1000", enc(&until)),
    )
    .await;
    assert!(
        next_link(&last).is_none(),
        "the last bounded page has no next"
    );
}

#[tokio::test]
async fn log_filters_and_keywords_select_events() {
    let sim = start(SimConfig {
        logs: 2000,
        ..small()
    })
    .await;
    let (all, _) = follow(&sim, "/api/v1/logs?limit=1000").await;
    let f = enc(r#"eventType eq "user.session.start" and outcome.result eq "FAILURE""#);
    let (hits, _) = follow(&sim, &format!("/api/v1/logs?limit=1000&filter={f}")).await;
    let want = all
        .iter()
        .filter(|e| e["eventType"] == "user.session.start" && e["outcome"]["result"] == "FAILURE")
        .count();
    assert!(want > 0);
    assert_eq!(hits.len(), want);
    let tid = all
        .iter()
        .find_map(|e| {
            e["target"]
                .as_array()
                .and_then(|t| t.first())
                .map(|t| t["id"].clone())
        })
        .unwrap();
    let f = enc(&format!(r#"target.id eq "{}""#, tid.as_str().unwrap()));
    let (hits, _) = follow(&sim, &format!("/api/v1/logs?limit=1000&filter={f}")).await;
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|e| {
        e["target"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == tid)
    }));
    let (hits, _) = follow(&sim, "/api/v1/logs?limit=1000&q=USER%20login").await;
    assert!(!hits.is_empty() && hits.len() < all.len());
}

async fn error_code(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, json(r).await["errorCode"].clone())
}

#[tokio::test]
async fn bad_log_queries_get_okta_errors() {
    let sim = start(small()).await;
    let old = (chrono::Utc::now() - chrono::Duration::days(200))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let cases = [
        (format!("/api/v1/logs?since={}", enc(&old)), 400, "E0000053"),
        (
            format!(
                "/api/v1/logs?filter={}",
                enc(r#"published gt "2024-01-01T00:00:00Z""#)
            ),
            400,
            "E0000053",
        ),
        (
            format!("/api/v1/logs?filter={}", enc("eventType eq")),
            400,
            "E0000053",
        ),
        (
            format!(
                "/api/v1/logs?since={}&after=abc",
                enc(&chrono::Utc::now().to_rfc3339())
            ),
            400,
            "E0000001",
        ),
    ];
    for (path, status, code) in cases {
        let (s, c) = error_code(get(&sim, &path).await).await;
        assert_eq!((s, c.as_str().unwrap_or("")), (status, code), "{path}");
    }
}

#[tokio::test]
async fn rendered_events_look_like_okta_log_events() {
    let sim = start(small()).await;
    let v = json(get(&sim, "/api/v1/logs?limit=100").await).await;
    let events = v.as_array().unwrap();
    assert_eq!(events.len(), 100);
    for e in events {
        assert_eq!(e["version"], "0");
        assert!(e["published"].as_str().unwrap().ends_with('Z'));
        assert_eq!(e["published"].as_str().unwrap().len(), 24);
        assert!(e["debugContext"]["debugData"]["requestId"].is_string());
        assert!(e["target"].is_null() || e["target"].is_array());
        assert!(e["client"]["geographicalContext"]["geolocation"]["lat"].is_number());
    }
}

/// The value of `name` in a URL's query.
fn query_value(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn a_bounded_query_repeating_since_and_until_beside_after_pages_as_okta_sdks_do() {
    let sim = start(small()).await;
    let now = chrono::Utc::now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| {
        enc(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let bounds = format!(
        "since={}&until={}&limit=40",
        fmt(now - chrono::Duration::days(90)),
        fmt(now)
    );
    // The official SDKs send the original parameters again with the `after` of `next`.
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/logs?{bounds}");
    loop {
        let r = get(&sim, &path).await;
        assert_eq!(r.status(), 200, "{path}");
        let next = next_link(&r);
        seen.extend(ids(json(r).await.as_array().unwrap(), "uuid"));
        let Some(after) = next.as_deref().and_then(|n| query_value(n, "after")) else {
            break;
        };
        path = format!("/api/v1/logs?{bounds}&after={}", enc(&after));
    }
    let truth = admin_get(&sim, "/__sim/truth").await;
    let mut want: Vec<String> = truth["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    want.sort();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    seen.sort();
    assert_eq!(seen, want, "every event of the last 90 days, once");
}
