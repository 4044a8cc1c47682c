//! Step 1 and the frame around the phases: candidates in, links out.
//!
//! Usable candidates (finite score above 0) are sorted into solver order (their rank) as
//! 16-byte keys, the only copy kept; their records are renumbered, and a union-find splits
//! them into connected components, and that copy is reordered component by component (each in
//! rank order) so that each component is read in one sweep. A star (one record on a side)
//! takes its best edge; any other component is renumbered from 0 into a [`Graph`] and solved by the [`Workspace`], whose
//! buffers are reused from one component to the next. The chosen candidates, sorted, are the
//! links in solver order.

use super::Tuning;
use super::auction::Auction;
use super::graph::Graph;
use super::solver::Solver;
use super::weights::weights;
use crate::linkage::Candidate;
use crate::linkage::solve::util::{NONE, Renumber, UnionFind};

pub(super) fn optimal_tuned(candidates: &[Candidate], tuning: &Tuning) -> Vec<Candidate> {
    let ranked = Ranked::new(candidates);
    // Records, components and their union read the input in its own order (sequential reads);
    // only what needs solver order goes through the ranking.
    let inputs = || candidates.iter().filter(|c| usable(c));
    let left = Renumber::new(inputs().map(|c| c.a));
    let right = Renumber::new(inputs().map(|c| c.b));
    let (nl, nr) = (left.len(), right.len());
    // Both ends of a candidate, renumbered over all components (table lookups).
    let ends_of = |c: &Candidate| (left.id(c.a) as u32, right.id(c.b) as u32);
    let ends = |rank: usize| ends_of(&ranked.get(rank));
    // Connected components, numbered in order of their best edge.
    let mut uf = UnionFind::new(nl + nr);
    for c in inputs() {
        let (l, r) = ends_of(c);
        uf.union(l, nl as u32 + r);
    }
    let mut comp_of_root = vec![NONE; nl + nr];
    let mut comp_of_edge = Vec::with_capacity(ranked.len());
    let mut starts: Vec<usize> = Vec::new();
    for rank in 0..ranked.len() {
        let root = uf.find(ends(rank).0) as usize;
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
    let mut grouped = vec![0u32; ranked.len()];
    for (rank, &comp) in comp_of_edge.iter().enumerate() {
        grouped[cursor[comp as usize]] = rank as u32;
        cursor[comp as usize] += 1;
    }
    drop(comp_of_edge);
    drop(cursor);
    // From here on the candidates are read component by component: put them in that order
    // (each component still in rank order) and drop the grouping (4 bytes per candidate less
    // while the components are solved).
    let ranked = ranked.regroup(grouped);
    let ends = |position: usize| ends_of(&ranked.get(position));

    let mut local_l = vec![NONE; nl];
    let mut local_r = vec![NONE; nr];
    let mut graph = Graph::default();
    let mut workspace = Workspace::default();
    let mut chosen: Vec<u32> = Vec::new();
    let mut local: Vec<u32> = Vec::new();
    for comp in starts.windows(2) {
        let first = comp[0];
        graph.clear();
        graph.reserve_exact(comp[1] - first);
        for position in first..comp[1] {
            let c = ranked.get(position);
            let (l, r) = ends_of(&c);
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
            graph.score.push(c.score);
        }
        if graph.nl == 1 || graph.nr == 1 {
            // A star: any matching has one edge, so the best edge (first in rank order) wins.
            chosen.push(first as u32);
        } else {
            local.clear();
            let ends_local = |e: usize| {
                let (l, r) = ends(first + e);
                (local_l[l as usize], local_r[r as usize])
            };
            workspace.solve(&mut graph, tuning, &ends_local, &mut local);
            chosen.extend(local.iter().map(|&e| (first + e as usize) as u32));
        }
    }
    let mut links: Vec<Candidate> = chosen
        .into_iter()
        .map(|position| ranked.get(position as usize))
        .collect();
    links.sort_unstable_by(Candidate::solver_order);
    links
}

/// The usable candidates (finite score above 0) in solver order (later regrouped by
/// component, see [`Ranked::regroup`]), the only copy the solver
/// keeps of them: a 4-byte index into the input when the input is sorted by `(a, b)` (as
/// candidate search returns it), a 16-byte [`sort_key`] otherwise.
enum Ranked<'a> {
    /// Input positions in solver order: in an input sorted by `(a, b)` the position orders
    /// like `(a, b)`, so (descending score, ascending position) is solver order.
    Indexed {
        order: Vec<u32>,
        input: &'a [Candidate],
    },
    /// [`sort_key`]s, sorted.
    Keys(Vec<u128>),
}

/// Whether the solver uses a candidate: a finite score above 0 (any other could only lower a
/// total).
fn usable(c: &Candidate) -> bool {
    c.score.is_finite() && c.score > 0.0
}

impl<'a> Ranked<'a> {
    fn new(candidates: &'a [Candidate]) -> Ranked<'a> {
        let by_pair = candidates
            .windows(2)
            .all(|w| (w[0].a, w[0].b) <= (w[1].a, w[1].b));
        if by_pair && u32::try_from(candidates.len()).is_ok() {
            // Sorted as (inverted score bits, position): 16 bytes each for the sort only.
            let mut keys: Vec<(u64, u32)> = Vec::with_capacity(candidates.len());
            keys.extend(
                candidates
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| usable(c))
                    .map(|(i, c)| (!c.score.to_bits(), i as u32)),
            );
            keys.sort_unstable();
            let order = keys.iter().map(|k| k.1).collect();
            drop(keys);
            Ranked::Indexed {
                order,
                input: candidates,
            }
        } else {
            let mut keys: Vec<u128> = Vec::with_capacity(candidates.len());
            keys.extend(candidates.iter().filter(|c| usable(c)).map(sort_key));
            keys.sort_unstable();
            Ranked::Keys(keys)
        }
    }

    /// The same candidates in the order `positions` gives (ranks, each once): position `i` of
    /// the result is rank `positions[i]` of `self`. Consumes both, so that the old order is
    /// freed.
    fn regroup(self, positions: Vec<u32>) -> Ranked<'a> {
        match self {
            Ranked::Indexed { order, input } => {
                let mut positions = positions;
                for p in &mut positions {
                    *p = order[*p as usize];
                }
                drop(order);
                Ranked::Indexed {
                    order: positions,
                    input,
                }
            }
            Ranked::Keys(keys) => {
                Ranked::Keys(positions.iter().map(|&p| keys[p as usize]).collect())
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Ranked::Indexed { order, .. } => order.len(),
            Ranked::Keys(keys) => keys.len(),
        }
    }

    /// The candidate of rank `rank`.
    #[inline]
    fn get(&self, rank: usize) -> Candidate {
        match self {
            Ranked::Indexed { order, input } => input[order[rank] as usize],
            Ranked::Keys(keys) => decode(keys[rank]),
        }
    }
}

/// The candidate of a [`sort_key`].
fn decode(k: u128) -> Candidate {
    Candidate {
        a: (k >> 32) as u32,
        b: k as u32,
        score: f64::from_bits(!((k >> 64) as u64)),
    }
}

/// Solver order as one integer, for a score that is finite and above 0: descending score (the
/// bits of a positive finite `f64` order like its value), then ascending `a`, then ascending
/// `b`. Integers sort faster than the comparison chain.
pub(super) fn sort_key(c: &Candidate) -> u128 {
    (u128::from(!c.score.to_bits()) << 64) | (u128::from(c.a) << 32) | u128::from(c.b)
}

/// Buffers reused from one component to the next, for narrow and for wide weights.
#[derive(Default)]
pub(super) struct Workspace {
    pub(super) narrow: Solver<i64>,
    pub(super) wide: Solver<i128>,
    pub(super) auction: Auction,
}

impl Workspace {
    /// Solves one component; appends the indices of the chosen edges to `chosen`; `ends(e)`
    /// gives the local ends of edge `e`. A large component's scores and edge lists are freed
    /// on the way (see [`Graph::release_scores`] and [`Graph::release_edges`]).
    pub(super) fn solve(
        &mut self,
        graph: &mut Graph,
        tuning: &Tuning,
        ends: &dyn Fn(usize) -> (u32, u32),
        chosen: &mut Vec<u32>,
    ) {
        let narrow = weights(graph, &mut self.narrow.w_rank, &mut self.wide.w_rank);
        // The scores are in the weights now; a large component's are not kept for the next.
        graph.release_scores();
        if narrow {
            self.narrow
                .solve(graph, tuning, &mut self.auction, ends, chosen);
        } else {
            self.wide
                .solve(graph, tuning, &mut self.auction, ends, chosen);
        }
    }
}
