//! Where deltas go: the [`Delta`] envelope every sink receives, the `--sink` specs that name the
//! sinks, and [`Sinks`], which delivers one batch to all of them and returns only once the batch
//! is durable everywhere, so the caller may then commit its cursor.

mod file;
mod sqlite;
mod stdout;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::store::StoreError;

pub use file::{FileSink, Rotation};
pub use sqlite::SqliteSink;
pub use stdout::{StdoutSink, write_lines};

/// The stream names a [`Delta`] can carry.
pub mod stream {
    /// Users seen for the first time.
    pub const NEW_USERS: &str = "new_users";
    /// Users whose `lastUpdated` moved.
    pub const UPDATED_USERS: &str = "updated_users";
    /// Events read from the System Log API.
    pub const SYSTEM_LOG: &str = "system_log";
    /// Events pushed to us by an Okta event hook.
    pub const EVENT_HOOK: &str = "event_hook";
    /// Groups whose profile or membership time moved, and deleted groups.
    pub const GROUPS: &str = "groups";
    /// Memberships: `"<group>/<user>"`.
    pub const GROUP_MEMBERS: &str = "group_members";
    /// Applications, and deleted ones.
    pub const APPS: &str = "apps";
    /// App assignments: `"<app>/<user>"`.
    pub const APP_USERS: &str = "app_users";
}

/// What a [`Delta`] says happened to its record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// The record as it is now (new or changed; also a membership first seen on a backfill).
    #[default]
    Upsert,
    /// The record is gone from Okta: a tombstone.
    Delete,
    /// A membership or assignment appeared since the last sync.
    Add,
    /// A membership or assignment went away.
    Remove,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
            Op::Add => "add",
            Op::Remove => "remove",
        }
    }
}

/// One change, as written to every sink: a small envelope around the Okta object, which is kept
/// byte for byte as received (unknown fields included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delta {
    /// One of the [`stream`] names.
    pub stream: String,
    /// What happened to the record.
    #[serde(default)]
    pub op: Op,
    /// Okta user id or event uuid.
    pub id: String,
    /// User `lastUpdated` or event `published`.
    pub version: String,
    /// When oktasync emitted this delta: RFC 3339 UTC with milliseconds.
    pub emitted_at: String,
    /// The Okta object exactly as received.
    pub data: Box<RawValue>,
}

impl Delta {
    /// A delta emitted now.
    pub fn new(stream: &str, id: &str, version: &str, data: Box<RawValue>) -> Delta {
        Delta {
            stream: stream.to_owned(),
            op: Op::Upsert,
            id: id.to_owned(),
            version: version.to_owned(),
            emitted_at: utc_millis(Utc::now()),
            data,
        }
    }

    /// The same delta with another [`Op`].
    pub fn with_op(mut self, op: Op) -> Delta {
        self.op = op;
        self
    }

    /// `{"stream":…,"op":…,"id":…,"version":…,"emitted_at":…,"data":<raw>}` with keys in that
    /// order and no trailing newline.
    pub fn to_line(&self) -> String {
        let mut line = String::with_capacity(self.data.get().len() + 144);
        line.push_str("{\"stream\":");
        push_json_string(&mut line, &self.stream);
        line.push_str(",\"op\":\"");
        line.push_str(self.op.as_str());
        line.push_str("\",\"id\":");
        push_json_string(&mut line, &self.id);
        line.push_str(",\"version\":");
        push_json_string(&mut line, &self.version);
        line.push_str(",\"emitted_at\":");
        push_json_string(&mut line, &self.emitted_at);
        line.push_str(",\"data\":");
        line.push_str(self.data.get());
        line.push('}');
        line
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// RFC 3339 UTC with milliseconds, e.g. `2024-08-13T15:58:20.353Z`.
pub(crate) fn utc_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

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
}

impl SinkError {
    /// True when stdout's reader went away (EPIPE): a clean reason to stop, not a crash.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, SinkError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Every configured sink, opened.
#[derive(Debug)]
pub struct Sinks {
    stdout: Option<StdoutSink>,
    files: Vec<FileSink>,
    mirrors: Vec<SqliteSink>,
    mirrors_state: bool,
}

impl Sinks {
    /// Opens every sink. A `sqlite:` spec naming the state database is not opened a second time:
    /// [`Sinks::mirrors_state`] reports it, and the caller mirrors rows in its cursor transaction.
    pub fn open(
        specs: &[SinkSpec],
        state_path: &Path,
        rotation: Rotation,
    ) -> Result<Sinks, SinkError> {
        let mut sinks = Sinks {
            stdout: None,
            files: Vec::new(),
            mirrors: Vec::new(),
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
            match spec {
                SinkSpec::Stdout => sinks.stdout = Some(StdoutSink::new()),
                SinkSpec::File(p) => sinks.files.push(FileSink::open(p, rotation)?),
                SinkSpec::Sqlite(_) if key.1 == state => sinks.mirrors_state = true,
                SinkSpec::Sqlite(p) => sinks.mirrors.push(SqliteSink::open(p)?),
            }
            seen.push(key);
        }
        Ok(sinks)
    }

    /// True when a `sqlite:` sink is the state database: the caller must then pass `mirror: true`
    /// when it commits a page.
    pub fn mirrors_state(&self) -> bool {
        self.mirrors_state
    }

    /// True when any sink is more than the state database's own mirror: a batch then leaves the
    /// state database's transaction and may be seen before (or without) its commit.
    pub fn beyond_state(&self) -> bool {
        self.stdout.is_some() || !self.files.is_empty() || !self.mirrors.is_empty()
    }

    /// Writes the batch to stdout (flushed), to every file (flushed and fsynced) and to every
    /// separate SQLite mirror (committed). Returns only when all of that is done.
    pub fn deliver(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        if deltas.is_empty() {
            return Ok(());
        }
        if let Some(stdout) = &mut self.stdout {
            stdout.write_batch(deltas)?;
        }
        for file in &mut self.files {
            file.write_batch(deltas)?;
        }
        for mirror in &mut self.mirrors {
            mirror.write_batch(deltas)?;
        }
        Ok(())
    }
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

    fn event(uuid: &str) -> Delta {
        let data = format!(
            r#"{{ "uuid": "{uuid}", "published": "2024-01-01T00:00:00.000Z", "newField": {{"n": 1.50}} }}"#
        );
        Delta::new(
            stream::SYSTEM_LOG,
            uuid,
            "2024-01-01T00:00:00.000Z",
            RawValue::from_string(data).unwrap(),
        )
    }

    #[test]
    fn a_line_has_the_envelope_keys_in_order_and_the_okta_object_byte_for_byte() {
        let mut d = event("e1");
        d.emitted_at = "2024-01-02T03:04:05.678Z".into();
        d.id = "quote\" back\\ nl\n ctl\u{1} é".into();
        let expected = concat!(
            r#"{"stream":"system_log","op":"upsert","id":"quote\" back\\ nl\n ctl\u0001 é","#,
            r#""version":"2024-01-01T00:00:00.000Z","emitted_at":"2024-01-02T03:04:05.678Z","#,
            r#""data":{ "uuid": "e1", "published": "2024-01-01T00:00:00.000Z", "newField": {"n": 1.50} }}"#
        );
        assert_eq!(d.to_line(), expected);
        let parsed: Delta = serde_json::from_str(&d.to_line()).unwrap();
        assert_eq!(parsed.id, d.id);
        assert_eq!(parsed.data.get(), d.data.get());
    }

    #[test]
    fn emitted_at_is_rfc3339_utc_with_milliseconds() {
        let at = event("e1").emitted_at;
        assert_eq!(at.len(), "2024-01-02T03:04:05.678Z".len(), "{at}");
        assert!(at.ends_with('Z') && DateTime::parse_from_rfc3339(&at).is_ok());
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
        assert!(sinks.mirrors.is_empty());
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
        let mut sinks =
            Sinks::open(&specs, &dir.path().join("state.db"), Rotation::default()).unwrap();
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
    fn sinks_can_move_to_a_blocking_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Sinks>();
    }
}
