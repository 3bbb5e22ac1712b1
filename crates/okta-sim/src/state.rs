//! The running simulator's shared state: the org and its System Log behind one lock, run-time
//! settings, the OAuth apps and tokens, and the bookkeeping the admin endpoints expose
//! (counters, recorded requests, scripted responses, rate-limit windows).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Deserialize;
use serde_json::Value;

use super::limits::Limiter;
use super::logs::LogStore;
use super::model::Org;

/// The org plus its log: every write changes both under one lock.
pub struct World {
    pub org: Org,
    pub logs: LogStore,
    /// The last sorted-search index, reused until the org changes.
    pub sort_cache: Option<super::user_query::SortIndex>,
    /// Ids minted through the API so far; each new id is derived from this count.
    pub minted: u64,
    /// How long a users write takes to show in `search` and `filter`.
    pub search_lag_ms: i64,
    /// The lagging search index; `None` while search sees every write at once.
    pub index: Option<super::search_lag::LaggedIndex>,
}

/// Settings that `POST /__sim/settings` may change while running.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rate_limit: u32,
    pub concurrency_limit: Option<u32>,
    pub fail_rate: f64,
    pub log_lag_seconds: u64,
    pub search_lag_seconds: u64,
    /// Demand the current DPoP nonce in proofs on `/api/v1` calls too.
    pub dpop_nonce_on_api: bool,
}

/// One canned response from `POST /__sim/script`.
#[derive(Debug, Clone, Deserialize)]
pub struct Scripted {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub drop: bool,
}

/// A recorded API request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

pub const MAX_RECORDED: usize = 1000;

#[derive(Debug, Default)]
pub struct Control {
    pub limiter: Limiter,
    pub requests: BTreeMap<String, u64>,
    pub requests_total: u64,
    pub rate_limited: u64,
    pub faults: u64,
    pub recorded: VecDeque<Recorded>,
    pub script: VecDeque<Scripted>,
}

impl Control {
    pub fn record(&mut self, r: Recorded) {
        if self.recorded.len() == MAX_RECORDED {
            self.recorded.pop_front();
        }
        self.recorded.push_back(r);
    }

    /// Take the first scripted response whose prefix matches `path`.
    pub fn take_script(&mut self, path: &str) -> Option<Scripted> {
        let i = self
            .script
            .iter()
            .position(|s| s.path_prefix.as_deref().is_none_or(|p| path.starts_with(p)))?;
        self.script.remove(i)
    }

    /// Take the first scripted response whose prefix is an `/oauth2` path matching `path`
    /// (scripts without a prefix are left for API requests).
    pub fn take_oauth_script(&mut self, path: &str) -> Option<Scripted> {
        let i = self.script.iter().position(|s| {
            s.path_prefix
                .as_deref()
                .is_some_and(|p| p.starts_with("/oauth2") && path.starts_with(p))
        })?;
        self.script.remove(i)
    }
}

pub struct Shared {
    pub base_url: String,
    pub token: String,
    pub seed: u64,
    pub rate_window_ms: i64,
    pub world: Mutex<World>,
    pub settings: Mutex<Settings>,
    pub control: Mutex<Control>,
    /// The OAuth apps, fixed at start-up.
    pub oauth: super::oauth::Registry,
    /// Tokens, codes, jtis and the DPoP nonce.
    pub oauth_state: Mutex<super::oauth::Store>,
    pub in_flight: AtomicU32,
    pub peak: AtomicU32,
    pub request_no: AtomicU64,
}

/// Lock a mutex, recovering the data if a panicking handler poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Mark one more request in flight; the guard marks it done.
    pub fn enter(&self) -> (InFlight<'_>, u32) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        (InFlight(self), now)
    }
}

pub struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl World {
    /// A new object id (`prefix` plus base62) from the seed and a running count, so objects
    /// created in the same millisecond never share an id.
    pub fn mint_id(&mut self, prefix: &str) -> String {
        self.minted += 1;
        let mut rng = super::util::Rng::new(super::util::mix2(self.logs.seed ^ 0x1D5, self.minted));
        super::util::okta_id(prefix, &mut rng)
    }

    /// Write a System Log event for an API call, with the token's admin as actor.
    /// Every write goes through here, so it also marks the org as changed.
    pub fn emit(&mut self, event_type: &str, targets: [u32; 2], request_id: &str) {
        self.org.version += 1;
        let actor = self
            .org
            .users
            .get(&self.org.admin_id)
            .map(|u| u.ent)
            .unwrap_or(super::logs::NONE);
        let now = super::util::now_ms();
        self.logs.append(
            super::log_gen::live(event_type, actor, targets, request_id),
            now,
        );
        self.logs.flush(now);
        if let Some(index) = &mut self.index {
            index.note_writes(&self.org, now + self.search_lag_ms);
        }
    }

    /// Sets the search lag; from now on writes show in `search` only that long after.
    pub fn set_search_lag(&mut self, lag_ms: i64) {
        self.search_lag_ms = lag_ms.max(0);
        if self.search_lag_ms > 0 && self.index.is_none() {
            self.index = Some(super::search_lag::LaggedIndex::of(&self.org));
        }
    }

    /// The org as `search` and `filter` see it at `now`, or `None` when that is the org itself.
    pub fn search_view(&mut self, now: i64) -> Option<super::model::Org> {
        let index = self.index.as_mut()?;
        if index.catch_up(now) && self.search_lag_ms == 0 {
            self.index = None;
            return None;
        }
        Some(index.view(&self.org))
    }
}
