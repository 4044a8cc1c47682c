//! Encoding rows already in memory: records or columns in, encodings and rejects out, in
//! memory, with no file anywhere.
//!
//! [`encode_records`] (an iterator of records under a header), [`encode_columns`] (named
//! columns) and [`encode_source`] (any [`RowSource`], e.g. CSV from a reader) return an
//! [`EncodedBatch`]: the encodings as [`ClkData`], exactly what the `.clk` file job would write
//! and [`ClkReader::read_all`](crate::io::ClkReader::read_all) read back (header, ids, words,
//! block ids), the rejects as [`RejectRow`]s, exactly the rows of its rejects report, and the
//! row counts. Record ids must be unique, as in a file.
//!
//! [`ChunkEncoder`] is the streaming form: a chunk of records in, a chunk of encoded records
//! and rejects out ([`EncodedRows`]), in constant memory; ids are not checked across chunks
//! (that needs memory that grows with the input), so a caller keeping every chunk checks them
//! itself, as the `.clk` writer does.
//!
//! Both run the same chunked, parallel core as the file jobs, so the results are identical to
//! the files' for any thread count and chunk size.

use std::collections::HashMap;

use super::clk_sink::reject_row;
use super::core::{self, EncodedChunk, RowSink, Streamed};
use super::error::EncodeError;
use super::options::BatchOptions;
use super::rows::{IdSource, JobEncoder, JobRows, RowEncoder};
use crate::encode::Rejection;
use crate::io::Counts;
use crate::io::clk::ClkParams;
use crate::io::{
    ClkData, ClkError, ColumnRows, InputRow, RecordRows, RejectAction, RejectRow, RowSource,
};

/// Rows encoded in memory.
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    /// The encodings, as the `.clk` file of the same job holds them.
    pub data: ClkData,
    /// The data row (from 1) of each encoded record, in order.
    pub rows: Vec<u64>,
    /// The rows that were not encoded, in input order.
    pub rejects: Vec<RejectRow>,
    /// The fields of encoded rows whose invalid values were encoded as missing, in input
    /// order (`action = field-missing`); the rejects report holds both lists, interleaved.
    pub invalid_fields: Vec<RejectRow>,
    /// Row accounting.
    pub counts: Counts,
    /// Worker threads used.
    pub threads: usize,
}

/// Encoded rows of one chunk (or of many: [`ChunkEncoder::encode_into`] appends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedRows {
    /// The data row (from 1) of each encoded record.
    pub rows: Vec<u64>,
    /// The record ids.
    pub ids: Vec<String>,
    /// Filter words, [`crate::io::ClkHeader::words_per_record`] per record.
    pub words: Vec<u64>,
    /// Block ids, [`crate::io::ClkHeader::block_keys`] per record.
    pub blocks: Vec<u64>,
    /// Missing-field masks, one per record when the encodings carry them
    /// ([`crate::io::ClkHeader::missing_masks`]), else empty.
    pub missing: Vec<u64>,
    /// The rows that were not encoded.
    pub rejects: Vec<RejectRow>,
    /// The fields of encoded rows whose invalid values were encoded as missing.
    pub invalid_fields: Vec<RejectRow>,
}

/// Collects rows into [`EncodedRows`].
struct Collect<'o> {
    out: &'o mut EncodedRows,
    ids: IdSource,
    filter_words: usize,
    /// Whether a missing-field mask follows the filter words.
    masks: bool,
    id: String,
}

impl RowSink for Collect<'_> {
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<(&[u64], &[Rejection]), &Rejection>,
    ) -> Result<(), EncodeError> {
        let id = self.ids.id(row, &mut self.id);
        match outcome {
            Ok((words, invalid)) => {
                let (bits, mut blocks) = words.split_at(self.filter_words);
                if self.masks {
                    self.out.missing.push(blocks[0]);
                    blocks = &blocks[1..];
                }
                self.out.rows.push(row.row);
                self.out.ids.push(id.to_string());
                self.out.words.extend_from_slice(bits);
                self.out.blocks.extend_from_slice(blocks);
                self.out.invalid_fields.extend(
                    invalid
                        .iter()
                        .map(|r| reject_row(row, id, r, RejectAction::FieldMissing)),
                );
            }
            Err(r) => self
                .out
                .rejects
                .push(reject_row(row, id, r, RejectAction::RowRejected)),
        }
        Ok(())
    }
}

/// Encodes `records`, whose fields follow `header`, in memory (see the module docs).
///
/// ```
/// use pprl::encode::Encoder;
/// use pprl::keys::Secret;
/// use pprl::pipeline::{BatchOptions, JobEncoder, encode_records};
/// use pprl::schema::Schema;
///
/// let schema = Schema::from_toml_str(
///     r#"
///     version = 1
///     id_column = "id"
///     [[fields]]
///     name = "name"
///     tokenizer = { kind = "qgram", q = 2 }
///     bits_per_token = 20
///     "#,
/// )
/// .unwrap();
/// let encoder = Encoder::new(&schema, &Secret::from_bytes(vec![7; 32], "doc").unwrap()).unwrap();
/// let records = [["1", "Ada Lovelace"], ["2", "Alan Turing"], ["3", ""]];
/// let batch = encode_records(
///     JobEncoder::Pprl(&schema, &encoder),
///     &["id", "name"],
///     records,
///     &BatchOptions::default(),
/// )
/// .unwrap();
/// assert_eq!(batch.data.ids, ["1", "2"]);
/// assert_eq!(batch.rejects[0].record_id, "3");
/// assert_eq!(batch.counts.rows_read, 3);
/// ```
pub fn encode_records<R, S>(
    encoder: JobEncoder<'_>,
    header: &[impl AsRef<str>],
    records: impl IntoIterator<Item = R>,
    opts: &BatchOptions,
) -> Result<EncodedBatch, EncodeError>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    encode_source(encoder, &mut RecordRows::new(header, records), opts)
}

/// Encodes named columns of equal length in memory: row `r` is value `r` of every column.
pub fn encode_columns(
    encoder: JobEncoder<'_>,
    columns: &[(&str, &[&str])],
    opts: &BatchOptions,
) -> Result<EncodedBatch, EncodeError> {
    encode_source(encoder, &mut ColumnRows::new(columns)?, opts)
}

/// Encodes every row of `source` in memory (see the module docs).
pub fn encode_source<S: RowSource + ?Sized>(
    encoder: JobEncoder<'_>,
    source: &mut S,
    opts: &BatchOptions,
) -> Result<EncodedBatch, EncodeError> {
    let (rows, ids) = encoder.rows(source)?;
    let params = encoder.clk_params()?;
    let mut out = EncodedRows::default();
    let sink = Collect {
        out: &mut out,
        ids,
        filter_words: params.words_per_record(),
        masks: params.missing_masks,
        id: String::new(),
    };
    let Streamed {
        rows_read, threads, ..
    } = core::run_rows(source, &rows, sink, opts, &mut |_, _| {})?;
    check_unique(&out.ids, &out.rows)?;
    let counts = Counts {
        rows_read,
        rows_encoded: out.ids.len() as u64,
        rows_rejected: out.rejects.len() as u64,
    };
    let max_id = out.ids.iter().map(String::len).max().unwrap_or(0);
    Ok(EncodedBatch {
        data: ClkData {
            header: params.header(counts.rows_encoded, max_id),
            ids: out.ids,
            words: out.words,
            blocks: out.blocks,
            missing: out.missing,
        },
        rows: out.rows,
        rejects: out.rejects,
        invalid_fields: out.invalid_fields,
        counts,
        threads,
    })
}

/// The first id (in input order) that repeats an earlier one is an error, as in the file job.
fn check_unique(ids: &[String], rows: &[u64]) -> Result<(), ClkError> {
    let mut first: HashMap<&str, u64> = HashMap::with_capacity(ids.len());
    for (id, &row) in ids.iter().zip(rows) {
        if let Some(&first_row) = first.get(id.as_str()) {
            return Err(ClkError::DuplicateId {
                id: id.clone(),
                first_row,
                row,
            });
        }
        first.insert(id, row);
    }
    Ok(())
}

/// The streaming form: chunks of records in, chunks of encodings and rejects out.
///
/// Rows are numbered from 1 across chunks, in the order they are given.
#[derive(Debug)]
pub struct ChunkEncoder<'a> {
    rows: JobRows<'a>,
    ids: IdSource,
    params: ClkParams,
    pool: rayon::ThreadPool,
    threads: usize,
    /// A header of the records' width (the columns were resolved in [`ChunkEncoder::new`]).
    blank_header: Vec<&'static str>,
    next_row: u64,
    chunk: EncodedChunk,
}

impl<'a> ChunkEncoder<'a> {
    /// An encoder for records whose fields follow `header`.
    pub fn new(
        encoder: JobEncoder<'a>,
        header: &[impl AsRef<str>],
        opts: &BatchOptions,
    ) -> Result<ChunkEncoder<'a>, EncodeError> {
        let mut columns = RecordRows::new(header, Vec::<Vec<String>>::new());
        let (rows, ids) = encoder.rows(&mut columns)?;
        let params = encoder.clk_params()?;
        let (pool, threads) = opts.pool()?;
        Ok(ChunkEncoder {
            rows,
            ids,
            params,
            pool,
            threads,
            blank_header: vec![""; header.len()],
            next_row: 1,
            chunk: EncodedChunk::default(),
        })
    }

    /// What a `.clk` header for these encodings holds.
    pub fn params(&self) -> &ClkParams {
        &self.params
    }

    /// Worker threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Encodes one chunk of records.
    pub fn encode<R, S>(
        &mut self,
        records: impl IntoIterator<Item = R>,
    ) -> Result<EncodedRows, EncodeError>
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        let mut out = EncodedRows::default();
        self.encode_into(records, &mut out)?;
        Ok(out)
    }

    /// Encodes one chunk of records, appending to `out` (clear it to reuse its buffers).
    pub fn encode_into<R, S>(
        &mut self,
        records: impl IntoIterator<Item = R>,
        out: &mut EncodedRows,
    ) -> Result<(), EncodeError>
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        let mut source = RecordRows::new(&self.blank_header, records).starting_at(self.next_row);
        source.read_chunk(&mut self.chunk.rows, usize::MAX)?;
        self.next_row += self.chunk.rows.len() as u64;
        let words = self.rows.words_per_record();
        self.chunk.encode(&self.pool, &self.rows, words);
        let mut sink = Collect {
            out,
            ids: self.ids,
            filter_words: self.params.words_per_record(),
            masks: self.params.missing_masks,
            id: String::new(),
        };
        self.chunk.write(words, &mut sink)
    }
}
