//! One call to a `/oauth2/v1` endpoint as its steps see it: the form body (checked to be
//! form-encoded, each parameter at most once), the headers, the clock, the authorization
//! server's state, and the client the request names, kept for the statistics.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

use super::apps::Registry;
use super::error::OAuthError;
use super::store::Store;
use crate::state::Shared;

/// Decoded form parameters; an empty value counts as absent.
#[derive(Debug, Default)]
pub(crate) struct Form(BTreeMap<String, String>);

impl Form {
    /// Parse a form body; anything but `application/x-www-form-urlencoded` is refused.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "The request must be form-encoded: send Content-Type: application/x-www-form-urlencoded.",
            ));
        }
        Form::from_query(body)
    }

    /// Parse `a=b&c=d` (a form body or a query string).
    pub fn from_query(raw: &[u8]) -> Result<Form, OAuthError> {
        let mut out = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(raw).into_owned() {
            if out.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "The '{k}' parameter was sent more than once."
                )));
            }
        }
        Ok(Form(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::missing(name))
    }
}

/// A call to `/token` or `/revoke`, threaded through its steps.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub store: &'a mut Store,
    pub headers: &'a HeaderMap,
    pub form: Form,
    pub now_ms: i64,
    /// The client the request names, as soon as it is known (for `/__sim/oauth`).
    pub client: Option<String>,
}

impl<'a> Call<'a> {
    pub fn now_s(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    pub fn registry(&self) -> &'a Registry {
        &self.shared.oauth
    }

    /// The audience of client assertions and the `htu` of token-request proofs.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v1/token", self.shared.base_url)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn form_headers(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    #[test]
    fn only_form_encoded_bodies_are_read() {
        let body = b"grant_type=client_credentials&scope=a+b";
        let ok = Form::parse(
            &form_headers("application/x-www-form-urlencoded; charset=UTF-8"),
            body,
        );
        assert_eq!(ok.unwrap().get("scope"), Some("a b"));
        let json = Form::parse(&form_headers("application/json"), body);
        assert_eq!(json.unwrap_err().error, "invalid_request");
        assert!(Form::parse(&HeaderMap::new(), body).is_err());
    }

    #[test]
    fn a_repeated_parameter_is_refused_and_an_empty_one_is_absent() {
        let e = Form::from_query(b"scope=a&scope=b").unwrap_err();
        assert!(e.description.contains("'scope'"));
        let f = Form::from_query(b"scope=&x=1").unwrap();
        assert_eq!((f.get("scope"), f.get("x")), (None, Some("1")));
        assert_eq!(f.require("scope").unwrap_err().error, "invalid_request");
    }
}
