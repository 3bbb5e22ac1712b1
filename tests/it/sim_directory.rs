//! The simulator's directory as Okta keeps it: group assignments to apps grant their members
//! GROUP-scoped assignments as members come and go, each change is logged, membership writes
//! move `lastMembershipUpdated` where a search finds it, and a generated directory has the
//! density asked for.

use okta_sim::SimConfig;
use serde_json::{Value, json};

use crate::directory_support::{api, ids, truth};
use crate::helpers::{sim_get, spawn_sim};

/// The event types the System Log shows now, with their targets' ids.
async fn events(client: &oktasync::okta::OktaClient) -> Vec<(String, Vec<String>)> {
    let since = oktasync::poll::plan::okta_time(chrono::Utc::now() - chrono::Duration::hours(1));
    let page: Vec<Value> = client
        .get_json(
            "/api/v1/logs",
            &[("since", since.as_str()), ("limit", "1000")],
        )
        .await
        .unwrap();
    page.iter()
        .map(|e| {
            let targets = e["target"].as_array().cloned().unwrap_or_default();
            let ids = targets
                .iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned))
                .collect();
            (e["eventType"].as_str().unwrap().to_owned(), ids)
        })
        .collect()
}

fn logged(events: &[(String, Vec<String>)], kind: &str, ids: &[&str]) -> usize {
    events
        .iter()
        .filter(|(k, t)| k == kind && ids.iter().all(|i| t.iter().any(|x| x == i)))
        .count()
}

#[tokio::test]
async fn a_group_assigned_to_an_app_grants_its_members_the_app_as_okta_does() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 80,
        logs: 0,
        groups: 5,
        apps: 2,
        assignments_per_user: 0.0,
        group_assignments_per_app: 0.0,
        ..SimConfig::default()
    })
    .await;
    let (users, groups, apps) = ids(&sim).await;
    let (app, group) = (&apps[0], &groups[1]);
    let members: Vec<String> = truth(&sim)
        .await
        .members
        .iter()
        .filter(|(g, _)| g == group)
        .map(|(_, u)| u.clone())
        .collect();
    assert!(members.len() >= 2, "the group has members");
    let direct = &members[0];
    api(
        &client,
        "POST",
        &format!("/api/v1/apps/{app}/users"),
        Some(json!({"id": direct})),
    )
    .await;
    let assigned = api(
        &client,
        "PUT",
        &format!("/api/v1/apps/{app}/groups/{group}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(assigned["id"], group.as_str());
    let t = truth(&sim).await;
    for m in &members {
        let scope = if m == direct { "USER" } else { "GROUP" };
        assert!(
            t.app_users
                .contains(&(app.clone(), m.clone(), scope.into())),
            "{m} {scope}"
        );
    }
    let listed: Vec<Value> = client
        .get_json(&format!("/api/v1/apps/{app}/groups"), &[])
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    let outsider = users.iter().find(|u| !members.contains(u)).unwrap();
    api(
        &client,
        "PUT",
        &format!("/api/v1/groups/{group}/users/{outsider}"),
        None,
    )
    .await;
    let leaver = &members[1];
    api(
        &client,
        "DELETE",
        &format!("/api/v1/groups/{group}/users/{leaver}"),
        None,
    )
    .await;
    let t = truth(&sim).await;
    assert!(
        t.app_users
            .contains(&(app.clone(), outsider.clone(), "GROUP".into()))
    );
    assert!(!t.app_users.iter().any(|(a, u, _)| a == app && u == leaver));

    let refused = client
        .execute(oktasync::okta::Request::new(
            reqwest::Method::DELETE,
            client
                .url(&format!("/api/v1/apps/{app}/users/{outsider}"), &[])
                .unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("through a group"), "{refused}");
    api(
        &client,
        "DELETE",
        &format!("/api/v1/apps/{app}/groups/{group}"),
        None,
    )
    .await;
    let t = truth(&sim).await;
    let left: Vec<&(String, String, String)> =
        t.app_users.iter().filter(|(a, _, _)| a == app).collect();
    assert_eq!(
        left,
        [&(app.clone(), direct.clone(), "USER".to_owned())],
        "only the direct one stays"
    );

    let log = events(&client).await;
    assert_eq!(
        logged(&log, "group.application_assignment.add", &[app, group]),
        1
    );
    assert_eq!(
        logged(&log, "group.application_assignment.remove", &[app, group]),
        1
    );
    assert_eq!(
        logged(&log, "application.user_membership.add", &[app, outsider]),
        1
    );
    assert_eq!(
        logged(&log, "application.user_membership.remove", &[app, leaver]),
        1
    );
    assert_eq!(
        logged(&log, "application.user_membership.remove", &[app, outsider]),
        1
    );
    assert_eq!(
        logged(&log, "application.user_membership.remove", &[app, direct]),
        0
    );
    assert_eq!(
        logged(&log, "group.user_membership.add", &[group, outsider]),
        1
    );
}

#[tokio::test]
async fn membership_writes_move_last_membership_updated_where_a_search_finds_it() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 40,
        logs: 0,
        groups: 6,
        apps: 1,
        ..SimConfig::default()
    })
    .await;
    let (users, groups, _) = ids(&sim).await;
    let before = truth(&sim).await;
    let group = &groups[2];
    let newest = before
        .groups
        .values()
        .map(|(_, m)| m.clone())
        .max()
        .unwrap();
    let user = users
        .iter()
        .find(|u| !before.members.contains(&(group.clone(), u.to_string())))
        .unwrap();
    api(
        &client,
        "PUT",
        &format!("/api/v1/groups/{group}/users/{user}"),
        None,
    )
    .await;
    let after = truth(&sim).await;
    assert!(
        after.groups[group].1 > before.groups[group].1,
        "lastMembershipUpdated moved"
    );
    assert_eq!(
        after.groups[group].0, before.groups[group].0,
        "lastUpdated is the profile's"
    );
    let search = format!("lastUpdated gt \"{newest}\" or lastMembershipUpdated gt \"{newest}\"");
    let found: Vec<Value> = client
        .get_json("/api/v1/groups", &[("search", search.as_str())])
        .await
        .unwrap();
    let found: Vec<&str> = found.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(found, [group.as_str()]);
}

#[tokio::test]
async fn a_generated_directory_has_the_density_asked_for() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 20_000,
        logs: 0,
        groups: 2_000,
        apps: 50,
        memberships_per_user: 2.0,
        assignments_per_user: 3.0,
        group_assignments_per_app: 2.0,
        ..SimConfig::default()
    })
    .await;
    let t = sim_get(&sim, "/__sim/truth?directory=true&logs=false").await;
    let count = |k: &str| t[k].as_array().unwrap().len();
    let members = count("members");
    assert!(
        (39_500..=40_000).contains(&members),
        "about 2 per user: {members}"
    );
    let by_group = t["app_users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a[2] == "GROUP")
        .count();
    let direct = count("app_users") - by_group;
    assert!(
        (50_000..=56_000).contains(&direct),
        "about 3 per active user: {direct}"
    );
    assert!(by_group > 0, "group assignments grant apps");
    let sizes = t["members"].as_array().unwrap().iter().fold(
        std::collections::HashMap::<&str, usize>::new(),
        |mut m, p| {
            *m.entry(p[0].as_str().unwrap()).or_default() += 1;
            m
        },
    );
    let largest = sizes.values().max().copied().unwrap_or(0);
    assert!(
        largest > 10 * members / 2_000,
        "popular groups are large: {largest}"
    );
}
