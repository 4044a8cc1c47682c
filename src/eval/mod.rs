//! Evaluation: how good a linkage is, measured against ground truth.
//!
//! Linkage quality is reported as precision and recall side by side, with F1 only as a
//! summary: F alone hides which of the two errors a linkage makes, and its weighting of them
//! depends on the linkage itself (Hand & Christen 2018).
//!
//! [`synth`] makes the data to measure on: synthetic parties' exports with known truth.

pub mod experiment;
pub mod scale;
pub mod synth;

use std::collections::HashSet;

/// Pairwise quality of a set of predicted links against the true links.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairMetrics {
    /// Predicted links that are true.
    pub tp: u64,
    /// Predicted links that are false.
    pub fp: u64,
    /// True links that were missed.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// `tp / (tp + fp)`; 1 when nothing was predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`; 1 when there is nothing to find.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl PairMetrics {
    /// Compares predicted pairs with true pairs. Pairs are ordered (`(a, b)` with `a` from the
    /// first file); duplicates count once.
    pub fn from_pairs<'a>(
        truth: impl IntoIterator<Item = (&'a str, &'a str)>,
        predicted: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> PairMetrics {
        let truth: HashSet<(&str, &str)> = truth.into_iter().collect();
        let predicted: HashSet<(&str, &str)> = predicted.into_iter().collect();
        let tp = predicted.intersection(&truth).count() as u64;
        let fp = predicted.len() as u64 - tp;
        let fn_ = truth.len() as u64 - tp;
        PairMetrics::from_counts(tp, fp, fn_)
    }

    /// The metrics of given counts.
    pub fn from_counts(tp: u64, fp: u64, fn_: u64) -> PairMetrics {
        let ratio = |num: u64, den: u64| {
            if den == 0 {
                1.0
            } else {
                num as f64 / den as f64
            }
        };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        PairMetrics {
            tp,
            fp,
            fn_,
            precision,
            recall,
            f1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let truth = [("a1", "b1"), ("a2", "b2"), ("a3", "b3"), ("a4", "b4")];
        let predicted = [("a1", "b1"), ("a2", "b2"), ("a3", "b9"), ("a1", "b1")];
        let m = PairMetrics::from_pairs(truth, predicted);
        assert_eq!((m.tp, m.fp, m.fn_), (2, 1, 2));
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        assert!((m.f1 - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn empty_sets() {
        let none: [(&str, &str); 0] = [];
        let m = PairMetrics::from_pairs(none, none);
        assert_eq!((m.precision, m.recall), (1.0, 1.0));
        let m = PairMetrics::from_pairs([("a", "b")], none);
        assert_eq!((m.precision, m.recall, m.f1), (1.0, 0.0, 0.0));
    }
}
