//! Authorizing requests to the org. An [`Authorizer`] turns the configured connection into the
//! headers of each request: `SSWS <token>`, or an OAuth 2.0 access token (`Bearer`, or `DPoP`
//! with a fresh proof) that is fetched once, shared by every task of the process, renewed
//! before it expires and once after Okta refuses it. Refresh tokens of the authorization-code
//! flow live in a [`GrantStore`] (the state database), never in this module.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub mod dpop;
mod login;
pub mod scopes;
mod token;

pub use dpop::DpopKey;
pub use login::Pkce;
pub use token::TokenResponse;

use crate::config::{Credentials, DpopMode};
use crate::okta::error::OktaError;

/// A refresh token kept between processes, with the DPoP key it is bound to.
pub struct Grant {
    pub refresh_token: SecretString,
    pub scope: String,
    /// PKCS#8 of the DPoP key the grant was made with, when Okta bound it to one.
    pub dpop_key: Option<secrecy::SecretSlice<u8>>,
}

/// Where the authorization-code flow keeps its grant, per org and client id.
pub trait GrantStore: Send + Sync {
    fn load(&self, org: &str, client_id: &str) -> Result<Option<Grant>, String>;
    fn save(&self, org: &str, client_id: &str, grant: &Grant) -> Result<(), String>;
    /// Forgets the grant; true when there was one.
    fn clear(&self, org: &str, client_id: &str) -> Result<bool, String>;
}

/// An access token in use.
struct AccessToken {
    value: SecretString,
    dpop: bool,
    scopes: Vec<String>,
    expires_at: Instant,
    renew_at: Instant,
    serial: u64,
}

/// The headers that authorize one request, and which token they carry.
pub struct AuthHeaders {
    pub authorization: HeaderValue,
    pub dpop: Option<HeaderValue>,
    /// The token's serial number (0 for an API token), for [`Authorizer::refused`].
    pub serial: u64,
}

/// What `auth status` reports: never a token.
#[derive(Debug, serde::Serialize)]
pub struct TokenInfo {
    pub token_type: String,
    pub scopes: Vec<String>,
    pub expires_in_secs: u64,
    pub dpop: bool,
}

pub struct Authorizer {
    credentials: Credentials,
    org: Url,
    http: reqwest::Client,
    store: Option<Arc<dyn GrantStore>>,
    /// Proofs are sent at the token endpoint (and tokens come back DPoP-bound).
    dpop_on: AtomicBool,
    dpop_key: Mutex<Option<Arc<DpopKey>>>,
    nonce: Mutex<Option<String>>,
    token: tokio::sync::Mutex<Option<Arc<AccessToken>>>,
    serials: AtomicU64,
    token_requests: AtomicU64,
}

impl Authorizer {
    pub fn new(
        credentials: Credentials,
        org: Url,
        http: reqwest::Client,
        store: Option<Arc<dyn GrantStore>>,
    ) -> Authorizer {
        let always = dpop_mode(&credentials) == DpopMode::Always;
        Authorizer {
            credentials,
            org,
            http,
            store,
            dpop_on: AtomicBool::new(always),
            dpop_key: Mutex::new(None),
            nonce: Mutex::new(None),
            token: tokio::sync::Mutex::new(None),
            serials: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Token requests sent so far (for tests and `auth status`).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub fn is_oauth(&self) -> bool {
        !matches!(self.credentials, Credentials::ApiToken(_))
    }

    fn dpop_mode(&self) -> DpopMode {
        dpop_mode(&self.credentials)
    }

    fn client_id(&self) -> &str {
        match &self.credentials {
            Credentials::ApiToken(_) => "",
            Credentials::ClientCredentials(app) => &app.client_id,
            Credentials::AuthorizationCode(app) => &app.client_id,
        }
    }

    fn endpoint(&self, path: &str) -> Result<Url, OktaError> {
        self.org
            .join(path)
            .map_err(|e| OktaError::Setup(format!("{path}: {e}")))
    }

    fn dpop_key(&self) -> Result<Arc<DpopKey>, OktaError> {
        let mut slot = self.dpop_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = slot.as_ref() {
            return Ok(key.clone());
        }
        let key = Arc::new(DpopKey::generate().map_err(OktaError::Setup)?);
        *slot = Some(key.clone());
        Ok(key)
    }

    fn nonce(&self) -> Option<String> {
        self.nonce.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Remembers the latest `DPoP-Nonce` any answer carried.
    pub fn observe(&self, headers: &HeaderMap) {
        if let Some(nonce) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            *self.nonce.lock().unwrap_or_else(|p| p.into_inner()) = Some(nonce.to_owned());
        }
    }

    /// The headers for `method url`, fetching or renewing the access token first if needed.
    pub async fn headers(&self, method: &str, url: &Url) -> Result<AuthHeaders, OktaError> {
        if let Credentials::ApiToken(token) = &self.credentials {
            return Ok(AuthHeaders {
                authorization: sensitive(&format!("SSWS {}", token.expose_secret()))?,
                dpop: None,
                serial: 0,
            });
        }
        let token = self.access_token().await?;
        let value = token.value.expose_secret();
        let (scheme, dpop) = if token.dpop {
            let nonce = self.nonce();
            let proof = self
                .dpop_key()?
                .proof(method, url, Some(value), nonce.as_deref());
            ("DPoP", Some(sensitive(&proof.map_err(OktaError::Setup)?)?))
        } else {
            ("Bearer", None)
        };
        Ok(AuthHeaders {
            authorization: sensitive(&format!("{scheme} {value}"))?,
            dpop,
            serial: token.serial,
        })
    }

    /// Okta refused a request made with token `serial` (a 401): unless it only asked for a DPoP
    /// nonce (already remembered), that token is dropped so the next request gets a new one.
    pub async fn refused(&self, serial: u64, www_authenticate: Option<&str>) {
        if www_authenticate.is_some_and(|w| w.contains("use_dpop_nonce")) {
            return;
        }
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.serial == serial) {
            *slot = None;
        }
    }

    /// The current access token, or a new one when there is none or it is about to expire.
    async fn access_token(&self) -> Result<Arc<AccessToken>, OktaError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.clone());
        }
        let response = match &self.credentials {
            Credentials::AuthorizationCode(_) => self.refresh().await?,
            _ => self.client_credentials().await?,
        };
        let token = Arc::new(self.accept(response));
        *slot = Some(token.clone());
        Ok(token)
    }

    async fn client_credentials(&self) -> Result<TokenResponse, OktaError> {
        let Credentials::ClientCredentials(app) = &self.credentials else {
            return Err(OktaError::Setup("not a service app".into()));
        };
        let scope = app.scopes.join(" ");
        self.token_request(|| {
            vec![
                ("grant_type", "client_credentials".to_owned()),
                ("scope", scope.clone()),
            ]
        })
        .await
    }

    /// Turns a token answer into the token in use, renewed a fifth of its life (at most a
    /// minute, at least a second or half of a very short life) before it expires.
    fn accept(&self, response: TokenResponse) -> AccessToken {
        let now = Instant::now();
        let life = Duration::from_secs(response.expires_in.max(1));
        let margin = (life / 5)
            .min(Duration::from_secs(60))
            .max((life / 2).min(Duration::from_secs(1)));
        let dpop = response.token_type.eq_ignore_ascii_case("DPoP");
        tracing::debug!(
            token_type = %response.token_type, expires_in = response.expires_in,
            "new access token"
        );
        AccessToken {
            value: response.access_token,
            dpop,
            scopes: response
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            expires_at: now + life,
            renew_at: now + life - margin,
            serial: self.serials.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// Gets a token now and describes it, for `auth status`.
    pub async fn token_info(&self) -> Result<TokenInfo, OktaError> {
        let token = self.access_token().await?;
        Ok(TokenInfo {
            token_type: if token.dpop { "DPoP" } else { "Bearer" }.into(),
            scopes: token.scopes.clone(),
            expires_in_secs: token
                .expires_at
                .saturating_duration_since(Instant::now())
                .as_secs(),
            dpop: token.dpop,
        })
    }

    /// The scopes of the current token (fetching one if needed).
    pub async fn granted_scopes(&self) -> Result<Vec<String>, OktaError> {
        Ok(self.access_token().await?.scopes.clone())
    }
}

fn dpop_mode(credentials: &Credentials) -> DpopMode {
    match credentials {
        Credentials::ApiToken(_) => DpopMode::Never,
        Credentials::ClientCredentials(app) => app.dpop,
        Credentials::AuthorizationCode(app) => app.dpop,
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, OktaError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        OktaError::Setup("the credential has characters a header cannot carry".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// 32 random bytes, base64url: for `jti`, `state` and PKCE verifiers.
pub(crate) fn random_id() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
