//! Row encoders: a row's fields in, its filter words (and block ids) out.
//!
//! A [`RowEncoder`] turns one [`InputRow`] into words or a [`Rejection`]. [`NativeRows`] is
//! pprl's own [`Encoder`] reading the columns its schema names; [`ClkhashRows`] is clkhash's
//! encoder reading its features' columns. [`JobEncoder`] picks one of the two for a job, and
//! says how its records are identified ([`IdSource`]) and what a `.clk` header for them holds
//! ([`ClkParams`]).

use super::core::Outcome;
use super::error::EncodeError;
use crate::compat::clkhash;
use crate::encode::{Encoder, Rejection, Scratch};
use crate::io::clk::ClkParams;
use crate::io::{InputRow, RowSource};
use crate::schema::{HashingScheme, Layout, Schema};

/// Turns one input row into filter words. pprl's own [`Encoder`] is one (see [`NativeRows`]),
/// clkhash's another ([`ClkhashRows`]); they share the chunked, parallel machinery of the
/// pipeline.
pub(crate) trait RowEncoder: Sync {
    /// Per-thread buffers, reused from row to row.
    type Scratch: Default + Send;
    /// `u64` words per encoded row.
    fn words_per_record(&self) -> usize;
    /// Encodes `row` into `out` (overwritten) and returns the fields whose invalid values
    /// were encoded as missing, or says why the row cannot be encoded.
    fn encode_row(&self, row: &InputRow, scratch: &mut Self::Scratch, out: &mut [u64]) -> Outcome;
}

/// Where the record id of an encoded record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdSource {
    /// A column (the schema's `id_column`).
    Column(usize),
    /// The row's position among the data rows, from 0, as clkhash and anonlink identify
    /// records.
    Position,
}

impl IdSource {
    /// The id of `row`, written into `buf` where it is computed.
    pub(crate) fn id<'r>(self, row: &'r InputRow, buf: &'r mut String) -> &'r str {
        match self {
            IdSource::Column(c) => row.record.get(c).unwrap_or(""),
            IdSource::Position => {
                use std::fmt::Write as _;
                buf.clear();
                let _ = write!(buf, "{}", row.row - 1);
                buf
            }
        }
    }
}

/// The encoder of a job: pprl's own, or clkhash's.
#[derive(Debug, Clone, Copy)]
pub enum JobEncoder<'a> {
    /// A pprl schema and its encoder.
    Pprl(&'a Schema, &'a Encoder),
    /// A clkhash encoder.
    Clkhash(&'a clkhash::Encoder),
}

/// pprl's [`Encoder`] reading its fields from the columns the schema names.
#[derive(Debug)]
pub(crate) struct NativeRows<'a> {
    encoder: &'a Encoder,
    id_col: usize,
    field_cols: Vec<usize>,
}

impl<'a> NativeRows<'a> {
    /// Finds the schema's columns in `input`'s header.
    pub(crate) fn new<S: RowSource + ?Sized>(
        schema: &Schema,
        encoder: &'a Encoder,
        input: &mut S,
    ) -> Result<NativeRows<'a>, EncodeError> {
        let mut wanted = vec![(schema.id_column.as_str(), "id_column".to_string())];
        wanted.extend(
            schema
                .fields
                .iter()
                .map(|f| (f.column(), format!("field `{}`", f.name))),
        );
        let columns = input.resolve_columns(&wanted)?;
        Ok(NativeRows {
            encoder,
            id_col: columns[0],
            field_cols: columns[1..].to_vec(),
        })
    }

    /// The column holding the record id.
    pub(crate) fn id_column(&self) -> usize {
        self.id_col
    }

    /// The column each schema field reads, in schema order.
    pub(crate) fn field_columns(&self) -> &[usize] {
        &self.field_cols
    }
}

impl RowEncoder for NativeRows<'_> {
    type Scratch = Scratch;

    /// The filter words, the missing-field mask (field layout), then one block id per keyed
    /// blocking key.
    fn words_per_record(&self) -> usize {
        self.encoder.words_per_record()
            + usize::from(self.encoder.missing_masks())
            + self.encoder.block_keys()
    }

    fn encode_row(&self, row: &InputRow, scratch: &mut Scratch, out: &mut [u64]) -> Outcome {
        check_id(row.record.get(self.id_col).unwrap_or(""))?;
        let value = |i: usize| row.record.get(self.field_cols[i]).unwrap_or("");
        let (bits, mut blocks) = out.split_at_mut(self.encoder.words_per_record());
        self.encoder.encode_record(value, scratch, bits)?;
        if self.encoder.missing_masks() {
            let (mask, rest) = blocks.split_at_mut(1);
            mask[0] = scratch.missing_fields();
            blocks = rest;
        }
        self.encoder.encode_blocks(value, scratch, blocks);
        Ok(scratch.take_invalid_fields())
    }
}

/// A clkhash encoder reading its features from the input's columns.
///
/// Columns are matched as clkhash does when the header is exactly the features' identifiers
/// in order (clkhash requires that); otherwise each hashed feature's column is found by name,
/// so exports with extra or reordered columns work too.
#[derive(Debug)]
pub(crate) struct ClkhashRows<'a> {
    encoder: &'a clkhash::Encoder,
    /// Column of each feature (ignored features: unused).
    columns: Vec<usize>,
}

impl<'a> ClkhashRows<'a> {
    /// Maps the encoder's features to `input`'s columns.
    pub(crate) fn new<S: RowSource + ?Sized>(
        encoder: &'a clkhash::Encoder,
        input: &mut S,
    ) -> Result<ClkhashRows<'a>, EncodeError> {
        let features = encoder.features();
        if input.headers() == features.iter().map(String::as_str).collect::<Vec<_>>() {
            return Ok(ClkhashRows {
                encoder,
                columns: (0..features.len()).collect(),
            });
        }
        let hashed: Vec<usize> = encoder.hashed_features().collect();
        let wanted: Vec<(&str, String)> = hashed
            .iter()
            .map(|&i| {
                (
                    features[i].as_str(),
                    format!("clkhash feature `{}`", features[i]),
                )
            })
            .collect();
        let found = input.resolve_columns(&wanted)?;
        let mut columns = vec![usize::MAX; features.len()];
        for (i, c) in hashed.into_iter().zip(found) {
            columns[i] = c;
        }
        Ok(ClkhashRows { encoder, columns })
    }
}

impl RowEncoder for ClkhashRows<'_> {
    type Scratch = clkhash::Scratch;

    fn words_per_record(&self) -> usize {
        self.encoder.words_per_record()
    }

    fn encode_row(
        &self,
        row: &InputRow,
        scratch: &mut clkhash::Scratch,
        out: &mut [u64],
    ) -> Outcome {
        // clkhash's rules: a value its feature's format refuses rejects the row.
        self.encoder
            .encode_record(
                |i| row.record.get(self.columns[i]).unwrap_or(""),
                scratch,
                out,
            )
            .map(|()| Vec::new())
    }
}

/// Either encoder, with its columns found: what in-memory jobs run.
#[derive(Debug)]
pub(crate) enum JobRows<'a> {
    Native(NativeRows<'a>),
    Clkhash(ClkhashRows<'a>),
}

/// Per-thread buffers of [`JobRows`]: the one in use is filled, the other stays empty.
#[derive(Debug, Default)]
pub(crate) struct JobScratch {
    native: Scratch,
    clkhash: clkhash::Scratch,
}

impl RowEncoder for JobRows<'_> {
    type Scratch = JobScratch;

    fn words_per_record(&self) -> usize {
        match self {
            JobRows::Native(r) => r.words_per_record(),
            JobRows::Clkhash(r) => r.words_per_record(),
        }
    }

    fn encode_row(&self, row: &InputRow, scratch: &mut JobScratch, out: &mut [u64]) -> Outcome {
        match self {
            JobRows::Native(r) => r.encode_row(row, &mut scratch.native, out),
            JobRows::Clkhash(r) => r.encode_row(row, &mut scratch.clkhash, out),
        }
    }
}

impl<'a> JobEncoder<'a> {
    /// The `.clk` header parameters of this encoder's records; for clkhash, an error unless
    /// its CLKs fill whole 64-bit words (as a `.clk` record needs).
    pub fn clk_params(self) -> Result<ClkParams, EncodeError> {
        Ok(match self {
            JobEncoder::Pprl(_, encoder) => ClkParams {
                schema_fingerprint: encoder.schema_fingerprint(),
                key_fingerprint: encoder.key_fingerprint(),
                layout: encoder.layout(),
                hashing: encoder.hashing(),
                filter_bits: encoder.filter_bits(),
                filters_per_record: encoder.filters_per_record() as u16,
                block_keys: encoder.block_keys() as u16,
                missing_masks: encoder.missing_masks(),
                schema_json: encoder.schema_json().to_vec(),
            },
            JobEncoder::Clkhash(encoder) => {
                let bits = encoder.filter_bits();
                let max = crate::schema::MAX_FILTER_BITS;
                if !bits.is_multiple_of(64) || bits > max {
                    return Err(EncodeError::FilterBits { bits, max });
                }
                ClkParams {
                    schema_fingerprint: encoder.schema_fingerprint(),
                    key_fingerprint: encoder.key_fingerprint(),
                    layout: Layout::Clk,
                    hashing: HashingScheme::Clkhash,
                    filter_bits: bits,
                    filters_per_record: 1,
                    block_keys: 0,
                    missing_masks: false,
                    schema_json: encoder.schema_json().to_vec(),
                }
            }
        })
    }

    /// Finds the encoder's columns in `input`; returns the row encoder and where its record
    /// ids come from (pprl: the id column; clkhash: the row's position).
    pub(crate) fn rows<S: RowSource + ?Sized>(
        self,
        input: &mut S,
    ) -> Result<(JobRows<'a>, IdSource), EncodeError> {
        Ok(match self {
            JobEncoder::Pprl(schema, encoder) => {
                let rows = NativeRows::new(schema, encoder, input)?;
                let ids = IdSource::Column(rows.id_column());
                (JobRows::Native(rows), ids)
            }
            JobEncoder::Clkhash(encoder) => (
                JobRows::Clkhash(ClkhashRows::new(encoder, input)?),
                IdSource::Position,
            ),
        })
    }
}

/// Record ids are opaque handles, but they must be usable as such: present, of bounded length,
/// and free of control characters (which would corrupt CSV and terminal output downstream).
fn check_id(id: &str) -> Result<(), Rejection> {
    let reject = |code: &'static str, reason: &str| {
        Err(Rejection {
            field: None,
            code,
            reason: reason.to_string(),
        })
    };
    if id.trim().is_empty() {
        return reject("missing-id", "the record id is empty");
    }
    if id.len() > crate::io::clk::MAX_ID_BYTES {
        return reject("id-too-long", "the record id is longer than 255 bytes");
    }
    if id.chars().any(char::is_control) {
        return reject("invalid-id", "the record id contains a control character");
    }
    Ok(())
}
