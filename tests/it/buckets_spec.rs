//! The one rate-limit bucket table (`okta_buckets`), which the client paces by and the
//! simulator enforces, checked against the operations of Okta's official specs: the
//! operations oktasync and the simulator use land in the bucket Okta's "Management rate
//! limits" page names for them, and every other operation lands in its family's bucket.

use okta_buckets::Bucket;

use super::spec_file;

/// Operations by id, and the bucket Okta documents for each (API-NOTES §2).
const DOCUMENTED: &[(&str, Bucket)] = &[
    ("listUsers", Bucket::Users),
    ("createUser", Bucket::Users),
    ("getUser", Bucket::UserGet),
    ("updateUser", Bucket::UserWrite),
    ("replaceUser", Bucket::UserWrite),
    ("deleteUser", Bucket::UserWrite),
    ("activateUser", Bucket::Api),
    ("deactivateUser", Bucket::Api),
    ("suspendUser", Bucket::Api),
    ("unlockUser", Bucket::Api),
    ("revokeUserSessions", Bucket::Api),
    ("listFactors", Bucket::Api),
    ("unenrollFactor", Bucket::Api),
    ("changePassword", Bucket::Api),
    ("listUserGroups", Bucket::Api),
    ("listAppLinks", Bucket::Api),
    ("listLogEvents", Bucket::Logs),
    ("listGroups", Bucket::Groups),
    ("addGroup", Bucket::Groups),
    ("getGroup", Bucket::GroupById),
    ("replaceGroup", Bucket::GroupById),
    ("deleteGroup", Bucket::GroupById),
    ("listGroupUsers", Bucket::Groups),
    ("assignUserToGroup", Bucket::Groups),
    ("unassignUserFromGroup", Bucket::Groups),
    ("listApplications", Bucket::Apps),
    ("getApplication", Bucket::AppById),
    ("listApplicationUsers", Bucket::Apps),
    ("assignUserToApplication", Bucket::Apps),
    ("unassignUserFromApplication", Bucket::Apps),
    ("listEventHooks", Bucket::Api),
    ("createEventHook", Bucket::Api),
    ("verifyEventHook", Bucket::Api),
    ("listPolicies", Bucket::Api),
    ("listRealms", Bucket::Api),
    ("listUserTypes", Bucket::Api),
];

/// The bucket of a spec operation by Okta's rule, written from the path template alone.
fn family(method: &str, template: &str) -> Bucket {
    let segs: Vec<&str> = template.trim_matches('/').split('/').collect();
    let param = |s: &str| s.starts_with('{');
    match segs.as_slice() {
        ["oauth2", "v1", ..] => Bucket::OAuth2,
        ["api", "v1", "users"] if method == "GET" || method == "POST" => Bucket::Users,
        ["api", "v1", "users", id] if param(id) && method == "GET" => Bucket::UserGet,
        ["api", "v1", "users", id] if param(id) => Bucket::UserWrite,
        ["api", "v1", "logs"] => Bucket::Logs,
        ["api", "v1", "groups", id] if param(id) => Bucket::GroupById,
        ["api", "v1", "groups", ..] => Bucket::Groups,
        ["api", "v1", "apps", id] if param(id) => Bucket::AppById,
        ["api", "v1", "apps", ..] => Bucket::Apps,
        _ => Bucket::Api,
    }
}

#[test]
fn documented_operations_fall_in_the_buckets_okta_names() {
    let Some(spec) = spec_file::management() else {
        return;
    };
    let ops = spec_file::operations(spec);
    for (id, want) in DOCUMENTED {
        let (method, path, _) = ops
            .iter()
            .find(|(_, _, op)| op == id)
            .unwrap_or_else(|| panic!("the spec has no operation {id}"));
        assert_eq!(Bucket::of(method, path), *want, "{id}: {method} {path}");
    }
}

#[test]
fn every_spec_operation_falls_in_its_family_bucket() {
    let Some(management) = spec_file::management() else {
        return;
    };
    let mut ops = spec_file::operations(management);
    if let Some(oauth) = spec_file::oauth() {
        ops.extend(spec_file::operations(oauth));
    }
    assert!(
        ops.len() > 500,
        "only {} operations in the specs",
        ops.len()
    );
    let wrong: Vec<String> = ops
        .iter()
        .filter(|(m, p, _)| Bucket::of(m, p) != family(m, p))
        .map(|(m, p, id)| format!("{id}: {m} {p} → {:?}", Bucket::of(m, p)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let org_as = ops
        .iter()
        .filter(|(_, p, _)| p.starts_with("/oauth2/v1/"))
        .count();
    assert!(
        org_as > 0,
        "the org authorization server's operations were checked"
    );
}
