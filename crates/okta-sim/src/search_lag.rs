//! The users search index, which lags writes the way Okta documents for `search` and `filter`:
//! a change becomes visible to them `search_lag` after it was made (the lag in force at the
//! time of the write), while plain listing and `GET /api/v1/users/{id}` see it at once.

use std::collections::BTreeMap;

use super::model::{Org, User};

/// What `search` and `filter` show while some writes are not indexed yet.
#[derive(Debug, Default)]
pub struct LaggedIndex {
    /// The users as the index shows them.
    shown: BTreeMap<String, User>,
    /// Writes not indexed yet: when each becomes visible, and the user then shown (`None`: gone).
    pending: BTreeMap<String, (i64, Option<User>)>,
}

impl LaggedIndex {
    /// An index that is up to date with `org`.
    pub fn of(org: &Org) -> LaggedIndex {
        LaggedIndex {
            shown: org.users.clone(),
            pending: BTreeMap::new(),
        }
    }

    /// Records every user that differs from what the index will show, visible at `due`.
    pub fn note_writes(&mut self, org: &Org, due: i64) {
        for (id, user) in &org.users {
            let indexed = match self.pending.get(id) {
                Some((_, version)) => version.as_ref(),
                None => self.shown.get(id),
            };
            let same = indexed
                .is_some_and(|u| u.last_updated == user.last_updated && u.status == user.status);
            if !same {
                self.pending.insert(id.clone(), (due, Some(user.clone())));
            }
        }
        let gone: Vec<String> = self
            .shown
            .keys()
            .chain(self.pending.keys())
            .filter(|id| !org.users.contains_key(*id))
            .filter(|id| !matches!(self.pending.get(*id), Some((_, None))))
            .cloned()
            .collect();
        for id in gone {
            self.pending.insert(id, (due, None));
        }
    }

    /// Applies every write due by `now`; true when nothing is pending any more.
    pub fn catch_up(&mut self, now: i64) -> bool {
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            match self.pending.remove(&id) {
                Some((_, Some(user))) => {
                    self.shown.insert(id, user);
                }
                Some((_, None)) => {
                    self.shown.remove(&id);
                }
                None => {}
            }
        }
        self.pending.is_empty()
    }

    /// The org as `search` sees it: `org` with the indexed users in place of the live ones.
    pub fn view(&self, org: &Org) -> Org {
        Org {
            users: self.shown.clone(),
            ..org.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Profile, Status};

    fn org(users: &[(&str, i64)]) -> Org {
        let mut org = Org::default();
        for (id, t) in users {
            org.users.insert(
                id.to_string(),
                User::new(id.to_string(), *t, Profile::default()),
            );
        }
        org
    }

    fn shown(index: &LaggedIndex, live: &Org) -> Vec<(String, i64)> {
        let view = index.view(live);
        view.users
            .values()
            .map(|u| (u.id.clone(), u.last_updated))
            .collect()
    }

    #[test]
    fn writes_show_in_search_only_once_due_and_deletes_linger_until_then() {
        let mut live = org(&[("a", 1), ("b", 1)]);
        let mut index = LaggedIndex::of(&live);
        live.users.get_mut("a").unwrap().last_updated = 5;
        live.users.remove("b");
        live.users
            .insert("c".into(), User::new("c".into(), 5, Profile::default()));
        index.note_writes(&live, 100);
        assert!(!index.catch_up(99));
        assert_eq!(shown(&index, &live), [("a".into(), 1), ("b".into(), 1)]);
        assert!(index.catch_up(100));
        assert_eq!(shown(&index, &live), [("a".into(), 5), ("c".into(), 5)]);
    }

    #[test]
    fn a_later_write_without_lag_does_not_expose_an_earlier_lagging_one() {
        let mut live = org(&[("a", 1), ("b", 1)]);
        let mut index = LaggedIndex::of(&live);
        live.users.get_mut("a").unwrap().last_updated = 2;
        index.note_writes(&live, 1_000);
        live.users.get_mut("b").unwrap().status = Status::Active;
        live.users.get_mut("b").unwrap().last_updated = 3;
        index.note_writes(&live, 3);
        index.catch_up(3);
        assert_eq!(shown(&index, &live), [("a".into(), 1), ("b".into(), 3)]);
    }
}
