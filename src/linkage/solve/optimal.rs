//! Maximum-weight one-to-one matching for [`optimal`], whose documentation describes the
//! algorithm: exact integer weights, per-component primal-dual search, then the tie rule.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
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
/// Totals are compared exactly, not in floating point. When several matchings reach the
/// maximum, the result is the one whose links, sorted by solver order, come first
/// lexicographically (compared position by position, a link with a higher score, then a lower
/// `a`, then a lower `b` wins). Equivalently: walking the candidates in solver order, a
/// candidate is linked whenever some optimal matching contains it together with every link
/// chosen before it. So a single 0.75 beats 0.50 + 0.25, and with all scores equal `a0` gets the
/// lowest-numbered `b` that still allows a maximum matching, then `a1`, and so on. The rule
/// depends only on the set of candidates, never on their order or on the algorithm's path.
///
/// # Algorithm
///
/// The candidates form a bipartite graph: `a` records on the left, `b` records on the right,
/// one edge per candidate.
///
/// 1. **Components.** A union-find splits the graph into connected components, solved one by
///    one; a component with a single record on one side (a star) takes its best edge.
/// 2. **Exact integer weights.** A component's scores are multiplied by one power of two: every
///    finite `f64` is `m·2^e` with an integer `m`, so the products are integers equal to the
///    scores up to a common factor, with no rounding, and sums and ties are exact. They fit
///    `i64` (up to 60 bits) whenever all scores lie in `[2^-7, 1]`, otherwise `i128` (a
///    largest-to-smallest ratio up to about `2^70`). Only beyond that are weights rounded to
///    124 bits (and to at least 1).
/// 3. **Primal-dual (Hungarian) search with potentials.** Duals start at `y = best incident
///    weight` (left) and `z = 0` (right); a greedy pass in solver order and then Hopcroft-Karp
///    match the tight edges (`y + z = w`). Every left record still unmatched with `y > 0` runs
///    one Dijkstra search over reduced costs `y + z - w >= 0` along alternating paths, stopping
///    at the cheaper of a free right record (the matching grows) and a left record whose `y`
///    can fall to 0 (it gives up its partner, or stays unmatched). Shifting the duals by the
///    distances keeps every reduced cost non-negative and makes the path tight. At the end,
///    matched edges are tight and unmatched records have dual 0: complementary slackness, so
///    the matching is optimal and the duals are an exact certificate.
/// 4. **Tie rule.** The optimal matchings are exactly the matchings of tight edges that cover
///    every record with a positive dual. Tight edges in no optimum are dropped (one
///    reachability and strongly-connected-component pass); then, walking the rest in solver
///    order, an edge is linked when an alternating path or cycle can move it into the matching
///    without touching the links already chosen.
///
/// An auction algorithm was the alternative: it is exact only with `ε < 1/n` on integer weights,
/// which for 53-bit mantissas means dozens of scaling phases, and it yields no exact duals for
/// step 4.
///
/// # Cost
///
/// `O(m log m)` for sorting `m` candidates, then per component of `n` records: step 3 is
/// `O(k · m log n)` in the worst case for `k` searches, but on real-valued scores each search
/// stops after a small neighbourhood; step 4 is linear when few scores tie. Memory is linear in
/// `m`. Measured in release mode on one core of the 2-core Zen 4 development machine: one
/// million random candidates between 200,000 records per side (one giant component) in about
/// 0.6 s (greedy: 0.08 s); with scores rounded to 100 or 5 levels 0.75 and 1.0 s; a complete
/// 1000 x 1000 component with every score equal in 0.1 s.
///
/// Exact ties spread over a large *sparse* component are the slow case: the tie rule then needs
/// long alternating-path searches, up to `O(k · t)` for `k` links and `t` tight edges. One score
/// for 100,000 candidates among 20,000 records per side takes 1.3 s; 250,000 such candidates
/// take about 9 s. Similarity scores rarely tie on that scale.
pub fn optimal(candidates: &[Candidate]) -> Vec<Candidate> {
    let mut edges: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.score.is_finite() && c.score > 0.0)
        .collect();
    edges.sort_unstable_by(Candidate::solver_order);
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
    let mut cursor = starts.clone();
    let mut grouped = vec![0u32; ends.len()];
    for (rank, &comp) in comp_of_edge.iter().enumerate() {
        grouped[cursor[comp as usize]] = rank as u32;
        cursor[comp as usize] += 1;
    }
    drop(comp_of_edge);

    let mut local_l = vec![NONE; nl];
    let mut local_r = vec![NONE; nr];
    let mut graph = Graph::default();
    let mut chosen: Vec<u32> = Vec::new();
    for comp in starts.windows(2) {
        let ranks = &grouped[comp[0]..comp[1]];
        graph.clear();
        for &rank in ranks {
            let (l, r) = ends[rank as usize];
            if local_l[l as usize] == NONE {
                local_l[l as usize] = graph.nl as u32;
                graph.nl += 1;
            }
            if local_r[r as usize] == NONE {
                local_r[r as usize] = graph.nr as u32;
                graph.nr += 1;
            }
            graph.el.push(local_l[l as usize]);
            graph.er.push(local_r[r as usize]);
            graph.score.push(edges[rank as usize].score);
        }
        if graph.nl == 1 || graph.nr == 1 {
            // A star: any matching has one edge, so the best edge (first in rank order) wins.
            chosen.push(ranks[0]);
        } else {
            chosen.extend(
                solve_component(&graph)
                    .into_iter()
                    .map(|e| ranks[e as usize]),
            );
        }
    }
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|rank| edges[rank as usize])
        .collect()
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

/// Solves one component; returns the indices of the chosen edges.
fn solve_component(graph: &Graph) -> Vec<u32> {
    let (mate_l, mate_r, positive_l, positive_r, tight) = match scale(&graph.score) {
        Scaled::Narrow(w) => PrimalDual::<i64>::run(graph, w),
        Scaled::Wide(w) => PrimalDual::<i128>::run(graph, w),
    };
    Select::new(graph, mate_l, mate_r, positive_l, positive_r, &tight).run(&tight)
}

/// Integer weights for a component: narrow when they fit 60 bits, otherwise wide.
#[derive(Debug, PartialEq)]
enum Scaled {
    Narrow(Vec<i64>),
    Wide(Vec<i128>),
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

/// Scales the scores by one power of two into integers, exactly when at all possible.
fn scale(scores: &[f64]) -> Scaled {
    let parts: Vec<(u64, i32)> = scores.iter().map(|&s| decompose(s)).collect();
    let shift = parts.iter().map(|&(_, e)| -e).max().unwrap_or(0);
    let bit_len = |m: u64| 64 - m.leading_zeros() as i32;
    let top = parts
        .iter()
        .map(|&(m, e)| bit_len(m) + e + shift)
        .max()
        .unwrap_or(0);
    if top <= 60 {
        // e + shift >= 0 by the choice of shift, and the result has at most 60 bits.
        Scaled::Narrow(
            parts
                .iter()
                .map(|&(m, e)| (m << (e + shift)) as i64)
                .collect(),
        )
    } else {
        let excess = (top - 124).max(0);
        Scaled::Wide(
            parts
                .iter()
                .map(|&(m, e)| {
                    let s = e + shift - excess;
                    let w = if s >= 0 {
                        u128::from(m) << s
                    } else if s > -64 {
                        u128::from(m >> -s)
                    } else {
                        0
                    };
                    w.max(1) as i128
                })
                .collect(),
        )
    }
}

/// Integer weights and duals. Every value the search computes is at most three times the
/// largest weight, so 60-bit weights fit `i64` and 124-bit weights fit `i128`.
trait Weight: Copy + Ord + Add<Output = Self> + Sub<Output = Self> + AddAssign + SubAssign {
    const ZERO: Self;
}

impl Weight for i64 {
    const ZERO: i64 = 0;
}

impl Weight for i128 {
    const ZERO: i128 = 0;
}

/// Result of the primal-dual phase: partners (`NONE` when unmatched), which records have a
/// positive dual (they are matched in every optimum), and the tight edges in rank order.
type Optimum = (Vec<u32>, Vec<u32>, Vec<bool>, Vec<bool>, Vec<u32>);

/// Step 3: primal-dual search with potentials on one component.
struct PrimalDual<W> {
    /// Left adjacency (CSR): edges of left `x` are `adj_r/adj_w[start[x]..start[x + 1]]`.
    start: Vec<u32>,
    adj_r: Vec<u32>,
    adj_w: Vec<W>,
    y: Vec<W>,
    z: Vec<W>,
    mate_l: Vec<u32>,
    mate_r: Vec<u32>,
    // Search scratch, reset by epoch stamps rather than by clearing.
    epoch: u32,
    seen_r: Vec<u32>,
    done_r: Vec<u32>,
    dist_r: Vec<W>,
    pred_r: Vec<u32>,
    dist_l: Vec<W>,
    tree_l: Vec<u32>,
    tree_r: Vec<u32>,
    heap: BinaryHeap<Reverse<(W, u32)>>,
}

impl<W: Weight> PrimalDual<W> {
    fn run(graph: &Graph, w: Vec<W>) -> Optimum {
        let (nl, nr) = (graph.nl, graph.nr);
        let mut start = vec![0u32; nl + 1];
        for &l in &graph.el {
            start[l as usize + 1] += 1;
        }
        for x in 0..nl {
            start[x + 1] += start[x];
        }
        let mut cursor = start.clone();
        let mut adj_r = vec![0u32; w.len()];
        let mut adj_w = vec![W::ZERO; w.len()];
        for (e, (&l, &r)) in graph.el.iter().zip(&graph.er).enumerate() {
            let slot = cursor[l as usize] as usize;
            adj_r[slot] = r;
            adj_w[slot] = w[e];
            cursor[l as usize] += 1;
        }
        let y: Vec<W> = (0..nl)
            .map(|x| {
                adj_w[start[x] as usize..start[x + 1] as usize]
                    .iter()
                    .copied()
                    .max()
                    .unwrap_or(W::ZERO)
            })
            .collect();
        let mut pd = PrimalDual {
            start,
            adj_r,
            adj_w,
            y,
            z: vec![W::ZERO; nr],
            mate_l: vec![NONE; nl],
            mate_r: vec![NONE; nr],
            epoch: 0,
            seen_r: vec![0; nr],
            done_r: vec![0; nr],
            dist_r: vec![W::ZERO; nr],
            pred_r: vec![NONE; nr],
            dist_l: vec![W::ZERO; nl],
            tree_l: Vec::new(),
            tree_r: Vec::new(),
            heap: BinaryHeap::new(),
        };
        // Greedy start on tight edges (z = 0, so tight means "best edge of its left record"),
        // in rank order: with all scores tied this already is the preferred optimum.
        for (e, (&l, &r)) in graph.el.iter().zip(&graph.er).enumerate() {
            let (x, r) = (l as usize, r as usize);
            if pd.mate_l[x] == NONE && pd.mate_r[r] == NONE && w[e] == pd.y[x] {
                pd.mate_l[x] = r as u32;
                pd.mate_r[r] = x as u32;
            }
        }
        pd.augment_tight();
        for u in 0..nl {
            if pd.mate_l[u] == NONE && pd.y[u] > W::ZERO {
                pd.search(u as u32);
            }
        }
        let tight = (0..w.len())
            .filter(|&e| {
                let (x, r) = (graph.el[e] as usize, graph.er[e] as usize);
                pd.y[x] + pd.z[r] == w[e]
            })
            .map(|e| e as u32)
            .collect();
        let positive_l = pd.y.iter().map(|&v| v > W::ZERO).collect();
        let positive_r = pd.z.iter().map(|&v| v > W::ZERO).collect();
        (pd.mate_l, pd.mate_r, positive_l, positive_r, tight)
    }

    /// Hopcroft-Karp on the initially tight edges (`w = y[x]`, since `z = 0`): grows the greedy
    /// matching to a maximum matching of those edges. Cheap when scores are distinct (each left
    /// record has one tight edge), and essential when many tie: otherwise each search below would
    /// explore a whole plateau of zero reduced cost to find one augmenting path.
    fn augment_tight(&mut self) {
        const FAR: u32 = u32::MAX;
        let nl = self.y.len();
        let tight = |pd: &Self, i: usize, x: usize| pd.adj_w[i] == pd.y[x];
        let mut layer = vec![FAR; nl];
        let mut cursor = vec![0u32; nl];
        let mut via = vec![NONE; nl];
        let mut queue: Vec<u32> = Vec::new();
        let mut stack: Vec<u32> = Vec::new();
        loop {
            // Breadth-first layers from every free left record.
            queue.clear();
            for (x, (l, &mate)) in layer.iter_mut().zip(&self.mate_l).enumerate() {
                if mate == NONE {
                    *l = 0;
                    queue.push(x as u32);
                } else {
                    *l = FAR;
                }
            }
            let mut found = false;
            let mut head = 0;
            while head < queue.len() {
                let x = queue[head] as usize;
                head += 1;
                for i in self.start[x] as usize..self.start[x + 1] as usize {
                    if !tight(self, i, x) {
                        continue;
                    }
                    let x2 = self.mate_r[self.adj_r[i] as usize];
                    if x2 == NONE {
                        found = true;
                    } else if layer[x2 as usize] == FAR {
                        layer[x2 as usize] = layer[x] + 1;
                        queue.push(x2);
                    }
                }
            }
            if !found {
                return;
            }
            // Vertex-disjoint shortest augmenting paths, depth first (iteratively: paths can be
            // as long as the component).
            cursor.copy_from_slice(&self.start[..nl]);
            for u in 0..nl {
                if self.mate_l[u] != NONE || layer[u] != 0 {
                    continue;
                }
                stack.clear();
                stack.push(u as u32);
                while let Some(&x) = stack.last() {
                    let xi = x as usize;
                    let mut next = NONE;
                    let mut free = NONE;
                    while cursor[xi] < self.start[xi + 1] {
                        let i = cursor[xi] as usize;
                        cursor[xi] += 1;
                        if !tight(self, i, xi) {
                            continue;
                        }
                        let r = self.adj_r[i];
                        let x2 = self.mate_r[r as usize];
                        if x2 == NONE {
                            free = r;
                            break;
                        }
                        if layer[x2 as usize] == layer[xi] + 1 {
                            via[x2 as usize] = r;
                            next = x2;
                            break;
                        }
                    }
                    if free != NONE {
                        // Flip the path on the stack: each record takes the right record it
                        // reached the next one through; the last takes the free one.
                        let mut r = free;
                        while let Some(x) = stack.pop() {
                            let previous = via[x as usize];
                            self.mate_l[x as usize] = r;
                            self.mate_r[r as usize] = x;
                            layer[x as usize] = FAR;
                            r = previous;
                        }
                    } else if next != NONE {
                        stack.push(next);
                    } else {
                        layer[xi] = FAR;
                        stack.pop();
                    }
                }
            }
        }
    }

    /// Dijkstra from the unmatched left record `u` (with `y[u] > 0`) over reduced costs; then
    /// shifts the duals and flips the alternating path. Afterwards `u` is matched or `y[u] = 0`,
    /// and complementary slackness holds for every record that held it before.
    fn search(&mut self, u: u32) {
        self.epoch += 1;
        self.heap.clear();
        self.tree_l.clear();
        self.tree_r.clear();
        self.dist_l[u as usize] = W::ZERO;
        self.tree_l.push(u);
        // The cheapest way out found so far: `u` itself staying unmatched costs `y[u]`.
        let mut best = self.y[u as usize];
        let mut best_left = u;
        let mut end_right = NONE;
        self.relax(u, W::ZERO, best);
        while let Some(Reverse((d, r))) = self.heap.pop() {
            if d >= best {
                break;
            }
            let ri = r as usize;
            if self.done_r[ri] == self.epoch || d != self.dist_r[ri] {
                continue;
            }
            self.done_r[ri] = self.epoch;
            self.tree_r.push(r);
            let x = self.mate_r[ri];
            if x == NONE {
                end_right = r;
                best = d;
                break;
            }
            self.dist_l[x as usize] = d;
            self.tree_l.push(x);
            let free_x = d + self.y[x as usize];
            if free_x < best {
                best = free_x;
                best_left = x;
            }
            self.relax(x, d, best);
        }
        for &x in &self.tree_l {
            let d = self.dist_l[x as usize];
            if d < best {
                self.y[x as usize] -= best - d;
            }
        }
        for &r in &self.tree_r {
            let d = self.dist_r[r as usize];
            if d < best {
                self.z[r as usize] += best - d;
            }
        }
        let mut r = if end_right != NONE {
            end_right
        } else if best_left == u {
            return;
        } else {
            let r = self.mate_l[best_left as usize];
            self.mate_l[best_left as usize] = NONE;
            r
        };
        loop {
            let x = self.pred_r[r as usize];
            let previous = self.mate_l[x as usize];
            self.mate_l[x as usize] = r;
            self.mate_r[r as usize] = x;
            if x == u {
                break;
            }
            r = previous;
        }
    }

    fn relax(&mut self, x: u32, dx: W, bound: W) {
        let base = dx + self.y[x as usize];
        let range = self.start[x as usize] as usize..self.start[x as usize + 1] as usize;
        for (&r, &w) in self.adj_r[range.clone()].iter().zip(&self.adj_w[range]) {
            let ri = r as usize;
            if self.done_r[ri] == self.epoch {
                continue;
            }
            let key = base + self.z[ri] - w;
            if key >= bound {
                continue;
            }
            if self.seen_r[ri] != self.epoch || key < self.dist_r[ri] {
                self.seen_r[ri] = self.epoch;
                self.dist_r[ri] = key;
                self.pred_r[ri] = x;
                self.heap.push(Reverse((key, r)));
            }
        }
    }
}

/// Step 4: picks the lexicographically first optimum (by solver order) in the tight subgraph.
///
/// The optimal matchings are exactly the matchings of tight edges that cover every record with
/// a positive dual ("required" records). Walking tight edges in rank order, an edge `a-b` not
/// in the current matching `M` is included when `M` can be rearranged to contain it while
/// keeping every link chosen so far: `a`'s partner `a'` and `b`'s partner `b'` lose their
/// edges, and each that is required needs an alternating path to a replacement, or both are
/// served by one alternating cycle through `a-b`. Records in chosen links are locked.
///
/// In the digraph with unmatched tight edges left→right and matched edges right→left:
/// `b'` needs a path to a *sink* (a free right record, or a left record with dual 0), `a'` needs
/// a path from a *source* (a free left record, or a right record with dual 0), or `b'` reaches
/// `a'` (a cycle; then `a` and `b` share a strongly connected component). If both paths exist
/// but meet, the meeting point gives the cycle, so the test is exact.
///
/// Proving that an edge cannot be included takes a search of everything reachable. To keep
/// that rare, a *summary* (which nodes reach a sink, which are reached from a source, strongly
/// connected components) answers "can `a-b` join an optimum that keeps the locked links?" for
/// all edges at once. Locks only add constraints, so a "no" stays true after later locks and
/// rearrangements; a "yes" is confirmed by a search, and when that search fails the summary of
/// the component is recomputed.
struct Select<'g> {
    nl: usize,
    el: &'g [u32],
    er: &'g [u32],
    /// Tight edges as CSR: left `x` to rights, right `r` to lefts.
    out_start: Vec<u32>,
    out: Vec<u32>,
    in_start: Vec<u32>,
    inn: Vec<u32>,
    mate_l: Vec<u32>,
    mate_r: Vec<u32>,
    required_l: Vec<bool>,
    required_r: Vec<bool>,
    locked_l: Vec<bool>,
    locked_r: Vec<bool>,
    // Path search scratch, reset by epoch stamps.
    epoch: u32,
    seen_l: Vec<u32>,
    seen_r: Vec<u32>,
    on_path: Vec<u32>,
    pred_r: Vec<u32>,
    succ_l: Vec<u32>,
    queue: Vec<u32>,
    // The summary, indexed by node (left `x` is `x`, right `r` is `nl + r`), with the matching
    // it was computed for.
    snap_mate_l: Vec<u32>,
    snap_mate_r: Vec<u32>,
    can_sink: Vec<bool>,
    from_source: Vec<bool>,
    scc: Vec<u32>,
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
}

impl<'g> Select<'g> {
    fn new(
        graph: &'g Graph,
        mate_l: Vec<u32>,
        mate_r: Vec<u32>,
        required_l: Vec<bool>,
        required_r: Vec<bool>,
        tight: &[u32],
    ) -> Select<'g> {
        let (nl, nr) = (graph.nl, graph.nr);
        let nodes = nl + nr;
        let mut select = Select {
            nl,
            el: &graph.el,
            er: &graph.er,
            out_start: Vec::new(),
            out: Vec::new(),
            in_start: Vec::new(),
            inn: Vec::new(),
            snap_mate_l: mate_l.clone(),
            snap_mate_r: mate_r.clone(),
            mate_l,
            mate_r,
            required_l,
            required_r,
            locked_l: vec![false; nl],
            locked_r: vec![false; nr],
            epoch: 0,
            seen_l: vec![0; nl],
            seen_r: vec![0; nr],
            on_path: vec![0; nodes],
            pred_r: vec![NONE; nr],
            succ_l: vec![NONE; nl],
            queue: Vec::new(),
            can_sink: vec![false; nodes],
            from_source: vec![false; nodes],
            scc: vec![NONE; nodes],
            index: vec![NONE; nodes],
            low: vec![0; nodes],
            on_stack: vec![false; nodes],
        };
        select.set_edges(tight);
        select
    }

    /// Makes `edges` the tight subgraph (CSR in both directions).
    fn set_edges(&mut self, edges: &[u32]) {
        let csr = |count: usize, key: &[u32], value: &[u32]| {
            let mut start = vec![0u32; count + 1];
            for &e in edges {
                start[key[e as usize] as usize + 1] += 1;
            }
            for i in 0..count {
                start[i + 1] += start[i];
            }
            let mut cursor = start.clone();
            let mut list = vec![0u32; edges.len()];
            for &e in edges {
                let k = key[e as usize] as usize;
                list[cursor[k] as usize] = value[e as usize];
                cursor[k] += 1;
            }
            (start, list)
        };
        (self.out_start, self.out) = csr(self.nl, self.el, self.er);
        (self.in_start, self.inn) = csr(self.locked_r.len(), self.er, self.el);
    }

    fn run(mut self, tight: &[u32]) -> Vec<u32> {
        let nl = self.nl;
        let nodes = nl + self.locked_r.len();
        // Drop tight edges that are in no optimum at all: no rearrangement can use them, and
        // without them the tight subgraph falls apart into smaller components.
        let all: Vec<u32> = (0..nodes as u32).collect();
        self.summarise(&all);
        let tight: Vec<u32> = tight
            .iter()
            .copied()
            .filter(|&e| self.feasible_by_summary(self.el[e as usize], self.er[e as usize]))
            .collect();
        self.set_edges(&tight);

        // Connected components of what is left; each is handled on its own.
        let mut uf = UnionFind::new(nodes);
        for &e in &tight {
            uf.union(self.el[e as usize], nl as u32 + self.er[e as usize]);
        }
        let mut comp_of_root = vec![NONE; nodes];
        let mut edges_of: Vec<Vec<u32>> = Vec::new();
        let mut nodes_of: Vec<Vec<u32>> = Vec::new();
        let mut node_seen = vec![false; nodes];
        for &e in &tight {
            let (x, r) = (self.el[e as usize], nl as u32 + self.er[e as usize]);
            let root = uf.find(x) as usize;
            if comp_of_root[root] == NONE {
                comp_of_root[root] = edges_of.len() as u32;
                edges_of.push(Vec::new());
                nodes_of.push(Vec::new());
            }
            let comp = comp_of_root[root] as usize;
            edges_of[comp].push(e);
            for node in [x, r] {
                if !node_seen[node as usize] {
                    node_seen[node as usize] = true;
                    nodes_of[comp].push(node);
                }
            }
        }
        let mut chosen = Vec::new();
        for (edges, nodes) in edges_of.iter().zip(&nodes_of) {
            for &e in edges {
                let (a, b) = (self.el[e as usize], self.er[e as usize]);
                if self.locked_l[a as usize] || self.locked_r[b as usize] {
                    continue;
                }
                let include = if self.mate_l[a as usize] == b {
                    true
                } else if !self.feasible_by_summary(a, b) {
                    false
                } else if self.try_include(a, b) {
                    true
                } else {
                    self.summarise(nodes);
                    false
                };
                if include {
                    self.locked_l[a as usize] = true;
                    self.locked_r[b as usize] = true;
                    chosen.push(e);
                }
            }
        }
        chosen
    }

    /// Whether `a-b` could join an optimum keeping the links locked when the summary was
    /// computed, judged with the matching of that time.
    fn feasible_by_summary(&self, a: u32, b: u32) -> bool {
        let nl = self.nl;
        let (a2, b2) = (self.snap_mate_l[a as usize], self.snap_mate_r[b as usize]);
        if a2 == b {
            return true;
        }
        if a2 != NONE && b2 != NONE && self.scc[a as usize] == self.scc[nl + b as usize] {
            return true;
        }
        let b_ok = b2 == NONE || !self.required_l[b2 as usize] || self.can_sink[b2 as usize];
        let a_ok =
            a2 == NONE || !self.required_r[a2 as usize] || self.from_source[nl + a2 as usize];
        b_ok && a_ok
    }

    /// Searches for the rearrangement that puts `a-b` into the matching and applies it.
    fn try_include(&mut self, a: u32, b: u32) -> bool {
        let nl = self.nl as u32;
        let a2 = self.mate_l[a as usize];
        let b2 = self.mate_r[b as usize];
        let need_a = a2 != NONE && self.required_r[a2 as usize];
        let need_b = b2 != NONE && self.required_l[b2 as usize];
        self.epoch += 1;
        let mut forward = Vec::new();
        let mut backward = Vec::new();
        if need_b {
            let Some(end) = self.search_forward(b, a2, b2) else {
                return false;
            };
            forward = self.forward_path(b2, end);
        }
        let cycle = a2 != NONE && forward.last() == Some(&(nl + a2));
        if need_a && !cycle {
            let Some(start) = self.search_backward(a, a2, b2) else {
                return false;
            };
            backward = self.backward_path(start, a2);
            if !forward.is_empty() {
                // Paths that meet make a cycle: b' to the meeting point, then on to a'.
                for &node in &backward {
                    self.on_path[node as usize] = self.epoch;
                }
                if let Some(i) = forward
                    .iter()
                    .position(|&node| self.on_path[node as usize] == self.epoch)
                {
                    let meet = forward[i];
                    let j = backward.iter().position(|&n| n == meet).unwrap_or(0);
                    forward.truncate(i);
                    forward.extend_from_slice(&backward[j..]);
                    backward.clear();
                }
            }
        }

        // Apply: a and b leave their partners, every left record on a path takes the right
        // record after it, a-b joins.
        if a2 != NONE {
            self.mate_r[a2 as usize] = NONE;
        }
        if b2 != NONE {
            self.mate_l[b2 as usize] = NONE;
        }
        for path in [&forward, &backward] {
            for &node in path.iter() {
                if node < nl {
                    self.mate_l[node as usize] = NONE;
                } else {
                    self.mate_r[(node - nl) as usize] = NONE;
                }
            }
        }
        for path in [&forward, &backward] {
            for step in path.windows(2) {
                if step[0] < nl && step[1] >= nl {
                    let (x, r) = (step[0], step[1] - nl);
                    self.mate_l[x as usize] = r;
                    self.mate_r[r as usize] = x;
                }
            }
        }
        self.mate_l[a as usize] = b;
        self.mate_r[b as usize] = a;
        true
    }

    /// Breadth-first from `b'` (excluding `a`, `b` and locked records) to the nearest sink or
    /// to `a'`; returns that node.
    fn search_forward(&mut self, b: u32, a2: u32, b2: u32) -> Option<u32> {
        let nl = self.nl as u32;
        let epoch = self.epoch;
        self.queue.clear();
        self.queue.push(b2);
        self.seen_l[b2 as usize] = epoch;
        let mut head = 0;
        while head < self.queue.len() {
            let x = self.queue[head] as usize;
            head += 1;
            for i in self.out_start[x] as usize..self.out_start[x + 1] as usize {
                let r = self.out[i];
                let ri = r as usize;
                if r == self.mate_l[x] || r == b || self.locked_r[ri] || self.seen_r[ri] == epoch {
                    continue;
                }
                self.seen_r[ri] = epoch;
                self.pred_r[ri] = x as u32;
                let x2 = self.mate_r[ri];
                if r == a2 || x2 == NONE {
                    return Some(nl + r);
                }
                if self.seen_l[x2 as usize] == epoch {
                    continue;
                }
                self.seen_l[x2 as usize] = epoch;
                if !self.required_l[x2 as usize] {
                    return Some(x2);
                }
                self.queue.push(x2);
            }
        }
        None
    }

    /// The nodes of the forward path from `b'` to `end`, in order.
    fn forward_path(&self, b2: u32, end: u32) -> Vec<u32> {
        let nl = self.nl as u32;
        let mut path = vec![end];
        let mut node = end;
        while node != b2 {
            node = if node >= nl {
                self.pred_r[(node - nl) as usize]
            } else {
                nl + self.mate_l[node as usize]
            };
            path.push(node);
        }
        path.reverse();
        path
    }

    /// Breadth-first backwards from `a'` (excluding `a`, `b` and locked records) to the
    /// nearest source or to `b'`; returns that node.
    fn search_backward(&mut self, a: u32, a2: u32, b2: u32) -> Option<u32> {
        let nl = self.nl as u32;
        // Fresh marks: the forward search of this attempt may have marked records.
        self.epoch += 1;
        let epoch = self.epoch;
        self.queue.clear();
        self.queue.push(a2);
        self.seen_r[a2 as usize] = epoch;
        let mut head = 0;
        while head < self.queue.len() {
            let r = self.queue[head];
            head += 1;
            let ri = r as usize;
            for i in self.in_start[ri] as usize..self.in_start[ri + 1] as usize {
                let x = self.inn[i];
                let xi = x as usize;
                if self.mate_l[xi] == r || x == a || self.locked_l[xi] || self.seen_l[xi] == epoch {
                    continue;
                }
                self.seen_l[xi] = epoch;
                self.succ_l[xi] = r;
                let r2 = self.mate_l[xi];
                if x == b2 || r2 == NONE {
                    return Some(x);
                }
                if self.seen_r[r2 as usize] == epoch {
                    continue;
                }
                self.seen_r[r2 as usize] = epoch;
                if !self.required_r[r2 as usize] {
                    return Some(nl + r2);
                }
                self.queue.push(r2);
            }
        }
        None
    }

    /// The nodes of the backward path from `start` to `a'`, in order.
    fn backward_path(&self, start: u32, a2: u32) -> Vec<u32> {
        let nl = self.nl as u32;
        let mut path = vec![start];
        let mut node = start;
        while node != nl + a2 {
            node = if node < nl {
                nl + self.succ_l[node as usize]
            } else {
                self.mate_r[(node - nl) as usize]
            };
            path.push(node);
        }
        path
    }

    /// The next successor of `node` in the alternating digraph at or after position `k`, with
    /// the position to continue from. Locked records are left out.
    fn successor(&self, node: u32, k: u32) -> Option<(u32, u32)> {
        let nl = self.nl as u32;
        if node < nl {
            let x = node as usize;
            let (lo, hi) = (self.out_start[x], self.out_start[x + 1]);
            let mut i = lo + k;
            while i < hi {
                let r = self.out[i as usize];
                i += 1;
                if r != self.mate_l[x] && !self.locked_r[r as usize] {
                    return Some((i - lo, nl + r));
                }
            }
            None
        } else {
            let x = self.mate_r[(node - nl) as usize];
            (k == 0 && x != NONE && !self.locked_l[x as usize]).then_some((1, x))
        }
    }

    fn locked(&self, node: u32) -> bool {
        let nl = self.nl as u32;
        if node < nl {
            self.locked_l[node as usize]
        } else {
            self.locked_r[(node - nl) as usize]
        }
    }

    /// Recomputes the summary (`can_sink`, `from_source`, `scc`, and the matching it refers
    /// to) for the tight component `nodes` under the current matching and locks.
    fn summarise(&mut self, nodes: &[u32]) {
        let nl = self.nl as u32;
        for &node in nodes {
            if node < nl {
                self.snap_mate_l[node as usize] = self.mate_l[node as usize];
            } else {
                self.snap_mate_r[(node - nl) as usize] = self.mate_r[(node - nl) as usize];
            }
        }
        // Sinks: free right records, left records with dual 0. Walk predecessors backwards.
        self.queue.clear();
        for &node in nodes {
            let is_sink = !self.locked(node)
                && if node < nl {
                    !self.required_l[node as usize]
                } else {
                    self.mate_r[(node - nl) as usize] == NONE
                };
            self.can_sink[node as usize] = is_sink;
            if is_sink {
                self.queue.push(node);
            }
        }
        let mut head = 0;
        while head < self.queue.len() {
            let node = self.queue[head];
            head += 1;
            if node < nl {
                let r = self.mate_l[node as usize];
                if r != NONE && !self.can_sink[(nl + r) as usize] {
                    self.can_sink[(nl + r) as usize] = true;
                    self.queue.push(nl + r);
                }
            } else {
                let r = node - nl;
                for i in self.in_start[r as usize] as usize..self.in_start[r as usize + 1] as usize
                {
                    let x = self.inn[i];
                    if self.mate_l[x as usize] != r
                        && !self.locked_l[x as usize]
                        && !self.can_sink[x as usize]
                    {
                        self.can_sink[x as usize] = true;
                        self.queue.push(x);
                    }
                }
            }
        }
        // Sources: free left records, right records with dual 0. Walk successors forwards.
        self.queue.clear();
        for &node in nodes {
            let is_source = !self.locked(node)
                && if node < nl {
                    self.mate_l[node as usize] == NONE
                } else {
                    !self.required_r[(node - nl) as usize]
                };
            self.from_source[node as usize] = is_source;
            if is_source {
                self.queue.push(node);
            }
        }
        let mut head = 0;
        while head < self.queue.len() {
            let node = self.queue[head];
            head += 1;
            let mut k = 0;
            while let Some((next_k, next)) = self.successor(node, k) {
                k = next_k;
                if !self.from_source[next as usize] {
                    self.from_source[next as usize] = true;
                    self.queue.push(next);
                }
            }
        }
        self.tarjan(nodes);
    }

    /// Strongly connected components (iterative Tarjan) of the unlocked part of `nodes`.
    fn tarjan(&mut self, nodes: &[u32]) {
        for &node in nodes {
            self.index[node as usize] = NONE;
            self.scc[node as usize] = NONE;
            self.on_stack[node as usize] = false;
        }
        let mut counter = 0u32;
        let mut components = 0u32;
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, u32)> = Vec::new();
        for &root in nodes {
            if self.locked(root) || self.index[root as usize] != NONE {
                continue;
            }
            self.index[root as usize] = counter;
            self.low[root as usize] = counter;
            counter += 1;
            stack.push(root);
            self.on_stack[root as usize] = true;
            calls.push((root, 0));
            while let Some(&(v, k)) = calls.last() {
                if let Some((next_k, w)) = self.successor(v, k) {
                    if let Some(top) = calls.last_mut() {
                        top.1 = next_k;
                    }
                    let wi = w as usize;
                    if self.index[wi] == NONE {
                        self.index[wi] = counter;
                        self.low[wi] = counter;
                        counter += 1;
                        stack.push(w);
                        self.on_stack[wi] = true;
                        calls.push((w, 0));
                    } else if self.on_stack[wi] {
                        self.low[v as usize] = self.low[v as usize].min(self.index[wi]);
                    }
                } else {
                    calls.pop();
                    let vi = v as usize;
                    if let Some(&(parent, _)) = calls.last() {
                        let pi = parent as usize;
                        self.low[pi] = self.low[pi].min(self.low[vi]);
                    }
                    if self.low[vi] == self.index[vi] {
                        while let Some(w) = stack.pop() {
                            self.on_stack[w as usize] = false;
                            self.scc[w as usize] = components;
                            if w == v {
                                break;
                            }
                        }
                        components += 1;
                    }
                }
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

    fn total(links: &[Candidate]) -> f64 {
        links.iter().map(|l| l.score).sum()
    }

    /// Every matching, by brute force; the best total, then the lexicographically first by
    /// solver order. Scores must be exact binary fractions so that sums are exact.
    fn brute_force(candidates: &[Candidate]) -> Vec<Candidate> {
        let mut edges: Vec<Candidate> = candidates
            .iter()
            .copied()
            .filter(|c| c.score > 0.0)
            .collect();
        edges.sort_unstable_by(Candidate::solver_order);
        let mut best: Option<(f64, Vec<Candidate>)> = None;
        let mut current = Vec::new();
        fn walk(
            edges: &[Candidate],
            i: usize,
            current: &mut Vec<Candidate>,
            best: &mut Option<(f64, Vec<Candidate>)>,
        ) {
            if i == edges.len() {
                let t = total(current);
                let better = match best {
                    None => true,
                    Some((bt, bl)) => {
                        t > *bt || (t == *bt && lexicographically_before(current, bl))
                    }
                };
                if better {
                    *best = Some((t, current.clone()));
                }
                return;
            }
            let e = edges[i];
            if current.iter().all(|l| l.a != e.a && l.b != e.b) {
                current.push(e);
                walk(edges, i + 1, current, best);
                current.pop();
            }
            walk(edges, i + 1, current, best);
        }
        walk(&edges, 0, &mut current, &mut best);
        best.map(|(_, links)| links).unwrap_or_default()
    }

    fn lexicographically_before(x: &[Candidate], y: &[Candidate]) -> bool {
        for (p, q) in x.iter().zip(y) {
            match Candidate::solver_order(p, q) {
                std::cmp::Ordering::Less => return true,
                std::cmp::Ordering::Greater => return false,
                std::cmp::Ordering::Equal => {}
            }
        }
        x.len() < y.len()
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
    fn exact_tie_prefers_the_higher_single_link() {
        // 0.5 + 0.25 == 0.75 exactly: the optimum {a0-b1, a1-b0} ties with {a0-b0}.
        // Lexicographically, 0.75 (a0-b0) comes first.
        let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.25)];
        assert_eq!(optimal(&cands), vec![c(0, 0, 0.75)]);
        // 0.5 + 0.375 > 0.75.
        let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.375)];
        assert_eq!(optimal(&cands), vec![c(0, 1, 0.5), c(1, 0, 0.375)]);
    }

    #[test]
    fn all_equal_scores_give_the_diagonal() {
        let mut cands = Vec::new();
        for a in 0..30 {
            for b in 0..30 {
                cands.push(c(a, b, 0.75));
            }
        }
        let expected: Vec<Candidate> = (0..30).map(|i| c(i, i, 0.75)).collect();
        assert_eq!(optimal(&cands), expected);
        // Without the diagonal: a_i links to the lowest b that still allows a perfect matching.
        cands.retain(|x| x.a != x.b);
        let links = optimal(&cands);
        assert_eq!(links.len(), 30);
        assert_eq!(links[0], c(0, 1, 0.75));
        assert_eq!(links[1], c(1, 0, 0.75));
        assert_eq!(links, reference_lex(&cands));
    }

    /// The tie rule by its definition: walking candidates in solver order, keep one when the
    /// best total with it and the links kept so far still reaches the optimum. Trusts only the
    /// totals of [`optimal`] (checked against brute force elsewhere), not its tie-breaking.
    /// Scores must be exact binary fractions so that sums are exact.
    fn reference_lex(cands: &[Candidate]) -> Vec<Candidate> {
        let best = total(&optimal(cands));
        let mut sorted = cands.to_vec();
        sorted.sort_unstable_by(Candidate::solver_order);
        let mut chosen: Vec<Candidate> = Vec::new();
        for e in &sorted {
            if chosen.iter().any(|l| l.a == e.a || l.b == e.b) {
                continue;
            }
            let mut trial = chosen.clone();
            trial.push(*e);
            let rest: Vec<Candidate> = sorted
                .iter()
                .copied()
                .filter(|x| trial.iter().all(|l| l.a != x.a && l.b != x.b))
                .collect();
            if total(&trial) + total(&optimal(&rest)) == best {
                chosen = trial;
            }
        }
        chosen.sort_unstable_by(Candidate::solver_order);
        chosen
    }

    #[test]
    fn medium_graphs_follow_the_tie_rule() {
        // Too large for brute force, large enough for long alternating paths and cycles.
        let mut rng = SplitMix(77);
        for round in 0..60 {
            let n = 8 + rng.below(20) as u32;
            let levels = 1 + rng.below(3);
            let per_record = 2 + rng.below(4);
            let mut cands = Vec::new();
            for a in 0..n {
                for _ in 0..per_record {
                    let score = (rng.below(levels) + 1) as f64 / 4.0;
                    cands.push(c(a, rng.below(n.into()) as u32, score));
                }
            }
            assert_eq!(
                optimal(&cands),
                reference_lex(&cands),
                "round {round}: {cands:?}"
            );
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
        assert_eq!(scale(&[1.0, 0.75, 0.5]), Scaled::Narrow(vec![4, 3, 2]));
        // Dice-like scores need 53 bits: still narrow.
        let Scaled::Narrow(w) = scale(&[0.9, 0.85, 0.1]) else {
            panic!("narrow expected")
        };
        assert!((w[0] as f64 / w[2] as f64 - 9.0).abs() < 1e-12);
        assert!(matches!(scale(&[1.0, 1e-5]), Scaled::Wide(_)));
        // Absurd ranges are rounded, every weight stays at least 1.
        let Scaled::Wide(w) = scale(&[1e300, 1e-300]) else {
            panic!("wide expected")
        };
        assert_eq!(w[1], 1);
        assert!(w[0] < 1 << 124);
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
        for round in 0..300 {
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
            assert_eq!(
                optimal(&cands),
                brute_force(&cands),
                "round {round}: {cands:?}"
            );
        }
    }

    fn small_graph(max_side: u32, levels: u64) -> impl Strategy<Value = Vec<Candidate>> {
        (1..=max_side, 1..=max_side).prop_flat_map(move |(nl, nr)| {
            proptest::collection::vec(
                (0..nl, 0..nr, 1..=levels).prop_map(move |(a, b, s)| {
                    // Exact binary fractions: sums are exact in f64.
                    c(a, b, s as f64 / levels as f64)
                }),
                0..=(nl * nr + 3) as usize,
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn matches_brute_force_with_ties(cands in small_graph(7, 4)) {
            prop_assert_eq!(optimal(&cands), brute_force(&cands));
        }

        #[test]
        fn matches_brute_force_fine_scores(cands in small_graph(7, 1 << 20)) {
            prop_assert_eq!(optimal(&cands), brute_force(&cands));
        }

        #[test]
        fn ignores_input_order(cands in small_graph(7, 3), seed in any::<u64>()) {
            let expected = optimal(&cands);
            let mut shuffled = cands.clone();
            SplitMix(seed).shuffle(&mut shuffled);
            prop_assert_eq!(optimal(&shuffled), expected.clone());
            // Relabelling: a and b renumbered in the same order keep the same answer.
            let relabelled: Vec<Candidate> = shuffled
                .iter()
                .map(|x| c(x.a * 1_000_003 + 7, x.b * 999_983, x.score))
                .collect();
            let back: Vec<Candidate> = optimal(&relabelled)
                .iter()
                .map(|x| c((x.a - 7) / 1_000_003, x.b / 999_983, x.score))
                .collect();
            prop_assert_eq!(back, expected);
        }
    }

    /// Random sparse bipartite graph: `n` records per side, `m` candidates.
    fn random_graph(seed: u64, n: u32, m: usize, levels: u64) -> Vec<Candidate> {
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
    }
}
