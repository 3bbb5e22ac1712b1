//! The route table: every `/api/v1` endpoint behind the request pipeline, the `/oauth2/v1`
//! endpoints behind their own, and the `/__sim` admin endpoints beside them (no auth, no
//! limits, no faults).

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post, put};

use super::state::Shared;
use super::{
    admin, api_app_groups, api_app_lifecycle, api_apps, api_groups, api_hooks, api_lifecycle,
    api_logs, api_misc, api_user_write, api_users, hook_delivery, oauth, pipeline,
};

fn user_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/api/v1/users",
            get(api_users::list).post(api_user_write::create),
        )
        .route(
            "/api/v1/users/{id}",
            get(api_users::get)
                .post(api_user_write::update)
                .put(api_user_write::replace)
                .delete(api_user_write::delete),
        )
        .route(
            "/api/v1/users/{id}/lifecycle/{op}",
            post(api_lifecycle::lifecycle),
        )
        .route(
            "/api/v1/users/{id}/credentials/change_password",
            post(api_lifecycle::change_password),
        )
        .route(
            "/api/v1/users/{id}/sessions",
            delete(api_lifecycle::clear_sessions),
        )
        .route("/api/v1/users/{id}/groups", get(api_groups::user_groups))
        .route("/api/v1/users/{id}/appLinks", get(api_apps::app_links))
        .route("/api/v1/users/{id}/factors", get(api_misc::factors))
        .route(
            "/api/v1/users/{id}/factors/{fid}",
            delete(api_misc::delete_factor),
        )
}

fn api_routes() -> Router<Arc<Shared>> {
    user_routes()
        .route(
            "/api/v1/groups",
            get(api_groups::list).post(api_groups::create),
        )
        .route(
            "/api/v1/groups/{id}",
            get(api_groups::get)
                .put(api_groups::replace)
                .delete(api_groups::delete),
        )
        .route("/api/v1/groups/{id}/users", get(api_groups::list_members))
        .route(
            "/api/v1/groups/{id}/users/{uid}",
            put(api_groups::add_member).delete(api_groups::remove_member),
        )
        .route("/api/v1/apps", get(api_apps::list))
        .route(
            "/api/v1/apps/{id}",
            get(api_apps::get).delete(api_app_lifecycle::delete),
        )
        .route(
            "/api/v1/apps/{id}/lifecycle/{op}",
            post(api_app_lifecycle::lifecycle),
        )
        .route(
            "/api/v1/apps/{id}/users",
            get(api_apps::list_users).post(api_apps::assign),
        )
        .route("/api/v1/apps/{id}/groups", get(api_app_groups::list))
        .route(
            "/api/v1/apps/{id}/groups/{gid}",
            get(api_app_groups::get)
                .put(api_app_groups::assign)
                .delete(api_app_groups::unassign),
        )
        .route(
            "/api/v1/apps/{id}/users/{uid}",
            get(api_apps::get_user)
                .post(api_apps::update_user)
                .delete(api_apps::unassign),
        )
        .route(
            "/api/v1/eventHooks",
            get(api_hooks::list).post(api_hooks::create),
        )
        .route(
            "/api/v1/eventHooks/{id}",
            get(api_hooks::get)
                .put(api_hooks::replace)
                .delete(api_hooks::delete),
        )
        .route(
            "/api/v1/eventHooks/{id}/lifecycle/{op}",
            post(api_hooks::lifecycle),
        )
        .route("/api/v1/logs", get(api_logs::list))
        .route("/api/v1/policies", get(api_misc::policies))
        .route("/api/v1/realms", get(api_misc::realms))
        .route("/api/v1/meta/types/user", get(api_misc::user_types))
        .fallback(pipeline::not_found)
        .method_not_allowed_fallback(pipeline::method_not_allowed)
}

fn admin_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/counters", get(admin::counters))
        .route("/__sim/counters/reset", post(admin::reset_counters))
        .route("/__sim/truth", get(admin::truth))
        .route("/__sim/requests", get(admin::requests))
        .route("/__sim/requests/reset", post(admin::reset_requests))
        .route("/__sim/script", post(admin::script))
        .route("/__sim/logs", post(admin::add_logs))
        .route("/__sim/settings", post(admin::settings))
        .route("/__sim/users/touch", post(admin::touch_users))
        .route("/__sim/users/create", post(admin::create_users))
        .route("/__sim/hooks/settings", post(hook_delivery::settings))
        .route("/__sim/hooks/deliveries", get(hook_delivery::deliveries))
        .route("/__sim/oauth", get(oauth::stats))
        .route("/__sim/oauth/rotate-nonce", post(oauth::rotate_nonce))
}

fn oauth_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth2/v1/token", post(oauth::token))
        .route("/oauth2/v1/authorize", get(oauth::authorize))
        .route("/oauth2/v1/revoke", post(oauth::revoke))
}

pub fn router(shared: Arc<Shared>) -> Router {
    let api = api_routes().layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        pipeline::api,
    ));
    let oauth = oauth_routes().layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        oauth::middleware,
    ));
    admin_routes().merge(oauth).merge(api).with_state(shared)
}
