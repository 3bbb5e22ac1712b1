//! The group operations end to end against the simulator: the request sent and the change in
//! the org.

use oktasync::okta::api::{GroupProfile, GroupQuery};
use serde_json::json;

use super::admin_support::{new_active_user, org};

#[tokio::test]
async fn listing_groups_sends_the_query_and_reads_every_page() {
    let org = org().await;
    let query = GroupQuery {
        search: Some("type eq \"OKTA_GROUP\"".into()),
        limit: Some(2),
        expand: Some("stats".into()),
        ..GroupQuery::default()
    };
    let all = org
        .client
        .groups()
        .list(&query)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let sent = org.requests().await;
    sent[0].is(
        "GET",
        "/api/v1/groups",
        &[
            ("search", "type eq \"OKTA_GROUP\""),
            ("limit", "2"),
            ("expand", "stats"),
        ],
    );
    let expected = org.truth_ids("groups", |g| g["type"] == "OKTA_GROUP").await;
    assert_eq!(
        super::admin_users::ids_of(&all.items),
        expected,
        "every OKTA_GROUP, once"
    );
    let pages = expected.len().div_ceil(2);
    assert!(
        sent.len() == pages || sent.len() == pages + 1,
        "{pages} pages: {sent:#?}"
    );
    assert!(sent.iter().skip(1).all(|r| r.q("after").is_some()));
    assert!(all.items.iter().all(|g| g["type"] == "OKTA_GROUP"));
    org.reset().await;
    let out = org
        .cli(&[
            "groups",
            "list",
            "--q",
            all.items[0]["profile"]["name"].as_str().unwrap(),
            "--output",
            "table",
        ])
        .await
        .ok();
    let sent = org.only_request().await;
    assert_eq!(sent.q("q"), all.items[0]["profile"]["name"].as_str());
    assert!(out.stdout.starts_with("ID"), "{out:?}");
    assert!(out.stdout.contains(all.items[0]["id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_group_is_created_read_updated_and_deleted() {
    let org = org().await;
    let groups = org.client.groups();
    let profile = GroupProfile {
        name: Some("Field Sales".into()),
        description: Some("All field sales".into()),
    };
    let created = groups.create(&profile).await.unwrap();
    let sent = org.only_request().await;
    sent.is("POST", "/api/v1/groups", &[]);
    assert_eq!(
        sent.body,
        json!({"profile": {"name": "Field Sales", "description": "All field sales"}})
    );
    let id = created["id"].as_str().unwrap().to_owned();

    org.reset().await;
    let out = org.cli(&["groups", "get", &id]).await.ok();
    org.only_request()
        .await
        .is("GET", &format!("/api/v1/groups/{id}"), &[]);
    assert_eq!(out.json()["profile"]["name"], "Field Sales");

    org.reset().await;
    let out = org
        .cli(&[
            "groups",
            "update",
            &id,
            "--description",
            "Field sales, EMEA",
        ])
        .await
        .ok();
    let sent = org.requests().await;
    sent[0].is("GET", &format!("/api/v1/groups/{id}"), &[]);
    sent[1].is("PUT", &format!("/api/v1/groups/{id}"), &[]);
    assert_eq!(
        sent[1].body,
        json!({"profile": {"name": "Field Sales", "description": "Field sales, EMEA"}})
    );
    assert_eq!(out.json()["profile"]["description"], "Field sales, EMEA");
    assert_eq!(
        groups.get(&id).await.unwrap()["profile"]["name"],
        "Field Sales",
        "the name is kept"
    );

    org.reset().await;
    let out = org.cli(&["groups", "delete", &id, "--dry-run"]).await.ok();
    assert_eq!(out.json()["operation"], "deleteGroup");
    assert!(org.requests().await.is_empty());
    groups.delete(&id).await.unwrap();
    org.only_request()
        .await
        .is("DELETE", &format!("/api/v1/groups/{id}"), &[]);
    assert_eq!(groups.get(&id).await.unwrap_err().status(), Some(404));
}

#[tokio::test]
async fn a_group_replace_with_both_fields_sends_no_read_first() {
    let org = org().await;
    let groups = org.client.groups();
    let created = groups
        .create(&GroupProfile {
            name: Some("Ops".into()),
            description: None,
        })
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    org.reset().await;
    let both = GroupProfile {
        name: Some("Ops EU".into()),
        description: Some("Operations, EU".into()),
    };
    let replaced = groups.update(id, &both).await.unwrap();
    let sent = org.only_request().await;
    sent.is("PUT", &format!("/api/v1/groups/{id}"), &[]);
    assert_eq!(replaced["profile"]["name"], "Ops EU");
}

#[tokio::test]
async fn members_are_added_listed_and_removed() {
    let org = org().await;
    let groups = org.client.groups();
    let gid = groups
        .create(&GroupProfile {
            name: Some("Project X".into()),
            description: None,
        })
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = new_active_user(&org, "x.one@example.com").await;
    let b = new_active_user(&org, "x.two@example.com").await;
    org.reset().await;
    groups.add_user(&gid, &a).await.unwrap();
    let sent = org.only_request().await;
    sent.is("PUT", &format!("/api/v1/groups/{gid}/users/{a}"), &[]);
    assert!(sent.body.is_null(), "no body");
    assert_eq!(
        sent.headers["content-length"], "0",
        "a body-less PUT says Content-Length: 0"
    );
    org.reset().await;
    let out = org.cli(&["groups", "add-user", &gid, &b]).await.ok();
    assert!(out.stderr.contains("added"), "{out:?}");
    org.only_request()
        .await
        .is("PUT", &format!("/api/v1/groups/{gid}/users/{b}"), &[]);

    org.reset().await;
    let out = org
        .cli(&[
            "groups", "members", &gid, "--limit", "1", "--all", "--output", "ndjson",
        ])
        .await
        .ok();
    let sent = org.requests().await;
    sent[0].is(
        "GET",
        &format!("/api/v1/groups/{gid}/users"),
        &[("limit", "1")],
    );
    assert!(sent.len() >= 2, "--all follows the next link");
    let ids: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&a) && ids.contains(&b));

    org.reset().await;
    groups.remove_user(&gid, &a).await.unwrap();
    org.only_request()
        .await
        .is("DELETE", &format!("/api/v1/groups/{gid}/users/{a}"), &[]);
    let members = groups
        .members(&gid, Some(200), None)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0]["id"], b.as_str());
    let truth = org.truth().await;
    let group = truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid.as_str());
    assert_eq!(
        group.unwrap()["members"],
        json!([b]),
        "the org holds exactly that member"
    );
}
