//! Input and output: CSV exports in, encoding files, rejects reports and manifests out.
//!
//! * [`InputError`]: what stops a job reading its input (malformed CSV or Parquet, invalid
//!   UTF-8, missing columns), with stable kinds and positions.
//! * [`CsvInput`]: streams a CSV export (or standard input) row by row, with the row and line
//!   of every record, and precise errors for malformed CSV, invalid UTF-8 and missing columns.
//! * [`clk`]: the binary `.clk` encoding file (spec: `docs/format.md`): a self-describing header,
//!   fixed-size records, and a SHA-256 trailer that exposes truncation and tampering.
//! * [`formats`]: clkhash's JSON and the anonlink entity service's binary layout, and telling
//!   the kinds of encoding file apart.
//! * [`RejectWriter`]: the rejects report, one line per row that was not encoded and per field
//!   value encoded as missing.
//! * [`Manifest`]: the JSON manifest written beside an encoding file.
//! * [`inspect`]: what an encoding file holds (header facts, popcounts, its manifest), as a report.
//! * [`Input`]: CSV or Parquet ([`TableFormat`]), streamed into the same rows.
//! * [`RowSource`]: what the encoding job reads: a file ([`Input`]) or records and columns
//!   already in memory ([`RecordRows`], [`ColumnRows`]).
//! * `parquet` (cargo feature `polars`): Parquet exports in, Parquet tables out.
//! * [`AtomicFile`]: every output is written to a temporary file and renamed into place, so a
//!   failed run leaves no partial output behind (FIFOs and devices are written through, a
//!   symbolic link's target is written, never the link replaced).
//! * [`RunFiles`]: the files a run reads and writes, checked before anything is written: no
//!   output is an input, the secret, the schema or another output ([`OutputError`]).

mod atomic;
pub mod clk;
mod csv_input;
pub mod formats;
mod input_error;
pub mod inspect;
mod manifest;
mod output;
#[cfg(feature = "polars")]
pub mod parquet;
mod rejects;
mod rows;
mod table;

/// The block id a record has for a blocking key it has no value for (in a `.clk` file's
/// block-id rows): it shares no block with any record.
pub use crate::encode::blocking::NO_BLOCK;
pub use atomic::{AtomicFile, UNFINISHED_MARKER};
pub use clk::{ClkData, ClkError, ClkHeader, ClkReader, ClkRecord, ClkWriter};
pub use csv_input::{CsvInput, InputError, InputErrorKind, InputRow};
pub use manifest::{Counts, Manifest};
pub use output::{FileRole, OutputError, OutputErrorKind, RunFiles, check_regular};
pub use rejects::{RejectAction, RejectRow, RejectWriter};
pub use rows::{ColumnRows, RecordRows, RowSource};
pub use table::{Input, TableFormat};
