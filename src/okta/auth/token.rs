//! The org authorization server's token and revocation endpoints: one token request with its
//! client authentication (a signed `private_key_jwt` assertion or the client secret) and DPoP
//! proof, answering Okta's `use_dpop_nonce` challenge once and, in `auto` mode, turning DPoP on
//! when Okta says the app requires it. Failures become [`OAuthError`]s that say what to fix.

use std::sync::atomic::Ordering;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Authorizer, random_id, sensitive};
use crate::config::{ClientAuthMethod, Credentials, DpopMode};
use crate::okta::error::{OAuthError, OktaError};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A successful token answer.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: u64,
    pub access_token: SecretString,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

type Form = Vec<(&'static str, String)>;

impl Authorizer {
    /// POSTs a token request whose grant fields `grant()` makes (fresh for each try, since an
    /// assertion's `jti` cannot be reused), with client authentication and, when on, DPoP.
    pub(super) async fn token_request(
        &self,
        grant: impl Fn() -> Form,
    ) -> Result<TokenResponse, OktaError> {
        let url = self.endpoint("/oauth2/v1/token")?;
        let mut nonce_answered = false;
        let mut dpop_learned = false;
        loop {
            let mut form = grant();
            let mut request = self.http.post(url.clone());
            request = self.client_auth(request, &mut form)?;
            let dpop = self.dpop_on.load(Ordering::Relaxed);
            if dpop {
                let nonce = self.nonce();
                let proof = self.dpop_key()?.proof("POST", &url, None, nonce.as_deref());
                request = request.header("DPoP", sensitive(&proof.map_err(OktaError::Setup)?)?);
            }
            self.token_requests.fetch_add(1, Ordering::Relaxed);
            let response = request
                .form(&form)
                .send()
                .await
                .map_err(|e| transport(&url, &e))?;
            self.observe(response.headers());
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|e| transport(&url, &e))?;
            if (200..300).contains(&status) {
                return serde_json::from_slice(&body).map_err(|e| OktaError::Decode {
                    method: "POST".into(),
                    path: url.path().into(),
                    detail: e.to_string(),
                    request_id: String::new(),
                });
            }
            let (error, description) = error_of(status, &body);
            match error.as_str() {
                "use_dpop_nonce" if dpop && !nonce_answered => nonce_answered = true,
                "invalid_dpop_proof"
                    if !dpop && !dpop_learned && self.dpop_mode() == DpopMode::Auto =>
                {
                    tracing::debug!(
                        "Okta requires DPoP for this app; binding tokens to a DPoP key"
                    );
                    self.dpop_on.store(true, Ordering::Relaxed);
                    dpop_learned = true;
                }
                _ => return Err(self.refusal(status, error, description, dpop)),
            }
        }
    }

    /// Revokes `token` (RFC 7009); Okta answers 200 for tokens it no longer knows, too.
    pub(super) async fn revoke(&self, token: &SecretString, hint: &str) -> Result<(), OktaError> {
        let url = self.endpoint("/oauth2/v1/revoke")?;
        let mut form: Form = vec![
            ("token", token.expose_secret().to_owned()),
            ("token_type_hint", hint.to_owned()),
        ];
        let request = self.client_auth(self.http.post(url.clone()), &mut form)?;
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| transport(&url, &e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        let (error, description) = error_of(status, &body);
        Err(self.refusal(status, error, description, false))
    }

    /// Adds the client's authentication: an assertion for a service app, the secret (basic or
    /// post) or just the client id for a web app.
    fn client_auth(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut Form,
    ) -> Result<reqwest::RequestBuilder, OktaError> {
        match &self.credentials {
            Credentials::ApiToken(_) => Err(OktaError::Setup(
                "the API token connection has no OAuth client".into(),
            )),
            Credentials::ClientCredentials(app) => {
                form.push(("client_assertion_type", ASSERTION_TYPE.into()));
                form.push(("client_assertion", self.assertion(app)?));
                Ok(request)
            }
            Credentials::AuthorizationCode(app) => {
                let secret = app
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned());
                match (app.auth_method, secret) {
                    (ClientAuthMethod::SecretBasic, Some(secret)) => {
                        let pair =
                            format!("{}:{}", form_encode(&app.client_id), form_encode(&secret));
                        let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                        Ok(request.header("Authorization", sensitive(&format!("Basic {basic}"))?))
                    }
                    (ClientAuthMethod::SecretPost, Some(secret)) => {
                        form.push(("client_id", app.client_id.clone()));
                        form.push(("client_secret", secret));
                        Ok(request)
                    }
                    _ => {
                        form.push(("client_id", app.client_id.clone()));
                        Ok(request)
                    }
                }
            }
        }
    }

    /// A `private_key_jwt` client assertion: good for five minutes, never reused.
    fn assertion(&self, app: &crate::config::ServiceApp) -> Result<String, OktaError> {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({
            "iss": app.client_id,
            "sub": app.client_id,
            "aud": self.endpoint("/oauth2/v1/token")?.as_str(),
            "iat": now,
            "exp": now + 300,
            "jti": random_id(),
        });
        app.key
            .sign(&claims)
            .map_err(|e| OktaError::Setup(format!("cannot sign the client assertion: {e}")))
    }

    /// The error for a refused token or revocation request, with what to change.
    fn refusal(&self, status: u16, error: String, description: String, dpop: bool) -> OktaError {
        let hint = hint(
            &self.credentials,
            &error,
            &description,
            dpop,
            self.dpop_mode(),
        );
        OktaError::OAuth(Box::new(OAuthError {
            status,
            error,
            description,
            hint,
        }))
    }
}

/// The OAuth `error` and `error_description` of a refused answer; for a body that is not
/// Okta's OAuth JSON, the status and the start of the body.
fn error_of(status: u16, body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error, b.error_description.unwrap_or_default()),
        Err(_) => (
            format!("HTTP {status}"),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    }
}

/// What to change in Okta or in the config for each refusal.
fn hint(creds: &Credentials, error: &str, description: &str, dpop: bool, mode: DpopMode) -> String {
    let service = matches!(creds, Credentials::ClientCredentials(_));
    match error {
        "invalid_client" if service => "check okta.client_id (OKTA_CLIENT_ID) against the app's \
             Client ID, and that the public key on the app's General tab matches \
             okta.private_key_file (and okta.key_id its KID); the assertion is signed with the \
             machine's clock, so check it too"
            .into(),
        "invalid_client" => "check okta.client_id and the client secret against the app's \
             General tab, and okta.token_endpoint_auth_method against its Client authentication"
            .into(),
        "invalid_scope" => "grant the scopes on the app's \"Okta API Scopes\" tab in the Admin \
             Console, or remove them from okta.scopes (OKTA_SCOPES)"
            .into(),
        "invalid_dpop_proof" if !dpop && mode == DpopMode::Never => "the app requires DPoP \
             (\"Require Demonstrating Proof of Possession (DPoP) header in token requests\" on its \
             General tab): set okta.dpop = \"auto\" or \"always\", or clear that setting"
            .into(),
        "invalid_dpop_proof" => format!(
            "Okta refused the DPoP proof ({description}); check the machine's clock, since proofs \
             carry the time"
        ),
        "use_dpop_nonce" => "Okta asked for a new DPoP nonce twice in a row; try again".into(),
        "invalid_grant" if service => "the grant was refused; check the app's grant types".into(),
        "invalid_grant" => "the login is no longer valid (refresh token revoked, expired or \
             already used): run `oktasync auth login` again"
            .into(),
        "unauthorized_client" if service => "enable the Client Credentials grant on the app's \
             General tab (an API Services app has it)"
            .into(),
        "unauthorized_client" => "enable the Authorization Code and Refresh Token grants on the \
             app's General tab"
            .into(),
        _ => "see Okta's description above".into(),
    }
}

/// RFC 6749 §2.3.1: the client id is form-encoded before it goes into Basic authentication.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn transport(url: &url::Url, e: &reqwest::Error) -> OktaError {
    OktaError::Transport {
        method: "POST".into(),
        path: url.path().into(),
        detail: e.to_string(),
        timeout: e.is_timeout(),
        connect: e.is_connect(),
    }
}
