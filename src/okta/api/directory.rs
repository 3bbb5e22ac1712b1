//! Read-only org listings: policies, realms, user types and the System Log.

use super::list::{Listing, Query, SortOrder};
use super::ops::POLICY_TYPES;
use crate::okta::{OktaClient, OktaError};

/// `GET /api/v1/policies` parameters; `policy_type` is required by Okta.
#[derive(Debug, Clone, Default)]
pub struct PolicyQuery {
    /// One of [`POLICY_TYPES`], e.g. `PASSWORD` or `OKTA_SIGN_ON`.
    pub policy_type: String,
    pub status: Option<String>,
    pub q: Option<String>,
    pub expand: Option<String>,
    pub sort_by: Option<String>,
    pub resource_id: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// `GET /api/v1/realms` parameters.
#[derive(Debug, Clone, Default)]
pub struct RealmQuery {
    /// Only `profile.name co "…"` (eventually consistent).
    pub search: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<SortOrder>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// System Log order by `published`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogSortOrder {
    Ascending,
    Descending,
}

impl std::fmt::Display for LogSortOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogSortOrder::Ascending => "ASCENDING",
            LogSortOrder::Descending => "DESCENDING",
        })
    }
}

/// `GET /api/v1/logs` parameters. `since` and `until` are ISO 8601 (RFC 3339) times.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filter: Option<String>,
    pub q: Option<String>,
    pub sort_order: Option<LogSortOrder>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

fn check_time(field: &str, value: &Option<String>) -> Result<(), OktaError> {
    match value {
        Some(v) if chrono::DateTime::parse_from_rfc3339(v).is_err() => Err(OktaError::invalid(
            field,
            format!("{v:?} is not an ISO 8601 time such as 2024-05-01T00:00:00Z"),
        )),
        _ => Ok(()),
    }
}

impl OktaClient {
    /// Policies of one type.
    pub fn list_policies(&self, query: &PolicyQuery) -> Result<Listing, OktaError> {
        if !POLICY_TYPES.contains(&query.policy_type.as_str()) {
            return Err(OktaError::invalid(
                "type",
                format!(
                    "{:?} is not one of {}",
                    query.policy_type,
                    POLICY_TYPES.join(", ")
                ),
            ));
        }
        let q = Query::new()
            .set("type", query.policy_type.clone())
            .opt("status", query.status.as_ref())
            .opt("q", query.q.as_ref())
            .opt("expand", query.expand.as_ref())
            .opt("sortBy", query.sort_by.as_ref())
            .opt("resourceId", query.resource_id.as_ref())
            .opt("limit", query.limit)
            .opt("after", query.after.as_ref());
        Listing::new(self, self.call("listPolicies", &["policies"], q, None)?)
    }

    /// Realms.
    pub fn list_realms(&self, query: &RealmQuery) -> Result<Listing, OktaError> {
        let q = Query::new()
            .opt("limit", query.limit)
            .opt("after", query.after.as_ref())
            .opt("search", query.search.as_ref())
            .opt("sortBy", query.sort_by.as_ref())
            .opt("sortOrder", query.sort_order);
        Listing::new(self, self.call("listRealms", &["realms"], q, None)?)
    }

    /// User types (at most ten; not paged).
    pub fn list_user_types(&self) -> Result<Listing, OktaError> {
        let call = self.call(
            "listUserTypes",
            &["meta", "types", "user"],
            Query::new(),
            None,
        )?;
        Listing::new(self, call)
    }

    /// System Log events. `after` cannot be combined with `since`.
    pub fn list_logs(&self, query: &LogQuery) -> Result<Listing, OktaError> {
        check_time("since", &query.since)?;
        check_time("until", &query.until)?;
        if query.after.is_some() && query.since.is_some() {
            return Err(OktaError::invalid(
                "after",
                "Okta does not accept after together with since; the cursor already says where to start",
            ));
        }
        if query.limit.is_some_and(|l| l > 1000) {
            return Err(OktaError::invalid(
                "limit",
                "the System Log takes at most 1000 per page",
            ));
        }
        let q = Query::new()
            .opt("since", query.since.as_ref())
            .opt("until", query.until.as_ref())
            .opt("after", query.after.as_ref())
            .opt("filter", query.filter.as_ref())
            .opt("q", query.q.as_ref())
            .opt("limit", query.limit)
            .opt("sortOrder", query.sort_order);
        Listing::new(self, self.call("listLogEvents", &["logs"], q, None)?)
    }
}
