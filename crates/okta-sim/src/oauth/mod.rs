//! OAuth 2.0 as Okta's org authorization server speaks it, for testing OAuth clients end to
//! end: `/oauth2/v1/token` (client credentials with `private_key_jwt`, authorization code
//! with PKCE, rotating refresh tokens, DPoP), `/oauth2/v1/authorize` (approved at once) and
//! `/oauth2/v1/revoke`, plus the check of access tokens and scopes on every `/api/v1` call.
//!
//! Map: `apps` (configuration and keys) · `jose` (JWT, JWK, thumbprint) · `store` (tokens,
//! codes, jtis, nonce, stats) · `request` (form and call) · `client_auth` + `assertion`
//! (who is calling) · `dpop` (proofs) · `scopes` · `grants` · `token` (`/token`, `/revoke`)
//! · `authorize` · `api_auth` (the `/api/v1` side) · `http` (middleware) · `admin`.

mod admin;
mod api_auth;
mod apps;
mod assertion;
mod authorize;
mod client_auth;
mod dpop;
mod error;
mod grants;
mod http;
mod jose;
mod request;
mod scopes;
mod store;
mod token;

pub use apps::{DEFAULT_TOKEN_LIFETIME, GeneratedKey, OAuthApp, PublicKey, generate_ec_key};
pub use scopes::API_SCOPES;

pub(crate) use admin::{rotate_nonce, stats};
pub(crate) use api_auth::{Denial, admit};
pub(crate) use apps::Registry;
pub(crate) use authorize::authorize;
pub(crate) use http::middleware;
pub(crate) use store::Store;
pub(crate) use token::{revoke, token};
