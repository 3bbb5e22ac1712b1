//! The org's small fixed records: user types, realms, policies of several types and two event
//! hooks, with ids drawn from the seed.

use super::logs::LogStore;
use super::model::{Hook, Org, Policy, Realm, UserType};
use super::util::{Rng, okta_id};

const DAY: i64 = 86_400_000;

#[rustfmt::skip]
const TYPES: [(&str, &str, &str, bool); 3] = [
    ("user", "User", "Okta user profile template with default permission settings", true),
    ("contractor", "Contractor", "People who work for vendors", false),
    ("partner", "Partner", "Partner organization users", false),
];

#[rustfmt::skip]
const REALMS: [(&str, bool, &[&str]); 3] = [
    ("Default Realm", true, &[]),
    ("Car Co", false, &["carco.example.com"]),
    ("Partner Portal", false, &["partners.example.com"]),
];

/// (type, name, system, active).
#[rustfmt::skip]
const POLICIES: [(&str, &str, bool, bool); 9] = [
    ("OKTA_SIGN_ON", "Default Policy", true, true),
    ("OKTA_SIGN_ON", "Contractors sign-on", false, true),
    ("PASSWORD", "Default Policy", true, true),
    ("PASSWORD", "Strict passwords", false, true),
    ("MFA_ENROLL", "Default Policy", true, true),
    ("ACCESS_POLICY", "Default Policy", true, true),
    ("ACCESS_POLICY", "Admin apps", false, false),
    ("IDP_DISCOVERY", "Idp Discovery Policy", true, true),
    ("PROFILE_ENROLLMENT", "Default Policy", true, true),
];

/// User types, realms and policies, created about three years before `now`.
pub fn static_records(now: i64, rng: &mut Rng, org: &mut Org) {
    let t0 = now - 3 * 365 * DAY;
    for (name, display, desc, default) in TYPES {
        org.user_types.push(UserType {
            id: okta_id("oty", rng),
            name: name.into(),
            display_name: display.into(),
            description: desc.into(),
            default,
            created: t0,
        });
    }
    for (name, default, domains) in REALMS {
        org.realms.push(Realm {
            id: okta_id("guo", rng),
            name: name.into(),
            default,
            domains: domains.iter().map(|d| d.to_string()).collect(),
            created: t0 + rng.range(0, DAY),
        });
    }
    for (kind, name, system, active) in POLICIES {
        org.policies.push(Policy {
            id: okta_id("00p", rng),
            kind,
            name: name.into(),
            active,
            priority: if system { 2 } else { 1 },
            system,
            created: t0 + rng.range(0, DAY),
        });
    }
}

/// One ACTIVE and VERIFIED hook, one INACTIVE and UNVERIFIED.
pub fn hooks(now: i64, rng: &mut Rng, logs: &mut LogStore) -> Vec<Hook> {
    ["SIEM forwarder", "Old provisioning hook"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let id = okta_id("who", rng);
            let created = now - rng.range(30 * DAY, 300 * DAY);
            Hook {
                ent: logs.add_ent("EventHook", &id, name, name),
                id,
                name: name.into(),
                description: None,
                active: i == 0,
                verified: i == 0,
                created,
                last_updated: created,
                events: vec![
                    "user.lifecycle.create".into(),
                    "user.lifecycle.deactivate".into(),
                ],
                filter: None,
                uri: format!("http://127.0.0.1:9/hook{i}"),
                headers: vec![],
                auth_key: Some("Authorization".into()),
                auth_value: Some("secret".into()),
            }
        })
        .collect()
}
