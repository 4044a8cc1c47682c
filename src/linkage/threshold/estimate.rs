//! From a fitted mixture ([`Fit`]) to numbers: the estimated precision, recall and F1 of
//! every cut, the cut of maximum estimated F1 ([`best_cut`]), and the estimated quality of a
//! finished result, pair by pair ([`assess`]).

use super::model::Fit;

/// How candidates become links, which decides what a cut links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    /// Each record links at most one record of each other file (the one-to-one solvers and
    /// multi-party clustering): a cut links each record's best neighbour if it clears it.
    OneToOne,
    /// Every pair above the cut (one file, or no solver): a record may have several partners.
    Pairwise,
}

/// The estimated quality of one cut, or of a result.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// Estimated share of links that are true.
    pub precision: f64,
    /// Estimated share of true pairs that are linked.
    pub recall: f64,
    /// Their harmonic mean.
    pub f1: f64,
    /// Links (pairs of records).
    pub links: f64,
    /// Estimated true pairs among the links.
    pub true_links: f64,
    /// Estimated true pairs in all (linked or not).
    pub true_pairs: f64,
}

impl Estimate {
    /// The best a result of `links` pairs can be when `true_pairs` pairs are true: all of them
    /// linked.
    pub(crate) fn bound(links: f64, true_pairs: f64) -> Estimate {
        Estimate::new(links, true_pairs.min(links), true_pairs)
    }

    fn new(links: f64, true_links: f64, true_pairs: f64) -> Estimate {
        let precision = if links > 0.0 {
            (true_links / links).min(1.0)
        } else {
            1.0
        };
        let recall = if true_pairs > 0.0 {
            (true_links / true_pairs).min(1.0)
        } else {
            1.0
        };
        let f1 = if links + true_pairs > 0.0 {
            (2.0 * true_links / (links + true_pairs)).min(1.0)
        } else {
            0.0
        };
        Estimate {
            precision,
            recall,
            f1,
            links,
            true_links,
            true_pairs,
        }
    }
}

/// Estimated true pairs in all: the posterior mass of the list points, scaled to the
/// population; each pair is seen from both of its records (both sides, or both ends within
/// one file), hence the half. A list sees only the matches above its anchor: its mass is
/// divided by the match component's share above the anchor (at most doubled). For
/// one-to-one linkage a record counts at most once.
pub(crate) fn true_pairs(fit: &Fit, linkage: Linkage) -> f64 {
    let lists = fit.sides.iter().map(|s| s.lists as usize).sum();
    let mut per_list = vec![0.0; lists];
    let mut anchor = vec![0.0; lists];
    for (p, g) in &fit.points {
        per_list[p.list as usize] += g;
        anchor[p.list as usize] = p.anchor;
    }
    // A mutually best pair's posterior counts for its lists (two files, one-to-one).
    if linkage == Linkage::OneToOne {
        for &(l, p) in &fit.mutual.lists {
            per_list[l as usize] = per_list[l as usize].max(p);
        }
    }
    for (m, a) in per_list.iter_mut().zip(&anchor) {
        *m /= (1.0 - fit.match_below(*a)).max(0.5);
    }
    let mut total = 0.0;
    for side in &fit.sides {
        let lists = &per_list[side.first_list as usize..(side.first_list + side.lists) as usize];
        let mass: f64 = match linkage {
            Linkage::OneToOne => lists.iter().map(|m| m.min(1.0)).sum(),
            Linkage::Pairwise => lists.iter().sum(),
        };
        total += mass * side.scale;
    }
    total / 2.0
}

/// The cut of maximum estimated F1 (ties: the higher cut), no lower than `floor`, with its
/// estimate. The value lies midway between the list scores on either side of it.
pub(crate) fn best_cut(fit: &Fit, linkage: Linkage, floor: f64) -> (f64, Estimate) {
    let total = true_pairs(fit, linkage);
    // (score, scaled link, scaled posterior) of every point that a cut can link.
    let side_of = |list: u32| {
        fit.sides
            .iter()
            .find(|s| list >= s.first_list && list < s.first_list + s.lists)
            .expect("every list belongs to a side")
    };
    let mut items: Vec<(f64, f64, f64)> = fit
        .points
        .iter()
        .filter(|(p, _)| linkage == Linkage::Pairwise || p.rank == 0)
        .map(|(p, g)| {
            let scale = side_of(p.list).scale / 2.0;
            (p.score, scale, g * scale)
        })
        .collect();
    items.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
    let (mut links, mut tp) = (0.0, 0.0);
    let mut best: Option<(f64, Estimate)> = None;
    let mut i = 0;
    while i < items.len() {
        let s = items[i].0;
        if s < floor {
            break;
        }
        while i < items.len() && items[i].0 == s {
            links += items[i].1;
            tp += items[i].2;
            i += 1;
        }
        let e = Estimate::new(links, tp, total);
        if best.as_ref().is_none_or(|b| e.f1 > b.1.f1) {
            let below = items.get(i).map_or(floor, |x| x.0.max(floor));
            best = Some(((s + below) / 2.0, e));
        }
    }
    best.unwrap_or((1.0, Estimate::new(0.0, 0.0, total)))
}

/// The estimated quality of a result from its pairs: each pair `(side, a, b, score)` counts
/// with its posterior probability of being a match, `side` being the side on which `a` was
/// scanned against `b`'s file and `mirror` the side of `b` against `a`'s file (the same side
/// within one file).
pub(crate) fn assess(
    fit: &Fit,
    linkage: Linkage,
    pairs: impl Iterator<Item = (usize, usize, u32, u32, f64)>,
) -> Estimate {
    let (mut links, mut tp) = (0.0, 0.0);
    for (side, mirror, a, b, score) in pairs {
        let anchor = 0.5 * (fit.anchor(side, a) + fit.anchor(mirror, b));
        links += 1.0;
        tp += match (side, mirror) {
            (0, 1) => fit.pair_posterior(a, b, score, anchor),
            (1, 0) => fit.pair_posterior(b, a, score, anchor),
            _ => fit.posterior(score, anchor),
        };
    }
    Estimate::new(links, tp, true_pairs(fit, linkage))
}

/// The cuts worth trying for a result-level choice: at most `CUTS` values between the list
/// scores at or above `floor` and the median anchor, evenly spaced by rank, each midway
/// between two neighbouring distinct scores; descending.
pub(crate) fn cuts(fit: &Fit, floor: f64) -> Vec<f64> {
    const CUTS: usize = 160;
    let low = fit.median_anchor.max(floor);
    let mut scores: Vec<f64> = fit
        .points
        .iter()
        .map(|(p, _)| p.score)
        .filter(|&s| s >= low)
        .collect();
    scores.sort_unstable_by(|x, y| y.total_cmp(x));
    scores.dedup();
    if scores.len() < 2 {
        return scores;
    }
    let step = (scores.len() - 1) as f64 / CUTS.min(scores.len() - 1) as f64;
    let mut out: Vec<f64> = (1..=CUTS.min(scores.len() - 1))
        .map(|i| {
            let k = ((i as f64 * step).round() as usize).clamp(1, scores.len() - 1);
            (scores[k - 1] + scores[k]) / 2.0
        })
        .collect();
    out.dedup();
    out
}

/// The cut of maximum estimated F1 of the result that `evaluate` predicts for it (ties: the
/// higher cut), among [`cuts`].
pub(crate) fn best_result_cut(
    fit: &Fit,
    floor: f64,
    evaluate: &dyn Fn(f64) -> Estimate,
) -> Option<(f64, Estimate)> {
    let mut best: Option<(f64, Estimate)> = None;
    for t in cuts(fit, floor) {
        let e = evaluate(t);
        if best.as_ref().is_none_or(|b| e.f1 > b.1.f1) {
            best = Some((t, e));
        }
    }
    best
}
