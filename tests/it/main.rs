//! One integration-test binary: each module holds the tests for one area.

mod admin_apps;
mod admin_cli;
mod admin_directory;
mod admin_groups;
mod admin_hooks;
mod admin_spec;
mod admin_support;
mod admin_users;
mod client;
mod daemon;
mod helpers;
mod oauth;
mod oauth_cli;
mod operator;
mod process;
mod sim_admin;
mod sim_cli;
mod sim_limits;
mod sim_logs;
mod sim_oauth;
mod sim_paging;
mod sim_shapes;
mod sim_spec;
mod sim_support;
mod sim_writes;
mod sync;
