//! The client for Okta's management API.
