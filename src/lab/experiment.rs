//! Experiments for researchers: a grid of encodings and thresholds over one synthetic
//! population, one result row per setting (`pprl experiment`).
//!
//! For every schema and filter length of the grid, both parties' exports are encoded once
//! (timed), candidates are generated once at the lowest threshold of the grid (timed), and
//! each threshold then keeps the candidates at or above it, solves them one-to-one and scores
//! the links against the generator's truth. Every row therefore compares encodings on the same
//! people, the same corruption and the same secret.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::scenario::{self, LabError};
use super::synth::{CorruptionProfile, SynthConfig};
use crate::encode::Encoder;
#[cfg(doc)]
use crate::eval::PairMetrics;
use crate::io::AtomicFile;
use crate::keys::Secret;
use crate::linkage::Candidate;
use crate::linkage::job::{self, MatchOptions, MatchResult};
use crate::linkage::solve::{self, Solver};
use crate::schema::Schema;

/// The grid.
#[derive(Debug, Clone)]
pub struct ExperimentGrid {
    /// Records per party.
    pub records: u64,
    /// Generator seed (the secret is fixed per run, derived from the seed).
    pub seed: u64,
    /// Corruption of the second party's records.
    pub corruption: CorruptionProfile,
    /// Schemas to compare, with a label each (e.g. the file name).
    pub schemas: Vec<(String, Schema)>,
    /// Filter lengths in bits; empty keeps each schema's own length.
    pub lengths: Vec<u32>,
    /// Thresholds (Dice).
    pub thresholds: Vec<f64>,
    /// The one-to-one solver applied at each threshold.
    pub solver: Solver,
}

/// One setting's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExperimentRow {
    /// The schema's label.
    pub schema: String,
    /// Filter length in bits.
    pub length_bits: u32,
    /// Threshold.
    pub threshold: f64,
    /// Link quality against the truth.
    pub precision: f64,
    /// See [`PairMetrics::recall`].
    pub recall: f64,
    /// See [`PairMetrics::f1`].
    pub f1: f64,
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Mean share of filter bits set (both parties).
    pub mean_fill: f64,
    /// Encoding speed, records per second (both parties together).
    pub encode_records_per_s: f64,
    /// Candidate generation time at the grid's lowest threshold, in seconds (shared by the
    /// rows of one encoding).
    pub match_seconds: f64,
    /// Candidates at this threshold.
    pub candidates: u64,
}

/// An experiment could not run (see [`LabError::kind`]).
pub type ExperimentError = LabError;

/// Runs the grid; `on_row` receives each row as soon as it is known (rows come in grid order:
/// schema, then length, then threshold).
pub fn run(
    grid: &ExperimentGrid,
    on_row: &mut dyn FnMut(&ExperimentRow),
) -> Result<Vec<ExperimentRow>, ExperimentError> {
    if grid.schemas.is_empty() || grid.thresholds.is_empty() {
        return Err(LabError::Settings(
            "an experiment needs at least one schema and one threshold".into(),
        ));
    }
    if let Some(t) = grid.thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
        return Err(LabError::Settings(format!(
            "thresholds must be between 0 and 1, found {t}"
        )));
    }
    let floor = grid.thresholds.iter().copied().fold(1.0, f64::min);
    let tmp = tempfile::tempdir().map_err(|e| LabError::Io(e.to_string()))?;
    let generated = scenario::generate(
        SynthConfig {
            corruption: grid.corruption,
            ..SynthConfig::new(grid.records, grid.seed)
        },
        &tmp.path().join("data"),
    )?;
    let truth = &generated.truth;
    let secret = Secret::from_bytes(
        grid.seed
            .to_le_bytes()
            .iter()
            .cycle()
            .take(32)
            .copied()
            .collect(),
        "experiment",
    )
    .map_err(|e| LabError::Io(e.to_string()))?;
    let mut rows = Vec::new();
    for (label, base) in &grid.schemas {
        let lengths = if grid.lengths.is_empty() {
            vec![base.filter.length_bits]
        } else {
            grid.lengths.clone()
        };
        for &bits in &lengths {
            let mut schema = base.clone();
            schema.filter.length_bits = bits;
            let schema_err = |source| LabError::SchemaVariant {
                label: label.clone(),
                bits,
                source,
            };
            schema.validate().map_err(schema_err)?;
            Encoder::new(&schema, &secret).map_err(schema_err)?;
            let dir = tmp.path().join(format!("{}-{bits}", rows.len()));
            std::fs::create_dir_all(&dir).map_err(|e| LabError::Io(e.to_string()))?;
            let started = Instant::now();
            let parties =
                scenario::encode_parties(&schema, &secret, &generated.summary.parties, &|p| {
                    dir.join(p.file_name().unwrap_or_default())
                        .with_extension("clk")
                })?;
            let records: u64 = parties.iter().map(|p| p.summary.counts.rows_read).sum();
            let encoded: Vec<PathBuf> = parties.into_iter().map(|p| p.output).collect();
            let encode_rate = records as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let started = Instant::now();
            let report = job::match_files(
                &encoded,
                &MatchOptions {
                    threshold: job::Threshold::Fixed(floor),
                    solver: Solver::None,
                    ..MatchOptions::default()
                },
                &|_| {},
            )?;
            let match_seconds = started.elapsed().as_secs_f64();
            let fill = mean_fill(&encoded)?;
            let MatchResult::Pairs(all) = &report.result else {
                unreachable!("two files give pairs");
            };
            for &t in &grid.thresholds {
                let kept: Vec<Candidate> = all.iter().copied().filter(|c| c.score >= t).collect();
                let links = solve::solve(grid.solver, &kept);
                let q = scenario::score(truth, &report, &links);
                let row = ExperimentRow {
                    schema: label.clone(),
                    length_bits: bits,
                    threshold: t,
                    precision: q.precision,
                    recall: q.recall,
                    f1: q.f1,
                    tp: q.tp,
                    fp: q.fp,
                    fn_: q.fn_,
                    mean_fill: fill,
                    encode_records_per_s: encode_rate,
                    match_seconds,
                    candidates: kept.len() as u64,
                };
                on_row(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// Mean share of bits set over every filter of the files.
fn mean_fill(files: &[PathBuf]) -> Result<f64, ExperimentError> {
    let (mut set, mut total) = (0u64, 0u64);
    for f in files {
        let d = crate::io::ClkReader::open(f)
            .and_then(|r| r.read_all())
            .map_err(|e| LabError::Match(job::MatchError::Clk(e)))?;
        set += d
            .words
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum::<u64>();
        total += d.words.len() as u64 * 64;
    }
    Ok(set as f64 / total.max(1) as f64)
}

/// How [`write_rows`] writes the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// CSV with a header row (the field names of [`ExperimentRow`]).
    Csv,
    /// A pretty-printed JSON array of objects.
    Json,
}

impl RowFormat {
    /// JSON for a path ending in `.json`, CSV otherwise.
    pub fn for_path(path: &Path) -> RowFormat {
        if path.extension().is_some_and(|e| e == "json") {
            RowFormat::Json
        } else {
            RowFormat::Csv
        }
    }
}

/// Writes the rows to `path` (atomically: all or nothing).
pub fn write_rows(path: &Path, rows: &[ExperimentRow], format: RowFormat) -> Result<(), LabError> {
    use std::io::Write as _;
    let io =
        |e: &dyn std::fmt::Display| LabError::Io(format!("cannot write {}: {e}", path.display()));
    let mut file = AtomicFile::create(path).map_err(|e| io(&e))?;
    match format {
        RowFormat::Json => {
            serde_json::to_writer_pretty(&mut file, rows).map_err(|e| io(&e))?;
            writeln!(file).map_err(|e| io(&e))?;
        }
        RowFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut file);
            for r in rows {
                w.serialize(r).map_err(|e| io(&e))?;
            }
            w.flush().map_err(|e| io(&e))?;
        }
    }
    file.commit().map_err(|e| io(&e))
}
