//! The event hook operations end to end against the simulator, with a local endpoint that
//! answers Okta's verification challenge.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use oktasync::okta::api::NewEventHook;
use serde_json::{Value, json};

use super::admin_support::org;

/// A hook endpoint on loopback that echoes the challenge and keeps the headers it saw.
async fn endpoint() -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/okta/hook",
        axum::routing::get(move |headers: HeaderMap| {
            let store = store.clone();
            async move {
                let challenge = headers
                    .get("x-okta-verification-challenge")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                store.lock().unwrap().push(headers);
                axum::Json(json!({ "verification": challenge }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/okta/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn hook(name: &str, url: &str) -> NewEventHook {
    NewEventHook {
        name: name.into(),
        url: url.into(),
        events: vec![
            "user.lifecycle.create".into(),
            "user.lifecycle.deactivate".into(),
        ],
        activate: true,
        ..NewEventHook::default()
    }
}

#[tokio::test]
async fn a_hook_created_from_the_command_line_carries_events_headers_and_a_redacted_secret() {
    let org = org().await;
    let (url, seen) = endpoint().await;
    org.reset().await;
    let args = [
        "hooks",
        "create",
        "--name",
        "hr-sync",
        "--url",
        &url,
        "--description",
        "HR feed",
        "--event",
        "user.lifecycle.create",
        "--event",
        "group.user_membership.add",
        "--header",
        "X-Source: okta",
        "--auth-header",
        "Authorization: Bearer hook-s3cret",
    ];
    let out = org.cli(&args).await.ok();
    assert!(!out.stdout.contains("hook-s3cret"), "{out:?}");
    let sent = org.only_request().await;
    sent.is("POST", "/api/v1/eventHooks", &[]);
    assert_eq!(
        sent.body,
        json!({
            "name": "hr-sync", "description": "HR feed",
            "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create", "group.user_membership.add"]},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                "uri": url, "headers": [{"key": "X-Source", "value": "okta"}],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": "Bearer hook-s3cret"}}},
        })
    );
    let created = out.json();
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["verificationStatus"], "UNVERIFIED");
    let id = created["id"].as_str().unwrap().to_owned();

    org.reset().await;
    let verified = org.client.event_hooks().verify(&id).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/eventHooks/{id}/lifecycle/verify"),
        &[],
    );
    assert_eq!(verified["verificationStatus"], "VERIFIED");
    let headers = seen.lock().unwrap();
    let last = headers.last().expect("the endpoint was challenged");
    assert_eq!(last.get("authorization").unwrap(), "Bearer hook-s3cret");
    assert_eq!(last.get("x-source").unwrap(), "okta");
}

#[tokio::test]
async fn a_hook_is_listed_read_deactivated_activated_and_deleted() {
    let org = org().await;
    let hooks = org.client.event_hooks();
    let created = hooks
        .create(&hook("lister", "https://example.com/okta/hook"))
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    org.reset().await;
    let out = org.cli(&["hooks", "list"]).await.ok();
    org.only_request()
        .await
        .is("GET", "/api/v1/eventHooks", &[]);
    assert!(
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == id.as_str())
    );

    org.reset().await;
    let got = hooks.get(&id).await.unwrap();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/eventHooks/{id}"), &[]);
    assert_eq!(got["name"], "lister");

    org.reset().await;
    let out = org.cli(&["hooks", "delete", &id]).await;
    assert_ne!(out.code, 0, "an ACTIVE hook cannot be deleted");
    assert!(
        out.stderr.contains("400") && out.stderr.contains("deactivate it first"),
        "{out:?}"
    );
    assert!(out.stderr.contains("request id"), "{out:?}");

    org.reset().await;
    let out = org
        .cli(&["hooks", "deactivate", &id, "--dry-run"])
        .await
        .ok();
    assert_eq!(out.json()["operation"], "deactivateEventHook");
    assert!(org.requests().await.is_empty());
    let inactive = hooks.deactivate(&id).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/eventHooks/{id}/lifecycle/deactivate"),
        &[],
    );
    assert_eq!(inactive["status"], "INACTIVE");

    org.reset().await;
    let out = org.cli(&["hooks", "activate", &id]).await.ok();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/eventHooks/{id}/lifecycle/activate"),
        &[],
    );
    assert_eq!(out.json()["status"], "ACTIVE");

    hooks.deactivate(&id).await.unwrap();
    org.reset().await;
    hooks.delete(&id).await.unwrap();
    org.only_request()
        .await
        .is("DELETE", &format!("/api/v1/eventHooks/{id}"), &[]);
    assert_eq!(hooks.get(&id).await.unwrap_err().status(), Some(404));
}

#[tokio::test]
async fn a_hook_created_with_no_activate_ends_inactive() {
    let org = org().await;
    let mut spec = hook("quiet", "https://example.com/quiet");
    spec.activate = false;
    spec.filter = Some(json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [
        {"event": "user.lifecycle.create", "condition": {"expression": "event.target.?[type eq 'User'].size()>0"}}]}));
    let created = org.client.event_hooks().create(&spec).await.unwrap();
    let sent = org.requests().await;
    assert_eq!(
        sent.iter().map(|s| s.operation()).collect::<Vec<_>>(),
        ["createEventHook", "deactivateEventHook"]
    );
    assert_eq!(
        sent[0].body["events"]["filter"]["type"],
        "EXPRESSION_LANGUAGE"
    );
    assert_eq!(created["status"], "INACTIVE");
}

#[tokio::test]
async fn delete_all_deactivates_then_deletes_only_the_hooks_with_that_url() {
    let org = org().await;
    let hooks = org.client.event_hooks();
    let before: Vec<Value> = hooks.list().unwrap().collect(None).await.unwrap().items;
    let target = "https://example.com/to-remove";
    let a = hooks.create(&hook("a", target)).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut quiet = hook("b", target);
    quiet.activate = false;
    let b = hooks.create(&quiet).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let keep = hooks
        .create(&hook("keep", "https://example.com/keep"))
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    org.reset().await;
    let out = org
        .cli(&["hooks", "delete-all", "--url", target, "--dry-run"])
        .await
        .ok();
    let planned: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        planned,
        ["deactivateEventHook", "deleteEventHook", "deleteEventHook"]
    );
    assert_eq!(
        org.only_request().await.operation(),
        "listEventHooks",
        "a dry run only reads"
    );

    org.reset().await;
    let out = org
        .cli(&["hooks", "delete-all", "--url", target])
        .await
        .ok();
    let deleted = out.json();
    let deleted: Vec<&str> = deleted
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, [a.as_str(), b.as_str()]);
    let sent = org.requests().await;
    let ops: Vec<(&str, &str)> = sent
        .iter()
        .map(|s| (s.operation(), s.path.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("listEventHooks", "/api/v1/eventHooks"),
            (
                "deactivateEventHook",
                &*format!("/api/v1/eventHooks/{a}/lifecycle/deactivate")
            ),
            ("deleteEventHook", &*format!("/api/v1/eventHooks/{a}")),
            ("deleteEventHook", &*format!("/api/v1/eventHooks/{b}")),
        ]
    );
    let left: Vec<Value> = hooks.list().unwrap().collect(None).await.unwrap().items;
    assert!(left.iter().any(|h| h["id"] == keep.as_str()));
    assert_eq!(left.len(), before.len() + 1);

    org.reset().await;
    let removed = hooks.delete_all(None).await.unwrap();
    assert_eq!(removed.len(), before.len() + 1);
    assert!(
        hooks
            .list()
            .unwrap()
            .collect(None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_plain_http_hook_url_is_refused_before_any_request_unless_it_is_loopback() {
    let org = org().await;
    for url in ["http://example.com/okta/hook", "ftp://example.com/hook"] {
        let err = org
            .client
            .event_hooks()
            .create(&hook("plain", url))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("https://"), "{url}: {err}");
    }
    assert!(org.requests().await.is_empty(), "nothing was sent to Okta");
    org.client
        .event_hooks()
        .create(&hook("local", "http://127.0.0.1:9/okta/hook"))
        .await
        .unwrap();
}
