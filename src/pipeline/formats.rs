//! Encoding jobs into any output format: pprl's `.clk`, clkhash's JSON or the anonlink entity
//! service's binary upload layout, with pprl's encoder or clkhash's.
//!
//! clkhash's formats identify records by their position and carry no fingerprints. pprl
//! therefore refuses to write them with gaps (a rejected row fails the job rather than shift
//! every later record).

use std::path::PathBuf;

use serde::Serialize;

use super::clk_sink::{FieldCounts, create_rejects, encode_to_clk, write_invalid, write_reject};
use super::core::{RowSink, stream_rows};
use super::error::{EncodeError, output_error};
use super::options::{EncodeOptions, Progress, open_input};
use super::rows::{JobEncoder, RowEncoder};
use super::summary::{EncodeSummary, optional_path, path, seconds};
use crate::encode::Rejection;
use crate::io::formats::{anonlink_binary, clkhash_json};
use crate::io::{InputRow, RejectWriter, RowSource};

/// Output format of an encoding job (serialised as its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// pprl's `.clk` file (record ids, fingerprints, checksum) with a manifest.
    Clk,
    /// clkhash's `{"clks": [base64, ...]}`, one CLK per input row, in input order.
    ClkhashJson,
    /// The anonlink entity service's binary upload layout, one record per input row.
    AnonlinkBinary,
}

impl OutputFormat {
    /// The format's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Clk => "clk",
            OutputFormat::ClkhashJson => "clkhash-json",
            OutputFormat::AnonlinkBinary => "anonlink-binary",
        }
    }
}

/// What an encoding job into clkhash JSON or anonlink binary did.
#[derive(Debug, Clone, Serialize)]
pub struct PositionalSummary {
    /// The output format.
    pub format: OutputFormat,
    /// Rows read (all encoded: a rejected row fails the job).
    pub rows: u64,
    /// The output file.
    #[serde(serialize_with = "path")]
    pub output: PathBuf,
    /// Bits per encoding.
    pub bits: u32,
    /// Bytes per encoding in the file (anonlink's `Hash-Size`).
    pub bytes_per_encoding: usize,
    /// Wall time (serialised as seconds).
    #[serde(serialize_with = "seconds")]
    pub elapsed: std::time::Duration,
    /// Threads used.
    pub threads: usize,
    /// Per schema field, the invalid values encoded as missing (each reported in the rejects
    /// report, which is then written). Left out of the JSON when there are none.
    #[serde(skip_serializing_if = "FieldCounts::is_empty")]
    pub fields_invalid: FieldCounts,
    /// The rejects report, where one was written.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_path"
    )]
    pub rejects: Option<PathBuf>,
}

/// What an encoding job did, by output format (serialised with `"kind": "clk"` or
/// `"kind": "positional"` beside the summary's fields).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSummary {
    /// A `.clk` file with its manifest (and rejects report).
    Clk(EncodeSummary),
    /// A clkhash JSON or anonlink binary file.
    Positional(PositionalSummary),
}

/// Runs an encoding job into any output format (see the module docs): opens the input,
/// finds the encoder's columns and streams the rows into the format's file edge.
pub fn encode_any(
    encoder: JobEncoder<'_>,
    format: OutputFormat,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<JobSummary, EncodeError> {
    let mut input = open_input(opts)?;
    let (rows, ids) = encoder.rows(&mut input)?;
    if format == OutputFormat::Clk {
        // Its manifest goes beside it: not into /dev, nor beside a FIFO.
        crate::io::check_regular(&opts.output)?;
        let params = encoder.clk_params()?;
        let summary = encode_to_clk(input, &rows, params, ids, opts, progress)?;
        return Ok(JobSummary::Clk(summary));
    }
    let bits = match encoder {
        JobEncoder::Pprl(_, enc) => enc.filter_bits() * enc.filters_per_record() as u32,
        JobEncoder::Clkhash(enc) => enc.filter_bits(),
    };
    positional(input, &rows, bits, format, opts, progress)
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
    /// The first rejected row: its data row and its description.
    first: Option<(u64, String)>,
    /// Per field, the invalid values encoded as missing.
    fields_invalid: FieldCounts,
}

impl RowSink for PositionalSink {
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<(&[u64], &[Rejection]), &Rejection>,
    ) -> Result<(), EncodeError> {
        match outcome {
            Ok((words, invalid)) => {
                let id = (row.row - 1).to_string();
                write_invalid(
                    &mut self.rejects,
                    &self.rejects_path,
                    &mut self.fields_invalid,
                    row,
                    &id,
                    invalid,
                )?;
                if self.first.is_some() {
                    return Ok(()); // the job fails anyway; keep collecting rejects
                }
                let written = match &mut self.writer {
                    PositionalWriter::Json(w) => w.write(words),
                    PositionalWriter::Binary(w) => w.write(words),
                };
                written.map_err(output_error(&self.output))
            }
            Err(r) => {
                if self.first.is_none() {
                    self.first = Some((
                        row.row,
                        format!(
                            "row {} (line {}; clkhash's row index {}), {}: {}",
                            row.row,
                            row.line,
                            row.row - 1,
                            r.field
                                .as_deref()
                                .map(|f| format!("field `{f}`"))
                                .unwrap_or_else(|| "the row".into()),
                            r.reason
                        ),
                    ));
                }
                let id = (row.row - 1).to_string();
                write_reject(&mut self.rejects, &self.rejects_path, row, &id, r)
            }
        }
    }
}

fn positional<R: RowSource + Send, E: RowEncoder>(
    input: R,
    rows: &E,
    bits: u32,
    format: OutputFormat,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<JobSummary, EncodeError> {
    let started = std::time::Instant::now();
    let out_err = |path: &std::path::Path| output_error(path);
    let writer = match format {
        OutputFormat::ClkhashJson => PositionalWriter::Json(
            clkhash_json::JsonWriter::create(&opts.output, bits).map_err(out_err(&opts.output))?,
        ),
        _ => PositionalWriter::Binary(
            anonlink_binary::BinaryWriter::create(&opts.output, bits)
                .map_err(out_err(&opts.output))?,
        ),
    };
    let (rejects, rejects_path) = create_rejects(opts)?;
    let sink = PositionalSink {
        writer,
        output: opts.output.clone(),
        rejects,
        rejects_path,
        first: None,
        fields_invalid: FieldCounts::new(),
    };
    let super::core::Streamed {
        sink,
        rows_read,
        threads,
    } = stream_rows(input, rows, sink, &opts.batch(), progress)?;
    let PositionalSink {
        writer,
        rejects,
        rejects_path,
        first,
        fields_invalid,
        ..
    } = sink;
    if let Some((first_row, first)) = first {
        let count = rejects.count();
        let named = opts.rejects.is_some();
        if named {
            rejects
                .finish()
                .and_then(|f| f.commit())
                .map_err(out_err(&rejects_path))?;
        }
        return Err(EncodeError::RowsRejected {
            rows: count,
            format: format.as_str(),
            first,
            first_row,
            rejects: named.then(|| rejects_path.display().to_string()),
        });
    }
    let file = match writer {
        PositionalWriter::Json(w) => w.finish(),
        PositionalWriter::Binary(w) => w.finish(),
    }
    .map_err(out_err(&opts.output))?;
    file.commit().map_err(out_err(&opts.output))?;
    let write_rejects = opts.rejects.is_some() || rejects.lines() > 0;
    if write_rejects {
        rejects
            .finish()
            .and_then(|f| f.commit())
            .map_err(out_err(&rejects_path))?;
    }
    Ok(JobSummary::Positional(PositionalSummary {
        format,
        rows: rows_read,
        output: opts.output.clone(),
        bits,
        bytes_per_encoding: (bits as usize).div_ceil(8),
        elapsed: started.elapsed(),
        threads,
        fields_invalid,
        rejects: write_rejects.then_some(rejects_path),
    }))
}
