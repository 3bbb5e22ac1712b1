//! The event hook end to end with the simulator as Okta: registration (create, keep, update,
//! verify), deliveries reaching the mirror and NDJSON within a second, Okta's duplicates and
//! reordering, filters, the poller's copy of a hooked event, status and unregistration. Every
//! check is against the simulator's truth: its hooks, its System Log and its delivery attempts.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use oktasync::hook::register::{self, Wanted};
use oktasync::okta::OktaClient;
use oktasync::poll::Engine;
use oktasync::store::Store;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::admin_support::run_cli;
use crate::helpers::{requests, sim_get, sim_post, spawn_sim, truth_logs};
use crate::hook_support::*;
use crate::sim_support::{json as body_json, send};

async fn org() -> (Sim, OktaClient) {
    spawn_sim(SimConfig {
        users: 20,
        logs: 40,
        groups: 3,
        apps: 2,
        ..SimConfig::default()
    })
    .await
}

fn wanted(r: &TestReceiver, events: &[&str]) -> Wanted {
    Wanted {
        name: "oktasync".into(),
        url: format!("{}/okta/event-hook", r.base),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        filter: None,
        headers: vec![("X-Source".into(), "okta".into())],
        secret_header: "Authorization".into(),
    }
}

/// Creates (and activates) a user through the API; its id.
async fn create_user(sim: &Sim, login: &str) -> String {
    let body = json!({"profile": {"firstName": "Nia", "lastName": "Hook", "email": login, "login": login}});
    let created = body_json(send(sim, Method::POST, "/api/v1/users", Some(body)).await).await;
    created["id"].as_str().expect("a user id").to_owned()
}

/// The System Log events naming `target`, as the simulator's API shows them: type → uuid.
async fn events_for(sim: &Sim, target: &str) -> BTreeMap<String, String> {
    let filter: String =
        url::form_urlencoded::byte_serialize(format!(r#"target.id eq "{target}""#).as_bytes())
            .collect();
    let path = format!("/api/v1/logs?limit=100&filter={filter}");
    let events = body_json(send(sim, Method::GET, &path, None).await).await;
    events
        .as_array()
        .expect("a list of events")
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap().to_owned(),
                e["uuid"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The simulator's delivery attempts to `hook_id`.
async fn attempts(sim: &Sim, hook_id: &str) -> Vec<Value> {
    let all = sim_get(sim, "/__sim/hooks/deliveries").await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["hook_id"] == hook_id)
        .cloned()
        .collect()
}

/// Uuids the simulator delivered to `hook_id` and the receiver answered 200.
async fn delivered(sim: &Sim, hook_id: &str) -> BTreeSet<String> {
    attempts(sim, hook_id)
        .await
        .iter()
        .filter(|a| a["status"] == 200)
        .flat_map(|a| {
            a["uuids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_creates_activates_and_verifies_the_hook_and_running_it_again_changes_nothing() {
    let (sim, client) = org().await;
    let r = receiver(Sinks::MirrorOnly).await;
    let w = wanted(&r, &["user.lifecycle.create", "user.lifecycle.deactivate"]);
    let made = register::register(&client, &r.state(), w.clone())
        .await
        .unwrap();
    assert_eq!(
        (
            &made["action"],
            &made["status"],
            &made["verificationStatus"]
        ),
        (&json!("created"), &json!("ACTIVE"), &json!("VERIFIED"))
    );
    let id = made["id"].as_str().unwrap().to_owned();
    let at_okta = client.event_hooks().get(&id).await.unwrap();
    assert_eq!(at_okta["verificationStatus"], "VERIFIED");
    assert_eq!(at_okta["channel"]["config"]["uri"], w.url.as_str());
    assert_eq!(
        at_okta["channel"]["config"]["authScheme"]["key"],
        "Authorization"
    );
    let stored = Store::open(&r.state())
        .unwrap()
        .hook_registration("oktasync")
        .unwrap()
        .unwrap();
    assert_eq!(stored.hook_id.as_deref(), Some(id.as_str()));
    assert!(
        stored.secret.expose_secret().len() >= 40,
        "a long random secret"
    );
    let mode = std::fs::metadata(r.state()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the secret lives in a private file");

    sim_post(&sim, "/__sim/requests/reset", json!({})).await;
    let again = register::register(&client, &r.state(), w.clone())
        .await
        .unwrap();
    assert_eq!(
        (again["action"].as_str(), again["id"].as_str()),
        (Some("unchanged"), Some(id.as_str()))
    );
    let methods: Vec<String> = requests(&sim)
        .await
        .iter()
        .map(|q| q["method"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(methods, ["GET", "GET"], "only reads: the list and the hook");

    let mut more = w;
    more.events.push("group.user_membership.add".into());
    let updated = register::register(&client, &r.state(), more).await.unwrap();
    assert_eq!(
        (updated["action"].as_str(), updated["id"].as_str()),
        (Some("updated"), Some(id.as_str()))
    );
    assert_eq!(
        updated["verificationStatus"], "VERIFIED",
        "verified again after the channel changed"
    );
    let items = client.event_hooks().get(&id).await.unwrap()["events"]["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 3);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_created_through_okta_reaches_the_mirror_and_ndjson_within_a_second() {
    let (sim, client) = org().await;
    let r = receiver(Sinks::MirrorAndFile).await;
    let w = wanted(&r, &["user.lifecycle.create"]);
    let id = register::register(&client, &r.state(), w).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    let user = create_user(&sim, "round.trip@example.com").await;
    let (state, ndjson) = (r.state(), r.ndjson());
    let truth = events_for(&sim, &user).await;
    let create = truth["user.lifecycle.create"].clone();
    eventually(
        Duration::from_secs(1),
        "the create event in the mirror and NDJSON",
        || async {
            let mirrored =
                mirror_events(&state).contains(&(create.clone(), "event_hook".to_owned()));
            let lines = lines_of(&ndjson);
            mirrored
                && lines
                    .iter()
                    .any(|l| l["id"] == create.as_str() && l["stream"] == "event_hook")
        },
    )
    .await;
    let took = started.elapsed();
    println!("user created → mirror row and NDJSON line in {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    let line = lines_of(&ndjson)
        .into_iter()
        .find(|l| l["id"] == create.as_str())
        .unwrap();
    assert_eq!(line["data"]["target"][0]["id"], user.as_str());
    assert!(
        !truth.contains_key("user.lifecycle.activate")
            || !delivered(&sim, &id)
                .await
                .contains(&truth["user.lifecycle.activate"]),
        "only subscribed types are delivered"
    );
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_deliveries_give_one_mirror_row_per_event_and_every_event_in_ndjson()
 {
    let (sim, client) = org().await;
    let r = receiver(Sinks::MirrorAndFile).await;
    let settings = json!({"reorder": true, "duplicate": true, "batch_size": 1});
    assert_eq!(
        sim_post(&sim, "/__sim/hooks/settings", settings.clone()).await,
        settings
    );
    let w = wanted(&r, &["user.lifecycle.create", "user.lifecycle.activate"]);
    let id = register::register(&client, &r.state(), w).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut truth = Vec::new();
    for n in 0..3 {
        let user = create_user(&sim, &format!("dup.{n}@example.com")).await;
        truth.push(events_for(&sim, &user).await);
    }
    let expected: BTreeSet<String> = truth.iter().flat_map(|t| t.values().cloned()).collect();
    assert_eq!(expected.len(), 6);
    let state = r.state();
    eventually(Duration::from_secs(5), "every event mirrored", || async {
        let mirrored: BTreeSet<String> =
            mirror_events(&state).into_iter().map(|(u, _)| u).collect();
        mirrored == expected
    })
    .await;
    // The mirror can hold every event before the simulator has sent each duplicate.
    eventually(
        Duration::from_secs(5),
        "every delivery sent twice",
        || async {
            let sent = attempts(&sim, &id).await;
            expected.iter().all(|uuid| {
                sent.iter()
                    .filter(|a| a["uuids"][0] == uuid.as_str())
                    .count()
                    >= 2
            })
        },
    )
    .await;
    let sent = attempts(&sim, &id).await;
    let mut posts: BTreeMap<String, usize> = BTreeMap::new();
    for a in &sent {
        *posts
            .entry(a["uuids"][0].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        posts.values().all(|n| *n >= 2),
        "Okta's duplicates: {posts:?}"
    );
    let first_post = |uuid: &str| sent.iter().position(|a| a["uuids"][0] == uuid).unwrap();
    let reordered = truth
        .iter()
        .filter(|t| {
            first_post(&t["user.lifecycle.activate"]) < first_post(&t["user.lifecycle.create"])
        })
        .count();
    assert!(
        reordered > 0,
        "the activation arrived before the creation at least once"
    );
    let ndjson = r.ndjson();
    eventually(Duration::from_secs(5), "every event in NDJSON", || async {
        let lines = lines_of(&ndjson);
        let ids: BTreeSet<String> = lines
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
        ids == expected
    })
    .await;
    assert_eq!(mirror_events(&r.state()).len(), 6, "one row per uuid");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_passes_only_matching_events_of_the_types_it_names() {
    let (sim, client) = org().await;
    let r = receiver(Sinks::MirrorOnly).await;
    let mut w = wanted(&r, &["user.lifecycle.create", "user.lifecycle.activate"]);
    w.filter = Some(json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [{
        "event": "user.lifecycle.create",
        "condition": {"expression": "event.target.exists(t, t.alternateId.startsWith('keep'))"}}]}));
    let id = register::register(&client, &r.state(), w).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dropped = events_for(&sim, &create_user(&sim, "drop.me@example.com").await).await;
    let kept = events_for(&sim, &create_user(&sim, "keep.me@example.com").await).await;
    let state = r.state();
    let wanted_rows = [
        &dropped["user.lifecycle.activate"],
        &kept["user.lifecycle.create"],
        &kept["user.lifecycle.activate"],
    ];
    eventually(
        Duration::from_secs(5),
        "the passing events mirrored",
        || async {
            let mirrored: BTreeSet<String> =
                mirror_events(&state).into_iter().map(|(u, _)| u).collect();
            wanted_rows.iter().all(|u| mirrored.contains(*u))
        },
    )
    .await;
    let sent = delivered(&sim, &id).await;
    assert!(
        !sent.contains(&dropped["user.lifecycle.create"]),
        "the create event of drop.me failed the filter, while its activation (same request, same batch) passed"
    );
    assert!(
        !mirror_events(&state)
            .iter()
            .any(|(u, _)| *u == dropped["user.lifecycle.create"])
    );
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_by_the_hook_and_then_polled_is_one_mirror_row_marked_hook_first() {
    let (sim, client) = org().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::sync::settings(dir.path(), None);
    for p in &mut settings.pollers {
        p.start = oktasync::config::StartAt::All;
    }
    let engine = Engine::open(client.clone(), settings).unwrap();
    let (stop, shutdown) = watch::channel(false);
    let hook_settings = hook_settings(None);
    let running = oktasync::cli::hook::start_in_daemon(
        &engine,
        &hook_settings,
        "127.0.0.1:0".parse().unwrap(),
        None,
        shutdown.clone(),
    )
    .await
    .unwrap();
    let state = dir.path().join("state.db");
    let w = Wanted {
        url: format!("http://{}/okta/event-hook", running.addr),
        ..wanted_for_url("user.lifecycle.create")
    };
    register::register(&client, &state, w).await.unwrap();
    let user = create_user(&sim, "both.paths@example.com").await;
    let hooked = events_for(&sim, &user).await["user.lifecycle.create"].clone();
    eventually(
        Duration::from_secs(5),
        "the hook delivered the event",
        || async { mirror_events(&state).iter().any(|(u, _)| *u == hooked) },
    )
    .await;
    engine.run_once("system_log", &shutdown).await.unwrap();
    let mirrored = mirror_events(&state);
    let uuids: Vec<String> = mirrored.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(
        uuids,
        truth_logs(&sim).await,
        "one row per event the org has, no more"
    );
    for (uuid, via) in &mirrored {
        let first = if *uuid == hooked {
            "event_hook"
        } else {
            "system_log"
        };
        assert_eq!(via, first, "{uuid}");
    }
    let lines = crate::sync::ndjson_lines(dir.path());
    let streams: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["id"] == hooked.as_str())
        .map(|l| l["stream"].as_str().unwrap())
        .collect();
    assert_eq!(
        streams,
        BTreeSet::from(["event_hook", "system_log"]),
        "NDJSON: at least once per stream"
    );
    stop.send(true).unwrap();
    running.finish(Duration::from_secs(5)).await.unwrap();
}

fn wanted_for_url(event: &str) -> Wanted {
    Wanted {
        name: "oktasync".into(),
        url: String::new(),
        events: vec![event.to_owned()],
        filter: None,
        headers: Vec::new(),
        secret_header: "Authorization".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_commands_register_report_and_unregister_and_never_print_the_secret() {
    let (sim, _client) = org().await;
    let r = receiver(Sinks::MirrorOnly).await;
    let state = r.state().display().to_string();
    let url = format!("{}/okta/event-hook", r.base);
    let cli = |args: Vec<&str>| {
        let (base, token) = (sim.base_url.clone(), sim.token.clone());
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_cli(&base, &token, &args, "").await
        }
    };
    sim_post(&sim, "/__sim/requests/reset", json!({})).await;
    let refused = cli(vec![
        "hook",
        "register",
        "--url",
        &url,
        "--event",
        "policy.evaluate_sign_on",
        "--state",
        &state,
    ])
    .await;
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("Okta does not deliver this event type"),
        "{}",
        refused.stderr
    );
    assert!(
        requests(&sim).await.is_empty(),
        "refused before asking Okta"
    );

    let made = cli(vec![
        "hook",
        "register",
        "--url",
        &url,
        "--event",
        "user.lifecycle.create",
        "--state",
        &state,
        "--output",
        "json",
    ])
    .await
    .ok();
    let hook = made.json();
    assert_eq!(hook["verificationStatus"], "VERIFIED");
    let id = hook["id"].as_str().unwrap().to_owned();
    let secret = Store::open(&r.state())
        .unwrap()
        .hook_registration("oktasync")
        .unwrap()
        .unwrap()
        .secret;
    create_user(&sim, "status.check@example.com").await;
    eventually(Duration::from_secs(5), "a delivery answered", || async {
        !delivered(&sim, &id).await.is_empty()
    })
    .await;
    let answered = attempts(&sim, &id)
        .await
        .iter()
        .filter(|a| a["status"] == 200)
        .count() as u64;
    let status_out = cli(vec![
        "hook", "status", "--state", &state, "--output", "json",
    ])
    .await
    .ok();
    let status = status_out.json();
    assert_eq!(
        (status["id"].as_str(), status["status"].as_str()),
        (Some(id.as_str()), Some("ACTIVE"))
    );
    assert_eq!(
        status["deliveries"], answered,
        "the receiver counted what Okta delivered"
    );
    assert!(status["last_delivery_at"].is_string());
    assert_eq!(status["inbox"], 0);

    let gone = cli(vec![
        "hook",
        "unregister",
        "--state",
        &state,
        "--output",
        "json",
    ])
    .await
    .ok();
    assert_eq!(gone.json()["deleted"], true);
    let hooks: Vec<String> = body_json(send(&sim, Method::GET, "/api/v1/eventHooks", None).await)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!hooks.contains(&id), "deleted at Okta");
    assert!(
        Store::open(&r.state())
            .unwrap()
            .hook_registration("oktasync")
            .unwrap()
            .is_none()
    );
    let again = cli(vec!["hook", "unregister", "--state", &state]).await;
    assert!(
        again.stderr.contains("nothing to remove"),
        "{}",
        again.stderr
    );
    let after = cli(vec![
        "hook", "status", "--state", &state, "--output", "json",
    ])
    .await
    .ok()
    .json();
    assert_eq!(after["status"], "NOT_FOUND");
    assert_eq!(after["deliveries"], answered, "the receiver's counts stay");
    let script = json!({"responses": [{"status": 403, "path_prefix": "/api/v1/eventHooks",
        "body": {"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action"}}]});
    sim_post(&sim, "/__sim/script", script).await;
    let blind = cli(vec![
        "hook", "status", "--state", &state, "--output", "json",
    ])
    .await
    .ok()
    .json();
    assert_eq!(blind["status"], "UNKNOWN");
    assert!(
        blind["okta_error"].as_str().unwrap().contains("E0000006"),
        "{blind}"
    );
    assert_eq!(
        blind["deliveries"], answered,
        "shown even when Okta cannot be asked"
    );
    for out in [&refused, &made, &status_out, &gone, &again] {
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains(secret.expose_secret()),
            "the secret was printed: {all}"
        );
    }
    r.stop().await;
}
