//! Step 1 and the frame around the phases: candidates in, links out.
//!
//! Usable candidates (finite score above 0) are sorted into solver order (their rank) as
//! 16-byte keys, the only copy kept; their records are renumbered, and a union-find splits
//! them into connected components, whose ranks are grouped (4 bytes per candidate) so that
//! each component is read in one sweep. A star (one record on a side) takes its best edge; any other
//! component is renumbered from 0 into a [`Graph`] and solved by the [`Workspace`], whose
//! buffers are reused from one component to the next. The chosen ranks, sorted, are the links
//! in solver order.

use super::Tuning;
use super::auction::Auction;
use super::graph::Graph;
use super::solver::Solver;
use super::weights::weights;
use crate::linkage::Candidate;
use crate::linkage::solve::util::{NONE, Renumber, UnionFind};

pub(super) fn optimal_tuned(candidates: &[Candidate], tuning: &Tuning) -> Vec<Candidate> {
    // The only copy of the candidates: their solver-order keys, which hold `a`, `b` and the
    // score (see [`decode`]); 16 bytes each, as the candidates themselves.
    let mut keys: Vec<u128> = candidates
        .iter()
        .filter(|c| c.score.is_finite() && c.score > 0.0)
        .map(sort_key)
        .collect();
    keys.sort_unstable();
    let left = Renumber::new(keys.iter().map(|&k| decode(k).a));
    let right = Renumber::new(keys.iter().map(|&k| decode(k).b));
    let (nl, nr) = (left.len(), right.len());
    // Both ends of an edge, renumbered over all components (a table lookup each).
    let ends = |k: u128| {
        let c = decode(k);
        (left.id(c.a) as u32, right.id(c.b) as u32)
    };

    // Connected components, numbered in order of their best edge.
    let mut uf = UnionFind::new(nl + nr);
    for &k in &keys {
        let (l, r) = ends(k);
        uf.union(l, nl as u32 + r);
    }
    let mut comp_of_root = vec![NONE; nl + nr];
    let mut comp_of_edge = Vec::with_capacity(keys.len());
    let mut starts: Vec<usize> = Vec::new();
    for &k in &keys {
        let root = uf.find(ends(k).0) as usize;
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
    let mut grouped = vec![0u32; keys.len()];
    for (rank, &comp) in comp_of_edge.iter().enumerate() {
        grouped[cursor[comp as usize]] = rank as u32;
        cursor[comp as usize] += 1;
    }
    drop(comp_of_edge);
    drop(cursor);

    let mut local_l = vec![NONE; nl];
    let mut local_r = vec![NONE; nr];
    let mut graph = Graph::default();
    let mut workspace = Workspace::default();
    let mut chosen: Vec<u32> = Vec::new();
    let mut local: Vec<u32> = Vec::new();
    for comp in starts.windows(2) {
        let ranks = &grouped[comp[0]..comp[1]];
        graph.clear();
        for &rank in ranks {
            let k = keys[rank as usize];
            let (l, r) = ends(k);
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
            graph.score.push(decode(k).score);
        }
        if graph.nl == 1 || graph.nr == 1 {
            // A star: any matching has one edge, so the best edge (first in rank order) wins.
            chosen.push(ranks[0]);
        } else {
            local.clear();
            workspace.solve(&mut graph, tuning, &mut local);
            chosen.extend(local.iter().map(|&e| ranks[e as usize]));
        }
    }
    drop(grouped);
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|rank| decode(keys[rank as usize]))
        .collect()
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
    /// Solves one component; appends the indices of the chosen edges to `chosen`. A large
    /// component's scores are freed on the way (see [`Graph::release_scores`]).
    pub(super) fn solve(&mut self, graph: &mut Graph, tuning: &Tuning, chosen: &mut Vec<u32>) {
        let narrow = weights(graph, &mut self.narrow.w_rank, &mut self.wide.w_rank);
        // The scores are in the weights now; a large component's are not kept for the next.
        graph.release_scores();
        if narrow {
            self.narrow.solve(graph, tuning, &mut self.auction, chosen);
        } else {
            self.wide.solve(graph, tuning, &mut self.auction, chosen);
        }
    }
}
