//! Groups and memberships: list/search, create, get, replace, delete, members list/add/remove,
//! and a user's groups. The built-in Everyone group holds every user implicitly.

use std::ops::Bound;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::Value;

use super::app_groups::{self, Change};
use super::cursor;
use super::model::{Group, Org, User};
use super::pipeline::Ctx;
use super::render;
use super::respond::{ApiError, ApiResult, Params, no_content, ok, page, parse_body};
use super::scim::{self, Loose};
use super::state::{Shared, lock};
use super::util::now_ms;

fn group_value(g: &Group, attr: &str) -> Option<Loose> {
    Some(match attr {
        "id" => Loose::Str(g.id.clone()),
        "type" => Loose::Str(if g.built_in { "BUILT_IN" } else { "OKTA_GROUP" }.into()),
        "created" => Loose::Time(g.created),
        "lastUpdated" => Loose::Time(g.last_updated),
        "lastMembershipUpdated" => Loose::Time(g.last_membership_updated),
        "profile.name" => Loose::Str(g.name.clone()),
        "profile.description" => Loose::Str(g.description.clone()?),
        _ => return None,
    })
}

fn group_expr(p: &Params) -> Result<Option<scim::Expr>, ApiError> {
    let (text, allowed): (&str, &[&str]) = match (p.get("search"), p.get("filter")) {
        (Some(s), _) => (
            s,
            &[
                "id",
                "type",
                "created",
                "lastUpdated",
                "lastMembershipUpdated",
                "profile.*",
                "source.id",
            ],
        ),
        (None, Some(f)) => (f, &["id", "type", "lastUpdated", "lastMembershipUpdated"]),
        _ => return Ok(None),
    };
    let bad = |m: String| ApiError::new(400, "E0000031", "Invalid search criteria.").cause(m);
    let e = scim::parse(text).map_err(bad)?;
    scim::check_attrs(&e, allowed).map_err(bad)?;
    Ok(Some(e))
}

pub async fn list(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let w = lock(&s.world);
    let render = |gs: Vec<&Group>| {
        gs.into_iter()
            .map(|g| render::group(g, &s.base_url))
            .collect()
    };
    if let Some(q) = p.get("q") {
        let q = q.to_lowercase();
        let limit = p.limit(300, 300)?;
        let hits = w
            .org
            .groups
            .values()
            .filter(|g| g.name.to_lowercase().starts_with(&q))
            .take(limit)
            .collect();
        return page(
            &s.base_url,
            "/api/v1/groups",
            raw.as_deref(),
            render(hits),
            None,
        );
    }
    let limit = p.limit(200, 10_000)?;
    let expr = group_expr(&p)?;
    let start = after_bound(p.get("after"), "g")?;
    let mut it = w
        .org
        .groups
        .range((start, Bound::Unbounded))
        .map(|(_, g)| g)
        .filter(|g| {
            expr.as_ref()
                .is_none_or(|e| scim::eval_loose(e, &|a| group_value(g, a)))
        });
    let gs: Vec<&Group> = it.by_ref().take(limit).collect();
    let next = match (gs.last(), it.next()) {
        (Some(last), Some(_)) => Some(p.with_after(&cursor::encode("g", &[&last.id]), &[])),
        _ => None,
    };
    page(
        &s.base_url,
        "/api/v1/groups",
        raw.as_deref(),
        render(gs),
        next,
    )
}

/// Decode an id cursor of kind `tag` into a range start.
pub fn after_bound(after: Option<&str>, tag: &str) -> Result<Bound<String>, ApiError> {
    match after {
        None => Ok(Bound::Unbounded),
        Some(c) => match cursor::decode(tag, c).as_deref() {
            Some([id]) => Ok(Bound::Excluded(id.clone())),
            _ => Err(ApiError::validation(
                "after",
                "after: The cursor is not valid for this query",
            )),
        },
    }
}

fn profile_fields(body: &Option<Value>) -> Result<(String, Option<String>), ApiError> {
    let name = body
        .as_ref()
        .and_then(|b| b.pointer("/profile/name"))
        .and_then(Value::as_str);
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::validation("name", "name: The field cannot be left blank"))?;
    let desc = body
        .as_ref()
        .and_then(|b| b.pointer("/profile/description"))
        .and_then(Value::as_str)
        .map(String::from);
    Ok((name.to_string(), desc))
}

pub async fn create(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> ApiResult {
    let (name, description) = profile_fields(&parse_body(&body)?)?;
    let mut w = lock(&s.world);
    if w.org
        .groups
        .values()
        .any(|g| g.name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::validation(
            "name",
            "name: An object with this field already exists in the current organization",
        ));
    }
    let id = w.mint_id("00g");
    let now = now_ms();
    let ent = w.logs.add_ent("UserGroup", &id, &name, &name);
    let g = Group {
        id: id.clone(),
        built_in: false,
        created: now,
        last_updated: now,
        last_membership_updated: now,
        name,
        description,
        members: Default::default(),
        ent,
    };
    w.org.groups.insert(id.clone(), g);
    w.emit("group.lifecycle.create", [ent, u32::MAX], &ctx.request_id);
    ok(render::group(&w.org.groups[&id], &s.base_url))
}

pub async fn get(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let w = lock(&s.world);
    let g = w
        .org
        .groups
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    ok(render::group(g, &s.base_url))
}

pub async fn replace(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let (name, description) = profile_fields(&parse_body(&body)?)?;
    let mut w = lock(&s.world);
    let g = w
        .org
        .groups
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    if g.built_in {
        return Err(ApiError::validation(
            "type",
            "type: Only OKTA_GROUP groups can be changed",
        ));
    }
    g.name = name;
    g.description = description;
    g.last_updated = now_ms();
    let ent = g.ent;
    w.emit("group.profile.update", [ent, u32::MAX], &ctx.request_id);
    ok(render::group(&w.org.groups[&id], &s.base_url))
}

pub async fn delete(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let g = w
        .org
        .groups
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    if g.built_in {
        return Err(ApiError::new(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
        ));
    }
    let ent = g.ent;
    let members: Vec<String> = g.members.iter().map(|m| m.to_string()).collect();
    w.org.groups.remove(&id);
    w.emit("group.lifecycle.delete", [ent, u32::MAX], &ctx.request_id);
    let at = Change {
        now: now_ms(),
        request_id: &ctx.request_id,
    };
    app_groups::group_deleted(&mut w, &id, &members, at);
    no_content()
}

fn members<'a>(
    org: &'a Org,
    g: &'a Group,
    start: Bound<String>,
) -> Box<dyn Iterator<Item = &'a User> + 'a> {
    if g.built_in {
        Box::new(org.users.range((start, Bound::Unbounded)).map(|(_, u)| u))
    } else {
        let start = start.map(String::into_boxed_str);
        Box::new(
            g.members
                .range((start, Bound::Unbounded))
                .filter_map(|id| org.users.get(&**id)),
        )
    }
}

pub async fn list_members(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let limit = p.limit(1000, 10_000)?;
    let w = lock(&s.world);
    let g = w
        .org
        .groups
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    let mut it = members(&w.org, g, after_bound(p.get("after"), "m")?);
    let us: Vec<&User> = it.by_ref().take(limit).collect();
    let next = match (us.last(), it.next()) {
        (Some(last), Some(_)) => Some(p.with_after(&cursor::encode("m", &[&last.id]), &[])),
        _ => None,
    };
    let items = us
        .into_iter()
        .map(|u| render::user(u, &w.org, &s.base_url, false))
        .collect();
    page(
        &s.base_url,
        &format!("/api/v1/groups/{id}/users"),
        raw.as_deref(),
        items,
        next,
    )
}

async fn membership(s: Arc<Shared>, ctx: Ctx, gid: String, uid: String, add: bool) -> ApiResult {
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&uid)
        .ok_or_else(|| ApiError::not_found(&uid, "User"))?;
    let uent = w.org.users[&key].ent;
    let g = w
        .org
        .groups
        .get_mut(&gid)
        .ok_or_else(|| ApiError::not_found(&gid, "UserGroup"))?;
    if g.built_in {
        return Err(ApiError::validation(
            "group",
            "group: Membership of a BUILT_IN group cannot be changed",
        ));
    }
    let changed = if add {
        g.members.insert(key.as_str().into())
    } else {
        g.members.remove(key.as_str())
    };
    if changed {
        let now = now_ms();
        g.last_membership_updated = now;
        let gent = g.ent;
        let ev = if add {
            "group.user_membership.add"
        } else {
            "group.user_membership.remove"
        };
        w.emit(ev, [uent, gent], &ctx.request_id);
        let at = Change {
            now,
            request_id: &ctx.request_id,
        };
        if add {
            app_groups::member_added(&mut w, &gid, &key, at);
        } else {
            app_groups::member_removed(&mut w, &gid, &key, at);
        }
    }
    no_content()
}

pub async fn add_member(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((g, u)): Path<(String, String)>,
) -> ApiResult {
    membership(s, ctx, g, u, true).await
}

pub async fn remove_member(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((g, u)): Path<(String, String)>,
) -> ApiResult {
    membership(s, ctx, g, u, false).await
}

pub async fn user_groups(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "UserGroup"))?;
    let gs: Vec<Value> = w
        .org
        .groups
        .values()
        .filter(|g| g.built_in || g.members.contains(key.as_str()))
        .map(|g| render::group(g, &s.base_url))
        .collect();
    ok(Value::Array(gs))
}
