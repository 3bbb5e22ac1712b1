//! Benchmark: the first backfill of a large directory (groups, memberships, apps, assignments)
//! from the simulator under a rate limit at share 0.5, then one incremental cycle on the unchanged
//! directory; prints requests beside the request floor (the fewest requests Okta's paging allows
//! for that directory), time and 429s, and checks the mirror against the simulator's truth. The
//! simulator runs in a child process.
//!
//! cargo run --release --example bench_directory -- [--users 100000] [--groups 10000]
//!     [--apps 300] [--memberships 200000] [--assignments 500000]
//!     [--rate-limit 600] [--rate-window-secs 1]
//!
//! The default limit is Okta's 600 requests per window of most buckets, with the minute shortened
//! to a second so the backfill takes minutes rather than hours; `--rate-window-secs 60` is Okta's
//! real window.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use oktasync::config::{StartAt, SyncSettings};
use oktasync::okta::{ClientOptions, OktaClient};
use oktasync::poll::Engine;
use serde_json::Value;
use tokio::sync::watch;

#[allow(dead_code)] // the page-fetch floor of the other benchmarks is not used here
mod support;

const STREAMS: [&str; 4] = ["groups", "group_members", "apps", "app_users"];

/// Okta's largest page per listing: groups (spec maximum), group members (its documented
/// default; no maximum is documented), apps, app users.
const GROUPS_PAGE: usize = 10_000;
const MEMBERS_PAGE: usize = 1_000;
const APPS_PAGE: usize = 200;
const APP_USERS_PAGE: usize = 500;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = |name: &str, default: u64| support::arg(name).unwrap_or(default);
    let users = arg("--users", 100_000) as usize;
    let (limit, window) = (arg("--rate-limit", 600), arg("--rate-window-secs", 1));
    let sim = support::child_sim(directory(users, limit as u32, window)).await?;
    println!("rate limit: {limit} requests per {window} s window per bucket, share 0.5");
    let dir = tempfile::tempdir()?;
    let client = OktaClient::new(
        sim.base.parse()?,
        sim.token.clone().into(),
        ClientOptions::default(),
    )?;
    let engine = Engine::open(client.clone(), settings(dir.path()))?;
    let backfill = cycle(&engine, &client).await?;
    let again = cycle(&engine, &client).await?;
    // Measured before the truth is read, so it is the sync's own.
    let rss = support::peak_rss_mb();
    let truth = Truth::fetch(&sim.base).await?;
    let by_group = truth.app_users.iter().filter(|(_, _, s)| s == "GROUP");
    println!(
        "directory: {} groups, {} memberships, {} apps, {} assignments ({} by group); {users} users",
        truth.groups,
        truth.members.len(),
        truth.apps,
        truth.app_users.len(),
        by_group.count()
    );
    let floor = truth.floor();
    println!(
        "backfill: {} requests ({:.3}x the floor of {floor}), {:.1} s, {} 429s; {}",
        backfill.requests,
        backfill.requests as f64 / floor as f64,
        backfill.time.as_secs_f64(),
        backfill.rate_limited,
        backfill.per_stream
    );
    println!(
        "unchanged incremental cycle: {} requests, {:.2} s, {} 429s; {}",
        again.requests,
        again.time.as_secs_f64(),
        again.rate_limited,
        again.per_stream
    );
    let mirrored = truth.matches(&dir.path().join("state.db"))?;
    println!("mirror equals the simulator's truth: {mirrored}");
    let counters: Value = reqwest::get(format!("{}/__sim/counters", sim.base))
        .await?
        .json()
        .await?;
    let refused = &counters["rate_limited"];
    println!("simulator: {refused} requests refused with 429; sync peak RSS {rss:.1} MB");
    Ok(())
}

/// The simulated org: `--groups`, `--apps`, and densities that give about `--memberships`
/// memberships and `--assignments` assignments over `users` users.
fn directory(users: usize, limit: u32, window: u64) -> SimConfig {
    let arg = |name: &str, default: u64| support::arg(name).unwrap_or(default);
    let (groups, apps) = (
        arg("--groups", 10_000) as usize,
        arg("--apps", 300) as usize,
    );
    let memberships = arg("--memberships", 200_000) as f64;
    let assignments = arg("--assignments", 500_000) as f64;
    let group_assignments_per_app = 1.0;
    // About 92% of generated users are not DEPROVISIONED, and each assigned group brings about
    // memberships / groups members.
    let by_group = apps as f64 * group_assignments_per_app * memberships / groups as f64;
    SimConfig {
        users,
        logs: 1000,
        groups,
        apps,
        memberships_per_user: memberships / users as f64,
        assignments_per_user: (assignments - by_group).max(0.0) / (users as f64 * 0.92),
        group_assignments_per_app,
        rate_limit: Some(limit),
        rate_window: Duration::from_secs(window),
        ..SimConfig::default()
    }
}

/// The state database as mirror, plus NDJSON, every poller starting from the beginning.
fn settings(dir: &std::path::Path) -> SyncSettings {
    let state = dir.join("state.db");
    let sinks = vec![
        format!("sqlite:{}", state.display()),
        format!("file:{}", dir.join("out.ndjson").display()),
    ];
    SyncSettings::local(state, sinks, StartAt::All)
}

struct Cycle {
    requests: u64,
    rate_limited: u64,
    time: Duration,
    per_stream: String,
}

/// One run of each directory stream, measured.
async fn cycle(engine: &Engine, client: &OktaClient) -> anyhow::Result<Cycle> {
    let (_keep, shutdown) = watch::channel(false);
    let before = client.stats();
    let started = Instant::now();
    let mut per_stream = Vec::new();
    for stream in STREAMS {
        let at = Instant::now();
        let run = engine.run_once(stream, &shutdown).await?;
        let took = at.elapsed().as_secs_f64();
        per_stream.push(format!(
            "{stream} {} req/{} deltas/{took:.1} s",
            run.requests, run.records
        ));
    }
    let after = client.stats();
    Ok(Cycle {
        requests: after.requests - before.requests,
        rate_limited: after.rate_limited - before.rate_limited,
        time: started.elapsed(),
        per_stream: per_stream.join(", "),
    })
}

/// The simulator's directory.
struct Truth {
    groups: usize,
    apps: usize,
    members: BTreeSet<(String, String)>,
    app_users: BTreeSet<(String, String, String)>,
}

impl Truth {
    async fn fetch(base: &str) -> anyhow::Result<Truth> {
        let t: Value = reqwest::get(format!("{base}/__sim/truth?directory=true&logs=false"))
            .await?
            .json()
            .await?;
        let list = |k: &str| t[k].as_array().cloned().unwrap_or_default();
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Ok(Truth {
            groups: list("groups").len(),
            apps: list("apps").len(),
            members: list("members")
                .iter()
                .map(|m| (s(&m[0]), s(&m[1])))
                .collect(),
            app_users: list("app_users")
                .iter()
                .map(|a| (s(&a[0]), s(&a[1]), s(&a[2])))
                .collect(),
        })
    }

    /// The fewest requests that read this directory: the groups in pages of 10,000, each group's
    /// members in pages of 1,000 (an empty group still takes one; Everyone, whose members are
    /// every user, is not listed), the apps in pages of 200, each app's assignments in pages of 500.
    fn floor(&self) -> usize {
        let pages = |n: usize, page: usize| n.div_ceil(page).max(1);
        let mut per_group: HashMap<&str, usize> = HashMap::new();
        for (g, _) in &self.members {
            *per_group.entry(g.as_str()).or_default() += 1;
        }
        let empty = (self.groups - 1).saturating_sub(per_group.len());
        let mut per_app: HashMap<&str, usize> = HashMap::new();
        for (a, _, _) in &self.app_users {
            *per_app.entry(a.as_str()).or_default() += 1;
        }
        let unassigned = self.apps.saturating_sub(per_app.len());
        pages(self.groups, GROUPS_PAGE)
            + per_group
                .values()
                .map(|n| pages(*n, MEMBERS_PAGE))
                .sum::<usize>()
            + empty
            + pages(self.apps, APPS_PAGE)
            + per_app
                .values()
                .map(|n| pages(*n, APP_USERS_PAGE))
                .sum::<usize>()
            + unassigned
    }

    /// Whether the mirror's memberships and assignments are exactly these.
    fn matches(&self, state: &std::path::Path) -> anyhow::Result<bool> {
        let db = rusqlite::Connection::open(state)?;
        let members: BTreeSet<(String, String)> = db
            .prepare("SELECT group_id, user_id FROM group_members")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let app_users: BTreeSet<(String, String, String)> = db
            .prepare("SELECT app_id, user_id, scope FROM app_users")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(members == self.members && app_users == self.app_users)
    }
}
