//! Streaming CSV input with row accounting.
//!
//! The export is read record by record into reusable buffers, so memory does not grow with the
//! file. Every record carries its data-row number (1 = the first row after the header) and the
//! line it starts on, which is what rejects and error messages cite.
//!
//! Problems with the file itself (not UTF-8, a row with the wrong number of fields, a column the
//! schema needs but the header lacks) are errors that stop the run: the file is not what the
//! schema describes, and encoding part of it would lose rows silently.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use csv::StringRecord;

pub use super::input_error::{InputError, InputErrorKind};

/// One data row with its position.
#[derive(Debug, Default, Clone)]
pub struct InputRow {
    /// Data row number, from 1 (the header is row 0).
    pub row: u64,
    /// Line the record starts on, from 1; 0 for rows that do not come from a text file (rows
    /// given in memory).
    pub line: u64,
    /// The fields.
    pub record: StringRecord,
}

/// A CSV export opened for streaming.
pub struct CsvInput {
    reader: csv::Reader<ByteProbe>,
    headers: StringRecord,
    source_name: String,
    crlf: Arc<AtomicU8>,
    open_quote: Arc<AtomicU64>,
}

/// Watches the raw bytes for what the CSV parser does not report.
///
/// * The line ending: the parser counts lines by `\n` but ends a CRLF record at the `\r`, so the
///   line it reports for each record of a CRLF file is one short. Knowing the file's line ending
///   lets [`CsvInput`] report the line a person sees in an editor.
/// * A quoted field still open at the end of the input: the parser accepts it, silently
///   swallowing every later row into one field. This is what a truncated export or a stray
///   quote looks like, so it is an error here. The probe follows the parser's quote states
///   (RFC 4180 with doubled quotes as escapes).
struct ByteProbe {
    inner: Box<dyn Read + Send>,
    delimiter: u8,
    /// Shared with [`CsvInput`]: 0 = not seen yet, 1 = LF, 2 = CRLF.
    seen: Arc<AtomicU8>,
    /// Shared with [`CsvInput`]: the line where a quote that never closed was opened (0: none).
    open_quote: Arc<AtomicU64>,
    last: u8,
    state: QuoteState,
    line: u64,
    quote_line: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl ByteProbe {
    fn scan(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        for &b in bytes {
            if b == b'\n' {
                if self.seen.load(Ordering::Relaxed) == 0 {
                    let kind = if self.last == b'\r' { 2 } else { 1 };
                    self.seen.store(kind, Ordering::Relaxed);
                }
                self.line += 1;
            }
            self.last = b;
            let end = b == self.delimiter || b == b'\n' || b == b'\r';
            self.state = match (self.state, b) {
                (FieldStart, b'"') => {
                    self.quote_line = self.line;
                    Quoted
                }
                (FieldStart | Unquoted, _) if end => FieldStart,
                (FieldStart | Unquoted, _) => Unquoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (QuoteInQuoted, _) if end => FieldStart,
                (QuoteInQuoted, _) => Unquoted,
            };
        }
    }
}

impl Read for ByteProbe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.state == QuoteState::Quoted {
            self.open_quote.store(self.quote_line, Ordering::Relaxed);
        }
        self.scan(&buf[..n]);
        Ok(n)
    }
}

impl CsvInput {
    /// Opens a file, or standard input for `-`, and reads the header row.
    pub fn open(path: &str, delimiter: u8) -> Result<CsvInput, InputError> {
        if path == "-" {
            CsvInput::from_reader(io::stdin(), "standard input", delimiter)
        } else {
            CsvInput::from_path(path, delimiter)
        }
    }

    /// Opens the file at `path` and reads the header row.
    pub fn from_path(path: impl AsRef<Path>, delimiter: u8) -> Result<CsvInput, InputError> {
        let shown = path.as_ref().display().to_string();
        let file = File::open(path.as_ref()).map_err(|source| InputError::Io {
            source_name: shown.clone(),
            source,
        })?;
        CsvInput::from_reader(file, shown, delimiter)
    }

    /// Reads CSV from any reader (a file, a socket, bytes in memory), header row first;
    /// `source_name` names the input in messages.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        source_name: impl Into<String>,
        delimiter: u8,
    ) -> Result<CsvInput, InputError> {
        let source_name = source_name.into();
        let source: Box<dyn Read + Send> = Box::new(reader);
        let crlf = Arc::new(AtomicU8::new(0));
        let open_quote = Arc::new(AtomicU64::new(0));
        let source = ByteProbe {
            inner: source,
            delimiter,
            seen: Arc::clone(&crlf),
            open_quote: Arc::clone(&open_quote),
            last: 0,
            state: QuoteState::FieldStart,
            line: 1,
            quote_line: 0,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .buffer_capacity(1 << 16)
            .from_reader(source);
        let headers = reader
            .headers()
            .map_err(|e| convert_error(&source_name, 0, e))?
            .clone();
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(InputError::NoHeader { source_name });
        }
        Ok(CsvInput {
            reader,
            headers,
            source_name,
            crlf,
            open_quote,
        })
    }

    /// The header row.
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The name used in messages.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Bytes of input consumed so far (for progress reports).
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Finds the index of each `(column, needed_by)`; errors name the first column that is
    /// missing or ambiguous.
    pub fn resolve_columns(&self, columns: &[(&str, String)]) -> Result<Vec<usize>, InputError> {
        let headers: Vec<&str> = self.headers.iter().collect();
        find_columns(&self.source_name, &headers, columns)
    }

    /// Reads the next row into `row` (reusing its buffers); `Ok(false)` at the end of input.
    pub fn read_row(&mut self, row: &mut InputRow) -> Result<bool, InputError> {
        match self.reader.read_record(&mut row.record) {
            Ok(true) => {
                if let Some(pos) = row.record.position() {
                    row.row = pos.record();
                    row.line = pos.line() + u64::from(self.crlf.load(Ordering::Relaxed) == 2);
                }
                Ok(true)
            }
            Ok(false) => match self.open_quote.load(Ordering::Relaxed) {
                0 => Ok(false),
                line => Err(InputError::UnclosedQuote {
                    source_name: self.source_name.clone(),
                    line,
                }),
            },
            Err(e) => Err(convert_error(
                &self.source_name,
                u64::from(self.crlf.load(Ordering::Relaxed) == 2),
                e,
            )),
        }
    }

    /// Fills `rows` with up to `max` rows, reusing the buffers already in it; returns how many
    /// were read (fewer than `max` only at the end of input).
    pub fn read_chunk(
        &mut self,
        rows: &mut Vec<InputRow>,
        max: usize,
    ) -> Result<usize, InputError> {
        let mut n = 0;
        while n < max {
            if rows.len() == n {
                rows.push(InputRow::default());
            }
            if !self.read_row(&mut rows[n])? {
                break;
            }
            n += 1;
        }
        rows.truncate(n);
        Ok(n)
    }
}

/// Finds the index in `headers` of each `(column, needed_by)` (header names are compared with
/// surrounding spaces trimmed); errors name the first column that is missing or ambiguous.
pub(crate) fn find_columns(
    source_name: &str,
    headers: &[&str],
    columns: &[(&str, String)],
) -> Result<Vec<usize>, InputError> {
    columns
        .iter()
        .map(|(column, needed_by)| {
            let found: Vec<usize> = (0..headers.len())
                .filter(|&i| headers[i].trim() == *column)
                .collect();
            match found.as_slice() {
                [i] => Ok(*i),
                [] => Err(InputError::MissingColumn {
                    source_name: source_name.to_string(),
                    column: column.to_string(),
                    needed_by: needed_by.clone(),
                    columns: headers.len(),
                    near: headers
                        .iter()
                        .position(|h| h.trim().to_lowercase() == column.to_lowercase())
                        .map(|i| i + 1),
                }),
                many => Err(InputError::DuplicateColumn {
                    source_name: source_name.to_string(),
                    column: column.to_string(),
                    count: many.len(),
                }),
            }
        })
        .collect()
}

fn convert_error(source_name: &str, line_fix: u64, e: csv::Error) -> InputError {
    let source_name = source_name.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => InputError::Io {
            source_name,
            source,
        },
        csv::ErrorKind::Utf8 { pos, err } => {
            let (row, line) = pos
                .map(|p| (p.record(), p.line() + line_fix))
                .unwrap_or((0, 1));
            // The column by position: its name is file content.
            let column = (err.field() + 1).to_string();
            InputError::InvalidUtf8 {
                source_name,
                row,
                line,
                column,
            }
        }
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let (row, line) = pos
                .map(|p| (p.record(), p.line() + line_fix))
                .unwrap_or((0, 0));
            InputError::UnequalLengths {
                source_name,
                row,
                line,
                expected: expected_len,
                found: len,
            }
        }
        other => {
            let line = match &other {
                csv::ErrorKind::Deserialize { pos: Some(p), .. } => p.line(),
                _ => 0,
            };
            InputError::Malformed {
                source_name,
                line,
                message: format!("{other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &'static [u8]) -> Result<CsvInput, InputError> {
        CsvInput::from_reader(text, "t.csv", b',')
    }

    fn read_all(mut inp: CsvInput) -> Result<Vec<InputRow>, InputError> {
        let mut rows = Vec::new();
        inp.read_chunk(&mut rows, usize::MAX)?;
        Ok(rows)
    }

    #[test]
    fn rows_and_lines_are_counted() {
        let rows = read_all(input(b"id,name\n1,\"a\nb\"\n2,c\n").unwrap()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].row, rows[0].line), (1, 2));
        assert_eq!((rows[1].row, rows[1].line), (2, 4));
        assert_eq!(&rows[0].record[1], "a\nb");
    }

    #[test]
    fn lines_are_right_for_crlf_files() {
        let rows = read_all(input(b"id,name\r\n1,a\r\n2,\"x\r\ny\"\r\n3,c\r\n").unwrap()).unwrap();
        let lines: Vec<_> = rows.iter().map(|r| (r.row, r.line)).collect();
        assert_eq!(lines, [(1, 2), (2, 3), (3, 5)]);
    }

    #[test]
    fn an_unclosed_quote_is_an_error_not_a_swallowed_file() {
        let err = read_all(input(b"id,name\n1,\"a\n2,b\n3,c\n").unwrap()).unwrap_err();
        assert!(
            matches!(err, InputError::UnclosedQuote { line: 2, .. }),
            "{err:?}"
        );
        // Closed quotes, doubled quotes and quotes inside unquoted fields are fine.
        let rows = read_all(input(b"id,name\n1,\"a \"\"x\"\" b\"\n2,5'10\"\n").unwrap()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0].record[1], "a \"x\" b");
    }

    #[test]
    fn bom_is_ignored_in_header() {
        let inp = input(b"\xEF\xBB\xBFid,name\n1,a\n").unwrap();
        assert_eq!(inp.resolve_columns(&[("id", "id".into())]).unwrap(), [0]);
    }

    #[test]
    fn invalid_utf8_names_row_and_column() {
        let err = read_all(input(b"id,name\n1,ok\n2,caf\xe9\n").unwrap()).unwrap_err();
        match err {
            InputError::InvalidUtf8 {
                row, line, column, ..
            } => assert_eq!((row, line, column.as_str()), (2, 3, "2")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unequal_lengths_are_an_error() {
        let err = read_all(input(b"id,name\n1,a\n2\n").unwrap()).unwrap_err();
        assert!(matches!(
            err,
            InputError::UnequalLengths {
                row: 2,
                expected: 2,
                found: 1,
                ..
            }
        ));
    }

    #[test]
    fn missing_and_duplicate_columns() {
        let inp = input(b"id,name,name\n").unwrap();
        let err = inp
            .resolve_columns(&[("dob", "field `dob`".into())])
            .unwrap_err();
        assert!(
            matches!(err, InputError::MissingColumn { ref column, columns: 3, near: None, .. }
            if column == "dob")
        );
        assert_eq!(err.kind(), InputErrorKind::MissingColumn);
        assert_eq!(err.position().field.as_deref(), Some("dob"));
        let err = inp.resolve_columns(&[("name", "x".into())]).unwrap_err();
        assert!(matches!(err, InputError::DuplicateColumn { count: 2, .. }));
        // The header is not quoted; a name that differs only in case is pointed to by position.
        let inp = input(b"\x1b[31mX,ID\n").unwrap();
        let err = inp.resolve_columns(&[("id", "id".into())]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("column 2 has this name"), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains("ID"), "{text}");
    }

    #[test]
    fn empty_input_has_no_header() {
        assert!(matches!(input(b""), Err(InputError::NoHeader { .. })));
    }
}
