//! Opaque `after` cursors: a short tagged list of fields, scrambled and base64url-encoded so
//! clients cannot mistake them for ids and must follow the `next` link as given.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const KEY: &[u8] = b"okta-sim-cursor";

/// Encode a cursor of kind `tag` holding `fields` (which must not contain `|`).
pub fn encode(tag: &str, fields: &[&str]) -> String {
    let mut plain = String::from(tag);
    for f in fields {
        plain.push('|');
        plain.push_str(f);
    }
    let bytes: Vec<u8> = plain
        .bytes()
        .enumerate()
        .map(|(i, b)| b ^ KEY[i % KEY.len()])
        .collect();
    b64(&bytes)
}

/// Decode a cursor, checking its kind; `None` for anything that is not one of ours.
pub fn decode(tag: &str, cursor: &str) -> Option<Vec<String>> {
    let bytes = unb64(cursor)?;
    let plain: Vec<u8> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ KEY[i % KEY.len()])
        .collect();
    let plain = String::from_utf8(plain).ok()?;
    let mut parts = plain.split('|');
    if parts.next()? != tag {
        return None;
    }
    Some(parts.map(str::to_string).collect())
}

fn b64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    let vals: Option<Vec<u32>> = s
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
        .collect();
    let vals = vals?;
    if vals.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(vals.len() * 3 / 4);
    for chunk in vals.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | v << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_for_every_length() {
        let cases: [(&str, &[&str]); 4] = [
            ("u", &["00u1abcdefghijklmnop"]),
            ("s", &["n:1709287200000", "00uA"]),
            ("p", &["1709287200000", "12"]),
            ("x", &[]),
        ];
        for (tag, fields) in cases {
            let c = encode(tag, fields);
            let back = decode(tag, &c).unwrap();
            assert_eq!(
                back,
                fields.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn cursors_do_not_show_the_id_they_hold() {
        let c = encode("u", &["00u1abcdefghijklmnop"]);
        assert!(!c.contains("00u1abc"), "{c}");
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn foreign_or_damaged_cursors_are_refused() {
        let c = encode("u", &["00u1"]);
        assert!(decode("p", &c).is_none());
        assert!(decode("u", "!!!").is_none());
        assert!(decode("u", "A").is_none());
        assert!(decode("u", "00u1abcdefghijklmnop").is_none());
    }
}
