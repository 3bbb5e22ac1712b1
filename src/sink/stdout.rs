//! The stdout sink: each batch as NDJSON lines through one lock on stdout, flushed before it
//! returns. This is the only code in oktasync that writes to stdout.

use std::io::{self, BufWriter, Write};

use super::{Delta, SinkError};

/// NDJSON on standard output.
#[derive(Debug, Default)]
pub struct StdoutSink {
    _private: (),
}

impl StdoutSink {
    pub fn new() -> StdoutSink {
        StdoutSink::default()
    }

    /// Writes and flushes the batch. A reader that went away shows up as an error for which
    /// [`SinkError::is_broken_pipe`] is true.
    pub fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        write_lines(&mut lock, deltas).map_err(SinkError::Stdout)
    }
}

/// Writes one line per delta to `out` and flushes it.
pub fn write_lines<W: Write>(out: &mut W, deltas: &[Delta]) -> io::Result<()> {
    let mut buf = BufWriter::with_capacity(64 * 1024, out);
    let mut line = String::new();
    for delta in deltas {
        line.clear();
        delta.push_line(&mut line);
        line.push('\n');
        buf.write_all(line.as_bytes())?;
    }
    // Flushes the buffer and then `out` itself.
    buf.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn delta(id: &str) -> Delta {
        let data = RawValue::from_string(format!(r#"{{"uuid":"{id}","x":[1, 2]}}"#)).unwrap();
        Delta::new("system_log", id, "2024-01-01T00:00:00.000Z", data)
    }

    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_delta_becomes_one_line_ending_in_a_newline() {
        let deltas = [delta("a"), delta("b")];
        let mut out = Vec::new();
        write_lines(&mut out, &deltas).unwrap();
        let expected = format!("{}\n{}\n", deltas[0].to_line(), deltas[1].to_line());
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn a_reader_that_went_away_is_a_broken_pipe_error_not_a_panic() {
        let err = write_lines(&mut ClosedPipe, &[delta("a")]).unwrap_err();
        let err = SinkError::Stdout(err);
        assert!(err.is_broken_pipe());
        assert!(err.to_string().contains("stdout"));
    }
}
