//! Writes through the real endpoints: they change the org, bump `lastUpdated`, follow Okta's
//! rules and write the System Log events Okta writes.

use reqwest::Method;
use serde_json::{Value, json as j};

use crate::sim_support::*;
use okta_sim::Sim;

async fn event_types_for(sim: &Sim, target: &str) -> Vec<String> {
    let f: String =
        url::form_urlencoded::byte_serialize(format!(r#"target.id eq "{target}""#).as_bytes())
            .collect();
    let (events, _) = follow(sim, &format!("/api/v1/logs?limit=1000&filter={f}")).await;
    events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn new_user(login: &str) -> Value {
    j!({"profile": {"firstName": "Nia", "lastName": "Newton", "email": login, "login": login, "department": "IT"},
        "credentials": {"password": {"value": "Tr0ub4dor&3"}}})
}

async fn create(sim: &Sim, body: Value, query: &str) -> reqwest::Response {
    send(
        sim,
        Method::POST,
        &format!("/api/v1/users{query}"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn creating_a_user_activates_it_by_default_and_logs_create_and_activate() {
    let sim = start(small()).await;
    let r = create(&sim, new_user("nia@example.com"), "").await;
    assert_eq!(r.status(), 200);
    let u = json(r).await;
    assert_eq!(u["status"], "ACTIVE");
    assert!(u["id"].as_str().unwrap().starts_with("00u"));
    assert_eq!(u["profile"]["department"], "IT");
    assert_eq!(u["credentials"]["password"], j!({}));
    let id = u["id"].as_str().unwrap();
    assert_eq!(
        event_types_for(&sim, id).await,
        vec!["user.lifecycle.create", "user.lifecycle.activate"]
    );
    let staged = json(create(&sim, new_user("sam@example.com"), "?activate=false").await).await;
    assert_eq!(staged["status"], "STAGED");
    assert!(staged["activated"].is_null());
    let by_login = get(&sim, "/api/v1/users/NIA%40example.com").await;
    assert_eq!(
        json(by_login).await["id"],
        id,
        "get by login, case-insensitive"
    );
}

#[tokio::test]
async fn invalid_user_bodies_get_okta_validation_errors() {
    let sim = start(small()).await;
    create(&sim, new_user("dup@example.com"), "").await;
    let dup = json(create(&sim, new_user("DUP@example.com"), "").await).await;
    assert_eq!(dup["errorCode"], "E0000001");
    assert!(
        dup["errorCauses"][0]["errorSummary"]
            .as_str()
            .unwrap()
            .starts_with("login: An object with this field already exists")
    );
    let mut missing = new_user("m@example.com");
    missing["profile"]
        .as_object_mut()
        .unwrap()
        .remove("lastName");
    let r = create(&sim, missing, "").await;
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["errorCode"], "E0000001");
    let r = client()
        .post(format!("{}/api/v1/users", sim.base_url))
        .header("Authorization", format!("SSWS {}", sim.token))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["errorCode"], "E0000003");
    let r = get(&sim, "/api/v1/users/00uNOPE0000000000000").await;
    assert_eq!(r.status(), 404);
    assert_eq!(json(r).await["errorCode"], "E0000007");
}

#[tokio::test]
async fn partial_update_merges_and_put_replaces_the_profile() {
    let sim = start(small()).await;
    let u = json(create(&sim, new_user("pat@example.com"), "").await).await;
    let id = u["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = send(
        &sim,
        Method::POST,
        &format!("/api/v1/users/{id}"),
        Some(j!({"profile": {"title": "Boss"}})),
    )
    .await;
    let merged = json(r).await;
    assert_eq!(merged["profile"]["title"], "Boss");
    assert_eq!(
        merged["profile"]["department"], "IT",
        "left-out fields are kept"
    );
    assert!(merged["lastUpdated"].as_str().unwrap() > u["lastUpdated"].as_str().unwrap());
    let body = j!({"profile": {"firstName": "Pat", "lastName": "P", "email": "pat@example.com", "login": "pat@example.com"}});
    let replaced = json(
        send(
            &sim,
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            Some(body),
        )
        .await,
    )
    .await;
    assert!(
        replaced["profile"].get("department").is_none(),
        "PUT removes left-out fields"
    );
    assert!(replaced["profile"].get("title").is_none());
    let pw = j!({"credentials": {"password": {"value": "N3w-passw0rd!"}}});
    assert_eq!(
        send(&sim, Method::POST, &format!("/api/v1/users/{id}"), Some(pw))
            .await
            .status(),
        200
    );
    let types = event_types_for(&sim, &id).await;
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "user.account.update_profile")
            .count(),
        2
    );
    assert!(types.contains(&"user.account.update_password".to_string()));
}

#[tokio::test]
async fn delete_deactivates_first_and_removes_on_the_second_call() {
    let sim = start(small()).await;
    let id = json(create(&sim, new_user("del@example.com"), "").await).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/users/{id}");
    assert_eq!(send(&sim, Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(
        json(get(&sim, &path).await).await["status"],
        "DEPROVISIONED"
    );
    assert_eq!(send(&sim, Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(get(&sim, &path).await.status(), 404);
    let types = event_types_for(&sim, &id).await;
    assert!(types.ends_with(&[
        "user.lifecycle.deactivate".to_string(),
        "user.lifecycle.delete.initiated".to_string()
    ]));
    let truth = admin_get(&sim, "/__sim/truth?logs=false").await;
    assert!(
        truth["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != id.as_str())
    );
}

#[tokio::test]
async fn lifecycle_operations_follow_okta_status_rules() {
    let sim = start(small()).await;
    let id = json(create(&sim, new_user("life@example.com"), "?activate=false").await).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let op = |o: &str| format!("/api/v1/users/{id}/lifecycle/{o}");
    let r = send(&sim, Method::POST, &op("suspend"), None).await;
    assert_eq!(r.status(), 400, "suspend needs ACTIVE");
    assert_eq!(json(r).await["errorCode"], "E0000001");
    let act = json(
        send(
            &sim,
            Method::POST,
            &format!("{}?sendEmail=false", op("activate")),
            None,
        )
        .await,
    )
    .await;
    assert!(act["activationToken"].is_string() && act["activationUrl"].is_string());
    assert_eq!(
        send(&sim, Method::POST, &op("suspend"), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        json(get(&sim, &format!("/api/v1/users/{id}")).await).await["status"],
        "SUSPENDED"
    );
    assert_eq!(
        send(&sim, Method::POST, &op("unsuspend"), None)
            .await
            .status(),
        200
    );
    let r = send(&sim, Method::POST, &op("reset_password"), None).await;
    assert_eq!(r.status(), 400, "sendEmail is required");
    let reset = json(
        send(
            &sim,
            Method::POST,
            &format!("{}?sendEmail=false", op("reset_password")),
            None,
        )
        .await,
    )
    .await;
    assert!(reset["resetPasswordUrl"].is_string());
    assert_eq!(
        json(get(&sim, &format!("/api/v1/users/{id}")).await).await["status"],
        "RECOVERY"
    );
    let expired = json(send(&sim, Method::POST, &op("expire_password"), None).await).await;
    assert_eq!(expired["status"], "PASSWORD_EXPIRED");
    let body =
        j!({"oldPassword": {"value": "Tr0ub4dor&3"}, "newPassword": {"value": "Fresh-Passw0rd"}});
    let r = send(
        &sim,
        Method::POST,
        &format!("/api/v1/users/{id}/credentials/change_password"),
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        send(
            &sim,
            Method::DELETE,
            &format!("/api/v1/users/{id}/sessions?oauthTokens=true"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        send(&sim, Method::POST, &op("deactivate"), None)
            .await
            .status(),
        200
    );
    let types = event_types_for(&sim, &id).await;
    for t in [
        "user.lifecycle.activate",
        "user.lifecycle.suspend",
        "user.lifecycle.unsuspend",
        "user.account.reset_password",
        "user.account.update_password",
        "user.session.clear",
        "user.lifecycle.deactivate",
    ] {
        assert!(types.contains(&t.to_string()), "{t} missing from {types:?}");
    }
}

#[tokio::test]
async fn group_membership_changes_write_events_naming_user_and_group() {
    let sim = start(small()).await;
    let g = json(
        send(
            &sim,
            Method::POST,
            "/api/v1/groups",
            Some(j!({"profile": {"name": "Pilots", "description": "Fly"}})),
        )
        .await,
    )
    .await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["type"], "OKTA_GROUP");
    let uid = json(create(&sim, new_user("mem@example.com"), "").await).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = format!("/api/v1/groups/{gid}/users/{uid}");
    let r = send(&sim, Method::PUT, &member, None).await;
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let members = json(get(&sim, &format!("/api/v1/groups/{gid}/users")).await).await;
    assert_eq!(ids(members.as_array().unwrap(), "id"), vec![uid.clone()]);
    let groups = json(get(&sim, &format!("/api/v1/users/{uid}/groups")).await).await;
    assert!(ids(groups.as_array().unwrap(), "id").contains(&gid));
    assert_eq!(
        send(&sim, Method::DELETE, &member, None).await.status(),
        204
    );
    let types = event_types_for(&sim, &gid).await;
    assert_eq!(
        types,
        vec![
            "group.lifecycle.create",
            "group.user_membership.add",
            "group.user_membership.remove"
        ]
    );
    assert_eq!(
        send(&sim, Method::DELETE, &format!("/api/v1/groups/{gid}"), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        get(&sim, &format!("/api/v1/groups/{gid}")).await.status(),
        404
    );
}

#[tokio::test]
async fn app_assignments_can_be_made_changed_and_removed() {
    let sim = start(small()).await;
    let apps = json(get(&sim, "/api/v1/apps").await).await;
    let aid = apps[0]["id"].as_str().unwrap().to_string();
    let uid = json(create(&sim, new_user("app@example.com"), "").await).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let au = json(
        send(
            &sim,
            Method::POST,
            &format!("/api/v1/apps/{aid}/users"),
            Some(j!({"id": uid, "scope": "USER", "credentials": {"userName": "app1"}})),
        )
        .await,
    )
    .await;
    assert_eq!(au["credentials"]["userName"], "app1");
    let path = format!("/api/v1/apps/{aid}/users/{uid}");
    let upd = json(
        send(
            &sim,
            Method::POST,
            &path,
            Some(j!({"profile": {"role": "admin"}})),
        )
        .await,
    )
    .await;
    assert_eq!(upd["profile"]["role"], "admin");
    let links = json(get(&sim, &format!("/api/v1/users/{uid}/appLinks")).await).await;
    assert!(
        links
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["appInstanceId"] == aid.as_str())
    );
    assert_eq!(
        send(
            &sim,
            Method::DELETE,
            &format!("{path}?sendEmail=false"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(get(&sim, &path).await.status(), 404);
    let types: Vec<String> = event_types_for(&sim, &uid)
        .await
        .into_iter()
        .filter(|t| t.starts_with("application."))
        .collect();
    assert_eq!(
        types,
        vec![
            "application.user_membership.add",
            "application.user_membership.update",
            "application.user_membership.remove"
        ]
    );
}

#[tokio::test]
async fn removing_a_factor_deletes_it_and_logs_the_deactivation() {
    let sim = start(small()).await;
    let users = json(get(&sim, "/api/v1/users?search=status%20eq%20%22ACTIVE%22").await).await;
    let mut target = None;
    for u in users.as_array().unwrap() {
        let id = u["id"].as_str().unwrap().to_string();
        let fs = json(get(&sim, &format!("/api/v1/users/{id}/factors")).await).await;
        if let Some(f) = fs.as_array().unwrap().first() {
            target = Some((
                id,
                f["id"].as_str().unwrap().to_string(),
                fs.as_array().unwrap().len(),
            ));
            break;
        }
    }
    let (uid, fid, n) = target.expect("a user with factors");
    let r = send(
        &sim,
        Method::DELETE,
        &format!("/api/v1/users/{uid}/factors/{fid}?removeRecoveryEnrollment=true"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let fs = json(get(&sim, &format!("/api/v1/users/{uid}/factors")).await).await;
    assert_eq!(fs.as_array().unwrap().len(), n - 1);
    assert_eq!(
        send(
            &sim,
            Method::DELETE,
            &format!("/api/v1/users/{uid}/factors/{fid}"),
            None
        )
        .await
        .status(),
        404
    );
    assert!(
        event_types_for(&sim, &uid)
            .await
            .contains(&"user.mfa.factor.deactivate".to_string())
    );
}

async fn echo_server(echo: bool) -> String {
    use axum::http::HeaderMap;
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::get(move |h: HeaderMap| async move {
            let v = h
                .get("x-okta-verification-challenge")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            axum::Json(j!({"verification": if echo { v } else { "wrong".into() }}))
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.ok() });
    format!("http://{addr}/hook")
}

fn hook_body(uri: &str) -> Value {
    j!({"name": "sync-worker", "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri,
        "authScheme": {"type": "HEADER", "key": "Authorization", "value": "s3cret"}}}})
}

#[tokio::test]
async fn event_hooks_verify_against_the_real_endpoint_and_delete_only_when_inactive() {
    let sim = start(small()).await;
    let good = echo_server(true).await;
    let h = json(
        send(
            &sim,
            Method::POST,
            "/api/v1/eventHooks",
            Some(hook_body(&good)),
        )
        .await,
    )
    .await;
    assert_eq!(
        (h["status"].as_str(), h["verificationStatus"].as_str()),
        (Some("ACTIVE"), Some("UNVERIFIED"))
    );
    assert!(
        h["channel"]["config"]["authScheme"].get("value").is_none(),
        "the secret is never returned"
    );
    let id = h["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("who"));
    let v = json(
        send(
            &sim,
            Method::POST,
            &format!("/api/v1/eventHooks/{id}/lifecycle/verify"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(v["verificationStatus"], "VERIFIED");
    let r = send(
        &sim,
        Method::DELETE,
        &format!("/api/v1/eventHooks/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status(), 400, "an ACTIVE hook cannot be deleted");
    assert_eq!(json(r).await["errorCode"], "E0000001");
    let d = json(
        send(
            &sim,
            Method::POST,
            &format!("/api/v1/eventHooks/{id}/lifecycle/deactivate"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(d["status"], "INACTIVE");
    assert_eq!(
        send(
            &sim,
            Method::DELETE,
            &format!("/api/v1/eventHooks/{id}"),
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        get(&sim, &format!("/api/v1/eventHooks/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        event_types_for(&sim, &id).await,
        vec![
            "event_hook.created",
            "event_hook.verified",
            "event_hook.deactivated",
            "event_hook.deleted"
        ]
    );
    let bad = echo_server(false).await;
    let h = json(
        send(
            &sim,
            Method::POST,
            "/api/v1/eventHooks",
            Some(hook_body(&bad)),
        )
        .await,
    )
    .await;
    let r = send(
        &sim,
        Method::POST,
        &format!(
            "/api/v1/eventHooks/{}/lifecycle/verify",
            h["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(r.status(), 400, "a wrong echo fails verification");
}

#[tokio::test]
async fn groups_and_hooks_created_back_to_back_get_distinct_ids() {
    let sim = start(small()).await;
    let mut ids = std::collections::HashSet::new();
    for i in 0..40 {
        let group = j!({"profile": {"name": format!("g{i}")}});
        let r = json(send(&sim, Method::POST, "/api/v1/groups", Some(group)).await).await;
        assert!(
            ids.insert(r["id"].as_str().unwrap().to_owned()),
            "group id reused: {r}"
        );
        let hook = j!({"name": format!("h{i}"), "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://example.com/h"}}});
        let r = json(send(&sim, Method::POST, "/api/v1/eventHooks", Some(hook)).await).await;
        let id = r["id"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "hook id reused: {r}");
        // Okta allows at most 25 active hooks.
        let off = format!("/api/v1/eventHooks/{id}/lifecycle/deactivate");
        assert_eq!(send(&sim, Method::POST, &off, None).await.status(), 200);
    }
}
