//! Step 4, the exact primal-dual search: the auction's holdings and prices (or nothing and
//! zero) in, a matching optimal for the perturbed weights out.
//!
//! Duals start feasible (prices on the right, best profits on the left); tight holdings become
//! links, then free left records take free right records over tight edges, and every record
//! still violating complementary slackness runs one Dijkstra [`search`] over reduced costs.
//! The searches may run under a budget of scanned edges, so that the solver can hand a hard
//! case back to the auction.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::auction::{ALONE, Auction};
use super::graph::Adjacency;
use super::solver::Solver;
use super::weights::Weight;
use crate::linkage::solve::util::NONE;

/// One side of a component for the exact search: adjacency and records. The weights are kept
/// once, by slot of the left adjacency ([`Solver::wl`]); the right side reads an edge's
/// weight through its `slot`.
#[derive(Default)]
pub(super) struct Side<W> {
    pub(super) adj: Adjacency,
    pub(super) v: Vec<Vertex<W>>,
}

/// A record in the exact search: its dual value and partner (`mate`), and the search's
/// scratch, kept together because searches visit records in random order.
#[derive(Clone, Copy)]
pub(super) struct Vertex<W> {
    pub(super) dual: W,
    pub(super) dist: W,
    pub(super) mate: u32,
    pub(super) pred: u32,
    /// The last search (epoch) that reached this record, and that settled it.
    pub(super) seen: u32,
    pub(super) done: u32,
}

impl<W: Weight> Side<W> {
    /// Clears the duals and partners for the records of the adjacency. Stamps of earlier
    /// components are below the current epoch, so the scratch needs no clearing.
    pub(super) fn reset(&mut self) {
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

impl<W: Weight> Solver<W> {
    /// Step 4 from the auction's holdings and the prices in the right records' duals (zero
    /// without an auction); returns false, unfinished, once the searches have scanned more
    /// than `budget` edges.
    pub(super) fn search_all(&mut self, auction: &Auction, mut budget: u64) -> bool {
        // Feasible duals: prices as they are, and each left record's best profit at them. The
        // holdings that are tight under these duals become links.
        let (left, right, wl) = (&mut self.left, &mut self.right, &self.wl);
        for x in 0..left.adj.len() {
            let edges = left.adj.edges(x);
            let best = left.adj.next[edges.clone()]
                .iter()
                .zip(&wl[edges])
                .map(|(&r, &w)| w - right.v[r as usize].dual)
                .fold(W::ZERO, W::max);
            left.v[x].dual = best;
            let s = auction.held[x];
            if s < ALONE {
                let r = left.adj.next[s as usize];
                if wl[s as usize] - right.v[r as usize].dual == best {
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
                right.v[r].mate == NONE && wl[s] - right.v[r].dual == dual
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
                    &self.wl,
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
#[allow(clippy::too_many_arguments)]
pub(super) fn search<W: Weight>(
    s: &mut Side<W>,
    t: &mut Side<W>,
    wl: &[W],
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
    let mut scanned = relax(s, t, wl, heap, epoch, u, W::ZERO, best);
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
        scanned += relax(s, t, wl, heap, epoch, x, d, best);
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
/// only keys below `bound`; returns the number of edges. `wl` are the weights by left slot.
#[allow(clippy::too_many_arguments)]
pub(super) fn relax<W: Weight>(
    s: &Side<W>,
    t: &mut Side<W>,
    wl: &[W],
    heap: &mut BinaryHeap<Reverse<(W, u32)>>,
    epoch: u32,
    x: u32,
    dx: W,
    bound: W,
) -> u64 {
    let base = dx + s.v[x as usize].dual;
    let edges = s.adj.edges(x as usize);
    // The left side's slots are the weights' own; the right side's lead there by `slot`.
    let right = !s.adj.slot.is_empty();
    for i in edges.clone() {
        let v = s.adj.next[i];
        let w = wl[if right { s.adj.slot[i] as usize } else { i }];
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
