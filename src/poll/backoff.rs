//! How long a poller that keeps failing waits before its next run, with no I/O: the daemon
//! skips its scheduled runs until then, and `oktasync status` shows when that is. The wait is
//! the poller's own schedule interval, doubling with each failure in a row, up to a cap.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest wait between two tries of a poller scheduled more often than this.
pub const CAP: Duration = Duration::from_secs(15 * 60);

/// The wait, from the start of the run that failed, after `failures` failed runs in a row of a
/// poller scheduled every `interval` (none after none).
pub fn delay(failures: u64, interval: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(failures - 1).unwrap_or(u32::MAX).min(20);
    interval
        .saturating_mul(1 << doublings)
        .min(CAP.max(interval))
}

/// When the next run may start after `failures` failures in a row, the last starting at `last`.
pub fn retry_at(failures: u64, last: DateTime<Utc>, interval: Duration) -> Option<DateTime<Utc>> {
    let wait = chrono::Duration::from_std(delay(failures, interval)).unwrap_or_default();
    (failures > 0).then(|| last + wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_interval_doubling_with_each_failure_in_a_row_up_to_the_cap() {
        let thirty = Duration::from_secs(30);
        let day = Duration::from_secs(86_400);
        let cases = [
            (0, thirty, 0),
            (1, thirty, 30),
            (2, thirty, 60),
            (5, thirty, 480),
            (6, thirty, 900),
            (u64::MAX, thirty, 900),
            (1, day, 86_400),
            (3, day, 86_400),
        ];
        for (failures, interval, secs) in cases {
            let want = Duration::from_secs(secs);
            assert_eq!(delay(failures, interval), want, "{failures} x {interval:?}");
        }
        let last = DateTime::UNIX_EPOCH;
        assert_eq!(retry_at(0, last, thirty), None);
        assert_eq!(
            retry_at(2, last, thirty),
            Some(last + chrono::Duration::seconds(60))
        );
    }
}
