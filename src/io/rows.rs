//! Row sources: anything that yields a header and then data rows, from a file or from memory.
//!
//! The encoding job reads rows in chunks and does not care where they come from. A
//! [`RowSource`] names its columns, resolves the columns an encoder needs (a Parquet input then
//! reads only those), and fills chunks of [`InputRow`]s (text fields with their row number
//! from 1). Files come through [`Input`] (CSV from any reader, or Parquet); data already in
//! memory through [`RecordRows`] (an iterator of records under a header) or [`ColumnRows`]
//! (named columns of equal length). Rows from memory have no line number (`line == 0`).

use std::marker::PhantomData;

use super::csv_input::{CsvInput, InputError, InputRow, find_columns};
use super::table::Input;

/// The name memory sources use in messages.
const MEMORY: &str = "records in memory";

/// A header and then data rows, read in chunks.
pub trait RowSource {
    /// The name used in messages (a path, `standard input`, ...).
    fn source_name(&self) -> &str;
    /// The column names, in order.
    fn headers(&self) -> Vec<&str>;
    /// Finds each `(column, needed_by)`; returns indices into the fields of the rows that
    /// [`RowSource::read_chunk`] yields from now on.
    fn resolve_columns(&mut self, columns: &[(&str, String)]) -> Result<Vec<usize>, InputError>;
    /// Fills `rows` with up to `max` rows, reusing their buffers; returns how many were read
    /// (fewer than `max` only at the end).
    fn read_chunk(&mut self, rows: &mut Vec<InputRow>, max: usize) -> Result<usize, InputError>;
    /// Bytes consumed so far, for progress reports (0 where there are no bytes).
    fn bytes_read(&self) -> u64 {
        0
    }
}

impl RowSource for Input {
    fn source_name(&self) -> &str {
        Input::source_name(self)
    }
    fn headers(&self) -> Vec<&str> {
        Input::headers(self)
    }
    fn resolve_columns(&mut self, columns: &[(&str, String)]) -> Result<Vec<usize>, InputError> {
        Input::resolve_columns(self, columns)
    }
    fn read_chunk(&mut self, rows: &mut Vec<InputRow>, max: usize) -> Result<usize, InputError> {
        Input::read_chunk(self, rows, max)
    }
    fn bytes_read(&self) -> u64 {
        Input::bytes_read(self)
    }
}

impl RowSource for CsvInput {
    fn source_name(&self) -> &str {
        CsvInput::source_name(self)
    }
    fn headers(&self) -> Vec<&str> {
        CsvInput::headers(self).iter().collect()
    }
    fn resolve_columns(&mut self, columns: &[(&str, String)]) -> Result<Vec<usize>, InputError> {
        CsvInput::resolve_columns(self, columns)
    }
    fn read_chunk(&mut self, rows: &mut Vec<InputRow>, max: usize) -> Result<usize, InputError> {
        CsvInput::read_chunk(self, rows, max)
    }
    fn bytes_read(&self) -> u64 {
        CsvInput::bytes_read(self)
    }
}

/// Records in memory under a header: each record a list of fields in header order.
///
/// A record with more or fewer fields than the header is an error, as in a CSV file.
#[derive(Debug)]
pub struct RecordRows<I, S> {
    header: Vec<String>,
    records: I,
    row: u64,
    fields: PhantomData<fn() -> S>,
}

impl<I, R, S> RecordRows<I, S>
where
    I: Iterator<Item = R>,
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    /// The records of `records`, whose fields follow `header`.
    pub fn new(
        header: &[impl AsRef<str>],
        records: impl IntoIterator<IntoIter = I>,
    ) -> RecordRows<I, S> {
        RecordRows {
            header: header.iter().map(|h| h.as_ref().to_string()).collect(),
            records: records.into_iter(),
            row: 0,
            fields: PhantomData,
        }
    }

    /// Numbers the rows from `first_row` (default 1), for records that continue a stream.
    pub fn starting_at(mut self, first_row: u64) -> RecordRows<I, S> {
        self.row = first_row.saturating_sub(1);
        self
    }
}

impl<I, R, S> RowSource for RecordRows<I, S>
where
    I: Iterator<Item = R>,
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    fn source_name(&self) -> &str {
        MEMORY
    }
    fn headers(&self) -> Vec<&str> {
        self.header.iter().map(String::as_str).collect()
    }
    fn resolve_columns(&mut self, columns: &[(&str, String)]) -> Result<Vec<usize>, InputError> {
        find_columns(MEMORY, &self.headers(), columns)
    }
    fn read_chunk(&mut self, rows: &mut Vec<InputRow>, max: usize) -> Result<usize, InputError> {
        let mut n = 0;
        while n < max {
            let Some(record) = self.records.next() else {
                break;
            };
            let fields = record.as_ref();
            self.row += 1;
            if fields.len() != self.header.len() {
                return Err(unequal(self.row, self.header.len(), fields.len()));
            }
            if rows.len() == n {
                rows.push(InputRow::default());
            }
            let row = &mut rows[n];
            row.row = self.row;
            row.line = 0;
            row.record.clear();
            for f in fields {
                row.record.push_field(f.as_ref());
            }
            n += 1;
        }
        rows.truncate(n);
        Ok(n)
    }
}

/// Named columns in memory, all of the same length: row `r` is value `r` of every column.
#[derive(Debug)]
pub struct ColumnRows<'a> {
    columns: &'a [(&'a str, &'a [&'a str])],
    /// Columns the rows carry, in order (all of them until columns are resolved).
    projection: Vec<usize>,
    len: usize,
    next: usize,
}

impl<'a> ColumnRows<'a> {
    /// The rows of `columns`; columns of different lengths are an error.
    pub fn new(columns: &'a [(&'a str, &'a [&'a str])]) -> Result<ColumnRows<'a>, InputError> {
        let len = columns.first().map_or(0, |(_, v)| v.len());
        if let Some((_, values)) = columns.iter().find(|(_, v)| v.len() != len) {
            let row = len.min(values.len()) as u64 + 1;
            return Err(unequal(row, columns.len(), columns.len() - 1));
        }
        Ok(ColumnRows {
            columns,
            projection: (0..columns.len()).collect(),
            len,
            next: 0,
        })
    }
}

impl RowSource for ColumnRows<'_> {
    fn source_name(&self) -> &str {
        MEMORY
    }
    fn headers(&self) -> Vec<&str> {
        self.columns.iter().map(|(name, _)| *name).collect()
    }
    /// Like a Parquet input, the rows then carry only the resolved columns.
    fn resolve_columns(&mut self, columns: &[(&str, String)]) -> Result<Vec<usize>, InputError> {
        let found = find_columns(MEMORY, &self.headers(), columns)?;
        let mut projection: Vec<usize> = found.clone();
        projection.sort_unstable();
        projection.dedup();
        let indices = found
            .iter()
            .map(|c| projection.binary_search(c).expect("projected"))
            .collect();
        self.projection = projection;
        Ok(indices)
    }
    fn read_chunk(&mut self, rows: &mut Vec<InputRow>, max: usize) -> Result<usize, InputError> {
        let n = max.min(self.len - self.next);
        rows.resize_with(n, InputRow::default);
        for (i, row) in rows.iter_mut().enumerate() {
            let r = self.next + i;
            row.row = r as u64 + 1;
            row.line = 0;
            row.record.clear();
            for &c in &self.projection {
                row.record.push_field(self.columns[c].1[r]);
            }
        }
        self.next += n;
        Ok(n)
    }
}

fn unequal(row: u64, expected: usize, found: usize) -> InputError {
    InputError::UnequalLengths {
        source_name: MEMORY.to_string(),
        row,
        line: 0,
        expected: expected as u64,
        found: found as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::InputErrorKind;

    fn read_all(source: &mut impl RowSource, chunk: usize) -> Vec<(u64, Vec<String>)> {
        let mut out = Vec::new();
        let mut rows = Vec::new();
        while source.read_chunk(&mut rows, chunk).unwrap() > 0 {
            for r in &rows {
                out.push((r.row, r.record.iter().map(str::to_string).collect()));
            }
        }
        out
    }

    #[test]
    fn records_and_columns_give_the_same_rows() {
        let mut records = RecordRows::new(&["id", "name"], vec![vec!["1", "a"], vec!["2", "b"]]);
        let ids: &[&str] = &["1", "2"];
        let names: &[&str] = &["a", "b"];
        let columns = [("id", ids), ("name", names)];
        let mut cols = ColumnRows::new(&columns).unwrap();
        assert_eq!(records.headers(), cols.headers());
        assert_eq!(read_all(&mut records, 1), read_all(&mut cols, 5));
    }

    #[test]
    fn resolved_columns_project_the_rows() {
        let ids: &[&str] = &["1", "2"];
        let names: &[&str] = &["a", "b"];
        let columns = [("id", ids), ("name", names)];
        let mut cols = ColumnRows::new(&columns).unwrap();
        let found = cols.resolve_columns(&[("name", "n".into())]).unwrap();
        assert_eq!(found, [0]);
        assert_eq!(read_all(&mut cols, 8)[1], (2, vec!["b".to_string()]));
        let err = cols.resolve_columns(&[("dob", "d".into())]).unwrap_err();
        assert_eq!(err.kind(), InputErrorKind::MissingColumn);
    }

    #[test]
    fn ragged_records_and_columns_are_errors() {
        let mut records = RecordRows::new(&["id", "name"], vec![vec!["1", "a"], vec!["2"]]);
        let mut rows = Vec::new();
        let err = records.read_chunk(&mut rows, 8).unwrap_err();
        assert_eq!(err.kind(), InputErrorKind::UnequalLengths);
        assert_eq!(err.position().row, Some(2));
        let ids: &[&str] = &["1", "2"];
        let names: &[&str] = &["a"];
        let err = ColumnRows::new(&[("id", ids), ("name", names)]).unwrap_err();
        assert_eq!(err.kind(), InputErrorKind::UnequalLengths);
    }
}
