//! Policies, realms, user types, the System Log, raw requests and the seven picklists, end to end
//! against the simulator.

use oktasync::okta::api::{
    GroupQuery, LogQuery, LogSortOrder, PickList, PolicyQuery, RawRequest, RealmQuery, SortOrder,
};
use oktasync::okta::{Part, PartContent, RetryPolicy, Upload};
use reqwest::Method;
use serde_json::{Value, json};

use super::admin_support::{new_active_user, org};

#[tokio::test]
async fn policies_are_listed_by_type_with_every_filter() {
    let org = org().await;
    let query = PolicyQuery {
        policy_type: "PASSWORD".into(),
        status: Some("ACTIVE".into()),
        q: Some("Default".into()),
        expand: Some("rules".into()),
        sort_by: Some("created".into()),
        resource_id: Some("0oa1abcd".into()),
        limit: Some(1),
        after: None,
    };
    let _ = org.client.list_policies(&query).unwrap().first_page().await;
    org.requests().await[0].is(
        "GET",
        "/api/v1/policies",
        &[
            ("type", "PASSWORD"),
            ("status", "ACTIVE"),
            ("q", "Default"),
            ("expand", "rules"),
            ("sortBy", "created"),
            ("resourceId", "0oa1abcd"),
            ("limit", "1"),
        ],
    );
    org.reset().await;
    let out = org
        .cli(&["policies", "list", "--type", "okta_sign_on", "--all"])
        .await
        .ok();
    org.requests().await[0].is("GET", "/api/v1/policies", &[("type", "OKTA_SIGN_ON")]);
    let policies = out.json();
    assert!(
        !policies.as_array().unwrap().is_empty(),
        "the org has sign-on policies"
    );
    assert!(
        policies
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "OKTA_SIGN_ON")
    );
}

#[tokio::test]
async fn realms_are_listed_with_search_sort_and_paging() {
    let org = org().await;
    let all = org
        .client
        .list_realms(&RealmQuery {
            limit: Some(1),
            ..RealmQuery::default()
        })
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let sent = org.requests().await;
    sent[0].is("GET", "/api/v1/realms", &[("limit", "1")]);
    assert!(!all.items.is_empty());
    assert!(sent.len() >= all.items.len());
    let name = all.items[0]["profile"]["name"].as_str().unwrap().to_owned();
    org.reset().await;
    let search = format!("profile.name co \"{name}\"");
    let out = org
        .cli(&[
            "realms",
            "list",
            "--search",
            &search,
            "--sort-by",
            "profile.name",
            "--sort-order",
            "desc",
        ])
        .await
        .ok();
    org.only_request().await.is(
        "GET",
        "/api/v1/realms",
        &[
            ("search", &search),
            ("sortBy", "profile.name"),
            ("sortOrder", "desc"),
        ],
    );
    assert!(
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["profile"]["name"] == name.as_str())
    );
    let _ = SortOrder::Asc;
}

#[tokio::test]
async fn user_types_are_listed() {
    let org = org().await;
    let out = org
        .cli(&["user-types", "list", "--output", "table"])
        .await
        .ok();
    org.only_request()
        .await
        .is("GET", "/api/v1/meta/types/user", &[]);
    assert!(out.stdout.starts_with("ID"), "{out:?}");
    let types = org
        .client
        .list_user_types()
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    assert!(types.items.iter().any(|t| t["default"] == true));
    for t in &types.items {
        assert!(out.stdout.contains(t["id"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn log_events_are_read_in_a_bounded_window_and_capped_by_max() {
    let org = org().await;
    let since = (chrono::Utc::now() - chrono::Duration::days(6))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let until = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let query = LogQuery {
        since: Some(since.clone()),
        until: Some(until.clone()),
        sort_order: Some(LogSortOrder::Descending),
        limit: Some(10),
        ..LogQuery::default()
    };
    let page = org
        .client
        .list_logs(&query)
        .unwrap()
        .first_page()
        .await
        .unwrap();
    org.only_request().await.is(
        "GET",
        "/api/v1/logs",
        &[
            ("since", &since),
            ("until", &until),
            ("sortOrder", "DESCENDING"),
            ("limit", "10"),
        ],
    );
    assert_eq!(page.items.len(), 10);
    assert!(page.after().is_some());

    org.reset().await;
    let out = org
        .cli(&[
            "logs", "get", "--since", &since, "--until", &until, "--all", "--max", "25",
            "--output", "ndjson",
        ])
        .await
        .ok();
    assert_eq!(out.stdout.lines().count(), 25, "{}", out.stderr);
    let sent = org.requests().await;
    sent[0].is(
        "GET",
        "/api/v1/logs",
        &[("since", &since), ("until", &until), ("limit", "1000")],
    );
    let uuids: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["uuid"].clone())
        .collect();
    assert!(uuids.iter().all(Value::is_string));
}

#[tokio::test]
async fn log_polling_with_all_stops_at_the_first_empty_page_and_prints_the_cursor() {
    let org = org().await;
    new_active_user(&org, "logged@example.com").await;
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    org.reset().await;
    let out = org
        .cli(&[
            "logs",
            "get",
            "--since",
            &since,
            "--filter",
            "eventType eq \"user.lifecycle.create\"",
            "--limit",
            "5",
            "--all",
        ])
        .await
        .ok();
    let events = out.json();
    assert!(events.as_array().unwrap().iter().any(|e| {
        e["target"][0]["alternateId"] == "logged@example.com"
            || e["target"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["alternateId"] == "logged@example.com"))
    }));
    let sent = org.requests().await;
    sent[0].is(
        "GET",
        "/api/v1/logs",
        &[
            ("since", &since),
            ("filter", "eventType eq \"user.lifecycle.create\""),
            ("limit", "5"),
        ],
    );
    assert!(
        out.stderr.contains("next page: --after"),
        "polling always has a next link: {}",
        out.stderr
    );
}

#[tokio::test]
async fn raw_requests_reach_any_api_path_with_query_headers_and_data() {
    let org = org().await;
    let out = org
        .cli(&[
            "raw",
            "post",
            "/api/v1/groups",
            "--data",
            r#"{"profile":{"name":"Raw Group"}}"#,
            "--header",
            "X-Trace: t-1",
        ])
        .await
        .ok();
    let sent = org.only_request().await;
    sent.is("POST", "/api/v1/groups", &[]);
    assert_eq!(sent.body, json!({"profile": {"name": "Raw Group"}}));
    assert_eq!(sent.headers["x-trace"], "t-1");
    let id = out.json()["id"].as_str().unwrap().to_owned();
    let groups = org
        .client
        .groups()
        .list(&GroupQuery {
            q: Some("Raw Group".into()),
            ..GroupQuery::default()
        })
        .unwrap()
        .first_page()
        .await
        .unwrap();
    assert!(groups.items.iter().any(|g| g["id"] == id.as_str()));

    org.reset().await;
    let mut raw = RawRequest::new(Method::GET, "/api/v1/users");
    raw.query = vec![("limit".into(), "2".into())];
    raw.policy = Some(RetryPolicy {
        timeout: Some(std::time::Duration::from_secs(5)),
        retries: Some(1),
        ..RetryPolicy::default()
    });
    let response = org.client.raw(&raw).await.unwrap();
    org.only_request()
        .await
        .is("GET", "/api/v1/users", &[("limit", "2")]);
    let users: Vec<Value> = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(users.len(), 2);

    org.reset().await;
    let out = org
        .cli(&[
            "raw",
            "GET",
            &format!("{}/api/v1/groups/{id}", org.sim.base_url),
            "--response",
            "text",
        ])
        .await
        .ok();
    assert!(out.stdout.contains("Raw Group"));
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/groups/{id}"), &[]);
}

#[tokio::test]
async fn raw_form_and_file_bodies_are_sent_as_form_and_multipart() {
    let org = org().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logo.png");
    std::fs::write(&file, b"\x89PNG fake").unwrap();
    let out = org
        .cli(&[
            "raw",
            "POST",
            "/api/v1/groups",
            "--form",
            "a=1",
            "--form",
            "b=two",
        ])
        .await;
    assert_ne!(out.code, 0, "a form is not a group");
    let sent = org.requests_unchecked().await;
    assert_eq!(
        sent[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(sent[0].body, json!("a=1&b=two"));
    org.reset().await;
    let file_arg = format!("file=@{}", file.display());
    let _ = org
        .cli(&[
            "raw",
            "POST",
            "/api/v1/groups",
            "--form",
            "kind=logo",
            "--file",
            &file_arg,
        ])
        .await;
    let sent = org.requests_unchecked().await;
    let ct = sent[0].headers["content-type"].as_str().unwrap();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let body = sent[0].body.as_str().unwrap();
    assert!(
        body.contains("name=\"kind\"")
            && body.contains("filename=\"logo.png\"")
            && body.contains("PNG fake"),
        "{body}"
    );
    let _ = Upload::Multipart(vec![Part {
        name: "x".into(),
        content: PartContent::Text("y".into()),
    }]);
}

#[tokio::test]
async fn raw_refuses_other_hosts_and_paths_outside_the_api_before_sending() {
    let org = org().await;
    for path in [
        "https://evil.example.com/api/v1/users",
        "/oauth2/v1/token",
        "/api/v1/../../etc",
        "users",
    ] {
        let out = org.cli(&["raw", "GET", path]).await;
        assert_ne!(out.code, 0, "{path} was accepted");
        assert!(
            out.stderr.contains("refusing") || out.stderr.contains("path"),
            "{path}: {out:?}"
        );
    }
    assert!(org.requests_unchecked().await.is_empty());
}

#[tokio::test]
async fn every_picklist_gives_keys_and_labels() {
    let org = org().await;
    let uid = new_active_user(&org, "picky@example.com").await;
    let hook = oktasync::okta::api::NewEventHook {
        name: "picked-hook".into(),
        url: "https://example.com/h".into(),
        events: vec!["user.lifecycle.create".into()],
        activate: true,
        ..Default::default()
    };
    org.client.event_hooks().create(&hook).await.unwrap();
    let cases = [
        (vec!["pick", "users"], "/api/v1/users", PickList::Users),
        (vec!["pick", "groups"], "/api/v1/groups", PickList::Groups),
        (vec!["pick", "apps"], "/api/v1/apps", PickList::Apps),
        (vec!["pick", "hooks"], "/api/v1/eventHooks", PickList::Hooks),
        (vec!["pick", "realms"], "/api/v1/realms", PickList::Realms),
        (
            vec!["pick", "user-types"],
            "/api/v1/meta/types/user",
            PickList::UserTypes,
        ),
    ];
    for (args, path, list) in cases {
        org.reset().await;
        let out = org.cli(&args).await.ok();
        let sent = org.requests().await;
        assert!(
            sent.iter().all(|s| s.method == "GET" && s.path == path),
            "{args:?}: {sent:#?}"
        );
        let picked = out.json();
        let items = picked.as_array().unwrap();
        assert!(!items.is_empty(), "{args:?}");
        for item in items {
            assert!(
                item["key"].as_str().is_some_and(|k| !k.is_empty()),
                "{item}"
            );
            assert!(
                item["label"].as_str().is_some_and(|l| !l.is_empty()),
                "{args:?}: {item}"
            );
            assert_eq!(item.as_object().unwrap().len(), 2);
        }
        let by_lib = org.client.pick(&list, None, None).await.unwrap();
        assert_eq!(by_lib.len(), items.len(), "{args:?}");
    }
    let users = org.client.pick(&PickList::Users, None, None).await.unwrap();
    assert!(
        users
            .iter()
            .any(|p| p.key == uid && p.label == "Test User (picky@example.com)")
    );
    let hooks = org.client.pick(&PickList::Hooks, None, None).await.unwrap();
    assert!(hooks.iter().any(|p| p.label == "picked-hook"));
}

#[tokio::test]
async fn the_factor_picklist_lists_one_users_factors() {
    let org = org().await;
    let users = org
        .client
        .users()
        .list(&Default::default())
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    for user in users.items {
        let id = user["id"].as_str().unwrap().to_owned();
        let factors = org
            .client
            .users()
            .factors(&id)
            .unwrap()
            .collect(None)
            .await
            .unwrap();
        if factors.items.is_empty() {
            continue;
        }
        org.reset().await;
        let out = org.cli(&["pick", "factors", "--user", &id]).await.ok();
        org.only_request()
            .await
            .is("GET", &format!("/api/v1/users/{id}/factors"), &[]);
        let picked = out.json();
        let keys: Vec<&str> = picked
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["key"].as_str().unwrap())
            .collect();
        let ids: Vec<&str> = factors
            .items
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ids);
        assert!(
            picked[0]["label"]
                .as_str()
                .unwrap()
                .contains(factors.items[0]["factorType"].as_str().unwrap())
        );
        return;
    }
    panic!("no user with factors in the simulated org");
}

#[tokio::test]
async fn raw_retry_flags_retry_reads_and_only_retry_writes_when_told() {
    let org = org().await;
    let fail = json!({"status": 500, "path_prefix": "/api/v1/groups",
        "body": {"errorCode": "E0000009", "errorSummary": "Internal Server Error", "errorCauses": []}});
    org.script(json!([fail, fail])).await;
    let out = org
        .cli(&[
            "raw",
            "GET",
            "/api/v1/groups",
            "--retries",
            "2",
            "--retry-delay",
            "0.01",
        ])
        .await
        .ok();
    assert!(out.json().is_array());
    let sent = org.requests().await;
    assert_eq!(sent.len(), 3, "two retries after two 500s");
    assert_eq!(sent[2].headers["x-okta-retry-count"], "2");

    org.reset().await;
    org.script(json!([fail])).await;
    let data = r#"{"profile":{"name":"Retried"}}"#;
    let out = org
        .cli(&[
            "raw",
            "POST",
            "/api/v1/groups",
            "--data",
            data,
            "--retries",
            "2",
            "--retry-delay",
            "0.01",
        ])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("500") && out.stderr.contains("E0000009"),
        "{out:?}"
    );
    assert_eq!(
        org.requests().await.len(),
        1,
        "a POST that may have landed is not replayed"
    );

    org.reset().await;
    org.script(json!([fail])).await;
    let args = [
        "raw",
        "POST",
        "/api/v1/groups",
        "--data",
        data,
        "--retries",
        "1",
        "--retry-delay",
        "0.01",
        "--exponential-backoff",
        "--retry-all-errors",
    ];
    let out = org.cli(&args).await.ok();
    assert_eq!(out.json()["profile"]["name"], "Retried");
    assert_eq!(
        org.requests().await.len(),
        2,
        "--retry-all-errors replays the POST"
    );

    org.reset().await;
    org.script(
        json!([{"status": 200, "path_prefix": "/api/v1/groups", "delay_ms": 2000, "body": []}]),
    )
    .await;
    let out = org
        .cli(&[
            "raw",
            "GET",
            "/api/v1/groups",
            "--timeout",
            "0.3",
            "--retries",
            "0",
        ])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("timed out") || out.stderr.contains("timeout"),
        "{out:?}"
    );
}
