//! For bench_sync: the storage floor (the same raw events inserted with bare rusqlite into a rowid
//! table without a secondary index, 10,000 rows per transaction, WAL), the CPU time this process
//! used, a sampler of a run's progress, and timed queries against the mirror.

use std::path::Path;
use std::time::{Duration, Instant};

use oktasync::poll::Engine;
use serde_json::value::RawValue;

/// Fetches every page from `first` (untimed) and inserts each raw event as one row; returns the
/// time spent inserting and committing only, and the rows inserted.
pub async fn storage_floor(
    first: String,
    token: &str,
    db: &Path,
) -> anyhow::Result<(Duration, usize)> {
    let conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT NOT NULL)",
        [],
    )?;
    let http = reqwest::Client::new();
    let (mut spent, mut rows, mut in_tx) = (Duration::ZERO, 0, 0);
    let mut next = Some(first);
    conn.execute_batch("BEGIN")?;
    while let Some(url) = next.take() {
        let (body, after) = super::support::raw_page(&http, &url, token).await?;
        next = after;
        let items: Vec<&RawValue> = serde_json::from_slice(&body)?;
        if items.is_empty() {
            break;
        }
        let started = Instant::now();
        let mut insert = conn.prepare_cached("INSERT INTO events (data) VALUES (?1)")?;
        for item in &items {
            insert.execute([item.get()])?;
            in_tx += 1;
            if in_tx == 10_000 {
                conn.execute_batch("COMMIT; BEGIN")?;
                in_tx = 0;
            }
        }
        rows += items.len();
        spent += started.elapsed();
    }
    let started = Instant::now();
    conn.execute_batch("COMMIT")?;
    Ok((spent + started.elapsed(), rows))
}

/// Bytes this process has written so far (to files, before the page cache: `wchar`).
pub fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("wchar: ")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used so far.
pub fn cpu_time() -> Duration {
    process_cpu_time("self")
}

/// CPU time (user + system) of process `pid` ("self" for this one), all threads.
pub fn process_cpu_time(pid: &str) -> Duration {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// The CPU time (user + system) in a /proc `stat` line.
fn stat_cpu(stat: &str) -> Duration {
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time per thread name (user + system), largest first.
pub fn cpu_by_thread() -> Vec<(String, Duration)> {
    let mut out: Vec<(String, Duration)> = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or("?", |(name, _)| name)
            .to_owned();
        let cpu = stat_cpu(&stat);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, d)) => *d += cpu,
            None => out.push((name, cpu)),
        }
    }
    out.sort_by_key(|(_, cpu)| std::cmp::Reverse(*cpu));
    out
}

/// Resets this process's peak RSS (VmHWM) to its current RSS, so a later reading is the peak of
/// what ran in between (Linux 4.0 and later). Memory the allocator kept from earlier phases is
/// handed back first, so it does not count in the next phase's peak.
pub fn reset_peak_rss() {
    // SAFETY: malloc_trim only releases free memory of glibc's heaps back to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Memory neither used nor caching files (MemFree), e.g. "13.4 GB": a write that finds none must
/// first reclaim some, which makes every write cost more.
pub fn free_memory() -> String {
    super::support::proc_kib("/proc/meminfo", "MemFree:")
        .map_or_else(|| "?".into(), |kb| format!("{:.1} GB", kb * 1024.0 / 1e9))
}

/// The 1-minute load average: how busy the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// One reading of a run's progress: time since it started, records committed, this process's
/// CPU time, and its CPU time per thread name.
pub type Sample = (Duration, u64, Duration, Vec<(String, Duration)>);

/// Records how many records `stream` has committed, every 10 ms, until its run ends.
pub fn sample(engine: &Engine, stream: &'static str) -> tokio::task::JoinHandle<Vec<Sample>> {
    let engine = engine.clone();
    let (started, cpu) = (Instant::now(), cpu_time());
    tokio::spawn(async move {
        let mut out = vec![(Duration::ZERO, 0, Duration::ZERO, cpu_by_thread())];
        loop {
            let records = engine.activity().get(stream).records;
            if out.last().is_none_or(|(_, r, _, _)| *r != records) {
                out.push((
                    started.elapsed(),
                    records,
                    cpu_time() - cpu,
                    cpu_by_thread(),
                ));
            }
            if records > 0 && !engine.activity().get(stream).running {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
}

/// Over each tenth of `total` rows, `value(first, last)` of its first and last samples, per
/// 1,000 rows in between, in milliseconds (NaN for a tenth without samples).
fn by_tenth(
    samples: &[Sample],
    total: u64,
    value: impl Fn(&Sample, &Sample) -> Duration,
) -> Vec<f64> {
    let at = |rows: u64| samples.iter().find(|s| s.1 >= rows);
    (0..10)
        .map(|i| match (at(total * i / 10), at(total * (i + 1) / 10)) {
            (Some(a), Some(b)) => {
                let thousands = (b.1 - a.1).max(1) as f64 / 1000.0;
                value(a, b).as_secs_f64() * 1000.0 / thousands
            }
            _ => f64::NAN,
        })
        .collect()
}

/// Milliseconds per 1,000 rows (of wall time, and of CPU time) over each tenth of `total` rows.
pub fn tenths(samples: &[Sample], total: u64) -> Vec<(f64, f64)> {
    let wall = by_tenth(samples, total, |a, b| b.0 - a.0);
    let cpu = by_tenth(samples, total, |a, b| b.2 - a.2);
    wall.into_iter().zip(cpu).collect()
}

/// CPU milliseconds per 1,000 rows over each tenth of `total` rows, per thread name.
pub fn thread_tenths(samples: &[Sample], total: u64) -> Vec<(String, Vec<f64>)> {
    let cpu = |s: &Sample, name: &str| {
        s.3.iter()
            .find(|(n, _)| n == name)
            .map_or(Duration::ZERO, |(_, d)| *d)
    };
    // Every thread seen (the parse thread has ended by the last sample).
    let mut names: Vec<String> = Vec::new();
    for (name, _) in samples.iter().flat_map(|s| &s.3) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let per_tenth = by_tenth(samples, total, |a, b| {
                cpu(b, &name).saturating_sub(cpu(a, &name))
            });
            (name, per_tenth)
        })
        .collect()
}

/// Runs each query once to warm up, then times a second run; prints the milliseconds.
pub fn time_queries(db: &Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    let actor: String = conn.query_row(
        "SELECT actor_id FROM system_log WHERE actor_id LIKE '00u%' LIMIT 1 OFFSET 5000",
        [],
        |r| r.get(0),
    )?;
    let (login, email): (String, String) = conn.query_row(
        "SELECT login, email FROM users LIMIT 1 OFFSET 5000",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let queries = [
        ("events in one hour", "SELECT count(*) FROM system_log WHERE published >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 days') AND published < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 days', '+1 hour')".to_owned()),
        ("latest 100 of one type", "SELECT uuid FROM system_log WHERE event_type = 'user.session.start' ORDER BY published DESC LIMIT 100".to_owned()),
        ("latest 100 of one actor", format!("SELECT uuid FROM system_log WHERE actor_id = '{actor}' ORDER BY published DESC LIMIT 100")),
        ("failed sign-ins last day", "SELECT count(*) FROM failed_sign_ins_last_day".to_owned()),
        ("events by type last day", "SELECT count(*) FROM events_by_type_last_day".to_owned()),
        ("user by login", format!("SELECT id FROM users WHERE login = '{login}'")),
        ("user by email", format!("SELECT id FROM users WHERE email = '{email}'")),
        ("users by status", "SELECT count(*) FROM users WHERE status = 'SUSPENDED'".to_owned()),
        ("active users", "SELECT count(*) FROM active_users".to_owned()),
    ];
    for (name, sql) in queries {
        let run = || -> anyhow::Result<usize> {
            let mut stmt = conn.prepare(&sql)?;
            Ok(stmt.query_map([], |_| Ok(()))?.count())
        };
        run()?;
        let started = Instant::now();
        run()?;
        println!(
            "  query {name}: {:.2} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
