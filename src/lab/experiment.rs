//! Experiments for researchers: a grid of encodings and thresholds over one synthetic
//! population, one result row per setting (`pprl experiment`).
//!
//! For every schema and filter length of the grid, both parties' exports are encoded once
//! (timed), candidates are generated once at the lowest threshold of the grid (timed), and
//! each threshold then keeps the candidates at or above it, solves them one-to-one and scores
//! the links against the generator's truth. Every row therefore compares encodings on the same
//! people, the same corruption and the same secret.

use std::path::PathBuf;
use std::time::Instant;

use super::synth::{CorruptionProfile, Population, SynthConfig};
use crate::encode::Encoder;
use crate::eval::PairMetrics;
use crate::keys::Secret;
use crate::linkage::Candidate;
use crate::linkage::job::{self, MatchOptions, MatchResult};
use crate::linkage::solve::{self, Solver};
use crate::pipeline::{self, EncodeOptions};
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

/// An experiment could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The grid is empty or invalid.
    #[error("{0}")]
    Grid(String),
    /// Generating the data failed.
    #[error(transparent)]
    Synth(#[from] super::synth::SynthError),
    /// A schema variant is invalid (e.g. a length its weights do not fit).
    #[error("schema `{label}` at {bits} bits: {source}")]
    Schema {
        /// The schema's label.
        label: String,
        /// The filter length tried.
        bits: u32,
        /// The cause.
        source: crate::schema::SchemaError,
    },
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] pipeline::EncodeError),
    /// Matching failed.
    #[error(transparent)]
    Match(#[from] job::MatchError),
    /// The generator's truth file could not be read.
    #[error(transparent)]
    Truth(#[from] crate::eval::EvalError),
    /// A temporary directory could not be made.
    #[error("{0}")]
    Io(String),
}

/// Runs the grid; `on_row` receives each row as soon as it is known (rows come in grid order:
/// schema, then length, then threshold).
pub fn run(
    grid: &ExperimentGrid,
    on_row: &mut dyn FnMut(&ExperimentRow),
) -> Result<Vec<ExperimentRow>, ExperimentError> {
    if grid.schemas.is_empty() || grid.thresholds.is_empty() {
        return Err(ExperimentError::Grid(
            "an experiment needs at least one schema and one threshold".into(),
        ));
    }
    if let Some(t) = grid.thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
        return Err(ExperimentError::Grid(format!(
            "thresholds must be between 0 and 1, found {t}"
        )));
    }
    let floor = grid.thresholds.iter().copied().fold(1.0, f64::min);
    let tmp = tempfile::tempdir().map_err(|e| ExperimentError::Io(e.to_string()))?;
    let population = Population::new(SynthConfig {
        corruption: grid.corruption,
        ..SynthConfig::new(grid.records, grid.seed)
    })?;
    let data = population.write_dir(&tmp.path().join("data"), None)?;
    let truth = crate::eval::truth::read_id_pairs(&data.truth, 2)?;
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
    .map_err(|e| ExperimentError::Io(e.to_string()))?;
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
            let schema_err = |source| ExperimentError::Schema {
                label: label.clone(),
                bits,
                source,
            };
            schema.validate().map_err(schema_err)?;
            let encoder = Encoder::new(&schema, &secret).map_err(schema_err)?;
            let dir = tmp.path().join(format!("{}-{bits}", rows.len()));
            std::fs::create_dir_all(&dir).map_err(|e| ExperimentError::Io(e.to_string()))?;
            let started = Instant::now();
            let mut encoded = Vec::new();
            let mut records = 0u64;
            for party in &data.parties {
                let out = dir
                    .join(party.path.file_name().unwrap_or_default())
                    .with_extension("clk");
                let opts = EncodeOptions::new(party.path.display().to_string(), &out);
                let s = pipeline::encode_csv(&schema, &encoder, &opts, &mut |_, _| {})?;
                records += s.counts.rows_read;
                encoded.push(out);
            }
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
                let q = PairMetrics::from_pairs(
                    truth.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                    links.iter().map(|c| {
                        (
                            report.ids[0][c.a as usize].as_str(),
                            report.ids[1][c.b as usize].as_str(),
                        )
                    }),
                );
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
            .map_err(|e| ExperimentError::Match(job::MatchError::Clk(e)))?;
        set += d
            .words
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum::<u64>();
        total += d.words.len() as u64 * 64;
    }
    Ok(set as f64 / total.max(1) as f64)
}
