//! The process's Prometheus metrics: one registry of counters and gauges that the Okta client,
//! the rate-limit governor, the sync engine and (later) the event-hook receiver record into, and
//! its encoding in the Prometheus text format (version 0.0.4) for `/metrics`.
//!
//! Names follow Prometheus conventions: an `oktasync_` prefix, `_total` on counters, base units
//! (`_seconds`) in the name. Every label value comes from a bounded set: Okta's rate-limit buckets,
//! HTTP status codes, the three streams and the configured sinks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A float gauge (seconds, timestamps).
type SecondsGauge = Gauge<f64, std::sync::atomic::AtomicU64>;
/// A float counter (seconds waited).
type SecondsCounter = Counter<f64, std::sync::atomic::AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BucketStatus {
    bucket: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BucketLabel {
    bucket: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabel {
    stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamSink {
    stream: String,
    sink: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

/// Every metric oktasync exports, registered once.
pub struct Metrics {
    registry: Registry,
    okta_requests: Family<BucketStatus, Counter>,
    okta_rate_limited: Family<BucketLabel, Counter>,
    okta_retries: Family<BucketLabel, Counter>,
    rate_limit_remaining: Family<BucketLabel, Gauge>,
    rate_limit_limit: Family<BucketLabel, Gauge>,
    rate_limit_wait: Family<BucketLabel, SecondsCounter>,
    records_emitted: Family<StreamSink, Counter>,
    pages_committed: Family<StreamLabel, Counter>,
    cursor_lag: Family<StreamLabel, SecondsGauge>,
    last_success: Family<StreamLabel, SecondsGauge>,
    run_failures: Family<StreamLabel, Counter>,
    hook_deliveries: Family<ResultLabel, Counter>,
    /// When each stream was last caught up; `cursor_lag` is computed from it at each scrape.
    caught_up: Mutex<BTreeMap<String, DateTime<Utc>>>,
    /// Milliseconds spent pacing under rate limits, over every bucket (for progress lines).
    paced_ms: AtomicU64,
    /// 429 answers, over every bucket (for progress lines).
    limited: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The metrics of this process.
pub fn global() -> &'static Metrics {
    static GLOBAL: OnceLock<Metrics> = OnceLock::new();
    GLOBAL.get_or_init(Metrics::new)
}

impl Metrics {
    /// A registry with every metric registered and the hook-delivery results at zero.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("oktasync"),
            okta_requests: Family::default(),
            okta_rate_limited: Family::default(),
            okta_retries: Family::default(),
            rate_limit_remaining: Family::default(),
            rate_limit_limit: Family::default(),
            rate_limit_wait: Family::default(),
            records_emitted: Family::default(),
            pages_committed: Family::default(),
            cursor_lag: Family::default(),
            last_success: Family::default(),
            run_failures: Family::default(),
            hook_deliveries: Family::default(),
            caught_up: Mutex::new(BTreeMap::new()),
            paced_ms: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        };
        m.register();
        for result in ["accepted", "refused"] {
            drop(m.hook_deliveries.get_or_create(&ResultLabel {
                result: result.into(),
            }));
        }
        m
    }

    fn register(&mut self) {
        let info = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        let r = &mut self.registry;
        r.register("build", "The oktasync version, as a label; always 1", info);
        self.register_okta();
        self.register_streams();
        self.registry.register(
            "hook_deliveries",
            "Okta event hook deliveries, by result (accepted or refused)",
            self.hook_deliveries.clone(),
        );
    }

    /// What the client and the governor record, by rate-limit bucket.
    fn register_okta(&mut self) {
        let r = &mut self.registry;
        let requests = "HTTP requests sent to Okta, by rate-limit bucket and HTTP status";
        r.register("okta_requests", requests, self.okta_requests.clone());
        let limited = "Okta answers that were HTTP 429 (E0000047)";
        r.register("okta_rate_limited", limited, self.okta_rate_limited.clone());
        let retries = "Requests sent again after a 429, a 5xx or a network error";
        r.register("okta_retries", retries, self.okta_retries.clone());
        let remaining = "X-Rate-Limit-Remaining in the bucket's last answer";
        r.register(
            "okta_rate_limit_remaining",
            remaining,
            self.rate_limit_remaining.clone(),
        );
        let limit = "X-Rate-Limit-Limit in the bucket's last answer";
        r.register(
            "okta_rate_limit_limit",
            limit,
            self.rate_limit_limit.clone(),
        );
        let wait = "Time spent pacing requests to stay within this process's share of a bucket";
        let wait_family = self.rate_limit_wait.clone();
        r.register_with_unit("okta_rate_limit_wait", wait, Unit::Seconds, wait_family);
    }

    /// What the sync engine records, by stream.
    fn register_streams(&mut self) {
        let r = &mut self.registry;
        let emitted = "Records delivered to a sink and committed with their cursor";
        r.register("records_emitted", emitted, self.records_emitted.clone());
        let pages = "Pages whose records and cursor were committed";
        r.register("pages_committed", pages, self.pages_committed.clone());
        let lag = "Seconds since the stream was last caught up (its last successful run ended)";
        r.register_with_unit("cursor_lag", lag, Unit::Seconds, self.cursor_lag.clone());
        let last = "When the stream's last successful run ended, in Unix seconds";
        let last_family = self.last_success.clone();
        r.register_with_unit("last_success_timestamp", last, Unit::Seconds, last_family);
        let failures = "Poller runs that ended in an error";
        r.register("run_failures", failures, self.run_failures.clone());
    }

    /// Creates the per-stream and per-sink series at zero, so they are exported before the first
    /// run ends (a counter that appears late hides its first increase from `rate()`).
    pub fn init_streams(&self, streams: &[&str], sinks: &[String]) {
        for stream in streams {
            let label = stream_label(stream);
            drop(self.pages_committed.get_or_create(&label));
            drop(self.run_failures.get_or_create(&label));
            for sink in sinks {
                drop(self.records_emitted.get_or_create(&StreamSink {
                    stream: (*stream).into(),
                    sink: sink.clone(),
                }));
            }
        }
    }

    /// One answer from Okta (`status` `None`: no answer) and the rate-limit headers it carried.
    pub fn okta_response(
        &self,
        bucket: &str,
        status: Option<u16>,
        limit_remaining: Option<(u32, u32)>,
    ) {
        let status_text = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.okta_requests
            .get_or_create(&BucketStatus {
                bucket: bucket.into(),
                status: status_text,
            })
            .inc();
        let label = BucketLabel {
            bucket: bucket.into(),
        };
        // The bucket's other series start at zero with its first answer.
        drop(self.okta_rate_limited.get_or_create(&label));
        drop(self.okta_retries.get_or_create(&label));
        drop(self.rate_limit_wait.get_or_create(&label));
        if status == Some(429) {
            self.okta_rate_limited.get_or_create(&label).inc();
            self.limited.fetch_add(1, Ordering::Relaxed);
        }
        if let Some((limit, remaining)) = limit_remaining {
            self.rate_limit_limit
                .get_or_create(&label)
                .set(i64::from(limit));
            self.rate_limit_remaining
                .get_or_create(&label)
                .set(i64::from(remaining));
        }
    }

    /// A request about to be sent again.
    pub fn okta_retry(&self, bucket: &str) {
        self.okta_retries
            .get_or_create(&BucketLabel {
                bucket: bucket.into(),
            })
            .inc();
    }

    /// Time spent waiting for a rate-limit bucket before sending.
    pub fn rate_limit_wait(&self, bucket: &str, wait: Duration) {
        self.rate_limit_wait
            .get_or_create(&BucketLabel {
                bucket: bucket.into(),
            })
            .inc_by(wait.as_secs_f64());
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.paced_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Time spent pacing under rate limits and 429 answers met, over every bucket.
    pub fn rate_limit_waits(&self) -> (Duration, u64) {
        let paced = Duration::from_millis(self.paced_ms.load(Ordering::Relaxed));
        (paced, self.limited.load(Ordering::Relaxed))
    }

    /// A page committed: `records` records went to each of `sinks`.
    pub fn page_committed(&self, stream: &str, sinks: &[String], records: u64) {
        self.pages_committed
            .get_or_create(&stream_label(stream))
            .inc();
        for sink in sinks {
            self.records_emitted
                .get_or_create(&StreamSink {
                    stream: stream.into(),
                    sink: sink.clone(),
                })
                .inc_by(records);
        }
    }

    /// A run ended in an error.
    pub fn run_failed(&self, stream: &str) {
        self.run_failures.get_or_create(&stream_label(stream)).inc();
    }

    /// The stream was caught up at `at` (a successful run ended, now or before a restart).
    pub fn caught_up(&self, stream: &str, at: DateTime<Utc>) {
        let secs = at.timestamp_millis() as f64 / 1000.0;
        self.last_success
            .get_or_create(&stream_label(stream))
            .set(secs);
        let mut caught_up = self.caught_up.lock().unwrap_or_else(|p| p.into_inner());
        caught_up.insert(stream.to_owned(), at);
    }

    /// An event hook delivery, accepted or refused.
    pub fn hook_delivery(&self, accepted: bool) {
        let result = if accepted { "accepted" } else { "refused" };
        self.hook_deliveries
            .get_or_create(&ResultLabel {
                result: result.into(),
            })
            .inc();
    }

    /// Every metric in the Prometheus text format, the cursor lags computed as of `now`.
    pub fn encode(&self, now: DateTime<Utc>) -> String {
        let caught_up = self
            .caught_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (stream, at) in caught_up {
            let lag = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
            self.cursor_lag
                .get_or_create(&stream_label(&stream))
                .set(lag);
        }
        let mut out = String::new();
        // Writing into a String cannot fail; an error here would be a bug in the encoder.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

fn stream_label(stream: &str) -> StreamLabel {
    StreamLabel {
        stream: stream.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the series `name{labels…}` (labels may be a subset), read with a Prometheus
    /// text-format parser.
    fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        scrape.samples.into_iter().find_map(|s| {
            let matches =
                s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v));
            match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v)
                    if matches =>
                {
                    Some(v)
                }
                _ => None,
            }
        })
    }

    #[test]
    fn names_follow_prometheus_conventions_and_counters_end_in_total() {
        let m = Metrics::new();
        m.init_streams(&["system_log"], &["stdout".into()]);
        m.okta_response("logs", Some(200), Some((600, 599)));
        m.caught_up("system_log", Utc::now());
        let text = m.encode(Utc::now());
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let parts: Vec<&str> = line.split(' ').collect();
            let (name, kind) = (parts[2], parts[3]);
            assert!(name.starts_with("oktasync_"), "{line}");
            assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
        }
        assert!(
            text.contains("# TYPE oktasync_cursor_lag_seconds gauge"),
            "{text}"
        );
        assert!(text.contains("oktasync_build_info{version="), "{text}");
    }

    #[test]
    fn okta_answers_count_by_bucket_and_status_and_429s_separately() {
        let m = Metrics::new();
        m.okta_response("users", Some(200), Some((600, 550)));
        m.okta_response("users", Some(429), Some((600, 0)));
        m.okta_response("users", None, None);
        m.okta_retry("users");
        let text = m.encode(Utc::now());
        let req = |status| {
            value(
                &text,
                "oktasync_okta_requests_total",
                &[("bucket", "users"), ("status", status)],
            )
        };
        assert_eq!(
            (req("200"), req("429"), req("error")),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(
            value(
                &text,
                "oktasync_okta_rate_limited_total",
                &[("bucket", "users")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&text, "oktasync_okta_retries_total", &[("bucket", "users")]),
            Some(1.0)
        );
        // The last answer with headers counts: the 429's, not the error's.
        assert_eq!(
            value(
                &text,
                "oktasync_okta_rate_limit_remaining",
                &[("bucket", "users")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &text,
                "oktasync_okta_rate_limit_limit",
                &[("bucket", "users")]
            ),
            Some(600.0)
        );
    }

    #[test]
    fn cursor_lag_is_the_time_since_the_stream_was_last_caught_up() {
        let m = Metrics::new();
        let at = Utc::now() - chrono::Duration::seconds(90);
        m.caught_up("new_users", at);
        let text = m.encode(at + chrono::Duration::seconds(90));
        assert_eq!(
            value(
                &text,
                "oktasync_cursor_lag_seconds",
                &[("stream", "new_users")]
            ),
            Some(90.0)
        );
        let ts = value(
            &text,
            "oktasync_last_success_timestamp_seconds",
            &[("stream", "new_users")],
        );
        assert_eq!(ts, Some(at.timestamp_millis() as f64 / 1000.0));
    }

    #[test]
    fn stream_series_and_hook_results_exist_at_zero_before_anything_happens() {
        let m = Metrics::new();
        m.init_streams(&["new_users"], &["stdout".into(), "file:/x.ndjson".into()]);
        let text = m.encode(Utc::now());
        for (name, labels) in [
            (
                "oktasync_pages_committed_total",
                vec![("stream", "new_users")],
            ),
            ("oktasync_run_failures_total", vec![("stream", "new_users")]),
            (
                "oktasync_records_emitted_total",
                vec![("stream", "new_users"), ("sink", "file:/x.ndjson")],
            ),
            (
                "oktasync_hook_deliveries_total",
                vec![("result", "accepted")],
            ),
            (
                "oktasync_hook_deliveries_total",
                vec![("result", "refused")],
            ),
        ] {
            assert_eq!(
                value(&text, name, &labels),
                Some(0.0),
                "{name} {labels:?}\n{text}"
            );
        }
        m.page_committed("new_users", &["stdout".into()], 7);
        m.hook_delivery(false);
        let text = m.encode(Utc::now());
        assert_eq!(
            value(
                &text,
                "oktasync_records_emitted_total",
                &[("sink", "stdout")]
            ),
            Some(7.0)
        );
        assert_eq!(
            value(
                &text,
                "oktasync_hook_deliveries_total",
                &[("result", "refused")]
            ),
            Some(1.0)
        );
    }
}
