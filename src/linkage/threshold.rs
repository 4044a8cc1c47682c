//! Choosing the similarity threshold without ground truth (`pprl match --threshold auto`).
//!
//! Encodings in (through [`side_neighbours`]: each side's sampled records with their `k` most
//! similar records of the other file, or of their own file for deduplication); an
//! [`AutoThreshold`] out: the value, a confidence, and the estimated precision, recall and F1
//! of the cut; after the match, the estimated quality of the written result
//! ([`AutoChoice::estimated_result`]).
//!
//! # The model
//!
//! A record's `k` nearest neighbours (default 12) hold its true partners, if it has any, and
//! otherwise its most similar strangers. The `k`-th neighbour is almost surely a stranger
//! (a record would need `k - 1` duplicates above it): it is the record's **anchor**, a pair
//! known to be a non-match that locates the record's own non-match tail (records of unusual
//! fill see strangers at other scores). Above the anchor the scores of strangers are the top
//! order statistics of many draws, and in the Gumbel domain of attraction their excesses over
//! the anchor are independent exponentials of one scale `sigma` (peaks over threshold).
//! `sigma` starts from the ranks `k/2..k` of every list, which in practice hold strangers
//! only: the median spread between rank `k/2` and rank `k`, divided by the median of that
//! spread for a unit exponential tail (Rényi's representation of order statistics).
//!
//! With the non-match component so anchored per record, a two-component mixture is fitted by
//! EM to the neighbour scores above the anchors: non-match density `exp(-(s - anchor)/sigma) /
//! sigma`, match density a mixture of two Betas (lightly and heavily corrupted matches),
//! mixed in a share `pi`. EM starts from the scores the starting tail can hardly explain
//! (fewer than 1% of a list's strangers expected that high) as matches, and re-estimates
//! `sigma` in each round as the non-match-weighted mean excess over the anchors (its maximum
//! likelihood estimate).
//! Each score then has a posterior probability of being a match, and for every cut `t`:
//!
//! * links `L(t)`: one-to-one linkage ([`Linkage::OneToOne`]: two or more files with a
//!   one-to-one solver or multi-party clustering) links each record's best neighbour;
//!   pairwise linkage ([`Linkage::Pairwise`]: one file, or no solver) every neighbour above
//!   `t`;
//! * true links `TP(t)`: the posterior mass of those links;
//! * true pairs `M`: the posterior mass of all list points, each divided by the match
//!   component's share above its list's anchor (matches below the anchor are not seen);
//!
//! all scaled from the sample to the population, and `F1(t) = 2 TP / (L + M)`.
//!
//! With two files, a pair that is each record's best neighbour in the other file (mutually
//! best) is assessed with its own prior: the share of matches among mutually best pairs,
//! fitted by EM with the mixture's densities held fixed (the stranger density being that of
//! the best of a list's `k - 1` strangers). One-to-one solvers link such pairs first, and when
//! most records of a file have a match, strangers are rarely mutually best: the per-score
//! prior would call their low-scoring matches strangers. The cut of
//! maximum estimated F1 is the threshold. After the match, every pair of the result (the
//! links, or every two records of a cluster) counts with its posterior probability: that is
//! the estimated precision, recall and F1 that the summary shows.
//!
//! # Confidence, and when it refuses
//!
//! The confidence is the estimated F1 of the chosen cut. When fewer than [`MIN_LISTS`]
//! records have full lists, when no score lies clearly above the non-match tails, when fewer
//! than 3 true pairs are estimated, when the match component does not lie at least
//! [`MIN_SEPARATION`] tail scales above the typical anchor, or when the confidence is below
//! [`MIN_CONFIDENCE`], the scores show no separable match mode: [`choose`] then uses the
//! fallback threshold if one was given ([`Method::Fallback`]) and fails with
//! [`MatchError::NoMatchMode`] otherwise. The matcher holds the result-level cut that
//! refines the choice (the solver's or clustering's links assessed pair by pair) to the same
//! test.
//!
//! Two unrelated populations are the case this must catch: a few strangers' scores in the
//! tails look like a small match group. Over 150 secrets (`examples/person.toml`, two
//! unrelated 600-record synthetic files), such a group lay 6.0-8.7 tail scales above the
//! anchors with a refined confidence up to 0.69 and 1-12 estimated true pairs; on the FEBRL
//! sets and on synthetic linkage the match component lies 17-22 tail scales above, with a
//! confidence of 0.95-0.99. Before the separation floor was raised from 5 to 10 and the
//! refined cut was tested, 2 of those 150 secrets linked strangers (refined confidence
//! 0.43-0.46).
//!
//! # Assumptions and failure modes
//!
//! * Strangers' scores have an exponential upper tail over a record's anchor with one scale
//!   for all records. Real tails are slightly lighter just above the anchor and heavier far
//!   out (on FEBRL: 20% more strangers predicted 0.04 above the anchors, up to half fewer
//!   0.15 above); a stranger population with a much heavier tail (families at one address,
//!   twins, a common name dominating) makes the estimated precision optimistic.
//! * Groups of `k` or more records of one person push true partners to the anchor: the tail
//!   scale is then overestimated and the threshold placed too high. Raise `k`
//!   ([`AutoOptions::neighbours`]) for such data.
//! * Matches whose score falls below their record's anchor are invisible but for the Beta
//!   tail's estimate of them; heavily corrupted data whose matches overlap the strangers
//!   broadly makes the estimated recall optimistic.
//! * The sample (default: at most 10,000 records per side, evenly spaced) must hold enough
//!   matches: with a handful of true pairs in a million records the fit refuses.
//!
//! Measured on the FEBRL sets, and the method for them: `docs/threshold.md`.

use self::estimate::best_cut;
use self::model::NoFit;
use super::error::MatchError;

pub(crate) use self::auto::side_index;
pub(crate) use self::estimate::{assess, best_result_cut, true_pairs as true_pairs_estimate};
pub(crate) use self::model::Fit;
pub use self::neighbours::pair_score;

pub use self::estimate::{Estimate, Linkage};
pub use self::model::MIN_LISTS;
pub use self::neighbours::{Neighbours, SideNeighbours};

/// The lowest confidence (estimated F1 of the chosen cut) at which a threshold is chosen.
pub const MIN_CONFIDENCE: f64 = 0.5;
/// The match component's mean must lie this many tail scales above the median anchor.
///
/// Measured with `examples/person.toml`: two unrelated 600-record populations (synth seeds
/// 21 and 22) under 150 secrets give 6.0-8.7 (a few tail outliers taken for a match
/// group); the FEBRL sets and synthetic linkage and deduplication give 17-22.
pub const MIN_SEPARATION: f64 = 10.0;
/// Fewest estimated true pairs for a match group.
const MIN_TRUE_PAIRS: f64 = 3.0;

/// Why a fitted mixture shows no separable match mode at a cut of estimate `e`, if it does
/// not (see the module docs): too few true pairs, a match component too close to the
/// non-match tails, or a low confidence. [`choose`] asks before the result-level refinement
/// and the matcher again after it, with the refined estimate.
pub(crate) fn refusal(fit: &Fit, e: &Estimate) -> Option<String> {
    let separation = (fit.match_mean() - fit.median_anchor) / fit.sigma;
    if e.true_pairs < MIN_TRUE_PAIRS {
        Some(format!("about {:.1} true pairs estimated", e.true_pairs))
    } else if separation < MIN_SEPARATION {
        Some(format!(
            "the match scores average only {separation:.1} tail scales above the non-matches"
        ))
    } else if e.f1 < MIN_CONFIDENCE {
        Some(format!("the best cut's estimated F1 is only {:.3}", e.f1))
    } else {
        None
    }
}

/// How the threshold was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Maximum estimated F1 under the fitted mixture (see the module docs).
    Mixture,
    /// The scores showed no separable match mode; the fallback threshold given was used.
    Fallback,
}

impl Method {
    /// The method's name in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Mixture => "mixture",
            Method::Fallback => "fallback",
        }
    }
}

/// A threshold chosen from the scores alone, with what it was based on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AutoThreshold {
    /// The threshold: link pairs with similarity at least this.
    pub value: f64,
    /// How it was found.
    pub method: Method,
    /// What a cut links: each record's best neighbour, or every pair above it.
    pub linkage: Linkage,
    /// Whether the scores show a match group separable from the non-matches.
    pub separable: bool,
    /// The estimated F1 of the chosen cut (0 when nothing could be fitted).
    pub confidence: f64,
    /// Why the scores were not separable, if they were not.
    pub reason: Option<String>,
    /// Estimated precision, recall and F1 of the cut, before solving (`None` when nothing
    /// could be fitted).
    pub estimated: Option<Estimate>,
    /// Scale of the non-match tails above the anchors.
    pub non_match_scale: f64,
    /// Median anchor (score of the records' `k`-th neighbours): where non-matches end.
    pub non_match_anchor: f64,
    /// Mean score of the match component.
    pub match_mean: f64,
    /// Share of neighbour scores that are matches.
    pub match_share: f64,
    /// Records whose neighbours were scanned, over all sides.
    pub records_scored: u64,
    /// Neighbours kept per record.
    pub neighbours: usize,
}

impl AutoThreshold {
    /// One sentence on why this value: for summaries.
    pub fn explanation(&self) -> String {
        let fitted = match &self.estimated {
            Some(e) => format!(
                "estimated precision {:.3}, recall {:.3}, F1 {:.3} of the cut, about {:.0} true \
                 pairs; non-match tails end near {:.3} (scale {:.4}), matches average {:.3}; \
                 {} records' {} nearest neighbours scored",
                e.precision,
                e.recall,
                e.f1,
                e.true_pairs,
                self.non_match_anchor,
                self.non_match_scale,
                self.match_mean,
                self.records_scored,
                self.neighbours,
            ),
            None => format!("{} records scored", self.records_scored),
        };
        match self.method {
            Method::Mixture => format!("maximum estimated F1 ({fitted})"),
            Method::Fallback => format!(
                "the fallback threshold: {} ({fitted})",
                self.reason.as_deref().unwrap_or("no separable match mode")
            ),
        }
    }
}

/// Chooses a threshold from the sides' neighbour lists (see the module docs), no lower than
/// `floor`; without a separable match mode, `fallback` if given, else
/// [`MatchError::NoMatchMode`].
pub fn choose(
    sides: &[SideNeighbours],
    linkage: Linkage,
    floor: f64,
    fallback: Option<f64>,
) -> Result<AutoThreshold, MatchError> {
    choose_fitted(sides, linkage, floor, fallback).map(|(t, _)| t)
}

/// [`choose`], with the fitted model for assessing the result.
pub(crate) fn choose_fitted(
    sides: &[SideNeighbours],
    linkage: Linkage,
    floor: f64,
    fallback: Option<f64>,
) -> Result<(AutoThreshold, Option<Fit>), MatchError> {
    let records_scored = sides.iter().map(|s| s.records.len() as u64).sum();
    let neighbours = sides.iter().map(|s| s.k).max().unwrap_or(0);
    let mut chosen = AutoThreshold {
        value: f64::NAN,
        method: Method::Mixture,
        linkage,
        separable: false,
        confidence: 0.0,
        reason: None,
        estimated: None,
        non_match_scale: f64::NAN,
        non_match_anchor: f64::NAN,
        match_mean: f64::NAN,
        match_share: 0.0,
        records_scored,
        neighbours,
    };
    let fit = match model::fit(sides) {
        Ok(fit) => {
            let (value, e) = best_cut(&fit, linkage, floor);
            chosen.value = value;
            chosen.confidence = e.f1;
            chosen.estimated = Some(e);
            chosen.non_match_scale = fit.sigma;
            chosen.non_match_anchor = fit.median_anchor;
            chosen.match_mean = fit.match_mean();
            chosen.match_share = fit.pi;
            chosen.reason = refusal(&fit, &e);
            Some(fit)
        }
        Err(NoFit::TooFewLists) => {
            chosen.reason = Some(format!(
                "fewer than {MIN_LISTS} records have {neighbours} neighbours above the scan's floor"
            ));
            None
        }
        Err(NoFit::NoMatchMode) => {
            chosen.reason = Some("no score lies clearly above the non-match tails".into());
            None
        }
    };
    chosen.settle(fallback)?;
    Ok((chosen, fit))
}

impl AutoThreshold {
    /// Settles a choice by its [`AutoThreshold::reason`]: none, and it stands (separable);
    /// else the fallback threshold if one was given ([`Method::Fallback`]), else
    /// [`MatchError::NoMatchMode`].
    pub(crate) fn settle(&mut self, fallback: Option<f64>) -> Result<(), MatchError> {
        self.separable = self.reason.is_none();
        if self.separable {
            return Ok(());
        }
        match fallback {
            Some(v) => {
                self.value = v;
                self.method = Method::Fallback;
                Ok(())
            }
            None => Err(MatchError::NoMatchMode {
                reason: self.reason.clone().unwrap_or_default(),
            }),
        }
    }
}

mod auto;
mod estimate;
mod model;
pub mod neighbours;

pub use self::auto::{AutoChoice, AutoMatch, AutoOptions, auto_match, side_neighbours};

#[cfg(test)]
mod febrl;
#[cfg(test)]
mod tests;
