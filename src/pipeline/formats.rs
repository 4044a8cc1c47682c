//! Encoding jobs into any output format: pprl's `.clk`, clkhash's JSON or the anonlink entity
//! service's binary upload layout, with pprl's encoder or clkhash's.
//!
//! clkhash's formats identify records by their position and carry no fingerprints. pprl
//! therefore refuses to write them with gaps (a rejected row fails the job rather than shift
//! every later record).

use std::path::{Path, PathBuf};

use super::{
    self as pipeline, EncodeError, EncodeOptions, EncodeSummary, IdSource, NativeRows, Progress,
    RowEncoder, RowSink, Streamed,
};
use crate::compat::clkhash;
use crate::encode::{Encoder, Rejection};
use crate::io::clk::ClkParams;
use crate::io::formats::{anonlink_binary, clkhash_json};
use crate::io::{Input, InputRow, RejectWriter};
use crate::schema::{HashingScheme, Layout, Schema};

/// Output format of an encoding job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// pprl's `.clk` file (record ids, fingerprints, checksum) with a manifest.
    Clk,
    /// clkhash's `{"clks": [base64, ...]}`, one CLK per input row, in input order.
    ClkhashJson,
    /// The anonlink entity service's binary upload layout, one record per input row.
    AnonlinkBinary,
}

impl OutputFormat {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Clk => "clk",
            OutputFormat::ClkhashJson => "clkhash-json",
            OutputFormat::AnonlinkBinary => "anonlink-binary",
        }
    }
}

/// What an encoding job into clkhash JSON or anonlink binary did.
#[derive(Debug, Clone)]
pub struct PositionalSummary {
    /// Rows read (all encoded: a rejected row fails the job).
    pub rows: u64,
    /// The output file.
    pub output: PathBuf,
    /// Bits per encoding.
    pub bits: u32,
    /// Bytes per encoding in the file (anonlink's `Hash-Size`).
    pub bytes_per_encoding: usize,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// Threads used.
    pub threads: usize,
}

/// What an encoding job did, by output format.
#[derive(Debug, Clone)]
pub enum JobSummary {
    /// A `.clk` file with its manifest (and rejects report).
    Clk(EncodeSummary),
    /// A clkhash JSON or anonlink binary file.
    Positional(PositionalSummary),
}

/// The encoder of a job: pprl's own, or clkhash's.
#[derive(Debug)]
pub enum JobEncoder<'a> {
    /// A pprl schema and its encoder.
    Pprl(&'a Schema, &'a Encoder),
    /// A clkhash encoder.
    Clkhash(&'a clkhash::Encoder),
}

/// Runs an encoding job into any output format (see the module docs).
pub fn encode_any(
    encoder: JobEncoder<'_>,
    format: OutputFormat,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<JobSummary, EncodeError> {
    match (encoder, format) {
        (JobEncoder::Pprl(schema, enc), OutputFormat::Clk) => Ok(JobSummary::Clk(
            pipeline::encode_csv(schema, enc, opts, progress)?,
        )),
        (JobEncoder::Pprl(schema, enc), _) => {
            let mut input = pipeline::open_input(opts)?;
            let rows = NativeRows::new(schema, enc, &mut input)?;
            let bits = enc.filter_bits() * enc.filters_per_record() as u32;
            positional(input, &rows, bits, format, opts, progress)
        }
        (JobEncoder::Clkhash(enc), format) => {
            let mut input = pipeline::open_input(opts)?;
            let rows = ClkhashRows::new(enc, &mut input)?;
            if format != OutputFormat::Clk {
                return positional(input, &rows, enc.filter_bits(), format, opts, progress);
            }
            let bits = enc.filter_bits();
            if !bits.is_multiple_of(64) || bits > crate::schema::MAX_FILTER_BITS {
                return Err(EncodeError::Options(format!(
                    "the .clk format holds filters of a multiple of 64 bits up to {}, and \
                     this clkhash schema's l is {bits}; write --format clkhash-json instead",
                    crate::schema::MAX_FILTER_BITS
                )));
            }
            let params = ClkParams {
                schema_fingerprint: enc.schema_fingerprint(),
                key_fingerprint: enc.key_fingerprint(),
                layout: Layout::Clk,
                hashing: HashingScheme::Clkhash,
                filter_bits: bits,
                filters_per_record: 1,
                block_keys: 0,
                schema_json: enc.schema_json().to_vec(),
            };
            Ok(JobSummary::Clk(pipeline::encode_to_clk(
                input,
                &rows,
                params,
                IdSource::Position,
                opts,
                progress,
            )?))
        }
    }
}

/// A clkhash encoder reading its features from the CSV columns.
///
/// Columns are matched as clkhash does when the header is exactly the features' identifiers
/// in order (clkhash requires that); otherwise each hashed feature's column is found by name,
/// so exports with extra or reordered columns work too.
#[derive(Debug)]
pub struct ClkhashRows<'a> {
    encoder: &'a clkhash::Encoder,
    /// Column of each feature (ignored features: unused).
    columns: Vec<usize>,
}

impl<'a> ClkhashRows<'a> {
    /// Maps the encoder's features to `input`'s columns.
    pub fn new(
        encoder: &'a clkhash::Encoder,
        input: &mut Input,
    ) -> Result<ClkhashRows<'a>, EncodeError> {
        let features = encoder.features();
        let header: Vec<&str> = input.headers();
        if header == features.iter().map(String::as_str).collect::<Vec<_>>() {
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
    ) -> Result<(), Rejection> {
        self.encoder.encode_record(
            |i| row.record.get(self.columns[i]).unwrap_or(""),
            scratch,
            out,
        )
    }
}

/// The writer of a positional format.
enum PositionalWriter {
    Json(clkhash_json::JsonWriter),
    Binary(anonlink_binary::BinaryWriter),
}

/// Writes encodings in input order; rejected rows go to the rejects report, and any of them
/// fails the job at the end.
struct PositionalSink {
    writer: PositionalWriter,
    output: PathBuf,
    rejects: RejectWriter,
    rejects_path: PathBuf,
    first: Option<String>,
}

impl RowSink for PositionalSink {
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<&[u64], &Rejection>,
    ) -> Result<(), EncodeError> {
        match outcome {
            Ok(words) => {
                if self.first.is_some() {
                    return Ok(()); // the job fails anyway; keep collecting rejects
                }
                let written = match &mut self.writer {
                    PositionalWriter::Json(w) => w.write(words),
                    PositionalWriter::Binary(w) => w.write(words),
                };
                written.map_err(|source| EncodeError::Output {
                    path: self.output.display().to_string(),
                    source,
                })
            }
            Err(r) => {
                if self.first.is_none() {
                    self.first = Some(format!(
                        "row {} (line {}; clkhash's row index {}), {}: {}",
                        row.row,
                        row.line,
                        row.row - 1,
                        r.field
                            .as_deref()
                            .map(|f| format!("field `{f}`"))
                            .unwrap_or_else(|| "the row".into()),
                        r.reason
                    ));
                }
                let id = (row.row - 1).to_string();
                pipeline::write_reject(&mut self.rejects, &self.rejects_path, row, &id, r)
            }
        }
    }
}

fn positional<E: RowEncoder>(
    input: Input,
    rows: &E,
    bits: u32,
    format: OutputFormat,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<JobSummary, EncodeError> {
    let started = std::time::Instant::now();
    let out_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| EncodeError::Output { path, source }
    };
    let writer = match format {
        OutputFormat::ClkhashJson => PositionalWriter::Json(
            clkhash_json::JsonWriter::create(&opts.output, bits).map_err(out_err(&opts.output))?,
        ),
        _ => PositionalWriter::Binary(
            anonlink_binary::BinaryWriter::create(&opts.output, bits)
                .map_err(out_err(&opts.output))?,
        ),
    };
    let (rejects, rejects_path) = pipeline::create_rejects(opts)?;
    let sink = PositionalSink {
        writer,
        output: opts.output.clone(),
        rejects,
        rejects_path,
        first: None,
    };
    let Streamed {
        sink,
        rows_read,
        threads,
    } = pipeline::stream_rows(input, rows, sink, opts, progress)?;
    let PositionalSink {
        writer,
        rejects,
        rejects_path,
        first,
        ..
    } = sink;
    if let Some(first) = first {
        let count = rejects.count();
        rejects
            .finish()
            .and_then(|f| f.commit())
            .map_err(out_err(&rejects_path))?;
        return Err(EncodeError::RowsRejected {
            rows: count,
            format: format.as_str(),
            first,
            rejects: rejects_path.display().to_string(),
        });
    }
    let file = match writer {
        PositionalWriter::Json(w) => w.finish(),
        PositionalWriter::Binary(w) => w.finish(),
    }
    .map_err(out_err(&opts.output))?;
    file.commit().map_err(out_err(&opts.output))?;
    if opts.rejects.is_some() {
        rejects
            .finish()
            .and_then(|f| f.commit())
            .map_err(out_err(&rejects_path))?;
    }
    Ok(JobSummary::Positional(PositionalSummary {
        rows: rows_read,
        output: opts.output.clone(),
        bits,
        bytes_per_encoding: (bits as usize).div_ceil(8),
        elapsed: started.elapsed(),
        threads,
    }))
}
