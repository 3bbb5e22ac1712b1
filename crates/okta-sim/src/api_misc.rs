//! The smaller read endpoints and factors: policies (type required), realms (paged, with
//! `profile.name co` search), user types, a user's factors and factor unenrolment.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::Value;

use super::cursor;
use super::model::{FACTOR_KINDS, Status};
use super::pipeline::Ctx;
use super::render;
use super::respond::{ApiError, ApiResult, Params, no_content, ok, page};
use super::scim::{self, Loose};
use super::state::{Shared, lock};

const POLICY_TYPES: [&str; 12] = [
    "ACCESS_POLICY",
    "ENTITY_RISK",
    "IDP_DISCOVERY",
    "MFA_ENROLL",
    "OKTA_SIGN_ON",
    "PASSWORD",
    "POST_AUTH_SESSION",
    "PROFILE_ENROLLMENT",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
];

/// Page through a list with a cursor of kind `tag` naming the last item sent (and, should it
/// have gone since, where it stood), so items removed before it meanwhile shift nothing.
fn slice_page<T>(
    items: &[T],
    id_of: impl Fn(&T) -> &str,
    p: &Params,
    tag: &str,
    limit: usize,
) -> Result<(std::ops::Range<usize>, Option<String>), ApiError> {
    let bad = || ApiError::validation("after", "after: The cursor is not valid");
    let start = match p.get("after") {
        None => 0,
        Some(c) => match cursor::decode(tag, c).as_deref() {
            Some([id, pos]) => match items.iter().position(|x| id_of(x) == id) {
                Some(i) => i + 1,
                // It has gone itself: the item after it now stands one place earlier.
                None => pos.parse::<usize>().map_err(|_| bad())?.saturating_sub(1),
            },
            _ => return Err(bad()),
        },
    };
    let start = start.min(items.len());
    let end = (start + limit).min(items.len());
    let next = (end < items.len() && end > start).then(|| {
        let last = id_of(&items[end - 1]);
        p.with_after(&cursor::encode(tag, &[last, &end.to_string()]), &[])
    });
    Ok((start..end, next))
}

pub async fn policies(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let ty = p.get("type").ok_or_else(|| {
        ApiError::new(
            400,
            "E0000028",
            "The request is missing a required parameter.",
        )
        .cause("type: The field is required")
    })?;
    if !POLICY_TYPES.contains(&ty) {
        return Err(ApiError::validation(
            "type",
            format!("type: Invalid policy type {ty}"),
        ));
    }
    let limit = p.limit(200, 200)?;
    let w = lock(&s.world);
    let status = p.get("status");
    let list: Vec<_> = w
        .org
        .policies
        .iter()
        .filter(|x| x.kind == ty && status.is_none_or(|st| (st == "ACTIVE") == x.active))
        .collect();
    let (range, next) = slice_page(&list, |x| &x.id, &p, "pol", limit)?;
    let items = list[range]
        .iter()
        .map(|x| render::policy(x, &s.base_url))
        .collect();
    page(&s.base_url, "/api/v1/policies", raw.as_deref(), items, next)
}

pub async fn realms(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let search = match p.get("search") {
        Some(e) => {
            let bad =
                |m: String| ApiError::new(400, "E0000031", "Invalid search criteria.").cause(m);
            let t = scim::parse(e).map_err(bad)?;
            scim::check_attrs(&t, &["profile.name"]).map_err(bad)?;
            Some(t)
        }
        None => None,
    };
    let limit = p.limit(if search.is_some() { 10 } else { 200 }, 200)?;
    let w = lock(&s.world);
    let list: Vec<_> = w
        .org
        .realms
        .iter()
        .filter(|r| {
            search.as_ref().is_none_or(|t| {
                scim::eval_loose(t, &|a| {
                    (a == "profile.name").then(|| Loose::Str(r.name.clone()))
                })
            })
        })
        .collect();
    let (range, next) = slice_page(&list, |r| &r.id, &p, "rlm", limit)?;
    let items = list[range]
        .iter()
        .map(|r| render::realm(r, &s.base_url))
        .collect();
    page(&s.base_url, "/api/v1/realms", raw.as_deref(), items, next)
}

pub async fn user_types(State(s): State<Arc<Shared>>) -> ApiResult {
    let w = lock(&s.world);
    let admin = w.org.admin_id.clone();
    ok(Value::Array(
        w.org
            .user_types
            .iter()
            .map(|t| render::user_type(t, &s.base_url, &admin))
            .collect(),
    ))
}

pub async fn factors(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    let u = &w.org.users[&key];
    let list = (0..FACTOR_KINDS.len())
        .filter(|k| u.factors & (1 << k) != 0)
        .map(|k| render::factor(u, k, &s.base_url));
    ok(Value::Array(list.collect()))
}

pub async fn delete_factor(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, fid)): Path<(String, String)>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    let Some(u) = w.org.users.get_mut(&key) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    let kind = (0..FACTOR_KINDS.len())
        .find(|k| u.factors & (1 << k) != 0 && render::factor_id(&u.id, *k) == fid)
        .ok_or_else(|| ApiError::not_found(&fid, "UserFactor"))?;
    if u.status == Status::Deprovisioned {
        return Err(ApiError::new(
            403,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        ));
    }
    u.factors &= !(1 << kind);
    let ent = u.ent;
    w.emit(
        "user.mfa.factor.deactivate",
        [ent, u32::MAX],
        &ctx.request_id,
    );
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_cursors_name_the_last_item_so_a_removal_before_it_shifts_nothing() {
        let ids = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let items = ids(&["a", "b", "c", "d", "e"]);
        let (r, next) = slice_page(&items, |x| x, &Params::default(), "t", 2).unwrap();
        assert_eq!(r, 0..2);
        let q = next.unwrap();
        // "a" goes away before the next page is read: the page still starts after "b".
        let fewer = ids(&["b", "c", "d", "e"]);
        let (r, _) = slice_page(&fewer, |x| x, &Params::parse(Some(&q)), "t", 2).unwrap();
        assert_eq!(&fewer[r], &ids(&["c", "d"])[..]);
        // The last item sent went too: the page starts where it stood.
        let gone = ids(&["a", "c", "d", "e"]);
        let (r, _) = slice_page(&gone, |x| x, &Params::parse(Some(&q)), "t", 2).unwrap();
        assert_eq!(&gone[r], &ids(&["c", "d"])[..]);
        let bad = Params::parse(Some("after=nonsense"));
        assert!(slice_page(&items, |x| x, &bad, "t", 2).is_err());
    }
}
