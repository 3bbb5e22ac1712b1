//! Writing users: create (`POST /api/v1/users`), partial update (`POST …/{id}`), replace
//! (`PUT …/{id}`) and the two-step delete, with Okta's validation rules and System Log events.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::Value;

use super::app_groups;
use super::logs::NONE;
use super::model::{PVal, Profile, Status, User};
use super::pipeline::Ctx;
use super::render;
use super::respond::{ApiError, ApiResult, Params, no_content, ok, parse_body};
use super::state::{Shared, World, lock};
use super::util::{Rng, mix2, now_ms, okta_id};

const REQUIRED: [&str; 4] = ["login", "email", "firstName", "lastName"];

/// Intern the standard profile keys so most profiles allocate no key strings.
fn key(k: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 16] = [
        "login",
        "email",
        "firstName",
        "lastName",
        "displayName",
        "mobilePhone",
        "secondEmail",
        "department",
        "employeeNumber",
        "title",
        "locale",
        "hireDate",
        "isContractor",
        "nickName",
        "city",
        "organization",
    ];
    KNOWN
        .iter()
        .find(|s| **s == k)
        .map(|s| Cow::Borrowed(*s))
        .unwrap_or_else(|| Cow::Owned(k.to_string()))
}

pub fn profile_from(v: &Value) -> Result<Profile, ApiError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::validation("profile", "profile: must be an object"))?;
    Ok(Profile(
        obj.iter()
            .map(|(k, v)| (key(k), PVal::from_json(v)))
            .collect(),
    ))
}

/// Okta's required attributes and their error causes.
pub fn check_profile(p: &Profile) -> Result<(), ApiError> {
    for f in REQUIRED {
        if p.get_str(f).is_none_or(|v| v.trim().is_empty()) {
            return Err(ApiError::validation(
                f,
                format!("{f}: The field cannot be left blank"),
            ));
        }
    }
    if p.get_str("email").is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::validation(
            "email",
            "email: Does not match required pattern",
        ));
    }
    Ok(())
}

fn check_login_free(w: &World, login: &str, except: Option<&str>) -> Result<(), ApiError> {
    match w.org.logins.get(&login.to_lowercase()) {
        Some(owner) if Some(owner.as_str()) != except => Err(ApiError::validation(
            "login",
            "login: An object with this field already exists in the current organization",
        )),
        _ => Ok(()),
    }
}

/// Register a new user: login index and System Log entity.
pub fn insert_user(w: &mut World, mut u: User) -> u32 {
    let name = format!(
        "{} {}",
        u.profile.get_str("firstName").unwrap_or(""),
        u.profile.get_str("lastName").unwrap_or("")
    );
    u.ent = w.logs.add_ent("User", &u.id, u.login(), &name);
    w.search.before_write(&u.id, None, super::util::now_ms());
    w.org.logins.insert(u.login().to_lowercase(), u.id.clone());
    let ent = u.ent;
    w.org.users.insert(u.id.clone(), u);
    ent
}

/// A fresh user id, derived from the request id so runs stay reproducible.
pub fn new_user_id(w: &World, salt: &str) -> String {
    let mut rng = Rng::new(mix2(
        w.logs.seed,
        salt.bytes().fold(w.org.users.len() as u64, |a, b| {
            a.wrapping_mul(131) + b as u64
        }),
    ));
    loop {
        let id = okta_id("00u", &mut rng);
        if !w.org.users.contains_key(&id) {
            return id;
        }
    }
}

fn apply_credentials(u: &mut User, creds: &Value, now: i64) -> bool {
    let mut pw = false;
    if let Some(p) = creds.pointer("/password/value").and_then(Value::as_str) {
        u.password = Some(p.into());
        pw = true;
    }
    if creds.pointer("/password/hash").is_some() || creds.pointer("/password/hook").is_some() {
        pw = true;
    }
    if let Some(q) = creds
        .pointer("/recovery_question/question")
        .and_then(Value::as_str)
    {
        u.recovery_question = Some(q.into());
    }
    if let Some(t) = creds.pointer("/provider/type").and_then(Value::as_str) {
        u.provider = [
            "OKTA",
            "ACTIVE_DIRECTORY",
            "LDAP",
            "FEDERATION",
            "SOCIAL",
            "IMPORT",
        ]
        .into_iter()
        .find(|k| *k == t)
        .unwrap_or("OKTA");
    }
    if pw {
        u.password_changed = Some(now);
    }
    pw
}

fn type_and_realm(w: &World, body: &Value) -> Result<(u16, Option<u16>), ApiError> {
    let ty = match body.pointer("/type/id").and_then(Value::as_str) {
        None => 0,
        Some(t) => w
            .org
            .user_types
            .iter()
            .position(|x| x.id == t)
            .ok_or_else(|| {
                ApiError::validation("type", format!("type: The user type {t} does not exist"))
            })? as u16,
    };
    let realm = match body.get("realmId").and_then(Value::as_str) {
        None => None,
        Some(r) => Some(w.org.realms.iter().position(|x| x.id == r).ok_or_else(|| {
            ApiError::validation("realmId", format!("realmId: The realm {r} does not exist"))
        })? as u16),
    };
    Ok((ty, realm))
}

/// The status a new user starts in.
pub fn initial_status(
    activate: bool,
    provider: bool,
    has_password: bool,
    next_login: Option<&str>,
) -> Status {
    match (activate || provider, provider, has_password, next_login) {
        (false, ..) => Status::Staged,
        (_, true, _, _) => Status::Active,
        (_, _, _, Some("changePassword")) => Status::PasswordExpired,
        (_, _, true, _) => Status::Active,
        _ => Status::Provisioned,
    }
}

/// `groupIds` of a create body; every one must be an existing OKTA_GROUP.
fn group_ids(w: &World, body: &Value) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = body
        .get("groupIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(String::from))
        .collect();
    match ids
        .iter()
        .find(|g| w.org.groups.get(*g).is_none_or(|g| g.built_in))
    {
        Some(g) => Err(ApiError::validation(
            "groupIds",
            format!("groupIds: Group {g} cannot be assigned"),
        )),
        None => Ok(ids),
    }
}

pub async fn create(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let p = Params::parse(raw.as_deref());
    let blank = || ApiError::validation("profile", "profile: The field cannot be left blank");
    let body = parse_body(&body)?.ok_or_else(blank)?;
    let profile = profile_from(body.get("profile").unwrap_or(&Value::Null))?;
    check_profile(&profile)?;
    let mut w = lock(&s.world);
    check_login_free(&w, profile.get_str("login").unwrap_or(""), None)?;
    let (type_idx, realm_idx) = type_and_realm(&w, &body)?;
    let groups = group_ids(&w, &body)?;
    let now = now_ms();
    let mut u = User::new(new_user_id(&w, &ctx.request_id), now, profile);
    (u.type_idx, u.realm_idx) = (type_idx, realm_idx);
    let has_pw = apply_credentials(&mut u, body.get("credentials").unwrap_or(&Value::Null), now);
    let (activate, provider) = (p.flag("activate", true), p.flag("provider", false));
    u.status = initial_status(activate, provider, has_pw, p.get("nextLogin"));
    if u.status != Status::Staged {
        u.activated = Some(now);
        u.status_changed = Some(now);
    }
    let (id, status) = (u.id.clone(), u.status);
    let ent = insert_user(&mut w, u);
    w.emit("user.lifecycle.create", [ent, NONE], &ctx.request_id);
    if status != Status::Staged {
        w.emit("user.lifecycle.activate", [ent, NONE], &ctx.request_id);
    }
    for g in groups {
        if let Some(group) = w.org.groups.get_mut(&g) {
            group.members.insert(id.as_str().into());
            group.last_membership_updated = now;
            let gent = group.ent;
            w.emit("group.user_membership.add", [ent, gent], &ctx.request_id);
            let at = app_groups::Change {
                now,
                request_id: &ctx.request_id,
            };
            app_groups::member_added(&mut w, &g, &id, at);
        }
    }
    ok(render::user(&w.org.users[&id], &w.org, &s.base_url, true))
}

/// The profile after an update: merged for POST, replaced for PUT, `None` when unchanged.
fn next_profile(old: &Profile, body: &Value, replace: bool) -> Result<Option<Profile>, ApiError> {
    match body.get("profile") {
        Some(pv) if replace => Ok(Some(profile_from(pv)?)),
        Some(pv) => {
            let mut merged = old.clone();
            for (k, v) in profile_from(pv)?.0 {
                merged.set(k, v);
            }
            Ok(Some(merged))
        }
        None if replace => Err(ApiError::validation(
            "profile",
            "profile: The field cannot be left blank",
        )),
        None => Ok(None),
    }
}

/// Apply an update body; `replace` drops profile fields the body leaves out.
fn update_user(
    w: &mut World,
    key: &str,
    body: &Value,
    replace: bool,
    rid: &str,
) -> Result<(), ApiError> {
    let now = now_ms();
    let (ty, realm) = type_and_realm(w, body)?;
    let old_login = w.org.users[key].login().to_lowercase();
    let new_profile = next_profile(&w.org.users[key].profile, body, replace)?;
    if let Some(p) = &new_profile {
        check_profile(p)?;
        check_login_free(w, p.get_str("login").unwrap_or(""), Some(key))?;
    }
    let Some(u) = w.user_mut(key) else {
        return Err(ApiError::not_found(key, "User"));
    };
    let pw = apply_credentials(u, body.get("credentials").unwrap_or(&Value::Null), now);
    if replace && body.pointer("/type/id").is_some() {
        u.type_idx = ty;
    }
    if body.get("realmId").is_some() {
        u.realm_idx = realm;
    }
    let changed_profile = new_profile.is_some();
    if let Some(p) = new_profile {
        u.profile = p;
    }
    u.last_updated = now;
    let (ent, login) = (u.ent, u.login().to_lowercase());
    if login != old_login {
        w.org.logins.remove(&old_login);
        w.org.logins.insert(login, key.to_string());
    }
    if changed_profile {
        w.emit("user.account.update_profile", [ent, u32::MAX], rid);
    }
    if pw {
        w.emit("user.account.update_password", [ent, u32::MAX], rid);
    }
    Ok(())
}

/// One update or replace of a user, as asked for.
struct Write {
    id: String,
    body: Bytes,
    replace: bool,
    /// The `If-Match` header: the ETag the caller expects the user to have.
    if_match: Option<String>,
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?;
    Some(v.trim().to_string())
}

async fn write(s: Arc<Shared>, ctx: Ctx, req: Write) -> ApiResult {
    let body = parse_body(&req.body)?.unwrap_or(Value::Object(Default::default()));
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&req.id)
        .ok_or_else(|| ApiError::not_found(&req.id, "User"))?;
    let etag = render::user_etag(&w.org.users[&key]);
    if req.if_match.is_some_and(|m| m != "*" && m != etag) {
        return Err(ApiError::new(412, "E0000231", "ETag value doesn't match."));
    }
    update_user(&mut w, &key, &body, req.replace, &ctx.request_id)?;
    let u = &w.org.users[&key];
    let mut r = ok(render::user(u, &w.org, &s.base_url, true))?;
    if let Ok(v) = HeaderValue::from_str(&render::user_etag(u)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

pub async fn update(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let if_match = if_match(&headers);
    let req = Write {
        id,
        body,
        replace: false,
        if_match,
    };
    write(s, ctx, req).await
}

pub async fn replace(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let if_match = if_match(&headers);
    let req = Write {
        id,
        body,
        replace: true,
        if_match,
    };
    write(s, ctx, req).await
}

/// Remove a user and every membership and assignment it had: the groups it left note the
/// change in `lastMembershipUpdated`, and each lost app assignment is logged.
pub fn remove_user(w: &mut World, key: &str, request_id: &str) -> Option<u32> {
    w.search
        .before_write(key, w.org.users.get(key), super::util::now_ms());
    let u = w.org.users.remove(key)?;
    w.org.logins.remove(&u.login().to_lowercase());
    let now = now_ms();
    for g in w.org.groups.values_mut() {
        if g.members.remove(key) {
            g.last_membership_updated = now;
        }
    }
    let mut lost = Vec::new();
    for a in w.org.apps.values_mut() {
        if a.users.remove(key).is_some() {
            lost.push(a.ent);
        }
    }
    for aent in lost {
        w.emit(
            "application.user_membership.remove",
            [u.ent, aent],
            request_id,
        );
    }
    Some(u.ent)
}

pub async fn delete(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let key = w
        .org
        .user_key(&id)
        .ok_or_else(|| ApiError::not_found(&id, "User"))?;
    let now = now_ms();
    let Some(u) = w.user_mut(&key) else {
        return Err(ApiError::not_found(&id, "User"));
    };
    if u.status != Status::Deprovisioned {
        u.status = Status::Deprovisioned;
        u.status_changed = Some(now);
        u.last_updated = now;
        let ent = u.ent;
        w.emit(
            "user.lifecycle.deactivate",
            [ent, u32::MAX],
            &ctx.request_id,
        );
        return no_content();
    }
    if let Some(ent) = remove_user(&mut w, &key, &ctx.request_id) {
        w.emit(
            "user.lifecycle.delete.initiated",
            [ent, u32::MAX],
            &ctx.request_id,
        );
    }
    no_content()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_users_start_in_the_status_okta_gives_them() {
        let cases = [
            (false, false, true, None, Status::Staged),
            (true, false, true, None, Status::Active),
            (true, false, false, None, Status::Provisioned),
            (
                true,
                false,
                true,
                Some("changePassword"),
                Status::PasswordExpired,
            ),
            (false, true, false, None, Status::Active),
        ];
        for (activate, provider, pw, next, want) in cases {
            assert_eq!(
                initial_status(activate, provider, pw, next),
                want,
                "{activate} {provider} {pw} {next:?}"
            );
        }
    }

    #[test]
    fn profiles_need_login_email_and_names() {
        let p = |v: serde_json::Value| profile_from(&v).unwrap();
        let ok = serde_json::json!({"login": "a@b.c", "email": "a@b.c", "firstName": "A", "lastName": "B"});
        assert!(check_profile(&p(ok.clone())).is_ok());
        for k in REQUIRED {
            let mut v = ok.clone();
            v[k] = serde_json::json!(" ");
            assert_eq!(check_profile(&p(v)).unwrap_err().code, "E0000001", "{k}");
        }
        let mut v = ok;
        v["email"] = serde_json::json!("nope");
        assert!(check_profile(&p(v)).is_err());
    }
}
