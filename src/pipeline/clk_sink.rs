//! The file edge of a `.clk` job: encoded rows into a `.clk` file, rejected rows into a
//! rejects report, and a manifest beside them.
//!
//! All three are written to temporary files and renamed into place only when the whole input
//! has been processed, so a job that stops with an error leaves no output behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::core::{self, RowSink, Streamed};
use super::error::{EncodeError, output_error};
use super::options::{EncodeOptions, Progress};
use super::rows::{IdSource, RowEncoder};
use super::summary::EncodeSummary;
use crate::encode::Rejection;
use crate::io::Counts;
use crate::io::clk::ClkParams;
use crate::io::{ClkWriter, InputRow, Manifest, RejectAction, RejectRow, RejectWriter, RowSource};

/// Writes encoded rows to a `.clk` file and rejected rows to a rejects report.
#[derive(Debug)]
pub(crate) struct ClkSink {
    writer: ClkWriter,
    rejects: RejectWriter,
    rejects_path: PathBuf,
    ids: IdSource,
    id: String,
    /// Filter words per record; the words after them are block ids.
    filter_words: usize,
    /// Per field, the invalid values encoded as missing.
    fields_invalid: FieldCounts,
}

/// Per schema field, the invalid values encoded as missing (the manifest's `fields_invalid`).
pub(crate) type FieldCounts = BTreeMap<String, u64>;

impl RowSink for ClkSink {
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<(&[u64], &[Rejection]), &Rejection>,
    ) -> Result<(), EncodeError> {
        let id = self.ids.id(row, &mut self.id);
        match outcome {
            Ok((words, invalid)) => {
                let (bits, blocks) = words.split_at(self.filter_words);
                self.writer.write_record(row.row, id, bits, blocks)?;
                write_invalid(
                    &mut self.rejects,
                    &self.rejects_path,
                    &mut self.fields_invalid,
                    row,
                    id,
                    invalid,
                )
            }
            Err(r) => write_reject(&mut self.rejects, &self.rejects_path, row, id, r),
        }
    }
}

/// Reports the fields of an encoded `row` whose invalid values were encoded as missing: a
/// `field-missing` line each in the rejects report, counted per field.
pub(crate) fn write_invalid(
    rejects: &mut RejectWriter,
    path: &Path,
    counts: &mut FieldCounts,
    row: &InputRow,
    record_id: &str,
    invalid: &[Rejection],
) -> Result<(), EncodeError> {
    for r in invalid {
        let line = reject_row(row, record_id, r, RejectAction::FieldMissing);
        *counts.entry(line.field.clone()).or_default() += 1;
        rejects.write(&line).map_err(output_error(path))?;
    }
    Ok(())
}

/// The rejects-report line of `row` (whose record id is `record_id`) for `r`.
pub(crate) fn reject_row(
    row: &InputRow,
    record_id: &str,
    r: &Rejection,
    action: RejectAction,
) -> RejectRow {
    RejectRow {
        row: row.row,
        line: (row.line > 0).then_some(row.line),
        record_id: record_id.to_string(),
        field: r.field.clone().unwrap_or_default(),
        code: r.code.to_string(),
        reason: r.reason.clone(),
        action,
    }
}

/// Appends a rejected row to a rejects report.
pub(crate) fn write_reject(
    rejects: &mut RejectWriter,
    path: &Path,
    row: &InputRow,
    record_id: &str,
    r: &Rejection,
) -> Result<(), EncodeError> {
    rejects
        .write(&reject_row(row, record_id, r, RejectAction::RowRejected))
        .map_err(output_error(path))
}

/// Starts the rejects report of a job: `opts.rejects`, or `OUT.rejects.csv`.
pub(crate) fn create_rejects(opts: &EncodeOptions) -> Result<(RejectWriter, PathBuf), EncodeError> {
    let path = opts.rejects_path();
    let writer = RejectWriter::create(&path).map_err(output_error(&path))?;
    Ok((writer, path))
}

/// Encodes every row of `input` with `encoder` into a `.clk` file described by `params`, with
/// a rejects report and a manifest, all written atomically at the end.
pub(crate) fn encode_to_clk<R: RowSource + Send, E: RowEncoder>(
    input: R,
    encoder: &E,
    params: ClkParams,
    ids: IdSource,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<EncodeSummary, EncodeError> {
    let started = Instant::now();
    let (rejects, rejects_path) = create_rejects(opts)?;
    let manifest_params = params.clone();
    let filter_words = params.words_per_record();
    let sink = ClkSink {
        filter_words,
        writer: ClkWriter::create(&opts.output, params)?,
        rejects,
        rejects_path: rejects_path.clone(),
        ids,
        id: String::new(),
        fields_invalid: FieldCounts::new(),
    };
    let Streamed {
        sink,
        rows_read,
        threads,
    } = core::stream_rows(input, encoder, sink, &opts.batch(), progress)?;
    let ClkSink {
        writer,
        rejects,
        fields_invalid,
        ..
    } = sink;

    let counts = Counts {
        rows_read,
        rows_encoded: writer.count(),
        rows_rejected: rejects.count(),
    };
    debug_assert_eq!(counts.rows_read, counts.rows_encoded + counts.rows_rejected);
    let (clk_file, clk) = writer.finish()?;
    let write_rejects = opts.rejects.is_some() || rejects.lines() > 0;
    let rejects_file = rejects.finish().map_err(output_error(&rejects_path))?;
    let manifest_path = Manifest::path_for(&opts.output);
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let manifest = Manifest {
        tool: "pprl".into(),
        tool_version: crate::version::TOOL_VERSION.into(),
        format_version: crate::version::FORMAT_VERSION,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        encoding_file: file_name(&opts.output),
        encoding_sha256: hex::encode(clk.file_sha256),
        schema_fingerprint: manifest_params.schema_fingerprint.to_hex(),
        key_fingerprint: manifest_params.key_fingerprint.to_hex(),
        layout: manifest_params.layout.as_str().into(),
        hashing: manifest_params.hashing.as_str().into(),
        filter_bits: manifest_params.filter_bits,
        counts,
        fields_invalid: fields_invalid.clone(),
        rejects_file: write_rejects.then(|| file_name(&rejects_path)),
        privacy: None,
    };
    let manifest_file = manifest
        .write(&manifest_path)
        .map_err(output_error(&manifest_path))?;

    clk_file.commit().map_err(output_error(&opts.output))?;
    if write_rejects {
        rejects_file.commit().map_err(output_error(&rejects_path))?;
    }
    manifest_file
        .commit()
        .map_err(output_error(&manifest_path))?;

    Ok(EncodeSummary {
        counts,
        fields_invalid,
        output: opts.output.clone(),
        clk,
        rejects: write_rejects.then_some(rejects_path),
        manifest: manifest_path,
        elapsed: started.elapsed(),
        threads,
    })
}
