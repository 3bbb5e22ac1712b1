//! Building responses the way Okta shapes them: the error object, JSON bodies, query
//! parameters, page-size rules and absolute `Link` headers (one header line per relation).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::util::{Rng, hex_id, mix2, now_ms};

/// An Okta error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

pub type ApiResult = Result<Response, ApiError>;

impl ApiError {
    pub fn new(status: u16, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            summary: summary.into(),
            causes: vec![],
        }
    }

    pub fn cause(mut self, c: impl Into<String>) -> Self {
        self.causes.push(c.into());
        self
    }

    /// E0000007 naming the missing resource and its kind (`User`, `UserGroup`, …), as Okta does.
    pub fn not_found(what: &str, kind: &str) -> Self {
        ApiError::new(
            404,
            "E0000007",
            format!("Not found: Resource not found: {what} ({kind})"),
        )
    }

    /// E0000008: no such endpoint.
    pub fn path_not_found() -> Self {
        ApiError::new(404, "E0000008", "The requested path was not found")
    }

    /// E0000001 with one cause, e.g. `validation("login", "login: An object …")`.
    pub fn validation(field: &str, cause: impl Into<String>) -> Self {
        ApiError::new(400, "E0000001", format!("Api validation failed: {field}")).cause(cause)
    }

    pub fn bad_json() -> Self {
        ApiError::new(400, "E0000003", "The request body was not well-formed.")
    }

    pub fn body(&self) -> Value {
        let causes: Vec<Value> = self
            .causes
            .iter()
            .map(|c| json!({"errorSummary": c}))
            .collect();
        // Unique even for errors within the same millisecond.
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let id = format!("oae{}", hex_id(&mut Rng::new(mix2(now_ms() as u64, n)), 10));
        json!({"errorCode": self.code, "errorSummary": self.summary, "errorLink": self.code,
            "errorId": id, "errorCauses": causes})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, json_body(&self.body())).into_response()
    }
}

/// A JSON body with Okta's content type.
pub fn json_body(v: &Value) -> Response {
    let mut r = Response::new(axum::body::Body::from(v.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn ok(v: Value) -> ApiResult {
    Ok(json_body(&v))
}

pub fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Parse a JSON request body; an empty body is `None`.
pub fn parse_body(body: &Bytes) -> Result<Option<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|_| ApiError::bad_json())
}

/// Decoded query parameters, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str, default: bool) -> bool {
        self.get(name)
            .map(|v| v.eq_ignore_ascii_case("true"))
            .unwrap_or(default)
    }

    /// `limit` clamped to `max`; absent = `default`; non-numeric or negative = 400.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => Ok((n as usize).min(max)),
                Ok(-1) => Ok(default),
                _ => Err(ApiError::validation(
                    "limit",
                    format!("limit: Invalid limit value {v:?}"),
                )),
            },
        }
    }

    /// The same parameters with `after` set to `cursor` (and any names in `drop` removed).
    pub fn with_after(&self, cursor: &str, drop: &[&str]) -> String {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if k != "after" && !drop.contains(&k.as_str()) {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("after", cursor);
        ser.finish()
    }
}

/// A page: the items, plus the `self` and optional `next` links as separate header lines.
pub fn page(
    base: &str,
    path: &str,
    raw_query: Option<&str>,
    items: Vec<Value>,
    next: Option<String>,
) -> ApiResult {
    page_body(base, path, raw_query, Value::Array(items).to_string(), next)
}

/// A page whose JSON array is already written.
pub fn page_body(
    base: &str,
    path: &str,
    raw_query: Option<&str>,
    body: String,
    next: Option<String>,
) -> ApiResult {
    let mut r = Response::new(axum::body::Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let self_url = match raw_query {
        Some(q) if !q.is_empty() => format!("{base}{path}?{q}"),
        _ => format!("{base}{path}"),
    };
    let mut add = |url: &str, rel: &str| {
        if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"{rel}\"")) {
            r.headers_mut().append(header::LINK, v);
        }
    };
    add(&self_url, "self");
    if let Some(q) = next {
        add(&format!("{base}{path}?{q}"), "next");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_each_endpoints_default_and_maximum() {
        let p = |q: &str| Params::parse(Some(q));
        assert_eq!(p("").limit(200, 200).unwrap(), 200);
        assert_eq!(p("limit=500").limit(200, 200).unwrap(), 200);
        assert_eq!(p("limit=7").limit(200, 200).unwrap(), 7);
        assert_eq!(p("limit=-1").limit(20, 200).unwrap(), 20);
        assert!(p("limit=abc").limit(200, 200).is_err());
    }

    #[test]
    fn next_queries_keep_the_parameters_and_replace_after() {
        let p = Params::parse(Some(
            "limit=2&after=old&search=status%20eq%20%22ACTIVE%22&since=x",
        ));
        assert_eq!(
            p.with_after("NEW", &["since"]),
            "limit=2&search=status+eq+%22ACTIVE%22&after=NEW"
        );
    }

    #[test]
    fn pages_send_self_and_next_as_separate_link_lines() {
        let r = page(
            "http://h",
            "/api/v1/users",
            Some("limit=1"),
            vec![],
            Some("limit=1&after=c".into()),
        )
        .unwrap();
        let links: Vec<_> = r
            .headers()
            .get_all(header::LINK)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            links,
            vec![
                "<http://h/api/v1/users?limit=1>; rel=\"self\"".to_string(),
                "<http://h/api/v1/users?limit=1&after=c>; rel=\"next\"".to_string(),
            ]
        );
    }

    #[test]
    fn errors_use_okta_error_object() {
        let e = ApiError::validation("login", "login: An object with this field already exists");
        let b = e.body();
        assert_eq!(b["errorCode"], "E0000001");
        assert_eq!(b["errorLink"], "E0000001");
        assert_eq!(
            b["errorCauses"][0]["errorSummary"],
            "login: An object with this field already exists"
        );
        assert!(b["errorId"].as_str().unwrap().starts_with("oae"));
    }
}
