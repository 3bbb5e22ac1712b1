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
use super::log_gen::{Cast, append_synthetic};
use super::log_view::View;
use super::model::{PVal, Status, User};
use super::org_gen::profile_for;
use super::respond::{ApiError, Params, parse_body};
use super::state::{Scripted, Shared, lock};
use super::util::{Rng, fmt_ms, mix2, now_ms};

fn body_json<T: for<'de> Deserialize<'de>>(b: &Bytes) -> Result<T, ApiError> {
    let v = parse_body(b)?.unwrap_or(json!({}));
    serde_json::from_value(v).map_err(|e| ApiError::validation("body", e.to_string()))
}

pub async fn counters(State(s): State<Arc<Shared>>) -> Json<Value> {
    let c = lock(&s.control);
    Json(json!({
        "requests_total": c.requests_total, "requests": c.requests, "rate_limited": c.rate_limited,
        "faults": c.faults, "peak_concurrency": s.peak.load(Ordering::SeqCst),
    }))
}

pub async fn reset_counters(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut c = lock(&s.control);
    c.requests_total = 0;
    c.requests.clear();
    c.rate_limited = 0;
    c.faults = 0;
    s.peak
        .store(s.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    Json(json!({"ok": true}))
}

pub async fn truth(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Json<Value> {
    let p = Params::parse(raw.as_deref());
    let mut w = lock(&s.world);
    let users: Vec<Value> = w
        .org
        .users
        .values()
        .map(|u| json!({"id": u.id, "status": u.status.as_str(), "created": fmt_ms(u.created), "lastUpdated": fmt_ms(u.last_updated)}))
        .collect();
    let mut out = json!({ "users": users });
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
    rate_limit: Option<u32>,
    /// 0 lifts the limit.
    concurrency_limit: Option<u32>,
    fail_rate: Option<f64>,
    log_lag_seconds: Option<u64>,
    /// How long users writes take to show in `search` and `filter`.
    search_lag_seconds: Option<u64>,
    /// Demand the DPoP nonce on `/api/v1` calls too.
    dpop_nonce_on_api: Option<bool>,
}

pub async fn settings(State(s): State<Arc<Shared>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let p: SettingsPatch = body_json(&body)?;
    let mut st = lock(&s.settings);
    if let Some(r) = p.rate_limit {
        st.rate_limit = r;
    }
    if let Some(c) = p.concurrency_limit {
        st.concurrency_limit = (c > 0).then_some(c);
    }
    if let Some(f) = p.fail_rate {
        st.fail_rate = f.clamp(0.0, 1.0);
    }
    if let Some(l) = p.log_lag_seconds {
        st.log_lag_seconds = l;
        lock(&s.world).logs.lag_ms = l as i64 * 1000;
    }
    if let Some(l) = p.search_lag_seconds {
        st.search_lag_seconds = l;
        lock(&s.world).set_search_lag(l as i64 * 1000);
    }
    if let Some(n) = p.dpop_nonce_on_api {
        st.dpop_nonce_on_api = n;
    }
    Ok(Json(
        json!({"rate_limit": st.rate_limit, "concurrency_limit": st.concurrency_limit,
        "fail_rate": st.fail_rate, "log_lag_seconds": st.log_lag_seconds,
        "search_lag_seconds": st.search_lag_seconds,
        "dpop_nonce_on_api": st.dpop_nonce_on_api}),
    ))
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
        let Some(u) = w.org.users.get_mut(&id) else {
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
