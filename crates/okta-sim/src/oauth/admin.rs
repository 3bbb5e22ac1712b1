//! The OAuth part of the `/__sim` control plane: per-client statistics (tokens issued,
//! refreshes, revocations, refused requests with their error codes) and rotation of the
//! DPoP nonce. No secret is ever shown here.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::state::{Shared, lock};

/// `GET /__sim/oauth`.
pub(crate) async fn stats(State(s): State<Arc<Shared>>) -> Json<Value> {
    let st = lock(&s.oauth_state);
    let mut clients = Map::new();
    for reg in s.oauth.all() {
        let app = &reg.app;
        let stats = st.stats.get(&app.client_id).cloned().unwrap_or_default();
        let mut v = json!(stats);
        v["kind"] = json!(app.kind().as_str());
        v["dpop"] = json!(app.dpop);
        v["scopes"] = json!(app.scopes);
        clients.insert(app.client_id.clone(), v);
    }
    // Requests naming clients the org does not know.
    for (id, stats) in st.stats.iter().filter(|(id, _)| s.oauth.get(id).is_none()) {
        let mut v = json!(stats);
        v["kind"] = json!("unknown");
        clients.insert(id.clone(), v);
    }
    Json(json!({
        "clients": clients,
        "dpop_nonce": st.nonce,
        "dpop_nonce_on_api": s.settings().dpop_nonce_on_api,
    }))
}

/// `POST /__sim/oauth/rotate-nonce`: a new DPoP nonce; the old one stops working at once.
pub(crate) async fn rotate_nonce(State(s): State<Arc<Shared>>) -> Json<Value> {
    let nonce = lock(&s.oauth_state).rotate_nonce();
    Json(json!({ "dpop_nonce": nonce }))
}
