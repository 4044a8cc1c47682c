//! The automatic threshold inside a match: the options, the neighbour scan of each side over
//! encodings in memory, and the report of the choice ([`AutoChoice`]).

use std::path::PathBuf;
use std::time::Duration;

use super::neighbours::{Scan, SideNeighbours};
use super::{AutoThreshold, Estimate};
use crate::filter::kernel::Kernel;
use crate::linkage::candidates::Similarity;
use crate::linkage::error::MatchError;
use crate::linkage::job;
use crate::linkage::options::{MatchOptions, Threshold};
use crate::linkage::report::{MatchReport, secs};

/// How to choose the threshold of a matching job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoOptions {
    /// Records scanned per side at most (evenly spaced; all of them for smaller files). The
    /// scan costs `sample x (records of the other file)` comparisons per side.
    pub sample: usize,
    /// The threshold is never below this, and no score below it is needed.
    pub floor: f64,
    /// Nearest neighbours kept per record: the last one anchors the record's non-match tail,
    /// so it must exceed the largest group of records of one person (default 12).
    pub neighbours: usize,
    /// The threshold to use when the scores show no separable match mode; without one, the
    /// match fails with [`MatchError::NoMatchMode`].
    pub fallback: Option<f64>,
}

impl Default for AutoOptions {
    fn default() -> Self {
        AutoOptions {
            sample: 10_000,
            floor: 0.0,
            neighbours: 12,
            fallback: None,
        }
    }
}

/// A threshold chosen automatically, as a match report carries it: the choice, its
/// explanation, the estimated quality of the result and the time the choice took.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AutoChoice {
    /// The chosen threshold and what it was based on.
    #[serde(flatten)]
    pub threshold: AutoThreshold,
    /// One sentence on why this value ([`AutoThreshold::explanation`]).
    pub explanation: String,
    /// Estimated precision, recall and F1 of the result as solved and written (every pair
    /// of a cluster counts): `None` when no model could be fitted or the result was not held.
    pub estimated_result: Option<Estimate>,
    /// Time spent scanning the scores and choosing.
    #[serde(rename = "choose_s", serialize_with = "secs")]
    pub choose_time: Duration,
}

/// The [`SideNeighbours`] of every ordered pair of inputs (of the input against itself, for
/// one): each side's records sampled ([`AutoOptions::sample`]) and scanned for their
/// [`AutoOptions::neighbours`] best scores. `filters` holds each input's filters, `words` per
/// record.
pub fn side_neighbours(
    filters: &[&[u64]],
    words: usize,
    similarity: Similarity,
    auto: &AutoOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<SideNeighbours> {
    let scan = |i: usize, j: usize| {
        Scan {
            left: filters[i],
            right: filters[j],
            words,
            same: i == j,
            sample: auto.sample,
            k: auto.neighbours.max(2),
            min_floor: auto.floor,
            similarity,
        }
        .run(kernel, progress)
    };
    if filters.len() == 1 {
        return vec![scan(0, 0)];
    }
    let mut sides = Vec::new();
    for i in 0..filters.len() {
        for j in 0..filters.len() {
            if i != j {
                sides.push(scan(i, j));
            }
        }
    }
    sides
}

/// The position in [`side_neighbours`]' result of input `i` scanned against input `j`
/// (`i == j` only for one input).
pub(crate) fn side_index(i: usize, j: usize, inputs: usize) -> usize {
    if inputs == 1 {
        0
    } else {
        i * (inputs - 1) + if j < i { j } else { j - 1 }
    }
}

/// A matching job whose threshold was chosen automatically.
#[derive(Debug, Clone)]
pub struct AutoMatch {
    /// The job's report, as from [`job::match_files`] at the chosen threshold.
    pub report: MatchReport,
    /// The chosen threshold and why.
    pub threshold: AutoThreshold,
    /// Time spent scanning the scores and choosing.
    pub choose_time: Duration,
}

/// Matches the files with [`Threshold::Auto`]`(auto)` (see [`job::match_files`]; every file
/// is read once) and returns the choice beside the report. `opts.threshold` is ignored.
pub fn auto_match(
    paths: &[PathBuf],
    opts: &MatchOptions,
    auto: &AutoOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<AutoMatch, MatchError> {
    let opts = MatchOptions {
        threshold: Threshold::Auto(*auto),
        ..opts.clone()
    };
    let report = job::match_files(paths, &opts, progress)?;
    let choice = report
        .auto
        .clone()
        .expect("an automatic threshold is reported");
    Ok(AutoMatch {
        report,
        threshold: choice.threshold,
        choose_time: choice.choose_time,
    })
}
