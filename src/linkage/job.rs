//! The matching job on files: each encoding file read once, then [`match_encodings`].
//!
//! Files are an edge: [`match_files`] reads every file with
//! [`read_encoding_file`] (`.clk`, clkhash JSON or anonlink binary), labels it by its path and
//! hands the encodings to the in-memory entry point, which also chooses an automatic threshold.
//! [`match_files_to_csv`] gives the job a [`CsvSink`] over an atomic file, so that links stream
//! to the file as they are found where the result allows it. The result names records only by
//! the ids the departments chose.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::Candidate;
use super::matcher::{CandidateSink, MatchInput, match_encodings};
use super::report::{MatchWarning, MatchWarningKind};
use crate::io::formats::{FileKind, read_encoding_file};
use crate::io::{AtomicFile, FileRole, RunFiles};

pub use super::error::{MatchError, MatchErrorKind, Mismatch, MismatchWhat};
pub use super::matcher::check_compatible;
pub use super::options::{MatchOptions, Threshold};
pub use super::report::{MatchReport, MatchResult};

/// Reads every file once (any encoding format) and matches them (see
/// [`match_encodings`]).
pub fn match_files(
    paths: &[PathBuf],
    opts: &MatchOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MatchReport, MatchError> {
    run(paths, opts, None, progress)
}

/// Like [`match_files`], and writes the result to `output` as CSV, atomically (see
/// [`MatchReport::write_csv`]). With two files the links go through a [`CsvSink`]: with no
/// solver and no top-k, as they are found, without being held in memory (the report's result
/// is then [`MatchResult::Written`]; rows are in a deterministic order, but not sorted).
/// `-` writes to standard output; an output that is one of the inputs, or in a missing
/// folder, is refused before anything is read ([`RunFiles`]).
pub fn match_files_to_csv(
    paths: &[PathBuf],
    opts: &MatchOptions,
    output: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MatchReport, MatchError> {
    let err = output_err(output);
    // Before anything is read or written: the output is no input, and its folder exists.
    let files = RunFiles::new().reads(FileRole::Input, paths).write(output);
    files
        .allow_stdout()
        .check()
        .map_err(|e| err(std::io::Error::other(e)))?;
    if paths.len() != 2 {
        let report = run(paths, opts, None, progress)?;
        report.write_csv(output, opts.scores)?;
        return Ok(report);
    }
    let file = AtomicFile::create_or_stdout(output).map_err(err)?;
    let mut sink = CsvSink::new(file, opts.scores).map_err(err)?;
    let report = run(paths, opts, Some(&mut sink), progress).map_err(|e| match e {
        MatchError::Output { source, .. } => err(source),
        e => e,
    })?;
    sink.into_inner().map_err(err)?.commit().map_err(err)?;
    Ok(report)
}

fn output_err(path: &Path) -> impl Fn(std::io::Error) -> MatchError + Copy + '_ {
    move |source| MatchError::Output {
        path: path.display().to_string(),
        source,
    }
}

fn run(
    paths: &[PathBuf],
    opts: &MatchOptions,
    sink: Option<&mut dyn CandidateSink>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MatchReport, MatchError> {
    let started = Instant::now();
    let mut inputs = Vec::with_capacity(paths.len());
    let mut warnings = Vec::new();
    for path in paths {
        let (data, kind) = read_encoding_file(path)?;
        if kind != FileKind::Clk {
            let what = match kind {
                FileKind::ClkhashJson => "a clkhash JSON file",
                _ => "an anonlink binary file",
            };
            warnings.push(MatchWarning {
                kind: MatchWarningKind::Unchecked,
                message: format!(
                    "{} is {what}: its records are identified by position (0, 1, 2, ...), and \
                     it carries no key or schema fingerprint, so pprl cannot check that it was \
                     encoded with the same secret and schema as the other files",
                    path.display()
                ),
            });
        }
        inputs.push(MatchInput::new(path.display().to_string(), data));
    }
    let read_time = started.elapsed();
    let mut report = match_encodings(inputs, opts, sink, progress)?;
    report.read_time = read_time;
    report.elapsed = started.elapsed();
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

/// A [`CandidateSink`] that writes links as CSV rows `a_id,b_id[,score]` (scores to six
/// decimals), the header first.
pub struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    scores: bool,
}

impl<W: Write> CsvSink<W> {
    /// A sink writing to `w`; writes the header now.
    pub fn new(w: W, scores: bool) -> std::io::Result<CsvSink<W>> {
        let mut writer = csv::Writer::from_writer(w);
        write_pairs_header(&mut writer, scores).map_err(std::io::Error::other)?;
        Ok(CsvSink { writer, scores })
    }

    /// Flushes and returns the writer.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

impl<W: Write> CandidateSink for CsvSink<W> {
    fn accept(&mut self, ids: [&[String]; 2], batch: &[Candidate]) -> std::io::Result<()> {
        for c in batch {
            write_pair(&mut self.writer, ids, c, self.scores)?;
        }
        Ok(())
    }
}

impl MatchReport {
    /// Writes the result as CSV to `path`, atomically: `a_id,b_id[,score]` for two inputs,
    /// `cluster,id` for one, `cluster,party,id` for three or more (party = the input's
    /// position among the inputs, from 0).
    pub fn write_csv(&self, path: &Path, scores: bool) -> Result<(), MatchError> {
        if let MatchResult::Written { .. } = self.result {
            return Err(MatchError::AlreadyWritten);
        }
        let err = output_err(path);
        let file = AtomicFile::create_or_stdout(path).map_err(&err)?;
        let mut file = self.write_csv_to(file, scores).map_err(&err)?;
        file.flush().map_err(&err)?;
        file.commit().map_err(err)
    }

    /// Writes a probabilistic match's clerical-review band (`a_id,b_id,probability`) to
    /// `path`, atomically; returns the pairs written (none without a review band).
    pub fn write_review_csv(&self, path: &Path) -> Result<u64, MatchError> {
        let band = self
            .probabilistic
            .as_ref()
            .map_or(&[][..], |s| s.review_band.as_slice());
        let err = output_err(path);
        let file = AtomicFile::create(path).map_err(&err)?;
        let mut w = csv::Writer::from_writer(file);
        w.write_record(["a_id", "b_id", "probability"])
            .map_err(|e| err(std::io::Error::other(e)))?;
        for c in band {
            write_pair(&mut w, [self.ids[0].as_slice(), self.second_ids()], c, true)
                .map_err(&err)?;
        }
        let file = w
            .into_inner()
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        file.commit().map_err(err)?;
        Ok(band.len() as u64)
    }

    /// Writes the result as CSV (see [`MatchReport::write_csv`]) to `w`, and returns it.
    pub fn write_csv_to<W: Write>(&self, w: W, scores: bool) -> std::io::Result<W> {
        if let MatchResult::Written { .. } = self.result {
            return Err(std::io::Error::other(MatchError::AlreadyWritten));
        }
        let mut w = csv::Writer::from_writer(w);
        let csv_err = std::io::Error::other;
        match &self.result {
            MatchResult::Pairs(pairs) => {
                write_pairs_header(&mut w, scores).map_err(csv_err)?;
                for c in pairs {
                    write_pair(
                        &mut w,
                        [self.ids[0].as_slice(), self.second_ids()],
                        c,
                        scores,
                    )?;
                }
            }
            MatchResult::Duplicates(clusters) => {
                w.write_record(["cluster", "id"]).map_err(csv_err)?;
                for (k, cluster) in clusters.iter().enumerate() {
                    for &i in cluster {
                        w.write_record([&k.to_string(), &self.ids[0][i as usize]])
                            .map_err(csv_err)?;
                    }
                }
            }
            MatchResult::Clusters(clusters) => {
                w.write_record(["cluster", "party", "id"])
                    .map_err(csv_err)?;
                for (k, cluster) in clusters.iter().enumerate() {
                    for r in cluster {
                        w.write_record([
                            &k.to_string(),
                            &r.party.to_string(),
                            &self.ids[r.party as usize][r.index as usize],
                        ])
                        .map_err(csv_err)?;
                    }
                }
            }
            MatchResult::Written { .. } => unreachable!("refused above"),
        }
        w.into_inner().map_err(|e| e.into_error())
    }
}

/// The header of a two-input result: `a_id,b_id[,score]`.
fn write_pairs_header<W: Write>(w: &mut csv::Writer<W>, scores: bool) -> csv::Result<()> {
    if scores {
        w.write_record(["a_id", "b_id", "score"])
    } else {
        w.write_record(["a_id", "b_id"])
    }
}

/// One row of a two-input result: the records' ids and (with `scores`) the score to six
/// decimals.
fn write_pair<W: Write>(
    w: &mut csv::Writer<W>,
    ids: [&[String]; 2],
    c: &Candidate,
    scores: bool,
) -> std::io::Result<()> {
    let (a, b) = (&ids[0][c.a as usize], &ids[1][c.b as usize]);
    if scores {
        w.write_record([a, b, &format!("{:.6}", c.score)])
    } else {
        w.write_record([a, b])
    }
    .map_err(std::io::Error::other)
}

/// Writes a trained model as JSON (`model.json`), atomically, for later runs.
pub fn write_model(model: &super::fs::FsModel, path: &Path) -> Result<(), MatchError> {
    let err = output_err(path);
    let mut file = AtomicFile::create(path).map_err(&err)?;
    serde_json::to_writer_pretty(&mut file, model).map_err(|e| err(std::io::Error::other(e)))?;
    file.write_all(b"\n").map_err(&err)?;
    file.commit().map_err(err)
}

/// Reads a model written by [`write_model`].
pub fn read_model(path: &Path) -> Result<super::fs::FsModel, MatchError> {
    let bad = |detail: String| super::fs::FsError::ModelFile {
        path: path.display().to_string(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let model: super::fs::FsModel = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| {
            bad(format!(
                "not a pprl model (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
    // The parameters must be a model: one m and u per non-null level, a prior in (0, 1).
    let p = model.params.clone();
    super::fs::FsParams::new(p.fields, p.lambda, p.m, p.u).map_err(|e| bad(e.to_string()))?;
    Ok(model)
}
