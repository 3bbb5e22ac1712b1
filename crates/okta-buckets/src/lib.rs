//! Okta's rate-limit buckets for the management API and the org authorization server: which
//! bucket a request falls in ([`Bucket::of`]), its stable name, and the developer org's
//! published per-minute limit. One table, shared by oktasync's client (which paces itself per
//! bucket) and by its simulator (which enforces the limits), so the two cannot disagree.
//!
//! The table follows Okta's "Management rate limits" page (API-NOTES §2): a bucket named for a
//! path with `{id}` covers that path *only*; everything else below `/api/v1/apps` or
//! `/api/v1/groups` falls in that family's collection bucket (Okta's `/api/v1/apps*`), and
//! user sub-resources (lifecycle, sessions, factors, credentials, groups, appLinks) fall in
//! "most other API actions", `/api/v1`.

/// One of Okta's rate-limit buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// `GET` or `POST /api/v1/users` (list, create).
    Users,
    /// `GET /api/v1/users/{idOrLogin}`.
    UserGet,
    /// `POST`, `PUT` or `DELETE /api/v1/users/{id}`.
    UserWrite,
    /// `/api/v1/logs`.
    Logs,
    /// `/api/v1/groups*` except `/api/v1/groups/{id}`.
    Groups,
    /// `/api/v1/groups/{id}` only.
    GroupById,
    /// `/api/v1/apps*` except `/api/v1/apps/{id}`.
    Apps,
    /// `/api/v1/apps/{id}` only.
    AppById,
    /// `/oauth2/v1/*`: the org authorization server.
    OAuth2,
    /// Most other API actions under `/api/v1`.
    Api,
}

impl Bucket {
    /// Every bucket, in table order.
    pub const ALL: [Bucket; 10] = [
        Bucket::Users,
        Bucket::UserGet,
        Bucket::UserWrite,
        Bucket::Logs,
        Bucket::Groups,
        Bucket::GroupById,
        Bucket::Apps,
        Bucket::AppById,
        Bucket::OAuth2,
        Bucket::Api,
    ];

    /// The bucket of a request, from its method and its path (without the query).
    pub fn of(method: &str, path: &str) -> Bucket {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let is = |m: &str| method.eq_ignore_ascii_case(m);
        match segs.as_slice() {
            ["oauth2", "v1", ..] => Bucket::OAuth2,
            ["api", "v1", "users"] if is("GET") || is("POST") => Bucket::Users,
            ["api", "v1", "users", _] if is("GET") => Bucket::UserGet,
            ["api", "v1", "users", _] if is("POST") || is("PUT") || is("DELETE") => {
                Bucket::UserWrite
            }
            ["api", "v1", "logs", ..] => Bucket::Logs,
            ["api", "v1", "groups", "rules"] => Bucket::Groups,
            ["api", "v1", "groups", _] => Bucket::GroupById,
            ["api", "v1", "groups", ..] => Bucket::Groups,
            ["api", "v1", "apps", _] => Bucket::AppById,
            ["api", "v1", "apps", ..] => Bucket::Apps,
            _ => Bucket::Api,
        }
    }

    /// A stable name, for logs, metrics labels and command-line overrides.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Users => "users",
            Bucket::UserGet => "users/{id}:get",
            Bucket::UserWrite => "users/{id}:write",
            Bucket::Logs => "logs",
            Bucket::Groups => "groups",
            Bucket::GroupById => "groups/{id}",
            Bucket::Apps => "apps",
            Bucket::AppById => "apps/{id}",
            Bucket::OAuth2 => "oauth2",
            Bucket::Api => "api",
        }
    }

    /// The bucket with this [`name`](Bucket::name).
    pub fn from_name(name: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Requests per minute in a developer (Integrator Free) org, as Okta publishes them.
    pub fn developer_per_minute(self) -> u32 {
        match self {
            Bucket::Users | Bucket::UserGet | Bucket::UserWrite => 100,
            Bucket::Logs => 20,
            Bucket::Groups | Bucket::GroupById => 100,
            Bucket::Apps => 20,
            Bucket::AppById => 100,
            Bucket::OAuth2 => 300,
            Bucket::Api => 100,
        }
    }
}

/// Requests in flight at once that a developer (Integrator Free) org allows.
pub const DEVELOPER_CONCURRENCY: u32 = 35;

#[cfg(test)]
mod tests {
    use super::*;

    /// Okta's "Management rate limits" table, row by row, with a request for each.
    #[test]
    fn requests_fall_into_the_buckets_okta_documents() {
        use Bucket::*;
        for (method, path, want) in [
            ("GET", "/api/v1/users", Users),
            ("POST", "/api/v1/users", Users),
            ("GET", "/api/v1/users/00u1", UserGet),
            ("GET", "/api/v1/users/a%40b.com", UserGet),
            ("POST", "/api/v1/users/00u1", UserWrite),
            ("PUT", "/api/v1/users/00u1", UserWrite),
            ("DELETE", "/api/v1/users/00u1", UserWrite),
            ("POST", "/api/v1/users/00u1/lifecycle/suspend", Api),
            ("DELETE", "/api/v1/users/00u1/sessions", Api),
            ("GET", "/api/v1/users/00u1/factors", Api),
            ("DELETE", "/api/v1/users/00u1/factors/sms1", Api),
            (
                "POST",
                "/api/v1/users/00u1/credentials/change_password",
                Api,
            ),
            ("GET", "/api/v1/users/00u1/groups", Api),
            ("GET", "/api/v1/logs", Logs),
            ("GET", "/api/v1/groups", Groups),
            ("POST", "/api/v1/groups", Groups),
            ("GET", "/api/v1/groups/00g1", GroupById),
            ("PUT", "/api/v1/groups/00g1", GroupById),
            ("DELETE", "/api/v1/groups/00g1", GroupById),
            ("GET", "/api/v1/groups/00g1/users", Groups),
            ("GET", "/api/v1/groups/rules", Groups),
            ("PUT", "/api/v1/groups/00g1/users/00u1", Groups),
            ("GET", "/api/v1/apps", Apps),
            ("GET", "/api/v1/apps/0oa1", AppById),
            ("PUT", "/api/v1/apps/0oa1", AppById),
            ("GET", "/api/v1/apps/0oa1/users", Apps),
            ("POST", "/api/v1/apps/0oa1/users/00u1", Apps),
            ("POST", "/oauth2/v1/token", OAuth2),
            ("GET", "/oauth2/v1/authorize", OAuth2),
            ("POST", "/oauth2/v1/revoke", OAuth2),
            ("GET", "/api/v1/eventHooks", Api),
            ("GET", "/api/v1/meta/types/user", Api),
            ("GET", "/api/v1/policies", Api),
        ] {
            assert_eq!(Bucket::of(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn names_are_unique_and_lead_back_to_their_bucket() {
        for b in Bucket::ALL {
            assert_eq!(Bucket::from_name(b.name()), Some(b));
        }
        assert_eq!(Bucket::from_name("nope"), None);
    }

    #[test]
    fn developer_limits_match_the_published_integrator_free_column() {
        let table: Vec<(Bucket, u32)> = Bucket::ALL
            .iter()
            .map(|b| (*b, b.developer_per_minute()))
            .collect();
        assert_eq!(
            table,
            vec![
                (Bucket::Users, 100),
                (Bucket::UserGet, 100),
                (Bucket::UserWrite, 100),
                (Bucket::Logs, 20),
                (Bucket::Groups, 100),
                (Bucket::GroupById, 100),
                (Bucket::Apps, 20),
                (Bucket::AppById, 100),
                (Bucket::OAuth2, 300),
                (Bucket::Api, 100),
            ]
        );
    }
}
