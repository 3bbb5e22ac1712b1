//! One integration-test binary: each module holds the tests for one area.

mod client;
mod helpers;
mod process;
mod sim_admin;
mod sim_cli;
mod sim_limits;
mod sim_logs;
mod sim_paging;
mod sim_shapes;
mod sim_spec;
mod sim_support;
mod sim_writes;
mod sync;
