//! The System Log cursor heals itself: a `next` link Okta rejects, or one whose position is older
//! than Okta keeps events, starts a new polling query instead of failing every run, and the
//! mirror stays exact; `cursor reset system_log --to` starts a new query where asked.

use std::path::Path;
use std::process::Command;

use okta_sim::{Sim, SimConfig};
use serde_json::{Value, json};

use crate::helpers::{requests, sim_post, spawn_sim};
use crate::sync::{assert_converged, settings, sync_all};

fn cursor(dir: &Path) -> Value {
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    let text: String = db
        .query_row(
            "SELECT value FROM cursors WHERE stream = 'system_log'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn set_cursor(dir: &Path, value: &Value) {
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    db.execute(
        "UPDATE cursors SET value = ?1 WHERE stream = 'system_log'",
        [value.to_string()],
    )
    .unwrap();
}

/// The queries of the System Log requests the simulator received, oldest first.
async fn log_queries(sim: &Sim) -> Vec<String> {
    requests(sim)
        .await
        .iter()
        .filter(|r| r["path"] == "/api/v1/logs")
        .map(|r| r["query"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `since` parameter of a query string, decoded.
fn since(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "since")
        .map(|(_, v)| v.into_owned())
}

fn small() -> SimConfig {
    SimConfig {
        users: 20,
        logs: 600,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn a_next_link_okta_rejects_restarts_a_margin_before_the_last_event_and_the_mirror_stays_exact()
 {
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
    let mut stored = cursor(dir.path());
    let last = stored["last_published"].as_str().unwrap().to_owned();
    stored["next"] = json!(format!(
        "{}/api/v1/logs?after=not-a-cursor&limit=100",
        sim.base_url
    ));
    set_cursor(dir.path(), &stored);
    sim_post(&sim, "/__sim/logs", json!({ "count": 150 })).await;
    sim_post(&sim, "/__sim/requests/reset", json!({})).await;
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
    assert_converged(&sim, dir.path()).await;
    let queries = log_queries(&sim).await;
    assert!(queries[0].contains("after=not-a-cursor"), "{queries:?}");
    let restart = oktasync::poll::plan::parse_time(&last).unwrap() - chrono::Duration::minutes(15);
    let expected = oktasync::poll::plan::okta_time(restart);
    assert_eq!(
        since(&queries[1]).as_deref(),
        Some(expected.as_str()),
        "{queries:?}"
    );
    let healed = cursor(dir.path());
    assert!(!healed["next"].as_str().unwrap().contains("not-a-cursor"));
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_position_older_than_retention_starts_a_new_query_at_the_oldest_kept_event_without_asking()
 {
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
    let mut stored = cursor(dir.path());
    let old = chrono::Utc::now() - chrono::Duration::days(100);
    stored["last_published"] = json!(oktasync::poll::plan::okta_time(old));
    let link = stored["next"].as_str().unwrap().to_owned();
    set_cursor(dir.path(), &stored);
    sim_post(&sim, "/__sim/logs", json!({ "count": 50 })).await;
    sim_post(&sim, "/__sim/requests/reset", json!({})).await;
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
    assert_converged(&sim, dir.path()).await;
    let queries = log_queries(&sim).await;
    let after = link.split_once('?').unwrap().1;
    assert_ne!(
        queries[0], after,
        "the expired link is not requested: {queries:?}"
    );
    let retained = chrono::Utc::now() - chrono::Duration::days(90);
    let started = since(&queries[0]).unwrap_or_default();
    let started = oktasync::poll::plan::parse_time(&started).expect("a new query with since");
    assert!(
        (started - retained).num_seconds().abs() < 120,
        "{started} is not about {retained}"
    );
}

#[tokio::test]
async fn cursor_reset_system_log_to_a_time_starts_the_next_query_there() {
    let (sim, client) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
    let to = oktasync::poll::plan::okta_time(chrono::Utc::now() - chrono::Duration::hours(30));
    let out = Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .args(["cursor", "reset", "system_log", "--to", &to, "--state"])
        .arg(dir.path().join("state.db"))
        .env_remove("OKTASYNC_CONFIG")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reset = cursor(dir.path());
    assert_eq!(
        (reset["next"].as_str(), reset["since"].as_str()),
        (Some(""), Some(to.as_str()))
    );
    sim_post(&sim, "/__sim/requests/reset", json!({})).await;
    sync_all(&client, settings(dir.path(), Some(100)))
        .await
        .unwrap();
    let queries = log_queries(&sim).await;
    assert_eq!(since(&queries[0]), Some(to), "{queries:?}");
    assert!(
        cursor(dir.path()).get("since").is_none(),
        "once the query started, only its link is kept"
    );
}
