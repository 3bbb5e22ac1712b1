//! Planning for the directory streams, with no I/O: the cursors of `groups`, `group_members`
//! and `app_users`, the groups search, when a reconcile is due, how a listing differs from the
//! mirror, and which app assignments a page of System Log events asks to read again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};

use super::plan::{okta_time, parse_time};
use crate::sink::Op;
use crate::store::AssignmentVersion;

/// Where the `groups` poller stands: the newest `lastUpdated` and `lastMembershipUpdated` it has
/// seen, when it last listed every group, and the newest group deletion read from the System Log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupsCursor {
    /// High-water mark of `lastUpdated` (profile changes).
    pub hwm: String,
    /// High-water mark of `lastMembershipUpdated`.
    pub membership_hwm: String,
    #[serde(default)]
    pub reconciled_at: Option<String>,
    #[serde(default)]
    pub deletes_seen: Option<String>,
}

impl GroupsCursor {
    /// The search for groups changed in either clock since its mark minus `lookback`.
    pub fn search(&self, lookback: Duration) -> String {
        format!(
            "lastUpdated gt \"{}\" or lastMembershipUpdated gt \"{}\"",
            minus(&self.hwm, lookback),
            minus(&self.membership_hwm, lookback)
        )
    }

    /// Moves each mark up to the newest value seen (never down).
    pub fn advance(&mut self, updated: Option<&str>, membership: Option<&str>) {
        raise(&mut self.hwm, updated);
        raise(&mut self.membership_hwm, membership);
    }
}

fn raise(mark: &mut String, seen: Option<&str>) {
    if let Some(seen) = seen
        && parse_time(seen).is_some()
        && (parse_time(mark).is_none() || parse_time(seen) > parse_time(mark))
    {
        *mark = seen.to_owned();
    }
}

/// `t - lookback` in Okta's format; the epoch when `t` is unset or unreadable.
fn minus(t: &str, lookback: Duration) -> String {
    let lookback = chrono::Duration::from_std(lookback).unwrap_or_default();
    okta_time(parse_time(t).unwrap_or(DateTime::UNIX_EPOCH) - lookback)
}

/// Whether `schedule` (cron with seconds) has fired since `last`; always when there was no
/// `last`, never when there is no schedule.
pub fn reconcile_due(schedule: Option<&str>, last: Option<&str>, now: DateTime<Utc>) -> bool {
    let Some(last) = last.and_then(parse_time) else {
        return true;
    };
    let Some(cron) = schedule.and_then(|s| {
        CronParser::builder()
            .seconds(Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(s)
            .ok()
    }) else {
        return false;
    };
    cron.find_next_occurrence(&last, false)
        .is_ok_and(|next| next <= now)
}

/// The later of two Okta timestamps.
pub fn later<'a>(a: &'a str, b: Option<&'a str>) -> &'a str {
    match b {
        Some(b) if parse_time(b) > parse_time(a) => b,
        _ => a,
    }
}

/// Where the `group_members` poller stands: whether the first full pass (whose memberships are
/// emitted as `upsert`, not `add`) has finished, the last group it synced, and the newest
/// `lastMembershipUpdated` it has synced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MembersCursor {
    #[serde(default)]
    pub baseline_done: bool,
    #[serde(default)]
    pub last_group: Option<String>,
    #[serde(default)]
    pub hwm: Option<String>,
}

/// The op of a membership or assignment the mirror did not have: part of the first listing
/// (`upsert`) or a change seen since (`add`).
pub fn new_op(baseline: bool) -> Op {
    if baseline { Op::Upsert } else { Op::Add }
}

/// What a listing adds to the stored ids and what it no longer has.
pub fn diff_ids(
    listed: &BTreeSet<String>,
    stored: &BTreeSet<String>,
) -> (Vec<String>, Vec<String>) {
    let added = listed.difference(stored).cloned().collect();
    let removed = stored.difference(listed).cloned().collect();
    (added, removed)
}

/// The op for an assignment as listed, given what the mirror has: `None` when unchanged.
pub fn assignment_op(
    stored: Option<&AssignmentVersion>,
    listed: &AssignmentVersion,
    baseline: bool,
) -> Option<Op> {
    match stored {
        None => Some(new_op(baseline)),
        Some(s) if s == listed => None,
        Some(_) => Some(Op::Upsert),
    }
}

/// Where the `app_users` poller stands: its System Log polling query on assignment events, and
/// its full reconcile (when the last one started, and how far a running one has come).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppUsersCursor {
    /// The `next` link of the events query; empty until the first reconcile has begun.
    #[serde(default)]
    pub next: String,
    /// `published` of the last event read, for `status`.
    #[serde(default)]
    pub last_published: Option<String>,
    /// When the last finished reconcile started; `None` before the first.
    #[serde(default)]
    pub reconciled_at: Option<String>,
    /// A reconcile under way.
    #[serde(default)]
    pub reconcile: Option<Reconcile>,
}

/// A reconcile under way: when it started and the last app it finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    pub started_at: String,
    #[serde(default)]
    pub after_app: Option<String>,
}

/// The System Log events that change app assignments.
pub const ASSIGNMENT_EVENTS: [&str; 6] = [
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.update",
    "group.application_assignment.add",
    "group.application_assignment.remove",
    "group.application_assignment.update",
];

/// The SCIM filter that asks the System Log for [`ASSIGNMENT_EVENTS`] only.
pub fn events_filter() -> String {
    ASSIGNMENT_EVENTS
        .map(|t| format!("eventType eq \"{t}\""))
        .join(" or ")
}

/// The parts of a LogEvent that say which assignment changed.
#[derive(Debug, Deserialize)]
pub struct EventKeys {
    #[serde(rename = "eventType")]
    pub event_type: String,
    pub published: String,
    #[serde(default)]
    pub target: Option<Vec<Target>>,
}

#[derive(Debug, Deserialize)]
pub struct Target {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The assignments to read again after a page of events: whole apps, and single
/// `(app, user)` pairs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Refresh {
    pub apps: BTreeSet<String>,
    pub pairs: BTreeSet<(String, String)>,
}

impl EventKeys {
    /// The id of the first target of one of `kinds`.
    fn target(&self, kinds: &[&str]) -> Option<String> {
        self.target.iter().flatten().find_map(|t| {
            t.kind
                .as_deref()
                .filter(|k| kinds.contains(k))
                .and(t.id.clone())
        })
    }

    /// The app the event is about.
    pub fn app(&self) -> Option<String> {
        self.target(&["AppInstance"])
    }
}

/// A group assignment change re-lists its app; a user assignment change reads that one
/// assignment, unless an app has so many that listing it costs no more requests (`sizes`: the
/// stored assignments per app; `page_size`: assignments per listing page).
pub fn plan_refresh(events: &[EventKeys], sizes: &HashMap<String, u64>, page_size: u32) -> Refresh {
    let mut refresh = Refresh::default();
    let mut per_app: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in events {
        let Some(app) = e.app() else {
            continue;
        };
        match e.target(&["AppUser", "User"]) {
            Some(user) if e.event_type.starts_with("application.") => {
                per_app.entry(app).or_default().insert(user);
            }
            _ => {
                refresh.apps.insert(app);
            }
        }
    }
    for (app, users) in per_app {
        let listing = sizes.get(&app).copied().unwrap_or(0) / u64::from(page_size.max(1)) + 1;
        if refresh.apps.contains(&app) || users.len() as u64 > listing {
            refresh.apps.insert(app);
        } else {
            refresh
                .pairs
                .extend(users.into_iter().map(|u| (app.clone(), u)));
        }
    }
    refresh
}

#[cfg(test)]
mod tests;
