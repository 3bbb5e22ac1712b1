//! The directory streams in the `oktasync` binary: SIGKILL at random points of a backfill with
//! the directory changing between restarts, then convergence of the mirror and of the NDJSON
//! stream; and the daemon's System Log poller keeping its schedule while a rate-limited
//! directory backfill runs beside it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use okta_sim::{Sim, SimConfig};
use oktasync::okta::OktaClient;
use serde_json::{Value, json};

use crate::directory_support::{api, assert_mirrors, truth};
use crate::helpers::spawn_sim;
use crate::sync::ndjson_lines;

const KILL_CONFIG: &str = r#"
[sync]
lookback_secs = 5
[pollers.new_users]
enabled = false
[pollers.updated_users]
enabled = false
[pollers.system_log]
enabled = false
[pollers.groups]
page_size = 25
reconcile = "* * * * * *"
[pollers.group_members]
page_size = 20
[pollers.app_users]
page_size = 25
"#;

/// `oktasync ARGS` against `sim` with `config`, state and NDJSON in `dir`.
fn oktasync(sim: &Sim, dir: &Path, config: &str, args: &[&str]) -> Command {
    crate::process::oktasync_with(sim, dir, config, args)
}

/// A small deterministic generator for kill points and writes.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}

/// A few membership and assignment changes through the API, as admins make them.
async fn change_directory(sim: &Sim, client: &OktaClient, rng: &mut Lcg, round: usize) {
    let t = truth(sim).await;
    let groups: Vec<&String> = t
        .groups
        .keys()
        .filter(|g| t.members.iter().any(|(x, _)| x == *g))
        .collect();
    let users: Vec<&String> = t
        .members
        .iter()
        .map(|(_, u)| u)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let apps: Vec<&String> = t.apps.keys().collect();
    for _ in 0..3 {
        let (g, u) = (
            groups[rng.below(groups.len())],
            users[rng.below(users.len())],
        );
        api(
            client,
            "PUT",
            &format!("/api/v1/groups/{g}/users/{u}"),
            None,
        )
        .await;
    }
    let members: Vec<&(String, String)> = t.members.iter().collect();
    for _ in 0..2 {
        let (g, u) = members[rng.below(members.len())];
        api(
            client,
            "DELETE",
            &format!("/api/v1/groups/{g}/users/{u}"),
            None,
        )
        .await;
    }
    let (a, u) = (apps[rng.below(apps.len())], users[rng.below(users.len())]);
    api(
        client,
        "POST",
        &format!("/api/v1/apps/{a}/users"),
        Some(json!({"id": u, "scope": "USER"})),
    )
    .await;
    let direct: Vec<&(String, String, String)> =
        t.app_users.iter().filter(|(_, _, s)| s == "USER").collect();
    let (a, u, _) = direct[rng.below(direct.len())];
    api(
        client,
        "DELETE",
        &format!("/api/v1/apps/{a}/users/{u}"),
        None,
    )
    .await;
    if round.is_multiple_of(4) {
        let (a, g) = (apps[rng.below(apps.len())], groups[rng.below(groups.len())]);
        api(
            client,
            "PUT",
            &format!("/api/v1/apps/{a}/groups/{g}"),
            Some(json!({})),
        )
        .await;
    }
}

/// The memberships or assignments that replaying `stream`'s NDJSON lines in order leaves.
fn replayed(lines: &[Value], stream: &str) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    for l in lines.iter().filter(|l| l["stream"] == stream) {
        let id = l["id"].as_str().unwrap().to_owned();
        match l["op"].as_str().unwrap() {
            "remove" | "delete" => present.remove(&id),
            _ => present.insert(id),
        };
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_directory_backfill_then_restart_converges_mirror_and_stream() {
    let (sim, client) = spawn_sim(SimConfig {
        users: 1500,
        logs: 20,
        groups: 150,
        apps: 20,
        group_assignments_per_app: 1.0,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(0x5eed);
    let mut window_ms = 600;
    let sync = ["sync", "groups", "group_members", "apps", "app_users"];
    for round in 0..15 {
        let delay = Duration::from_millis(20 + rng.below(window_ms) as u64);
        let mut child = oktasync(&sim, dir.path(), KILL_CONFIG, &sync)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_some() {
            window_ms = (window_ms / 2).max(40);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        change_directory(&sim, &client, &mut rng, round).await;
    }
    let out = oktasync(&sim, dir.path(), KILL_CONFIG, &sync)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = dir.path().join("state.db");
    assert_mirrors(&sim, &state).await;
    let t = truth(&sim).await;
    let lines = ndjson_lines(dir.path());
    let members: BTreeSet<String> = t.members.iter().map(|(g, u)| format!("{g}/{u}")).collect();
    assert_eq!(
        replayed(&lines, "group_members"),
        members,
        "the stream replays to the truth"
    );
    let assigned: BTreeSet<String> = t
        .app_users
        .iter()
        .map(|(a, u, _)| format!("{a}/{u}"))
        .collect();
    assert_eq!(replayed(&lines, "app_users"), assigned);
    let db = rusqlite::Connection::open(&state).unwrap();
    let killed: i64 = db
        .query_row(
            "SELECT count(*) FROM runs WHERE ended_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!("{killed} of 15 kills landed inside a run");
    assert!(killed >= 6, "kills landed inside runs ({killed} of 15)");
}

const DAEMON_CONFIG: &str = r#"
[pollers.new_users]
enabled = false
[pollers.updated_users]
enabled = false
[pollers.system_log]
start = "all"
schedule = "*/1 * * * * *"
[pollers.group_members]
schedule = "*/2 * * * * *"
"#;

/// `(started_at, ended_at)` of the successful runs of `stream` that emitted records, in order.
fn runs(db: &rusqlite::Connection, stream: &str, with_records: bool) -> Vec<(String, String)> {
    let sql = "SELECT started_at, ended_at FROM runs WHERE stream = ?1 AND ended_at IS NOT NULL
               AND error IS NULL AND (records > 0 OR NOT ?2) ORDER BY id";
    db.prepare(sql)
        .unwrap()
        .query_map(rusqlite::params![stream, with_records], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn at(t: &str) -> chrono::DateTime<chrono::Utc> {
    oktasync::poll::plan::parse_time(t).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_log_keeps_its_schedule_while_a_rate_limited_directory_backfills() {
    let (sim, _) = spawn_sim(SimConfig {
        users: 400,
        logs: 200,
        groups: 70,
        apps: 4,
        rate_limit: Some(40),
        rate_window: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = oktasync(&sim, dir.path(), DAEMON_CONFIG, &["run"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.path().join("state.db");
    let deadline = Instant::now() + Duration::from_secs(90);
    let backfill = loop {
        assert!(
            Instant::now() < deadline,
            "no group_members backfill within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(db) = rusqlite::Connection::open(&state) else {
            continue;
        };
        if let Some(run) = runs(&db, "group_members", true).into_iter().next() {
            break run;
        }
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (start, end) = (at(&backfill.0), at(&backfill.1));
    let took = (end - start).to_std().unwrap();
    assert!(
        took >= Duration::from_secs(4),
        "the backfill was long enough to matter: {took:?}"
    );
    let db = rusqlite::Connection::open(&state).unwrap();
    let mut ends: Vec<_> = runs(&db, "system_log", false)
        .into_iter()
        .map(|(_, e)| at(&e))
        .filter(|e| *e > start && *e < end)
        .collect();
    ends.insert(0, start);
    ends.push(end);
    let gaps: Vec<Duration> = ends
        .windows(2)
        .map(|w| (w[1] - w[0]).to_std().unwrap())
        .collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "backfill {took:?}; system_log runs meanwhile: {}; longest gap {longest:?}",
        ends.len() - 2
    );
    assert!(
        longest <= Duration::from_secs(4),
        "system_log ran every second or so while the directory backfilled: longest gap {longest:?} in {took:?}"
    );
}
