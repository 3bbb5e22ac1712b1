//! Printing command results on stdout: JSON (pretty on a terminal, compact otherwise), NDJSON
//! or an aligned table. Lists are written as they arrive, page by page, except tables (which
//! need every row to size their columns). Notes for people go to stderr.

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    // JSON: an object, or an array for lists.
    Json,
    // One JSON value per line.
    Ndjson,
    // Aligned columns for people.
    Table,
}

/// `--output`, taken by every admin command group.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArg {
    /// Output format, e.g. ndjson [default: json, pretty on a terminal]
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
}

/// A table column: its heading and the dotted path of the value shown.
pub type Column = (&'static str, &'static str);

/// Writes results in one format to one writer.
pub struct Printer {
    format: Format,
    pretty: bool,
    columns: &'static [Column],
    out: Box<dyn Write>,
}

impl Printer {
    /// A printer on stdout; `format` defaults to JSON.
    pub fn stdout(format: Option<Format>, columns: &'static [Column]) -> Printer {
        let stdout = io::stdout();
        let pretty = stdout.is_terminal();
        Printer::new(
            format.unwrap_or(Format::Json),
            pretty,
            columns,
            Box::new(stdout),
        )
    }

    pub fn new(
        format: Format,
        pretty: bool,
        columns: &'static [Column],
        out: Box<dyn Write>,
    ) -> Printer {
        Printer {
            format,
            pretty,
            columns,
            out,
        }
    }

    /// Prints one object.
    pub fn object(mut self, value: &Value) -> io::Result<()> {
        let text = match self.format {
            Format::Json if self.pretty => pretty(value),
            Format::Json | Format::Ndjson => value.to_string(),
            Format::Table => table(self.columns, std::slice::from_ref(value)),
        };
        ignore_closed_pipe(
            writeln!(self.out, "{}", text.trim_end()).and_then(|()| self.out.flush()),
        )
    }

    /// Starts a list; feed it with [`ListWriter::items`] and end it with [`ListWriter::finish`].
    pub fn list(self) -> ListWriter {
        ListWriter {
            printer: self,
            count: 0,
            rows: Vec::new(),
        }
    }
}

/// A list being printed.
pub struct ListWriter {
    printer: Printer,
    count: usize,
    rows: Vec<Value>,
}

impl ListWriter {
    pub fn items(&mut self, items: &[Value]) -> io::Result<()> {
        let p = &mut self.printer;
        for item in items {
            let result = match p.format {
                Format::Table => {
                    self.rows.push(item.clone());
                    Ok(())
                }
                Format::Ndjson => writeln!(p.out, "{item}"),
                Format::Json => {
                    let sep = if self.count == 0 { "[" } else { "," };
                    if p.pretty {
                        write!(p.out, "{sep}\n{}", indent(&pretty(item)))
                    } else {
                        write!(p.out, "{sep}{item}")
                    }
                }
            };
            ignore_closed_pipe(result)?;
            self.count += 1;
        }
        ignore_closed_pipe(p.out.flush())
    }

    pub fn finish(mut self) -> io::Result<()> {
        let p = &mut self.printer;
        let result = match p.format {
            Format::Table => write!(p.out, "{}", table(p.columns, &self.rows)),
            Format::Ndjson => Ok(()),
            Format::Json if self.count == 0 => writeln!(p.out, "[]"),
            Format::Json if p.pretty => writeln!(p.out, "\n]"),
            Format::Json => writeln!(p.out, "]"),
        };
        ignore_closed_pipe(result.and_then(|()| p.out.flush()))
    }
}

/// A reader that went away (`| head`) is not an error.
fn ignore_closed_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The widest a cell may be, except in the last column (which may run on: URLs, messages).
const MAX_CELL: usize = 60;

/// One table cell: scalars as text, arrays joined by commas, objects as compact JSON, control
/// characters as spaces.
fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A cell cut to [`MAX_CELL`] characters.
fn clip(text: String) -> String {
    if text.chars().count() > MAX_CELL {
        text.chars().take(MAX_CELL - 1).chain(['…']).collect()
    } else {
        text
    }
}

/// The columns used when a command has none: the first item's top-level scalar fields.
fn default_columns(rows: &[Value]) -> Vec<(String, String)> {
    let Some(Value::Object(first)) = rows.first() else {
        return vec![("VALUE".into(), String::new())];
    };
    first
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, _)| (k.to_uppercase(), k.clone()))
        .collect()
}

/// Rows aligned under their headings, two spaces apart.
pub fn table(columns: &[Column], rows: &[Value]) -> String {
    let columns: Vec<(String, String)> = if columns.is_empty() {
        default_columns(rows)
    } else {
        columns
            .iter()
            .map(|(h, p)| (h.to_string(), p.to_string()))
            .collect()
    };
    let mut grid = vec![columns.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>()];
    for row in rows {
        let value_at = |path: &str| {
            if path.is_empty() {
                Some(row)
            } else {
                path.split('.').try_fold(row, |v, key| v.get(key))
            }
        };
        let last = columns.len().saturating_sub(1);
        let cells = columns.iter().enumerate().map(|(i, (_, p))| {
            let text = cell(value_at(p));
            if i == last { text } else { clip(text) }
        });
        grid.push(cells.collect());
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| grid.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in grid {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn printed(format: Format, pretty: bool, pages: &[Vec<Value>]) -> String {
        let buf = Buf::default();
        let mut list = Printer::new(format, pretty, COLS, Box::new(buf.clone())).list();
        for page in pages {
            list.items(page).unwrap();
        }
        list.finish().unwrap();
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    const COLS: &[Column] = &[("ID", "id"), ("LOGIN", "profile.login")];

    #[test]
    fn a_list_streamed_in_pages_is_one_valid_json_array_in_every_json_style() {
        let pages = vec![
            vec![json!({"id": "a"})],
            vec![json!({"id": "b"}), json!({"id": "c"})],
        ];
        for pretty in [false, true] {
            let text = printed(Format::Json, pretty, &pages);
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, json!([{"id": "a"}, {"id": "b"}, {"id": "c"}]));
        }
        assert_eq!(printed(Format::Json, false, &[]), "[]\n");
    }

    #[test]
    fn ndjson_is_one_compact_object_per_line() {
        let text = printed(
            Format::Ndjson,
            true,
            &[vec![json!({"id": "a"}), json!({"id": "b"})]],
        );
        assert_eq!(text, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
    }

    #[test]
    fn a_table_aligns_columns_and_reads_dotted_paths() {
        let rows = vec![
            json!({"id": "00u1", "profile": {"login": "ann@x.io"}}),
            json!({"id": "00u22"}),
        ];
        let text = printed(Format::Table, false, &[rows]);
        assert_eq!(text, "ID     LOGIN\n00u1   ann@x.io\n00u22\n");
    }

    #[test]
    fn a_table_without_columns_shows_the_scalar_fields() {
        let text = table(
            &[],
            &[json!({"key": "00u1", "label": "Ann", "x": {"y": 1}})],
        );
        assert_eq!(text, "KEY   LABEL\n00u1  Ann\n");
    }
}
