//! One integration-test binary: each module holds the tests for one area.

mod client;
mod helpers;
mod process;
mod sync;
