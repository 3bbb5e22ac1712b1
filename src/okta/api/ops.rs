//! The operations oktasync sends, as Okta's management OpenAPI spec defines them: operationId,
//! method, path template, the query parameters each accepts (name and type) and the body fields
//! it requires. Every request the API layer builds is checked against this table, and a test
//! checks the table itself against the official spec file.

/// The type of a query parameter's value, as the spec declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    /// A string limited to these values.
    Enum(&'static [&'static str]),
}

/// What the spec says about a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRule {
    /// No body.
    None,
    /// A JSON body is required; these (dotted) fields must be present in it.
    Required(&'static [&'static str]),
}

/// One management API operation.
#[derive(Debug)]
pub struct Operation {
    pub id: &'static str,
    pub method: &'static str,
    /// The path template, e.g. `/api/v1/users/{id}`.
    pub path: &'static str,
    pub query: &'static [(&'static str, ParamType)],
    pub body: BodyRule,
}

use BodyRule::{None as NoBody, Required};
use ParamType::{Boolean as B, Integer as I, String as S};

pub const POLICY_TYPES: &[&str] = &[
    "ACCESS_POLICY",
    "ENTITY_RISK",
    "IDP_DISCOVERY",
    "MFA_ENROLL",
    "OKTA_SIGN_ON",
    "PASSWORD",
    "POST_AUTH_SESSION",
    "PROFILE_ENROLLMENT",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
];

const fn op(
    id: &'static str,
    method: &'static str,
    path: &'static str,
    query: &'static [(&'static str, ParamType)],
    body: BodyRule,
) -> Operation {
    Operation {
        id,
        method,
        path,
        query,
        body,
    }
}

const SEND_EMAIL: &[(&str, ParamType)] = &[("sendEmail", B)];
const HOOK_REQUIRED: &[&str] = &[
    "name",
    "events",
    "events.type",
    "events.items",
    "channel",
    "channel.type",
    "channel.version",
    "channel.config",
    "channel.config.uri",
];

/// Every operation oktasync's admin commands send.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    // Users
    op("listUsers", "GET", "/api/v1/users", &[
        ("search", S), ("filter", S), ("q", S), ("after", S), ("limit", I), ("sortBy", S),
        ("sortOrder", S), ("fields", S), ("expand", S),
    ], NoBody),
    op("getUser", "GET", "/api/v1/users/{id}", &[("expand", S)], NoBody),
    op("createUser", "POST", "/api/v1/users", &[
        ("activate", B), ("provider", B), ("nextLogin", ParamType::Enum(&["changePassword"])),
    ], Required(&["profile"])),
    op("updateUser", "POST", "/api/v1/users/{id}", &[("strict", B)], Required(&[])),
    op("deleteUser", "DELETE", "/api/v1/users/{id}", SEND_EMAIL, NoBody),
    op("activateUser", "POST", "/api/v1/users/{id}/lifecycle/activate", SEND_EMAIL, NoBody),
    op("deactivateUser", "POST", "/api/v1/users/{id}/lifecycle/deactivate", SEND_EMAIL, NoBody),
    op("reactivateUser", "POST", "/api/v1/users/{id}/lifecycle/reactivate", SEND_EMAIL, NoBody),
    op("suspendUser", "POST", "/api/v1/users/{id}/lifecycle/suspend", &[], NoBody),
    op("unsuspendUser", "POST", "/api/v1/users/{id}/lifecycle/unsuspend", &[], NoBody),
    op("unlockUser", "POST", "/api/v1/users/{id}/lifecycle/unlock", &[], NoBody),
    op("resetPassword", "POST", "/api/v1/users/{id}/lifecycle/reset_password", &[
        ("sendEmail", B), ("revokeSessions", B),
    ], NoBody),
    op("changePassword", "POST", "/api/v1/users/{userId}/credentials/change_password", &[
        ("strict", B),
    ], Required(&[])),
    op("revokeUserSessions", "DELETE", "/api/v1/users/{userId}/sessions", &[
        ("oauthTokens", B), ("forgetDevices", B),
    ], NoBody),
    op("listUserGroups", "GET", "/api/v1/users/{id}/groups", &[], NoBody),
    op("listAppLinks", "GET", "/api/v1/users/{id}/appLinks", &[], NoBody),
    op("listFactors", "GET", "/api/v1/users/{userId}/factors", &[], NoBody),
    op("unenrollFactor", "DELETE", "/api/v1/users/{userId}/factors/{factorId}", &[
        ("removeRecoveryEnrollment", B),
    ], NoBody),
    // Groups
    op("listGroups", "GET", "/api/v1/groups", &[
        ("search", S), ("filter", S), ("q", S), ("after", S), ("limit", I), ("expand", S),
        ("sortBy", S), ("sortOrder", S),
    ], NoBody),
    op("getGroup", "GET", "/api/v1/groups/{groupId}", &[], NoBody),
    op("addGroup", "POST", "/api/v1/groups", &[], Required(&[])),
    op("replaceGroup", "PUT", "/api/v1/groups/{groupId}", &[], Required(&[])),
    op("deleteGroup", "DELETE", "/api/v1/groups/{groupId}", &[], NoBody),
    op("listGroupUsers", "GET", "/api/v1/groups/{groupId}/users", &[
        ("after", S), ("limit", I),
    ], NoBody),
    op("assignUserToGroup", "PUT", "/api/v1/groups/{groupId}/users/{userId}", &[], NoBody),
    op("unassignUserFromGroup", "DELETE", "/api/v1/groups/{groupId}/users/{userId}", &[], NoBody),
    // Applications
    op("listApplications", "GET", "/api/v1/apps", &[
        ("q", S), ("after", S), ("useOptimization", B), ("alwaysIncludeVpnSettings", B),
        ("limit", I), ("filter", S), ("expand", S), ("includeNonDeleted", B),
    ], NoBody),
    op("getApplication", "GET", "/api/v1/apps/{appId}", &[("expand", S)], NoBody),
    op("assignUserToApplication", "POST", "/api/v1/apps/{appId}/users", &[], Required(&["id"])),
    op("getApplicationUser", "GET", "/api/v1/apps/{appId}/users/{userId}", &[("expand", S)], NoBody),
    op("updateApplicationUser", "POST", "/api/v1/apps/{appId}/users/{userId}", &[], Required(&[])),
    op("unassignUserFromApplication", "DELETE", "/api/v1/apps/{appId}/users/{userId}", SEND_EMAIL, NoBody),
    // Event hooks
    op("listEventHooks", "GET", "/api/v1/eventHooks", &[], NoBody),
    op("getEventHook", "GET", "/api/v1/eventHooks/{eventHookId}", &[], NoBody),
    op("createEventHook", "POST", "/api/v1/eventHooks", &[], Required(HOOK_REQUIRED)),
    op("replaceEventHook", "PUT", "/api/v1/eventHooks/{eventHookId}", &[], Required(HOOK_REQUIRED)),
    op("activateEventHook", "POST", "/api/v1/eventHooks/{eventHookId}/lifecycle/activate", &[], NoBody),
    op("deactivateEventHook", "POST", "/api/v1/eventHooks/{eventHookId}/lifecycle/deactivate", &[], NoBody),
    op("verifyEventHook", "POST", "/api/v1/eventHooks/{eventHookId}/lifecycle/verify", &[], NoBody),
    op("deleteEventHook", "DELETE", "/api/v1/eventHooks/{eventHookId}", &[], NoBody),
    // Policies, realms, user types, System Log
    op("listPolicies", "GET", "/api/v1/policies", &[
        ("type", ParamType::Enum(POLICY_TYPES)), ("status", S), ("q", S), ("expand", S),
        ("sortBy", S), ("limit", S), ("resourceId", S), ("after", S),
    ], NoBody),
    op("listRealms", "GET", "/api/v1/realms", &[
        ("limit", I), ("after", S), ("search", S), ("sortBy", S), ("sortOrder", S),
    ], NoBody),
    op("listUserTypes", "GET", "/api/v1/meta/types/user", &[], NoBody),
    op("listLogEvents", "GET", "/api/v1/logs", &[
        ("since", S), ("until", S), ("after", S), ("filter", S), ("q", S), ("limit", I),
        ("sortOrder", ParamType::Enum(&["ASCENDING", "DESCENDING"])),
    ], NoBody),
];

/// The operation with this operationId. Panics on an id not in the table, which is a bug in
/// oktasync, never a user error.
pub fn operation(id: &str) -> &'static Operation {
    OPERATIONS
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("operation {id} is missing from the table"))
}

/// The operation a request was for, by method and path (`/api/v1/…`, percent-encoded or not).
pub fn find(method: &str, path: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|o| o.method.eq_ignore_ascii_case(method) && path_matches(o.path, path))
}

/// True when `path` fills `template`: literal segments equal, each `{x}` one non-empty segment.
pub fn path_matches(template: &str, path: &str) -> bool {
    let want: Vec<&str> = template.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/')
        .collect();
    want.len() == got.len()
        && want.iter().zip(&got).all(|(w, g)| {
            if w.starts_with('{') {
                !g.is_empty()
            } else {
                w == g
            }
        })
}

impl Operation {
    /// The type of query parameter `name`, or `None` when the operation does not take it.
    pub fn param(&self, name: &str) -> Option<ParamType> {
        self.query.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Checks a query parameter against the spec: a known name with a value of its type.
    pub fn check_param(&self, name: &str, value: &str) -> Result<(), String> {
        let Some(kind) = self.param(name) else {
            let names: Vec<&str> = self.query.iter().map(|(n, _)| *n).collect();
            return Err(if names.is_empty() {
                format!("{} takes no query parameters, not {name:?}", self.id)
            } else {
                format!(
                    "{} does not take {name:?}; it takes {}",
                    self.id,
                    names.join(", ")
                )
            });
        };
        let ok = match kind {
            ParamType::String => true,
            ParamType::Integer => value.parse::<i64>().is_ok(),
            ParamType::Boolean => value == "true" || value == "false",
            ParamType::Enum(values) => values.contains(&value),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{name}={value:?} is not a valid {kind:?} for {}",
                self.id
            ))
        }
    }

    /// Checks a request body against the spec's rule: present when required, with every
    /// required field; absent when the operation takes none.
    pub fn check_body(&self, body: Option<&serde_json::Value>) -> Result<(), String> {
        match (self.body, body) {
            (BodyRule::None, None) => Ok(()),
            (BodyRule::None, Some(_)) => Err(format!("{} takes no body", self.id)),
            (BodyRule::Required(_), None) => Err(format!("{} needs a JSON body", self.id)),
            (BodyRule::Required(fields), Some(body)) => {
                match fields.iter().find(|f| lookup(body, f).is_none()) {
                    Some(missing) => Err(format!("{}: the body lacks {missing}", self.id)),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The value at a dotted path, e.g. `channel.config.uri`.
pub fn lookup<'v>(value: &'v serde_json::Value, dotted: &str) -> Option<&'v serde_json::Value> {
    dotted
        .split('.')
        .try_fold(value, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_is_matched_to_its_template_segment_by_segment() {
        assert_eq!(
            find("GET", "/api/v1/users/00u1").map(|o| o.id),
            Some("getUser")
        );
        assert_eq!(
            find("get", "/api/v1/users/a%40b.com/groups").map(|o| o.id),
            Some("listUserGroups")
        );
        assert_eq!(
            find("PUT", "/api/v1/groups/00g1/users/00u1").map(|o| o.id),
            Some("assignUserToGroup")
        );
        assert_eq!(
            find("GET", "/api/v1/meta/types/user").map(|o| o.id),
            Some("listUserTypes")
        );
        assert!(find("PATCH", "/api/v1/users/00u1").is_none());
        assert!(find("GET", "/api/v1/users/00u1/nothing").is_none());
    }

    #[test]
    fn query_values_are_checked_by_name_and_type() {
        let users = operation("listUsers");
        assert!(users.check_param("limit", "200").is_ok());
        assert!(users.check_param("limit", "lots").is_err());
        assert!(
            users
                .check_param("colour", "red")
                .unwrap_err()
                .contains("search")
        );
        let logs = operation("listLogEvents");
        assert!(logs.check_param("sortOrder", "DESCENDING").is_ok());
        assert!(logs.check_param("sortOrder", "desc").is_err());
        assert!(
            operation("deleteUser")
                .check_param("sendEmail", "yes")
                .is_err()
        );
    }

    #[test]
    fn required_body_fields_are_checked_by_dotted_path() {
        let hook = operation("createEventHook");
        let mut body = json!({"name": "n", "events": {"type": "EVENT_TYPE", "items": []},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://x"}}});
        assert!(hook.check_body(Some(&body)).is_ok());
        body["channel"]["config"] = json!({});
        assert!(
            hook.check_body(Some(&body))
                .unwrap_err()
                .contains("channel.config.uri")
        );
        assert!(
            operation("suspendUser")
                .check_body(Some(&json!({})))
                .is_err()
        );
        assert!(operation("createUser").check_body(None).is_err());
    }

    #[test]
    fn every_operation_id_and_route_is_unique() {
        for (i, a) in OPERATIONS.iter().enumerate() {
            for b in &OPERATIONS[i + 1..] {
                assert_ne!(a.id, b.id);
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} and {}",
                    a.id,
                    b.id
                );
            }
        }
        assert_eq!(OPERATIONS.len(), 44);
    }
}
