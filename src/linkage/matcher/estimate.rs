//! The automatic threshold's estimates at the level of the result: the estimated quality of
//! a result held in memory ([`assess`]), and the cut whose result (solved or clustered as the
//! match will do it) has the highest estimated F1 ([`Refine::best_cut`]).

use super::super::solve::{self, Clustering, Solver};
use super::super::threshold::{self, Estimate, Fit, Linkage, SideNeighbours, side_index};
use super::super::{Candidate, MatchResult, PartyCandidate, RecordRef};

/// Results with more pairs than this many per estimated true pair are bounded, not scored.
const MAX_PAIRS_PER_TRUE_PAIR: f64 = 50.0;

/// A record of input `.0` at position `.1`.
type Rec = (usize, u32);

/// The estimated quality of a result held in memory: every pair it links (every two records
/// of a cluster) with its posterior probability of being a match.
pub(super) fn assess(
    fit: &threshold::Fit,
    linkage: Linkage,
    result: &MatchResult,
    inputs: usize,
    score: &dyn Fn(Rec, Rec) -> f64,
) -> Option<threshold::Estimate> {
    use threshold::side_index;
    let side = |p: usize, q: usize| (side_index(p, q, inputs), side_index(q, p, inputs));
    // Clusters that chained into huge ones are not scored pair by pair: at most all the true
    // pairs are among their pairs, which bounds the estimate well below any useful result.
    let clustered: u64 = match result {
        MatchResult::Duplicates(c) => c.iter().map(|c| (c.len() as u64).pow(2) / 2).sum(),
        MatchResult::Clusters(c) => c.iter().map(|c| (c.len() as u64).pow(2) / 2).sum(),
        _ => 0,
    };
    let all = threshold::true_pairs_estimate(fit, linkage);
    if clustered as f64 > MAX_PAIRS_PER_TRUE_PAIR * (all + 1.0) {
        return Some(Estimate::bound(clustered as f64, all));
    }
    let pairs: Vec<(usize, usize, u32, u32, f64)> = match result {
        MatchResult::Pairs(links) => {
            let (s, m) = side(0, inputs - 1);
            links.iter().map(|c| (s, m, c.a, c.b, c.score)).collect()
        }
        MatchResult::Written { .. } => return None,
        MatchResult::Duplicates(clusters) => clusters
            .iter()
            .flat_map(|c| {
                c.iter().enumerate().flat_map(move |(k, &x)| {
                    c[k + 1..]
                        .iter()
                        .map(move |&y| (0, 0, x, y, score((0, x), (0, y))))
                })
            })
            .collect(),
        MatchResult::Clusters(clusters) => clusters
            .iter()
            .flat_map(|c| {
                c.iter().enumerate().flat_map(move |(k, x)| {
                    c[k + 1..].iter().map(move |y| {
                        let (p, q) = (x.party as usize, y.party as usize);
                        let (s, m) = side(p, q);
                        (s, m, x.index, y.index, score((p, x.index), (q, y.index)))
                    })
                })
            })
            .collect(),
    };
    Some(threshold::assess(fit, linkage, pairs.into_iter()))
}

/// How the match will turn candidates into its result.
pub(super) struct Refine {
    pub(super) solver: Solver,
    pub(super) clustering: Clustering,
    pub(super) inputs: usize,
    pub(super) linkage: Linkage,
}

impl Refine {
    /// The result the match would give from `candidates` (those of the lists at or above a
    /// cut): solved (optimal approximated by greedy) or clustered.
    fn result(
        &self,
        pairs: &[(Rec, Rec, f64)],
        t: f64,
        records: u32,
        score: &dyn Fn(Rec, Rec) -> f64,
    ) -> MatchResult {
        let above = pairs.iter().filter(|p| p.2 >= t);
        match self.inputs {
            1 | 2 => {
                let cands: Vec<Candidate> = above
                    .map(|&((_, a), (_, b), score)| Candidate { a, b, score })
                    .collect();
                if self.inputs == 2 {
                    let solver = match self.solver {
                        Solver::Optimal => Solver::Greedy,
                        s => s,
                    };
                    MatchResult::Pairs(solve::solve(solver, &cands))
                } else if self.solver == Solver::None {
                    MatchResult::Pairs(cands)
                } else {
                    MatchResult::Duplicates(match self.clustering {
                        Clustering::Average => {
                            solve::dedup_average_linkage(records, &cands, t, &|x, y| {
                                score((0, x), (0, y))
                            })
                        }
                        Clustering::Components => solve::dedup_components(records, &cands),
                    })
                }
            }
            _ => {
                let rec = |(p, i): Rec| RecordRef {
                    party: p as u16,
                    index: i,
                };
                let cands: Vec<PartyCandidate> = above
                    .map(|&(a, b, score)| PartyCandidate {
                        a: rec(a),
                        b: rec(b),
                        score,
                    })
                    .collect();
                MatchResult::Clusters(match self.clustering {
                    Clustering::Average => solve::multiparty_average_linkage(&cands, t, &|x, y| {
                        score((x.party as usize, x.index), (y.party as usize, y.index))
                    }),
                    Clustering::Components => solve::multiparty_greedy(&cands),
                })
            }
        }
    }

    /// The cut whose predicted result has the highest estimated F1, or `None` when some side
    /// was sampled (the lists then do not hold every record's pairs).
    pub(super) fn best_cut(
        &self,
        fit: &Fit,
        sides: &[SideNeighbours],
        floor: f64,
        score: &dyn Fn(Rec, Rec) -> f64,
    ) -> Option<(f64, Estimate)> {
        if sides.iter().any(|s| s.records.len() as u64 != s.population) {
            return None;
        }
        // Every listed pair once, as (lower record, higher record, score).
        let mut pairs: Vec<(Rec, Rec, f64)> = Vec::new();
        for i in 0..self.inputs {
            for j in 0..self.inputs {
                if (i == j) != (self.inputs == 1) {
                    continue;
                }
                for r in &sides[side_index(i, j, self.inputs)].records {
                    for (&p, &s) in r.partners.iter().zip(&r.scores) {
                        let (x, y) = ((i, r.index), (j, p));
                        pairs.push((x.min(y), x.max(y), s));
                    }
                }
            }
        }
        pairs.sort_unstable_by_key(|x| (x.0, x.1));
        pairs.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
        let records = sides[0].population as u32;
        let evaluate = |t: f64| {
            let result = self.result(&pairs, t, records, score);
            assess(fit, self.linkage, &result, self.inputs, score).expect("a result held in memory")
        };
        threshold::best_result_cut(fit, floor, &evaluate)
    }
}
