//! The registration's checks and plan, table by table.

use serde_json::{Value, json};

use super::*;

fn wanted() -> Wanted {
    Wanted {
        name: "oktasync".into(),
        url: "https://hooks.example.com/okta/event-hook".into(),
        events: vec![
            "user.lifecycle.create".into(),
            "user.lifecycle.deactivate".into(),
        ],
        filter: None,
        headers: vec![("X-Source".into(), "okta".into())],
        secret_header: "Authorization".into(),
    }
}

fn hook(id: &str, name: &str, uri: &str) -> Value {
    json!({
        "id": id, "name": name, "status": "ACTIVE", "verificationStatus": "VERIFIED",
        "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.deactivate", "user.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {
            "uri": uri, "headers": [{"key": "X-Source", "value": "okta"}],
            "authScheme": {"type": "HEADER", "key": "Authorization"}}}
    })
}

#[test]
fn requests_okta_would_refuse_are_refused_first_with_what_to_change() {
    let filter = |f: Value| Wanted {
        filter: Some(f),
        ..wanted()
    };
    let cases: Vec<(Wanted, &str)> = vec![
        (
            Wanted {
                url: "http://hooks.example.com/h".into(),
                ..wanted()
            },
            "only to https://",
        ),
        (
            Wanted {
                url: "hooks.example.com/h".into(),
                ..wanted()
            },
            "is not a URL",
        ),
        (
            Wanted {
                events: vec![],
                ..wanted()
            },
            "at least one event type",
        ),
        (
            Wanted {
                events: vec!["policy.evaluate_sign_on".into()],
                ..wanted()
            },
            "\"policy.evaluate_sign_on\": Okta does not deliver",
        ),
        (filter(json!({"type": "SCIM"})), "EXPRESSION_LANGUAGE"),
        (
            filter(json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": []})),
            "non-empty",
        ),
        (
            filter(json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [
                {"event": "group.user_membership.add", "condition": {"expression": "true"}}]})),
            "not one of the --event types",
        ),
        (
            filter(json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [
                {"event": "user.lifecycle.create", "condition": {}}]})),
            "condition.expression is missing",
        ),
        (
            Wanted {
                headers: vec![("authorization".into(), "x".into())],
                ..wanted()
            },
            "carries the generated shared secret",
        ),
    ];
    for (w, expected) in cases {
        let err = check(&w, false).unwrap_err();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn good_requests_pass_including_loopback_http_and_a_filter() {
    check(&wanted(), false).unwrap();
    let local = Wanted {
        url: "http://127.0.0.1:8088/hook".into(),
        filter: Some(json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [
            {"event": "user.lifecycle.create",
             "condition": {"expression": "event.target.?[type eq 'User'].size()>0"}}]})),
        ..wanted()
    };
    check(&local, false).unwrap();
    let unlisted = Wanted {
        events: vec!["user.something.new".into()],
        ..wanted()
    };
    assert!(check(&unlisted, false).is_err());
    check(&unlisted, true).unwrap();
}

#[test]
fn the_plan_creates_replaces_or_keeps_by_name_then_by_url() {
    let w = wanted();
    let same = hook("who1", "oktasync", &w.url);
    let other_url = hook("who2", "oktasync", "https://old.example.com/h");
    let by_url = hook("who3", "legacy", &w.url);
    let unrelated = hook("who4", "siem", "https://siem.example.com/");
    let cases = [
        (vec![unrelated.clone()], None, Plan::Create),
        (
            vec![unrelated.clone(), same.clone()],
            Some("who1"),
            Plan::Keep("who1".into()),
        ),
        (vec![same.clone()], None, Plan::Replace("who1".into())),
        (
            vec![same.clone()],
            Some("who9"),
            Plan::Replace("who1".into()),
        ),
        (vec![other_url], Some("who2"), Plan::Replace("who2".into())),
        (
            vec![by_url.clone()],
            Some("who3"),
            Plan::Replace("who3".into()),
        ),
        (
            vec![by_url, same.clone()],
            Some("who1"),
            Plan::Keep("who1".into()),
        ),
    ];
    for (hooks, ours, expected) in cases {
        assert_eq!(plan(&hooks, &w, ours), expected, "{ours:?}");
    }
    let mut changed = same.clone();
    changed["events"]["items"] = json!(["user.lifecycle.create"]);
    assert_eq!(
        plan(&[changed], &w, Some("who1")),
        Plan::Replace("who1".into())
    );
    let mut filtered = same;
    filtered["events"]["filter"] = json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": []});
    assert_eq!(
        plan(&[filtered], &w, Some("who1")),
        Plan::Replace("who1".into())
    );
}
