//! Small deterministic building blocks shared by the simulator: a seedable pseudo-random
//! generator, Okta-style ids, and the millisecond timestamp format Okta uses on the wire.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// SplitMix64: tiny, fast and stable across platforms and crate versions, so the same seed
/// always yields the same org.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A stateless hash of two numbers, for values derived from (seed, index) on demand.
pub fn mix2(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b.wrapping_add(0x632B_E59B_D9B4_E019)))
}

pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 20-character Okta-style id: the 3-character prefix (`00u`, `00g`, `0oa`, …) followed by
/// base62 characters.
pub fn okta_id(prefix: &str, rng: &mut Rng) -> String {
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    while id.len() < 20 {
        id.push(BASE62[rng.below(62) as usize] as char);
    }
    id
}

/// Lower-case hex of `n` bytes drawn from the generator (request ids, session ids).
pub fn hex_id(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        s.push_str(&format!("{:02x}", rng.below(256)));
    }
    s
}

/// A version-1-looking UUID derived from a number, so events need not store it.
pub fn uuid_from(n: u64, salt: u64) -> String {
    let a = mix2(n, salt);
    let b = mix2(a, n);
    format!(
        "{:08x}-{:04x}-11ef-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        0x8000 | ((b >> 48) as u16 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Epoch milliseconds as Okta prints them: `2024-03-01T10:00:00.000Z`.
pub fn fmt_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parse an ISO 8601 timestamp (with or without fraction, `Z` or offset) to epoch ms.
/// A bare date (`2024-03-01`) is taken as midnight UTC.
pub fn parse_ms(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc().timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// The current wall-clock time in epoch milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_with_exactly_three_millisecond_digits() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_709_287_200_000, "2024-03-01T10:00:00.000Z"),
            (1_709_287_200_007, "2024-03-01T10:00:00.007Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(fmt_ms(ms), want);
        }
    }

    #[test]
    fn timestamps_parse_in_the_forms_clients_send() {
        let cases = [
            ("2024-03-01T10:00:00.000Z", Some(1_709_287_200_000)),
            ("2024-03-01T10:00:00Z", Some(1_709_287_200_000)),
            ("2024-03-01T11:00:00+01:00", Some(1_709_287_200_000)),
            ("2024-03-01T10:00:00.5", Some(1_709_287_200_500)),
            ("2024-03-01", Some(1_709_251_200_000)),
            ("yesterday", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_ms(s), want, "{s}");
        }
    }

    #[test]
    fn ids_are_twenty_base62_characters_with_their_prefix() {
        let mut rng = Rng::new(7);
        let id = okta_id("00u", &mut rng);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(okta_id("00u", &mut Rng::new(7)), id, "same seed, same id");
    }

    #[test]
    fn uuids_have_the_canonical_shape() {
        let u = uuid_from(42, 7);
        let parts: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert_ne!(uuid_from(43, 7), u);
    }
}
