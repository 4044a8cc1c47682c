//! Choosing the similarity threshold without ground truth (`pprl match --threshold auto`).
//!
//! # The idea
//!
//! Take each record's best similarity to the other file. A record that has a true match there
//! usually finds it, and scores high; a record without one scores only as high as its most
//! similar stranger. The best scores are therefore a mixture of two groups, and a good
//! threshold separates them. What makes this hard is the part where they overlap, and that is
//! exactly where the shape of each group matters: a two-Gaussian fit or a histogram valley
//! places the threshold by the bulk of the groups, not by their tails.
//!
//! The tail of the non-match group can be *observed*, though. For a record that does have a
//! match, its **second-best** score is the best of the other file's records that are not its
//! match: a draw from the same distribution as a non-matched record's best score (the best of
//! `n - 1` strangers instead of `n`). This is the target-decoy idea of proteomics (Elias & Gygi
//! 2007) applied to linkage. So, per side (each file scanned against each other file):
//!
//! 1. Records whose best score is above a *confident* cut are taken as matched; their
//!    second-best scores ("decoys") estimate the non-match distribution `U`. The confident cut
//!    starts at the median best score above Otsu's split, then moves to the lowest cut whose
//!    estimated share of false links is at most 1%: non-matched records above it
//!    would bring their *second* strangers' scores, biasing `U` low.
//! 2. `U`'s far tail, beyond the 50th highest decoy, is an exponential fitted to
//!    those top decoys (peaks over threshold), not a count of the few decoys out there.
//! 3. The number of non-matched records `n_u` comes from the low end, where nearly every
//!    record is non-matched: `n_u = #{best <= q} / U(q)` with `q` the 90th percentile of the
//!    decoys.
//! 4. For every cut `t`: expected false links `FP(t) = n_u * P_U(score >= t)`, links
//!    `L(t) = #{best >= t}`, true links `TP(t) = L(t) - FP(t)`, matched records
//!    `M = n - n_u`, and the estimated
//!    `F1(t) = 2 TP / (L + M)`, each summed over the sides.
//! 5. The cut of maximum estimated F1 is the threshold. Steps 1-4 repeat until the confident
//!    cut stops moving (a few rounds).
//!
//! The chosen value lies midway between the best scores on either side of the maximum, so the
//! same links result whether the sample or the whole file is matched.
//!
//! Maximising F1 balances false links against missed ones. The F1-optimal cut is where the
//! estimated density of matches falls to about that of non-matches (for calibrated scores,
//! at posterior probability F1*/2: Lipton, Elkan & Naryanaswamy 2014), which is what step 4
//! finds without assuming any shape for either group. User-facing description and measured
//! quality: `docs/threshold.md`.
//!
//! # Limits
//!
//! * It assumes records with and without a match see strangers alike (the same population).
//! * In deduplication, a record with two or more duplicates has a match as its second-best
//!   score too; large duplicate clusters make `U` look heavier and the threshold higher.
//! * With almost no matches there is no match group to find; the estimate then reports a low
//!   estimated F1 and few estimated matches, which the caller should show.
//! * When too few records clear the confident cut to estimate `U`, it falls back to
//!   Otsu's threshold and says so ([`Method::Otsu`]).

use super::candidates::TopTwo;
use super::error::MatchError;

/// At least this many records with a score are needed to choose anything.
const MIN_RECORDS: usize = 10;
/// At least this many confidently matched records per side are needed to estimate `U`.
const MIN_DECOYS: usize = 5;
/// The decoy tail beyond the `TAIL_DECOYS`-th highest decoy is fitted, not counted.
const TAIL_DECOYS: usize = 50;
/// Refinement rounds at most.
const MAX_ROUNDS: u32 = 10;
/// The decoys come from records above the lowest cut whose estimated share of false links is
/// at most this: few enough non-matched records to leave the decoys unbiased.
const MAX_FDR: f64 = 0.01;

/// The scores of one side: one file's records scanned against another file (or against
/// itself, for deduplication).
#[derive(Debug, Clone, PartialEq)]
pub struct SideScores {
    /// Records on this side in all; the scanned sample is scaled up to it.
    pub population: u64,
    /// The two best scores of each scanned record.
    pub scores: Vec<TopTwo>,
}

/// How the threshold was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Maximum estimated F1, with the non-match distribution estimated from second-best
    /// scores (see the module docs).
    SecondBest,
    /// Otsu's threshold of the best scores (too few records for the estimate).
    Otsu,
}

impl Method {
    /// The method's name in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::SecondBest => "second-best",
            Method::Otsu => "otsu",
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
    /// Median best score of records without a match (estimated from the decoys): where the
    /// non-match group peaks.
    pub non_match_mode: f64,
    /// Median best score of the records at or above the threshold: where the match group
    /// peaks.
    pub match_mode: f64,
    /// Estimated records with a true match on the other side, averaged over the sides (for two
    /// files: the number of true pairs).
    pub estimated_matches: f64,
    /// Estimated share of links at the threshold that are true.
    pub estimated_precision: f64,
    /// Estimated share of true matches linked at the threshold.
    pub estimated_recall: f64,
    /// Their harmonic mean, the quantity maximised.
    pub estimated_f1: f64,
    /// Records whose scores were used, over all sides.
    pub records_scored: u64,
    /// Second-best scores the non-match distribution was estimated from (those of the records
    /// confidently matched).
    pub decoys: u64,
    /// Otsu's threshold of the best scores, where the refinement started.
    pub otsu: f64,
    /// Refinement rounds until the threshold stopped moving.
    pub rounds: u32,
}

impl AutoThreshold {
    /// One sentence on why this value: for summaries.
    pub fn explanation(&self) -> String {
        match self.method {
            Method::SecondBest => format!(
                "maximum estimated F1 ({:.3}: precision {:.3}, recall {:.3}) between the \
                 non-match mode {:.3} and the match mode {:.3}; about {:.0} records have a \
                 match; non-match scores estimated from the second-best scores of {} of {} \
                 records",
                self.estimated_f1,
                self.estimated_precision,
                self.estimated_recall,
                self.non_match_mode,
                self.match_mode,
                self.estimated_matches,
                self.decoys,
                self.records_scored,
            ),
            Method::Otsu => format!(
                "Otsu's split of {} records' best scores (too few records above it to \
                 estimate the non-match scores)",
                self.records_scored
            ),
        }
    }
}

/// Chooses a threshold from the sides' scores (see the module docs). Scores below `floor`
/// (recorded as `-inf`) are known only to be below it; the threshold is never below `floor`.
pub fn choose(sides: &[SideScores], floor: f64) -> Result<AutoThreshold, MatchError> {
    let sides: Vec<Side> = sides.iter().map(Side::new).collect();
    let pooled: Vec<f64> = sides
        .iter()
        .flat_map(|s| s.best.iter().copied())
        .filter(|b| b.is_finite())
        .collect();
    if pooled.len() < MIN_RECORDS {
        return Err(MatchError::TooFewScores {
            scored: pooled.len(),
            floor,
            needed: MIN_RECORDS,
        });
    }
    let records_scored = sides.iter().map(|s| s.best.len() as u64).sum();
    let otsu = otsu(&pooled).max(floor);
    let mut cuts: Vec<f64> = pooled.clone();
    cuts.sort_unstable_by(f64::total_cmp);
    cuts.dedup();
    cuts.retain(|&c| c >= floor);

    // Start from a cut that is surely among the matches: the median of the best scores above
    // Otsu's split. Then move it to the lowest cut whose estimated false discovery rate is at
    // most MAX_FDR, and repeat until it stays put.
    let mut confident = {
        let above: Vec<f64> = cuts.iter().copied().filter(|&c| c >= otsu).collect();
        above.get(above.len() / 2).copied().unwrap_or(otsu)
    };
    let mut found: Option<Estimate> = None;
    let mut rounds = 0;
    while rounds < MAX_ROUNDS {
        let Some(e) = estimate(&sides, &cuts, confident) else {
            break;
        };
        rounds += 1;
        let next = e.confident;
        found = Some(e);
        if next == confident {
            break;
        }
        confident = next;
    }
    let match_mode = |t: f64| {
        let mut above: Vec<f64> = pooled.iter().copied().filter(|&b| b >= t).collect();
        above.sort_unstable_by(f64::total_cmp);
        above.get(above.len() / 2).copied().unwrap_or(t)
    };
    Ok(match found {
        Some(e) => AutoThreshold {
            value: e.value,
            method: Method::SecondBest,
            non_match_mode: e.non_match_mode,
            match_mode: match_mode(e.value),
            estimated_matches: e.matches,
            estimated_precision: e.precision,
            estimated_recall: e.recall,
            estimated_f1: e.f1,
            records_scored,
            decoys: e.decoys,
            otsu,
            rounds,
        },
        None => AutoThreshold {
            value: otsu,
            method: Method::Otsu,
            non_match_mode: f64::NAN,
            match_mode: match_mode(otsu),
            estimated_matches: f64::NAN,
            estimated_precision: f64::NAN,
            estimated_recall: f64::NAN,
            estimated_f1: f64::NAN,
            records_scored,
            decoys: 0,
            otsu,
            rounds: 0,
        },
    })
}

/// One side, prepared: best scores sorted, and the records' (best, second) pairs.
struct Side {
    population: f64,
    /// Best scores, ascending (`-inf` first).
    best: Vec<f64>,
    /// `(best, second)` of each record.
    top: Vec<TopTwo>,
}

impl Side {
    fn new(s: &SideScores) -> Side {
        let mut best: Vec<f64> = s.scores.iter().map(|t| t.best).collect();
        best.sort_unstable_by(f64::total_cmp);
        Side {
            population: s.population.max(s.scores.len() as u64) as f64,
            best,
            top: s.scores.clone(),
        }
    }

    /// Records with best score at least `t`.
    fn at_least(&self, t: f64) -> usize {
        self.best.len() - self.best.partition_point(|&b| b < t)
    }
}

/// The result of one refinement round.
struct Estimate {
    value: f64,
    /// The confident cut for the next round.
    confident: f64,
    /// Decoys used, over the sides.
    decoys: u64,
    f1: f64,
    precision: f64,
    recall: f64,
    matches: f64,
    non_match_mode: f64,
}

/// Per side: the decoys (second-best scores of the records whose best is at least
/// `confident`) and the estimated number of non-matched records; then, pooled over the sides,
/// the cut of maximum estimated F1 and the next confident cut. `None` if no side has enough
/// records above `confident`.
fn estimate(sides: &[Side], cuts: &[f64], confident: f64) -> Option<Estimate> {
    struct Model<'a> {
        side: &'a Side,
        /// `P(non-match best >= t)`, from the decoys.
        tail: Tail,
        /// Estimated non-matched records in the sample.
        non_matched: f64,
        /// Sample-to-population scale.
        scale: f64,
    }
    let mut models = Vec::new();
    for side in sides {
        let mut decoys: Vec<f64> = side
            .top
            .iter()
            .filter(|t| t.best >= confident)
            .map(|t| t.second)
            .collect();
        if decoys.len() < MIN_DECOYS {
            continue;
        }
        decoys.sort_unstable_by(f64::total_cmp);
        let q = decoys[decoys.len() * 9 / 10];
        let below_q = |v: &[f64]| v.partition_point(|&x| x <= q) as f64;
        let share = below_q(&decoys) / decoys.len() as f64;
        let n = side.best.len() as f64;
        let non_matched = (below_q(&side.best) / share).min(n);
        models.push(Model {
            side,
            tail: Tail::new(decoys),
            non_matched,
            scale: side.population / n,
        });
    }
    if models.is_empty() {
        return None;
    }
    // Links and estimated true links at every cut, pooled over the sides.
    let counts: Vec<(f64, f64)> = cuts
        .iter()
        .map(|&cut| {
            let (mut links, mut tp) = (0.0, 0.0);
            for m in &models {
                let l = m.side.at_least(cut) as f64;
                let fp = m.non_matched * m.tail.survival(cut);
                links += l * m.scale;
                tp += (l - fp).max(0.0) * m.scale;
            }
            (links, tp)
        })
        .collect();
    // Matched records: those not estimated non-matched. Its noise is independent of the true
    // links' (it comes from the low end, they from the top), so the estimated true links can
    // exceed it by a little; the reported rates are capped at 1, the search uses both as they
    // are (forcing them to agree was measured to pull the cut off more often than not).
    let matched: f64 = models
        .iter()
        .map(|m| (m.side.best.len() as f64 - m.non_matched) * m.scale)
        .sum::<f64>();
    let f1 = |(links, tp): (f64, f64)| {
        if links + matched > 0.0 {
            2.0 * tp / (links + matched)
        } else {
            0.0
        }
    };
    // `>=`: among equal estimates, the higher cut (fewer links).
    let i = (0..cuts.len()).fold(0, |b, i| if f1(counts[i]) >= f1(counts[b]) { i } else { b });
    let value = if i == 0 {
        cuts[0]
    } else {
        (cuts[i - 1] + cuts[i]) / 2.0
    };
    // The next confident cut: walking down from the top, the last cut before the estimated
    // share of false links first exceeds MAX_FDR.
    let mut next = confident;
    for (k, &(links, tp)) in counts.iter().enumerate().rev() {
        if links > 0.0 && (links - tp) / links > MAX_FDR {
            break;
        }
        next = cuts[k];
    }
    let mut decoys: Vec<f64> = models
        .iter()
        .flat_map(|m| m.tail.decoys.iter().copied())
        .collect();
    decoys.sort_unstable_by(f64::total_cmp);
    let (links, tp) = counts[i];
    Some(Estimate {
        value,
        confident: next,
        decoys: decoys.len() as u64,
        f1: f1(counts[i]).min(1.0),
        precision: if links > 0.0 {
            (tp / links).min(1.0)
        } else {
            1.0
        },
        recall: if matched > 0.0 {
            (tp / matched).min(1.0)
        } else {
            1.0
        },
        matches: matched / models.len() as f64,
        non_match_mode: decoys[decoys.len() / 2],
    })
}

/// The survival function `P(score >= t)` of the non-match best scores, from decoys: the
/// empirical share where at least [`TAIL_DECOYS`] decoys lie above `t`, and beyond that an
/// exponential tail fitted to those top decoys (peaks over threshold). The best of many
/// stranger scores is an extreme value, whose distribution has an exponential upper tail
/// (the Gumbel domain), and it is exactly this far tail, where decoys are few, that decides
/// how many false links a threshold in the valley lets through.
#[derive(Debug, Clone)]
struct Tail {
    /// Decoys, ascending.
    decoys: Vec<f64>,
    /// Where the fitted tail starts: the `k`-th highest decoy.
    start: f64,
    /// Share of decoys at or above `start`.
    share: f64,
    /// Mean excess of the top decoys over `start` (the exponential's scale).
    scale: f64,
}

impl Tail {
    /// The tail of `decoys`, sorted ascending.
    fn new(decoys: Vec<f64>) -> Tail {
        let n = decoys.len();
        let k = TAIL_DECOYS.min(n / 4).max(1);
        let start = decoys[n - k];
        let top: Vec<f64> = decoys[n - k..]
            .iter()
            .filter(|d| d.is_finite())
            .map(|d| d - start)
            .collect();
        let scale = top.iter().sum::<f64>() / top.len().max(1) as f64;
        Tail {
            decoys,
            start,
            share: k as f64 / n as f64,
            scale,
        }
    }

    fn survival(&self, t: f64) -> f64 {
        if t <= self.start || !self.start.is_finite() {
            let above = self.decoys.len() - self.decoys.partition_point(|&d| d < t);
            above as f64 / self.decoys.len() as f64
        } else if self.scale > 0.0 {
            self.share * (-(t - self.start) / self.scale).exp()
        } else {
            0.0
        }
    }
}

/// Otsu's threshold: the cut of a 256-bin histogram that maximises the between-group variance
/// (Otsu 1979). Returns the upper edge of the last bin of the lower group.
pub fn otsu(scores: &[f64]) -> f64 {
    const BINS: usize = 256;
    let lo = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Also true when the scores are empty (lo = inf) or all equal.
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return lo;
    }
    let width = (hi - lo) / BINS as f64;
    let mut hist = [0u64; BINS];
    for &s in scores {
        hist[(((s - lo) / width) as usize).min(BINS - 1)] += 1;
    }
    let total = scores.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0) = (0.0, 0.0);
    let (mut best_k, mut best_var) = (0, -1.0);
    for (k, &c) in hist.iter().enumerate().take(BINS - 1) {
        w0 += c as f64;
        sum0 += k as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let var = w0 * w1 * (m0 - m1) * (m0 - m1);
        if var > best_var {
            (best_k, best_var) = (k, var);
        }
    }
    lo + (best_k + 1) as f64 * width
}

mod auto;

pub use self::auto::{
    AutoChoice, AutoMatch, AutoOptions, auto_match, side_scores, sides_from_candidates,
};

#[cfg(test)]
mod tests;
