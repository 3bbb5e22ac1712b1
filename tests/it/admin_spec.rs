//! Conformance with Okta's official management OpenAPI spec. The in-repo operation table is
//! checked against the spec file, and so is every request a tour of all admin operations sends
//! to the simulator (method, path template, query names and types, required body fields). The
//! spec is read from `$OKTASYNC_SHARED_DIR/okta-management-openapi-v3.yaml`; without it these
//! tests print a note and pass, except in CI, where they fail.

use oktasync::okta::api::ops::{self, BodyRule, OPERATIONS, ParamType};
use oktasync::okta::api::*;
use serde_json::{Value, json};

use super::admin_support::{Org, Sent, new_active_user, org};

fn spec() -> Option<&'static Value> {
    super::spec_file::management()
}

/// Follows `$ref` links.
fn resolve<'a>(spec: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        v = spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}"));
    }
    v
}

/// The schema's `required` names, `allOf` parts included.
fn required(spec: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(spec, schema);
    let mut names: Vec<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(required(spec, part));
    }
    names
}

/// The schema of property `name`, `allOf` parts included.
fn property<'a>(spec: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    let schema = resolve(spec, schema);
    if let Some(p) = schema["properties"].get(name) {
        return Some(resolve(spec, p));
    }
    schema["allOf"]
        .as_array()?
        .iter()
        .find_map(|part| property(spec, part, name))
}

/// Query parameters of an operation: name → schema.
fn query_params<'a>(spec: &'a Value, item: &'a Value, op: &'a Value) -> Vec<(String, &'a Value)> {
    let all = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(op["parameters"].as_array().into_iter().flatten());
    all.map(|p| resolve(spec, p))
        .filter(|p| p["in"] == "query")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                resolve(spec, &p["schema"]),
            )
        })
        .collect()
}

/// A query parameter's type as the spec declares it.
#[derive(Debug, PartialEq)]
enum Kind {
    Str,
    Int,
    Bool,
    Enum(Vec<String>),
}

fn kind_of(schema: &Value) -> Kind {
    if let Some(values) = schema["enum"].as_array() {
        let mut values: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        values.sort();
        return Kind::Enum(values);
    }
    match schema["type"].as_str() {
        Some("integer") => Kind::Int,
        Some("boolean") => Kind::Bool,
        _ => Kind::Str,
    }
}

fn table_kind(kind: ParamType) -> Kind {
    match kind {
        ParamType::String => Kind::Str,
        ParamType::Integer => Kind::Int,
        ParamType::Boolean => Kind::Bool,
        ParamType::Enum(values) => {
            let mut values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            values.sort();
            Kind::Enum(values)
        }
    }
}

fn value_fits(kind: &Kind, value: &str) -> bool {
    match kind {
        Kind::Int => value.parse::<i64>().is_ok(),
        Kind::Bool => value == "true" || value == "false",
        Kind::Enum(values) => values.iter().any(|v| v == value),
        Kind::Str => true,
    }
}

fn request_schema<'a>(spec: &'a Value, op: &'a Value) -> Option<&'a Value> {
    let body = resolve(spec, op.get("requestBody")?);
    Some(resolve(
        spec,
        &body["content"]["application/json"]["schema"],
    ))
}

#[test]
fn the_operation_table_matches_the_official_spec() {
    let Some(spec) = spec() else { return };
    for op in OPERATIONS {
        let item = &spec["paths"][op.path];
        let spec_op = &item[op.method.to_lowercase()];
        assert_eq!(spec_op["operationId"], op.id, "{} {}", op.method, op.path);
        let params = query_params(spec, item, spec_op);
        let mut names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        let mut ours: Vec<&str> = op.query.iter().map(|(n, _)| *n).collect();
        names.sort();
        ours.sort();
        assert_eq!(ours, names, "{}: query parameters", op.id);
        for (name, schema) in &params {
            let want = kind_of(schema);
            assert_eq!(
                table_kind(op.param(name).unwrap()),
                want,
                "{}: {name}",
                op.id
            );
        }
        match (op.body, request_schema(spec, spec_op)) {
            (BodyRule::None, None) => {}
            (BodyRule::Required(fields), Some(schema)) => {
                for top in required(spec, schema) {
                    assert!(
                        fields.contains(&top.as_str()),
                        "{}: the spec requires {top}",
                        op.id
                    );
                }
                for field in fields {
                    assert_required(spec, schema, field, op.id);
                }
            }
            (rule, schema) => panic!("{}: table says {rule:?}, spec body {schema:?}", op.id),
        }
    }
}

/// Each step of a dotted field is required by the schema it is in.
fn assert_required(spec: &Value, schema: &Value, dotted: &str, op: &str) {
    let mut at = schema;
    for key in dotted.split('.') {
        assert!(
            required(spec, at).iter().any(|r| r == key),
            "{op}: {dotted} is not required by the spec"
        );
        at = property(spec, at, key).unwrap_or_else(|| panic!("{op}: no property {key}"));
    }
}

/// Checks one recorded request against the spec itself (not the table).
fn assert_matches_spec(spec: &Value, sent: &Sent) {
    let method = sent.method.to_lowercase();
    let paths = spec["paths"].as_object().unwrap();
    let mut candidates: Vec<(&String, &Value)> = paths
        .iter()
        .filter(|(t, item)| item.get(&method).is_some() && ops::path_matches(t, &sent.path))
        .collect();
    candidates.sort_by_key(|(t, _)| t.matches('{').count());
    let (template, item) = *candidates
        .first()
        .unwrap_or_else(|| panic!("{} {} is not in the spec", sent.method, sent.path));
    let op = &item[&method];
    let params = query_params(spec, item, op);
    for (k, v) in &sent.query {
        let (_, schema) = params
            .iter()
            .find(|(n, _)| n == k)
            .unwrap_or_else(|| panic!("{template}: no query parameter {k}"));
        assert!(
            value_fits(&kind_of(schema), v),
            "{template}: {k}={v} is not a {:?}",
            kind_of(schema)
        );
    }
    match request_schema(spec, op) {
        None => assert!(sent.body.is_null(), "{template} takes no body"),
        Some(schema) => {
            assert!(!sent.body.is_null(), "{template} needs a body");
            assert_body_has_required(spec, schema, &sent.body, template);
        }
    }
}

fn assert_body_has_required(spec: &Value, schema: &Value, body: &Value, at: &str) {
    for field in required(spec, schema) {
        let value = body
            .get(&field)
            .unwrap_or_else(|| panic!("{at}: body lacks required {field}: {body}"));
        if let (Some(sub), true) = (property(spec, schema, &field), value.is_object()) {
            assert_body_has_required(spec, sub, value, &format!("{at}.{field}"));
        }
    }
}

/// Sends every admin operation once, the way the commands do.
async fn tour(org: &Org) {
    let c = &org.client;
    let uid = new_active_user(org, "tour@example.com").await;
    c.users()
        .list(&UserQuery {
            search: Some("status eq \"ACTIVE\"".into()),
            limit: Some(5),
            sort_order: Some(SortOrder::Desc),
            ..Default::default()
        })
        .unwrap()
        .first_page()
        .await
        .unwrap();
    c.users().get(&uid, Some("blocks")).await.unwrap();
    let profile = ProfileInput {
        department: Some("Tour".into()),
        ..Default::default()
    };
    c.users()
        .update(
            &uid,
            &UserUpdate {
                profile,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.users().suspend(&uid).await.unwrap();
    c.users().unsuspend(&uid).await.unwrap();
    c.users().unlock(&uid).await.unwrap();
    let change = PasswordChange {
        new: Password::Plain("Tour-Pw-2".into()),
        old: Some(Password::Plain("Initial-Pa55word!".into())),
        revoke_sessions: false,
    };
    c.users().set_password(&uid, &change).await.unwrap();
    c.users().clear_sessions(&uid, true, false).await.unwrap();
    c.users().groups(&uid).unwrap().collect(None).await.unwrap();
    c.users()
        .app_links(&uid)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    c.users()
        .factors(&uid)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    let _ = c
        .users()
        .unenroll_factor(&uid, "mbl1abcdEFGH2345", true)
        .await;
    c.users().reset_password(&uid, false, true).await.unwrap();
    c.users().reactivate(&uid, false).await.unwrap();
    c.users().deactivate(&uid, false).await.unwrap();
    c.users().activate(&uid, false).await.unwrap();
    let group = c
        .groups()
        .create(&GroupProfile {
            name: Some("Tour".into()),
            description: None,
        })
        .await
        .unwrap();
    let gid = group["id"].as_str().unwrap();
    c.groups()
        .list(&GroupQuery {
            q: Some("Tour".into()),
            limit: Some(5),
            ..Default::default()
        })
        .unwrap()
        .first_page()
        .await
        .unwrap();
    c.groups()
        .update(
            gid,
            &GroupProfile {
                name: None,
                description: Some("d".into()),
            },
        )
        .await
        .unwrap();
    c.groups().add_user(gid, &uid).await.unwrap();
    c.groups()
        .members(gid, Some(200), None)
        .unwrap()
        .collect(None)
        .await
        .unwrap();
    c.groups().remove_user(gid, &uid).await.unwrap();
    c.groups().delete(gid).await.unwrap();
    let apps = c
        .apps()
        .list(&AppQuery {
            limit: Some(200),
            include_non_deleted: true,
            ..Default::default()
        })
        .unwrap()
        .first_page()
        .await
        .unwrap();
    let app = apps.items[0]["id"].as_str().unwrap();
    c.apps().get(app, None).await.unwrap();
    c.apps()
        .assign(
            app,
            &AppAssignment {
                user_id: uid.clone(),
                scope: Some("USER".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.apps().assignment(app, &uid).await.unwrap();
    let profile = json!({"role": "r"}).as_object().cloned();
    c.apps()
        .update_assignment(
            app,
            &uid,
            &AppUserUpdate {
                profile,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.apps().unassign(app, &uid, false).await.unwrap();
    let hook = NewEventHook {
        name: "tour".into(),
        url: "https://example.com/tour".into(),
        events: vec!["user.lifecycle.create".into()],
        activate: false,
        ..Default::default()
    };
    let hid = c.event_hooks().create(&hook).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.event_hooks().list().unwrap().collect(None).await.unwrap();
    c.event_hooks().get(&hid).await.unwrap();
    c.event_hooks().replace(&hid, &hook).await.unwrap();
    c.event_hooks().activate(&hid).await.unwrap();
    let _ = c.event_hooks().verify(&hid).await;
    c.event_hooks().deactivate(&hid).await.unwrap();
    c.event_hooks().delete(&hid).await.unwrap();
    c.list_policies(&PolicyQuery {
        policy_type: "PASSWORD".into(),
        limit: Some(5),
        ..Default::default()
    })
    .unwrap()
    .first_page()
    .await
    .unwrap();
    c.list_realms(&RealmQuery {
        limit: Some(5),
        sort_order: Some(SortOrder::Asc),
        ..Default::default()
    })
    .unwrap()
    .first_page()
    .await
    .unwrap();
    c.list_user_types().unwrap().collect(None).await.unwrap();
    c.list_logs(&LogQuery {
        limit: Some(5),
        sort_order: Some(LogSortOrder::Descending),
        ..Default::default()
    })
    .unwrap()
    .first_page()
    .await
    .unwrap();
    c.users().delete(&uid, false).await.unwrap();
}

#[tokio::test]
async fn every_request_of_a_tour_of_all_operations_matches_the_table_and_the_spec() {
    let org = org().await;
    tour(&org).await;
    let sent = org.requests().await;
    let mut seen: Vec<&str> = sent.iter().map(Sent::operation).collect();
    seen.sort();
    seen.dedup();
    let all: Vec<&str> = OPERATIONS.iter().map(|o| o.id).collect();
    let missing: Vec<&&str> = all.iter().filter(|id| !seen.contains(id)).collect();
    assert!(missing.is_empty(), "the tour missed {missing:?}");
    let Some(spec) = spec() else { return };
    for request in &sent {
        assert_matches_spec(spec, request);
    }
}
