//! Where deltas go: the `--sink` specs that name the sinks, and [`Sinks`], which writes one
//! batch to all of them at once, each on a thread of its own, and reports only once the batch
//! is durable everywhere, so the caller may then commit its cursor.

mod file;
mod sqlite;
mod stdout;
mod worker;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use crate::store::StoreError;

pub use crate::delta::{Delta, Op, stream, utc_millis};
pub use file::{FileSink, Rotation};
pub use sqlite::SqliteSink;
pub use stdout::{StdoutSink, write_lines};
pub use worker::Delivery;
use worker::Worker;

/// One `--sink` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// NDJSON on standard output.
    Stdout,
    /// NDJSON appended to a file, rotated by size and day.
    File(PathBuf),
    /// Rows upserted into a SQLite mirror (the state database itself when the paths match).
    Sqlite(PathBuf),
}

/// A `--sink` value that is not one of the accepted forms.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SinkSpecError(String);

impl FromStr for SinkSpec {
    type Err = SinkSpecError;

    fn from_str(s: &str) -> Result<SinkSpec, SinkSpecError> {
        let path = |p: &str| {
            if p.is_empty() {
                Err(SinkSpecError(format!(
                    "sink {s:?} has an empty path: use file:PATH or sqlite:PATH"
                )))
            } else {
                Ok(PathBuf::from(p))
            }
        };
        if s == "stdout" {
            Ok(SinkSpec::Stdout)
        } else if let Some(p) = s.strip_prefix("file:") {
            path(p).map(SinkSpec::File)
        } else if let Some(p) = s.strip_prefix("sqlite:") {
            path(p).map(SinkSpec::Sqlite)
        } else {
            Err(SinkSpecError(format!(
                "unknown sink {s:?}: use stdout, file:PATH or sqlite:PATH"
            )))
        }
    }
}

impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Stdout => f.write_str("stdout"),
            SinkSpec::File(p) => write!(f, "file:{}", p.display()),
            SinkSpec::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
        }
    }
}

/// Why a sink could not be opened or could not take a batch. The batch was not delivered
/// everywhere, so the caller must not commit its cursor.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot write NDJSON to stdout: {0}; check that the reading process is still running")]
    Stdout(io::Error),
    #[error(
        "cannot {action} NDJSON file {path}: {cause}; check that the directory exists and is writable"
    )]
    File {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("sqlite sink {path}: {cause}")]
    Mirror {
        path: PathBuf,
        cause: Box<StoreError>,
    },
    #[error("sink {0} is listed more than once: list each sink once")]
    Duplicate(SinkSpec),
    #[error("sink {0} stopped working after an earlier failure; restart oktasync")]
    Stopped(String),
}

impl SinkError {
    /// True when stdout's reader went away (EPIPE): a clean reason to stop, not a crash.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, SinkError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Every configured sink, opened, each on a thread of its own.
#[derive(Debug)]
pub struct Sinks {
    workers: Vec<Worker>,
    mirrors_state: bool,
}

impl Sinks {
    /// Opens the sinks `settings` names (or its default, a mirror in the state database), with
    /// its rotation, and returns them with their specs.
    pub fn configured(
        settings: &crate::config::SyncSettings,
    ) -> anyhow::Result<(Sinks, Vec<SinkSpec>)> {
        use anyhow::Context as _;
        let specs = settings
            .sink_specs()
            .iter()
            .map(|s| {
                s.parse::<SinkSpec>()
                    .with_context(|| format!("sync.sinks: {s:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let rotation = Rotation {
            max_bytes: settings.rotate_bytes,
            daily: settings.rotate_daily,
        };
        let sinks =
            Sinks::open(&specs, &settings.state, rotation).context("cannot open the sinks")?;
        Ok((sinks, specs))
    }

    /// Opens every sink. A `sqlite:` spec naming the state database is not opened a second time:
    /// [`Sinks::mirrors_state`] reports it, and the caller mirrors rows in its cursor transaction.
    pub fn open(
        specs: &[SinkSpec],
        state_path: &Path,
        rotation: Rotation,
    ) -> Result<Sinks, SinkError> {
        let mut sinks = Sinks {
            workers: Vec::new(),
            mirrors_state: false,
        };
        let state = resolve(state_path);
        let mut seen = Vec::new();
        for spec in specs {
            let resolved = match spec {
                SinkSpec::Stdout => PathBuf::new(),
                SinkSpec::File(p) | SinkSpec::Sqlite(p) => resolve(p),
            };
            let key = (std::mem::discriminant(spec), resolved);
            if seen.contains(&key) {
                return Err(SinkError::Duplicate(spec.clone()));
            }
            let name = spec.to_string();
            let worker = match spec {
                SinkSpec::Stdout => Some(Worker::spawn(name, StdoutSink::new())),
                SinkSpec::File(p) => Some(Worker::spawn(name, FileSink::open(p, rotation)?)),
                SinkSpec::Sqlite(_) if key.1 == state => {
                    sinks.mirrors_state = true;
                    None
                }
                SinkSpec::Sqlite(p) => Some(Worker::spawn(name, SqliteSink::open(p)?)),
            };
            sinks.workers.extend(worker);
            seen.push(key);
        }
        Ok(sinks)
    }

    /// True when a `sqlite:` sink is the state database: the caller must then write the mirror
    /// rows in the transaction that commits its cursor.
    pub fn mirrors_state(&self) -> bool {
        self.mirrors_state
    }

    /// True when any sink is more than the state database's own mirror: a batch then leaves the
    /// state database's transaction and may be seen before (or without) its commit.
    pub fn beyond_state(&self) -> bool {
        !self.workers.is_empty()
    }

    /// Starts writing the batch to every sink at once: stdout (flushed), every file (flushed and
    /// fsynced) and every separate SQLite mirror (committed). The [`Delivery`] says when all of
    /// that is done.
    pub fn send(&self, batch: Arc<Vec<Delta>>) -> Delivery {
        Delivery::of(&self.workers, batch)
    }

    /// Writes the batch to every sink and returns once it is durable everywhere. Blocks: call it
    /// from a blocking thread.
    pub fn deliver(&self, deltas: &[Delta]) -> Result<(), SinkError> {
        if deltas.is_empty() {
            return Ok(());
        }
        self.send(Arc::new(deltas.to_vec())).wait_blocking()
    }
}

/// One sink's writes, done on the sink's own thread.
trait BatchSink: Send + 'static {
    fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError>;
}

/// The canonical form of `p`, or of its directory joined with its name when `p` does not exist
/// yet, or `p` itself when neither exists.
fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), p.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MirrorCounts, Store};
    use serde_json::value::RawValue;

    fn event(uuid: &str) -> Delta {
        let data = format!(r#"{{ "uuid": "{uuid}", "published": "2024-01-01T00:00:00.000Z" }}"#);
        Delta::new(
            stream::SYSTEM_LOG,
            uuid,
            "2024-01-01T00:00:00.000Z",
            RawValue::from_string(data).unwrap(),
        )
    }

    #[test]
    fn sink_specs_parse_the_three_forms_and_print_back() {
        for (text, spec) in [
            ("stdout", SinkSpec::Stdout),
            (
                "file:/var/log/okta.ndjson",
                SinkSpec::File("/var/log/okta.ndjson".into()),
            ),
            ("sqlite:mirror.db", SinkSpec::Sqlite("mirror.db".into())),
        ] {
            assert_eq!(text.parse::<SinkSpec>().unwrap(), spec);
            assert_eq!(spec.to_string(), text);
        }
    }

    #[test]
    fn bad_sink_specs_are_rejected_with_the_accepted_forms() {
        let err = "s3:x".parse::<SinkSpec>().unwrap_err().to_string();
        assert_eq!(
            err,
            r#"unknown sink "s3:x": use stdout, file:PATH or sqlite:PATH"#
        );
        for empty in ["file:", "sqlite:"] {
            let err = empty.parse::<SinkSpec>().unwrap_err().to_string();
            assert!(
                err.contains("empty path") && err.contains("file:PATH"),
                "{err}"
            );
        }
        assert!("STDOUT".parse::<SinkSpec>().is_err());
    }

    #[test]
    fn a_sqlite_sink_naming_the_state_database_is_not_opened_twice() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.db");
        let same_but_dotted = dir.path().join(".").join("state.db");
        let specs = [SinkSpec::Sqlite(same_but_dotted)];
        let sinks = Sinks::open(&specs, &state, Rotation::default()).unwrap();
        assert!(sinks.mirrors_state());
        assert!(sinks.workers.is_empty());
        assert!(
            !state.exists(),
            "the state database is the caller's to create"
        );

        Store::open(&state).unwrap();
        let sinks = Sinks::open(&specs, &state, Rotation::default()).unwrap();
        assert!(sinks.mirrors_state());
    }

    #[test]
    fn a_sink_listed_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.ndjson");
        let specs = [SinkSpec::File(file.clone()), SinkSpec::File(file)];
        let err =
            Sinks::open(&specs, &dir.path().join("state.db"), Rotation::default()).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
    }

    #[test]
    fn deliver_writes_files_and_separate_mirrors_before_returning() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.ndjson");
        let mirror = dir.path().join("mirror.db");
        let specs = [
            SinkSpec::File(file.clone()),
            SinkSpec::Sqlite(mirror.clone()),
        ];
        let sinks = Sinks::open(&specs, &dir.path().join("state.db"), Rotation::default()).unwrap();
        assert!(!sinks.mirrors_state());
        let batch = [event("e1"), event("e2")];
        sinks.deliver(&batch).unwrap();
        sinks.deliver(&[]).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            format!("{}\n{}\n", batch[0].to_line(), batch[1].to_line())
        );
        let counts = Store::open(&mirror).unwrap().mirror_counts().unwrap();
        assert_eq!(
            counts,
            MirrorCounts {
                users: 0,
                system_log: 2
            }
        );
    }

    #[test]
    fn sinks_can_be_shared_between_tasks() {
        fn assert_shared<T: Send + Sync>() {}
        assert_shared::<Sinks>();
    }
}
