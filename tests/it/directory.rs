//! The directory streams end to end against the simulator: groups, memberships, apps and
//! assignments compared with the simulator's truth after a backfill and after writes between
//! runs, and the NDJSON stream's ops.

use std::collections::BTreeSet;

use okta_sim::SimConfig;
use oktasync::poll::Engine;
use serde_json::{Value, json};

use crate::directory_support::{api, assert_mirrors, ids, sync_directory, truth};
use crate::helpers::spawn_sim;
use crate::sync::{ndjson_lines, settings};

fn config() -> SimConfig {
    SimConfig {
        users: 300,
        logs: 50,
        groups: 40,
        apps: 12,
        group_assignments_per_app: 1.5,
        ..SimConfig::default()
    }
}

/// `(op, id)` of the NDJSON lines of `stream`.
fn ops(lines: &[Value], stream: &str) -> BTreeSet<(String, String)> {
    lines
        .iter()
        .filter(|l| l["stream"] == stream)
        .map(|l| {
            (
                l["op"].as_str().unwrap().to_owned(),
                l["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_directory_backfill_equals_the_simulators_truth_and_streams_every_row() {
    let (sim, client) = spawn_sim(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(client.clone(), settings(dir.path(), Some(7))).unwrap();
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &dir.path().join("state.db")).await;
    let want = truth(&sim).await;
    assert!(
        want.members.len() > 300 && want.app_users.len() > 300,
        "a real directory"
    );
    assert!(
        want.app_users.iter().any(|(_, _, s)| s == "GROUP"),
        "some assignments come through groups"
    );
    let lines = ndjson_lines(dir.path());
    let members: BTreeSet<(String, String)> = want
        .members
        .iter()
        .map(|(g, u)| ("upsert".to_owned(), format!("{g}/{u}")))
        .collect();
    assert_eq!(
        ops(&lines, "group_members"),
        members,
        "the first listing streams each membership once, as upsert"
    );
    let assignments: BTreeSet<(String, String)> = want
        .app_users
        .iter()
        .map(|(a, u, _)| ("upsert".to_owned(), format!("{a}/{u}")))
        .collect();
    assert_eq!(ops(&lines, "app_users"), assignments);
    assert_eq!(ops(&lines, "groups").len(), want.groups.len());
    assert_eq!(ops(&lines, "apps").len(), want.apps.len());
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["data", "emitted_at", "id", "op", "stream", "version"]
    );
    let again = sync_directory(&engine).await.unwrap();
    assert!(
        again.iter().all(|s| s.records == 0),
        "an unchanged directory emits nothing: {again:?}"
    );
}

#[tokio::test]
async fn memberships_changed_between_runs_are_mirrored_and_streamed_as_adds_and_removes() {
    let (sim, client) = spawn_sim(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    sync_directory(&engine).await.unwrap();
    let (users, groups, _) = ids(&sim).await;
    let before = truth(&sim).await;
    let (g1, g2, doomed) = (&groups[1], &groups[2], &groups[3]);
    let member = |g: &str| {
        before
            .members
            .iter()
            .find(|(x, _)| x == g)
            .unwrap()
            .1
            .clone()
    };
    let newcomer = users
        .iter()
        .find(|u| !before.members.contains(&(g1.clone(), u.to_string())))
        .unwrap();
    let (left, bounced) = (member(g1), member(g2));
    api(
        &client,
        "PUT",
        &format!("/api/v1/groups/{g1}/users/{newcomer}"),
        None,
    )
    .await;
    api(
        &client,
        "DELETE",
        &format!("/api/v1/groups/{g1}/users/{left}"),
        None,
    )
    .await;
    // Removed and added back before the next run: nothing changed for the mirror.
    api(
        &client,
        "DELETE",
        &format!("/api/v1/groups/{g2}/users/{bounced}"),
        None,
    )
    .await;
    api(
        &client,
        "PUT",
        &format!("/api/v1/groups/{g2}/users/{bounced}"),
        None,
    )
    .await;
    let doomed_members: Vec<String> = before
        .members
        .iter()
        .filter(|(g, _)| g == doomed)
        .map(|(_, u)| u.clone())
        .collect();
    assert!(!doomed_members.is_empty());
    api(&client, "DELETE", &format!("/api/v1/groups/{doomed}"), None).await;
    let (_keep, shutdown) = tokio::sync::watch::channel(false);
    // The System Log mirror tells `groups` of the deletion before any reconcile is due.
    engine.run_once("system_log", &shutdown).await.unwrap();
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;

    let lines = ndjson_lines(dir.path());
    let changes = ops(&lines, "group_members");
    assert!(changes.contains(&("add".into(), format!("{g1}/{newcomer}"))));
    assert!(changes.contains(&("remove".into(), format!("{g1}/{left}"))));
    assert!(!changes.contains(&("remove".into(), format!("{g2}/{bounced}"))));
    for u in &doomed_members {
        assert!(
            changes.contains(&("remove".into(), format!("{doomed}/{u}"))),
            "{u}"
        );
    }
    assert!(ops(&lines, "groups").contains(&("delete".into(), doomed.clone())));
    let db = rusqlite::Connection::open(&state).unwrap();
    let recent: Vec<(String, String)> = db
        .prepare("SELECT op, target_id || '/' || user_id FROM recent_access_changes WHERE kind = 'group'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        recent.len(),
        2 + doomed_members.len(),
        "the add, the remove and the deleted group's members, once each: {recent:?}"
    );
    let tombstoned: String = db
        .query_row(
            "SELECT deleted_at FROM groups WHERE id = ?1",
            [doomed],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!tombstoned.is_empty());
}

#[tokio::test]
async fn app_assignments_direct_and_by_group_follow_okta_with_their_scope() {
    let (sim, client) = spawn_sim(SimConfig {
        group_assignments_per_app: 0.0,
        ..config()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    sync_directory(&engine).await.unwrap();
    let (users, groups, apps) = ids(&sim).await;
    let before = truth(&sim).await;
    let (app, group) = (&apps[0], &groups[1]);
    let assigned = |u: &str| before.app_users.iter().any(|(a, x, _)| a == app && x == u);
    let direct = users.iter().find(|u| !assigned(u)).unwrap();
    api(
        &client,
        "POST",
        &format!("/api/v1/apps/{app}/users"),
        Some(json!({"id": direct, "scope": "USER"})),
    )
    .await;
    api(
        &client,
        "PUT",
        &format!("/api/v1/apps/{app}/groups/{group}"),
        Some(json!({})),
    )
    .await;
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;
    let by_group = truth(&sim).await;
    assert!(
        by_group
            .app_users
            .iter()
            .any(|(a, _, s)| a == app && s == "GROUP"),
        "the group's members hold GROUP assignments"
    );

    let joiner = users
        .iter()
        .find(|u| {
            !by_group
                .app_users
                .iter()
                .any(|(a, x, _)| a == app && x == *u)
        })
        .unwrap();
    api(
        &client,
        "PUT",
        &format!("/api/v1/groups/{group}/users/{joiner}"),
        None,
    )
    .await;
    let leaver = by_group
        .members
        .iter()
        .find(|(g, u)| {
            g == group
                && !by_group
                    .app_users
                    .contains(&(app.clone(), u.clone(), "USER".into()))
        })
        .unwrap()
        .1
        .clone();
    api(
        &client,
        "DELETE",
        &format!("/api/v1/groups/{group}/users/{leaver}"),
        None,
    )
    .await;
    api(
        &client,
        "DELETE",
        &format!("/api/v1/apps/{app}/users/{direct}"),
        None,
    )
    .await;
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;
    let now = truth(&sim).await;
    assert!(
        now.app_users
            .contains(&(app.clone(), joiner.clone(), "GROUP".into()))
    );
    assert!(
        !now.app_users
            .iter()
            .any(|(a, u, _)| a == app && (u == &leaver || u == direct))
    );

    api(
        &client,
        "DELETE",
        &format!("/api/v1/apps/{app}/groups/{group}"),
        None,
    )
    .await;
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;
    let lines = ndjson_lines(dir.path());
    let changes = ops(&lines, "app_users");
    assert!(changes.contains(&("add".into(), format!("{app}/{joiner}"))));
    assert!(changes.contains(&("remove".into(), format!("{app}/{joiner}"))));
    assert!(changes.contains(&("remove".into(), format!("{app}/{direct}"))));
}

#[tokio::test]
async fn a_deleted_app_is_tombstoned_and_its_assignments_removed() {
    let (sim, client) = spawn_sim(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let engine = Engine::open(client.clone(), settings(dir.path(), None)).unwrap();
    sync_directory(&engine).await.unwrap();
    let before = truth(&sim).await;
    let (app, _) = before
        .apps
        .iter()
        .find(|(a, _)| before.app_users.iter().any(|(x, _, _)| x == *a))
        .unwrap();
    let (_, _, apps) = ids(&sim).await;
    let other = apps.iter().find(|a| *a != app).unwrap();
    api(
        &client,
        "POST",
        &format!("/api/v1/apps/{other}/lifecycle/deactivate"),
        None,
    )
    .await;
    api(
        &client,
        "POST",
        &format!("/api/v1/apps/{app}/lifecycle/deactivate"),
        None,
    )
    .await;
    api(&client, "DELETE", &format!("/api/v1/apps/{app}"), None).await;
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;
    let lines = ndjson_lines(dir.path());
    assert!(ops(&lines, "apps").contains(&("delete".into(), app.clone())));
    let db = rusqlite::Connection::open(&state).unwrap();
    let status: String = db
        .query_row("SELECT status FROM apps WHERE id = ?1", [other], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "INACTIVE", "an inactive app stays, with its status");
}

/// A client-credentials client for the simulator's service app, asking for `scopes`.
fn oauth_client(sim: &okta_sim::Sim, scopes: &[&str]) -> oktasync::okta::OktaClient {
    use oktasync::config::{Credentials, DpopMode, ServiceApp, SigningKey};
    let pem = std::fs::read_to_string(crate::oauth::fixture("rsa-pkcs1.pem")).unwrap();
    let creds = Credentials::ClientCredentials(ServiceApp {
        client_id: crate::oauth::CLIENT_ID.into(),
        key: SigningKey::from_pem(&pem, Some("k1".into())).unwrap(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        dpop: DpopMode::Auto,
    });
    let org = url::Url::parse(&sim.base_url).unwrap();
    oktasync::okta::OktaClient::with_credentials(org, creds, crate::helpers::fast_options(), None)
        .unwrap()
}

/// The error of one run of `stream` by a client granted only `granted`, after `seed` ran with
/// every scope into the same state.
async fn refusal(
    sim: &okta_sim::Sim,
    granted: &[&str],
    seed: Option<&str>,
    stream: &str,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (_keep, shutdown) = tokio::sync::watch::channel(false);
    if let Some(seed) = seed {
        let all = ["okta.groups.read", "okta.apps.read", "okta.logs.read"];
        let engine = Engine::open(oauth_client(sim, &all), settings(dir.path(), None)).unwrap();
        engine.run_once(seed, &shutdown).await.unwrap();
    }
    let engine = Engine::open(oauth_client(sim, granted), settings(dir.path(), None)).unwrap();
    let err = engine.run_once(stream, &shutdown).await.unwrap_err();
    format!("{err:#}")
}

#[tokio::test]
async fn under_oauth_each_directory_stream_names_the_scope_it_lacks() {
    let app = crate::oauth::service_app(false, std::time::Duration::from_secs(3600));
    let sim = crate::oauth::sim_with(vec![app], config()).await;
    let apps_logs = ["okta.apps.read", "okta.logs.read"];
    for (granted, seed, stream, missing) in [
        (&apps_logs[..], None, "groups", "okta.groups.read"),
        (
            &apps_logs[..],
            Some("groups"),
            "group_members",
            "okta.groups.read",
        ),
        (
            &["okta.groups.read", "okta.logs.read"][..],
            None,
            "apps",
            "okta.apps.read",
        ),
        (
            &["okta.groups.read", "okta.logs.read"][..],
            None,
            "app_users",
            "okta.apps.read",
        ),
        (
            &["okta.groups.read", "okta.apps.read"][..],
            Some("app_users"),
            "app_users",
            "okta.logs.read",
        ),
    ] {
        let message = refusal(&sim, granted, seed, stream).await;
        assert!(
            message.contains(missing) && message.contains("Okta API Scopes"),
            "{stream} without {missing}: {message}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let all = ["okta.groups.read", "okta.apps.read", "okta.logs.read"];
    let engine = Engine::open(oauth_client(&sim, &all), settings(dir.path(), None)).unwrap();
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &dir.path().join("state.db")).await;
}

#[tokio::test]
async fn a_group_deleted_without_the_system_log_is_tombstoned_by_the_reconcile() {
    let (sim, client) = spawn_sim(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let mut every_second = settings(dir.path(), None);
    for p in &mut every_second.pollers {
        if p.stream == "groups" {
            p.reconcile = Some("* * * * * *".into());
        }
    }
    let engine = Engine::open(client.clone(), every_second).unwrap();
    sync_directory(&engine).await.unwrap();
    let (_, groups, _) = ids(&sim).await;
    api(
        &client,
        "DELETE",
        &format!("/api/v1/groups/{}", groups[4]),
        None,
    )
    .await;
    let (_keep, shutdown) = tokio::sync::watch::channel(false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        engine.run_once("groups", &shutdown).await.unwrap();
        let db = rusqlite::Connection::open(&state).unwrap();
        let gone: Option<String> = db
            .query_row(
                "SELECT deleted_at FROM groups WHERE id = ?1",
                [&groups[4]],
                |r| r.get(0),
            )
            .unwrap();
        if gone.is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reconcile within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    sync_directory(&engine).await.unwrap();
    assert_mirrors(&sim, &state).await;
}
