//! Maximum-weight one-to-one matching for [`optimal`], whose documentation describes the
//! algorithm: exact integer weights with a tie-breaking perturbation, then per component an
//! auction for large components and an exact primal-dual search to finish.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::{Add, AddAssign, Sub, SubAssign};

use super::util::{NONE, Renumber, UnionFind};
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

fn optimal_tuned(candidates: &[Candidate], tuning: &Tuning) -> Vec<Candidate> {
    let mut keys: Vec<u128> = candidates
        .iter()
        .filter(|c| c.score.is_finite() && c.score > 0.0)
        .map(sort_key)
        .collect();
    keys.sort_unstable();
    let edges: Vec<Candidate> = keys
        .iter()
        .map(|&k| Candidate {
            a: (k >> 32) as u32,
            b: k as u32,
            score: f64::from_bits(!((k >> 64) as u64)),
        })
        .collect();
    drop(keys);
    let left = Renumber::new(edges.iter().map(|c| c.a));
    let right = Renumber::new(edges.iter().map(|c| c.b));
    let (nl, nr) = (left.len(), right.len());
    let ends: Vec<(u32, u32)> = edges
        .iter()
        .map(|c| (left.id(c.a) as u32, right.id(c.b) as u32))
        .collect();

    // Connected components, numbered in order of their best edge.
    let mut uf = UnionFind::new(nl + nr);
    for &(l, r) in &ends {
        uf.union(l, nl as u32 + r);
    }
    let mut comp_of_root = vec![NONE; nl + nr];
    let mut comp_of_edge = Vec::with_capacity(ends.len());
    let mut starts: Vec<usize> = Vec::new();
    for &(l, _) in &ends {
        let root = uf.find(l) as usize;
        if comp_of_root[root] == NONE {
            comp_of_root[root] = starts.len() as u32;
            starts.push(0);
        }
        let comp = comp_of_root[root];
        starts[comp as usize] += 1;
        comp_of_edge.push(comp);
    }
    drop(uf);
    drop(comp_of_root);
    // Counting sort of edge ranks by component; stable, so each component is in rank order.
    let mut total = 0;
    for start in &mut starts {
        let count = *start;
        *start = total;
        total += count;
    }
    starts.push(total);
    // The edges themselves are moved (random writes) so that each component is then read in
    // one sweep rather than gathered from all over the rank order.
    let mut cursor = starts.clone();
    let mut grouped = vec![Placed::default(); ends.len()];
    for (rank, (&comp, &(l, r))) in comp_of_edge.iter().zip(&ends).enumerate() {
        grouped[cursor[comp as usize]] = Placed {
            l,
            r,
            rank: rank as u32,
            score: edges[rank].score,
        };
        cursor[comp as usize] += 1;
    }
    drop(comp_of_edge);
    drop(ends);

    let mut local_l = vec![NONE; nl];
    let mut local_r = vec![NONE; nr];
    let mut graph = Graph::default();
    let mut workspace = Workspace::default();
    let mut chosen: Vec<u32> = Vec::new();
    let mut local: Vec<u32> = Vec::new();
    for comp in starts.windows(2) {
        let placed = &grouped[comp[0]..comp[1]];
        graph.clear();
        for e in placed {
            if local_l[e.l as usize] == NONE {
                local_l[e.l as usize] = graph.nl as u32;
                graph.nl += 1;
            }
            if local_r[e.r as usize] == NONE {
                local_r[e.r as usize] = graph.nr as u32;
                graph.nr += 1;
            }
            graph.el.push(local_l[e.l as usize]);
            graph.er.push(local_r[e.r as usize]);
            graph.score.push(e.score);
        }
        if graph.nl == 1 || graph.nr == 1 {
            // A star: any matching has one edge, so the best edge (first in rank order) wins.
            chosen.push(placed[0].rank);
        } else {
            local.clear();
            workspace.solve(&graph, tuning, &mut local);
            chosen.extend(local.iter().map(|&e| placed[e as usize].rank));
        }
    }
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|rank| edges[rank as usize])
        .collect()
}

/// Solver order as one integer, for a score that is finite and above 0: descending score (the
/// bits of a positive finite `f64` order like its value), then ascending `a`, then ascending
/// `b`. Integers sort faster than the comparison chain.
fn sort_key(c: &Candidate) -> u128 {
    (u128::from(!c.score.to_bits()) << 64) | (u128::from(c.a) << 32) | u128::from(c.b)
}

/// An edge in the list grouped by component: its records (numbered over all components), its
/// rank in solver order and its score.
#[derive(Clone, Copy, Default)]
struct Placed {
    l: u32,
    r: u32,
    rank: u32,
    score: f64,
}

/// One connected component with records renumbered from 0, edges in solver order.
#[derive(Default)]
struct Graph {
    nl: usize,
    nr: usize,
    el: Vec<u32>,
    er: Vec<u32>,
    score: Vec<f64>,
}

impl Graph {
    fn clear(&mut self) {
        self.nl = 0;
        self.nr = 0;
        self.el.clear();
        self.er.clear();
        self.score.clear();
    }
}

/// Buffers reused from one component to the next, for narrow and for wide weights.
#[derive(Default)]
struct Workspace {
    narrow: Solver<i64>,
    wide: Solver<i128>,
    auction: Auction,
}

impl Workspace {
    /// Solves one component; appends the indices of the chosen edges to `chosen`.
    fn solve(&mut self, graph: &Graph, tuning: &Tuning, chosen: &mut Vec<u32>) {
        if weights(graph, &mut self.narrow.w_rank, &mut self.wide.w_rank) {
            self.narrow.solve(graph, tuning, &mut self.auction, chosen);
        } else {
            self.wide.solve(graph, tuning, &mut self.auction, chosen);
        }
    }
}

/// Most bits of a perturbed weight in `i64` and in `i128`: the solver computes values up to
/// three times the largest weight, which must still fit.
const NARROW_BITS: u32 = 61;
const WIDE_BITS: u32 = 125;

/// Writes the perturbed integer weights `w·K + (R - rank)` of a component (step 2), in rank
/// order, to `narrow` when they fit 61 bits (and returns true), otherwise to `wide`.
fn weights(graph: &Graph, narrow: &mut Vec<i64>, wide: &mut Vec<i128>) -> bool {
    let scores = &graph.score;
    let r = scores.len() as u128;
    // At most (2^32 - 1)^2 + 1 < 2^64: left, right and edge counts fit u32.
    let k = graph.nl.min(graph.nr) as u128 * r + 1;
    let k_bits = bit_len(k);
    let scale = Scale::new(scores, WIDE_BITS - k_bits);
    let perturbed = scores
        .iter()
        .enumerate()
        .map(|(rank, &s)| scale.apply(s) * k + (r - rank as u128));
    narrow.clear();
    wide.clear();
    if scale.bits + k_bits <= NARROW_BITS {
        narrow.extend(perturbed.map(|v| v as i64));
        true
    } else {
        wide.extend(perturbed.map(|v| v as i128));
        false
    }
}

fn bit_len(v: u128) -> u32 {
    u128::BITS - v.leading_zeros()
}

/// `score = mantissa · 2^exponent` with an odd mantissa, for a finite score above 0.
fn decompose(score: f64) -> (u64, i32) {
    let bits = score.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let zeros = mantissa.trailing_zeros().min(63);
    (mantissa >> zeros, exponent + zeros as i32)
}

/// Scores times one power of two, as integers. Exact when the largest fits `max_bits` bits
/// (at most 125); otherwise every value is rounded down to that precision, and to at least 1.
struct Scale {
    /// `score · 2^shift` is an integer for every score...
    shift: i32,
    /// ...which is divided by `2^excess` to fit.
    excess: i32,
    /// The bit length of the largest value.
    bits: u32,
}

impl Scale {
    fn new(scores: &[f64], max_bits: u32) -> Scale {
        let shift = scores.iter().map(|&s| -decompose(s).1).max().unwrap_or(0);
        let top = scores
            .iter()
            .map(|&s| {
                let (m, e) = decompose(s);
                (u64::BITS - m.leading_zeros()) as i32 + e + shift
            })
            .max()
            .unwrap_or(0);
        // Without excess, e + shift >= 0 by the choice of shift and every value fits max_bits.
        let excess = (top - max_bits as i32).max(0);
        Scale {
            shift,
            excess,
            bits: (top - excess) as u32,
        }
    }

    fn apply(&self, score: f64) -> u128 {
        let (m, e) = decompose(score);
        let s = e + self.shift - self.excess;
        let w = if s >= 0 {
            u128::from(m) << s
        } else if s > -64 {
            u128::from(m >> -s)
        } else {
            0
        };
        w.max(1)
    }
}

/// Integer weights and duals of the exact search. Every value it computes lies within three
/// times the largest weight of zero, so 61-bit weights fit `i64` and 125-bit weights `i128`.
trait Weight:
    Copy + Ord + Default + Add<Output = Self> + Sub<Output = Self> + AddAssign + SubAssign
{
    const ZERO: Self;
    /// The value of a weight (at least 0).
    fn get(self) -> u128;
    /// A weight of this value (which fits).
    fn new(value: u128) -> Self;
}

impl Weight for i64 {
    const ZERO: i64 = 0;

    fn get(self) -> u128 {
        self as u128
    }

    fn new(value: u128) -> i64 {
        value as i64
    }
}

impl Weight for i128 {
    const ZERO: i128 = 0;

    fn get(self) -> u128 {
        self as u128
    }

    fn new(value: u128) -> i128 {
        value as i128
    }
}

/// `w · scale / 2^shift`, rounded down: a weight for the auction, when `shift` brings the
/// largest to 61 bits.
fn scale_down(w: u128, scale: u128, shift: u32) -> i64 {
    let pre = (bit_len(w) + bit_len(scale))
        .saturating_sub(u128::BITS)
        .min(shift);
    (((w >> pre) * scale) >> (shift - pre)) as i64
}

/// About `price · 2^shift / scale`: an auction price back in units of the weights.
fn scale_up(price: i64, scale: u128, shift: u32) -> u128 {
    let first = shift.min(64);
    (((price.max(0) as u128) << first) / scale) << (shift - first)
}

/// One side of a component's bipartite graph in compressed form: the edges of vertex `v` are
/// `start[v]..start[v + 1]`; edge `i` leads to vertex `next[i]` of the other side, and on the
/// right side it is edge `slot[i]` of the left side (`slot` is empty on the left).
#[derive(Default)]
struct Adjacency {
    start: Vec<u32>,
    next: Vec<u32>,
    slot: Vec<u32>,
}

impl Adjacency {
    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn edges(&self, v: usize) -> std::ops::Range<usize> {
        self.start[v] as usize..self.start[v + 1] as usize
    }

    /// Groups the edges `0..keys.len()` by their vertex `keys[e]` among `n` (stably, so in
    /// rank order): fills `start` and leaves the edges in `order`; `cursor` is scratch.
    fn group(&mut self, n: usize, keys: &[u32], order: &mut Vec<u32>, cursor: &mut Vec<u32>) {
        let start = &mut self.start;
        start.clear();
        start.resize(n + 1, 0);
        for &k in keys {
            start[k as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        cursor.clear();
        cursor.extend_from_slice(&start[..n]);
        order.clear();
        order.resize(keys.len(), 0);
        for (e, &k) in keys.iter().enumerate() {
            order[cursor[k as usize] as usize] = e as u32;
            cursor[k as usize] += 1;
        }
    }
}

/// One side of a component for the exact search: adjacency, weights by edge of the adjacency,
/// and records.
#[derive(Default)]
struct Side<W> {
    adj: Adjacency,
    w: Vec<W>,
    v: Vec<Vertex<W>>,
}

/// A record in the exact search: its dual value and partner (`mate`), and the search's
/// scratch, kept together because searches visit records in random order.
#[derive(Clone, Copy)]
struct Vertex<W> {
    dual: W,
    dist: W,
    mate: u32,
    pred: u32,
    /// The last search (epoch) that reached this record, and that settled it.
    seen: u32,
    done: u32,
}

impl<W: Weight> Side<W> {
    /// Clears the duals and partners for the records of the adjacency. Stamps of earlier
    /// components are below the current epoch, so the scratch needs no clearing.
    fn reset(&mut self) {
        let n = self.adj.len();
        self.v.truncate(n);
        for v in &mut self.v {
            v.dual = W::ZERO;
            v.mate = NONE;
        }
        self.v.resize(
            n,
            Vertex {
                dual: W::ZERO,
                dist: W::ZERO,
                mate: NONE,
                pred: NONE,
                seen: 0,
                done: 0,
            },
        );
    }
}

/// Steps 3 and 4 on one component at a time, with buffers kept between components.
#[derive(Default)]
struct Solver<W> {
    /// The weights in rank order, as [`weights`] wrote them.
    w_rank: Vec<W>,
    left: Side<W>,
    right: Side<W>,
    // Search scratch.
    epoch: u32,
    heap: BinaryHeap<Reverse<(W, u32)>>,
    tree_s: Vec<u32>,
    tree_t: Vec<u32>,
    pending: Vec<u32>,
    // Adjacency construction.
    order: Vec<u32>,
    cursor: Vec<u32>,
}

impl<W: Weight> Solver<W> {
    /// The optimum for the weights `w_rank` of `graph`: appends the indices of the chosen
    /// edges to `chosen`.
    fn solve(
        &mut self,
        graph: &Graph,
        tuning: &Tuning,
        auction: &mut Auction,
        chosen: &mut Vec<u32>,
    ) {
        self.build(graph);
        if graph.el.len() < tuning.auction_edges {
            auction.held.clear();
            auction.held.resize(graph.nl, NONE);
            self.search_all(auction, u64::MAX);
        } else {
            self.auction_then_search(graph, tuning, auction);
        }
        // The linked edge of a left record: among duplicate pairs, the first in rank order,
        // which has the largest weight and so is the tight one.
        let left = &mut self.left.v;
        for (e, (&l, &r)) in graph.el.iter().zip(&graph.er).enumerate() {
            if left[l as usize].mate == r {
                left[l as usize].mate = NONE;
                chosen.push(e as u32);
            }
        }
    }

    /// Builds both adjacencies of `graph`, with their weights, and clears the records.
    fn build(&mut self, graph: &Graph) {
        let m = graph.el.len();
        let (left, right) = (&mut self.left.adj, &mut self.right.adj);
        left.group(graph.nl, &graph.el, &mut self.order, &mut self.cursor);
        left.next.clear();
        left.next
            .extend(self.order.iter().map(|&e| graph.er[e as usize]));
        self.left.w.clear();
        self.left
            .w
            .extend(self.order.iter().map(|&e| self.w_rank[e as usize]));
        // The left slot of each edge, by edge, in `right.slot` for now.
        right.slot.clear();
        right.slot.resize(m, 0);
        for (slot, &e) in self.order.iter().enumerate() {
            right.slot[e as usize] = slot as u32;
        }
        right.group(graph.nr, &graph.er, &mut self.order, &mut self.cursor);
        right.next.clear();
        right
            .next
            .extend(self.order.iter().map(|&e| graph.el[e as usize]));
        self.right.w.clear();
        self.right
            .w
            .extend(self.order.iter().map(|&e| self.w_rank[e as usize]));
        self.cursor.clear();
        self.cursor
            .extend(self.order.iter().map(|&e| right.slot[e as usize]));
        std::mem::swap(&mut right.slot, &mut self.cursor);
        self.left.reset();
        self.right.reset();
    }

    /// Step 3, then step 4 once the auction is far enough; back to the auction when the
    /// search runs out of budget.
    fn auction_then_search(&mut self, graph: &Graph, tuning: &Tuning, auction: &mut Auction) {
        // The auction's weights: times `nl + 1`, so that `ε = 1` leaves less than one unit of
        // `w'` to gain, and rounded down to 61 bits.
        let top = self.w_rank.iter().map(|w| w.get()).max().unwrap_or(0);
        let scale = graph.nl as u128 + 1;
        let shift = (bit_len(top) + bit_len(scale)).saturating_sub(NARROW_BITS);
        let down = |w: &W| scale_down(w.get(), scale, shift);
        auction.start(
            &self.left.adj,
            &self.right.adj,
            self.left.w.iter().map(down),
            self.right.w.iter().map(down),
        );
        let mut level = (auction.top() >> tuning.stop_bits).max(1);
        let mut wait = ALPHA_BITS;
        loop {
            let converged = auction.phases(&self.left.adj, &self.right.adj, level);
            if converged && shift == 0 {
                // Exact weights and `ε = 1`: optimal as it stands.
                for (x, &s) in auction.held.iter().enumerate() {
                    if s < ALONE {
                        self.left.v[x].mate = self.left.adj.next[s as usize];
                    }
                }
                return;
            }
            for (v, &p) in self.right.v.iter_mut().zip(&auction.price) {
                v.dual = W::new(scale_up(p, scale, shift));
            }
            let budget = if converged {
                u64::MAX
            } else {
                tuning.budget * graph.el.len() as u64
            };
            if self.search_all(auction, budget) {
                return;
            }
            // Back to the auction, from where the search stands; try again after twice as
            // many phases.
            self.resume(auction, scale, shift);
            wait *= 2;
            level = auction.eps.checked_shr(wait).unwrap_or(0);
        }
    }

    /// Hands the state of an unfinished search back to the auction: prices from the duals of
    /// the right records, holdings from the links.
    fn resume(&mut self, auction: &mut Auction, scale: u128, shift: u32) {
        for (r, v) in self.right.v.iter_mut().enumerate() {
            auction.price[r] = scale_down(v.dual.get(), scale, shift);
            auction.owner[r] = std::mem::replace(&mut v.mate, NONE);
        }
        for (x, v) in self.left.v.iter_mut().enumerate() {
            auction.held[x] = if v.mate != NONE {
                // The first (heaviest) edge to the partner.
                let edges = self.left.adj.edges(x);
                let s = edges.start
                    + self.left.adj.next[edges]
                        .iter()
                        .position(|&r| r == v.mate)
                        .unwrap_or(0);
                auction.profit[x] = auction.wl[s] - auction.price[v.mate as usize];
                s as u32
            } else if v.dual == W::ZERO {
                auction.profit[x] = 0;
                ALONE
            } else {
                NONE
            };
            v.mate = NONE;
        }
    }

    /// Step 4 from the auction's holdings and the prices in the right records' duals (zero
    /// without an auction); returns false, unfinished, once the searches have scanned more
    /// than `budget` edges.
    fn search_all(&mut self, auction: &Auction, mut budget: u64) -> bool {
        // Feasible duals: prices as they are, and each left record's best profit at them. The
        // holdings that are tight under these duals become links.
        let (left, right) = (&mut self.left, &mut self.right);
        for x in 0..left.adj.len() {
            let edges = left.adj.edges(x);
            let best = left.adj.next[edges.clone()]
                .iter()
                .zip(&left.w[edges])
                .map(|(&r, &w)| w - right.v[r as usize].dual)
                .fold(W::ZERO, W::max);
            left.v[x].dual = best;
            let s = auction.held[x];
            if s < ALONE {
                let r = left.adj.next[s as usize];
                if left.w[s as usize] - right.v[r as usize].dual == best {
                    left.v[x].mate = r;
                    right.v[r as usize].mate = x as u32;
                }
            }
        }
        // Then free records with a positive dual, which violate complementary slackness: left
        // ones take a free right record on a tight edge when there is one (a greedy start),
        // and each of the others runs a search, which settles it and creates no violation.
        self.pending.clear();
        for x in 0..left.adj.len() {
            if left.v[x].mate != NONE || left.v[x].dual == W::ZERO {
                continue;
            }
            let edges = left.adj.edges(x);
            let dual = left.v[x].dual;
            let tight = edges.clone().find(|&s| {
                let r = left.adj.next[s] as usize;
                right.v[r].mate == NONE && left.w[s] - right.v[r].dual == dual
            });
            match tight {
                Some(s) => {
                    let r = left.adj.next[s];
                    left.v[x].mate = r;
                    right.v[r as usize].mate = x as u32;
                }
                None => self.pending.push(x as u32),
            }
        }
        let pending_left = self.pending.len();
        for r in 0..right.adj.len() {
            if right.v[r].mate == NONE && right.v[r].dual > W::ZERO {
                self.pending.push(r as u32);
            }
        }
        for i in 0..self.pending.len() {
            let u = self.pending[i];
            let (s, t) = if i < pending_left {
                (&mut self.left, &mut self.right)
            } else {
                (&mut self.right, &mut self.left)
            };
            if s.v[u as usize].mate == NONE && s.v[u as usize].dual > W::ZERO {
                if self.epoch == u32::MAX {
                    // Stamps restart from 0 rather than wrap around to a stale epoch.
                    for v in s.v.iter_mut().chain(t.v.iter_mut()) {
                        (v.seen, v.done) = (0, 0);
                    }
                    self.epoch = 0;
                }
                self.epoch += 1;
                let scanned = search(
                    s,
                    t,
                    u,
                    self.epoch,
                    &mut self.heap,
                    &mut self.tree_s,
                    &mut self.tree_t,
                );
                budget = budget.saturating_sub(scanned);
                if budget == 0 {
                    return false;
                }
            }
        }
        true
    }
}

/// Dijkstra from the free record `u` of side `s` (with a positive dual) over reduced costs
/// `dual_s + dual_t - w >= 0` along alternating paths, to the cheaper of a free record of side
/// `t` (the matching grows) and a record of side `s` whose dual can fall to 0 (it gives up its
/// partner, or `u` stays free); then shifts the duals by the distances and flips the path.
/// Afterwards `u` is linked or its dual is 0, and complementary slackness holds for every
/// record that held it before. Returns the number of edges scanned.
fn search<W: Weight>(
    s: &mut Side<W>,
    t: &mut Side<W>,
    u: u32,
    epoch: u32,
    heap: &mut BinaryHeap<Reverse<(W, u32)>>,
    tree_s: &mut Vec<u32>,
    tree_t: &mut Vec<u32>,
) -> u64 {
    heap.clear();
    tree_s.clear();
    tree_t.clear();
    s.v[u as usize].dist = W::ZERO;
    tree_s.push(u);
    // The cheapest way out found so far: `u` itself staying free costs its dual.
    let mut best = s.v[u as usize].dual;
    let mut best_s = u;
    let mut end_t = NONE;
    let mut scanned = relax(s, t, heap, epoch, u, W::ZERO, best);
    while let Some(Reverse((d, v))) = heap.pop() {
        if d >= best {
            break;
        }
        let tv = &mut t.v[v as usize];
        if tv.done == epoch || d != tv.dist {
            continue;
        }
        tv.done = epoch;
        tree_t.push(v);
        let x = tv.mate;
        if x == NONE {
            end_t = v;
            best = d;
            break;
        }
        let sx = &mut s.v[x as usize];
        sx.dist = d;
        tree_s.push(x);
        if d + sx.dual < best {
            best = d + sx.dual;
            best_s = x;
        }
        scanned += relax(s, t, heap, epoch, x, d, best);
    }
    for &x in tree_s.iter() {
        let sx = &mut s.v[x as usize];
        if sx.dist < best {
            sx.dual -= best - sx.dist;
        }
    }
    for &v in tree_t.iter() {
        let tv = &mut t.v[v as usize];
        if tv.dist < best {
            tv.dual += best - tv.dist;
        }
    }
    let mut v = if end_t != NONE {
        end_t
    } else if best_s == u {
        return scanned;
    } else {
        let v = std::mem::replace(&mut s.v[best_s as usize].mate, NONE);
        t.v[v as usize].mate = NONE;
        v
    };
    loop {
        let x = t.v[v as usize].pred;
        let previous = std::mem::replace(&mut s.v[x as usize].mate, v);
        t.v[v as usize].mate = x;
        if x == u {
            return scanned;
        }
        v = previous;
    }
}

/// Relaxes the edges of `x` (side `s`, at distance `dx`) in the search of `epoch`, keeping
/// only keys below `bound`; returns the number of edges.
fn relax<W: Weight>(
    s: &Side<W>,
    t: &mut Side<W>,
    heap: &mut BinaryHeap<Reverse<(W, u32)>>,
    epoch: u32,
    x: u32,
    dx: W,
    bound: W,
) -> u64 {
    let base = dx + s.v[x as usize].dual;
    let edges = s.adj.edges(x as usize);
    for (&v, &w) in s.adj.next[edges.clone()].iter().zip(&s.w[edges.clone()]) {
        let tv = &mut t.v[v as usize];
        if tv.done == epoch {
            continue;
        }
        let key = base + tv.dual - w;
        if key < bound && (tv.seen != epoch || key < tv.dist) {
            tv.seen = epoch;
            tv.dist = key;
            tv.pred = x;
            heap.push(Reverse((key, v)));
        }
    }
    edges.len() as u64
}

/// In the auction: a left record that holds nothing (linked to no one, at profit 0).
const ALONE: u32 = NONE - 1;

/// `ε` shrinks by `2^ALPHA_BITS` per phase of the auction, starting at the largest weight over
/// `2^ALPHA_BITS`.
const ALPHA_BITS: u32 = 3;

/// Step 3: forward/reverse auction with `ε`-scaling, on weights of at most 61 bits.
#[derive(Default)]
struct Auction {
    /// The weights of the left and of the right adjacency.
    wl: Vec<i64>,
    wr: Vec<i64>,
    /// Per right record: its price and the left record holding it (`NONE` if free).
    price: Vec<i64>,
    owner: Vec<u32>,
    /// Per left record: the left slot it holds, `ALONE`, or `NONE` while it waits to bid, and
    /// its profit from what it holds.
    held: Vec<u32>,
    profit: Vec<i64>,
    eps: i64,
    queue: VecDeque<u32>,
}

impl Auction {
    /// Starts an auction with zero prices and nothing held.
    fn start(
        &mut self,
        left: &Adjacency,
        right: &Adjacency,
        wl: impl Iterator<Item = i64>,
        wr: impl Iterator<Item = i64>,
    ) {
        self.wl.clear();
        self.wl.extend(wl);
        self.wr.clear();
        self.wr.extend(wr);
        self.price.clear();
        self.price.resize(right.len(), 0);
        self.owner.clear();
        self.owner.resize(right.len(), NONE);
        self.held.clear();
        self.held.resize(left.len(), NONE);
        self.profit.clear();
        self.profit.resize(left.len(), 0);
        self.eps = (self.top() >> ALPHA_BITS).max(1);
    }

    fn top(&self) -> i64 {
        self.wl.iter().copied().max().unwrap_or(0)
    }

    /// Runs scaling phases until one at `ε <= level` (then returns false) or at `ε = 1` (then
    /// returns true).
    fn phases(&mut self, left: &Adjacency, right: &Adjacency, level: i64) -> bool {
        loop {
            self.phase(left, right);
            if self.eps == 1 {
                return true;
            }
            let done = self.eps <= level;
            self.eps = (self.eps >> ALPHA_BITS).max(1);
            if done {
                return false;
            }
        }
    }

    /// The best profit left `x` could have at current prices (0 alone).
    fn best(&self, left: &Adjacency, x: usize) -> i64 {
        let edges = left.edges(x);
        left.next[edges.clone()]
            .iter()
            .zip(&self.wl[edges])
            .map(|(&r, &w)| w - self.price[r as usize])
            .fold(0, i64::max)
    }

    /// One scaling phase: every left record that is not within `ε` of its best profit bids
    /// again (forward), then every free right record with a positive price bids for a left
    /// record (reverse), until both sides satisfy `ε`-complementary slackness.
    fn phase(&mut self, left: &Adjacency, right: &Adjacency) {
        for x in 0..self.held.len() {
            let s = self.held[x];
            if s == NONE {
                self.queue.push_back(x as u32);
            } else if self.profit[x] + self.eps < self.best(left, x) {
                if s != ALONE {
                    if self.lower(left, right, x, s) {
                        continue;
                    }
                    self.owner[left.next[s as usize] as usize] = NONE;
                }
                self.held[x] = NONE;
                self.queue.push_back(x as u32);
            }
        }
        while let Some(x) = self.queue.pop_front() {
            self.bid(left, x as usize);
        }
        for r in 0..self.owner.len() {
            if self.owner[r] == NONE && self.price[r] > 0 {
                self.queue.push_back(r as u32);
            }
        }
        while let Some(r) = self.queue.pop_front() {
            self.reverse_bid(left, right, r as usize);
        }
    }

    /// Lowers the price of the right record that left `x` holds (on slot `s`) as far as the
    /// other left records adjacent to it stay within `ε` of their best profit, but not below
    /// what makes it the best for `x`; returns whether `x` is now within `ε` of its best. (If
    /// not, `x` lets the record go, at this lower price, which spares reverse bids.)
    fn lower(&mut self, left: &Adjacency, right: &Adjacency, x: usize, s: u32) -> bool {
        let r = left.next[s as usize] as usize;
        let w = self.wl[s as usize];
        let best = self.best(left, x);
        let mut lowest = (w - best).max(0);
        for i in right.edges(r) {
            let y = right.next[i] as usize;
            if y != x && self.held[y] != NONE {
                lowest = lowest.max(self.wr[i] - self.profit[y] - self.eps);
            }
        }
        self.price[r] = lowest;
        self.profit[x] = w - lowest;
        lowest <= w - best + self.eps
    }

    /// Forward bid of the unassigned left `x`: takes its best right record (or stays alone
    /// when nothing is worth more than 0), raising the price by the margin over the second
    /// best plus `ε`.
    fn bid(&mut self, left: &Adjacency, x: usize) {
        let (mut first, mut second, mut slot) = (0, i64::MIN / 2, ALONE);
        for s in left.edges(x) {
            let v = self.wl[s] - self.price[left.next[s] as usize];
            if v > first {
                second = first;
                first = v;
                slot = s as u32;
            } else if v > second {
                second = v;
            }
        }
        self.held[x] = slot;
        if slot == ALONE {
            self.profit[x] = 0;
            return;
        }
        let s = slot as usize;
        let r = left.next[s] as usize;
        // `second >= 0` (staying alone), so the price stays below the weight plus `ε`.
        self.price[r] = self.wl[s] - second + self.eps;
        self.profit[x] = second - self.eps;
        let previous = std::mem::replace(&mut self.owner[r], x as u32);
        if previous != NONE {
            self.held[previous as usize] = NONE;
            self.queue.push_back(previous);
        }
    }

    /// Reverse bid of the free right `r` with a positive price: either it drops its price to
    /// 0 (no left record would gain more than `ε` from it), or it takes the left record that
    /// gains most, at the price that keeps every other left record within `ε`; that record's
    /// previous right record becomes free.
    fn reverse_bid(&mut self, left: &Adjacency, right: &Adjacency, r: usize) {
        let (mut first, mut second, mut edge) = (i64::MIN / 2, i64::MIN / 2, 0);
        for i in right.edges(r) {
            let v = self.wr[i] - self.profit[right.next[i] as usize];
            if v > first {
                second = first;
                first = v;
                edge = i;
            } else if v > second {
                second = v;
            }
        }
        if first <= self.eps {
            self.price[r] = 0;
            return;
        }
        let price = (second - self.eps).max(0);
        let x = right.next[edge];
        self.price[r] = price;
        self.owner[r] = x;
        self.profit[x as usize] = self.wr[edge] - price;
        let previous = std::mem::replace(&mut self.held[x as usize], right.slot[edge]);
        if previous != ALONE {
            let o = left.next[previous as usize] as usize;
            self.owner[o] = NONE;
            if self.price[o] > 0 {
                self.queue.push_back(o as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::greedy;
    use super::super::tests::{SplitMix, c};
    use super::*;
    use proptest::prelude::*;

    /// The scores as integers, with the bit length of the largest (see [`Scale`]).
    fn integers(scores: &[f64], max_bits: u32) -> (Vec<u128>, u32) {
        let scale = Scale::new(scores, max_bits);
        (scores.iter().map(|&s| scale.apply(s)).collect(), scale.bits)
    }

    #[derive(Debug, PartialEq)]
    enum Weights {
        Narrow(Vec<i64>),
        Wide(Vec<i128>),
    }

    /// [`weights`] of a component with these scores and record counts.
    fn weights_of(scores: &[f64], nl: usize, nr: usize) -> Weights {
        let graph = Graph {
            nl,
            nr,
            score: scores.to_vec(),
            ..Graph::default()
        };
        let (mut narrow, mut wide) = (Vec::new(), Vec::new());
        if weights(&graph, &mut narrow, &mut wide) {
            Weights::Narrow(narrow)
        } else {
            Weights::Wide(wide)
        }
    }

    fn total(links: &[Candidate]) -> f64 {
        links.iter().map(|l| l.score).sum()
    }

    /// One component of the usable candidates, in solver order, with what the tie rule needs.
    struct Component {
        edges: Vec<Candidate>,
        /// Exact integer weights, in proportion to the scores.
        w: Vec<u128>,
        nl: usize,
        nr: usize,
    }

    impl Component {
        /// The rule's objective for a set of links of this component: exact total weight, then
        /// the perturbation sum (`R - rank`, a link ranked as the first equal candidate).
        fn objective(&self, links: &[Candidate]) -> (u128, u128) {
            let r = self.edges.len() as u128;
            links.iter().fold((0, 0), |(w, p), link| {
                let rank = self
                    .edges
                    .iter()
                    .position(|e| e == link)
                    .expect("a candidate");
                (w + self.w[rank], p + r - rank as u128)
            })
        }

        /// The same as one perturbed integer, `w·K + p` with `K = min(nl, nr)·R + 1`.
        fn perturbed(&self, (w, p): (u128, u128)) -> u128 {
            w * (self.nl.min(self.nr) as u128 * self.edges.len() as u128 + 1) + p
        }
    }

    /// Components computed independently of the solver (quadratic, for small tests).
    fn components(candidates: &[Candidate]) -> Vec<Component> {
        let mut edges: Vec<Candidate> = candidates
            .iter()
            .copied()
            .filter(|c| c.score.is_finite() && c.score > 0.0)
            .collect();
        edges.sort_by(Candidate::solver_order);
        let mut group: Vec<usize> = (0..edges.len()).collect();
        // Merge until stable: edges sharing a record share a group.
        loop {
            let mut changed = false;
            for i in 0..edges.len() {
                for j in 0..edges.len() {
                    if (edges[i].a == edges[j].a || edges[i].b == edges[j].b) && group[j] > group[i]
                    {
                        group[j] = group[i];
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut ids: Vec<usize> = group.clone();
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .map(|&g| {
                let edges: Vec<Candidate> = edges
                    .iter()
                    .zip(&group)
                    .filter(|&(_, &h)| h == g)
                    .map(|(e, _)| *e)
                    .collect();
                let scores: Vec<f64> = edges.iter().map(|e| e.score).collect();
                let (w, bits) = integers(&scores, 125);
                assert!(bits < 125, "test scores must scale exactly");
                let mut ls: Vec<u32> = edges.iter().map(|e| e.a).collect();
                let mut rs: Vec<u32> = edges.iter().map(|e| e.b).collect();
                ls.sort_unstable();
                ls.dedup();
                rs.sort_unstable();
                rs.dedup();
                Component {
                    edges,
                    w,
                    nl: ls.len(),
                    nr: rs.len(),
                }
            })
            .collect()
    }

    /// Asserts that `links` is a one-to-one subset of `candidates` in solver order, and returns
    /// the rule's objective for each component.
    fn objectives(candidates: &[Candidate], links: &[Candidate]) -> Vec<(u128, u128)> {
        assert!(
            links
                .windows(2)
                .all(|p| Candidate::solver_order(&p[0], &p[1]).is_lt()),
            "sorted by solver order: {links:?}"
        );
        for (i, x) in links.iter().enumerate() {
            assert!(candidates.contains(x), "{x:?} is no candidate");
            for y in &links[i + 1..] {
                assert!(x.a != y.a && x.b != y.b, "{x:?} and {y:?} share a record");
            }
        }
        components(candidates)
            .iter()
            .map(|comp| {
                let mine: Vec<Candidate> = links
                    .iter()
                    .copied()
                    .filter(|l| comp.edges.iter().any(|e| e.a == l.a))
                    .collect();
                comp.objective(&mine)
            })
            .collect()
    }

    /// The rule's optimum per component, by enumerating every matching.
    fn brute_force(candidates: &[Candidate]) -> Vec<(u128, u128)> {
        fn walk(comp: &Component, i: usize, current: &mut Vec<Candidate>, best: &mut (u128, u128)) {
            if i == comp.edges.len() {
                *best = (*best).max(comp.objective(current));
                return;
            }
            let e = comp.edges[i];
            if current.iter().all(|l| l.a != e.a && l.b != e.b) {
                current.push(e);
                walk(comp, i + 1, current, best);
                current.pop();
            }
            walk(comp, i + 1, current, best);
        }
        components(candidates)
            .iter()
            .map(|comp| {
                let mut best = (0, 0);
                walk(comp, 0, &mut Vec::new(), &mut best);
                best
            })
            .collect()
    }

    /// The rule's optimum per component as one perturbed integer, by a textbook `O(n^3)`
    /// Hungarian method on the dense (padded) weight matrix: an independent check for graphs
    /// too large to enumerate.
    fn reference_hungarian(candidates: &[Candidate]) -> Vec<u128> {
        components(candidates)
            .iter()
            .map(|comp| {
                let mut ls: Vec<u32> = comp.edges.iter().map(|e| e.a).collect();
                let mut rs: Vec<u32> = comp.edges.iter().map(|e| e.b).collect();
                ls.sort_unstable();
                ls.dedup();
                rs.sort_unstable();
                rs.dedup();
                let n = ls.len().max(rs.len());
                // Cost = -weight, 0 for "unmatched"; keep the best duplicate.
                let mut cost = vec![vec![0i128; n + 1]; n + 1];
                for (rank, e) in comp.edges.iter().enumerate() {
                    let weight = comp.perturbed(comp.objective(&comp.edges[rank..=rank]));
                    let (i, j) = (
                        ls.binary_search(&e.a).unwrap() + 1,
                        rs.binary_search(&e.b).unwrap() + 1,
                    );
                    cost[i][j] = cost[i][j].min(-(weight as i128));
                }
                let (mut u, mut v) = (vec![0i128; n + 1], vec![0i128; n + 1]);
                let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
                for i in 1..=n {
                    p[0] = i;
                    let mut j0 = 0;
                    let mut minv = vec![i128::MAX; n + 1];
                    let mut used = vec![false; n + 1];
                    loop {
                        used[j0] = true;
                        let (i0, mut delta, mut j1) = (p[j0], i128::MAX, 0);
                        for j in 1..=n {
                            if !used[j] {
                                let cur = cost[i0][j] - u[i0] - v[j];
                                if cur < minv[j] {
                                    minv[j] = cur;
                                    way[j] = j0;
                                }
                                if minv[j] < delta {
                                    delta = minv[j];
                                    j1 = j;
                                }
                            }
                        }
                        for j in 0..=n {
                            if used[j] {
                                u[p[j]] += delta;
                                v[j] -= delta;
                            } else {
                                minv[j] -= delta;
                            }
                        }
                        j0 = j1;
                        if p[j0] == 0 {
                            break;
                        }
                    }
                    loop {
                        let j1 = way[j0];
                        p[j0] = p[j1];
                        j0 = j1;
                        if j0 == 0 {
                            break;
                        }
                    }
                }
                (1..=n).map(|j| -cost[p[j]][j]).sum::<i128>() as u128
            })
            .collect()
    }

    /// Every path through the solver on small graphs: the defaults (small components go
    /// straight to the search), the auction with the search tried at the usual point, right
    /// after the first phase, and with no budget for the search (so the auction resumes after
    /// every try, down to `ε = 1`).
    const TUNINGS: [Tuning; 4] = [
        Tuning::DEFAULT,
        Tuning {
            auction_edges: 0,
            ..Tuning::DEFAULT
        },
        Tuning {
            auction_edges: 0,
            stop_bits: 0,
            ..Tuning::DEFAULT
        },
        Tuning {
            auction_edges: 0,
            stop_bits: 0,
            budget: 0,
        },
    ];

    /// Checks every path of `optimal` against brute force: a valid matching, of exactly the
    /// maximum total, and preferred by the tie rule (so it is the rule's optimum, or one of
    /// several that also tie on the rank sum).
    fn check_brute_force(cands: &[Candidate]) -> Result<(), TestCaseError> {
        let expected = brute_force(cands);
        for tuning in &TUNINGS {
            let links = optimal_tuned(cands, tuning);
            prop_assert_eq!(
                objectives(cands, &links),
                expected.clone(),
                "{:?} with {:?} -> {:?}",
                cands,
                tuning,
                links
            );
        }
        Ok(())
    }

    #[test]
    fn greedy_failure_case() {
        // a0-b0 0.9, a0-b1 0.85, a1-b0 0.85.
        let cands = [c(0, 0, 0.9), c(0, 1, 0.85), c(1, 0, 0.85)];
        assert_eq!(greedy(&cands), vec![c(0, 0, 0.9)]);
        assert_eq!(optimal(&cands), vec![c(0, 1, 0.85), c(1, 0, 0.85)]);
    }

    #[test]
    fn optimal_keeps_the_high_pair_when_it_is_worth_it() {
        let cands = [c(0, 0, 0.9), c(0, 1, 0.4), c(1, 0, 0.4)];
        assert_eq!(optimal(&cands), vec![c(0, 0, 0.9)]);
    }

    #[test]
    fn totals_are_exact() {
        // In f64, 0.1 + 0.2 > 0.3 (the nearest doubles are not in that proportion), so the
        // pair wins; with 0.30000000000000004 the totals are equal... and still the pair wins,
        // on the rank sum. The exact comparison decides, not a rounded sum.
        let cands = [c(0, 0, 0.3), c(0, 1, 0.2), c(1, 0, 0.1), c(2, 0, 0.05)];
        assert_eq!(optimal(&cands), vec![c(0, 1, 0.2), c(1, 0, 0.1)]);
        // 0.5 + 0.375 > 0.75.
        let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.375)];
        assert_eq!(optimal(&cands), vec![c(0, 1, 0.5), c(1, 0, 0.375)]);
        // 0.5 + 0.125 < 0.75.
        let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.125)];
        assert_eq!(optimal(&cands), vec![c(0, 0, 0.75)]);
    }

    #[test]
    fn equal_totals_go_to_the_larger_sum_of_r_minus_rank() {
        // 0.75 == 0.5 + 0.25 exactly. Ranks a0-b0 0, a0-b1 1, a1-b0 2, a2-b0 3; R = 4.
        // {a0-b0}: 4; {a0-b1, a1-b0}: 3 + 2 = 5, so the pair wins.
        let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.25), c(2, 0, 0.125)];
        assert_eq!(optimal(&cands), vec![c(0, 1, 0.5), c(1, 0, 0.25)]);
        // Two lower duplicates of a0-b0 push the pair down: ranks 0 (0.75), 1, 2 (duplicates),
        // 3 (0.5), 4 (0.25); R = 5. {a0-b0}: 5; the pair: 2 + 1 = 3, so the single link wins.
        let cands = [
            c(0, 0, 0.75),
            c(0, 0, 0.7),
            c(0, 0, 0.6),
            c(0, 1, 0.5),
            c(1, 0, 0.25),
        ];
        assert_eq!(optimal(&cands), vec![c(0, 0, 0.75)]);
    }

    #[test]
    fn rank_sum_is_not_lexicographic() {
        // Every score equal. Ranks: a0-b0 0, a0-b1 1, a1-b0 2, a1-b2 3, a1-b3 4, a2-b2 5,
        // a2-b3 6. Every maximum matching links a0, a1, a2; those with a0-b0 have rank sums
        // 0 + 3 + 6 and 0 + 4 + 5 = 9, while a0-b1, a1-b0, a2-b2 has 8. The lexicographically
        // first optimum would start with a0-b0; the rule takes the smaller rank sum.
        let cands = [
            c(0, 0, 0.5),
            c(0, 1, 0.5),
            c(1, 0, 0.5),
            c(1, 2, 0.5),
            c(1, 3, 0.5),
            c(2, 2, 0.5),
            c(2, 3, 0.5),
        ];
        assert_eq!(
            optimal(&cands),
            vec![c(0, 1, 0.5), c(1, 0, 0.5), c(2, 2, 0.5)]
        );
    }

    #[test]
    fn all_equal_scores() {
        // A 6-cycle: a0-b0 0, a0-b1 1, a1-b0 2, a1-b2 3, a2-b1 4, a2-b2 5. The two perfect
        // matchings have rank sums 0 + 3 + 4 = 7 and 1 + 2 + 5 = 8.
        let cands = [
            c(2, 2, 1.0),
            c(0, 1, 1.0),
            c(1, 0, 1.0),
            c(0, 0, 1.0),
            c(2, 1, 1.0),
            c(1, 2, 1.0),
        ];
        assert_eq!(
            optimal(&cands),
            vec![c(0, 0, 1.0), c(1, 2, 1.0), c(2, 1, 1.0)]
        );
        // Complete 30 x 30: every perfect matching has the same rank sum, so the rule leaves
        // the choice to the search; it must still be perfect and independent of input order.
        let mut cands = Vec::new();
        for a in 0..30 {
            for b in 0..30 {
                cands.push(c(a, b, 0.75));
            }
        }
        let links = optimal(&cands);
        assert_eq!(links.len(), 30);
        let mut rng = SplitMix(5);
        for _ in 0..3 {
            rng.shuffle(&mut cands);
            assert_eq!(optimal(&cands), links);
        }
        // Without the diagonal: still perfect.
        cands.retain(|x| x.a != x.b);
        let links = optimal(&cands);
        assert_eq!(links.len(), 30);
        assert!(links.iter().all(|x| x.a != x.b));
    }

    #[test]
    fn medium_graphs_against_the_hungarian_method() {
        // Too large for brute force, large enough for long alternating paths and cycles.
        let mut rng = SplitMix(77);
        for round in 0..150 {
            let n = 8 + rng.below(20) as u32;
            let levels = [1, 2, 3, 10, 1 << 20][rng.below(5) as usize];
            let per_record = 1 + rng.below(5);
            let mut cands = Vec::new();
            for a in 0..n {
                for _ in 0..per_record {
                    let score = (rng.below(levels) + 1) as f64 / levels as f64;
                    cands.push(c(a, rng.below(n.into()) as u32, score));
                }
            }
            let expected = reference_hungarian(&cands);
            for tuning in &TUNINGS {
                let links = optimal_tuned(&cands, tuning);
                let found: Vec<u128> = components(&cands)
                    .iter()
                    .zip(objectives(&cands, &links))
                    .map(|(comp, o)| comp.perturbed(o))
                    .collect();
                assert_eq!(found, expected, "round {round} with {tuning:?}: {cands:?}");
            }
        }
    }

    #[test]
    fn ignores_scores_that_cannot_help() {
        let cands = [
            c(0, 0, f64::NAN),
            c(1, 1, 0.0),
            c(2, 2, -1.0),
            c(3, 3, f64::INFINITY),
            c(4, 4, 0.5),
        ];
        assert_eq!(optimal(&cands), vec![c(4, 4, 0.5)]);
        assert_eq!(optimal(&[]), vec![]);
    }

    #[test]
    fn duplicates_link_once() {
        let cands = [
            c(0, 0, 0.5),
            c(0, 0, 0.5),
            c(0, 0, 0.7),
            c(1, 0, 0.6),
            c(1, 1, 0.1),
        ];
        assert_eq!(optimal(&cands), vec![c(0, 0, 0.7), c(1, 1, 0.1)]);
        let cands = [
            c(0, 0, 0.5),
            c(0, 0, 0.5),
            c(1, 1, 0.5),
            c(1, 1, 0.5),
            c(0, 1, 0.5),
        ];
        assert_eq!(optimal(&cands), vec![c(0, 0, 0.5), c(1, 1, 0.5)]);
    }

    #[test]
    fn scaling_is_exact() {
        assert_eq!(decompose(1.0), (1, 0));
        assert_eq!(decompose(0.75), (3, -2));
        assert_eq!(decompose(f64::MIN_POSITIVE / 4.0), (1, -1024));
        assert_eq!(decompose(f64::from_bits(1)), (1, -1074));
        assert_eq!(integers(&[1.0, 0.75, 0.5], 61), (vec![4, 3, 2], 3));
        // Dice-like scores need 53 bits or a few more.
        let (w, bits) = integers(&[0.9, 0.85, 0.1], 61);
        assert_eq!(bits, 55);
        assert!((w[0] as f64 / w[2] as f64 - 9.0).abs() < 1e-12);
        // Absurd ranges are rounded down, every weight stays at least 1.
        let (w, bits) = integers(&[1e300, 1e-300], 61);
        assert_eq!((w[1], bits), (1, 61));
        assert!(w[0] < 1 << 61 && w[0] >= 1 << 60);
    }

    #[test]
    fn auction_weights_scale_both_ways() {
        // Exact when the product fits: 3 · 5.
        assert_eq!(scale_down(3, 5, 0), 15);
        assert_eq!(scale_up(15, 5, 0), 3);
        // A 125-bit weight times a 20-bit scale, down to at most 61 bits, and back: close, but
        // not exact.
        let (w, scale) = ((1u128 << 124) + 12_345, 1_000_001);
        let shift = bit_len(w) + bit_len(scale) - 61;
        let down = scale_down(w, scale, shift);
        assert!((60..=61).contains(&bit_len(down as u128)));
        let back = scale_up(down, scale, shift);
        assert!(back <= w && w - back < 2 * ((1 << shift) / scale + 1));
        // Negative prices do not occur, but would count as 0.
        assert_eq!(scale_up(-4, 5, 0), 0);
    }

    proptest! {
        #[test]
        fn sort_keys_follow_solver_order(
            cands in proptest::collection::vec(
                (0..4u32, 0..4u32, prop_oneof![
                    (1..=4u32).prop_map(|k| f64::from(k) / 4.0),
                    1e-310..1e300f64,
                ]).prop_map(|(a, b, s)| c(a, b, s)),
                0..40,
            )
        ) {
            let mut by_key = cands.clone();
            by_key.sort_by_key(sort_key);
            let mut by_order = cands;
            by_order.sort_by(Candidate::solver_order);
            prop_assert_eq!(by_key, by_order);
        }
    }

    #[test]
    fn search_stamps_restart_before_they_wrap() {
        // A 6-cycle of equal scores: the greedy start links two pairs, a search the third.
        let graph = Graph {
            nl: 3,
            nr: 3,
            el: vec![0, 0, 1, 1, 2, 2],
            er: vec![0, 1, 0, 2, 1, 2],
            score: vec![1.0; 6],
        };
        let mut workspace = Workspace::default();
        let mut expected = Vec::new();
        workspace.solve(&graph, &Tuning::DEFAULT, &mut expected);
        assert_eq!(expected.len(), 3);
        // The stamps of that run stay behind; the next searches cross `u32::MAX`.
        workspace.narrow.epoch = u32::MAX - 1;
        for _ in 0..3 {
            let mut links = Vec::new();
            workspace.solve(&graph, &Tuning::DEFAULT, &mut links);
            assert_eq!(links, expected);
        }
    }

    #[test]
    fn perturbed_weights() {
        // w = 3, 2, 1; K = min(2, 2) · 3 + 1 = 7; w' = w·7 + (3 - rank).
        assert_eq!(
            weights_of(&[0.75, 0.5, 0.25], 2, 2),
            Weights::Narrow(vec![24, 16, 8])
        );
        // 56-bit scores with a 3-bit K still fit 61 bits; a wider range does not.
        assert!(matches!(
            weights_of(&[0.9, 0.85, 0.1], 2, 2),
            Weights::Narrow(_)
        ));
        assert!(matches!(weights_of(&[1.0, 1e-5], 2, 2), Weights::Wide(_)));
        // Coarse scores stay narrow even in a large component: K = 200,000 · 10^6 + 1.
        let k = 200_000 * 1_000_000 + 1;
        let Weights::Narrow(w) = weights_of(&vec![0.5; 1_000_000], 200_000, 200_000) else {
            panic!("narrow expected")
        };
        assert_eq!((w[0], w[999_999]), (k + 1_000_000, k + 1));
        // Dice-like scores there need i128.
        let scores: Vec<f64> = (0..1_000_000)
            .map(|i| 0.8 + (i % 2000) as f64 / 1e4)
            .collect();
        let Weights::Wide(w) = weights_of(&scores, 200_000, 200_000) else {
            panic!("wide expected")
        };
        assert_eq!(w[0] % i128::from(k), 1_000_000);
        // Absurd ranges: w is rounded to 125 - bits(K) bits, the perturbation stays exact.
        let Weights::Wide(w) = weights_of(&[1e300, 1e-300], 2, 2) else {
            panic!("wide expected")
        };
        assert_eq!(w[1], 5 + 1);
        assert!(w[0] < 1 << 125);
        assert_eq!(
            optimal(&[c(0, 0, 1e300), c(0, 1, 1e-300), c(1, 0, 1e-300)]),
            vec![c(0, 0, 1e300)]
        );
    }

    #[test]
    fn wide_weights_agree_with_narrow() {
        // Same structure, scores spanning 2^-40..1 force i128.
        let narrow = [c(0, 0, 0.9), c(0, 1, 0.85), c(1, 0, 0.85), c(1, 1, 0.2)];
        let mut wide = narrow.to_vec();
        wide.push(c(2, 1, 1e-12));
        wide.push(c(2, 2, 2e-12));
        let links = optimal(&wide);
        assert_eq!(links, vec![c(0, 1, 0.85), c(1, 0, 0.85), c(2, 2, 2e-12)]);
    }

    #[test]
    fn random_against_brute_force_with_many_ties() {
        let mut rng = SplitMix(42);
        for _ in 0..300 {
            let (nl, nr) = (1 + rng.below(6) as u32, 1 + rng.below(6) as u32);
            let levels = 1 + rng.below(4);
            let mut cands = Vec::new();
            for a in 0..nl {
                for b in 0..nr {
                    if rng.below(3) > 0 {
                        cands.push(c(a, b, (rng.below(levels) + 1) as f64 / 4.0));
                    }
                }
            }
            check_brute_force(&cands).unwrap();
        }
    }

    fn small_graph(max_side: u32, levels: u64) -> impl Strategy<Value = Vec<Candidate>> {
        (1..=max_side, 1..=max_side).prop_flat_map(move |(nl, nr)| {
            proptest::collection::vec(
                (0..nl, 0..nr, 1..=levels)
                    .prop_map(move |(a, b, s)| c(a, b, s as f64 / levels as f64)),
                0..=(nl * nr + 3) as usize,
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn matches_brute_force_with_ties(cands in small_graph(7, 4)) {
            check_brute_force(&cands)?;
        }

        #[test]
        fn matches_brute_force_decimal_ties(cands in small_graph(7, 10)) {
            // Tenths: equal in decimal is not equal in binary (0.1 + 0.2 vs 0.3).
            check_brute_force(&cands)?;
        }

        #[test]
        fn matches_brute_force_fine_scores(cands in small_graph(7, 1_000_000)) {
            // Down to 1e-6: 73-bit weights, so i128.
            check_brute_force(&cands)?;
        }

        #[test]
        fn ignores_input_order(cands in small_graph(7, 3), seed in any::<u64>()) {
            for tuning in &TUNINGS {
                let expected = optimal_tuned(&cands, tuning);
                let mut shuffled = cands.clone();
                SplitMix(seed).shuffle(&mut shuffled);
                prop_assert_eq!(optimal_tuned(&shuffled, tuning), expected.clone());
                // Relabelling: a and b renumbered in the same order keep the same answer.
                let relabelled: Vec<Candidate> = shuffled
                    .iter()
                    .map(|x| c(x.a * 1_000_003 + 7, x.b * 999_983, x.score))
                    .collect();
                let back: Vec<Candidate> = optimal_tuned(&relabelled, tuning)
                    .iter()
                    .map(|x| c((x.a - 7) / 1_000_003, x.b / 999_983, x.score))
                    .collect();
                prop_assert_eq!(back, expected);
            }
        }
    }

    /// Random sparse bipartite graph: `n` records per side, `m` candidates.
    pub(super) fn random_graph(seed: u64, n: u32, m: usize, levels: u64) -> Vec<Candidate> {
        let mut rng = SplitMix(seed);
        (0..m)
            .map(|_| {
                let score = if levels == 0 {
                    rng.unit()
                } else {
                    (rng.below(levels) + 1) as f64 / levels as f64
                };
                c(
                    rng.below(n.into()) as u32,
                    rng.below(n.into()) as u32,
                    score,
                )
            })
            .collect()
    }

    #[test]
    fn optimal_beats_or_ties_greedy_and_is_order_independent() {
        for (seed, levels) in [(1, 0), (2, 2), (3, 5), (4, 1)] {
            let mut cands = random_graph(seed, 400, 2000, levels);
            let links = optimal(&cands);
            assert!(total(&links) >= total(&greedy(&cands)) - 1e-9);
            let mut rng = SplitMix(seed + 100);
            rng.shuffle(&mut cands);
            assert_eq!(optimal(&cands), links);
        }
    }

    #[test]
    fn dense_components() {
        // A complete 300 x 300 component with random scores, and one with three score levels.
        for levels in [0, 3] {
            let mut rng = SplitMix(levels + 9);
            let mut cands = Vec::new();
            for a in 0..300 {
                for b in 0..300 {
                    let score = if levels == 0 {
                        rng.unit()
                    } else {
                        (rng.below(levels) + 1) as f64 / 4.0
                    };
                    cands.push(c(a, b, score));
                }
            }
            let links = optimal(&cands);
            assert_eq!(links.len(), 300);
            assert!(total(&links) >= total(&greedy(&cands)));
            rng.shuffle(&mut cands);
            assert_eq!(optimal(&cands), links);
        }
    }

    /// Times greedy and optimal on large inputs. Run in release mode:
    /// `cargo test --release --lib solve -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release mode"]
    fn timing_one_million_candidates() {
        fn time(name: &str, cands: &[Candidate]) {
            let started = std::time::Instant::now();
            let g = greedy(cands);
            let greedy_time = started.elapsed();
            let started = std::time::Instant::now();
            let o = optimal(cands);
            let optimal_time = started.elapsed();
            println!(
                "{name} ({} candidates): greedy {greedy_time:.2?} ({} links, total {:.2}), \
                 optimal {optimal_time:.2?} ({} links, total {:.2})",
                cands.len(),
                g.len(),
                total(&g),
                o.len(),
                total(&o),
            );
            assert!(total(&o) >= total(&g));
        }
        let n = 200_000;
        time(
            "random scores, 200k x 200k",
            &random_graph(2026, n, 1_000_000, 0),
        );
        // A true match per record plus four weaker random candidates.
        let mut rng = SplitMix(3);
        let mut planted = Vec::new();
        for i in 0..n {
            planted.push(c(i, i, 0.8 + 0.2 * rng.unit()));
            for _ in 0..4 {
                planted.push(c(i, rng.below(n.into()) as u32, 0.5 + 0.4 * rng.unit()));
            }
        }
        time("planted matches, 200k x 200k", &planted);
        time(
            "100 score levels, 200k x 200k",
            &random_graph(7, n, 1_000_000, 100),
        );
        time(
            "5 score levels, 200k x 200k",
            &random_graph(7, n, 1_000_000, 5),
        );
        let mut dense = Vec::new();
        for a in 0..1000 {
            for b in 0..1000 {
                dense.push(c(a, b, 1.0));
            }
        }
        time("all tied, complete 1000 x 1000", &dense);
        let mut rng = SplitMix(4);
        let dense: Vec<Candidate> = (0..300 * 300)
            .map(|i| c(i / 300, i % 300, rng.unit()))
            .collect();
        time("random scores, complete 300 x 300", &dense);
        // The hard case for the tie-breaking step: one score for a whole sparse component.
        time(
            "all tied, 20k x 20k sparse",
            &random_graph(7, 20_000, 100_000, 1),
        );
        time(
            "2 score levels, 50k x 50k sparse",
            &random_graph(7, 50_000, 250_000, 2),
        );
        // Ties on the scale of the benchmark (`benches/link.rs`): 2,000 score levels, five
        // candidates per left record.
        let mut rng = SplitMix(8);
        let bench: Vec<Candidate> = (0..1_000_000)
            .map(|i| {
                let score = 0.8 + rng.below(2000) as f64 / 10_000.0;
                c(i / 5, rng.below(n.into()) as u32, score)
            })
            .collect();
        time("2,000 score levels, 200k x 200k", &bench);
        // One score everywhere, one million candidates.
        time("all tied, 200k x 200k", &random_graph(7, n, 1_000_000, 1));
        time(
            "all tied, 20k x 20k",
            &random_graph(7, 20_000, 1_000_000, 1),
        );
        time(
            "2 score levels, 20k x 20k",
            &random_graph(7, 20_000, 1_000_000, 2),
        );
    }
}
