//! How to match: [`MatchOptions`], with a [`Threshold`] fixed or chosen from the data.

use super::blocking::BlockingRequest;
use super::candidates::Similarity;
use super::fs::FsOptions;
use super::solve::{Clustering, Solver};
use super::threshold::AutoOptions;
use crate::filter::kernel::Kernel;

/// The minimum similarity of a candidate pair: given, or chosen from the scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// This value, in `0..=1`.
    Fixed(f64),
    /// Chosen from the inputs' similarity scores alone, without ground truth (see
    /// [`super::threshold`]); the report says which value and why.
    Auto(AutoOptions),
}

impl Default for Threshold {
    /// `Fixed(0.8)`.
    fn default() -> Self {
        Threshold::Fixed(0.8)
    }
}

impl From<f64> for Threshold {
    fn from(t: f64) -> Self {
        Threshold::Fixed(t)
    }
}

/// How to match.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Minimum similarity of a candidate pair.
    pub threshold: Threshold,
    /// Similarity measure.
    pub similarity: Similarity,
    /// One-to-one solver for two inputs; [`Solver::None`] with one input writes every
    /// candidate pair instead of clusters.
    pub solver: Solver,
    /// How one input's duplicates, or three or more inputs' records, form clusters.
    pub clustering: Clustering,
    /// Keep only the best `k` candidates per record.
    pub top_k: Option<usize>,
    /// Accept inputs whose schema fingerprints differ (never keys, layouts or lengths).
    pub allow_schema_mismatch: bool,
    /// Write scores into the output.
    pub scores: bool,
    /// The popcount kernel (default: the best this CPU has).
    pub kernel: Option<Kernel>,
    /// Blocking (none by default: every pair is compared, after the length filter).
    pub blocking: BlockingRequest,
    /// Known true pairs `(id in first input, id in second input)` (for one input, pairs of
    /// its ids): with blocking, the report then gives the blocking's pair completeness.
    pub truth: Option<Vec<(String, String)>>,
    /// Probabilistic (Fellegi-Sunter) linkage on field-layout encodings: candidates at the
    /// options' record-level Dice are scored by match weight, and `threshold` is then a
    /// match probability (`Auto`: the model's best expected F1). `None`: match on Dice.
    pub probabilistic: Option<FsOptions>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            threshold: Threshold::default(),
            similarity: Similarity::Dice,
            solver: Solver::Greedy,
            clustering: Clustering::default(),
            top_k: None,
            allow_schema_mismatch: false,
            scores: true,
            kernel: None,
            blocking: BlockingRequest::default(),
            truth: None,
            probabilistic: None,
        }
    }
}
