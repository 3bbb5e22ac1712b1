//! Scopes: the scope each `/api/v1` operation needs from an OAuth token (Okta's management
//! spec, by path family and method: reads take `.read` or `.manage`, writes take `.manage`),
//! and the checks on the scopes a token request asks for.

use super::error::OAuthError;

/// Every scope `/api/v1` checks: `.read` and `.manage` for each family the simulator serves
/// (the System Log has only `okta.logs.read`).
pub const API_SCOPES: [&str; 17] = [
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.apps.read",
    "okta.apps.manage",
    "okta.logs.read",
    "okta.eventHooks.read",
    "okta.eventHooks.manage",
    "okta.policies.read",
    "okta.policies.manage",
    "okta.realms.read",
    "okta.realms.manage",
    "okta.userTypes.read",
    "okta.userTypes.manage",
    "okta.schemas.read",
    "okta.schemas.manage",
];

/// Scopes every web or public app may ask for without a grant on the "Okta API Scopes" tab.
const IMPLICIT_WEB_SCOPES: [&str; 1] = ["offline_access"];

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// `okta.<family>.read` or `okta.<family>.manage`.
    Read(&'static str),
    /// `okta.<family>.manage`.
    Manage(&'static str),
    /// One scope only, e.g. `okta.logs.read`.
    Exactly(&'static str),
}

impl Need {
    /// The scope to name in an `insufficient_scope` challenge.
    pub fn named(self) -> String {
        match self {
            Need::Read(f) => format!("okta.{f}.read"),
            Need::Manage(f) => format!("okta.{f}.manage"),
            Need::Exactly(s) => s.to_string(),
        }
    }

    pub fn met_by(self, scopes: &[String]) -> bool {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        match self {
            Need::Read(f) => has(&format!("okta.{f}.read")) || has(&format!("okta.{f}.manage")),
            Need::Manage(f) => has(&format!("okta.{f}.manage")),
            Need::Exactly(s) => has(s),
        }
    }
}

/// The family of an `/api/v1` path, by its first segments.
fn family(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/v1/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    Some(match segs.as_slice() {
        ["users", ..] => "users",
        ["groups", ..] => "groups",
        ["apps", ..] => "apps",
        ["logs", ..] => "logs",
        ["eventHooks", ..] => "eventHooks",
        ["policies", ..] => "policies",
        ["realms", ..] => "realms",
        ["meta", "types", "user", ..] => "userTypes",
        ["meta", "schemas", ..] => "schemas",
        _ => return None,
    })
}

/// The scope an OAuth token needs for `method path`; None for paths the simulator does not
/// serve (they answer 404 whatever the token).
pub(crate) fn required(method: &str, path: &str) -> Option<Need> {
    let f = family(path)?;
    Some(match (f, method) {
        ("logs", _) => Need::Exactly("okta.logs.read"),
        (f, "GET" | "HEAD") => Need::Read(f),
        (f, _) => Need::Manage(f),
    })
}

/// The space-separated `scope` parameter as a list, in order, without repeats.
pub(crate) fn parse(raw: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.unwrap_or("").split_whitespace() {
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Every requested scope must be granted to the app (web apps may also ask for the implicit
/// OIDC scope `offline_access`); the error names the ones that are not.
pub(crate) fn check_granted(
    requested: &[String],
    granted: &[String],
    web: bool,
) -> Result<(), OAuthError> {
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope("No scopes were requested."));
    }
    let allowed =
        |s: &String| granted.contains(s) || (web && IMPLICIT_WEB_SCOPES.contains(&s.as_str()));
    let missing: Vec<&str> = requested
        .iter()
        .filter(|s| !allowed(s))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(OAuthError::invalid_scope(format!(
        "The following scopes were requested but are not granted to the client: {}.",
        missing.join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_path_needs_its_familys_read_or_manage_scope() {
        let cases = [
            ("GET", "/api/v1/users", Some("okta.users.read")),
            ("HEAD", "/api/v1/users/00u1", Some("okta.users.read")),
            ("POST", "/api/v1/users", Some("okta.users.manage")),
            (
                "POST",
                "/api/v1/users/00u1/lifecycle/suspend",
                Some("okta.users.manage"),
            ),
            (
                "POST",
                "/api/v1/users/00u1/credentials/change_password",
                Some("okta.users.manage"),
            ),
            (
                "DELETE",
                "/api/v1/users/00u1/sessions",
                Some("okta.users.manage"),
            ),
            ("GET", "/api/v1/users/00u1/factors", Some("okta.users.read")),
            (
                "DELETE",
                "/api/v1/users/00u1/factors/f1",
                Some("okta.users.manage"),
            ),
            ("GET", "/api/v1/users/00u1/groups", Some("okta.users.read")),
            (
                "GET",
                "/api/v1/users/00u1/appLinks",
                Some("okta.users.read"),
            ),
            ("GET", "/api/v1/groups/00g1/users", Some("okta.groups.read")),
            (
                "PUT",
                "/api/v1/groups/00g1/users/00u1",
                Some("okta.groups.manage"),
            ),
            ("GET", "/api/v1/apps/0oa1/users", Some("okta.apps.read")),
            ("POST", "/api/v1/apps/0oa1/users", Some("okta.apps.manage")),
            ("GET", "/api/v1/logs", Some("okta.logs.read")),
            ("GET", "/api/v1/eventHooks", Some("okta.eventHooks.read")),
            (
                "POST",
                "/api/v1/eventHooks/w1/lifecycle/verify",
                Some("okta.eventHooks.manage"),
            ),
            ("GET", "/api/v1/policies", Some("okta.policies.read")),
            ("GET", "/api/v1/realms", Some("okta.realms.read")),
            (
                "GET",
                "/api/v1/meta/types/user",
                Some("okta.userTypes.read"),
            ),
            (
                "GET",
                "/api/v1/meta/schemas/user/default",
                Some("okta.schemas.read"),
            ),
            ("GET", "/api/v1/nothing", None),
        ];
        for (m, p, want) in cases {
            let need = required(m, p);
            assert_eq!(need.map(Need::named).as_deref(), want, "{m} {p}");
            if let Some(n) = need {
                assert!(API_SCOPES.contains(&n.named().as_str()), "{m} {p}");
            }
        }
    }

    #[test]
    fn manage_includes_read_but_read_does_not_include_manage() {
        let manage = vec!["okta.users.manage".to_string()];
        let read = vec!["okta.users.read".to_string()];
        assert!(Need::Read("users").met_by(&manage) && Need::Read("users").met_by(&read));
        assert!(Need::Manage("users").met_by(&manage) && !Need::Manage("users").met_by(&read));
        assert!(!Need::Read("groups").met_by(&manage));
        assert!(!Need::Exactly("okta.logs.read").met_by(&manage));
    }

    #[test]
    fn requested_scopes_must_be_granted_and_the_error_names_the_missing_ones() {
        let granted = parse(Some("okta.users.read okta.logs.read"));
        let ok = parse(Some("okta.users.read  okta.users.read"));
        assert_eq!(ok, vec!["okta.users.read".to_string()]);
        assert!(check_granted(&ok, &granted, false).is_ok());
        let e = check_granted(
            &parse(Some("okta.users.manage okta.logs.read okta.x")),
            &granted,
            false,
        )
        .unwrap_err();
        assert_eq!(e.error, "invalid_scope");
        assert!(
            e.description.ends_with(": okta.users.manage okta.x."),
            "{}",
            e.description
        );
        assert!(check_granted(&[], &granted, false).is_err());
        let offline = parse(Some("okta.users.read offline_access"));
        assert!(check_granted(&offline, &granted, true).is_ok());
        assert!(check_granted(&offline, &granted, false).is_err());
    }
}
