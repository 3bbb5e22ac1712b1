//! How long a poller that keeps failing waits before its next run, with no I/O: the daemon
//! skips its scheduled runs until then, and `oktasync status` shows when that is.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The wait after the first failure; it doubles with each failure in a row...
pub const FIRST: Duration = Duration::from_secs(15);
/// ...up to this.
pub const CAP: Duration = Duration::from_secs(15 * 60);

/// The wait after `failures` failed runs in a row (none after none).
pub fn delay(failures: u64) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(failures - 1).unwrap_or(u32::MAX).min(16);
    FIRST.saturating_mul(1 << doublings).min(CAP)
}

/// When the next run may start after `failures` failures in a row, the last ending at `last`.
pub fn retry_at(failures: u64, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (failures > 0).then(|| last + chrono::Duration::from_std(delay(failures)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_with_each_failure_in_a_row_up_to_the_cap() {
        let cases = [
            (0, 0),
            (1, 15),
            (2, 30),
            (3, 60),
            (6, 480),
            (7, 900),
            (50, 900),
            (u64::MAX, 900),
        ];
        for (failures, secs) in cases {
            assert_eq!(delay(failures), Duration::from_secs(secs), "{failures}");
        }
        let last = DateTime::UNIX_EPOCH;
        assert_eq!(retry_at(0, last), None);
        assert_eq!(
            retry_at(2, last),
            Some(last + chrono::Duration::seconds(30))
        );
    }
}
