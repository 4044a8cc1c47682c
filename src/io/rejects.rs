//! The rejects report: one CSV line for every input row that was not encoded.
//!
//! Columns: `row,line,record_id,field,code,reason`. `row` counts data rows from 1 (the header
//! is row 0), `line` is the line the row starts on. `code` is stable and machine-readable
//! (`missing-value`, `invalid-date`, `missing-id`, ...); `reason` is for people. No identifier
//! value is ever copied into the report, only the record id and the field's name, so the report
//! can be shared with whoever fixes the export.

use std::io;
use std::path::Path;

use super::atomic::AtomicFile;

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow {
    /// Data row, from 1.
    pub row: u64,
    /// Line the row starts on, from 1.
    pub line: u64,
    /// The record id as given (may be empty when that is the reason).
    pub record_id: String,
    /// The schema field at fault, empty for the row as a whole.
    pub field: String,
    /// Stable code.
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
}

/// Writes a rejects report atomically.
#[derive(Debug)]
pub struct RejectWriter {
    inner: csv::Writer<AtomicFile>,
    count: u64,
}

impl RejectWriter {
    /// Starts a report at `path` (it appears on [`RejectWriter::finish`] + commit).
    pub fn create(path: impl AsRef<Path>) -> io::Result<RejectWriter> {
        let mut inner = csv::Writer::from_writer(AtomicFile::create(path)?);
        inner.write_record(["row", "line", "record_id", "field", "code", "reason"])?;
        Ok(RejectWriter { inner, count: 0 })
    }

    /// Appends a row.
    pub fn write(&mut self, r: &RejectRow) -> io::Result<()> {
        self.inner.write_record([
            r.row.to_string().as_str(),
            r.line.to_string().as_str(),
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

    /// Flushes and hands back the file to commit.
    pub fn finish(self) -> io::Result<AtomicFile> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}
