//! RFC 8288 `Link` header parsing: finds the `rel="next"` URL exactly as Okta sent it, whether
//! each link came on its own header line or several were joined with commas.

/// The target of the first link whose `rel` includes `rel`, across all given header values.
pub fn find_rel<'a>(values: impl IntoIterator<Item = &'a str>, rel: &str) -> Option<&'a str> {
    values
        .into_iter()
        .flat_map(links)
        .find(|(_, rels)| {
            rels.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case(rel))
        })
        .map(|(target, _)| target)
}

/// Splits one header value into `(target, rel)` pairs. The target is taken between `<` and `>`,
/// so commas inside a URL do not split it.
fn links(value: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start + 1..].find('>') else {
            break;
        };
        let target = rest[start + 1..start + 1 + len].trim();
        let after = &rest[start + 2 + len..];
        let params_end = next_link_start(after);
        out.push((target, rel_param(&after[..params_end]).unwrap_or("")));
        rest = &after[params_end..];
    }
    out
}

/// Where the next `<…>` link begins: the first `,` outside quotes that is followed by `<`.
fn next_link_start(params: &str) -> usize {
    let mut quoted = false;
    for (i, c) in params.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted && params[i + 1..].trim_start().starts_with('<') => return i,
            _ => {}
        }
    }
    params.len()
}

/// The value of the `rel` parameter in `; rel="next"; title=…`, unquoted.
fn rel_param(params: &str) -> Option<&str> {
    params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("rel")
            .then(|| value.trim().trim_matches('"').trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELF_URL: &str = "https://acme.okta.com/api/v1/users?limit=200";
    const NEXT_URL: &str = "https://acme.okta.com/api/v1/users?after=00u1&limit=200";

    #[test]
    fn next_link_is_found_in_every_header_shape_okta_and_proxies_send() {
        let cases: &[(&[&str], Option<&str>)] = &[
            // One header line per link, as Okta sends them.
            (
                &[
                    r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self""#,
                    r#"<https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel="next""#,
                ],
                Some(NEXT_URL),
            ),
            // Joined by a proxy into one value.
            (
                &[
                    r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel="next""#,
                ],
                Some(NEXT_URL),
            ),
            // Next first, no space after the comma, unquoted and upper-case rel.
            (
                &[
                    r#"<https://acme.okta.com/api/v1/users?after=00u1&limit=200>;rel=NEXT,<https://acme.okta.com/api/v1/users?limit=200>;rel=self"#,
                ],
                Some(NEXT_URL),
            ),
            // Several relation types in one rel, extra parameters.
            (
                &[
                    r#"<https://acme.okta.com/api/v1/users?after=00u1&limit=200>; title="page, two"; rel="next last""#,
                ],
                Some(NEXT_URL),
            ),
            // Last page: only self.
            (
                &[r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self""#],
                None,
            ),
            // No header at all.
            (&[], None),
            // Garbage does not panic.
            (&["<unterminated; rel=\"next\"", "rel=next", ""], None),
        ];
        for (values, want) in cases {
            assert_eq!(
                find_rel(values.iter().copied(), "next"),
                *want,
                "{values:?}"
            );
        }
        assert_eq!(find_rel([cases[1].0[0]], "self"), Some(SELF_URL));
    }

    #[test]
    fn commas_and_encoded_characters_inside_a_url_are_kept_exactly() {
        let next = "https://acme.okta.com/api/v1/logs?after=1627500044869_1&filter=eventType%20eq%20%22a%2Cb%22&x=1,2";
        let header = format!(
            r#"<https://acme.okta.com/api/v1/logs?since=x>; rel="self", <{next}>; rel="next""#
        );
        assert_eq!(find_rel([header.as_str()], "next"), Some(next));
    }
}
