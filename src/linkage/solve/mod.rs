//! Solvers: scored candidate pairs in, links or clusters out.
//!
//! Candidate generation ([`crate::linkage`]) yields every pair whose similarity clears the
//! threshold. One record usually has several such pairs, but the departments want to know which
//! record is *the* match. A solver, run by the third party, decides that from the candidates
//! alone: it sees positions and scores, never identifiers or encodings.
//!
//! | Input | Solver | Output |
//! |---|---|---|
//! | [`Candidate`]s between two files | [`greedy`] | one-to-one links, anonlink's rule |
//! | [`Candidate`]s between two files | [`optimal`] | one-to-one links of maximum total score |
//! | [`Candidate`]s between two files | [`all_pairs`] | every candidate (many-to-many) |
//! | [`Candidate`]s within one file | [`dedup_components`] | clusters, single linkage |
//! | [`Candidate`]s within one file | [`dedup_complete_linkage`] | clusters, complete linkage |
//! | [`Candidate`]s within one file | [`dedup_average_linkage`] | clusters, average linkage (the default) |
//! | [`PartyCandidate`](super::PartyCandidate)s between several files | [`multiparty_greedy`] | clusters, one record per party, single linkage |
//! | [`PartyCandidate`](super::PartyCandidate)s between several files | [`multiparty_average_linkage`] | clusters, one record per party, average linkage (the default) |
//!
//! Why more than one two-party solver:
//!
//! * [`greedy`] takes pairs by descending score and keeps a pair when neither record is linked
//!   yet. It is what anonlink and the anonlink entity service do, so results can be compared
//!   with theirs; it runs in `O(m log m)` for `m` candidates.
//! * [`optimal`] maximises the sum of the scores of the links. Greedy has a known failure: one
//!   high pair `a-b` (0.90) can block two good ones `a-c` (0.85) and `d-b` (0.85), so greedy
//!   links one pair where two true matches were available. Optimal links both.
//! * [`all_pairs`] keeps everything, for clerical review or for evaluating candidate generation
//!   on its own.
//!
//! Within one file, duplicates form groups rather than pairs. [`dedup_components`] joins every
//! chain of candidates (cheap, but `x~y~z` lumps `x` with `z`: on dense encodings at a low
//! threshold everything chains into one cluster); [`dedup_complete_linkage`] only forms groups
//! in which every two records are candidates (no chaining, but a true group with one weak pair
//! splits); [`dedup_average_linkage`], the default ([`Clustering::Average`]), merges two
//! clusters when the mean similarity of all their cross pairs reaches the threshold. Across
//! several files, [`multiparty_greedy`] grows clusters greedily through single pairs and
//! [`multiparty_average_linkage`] (the default) by the same average rule; both never put two
//! records of one file in a cluster, since each file lists a person once.
//!
//! Every solver is deterministic: the same set of candidates, in any order, gives the same
//! output. Ties are broken by [`Candidate::solver_order`] (higher score first, then lower `a`,
//! then lower `b`); each function documents how. Outputs are sorted (links by solver order,
//! clusters by their smallest member), never in hash-map order.
//!
//! Solvers apply no threshold of their own: that happened when candidates were generated
//! ([`optimal`] only drops scores that are not finite and positive, which could never raise a
//! total). The two-party and multi-party solvers renumber the indices they see, so indices may
//! be sparse and memory grows with the number of candidates, not with the largest index. The
//! deduplication functions take the file's record count `n` and ignore pairs outside `0..n`.

mod average;
mod dedup;
mod multiparty;
mod optimal;
mod util;

use std::fmt;
use std::str::FromStr;

use super::Candidate;

pub use self::average::{dedup_average_linkage, multiparty_average_linkage};
pub use self::dedup::{dedup_complete_linkage, dedup_components};
pub use self::multiparty::multiparty_greedy;
pub use self::optimal::optimal;

use self::util::Renumber;

/// The two-party solvers the CLI offers (`--solver greedy|optimal|none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// [`greedy`]: one-to-one, highest score first (anonlink's solver).
    Greedy,
    /// [`optimal`]: one-to-one, maximum total score.
    Optimal,
    /// [`all_pairs`]: no solving; every candidate is a link.
    None,
}

impl Solver {
    /// Every solver, in the order the CLI lists them.
    pub const ALL: [Solver; 3] = [Solver::Greedy, Solver::Optimal, Solver::None];

    /// The stable name used on the command line and in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Solver::Greedy => "greedy",
            Solver::Optimal => "optimal",
            Solver::None => "none",
        }
    }
}

impl fmt::Display for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one file's duplicates, or several files' records, are grouped into clusters
/// (`--cluster average|components`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Clustering {
    /// Average linkage: clusters merge when the mean similarity of their cross pairs reaches
    /// the threshold ([`dedup_average_linkage`], [`multiparty_average_linkage`]). Does not
    /// chain.
    #[default]
    Average,
    /// Single linkage: connected components of the candidates ([`dedup_components`]; across
    /// parties [`multiparty_greedy`]). Cheaper, and chains strangers together on dense
    /// encodings or low thresholds.
    Components,
}

impl Clustering {
    /// The stable name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Clustering::Average => "average",
            Clustering::Components => "components",
        }
    }
}

/// A solver name that is not one of `greedy`, `optimal`, `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown solver {input:?}: expected one of \"greedy\", \"optimal\", \"none\"")]
pub struct ParseSolverError {
    input: String,
}

impl ParseSolverError {
    /// The name as given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl FromStr for Solver {
    type Err = ParseSolverError;

    /// Parses the exact, lower-case name returned by [`Solver::as_str`].
    fn from_str(s: &str) -> Result<Solver, ParseSolverError> {
        Solver::ALL
            .into_iter()
            .find(|solver| solver.as_str() == s)
            .ok_or_else(|| ParseSolverError {
                input: s.to_owned(),
            })
    }
}

/// Runs `solver` on two-party candidates: [`greedy`], [`optimal`] or [`all_pairs`].
///
/// The result is sorted by [`Candidate::solver_order`] whichever solver runs.
pub fn solve(solver: Solver, candidates: &[Candidate]) -> Vec<Candidate> {
    match solver {
        Solver::Greedy => greedy(candidates),
        Solver::Optimal => optimal(candidates),
        Solver::None => all_pairs(candidates),
    }
}

/// One-to-one links, highest score first: anonlink's greedy solver for two parties.
///
/// Candidates are taken in [`Candidate::solver_order`] (descending score, then ascending `a`,
/// then ascending `b`); a candidate becomes a link when neither its `a` record nor its `b`
/// record is linked yet. Ties are therefore resolved towards lower `a`, then lower `b`.
///
/// Fast (`O(m log m)` for `m` candidates, dominated by the sort) and often right, but not
/// optimal: see [`optimal`] for the case where one high pair blocks two good ones. Scores are
/// ordered by [`f64::total_cmp`], so a NaN (which candidate generation never produces) would
/// come before every number.
///
/// Returns the links sorted by [`Candidate::solver_order`].
pub fn greedy(candidates: &[Candidate]) -> Vec<Candidate> {
    let mut sorted = candidates.to_vec();
    sorted.sort_unstable_by(Candidate::solver_order);
    let left = Renumber::new(sorted.iter().map(|c| c.a));
    let right = Renumber::new(sorted.iter().map(|c| c.b));
    let mut used_left = vec![false; left.len()];
    let mut used_right = vec![false; right.len()];
    sorted.retain(|c| {
        let (l, r) = (left.id(c.a), right.id(c.b));
        if used_left[l] || used_right[r] {
            false
        } else {
            used_left[l] = true;
            used_right[r] = true;
            true
        }
    });
    sorted
}

/// No solving: every candidate, sorted by [`Candidate::solver_order`].
///
/// A record may appear in several links. Useful for clerical review of everything above the
/// threshold and for measuring candidate generation without a solver's choices.
pub fn all_pairs(candidates: &[Candidate]) -> Vec<Candidate> {
    let mut sorted = candidates.to_vec();
    sorted.sort_unstable_by(Candidate::solver_order);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn c(a: u32, b: u32, score: f64) -> Candidate {
        Candidate { a, b, score }
    }

    /// A deterministic PRNG for tests (SplitMix64).
    pub(super) struct SplitMix(pub u64);

    impl SplitMix {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in `0..n`.
        pub fn below(&mut self, n: u64) -> u64 {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }

        /// Uniform in `(0, 1]`, with 53 random bits.
        pub fn unit(&mut self) -> f64 {
            ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
        }

        pub fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                items.swap(i, j);
            }
        }
    }

    #[test]
    fn solver_names_round_trip() {
        for solver in Solver::ALL {
            assert_eq!(solver.as_str().parse::<Solver>(), Ok(solver));
            assert_eq!(solver.to_string(), solver.as_str());
        }
        let err = "Greedy".parse::<Solver>().unwrap_err();
        assert_eq!(err.input(), "Greedy");
        assert!(err.to_string().contains("\"optimal\""));
        assert!("".parse::<Solver>().is_err());
    }

    #[test]
    fn greedy_takes_highest_first() {
        // a0-b0 0.9 blocks a0-b1 and a1-b0.
        let cands = [c(0, 0, 0.9), c(0, 1, 0.85), c(1, 0, 0.85)];
        assert_eq!(greedy(&cands), vec![c(0, 0, 0.9)]);
    }

    #[test]
    fn greedy_breaks_ties_by_a_then_b() {
        let cands = [c(1, 0, 0.8), c(0, 1, 0.8), c(0, 0, 0.8), c(1, 1, 0.8)];
        assert_eq!(greedy(&cands), vec![c(0, 0, 0.8), c(1, 1, 0.8)]);
        let cands = [c(1, 0, 0.8), c(0, 1, 0.8), c(1, 1, 0.8)];
        assert_eq!(greedy(&cands), vec![c(0, 1, 0.8), c(1, 0, 0.8)]);
    }

    #[test]
    fn greedy_chain() {
        // A path a0-b0-a1-b1-a2 with descending scores: greedy takes every other edge.
        let cands = [
            c(0, 0, 0.95),
            c(1, 0, 0.94),
            c(1, 1, 0.93),
            c(2, 1, 0.92),
            c(7, 9, 0.5),
        ];
        assert_eq!(
            greedy(&cands),
            vec![c(0, 0, 0.95), c(1, 1, 0.93), c(7, 9, 0.5)]
        );
    }

    #[test]
    fn empty_inputs() {
        for solver in Solver::ALL {
            assert!(solve(solver, &[]).is_empty());
        }
        assert!(dedup_components(0, &[]).is_empty());
        assert!(dedup_components(5, &[]).is_empty());
        assert!(dedup_complete_linkage(5, &[]).is_empty());
        assert!(multiparty_greedy(&[]).is_empty());
    }

    #[test]
    fn all_pairs_sorts_and_keeps_everything() {
        let cands = [c(2, 0, 0.7), c(0, 0, 0.9), c(1, 0, 0.9), c(0, 1, 0.7)];
        assert_eq!(
            all_pairs(&cands),
            vec![c(0, 0, 0.9), c(1, 0, 0.9), c(0, 1, 0.7), c(2, 0, 0.7)]
        );
    }

    #[test]
    fn dispatcher_matches_functions() {
        let cands = [c(0, 0, 0.9), c(0, 1, 0.85), c(1, 0, 0.85)];
        assert_eq!(solve(Solver::Greedy, &cands), greedy(&cands));
        assert_eq!(solve(Solver::Optimal, &cands), optimal(&cands));
        assert_eq!(solve(Solver::None, &cands), all_pairs(&cands));
    }

    #[test]
    fn greedy_and_all_pairs_ignore_input_order() {
        let mut rng = SplitMix(7);
        let mut cands: Vec<Candidate> = (0..2000)
            .map(|_| {
                // Coarse scores, so that many tie.
                let score = (rng.below(8) + 1) as f64 / 8.0;
                c(rng.below(300) as u32, rng.below(300) as u32, score)
            })
            .collect();
        let g = greedy(&cands);
        let p = all_pairs(&cands);
        for _ in 0..5 {
            rng.shuffle(&mut cands);
            assert_eq!(greedy(&cands), g);
            assert_eq!(all_pairs(&cands), p);
        }
    }

    #[test]
    fn sparse_large_indices() {
        let cands = [c(u32::MAX, 0, 0.9), c(u32::MAX - 1, u32::MAX, 0.8)];
        assert_eq!(greedy(&cands).len(), 2);
        assert_eq!(optimal(&cands).len(), 2);
    }
}
