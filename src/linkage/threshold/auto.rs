//! The automatic threshold inside a match: the options, the scan of each side's best two
//! scores over encodings in memory, and the report of the choice ([`AutoChoice`]).

use std::path::PathBuf;
use std::time::Duration;

use super::{AutoThreshold, SideScores};
use crate::filter::kernel::Kernel;
use crate::linkage::candidates::{FilterSet, Similarity, TopTwo, top_two};
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
    /// Scores below this are not kept (they only need to be known to be low).
    pub floor: f64,
}

impl Default for AutoOptions {
    fn default() -> Self {
        AutoOptions {
            sample: 10_000,
            floor: 0.0,
        }
    }
}

/// A threshold chosen automatically, as a match report carries it: the choice, its
/// explanation and the time the scan and the choice took.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AutoChoice {
    /// The chosen threshold and what it was based on.
    #[serde(flatten)]
    pub threshold: AutoThreshold,
    /// One sentence on why this value ([`AutoThreshold::explanation`]).
    pub explanation: String,
    /// Time spent scanning the scores and choosing.
    #[serde(rename = "choose_s", serialize_with = "secs")]
    pub choose_time: Duration,
}

/// The [`SideScores`] of every ordered pair of filter sets (of the set against itself, for
/// one): each side's records sampled ([`AutoOptions::sample`]) and scanned for their
/// [`TopTwo`] scores.
pub fn side_scores(
    sets: &[FilterSet],
    similarity: Similarity,
    auto: &AutoOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<SideScores> {
    let scan = |i: usize, j: usize| SideScores {
        population: sets[i].len() as u64,
        scores: top_two(
            &sets[i],
            &sets[j],
            i == j,
            auto.sample,
            auto.floor,
            similarity,
            kernel,
            progress,
        ),
    };
    if sets.len() == 1 {
        return vec![scan(0, 0)];
    }
    let mut sides = Vec::new();
    for i in 0..sets.len() {
        for j in 0..sets.len() {
            if i != j {
                sides.push(scan(i, j));
            }
        }
    }
    sides
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

/// The [`SideScores`] of two files from scored candidate pairs `(index in first, index in
/// second, score)`, e.g. the candidates of a match without a solver at a low threshold (the floor): one
/// side per file. Records without a candidate count as scoring below the floor.
pub fn sides_from_candidates(
    candidates: &[crate::linkage::Candidate],
    records: [usize; 2],
) -> [SideScores; 2] {
    let mut tops = [
        vec![TopTwo::NONE; records[0]],
        vec![TopTwo::NONE; records[1]],
    ];
    for c in candidates {
        tops[0][c.a as usize].push(c.score);
        tops[1][c.b as usize].push(c.score);
    }
    tops.map(|scores| SideScores {
        population: scores.len() as u64,
        scores,
    })
}
