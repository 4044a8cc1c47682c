//! Encoding jobs: rows in (a CSV or Parquet export, or records and columns in memory);
//! encodings, rejects and reports out.
//!
//! The core is in memory and format-free: a [`RowSource`](crate::io::RowSource) yields rows in
//! chunks, a row encoder (pprl's or clkhash's, picked by [`JobEncoder`]) encodes each chunk in
//! parallel, and a sink receives the rows in input order, encoded or rejected. Chunking fixes
//! the order of the output, so nothing depends on the number of threads or the chunk size
//! ([`BatchOptions`]).
//!
//! * In memory: [`encode_records`], [`encode_columns`] and [`encode_source`] return an
//!   [`EncodedBatch`] (the encodings as [`ClkData`](crate::io::ClkData), the rejects, the
//!   counts); [`ChunkEncoder`] streams chunk by chunk.
//! * Files, at the edges: [`encode_csv`] and [`encode_any`] open the input, run the same core
//!   on a reader thread -> rayon -> ordered writer pipeline (memory stays constant however
//!   large the export) and write a `.clk` file with its rejects report and manifest
//!   ([`EncodeSummary`]), or clkhash's JSON or anonlink's binary layout
//!   ([`PositionalSummary`]).
//!
//! * Advice: [`profile::profile_source`] profiles an export under a schema (missing and
//!   invalid rates, tokens, distinct values, expected and measured fill) and flags weak
//!   choices, without writing anything.
//!
//! Every input row ends up in exactly one place: the encodings or the rejects
//! (`rows_read == rows_encoded + rows_rejected`, recorded in the manifest). An encoded row whose
//! field value was invalid and encoded as missing is listed too: a `field-missing` line in the
//! rejects report, counted per field in the manifest's `fields_invalid`. Problems with the
//! input as a whole (malformed CSV or Parquet, invalid UTF-8, a missing column, a duplicate
//! record id) stop the job with an [`EncodeError`] and leave no output behind: files are
//! written to temporary files and renamed into place only when the whole input has been
//! processed.

mod batch;
mod clk_sink;
mod core;
mod error;
mod formats;
mod options;
pub mod profile;
mod rows;
mod summary;
pub mod tokens;

pub use batch::{
    ChunkEncoder, EncodedBatch, EncodedRows, encode_columns, encode_records, encode_source,
};
pub use error::{EncodeError, EncodeErrorKind};
pub use formats::{JobSummary, OutputFormat, PositionalSummary, encode_any};
pub use options::{
    BatchOptions, DEFAULT_CHUNK_ROWS, EncodeOptions, Progress, default_rejects_path,
};
pub use rows::JobEncoder;
pub use summary::EncodeSummary;

use crate::encode::Encoder;
use crate::schema::Schema;

/// Runs the `.clk` encoding job with pprl's encoder (see the module docs).
pub fn encode_csv(
    schema: &Schema,
    encoder: &Encoder,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<EncodeSummary, EncodeError> {
    match encode_any(
        JobEncoder::Pprl(schema, encoder),
        OutputFormat::Clk,
        opts,
        progress,
    )? {
        JobSummary::Clk(summary) => Ok(summary),
        JobSummary::Positional(_) => unreachable!("a .clk job reports a .clk summary"),
    }
}

#[cfg(test)]
mod tests;
