//! Which OAuth 2.0 scope a management API call needs, so a missing scope is named before or when
//! Okta refuses it. Reads accept the `read` or the `manage` scope; writes need `manage`.

/// The scope family of an `/api/v1` path, e.g. `users` for `/api/v1/users/{id}/factors`.
fn family(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/v1/")?;
    let first = rest.split('/').next().unwrap_or_default();
    Some(match first {
        "users" => "users",
        "groups" => "groups",
        "apps" => "apps",
        "logs" => "logs",
        "eventHooks" => "eventHooks",
        "policies" => "policies",
        "realms" => "realms",
        "meta" if rest.starts_with("meta/types/user") => "userTypes",
        "meta" if rest.starts_with("meta/schemas") => "schemas",
        _ => return None,
    })
}

/// The scopes any one of which allows `method path`, strongest last; empty when unknown.
pub fn allowing(method: &str, path: &str) -> Vec<String> {
    let Some(family) = family(path) else {
        return Vec::new();
    };
    let read = matches!(method, "GET" | "HEAD");
    match (family, read) {
        ("logs", _) => vec!["okta.logs.read".into()],
        (f, true) => vec![format!("okta.{f}.read"), format!("okta.{f}.manage")],
        (f, false) => vec![format!("okta.{f}.manage")],
    }
}

/// The one scope to ask for so that `method path` is allowed (the weakest that suffices).
pub fn required(method: &str, path: &str) -> Option<String> {
    allowing(method, path).into_iter().next()
}

/// Whether `granted` allows `method path` (unknown paths are left for Okta to judge).
pub fn allows(granted: &[String], method: &str, path: &str) -> bool {
    let needed = allowing(method, path);
    needed.is_empty() || needed.iter().any(|s| granted.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_needs_its_read_scope_to_read_and_its_manage_scope_to_write() {
        for (method, path, want) in [
            ("GET", "/api/v1/users", "okta.users.read"),
            (
                "POST",
                "/api/v1/users/00u1/lifecycle/activate",
                "okta.users.manage",
            ),
            (
                "DELETE",
                "/api/v1/users/00u1/factors/mbl1",
                "okta.users.manage",
            ),
            ("GET", "/api/v1/groups/00g1/users", "okta.groups.read"),
            ("PUT", "/api/v1/apps/0oa1/users/00u1", "okta.apps.manage"),
            ("GET", "/api/v1/logs", "okta.logs.read"),
            (
                "POST",
                "/api/v1/eventHooks/who1/lifecycle/verify",
                "okta.eventHooks.manage",
            ),
            ("GET", "/api/v1/policies", "okta.policies.read"),
            ("GET", "/api/v1/realms", "okta.realms.read"),
            ("GET", "/api/v1/meta/types/user", "okta.userTypes.read"),
            (
                "GET",
                "/api/v1/meta/schemas/user/default",
                "okta.schemas.read",
            ),
        ] {
            assert_eq!(
                required(method, path).as_deref(),
                Some(want),
                "{method} {path}"
            );
        }
        assert_eq!(required("GET", "/oauth2/v1/keys"), None);
    }

    #[test]
    fn manage_allows_reading_and_read_never_allows_writing() {
        let manage = vec!["okta.users.manage".to_owned()];
        let read = vec!["okta.users.read".to_owned()];
        assert!(allows(&manage, "GET", "/api/v1/users"));
        assert!(allows(&read, "GET", "/api/v1/users/00u1"));
        assert!(!allows(&read, "POST", "/api/v1/users"));
        assert!(!allows(&read, "GET", "/api/v1/logs"));
    }
}
