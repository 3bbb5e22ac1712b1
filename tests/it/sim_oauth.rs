//! The simulator as Okta's org authorization server, driven with plain reqwest and
//! jsonwebtoken: client assertions, scopes on `/api/v1`, DPoP, the authorization-code flow
//! with PKCE, refresh-token rotation, revocation, and the `oktasync sim` OAuth flags.

mod api_auth;
mod cli;
mod client_credentials;
mod code_flow;
mod dpop;
mod support;
