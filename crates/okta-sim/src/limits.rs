//! Okta's rate limiting as pure decisions: which bucket a request falls in, and the fixed
//! per-bucket windows that open at the bucket's first request (not on the clock's minute).

use std::collections::HashMap;

/// The rate-limit buckets of Okta's management API (API-NOTES §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    UsersCollection,
    UserGet,
    UserWrite,
    Logs,
    GroupsCollection,
    GroupById,
    Apps,
    AppById,
    Other,
    /// The org authorization server, `/oauth2/v1/*`.
    OAuth2,
}

/// Classify a request by method and path (without query).
pub fn classify(method: &str, path: &str) -> Bucket {
    if path.starts_with("/oauth2/") {
        return Bucket::OAuth2;
    }
    let rest = path
        .trim_end_matches('/')
        .strip_prefix("/api/v1/")
        .unwrap_or("");
    let segs: Vec<&str> = rest.split('/').collect();
    match segs.as_slice() {
        ["users"] => Bucket::UsersCollection,
        ["users", _] if method == "GET" => Bucket::UserGet,
        ["users", _, ..] if method != "GET" => Bucket::UserWrite,
        ["logs", ..] => Bucket::Logs,
        ["groups"] => Bucket::GroupsCollection,
        ["groups", _, ..] => Bucket::GroupById,
        ["apps", _] if matches!(method, "GET" | "PUT" | "DELETE") => Bucket::AppById,
        ["apps", ..] => Bucket::Apps,
        _ => Bucket::Other,
    }
}

/// What the limiter decided, and the values for the `X-Rate-Limit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// UTC epoch seconds at which the window ends.
    pub reset: i64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    count: u32,
}

/// Fixed windows, one per bucket.
#[derive(Debug, Default)]
pub struct Limiter {
    windows: HashMap<Bucket, Window>,
}

impl Limiter {
    /// Count a request against `bucket` unless the bucket is exhausted (a refused request
    /// does not consume anything).
    pub fn check(&mut self, bucket: Bucket, now_ms: i64, limit: u32, window_ms: i64) -> Decision {
        let w = self.windows.entry(bucket).or_insert(Window {
            start_ms: now_ms,
            count: 0,
        });
        if now_ms >= w.start_ms + window_ms {
            *w = Window {
                start_ms: now_ms,
                count: 0,
            };
        }
        let reset = (w.start_ms + window_ms + 999).div_euclid(1000);
        if w.count >= limit {
            return Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset,
            };
        }
        w.count += 1;
        Decision {
            allowed: true,
            limit,
            remaining: limit - w.count,
            reset,
        }
    }

    /// The headers for a bucket without counting a request (for responses that are not
    /// counted, such as 401s).
    pub fn peek(&self, bucket: Bucket, now_ms: i64, limit: u32, window_ms: i64) -> Decision {
        match self.windows.get(&bucket) {
            Some(w) if now_ms < w.start_ms + window_ms => Decision {
                allowed: w.count < limit,
                limit,
                remaining: limit.saturating_sub(w.count),
                reset: (w.start_ms + window_ms + 999).div_euclid(1000),
            },
            _ => Decision {
                allowed: true,
                limit,
                remaining: limit,
                reset: (now_ms + window_ms + 999).div_euclid(1000),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_into_okta_buckets() {
        let cases = [
            ("GET", "/api/v1/users", Bucket::UsersCollection),
            ("POST", "/api/v1/users", Bucket::UsersCollection),
            ("GET", "/api/v1/users/00u1", Bucket::UserGet),
            ("GET", "/api/v1/users/a%40b.com", Bucket::UserGet),
            ("POST", "/api/v1/users/00u1", Bucket::UserWrite),
            ("DELETE", "/api/v1/users/00u1", Bucket::UserWrite),
            (
                "POST",
                "/api/v1/users/00u1/lifecycle/suspend",
                Bucket::UserWrite,
            ),
            ("GET", "/api/v1/users/00u1/groups", Bucket::Other),
            ("GET", "/api/v1/logs", Bucket::Logs),
            ("GET", "/api/v1/groups", Bucket::GroupsCollection),
            ("PUT", "/api/v1/groups/00g1/users/00u1", Bucket::GroupById),
            ("GET", "/api/v1/apps", Bucket::Apps),
            ("GET", "/api/v1/apps/0oa1", Bucket::AppById),
            ("GET", "/api/v1/apps/0oa1/users", Bucket::Apps),
            ("POST", "/api/v1/apps/0oa1", Bucket::Apps),
            ("GET", "/api/v1/eventHooks", Bucket::Other),
            ("GET", "/api/v1/meta/types/user", Bucket::Other),
            ("POST", "/oauth2/v1/token", Bucket::OAuth2),
            ("GET", "/oauth2/v1/authorize", Bucket::OAuth2),
        ];
        for (m, p, want) in cases {
            assert_eq!(classify(m, p), want, "{m} {p}");
        }
    }

    #[test]
    fn a_bucket_of_n_refuses_request_n_plus_one_until_its_window_ends() {
        let mut l = Limiter::default();
        let t0 = 1_000_500;
        for i in 1..=3 {
            let d = l.check(Bucket::Logs, t0 + i, 3, 2000);
            assert!(d.allowed);
            assert_eq!(d.remaining, 3 - i as u32);
            assert_eq!(
                d.reset, 1003,
                "window opened at the first request, ceil to seconds"
            );
        }
        let d = l.check(Bucket::Logs, t0 + 10, 3, 2000);
        assert_eq!(
            (d.allowed, d.remaining, d.limit, d.reset),
            (false, 0, 3, 1003)
        );
        assert!(
            l.check(Bucket::UsersCollection, t0, 3, 2000).allowed,
            "buckets are separate"
        );
        let d = l.check(Bucket::Logs, t0 + 2001, 3, 2000);
        assert!(d.allowed, "a new window opens once the old one ends");
        assert_eq!(d.remaining, 2);
    }
}
