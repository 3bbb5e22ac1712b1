//! Okta's official OpenAPI files, read once from `$OKTASYNC_SHARED_DIR`. Outside CI a missing
//! variable skips the checks with a note; in CI (`CI` set) a variable that is unset or points
//! nowhere fails the test, so the spec checks can never pass silently there.

use std::sync::OnceLock;

use serde_json::Value;

pub const MANAGEMENT: &str = "okta-management-openapi-v3.yaml";
pub const OAUTH: &str = "okta-oauth-openapi-v3.yaml";

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

fn load(file: &str) -> Option<Value> {
    let dir = match std::env::var("OKTASYNC_SHARED_DIR") {
        Ok(d) => d,
        Err(_) if in_ci() => panic!(
            "CI is set but OKTASYNC_SHARED_DIR is not: the checks against {file} must run in CI"
        ),
        Err(_) => {
            eprintln!("note: OKTASYNC_SHARED_DIR is not set; skipping the check against {file}");
            return None;
        }
    };
    let path = std::path::Path::new(&dir).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "OKTASYNC_SHARED_DIR points at {dir}, but {} cannot be read: {e}",
            path.display()
        )
    });
    Some(serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file} parses: {e}")))
}

/// The management API spec, or `None` (with a note) outside CI when it is not configured.
pub fn management() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| load(MANAGEMENT)).as_ref()
}

/// The OAuth 2.0 spec, likewise.
pub fn oauth() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| load(OAUTH)).as_ref()
}

/// Every `(METHOD, path template, operationId)` in a spec.
pub fn operations(spec: &Value) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                out.push((method.to_uppercase(), path.clone(), id.to_string()));
            }
        }
    }
    out
}
