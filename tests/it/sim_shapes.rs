//! Response shapes checked by hand against the fields Okta's management spec marks required
//! (and the fields clients rely on), with their JSON types.

use serde_json::Value;

use crate::sim_support::*;

#[derive(Clone, Copy, Debug)]
enum T {
    Str,
    OptStr,
    Bool,
    Num,
    Obj,
    Arr,
    OptArr,
    Time,
    OptTime,
}

fn is_time(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

fn check(v: &Value, fields: &[(&str, T)], what: &str) {
    for (path, t) in fields {
        let ptr = format!("/{}", path.replace('.', "/"));
        let f = v
            .pointer(&ptr)
            .unwrap_or_else(|| panic!("{what}: {path} missing in {v}"));
        let ok = match t {
            T::Str => f.is_string(),
            T::OptStr => f.is_string() || f.is_null(),
            T::Bool => f.is_boolean(),
            T::Num => f.is_number(),
            T::Obj => f.is_object(),
            T::Arr => f.is_array(),
            T::OptArr => f.is_array() || f.is_null(),
            T::Time => is_time(f),
            T::OptTime => f.is_null() || is_time(f),
        };
        assert!(ok, "{what}: {path} should be {t:?}, is {f}");
    }
}

async fn list(sim: &okta_sim::Sim, path: &str) -> Vec<Value> {
    let r = get(sim, path).await;
    assert_eq!(r.status(), 200, "{path}");
    json(r).await.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn users_carry_okta_user_fields() {
    let sim = start(small()).await;
    let users = list(&sim, "/api/v1/users?search=status%20pr").await;
    let statuses: std::collections::HashSet<&str> =
        users.iter().filter_map(|u| u["status"].as_str()).collect();
    assert!(statuses.len() >= 6, "many statuses: {statuses:?}");
    for u in &users {
        check(
            u,
            &[
                ("id", T::Str),
                ("status", T::Str),
                ("created", T::Time),
                ("activated", T::OptTime),
                ("statusChanged", T::OptTime),
                ("lastLogin", T::OptTime),
                ("lastUpdated", T::Time),
                ("passwordChanged", T::OptTime),
                ("type.id", T::Str),
                ("profile.login", T::Str),
                ("profile.email", T::Str),
                ("profile.firstName", T::Str),
                ("profile.lastName", T::Str),
                ("profile.mobilePhone", T::OptStr),
                ("profile.secondEmail", T::OptStr),
                ("credentials.password", T::Obj),
                ("credentials.provider.type", T::Str),
                ("credentials.provider.name", T::Str),
                ("_links.self.href", T::Str),
            ],
            "user",
        );
        assert_eq!(u["id"].as_str().unwrap().len(), 20);
        assert!(
            u["_links"]["self"]["href"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
    }
    let one = json(
        get(
            &sim,
            &format!("/api/v1/users/{}", users[0]["id"].as_str().unwrap()),
        )
        .await,
    )
    .await;
    check(
        &one,
        &[("_links.type.href", T::Str), ("_links.schema.href", T::Str)],
        "single user",
    );
}

#[tokio::test]
async fn groups_apps_and_app_users_carry_their_fields() {
    let sim = start(small()).await;
    for g in list(&sim, "/api/v1/groups").await {
        check(
            &g,
            &[
                ("id", T::Str),
                ("created", T::Time),
                ("lastUpdated", T::Time),
                ("lastMembershipUpdated", T::Time),
                ("objectClass", T::Arr),
                ("type", T::Str),
                ("profile.name", T::Str),
                ("_links.users.href", T::Str),
                ("_links.apps.href", T::Str),
            ],
            "group",
        );
    }
    let apps = list(&sim, "/api/v1/apps").await;
    assert_eq!(apps.len(), 4);
    for a in &apps {
        check(
            a,
            &[
                ("id", T::Str),
                ("name", T::Str),
                ("label", T::Str),
                ("status", T::Str),
                ("signOnMode", T::Str),
                ("created", T::Time),
                ("lastUpdated", T::Time),
                ("settings.app.url", T::Str),
                ("credentials", T::Obj),
                ("_links.self.href", T::Str),
            ],
            "app",
        );
        assert!(a["id"].as_str().unwrap().starts_with("0oa"));
        for au in list(
            &sim,
            &format!("/api/v1/apps/{}/users", a["id"].as_str().unwrap()),
        )
        .await
        {
            check(
                &au,
                &[
                    ("id", T::Str),
                    ("scope", T::Str),
                    ("status", T::Str),
                    ("created", T::Time),
                    ("lastUpdated", T::Time),
                    ("credentials.userName", T::Str),
                    ("_links.app.href", T::Str),
                    ("_links.user.href", T::Str),
                ],
                "app user",
            );
        }
    }
}

#[tokio::test]
async fn logs_hooks_factors_realms_types_and_policies_carry_their_fields() {
    let sim = start(small()).await;
    for e in list(&sim, "/api/v1/logs?limit=200").await {
        check(
            &e,
            &[
                ("uuid", T::Str),
                ("published", T::Time),
                ("eventType", T::Str),
                ("version", T::Str),
                ("severity", T::Str),
                ("displayMessage", T::Str),
                ("actor.id", T::Str),
                ("actor.type", T::Str),
                ("client.ipAddress", T::Str),
                ("client.geographicalContext.city", T::Str),
                ("outcome.result", T::Str),
                ("authenticationContext", T::Obj),
                ("securityContext", T::Obj),
                ("debugContext.debugData.requestId", T::Str),
                ("transaction.id", T::Str),
                ("request.ipChain", T::Arr),
                ("target", T::OptArr),
            ],
            "log event",
        );
    }
    for h in list(&sim, "/api/v1/eventHooks").await {
        check(
            &h,
            &[
                ("id", T::Str),
                ("name", T::Str),
                ("status", T::Str),
                ("verificationStatus", T::Str),
                ("created", T::Time),
                ("lastUpdated", T::Time),
                ("events.type", T::Str),
                ("events.items", T::Arr),
                ("channel.type", T::Str),
                ("channel.version", T::Str),
                ("channel.config.uri", T::Str),
                ("_links.verify.href", T::Str),
                ("_links.deactivate.href", T::Str),
            ],
            "event hook",
        );
    }
    let users = list(&sim, "/api/v1/users?limit=20").await;
    let mut seen = 0;
    for u in &users {
        for f in list(
            &sim,
            &format!("/api/v1/users/{}/factors", u["id"].as_str().unwrap()),
        )
        .await
        {
            check(
                &f,
                &[
                    ("id", T::Str),
                    ("factorType", T::Str),
                    ("provider", T::Str),
                    ("status", T::Str),
                    ("created", T::Time),
                    ("lastUpdated", T::Time),
                    ("profile", T::Obj),
                    ("_links.self.href", T::Str),
                ],
                "factor",
            );
            seen += 1;
        }
    }
    assert!(seen > 0);
    for r in list(&sim, "/api/v1/realms").await {
        check(
            &r,
            &[
                ("id", T::Str),
                ("isDefault", T::Bool),
                ("profile.name", T::Str),
                ("profile.realmType", T::Str),
                ("created", T::Time),
                ("lastUpdated", T::Time),
            ],
            "realm",
        );
    }
    let types = list(&sim, "/api/v1/meta/types/user").await;
    assert_eq!(types.iter().filter(|t| t["default"] == true).count(), 1);
    for t in &types {
        check(
            t,
            &[
                ("id", T::Str),
                ("name", T::Str),
                ("displayName", T::Str),
                ("default", T::Bool),
                ("created", T::Time),
                ("_links.self.href", T::Str),
                ("_links.schema.href", T::Str),
            ],
            "user type",
        );
    }
    for ty in ["OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY"] {
        let ps = list(&sim, &format!("/api/v1/policies?type={ty}")).await;
        assert!(!ps.is_empty(), "{ty}");
        for p in ps {
            check(
                &p,
                &[
                    ("id", T::Str),
                    ("type", T::Str),
                    ("name", T::Str),
                    ("status", T::Str),
                    ("priority", T::Num),
                    ("system", T::Bool),
                    ("created", T::Time),
                ],
                "policy",
            );
            assert_eq!(p["type"], ty);
        }
    }
    let r = get(&sim, "/api/v1/policies").await;
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["errorCode"], "E0000028");
}

#[tokio::test]
async fn realms_search_by_name_and_page() {
    let sim = start(small()).await;
    let hits = list(&sim, "/api/v1/realms?search=profile.name%20co%20%22car%22").await;
    assert_eq!(ids(&hits, "id").len(), 1);
    let (all, pages) = follow(&sim, "/api/v1/realms?limit=1").await;
    assert_eq!((all.len(), pages), (3, 3));
}

#[tokio::test]
async fn a_bad_user_search_gets_e0000031_with_causes() {
    let sim = start(small()).await;
    for q in [
        "status%20ne%20%22ACTIVE%22",
        "status%20eq",
        "lastUpdated%20gt%20%22soon%22",
    ] {
        let r = get(&sim, &format!("/api/v1/users?search={q}")).await;
        assert_eq!(r.status(), 400);
        let b = json(r).await;
        assert_eq!(b["errorCode"], "E0000031");
        assert!(!b["errorCauses"].as_array().unwrap().is_empty());
    }
    let r = get(
        &sim,
        "/api/v1/users?filter=profile.department%20eq%20%22IT%22",
    )
    .await;
    assert_eq!(json(r).await["errorCode"], "E0000031");
}
