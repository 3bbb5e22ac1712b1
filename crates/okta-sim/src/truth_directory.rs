//! The directory part of `/__sim/truth?directory=true`: groups with their timestamps, explicit
//! memberships (the built-in Everyone group holds every user implicitly and lists none), apps with
//! their status, and every app assignment with its scope.

use serde_json::{Value, json};

use super::model::Org;
use super::util::fmt_ms;

/// `{"groups":[…], "members":[[groupId,userId]…], "apps":[…], "app_users":[[appId,userId,scope]…]}`
pub fn truth(org: &Org) -> Value {
    let groups: Vec<Value> = org
        .groups
        .values()
        .map(|g| {
            json!({"id": g.id, "type": if g.built_in { "BUILT_IN" } else { "OKTA_GROUP" },
                "lastUpdated": fmt_ms(g.last_updated),
                "lastMembershipUpdated": fmt_ms(g.last_membership_updated)})
        })
        .collect();
    let members: Vec<Value> = org
        .groups
        .values()
        .flat_map(|g| g.members.iter().map(move |u| json!([g.id, &**u])))
        .collect();
    let apps: Vec<Value> = org
        .apps
        .values()
        .map(|a| {
            json!({"id": a.id, "status": if a.active { "ACTIVE" } else { "INACTIVE" },
                "lastUpdated": fmt_ms(a.last_updated)})
        })
        .collect();
    let app_users: Vec<Value> = org
        .apps
        .values()
        .flat_map(|a| {
            a.users.iter().map(move |(u, au)| {
                json!([a.id, &**u, if au.scope_group { "GROUP" } else { "USER" }])
            })
        })
        .collect();
    json!({"groups": groups, "members": members, "apps": apps, "app_users": app_users})
}
