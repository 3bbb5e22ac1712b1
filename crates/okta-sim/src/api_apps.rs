//! Applications and their user assignments: list/get apps (with `q`, `filter`, `expand`),
//! list/assign/get/update/unassign app users, and a user's app links.

use std::ops::Bound;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::{Value, json};

use super::api_groups::after_bound;
use super::api_user_write::profile_from;
use super::app_groups::{self, Change, Unassigned};
use super::cursor;
use super::model::{App, AppUser, Profile};
use super::pipeline::Ctx;
use super::render;
use super::respond::{ApiError, ApiResult, Params, no_content, ok, page, parse_body};
use super::scim::{self, Loose};
use super::state::{Shared, lock};
use super::util::now_ms;

fn app_value(a: &App, attr: &str) -> Option<Loose> {
    Some(Loose::Str(match attr {
        "id" => a.id.clone(),
        "status" => if a.active { "ACTIVE" } else { "INACTIVE" }.into(),
        "name" => a.name.into(),
        _ => return None,
    }))
}

/// `expand=user/{id}` embeds that user's assignment.
fn render_app(a: &App, base: &str, expand: Option<&str>) -> Value {
    let mut v = render::app(a, base);
    let uid = expand.and_then(|e| e.strip_prefix("user/"));
    if let Some((uid, au)) = uid.and_then(|u| a.users.get(u).map(|au| (u, au))) {
        v["_embedded"] = json!({"user": render::app_user(&a.id, uid, au, base)});
    }
    v
}

/// The apps `filter`: `id`, `status`, `name`, `user.id` and a few more.
fn apps_filter(p: &Params) -> Result<Option<scim::Expr>, ApiError> {
    let Some(f) = p.get("filter") else {
        return Ok(None);
    };
    let bad = |m: String| ApiError::new(400, "E0000031", "Invalid search criteria.").cause(m);
    let e = scim::parse(f).map_err(bad)?;
    let allowed = [
        "id",
        "status",
        "name",
        "user.id",
        "group.id",
        "credentials.signing.kid",
    ];
    scim::check_attrs(&e, &allowed).map_err(bad)?;
    Ok(Some(e))
}

pub async fn list(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let limit = p.limit(20, 200)?;
    let filter = apps_filter(&p)?;
    let q = p.get("q").map(str::to_lowercase);
    let w = lock(&s.world);
    let keep = |a: &App| {
        let q_ok = q.as_ref().is_none_or(|q| {
            a.label.to_lowercase().starts_with(q) || a.name.starts_with(q.as_str())
        });
        let f_ok = filter.as_ref().is_none_or(|e| {
            scim::eval_loose(e, &|attr| match attr {
                "user.id" => None,
                _ => app_value(a, attr),
            }) || user_filter_hit(e, a)
        });
        q_ok && f_ok
    };
    let mut it = w
        .org
        .apps
        .range((after_bound(p.get("after"), "a")?, Bound::Unbounded))
        .map(|(_, a)| a)
        .filter(|a| keep(a));
    let apps: Vec<&App> = it.by_ref().take(limit).collect();
    let next = match (apps.last(), it.next()) {
        (Some(last), Some(_)) => Some(p.with_after(&cursor::encode("a", &[&last.id]), &[])),
        _ => None,
    };
    let items = apps
        .into_iter()
        .map(|a| render_app(a, &s.base_url, p.get("expand")))
        .collect();
    page(&s.base_url, "/api/v1/apps", raw.as_deref(), items, next)
}

/// `user.id eq "…"` matches apps the user is assigned to.
fn user_filter_hit(e: &scim::Expr, a: &App) -> bool {
    match e {
        scim::Tree::Leaf(c) if c.attr == "user.id" => match &c.value {
            scim::Lit::Str(id) => a.users.contains_key(id.as_str()),
            _ => false,
        },
        _ => false,
    }
}

pub async fn get(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let w = lock(&s.world);
    let a = w
        .org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    ok(render_app(a, &s.base_url, p.get("expand")))
}

pub async fn list_users(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let limit = p.limit(50, 500)?;
    let w = lock(&s.world);
    let a = w
        .org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    let start = after_bound(p.get("after"), "au")?.map(String::into_boxed_str);
    let q = p.get("q").map(str::to_lowercase);
    let mut it = a.users.range((start, Bound::Unbounded)).filter(|(_, au)| {
        q.as_ref()
            .is_none_or(|q| au.user_name.to_lowercase().starts_with(q))
    });
    let page_items: Vec<(&Box<str>, &AppUser)> = it.by_ref().take(limit).collect();
    let next = match (page_items.last(), it.next()) {
        (Some((uid, _)), Some(_)) => Some(p.with_after(&cursor::encode("au", &[uid]), &[])),
        _ => None,
    };
    let expand = p.get("expand") == Some("user");
    let items = page_items
        .into_iter()
        .map(|(uid, au)| {
            let mut v = render::app_user(&a.id, uid, au, &s.base_url);
            if let (true, Some(u)) = (expand, w.org.users.get(&**uid)) {
                v["_embedded"] = json!({"user": render::user(u, &w.org, &s.base_url, false)});
            }
            v
        })
        .collect();
    page(
        &s.base_url,
        &format!("/api/v1/apps/{id}/users"),
        raw.as_deref(),
        items,
        next,
    )
}

fn assignment_from(
    body: &Value,
    login: &str,
    now: i64,
    old: Option<&AppUser>,
) -> Result<AppUser, ApiError> {
    let mut au = old.cloned().unwrap_or(AppUser {
        created: now,
        last_updated: now,
        status_changed: now,
        scope_group: false,
        user_name: login.into(),
        profile: Profile::default(),
    });
    if let Some(n) = body
        .pointer("/credentials/userName")
        .and_then(Value::as_str)
    {
        au.user_name = n.into();
    }
    if let Some(p) = body.get("profile") {
        for (k, v) in profile_from(p)?.0 {
            au.profile.set(k, v);
        }
    }
    // Assigned through this API, the user is assigned directly, whatever groups also grant.
    au.scope_group = false;
    au.last_updated = now;
    Ok(au)
}

pub async fn assign(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?.unwrap_or(Value::Null);
    let uid = body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation("id", "id: The field cannot be left blank"))?;
    upsert(s, ctx, id, uid.to_string(), body, true)
}

pub async fn update_user(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, uid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?.unwrap_or(Value::Null);
    upsert(s, ctx, id, uid, body, false)
}

fn upsert(
    s: Arc<Shared>,
    ctx: Ctx,
    app_id: String,
    uid: String,
    body: Value,
    create: bool,
) -> ApiResult {
    let mut w = lock(&s.world);
    let u = w
        .org
        .users
        .get(&uid)
        .ok_or_else(|| ApiError::validation("id", format!("id: User {uid} does not exist")))?;
    let (uent, login) = (u.ent, u.login().to_string());
    let a = w
        .org
        .apps
        .get_mut(&app_id)
        .ok_or_else(|| ApiError::not_found(&app_id, "AppInstance"))?;
    let old = a.users.get(uid.as_str());
    if !create && old.is_none() {
        return Err(ApiError::not_found(&uid, "AppUser"));
    }
    let event = if old.is_some() {
        "application.user_membership.update"
    } else {
        "application.user_membership.add"
    };
    let au = assignment_from(&body, &login, now_ms(), old)?;
    let v = render::app_user(&a.id, &uid, &au, &s.base_url);
    a.users.insert(uid.as_str().into(), au);
    let aent = a.ent;
    w.emit(event, [uent, aent], &ctx.request_id);
    ok(v)
}

pub async fn get_user(
    State(s): State<Arc<Shared>>,
    Path((id, uid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let w = lock(&s.world);
    let a = w
        .org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    let au = a
        .users
        .get(uid.as_str())
        .ok_or_else(|| ApiError::not_found(&uid, "AppUser"))?;
    let mut v = render::app_user(&a.id, &uid, au, &s.base_url);
    if let (Some("user"), Some(u)) = (p.get("expand"), w.org.users.get(&uid)) {
        v["_embedded"] = json!({"user": render::user(u, &w.org, &s.base_url, false)});
    }
    ok(v)
}

pub async fn unassign(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult {
    let mut w = lock(&s.world);
    if !w.org.apps.contains_key(&id) {
        return Err(ApiError::not_found(&id, "AppInstance"));
    }
    let at = Change {
        now: now_ms(),
        request_id: &ctx.request_id,
    };
    match app_groups::remove_direct(&mut w, &id, &uid, at) {
        Unassigned::NotAssigned => Err(ApiError::not_found(&uid, "AppUser")),
        Unassigned::GroupOnly => Err(ApiError::new(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
        .cause("The user is assigned to this app through a group: remove them from the group or unassign the group")),
        Unassigned::NowByGroup | Unassigned::Removed => no_content(),
    }
}

pub async fn app_links(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    let u = &w.org.users[&key];
    let links: Vec<Value> = w
        .org
        .apps
        .values()
        .filter(|a| a.active && a.users.contains_key(key.as_str()))
        .enumerate()
        .map(|(i, a)| render::app_link(u, a, i, &s.base_url))
        .collect();
    ok(Value::Array(links))
}
