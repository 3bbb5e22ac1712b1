//! The client for Okta's management API: authentication, pagination by `Link` headers, rate-limit
//! pacing and retries, and typed errors. It knows nothing of storage or sinks.

pub mod api;
pub mod auth;
mod client;
mod error;
pub mod link;
mod pages;
pub mod rate_limit;
pub mod redact;
mod request;

pub use client::{ClientOptions, OktaClient, Response, Stats};
pub use error::{ApiError, OAuthError, OktaError};
pub use pages::{Page, Pages, Unparsed};
pub use request::{Part, PartContent, Request, RetryPolicy, Upload};
