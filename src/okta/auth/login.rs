//! The authorization-code flow with PKCE: the authorize URL, the code exchange, refreshing with
//! the stored refresh token (kept current as Okta rotates it), and logging out by revoking it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::dpop::sha256_b64;
use super::token::TokenResponse;
use super::{Authorizer, DpopKey, Grant, GrantStore, TokenInfo, random_id};
use crate::config::{Credentials, WebApp};
use crate::okta::error::OktaError;

/// One login attempt's secrets: the PKCE verifier and the `state` the callback must echo.
pub struct Pkce {
    verifier: SecretString,
    pub state: String,
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce {
            verifier: SecretString::from(random_id()),
            state: random_id(),
        }
    }
}

impl Pkce {
    /// The S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        sha256_b64(self.verifier.expose_secret())
    }
}

/// Errors of the store, with what it was doing.
fn store_error(action: &str, e: String) -> OktaError {
    OktaError::Setup(format!(
        "cannot {action} the login in the state database: {e}"
    ))
}

impl Authorizer {
    fn web_app(&self) -> Result<&WebApp, OktaError> {
        match &self.credentials {
            Credentials::AuthorizationCode(app) => Ok(app),
            other => Err(OktaError::Setup(format!(
                "okta.auth is {}; `auth login` and `auth logout` are for authorization_code",
                other.kind()
            ))),
        }
    }

    fn grant_store(&self) -> Result<Arc<dyn GrantStore>, OktaError> {
        self.store
            .clone()
            .ok_or_else(|| OktaError::Setup("no state database to keep the login in".into()))
    }

    /// `http://127.0.0.1:<port>/callback`, which must be a sign-in redirect URI of the app.
    pub fn redirect_uri(&self) -> Result<String, OktaError> {
        Ok(format!(
            "http://127.0.0.1:{}/callback",
            self.web_app()?.redirect_port
        ))
    }

    /// The URL a person opens to approve the login.
    pub fn authorize_url(&self, pkce: &Pkce) -> Result<Url, OktaError> {
        let app = self.web_app()?;
        let mut url = self.endpoint("/oauth2/v1/authorize")?;
        url.query_pairs_mut()
            .append_pair("client_id", &app.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", &app.scopes.join(" "))
            .append_pair("redirect_uri", &self.redirect_uri()?)
            .append_pair("state", &pkce.state)
            .append_pair("code_challenge", &pkce.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url)
    }

    /// Exchanges the callback's `code`, keeps the refresh token (and the DPoP key it is bound
    /// to) in the store, and describes the access token obtained.
    pub async fn exchange_code(&self, code: &str, pkce: &Pkce) -> Result<TokenInfo, OktaError> {
        self.web_app()?;
        let redirect_uri = self.redirect_uri()?;
        // A new login gets a new DPoP key.
        *self.dpop_key.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(DpopKey::generate().map_err(OktaError::Setup)?));
        let response = self
            .token_request(|| {
                vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code.to_owned()),
                    ("redirect_uri", redirect_uri.clone()),
                    ("code_verifier", pkce.verifier.expose_secret().to_owned()),
                ]
            })
            .await?;
        if response.refresh_token.is_none() {
            return Err(OktaError::Setup(
                "Okta issued no refresh token: add offline_access to okta.scopes and enable the \
                 Refresh Token grant on the app's General tab, then log in again"
                    .into(),
            ));
        }
        self.keep(&response).await?;
        let token = Arc::new(self.accept(response));
        *self.token.lock().await = Some(token);
        self.token_info().await
    }

    /// A new access token from the stored refresh token. If Okta refuses a refresh token that
    /// another process has meanwhile rotated, the newer one is tried once.
    pub(super) async fn refresh(&self) -> Result<TokenResponse, OktaError> {
        let mut grant = self.load_grant().await?.ok_or_else(|| {
            OktaError::Setup(
                "not logged in: run `oktasync auth login` (okta.auth is authorization_code)".into(),
            )
        })?;
        for retry in [false, true] {
            if let Some(pkcs8) = &grant.dpop_key {
                let key = DpopKey::from_pkcs8(pkcs8.expose_secret()).map_err(OktaError::Setup)?;
                *self.dpop_key.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(key));
                self.dpop_on.store(true, Ordering::Relaxed);
            }
            let refresh_token = grant.refresh_token.expose_secret().to_owned();
            let scope = grant.scope.clone();
            let result = self
                .token_request(|| {
                    vec![
                        ("grant_type", "refresh_token".to_owned()),
                        ("refresh_token", refresh_token.clone()),
                        ("scope", scope.clone()),
                    ]
                })
                .await;
            match result {
                Ok(response) => {
                    self.keep(&response).await?;
                    return Ok(response);
                }
                Err(e) if !retry && e.oauth_error() == Some("invalid_grant") => {
                    match self.load_grant().await? {
                        Some(newer) if newer.refresh_token.expose_secret() != refresh_token => {
                            grant = newer;
                        }
                        _ => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the second try returns")
    }

    /// Runs `op` on the grant store (blocking SQLite work) for this org and client id.
    async fn on_store<T: Send + 'static>(
        &self,
        action: &str,
        op: impl FnOnce(&dyn GrantStore, &str, &str) -> Result<T, String> + Send + 'static,
    ) -> Result<T, OktaError> {
        let store = self.grant_store()?;
        let (org, client) = (self.org.to_string(), self.client_id().to_owned());
        tokio::task::spawn_blocking(move || op(store.as_ref(), &org, &client))
            .await
            .map_err(|e| OktaError::Setup(e.to_string()))?
            .map_err(|e| store_error(action, e))
    }

    async fn load_grant(&self) -> Result<Option<Grant>, OktaError> {
        self.on_store("read", |store, org, client| store.load(org, client))
            .await
    }

    /// Stores the (possibly rotated) refresh token of `response`.
    async fn keep(&self, response: &TokenResponse) -> Result<(), OktaError> {
        let Some(refresh_token) = &response.refresh_token else {
            return Ok(());
        };
        let dpop = response.token_type.eq_ignore_ascii_case("DPoP");
        let key = dpop.then(|| self.dpop_key()).transpose()?;
        let grant = Grant {
            refresh_token: refresh_token.clone(),
            scope: response.scope.clone().unwrap_or_else(|| {
                self.web_app()
                    .map(|a| a.scopes.join(" "))
                    .unwrap_or_default()
            }),
            dpop_key: key.map(|k| k.pkcs8().to_vec().into()),
        };
        self.on_store("save", move |store, org, client| {
            store.save(org, client, &grant)
        })
        .await
    }

    /// Revokes the stored refresh token at Okta and forgets it. False when not logged in.
    pub async fn logout(&self) -> Result<bool, OktaError> {
        self.web_app()?;
        let Some(grant) = self.load_grant().await? else {
            return Ok(false);
        };
        self.revoke(&grant.refresh_token, "refresh_token").await?;
        *self.token.lock().await = None;
        self.on_store("clear", |store, org, client| store.clear(org, client))
            .await
    }
}
