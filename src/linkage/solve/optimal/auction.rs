//! Step 3, the forward/reverse auction with `ε`-scaling: 61-bit weights on both adjacencies in,
//! prices and holdings out.
//!
//! Each scaling phase ends in `ε`-complementary slackness; prices and holdings carry over to
//! the next phase at an eighth of `ε`. At `ε = 1` on exact weights the holdings are optimal;
//! otherwise the [`Solver`](super::solver::Solver) finishes with the exact search from the
//! prices, and may hand its state back here to carry on.

use std::collections::VecDeque;

use super::graph::Adjacency;
use crate::linkage::solve::util::NONE;

/// In the auction: a left record that holds nothing (linked to no one, at profit 0).
pub(super) const ALONE: u32 = NONE - 1;

/// `ε` shrinks by `2^ALPHA_BITS` per phase of the auction, starting at the largest weight over
/// `2^ALPHA_BITS`.
pub(super) const ALPHA_BITS: u32 = 3;

/// Step 3: forward/reverse auction with `ε`-scaling, on weights of at most 61 bits.
#[derive(Default)]
pub(super) struct Auction {
    /// The weights of the left adjacency; the right adjacency reads edge `i`'s as
    /// `wl[right.slot[i]]` rather than keep a second copy.
    pub(super) wl: Vec<i64>,
    /// Per right record: its price and the left record holding it (`NONE` if free).
    pub(super) price: Vec<i64>,
    pub(super) owner: Vec<u32>,
    /// Per left record: the left slot it holds, `ALONE`, or `NONE` while it waits to bid, and
    /// its profit from what it holds.
    pub(super) held: Vec<u32>,
    pub(super) profit: Vec<i64>,
    pub(super) eps: i64,
    pub(super) queue: VecDeque<u32>,
}

impl Auction {
    /// Starts an auction with zero prices and nothing held.
    pub(super) fn start(
        &mut self,
        left: &Adjacency,
        right: &Adjacency,
        wl: impl Iterator<Item = i64>,
    ) {
        self.wl.clear();
        self.wl.extend(wl);
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

    pub(super) fn top(&self) -> i64 {
        self.wl.iter().copied().max().unwrap_or(0)
    }

    /// Runs scaling phases until one at `ε <= level` (then returns false) or at `ε = 1` (then
    /// returns true).
    pub(super) fn phases(&mut self, left: &Adjacency, right: &Adjacency, level: i64) -> bool {
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
    pub(super) fn best(&self, left: &Adjacency, x: usize) -> i64 {
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
    pub(super) fn phase(&mut self, left: &Adjacency, right: &Adjacency) {
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
    pub(super) fn lower(&mut self, left: &Adjacency, right: &Adjacency, x: usize, s: u32) -> bool {
        let r = left.next[s as usize] as usize;
        let w = self.wl[s as usize];
        let best = self.best(left, x);
        let mut lowest = (w - best).max(0);
        for i in right.edges(r) {
            let y = right.next[i] as usize;
            if y != x && self.held[y] != NONE {
                let w = self.wl[right.slot[i] as usize];
                lowest = lowest.max(w - self.profit[y] - self.eps);
            }
        }
        self.price[r] = lowest;
        self.profit[x] = w - lowest;
        lowest <= w - best + self.eps
    }

    /// Forward bid of the unassigned left `x`: takes its best right record (or stays alone
    /// when nothing is worth more than 0), raising the price by the margin over the second
    /// best plus `ε`.
    pub(super) fn bid(&mut self, left: &Adjacency, x: usize) {
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
    pub(super) fn reverse_bid(&mut self, left: &Adjacency, right: &Adjacency, r: usize) {
        let (mut first, mut second, mut edge) = (i64::MIN / 2, i64::MIN / 2, 0);
        for i in right.edges(r) {
            let v = self.wl[right.slot[i] as usize] - self.profit[right.next[i] as usize];
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
        self.profit[x as usize] = self.wl[right.slot[edge] as usize] - price;
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
