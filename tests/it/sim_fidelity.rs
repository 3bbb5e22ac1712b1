//! Smaller points where the simulator answers as Okta does, one test each, named for Okta's
//! behaviour: factor phone numbers, event-hook rules, search operators, System Log filters
//! and keywords, error codes for unknown paths and resources, error ids, `If-Match`, and
//! login shortnames.

use std::collections::HashSet;

use okta_sim::Sim;
use reqwest::Method;
use serde_json::{Value, json};

use crate::sim_support::*;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn status_and_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["errorCode"].as_str().unwrap_or("").to_string())
}

async fn first_user(sim: &Sim, search: &str) -> Value {
    let v = json(get(sim, &format!("/api/v1/users?search={}", enc(search))).await).await;
    v[0].clone()
}

#[tokio::test]
async fn sms_factor_phone_numbers_are_e164_as_okta_s_spec_requires() {
    let sim = start(small()).await;
    let (users, _) = follow(&sim, "/api/v1/users").await;
    let mut phones = 0;
    for u in users.iter().take(60) {
        let id = u["id"].as_str().unwrap();
        let factors = json(get(&sim, &format!("/api/v1/users/{id}/factors")).await).await;
        for f in factors.as_array().unwrap() {
            if let Some(p) = f["profile"]["phoneNumber"].as_str() {
                phones += 1;
                let digits = &p[1..];
                assert!(
                    p.starts_with('+')
                        && !digits.starts_with('0')
                        && (2..=15).contains(&digits.len())
                        && digits.chars().all(|c| c.is_ascii_digit()),
                    "{p} is not ^\\+[1-9]\\d{{1,14}}$"
                );
            }
        }
    }
    assert!(phones > 0, "some users have an SMS factor");
}

fn hook(uri: &str, events: &[&str]) -> Value {
    json!({"name": "h", "events": {"type": "EVENT_TYPE", "items": events},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri}}})
}

#[tokio::test]
async fn event_hooks_need_https_except_to_loopback_eligible_event_types_and_at_most_25_active() {
    let sim = start(small()).await;
    let create = |body: Value| send(&sim, Method::POST, "/api/v1/eventHooks", Some(body));
    let ok = ["user.lifecycle.create"];
    assert_eq!(
        create(hook("http://hooks.example.com/okta", &ok))
            .await
            .status(),
        400
    );
    let r = create(hook(
        "https://hooks.example.com/okta",
        &["user.lifecycle.delete.completed"],
    ));
    assert_eq!(status_and_code(r.await).await, (400, "E0000001".into()));
    let listed = json(get(&sim, "/api/v1/eventHooks").await).await;
    let active = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "ACTIVE")
        .count();
    let mut ids = vec![];
    for i in active..25 {
        let uri = if i % 2 == 0 {
            "https://hooks.example.com/okta"
        } else {
            "http://127.0.0.1:9/h"
        };
        let r = create(hook(uri, &ok)).await;
        assert_eq!(r.status(), 200, "hook {i}");
        ids.push(json(r).await["id"].as_str().unwrap().to_string());
    }
    let r = create(hook("https://hooks.example.com/okta", &ok)).await;
    assert_eq!(
        status_and_code(r).await,
        (400, "E0000001".into()),
        "a 26th active hook"
    );
    let lifecycle = |id: &str, op: &str| format!("/api/v1/eventHooks/{id}/lifecycle/{op}");
    send(&sim, Method::POST, &lifecycle(&ids[0], "deactivate"), None).await;
    let r = create(hook("https://hooks.example.com/okta", &ok)).await;
    assert_eq!(r.status(), 200, "room again after a deactivation");
    let r = send(&sim, Method::POST, &lifecycle(&ids[0], "activate"), None).await;
    assert_eq!(r.status(), 400, "activating a 26th is refused too");
}

#[tokio::test]
async fn users_search_takes_co_only_on_names_email_and_login_and_never_beside_filter() {
    let sim = start(small()).await;
    let bad = [
        format!("search={}", enc(r#"profile.city co "a""#)),
        format!("search={}", enc(r#"status co "ACT""#)),
        format!(
            "search={}&filter={}",
            enc(r#"status eq "ACTIVE""#),
            enc(r#"status eq "ACTIVE""#)
        ),
    ];
    for q in bad {
        let r = get(&sim, &format!("/api/v1/users?{q}")).await;
        assert_eq!(status_and_code(r).await, (400, "E0000031".into()), "{q}");
    }
    for attr in ["firstName", "lastName", "email", "login"] {
        let q = format!("search={}", enc(&format!(r#"profile.{attr} co "a""#)));
        assert_eq!(
            get(&sim, &format!("/api/v1/users?{q}")).await.status(),
            200,
            "{q}"
        );
    }
}

#[tokio::test]
async fn log_filters_on_fields_a_log_event_does_not_have_are_refused_with_e0000053() {
    let sim = start(small()).await;
    for f in [r#"colour eq "red""#, r#"eventTyp eq "user.session.start""#] {
        let r = get(&sim, &format!("/api/v1/logs?filter={}", enc(f))).await;
        assert_eq!(status_and_code(r).await, (400, "E0000053".into()), "{f}");
    }
    let f = r#"securityContext.isProxy eq "true""#;
    let r = get(&sim, &format!("/api/v1/logs?filter={}", enc(f))).await;
    assert_eq!(r.status(), 200, "a LogEvent field these events leave empty");
}

#[tokio::test]
async fn log_q_matches_whole_keywords_not_fragments() {
    let sim = start(small()).await;
    let count = |q: &'static str| {
        let sim = &sim;
        async move {
            let (items, _) = follow(sim, &format!("/api/v1/logs?q={}&limit=1000", enc(q))).await;
            items.len()
        }
    };
    let word = count("session").await;
    assert!(word > 0, "user.session.* events match the keyword session");
    assert_eq!(count("sessio").await, 0, "a fragment matches nothing");
}

#[tokio::test]
async fn unknown_paths_are_404_e0000008_and_unknown_methods_405_e0000022() {
    let sim = start(small()).await;
    let r = get(&sim, "/api/v1/nosuchthing").await;
    assert_eq!(status_and_code(r).await, (404, "E0000008".into()));
    let r = send(&sim, Method::PATCH, "/api/v1/users", Some(json!({}))).await;
    assert_eq!(status_and_code(r).await, (405, "E0000022".into()));
    let r = send(
        &sim,
        Method::POST,
        "/api/v1/users/00u1/lifecycle/levitate",
        None,
    )
    .await;
    assert_eq!(status_and_code(r).await, (404, "E0000008".into()));
}

#[tokio::test]
async fn not_found_errors_name_the_kind_of_resource_and_error_ids_never_repeat() {
    let sim = start(small()).await;
    let mut ids = HashSet::new();
    for (path, kind) in [
        ("/api/v1/users/00unope", "(User)"),
        ("/api/v1/groups/00gnope", "(UserGroup)"),
        ("/api/v1/apps/0oanope", "(AppInstance)"),
        ("/api/v1/eventHooks/whonope", "(EventHook)"),
    ] {
        let body = json(get(&sim, path).await).await;
        assert_eq!(body["errorCode"], "E0000007", "{path}");
        let summary = body["errorSummary"].as_str().unwrap();
        assert!(summary.ends_with(kind), "{path}: {summary}");
        ids.insert(body["errorId"].as_str().unwrap().to_string());
    }
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (base, token) = (sim.base_url.clone(), sim.token.clone());
        tries.spawn(async move {
            let r = client()
                .get(format!("{base}/api/v1/users/00unope"))
                .header("Authorization", format!("SSWS {token}"))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["errorId"]
                .as_str()
                .unwrap()
                .to_string()
        });
    }
    while let Some(id) = tries.join_next().await {
        assert!(ids.insert(id.unwrap()), "an errorId came twice");
    }
}

#[tokio::test]
async fn a_user_update_with_a_stale_if_match_is_refused_with_412_e0000231() {
    let sim = start(small()).await;
    let id = first_user(&sim, r#"status eq "ACTIVE""#).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = get(&sim, &format!("/api/v1/users/{id}")).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let update = |tag: String, title: &'static str| {
        let (base, token, id) = (sim.base_url.clone(), sim.token.clone(), id.clone());
        async move {
            client()
                .post(format!("{base}/api/v1/users/{id}"))
                .header("Authorization", format!("SSWS {token}"))
                .header("If-Match", tag)
                .json(&json!({"profile": {"title": title}}))
                .send()
                .await
                .unwrap()
        }
    };
    let r = update(etag.clone(), "First").await;
    assert_eq!(r.status(), 200, "the ETag matched");
    let fresh = r.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(fresh, etag, "the update changed the ETag");
    let r = update(etag, "Second").await;
    assert_eq!(status_and_code(r).await, (412, "E0000231".into()));
    let u = json(get(&sim, &format!("/api/v1/users/{id}")).await).await;
    assert_eq!(
        u["profile"]["title"], "First",
        "the refused update changed nothing"
    );
    assert_eq!(update(fresh, "Third").await.status(), 200);
}

#[tokio::test]
async fn users_are_found_by_login_shortname_when_only_one_login_has_it() {
    let sim = start(small()).await;
    let u = first_user(&sim, r#"status eq "ACTIVE""#).await;
    let login = u["profile"]["login"].as_str().unwrap();
    let short = login.split('@').next().unwrap().to_uppercase();
    let r = get(&sim, &format!("/api/v1/users/{short}")).await;
    assert_eq!(r.status(), 200, "{short}");
    assert_eq!(json(r).await["id"], u["id"]);
    for other in ["twin@example.com", "twin@example.org"] {
        let body =
            json!({"profile": {"login": other, "email": other, "firstName": "T", "lastName": "W"}});
        assert_eq!(
            send(&sim, Method::POST, "/api/v1/users", Some(body))
                .await
                .status(),
            200
        );
    }
    let r = get(&sim, "/api/v1/users/twin").await;
    assert_eq!(
        status_and_code(r).await,
        (404, "E0000007".into()),
        "ambiguous"
    );
}
