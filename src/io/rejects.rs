//! The rejects report: one CSV line for every input row that was not encoded, and one for
//! every field value that was invalid and encoded as missing.
//!
//! Columns: `row,line,record_id,field,code,reason,action`. `row` counts data rows from 1 (the
//! header is row 0), `line` is the line the row starts on (empty for rows given in memory).
//! `code` is stable and machine-readable (`missing-value`, `invalid-date`, `missing-id`, ...);
//! `reason` is for people. `action` says what became of the row ([`RejectAction`]):
//! `row-rejected` (the row is not in the encodings) or `field-missing` (the row was encoded
//! without this field's value). No identifier value is ever copied into the report, only the record id and
//! the field's name, so the report can be shared with whoever fixes the export.
//!
//! [`RejectRow`] is the report as data (what an in-memory job returns); [`RejectWriter`]
//! writes rows to any [`Write`], or atomically to a file with [`RejectWriter::create`].

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::atomic::AtomicFile;

/// What became of a row that has a line in the rejects report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectAction {
    /// The row was not encoded.
    RowRejected,
    /// The row was encoded without this field (its value was invalid and treated as missing).
    FieldMissing,
}

impl RejectAction {
    /// The stable name written in the report's `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectAction::RowRejected => "row-rejected",
            RejectAction::FieldMissing => "field-missing",
        }
    }
}

/// One line of the rejects report: a rejected row, or a field encoded as missing.
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
    /// What became of the row.
    pub action: RejectAction,
}

/// Writes a rejects report: to any writer, or atomically to a file ([`RejectWriter::create`]).
#[derive(Debug)]
pub struct RejectWriter<W: Write = AtomicFile> {
    inner: csv::Writer<W>,
    count: u64,
    fields_missing: u64,
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
        inner.write_record([
            "row",
            "line",
            "record_id",
            "field",
            "code",
            "reason",
            "action",
        ])?;
        Ok(RejectWriter {
            inner,
            count: 0,
            fields_missing: 0,
        })
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
            r.action.as_str(),
        ])?;
        match r.action {
            RejectAction::RowRejected => self.count += 1,
            RejectAction::FieldMissing => self.fields_missing += 1,
        }
        Ok(())
    }

    /// Rejected rows written (lines with `action = row-rejected`).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Fields encoded as missing written (lines with `action = field-missing`).
    pub fn fields_missing(&self) -> u64 {
        self.fields_missing
    }

    /// Every line written.
    pub fn lines(&self) -> u64 {
        self.count + self.fields_missing
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
            action: RejectAction::RowRejected,
        };
        w.write(&r).unwrap();
        r.line = None;
        w.write(&r).unwrap();
        r.action = RejectAction::FieldMissing;
        w.write(&r).unwrap();
        assert_eq!((w.count(), w.fields_missing(), w.lines()), (2, 1, 3));
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "row,line,record_id,field,code,reason,action\n\
             2,3,R2,dob,invalid-date,not a date,row-rejected\n\
             2,,R2,dob,invalid-date,not a date,row-rejected\n\
             2,,R2,dob,invalid-date,not a date,field-missing\n"
        );
    }
}
