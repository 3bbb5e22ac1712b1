//! Group-to-app assignments kept as Okta keeps them: every member of a group assigned to an app
//! holds an assignment with scope `GROUP`, added and removed as members come and go and as groups
//! are assigned, unassigned or deleted, each change logged as `application.user_membership.add` or
//! `.remove`. A direct (`USER`) assignment is never taken away by a group change.

use super::logs::NONE;
use super::model::{App, AppGroup, AppUser, Group, Profile};
use super::state::World;
use std::collections::BTreeMap;

/// Who made a change and when: the request id and time every event of one API call shares.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub now: i64,
    pub request_id: &'a str,
}

/// Whether a group assigned to `app` still holds `uid`.
pub fn granted_by_group(groups: &BTreeMap<String, Group>, app: &App, uid: &str) -> bool {
    app.groups
        .keys()
        .any(|g| groups.get(&**g).is_some_and(|g| g.members.contains(uid)))
}

fn user_ent(w: &World, uid: &str) -> u32 {
    w.org.users.get(uid).map_or(NONE, |u| u.ent)
}

/// Gives `uid` a `GROUP` assignment to `app_id` unless it already has one of either scope.
fn grant(w: &mut World, app_id: &str, uid: &str, at: Change<'_>) {
    let Some(login) = w.org.users.get(uid).map(|u| u.login().to_owned()) else {
        return;
    };
    let Some(app) = w.org.apps.get_mut(app_id) else {
        return;
    };
    if app.users.contains_key(uid) {
        return;
    }
    app.users
        .insert(uid.into(), group_assignment(&login, at.now));
    let aent = app.ent;
    let uent = user_ent(w, uid);
    w.emit(
        "application.user_membership.add",
        [uent, aent],
        at.request_id,
    );
}

/// A `GROUP` assignment made at `now`.
pub fn group_assignment(login: &str, now: i64) -> AppUser {
    AppUser {
        created: now,
        last_updated: now,
        status_changed: now,
        scope_group: true,
        user_name: login.into(),
        profile: Profile::default(),
    }
}

/// Removes `uid`'s assignment to `app_id` if it was only there through groups that no longer
/// grant it.
fn revoke_if_ungranted(w: &mut World, app_id: &str, uid: &str, at: Change<'_>) {
    let Some(app) = w.org.apps.get(app_id) else {
        return;
    };
    let group_only = app.users.get(uid).is_some_and(|au| au.scope_group);
    if !group_only || granted_by_group(&w.org.groups, app, uid) {
        return;
    }
    let aent = app.ent;
    if let Some(app) = w.org.apps.get_mut(app_id) {
        app.users.remove(uid);
    }
    let uent = user_ent(w, uid);
    w.emit(
        "application.user_membership.remove",
        [uent, aent],
        at.request_id,
    );
}

/// The apps `gid` is assigned to.
fn apps_of(w: &World, gid: &str) -> Vec<String> {
    w.org
        .apps
        .values()
        .filter(|a| a.groups.contains_key(gid))
        .map(|a| a.id.clone())
        .collect()
}

/// `uid` joined `gid`: it gains the apps the group is assigned to.
pub fn member_added(w: &mut World, gid: &str, uid: &str, at: Change<'_>) {
    for app in apps_of(w, gid) {
        grant(w, &app, uid, at);
    }
}

/// `uid` left `gid`: it loses the apps only that group gave it.
pub fn member_removed(w: &mut World, gid: &str, uid: &str, at: Change<'_>) {
    for app in apps_of(w, gid) {
        revoke_if_ungranted(w, &app, uid, at);
    }
}

/// Assigns `gid` to `app_id` (or updates its priority); returns false if neither exists.
pub fn assign(w: &mut World, app_id: &str, gid: &str, priority: u32, at: Change<'_>) -> bool {
    let Some(gent) = w.org.groups.get(gid).map(|g| g.ent) else {
        return false;
    };
    let Some(app) = w.org.apps.get_mut(app_id) else {
        return false;
    };
    let assigned = AppGroup {
        priority,
        last_updated: at.now,
    };
    let new = app.groups.insert(gid.into(), assigned).is_none();
    let aent = app.ent;
    let event = if new {
        "group.application_assignment.add"
    } else {
        "group.application_assignment.update"
    };
    w.emit(event, [aent, gent], at.request_id);
    let members: Vec<String> = w.org.groups[gid]
        .members
        .iter()
        .map(|m| m.to_string())
        .collect();
    for uid in members {
        grant(w, app_id, &uid, at);
    }
    true
}

/// Unassigns `gid` (whose members were `members`) from `app_id`; false if it was not assigned.
pub fn unassign(
    w: &mut World,
    app_id: &str,
    gid: &str,
    members: &[String],
    at: Change<'_>,
) -> bool {
    let Some(app) = w.org.apps.get_mut(app_id) else {
        return false;
    };
    if app.groups.remove(gid).is_none() {
        return false;
    }
    let aent = app.ent;
    let gent = w.org.groups.get(gid).map_or(NONE, |g| g.ent);
    w.emit(
        "group.application_assignment.remove",
        [aent, gent],
        at.request_id,
    );
    for uid in members {
        revoke_if_ungranted(w, app_id, uid, at);
    }
    true
}

/// A deleted group's assignments go with it (call after removing it from the org).
pub fn group_deleted(w: &mut World, gid: &str, members: &[String], at: Change<'_>) {
    for app in apps_of(w, gid) {
        unassign(w, &app, gid, members, at);
    }
}

/// What a `DELETE /api/v1/apps/{id}/users/{uid}` does.
#[derive(Debug, PartialEq, Eq)]
pub enum Unassigned {
    NotAssigned,
    /// The assignment is through a group only: Okta refuses to remove it directly.
    GroupOnly,
    /// A direct assignment removed, but a group still grants the app: now `GROUP`.
    NowByGroup,
    Removed,
}

/// Removes a direct assignment, keeping the app if an assigned group still grants it.
pub fn remove_direct(w: &mut World, app_id: &str, uid: &str, at: Change<'_>) -> Unassigned {
    let Some(app) = w.org.apps.get(app_id) else {
        return Unassigned::NotAssigned;
    };
    let Some(au) = app.users.get(uid) else {
        return Unassigned::NotAssigned;
    };
    if au.scope_group {
        return Unassigned::GroupOnly;
    }
    let by_group = granted_by_group(&w.org.groups, app, uid);
    let aent = app.ent;
    let Some(app) = w.org.apps.get_mut(app_id) else {
        return Unassigned::NotAssigned;
    };
    let (event, outcome) = if by_group {
        if let Some(au) = app.users.get_mut(uid) {
            au.scope_group = true;
            au.last_updated = at.now;
        }
        ("application.user_membership.update", Unassigned::NowByGroup)
    } else {
        app.users.remove(uid);
        ("application.user_membership.remove", Unassigned::Removed)
    };
    let uent = user_ent(w, uid);
    w.emit(event, [uent, aent], at.request_id);
    outcome
}
