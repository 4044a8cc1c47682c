//! Maximum-weight one-to-one matching for [`optimal`], whose documentation describes the
//! algorithm: exact integer weights with a tie-breaking perturbation, then per component an
//! auction for large components and an exact primal-dual search to finish.
//!
//! The phases live in one file each, in the order the data flows through them:
//!
//! * [`components`]: candidates in, links out. Sorts the usable candidates into solver order,
//!   splits them into connected components (step 1), solves stars directly and hands every
//!   other component, as a [`graph::Graph`], to the solver; collects the chosen ranks.
//! * [`weights`]: a component's scores in, exact perturbed integer weights out (step 2), in
//!   `i64` when they fit 61 bits, otherwise `i128`; also the scaling between those weights and
//!   the auction's 61-bit ones.
//! * [`graph`]: the component as edge lists and in compressed adjacency form, both sides.
//! * [`solver`]: weights and adjacency in, the chosen edges out. Runs the auction first on
//!   large components, then the exact search, and back to the auction when the search runs
//!   out of budget.
//! * [`auction`]: the `ε`-scaling forward/reverse auction (step 3): prices and holdings out,
//!   close to optimal at a coarse scale.
//! * [`repair`]: the exact primal-dual search (step 4): duals from the auction's prices (or
//!   zero) in, an optimal matching for the perturbed weights out.
//!
//! Splitting it this way keeps each phase readable alone; the phases share plain data
//! (`pub(super)` fields), not behaviour.

mod auction;
mod components;
mod graph;
mod repair;
mod solver;
mod weights;

#[cfg(test)]
mod tests;

use self::components::optimal_tuned;
use crate::linkage::Candidate;

/// One-to-one links of maximum total score (maximum-weight bipartite matching).
///
/// Each record of either side is linked at most once, and the sum of the linked scores is as
/// large as possible; records may stay unlinked (every score counts as a gain, so the result is
/// not a perfect matching and need not have the most links). Unlike
/// [`greedy`](super::greedy), one high pair cannot block two good ones: for `a0-b0` 0.90,
/// `a0-b1` 0.85, `a1-b0` 0.85, greedy links `a0-b0` (total 0.90) while this links `a0-b1` and
/// `a1-b0` (total 1.70).
///
/// Candidates whose score is not a finite number above 0 could only lower a total and are
/// ignored. Duplicate pairs are allowed; at most one of them is linked. Returns the links sorted
/// by [`Candidate::solver_order`].
///
/// # Ties
///
/// Totals are compared exactly, not in floating point (but see the rounding in step 2 below for
/// absurd score ranges). When several matchings reach the maximum total, the tie is broken by
/// *rank sum*, not lexicographically:
///
/// * Number the candidates of each connected component (step 1 below) by solver order: rank 0
///   is the one with the highest score, then lowest `a`, then lowest `b`; the component has `R`
///   candidates.
/// * Among the matchings of maximum total, the result maximises the sum of `R - rank` over its
///   links, that is `R · links - (sum of ranks)`: it prefers candidates that come early in
///   solver order, and of two matchings with the same number of links, the smaller rank sum.
///
/// This is **not** the lexicographically first optimum: a link of rank 0 does not beat
/// everything else. Links of ranks {1, 2} beat links of ranks {0, 4} (equal totals assumed),
/// and {0, 3} ties with {1, 2}. Matchings that also tie on this sum (with every score equal on
/// a complete `n x n` component, every perfect matching has the same rank sum) are told apart
/// by the algorithm itself: which one is returned is not specified, but it depends only on the
/// set of candidates, never on their order, and stays the same when records are renumbered in
/// the same relative order.
///
/// # Algorithm
///
/// The candidates form a bipartite graph: `a` records on the left, `b` records on the right,
/// one edge per candidate.
///
/// 1. **Components.** A union-find splits the graph into connected components, solved one by
///    one; a component with a single record on one side (a star) takes its best edge (rank 0).
/// 2. **Exact perturbed integer weights.** A component's scores are multiplied by one power of
///    two: every finite `f64` is `m·2^e` with an integer `m`, so the products `w` are integers
///    equal to the scores up to a common factor, with no rounding. Each edge then weighs
///    `w' = w·K + (R - rank)` with `K = min(left records, right records) · R + 1`. A matching
///    has at most `min(..)` links, each adding between 1 and `R`, so its perturbation sum lies
///    in `0..K`: one unit of `w` outweighs any difference in perturbation, and the matchings of
///    maximum `w'` total are exactly those of maximum `w` total with the largest perturbation
///    sum. No tie handling is needed after that. The weights fit `i64` when `w'` needs at most
///    61 bits, otherwise `i128` (up to 125 bits). `K` needs at most 64 bits, so `w` is exact
///    whenever it fits `125 - bits(K)` bits: at least 61, enough for any scores within
///    `[2^-7, 1]`; 87 bits for a component of a million candidates. Beyond that `w` is rounded
///    down to the bits available (and to at least 1), deterministically, and the totals and
///    the tie rule apply to the rounded weights.
/// 3. **Auction** (components of at least 1,000 candidates). Left records bid for right
///    records: a left record without a link takes the right record of largest profit (weight
///    minus price; staying unlinked has profit 0), raising its price by the margin over the
///    second best plus `ε`, and the left record that held it bids again; a right record left
///    without a link at a positive price bids back for the left record that gains most from
///    it, or drops its price to 0. A scaling phase ends when every left record is within `ε`
///    of its best profit (`ε`-complementary slackness); `ε` starts at an eighth of the largest
///    weight and shrinks eightfold per phase, keeping prices and links (a link stays when
///    lowering its price suffices to keep it within the new `ε`). The auction works on the
///    weights times `left records + 1`, rounded to 61 bits: when that rounding is exact, the
///    phase at `ε = 1` ends with an optimal matching (it is within `left records · ε` of the
///    optimum, less than one unit of `w'`), and step 4 is skipped. The auction is fast where
///    the search of step 4 is slow: the first phases settle, at a coarse scale, which left
///    record goes where in the whole component at once.
/// 4. **Exact primal-dual search.** Dual values are the auction's prices on the right and each
///    left record's best profit at those prices (`y + z >= w'` on every edge); the auction's
///    links whose reduced cost `y + z - w'` is 0 stay, and a left record without a link takes a
///    free right record over an edge of reduced cost 0 if it has one (a greedy start). Every
///    record still without a link but with a positive dual then runs one Dijkstra search over
///    reduced costs along alternating paths, stopping at the cheaper of a free record of the
///    other side (the matching grows) and a record of its own side whose dual can fall to 0
///    (it gives up its partner, or stays unlinked). Shifting the duals by the distances keeps every reduced cost non-negative and
///    makes the path tight. At the end, links are tight and records without a link have dual
///    0: complementary slackness, so the matching is optimal for `w'`, hence of maximum total
///    and preferred by the tie rule. Small components start from zero prices, which makes
///    this the Hungarian method. After the auction, the search usually only has short paths
///    to find, once `ε` is down to the largest weight over `2^12`; it is tried there with a
///    budget of four edge scans per candidate, and when that runs out (large groups of equal
///    scores make long paths), the auction carries on from where the search stopped and the
///    search is tried again after twice as many phases as before (without a budget once the
///    auction has reached `ε = 1`).
///
/// # Cost
///
/// `O(m log m)` for sorting `m` candidates. For a component of `m` candidates, an auction
/// phase costs about `O(m)` (bids are cheap, but a phase may need several per left record),
/// with `O(log(n·W))` phases for `n` records and largest weight `W`: at most 20 (61 bits,
/// eightfold), usually 5 before the search. Each search explores only the alternating paths
/// shorter than what it settles; on perturbed weights these are short, but on large groups of
/// exactly equal scores they can span the component, `O(m log n)` each, which is what the
/// budget guards against. Memory is linear in `m`.
pub fn optimal(candidates: &[Candidate]) -> Vec<Candidate> {
    optimal_tuned(candidates, &Tuning::DEFAULT)
}

/// The constants of the solver, as one value so that tests can exercise every path on small
/// graphs.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    /// Components with at least this many candidates get the auction (step 3) first.
    auction_edges: usize,
    /// The search is first tried once `ε` is down to the largest weight over `2^stop_bits`.
    stop_bits: u32,
    /// The search's budget, in edge scans per candidate.
    budget: u64,
}

impl Tuning {
    const DEFAULT: Tuning = Tuning {
        auction_edges: 1000,
        stop_bits: 12,
        budget: 4,
    };
}
