//! What can be wrong with an input as a whole (CSV or Parquet): [`InputError`], with its kind
//! ([`InputErrorKind`], stable codes) and its position (file, row, line, column).
//!
//! These errors stop a job: the file is not what the schema describes, and encoding part of it
//! would lose rows silently. A row that merely cannot be encoded is a reject, not an error.

use std::io;

/// A problem with the input file as a whole (CSV or Parquet, see [`crate::io::Input`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("cannot read {source_name}: {source}")]
    Io {
        /// The file, or `standard input`.
        source_name: String,
        /// The cause.
        source: io::Error,
    },
    /// The file has no header row.
    #[error("{source_name} is empty: expected a header row naming the columns")]
    NoHeader {
        /// The file.
        source_name: String,
    },
    /// A field is not valid UTF-8.
    #[error(
        "{source_name}: row {row} (line {line}), column {column}: invalid UTF-8; \
         the export must be UTF-8 (convert it, e.g. `iconv -f latin1 -t utf-8`)"
    )]
    InvalidUtf8 {
        /// The file.
        source_name: String,
        /// Data row, from 1 (0 is the header).
        row: u64,
        /// Line the record starts on, from 1.
        line: u64,
        /// The column: its 1-based position in a CSV file (the header is file content, which
        /// messages never quote), its name in a Parquet file.
        column: String,
    },
    /// A row has a different number of fields from the header.
    #[error(
        "{source_name}: row {row} (line {line}) has {found} fields but the header has {expected}; \
         the file is malformed or truncated (check quoting and the delimiter)"
    )]
    UnequalLengths {
        /// The file.
        source_name: String,
        /// Data row, from 1.
        row: u64,
        /// Line, from 1.
        line: u64,
        /// Fields in the header.
        expected: u64,
        /// Fields in this row.
        found: u64,
    },
    /// A quoted field is still open at the end of the input.
    #[error(
        "{source_name}: the quoted field opened on line {line} is never closed, so every later \
         row would be swallowed into it; the file is malformed or truncated"
    )]
    UnclosedQuote {
        /// The file.
        source_name: String,
        /// Line of the opening quote, from 1.
        line: u64,
    },
    /// Any other CSV error.
    #[error("{source_name}: malformed CSV at line {line}: {message}")]
    Malformed {
        /// The file.
        source_name: String,
        /// Line, from 1.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// The schema needs a column the header lacks. The header's own names are not quoted:
    /// they are file content (the first line of whatever file was given).
    #[error(
        "{source_name}: no column `{column}` (needed by {needed_by}) among the header's \
         {columns} columns{}",
        near_note(*near)
    )]
    MissingColumn {
        /// The file.
        source_name: String,
        /// The column (a name from the schema).
        column: String,
        /// Which schema item needs it.
        needed_by: String,
        /// How many columns the header has.
        columns: usize,
        /// The 1-based position of a column with this name apart from case and surrounding
        /// spaces, if there is one.
        near: Option<usize>,
    },
    /// A Parquet file is given but this build cannot read Parquet.
    #[error(
        "{source_name} is Parquet, but this pprl was built without Parquet support (the `polars` \
         cargo feature)"
    )]
    ParquetUnavailable {
        /// The file.
        source_name: String,
    },
    /// Parquet was asked for on standard input.
    #[error(
        "Parquet cannot be read from standard input: a reader starts at the file's footer, so it \
         needs the file itself; give its path"
    )]
    ParquetFromStdin,
    /// The Parquet file is corrupt, truncated or not Parquet at all.
    #[error(
        "{source_name}: cannot read Parquet {place}: {message}; the file is corrupt, truncated \
         or not Parquet"
    )]
    Parquet {
        /// The file.
        source_name: String,
        /// Where: `metadata` (the footer) or `rows N-M`.
        place: String,
        /// The reader's message.
        message: String,
    },
    /// A Parquet column the schema needs has a type with no agreed text form.
    #[error(
        "{source_name}: column `{column}` has type {dtype}, which pprl does not turn into text; \
         export it as a string, integer, date or timestamp column (see docs/guide.md, Parquet exports)"
    )]
    UnsupportedType {
        /// The file.
        source_name: String,
        /// The column.
        column: String,
        /// The column's type, as the Parquet reader names it.
        dtype: String,
    },
    /// The schema needs a column that the header names twice.
    #[error("{source_name}: column `{column}` appears {count} times in the header")]
    DuplicateColumn {
        /// The file.
        source_name: String,
        /// The column.
        column: String,
        /// How often.
        count: usize,
    },
}

fn near_note(near: Option<usize>) -> String {
    near.map_or_else(String::new, |n| {
        format!("; column {n} has this name apart from upper and lower case")
    })
}

crate::error_kinds! {
    /// What kind of [`InputError`] happened: a stable code for front ends and tests.
    pub enum InputErrorKind {
        /// The file could not be opened or read.
        Io => "input-io",
        /// The file has no header row.
        NoHeader => "input-no-header",
        /// A field is not valid UTF-8.
        InvalidUtf8 => "input-invalid-utf8",
        /// A row has a different number of fields from the header.
        UnequalLengths => "input-unequal-lengths",
        /// A quoted field is still open at the end of the input.
        UnclosedQuote => "input-unclosed-quote",
        /// Any other CSV error.
        Malformed => "input-malformed",
        /// The schema names a column the header lacks.
        MissingColumn => "input-missing-column",
        /// The schema needs a column that the header names twice.
        DuplicateColumn => "input-duplicate-column",
        /// A Parquet file is given but this build cannot read Parquet.
        ParquetUnavailable => "input-parquet-unavailable",
        /// Parquet was asked for on standard input.
        ParquetFromStdin => "input-parquet-from-stdin",
        /// The Parquet file is corrupt, truncated or not Parquet at all.
        Parquet => "input-parquet",
        /// A Parquet column has a type with no agreed text form.
        UnsupportedType => "input-unsupported-type",
    }
}

impl InputError {
    /// The error's kind (its stable code).
    pub fn kind(&self) -> InputErrorKind {
        match self {
            InputError::Io { .. } => InputErrorKind::Io,
            InputError::NoHeader { .. } => InputErrorKind::NoHeader,
            InputError::InvalidUtf8 { .. } => InputErrorKind::InvalidUtf8,
            InputError::UnequalLengths { .. } => InputErrorKind::UnequalLengths,
            InputError::UnclosedQuote { .. } => InputErrorKind::UnclosedQuote,
            InputError::Malformed { .. } => InputErrorKind::Malformed,
            InputError::MissingColumn { .. } => InputErrorKind::MissingColumn,
            InputError::DuplicateColumn { .. } => InputErrorKind::DuplicateColumn,
            InputError::ParquetUnavailable { .. } => InputErrorKind::ParquetUnavailable,
            InputError::ParquetFromStdin => InputErrorKind::ParquetFromStdin,
            InputError::Parquet { .. } => InputErrorKind::Parquet,
            InputError::UnsupportedType { .. } => InputErrorKind::UnsupportedType,
        }
    }

    /// Where the problem is: the input, and the row, line or column where one is known.
    pub fn position(&self) -> crate::error::Position {
        use crate::error::Position;
        match self {
            InputError::ParquetFromStdin => Position::file("standard input"),
            InputError::Io { source_name, .. }
            | InputError::NoHeader { source_name }
            | InputError::ParquetUnavailable { source_name }
            | InputError::Parquet { source_name, .. } => Position::file(source_name.as_str()),
            InputError::InvalidUtf8 {
                source_name,
                row,
                line,
                column,
            } => at_row(source_name, *row, *line).in_field(column.as_str()),
            InputError::UnequalLengths {
                source_name,
                row,
                line,
                ..
            } => at_row(source_name, *row, *line),
            InputError::UnclosedQuote { source_name, line }
            | InputError::Malformed {
                source_name, line, ..
            } => {
                let mut p = Position::file(source_name.as_str());
                p.line = Some(*line);
                p
            }
            InputError::MissingColumn {
                source_name,
                column,
                ..
            }
            | InputError::DuplicateColumn {
                source_name,
                column,
                ..
            }
            | InputError::UnsupportedType {
                source_name,
                column,
                ..
            } => Position::file(source_name.as_str()).in_field(column.as_str()),
        }
    }
}

/// A position at a data row; line 0 (rows from memory) is no line.
fn at_row(source_name: &str, row: u64, line: u64) -> crate::error::Position {
    let mut p = crate::error::Position::file(source_name).at_row(row, line);
    if line == 0 {
        p.line = None;
    }
    p
}

impl crate::error::Coded for InputError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}
