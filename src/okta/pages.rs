//! Pagination: a list is read one page at a time by following the `Link: rel="next"` URL exactly
//! as Okta sent it, so memory stays one page deep and no cursor is ever built by hand.

use reqwest::Method;
use serde_json::value::RawValue;
use url::Url;

use super::client::{OktaClient, Request};
use super::error::OktaError;
use super::link::find_rel;

/// One page of a list: the items exactly as Okta sent them, and where the next page is.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Box<RawValue>>,
    /// The `next` link; `None` on the last page. System Log polling always has one.
    pub next: Option<Url>,
    pub request_id: Option<String>,
}

impl Page {
    /// The items as typed values.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, serde_json::Error> {
        self.items
            .iter()
            .map(|raw| serde_json::from_str(raw.get()))
            .collect()
    }
}

/// Reads a list page by page. Call [`Pages::next_page`] until it returns `None`.
///
/// For System Log polling, where every page has a `next` link, stop at the first empty page and
/// keep its `next` link to resume from later.
#[derive(Debug)]
pub struct Pages {
    client: OktaClient,
    next: Option<Url>,
}

impl OktaClient {
    /// The pages of `GET path?query`.
    pub fn pages(&self, path: &str, query: &[(&str, &str)]) -> Result<Pages, OktaError> {
        Ok(Pages {
            next: Some(self.url(path, query)?),
            client: self.clone(),
        })
    }

    /// The pages starting at a stored `next` link (which must belong to this org).
    pub fn pages_from(&self, next: &str) -> Result<Pages, OktaError> {
        Ok(Pages {
            next: Some(self.url(next, &[])?),
            client: self.clone(),
        })
    }
}

impl Pages {
    /// Fetches the next page, or `None` once the previous page had no `next` link.
    pub async fn next_page(&mut self) -> Result<Option<Page>, OktaError> {
        match self.next_unparsed().await? {
            Some(page) => page.parse().map(Some),
            None => Ok(None),
        }
    }

    /// As [`Pages::next_page`], leaving the body to be split into items later (by
    /// [`Unparsed::parse`]), so the following request need not wait for it.
    pub async fn next_unparsed(&mut self) -> Result<Option<Unparsed>, OktaError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let path = url.path().to_owned();
        let response = self
            .client
            .execute(Request::new(Method::GET, url.clone()))
            .await?;
        let next = match find_rel(response.header_values("link"), "next") {
            Some(link) => {
                let next = url.join(link).map_err(|e| OktaError::Decode {
                    method: "GET".into(),
                    path: path.clone(),
                    detail: format!("bad next link {link:?}: {e}"),
                    request_id: response.request_id.clone().unwrap_or_default(),
                })?;
                self.client.check_origin(&next)?;
                Some(next)
            }
            None => None,
        };
        self.next = next.clone();
        Ok(Some(Unparsed {
            body: response.body,
            next,
            request_id: response.request_id,
            path,
        }))
    }
}

/// A page as received, its body not yet split into items.
#[derive(Debug)]
pub struct Unparsed {
    pub body: Vec<u8>,
    pub next: Option<Url>,
    pub request_id: Option<String>,
    path: String,
}

impl Unparsed {
    /// Whether the body is an empty JSON array (a System Log polling query has caught up).
    pub fn is_empty(&self) -> bool {
        let text = self.body.trim_ascii();
        text.first() == Some(&b'[')
            && text.last() == Some(&b']')
            && text[1..text.len() - 1].trim_ascii().is_empty()
    }

    /// Splits the body into its items.
    pub fn parse(self) -> Result<Page, OktaError> {
        let items: Vec<Box<RawValue>> =
            serde_json::from_slice(&self.body).map_err(|e| OktaError::Decode {
                method: "GET".into(),
                path: self.path,
                detail: format!("expected a JSON array: {e}"),
                request_id: self.request_id.clone().unwrap_or_default(),
            })?;
        Ok(Page {
            items,
            next: self.next,
            request_id: self.request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unparsed(body: &str) -> Unparsed {
        Unparsed {
            body: body.as_bytes().to_vec(),
            next: None,
            request_id: None,
            path: "/api/v1/logs".into(),
        }
    }

    #[test]
    fn only_an_empty_array_reads_as_an_empty_page() {
        for empty in ["[]", " [ \n ] ", "[\r\n]\n"] {
            assert!(unparsed(empty).is_empty(), "{empty:?}");
        }
        for not in ["[{}]", "[1]", "", "{}", "[ {\"a\": []} ]"] {
            assert!(!unparsed(not).is_empty(), "{not:?}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_array_is_a_decode_error_naming_the_path() {
        let err = unparsed("{\"a\":1}").parse().unwrap_err();
        assert!(err.to_string().contains("/api/v1/logs"), "{err}");
        assert_eq!(unparsed("[{\"a\":1},{}]").parse().unwrap().items.len(), 2);
    }
}
