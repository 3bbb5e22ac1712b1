//! The unauthenticated `/__sim/*` control plane tests use: counters, ground truth, recorded
//! requests, scripted responses, synthetic log traffic, run-time settings and org mutations.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api_user_write::{insert_user, new_user_id};
use super::limits::{Bucket, Limits};
use super::log_gen::{Cast, append_synthetic};
use super::log_view::View;
use super::model::{Org, PVal, Status, User};
use super::org_gen::profile_for;
use super::respond::{ApiError, Params, parse_body};
use super::state::{Scripted, Settings, Shared, lock};
use super::util::{Rng, fmt_ms, mix2, now_ms};

fn body_json<T: for<'de> Deserialize<'de>>(b: &Bytes) -> Result<T, ApiError> {
    let v = parse_body(b)?.unwrap_or(json!({}));
    serde_json::from_value(v).map_err(|e| ApiError::validation("body", e.to_string()))
}

pub async fn counters(State(s): State<Arc<Shared>>) -> Json<Value> {
    let c = lock(&s.control);
    Json(json!({
        "requests_total": c.requests_total, "requests": c.requests, "rate_limited": c.rate_limited,
        "faults": c.faults, "faults_applied": c.faults_applied, "peak_concurrency": s.peak.load(Ordering::SeqCst),
    }))
}

pub async fn reset_counters(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut c = lock(&s.control);
    c.requests_total = 0;
    c.requests.clear();
    c.rate_limited = 0;
    c.faults = 0;
    c.faults_applied = 0;
    s.peak
        .store(s.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    Json(json!({"ok": true}))
}

pub async fn truth(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Json<Value> {
    let p = Params::parse(raw.as_deref());
    let mut w = lock(&s.world);
    w.settle_transitions(now_ms());
    let mut out = directory(&w.org);
    // The flat form the directory sync tests compare with: memberships as pairs, assignments
    // with their scope.
    if p.flag("directory", false) {
        let flat = super::truth_directory::truth(&w.org);
        if let (Some(o), Value::Object(d)) = (out.as_object_mut(), flat) {
            o.extend(d);
        }
    }
    if p.flag("logs", true) {
        w.logs.flush(now_ms());
        let store = &w.logs;
        let uuids: Vec<String> = store
            .visible()
            .iter()
            .map(|e| View { store, ev: e }.uuid())
            .collect();
        out["logs"] = json!(uuids);
    }
    Json(out)
}

/// Every user, group (with its members), app (with its assigned users) and event hook.
fn directory(org: &Org) -> Value {
    let users: Vec<Value> = org
        .users
        .values()
        .map(|u| {
            json!({"id": u.id, "status": u.status.as_str(), "login": u.login(),
            "created": fmt_ms(u.created), "lastUpdated": fmt_ms(u.last_updated)})
        })
        .collect();
    let everyone: Vec<&String> = org.users.keys().collect();
    let groups: Vec<Value> = org
        .groups
        .values()
        .map(|g| {
            // The built-in Everyone group holds every user without listing them.
            let members = if g.built_in {
                json!(everyone)
            } else {
                json!(g.members)
            };
            json!({"id": g.id, "name": g.name,
                "type": if g.built_in { "BUILT_IN" } else { "OKTA_GROUP" },
                "lastUpdated": fmt_ms(g.last_updated), "members": members})
        })
        .collect();
    let apps: Vec<Value> = org
        .apps
        .values()
        .map(|a| {
            json!({"id": a.id, "label": a.label,
            "status": if a.active { "ACTIVE" } else { "INACTIVE" },
            "users": a.users.keys().collect::<Vec<_>>()})
        })
        .collect();
    let hooks: Vec<Value> = org
        .hooks
        .iter()
        .map(|h| {
            json!({"id": h.id, "name": h.name,
            "status": if h.active { "ACTIVE" } else { "INACTIVE" },
            "verified": h.verified, "events": h.events})
        })
        .collect();
    json!({"users": users, "groups": groups, "apps": apps, "hooks": hooks})
}

pub async fn requests(State(s): State<Arc<Shared>>) -> Json<Value> {
    let c = lock(&s.control);
    Json(json!(c.recorded))
}

pub async fn reset_requests(State(s): State<Arc<Shared>>) -> Json<Value> {
    lock(&s.control).recorded.clear();
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct Script {
    responses: Vec<Scripted>,
}

pub async fn script(State(s): State<Arc<Shared>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let sc: Script = body_json(&body)?;
    let mut c = lock(&s.control);
    c.script.extend(sc.responses);
    Ok(Json(json!({"queued": c.script.len()})))
}

#[derive(Deserialize)]
struct Count {
    count: usize,
}

pub async fn add_logs(State(s): State<Arc<Shared>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let n: Count = body_json(&body)?;
    let mut w = lock(&s.world);
    let cast = Cast::of(&w.org);
    append_synthetic(&mut w.logs, &cast, n.count, now_ms(), s.seed);
    Ok(Json(json!({"appended": n.count})))
}

#[derive(Deserialize)]
struct SettingsPatch {
    /// The same limit for every bucket.
    rate_limit: Option<u32>,
    /// Limits for named buckets, e.g. `{"logs": 5}`.
    bucket_limits: Option<std::collections::BTreeMap<String, u32>>,
    /// 0 lifts the limit.
    concurrency_limit: Option<u32>,
    fail_rate: Option<f64>,
    log_lag_seconds: Option<u64>,
    /// The longest delay before a write to a user shows in `search` and `filter`.
    search_lag_seconds: Option<f64>,
    /// How long asynchronous lifecycle changes take.
    transition_seconds: Option<f64>,
    /// Demand the DPoP nonce on `/api/v1` calls too.
    dpop_nonce_on_api: Option<bool>,
}

fn apply(st: &mut Settings, p: SettingsPatch) -> Result<(), ApiError> {
    if let Some(r) = p.rate_limit {
        st.limits = Limits::uniform(r);
    }
    for (name, n) in p.bucket_limits.unwrap_or_default() {
        let b = Bucket::from_name(&name).ok_or_else(|| {
            ApiError::validation("bucket_limits", format!("unknown bucket {name:?}"))
        })?;
        st.limits.set(b, n);
    }
    if let Some(c) = p.concurrency_limit {
        st.concurrency_limit = (c > 0).then_some(c);
    }
    if let Some(f) = p.fail_rate {
        st.fail_rate = f.clamp(0.0, 1.0);
    }
    if let Some(l) = p.log_lag_seconds {
        st.log_lag_seconds = l;
    }
    if let Some(n) = p.dpop_nonce_on_api {
        st.dpop_nonce_on_api = n;
    }
    Ok(())
}

pub async fn settings(State(s): State<Arc<Shared>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let p: SettingsPatch = body_json(&body)?;
    let (log_lag, search_lag, transition) = (
        p.log_lag_seconds,
        p.search_lag_seconds,
        p.transition_seconds,
    );
    for (name, v) in [
        ("search_lag_seconds", search_lag),
        ("transition_seconds", transition),
    ] {
        if v.is_some_and(|l| !(l.is_finite() && l >= 0.0)) {
            return Err(ApiError::validation(
                name,
                format!("{name}: must be a number of seconds, 0 or more"),
            ));
        }
    }
    let mut st = lock(&s.settings);
    apply(&mut st, p)?;
    let mut w = lock(&s.world);
    if let Some(l) = log_lag {
        w.logs.lag_ms = l as i64 * 1000;
    }
    if let Some(l) = search_lag {
        w.search.lag_ms = (l * 1000.0).round() as i64;
    }
    if let Some(t) = transition {
        w.transitions.duration_ms = (t * 1000.0).round() as i64;
    }
    Ok(Json(json!({"bucket_limits": st.limits.to_json(),
        "concurrency_limit": st.concurrency_limit, "fail_rate": st.fail_rate,
        "log_lag_seconds": st.log_lag_seconds,
        "search_lag_seconds": w.search.lag_ms as f64 / 1000.0,
        "transition_seconds": w.transitions.duration_ms as f64 / 1000.0,
        "dpop_nonce_on_api": st.dpop_nonce_on_api})))
}

pub async fn touch_users(
    State(s): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let n: Count = body_json(&body)?;
    let now = now_ms();
    let mut w = lock(&s.world);
    let mut rng = Rng::new(mix2(s.seed, now as u64));
    let ids: Vec<String> = w.org.users.keys().cloned().collect();
    let mut touched = Vec::new();
    for _ in 0..n.count.min(ids.len()) {
        let id = rng.pick(&ids).clone();
        let Some(u) = w.user_mut(&id) else {
            continue;
        };
        u.last_updated = now;
        u.profile.set(
            "title".into(),
            PVal::Str(format!("Title {}", rng.below(1000)).into()),
        );
        let ent = u.ent;
        w.emit("user.account.update_profile", [ent, u32::MAX], "sim-touch");
        touched.push(id);
    }
    Ok(Json(json!({"touched": touched})))
}

pub async fn create_users(
    State(s): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let n: Count = body_json(&body)?;
    let now = now_ms();
    let mut w = lock(&s.world);
    let mut rng = Rng::new(mix2(s.seed ^ 0xC4EA7E, now as u64));
    let mut created = Vec::new();
    for i in 0..n.count {
        let serial = w.org.users.len() as u64 + 1_000_000 + i as u64;
        let profile = profile_for(serial, &mut rng);
        if w.org
            .logins
            .contains_key(&profile.get_str("login").unwrap_or("").to_lowercase())
        {
            continue;
        }
        let mut u = User::new(new_user_id(&w, &format!("create{serial}")), now, profile);
        u.status = Status::Active;
        (u.activated, u.status_changed, u.password_changed) = (Some(now), Some(now), Some(now));
        u.factors = 1;
        created.push(u.id.clone());
        let ent = insert_user(&mut w, u);
        w.emit("user.lifecycle.create", [ent, u32::MAX], "sim-create");
        w.emit("user.lifecycle.activate", [ent, u32::MAX], "sim-create");
    }
    Ok(Json(json!({"created": created})))
}
