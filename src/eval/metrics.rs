//! Linkage quality as numbers: pairwise precision, recall and F, threshold sweeps, and the
//! reduction ratio and pair completeness of candidate sets.
//!
//! Everything here counts *pairs of records*. A link file's pairs are compared with the true
//! pairs; clusters are first turned into pairs ([`crate::eval::truth`] says how).
//!
//! Precision and recall are always reported side by side. F1 (or F-beta) is a convenient single
//! number for choosing a threshold, but on its own it hides which error a linkage makes, and its
//! implicit weighting of the two errors depends on the linkage being measured, so F values of
//! different linkages are not comparable (Hand & Christen 2018, "A note on using the F-measure
//! for evaluating record linkage algorithms", Statistics and Computing 28).

use std::collections::HashSet;
use std::hash::Hash;

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
    pub fn from_pairs<T: Eq + Hash>(
        truth: impl IntoIterator<Item = T>,
        predicted: impl IntoIterator<Item = T>,
    ) -> PairMetrics {
        let truth: HashSet<T> = truth.into_iter().collect();
        let predicted: HashSet<T> = predicted.into_iter().collect();
        let tp = predicted.intersection(&truth).count() as u64;
        let fp = predicted.len() as u64 - tp;
        let fn_ = truth.len() as u64 - tp;
        PairMetrics::from_counts(tp, fp, fn_)
    }

    /// The metrics of given counts.
    pub fn from_counts(tp: u64, fp: u64, fn_: u64) -> PairMetrics {
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        PairMetrics {
            tp,
            fp,
            fn_,
            precision,
            recall,
            f1: f_beta(precision, recall, 1.0),
        }
    }

    /// The weighted harmonic mean of precision and recall, with recall counted `beta` times as
    /// important as precision (see [`f_beta`]).
    pub fn f_beta(&self, beta: f64) -> f64 {
        f_beta(self.precision, self.recall, beta)
    }
}

/// `num / den`, and 1 when `den` is 0 (nothing predicted is perfectly precise; nothing to find
/// is perfectly recalled).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// F-beta: `(1 + b²) p r / (b² p + r)`, recall weighted `beta` times as much as precision.
/// `beta = 1` is F1; `beta = 2` favours recall (a missed link costs more than a false one, as
/// when links feed a follow-up clerical review); `beta = 0.5` favours precision. 0 when both
/// are 0.
pub fn f_beta(precision: f64, recall: f64, beta: f64) -> f64 {
    let b2 = beta * beta;
    let den = b2 * precision + recall;
    if den <= 0.0 {
        0.0
    } else {
        (1.0 + b2) * precision * recall / den
    }
}

/// One threshold of a [`Sweep`]: the links are the scored pairs with `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SweepPoint {
    /// The threshold.
    pub threshold: f64,
    /// The counts and rates of the pairs at or above it.
    #[serde(flatten)]
    pub metrics: PairMetrics,
}

/// Precision, recall and F1 at every threshold: what keeping only the scored pairs at or above
/// `t` would give, for every `t` where that changes.
///
/// The points are the pairs' distinct scores, from the highest down, so the sweep is exact (not
/// sampled on a grid) and also is the precision-recall curve. Building it sorts the scores once:
/// `O(n log n)` for `n` scored pairs.
///
/// A sweep over the output of the greedy solver at a low threshold is exactly the greedy
/// solver's result at every higher threshold: greedy takes pairs by descending score, so the
/// links it makes above `t` never depend on pairs below `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// One point per distinct score, by descending threshold.
    points: Vec<SweepPoint>,
    true_pairs: u64,
}

impl Sweep {
    /// The sweep of scored pairs, each `(score, is a true pair)`, against `true_pairs` true pairs
    /// in all (including those that have no score, which are missed at every threshold).
    /// Scores that are not numbers are ignored.
    pub fn new(scored: impl IntoIterator<Item = (f64, bool)>, true_pairs: u64) -> Sweep {
        let mut scored: Vec<(f64, bool)> = scored.into_iter().filter(|s| !s.0.is_nan()).collect();
        scored.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut points = Vec::new();
        for group in scored.chunk_by(|x, y| x.0 == y.0) {
            let t = group.iter().filter(|s| s.1).count() as u64;
            tp += t;
            fp += group.len() as u64 - t;
            points.push(SweepPoint {
                threshold: group[0].0,
                metrics: PairMetrics::from_counts(tp, fp, true_pairs.saturating_sub(tp)),
            });
        }
        Sweep { points, true_pairs }
    }

    /// Every point, by descending threshold.
    pub fn points(&self) -> &[SweepPoint] {
        &self.points
    }

    /// The number of true pairs the sweep was measured against.
    pub fn true_pairs(&self) -> u64 {
        self.true_pairs
    }

    /// The metrics of keeping the pairs with `score >= threshold`.
    pub fn at(&self, threshold: f64) -> SweepPoint {
        let n = self.points.partition_point(|p| p.threshold >= threshold);
        let metrics = match n {
            0 => PairMetrics::from_counts(0, 0, self.true_pairs),
            n => self.points[n - 1].metrics,
        };
        SweepPoint { threshold, metrics }
    }

    /// The point of highest F-beta (`beta = 1` for F1); among equals, the highest threshold
    /// (the fewest links). `None` when there is no scored pair.
    pub fn best(&self, beta: f64) -> Option<SweepPoint> {
        self.points
            .iter()
            .copied()
            .fold(None, |best, p| match best {
                Some(b) if b.metrics.f_beta(beta) >= p.metrics.f_beta(beta) => Some(b),
                _ => Some(p),
            })
    }

    /// The sweep at `threshold = lo, lo + step, ...` up to 1, for tables.
    pub fn grid(&self, lo: f64, step: f64) -> Vec<SweepPoint> {
        let steps = ((1.0 - lo) / step + 1e-9).floor().max(0.0) as usize;
        (0..=steps)
            .map(|i| {
                // Rounded to the step's decimals so 0.7000000001 prints and compares as 0.7.
                let t = ((lo + i as f64 * step) * 1e6).round() / 1e6;
                self.at(t)
            })
            .collect()
    }
}

/// How well a candidate set (the output of blocking or of candidate generation) keeps the true
/// pairs while cutting down the comparisons.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BlockingMetrics {
    /// Pairs a comparison of everything with everything would score.
    pub comparison_space: u64,
    /// Pairs in the candidate set.
    pub candidates: u64,
    /// True pairs in all.
    pub true_pairs: u64,
    /// True pairs in the candidate set.
    pub true_candidates: u64,
    /// `true_candidates / true_pairs`: the share of true pairs the candidate set keeps, an
    /// upper bound on the recall of any linkage built on it. 1 when there are no true pairs.
    pub pair_completeness: f64,
    /// `1 - candidates / comparison_space`: the share of comparisons saved.
    pub reduction_ratio: f64,
    /// `true_candidates / candidates`: the share of candidates that are true (pairs quality).
    pub pairs_quality: f64,
}

impl BlockingMetrics {
    /// The metrics of a candidate set of `candidates` pairs, `true_candidates` of them true, in
    /// a comparison space of `comparison_space` pairs holding `true_pairs` true pairs.
    pub fn new(
        comparison_space: u64,
        candidates: u64,
        true_pairs: u64,
        true_candidates: u64,
    ) -> BlockingMetrics {
        let reduction_ratio = if comparison_space == 0 {
            0.0
        } else {
            // Never below 0: a candidate set cannot be larger than the space it is drawn from
            // (the report checks the sizes), but the metric must not mislead if it were.
            (1.0 - candidates as f64 / comparison_space as f64).max(0.0)
        };
        BlockingMetrics {
            comparison_space,
            candidates,
            true_pairs,
            true_candidates,
            pair_completeness: ratio(true_candidates, true_pairs),
            reduction_ratio,
            pairs_quality: ratio(true_candidates, candidates),
        }
    }
}

/// The number of record pairs linkage could compare: `n0 * n1` for two files, the sum of
/// `ni * nj` over every two files for more, and `n (n - 1) / 2` for one file (deduplication).
pub fn comparison_space(records: &[u64]) -> u64 {
    match records {
        [n] => {
            (u128::from(*n) * u128::from(n.saturating_sub(1)) / 2).min(u128::from(u64::MAX)) as u64
        }
        _ => {
            let mut total = 0u64;
            for (i, &a) in records.iter().enumerate() {
                for &b in &records[i + 1..] {
                    total = total.saturating_add(a.saturating_mul(b));
                }
            }
            total
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed() {
        let truth = [("a1", "b1"), ("a2", "b2"), ("a3", "b3"), ("a4", "b4")];
        let predicted = [("a1", "b1"), ("a2", "b2"), ("a3", "b9"), ("a1", "b1")];
        let m = PairMetrics::from_pairs(truth, predicted);
        assert_eq!((m.tp, m.fp, m.fn_), (2, 1, 2));
        assert!(close(m.precision, 2.0 / 3.0));
        assert!(close(m.recall, 0.5));
        assert!(close(m.f1, 4.0 / 7.0));
        // F2 = 5 p r / (4 p + r) = 5 (2/3)(1/2) / (8/3 + 1/2) = (5/3) / (19/6) = 10/19.
        assert!(close(m.f_beta(2.0), 10.0 / 19.0));
        // F0.5 = 1.25 p r / (0.25 p + r) = (5/12) / (2/3) = 5/8.
        assert!(close(m.f_beta(0.5), 5.0 / 8.0));
        assert!(close(m.f_beta(1.0), m.f1));
    }

    #[test]
    fn empty_sets() {
        let none: [(&str, &str); 0] = [];
        let m = PairMetrics::from_pairs(none, none);
        assert_eq!((m.precision, m.recall), (1.0, 1.0));
        let m = PairMetrics::from_pairs([("a", "b")], none);
        assert_eq!((m.precision, m.recall, m.f1), (1.0, 0.0, 0.0));
        assert_eq!(f_beta(0.0, 0.0, 2.0), 0.0);
    }

    #[test]
    fn sweep_by_hand() {
        // Scores 0.9 (true), 0.8 (false), 0.8 (true), 0.6 (true); 5 true pairs in all.
        let sweep = Sweep::new([(0.9, true), (0.8, false), (0.6, true), (0.8, true)], 5);
        let p = sweep.points();
        assert_eq!(p.len(), 3);
        assert_eq!(
            p.iter().map(|p| p.threshold).collect::<Vec<_>>(),
            [0.9, 0.8, 0.6]
        );
        let counts = |p: &SweepPoint| (p.metrics.tp, p.metrics.fp, p.metrics.fn_);
        assert_eq!(counts(&p[0]), (1, 0, 4));
        assert_eq!(counts(&p[1]), (2, 1, 3));
        assert_eq!(counts(&p[2]), (3, 1, 2));
        assert_eq!(counts(&sweep.at(0.95)), (0, 0, 5));
        assert_eq!(counts(&sweep.at(0.85)), (1, 0, 4));
        assert_eq!(counts(&sweep.at(0.8)), (2, 1, 3));
        assert_eq!(counts(&sweep.at(0.0)), (3, 1, 2));
        // F1: 2/6, 4/8, 6/9: the lowest threshold is best.
        let best = sweep.best(1.0).unwrap();
        assert_eq!(best.threshold, 0.6);
        assert!(close(best.metrics.f1, 2.0 / 3.0));
        // F0.5 at 0.9: 1.25 * 1 * 0.2 / (0.25 + 0.2) = 5/9; at 0.6: 1.25 * .75 * .6 / (.1875 + .6) = 5/7.
        assert_eq!(sweep.best(0.5).unwrap().threshold, 0.6);
        assert!(Sweep::new([], 3).best(1.0).is_none());
    }

    #[test]
    fn sweep_ties_prefer_the_higher_threshold() {
        // At 0.9: tp 1, fp 0, fn 1 -> F1 2/3; at 0.5: tp 2, fp 2, fn 0 -> F1 2/3.
        let sweep = Sweep::new([(0.9, true), (0.5, true), (0.5, false), (0.5, false)], 2);
        assert_eq!(sweep.best(1.0).unwrap().threshold, 0.9);
    }

    #[test]
    fn sweep_grid_is_rounded() {
        let sweep = Sweep::new([(0.75, true)], 1);
        let grid = sweep.grid(0.5, 0.1);
        let ts: Vec<f64> = grid.iter().map(|p| p.threshold).collect();
        assert_eq!(ts, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
        assert_eq!(grid[2].metrics.tp, 1);
        assert_eq!(grid[3].metrics.tp, 0);
    }

    #[test]
    fn blocking_by_hand() {
        assert_eq!(comparison_space(&[500, 402]), 201_000);
        assert_eq!(comparison_space(&[10]), 45);
        assert_eq!(comparison_space(&[2, 3, 4]), 6 + 8 + 12);
        let b = BlockingMetrics::new(201_000, 2_010, 300, 297);
        assert!(close(b.reduction_ratio, 0.99));
        assert!(close(b.pair_completeness, 0.99));
        assert!(close(b.pairs_quality, 297.0 / 2010.0));
    }

    proptest::proptest! {
        /// Precision falls and recall never falls as the threshold drops, and every point's
        /// counts agree with a direct count.
        #[test]
        fn sweep_matches_direct_count(
            scored in proptest::collection::vec((0u8..20, proptest::bool::ANY), 0..60),
            extra in 0u64..5,
        ) {
            let scored: Vec<(f64, bool)> =
                scored.into_iter().map(|(s, t)| (f64::from(s) / 20.0, t)).collect();
            let true_pairs = scored.iter().filter(|s| s.1).count() as u64 + extra;
            let sweep = Sweep::new(scored.iter().copied(), true_pairs);
            let mut last_recall = 0.0;
            for p in sweep.points() {
                let tp = scored.iter().filter(|s| s.0 >= p.threshold && s.1).count() as u64;
                let fp = scored.iter().filter(|s| s.0 >= p.threshold && !s.1).count() as u64;
                proptest::prop_assert_eq!((p.metrics.tp, p.metrics.fp), (tp, fp));
                proptest::prop_assert_eq!(p.metrics.fn_, true_pairs - tp);
                proptest::prop_assert!(p.metrics.recall >= last_recall);
                last_recall = p.metrics.recall;
            }
        }
    }
}
