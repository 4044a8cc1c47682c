//! Step 1 and the frame around the phases: candidates in, links out.
//!
//! Usable candidates (finite score above 0) are sorted into solver order (their rank), their
//! records renumbered, and a union-find splits them into connected components, grouped so that
//! each is read in one sweep. A star (one record on a side) takes its best edge; any other
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
pub(super) fn sort_key(c: &Candidate) -> u128 {
    (u128::from(!c.score.to_bits()) << 64) | (u128::from(c.a) << 32) | u128::from(c.b)
}

/// An edge in the list grouped by component: its records (numbered over all components), its
/// rank in solver order and its score.
#[derive(Clone, Copy, Default)]
pub(super) struct Placed {
    pub(super) l: u32,
    pub(super) r: u32,
    pub(super) rank: u32,
    pub(super) score: f64,
}

/// Buffers reused from one component to the next, for narrow and for wide weights.
#[derive(Default)]
pub(super) struct Workspace {
    pub(super) narrow: Solver<i64>,
    pub(super) wide: Solver<i128>,
    pub(super) auction: Auction,
}

impl Workspace {
    /// Solves one component; appends the indices of the chosen edges to `chosen`.
    pub(super) fn solve(&mut self, graph: &Graph, tuning: &Tuning, chosen: &mut Vec<u32>) {
        if weights(graph, &mut self.narrow.w_rank, &mut self.wide.w_rank) {
            self.narrow.solve(graph, tuning, &mut self.auction, chosen);
        } else {
            self.wide.solve(graph, tuning, &mut self.auction, chosen);
        }
    }
}
