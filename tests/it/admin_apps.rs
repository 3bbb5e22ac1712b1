//! The application operations end to end against the simulator: listing and reading apps, and
//! a user's assignment from creation to removal.

use oktasync::okta::api::{AppAssignment, AppQuery, AppUserUpdate};
use serde_json::json;

use super::admin_support::{new_active_user, org};

async fn an_active_app(org: &super::admin_support::Org) -> String {
    let apps = org
        .client
        .apps()
        .list(&AppQuery::default())
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let app = apps
        .items
        .iter()
        .find(|a| a["status"] == "ACTIVE")
        .expect("an active app");
    app["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn listing_apps_sends_every_flag_and_follows_pages() {
    let org = org().await;
    let query = AppQuery {
        filter: Some("status eq \"ACTIVE\"".into()),
        limit: Some(1),
        include_non_deleted: true,
        use_optimization: true,
        ..AppQuery::default()
    };
    let all = org
        .client
        .apps()
        .list(&query)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let sent = org.requests().await;
    sent[0].is(
        "GET",
        "/api/v1/apps",
        &[
            ("filter", "status eq \"ACTIVE\""),
            ("limit", "1"),
            ("includeNonDeleted", "true"),
            ("useOptimization", "true"),
        ],
    );
    assert!(all.items.iter().all(|a| a["status"] == "ACTIVE"));
    let expected = org.truth_ids("apps", |a| a["status"] == "ACTIVE").await;
    assert!(!expected.is_empty());
    assert_eq!(
        super::admin_users::ids_of(&all.items),
        expected,
        "every ACTIVE app, once"
    );
    let pages = sent.len();
    assert!(
        pages == expected.len() || pages == expected.len() + 1,
        "one page per app: {pages}"
    );
    let label = all.items[0]["label"].as_str().unwrap().to_owned();
    org.reset().await;
    let out = org
        .cli(&["apps", "list", "--q", &label, "--limit", "5"])
        .await
        .ok();
    org.only_request()
        .await
        .is("GET", "/api/v1/apps", &[("q", &label), ("limit", "5")]);
    assert!(
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["label"] == label.as_str())
    );
}

#[tokio::test]
async fn an_app_is_read_by_id() {
    let org = org().await;
    let app = an_active_app(&org).await;
    org.reset().await;
    let out = org.cli(&["apps", "get", &app]).await.ok();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/apps/{app}"), &[]);
    assert_eq!(out.json()["id"], app.as_str());
    org.reset().await;
    let by_lib = org.client.apps().get(&app, Some("user/00u1")).await;
    org.only_request().await.is(
        "GET",
        &format!("/api/v1/apps/{app}"),
        &[("expand", "user/00u1")],
    );
    assert!(by_lib.is_ok());
}

#[tokio::test]
async fn an_assignment_is_created_read_updated_and_removed() {
    let org = org().await;
    let app = an_active_app(&org).await;
    let user = new_active_user(&org, "assignee@example.com").await;
    let apps = org.client.apps();
    org.reset().await;
    let out = org
        .cli(&[
            "apps",
            "assign",
            &app,
            &user,
            "--scope",
            "USER",
            "--username",
            "assignee",
            "--profile",
            r#"{"role":"viewer"}"#,
        ])
        .await
        .ok();
    let sent = org.only_request().await;
    sent.is("POST", &format!("/api/v1/apps/{app}/users"), &[]);
    assert_eq!(
        sent.body,
        json!({"id": user, "scope": "USER", "credentials": {"userName": "assignee"}, "profile": {"role": "viewer"}})
    );
    assert_eq!(out.json()["id"], user.as_str());

    org.reset().await;
    let got = apps.assignment(&app, &user).await.unwrap();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/apps/{app}/users/{user}"), &[]);
    assert_eq!(got["credentials"]["userName"], "assignee");

    org.reset().await;
    let update = AppUserUpdate {
        password: Some("App-Secret-9".into()),
        profile: Some(json!({"role": "admin"}).as_object().unwrap().clone()),
        ..AppUserUpdate::default()
    };
    let updated = apps.update_assignment(&app, &user, &update).await.unwrap();
    let sent = org.only_request().await;
    sent.is("POST", &format!("/api/v1/apps/{app}/users/{user}"), &[]);
    assert_eq!(
        sent.body,
        json!({"credentials": {"password": {"value": "App-Secret-9"}}, "profile": {"role": "admin"}})
    );
    assert_eq!(updated["profile"]["role"], "admin");
    assert_eq!(
        apps.assignment(&app, &user).await.unwrap()["profile"]["role"],
        "admin"
    );

    org.reset().await;
    let out = org
        .cli(&["apps", "unassign", &app, &user, "--dry-run"])
        .await
        .ok();
    assert_eq!(out.json()["operation"], "unassignUserFromApplication");
    assert!(org.requests().await.is_empty());
    let out = org.cli(&["apps", "unassign", &app, &user]).await.ok();
    assert!(out.stderr.contains("removed"), "{out:?}");
    org.only_request().await.is(
        "DELETE",
        &format!("/api/v1/apps/{app}/users/{user}"),
        &[("sendEmail", "false")],
    );
    assert_eq!(
        apps.assignment(&app, &user).await.unwrap_err().status(),
        Some(404)
    );
    let truth = org.truth().await;
    let held = truth["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == app.as_str());
    let users = held.unwrap()["users"].as_array().unwrap();
    assert!(
        !users.iter().any(|u| u == user.as_str()),
        "the org no longer assigns it"
    );
}

#[tokio::test]
async fn an_update_without_profile_or_credentials_is_refused_before_sending() {
    let org = org().await;
    let app = an_active_app(&org).await;
    org.reset().await;
    let out = org
        .cli(&["apps", "update-assignment", &app, "00u1abcdEFGH2345"])
        .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--profile"), "{out:?}");
    let err = org
        .client
        .apps()
        .update_assignment(&app, "00u1abcdEFGH2345", &AppUserUpdate::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("profile"), "{err}");
    assert!(org.requests().await.is_empty());
    let _ = AppAssignment::default();
}
