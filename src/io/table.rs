//! Tabular files in two formats: CSV (always) and Parquet (with the `polars` feature).
//!
//! Departments export from databases, and large exports often come as Parquet rather than CSV.
//! The encoding job does not care which: [`Input`] yields the same [`InputRow`]s (text fields,
//! row numbers from 1) from either, so the pipeline exists once. The third party's results can be
//! written in either format too (`MatchReport::write` in [`crate::linkage`]).
//!
//! Parquet support compiles polars, a large dependency (see `docs/design.md`), so it sits behind
//! the optional cargo feature `polars`. Without it the formats are still recognised, and asking
//! for Parquet is a clear error that says how to get it, never a misparse of binary data as CSV.

use std::path::Path;

use super::csv_input::{CsvInput, InputError, InputRow};

/// The format of an export or of a result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet (needs the `polars` feature).
    Parquet,
}

impl TableFormat {
    /// The format a path's extension names: `.parquet` or `.pq` (any case) is Parquet,
    /// anything else (including standard input, `-`) is CSV.
    pub fn from_path(path: impl AsRef<Path>) -> TableFormat {
        let ext = path.as_ref().extension().and_then(|e| e.to_str());
        match ext {
            Some(e) if e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq") => {
                TableFormat::Parquet
            }
            _ => TableFormat::Csv,
        }
    }

    /// The name used in messages and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }

    /// Whether this build can read and write the format (Parquet needs the `polars` feature).
    pub fn is_available(self) -> bool {
        match self {
            TableFormat::Csv => true,
            TableFormat::Parquet => cfg!(feature = "polars"),
        }
    }
}

/// An export opened for streaming, in either format.
///
/// A closed enum rather than a trait object: there are exactly two formats, and the pipeline's
/// reader thread needs nothing but the methods below.
pub enum Input {
    /// A CSV export (or standard input).
    Csv(CsvInput),
    /// A Parquet export.
    #[cfg(feature = "polars")]
    Parquet(super::parquet::ParquetInput),
}

impl Input {
    /// Opens `path` (`-`: standard input, CSV only) in the given format; `delimiter` applies
    /// to CSV.
    pub fn open(path: &str, format: TableFormat, delimiter: u8) -> Result<Input, InputError> {
        match format {
            TableFormat::Csv => CsvInput::open(path, delimiter).map(Input::Csv),
            TableFormat::Parquet if path == "-" => Err(InputError::ParquetFromStdin),
            #[cfg(feature = "polars")]
            TableFormat::Parquet => super::parquet::ParquetInput::open(path).map(Input::Parquet),
            #[cfg(not(feature = "polars"))]
            TableFormat::Parquet => Err(InputError::ParquetUnavailable {
                source_name: path.to_string(),
            }),
        }
    }

    /// Opens the file at `path` in the given format; `delimiter` applies to CSV.
    pub fn from_path(
        path: impl AsRef<Path>,
        format: TableFormat,
        delimiter: u8,
    ) -> Result<Input, InputError> {
        match format {
            TableFormat::Csv => CsvInput::from_path(path, delimiter).map(Input::Csv),
            _ => Input::open(&path.as_ref().display().to_string(), format, delimiter),
        }
    }

    /// Reads CSV from any reader; `source_name` names the input in messages. (Parquet needs
    /// a file: its reader starts at the footer.)
    pub fn from_reader(
        reader: impl std::io::Read + Send + 'static,
        source_name: impl Into<String>,
        delimiter: u8,
    ) -> Result<Input, InputError> {
        CsvInput::from_reader(reader, source_name, delimiter).map(Input::Csv)
    }

    /// The name used in messages.
    pub fn source_name(&self) -> &str {
        match self {
            Input::Csv(i) => i.source_name(),
            #[cfg(feature = "polars")]
            Input::Parquet(i) => i.source_name(),
        }
    }

    /// The column names, in file order.
    pub fn headers(&self) -> Vec<&str> {
        match self {
            Input::Csv(i) => i.headers().iter().collect(),
            #[cfg(feature = "polars")]
            Input::Parquet(i) => i.headers().iter().map(String::as_str).collect(),
        }
    }

    /// Bytes of input consumed so far, for progress reports (for Parquet, an estimate: the
    /// file's size times the share of rows read).
    pub fn bytes_read(&self) -> u64 {
        match self {
            Input::Csv(i) => i.bytes_read(),
            #[cfg(feature = "polars")]
            Input::Parquet(i) => i.bytes_read(),
        }
    }

    /// Finds each `(column, needed_by)`; returns indices into the fields of the rows that
    /// [`Input::read_chunk`] yields from now on. A Parquet input reads only these columns.
    pub fn resolve_columns(
        &mut self,
        columns: &[(&str, String)],
    ) -> Result<Vec<usize>, InputError> {
        match self {
            Input::Csv(i) => i.resolve_columns(columns),
            #[cfg(feature = "polars")]
            Input::Parquet(i) => i.resolve_columns(columns),
        }
    }

    /// Fills `rows` with up to `max` rows, reusing their buffers; returns how many were read
    /// (fewer than `max` only at the end of input).
    pub fn read_chunk(
        &mut self,
        rows: &mut Vec<InputRow>,
        max: usize,
    ) -> Result<usize, InputError> {
        match self {
            Input::Csv(i) => i.read_chunk(rows, max),
            #[cfg(feature = "polars")]
            Input::Parquet(i) => i.read_chunk(rows, max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(TableFormat::from_path("a/b.parquet"), TableFormat::Parquet);
        assert_eq!(TableFormat::from_path("B.PQ"), TableFormat::Parquet);
        assert_eq!(TableFormat::from_path("b.csv"), TableFormat::Csv);
        assert_eq!(TableFormat::from_path("parquet"), TableFormat::Csv);
        assert_eq!(TableFormat::from_path("-"), TableFormat::Csv);
        assert!(TableFormat::Csv.is_available());
        assert_eq!(
            TableFormat::Parquet.is_available(),
            cfg!(feature = "polars")
        );
    }

    #[test]
    fn csv_comes_from_any_reader() {
        let mut input = Input::from_reader(&b"id,name\n1,a\n2,b\n"[..], "mem", b',').unwrap();
        assert_eq!(input.headers(), ["id", "name"]);
        let mut rows = Vec::new();
        assert_eq!(input.read_chunk(&mut rows, 10).unwrap(), 2);
        assert_eq!(&rows[1].record[1], "b");
    }

    #[test]
    fn parquet_from_standard_input_is_refused() {
        let err = Input::open("-", TableFormat::Parquet, b',').err().unwrap();
        assert!(matches!(err, InputError::ParquetFromStdin), "{err:?}");
        assert_eq!(
            err.kind(),
            super::super::csv_input::InputErrorKind::ParquetFromStdin
        );
    }

    #[cfg(not(feature = "polars"))]
    #[test]
    fn without_the_feature_parquet_says_how_to_get_it() {
        let err = Input::open("x.parquet", TableFormat::Parquet, b',')
            .err()
            .unwrap();
        assert!(matches!(err, InputError::ParquetUnavailable { .. }));
        assert_eq!(
            err.kind(),
            super::super::csv_input::InputErrorKind::ParquetUnavailable
        );
    }
}
