//! The `/__sim` control plane: scripted responses, fault injection, counters, recorded
//! requests, run-time settings and org mutations.

use okta_sim::SimConfig;
use serde_json::json as j;

use crate::sim_support::*;

#[tokio::test]
async fn scripted_responses_are_served_in_order_to_matching_paths_with_common_headers() {
    let sim = start(small()).await;
    let script = j!({"responses": [
        {"status": 503, "headers": {"Content-Type": "text/html"}, "body": "<html>down</html>", "path_prefix": "/api/v1/logs"},
        {"status": 429, "headers": {"X-Rate-Limit-Reset": "1700000000", "X-Rate-Limit-Remaining": "0"}, "body": {"errorCode": "E0000047"}},
        {"status": 200, "headers": {"Link": "<http://a/1>; rel=\"self\", <http://evil.example/2>; rel=\"next\""}, "body": []}
    ]});
    assert_eq!(admin_post(&sim, "/__sim/script", script).await["queued"], 3);
    let r = get(&sim, "/api/v1/users").await;
    assert_eq!(r.status(), 429, "the 503 waits for a logs request");
    assert_eq!(r.headers()["x-rate-limit-reset"], "1700000000");
    assert!(r.headers().contains_key("x-okta-request-id") && r.headers().contains_key("date"));
    let r = get(&sim, "/api/v1/logs").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.text().await.unwrap(), "<html>down</html>");
    let r = get(&sim, "/api/v1/groups").await;
    assert_eq!(r.headers().get_all("link").iter().count(), 1);
    assert!(
        r.headers()["link"]
            .to_str()
            .unwrap()
            .contains("evil.example")
    );
    assert_eq!(
        get(&sim, "/api/v1/groups").await.status(),
        200,
        "the script is used up"
    );
}

#[tokio::test]
async fn a_scripted_drop_closes_the_connection_without_a_response() {
    let sim = start(small()).await;
    admin_post(
        &sim,
        "/__sim/script",
        j!({"responses": [{"status": 200, "drop": true}]}),
    )
    .await;
    let r = client()
        .get(format!("{}/api/v1/users", sim.base_url))
        .header("Authorization", format!("SSWS {}", sim.token))
        .send()
        .await;
    assert!(r.is_err(), "no response: {r:?}");
    assert_eq!(get(&sim, "/api/v1/users").await.status(), 200);
}

#[tokio::test]
async fn fault_injection_fails_requests_and_counts_them_but_never_the_admin_endpoints() {
    let sim = start(SimConfig {
        fail_rate: 1.0,
        ..small()
    })
    .await;
    let mut kinds = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let r = client()
            .get(format!("{}/api/v1/groups", sim.base_url))
            .header("Authorization", format!("SSWS {}", sim.token))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await;
        let kind = match r {
            Err(_) => "dropped".to_string(),
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Err(_) => "truncated".to_string(),
                    Ok(_) => status.to_string(),
                }
            }
        };
        kinds.insert(kind);
    }
    assert!(
        kinds.contains("500") && kinds.contains("truncated") && kinds.contains("dropped"),
        "{kinds:?}"
    );
    let c = admin_get(&sim, "/__sim/counters").await;
    assert_eq!(c["faults"], 40);
    assert_eq!(c["requests"]["GET /api/v1/groups"], 40);
    admin_post(&sim, "/__sim/settings", j!({"fail_rate": 0.0})).await;
    assert_eq!(get(&sim, "/api/v1/groups").await.status(), 200);
    admin_post(&sim, "/__sim/counters/reset", j!({})).await;
    assert_eq!(
        admin_get(&sim, "/__sim/counters").await["requests_total"],
        0
    );
}

#[tokio::test]
async fn requests_are_recorded_with_headers_query_and_body() {
    let sim = start(small()).await;
    send(
        &sim,
        reqwest::Method::POST,
        "/api/v1/groups?x=1",
        Some(j!({"profile": {"name": "Rec"}})),
    )
    .await;
    let recorded = admin_get(&sim, "/__sim/requests").await;
    let last = recorded.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], "/api/v1/groups");
    assert_eq!(last["query"], "x=1");
    assert_eq!(last["body"]["profile"]["name"], "Rec");
    assert!(
        last["headers"]["authorization"]
            .as_str()
            .unwrap()
            .starts_with("SSWS ")
    );
    admin_post(&sim, "/__sim/requests/reset", j!({})).await;
    assert_eq!(
        admin_get(&sim, "/__sim/requests")
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn touching_and_creating_users_changes_what_incremental_search_returns() {
    let sim = start(small()).await;
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let q: String =
        url::form_urlencoded::byte_serialize(format!(r#"lastUpdated gt "{before}""#).as_bytes())
            .collect();
    let search = format!("/api/v1/users?search={q}&sortBy=lastUpdated&sortOrder=asc");
    assert!(
        follow(&sim, &search).await.0.is_empty(),
        "nothing changed yet"
    );
    let touched = admin_post(&sim, "/__sim/users/touch", j!({"count": 3})).await;
    let created = admin_post(&sim, "/__sim/users/create", j!({"count": 4})).await;
    assert_eq!(created["created"].as_array().unwrap().len(), 4);
    let (items, _) = follow(&sim, &search).await;
    let got: std::collections::HashSet<String> = ids(&items, "id").into_iter().collect();
    let mut want: std::collections::HashSet<String> = touched["touched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    want.extend(
        created["created"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string()),
    );
    assert_eq!(got, want);
    assert_eq!(
        admin_get(&sim, "/__sim/truth?logs=false").await["users"]
            .as_array()
            .unwrap()
            .len(),
        124
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_org() {
    let now = Some(chrono::Utc::now() - chrono::Duration::minutes(5));
    let a = start(SimConfig { now, ..small() }).await;
    let b = start(SimConfig { now, ..small() }).await;
    let ta = admin_get(&a, "/__sim/truth").await;
    let tb = admin_get(&b, "/__sim/truth").await;
    assert_eq!(ta["users"], tb["users"]);
    assert_eq!(ta["logs"], tb["logs"]);
    a.shutdown().await;
    assert!(
        client()
            .get(format!("{}/__sim/counters", b.base_url))
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_truth_holds_groups_with_members_apps_with_users_and_hooks_as_the_api_lists_them() {
    let sim = start(small()).await;
    let truth = admin_get(&sim, "/__sim/truth?logs=false").await;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let strings = |v: &serde_json::Value| {
        sorted(
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect(),
        )
    };
    let groups = truth["groups"].as_array().unwrap();
    let (listed, _) = follow(&sim, "/api/v1/groups?limit=200").await;
    assert_eq!(listed.len(), groups.len());
    for g in groups {
        let id = g["id"].as_str().unwrap();
        let (members, _) = follow(&sim, &format!("/api/v1/groups/{id}/users?limit=200")).await;
        assert_eq!(
            sorted(ids(&members, "id")),
            strings(&g["members"]),
            "group {id}"
        );
    }
    for a in truth["apps"].as_array().unwrap() {
        let id = a["id"].as_str().unwrap();
        let (users, _) = follow(&sim, &format!("/api/v1/apps/{id}/users?limit=500")).await;
        assert_eq!(sorted(ids(&users, "id")), strings(&a["users"]), "app {id}");
    }
    let hooks = json(get(&sim, "/api/v1/eventHooks").await).await;
    assert_eq!(
        sorted(ids(hooks.as_array().unwrap(), "id")),
        sorted(ids(truth["hooks"].as_array().unwrap(), "id"))
    );
    assert!(
        groups
            .iter()
            .any(|g| !g["members"].as_array().unwrap().is_empty())
    );
}
