//! Log lines on stderr, as the place they end up expects them: human-readable text, coloured only
//! on a terminal; or one JSON object per line for log shippers (`--log-format json`). Under
//! journald (`$JOURNAL_STREAM` names stderr) lines carry no timestamp, since the journal stamps
//! each one, and start with the sd-daemon(3) `<N>` priority so `journalctl -p warning` works.
//!
//! Field names are stable: `stream`, `cursor`, `count`, `status`, `request_id`, `bucket`,
//! `method`, `path`, `error`; in JSON each event is `{"timestamp","level","message",…fields,
//! "target"}`.

use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{DefaultFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter, format};
use tracing_subscriber::registry::LookupSpan;

use super::progress;
use crate::config::LogFormat;

/// How logs are written, decided once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSetup {
    pub format: LogFormat,
    /// ANSI colours (text on a terminal only).
    pub ansi: bool,
    /// stderr is the journal: no timestamps, `<N>` priority prefixes.
    pub journald: bool,
}

/// The facts about the process's stderr that decide the setup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stderr {
    pub terminal: bool,
    /// `$JOURNAL_STREAM` names this very stderr.
    pub journal: bool,
    /// `$NO_COLOR` is set and not empty (no-color.org).
    pub no_color: bool,
}

impl Stderr {
    /// Looks at the real stderr and environment.
    pub fn detect() -> Stderr {
        let journal_stream = std::env::var("JOURNAL_STREAM").ok();
        Stderr {
            terminal: io::stderr().is_terminal(),
            journal: is_journal(journal_stream.as_deref(), stderr_id()),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// Colour only for text on a terminal that did not ask for none.
pub fn setup(format: LogFormat, stderr: Stderr) -> LogSetup {
    LogSetup {
        format,
        ansi: format == LogFormat::Text && stderr.terminal && !stderr.no_color && !stderr.journal,
        journald: stderr.journal,
    }
}

/// True when `$JOURNAL_STREAM` (`DEVICE:INODE`) names the file stderr is (systemd.exec(5)).
pub fn is_journal(journal_stream: Option<&str>, stderr: Option<(u64, u64)>) -> bool {
    let parsed = journal_stream.and_then(|v| {
        let (dev, ino) = v.trim().split_once(':')?;
        Some((dev.parse::<u64>().ok()?, ino.parse::<u64>().ok()?))
    });
    parsed.is_some() && parsed == stderr
}

/// Device and inode of stderr.
fn stderr_id() -> Option<(u64, u64)> {
    let fd = io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Installs the global subscriber: `RUST_LOG` filters (default `oktasync=info`).
pub fn init(setup: LogSetup) {
    let prefix = setup.journald;
    match (setup.format, setup.journald) {
        (LogFormat::Text, false) => install(
            DefaultFields::new(),
            Prefixed {
                inner: format(),
                prefix,
            },
            setup.ansi,
        ),
        (LogFormat::Text, true) => install(
            DefaultFields::new(),
            Prefixed {
                inner: format().without_time(),
                prefix,
            },
            false,
        ),
        (LogFormat::Json, false) => install(
            JsonFields::new(),
            Prefixed {
                inner: json(),
                prefix,
            },
            false,
        ),
        (LogFormat::Json, true) => install(
            JsonFields::new(),
            Prefixed {
                inner: json().without_time(),
                prefix,
            },
            false,
        ),
    }
}

fn json() -> format::Format<format::Json> {
    format()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
}

fn install<N, E>(fields: N, events: E, ansi: bool)
where
    N: for<'w> FormatFields<'w> + Send + Sync + 'static,
    E: FormatEvent<tracing_subscriber::Registry, N> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("oktasync=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(StderrWriter)
        .with_ansi(ansi)
        .fmt_fields(fields)
        .event_format(events)
        .init();
}

/// An event format with, optionally, the `<N>` syslog priority journald reads first.
struct Prefixed<F> {
    inner: F,
    prefix: bool,
}

impl<S, N, F> FormatEvent<S, N> for Prefixed<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        if self.prefix {
            write!(writer, "<{}>", priority(*event.metadata().level()))?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

/// The syslog priority of a tracing level: err, warning, info, debug.
pub fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// stderr, with any progress line lifted out of the way of each log line.
struct StderrWriter;

impl<'a> MakeWriter<'a> for StderrWriter {
    type Writer = StderrLine;

    fn make_writer(&'a self) -> StderrLine {
        StderrLine
    }
}

struct StderrLine;

impl Write for StderrLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        progress::suspend(|| io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_for_text_on_a_terminal_without_no_color_or_journald() {
        let term = Stderr {
            terminal: true,
            ..Stderr::default()
        };
        assert!(setup(LogFormat::Text, term).ansi);
        assert!(!setup(LogFormat::Json, term).ansi);
        assert!(
            !setup(LogFormat::Text, Stderr::default()).ansi,
            "a pipe or a file"
        );
        assert!(
            !setup(
                LogFormat::Text,
                Stderr {
                    no_color: true,
                    ..term
                }
            )
            .ansi
        );
        let journal = Stderr {
            journal: true,
            ..Stderr::default()
        };
        assert_eq!(
            setup(LogFormat::Text, journal),
            LogSetup {
                format: LogFormat::Text,
                ansi: false,
                journald: true
            }
        );
    }

    #[test]
    fn journald_is_recognised_only_when_journal_stream_names_stderr() {
        assert!(is_journal(Some("8:12345"), Some((8, 12345))));
        assert!(
            !is_journal(Some("8:12345"), Some((8, 99))),
            "stderr was redirected"
        );
        assert!(!is_journal(None, Some((8, 12345))));
        assert!(!is_journal(Some("garbage"), Some((8, 12345))));
        assert!(!is_journal(Some("8:12345"), None));
    }

    #[test]
    fn levels_map_to_syslog_priorities() {
        let got: Vec<u8> = [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ]
        .into_iter()
        .map(priority)
        .collect();
        assert_eq!(got, [3, 4, 6, 7, 7]);
    }
}
