//! The user operations end to end against the simulator: what was sent (method, path, query,
//! body, each checked against the spec table) and what it did to the org.

use oktasync::okta::api::{
    CredentialsInput, DeleteOutcome, LogQuery, NewUser, Password, PasswordChange, ProfileInput,
    SecretJson, SortOrder, UserQuery, UserUpdate,
};
use serde_json::json;

use super::admin_support::{new_active_user, org};

#[tokio::test]
async fn listing_users_sends_search_and_sort_and_follows_every_page() {
    let org = org().await;
    let query = UserQuery {
        search: Some("status eq \"ACTIVE\"".into()),
        limit: Some(7),
        sort_by: Some("created".into()),
        sort_order: Some(SortOrder::Asc),
        ..UserQuery::default()
    };
    let all = org
        .client
        .users()
        .list(&query)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let sent = org.requests().await;
    assert!(sent.len() >= 2, "more than one page of 7: {sent:#?}");
    sent[0].is(
        "GET",
        "/api/v1/users",
        &[
            ("search", "status eq \"ACTIVE\""),
            ("limit", "7"),
            ("sortBy", "created"),
            ("sortOrder", "asc"),
        ],
    );
    assert!(
        sent[1].q("after").is_some(),
        "the second page follows the next link"
    );
    assert!(all.next.is_none());
    assert!(all.items.iter().all(|u| u["status"] == "ACTIVE"));
    let expected = org.truth_ids("users", |u| u["status"] == "ACTIVE").await;
    assert_eq!(ids_of(&all.items), expected, "every ACTIVE user, once");
    let pages = expected.len().div_ceil(7);
    assert!(
        sent.len() == pages || sent.len() == pages + 1,
        "{pages} pages: {}",
        sent.len()
    );
}

/// The `id`s of listed items, sorted.
pub fn ids_of(items: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_users_list_command_prints_one_page_and_the_next_cursor_on_stderr() {
    let org = org().await;
    let out = org
        .cli(&[
            "users",
            "list",
            "--limit",
            "3",
            "--filter",
            "status eq \"ACTIVE\"",
        ])
        .await
        .ok();
    let users = out.json();
    assert_eq!(users.as_array().map(Vec::len), Some(3), "{out:?}");
    let sent = org.only_request().await;
    sent.is(
        "GET",
        "/api/v1/users",
        &[("limit", "3"), ("filter", "status eq \"ACTIVE\"")],
    );
    assert!(out.stderr.contains("next page: --after "), "{}", out.stderr);
}

#[tokio::test]
async fn a_user_is_read_by_id_or_by_login_with_expand() {
    let org = org().await;
    let id = new_active_user(&org, "reader@example.com").await;
    org.reset().await;
    let by_id = org.client.users().get(&id, Some("blocks")).await.unwrap();
    org.only_request().await.is(
        "GET",
        &format!("/api/v1/users/{id}"),
        &[("expand", "blocks")],
    );
    org.reset().await;
    let out = org.cli(&["users", "get", "reader@example.com"]).await.ok();
    org.only_request()
        .await
        .is("GET", "/api/v1/users/reader@example.com", &[]);
    assert_eq!(by_id["id"], out.json()["id"]);
    assert_eq!(out.json()["profile"]["login"], "reader@example.com");
}

#[tokio::test]
async fn creating_a_user_from_the_command_line_sends_profile_credentials_and_groups() {
    let org = org().await;
    let gid = org.okta_group().await;
    let gid = gid.as_str();
    org.reset().await;
    let args = [
        "users",
        "create",
        "--login",
        "new.hire@example.com",
        "--email",
        "new.hire@example.com",
        "--first-name",
        "New",
        "--last-name",
        "Hire",
        "--department",
        "Sales",
        "--group-id",
        gid,
        "--password-stdin",
        "--next-login",
        "change-password",
        "--profile-extra",
        r#"{"costCenter":"CC-7"}"#,
        "--recovery-question",
        "First pet?",
        "--recovery-answer",
        "Rex-the-dog",
    ];
    let out = org.cli_with_stdin(&args, "Sup3r-Secret-pw\n").await.ok();
    assert!(!out.stdout.contains("Sup3r-Secret-pw") && !out.stderr.contains("Sup3r-Secret-pw"));
    assert!(!out.stdout.contains("Rex-the-dog"));
    let sent = org.only_request().await;
    sent.is("POST", "/api/v1/users", &[("nextLogin", "changePassword")]);
    assert_eq!(
        sent.body,
        json!({
            "profile": {"login": "new.hire@example.com", "email": "new.hire@example.com", "firstName": "New",
                        "lastName": "Hire", "department": "Sales", "costCenter": "CC-7"},
            "credentials": {"password": {"value": "Sup3r-Secret-pw"},
                            "recovery_question": {"question": "First pet?", "answer": "Rex-the-dog"}},
            "groupIds": [gid],
        })
    );
    let id = out.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        org.status_of(&id).await.as_deref(),
        Some("PASSWORD_EXPIRED")
    );
    let members = org
        .client
        .groups()
        .members(gid, None, None)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    assert!(members.items.iter().any(|u| u["id"] == id.as_str()));
}

#[tokio::test]
async fn a_user_created_without_activation_with_a_password_hash_is_staged() {
    let org = org().await;
    let user = NewUser {
        profile: ProfileInput {
            login: Some("imported@example.com".into()),
            email: Some("imported@example.com".into()),
            first_name: Some("Im".into()),
            last_name: Some("Ported".into()),
            ..ProfileInput::default()
        },
        credentials: CredentialsInput {
            password: Some(Password::Hash(SecretJson(
                json!({"algorithm": "BCRYPT", "workFactor": 10, "salt": "rwh3vH166HCH/NT9XV5FYu", "value": "qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna"}),
            ))),
            ..CredentialsInput::default()
        },
        activate: Some(false),
        ..NewUser::default()
    };
    let created = org.client.users().create(&user).await.unwrap();
    let sent = org.only_request().await;
    sent.is("POST", "/api/v1/users", &[("activate", "false")]);
    assert_eq!(
        sent.body["credentials"]["password"]["hash"]["algorithm"],
        "BCRYPT"
    );
    assert_eq!(
        org.status_of(created["id"].as_str().unwrap())
            .await
            .as_deref(),
        Some("STAGED")
    );
}

#[tokio::test]
async fn a_partial_update_sends_only_the_given_fields_and_keeps_the_rest() {
    let org = org().await;
    let id = new_active_user(&org, "partial@example.com").await;
    org.reset().await;
    let update = UserUpdate {
        profile: ProfileInput {
            department: Some("Finance".into()),
            ..ProfileInput::default()
        },
        ..UserUpdate::default()
    };
    let user = org.client.users().update(&id, &update).await.unwrap();
    let sent = org.only_request().await;
    sent.is("POST", &format!("/api/v1/users/{id}"), &[]);
    assert_eq!(sent.body, json!({"profile": {"department": "Finance"}}));
    assert_eq!(user["profile"]["department"], "Finance");
    assert_eq!(
        user["profile"]["firstName"], "Test",
        "fields not given are kept"
    );
}

#[tokio::test]
async fn the_update_command_changes_the_profile_by_login() {
    let org = org().await;
    new_active_user(&org, "cli.update@example.com").await;
    org.reset().await;
    let out = org
        .cli(&[
            "users",
            "update",
            "cli.update@example.com",
            "--mobile-phone",
            "+1-555-0100",
            "--locale",
            "fr_FR",
        ])
        .await
        .ok();
    let sent = org.only_request().await;
    sent.is("POST", "/api/v1/users/cli.update@example.com", &[]);
    assert_eq!(
        sent.body,
        json!({"profile": {"mobilePhone": "+1-555-0100", "locale": "fr_FR"}})
    );
    assert_eq!(out.json()["profile"]["locale"], "fr_FR");
}

#[tokio::test]
async fn deleting_an_active_user_only_deactivates_it_and_a_second_delete_removes_it() {
    let org = org().await;
    let id = new_active_user(&org, "leaver@example.com").await;
    org.reset().await;
    let first = org.client.users().delete(&id, false).await.unwrap();
    assert_eq!(
        first,
        DeleteOutcome::Deactivated {
            status: "DEPROVISIONED".into()
        }
    );
    let sent = org.requests().await;
    sent[0].is(
        "DELETE",
        &format!("/api/v1/users/{id}"),
        &[("sendEmail", "false")],
    );
    assert_eq!(org.status_of(&id).await.as_deref(), Some("DEPROVISIONED"));
    org.reset().await;
    let out = org
        .cli(&["users", "delete", &id, "--send-email"])
        .await
        .ok();
    assert!(out.stderr.contains("deleted user"), "{out:?}");
    org.requests().await[0].is(
        "DELETE",
        &format!("/api/v1/users/{id}"),
        &[("sendEmail", "true")],
    );
    assert_eq!(org.status_of(&id).await, None);
}

#[tokio::test]
async fn the_delete_command_explains_how_to_finish_when_okta_only_deactivated() {
    let org = org().await;
    let id = new_active_user(&org, "half.gone@example.com").await;
    let out = org.cli(&["users", "delete", &id]).await.ok();
    assert!(
        out.stderr.contains("only deactivated") && out.stderr.contains("again"),
        "{out:?}"
    );
    assert_eq!(org.status_of(&id).await.as_deref(), Some("DEPROVISIONED"));
}

#[tokio::test]
async fn activating_a_staged_user_without_email_returns_the_activation_link() {
    let org = org().await;
    let user = NewUser {
        profile: ProfileInput {
            login: Some("staged@example.com".into()),
            email: Some("staged@example.com".into()),
            first_name: Some("St".into()),
            last_name: Some("Aged".into()),
            ..ProfileInput::default()
        },
        activate: Some(false),
        ..NewUser::default()
    };
    let id = org.client.users().create(&user).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    org.reset().await;
    let answer = org.client.users().activate(&id, false).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/activate"),
        &[("sendEmail", "false")],
    );
    assert!(answer["activationUrl"].is_string(), "{answer}");
    assert_eq!(org.status_of(&id).await.as_deref(), Some("PROVISIONED"));
    org.reset().await;
    let again = org.client.users().reactivate(&id, false).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/reactivate"),
        &[("sendEmail", "false")],
    );
    assert!(again["activationToken"].is_string(), "{again}");
    assert_eq!(org.status_of(&id).await.as_deref(), Some("PROVISIONED"));
}

#[tokio::test]
async fn deactivate_with_dry_run_sends_nothing_and_without_it_deprovisions() {
    let org = org().await;
    let id = new_active_user(&org, "dry@example.com").await;
    org.reset().await;
    let out = org
        .cli(&["users", "deactivate", &id, "--dry-run"])
        .await
        .ok();
    let shown = out.json();
    assert_eq!(shown["method"], "POST");
    assert_eq!(shown["operation"], "deactivateUser");
    assert!(shown["url"].as_str().unwrap().ends_with(&format!(
        "/api/v1/users/{id}/lifecycle/deactivate?sendEmail=false"
    )));
    assert_eq!(shown["headers"]["Authorization"], "SSWS [redacted]");
    assert!(!out.stdout.contains(&org.sim.token));
    assert!(org.requests().await.is_empty(), "a dry run sends nothing");
    assert_eq!(org.status_of(&id).await.as_deref(), Some("ACTIVE"));
    org.client.users().deactivate(&id, false).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/deactivate"),
        &[("sendEmail", "false")],
    );
    assert_eq!(org.status_of(&id).await.as_deref(), Some("DEPROVISIONED"));
}

#[tokio::test]
async fn suspend_unsuspend_and_unlock_move_the_user_between_statuses() {
    let org = org().await;
    let id = new_active_user(&org, "traveller@example.com").await;
    let users = org.client.users();
    org.reset().await;
    users.suspend(&id).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/suspend"),
        &[],
    );
    assert_eq!(org.status_of(&id).await.as_deref(), Some("SUSPENDED"));
    org.reset().await;
    let out = org.cli(&["users", "unsuspend", &id]).await.ok();
    assert_eq!(out.code, 0);
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/unsuspend"),
        &[],
    );
    assert_eq!(org.status_of(&id).await.as_deref(), Some("ACTIVE"));
    let locked = org.user_in("LOCKED_OUT").await.unwrap_or(id);
    org.reset().await;
    users.unlock(&locked).await.unwrap();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{locked}/lifecycle/unlock"),
        &[],
    );
    assert_eq!(org.status_of(&locked).await.as_deref(), Some("ACTIVE"));
}

#[tokio::test]
async fn a_password_reset_without_email_returns_the_reset_link_and_puts_the_user_in_recovery() {
    let org = org().await;
    let id = new_active_user(&org, "forgetful@example.com").await;
    org.reset().await;
    let out = org
        .cli(&["users", "reset-password", &id, "--revoke-sessions"])
        .await
        .ok();
    org.only_request().await.is(
        "POST",
        &format!("/api/v1/users/{id}/lifecycle/reset_password"),
        &[("sendEmail", "false"), ("revokeSessions", "true")],
    );
    assert!(out.json()["resetPasswordUrl"].is_string(), "{out:?}");
    assert_eq!(org.status_of(&id).await.as_deref(), Some("RECOVERY"));
}

#[tokio::test]
async fn an_admin_set_then_a_change_with_the_old_password_both_reach_okta() {
    let org = org().await;
    let id = new_active_user(&org, "pw@example.com").await;
    org.reset().await;
    let out = org
        .cli_with_stdin(
            &[
                "users",
                "set-password",
                &id,
                "--new-password-stdin",
                "--revoke-sessions",
            ],
            "Adm1n-Set-pw\n",
        )
        .await
        .ok();
    assert!(!out.stdout.contains("Adm1n-Set-pw") && !out.stderr.contains("Adm1n-Set-pw"));
    let sent = org.requests().await;
    assert_eq!(sent.len(), 2, "{sent:#?}");
    sent[0].is("POST", &format!("/api/v1/users/{id}"), &[]);
    assert_eq!(
        sent[0].body,
        json!({"credentials": {"password": {"value": "Adm1n-Set-pw"}}})
    );
    sent[1].is(
        "DELETE",
        &format!("/api/v1/users/{id}/sessions"),
        &[("oauthTokens", "false"), ("forgetDevices", "false")],
    );
    org.reset().await;
    let change = PasswordChange {
        new: Password::Plain("Us3r-Chosen-pw".into()),
        old: Some(Password::Plain("Adm1n-Set-pw".into())),
        revoke_sessions: true,
    };
    org.client.users().set_password(&id, &change).await.unwrap();
    let sent = org.only_request().await;
    sent.is(
        "POST",
        &format!("/api/v1/users/{id}/credentials/change_password"),
        &[],
    );
    assert_eq!(
        sent.body,
        json!({"oldPassword": {"value": "Adm1n-Set-pw"}, "newPassword": {"value": "Us3r-Chosen-pw"}, "revokeSessions": true})
    );
    let wrong = PasswordChange {
        new: Password::Plain("Another-pw-1".into()),
        old: Some(Password::Plain("Adm1n-Set-pw".into())),
        revoke_sessions: false,
    };
    let err = org
        .client
        .users()
        .set_password(&id, &wrong)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("E0000014"),
        "the old password changed: {err}"
    );
}

#[tokio::test]
async fn clearing_sessions_sends_both_flags_and_is_logged_for_the_user() {
    let org = org().await;
    let id = new_active_user(&org, "incident@example.com").await;
    org.reset().await;
    let out = org
        .cli(&["users", "clear-sessions", &id, "--oauth-tokens"])
        .await
        .ok();
    assert!(
        out.stdout.is_empty() && out.stderr.contains("cleared"),
        "{out:?}"
    );
    org.only_request().await.is(
        "DELETE",
        &format!("/api/v1/users/{id}/sessions"),
        &[("oauthTokens", "true"), ("forgetDevices", "false")],
    );
    let query = LogQuery {
        filter: Some("eventType eq \"user.session.clear\"".into()),
        ..LogQuery::default()
    };
    let events = org
        .client
        .list_logs(&query)
        .unwrap()
        .collect(Some(1000))
        .await
        .unwrap();
    let hit = events.items.iter().any(|e| {
        e["target"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["id"] == id.as_str()))
    });
    assert!(hit, "a user.session.clear event targets the user");
}

#[tokio::test]
async fn a_users_groups_and_apps_are_listed_from_its_own_endpoints() {
    let org = org().await;
    let id = new_active_user(&org, "member@example.com").await;
    let gid = org.okta_group().await;
    org.client.groups().add_user(&gid, &id).await.unwrap();
    let apps = org
        .client
        .apps()
        .list(&Default::default())
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let app = apps.items.iter().find(|a| a["status"] == "ACTIVE").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assignment = oktasync::okta::api::AppAssignment {
        user_id: id.clone(),
        ..Default::default()
    };
    org.client.apps().assign(&app, &assignment).await.unwrap();
    org.reset().await;
    let in_groups = org
        .client
        .users()
        .groups(&id)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/users/{id}/groups"), &[]);
    assert!(in_groups.items.iter().any(|g| g["id"] == gid.as_str()));
    org.reset().await;
    let out = org.cli(&["users", "apps", &id]).await.ok();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/users/{id}/appLinks"), &[]);
    assert!(
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["appInstanceId"] == app.as_str()),
        "{out:?}"
    );
}

#[tokio::test]
async fn factors_are_listed_and_one_is_unenrolled() {
    let org = org().await;
    let users = org
        .client
        .users()
        .list(&UserQuery::default())
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let mut found = None;
    for user in &users.items {
        let id = user["id"].as_str().unwrap();
        let factors = org
            .client
            .users()
            .factors(id)
            .unwrap()
            .collect(None)
            .await
            .unwrap();
        if let Some(f) = factors.items.first() {
            found = Some((
                id.to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                factors.items.len(),
            ));
            break;
        }
    }
    let (uid, fid, before) = found.expect("some user has a factor");
    org.reset().await;
    let out = org
        .cli(&["users", "factors", &uid, "--output", "ndjson"])
        .await
        .ok();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/users/{uid}/factors"), &[]);
    assert_eq!(out.stdout.lines().count(), before);
    org.reset().await;
    org.client
        .users()
        .unenroll_factor(&uid, &fid, true)
        .await
        .unwrap();
    org.only_request().await.is(
        "DELETE",
        &format!("/api/v1/users/{uid}/factors/{fid}"),
        &[("removeRecoveryEnrollment", "true")],
    );
    let after = org
        .client
        .users()
        .factors(&uid)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    assert_eq!(after.items.len(), before - 1);
    assert!(after.items.iter().all(|f| f["id"] != fid.as_str()));
}

#[tokio::test]
async fn unenroll_factor_with_dry_run_leaves_the_factor() {
    let org = org().await;
    let id = new_active_user(&org, "nofactor@example.com").await;
    org.reset().await;
    let out = org
        .cli(&[
            "users",
            "unenroll-factor",
            &id,
            "mbl1abcdEFGH2345",
            "--dry-run",
        ])
        .await
        .ok();
    assert_eq!(out.json()["method"], "DELETE");
    assert_eq!(out.json()["operation"], "unenrollFactor");
    assert!(org.requests().await.is_empty());
}

#[tokio::test]
async fn delete_and_clear_sessions_with_dry_run_send_nothing() {
    let org = org().await;
    let id = new_active_user(&org, "careful@example.com").await;
    org.reset().await;
    let out = org
        .cli(&["users", "delete", &id, "--send-email", "--dry-run"])
        .await
        .ok();
    let shown = out.json();
    assert_eq!(
        (shown["operation"].as_str(), shown["method"].as_str()),
        (Some("deleteUser"), Some("DELETE"))
    );
    assert!(
        shown["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/users/{id}?sendEmail=true"))
    );
    let out = org
        .cli(&[
            "users",
            "clear-sessions",
            &id,
            "--forget-devices",
            "--dry-run",
            "--output",
            "table",
        ])
        .await
        .ok();
    assert!(
        out.stdout.starts_with("OPERATION") && out.stdout.contains("revokeUserSessions"),
        "{out:?}"
    );
    assert!(out.stdout.contains("forgetDevices=true"), "{out:?}");
    assert!(org.requests().await.is_empty());
    assert_eq!(org.status_of(&id).await.as_deref(), Some("ACTIVE"));
}
