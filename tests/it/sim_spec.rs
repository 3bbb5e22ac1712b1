//! Conformance with Okta's official management OpenAPI spec: walk each endpoint's response
//! schema over what the simulator returns (required fields present, JSON types right, enum
//! values known). Needs `OKTASYNC_SHARED_DIR` pointing at the folder holding
//! `okta-management-openapi-v3.yaml`; without it the test says so and passes, except in CI.

use serde_json::Value;

use crate::sim_support::*;

struct Walker<'a> {
    spec: &'a Value,
    errors: Vec<String>,
}

fn resolve<'x>(spec: &'x Value, mut s: &'x Value) -> &'x Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match spec.pointer(r.trim_start_matches('#')) {
            Some(t) => s = t,
            None => return s,
        }
    }
    s
}

impl Walker<'_> {
    /// Errors for `v` against `schema`, without recording them.
    fn errors_for(&mut self, schema: &Value, v: &Value, at: &str) -> Vec<String> {
        let before = self.errors.len();
        self.check(schema, v, at, 0);
        self.errors.split_off(before)
    }

    fn check(&mut self, schema: &Value, v: &Value, at: &str, depth: usize) {
        let spec = self.spec;
        let s = resolve(spec, schema);
        if depth > 40 || v.is_null() {
            return; // Okta sends null for many optional fields.
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, v, at, depth + 1);
            }
        }
        if let Some(one) = s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Value::as_array)
        {
            self.check_one_of(s, one, v, at, depth);
        }
        let ty = s.get("type").and_then(Value::as_str);
        let ok = match ty {
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            Some("array") => v.is_array(),
            Some("object") => v.is_object(),
            _ => true,
        };
        if !ok {
            self.errors
                .push(format!("{at}: expected {}, got {v}", ty.unwrap_or("?")));
            return;
        }
        let known = |e: &Vec<Value>, x: &str| e.iter().any(|o| o.as_str() == Some(x));
        if let (Some(e), Some(x)) = (s.get("enum").and_then(Value::as_array), v.as_str())
            && !known(e, x)
        {
            self.errors.push(format!("{at}: {x:?} is not one of {e:?}"));
        }
        if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate().take(50) {
                self.check(items, x, &format!("{at}[{i}]"), depth + 1);
            }
        }
        if let Some(obj) = v.as_object() {
            for r in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !obj.contains_key(r) {
                    self.errors
                        .push(format!("{at}: required field {r} is missing"));
                }
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if let Some(x) = obj.get(k) {
                        self.check(sub, x, &format!("{at}.{k}"), depth + 1);
                    }
                }
            }
        }
    }

    fn check_one_of(&mut self, s: &Value, one: &[Value], v: &Value, at: &str, depth: usize) {
        let disc = s
            .pointer("/discriminator/propertyName")
            .and_then(Value::as_str);
        if let (Some(p), Some(tag)) = (disc, disc.and_then(|p| v.get(p)).and_then(Value::as_str)) {
            match s.pointer(&format!(
                "/discriminator/mapping/{}",
                tag.replace('/', "~1")
            )) {
                Some(Value::String(r)) => {
                    let target = serde_json::json!({ "$ref": r });
                    self.check(&target, v, at, depth + 1);
                }
                _ => self
                    .errors
                    .push(format!("{at}: {p}={tag:?} has no schema in the spec")),
            }
            return;
        }
        let all: Vec<Vec<String>> = one.iter().map(|o| self.errors_for(o, v, at)).collect();
        if !all.iter().any(Vec::is_empty) {
            self.errors.push(format!(
                "{at}: matches none of {} schemas, e.g. {:?}",
                one.len(),
                all.first()
            ));
        }
    }
}

fn response_schema<'a>(spec: &'a Value, path: &str) -> &'a Value {
    let p = path.replace('~', "~0").replace('/', "~1");
    spec.pointer(&format!(
        "/paths/{p}/get/responses/200/content/application~1json/schema"
    ))
    .unwrap_or_else(|| panic!("the spec has no 200 schema for GET {path}"))
}

#[tokio::test]
async fn responses_match_the_official_spec_schemas() {
    let Some(spec) = super::spec_file::management() else {
        return;
    };
    let sim = start(small()).await;
    let first = |v: &Value| v[0]["id"].as_str().unwrap_or_default().to_string();
    let user =
        first(&json(get(&sim, "/api/v1/users?search=status%20eq%20%22ACTIVE%22").await).await);
    let group = first(&json(get(&sim, "/api/v1/groups").await).await);
    let app = first(&json(get(&sim, "/api/v1/apps").await).await);
    let mut cases: Vec<(&str, String)> = vec![
        ("/api/v1/users", "/api/v1/users?search=status%20pr".into()),
        ("/api/v1/users/{id}", format!("/api/v1/users/{user}")),
        (
            "/api/v1/users/{id}/groups",
            format!("/api/v1/users/{user}/groups"),
        ),
        (
            "/api/v1/users/{id}/appLinks",
            format!("/api/v1/users/{user}/appLinks"),
        ),
        (
            "/api/v1/users/{userId}/factors",
            format!("/api/v1/users/{user}/factors"),
        ),
        ("/api/v1/groups", "/api/v1/groups".into()),
        (
            "/api/v1/groups/{groupId}/users",
            format!("/api/v1/groups/{group}/users"),
        ),
        ("/api/v1/apps", "/api/v1/apps".into()),
        (
            "/api/v1/apps/{appId}/users",
            format!("/api/v1/apps/{app}/users"),
        ),
        ("/api/v1/logs", "/api/v1/logs?limit=300".into()),
        ("/api/v1/eventHooks", "/api/v1/eventHooks".into()),
        ("/api/v1/realms", "/api/v1/realms".into()),
        ("/api/v1/meta/types/user", "/api/v1/meta/types/user".into()),
    ];
    for ty in [
        "OKTA_SIGN_ON",
        "PASSWORD",
        "MFA_ENROLL",
        "ACCESS_POLICY",
        "IDP_DISCOVERY",
        "PROFILE_ENROLLMENT",
    ] {
        cases.push(("/api/v1/policies", format!("/api/v1/policies?type={ty}")));
    }
    let mut w = Walker {
        spec,
        errors: vec![],
    };
    for (template, url) in &cases {
        let body = json(get(&sim, url).await).await;
        assert!(
            body.as_array().is_none_or(|a| !a.is_empty()),
            "{url} returned nothing to check"
        );
        let schema = response_schema(spec, template).clone();
        w.check(&schema, &body, url, 0);
    }
    assert!(
        w.errors.is_empty(),
        "{} problems:\n{}",
        w.errors.len(),
        w.errors.join("\n")
    );
}

/// The spec's path template a concrete path falls under (literal segments preferred).
fn template_of<'a>(spec: &'a Value, path: &str) -> Option<&'a str> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let score = |t: &str| -> Option<usize> {
        let ts: Vec<&str> = t.trim_matches('/').split('/').collect();
        if ts.len() != segs.len() {
            return None;
        }
        let mut literal = 0;
        for (a, b) in ts.iter().zip(&segs) {
            if a == b {
                literal += 1;
            } else if !a.starts_with('{') {
                return None;
            }
        }
        Some(literal)
    };
    let paths = spec["paths"].as_object()?;
    paths
        .keys()
        .filter_map(|k| Some((score(k)?, k.as_str())))
        .max()
        .map(|(_, k)| k)
}

/// The schema of the `status` answer to `method path`, resolving a shared response; `Ok(None)`
/// when the spec declares that status without a JSON body; `Err` when it does not declare it.
fn answer_schema<'a>(
    spec: &'a Value,
    method: &str,
    path: &str,
    status: u16,
) -> Result<Option<&'a Value>, String> {
    let template = template_of(spec, path).ok_or(format!("the spec has no path for {path}"))?;
    let op = &spec["paths"][template][method.to_lowercase()];
    let declared = op["responses"]
        .get(status.to_string())
        .ok_or(format!("{method} {template} does not declare {status}"))?;
    let resolved = resolve(spec, declared);
    Ok(resolved.pointer("/content/application~1json/schema"))
}

/// One request of the tour, and the status it must get.
struct Call {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    status: u16,
}

fn call(
    method: reqwest::Method,
    path: impl Into<String>,
    body: Option<Value>,
    status: u16,
) -> Call {
    Call {
        method,
        path: path.into(),
        body,
        status,
    }
}

/// Writes that succeed and requests that fail, covering the simulator's write endpoints.
fn write_and_error_tour(user: &str, group: &str, app: &str, staged: &str) -> Vec<Call> {
    use reqwest::Method as M;
    let person = |login: &str| serde_json::json!({"profile": {"login": login, "email": login, "firstName": "Spec", "lastName": "Check"}});
    let hook = serde_json::json!({"name": "spec", "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://hooks.example.com/okta"}}});
    vec![
        call(
            M::POST,
            "/api/v1/users?activate=false",
            Some(person("spec.new@example.com")),
            200,
        ),
        call(
            M::POST,
            format!("/api/v1/users/{user}"),
            Some(serde_json::json!({"profile": {"title": "Spec"}})),
            200,
        ),
        call(
            M::PUT,
            format!("/api/v1/users/{user}"),
            Some(person("spec.put@example.com")),
            200,
        ),
        call(
            M::POST,
            format!("/api/v1/users/{staged}/lifecycle/activate?sendEmail=false"),
            None,
            200,
        ),
        call(
            M::POST,
            format!("/api/v1/users/{user}/lifecycle/suspend"),
            None,
            200,
        ),
        call(
            M::POST,
            "/api/v1/groups",
            Some(serde_json::json!({"profile": {"name": "spec-group"}})),
            200,
        ),
        call(
            M::PUT,
            format!("/api/v1/groups/{group}"),
            Some(serde_json::json!({"profile": {"name": "spec-renamed"}})),
            200,
        ),
        call(
            M::PUT,
            format!("/api/v1/groups/{group}/users/{user}"),
            None,
            204,
        ),
        call(
            M::POST,
            format!("/api/v1/apps/{app}/users"),
            Some(serde_json::json!({"id": user})),
            200,
        ),
        call(M::POST, "/api/v1/eventHooks", Some(hook.clone()), 200),
        call(M::GET, format!("/api/v1/groups/{group}"), None, 200),
        call(M::GET, format!("/api/v1/apps/{app}"), None, 200),
        call(
            M::GET,
            format!("/api/v1/apps/{app}/users/{user}"),
            None,
            200,
        ),
        call(M::GET, "/api/v1/users/00unope", None, 404),
        call(M::GET, "/api/v1/groups/00gnope", None, 404),
        call(M::GET, "/api/v1/apps/0oanope", None, 404),
        call(M::GET, "/api/v1/eventHooks/whonope", None, 404),
        call(
            M::POST,
            "/api/v1/users",
            Some(serde_json::json!({"profile": {}})),
            400,
        ),
        call(
            M::POST,
            "/api/v1/groups",
            Some(serde_json::json!({"profile": {}})),
            400,
        ),
        call(
            M::POST,
            "/api/v1/eventHooks",
            Some(serde_json::json!({"name": ""})),
            400,
        ),
        call(
            M::POST,
            format!("/api/v1/users/{user}/lifecycle/unsuspend"),
            None,
            200,
        ),
        call(
            M::POST,
            format!("/api/v1/users/{user}/lifecycle/activate"),
            None,
            403,
        ),
    ]
}

#[tokio::test]
async fn write_responses_and_error_bodies_match_the_official_spec_schemas() {
    let Some(spec) = super::spec_file::management() else {
        return;
    };
    let sim = start(small()).await;
    let first = |v: &Value| v[0]["id"].as_str().unwrap_or_default().to_string();
    let search = |q: &str| {
        format!(
            "/api/v1/users?search={}",
            q.replace(' ', "%20").replace('"', "%22")
        )
    };
    let user = first(&json(get(&sim, &search(r#"status eq "ACTIVE""#)).await).await);
    let staged = first(&json(get(&sim, &search(r#"status eq "STAGED""#)).await).await);
    let group = json(get(&sim, "/api/v1/groups").await).await;
    let group = group
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "OKTA_GROUP")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let app = first(&json(get(&sim, "/api/v1/apps").await).await);
    let mut w = Walker {
        spec,
        errors: vec![],
    };
    for c in write_and_error_tour(&user, &group, &app, &staged) {
        let at = format!("{} {}", c.method, c.path);
        let r = send(&sim, c.method.clone(), &c.path, c.body).await;
        assert_eq!(r.status().as_u16(), c.status, "{at}");
        let path = c.path.split('?').next().unwrap();
        match answer_schema(spec, c.method.as_str(), path, c.status) {
            Err(e) => w.errors.push(format!("{at}: {e}")),
            Ok(None) => {}
            Ok(Some(schema)) => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert!(!body.is_null(), "{at}: the spec expects a JSON body");
                w.check(schema, &body, &at, 0);
            }
        }
    }
    assert!(
        w.errors.is_empty(),
        "{} problems:\n{}",
        w.errors.len(),
        w.errors.join("\n")
    );
}
