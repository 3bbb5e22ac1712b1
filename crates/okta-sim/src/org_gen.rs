//! The deterministic org generator: users (with bulk-import runs of identical `created` and
//! bulk-update runs of identical `lastUpdated`), groups, apps, types, realms, policies and
//! hooks, all derived from the seed and anchored at `now`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{
    APP_TEMPLATES, DEPARTMENTS, FIRST_NAMES, GROUP_NAMES, LAST_NAMES, LOCALES, RECOVERY_QUESTIONS,
    TITLES,
};
use super::logs::LogStore;
use super::model::{App, Group, Org, PVal, Profile, Status, User};
use super::org_fixtures;
use super::org_members::{self, Density};
use super::util::{Rng, okta_id};

const DAY: i64 = 86_400_000;

/// Sizes and anchor for one generated org.
#[derive(Debug, Clone)]
pub struct Plan {
    pub users: usize,
    pub groups: usize,
    pub apps: usize,
    pub seed: u64,
    pub now: i64,
    /// Memberships and assignments per user, and groups per app.
    pub density: Density,
}

/// Pick a status with Okta-like frequencies (about 8% DEPROVISIONED).
fn pick_status(rng: &mut Rng) -> Status {
    let r = rng.below(100);
    match r {
        0..=69 => Status::Active,
        70..=77 => Status::Deprovisioned,
        78..=82 => Status::Staged,
        83..=86 => Status::Provisioned,
        87..=89 => Status::Recovery,
        90..=92 => Status::LockedOut,
        93..=95 => Status::PasswordExpired,
        _ => Status::Suspended,
    }
}

/// A generated profile for the `n`th user.
pub fn profile_for(n: u64, rng: &mut Rng) -> Profile {
    let first = *rng.pick(FIRST_NAMES);
    let last = *rng.pick(LAST_NAMES);
    let login = format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase().replace('\'', ""),
        n
    );
    let s = |v: String| PVal::Str(v.into());
    let maybe = |rng: &mut Rng, p: f64, v: String| {
        if rng.chance(p) {
            PVal::Str(v.into())
        } else {
            PVal::Null
        }
    };
    let mut p = Profile::default();
    let mut put = |k: &'static str, v: PVal| p.0.push((Cow::Borrowed(k), v));
    put("login", s(login.clone()));
    put("email", s(login));
    put("firstName", s(first.to_string()));
    put("lastName", s(last.to_string()));
    put("displayName", s(format!("{first} {last}")));
    let phone = format!("+1-555-{:03}-{:04}", rng.below(1000), rng.below(10_000));
    put("mobilePhone", maybe(rng, 0.7, phone));
    let second = format!("{}{}@personal.example.org", first.to_lowercase(), n);
    put("secondEmail", maybe(rng, 0.3, second));
    put("department", s(rng.pick(DEPARTMENTS).to_string()));
    put("employeeNumber", s(format!("{:06}", 100_000 + n)));
    put("title", s(rng.pick(TITLES).to_string()));
    put("locale", s(rng.pick(LOCALES).to_string()));
    put(
        "hireDate",
        s(format!(
            "20{:02}-{:02}-{:02}",
            15 + rng.below(10),
            1 + rng.below(12),
            1 + rng.below(28)
        )),
    );
    put(
        "isContractor",
        PVal::Json(Box::new(serde_json::Value::Bool(rng.chance(0.15)))),
    );
    p
}

/// Fill the timestamps of a user whose `created` and `lastUpdated` are fixed.
fn user_times(u: &mut User, rng: &mut Rng, now: i64) {
    let (c, lu) = (u.created, u.last_updated);
    let between = |rng: &mut Rng, a: i64, b: i64| rng.range(a, b.max(a));
    let never_active = matches!(u.status, Status::Staged | Status::Provisioned);
    u.activated = if never_active || rng.chance(0.04) {
        None
    } else {
        Some(between(rng, c, lu.min(c + DAY)))
    };
    let base = u.activated.unwrap_or(c);
    u.status_changed = match u.status {
        Status::Staged => None,
        Status::Active => u.activated,
        _ => Some(between(rng, base, lu)),
    };
    u.password_changed = if never_active {
        None
    } else {
        Some(between(rng, base, lu))
    };
    u.last_login = if never_active || rng.chance(0.1) {
        None
    } else {
        Some(between(rng, base, now))
    };
}

fn run_len(rng: &mut Rng) -> usize {
    if rng.chance(0.5) {
        1
    } else {
        rng.range(2, 50) as usize
    }
}

/// `n` creation times over the three years before `now`, sorted, in runs of 1-50 equal values.
fn creation_times(n: usize, now: i64, rng: &mut Rng) -> Vec<i64> {
    let start = now - 3 * 365 * DAY;
    let mut created = Vec::with_capacity(n);
    while created.len() < n {
        let len = run_len(rng).min(n - created.len());
        let t = start + rng.range(0, 3 * 365 * DAY - DAY);
        created.extend(std::iter::repeat_n(t, len));
    }
    created.sort_unstable();
    created
}

/// User 0 is the admin whose token the simulator accepts.
fn make_admin(admin: &mut User, rng: &mut Rng, now: i64) {
    admin.status = Status::Active;
    for k in ["login", "email"] {
        admin
            .profile
            .set(Cow::Borrowed(k), PVal::Str("admin@example.com".into()));
    }
    user_times(admin, rng, now);
}

/// Users in `created` order, in runs sharing `created` and runs sharing `lastUpdated`.
fn gen_users(plan: &Plan, rng: &mut Rng, type_count: u16, logs: &mut LogStore) -> Vec<User> {
    let n = plan.users;
    let created = creation_times(n, plan.now, rng);
    let mut users = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let len = run_len(rng).min(n - i);
        let lu = rng.range(created[i + len - 1], plan.now - 1000);
        for &c in &created[i..i + len] {
            let serial = users.len() as u64;
            users.push(new_user(rng, serial, c, lu, plan.now, type_count));
        }
        i += len;
    }
    if let Some(admin) = users.first_mut() {
        make_admin(admin, rng, plan.now);
    }
    for u in &mut users {
        let first = u.profile.get_str("firstName").unwrap_or("");
        let name = format!("{first} {}", u.profile.get_str("lastName").unwrap_or(""));
        u.ent = logs.add_ent("User", &u.id, u.login(), &name);
    }
    users
}

fn new_user(rng: &mut Rng, n: u64, created: i64, last_updated: i64, now: i64, types: u16) -> User {
    let mut u = User {
        id: okta_id("00u", rng),
        status: pick_status(rng),
        created,
        activated: None,
        status_changed: None,
        last_login: None,
        last_updated,
        password_changed: None,
        type_idx: if rng.chance(0.85) || types < 2 {
            0
        } else {
            1 + rng.below(types as u64 - 1) as u16
        },
        realm_idx: if rng.chance(0.3) {
            Some(rng.below(3) as u16)
        } else {
            None
        },
        provider: "OKTA",
        recovery_question: rng
            .chance(0.6)
            .then(|| (*rng.pick(RECOVERY_QUESTIONS)).into()),
        password: None,
        profile: profile_for(n, rng),
        transitioning: None,
        factors: 0,
        ent: 0,
    };
    user_times(&mut u, rng, now);
    if !matches!(
        u.status,
        Status::Staged | Status::Provisioned | Status::Deprovisioned
    ) {
        u.factors = (rng.below(32) as u8) | 1;
    }
    u
}

fn gen_groups(plan: &Plan, rng: &mut Rng, logs: &mut LogStore) -> Vec<Group> {
    let mut groups = Vec::new();
    for g in 0..plan.groups {
        let built_in = g == 0;
        let name = if built_in {
            "Everyone".to_string()
        } else {
            let base = GROUP_NAMES[(g - 1) % GROUP_NAMES.len()];
            if g > GROUP_NAMES.len() {
                format!("{base} {}", g / GROUP_NAMES.len() + 1)
            } else {
                base.to_string()
            }
        };
        let created = plan.now - 3 * 365 * DAY + rng.range(0, 30 * DAY);
        let id = okta_id("00g", rng);
        let ent = logs.add_ent("UserGroup", &id, &name, &name);
        groups.push(Group {
            id,
            built_in,
            created,
            last_updated: created + rng.range(0, 300 * DAY),
            last_membership_updated: plan.now - rng.range(DAY, 30 * DAY),
            description: Some(if built_in {
                "All users in your organization".into()
            } else {
                format!("{name} team")
            }),
            name,
            members: BTreeSet::new(),
            ent,
        });
    }
    groups
}

fn gen_apps(plan: &Plan, rng: &mut Rng, logs: &mut LogStore) -> Vec<App> {
    let mut apps = Vec::new();
    for a in 0..plan.apps {
        let (name, label, mode) = APP_TEMPLATES[a % APP_TEMPLATES.len()];
        let label = if a >= APP_TEMPLATES.len() {
            format!("{label} {}", a / APP_TEMPLATES.len() + 1)
        } else {
            label.to_string()
        };
        let created = plan.now - 2 * 365 * DAY + rng.range(0, 60 * DAY);
        let id = okta_id("0oa", rng);
        let ent = logs.add_ent("AppInstance", &id, &label, &label);
        let last_updated = created + rng.range(0, 100 * DAY);
        let active = a % 7 != 6;
        apps.push(App {
            id,
            name,
            label,
            active,
            sign_on_mode: mode,
            created,
            last_updated,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            ent,
        });
    }
    apps
}

/// Build the whole org (without log history) and register its entities in `logs`.
pub fn build(plan: &Plan, logs: &mut LogStore) -> Org {
    let mut rng = Rng::new(plan.seed);
    let mut org = Org::default();
    org_fixtures::static_records(plan.now, &mut rng, &mut org);
    let users = gen_users(plan, &mut rng, org.user_types.len() as u16, logs);
    let mut groups = gen_groups(plan, &mut rng, logs);
    let mut apps = gen_apps(plan, &mut rng, logs);
    org_members::fill_groups(plan.seed, plan.density, &users, &mut groups);
    org_members::fill_apps(plan.seed, plan.density, &users, &groups, &mut apps);
    org.hooks = org_fixtures::hooks(plan.now, &mut rng, logs);
    org.admin_id = users.first().map(|u| u.id.clone()).unwrap_or_default();
    org.groups = groups.into_iter().map(|g| (g.id.clone(), g)).collect();
    org.apps = apps.into_iter().map(|a| (a.id.clone(), a)).collect();
    for u in users {
        org.logins.insert(u.login().to_lowercase(), u.id.clone());
        org.users.insert(u.id.clone(), u);
    }
    org
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(users: usize) -> Plan {
        Plan {
            users,
            groups: 5,
            apps: 3,
            seed: 7,
            now: 1_709_287_200_000,
            density: Density::default(),
        }
    }

    #[test]
    fn the_same_seed_builds_the_same_org() {
        let a = build(&plan(50), &mut LogStore::new(7, 0));
        let b = build(&plan(50), &mut LogStore::new(7, 0));
        let ids = |o: &Org| o.users.keys().cloned().collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.users.len(), 50);
    }

    #[test]
    fn generated_users_share_created_and_last_updated_in_runs() {
        let org = build(&plan(2000), &mut LogStore::new(7, 0));
        let mut lu: Vec<i64> = org.users.values().map(|u| u.last_updated).collect();
        lu.sort_unstable();
        let before = lu.len();
        lu.dedup();
        assert!(before - lu.len() > 500, "many users share lastUpdated");
        let dep = org
            .users
            .values()
            .filter(|u| u.status == Status::Deprovisioned)
            .count();
        assert!(
            (80..=250).contains(&dep),
            "about 8% deprovisioned, got {dep}"
        );
        for u in org.users.values() {
            assert!(u.created <= u.last_updated);
            assert!(
                u.activated
                    .is_none_or(|a| a >= u.created && a <= u.last_updated)
            );
        }
    }
}
