//! Lists: query-string building for list operations and [`Listing`], which reads a list one
//! page at a time (or follows every page, up to a cap) and tells where the next page starts.

use serde_json::Value;
use url::Url;

use super::Call;
use crate::okta::{OktaClient, OktaError, Pages};

/// The parameters of a searchable listing (`listUsers`, `listGroups`): `search` and `filter`
/// expressions, `q` prefix match, paging, sorting, `expand`, and any other parameter in `extra`.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub search: Option<String>,
    pub filter: Option<String>,
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<SortOrder>,
    /// Users: e.g. `classification`; groups: `stats`, `app` or `stats,app`.
    pub expand: Option<String>,
    /// Other query parameters (e.g. users `fields`).
    pub extra: Vec<(String, String)>,
}

impl SearchQuery {
    pub(super) fn query(&self) -> Query {
        Query::new()
            .opt("search", self.search.as_ref())
            .opt("filter", self.filter.as_ref())
            .opt("q", self.q.as_ref())
            .opt("limit", self.limit)
            .opt("after", self.after.as_ref())
            .opt("sortBy", self.sort_by.as_ref())
            .opt("sortOrder", self.sort_order)
            .opt("expand", self.expand.as_ref())
            .extend(&self.extra)
    }
}

/// Query parameters in the order they are sent.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn new() -> Query {
        Query::default()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Adds `name=value`.
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Query {
        self.0.push((name.to_owned(), value.into()));
        self
    }

    /// Adds `name=value` when there is a value.
    pub fn opt(self, name: &str, value: Option<impl ToString>) -> Query {
        match value {
            Some(v) => self.set(name, v.to_string()),
            None => self,
        }
    }

    /// Adds `name=true|false` always, so Okta's (sometimes surprising) default never applies.
    pub fn flag(self, name: &str, value: bool) -> Query {
        self.set(name, value.to_string())
    }

    /// Adds `name=true` only when set.
    pub fn flag_if(self, name: &str, value: bool) -> Query {
        if value { self.set(name, "true") } else { self }
    }

    /// Adds caller-supplied extra parameters (still checked against the operation's spec).
    pub fn extend(mut self, extra: &[(String, String)]) -> Query {
        self.0.extend(extra.iter().cloned());
        self
    }
}

/// `sortOrder` for users, groups and realms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl std::fmt::Display for SortOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        })
    }
}

/// One page of a list, parsed, and the link to the page after it.
#[derive(Debug, Default)]
pub struct ListPage {
    pub items: Vec<Value>,
    pub next: Option<Url>,
}

impl ListPage {
    /// The `after` cursor of the next page, when there is one.
    pub fn after(&self) -> Option<String> {
        self.next.as_ref().and_then(after_cursor)
    }
}

/// The `after` value in a `next` link.
pub fn after_cursor(next: &Url) -> Option<String> {
    next.query_pairs()
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v.into_owned())
}

/// A list read page by page, following Okta's `next` links exactly as sent.
#[derive(Debug)]
pub struct Listing {
    pages: Pages,
}

impl Listing {
    /// Starts reading the list that `call` (a GET) asks for.
    pub fn new(client: &OktaClient, call: Call) -> Result<Listing, OktaError> {
        Ok(Listing {
            pages: client.pages(call.request.url.as_str(), &[])?,
        })
    }

    /// The next page, or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<ListPage>, OktaError> {
        let Some(page) = self.pages.next_page().await? else {
            return Ok(None);
        };
        let items = page.parse::<Value>().map_err(|e| OktaError::Decode {
            method: "GET".into(),
            path: String::new(),
            detail: e.to_string(),
            request_id: page.request_id.clone().unwrap_or_default(),
        })?;
        Ok(Some(ListPage {
            items,
            next: page.next,
        }))
    }

    /// Only the first page.
    pub async fn first_page(mut self) -> Result<ListPage, OktaError> {
        Ok(self.next_page().await?.unwrap_or_default())
    }

    /// Every page until one has no `next` link or comes back empty (System Log polling never
    /// ends otherwise), keeping at most `max` items. `next` is where reading stopped; it is
    /// `None` when the list ended or when `max` cut a page short (no cursor resumes mid-page).
    pub async fn collect(mut self, max: Option<usize>) -> Result<ListPage, OktaError> {
        let mut all = ListPage::default();
        while let Some(page) = self.next_page().await? {
            let empty = page.items.is_empty();
            all.items.extend(page.items);
            all.next = page.next;
            if let Some(max) = max.filter(|m| all.items.len() >= *m) {
                if all.items.len() > max {
                    all.items.truncate(max);
                    all.next = None;
                }
                break;
            }
            if empty || all.next.is_none() {
                break;
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_after_cursor_is_read_from_the_next_link() {
        let next = Url::parse("https://o.okta.com/api/v1/users?limit=2&after=00u9").unwrap();
        assert_eq!(after_cursor(&next).as_deref(), Some("00u9"));
        let none = Url::parse("https://o.okta.com/api/v1/users?limit=2").unwrap();
        assert_eq!(after_cursor(&none), None);
    }

    #[test]
    fn query_flags_are_always_explicit_and_optional_values_only_when_given() {
        let q = Query::new()
            .flag("sendEmail", false)
            .flag_if("useOptimization", false)
            .opt("limit", Some(5))
            .opt("q", None::<String>);
        let pairs: Vec<(&str, &str)> = q
            .pairs()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(pairs, [("sendEmail", "false"), ("limit", "5")]);
    }
}
