//! The scale benchmark: synthesise two parties, encode them, block, match and evaluate, timing
//! every stage (`pprl bench scale`).
//!
//! It answers "how long would a linkage of this size take on this machine, how much memory
//! would it need, and what would blocking lose?" with the real pipeline, not a model: the
//! [`scenario`](super::scenario::run) run with a schema that declares keyed blocking keys, its
//! report cut down to what the benchmark measures.

use std::path::{Path, PathBuf};

use super::scenario::{self, LabError, ScenarioOptions};
use super::synth::{CorruptionProfile, SynthConfig};
use crate::eval::PairMetrics;
use crate::keys::Secret;
use crate::linkage::Threshold;
use crate::linkage::blocking::{BlockingReport, BlockingRequest};
use crate::schema::Schema;

/// The schema the benchmark encodes with: the example person schema with three keyed
/// blocking keys (`examples/person_blocking.toml`).
pub const SCHEMA: &str = include_str!("../../examples/person_blocking.toml");

/// What to run.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// Records per party.
    pub records: u64,
    /// Generator seed.
    pub seed: u64,
    /// Corruption of the second party's copies.
    pub corruption: CorruptionProfile,
    /// Match threshold (Dice).
    pub threshold: f64,
    /// Blocking.
    pub blocking: BlockingRequest,
    /// Where the generated and encoded files go (kept; a temporary directory if `None`).
    pub dir: Option<PathBuf>,
}

pub use super::scenario::Stage;

/// What the benchmark measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScaleReport {
    /// Records per party.
    pub records: u64,
    /// Worker threads.
    pub threads: usize,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// Pairs compared.
    pub comparisons: u64,
    /// Candidate pairs above the threshold.
    pub candidates: u64,
    /// What blocking did (with pair completeness against the truth); `None` when every pair
    /// was compared.
    pub blocking: Option<BlockingReport>,
    /// Quality of the one-to-one links against the truth.
    pub quality: PairMetrics,
}

/// A stage failed (see [`LabError::kind`]).
pub type ScaleError = LabError;

/// Runs the benchmark. `stage` is called with each stage's name as it starts.
pub fn run(opts: &ScaleOptions, stage: &mut dyn FnMut(&str)) -> Result<ScaleReport, ScaleError> {
    let tmp;
    let dir: &Path = match &opts.dir {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir().map_err(|e| LabError::Io(e.to_string()))?;
            tmp.path()
        }
    };
    let scenario = ScenarioOptions {
        synth: SynthConfig {
            corruption: opts.corruption,
            ..SynthConfig::new(opts.records, opts.seed)
        },
        schema: Schema::from_toml_str(SCHEMA)?,
        secret: Secret::generate().map_err(|e| LabError::Io(e.to_string()))?,
        threshold: Threshold::Fixed(opts.threshold),
        blocking: opts.blocking.clone(),
        blocking_truth: true,
        dir: dir.to_path_buf(),
    };
    let report = scenario::run(&scenario, stage)?;
    Ok(ScaleReport {
        records: report.records,
        threads: report.threads,
        stages: report.stages,
        comparisons: report.matched.stats.comparisons,
        candidates: report.matched.stats.candidates,
        blocking: report.matched.blocking.first().cloned(),
        quality: report.quality,
    })
}
