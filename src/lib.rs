//! oktasync keeps Okta's users and System Log flowing into systems you control, and scripts the
//! admin actions you do every day.
//!
//! Crate map (dependencies point downwards only):
//! - [`cli`]: one file per command group; the only place that prints for humans.
//! - [`endpoints`]: `/metrics`, `/healthz` and `/readyz`, an axum router over the sync engine.
//! - [`config`]: the one `Config`: defaults, then file, then environment; secrets redacted.
//! - [`okta`]: the HTTP client for Okta's management API: auth, pagination, rate limits, errors.
//! - [`poll`]: the sync engine: pollers, cursor planning, scheduling; where pages, sinks and
//!   cursor commits meet.
//! - [`delta`]: the envelope every sink receives (an upsert or a tombstone), below `sink` and
//!   `store`, which know nothing of each other.
//! - [`hook`]: the Okta event hook receiver and the hook's registration; beside `poll`, it
//!   commits pushed events and hands them to the same sinks.
//! - [`sink`]: delivers delta batches to stdout, NDJSON files and SQLite mirrors, durably.
//! - [`store`]: the state database, the only code touching SQLite: cursors, runs, the mirror.
//! - [`metrics`] and [`systemd`]: below everything; any layer may record a metric, and the
//!   daemon tells systemd how it is doing. [`background`] starts the bulk-work threads at a
//!   lower CPU priority than the request loop.
//!
//! The local Okta simulator is the `okta-sim` crate (`crates/okta-sim`): the `sim` and `demo`
//! commands and the tests speak to it only over HTTP, and it knows nothing of this crate.

pub mod background;
pub mod cli;
pub mod config;
pub mod delta;
pub mod endpoints;
pub mod hook;
pub mod metrics;
pub mod okta;
pub mod poll;
pub mod sink;
pub mod store;
pub mod systemd;
