//! Pagination: every record exactly once when `next` links are followed, and the ways naive
//! clients lose data.

use std::collections::HashSet;

use serde_json::Value;

use crate::sim_support::*;

fn uniq(v: &[String]) -> HashSet<String> {
    v.iter().cloned().collect()
}

async fn truth_users(sim: &okta_sim::Sim) -> Vec<Value> {
    admin_get(sim, "/__sim/truth?logs=false").await["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn plain_user_listing_visits_every_non_deprovisioned_user_once() {
    let sim = start(small()).await;
    let (items, pages) = follow(&sim, "/api/v1/users?limit=7").await;
    let got = ids(&items, "id");
    assert_eq!(got.len(), uniq(&got).len(), "no repeats");
    let want: HashSet<String> = truth_users(&sim)
        .await
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(uniq(&got), want);
    assert!(pages > 10);
}

#[tokio::test]
async fn plain_user_listing_leaves_out_deprovisioned_users_that_search_returns() {
    let sim = start(small()).await;
    let (plain, _) = follow(&sim, "/api/v1/users").await;
    let (searched, _) = follow(&sim, "/api/v1/users?search=status%20pr").await;
    let dep: Vec<&Value> = searched
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .collect();
    assert!(!dep.is_empty(), "the org has deprovisioned users");
    assert!(plain.iter().all(|u| u["status"] != "DEPROVISIONED"));
    assert_eq!(searched.len(), plain.len() + dep.len());
    assert_eq!(searched.len(), truth_users(&sim).await.len());
}

#[tokio::test]
async fn search_sorted_by_last_updated_visits_every_user_once_across_tied_timestamps() {
    let sim = start(SimConfig {
        users: 400,
        ..small()
    })
    .await;
    let truth = truth_users(&sim).await;
    let mut lu: Vec<&str> = truth
        .iter()
        .map(|u| u["lastUpdated"].as_str().unwrap_or_default())
        .collect();
    let n = lu.len();
    lu.sort();
    lu.dedup();
    assert!(n - lu.len() > 50, "many users share lastUpdated");
    let q = "/api/v1/users?search=lastUpdated%20gt%20%222000-01-01T00:00:00.000Z%22&sortBy=lastUpdated&sortOrder=asc&limit=5";
    let (items, _) = follow(&sim, q).await;
    let got = ids(&items, "id");
    assert_eq!(got.len(), truth.len(), "every user once");
    assert_eq!(uniq(&got).len(), truth.len());
    let stamps: Vec<&str> = items
        .iter()
        .map(|u| u["lastUpdated"].as_str().unwrap_or_default())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "ascending by lastUpdated"
    );
    let (desc, _) = follow(&sim, &q.replace("asc", "desc")).await;
    assert_eq!(uniq(&ids(&desc, "id")).len(), truth.len());
}

#[tokio::test]
async fn a_client_that_ignores_link_headers_sees_only_the_first_page() {
    let sim = start(SimConfig {
        users: 450,
        ..small()
    })
    .await;
    let r = get(&sim, "/api/v1/users").await;
    assert!(next_link(&r).is_some(), "more than one page");
    let first = json(r).await.as_array().map(Vec::len).unwrap_or(0);
    let (all, pages) = follow(&sim, "/api/v1/users").await;
    assert_eq!(first, 200, "default and maximum page size");
    assert!(
        pages >= 2 && all.len() > first,
        "the rest is only behind next"
    );
    let r = get(&sim, "/api/v1/users?limit=1000").await;
    assert_eq!(
        json(r).await.as_array().map(Vec::len),
        Some(200),
        "limit is capped at 200"
    );
}

#[tokio::test]
async fn cursors_are_opaque_and_links_are_absolute() {
    let sim = start(small()).await;
    let r = get(&sim, "/api/v1/users?limit=3").await;
    let l = links(&r);
    assert_eq!(
        l[0],
        (
            format!("{}/api/v1/users?limit=3", sim.base_url),
            "self".to_string()
        )
    );
    let next = next_link(&r).expect("a next link");
    assert!(next.starts_with(&sim.base_url));
    let page = json(r).await;
    let last = page[2]["id"].as_str().unwrap_or_default().to_string();
    let after = url::Url::parse(&next)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v.to_string())
        .unwrap();
    assert_ne!(after, last, "the cursor is not the bare id");
}

#[tokio::test]
async fn q_matches_name_prefixes_with_a_small_default_and_no_next_link() {
    let sim = start(small()).await;
    let r = get(&sim, "/api/v1/users?q=a").await;
    assert!(next_link(&r).is_none());
    let v = json(r).await;
    let hits = v.as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 10);
    for u in hits {
        let p = &u["profile"];
        let starts = ["firstName", "lastName", "email"]
            .iter()
            .any(|k| p[k].as_str().unwrap_or("").to_lowercase().starts_with('a'));
        assert!(starts, "{p}");
    }
}

#[tokio::test]
async fn group_listing_and_group_members_visit_every_record_once() {
    let sim = start(SimConfig {
        groups: 25,
        ..small()
    })
    .await;
    let (groups, _) = follow(&sim, "/api/v1/groups?limit=4").await;
    assert_eq!(uniq(&ids(&groups, "id")).len(), 25);
    assert_eq!(groups.len(), 25);
    let everyone = groups
        .iter()
        .find(|g| g["type"] == "BUILT_IN")
        .expect("Everyone");
    let path = format!(
        "/api/v1/groups/{}/users?limit=9",
        everyone["id"].as_str().unwrap()
    );
    let (members, _) = follow(&sim, &path).await;
    assert_eq!(
        uniq(&ids(&members, "id")).len(),
        truth_users(&sim).await.len()
    );
}

#[tokio::test]
async fn log_polling_visits_every_visible_event_once_and_ends_on_an_empty_page_with_next() {
    let sim = start(small()).await;
    let (events, _) = follow(&sim, "/api/v1/logs?limit=37").await;
    let got = ids(&events, "uuid");
    let truth: Vec<String> = admin_get(&sim, "/__sim/truth").await["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(got, truth, "persistence order, nothing missing or repeated");
    let r = get(&sim, "/api/v1/logs?limit=1000").await;
    let mut url = next_link(&r).unwrap();
    loop {
        let r = get_url(&sim, &url).await;
        let next = next_link(&r);
        let empty = json(r).await.as_array().is_none_or(Vec::is_empty);
        url = next.expect("polling always has a next link");
        if empty {
            break;
        }
    }
    admin_post(&sim, "/__sim/logs", serde_json::json!({"count": 3})).await;
    let r = get_url(&sim, &url).await;
    assert!(next_link(&r).is_some());
    assert_eq!(
        json(r).await.as_array().map(Vec::len),
        Some(3),
        "the saved next link yields new events"
    );
}

use okta_sim::SimConfig;
