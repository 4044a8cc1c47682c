//! The scan primitive: one query filter against a block of partner filters, as every scan
//! (exhaustive [`super::ScanPlan`], blocked [`crate::linkage::blocking`] and top-two
//! [`super::top_two`]) runs it.
//!
//! One fused kernel call ([`Kernel::select_split`]) counts a prefix of every partner (the front
//! halves, about three quarters, or whole filters: [`Scan`]), adds what the uncounted words
//! can add at most (word by word the smaller of the two filters' popcounts, from the
//! back-word popcounts a [`Block`] carries), compares that with the bits the score needs (a
//! bound linear in the partner's popcount, [`linear_bound`]) in vector registers, and counts
//! the rest for the survivors only. The survivors then get their exact score; those at or above the bar go to
//! the [`Keep`]. Nothing allocates per call once the reused buffers of [`Counts`] have grown.

use super::Similarity;
use crate::filter::kernel::{Kernel, LinearBound};

/// The query: its halves (the back empty when filters are not split) and popcounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) front: &'a [u64],
    pub(crate) back: &'a [u64],
    pub(crate) popcount: u32,
}

/// A block of partners in ascending popcount order: front halves back to back, back halves
/// back to back (empty when not split), back-word popcounts, popcounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    pub(crate) front: &'a [u64],
    pub(crate) back: &'a [u64],
    /// The popcount of every back word, one byte each (empty: the rest is bounded by the
    /// query's bits alone).
    pub(crate) back_pcs: &'a [u8],
    pub(crate) front_words: usize,
    pub(crate) back_words: usize,
    pub(crate) popcounts: &'a [u32],
}

/// What a scan keeps: the bar a score must reach (read again after every hit), and the hits.
pub(crate) trait Keep {
    /// The lowest score still worth a hit.
    fn bar(&self) -> f64;
    /// Partner `j` (position in the block) scored `score >= bar()`.
    fn hit(&mut self, j: usize, score: f64);
}

/// Reusable kernel outputs, and what the pre-check let through.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    /// Block positions of the pairs that passed the bound (reused between calls).
    at: Vec<u32>,
    /// Their shared bits, whole filters.
    common: Vec<u32>,
    /// Partners whose counted bits passed the bound, summed over calls: with the partners
    /// scored, the pass rate that decides how a tile is read (see [`super::unit`]).
    pub(crate) passed: u64,
}

/// How [`score_block_scan`] reads the filters of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The kernel counts the front halves; a pair's back half is read only when the front
    /// count plus the query's back bits could still reach the bar.
    Lazy,
    /// The kernel counts the front halves and the first half of the back halves (three
    /// quarters of an even split filter); the last quarter is read only when the count plus
    /// the query's bits there could still reach the bar. On dense filters (68% fill) that
    /// bound prunes almost every unrelated pair at Dice 0.8, where the half bound prunes none.
    Prefix,
    /// The kernel counts whole filters; nothing is read twice.
    Full,
}

/// Scores `q` against every partner of `b` (see the module docs); `eager` counts the whole
/// filters with the kernel ([`Scan::Full`]), otherwise [`Scan::Lazy`]. Returns the partners
/// scored.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn score_block<K: Keep>(
    kernel: &Kernel,
    similarity: Similarity,
    bits: u32,
    q: &Query<'_>,
    b: &Block<'_>,
    eager: bool,
    counts: &mut Counts,
    keep: &mut K,
) -> u64 {
    let scan = if eager { Scan::Full } else { Scan::Lazy };
    score_block_scan(kernel, similarity, bits, q, b, scan, counts, keep)
}

/// [`score_block`] with the way of reading chosen by the caller. Every [`Scan`] gives the same
/// hits in the same order; they differ in cost only. `counts.passed` grows by the pairs whose
/// kernel count passed the bound (all pairs that were not pruned).
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn score_block_scan<K: Keep>(
    kernel: &Kernel,
    similarity: Similarity,
    bits: u32,
    q: &Query<'_>,
    b: &Block<'_>,
    scan: Scan,
    counts: &mut Counts,
    keep: &mut K,
) -> u64 {
    let m = b.popcounts.len();
    if m == 0 {
        return 0;
    }
    if counts.at.len() < m {
        counts.at.resize(m, 0);
        counts.common.resize(m, 0);
    }
    let w = b.back_words;
    // The back words the kernel counts before the bound: none, about half of them (rounded up
    // so that the counted prefix is whole vectors of this kernel, where a part vector costs a
    // whole one), or all.
    let counted = match scan {
        _ if w == 0 => 0,
        Scan::Lazy => 0,
        Scan::Prefix => {
            let vector = kernel.vector_words().max(1);
            ((b.front_words + w / 2).div_ceil(vector) * vector)
                .saturating_sub(b.front_words)
                .min(w)
        }
        Scan::Full => w,
    };
    // What a pair can add in the words the kernel does not count before the bound, the
    // smaller of the two filters' popcounts word by word, is added by the kernel.
    let pa = q.popcount;
    let bound = linear_bound(similarity, pa, keep.bar(), bits);
    let (at, common) = (&mut counts.at[..m], &mut counts.common[..m]);
    let n = kernel.select_split(
        q.front,
        q.back,
        b.front,
        b.back,
        b.back_pcs,
        counted,
        b.popcounts,
        bound,
        at,
        common,
    );
    // The survivors' exact scores, in block order. The bar is read again before each hit, so a
    // bar raised by a hit (top two) is applied exactly as a pair-by-pair scan would; the bound
    // used a bar no higher, which only lets more pairs through.
    for (&j, &c) in at[..n].iter().zip(&common[..n]) {
        let j = j as usize;
        let score = similarity.score(c, pa, b.popcounts[j], bits);
        if score >= keep.bar() {
            keep.hit(j, score);
        }
    }
    counts.passed += n as u64;
    m as u64
}

/// The kernel's bound for a query of popcount `pa`: a pair with partner popcount `pb` can reach
/// `bar` only if its counted shared bits plus what the uncounted words can add (the kernel's
/// rest bound) are at least the shared bits the score needs, linear in `pb` for every measure.
/// One bit of margin absorbs the single-precision rounding (under 0.01 bit for
/// filters of up to 65,536 bits), so the bound never excludes a pair the exact score keeps.
pub(crate) fn linear_bound(similarity: Similarity, pa: u32, bar: f64, bits: u32) -> LinearBound {
    let (offset, slope) = linear_need(similarity, pa, bar, bits);
    LinearBound {
        offset: (offset - 1.0) as f32,
        slope: slope as f32,
    }
}

/// The shared bits a pair with partner popcount `pb` needs to reach `bar`, as
/// `offset + slope * pb` (in f64, unrounded): `(offset, slope)` for a query of popcount `pa`.
pub(crate) fn linear_need(similarity: Similarity, pa: u32, bar: f64, bits: u32) -> (f64, f64) {
    // A lower bar only lets more pairs through: a bar outside [0, 1] (or NaN) is bounded by the
    // nearest one that is not.
    let t = if bar.is_nan() {
        0.0
    } else {
        bar.clamp(0.0, 1.0)
    };
    let pa = f64::from(pa);
    match similarity {
        Similarity::Dice => (t * pa / 2.0, t / 2.0),
        Similarity::Jaccard => (t * pa / (1.0 + t), t / (1.0 + t)),
        Similarity::Hamming => ((pa - (1.0 - t) * f64::from(bits)) / 2.0, 0.5),
    }
}
