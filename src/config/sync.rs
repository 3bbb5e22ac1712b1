//! The sync settings: where state lives, which sinks get deltas, and each poller's schedule,
//! start position and query, validated with errors that name the key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{ConfigError, Env, invalid};

/// How much run history the state database keeps per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunHistory {
    /// Keep at most this many runs per stream (0: no limit).
    pub keep: u64,
    /// Drop runs that started more than this many days ago (0: no limit).
    pub keep_days: u64,
}

impl Default for RunHistory {
    fn default() -> RunHistory {
        RunHistory {
            keep: 1000,
            keep_days: 30,
        }
    }
}

/// When `run` reconciles every user unless `sync.reconcile` says otherwise: daily at 03:00 UTC.
pub const DEFAULT_RECONCILE: &str = "0 0 3 * * *";

/// The streams oktasync polls, in the order a sync cycle runs them.
pub const STREAMS: [&str; 7] = [
    "new_users",
    "updated_users",
    "system_log",
    "groups",
    "group_members",
    "apps",
    "app_users",
];

/// Where a poller starts when it has no cursor yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StartAt {
    Now,
    All,
    Ago(Duration),
    At(DateTime<Utc>),
}

impl StartAt {
    /// `now`, `all`, `-<N>s|m|h|d` or an RFC 3339 time.
    pub fn parse(key: &str, text: &str) -> Result<StartAt, ConfigError> {
        let t = text.trim();
        let bad = || {
            invalid(
                key,
                format!(
                    "{t:?} is not now, all, -<N>(s|m|h|d) like -24h, or an RFC 3339 time like 2026-01-31T00:00:00Z"
                ),
            )
        };
        match t {
            "now" => return Ok(StartAt::Now),
            "all" => return Ok(StartAt::All),
            _ => {}
        }
        if let Some(ago) = t.strip_prefix('-') {
            let (num, unit) = ago.split_at(ago.len().saturating_sub(1));
            let n: u64 = num.parse().map_err(|_| bad())?;
            let secs = match unit {
                "s" => n,
                "m" => n * 60,
                "h" => n * 3600,
                "d" => n * 86_400,
                _ => return Err(bad()),
            };
            return Ok(StartAt::Ago(Duration::from_secs(secs)));
        }
        DateTime::parse_from_rfc3339(t)
            .map(|d| StartAt::At(d.with_timezone(&Utc)))
            .map_err(|_| bad())
    }

    /// The instant this start position means at `now`; `All` is the Unix epoch.
    pub fn resolve(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            StartAt::Now => now,
            StartAt::All => DateTime::UNIX_EPOCH,
            StartAt::Ago(d) => {
                now - chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::zero())
            }
            StartAt::At(t) => *t,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SyncSection {
    state: Option<PathBuf>,
    sinks: Option<Vec<String>>,
    lookback_secs: Option<u64>,
    rotate_bytes: Option<u64>,
    rotate_daily: Option<bool>,
    reconcile: Option<String>,
    runs_keep: Option<u64>,
    runs_keep_days: Option<u64>,
    system_log_retention_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PollerSection {
    enabled: Option<bool>,
    schedule: Option<String>,
    start: Option<String>,
    page_size: Option<u32>,
    filter: Option<String>,
    q: Option<String>,
    reconcile: Option<String>,
}

/// One poller's settings.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub stream: &'static str,
    pub enabled: bool,
    /// Cron expression with seconds, e.g. `0 */5 * * * *`.
    pub schedule: String,
    pub start: StartAt,
    pub page_size: u32,
    /// System Log only: a SCIM filter and keywords.
    pub filter: Option<String>,
    pub q: Option<String>,
    /// `groups` and `app_users` only: when a full listing checks what the incremental reads
    /// missed (cron with seconds, UTC).
    pub reconcile: Option<String>,
}

/// Everything the sync engine is configured with.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub state: PathBuf,
    /// Sink specs as configured (`stdout`, `file:PATH`, `sqlite:PATH`); none means a mirror in
    /// the state database (see [`SyncSettings::sink_specs`]).
    pub sinks: Vec<String>,
    /// How far behind the users high-water mark each query reaches, for Okta's search lag.
    pub lookback: Duration,
    pub rotate_bytes: Option<u64>,
    pub rotate_daily: bool,
    pub pollers: Vec<PollerSettings>,
    /// Cron schedule of the reconciliation in `run`; `None` when off.
    pub reconcile: Option<String>,
    /// How much run history the state database keeps per stream.
    pub run_history: RunHistory,
    /// Mirrored System Log events older than this many days are deleted; `None` keeps them.
    pub system_log_retention_days: Option<u64>,
}

impl SyncSettings {
    /// The defaults, with `state` and `sinks` given and every poller starting at `start`: for the
    /// demo, tests and benchmarks, which must not read a config file or the environment.
    pub fn local(state: PathBuf, sinks: Vec<String>, start: StartAt) -> SyncSettings {
        let section = SyncSection {
            state: Some(state),
            sinks: Some(sinks),
            ..SyncSection::default()
        };
        let mut settings = sync_settings(section, BTreeMap::new(), &|_| None)
            .unwrap_or_else(|e| unreachable!("the defaults are valid: {e}"));
        for p in &mut settings.pollers {
            p.start = start;
        }
        settings
    }

    /// The sinks to deliver to: as configured, or else a mirror in the state database.
    pub fn sink_specs(&self) -> Vec<String> {
        if self.sinks.is_empty() {
            vec![format!("sqlite:{}", self.state.display())]
        } else {
            self.sinks.clone()
        }
    }

    pub fn poller(&self, stream: &str) -> Option<&PollerSettings> {
        self.pollers.iter().find(|p| p.stream == stream)
    }
}

pub(super) fn sync_settings(
    section: SyncSection,
    mut pollers: BTreeMap<String, PollerSection>,
    env: Env,
) -> Result<SyncSettings, ConfigError> {
    let state = env("OKTASYNC_STATE")
        .map(PathBuf::from)
        .or(section.state)
        .or_else(|| env("STATE_DIRECTORY").map(|d| PathBuf::from(d).join("oktasync.db")))
        .unwrap_or_else(|| PathBuf::from("oktasync.db"));
    let sinks = match env("OKTASYNC_SINKS") {
        Some(v) => v
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None => section.sinks.unwrap_or_default(),
    };
    if let Some(unknown) = pollers.keys().find(|k| !STREAMS.contains(&k.as_str())) {
        return Err(invalid(
            &format!("pollers.{unknown}"),
            format!("unknown poller; the pollers are {}", STREAMS.join(", ")),
        ));
    }
    let pollers = STREAMS
        .iter()
        .map(|s| poller_settings(s, pollers.remove(*s).unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    let reconcile = reconcile(section.reconcile.as_deref())?;
    let defaults = RunHistory::default();
    Ok(SyncSettings {
        reconcile,
        run_history: RunHistory {
            keep: section.runs_keep.unwrap_or(defaults.keep),
            keep_days: section.runs_keep_days.unwrap_or(defaults.keep_days),
        },
        system_log_retention_days: section.system_log_retention_days.filter(|d| *d > 0),
        state,
        sinks,
        lookback: Duration::from_secs(section.lookback_secs.unwrap_or(300)),
        rotate_bytes: section
            .rotate_bytes
            .or(Some(100 * 1024 * 1024))
            .filter(|b| *b > 0),
        rotate_daily: section.rotate_daily.unwrap_or(true),
        pollers,
    })
}

/// A poller's defaults: schedule, start (`None`: the key is refused), page size and its
/// maximum, and the reconcile schedule (`None`: the key is refused).
struct Defaults {
    schedule: &'static str,
    start: Option<&'static str>,
    page_size: u32,
    max_page: u32,
    reconcile: Option<&'static str>,
}

fn defaults(stream: &str) -> Defaults {
    let every_5_min = "0 */5 * * * *";
    let (schedule, start, page_size, max_page, reconcile) = match stream {
        "system_log" => ("*/30 * * * * *", Some("-24h"), 1000, 1000, None),
        "groups" => (every_5_min, None, 1000, 10_000, Some("0 0 * * * *")),
        "group_members" => ("30 * * * * *", None, 200, 1000, None),
        "apps" => (every_5_min, None, 200, 200, None),
        "app_users" => (every_5_min, None, 500, 500, Some("0 0 3 * * *")),
        _ => (every_5_min, Some("all"), 200, 200, None),
    };
    Defaults {
        schedule,
        start,
        page_size,
        max_page,
        reconcile,
    }
}

fn poller_settings(stream: &'static str, p: PollerSection) -> Result<PollerSettings, ConfigError> {
    let d = defaults(stream);
    let key = |k: &str| format!("pollers.{stream}.{k}");
    let start = match (d.start, p.start.as_deref()) {
        (None, Some(_)) => {
            return Err(invalid(
                &key("start"),
                "the directory streams always begin with a full listing; remove start",
            ));
        }
        (default, given) => StartAt::parse(&key("start"), given.or(default).unwrap_or("all"))?,
    };
    let page_size = p.page_size.unwrap_or(d.page_size);
    if page_size == 0 || page_size > d.max_page {
        return Err(invalid(
            &key("page_size"),
            format!("{page_size} is outside 1..={}", d.max_page),
        ));
    }
    if stream != "system_log" && (p.filter.is_some() || p.q.is_some()) {
        return Err(invalid(
            &key("filter"),
            "filter and q apply to system_log only",
        ));
    }
    let schedule = cron(&key("schedule"), p.schedule.unwrap_or(d.schedule.into()))?;
    let reconcile = match (d.reconcile, p.reconcile) {
        (None, Some(_)) => {
            return Err(invalid(
                &key("reconcile"),
                "reconcile applies to groups and app_users only",
            ));
        }
        (default, given) => given
            .or(default.map(str::to_owned))
            .map(|r| cron(&key("reconcile"), r))
            .transpose()?,
    };
    Ok(PollerSettings {
        stream,
        enabled: p.enabled.unwrap_or(true),
        schedule,
        start,
        page_size,
        filter: p.filter.filter(|f| !f.trim().is_empty()),
        q: p.q.filter(|q| !q.trim().is_empty()),
        reconcile,
    })
}

/// A cron expression with seconds, checked the way the scheduler will read it.
fn cron(key: &str, text: String) -> Result<String, ConfigError> {
    let parsed = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&text);
    if text.split_whitespace().count() != 6 || parsed.is_err() {
        return Err(invalid(
            key,
            format!("{text:?} needs six fields with seconds first, e.g. \"0 */5 * * * *\""),
        ));
    }
    Ok(text)
}

/// `sync.reconcile`: a cron schedule, the default, or `off`.
fn reconcile(value: Option<&str>) -> Result<Option<String>, ConfigError> {
    match value.map(str::trim) {
        None => Ok(Some(DEFAULT_RECONCILE.to_owned())),
        Some("off") => Ok(None),
        Some(schedule) => cron("sync.reconcile", schedule.to_owned()).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse_as_documented() {
        let k = "pollers.system_log.start";
        assert_eq!(StartAt::parse(k, "now").unwrap(), StartAt::Now);
        assert_eq!(StartAt::parse(k, " all ").unwrap(), StartAt::All);
        assert_eq!(
            StartAt::parse(k, "-24h").unwrap(),
            StartAt::Ago(Duration::from_secs(86_400))
        );
        assert_eq!(
            StartAt::parse(k, "-90m").unwrap(),
            StartAt::Ago(Duration::from_secs(5_400))
        );
        assert_eq!(
            StartAt::parse(k, "-7d").unwrap(),
            StartAt::Ago(Duration::from_secs(604_800))
        );
        let at = StartAt::parse(k, "2026-01-31T00:00:00+01:00").unwrap();
        assert_eq!(
            at.resolve(Utc::now()).to_rfc3339(),
            "2026-01-30T23:00:00+00:00"
        );
        for bad in ["yesterday", "-24", "-h", "24h", "2026-01-31"] {
            let err = StartAt::parse(k, bad).unwrap_err().to_string();
            assert!(err.starts_with(k) && err.contains("-24h"), "{bad}: {err}");
        }
    }

    #[test]
    fn poller_errors_name_the_key() {
        let env = |_: &str| None;
        let mut pollers = BTreeMap::new();
        pollers.insert("new_user".to_string(), PollerSection::default());
        let err = sync_settings(SyncSection::default(), pollers, &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("pollers.new_user:") && err.contains("new_users"),
            "{err}"
        );

        let mut pollers = BTreeMap::new();
        pollers.insert(
            "system_log".to_string(),
            PollerSection {
                page_size: Some(5000),
                ..Default::default()
            },
        );
        let err = sync_settings(SyncSection::default(), pollers, &env)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("pollers.system_log.page_size"), "{err}");

        let mut pollers = BTreeMap::new();
        pollers.insert(
            "new_users".to_string(),
            PollerSection {
                schedule: Some("*/5 * * * *".into()),
                ..Default::default()
            },
        );
        let err = sync_settings(SyncSection::default(), pollers, &env)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("pollers.new_users.schedule"), "{err}");
    }

    #[test]
    fn defaults_mirror_into_the_state_database() {
        let env = |k: &str| (k == "STATE_DIRECTORY").then(|| "/var/lib/oktasync".to_string());
        let s = sync_settings(SyncSection::default(), BTreeMap::new(), &env).unwrap();
        assert_eq!(s.state, PathBuf::from("/var/lib/oktasync/oktasync.db"));
        assert_eq!(
            s.sink_specs(),
            vec!["sqlite:/var/lib/oktasync/oktasync.db".to_string()]
        );
        assert_eq!(s.poller("new_users").unwrap().start, StartAt::All);
        assert_eq!(
            s.poller("system_log").unwrap().start,
            StartAt::Ago(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn the_reconciliation_is_daily_unless_turned_off_and_history_and_retention_are_bounded() {
        let env = |_: &str| None;
        let s = sync_settings(SyncSection::default(), BTreeMap::new(), &env).unwrap();
        assert_eq!(s.reconcile.as_deref(), Some(DEFAULT_RECONCILE));
        assert_eq!(s.run_history, RunHistory::default());
        assert_eq!(s.system_log_retention_days, None);
        let section = SyncSection {
            reconcile: Some("off".into()),
            runs_keep: Some(10),
            runs_keep_days: Some(0),
            system_log_retention_days: Some(30),
            ..SyncSection::default()
        };
        let s = sync_settings(section, BTreeMap::new(), &env).unwrap();
        assert_eq!(s.reconcile, None);
        assert_eq!((s.run_history.keep, s.run_history.keep_days), (10, 0));
        assert_eq!(s.system_log_retention_days, Some(30));
        let bad = SyncSection {
            reconcile: Some("0 3 * * *".into()),
            ..SyncSection::default()
        };
        let err = sync_settings(bad, BTreeMap::new(), &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("sync.reconcile") && err.contains("six fields"),
            "{err}"
        );
    }
}
