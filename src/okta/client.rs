//! `OktaClient`: sends one logical request to the configured org and brings back one answer,
//! pacing under the rate limit, waiting out 429s by the `Date` header, and retrying server and
//! network failures with exponential backoff, without ever replaying a write that may have landed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use url::Url;

use super::auth::{AuthHeaders, Authorizer, GrantStore};
use super::error::{ApiError, OktaError};
use super::rate_limit::{Governor, RateInfo, bucket};
pub use super::request::Request;
use super::request::{RetryPolicy, Upload};
use crate::config::{Credentials, OktaSettings, is_loopback};

const USER_AGENT: &str = concat!("oktasync/", env!("CARGO_PKG_VERSION"));

/// How the client retries and paces. `OktaSettings` fills it from the config.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub rate_limit_share: f64,
    pub request_timeout: Duration,
    pub max_retries: usize,
    /// The longest single wait after a 429.
    pub max_rate_limit_wait: Duration,
    /// The most time one request may spend waiting between its attempts.
    pub max_retry_time: Duration,
    /// The first backoff delay after a 5xx or network error; it doubles from there.
    pub min_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            rate_limit_share: 0.5,
            request_timeout: Duration::from_secs(30),
            max_retries: 4,
            max_rate_limit_wait: Duration::from_secs(120),
            max_retry_time: Duration::from_secs(600),
            min_backoff: Duration::from_millis(250),
        }
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

/// Request and 429 counts since the client was made, for run history and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    pub rate_limited: u64,
    pub retries: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
}

/// The client for one Okta org. Cheap to clone; clones share the rate-limit governor.
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    org: Url,
    auth: Authorizer,
    governor: Governor,
    opts: ClientOptions,
    counters: Counters,
}

impl std::fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaClient")
            .field("org", &self.inner.org.as_str())
            .field("auth", &self.inner.auth.credentials().kind())
            .finish()
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Response),
    /// The error, and the serial of the access token the request carried.
    Failed(OktaError, u64),
    /// A 429: wait this long, then send again.
    RateLimited(OktaError, Duration),
}

impl OktaClient {
    /// A client with the configured connection. `store` keeps the refresh token of the
    /// authorization-code flow (the state database); the other connections need none.
    pub fn from_settings(
        settings: &OktaSettings,
        store: Option<Arc<dyn GrantStore>>,
    ) -> Result<OktaClient, OktaError> {
        let opts = ClientOptions {
            rate_limit_share: settings.rate_limit_share,
            request_timeout: settings.request_timeout,
            max_retries: settings.max_retries,
            ..ClientOptions::default()
        };
        OktaClient::with_credentials(
            settings.org.clone(),
            settings.credentials.clone(),
            opts,
            store,
        )
    }

    /// A client for `org` (`https://…`, or `http://` on loopback only) with an API token.
    pub fn new(
        org: Url,
        token: SecretString,
        opts: ClientOptions,
    ) -> Result<OktaClient, OktaError> {
        OktaClient::with_credentials(org, Credentials::ApiToken(token), opts, None)
    }

    /// A client for `org` with any connection.
    pub fn with_credentials(
        org: Url,
        credentials: Credentials,
        opts: ClientOptions,
        store: Option<Arc<dyn GrantStore>>,
    ) -> Result<OktaClient, OktaError> {
        let host = org.host_str().unwrap_or_default();
        if org.scheme() != "https" && !(org.scheme() == "http" && is_loopback(host)) {
            return Err(OktaError::Setup(format!(
                "{org} is not https: the API token is only sent over HTTPS (plain http only to loopback)"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(opts.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OktaError::Setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(OktaClient {
            inner: Arc::new(Inner {
                auth: Authorizer::new(credentials, org.clone(), http.clone(), store),
                http,
                org,
                governor: Governor::new(opts.rate_limit_share),
                opts,
                counters: Counters::default(),
            }),
        })
    }

    pub fn org(&self) -> &Url {
        &self.inner.org
    }

    /// How requests are authorized: the token cache, logins and `auth status`.
    pub fn auth(&self) -> &Authorizer {
        &self.inner.auth
    }

    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    /// Resolves `path` (`/api/v1/…`) or a full URL of this org, adding `query`. Anything that
    /// would leave the org is refused, so the token never does.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, OktaError> {
        let mut url = if path.contains("://") {
            Url::parse(path).map_err(|e| OktaError::Setup(format!("{path:?} is not a URL: {e}")))?
        } else if path.starts_with('/') {
            self.inner
                .org
                .join(path)
                .map_err(|e| OktaError::Setup(format!("{path:?}: {e}")))?
        } else {
            return Err(OktaError::Setup(format!(
                "{path:?} must start with /api/v1/ or be a full URL of the org"
            )));
        };
        self.check_origin(&url)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    pub(crate) fn check_origin(&self, url: &Url) -> Result<(), OktaError> {
        let org = &self.inner.org;
        let same = url.scheme() == org.scheme()
            && url.host_str().map(str::to_ascii_lowercase)
                == org.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == org.port_or_known_default();
        if same {
            Ok(())
        } else {
            Err(OktaError::ForeignOrigin {
                url: url.to_string(),
                org: org.to_string(),
            })
        }
    }

    /// `GET path?query` and parse the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, OktaError> {
        let response = self
            .execute(Request::new(Method::GET, self.url(path, query)?))
            .await?;
        response.json()
    }

    /// Sends `req`, pacing and retrying as configured. Returns the first 2xx answer, or the error
    /// that ended the attempts.
    pub async fn execute(&self, req: Request) -> Result<Response, OktaError> {
        self.check_origin(&req.url)?;
        let opts = &self.inner.opts;
        let mut backoff = self.backoff(req.policy.as_ref());
        let mut waited = Duration::ZERO;
        let mut retry_for: Option<String> = None;
        let mut reauthorized = false;
        for attempt in 1u32.. {
            let (outcome, request_id) = self.attempt(&req, attempt, retry_for.as_deref()).await;
            let (error, wait) = match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Failed(e, serial) if self.reauthorize(&e, serial, reauthorized).await => {
                    reauthorized = true;
                    retry_for = request_id;
                    continue;
                }
                Attempt::Failed(e, _) if !self.may_retry(&req, &e) => {
                    return Err(with_attempts(e, attempt));
                }
                Attempt::Failed(e, _) => (e, None),
                Attempt::RateLimited(e, wait) => (e, Some(wait)),
            };
            let Some(backoff_delay) = backoff.next() else {
                return Err(with_attempts(error, attempt));
            };
            let delay = wait.map_or(backoff_delay, |w| {
                (w + jitter()).min(opts.max_rate_limit_wait)
            });
            if waited + delay > opts.max_retry_time {
                return Err(with_attempts(error, attempt));
            }
            tracing::warn!(
                method = %req.method, path = req.url.path(), attempt, wait_ms = delay.as_millis() as u64,
                request_id = request_id.as_deref().unwrap_or(""), error = %error, "retrying"
            );
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            crate::metrics::global().okta_retry(bucket(req.method.as_str(), req.url.path()));
            waited += delay;
            retry_for = request_id;
            tokio::time::sleep(delay).await;
        }
        unreachable!("the attempt loop only ends by returning")
    }

    /// After a 401 to an OAuth access token (expired early, revoked, or a DPoP nonce asked for),
    /// the request is sent once more at once, with a new token or the new nonce.
    async fn reauthorize(&self, err: &OktaError, serial: u64, already: bool) -> bool {
        let OktaError::Api(api) = err else {
            return false;
        };
        if already || api.status != 401 || !self.inner.auth.is_oauth() {
            return false;
        }
        tracing::debug!(path = %api.path, "access token refused; renewing it once");
        self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
        self.inner
            .auth
            .refused(serial, api.www_authenticate.as_deref())
            .await;
        true
    }

    /// The waits between attempts: the client's exponential backoff, or the request's own policy
    /// (a fixed delay, or exponential from its delay).
    fn backoff(&self, policy: Option<&RetryPolicy>) -> Box<dyn Iterator<Item = Duration> + Send> {
        let opts = &self.inner.opts;
        let retries = policy.and_then(|p| p.retries).unwrap_or(opts.max_retries);
        let delay = policy.and_then(|p| p.retry_delay);
        match delay {
            Some(d) if !policy.is_some_and(|p| p.exponential_backoff) => {
                Box::new(std::iter::repeat_n(d, retries))
            }
            _ => Box::new(
                ExponentialBuilder::default()
                    .with_min_delay(delay.unwrap_or(opts.min_backoff))
                    .with_max_delay(Duration::from_secs(30))
                    .with_max_times(retries)
                    .with_jitter()
                    .build(),
            ),
        }
    }

    /// A failed attempt is sent again only when that cannot apply a write twice: a 429 (Okta did
    /// not process it), a connection that never opened, or any failure of an idempotent method.
    /// A request whose policy says `retry_all_errors` is sent again after any failure.
    fn may_retry(&self, req: &Request, err: &OktaError) -> bool {
        if req.policy.as_ref().is_some_and(|p| p.retry_all_errors) {
            return true;
        }
        match err {
            OktaError::Transport { connect: true, .. } => true,
            _ => err.is_retryable() && req.is_idempotent(),
        }
    }

    async fn attempt(
        &self,
        req: &Request,
        attempt: u32,
        retry_for: Option<&str>,
    ) -> (Attempt, Option<String>) {
        let bucket = bucket(req.method.as_str(), req.url.path());
        self.inner
            .governor
            .acquire(bucket, self.inner.opts.max_rate_limit_wait)
            .await;
        let auth = match self.inner.auth.headers(req.method.as_str(), &req.url).await {
            Ok(auth) => auth,
            Err(e) => return (Attempt::Failed(e, 0), None),
        };
        let serial = auth.serial;
        self.inner.counters.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let sent = self.build(req, auth, attempt, retry_for).send().await;
        let received = Instant::now();
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.inner.governor.observe(bucket, None, received);
                crate::metrics::global().okta_response(bucket, None, None);
                return (Attempt::Failed(transport(req, &e), serial), None);
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        self.inner.auth.observe(&headers);
        let info = RateInfo::from_headers(&headers);
        self.inner.governor.observe(bucket, info, received);
        let limits = info.map(|i| (i.limit, i.remaining));
        crate::metrics::global().okta_response(bucket, Some(status.as_u16()), limits);
        let request_id = header_str(&headers, "x-okta-request-id");
        tracing::debug!(
            method = %req.method, path = req.url.path(), status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or(""), elapsed_ms = started.elapsed().as_millis() as u64,
            "okta request"
        );
        let body = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return (Attempt::Failed(transport(req, &e), serial), request_id),
        };
        if status.is_success() {
            let response = Response {
                status: status.as_u16(),
                headers,
                body,
                request_id: request_id.clone(),
            };
            return (Attempt::Done(response), request_id);
        }
        let mut error = ApiError::from_response(
            status.as_u16(),
            req.method.as_str(),
            req.url.path(),
            &body,
            request_id.clone(),
        );
        error.www_authenticate = header_str(&headers, "www-authenticate");
        let error = OktaError::Api(Box::new(error));
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.inner
                .counters
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
            let wait = info.map_or(Duration::from_secs(1), |i| i.retry_after());
            return (Attempt::RateLimited(error, wait), request_id);
        }
        (Attempt::Failed(error, serial), request_id)
    }

    fn build(
        &self,
        req: &Request,
        auth: AuthHeaders,
        attempt: u32,
        retry_for: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), req.url.clone())
            .header(header::AUTHORIZATION, auth.authorization)
            .header(header::ACCEPT, "application/json");
        if let Some(proof) = auth.dpop {
            builder = builder.header("DPoP", proof);
        }
        if let Some(timeout) = req.policy.as_ref().and_then(|p| p.timeout) {
            builder = builder.timeout(timeout);
        }
        builder = match (&req.upload, &req.body) {
            (Some(Upload::Form(fields)), _) => builder.form(fields),
            (Some(Upload::Multipart(parts)), _) => {
                builder.multipart(super::request::multipart_form(parts))
            }
            (None, Some(body)) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).unwrap_or_default()),
            (None, None) if matches!(req.method, Method::POST | Method::PUT) => {
                builder.header(header::CONTENT_LENGTH, "0").body(Vec::new())
            }
            (None, None) => builder,
        };
        if attempt > 1 {
            builder = builder.header("X-Okta-Retry-Count", (attempt - 1).to_string());
            if let Some(id) = retry_for {
                builder = builder.header("X-Okta-Retry-For", id);
            }
        }
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        builder
    }
}

impl Response {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, OktaError> {
        serde_json::from_slice(&self.body).map_err(|e| OktaError::Decode {
            method: String::new(),
            path: String::new(),
            detail: e.to_string(),
            request_id: self.request_id.clone().unwrap_or_default(),
        })
    }

    /// Every value of a header, e.g. each `Link` line.
    pub fn header_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn transport(req: &Request, e: &reqwest::Error) -> OktaError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    OktaError::Transport {
        method: req.method.to_string(),
        path: req.url.path().to_owned(),
        detail,
        timeout: e.is_timeout(),
        connect: e.is_connect(),
    }
}

fn with_attempts(mut e: OktaError, attempts: u32) -> OktaError {
    if let OktaError::Api(api) = &mut e {
        api.attempts = attempts;
    }
    e
}

/// Up to a second of jitter, so clients released by the same reset do not stampede.
fn jitter() -> Duration {
    Duration::from_millis(rand::random_range(0..1000))
}
