//! Steps 3 and 4 on one component: perturbed weights and the [`Graph`] in, the chosen edges
//! out.
//!
//! [`Solver`] builds both sides' adjacency with their weights, then either runs the exact
//! search from zero duals (small components: the Hungarian method), or runs the auction on
//! 61-bit weights first and the search from its prices; when the search runs out of budget,
//! its state goes back to the auction ([`Solver::resume`]) and the search is tried again
//! later. Its buffers are kept from one component to the next.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Tuning;
use super::auction::{ALONE, ALPHA_BITS, Auction};
use super::graph::{Graph, release};
use super::repair::Side;
use super::weights::{NARROW_BITS, Weight, bit_len, scale_down, scale_up};
use crate::linkage::solve::util::NONE;

/// Steps 3 and 4 on one component at a time, with buffers kept between components.
#[derive(Default)]
pub(super) struct Solver<W> {
    /// The weights in rank order, as [`weights`] wrote them.
    pub(super) w_rank: Vec<W>,
    /// The weights by slot of the left adjacency, the only copy the search reads.
    pub(super) wl: Vec<W>,
    pub(super) left: Side<W>,
    pub(super) right: Side<W>,
    // Search scratch.
    pub(super) epoch: u32,
    pub(super) heap: BinaryHeap<Reverse<(W, u32)>>,
    pub(super) tree_s: Vec<u32>,
    pub(super) tree_t: Vec<u32>,
    pub(super) pending: Vec<u32>,
    // Adjacency construction.
    pub(super) order: Vec<u32>,
    pub(super) cursor: Vec<u32>,
}

impl<W: Weight> Solver<W> {
    /// The optimum for the weights `w_rank` of `graph`: appends the indices of the chosen
    /// edges to `chosen`. A large component's edge lists are freed once the adjacencies are
    /// built (see [`Graph::release_edges`]); `ends(e)` gives the two ends of edge `e` again
    /// for the final pick.
    pub(super) fn solve(
        &mut self,
        graph: &mut Graph,
        tuning: &Tuning,
        auction: &mut Auction,
        ends: &dyn Fn(usize) -> (u32, u32),
        chosen: &mut Vec<u32>,
    ) {
        let m = graph.el.len();
        self.build(graph);
        graph.release_edges();
        if m < tuning.auction_edges {
            auction.held.clear();
            auction.held.resize(graph.nl, NONE);
            self.search_all(auction, u64::MAX);
        } else {
            self.auction_then_search(graph.nl, m, tuning, auction);
        }
        // The linked edge of a left record: among duplicate pairs, the first in rank order,
        // which has the largest weight and so is the tight one.
        let left = &mut self.left.v;
        for e in 0..m {
            let (l, r) = ends(e);
            if left[l as usize].mate == r {
                left[l as usize].mate = NONE;
                chosen.push(e as u32);
            }
        }
    }

    /// Builds both adjacencies of `graph`, with their weights, and clears the records.
    pub(super) fn build(&mut self, graph: &Graph) {
        let m = graph.el.len();
        let (left, right) = (&mut self.left.adj, &mut self.right.adj);
        left.group(graph.nl, &graph.el, &mut self.order, &mut self.cursor);
        left.next.clear();
        left.next
            .extend(self.order.iter().map(|&e| graph.er[e as usize]));
        // The left slot of each edge, by edge, in `right.slot` for now.
        right.slot.clear();
        right.slot.resize(m, 0);
        for (slot, &e) in self.order.iter().enumerate() {
            right.slot[e as usize] = slot as u32;
        }
        // The weights by left slot: the rank-order weights permuted in place (the order is not
        // read again), so that a giant component never holds both orders at once.
        if gather_in_place(&mut self.w_rank, &mut self.order) {
            std::mem::swap(&mut self.wl, &mut self.w_rank);
        } else {
            self.wl.clear();
            self.wl
                .extend(self.order.iter().map(|&e| self.w_rank[e as usize]));
        }
        release(&mut self.w_rank);
        right.group(graph.nr, &graph.er, &mut self.order, &mut self.cursor);
        right.next.clear();
        right
            .next
            .extend(self.order.iter().map(|&e| graph.el[e as usize]));
        // The left slot of each right slot, written over the edge order in place (no third
        // buffer of `m`), then swapped in.
        for e in self.order.iter_mut() {
            *e = right.slot[*e as usize];
        }
        std::mem::swap(&mut right.slot, &mut self.order);
        // The grouping scratch is not read again: a large component's is freed before the
        // auction and the search allocate theirs.
        release(&mut self.order);
        release(&mut self.cursor);
        self.left.reset();
        self.right.reset();
    }

    /// Step 3, then step 4 once the auction is far enough; back to the auction when the
    /// search runs out of budget.
    pub(super) fn auction_then_search(
        &mut self,
        nl: usize,
        m: usize,
        tuning: &Tuning,
        auction: &mut Auction,
    ) {
        // The auction's weights: times `nl + 1`, so that `ε = 1` leaves less than one unit of
        // `w'` to gain, and rounded down to 61 bits.
        let top = self.wl.iter().map(|w| w.get()).max().unwrap_or(0);
        let scale = nl as u128 + 1;
        let shift = (bit_len(top) + bit_len(scale)).saturating_sub(NARROW_BITS);
        let down = |w: &W| scale_down(w.get(), scale, shift);
        auction.start(&self.left.adj, &self.right.adj, self.wl.iter().map(down));
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
                tuning.budget * m as u64
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
    pub(super) fn resume(&mut self, auction: &mut Auction, scale: u128, shift: u32) {
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
}

/// Reorders `values` in place so that `values[i]` becomes the old `values[perm[i]]`, following
/// the permutation's cycles; `perm` is used as the marks and left unusable. Returns false, and
/// changes nothing, when `perm` is too long for its marks (2^31 entries or more).
fn gather_in_place<T: Copy>(values: &mut [T], perm: &mut [u32]) -> bool {
    const SEEN: u32 = 1 << 31;
    if perm.len() >= SEEN as usize || values.len() != perm.len() {
        return false;
    }
    for start in 0..perm.len() {
        if perm[start] & SEEN != 0 {
            continue;
        }
        let first = values[start];
        let mut j = start;
        loop {
            let k = perm[j] as usize;
            perm[j] |= SEEN;
            if k == start {
                values[j] = first;
                break;
            }
            values[j] = values[k];
            j = k;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::gather_in_place;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn gather_in_place_is_a_gather(keys in proptest::collection::vec(any::<u64>(), 0..200)) {
            // A permutation: positions sorted by their key.
            let mut perm: Vec<u32> = (0..keys.len() as u32).collect();
            perm.sort_by_key(|&i| (keys[i as usize], i));
            let values: Vec<i128> = (0..keys.len() as i128).map(|v| v * 7 - 3).collect();
            let expected: Vec<i128> = perm.iter().map(|&i| values[i as usize]).collect();
            let mut got = values.clone();
            prop_assert!(gather_in_place(&mut got, &mut perm));
            prop_assert_eq!(got, expected);
        }
    }
}
