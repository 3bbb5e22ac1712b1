//! Okta's JSON for every org record: users (with the HAL links their status allows), groups,
//! apps, app users, app links, factors, event hooks, realms, user types and policies.

use serde_json::{Map, Value, json};

use super::model::{
    App, AppUser, FACTOR_KINDS, Group, Hook, Org, Policy, Profile, Realm, Status, User, UserType,
};
use super::util::{Rng, fmt_ms, mix2, okta_id};

fn ts(ms: Option<i64>) -> Value {
    ms.map(|m| Value::String(fmt_ms(m))).unwrap_or(Value::Null)
}

fn href(url: String) -> Value {
    json!({ "href": url })
}

fn post(url: String) -> Value {
    json!({ "href": url, "method": "POST" })
}

pub fn profile(p: &Profile) -> Value {
    let mut m = Map::with_capacity(p.0.len());
    for (k, v) in &p.0 {
        m.insert(k.to_string(), v.to_json());
    }
    Value::Object(m)
}

/// The lifecycle links Okta offers for a status.
fn lifecycle_links(u: &User, base: &str, links: &mut Map<String, Value>) {
    let l = |a: &str| post(format!("{base}/api/v1/users/{}/lifecycle/{a}", u.id));
    let mut add = |k: &str, a: &str| {
        links.insert(k.to_string(), l(a));
    };
    match u.status {
        Status::Staged | Status::Provisioned => add("activate", "activate"),
        Status::Deprovisioned => {
            add("activate", "activate");
            return;
        }
        Status::Suspended => add("unsuspend", "unsuspend"),
        Status::LockedOut => add("unlock", "unlock"),
        Status::Active => add("suspend", "suspend"),
        _ => {}
    }
    if matches!(u.status, Status::Provisioned | Status::Recovery) {
        add("reactivate", "reactivate");
    }
    add("resetPassword", "reset_password");
    add("expirePassword", "expire_password");
    add("resetFactors", "reset_factors");
    add("deactivate", "deactivate");
    links.insert(
        "changePassword".into(),
        post(format!(
            "{base}/api/v1/users/{}/credentials/change_password",
            u.id
        )),
    );
}

/// A user's `ETag`: it changes whenever the user does.
pub fn user_etag(u: &User) -> String {
    format!("W/\"{}\"", u.last_updated)
}

/// A user; `full` adds the status-dependent links a single GET returns.
pub fn user(u: &User, org: &Org, base: &str, full: bool) -> Value {
    let mut links = Map::new();
    links.insert("self".into(), href(format!("{base}/api/v1/users/{}", u.id)));
    if full {
        lifecycle_links(u, base, &mut links);
        let ty = org.type_id(u.type_idx);
        links.insert(
            "type".into(),
            href(format!("{base}/api/v1/meta/types/user/{ty}")),
        );
        links.insert(
            "schema".into(),
            href(format!("{base}/api/v1/meta/schemas/user/osc{}", &ty[3..])),
        );
    }
    let mut creds = json!({"password": {}, "provider": {"type": u.provider, "name": u.provider}});
    if let Some(q) = &u.recovery_question {
        creds["recovery_question"] = json!({ "question": &**q });
    }
    let mut v = json!({
        "id": u.id, "status": u.status.as_str(), "created": fmt_ms(u.created),
        "activated": ts(u.activated), "statusChanged": ts(u.status_changed),
        "lastLogin": ts(u.last_login), "lastUpdated": fmt_ms(u.last_updated),
        "passwordChanged": ts(u.password_changed), "type": {"id": org.type_id(u.type_idx)},
        "profile": profile(&u.profile), "credentials": creds, "_links": links,
    });
    if let Some(r) = u.realm_idx.and_then(|i| org.realms.get(i as usize)) {
        v["realmId"] = json!(r.id);
    }
    if let Some(to) = u.transitioning {
        v["transitioningToStatus"] = json!(to.as_str());
    }
    v
}

pub fn group(g: &Group, base: &str) -> Value {
    let id = &g.id;
    json!({
        "id": id, "created": fmt_ms(g.created), "lastUpdated": fmt_ms(g.last_updated),
        "lastMembershipUpdated": fmt_ms(g.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": if g.built_in { "BUILT_IN" } else { "OKTA_GROUP" },
        "profile": {"name": g.name, "description": g.description},
        "_links": {
            "logo": [{"name": "medium", "href": format!("{base}/img/logos/groups/okta-medium.png"), "type": "image/png"}],
            "users": href(format!("{base}/api/v1/groups/{id}/users")),
            "apps": href(format!("{base}/api/v1/groups/{id}/apps")),
        },
    })
}

pub fn app(a: &App, base: &str) -> Value {
    let id = &a.id;
    let app_settings = if a.sign_on_mode == "BASIC_AUTH" {
        json!({"url": "https://legacy.example.com/login", "authURL": "https://legacy.example.com/auth"})
    } else {
        json!({"url": "https://wiki.example.com/", "requestIntegration": false})
    };
    json!({
        "id": id, "name": a.name, "label": a.label,
        "status": if a.active { "ACTIVE" } else { "INACTIVE" },
        "lastUpdated": fmt_ms(a.last_updated), "created": fmt_ms(a.created),
        "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
        "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}, "appLinks": {"login": true}},
        "features": [], "signOnMode": a.sign_on_mode,
        "credentials": {"scheme": "EDIT_USERNAME_AND_PASSWORD", "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {}},
        "settings": {"app": app_settings, "notifications": {"vpn": {"network": {"connection": "DISABLED"}, "message": null, "helpUrl": null}}},
        "_links": {
            "self": href(format!("{base}/api/v1/apps/{id}")),
            "users": href(format!("{base}/api/v1/apps/{id}/users")),
            "groups": href(format!("{base}/api/v1/apps/{id}/groups")),
            "deactivate": href(format!("{base}/api/v1/apps/{id}/lifecycle/deactivate")),
            "appLinks": [{"name": "login", "href": format!("{base}/home/{}/{id}/login", a.name), "type": "text/html"}],
        },
    })
}

pub fn app_user(app_id: &str, user_id: &str, au: &AppUser, base: &str) -> Value {
    json!({
        "id": user_id, "externalId": null, "created": fmt_ms(au.created),
        "lastUpdated": fmt_ms(au.last_updated),
        "scope": if au.scope_group { "GROUP" } else { "USER" },
        "status": "ACTIVE", "statusChanged": fmt_ms(au.status_changed),
        "passwordChanged": null, "syncState": "DISABLED",
        "credentials": {"userName": &*au.user_name}, "profile": profile(&au.profile),
        "_links": {
            "app": href(format!("{base}/api/v1/apps/{app_id}")),
            "user": href(format!("{base}/api/v1/users/{user_id}")),
        },
    })
}

pub fn app_link(u: &User, a: &App, i: usize, base: &str) -> Value {
    json!({
        "id": u.id, "label": a.label, "linkUrl": format!("{base}/home/{}/{}/login", a.name, a.id),
        "logoUrl": format!("{base}/img/logos/default.png"), "appName": a.name,
        "appInstanceId": a.id, "appAssignmentId": format!("0ua{}", &u.id[3..]),
        "credentialsSetup": false, "hidden": false, "sortOrder": i,
    })
}

/// A factor's id, derived from the user and factor kind.
pub fn factor_id(user_id: &str, kind: usize) -> String {
    let prefix = ["mbl", "opf", "ost", "emf", "ufs"][kind];
    okta_id(
        prefix,
        &mut Rng::new(mix2(
            kind as u64,
            user_id
                .bytes()
                .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64)),
        )),
    )
}

/// A phone number as E.164 (`+` and up to 15 digits), the form Okta's factors use.
fn e164(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(char::is_ascii_digit)
        .take(15)
        .collect();
    format!("+{digits}")
}

pub fn factor(u: &User, kind: usize, base: &str) -> Value {
    let id = factor_id(&u.id, kind);
    let t = fmt_ms(u.activated.unwrap_or(u.created));
    let phone = e164(
        u.profile
            .get_str("mobilePhone")
            .unwrap_or("+1 555 000 0000"),
    );
    let email = u.profile.get_str("email").unwrap_or("").to_string();
    let (profile, vendor) = match FACTOR_KINDS[kind] {
        "sms" => (json!({"phoneNumber": phone}), "OKTA"),
        "push" => (
            json!({"credentialId": email, "deviceType": "SmartPhone_IPhone", "name": "iPhone", "platform": "IOS", "version": "17.5"}),
            "OKTA",
        ),
        "token:software:totp" => (json!({"credentialId": email}), "OKTA"),
        "email" => (json!({"email": email}), "OKTA"),
        _ => (
            json!({"question": "favorite_art_piece", "questionText": "What is your favorite piece of art?"}),
            "OKTA",
        ),
    };
    json!({
        "id": id, "factorType": FACTOR_KINDS[kind], "provider": "OKTA", "vendorName": vendor,
        "status": "ACTIVE", "created": t, "lastUpdated": t, "profile": profile,
        "_links": {
            "self": {"href": format!("{base}/api/v1/users/{}/factors/{id}", u.id), "hints": {"allow": ["GET", "DELETE"]}},
            "user": {"href": format!("{base}/api/v1/users/{}", u.id), "hints": {"allow": ["GET"]}},
        },
    })
}

pub fn hook(h: &Hook, base: &str, created_by: &str) -> Value {
    let headers: Vec<Value> = h
        .headers
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let mut config = json!({"uri": h.uri, "headers": headers, "method": "POST"});
    if let Some(k) = &h.auth_key {
        config["authScheme"] = json!({"type": "HEADER", "key": k});
    }
    let id = &h.id;
    json!({
        "id": id, "status": if h.active { "ACTIVE" } else { "INACTIVE" },
        "verificationStatus": if h.verified { "VERIFIED" } else { "UNVERIFIED" },
        "name": h.name, "description": h.description, "created": fmt_ms(h.created),
        "createdBy": created_by, "lastUpdated": fmt_ms(h.last_updated),
        "events": {"type": "EVENT_TYPE", "items": h.events, "filter": h.filter},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
        "_links": {
            "self": href(format!("{base}/api/v1/eventHooks/{id}")),
            "verify": post(format!("{base}/api/v1/eventHooks/{id}/lifecycle/verify")),
            "deactivate": post(format!("{base}/api/v1/eventHooks/{id}/lifecycle/deactivate")),
        },
    })
}

pub fn realm(r: &Realm, base: &str) -> Value {
    json!({
        "id": r.id, "created": fmt_ms(r.created), "lastUpdated": fmt_ms(r.created),
        "isDefault": r.default,
        "profile": {"name": r.name, "realmType": if r.default { "DEFAULT" } else { "PARTNER" }, "domains": r.domains},
        "_links": {"self": {"rel": "self", "href": format!("{base}/api/v1/realms/{}", r.id), "method": "GET"}},
    })
}

pub fn user_type(t: &UserType, base: &str, admin: &str) -> Value {
    let schema = format!("{base}/api/v1/meta/schemas/user/osc{}", &t.id[3..]);
    json!({
        "id": t.id, "displayName": t.display_name, "name": t.name, "description": t.description,
        "createdBy": admin, "lastUpdatedBy": admin, "created": fmt_ms(t.created),
        "lastUpdated": fmt_ms(t.created), "default": t.default,
        "_links": {"self": href(format!("{base}/api/v1/meta/types/user/{}", t.id)), "schema": href(schema)},
    })
}

pub fn policy(p: &Policy, base: &str) -> Value {
    let id = &p.id;
    json!({
        "id": id, "type": p.kind, "status": if p.active { "ACTIVE" } else { "INACTIVE" },
        "name": p.name, "description": format!("{} ({})", p.name, p.kind), "priority": p.priority,
        "system": p.system, "created": fmt_ms(p.created), "lastUpdated": fmt_ms(p.created),
        "conditions": if matches!(p.kind, "ACCESS_POLICY" | "IDP_DISCOVERY" | "PROFILE_ENROLLMENT") {
            Value::Null
        } else {
            json!({"people": {"groups": {"include": []}}})
        },
        "_links": {
            "self": {"href": format!("{base}/api/v1/policies/{id}"), "hints": {"allow": ["GET", "PUT", "DELETE"]}},
            "rules": {"href": format!("{base}/api/v1/policies/{id}/rules"), "hints": {"allow": ["GET", "POST"]}},
        },
    })
}
