//! Okta's asynchronous lifecycle changes: activation always, deactivation when asked for with
//! `Prefer: respond-async`. While one runs the user keeps its old `status` and shows
//! `transitioningToStatus`; once the configured time has passed the change completes. With no
//! transition time (the default) they complete before the answer, as on a quiet org.

use super::model::{Status, User};
use super::state::World;

#[derive(Debug, Default)]
pub struct Transitions {
    /// How long an asynchronous change takes, in ms; 0 = done before the answer.
    pub duration_ms: i64,
    /// `(done_at, user id)` of every change still running.
    pending: Vec<(i64, String)>,
}

impl Transitions {
    pub fn new(duration_ms: i64) -> Transitions {
        Transitions {
            duration_ms,
            pending: vec![],
        }
    }
}

/// Finish a change that has run its course.
fn complete(u: &mut User, to: Status, done_at: i64) {
    u.transitioning = None;
    if u.status != to {
        u.status = to;
        u.status_changed = Some(done_at);
    }
    if to == Status::Active {
        u.activated = Some(done_at);
    }
    u.last_updated = done_at;
}

impl World {
    /// Start taking the user at `key` to `to`: at once when changes take no time, else
    /// marked as transitioning until they have. The user must exist.
    pub fn change_status(&mut self, key: &str, to: Status, now: i64) {
        let ms = self.transitions.duration_ms;
        let Some(u) = self.user_mut(key) else {
            return;
        };
        if ms <= 0 {
            return complete(u, to, now);
        }
        u.transitioning = Some(to);
        u.last_updated = now;
        self.transitions.pending.push((now + ms, key.to_string()));
    }

    /// Complete every change whose time has come.
    pub fn settle_transitions(&mut self, now: i64) {
        if self.transitions.pending.is_empty() {
            return;
        }
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.transitions.pending)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.transitions.pending = running;
        for (at, id) in done {
            let still = self.org.users.get(&id).and_then(|u| u.transitioning);
            if let (Some(to), Some(u)) = (still, self.user_mut(&id)) {
                complete(u, to, at);
                self.org.version += 1;
            }
        }
    }
}
