//! The users search index, which Okta documents as eventually consistent: `search` and
//! `filter` read it, and each write to a user reaches it only after a random delay of up to
//! the configured lag. Plain listings and GET by id read the org itself. The index is the
//! live org overlaid with the users whose latest write is still on its way: for those it
//! keeps the version it had before (or nothing, for a user it has not seen yet).

use std::collections::HashMap;

use super::model::{Org, User};
use super::util::{Rng, mix2};

/// A write not yet visible in the index.
#[derive(Debug)]
struct Pending {
    /// What the index still shows for this user; `None` = not in the index yet.
    before: Option<User>,
    /// When the write (and any later one to the same user) becomes visible, epoch ms.
    visible_at: i64,
}

#[derive(Debug)]
pub struct SearchIndex {
    /// The longest delay between a write and its visibility, in ms; 0 = immediate.
    pub lag_ms: i64,
    pending: HashMap<String, Pending>,
    /// Bumped whenever what the index shows may have changed.
    pub generation: u64,
    rng: Rng,
}

impl SearchIndex {
    pub fn new(seed: u64, lag_ms: i64) -> SearchIndex {
        SearchIndex {
            lag_ms,
            pending: HashMap::new(),
            generation: 0,
            rng: Rng::new(mix2(seed, 0x5EA6C4)),
        }
    }

    /// Note a write to user `id` about to happen at `now`; `old` is the user before it.
    /// Later writes to a user already pending keep the older snapshot and never show sooner.
    pub fn before_write(&mut self, id: &str, old: Option<&User>, now: i64) {
        if self.lag_ms <= 0 {
            return;
        }
        let visible_at = now + self.rng.range(0, self.lag_ms);
        self.generation += 1;
        match self.pending.get_mut(id) {
            Some(p) => p.visible_at = p.visible_at.max(visible_at),
            None => {
                let before = old.cloned();
                self.pending
                    .insert(id.to_string(), Pending { before, visible_at });
            }
        }
    }

    /// Let every write whose time has come into the index.
    pub fn settle(&mut self, now: i64) {
        let before = self.pending.len();
        self.pending.retain(|_, p| p.visible_at > now);
        if self.pending.len() != before {
            self.generation += 1;
        }
    }

    /// The users as the index shows them.
    pub fn view<'a>(&'a self, org: &'a Org) -> View<'a> {
        View {
            org,
            pending: (!self.pending.is_empty()).then_some(&self.pending),
        }
    }
}

/// The users a search sees.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub org: &'a Org,
    pending: Option<&'a HashMap<String, Pending>>,
}

impl<'a> View<'a> {
    pub fn get(&self, id: &str) -> Option<&'a User> {
        match self.pending.and_then(|p| p.get(id)) {
            Some(p) => p.before.as_ref(),
            None => self.org.users.get(id),
        }
    }

    /// Every user in the index, in no particular order.
    pub fn users(&self) -> Box<dyn Iterator<Item = &'a User> + 'a> {
        let Some(pending) = self.pending else {
            return Box::new(self.org.users.values());
        };
        let settled = self
            .org
            .users
            .values()
            .filter(move |u| !pending.contains_key(&u.id));
        Box::new(settled.chain(pending.values().filter_map(|p| p.before.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;

    fn org_with(ids: &[&str]) -> Org {
        let mut org = Org::default();
        for id in ids {
            org.users.insert(
                id.to_string(),
                User::new(id.to_string(), 0, Profile::default()),
            );
        }
        org
    }

    fn ids(v: View<'_>) -> Vec<String> {
        let mut out: Vec<String> = v.users().map(|u| u.id.clone()).collect();
        out.sort();
        out
    }

    #[test]
    fn writes_reach_the_index_only_after_their_delay_and_never_sooner_than_an_earlier_one() {
        let mut org = org_with(&["a", "b"]);
        let mut idx = SearchIndex::new(7, 1000);
        idx.before_write("c", None, 0);
        org.users
            .insert("c".into(), User::new("c".into(), 0, Profile::default()));
        idx.before_write("a", org.users.get("a"), 0);
        if let Some(u) = org.users.get_mut("a") {
            u.last_updated = 5;
        }
        idx.before_write("b", org.users.get("b"), 0);
        org.users.remove("b");
        assert_eq!(
            ids(idx.view(&org)),
            ["a", "b"],
            "the index still has the old org"
        );
        assert_eq!(idx.view(&org).get("a").map(|u| u.last_updated), Some(0));
        assert!(idx.view(&org).get("c").is_none());
        idx.settle(1000);
        assert_eq!(
            ids(idx.view(&org)),
            ["a", "c"],
            "every write shows by the lag"
        );
        assert_eq!(idx.view(&org).get("a").map(|u| u.last_updated), Some(5));
    }

    #[test]
    fn delays_are_spread_over_the_lag() {
        let mut idx = SearchIndex::new(7, 1000);
        let org = org_with(&[]);
        for i in 0..100 {
            idx.before_write(&format!("u{i}"), None, 0);
        }
        idx.settle(500);
        let left = idx.view(&org).pending.map_or(0, HashMap::len);
        assert!(
            (20..80).contains(&left),
            "{left} of 100 still pending at half the lag"
        );
    }

    #[test]
    fn without_a_lag_the_index_is_the_org() {
        let org = org_with(&["a"]);
        let mut idx = SearchIndex::new(7, 0);
        idx.before_write("a", org.users.get("a"), 0);
        assert!(idx.view(&org).pending.is_none());
        assert_eq!(ids(idx.view(&org)), ["a"]);
    }
}
