//! Helpers for the directory tests: a sync of the four directory streams, the simulator's
//! directory truth, the mirror's directory read the same way, and API writes to the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use okta_sim::Sim;
use oktasync::okta::OktaClient;
use oktasync::poll::{Engine, RunSummary};
use serde_json::Value;
use tokio::sync::watch;

use crate::helpers::sim_get;

pub const DIRECTORY: [&str; 4] = ["groups", "group_members", "apps", "app_users"];

/// The directory as sets that compare directly: groups with their two clocks, memberships,
/// apps with status and lastUpdated, and assignments with their scope.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Directory {
    pub groups: BTreeMap<String, (String, String)>,
    pub members: BTreeSet<(String, String)>,
    pub apps: BTreeMap<String, (String, String)>,
    pub app_users: BTreeSet<(String, String, String)>,
}

fn s(v: &Value) -> String {
    v.as_str().expect("a string in the truth").to_owned()
}

/// The simulator's directory now (the Everyone group's members are implicit in both).
pub async fn truth(sim: &Sim) -> Directory {
    let t = sim_get(sim, "/__sim/truth?directory=true&logs=false").await;
    let list = |k: &str| t[k].as_array().expect("truth has the directory").clone();
    assert!(!list("groups").is_empty(), "the simulator has groups");
    Directory {
        groups: list("groups")
            .iter()
            .map(|g| {
                (
                    s(&g["id"]),
                    (s(&g["lastUpdated"]), s(&g["lastMembershipUpdated"])),
                )
            })
            .collect(),
        members: list("members")
            .iter()
            .map(|m| (s(&m[0]), s(&m[1])))
            .collect(),
        apps: list("apps")
            .iter()
            .map(|a| (s(&a["id"]), (s(&a["status"]), s(&a["lastUpdated"]))))
            .collect(),
        app_users: list("app_users")
            .iter()
            .map(|a| (s(&a[0]), s(&a[1]), s(&a[2])))
            .collect(),
    }
}

/// The mirror's directory, tombstones left out.
pub fn mirror(state: &Path) -> Directory {
    let db = rusqlite::Connection::open(state).unwrap();
    let pairs = |sql: &str| -> Vec<(String, String, String)> {
        db.prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    Directory {
        groups: pairs(
            "SELECT id, last_updated, last_membership_updated FROM groups WHERE deleted_at IS NULL",
        )
        .into_iter()
        .map(|(id, a, b)| (id, (a, b)))
        .collect(),
        members: pairs("SELECT group_id, user_id, '' FROM group_members")
            .into_iter()
            .map(|(g, u, _)| (g, u))
            .collect(),
        apps: pairs("SELECT id, status, last_updated FROM apps WHERE deleted_at IS NULL")
            .into_iter()
            .map(|(id, a, b)| (id, (a, b)))
            .collect(),
        app_users: pairs("SELECT app_id, user_id, scope FROM app_users")
            .into_iter()
            .collect(),
    }
}

/// Asserts the mirror in `state` equals the simulator's directory, part by part, naming what
/// is missing from the mirror and what it has that the simulator does not.
pub async fn assert_mirrors(sim: &Sim, state: &Path) {
    let (want, got) = (truth(sim).await, mirror(state));
    let set = |m: BTreeMap<String, (String, String)>| -> BTreeSet<_> { m.into_iter().collect() };
    same("groups", &set(got.groups), &set(want.groups));
    same("memberships", &got.members, &want.members);
    same("apps", &set(got.apps), &set(want.apps));
    same("assignments", &got.app_users, &want.app_users);
}

fn same<T: Ord + std::fmt::Debug>(what: &str, got: &BTreeSet<T>, want: &BTreeSet<T>) {
    let missing: Vec<&T> = want.difference(got).take(10).collect();
    let extra: Vec<&T> = got.difference(want).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the mirror's {what} differ from the simulator's ({} vs {}): missing {missing:?}, extra {extra:?}",
        got.len(),
        want.len()
    );
}

/// One run of each directory stream, in order.
pub async fn sync_directory(engine: &Engine) -> anyhow::Result<Vec<RunSummary>> {
    let (_keep, shutdown) = watch::channel(false);
    let mut out = Vec::new();
    for stream in DIRECTORY {
        out.push(engine.run_once(stream, &shutdown).await?);
    }
    Ok(out)
}

/// A write to the simulator's API as an admin would make it; panics unless it succeeds.
pub async fn api(client: &OktaClient, method: &str, path: &str, body: Option<Value>) -> Value {
    let url = client.url(path, &[]).unwrap();
    let mut req = oktasync::okta::Request::new(method.parse().unwrap(), url);
    req.body = body;
    let response = client
        .execute(req)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// Ids of the simulator's users, groups (Everyone first) and apps.
pub async fn ids(sim: &Sim) -> (Vec<String>, Vec<String>, Vec<String>) {
    let t = sim_get(sim, "/__sim/truth?directory=true&logs=false").await;
    let ids = |k: &str| -> Vec<String> {
        t[k].as_array()
            .unwrap()
            .iter()
            .map(|v| s(&v["id"]))
            .collect()
    };
    let mut groups = ids("groups");
    let everyone = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .position(|g| g["type"] == "BUILT_IN")
        .expect("an Everyone group");
    let e = groups.remove(everyone);
    groups.insert(0, e);
    (ids("users"), groups, ids("apps"))
}
