//! The flags of `oktasync sim` that make the org behave like a busy Okta: per-bucket rate
//! limits, the concurrency limit, injected faults, System Log and search-index lag, and
//! asynchronous lifecycle changes; validated into the simulator's configuration.

use std::time::Duration;

use okta_sim::{self as sim, SimConfig};

/// How the simulated org behaves.
#[derive(Debug, clap::Args)]
pub struct Behaviour {
    /// Enforce Okta's per-bucket rate limits: a developer org's published per-minute limits
    /// times this factor, e.g. `--rate-limit 1` (users 100/min, logs 20/min …) or
    /// `--rate-limit 0.1` (a tenth). Without it (and without `--rate-limit-bucket`) every
    /// bucket is effectively unlimited.
    #[arg(long)]
    pub rate_limit: Option<f64>,
    /// Limit one bucket, e.g. `--rate-limit-bucket logs=5` (repeatable; buckets: users,
    /// users/{id}:get, users/{id}:write, logs, groups, groups/{id}, apps, apps/{id}, oauth2, api).
    #[arg(long, value_parser = parse_bucket_limit)]
    pub rate_limit_bucket: Vec<(sim::Bucket, u32)>,
    /// Length of a rate-limit window in seconds, e.g. `--rate-window-secs 60`.
    #[arg(long, default_value_t = 60)]
    pub rate_window_secs: u64,
    /// Requests allowed in flight at once, e.g. `--concurrency-limit 75` (with a rate limit
    /// asked for: 35, a developer org's).
    #[arg(long)]
    pub concurrency_limit: Option<u32>,
    /// Share of API requests that fail (500/502/503, slow, truncated, dropped), e.g. `--fail-rate 0.05`.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Maximum seconds before a System Log event becomes visible, e.g. `--log-lag-seconds 5`.
    #[arg(long, default_value_t = 0)]
    pub log_lag_seconds: u64,
    /// Maximum seconds before a write to a user shows in users `search` and `filter` (each
    /// write waits a random time up to this, as Okta's eventually consistent index does),
    /// e.g. `--search-lag-seconds 3`. Plain listings and GET by id are immediate.
    #[arg(long, default_value_t = 0.0)]
    pub search_lag_seconds: f64,
    /// Seconds Okta's asynchronous lifecycle changes take (activation; deactivation with
    /// `Prefer: respond-async`), showing `transitioningToStatus` meanwhile, e.g.
    /// `--transition-seconds 2` (0: done before the answer).
    #[arg(long, default_value_t = 0.0)]
    pub transition_seconds: f64,
}

impl Behaviour {
    /// `config` with these behaviours, or an error naming the flag that is wrong.
    pub fn apply(&self, config: SimConfig) -> anyhow::Result<SimConfig> {
        if !(0.0..=1.0).contains(&self.fail_rate) {
            anyhow::bail!(
                "--fail-rate must be between 0 and 1, got {}",
                self.fail_rate
            );
        }
        for (flag, v) in [
            ("--search-lag-seconds", self.search_lag_seconds),
            ("--transition-seconds", self.transition_seconds),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                anyhow::bail!("{flag} must be 0 or more seconds, got {v}");
            }
        }
        if self.rate_window_secs == 0 {
            anyhow::bail!("--rate-window-secs must be at least 1");
        }
        Ok(SimConfig {
            rate_limit: None,
            rate_limits: self.rate_limits()?,
            rate_window: Duration::from_secs(self.rate_window_secs),
            concurrency_limit: self.concurrency_limit,
            fail_rate: self.fail_rate,
            log_lag_seconds: self.log_lag_seconds,
            search_lag: Duration::from_secs_f64(self.search_lag_seconds),
            transition: Duration::from_secs_f64(self.transition_seconds),
            ..config
        })
    }

    /// The per-bucket limits asked for, if any.
    fn rate_limits(&self) -> anyhow::Result<Option<sim::RateLimits>> {
        if let Some(m) = self.rate_limit
            && !(m.is_finite() && m > 0.0)
        {
            anyhow::bail!("--rate-limit must be a factor above 0, e.g. 1 or 0.1, got {m}");
        }
        if self.rate_limit.is_none() && self.rate_limit_bucket.is_empty() {
            return Ok(None);
        }
        Ok(Some(sim::RateLimits {
            multiplier: self.rate_limit.unwrap_or(1.0),
            overrides: self.rate_limit_bucket.clone(),
        }))
    }
}

/// `NAME=N` for `--rate-limit-bucket`.
fn parse_bucket_limit(s: &str) -> Result<(sim::Bucket, u32), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected BUCKET=N, e.g. logs=5, got {s:?}"))?;
    let bucket = sim::Bucket::from_name(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = sim::Bucket::ALL.iter().map(|b| b.name()).collect();
        format!("unknown bucket {name:?}; one of {}", names.join(", "))
    })?;
    let n = n
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("expected a whole number of requests after '=', got {n:?}"))?;
    Ok((bucket, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_limits_parse_by_name_and_bad_ones_say_what_to_write() {
        assert_eq!(parse_bucket_limit("logs=5"), Ok((sim::Bucket::Logs, 5)));
        assert_eq!(
            parse_bucket_limit(" users/{id}:get = 7 "),
            Ok((sim::Bucket::UserGet, 7))
        );
        assert!(parse_bucket_limit("logs").unwrap_err().contains("BUCKET=N"));
        assert!(
            parse_bucket_limit("log=5")
                .unwrap_err()
                .contains("one of users")
        );
        assert!(
            parse_bucket_limit("logs=-1")
                .unwrap_err()
                .contains("whole number")
        );
    }
}
