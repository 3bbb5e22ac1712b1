//! Okta's rate limiting as pure decisions: how many requests each bucket allows (the shared
//! table in `okta_buckets`, scaled, overridden, or one number for all), and the fixed
//! per-bucket windows that open at the bucket's first request (not on the clock's minute).

use std::collections::HashMap;

pub use okta_buckets::Bucket;

/// The per-bucket limit when none is configured: effectively unlimited.
pub const UNLIMITED: u32 = 100_000;

/// Okta's per-bucket limits as asked for: the developer org's published per-minute limits
/// times `multiplier` (at least 1 each), then `overrides` bucket by bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    pub multiplier: f64,
    pub overrides: Vec<(Bucket, u32)>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            multiplier: 1.0,
            overrides: vec![],
        }
    }
}

/// Requests per window, bucket by bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits(HashMap<Bucket, u32>);

impl Limits {
    /// The same number for every bucket.
    pub fn uniform(n: u32) -> Limits {
        Limits(Bucket::ALL.iter().map(|b| (*b, n)).collect())
    }

    /// From a config: `uniform` (if any) for every bucket, else Okta's table scaled by the
    /// profile's multiplier, else [`UNLIMITED`]; the profile's overrides win over both.
    pub fn resolve(uniform: Option<u32>, profile: Option<&RateLimits>) -> Limits {
        let mut l = match (uniform, profile) {
            (Some(n), _) => Limits::uniform(n),
            (None, Some(p)) => Limits(
                Bucket::ALL
                    .iter()
                    .map(|b| {
                        let n = f64::from(b.developer_per_minute()) * p.multiplier;
                        (*b, n.round().clamp(1.0, f64::from(u32::MAX)) as u32)
                    })
                    .collect(),
            ),
            (None, None) => Limits::uniform(UNLIMITED),
        };
        for (b, n) in profile.map(|p| p.overrides.as_slice()).unwrap_or(&[]) {
            l.0.insert(*b, *n);
        }
        l
    }

    pub fn of(&self, b: Bucket) -> u32 {
        self.0.get(&b).copied().unwrap_or(UNLIMITED)
    }

    pub fn set(&mut self, b: Bucket, n: u32) {
        self.0.insert(b, n);
    }

    /// `{name: limit}` for every bucket, for `/__sim/settings` answers.
    pub fn to_json(&self) -> serde_json::Value {
        Bucket::ALL
            .iter()
            .map(|b| (b.name().to_string(), self.of(*b).into()))
            .collect::<serde_json::Map<_, _>>()
            .into()
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
    fn limits_are_okta_s_table_scaled_unless_one_number_is_given_and_overrides_win() {
        let profile = RateLimits {
            multiplier: 0.1,
            overrides: vec![(Bucket::Users, 7)],
        };
        let l = Limits::resolve(None, Some(&profile));
        assert_eq!(l.of(Bucket::Logs), 2, "20 a minute, a tenth");
        assert_eq!(l.of(Bucket::Api), 10);
        assert_eq!(l.of(Bucket::Users), 7, "the override");
        let one = RateLimits::default();
        assert_eq!(Limits::resolve(None, Some(&one)).of(Bucket::OAuth2), 300);
        let tiny = RateLimits {
            multiplier: 0.001,
            overrides: vec![],
        };
        assert_eq!(Limits::resolve(None, Some(&tiny)).of(Bucket::Logs), 1);
        let l = Limits::resolve(Some(5), Some(&profile));
        assert_eq!((l.of(Bucket::Logs), l.of(Bucket::Users)), (5, 7));
        assert_eq!(Limits::resolve(None, None).of(Bucket::Logs), UNLIMITED);
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
            l.check(Bucket::Users, t0, 3, 2000).allowed,
            "buckets are separate"
        );
        let d = l.check(Bucket::Logs, t0 + 2001, 3, 2000);
        assert!(d.allowed, "a new window opens once the old one ends");
        assert_eq!(d.remaining, 2);
    }
}
