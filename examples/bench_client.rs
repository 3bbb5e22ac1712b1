//! Benchmark: list N users from the simulator through the Okta client, beside the raw floor (the
//! same pages fetched with plain reqwest and no JSON parsing); print records/s, requests, 429s and
//! peak RSS. The simulator runs in a child process, so RSS is the client's alone.
//!
//! cargo run --release --example bench_client -- [--users 100000] [--rate-limit 600]
//!
//! With --rate-limit the simulator limits every bucket to that many requests a minute, and the
//! listing time is compared with what the limit and the default 0.5 share allow.

use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use oktasync::okta::{ClientOptions, OktaClient};

mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users = support::arg("--users").unwrap_or(100_000) as usize;
    let rate_limit = support::arg("--rate-limit").map(|r| r as u32);
    let sim = support::child_sim(SimConfig {
        users,
        logs: 1000,
        rate_limit,
        ..SimConfig::default()
    })
    .await?;
    let client = OktaClient::new(
        sim.base.parse()?,
        sim.token.clone().into(),
        ClientOptions::default(),
    )?;
    println!("users in the org: {users}");
    if let Some(limit) = rate_limit {
        let started = Instant::now();
        let (records, pages) = list(&client).await?;
        let elapsed = started.elapsed();
        let allowed = Duration::from_secs_f64(pages as f64 / (f64::from(limit) * 0.5) * 60.0);
        println!(
            "rate limit {limit}/min, share 0.5: {records} records in {pages} pages, {:.1} s",
            elapsed.as_secs_f64()
        );
        println!(
            "time the limit and share allow: {:.1} s; ratio {:.3}x; 429s: {}",
            allowed.as_secs_f64(),
            elapsed.as_secs_f64() / allowed.as_secs_f64(),
            client.stats().rate_limited
        );
    } else {
        let (floor, floor_pages, bytes) =
            support::floor(&sim, format!("{}/api/v1/users?limit=200", sim.base), false).await?;
        let started = Instant::now();
        let (records, pages) = list(&client).await?;
        let elapsed = started.elapsed();
        let stats = client.stats();
        println!(
            "floor (reqwest, no parsing): {floor_pages} pages, {:.1} MB in {:.2} s",
            bytes as f64 / 1e6,
            floor.as_secs_f64()
        );
        println!(
            "client: {records} records in {pages} pages, {:.2} s = {:.0} records/s; {} requests, {} 429s",
            elapsed.as_secs_f64(),
            records as f64 / elapsed.as_secs_f64(),
            stats.requests,
            stats.rate_limited
        );
        println!(
            "client / floor: {:.2}x",
            elapsed.as_secs_f64() / floor.as_secs_f64()
        );
    }
    println!("peak RSS: {:.1} MB", support::peak_rss_mb());
    Ok(())
}

async fn list(client: &OktaClient) -> anyhow::Result<(usize, usize)> {
    let mut pages = client.pages("/api/v1/users", &[("limit", "200")])?;
    let (mut records, mut count) = (0, 0);
    while let Some(page) = pages.next_page().await? {
        records += page.items.len();
        count += 1;
    }
    Ok((records, count))
}
