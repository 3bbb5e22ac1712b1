//! The users pollers' look-back window against an eventually consistent search index: with
//! writes reaching the index out of order, a look-back that covers the lag mirrors every
//! update, and none at all loses some (so the window is really exercised).

use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use oktasync::poll::Engine;
use serde_json::json;
use tokio::sync::watch;

use crate::helpers::{sim_post, spawn_sim, truth_users};
use crate::sync::{mirror, settings};

/// The lag each write waits at most before `search` sees it.
const LAG_SECS: f64 = 0.8;

/// Sync, touch users while polling `updated_users` often, let the index catch up, poll once
/// more, and return the truth's users the mirror does not hold at their latest version.
async fn missed_updates(lookback: Duration) -> Vec<(String, String)> {
    let (sim, client) = spawn_sim(SimConfig {
        users: 40,
        logs: 10,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), Some(200));
    s.lookback = lookback;
    let engine = Engine::open(client, s).unwrap();
    let (_keep, shutdown) = watch::channel(false);
    engine.run_once("updated_users", &shutdown).await.unwrap();
    sim_post(
        &sim,
        "/__sim/settings",
        json!({"search_lag_seconds": LAG_SECS}),
    )
    .await;
    for _ in 0..15 {
        sim_post(&sim, "/__sim/users/touch", json!({"count": 3})).await;
        engine.run_once("updated_users", &shutdown).await.unwrap();
        // Spread the writes over the lag, so that they reach the index out of order.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let truth = truth_users(&sim).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let searched = crate::sim_search_lag::searched_versions(&sim).await;
        if searched == truth {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the search index never caught up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.run_once("updated_users", &shutdown).await.unwrap();
    let (mirrored, _) = mirror(&dir.path().join("state.db"));
    truth
        .into_iter()
        .filter(|u| !mirrored.contains(u))
        .collect()
}

#[tokio::test]
async fn a_look_back_longer_than_the_search_lag_mirrors_every_update_and_none_loses_some() {
    let (covered, none) = tokio::join!(
        missed_updates(Duration::from_secs(5)),
        missed_updates(Duration::ZERO)
    );
    assert_eq!(
        covered,
        vec![],
        "a 5 s look-back over a {LAG_SECS} s lag misses nothing"
    );
    assert!(
        !none.is_empty(),
        "without a look-back, updates that reached the index late are lost"
    );
}
