//! The scan primitive: one query filter against a block of partner filters, as every scan
//! (exhaustive [`super::ScanPlan`], blocked [`crate::linkage::blocking`] and top-two
//! [`super::top_two`]) runs it.
//!
//! One kernel call scores the query's front half against the block's front halves (and, in
//! *eager* mode, a second its back half against the back halves); partners come in groups of
//! 16 in ascending popcount order, and a group none of whose counts can reach the bar (the
//! bits needed by its smallest partner, less the query's uncounted back-half bits) is skipped
//! whole. The survivors' positions are gathered, their unread words counted in one dispatched
//! call ([`Kernel::add_counts_at`], `POPCNT` rather than the baseline build's bit-twiddling
//! `count_ones`), and they get their exact score; those at or above the bar go to the
//! [`Keep`]. Nothing allocates per call once the reused buffers of [`Counts`] have grown.

use super::Similarity;
use crate::filter::kernel::Kernel;

/// The query: its halves (the back empty when filters are not split) and popcounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) front: &'a [u64],
    pub(crate) back: &'a [u64],
    pub(crate) popcount: u32,
    pub(crate) back_popcount: u32,
}

/// A block of partners in ascending popcount order: front halves back to back, back halves
/// back to back (empty when not split), popcounts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    pub(crate) front: &'a [u64],
    pub(crate) back: &'a [u64],
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
    counts: Vec<u32>,
    /// Block positions of the pairs that passed the bound (reused between calls).
    at: Vec<u32>,
    /// Their shared bits: the kernel's count, then the rest added.
    common: Vec<u32>,
    /// Partners that passed the half-filter pre-check in lazy mode, summed over calls: with the
    /// partners scored, the pass rate that decides between lazy and eager (see
    /// [`super::unit`]).
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
    if counts.counts.len() < m {
        counts.counts.resize(m, 0);
    }
    let w = b.back_words;
    // The back words the kernel counts: none, half of them or all.
    let counted = match scan {
        _ if w == 0 => 0,
        Scan::Lazy => 0,
        Scan::Prefix if w >= 2 => w / 2,
        Scan::Prefix | Scan::Full => w,
    };
    let out = &mut counts.counts[..m];
    if counted == 0 {
        kernel.and_counts(q.front, b.front, b.front_words, out);
    } else {
        kernel.and_counts_split_strided(
            q.front,
            &q.back[..counted],
            b.front,
            b.back,
            b.front_words,
            counted,
            w,
            out,
        );
    }
    // What the kernel did not count: the query's bits there bound what a pair can add.
    let q_rest = &q.back[counted..];
    let rest_bits = if counted == 0 {
        q.back_popcount
    } else {
        crate::filter::popcount(q_rest)
    };
    let pa = q.popcount;
    let mut passed = 0u64;
    // Pass 1: the partners whose counted bits pass the bound, in block order.
    counts.at.clear();
    for (g, group) in out.chunks(16).enumerate() {
        // The shared bits a score needs grow with the partner's popcount, and partners are
        // sorted by popcount, so the need of the group's first partner bounds all 16.
        let need = similarity.min_common(pa, b.popcounts[g * 16], keep.bar(), bits);
        let limit = need.saturating_sub(rest_bits);
        // Branch-free test of the whole group (vectorised); survivors are rare.
        let pass = group.iter().fold(0u32, |n, &x| n + u32::from(x >= limit));
        if pass == 0 {
            continue;
        }
        passed += u64::from(pass);
        for (i, &counted_common) in group.iter().enumerate() {
            if counted_common >= limit {
                counts.at.push((g * 16 + i) as u32);
            }
        }
    }
    // Pass 2: the survivors' unread words, in one dispatched kernel call (`POPCNT`, not the
    // baseline build's bit-twiddling `count_ones`), then their exact scores in block order.
    // The bar is read again before each hit, so a bar raised by a hit (top two) is applied
    // exactly as a pair-by-pair scan would; pass 1 used a bar no higher, which only lets
    // more pairs through.
    let (at, common) = (&counts.at, &mut counts.common);
    common.clear();
    common.extend(at.iter().map(|&j| out[j as usize]));
    if !q_rest.is_empty() {
        kernel.add_counts_at(q_rest, b.back, w, counted, at, common);
    }
    for (&j, &c) in at.iter().zip(common.iter()) {
        let j = j as usize;
        let score = similarity.score(c, pa, b.popcounts[j], bits);
        if score >= keep.bar() {
            keep.hit(j, score);
        }
    }
    counts.passed += passed;
    m as u64
}
