//! The scan primitive: one query filter against a block of partner filters, as every scan
//! (exhaustive [`super::ScanPlan`], blocked [`crate::linkage::blocking`] and top-two
//! [`super::top_two`]) runs it.
//!
//! One kernel call scores the query's front half against the block's front halves (and, in
//! *eager* mode, a second its back half against the back halves); partners come in groups of
//! 16 in ascending popcount order, and a group none of whose counts can reach the bar (the
//! bits needed by its smallest partner, less the query's uncounted back-half bits) is skipped
//! whole. Survivors get their exact score; those at or above the bar go to the [`Keep`].

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
    /// Partners that passed the half-filter pre-check in lazy mode, summed over calls: with the
    /// partners scored, the pass rate that decides between lazy and eager (see
    /// [`super::unit`]).
    pub(crate) passed: u64,
}

/// Scores `q` against every partner of `b` (see the module docs); `eager` counts the whole
/// filters with the kernel (one pass over both halves, [`Kernel::and_counts_split`]), for bars
/// where the half-filter pre-check rarely prunes; otherwise only the front halves are counted
/// and the back halves read for the partners that pass. Returns the partners scored. Both
/// modes give the same hits in the same order.
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
    let m = b.popcounts.len();
    if m == 0 {
        return 0;
    }
    if counts.counts.len() < m {
        counts.counts.resize(m, 0);
    }
    let eager = eager && b.back_words > 0;
    let out = &mut counts.counts[..m];
    if eager {
        kernel.and_counts_split(
            q.front,
            q.back,
            b.front,
            b.back,
            b.front_words,
            b.back_words,
            out,
        );
    } else {
        kernel.and_counts(q.front, b.front, b.front_words, out);
    }
    let pa = q.popcount;
    let mut passed = 0u64;
    for (g, group) in out.chunks(16).enumerate() {
        // The shared bits a score needs grow with the partner's popcount, and partners are
        // sorted by popcount, so the need of the group's first partner bounds all 16.
        let need = similarity.min_common(pa, b.popcounts[g * 16], keep.bar(), bits);
        if eager {
            // Branch-free test of the whole group (vectorised); survivors are rare.
            if !group.iter().fold(false, |any, &c| any | (c >= need)) {
                continue;
            }
            for (i, &common) in group.iter().enumerate() {
                let j = g * 16 + i;
                let score = similarity.score(common, pa, b.popcounts[j], bits);
                if score >= keep.bar() {
                    keep.hit(j, score);
                }
            }
        } else {
            // A pair's shared bits are at most its front count plus the query's back bits.
            let limit = need.saturating_sub(q.back_popcount);
            let pass = group.iter().fold(0u32, |n, &x| n + u32::from(x >= limit));
            if pass == 0 {
                continue;
            }
            passed += u64::from(pass);
            for (i, &front_common) in group.iter().enumerate() {
                if front_common < limit {
                    continue;
                }
                let j = g * 16 + i;
                let w = b.back_words;
                let common = front_common
                    + q.back
                        .iter()
                        .zip(&b.back[j * w..(j + 1) * w])
                        .map(|(x, y)| (x & y).count_ones())
                        .sum::<u32>();
                let score = similarity.score(common, pa, b.popcounts[j], bits);
                if score >= keep.bar() {
                    keep.hit(j, score);
                }
            }
        }
    }
    counts.passed += passed;
    m as u64
}
