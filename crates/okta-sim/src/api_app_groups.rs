//! `/api/v1/apps/{id}/groups[/{groupId}]`: list, get, assign (PUT) and unassign (DELETE) groups
//! of an app, as `ApplicationGroupAssignment` objects. What an assignment does to the members'
//! app assignments lives in `app_groups`.

use std::ops::Bound;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::{Value, json};

use super::api_groups::after_bound;
use super::app_groups::{self, Change};
use super::cursor;
use super::model::AppGroup;
use super::pipeline::Ctx;
use super::respond::{ApiError, ApiResult, Params, no_content, ok, page, parse_body};
use super::state::{Shared, lock};
use super::util::{fmt_ms, now_ms};

fn render(app_id: &str, gid: &str, g: &AppGroup, base: &str) -> Value {
    json!({
        "id": gid, "lastUpdated": fmt_ms(g.last_updated), "priority": g.priority, "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{app_id}")},
            "self": {"href": format!("{base}/api/v1/apps/{app_id}/groups/{gid}")},
            "group": {"href": format!("{base}/api/v1/groups/{gid}")},
        },
    })
}

pub async fn list(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let limit = p.limit(20, 200)?;
    let w = lock(&s.world);
    let a = w
        .org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    let start = after_bound(p.get("after"), "ag")?.map(String::into_boxed_str);
    let mut it = a.groups.range((start, Bound::Unbounded));
    let items: Vec<(&Box<str>, &AppGroup)> = it.by_ref().take(limit).collect();
    let next = match (items.last(), it.next()) {
        (Some((gid, _)), Some(_)) => Some(p.with_after(&cursor::encode("ag", &[gid]), &[])),
        _ => None,
    };
    let body = items
        .into_iter()
        .map(|(gid, g)| render(&id, gid, g, &s.base_url))
        .collect();
    page(
        &s.base_url,
        &format!("/api/v1/apps/{id}/groups"),
        raw.as_deref(),
        body,
        next,
    )
}

pub async fn get(
    State(s): State<Arc<Shared>>,
    Path((id, gid)): Path<(String, String)>,
) -> ApiResult {
    let w = lock(&s.world);
    let a = w
        .org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    let g = a
        .groups
        .get(gid.as_str())
        .ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
    ok(render(&id, &gid, g, &s.base_url))
}

pub async fn assign(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, gid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?.unwrap_or(Value::Null);
    let mut w = lock(&s.world);
    let next_priority = match w.org.apps.get(&id) {
        Some(a) => a.groups.len() as u32,
        None => return Err(ApiError::not_found(&id, "AppInstance")),
    };
    match w.org.groups.get(&gid).map(|g| g.built_in) {
        None => return Err(ApiError::not_found(&gid, "UserGroup")),
        // Everyone's members are implicit here, so assigning it could not be modelled.
        Some(true) => {
            return Err(ApiError::validation(
                "groupId",
                "groupId: the simulator does not assign the Everyone group to apps",
            ));
        }
        Some(false) => {}
    }
    let priority = body
        .get("priority")
        .and_then(Value::as_u64)
        .map_or(next_priority, |p| p as u32);
    let at = Change {
        now: now_ms(),
        request_id: &ctx.request_id,
    };
    if !app_groups::assign(&mut w, &id, &gid, priority, at) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    let g = &w.org.apps[&id].groups[gid.as_str()];
    ok(render(&id, &gid, g, &s.base_url))
}

pub async fn unassign(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, gid)): Path<(String, String)>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let members: Vec<String> = w
        .org
        .groups
        .get(&gid)
        .map(|g| g.members.iter().map(|m| m.to_string()).collect())
        .unwrap_or_default();
    let at = Change {
        now: now_ms(),
        request_id: &ctx.request_id,
    };
    if !app_groups::unassign(&mut w, &id, &gid, &members, at) {
        return Err(ApiError::not_found(&gid, "UserGroup"));
    }
    no_content()
}
