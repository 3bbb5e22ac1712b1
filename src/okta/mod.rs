//! The client for Okta's management API: authentication, pagination by `Link` headers, rate-limit
//! pacing and retries, and typed errors. It knows nothing of storage or sinks.

mod client;
mod error;
pub mod link;
mod pages;
pub mod rate_limit;

pub use client::{ClientOptions, OktaClient, Request, Response, Stats};
pub use error::{ApiError, OktaError};
pub use pages::{Page, Pages};
