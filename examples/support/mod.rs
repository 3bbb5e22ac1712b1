//! Shared by the benchmarks: the simulator in a child process, the raw page-fetch floor, peak RSS.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use okta_sim::SimConfig;
use oktasync::okta::link;

const CHILD: &str = "OKTASYNC_BENCH_SIM";

/// `--name value` from the command line.
pub fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// A simulator in a child process (this same executable), so its memory is not ours.
pub struct ChildSim {
    pub base: String,
    pub token: String,
    child: Child,
}

impl Drop for ChildSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildSim {
    /// The simulator's process id.
    #[allow(dead_code)] // not every example that includes this module needs it
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// In the child, runs the simulator and never returns; in the parent, starts the child.
pub async fn child_sim(config: SimConfig) -> anyhow::Result<ChildSim> {
    if std::env::var_os(CHILD).is_some() {
        let started = Instant::now();
        let sim = okta_sim::spawn(config).await?;
        println!("{}\n{}", sim.base_url, sim.token);
        eprintln!(
            "simulator ready in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        std::future::pending::<()>().await;
    }
    let mut child = Command::new(std::env::current_exe()?)
        .args(std::env::args().skip(1))
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let base = lines.next().transpose()?.unwrap_or_default();
    let token = lines.next().transpose()?.unwrap_or_default();
    Ok(ChildSim { base, token, child })
}

/// Fetches `first` and every `next` page with bare reqwest, reading the bytes and parsing
/// nothing; stops at the last page or, with `until_empty`, at the first empty page.
pub async fn floor(
    sim: &ChildSim,
    first: String,
    until_empty: bool,
) -> anyhow::Result<(Duration, usize, usize)> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut next = Some(first);
    let (mut pages, mut bytes) = (0, 0);
    while let Some(url) = next.take() {
        let (body, after) = raw_page(&http, &url, &sim.token).await?;
        next = after;
        bytes += body.len();
        pages += 1;
        if until_empty && body.len() <= 2 {
            break;
        }
    }
    Ok((started.elapsed(), pages, bytes))
}

/// One page fetched with bare reqwest: its body, unparsed, and its `next` link.
pub async fn raw_page(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<(impl std::ops::Deref<Target = [u8]>, Option<String>)> {
    let response = http
        .get(url)
        .header("Authorization", format!("SSWS {token}"))
        .header("Accept", "application/json")
        .send()
        .await?;
    let links: Vec<String> = response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let next = link::find_rel(links.iter().map(String::as_str), "next").map(str::to_owned);
    Ok((response.bytes().await?, next))
}

/// This process's peak resident set size in MB (VmHWM).
pub fn peak_rss_mb() -> f64 {
    proc_kib("/proc/self/status", "VmHWM:").map_or(0.0, |kib| kib / 1024.0)
}

/// The value in kB of the line starting with `key` in a /proc file such as /proc/meminfo.
pub fn proc_kib(path: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix(key))?;
    line.split_whitespace().next()?.parse().ok()
}
