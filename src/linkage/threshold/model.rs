//! The score model: neighbour lists in ([`SideNeighbours`]), a fitted two-component mixture
//! out ([`Fit`]): per-record non-match tails anchored on each record's `k`-th neighbour, and
//! a Beta match component, with the posterior probability that a pair of a given score is a
//! match. The module docs of [`super`] say why this shape and where it fails.

use super::neighbours::{SideNeighbours, SplitMix};

/// EM iterations at most.
const MAX_ITERATIONS: usize = 500;
/// Scores are clamped below 1 by this much for the Beta density (exact copies score 1).
const EDGE: f64 = 1e-3;
/// Beta parts of the match component.
const PARTS: usize = 2;
/// Lists needed to estimate the non-match tail.
pub const MIN_LISTS: usize = 20;

/// One neighbour score, with what the model needs to know about its record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub(crate) score: f64,
    /// The record's anchor: its `k`-th neighbour's score (the floor, for a short list).
    pub(crate) anchor: f64,
    /// The record's position among all sides' records (lists).
    pub(crate) list: u32,
    /// 0 for the record's best neighbour.
    pub(crate) rank: u32,
}

/// A fitted mixture (see the module docs of [`super`]).
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    /// Scale of the exponential non-match tail above a record's anchor.
    pub(crate) sigma: f64,
    /// Share of list points that are matches.
    pub(crate) pi: f64,
    /// The match component: a mixture of Betas `(weight, alpha, beta)`, weights summing to 1
    /// (lightly and heavily corrupted matches).
    pub(crate) parts: Vec<(f64, f64, f64)>,
    /// Every list point, with its posterior match probability.
    pub(crate) points: Vec<(Point, f64)>,
    /// Per side: sampled records and the sample-to-population scale.
    pub(crate) sides: Vec<SideInfo>,
    /// The median anchor of all lists, for records that were not sampled.
    pub(crate) median_anchor: f64,
    /// The match component's distribution function on a grid of [`CDF_STEPS`] steps over
    /// `0..=1`.
    pub(crate) cdf: Vec<f64>,
    /// Two files only: the mutually best pairs `(a, b)` (each is the other's best neighbour),
    /// with their own prior (see [`Fit::fit_mutual`]).
    pub(crate) mutual: Mutual,
}

/// Mutually best pairs of a two-file linkage and their share of matches.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mutual {
    /// `(record of the first file, record of the second)`, sorted.
    pub(crate) pairs: Vec<(u32, u32)>,
    /// Share of mutually best pairs that are matches.
    pub(crate) pi: f64,
    /// Strangers per list above its anchor (`k - 1`).
    pub(crate) strangers: f64,
    /// `(list, posterior)` of each list whose best neighbour is mutually best (both sides).
    pub(crate) lists: Vec<(u32, f64)>,
}

/// Steps of the tabulated distribution function of the match component.
const CDF_STEPS: usize = 2000;

/// What a side contributes, for scaling and anchors.
#[derive(Debug, Clone)]
pub(crate) struct SideInfo {
    /// Population over sampled records.
    pub(crate) scale: f64,
    /// First list number of this side among all lists.
    pub(crate) first_list: u32,
    /// Lists of this side.
    pub(crate) lists: u32,
    /// `(record index, anchor)` of the sampled records, by record index.
    pub(crate) anchors: Vec<(u32, f64)>,
}

impl Fit {
    /// The density of the match component at `s`.
    fn match_density(&self, s: f64) -> f64 {
        let x = s.clamp(EDGE, 1.0 - EDGE);
        self.parts
            .iter()
            .map(|&(w, a, b)| w * beta_density(x, a, b))
            .sum()
    }

    /// Posterior probability that a pair of score `s` between records whose anchors are
    /// `anchor` is a match.
    pub(crate) fn posterior(&self, s: f64, anchor: f64) -> f64 {
        let m = self.pi * self.match_density(s);
        let u = (1.0 - self.pi) * stranger_density(s, anchor, self.sigma);
        if m + u > 0.0 { m / (m + u) } else { 0.0 }
    }

    /// Posterior probability that a pair is a match, using that it is mutually best when it is
    /// (two files only): a mutually best pair is its records' best neighbour on both sides, so
    /// the stranger it would otherwise be is the best of a list's `k - 1` strangers, and the
    /// prior is the share of matches among mutually best pairs (fitted by
    /// [`Fit::fit_mutual`]). One-to-one solvers link mutually best pairs first; in a file
    /// where most records have a match, strangers are rarely mutually best, which the
    /// per-score prior cannot see.
    pub(crate) fn pair_posterior(&self, a: u32, b: u32, s: f64, anchor: f64) -> f64 {
        if self.mutual.pairs.binary_search(&(a, b)).is_err() {
            return self.posterior(s, anchor);
        }
        let pi = self.mutual.pi;
        let m = pi * self.match_density(s);
        let u = (1.0 - pi) * self.mutual.strangers * stranger_density(s, anchor, self.sigma);
        if m + u > 0.0 { m / (m + u) } else { 0.0 }
    }

    /// Finds the mutually best pairs of a two-file linkage and fits their share of matches by
    /// EM, with the match and stranger densities of the fitted mixture held fixed.
    fn fit_mutual(&mut self, sides: &[SideNeighbours]) {
        if sides.len() != 2 || sides.iter().any(|s| s.same) {
            return;
        }
        // (record, its best partner, score, list) per side, by record.
        let best = |n: usize| -> Vec<(u32, u32, f64, u32)> {
            let first = self.sides[n].first_list;
            let mut v: Vec<(u32, u32, f64, u32)> = sides[n]
                .records
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    Some((
                        r.index,
                        *r.partners.first()?,
                        *r.scores.first()?,
                        first + i as u32,
                    ))
                })
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            v
        };
        let (left, right) = (best(0), best(1));
        // (a, b, score, anchor, list of a, list of b)
        let mut found: Vec<(u32, u32, f64, f64, u32, u32)> = Vec::new();
        for &(a, b, s, la) in &left {
            if let Ok(i) = right.binary_search_by_key(&b, |x| x.0)
                && right[i].1 == a
            {
                let anchor = 0.5 * (self.anchor(0, a) + self.anchor(1, b));
                found.push((a, b, s, anchor, la, right[i].3));
            }
        }
        if found.is_empty() {
            return;
        }
        let strangers = (sides.iter().map(|s| s.k).max().unwrap_or(2).max(2) - 1) as f64;
        let dens: Vec<(f64, f64)> = found
            .iter()
            .map(|&(_, _, s, anchor, _, _)| {
                (
                    self.match_density(s),
                    strangers * stranger_density(s, anchor, self.sigma),
                )
            })
            .collect();
        let mut pi = 0.5;
        for _ in 0..200 {
            let next = dens
                .iter()
                .map(|&(m, u)| {
                    let (m, u) = (pi * m, (1.0 - pi) * u);
                    if m + u > 0.0 { m / (m + u) } else { 0.0 }
                })
                .sum::<f64>()
                / dens.len() as f64;
            let next = next.clamp(1e-6, 1.0 - 1e-6);
            if (next - pi).abs() < 1e-12 {
                pi = next;
                break;
            }
            pi = next;
        }
        let mut pairs: Vec<(u32, u32)> = found.iter().map(|x| (x.0, x.1)).collect();
        pairs.sort_unstable();
        let lists = found
            .iter()
            .zip(&dens)
            .flat_map(|(x, &(m, u))| {
                let (m, u) = (pi * m, (1.0 - pi) * u);
                let p = if m + u > 0.0 { m / (m + u) } else { 0.0 };
                [(x.4, p), (x.5, p)]
            })
            .collect();
        self.mutual = Mutual {
            pairs,
            pi,
            strangers,
            lists,
        };
    }

    /// The anchor of record `index` on side `side` (the median anchor if it was not sampled).
    pub(crate) fn anchor(&self, side: usize, index: u32) -> f64 {
        let a = &self.sides[side].anchors;
        match a.binary_search_by_key(&index, |x| x.0) {
            Ok(i) => a[i].1,
            Err(_) => self.median_anchor,
        }
    }

    /// The share of the match component below `s`.
    pub(crate) fn match_below(&self, s: f64) -> f64 {
        let x = s.clamp(0.0, 1.0) * CDF_STEPS as f64;
        let i = (x as usize).min(CDF_STEPS - 1);
        let f = x - i as f64;
        self.cdf[i] * (1.0 - f) + self.cdf[i + 1] * f
    }

    /// Tabulates the match component's distribution function.
    fn tabulate(&mut self) {
        let h = 1.0 / CDF_STEPS as f64;
        let d: Vec<f64> = (0..=CDF_STEPS)
            .map(|i| self.match_density(i as f64 * h))
            .collect();
        let mut cdf = vec![0.0; CDF_STEPS + 1];
        for i in 1..=CDF_STEPS {
            cdf[i] = cdf[i - 1] + 0.5 * (d[i - 1] + d[i]) * h;
        }
        let total = cdf[CDF_STEPS].max(1e-300);
        self.cdf = cdf.into_iter().map(|c| c / total).collect();
    }

    /// The mean of the match component.
    pub(crate) fn match_mean(&self) -> f64 {
        self.parts.iter().map(|&(w, a, b)| w * a / (a + b)).sum()
    }
}

/// Density of the non-match tail above `anchor` (flat below it: scores there are not used).
fn stranger_density(s: f64, anchor: f64, sigma: f64) -> f64 {
    (-(s - anchor).max(0.0) / sigma).exp() / sigma
}

fn beta_density(x: f64, a: f64, b: f64) -> f64 {
    ((a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln() - ln_beta(a, b)).exp()
}

/// `ln B(a, b)` through Stirling's series for `ln Γ` (shifted for small arguments).
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

fn ln_gamma(x: f64) -> f64 {
    let mut x = x;
    let mut shift = 0.0;
    while x < 7.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    shift + (x - 0.5) * x.ln() - x
        + 0.5 * (2.0 * std::f64::consts::PI).ln()
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 / 1260.0))
}

/// The median of `sum_{l = j0}^{k - 1} E_l / l` for standard exponential `E_l`: the spread
/// between ranks `j0` and `k` of the top of an exponential tail, in units of its scale
/// (Rényi's representation of order statistics). Computed by a fixed simulation.
fn spacing_median(j0: usize, k: usize) -> f64 {
    let mut rng = SplitMix(0x0bad_5eed);
    let mut draws: Vec<f64> = (0..4001)
        .map(|_| {
            (j0..k)
                .map(|l| {
                    let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                    -u.ln() / l as f64
                })
                .sum()
        })
        .collect();
    draws.sort_unstable_by(f64::total_cmp);
    draws[draws.len() / 2]
}

/// Why no mixture could be fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoFit {
    /// Too few records with a full list of neighbours.
    TooFewLists,
    /// No score lies clearly above the non-match tail: nothing to start a match group from.
    NoMatchMode,
}

/// Fits the mixture to the sides' neighbour lists.
pub(crate) fn fit(sides: &[SideNeighbours]) -> Result<Fit, NoFit> {
    let mut points = Vec::new();
    let mut infos = Vec::new();
    let mut spreads = Vec::new();
    let mut all_anchors = Vec::new();
    let mut list = 0u32;
    let k = sides.iter().map(|s| s.k).max().unwrap_or(0);
    let j0 = (k / 2).max(1);
    for side in sides {
        let first_list = list;
        let mut anchors = Vec::with_capacity(side.records.len());
        for r in &side.records {
            let full = r.scores.len() >= side.k && side.k >= 2;
            let anchor = if full {
                r.scores[side.k - 1]
            } else {
                side.floor
            };
            let used = if full { side.k - 1 } else { r.scores.len() };
            if full && side.k == k && j0 < k {
                spreads.push(r.scores[j0 - 1] - r.scores[k - 1]);
            }
            for (rank, &score) in r.scores[..used].iter().enumerate() {
                points.push(Point {
                    score,
                    anchor,
                    list,
                    rank: rank as u32,
                });
            }
            anchors.push((r.index, anchor));
            all_anchors.push(anchor);
            list += 1;
        }
        anchors.sort_unstable_by_key(|a| a.0);
        infos.push(SideInfo {
            scale: side.population as f64 / side.records.len().max(1) as f64,
            first_list,
            lists: list - first_list,
            anchors,
        });
    }
    if spreads.len() < MIN_LISTS {
        return Err(NoFit::TooFewLists);
    }
    spreads.sort_unstable_by(f64::total_cmp);
    all_anchors.sort_unstable_by(f64::total_cmp);
    let sigma = (spreads[spreads.len() / 2] / spacing_median(j0, k)).max(1e-4);
    let median_anchor = all_anchors[all_anchors.len() / 2];

    // Start: points the non-match tail can hardly explain (fewer than 1% of a list's
    // strangers expected that high) are matches.
    let k1 = (k - 1) as f64;
    let mut gamma: Vec<f64> = points
        .iter()
        .map(|p| {
            let expected = k1 * (-(p.score - p.anchor).max(0.0) / sigma).exp();
            if expected < 0.01 { 1.0 } else { 0.0 }
        })
        .collect();
    if gamma.iter().sum::<f64>() < 2.0 {
        return Err(NoFit::NoMatchMode);
    }
    let mut fit = Fit {
        sigma,
        pi: 0.0,
        parts: vec![(0.5, 1.0, 1.0); PARTS],
        points: Vec::new(),
        sides: infos,
        median_anchor,
        cdf: Vec::new(),
        mutual: Mutual::default(),
    };
    // Responsibilities of each match part; the sure matches start split at their median.
    let sure: Vec<f64> = {
        let mut v: Vec<f64> = points
            .iter()
            .zip(&gamma)
            .filter(|(_, g)| **g > 0.0)
            .map(|(p, _)| p.score)
            .collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let split = sure[sure.len() / 2];
    let mut resp: Vec<[f64; PARTS]> = points
        .iter()
        .zip(&gamma)
        .map(|(p, &g)| {
            let mut r = [0.0; PARTS];
            r[usize::from(p.score < split)] = g;
            r
        })
        .collect();
    let clamp = |s: f64| s.clamp(EDGE, 1.0 - EDGE);
    let mut last = f64::NEG_INFINITY;
    for _ in 0..MAX_ITERATIONS {
        // M step: the share, the parts' weights and each Beta by weighted moments.
        let w: f64 = gamma.iter().sum();
        if w < 1.0 {
            return Err(NoFit::NoMatchMode);
        }
        fit.pi = (w / points.len() as f64).clamp(1e-9, 1.0 - 1e-9);
        for c in 0..PARTS {
            let wc: f64 = resp.iter().map(|r| r[c]).sum();
            if wc <= 1e-9 {
                fit.parts[c] = (0.0, 1.0, 1.0);
                continue;
            }
            let mean = points
                .iter()
                .zip(&resp)
                .map(|(p, r)| r[c] * clamp(p.score))
                .sum::<f64>()
                / wc;
            let var = points
                .iter()
                .zip(&resp)
                .map(|(p, r)| r[c] * (clamp(p.score) - mean).powi(2))
                .sum::<f64>()
                / wc;
            let var = var.max(1e-6).min(mean * (1.0 - mean) * 0.99);
            let common = mean * (1.0 - mean) / var - 1.0;
            fit.parts[c] = (wc / w, mean * common, (1.0 - mean) * common);
        }
        // The tail scale: the non-match-weighted mean excess over the anchors (its maximum
        // likelihood estimate).
        let (mut excess, mut weight) = (0.0, 0.0);
        for (p, g) in points.iter().zip(&gamma) {
            excess += (1.0 - g) * (p.score - p.anchor).max(0.0);
            weight += 1.0 - g;
        }
        if weight > 0.0 {
            fit.sigma = (excess / weight).max(1e-4);
        }
        let sigma = fit.sigma;
        // E step.
        let mut ll = 0.0;
        for ((p, g), r) in points.iter().zip(gamma.iter_mut()).zip(resp.iter_mut()) {
            let x = clamp(p.score);
            let mut m = 0.0;
            for (c, &(wc, a, b)) in fit.parts.iter().enumerate() {
                r[c] = fit.pi * wc * beta_density(x, a, b);
                m += r[c];
            }
            let u = (1.0 - fit.pi) * stranger_density(p.score, p.anchor, sigma);
            let total = m + u;
            if total > 0.0 {
                *g = m / total;
                r.iter_mut().for_each(|x| *x /= total);
            } else {
                *g = 0.0;
                *r = [0.0; PARTS];
            }
            ll += total.max(1e-300).ln();
        }
        if (ll - last).abs() < 1e-9 * ll.abs().max(1.0) {
            break;
        }
        last = ll;
    }
    fit.points = points.into_iter().zip(gamma).collect();
    fit.tabulate();
    fit.fit_mutual(sides);
    Ok(fit)
}
