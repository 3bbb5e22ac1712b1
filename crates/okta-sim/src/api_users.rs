//! Reading users: `GET /api/v1/users` in its four modes (plain listing without DEPROVISIONED
//! users, `search`, `filter`, `q`) and `GET /api/v1/users/{idOrLogin}`.

use std::ops::Bound;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};

use super::cursor;
use super::model::{Org, Status, User};
use super::render;
use super::respond::{ApiError, ApiResult, Params, ok, page};
use super::scim::Tree;
use super::state::{Shared, lock};
use super::user_query::{self, Pred, Sort};

const PATH: &str = "/api/v1/users";

fn bad_search(msg: String) -> ApiError {
    ApiError::new(400, "E0000031", "Invalid search criteria.").cause(msg)
}

fn bad_cursor() -> ApiError {
    ApiError::validation("after", "after: The cursor is not valid for this query")
}

pub async fn list(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let mut guard = lock(&s.world);
    let org = &guard.org;
    let render = |us: Vec<&User>| {
        us.into_iter()
            .map(|u| render::user(u, org, &s.base_url, false))
            .collect()
    };
    if let Some(q) = p.get("q") {
        let limit = p.limit(10, 200)?;
        return page(
            &s.base_url,
            PATH,
            raw.as_deref(),
            render(q_match(org, q, limit)),
            None,
        );
    }
    let limit = p.limit(200, 200)?;
    let tree = match (p.get("search"), p.get("filter")) {
        (Some(e), _) => Some(user_query::compile_search(e).map_err(bad_search)?),
        (None, Some(e)) => Some(user_query::compile_filter(e).map_err(bad_search)?),
        (None, None) => None,
    };
    let Some(tree) = tree else {
        let (users, next) = plain_page(org, p.get("after"), limit)?;
        let next = next.map(|c| p.with_after(&c, &[]));
        return page(&s.base_url, PATH, raw.as_deref(), render(users), next);
    };
    let world = &mut *guard;
    let lagged = world.search_view(super::util::now_ms());
    let mut lagged_cache = None;
    let (org, sort_cache) = match &lagged {
        Some(view) => (view, &mut lagged_cache),
        None => (&world.org, &mut world.sort_cache),
    };
    let render = |us: Vec<&User>| {
        us.into_iter()
            .map(|u| render::user(u, org, &s.base_url, false))
            .collect()
    };
    let sort = if p.get("search").is_some() {
        user_query::parse_sort(p.get("sortBy"), p.get("sortOrder")).map_err(bad_search)?
    } else {
        Sort {
            by: user_query::Field::Id,
            desc: false,
        }
    };
    let (users, next) = searched_page(org, sort_cache, &tree, &sort, p.get("after"), limit)?;
    let next = next.map(|c| p.with_after(&c, &[]));
    page(&s.base_url, PATH, raw.as_deref(), render(users), next)
}

/// `q`: starts-with on firstName, lastName or email; no DEPROVISIONED users; one page only.
fn q_match<'a>(org: &'a Org, q: &str, limit: usize) -> Vec<&'a User> {
    let q = q.to_lowercase();
    let hit = |u: &User| {
        ["firstName", "lastName", "email"].iter().any(|k| {
            u.profile
                .get_str(k)
                .is_some_and(|v| v.to_lowercase().starts_with(&q))
        })
    };
    org.users
        .values()
        .filter(|u| u.status != Status::Deprovisioned && hit(u))
        .take(limit)
        .collect()
}

/// Plain listing in id order, leaving DEPROVISIONED users out.
fn plain_page<'a>(
    org: &'a Org,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<&'a User>, Option<String>), ApiError> {
    let start = match after {
        None => Bound::Unbounded,
        Some(c) => match cursor::decode("u", c).as_deref() {
            Some([id]) => Bound::Excluded(id.clone()),
            _ => return Err(bad_cursor()),
        },
    };
    let mut it = org
        .users
        .range((start, Bound::Unbounded))
        .map(|(_, u)| u)
        .filter(|u| u.status != Status::Deprovisioned);
    let users: Vec<&User> = it.by_ref().take(limit).collect();
    let more = it.next().is_some();
    let next = match users.last() {
        Some(last) if more => Some(cursor::encode("u", &[&last.id])),
        _ => None,
    };
    Ok((users, next))
}

fn searched_page<'a>(
    org: &'a Org,
    cache: &mut Option<user_query::SortIndex>,
    tree: &Tree<Pred>,
    sort: &Sort,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<&'a User>, Option<String>), ApiError> {
    let after = match after {
        None => None,
        Some(c) => Some(user_query::decode_pos(c).ok_or_else(bad_cursor)?),
    };
    let keep = |u: &User| tree.eval(&|p: &Pred| user_query::test(p, u, org));
    let idx = user_query::index(cache, org, &sort.by);
    let (users, more) = user_query::sorted_page(idx, org, &keep, sort.desc, after.as_ref(), limit);
    let next = match users.last() {
        Some(last) if more => Some(user_query::encode_pos(
            &user_query::key_of(last, org, &sort.by),
            &last.id,
        )),
        _ => None,
    };
    Ok((users, next))
}

pub async fn get(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    let u = &w.org.users[&key];
    let mut r = ok(render::user(u, &w.org, &s.base_url, true))?;
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", u.last_updated)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}
