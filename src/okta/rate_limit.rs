//! Rate-limit pacing: one governor shared by every request of a client, keyed by Okta's endpoint
//! bucket. It learns each bucket from the `X-Rate-Limit-*` headers and spaces requests so that a
//! long listing never hits a 429 and leaves a share of every bucket to other integrations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;

/// Okta's rate-limit bucket for a request, from its method and path: the name from the table
/// the simulator enforces too (`okta_buckets`, API-NOTES §2).
pub fn bucket(method: &str, path: &str) -> &'static str {
    okta_buckets::Bucket::of(method, path).name()
}

/// What one response said about its bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Time until the window resets, measured against the response's `Date` header.
    pub reset_in: Duration,
}

impl RateInfo {
    /// Reads the three headers. Repeated values (nested buckets) count by the smallest; a missing
    /// `Date` falls back to the local clock.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateInfo> {
        let min = |name: &str| -> Option<u64> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .min()
        };
        let reset = min("x-rate-limit-reset")?;
        let date = headers
            .get("date")
            .and_then(|v| httpdate::parse_http_date(v.to_str().ok()?).ok())
            .unwrap_or_else(SystemTime::now);
        let date_secs = date.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        Some(RateInfo {
            limit: u32::try_from(min("x-rate-limit-limit")?).unwrap_or(u32::MAX),
            remaining: u32::try_from(min("x-rate-limit-remaining")?).unwrap_or(u32::MAX),
            reset_in: Duration::from_secs(reset.saturating_sub(date_secs)),
        })
    }

    /// How long to wait after a 429 before sending again: until the reset, plus a second as Okta's
    /// SDKs do (the `Date` header has one-second resolution).
    pub fn retry_after(&self) -> Duration {
        self.reset_in + Duration::from_secs(1)
    }
}

/// One bucket as the governor last saw it.
#[derive(Debug, Clone)]
pub struct BucketState {
    pub limit: u32,
    pub remaining: u32,
    pub reset_at: Instant,
    /// Requests sent whose answer has not come back yet.
    pub in_flight: u32,
    pub last_sent: Option<Instant>,
}

/// How long to wait before the next request in this bucket. Keeps `1 - share` of the bucket in
/// reserve and spreads what is left evenly over the time until the window resets.
pub fn pace(state: &BucketState, share: f64, now: Instant) -> Duration {
    if state.reset_at <= now {
        return Duration::ZERO;
    }
    let until_reset = state.reset_at - now;
    let reserve = (f64::from(state.limit) * (1.0 - share)).ceil() as i64;
    let available = i64::from(state.remaining) - i64::from(state.in_flight) - reserve;
    if available <= 0 {
        return until_reset;
    }
    let spacing = until_reset / u32::try_from(available).unwrap_or(u32::MAX);
    match state.last_sent {
        Some(t) => (t + spacing).saturating_duration_since(now),
        None => Duration::ZERO,
    }
}

/// Paces requests per bucket. Shared (behind an `Arc`) by every clone of a client.
#[derive(Debug)]
pub struct Governor {
    share: f64,
    buckets: Mutex<HashMap<&'static str, BucketState>>,
}

impl Governor {
    pub fn new(share: f64) -> Governor {
        Governor {
            share: share.clamp(0.01, 1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a request in `bucket` may go (at most `max_wait`), then counts it as in flight.
    pub async fn acquire(&self, bucket: &'static str, max_wait: Duration) {
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let Some(state) = buckets.get_mut(bucket) else {
                    return;
                };
                let wait = pace(state, self.share, now);
                // Past the cap, go anyway: a 429 then ends in an error instead of a silent stall.
                if wait.is_zero() || waited >= max_wait {
                    state.in_flight += 1;
                    state.last_sent = Some(now);
                    return;
                }
                wait.min(max_wait - waited)
            };
            tracing::debug!(
                bucket,
                wait_ms = wait.as_millis() as u64,
                "pacing under the rate limit"
            );
            crate::metrics::global().rate_limit_wait(bucket, wait);
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// Records what an answer said about `bucket` (or only that the request finished).
    pub fn observe(&self, bucket: &'static str, info: Option<RateInfo>, received: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let state = buckets.entry(bucket).or_insert_with(|| BucketState {
            limit: u32::MAX,
            remaining: u32::MAX,
            reset_at: received,
            in_flight: 1,
            last_sent: Some(received),
        });
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(info) = info {
            state.limit = info.limit;
            state.remaining = info.remaining;
            state.reset_at = received + info.reset_in;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_client_paces_by_the_shared_bucket_table() {
        assert_eq!(bucket("GET", "/api/v1/users"), "users");
        assert_eq!(
            bucket("POST", "/api/v1/users/00u1/lifecycle/suspend"),
            "api"
        );
        assert_eq!(bucket("POST", "/oauth2/v1/token"), "oauth2");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reset_is_measured_against_the_date_header_and_the_smallest_reset_wins() {
        let h = headers(&[
            ("date", "Sun, 29 Nov 2026 12:00:00 GMT"),
            ("x-rate-limit-limit", "600"),
            ("x-rate-limit-remaining", "42"),
            ("x-rate-limit-reset", "1795953650"), // 12:00:50
            ("x-rate-limit-reset", "1795953630"), // 12:00:30: the smaller one counts
        ]);
        let info = RateInfo::from_headers(&h).unwrap();
        assert_eq!(
            info,
            RateInfo {
                limit: 600,
                remaining: 42,
                reset_in: Duration::from_secs(30)
            }
        );
        assert_eq!(info.retry_after(), Duration::from_secs(31));
    }

    #[test]
    fn missing_headers_give_no_rate_info() {
        assert_eq!(
            RateInfo::from_headers(&headers(&[("x-rate-limit-limit", "10")])),
            None
        );
    }

    fn state(
        limit: u32,
        remaining: u32,
        reset_in_ms: u64,
        last_ms_ago: Option<u64>,
        now: Instant,
    ) -> BucketState {
        BucketState {
            limit,
            remaining,
            reset_at: now + Duration::from_millis(reset_in_ms),
            in_flight: 0,
            last_sent: last_ms_ago.map(|ms| now - Duration::from_millis(ms)),
        }
    }

    #[test]
    fn pacing_spreads_our_share_evenly_until_the_reset() {
        let now = Instant::now() + Duration::from_secs(100);
        let ms = |d: Duration| d.as_millis() as u64;
        // 600/min, half reserved: 300 left over 60 s → one request every 200 ms.
        assert_eq!(
            ms(pace(&state(600, 600, 60_000, Some(0), now), 0.5, now)),
            200
        );
        assert_eq!(
            ms(pace(&state(600, 600, 60_000, Some(150), now), 0.5, now)),
            50
        );
        assert_eq!(
            ms(pace(&state(600, 600, 60_000, Some(500), now), 0.5, now)),
            0
        );
        // Our share is used up: wait for the reset, whatever others left.
        assert_eq!(
            ms(pace(&state(600, 300, 20_000, Some(0), now), 0.5, now)),
            20_000
        );
        // The whole bucket may be used with share 1.
        assert_eq!(
            ms(pace(&state(600, 1, 20_000, Some(0), now), 1.0, now)),
            20_000
        );
        // Concurrency limit answers (Limit 0, Remaining 0) wait for the estimated reset.
        assert_eq!(ms(pace(&state(0, 0, 1_000, Some(0), now), 0.5, now)), 1_000);
        // After the reset a new window starts: no wait.
        assert_eq!(ms(pace(&state(600, 0, 0, Some(0), now), 0.5, now)), 0);
    }

    #[test]
    fn requests_in_flight_count_against_the_share() {
        let now = Instant::now() + Duration::from_secs(100);
        let mut s = state(10, 7, 5_000, None, now);
        s.in_flight = 2;
        // 7 remaining − 2 in flight − 5 reserved = 0 available.
        assert_eq!(pace(&s, 0.5, now), Duration::from_millis(5_000));
    }
}
