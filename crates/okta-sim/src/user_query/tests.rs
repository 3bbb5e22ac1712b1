use super::*;
use crate::logs::LogStore;
use crate::org_gen::{Plan, build};

fn org() -> Org {
    build(
        &Plan {
            users: 300,
            groups: 3,
            apps: 2,
            seed: 7,
            now: 1_709_287_200_000,
            density: crate::org_members::Density::default(),
        },
        &mut LogStore::new(7, 0),
    )
}

fn count(org: &Org, t: &Tree<Pred>) -> usize {
    org.users
        .values()
        .filter(|u| t.eval(&|p: &Pred| test(p, u, org)))
        .count()
}

#[test]
fn search_matches_strings_without_regard_to_case() {
    let org = org();
    let active = org
        .users
        .values()
        .filter(|u| u.status.as_str() == "ACTIVE")
        .count();
    assert_eq!(
        count(&org, &compile_search(r#"status eq "active""#).unwrap()),
        active
    );
    assert_eq!(
        count(
            &org,
            &compile_search(r#"profile.login eq "ADMIN@example.com""#).unwrap()
        ),
        1
    );
    assert_eq!(
        count(
            &org,
            &compile_filter(r#"profile.login eq "ADMIN@example.com""#).unwrap()
        ),
        0,
        "filter is case-sensitive"
    );
    assert_eq!(
        count(
            &org,
            &compile_filter(r#"profile.login eq "admin@example.com""#).unwrap()
        ),
        1
    );
}

#[test]
fn search_compares_timestamps_as_instants() {
    let org = org();
    let mid = 1_709_287_200_000 - 400 * 86_400_000;
    let want = org.users.values().filter(|u| u.last_updated > mid).count();
    let expr = format!(r#"lastUpdated gt "{}""#, crate::util::fmt_ms(mid));
    assert_eq!(count(&org, &compile_search(&expr).unwrap()), want);
    let none = org.users.values().filter(|u| u.activated.is_none()).count();
    assert_eq!(
        count(&org, &compile_search("activated pr").unwrap()),
        org.users.len() - none
    );
}

#[test]
fn search_handles_booleans_custom_attributes_and_grouping() {
    let org = org();
    let c = count(
        &org,
        &compile_search("profile.isContractor eq true").unwrap(),
    );
    assert!(c > 0 && c < org.users.len());
    let a = count(
        &org,
        &compile_search(
            r#"(status eq "STAGED" or status eq "SUSPENDED") and profile.department pr"#,
        )
        .unwrap(),
    );
    let b = org
        .users
        .values()
        .filter(|u| matches!(u.status.as_str(), "STAGED" | "SUSPENDED"))
        .count();
    assert_eq!(a, b);
}

#[test]
fn bad_search_and_filter_expressions_are_refused() {
    let bad_search = [
        r#"status ne "ACTIVE""#,
        r#"not (status eq "ACTIVE")"#,
        r#"lastUpdated gt "yesterday""#,
        r#"nosuch eq "x""#,
        "status eq",
    ];
    for e in bad_search {
        assert!(compile_search(e).is_err(), "{e}");
    }
    let bad_filter = [
        r#"profile.department eq "IT""#,
        r#"status sw "ACT""#,
        r#"created gt "2024-01-01T00:00:00.000Z""#,
    ];
    for e in bad_filter {
        assert!(compile_filter(e).is_err(), "{e}");
    }
    assert!(
        compile_filter(r#"lastUpdated ge "2024-01-01T00:00:00.000Z" and status eq "ACTIVE""#)
            .is_ok()
    );
}

#[test]
fn sorted_pages_visit_every_user_once_even_with_equal_keys() {
    let org = org();
    for desc in [false, true] {
        let sort = Sort {
            by: Field::LastUpdated,
            desc,
        };
        let mut cache = None;
        let search = crate::search_index::SearchIndex::new(7, 0);
        let view = search.view(&org);
        let idx = index(&mut cache, view, 0, &sort.by);
        let keep = |u: &User| u.status.as_str() != "STAGED";
        let mut seen = Vec::new();
        let mut after: Option<(Key<'static>, String)> = None;
        loop {
            let (page, more) = sorted_page(idx, view, &keep, desc, after.as_ref(), 7);
            seen.extend(page.iter().map(|u| u.id.clone()));
            let Some(last) = page.last() else { break };
            let c = encode_pos(&key_of(last, &org, &sort.by), &last.id);
            after = Some(decode_pos(&c).unwrap());
            if !more {
                break;
            }
        }
        let mut uniq = seen.clone();
        uniq.sort();
        uniq.dedup();
        let want = org
            .users
            .values()
            .filter(|u| u.status.as_str() != "STAGED")
            .count();
        assert_eq!(uniq.len(), want);
        assert_eq!(seen.len(), want);
        let keys: Vec<i64> = seen.iter().map(|id| org.users[id].last_updated).collect();
        let ordered = keys
            .windows(2)
            .all(|w| if desc { w[0] >= w[1] } else { w[0] <= w[1] });
        assert!(ordered, "pages follow the sort order");
    }
}

#[test]
fn positions_round_trip_through_cursors() {
    let cases = [
        Key::T(-5),
        Key::T(1_709_287_200_000),
        Key::S(Cow::Borrowed("O'Brien|x")),
    ];
    for k in cases {
        let (back, id) = decode_pos(&encode_pos(&k, "00uX")).unwrap();
        assert_eq!((back, id.as_str()), (k, "00uX"));
    }
    assert!(decode_pos("garbage").is_none());
}

#[test]
fn sort_parameters_are_validated() {
    assert!(parse_sort(Some("lastUpdated"), Some("desc")).unwrap().desc);
    assert!(!parse_sort(None, None).unwrap().desc);
    assert!(parse_sort(Some("bogus"), None).is_err());
    assert!(parse_sort(Some("id"), Some("sideways")).is_err());
}
