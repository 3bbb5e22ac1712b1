//! An app's lifecycle: activate and deactivate (`POST /api/v1/apps/{id}/lifecycle/{op}`) and
//! delete (`DELETE /api/v1/apps/{id}`, which Okta allows only once the app is deactivated). A
//! deleted app takes its assignments with it.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use serde_json::json;

use super::logs::NONE;
use super::pipeline::Ctx;
use super::respond::{ApiError, ApiResult, no_content, ok};
use super::state::{Shared, lock};
use super::util::now_ms;

pub async fn lifecycle(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, op)): Path<(String, String)>,
) -> ApiResult {
    let active = match op.as_str() {
        "activate" => true,
        "deactivate" => false,
        _ => return Err(ApiError::path_not_found()),
    };
    let mut w = lock(&s.world);
    let a = w
        .org
        .apps
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    if a.active == active {
        return ok(json!({}));
    }
    a.active = active;
    a.last_updated = now_ms();
    let ent = a.ent;
    let event = format!("application.lifecycle.{op}");
    w.emit(&event, [ent, NONE], &ctx.request_id);
    ok(json!({}))
}

pub async fn delete(
    State(s): State<Arc<Shared>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut w = lock(&s.world);
    let a = w
        .org
        .apps
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id, "AppInstance"))?;
    if a.active {
        return Err(
            ApiError::new(403, "E0000056", "Delete application forbidden.")
                .cause("The application must be deactivated before it can be deleted"),
        );
    }
    let ent = a.ent;
    w.org.apps.remove(&id);
    w.emit("application.lifecycle.delete", [ent, NONE], &ctx.request_id);
    no_content()
}
