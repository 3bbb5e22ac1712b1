//! Who is in which group and who has which app, for a generated org: sampled per user (a few
//! groups and apps each, popular ones more often), then group assignments to apps with their
//! members' `GROUP` assignments. The work grows with the memberships made, not with users ×
//! groups, so a directory of 100,000 users and 10,000 groups builds in about a second.

use std::collections::BTreeMap;

use super::app_groups::group_assignment;
use super::model::{App, AppGroup, AppUser, Group, Profile, Status, User};
use super::util::{Rng, mix2};

const DAY: i64 = 86_400_000;

/// How dense the directory is.
#[derive(Debug, Clone, Copy)]
pub struct Density {
    /// Mean group memberships per user (the Everyone group aside).
    pub memberships_per_user: f64,
    /// Mean direct app assignments per user that is not DEPROVISIONED.
    pub assignments_per_user: f64,
    /// Mean groups assigned to each app.
    pub group_assignments_per_app: f64,
}

impl Default for Density {
    fn default() -> Density {
        Density {
            memberships_per_user: 2.0,
            assignments_per_user: 1.5,
            group_assignments_per_app: 0.5,
        }
    }
}

/// A count with mean `mean`: its whole part, plus one with the probability of its fraction.
fn count(rng: &mut Rng, mean: f64) -> usize {
    let mean = mean.max(0.0);
    mean.floor() as usize + usize::from(rng.chance(mean.fract()))
}

/// An index in `0..n` where low indices are picked more often (density ∝ 1/√i).
fn popular(rng: &mut Rng, n: usize) -> usize {
    let u = rng.unit();
    ((u * u * n as f64) as usize).min(n.saturating_sub(1))
}

/// Puts each user in a few groups; the Everyone group (index 0, built in) stays implicit.
pub fn fill_groups(seed: u64, density: Density, users: &[User], groups: &mut [Group]) {
    let explicit = groups.len().saturating_sub(1);
    if explicit == 0 {
        return;
    }
    let mut rng = Rng::new(mix2(seed, 0x6E0_u64));
    for u in users {
        for _ in 0..count(&mut rng, density.memberships_per_user) {
            // A few draws to find a group the user is not in yet, so the mean holds.
            for _ in 0..TRIES {
                let g = &mut groups[1 + popular(&mut rng, explicit)];
                if g.members.insert(u.id.as_str().into()) {
                    break;
                }
            }
        }
    }
}

/// Draws per membership or assignment before a repeat is accepted as a miss.
const TRIES: usize = 4;

/// Gives users direct assignments to apps, then assigns groups to apps and grants their members
/// `GROUP` assignments (a user assigned directly stays `USER`).
pub fn fill_apps(seed: u64, density: Density, users: &[User], groups: &[Group], apps: &mut [App]) {
    if apps.is_empty() {
        return;
    }
    let mut rng = Rng::new(mix2(seed, 0xA995_u64));
    for u in users.iter().filter(|u| u.status != Status::Deprovisioned) {
        for _ in 0..count(&mut rng, density.assignments_per_user) {
            for _ in 0..TRIES {
                let a = &mut apps[popular(&mut rng, apps.len())];
                if !a.users.contains_key(u.id.as_str()) {
                    let t = u.created.max(a.created) + rng.range(0, DAY);
                    a.users.insert(u.id.as_str().into(), direct(u, t));
                    break;
                }
            }
        }
    }
    let assignable: Vec<&Group> = groups.iter().filter(|g| !g.built_in).collect();
    if assignable.is_empty() {
        return;
    }
    let logins: BTreeMap<&str, &str> = users.iter().map(|u| (u.id.as_str(), u.login())).collect();
    for a in apps.iter_mut() {
        for _ in 0..count(&mut rng, density.group_assignments_per_app) {
            let g = assignable[rng.below(assignable.len() as u64) as usize];
            let t = a.created.max(g.created) + rng.range(0, 30 * DAY);
            let priority = a.groups.len() as u32;
            a.groups.insert(
                g.id.as_str().into(),
                AppGroup {
                    priority,
                    last_updated: t,
                },
            );
            for m in &g.members {
                let login = logins.get(&**m).copied().unwrap_or("");
                a.users
                    .entry(m.clone())
                    .or_insert_with(|| group_assignment(login, t));
            }
        }
    }
}

fn direct(u: &User, t: i64) -> AppUser {
    AppUser {
        created: t,
        last_updated: t,
        status_changed: t,
        scope_group: false,
        user_name: u.login().into(),
        profile: Profile::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_average_to_their_mean() {
        let mut rng = Rng::new(1);
        let total: usize = (0..10_000).map(|_| count(&mut rng, 2.5)).sum();
        assert!((24_000..=26_000).contains(&total), "{total}");
        assert_eq!(count(&mut rng, 0.0), 0);
    }

    #[test]
    fn popular_indices_stay_in_range_and_favour_the_first() {
        let mut rng = Rng::new(2);
        let picks: Vec<usize> = (0..10_000).map(|_| popular(&mut rng, 100)).collect();
        assert!(picks.iter().all(|p| *p < 100));
        let first_tenth = picks.iter().filter(|p| **p < 10).count();
        assert!(first_tenth > 2_500, "{first_tenth}");
        assert_eq!(popular(&mut rng, 1), 0);
    }
}
