//! The serialisable summary of one evaluation: what `pprl eval --format json` prints.
//!
//! In: an [`EvalReport`] and the presentation choices (the F-beta to add, the threshold in
//! use, the sweep's grid step, the charts written). Out: an [`EvalSummary`], flat where the
//! report is nested, with the keys front ends and scripts rely on (`precision`, `recall`,
//! `f1`, `tp`, `fp`, `fn`, `sweep.best_f1`, ...).

use serde::Serialize;

use super::metrics::SweepPoint;
use super::report::{EvalReport, Linkage, Scored};

/// How to summarise an [`EvalReport`].
#[derive(Debug, Clone, Default)]
pub struct SummaryOptions {
    /// The truth file, as given.
    pub truth: String,
    /// The match output, as given.
    pub matches: String,
    /// Add F-beta for this beta.
    pub beta: Option<f64>,
    /// The threshold in use, to report the sweep's point there.
    pub threshold: Option<f64>,
    /// The sweep's grid step.
    pub step: f64,
    /// The grid starts at the lowest score rounded down to a multiple of this (e.g. the step
    /// of a coarser table printed beside it).
    pub start_multiple: f64,
    /// Charts written, as paths.
    pub plots: Vec<String>,
}

/// One evaluation, flat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalSummary {
    /// The kind of linkage evaluated.
    pub linkage: Linkage,
    /// The truth file.
    pub truth: String,
    /// The match output.
    pub matches: String,
    /// Pairs in the truth.
    pub true_pairs: u64,
    /// Pairs in the match output.
    pub predicted_pairs: u64,
    /// Precision of the match output.
    pub precision: f64,
    /// Recall of the match output.
    pub recall: f64,
    /// F1 of the match output.
    pub f1: f64,
    /// True links.
    pub tp: u64,
    /// False links.
    pub fp: u64,
    /// Missed links.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// The beta of `f_beta`, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// F-beta, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f_beta: Option<f64>,
    /// The candidate set's comparison space, when the input sizes are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison_space: Option<u64>,
    /// Candidate pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<u64>,
    /// Share of true pairs among the candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair_completeness: Option<f64>,
    /// Share of the comparison space not compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reduction_ratio: Option<f64>,
    /// Share of candidates that are true pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs_quality: Option<f64>,
    /// The threshold sweep, when scores were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
    /// Charts written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plots: Vec<String>,
}

/// The threshold sweep of an [`EvalSummary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepSummary {
    /// Scored candidate pairs.
    pub scored_pairs: usize,
    /// Whether they were resolved one-to-one first.
    pub one_to_one: bool,
    /// The point of best F1, if any pair was scored.
    pub best_f1: Option<SweepPoint>,
    /// The point at the threshold in use, if one was given.
    pub at_threshold: Option<SweepPoint>,
    /// The sweep on its grid.
    pub points: Vec<SweepPoint>,
}

impl Scored {
    /// Where a sweep table on a grid of `step` starts: the lowest score, rounded down to a
    /// multiple of `step` (1 when no pair was scored).
    pub fn grid_start(&self, step: f64) -> f64 {
        let low = self.labelled.iter().map(|x| x.0).fold(1.0f64, f64::min);
        (low / step).floor() * step
    }
}

impl EvalReport {
    /// The flat summary (see [`SummaryOptions`]).
    pub fn summary(&self, opts: &SummaryOptions) -> EvalSummary {
        let m = &self.metrics;
        let b = self.blocking.as_ref();
        EvalSummary {
            linkage: self.linkage,
            truth: opts.truth.clone(),
            matches: opts.matches.clone(),
            true_pairs: self.true_pairs,
            predicted_pairs: self.predicted_pairs,
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            tp: m.tp,
            fp: m.fp,
            fn_: m.fn_,
            beta: opts.beta,
            f_beta: opts.beta.map(|beta| m.f_beta(beta)),
            comparison_space: b.map(|b| b.comparison_space),
            candidates: b.map(|b| b.candidates),
            pair_completeness: b.map(|b| b.pair_completeness),
            reduction_ratio: b.map(|b| b.reduction_ratio),
            pairs_quality: b.map(|b| b.pairs_quality),
            sweep: self.scored.as_ref().map(|s| SweepSummary {
                scored_pairs: s.labelled.len(),
                one_to_one: s.one_to_one,
                best_f1: s.sweep.best(1.0),
                at_threshold: opts.threshold.map(|t| s.sweep.at(t)),
                points: s.sweep.grid(s.grid_start(opts.start_multiple), opts.step),
            }),
            plots: opts.plots.clone(),
        }
    }
}
