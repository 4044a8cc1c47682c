//! The rejects report: one CSV line for every input row that was not encoded.
//!
//! Columns: `row,line,record_id,field,code,reason`. `row` counts data rows from 1 (the header
//! is row 0), `line` is the line the row starts on (empty for rows given in memory). `code` is
//! stable and machine-readable (`missing-value`, `invalid-date`, `missing-id`, ...); `reason`
//! is for people. No identifier value is ever copied into the report, only the record id and
//! the field's name, so the report can be shared with whoever fixes the export.
//!
//! [`RejectRow`] is the report as data (what an in-memory job returns); [`RejectWriter`]
//! writes rows to any [`Write`], or atomically to a file with [`RejectWriter::create`].

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::atomic::AtomicFile;

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectRow {
    /// Data row, from 1.
    pub row: u64,
    /// Line the row starts on, from 1; `None` for rows that do not come from a text file.
    pub line: Option<u64>,
    /// The record id as given (may be empty when that is the reason).
    pub record_id: String,
    /// The schema field at fault, empty for the row as a whole.
    pub field: String,
    /// Stable code.
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
}

/// Writes a rejects report: to any writer, or atomically to a file ([`RejectWriter::create`]).
#[derive(Debug)]
pub struct RejectWriter<W: Write = AtomicFile> {
    inner: csv::Writer<W>,
    count: u64,
}

impl RejectWriter<AtomicFile> {
    /// Starts a report at `path` (it appears on [`RejectWriter::finish`] + commit).
    pub fn create(path: impl AsRef<Path>) -> io::Result<RejectWriter<AtomicFile>> {
        RejectWriter::new(AtomicFile::create(path)?)
    }
}

impl<W: Write> RejectWriter<W> {
    /// Starts a report on `writer`: writes the header row.
    pub fn new(writer: W) -> io::Result<RejectWriter<W>> {
        let mut inner = csv::Writer::from_writer(writer);
        inner.write_record(["row", "line", "record_id", "field", "code", "reason"])?;
        Ok(RejectWriter { inner, count: 0 })
    }

    /// Appends a row.
    pub fn write(&mut self, r: &RejectRow) -> io::Result<()> {
        let line = r.line.map(|l| l.to_string()).unwrap_or_default();
        self.inner.write_record([
            r.row.to_string().as_str(),
            line.as_str(),
            r.record_id.as_str(),
            r.field.as_str(),
            r.code.as_str(),
            r.reason.as_str(),
        ])?;
        self.count += 1;
        Ok(())
    }

    /// Rows written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes and hands back the writer (for a file from [`RejectWriter::create`]: the file
    /// to commit).
    pub fn finish(self) -> io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_memory_have_an_empty_line() {
        let mut w = RejectWriter::new(Vec::new()).unwrap();
        let mut r = RejectRow {
            row: 2,
            line: Some(3),
            record_id: "R2".into(),
            field: "dob".into(),
            code: "invalid-date".into(),
            reason: "not a date".into(),
        };
        w.write(&r).unwrap();
        r.line = None;
        w.write(&r).unwrap();
        assert_eq!(w.count(), 2);
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "row,line,record_id,field,code,reason\n2,3,R2,dob,invalid-date,not a date\n\
             2,,R2,dob,invalid-date,not a date\n"
        );
    }
}
