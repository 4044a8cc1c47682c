//! Candidate generation: every pair of records whose similarity reaches a threshold.
//!
//! # How
//!
//! 1. **Popcounts once.** Each filter's popcount is computed once; a pair's similarity needs
//!    only `|A & B|` on top.
//! 2. **Length filter.** A pair can reach Dice `t` only if `2 min(|A|,|B|) / (|A|+|B|) >= t`,
//!    so for a query of popcount `p` only filters with popcount in
//!    `[ceil(t p / (2 - t)), floor(p (2 - t) / t)]` can match (similar bounds hold for Jaccard
//!    and Hamming). Both sides are sorted by popcount, so that range is one contiguous run,
//!    found by binary search, and everything outside it is skipped without being touched.
//! 3. **Tiles.** The sorted second side is cut into tiles of [`TILE_FILTERS`] filters (256 KiB
//!    of 1024-bit filters, which stays in L2 cache); a task takes a chunk of queries and walks
//!    the tiles its queries need, calling the popcount kernel ([`crate::filter::kernel`]) once
//!    per (query, tile run). Dispatch to the CPU's best kernel happens per call, never per pair,
//!    and nothing in the loop allocates or locks.
//! 4. **Bounds from a prefix, chosen per tile.** Filters are stored as front and back halves.
//!    A pair's shared bits are at most what the kernel counted on a prefix of the filter plus,
//!    word by word in the rest, the smaller of the two filters' popcounts (kept per filter, one
//!    byte a back word), so the rest is read only for the pairs this bound cannot exclude. One fused kernel call per (query, tile run), [`Kernel::select_split`], counts the
//!    prefix, compares it with the bound in vector registers and counts the rest of the
//!    survivors only. Three ways of reading (`score::Scan`): *lazy* counts the front halves
//!    (for random half-full 1024-bit filters at Dice 0.8 the bound is about 384 against 410
//!    needed: almost every pair is excluded); *prefix* counts the front and half the back,
//!    three quarters of the filter, rounded up to whole vectors of the kernel (on clkhash CLKs
//!    of 68% fill, where unrelated records share common n-grams, the half bound excludes
//!    almost nothing at Dice 0.8, the three-quarter bound most pairs); *full* counts whole
//!    filters where neither bound prunes (dense filters at low thresholds). A unit's first
//!    tile starts lazy, the next ones where the previous ended; each way is judged on its
//!    first 4,096 pairs of a tile, and the scan moves on to the next when more than one pair
//!    in eight passes the bound (one in 32 for lazy, whose survivors read half a filter more). The result is exact and the same in every way; only the cost
//!    differs.
//!    The matcher builds both sides in one **bit order** ([`FilterSet::ordered`],
//!    [`sample_order`]): the bits set in closest to half of the records first, those set in
//!    nearly all or nearly none last, where the word-by-word bound is nearly exact
//!    ([`crate::filter::order`]). On dense FEBRL CLKs at Dice 0.8 that makes the bound after
//!    half a filter exclude 45% of pairs instead of 9%, after three quarters 99.5% instead of
//!    86%, and at 0.85 the half bound alone decides 99.7% of pairs. Scores are unchanged: both
//!    filters of every pair move alike.
//!    **On the AVX2 kernel** steps 3-4 take another way (`unit::ScanPlan::run_unit_sliced`):
//!    the second side is bit-sliced (`filter::sliced`: 256 filters per group, one
//!    256-bit plane per bit), a query's shared bits with a whole group are summed from the
//!    planes at its set (or, when denser than half, clear) bits by carry-save adders, and the
//!    linear bound is compared in sliced form; only the pairs of its mask are counted and scored.
//!    Its cost does not depend on the threshold or on a pre-check (docs/benchmarks.md, "Bit-sliced
//!    scan on AVX2": 4.4-4.9x anonlink on FEBRL CLKs at Dice 0.8 on Zen 3).
//! 5. **Parallel and deterministic.** Query chunks run on rayon; each chunk's candidates are
//!    collected in its own vector and the vectors are joined in chunk order, then sorted by
//!    `(a, b)`. The result is the same set, in the same order, for any thread count.
//!
//! Each task is a rectangle of the comparison matrix (a run of queries against a run of
//! tiles), which is also the unit that can be shipped to another machine later.

use rayon::prelude::*;

use super::Candidate;
use crate::filter::kernel::Kernel;
use crate::filter::order::BitOrder;
use crate::filter::sliced::{Counter, SlicedSet};

/// Filters per tile of the second side: 2,048 x 1024-bit filters = 256 KiB, an L2-sized block.
pub const TILE_FILTERS: usize = 2048;
/// Queries per parallel task.
pub(crate) const CHUNK_QUERIES: usize = 256;

/// The similarity measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Similarity {
    /// Dice coefficient `2|A&B| / (|A|+|B|)` (default; what CLK matching uses).
    #[default]
    Dice,
    /// Jaccard coefficient `|A&B| / |A|B|`.
    Jaccard,
    /// `1 - Hamming(A, B) / m`: the share of bit positions on which the filters agree.
    Hamming,
}

impl Similarity {
    /// The measure's name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Similarity::Dice => "dice",
            Similarity::Jaccard => "jaccard",
            Similarity::Hamming => "hamming",
        }
    }

    /// The score of a pair with `common` shared bits and popcounts `pa`, `pb`, in filters of
    /// `bits` bits. Two empty filters score 0 under Dice and Jaccard.
    #[inline]
    pub fn score(self, common: u32, pa: u32, pb: u32, bits: u32) -> f64 {
        match self {
            Similarity::Dice => {
                let total = pa + pb;
                if total == 0 {
                    0.0
                } else {
                    2.0 * f64::from(common) / f64::from(total)
                }
            }
            Similarity::Jaccard => {
                let union = pa + pb - common;
                if union == 0 {
                    0.0
                } else {
                    f64::from(common) / f64::from(union)
                }
            }
            Similarity::Hamming => {
                let distance = pa + pb - 2 * common;
                1.0 - f64::from(distance) / f64::from(bits)
            }
        }
    }

    /// A lower bound on the shared bits a pair with popcounts `pa`, `pb` needs to reach
    /// `threshold` (rounded down and less one, so it never excludes a match; the exact score
    /// decides). It grows with `pb`, so the bound for the smallest `pb` of a sorted run holds
    /// for the whole run.
    #[inline]
    pub fn min_common(self, pa: u32, pb: u32, threshold: f64, bits: u32) -> u32 {
        let total = f64::from(pa + pb);
        let need = match self {
            Similarity::Dice => threshold * total / 2.0,
            Similarity::Jaccard => threshold * total / (1.0 + threshold),
            Similarity::Hamming => (total - (1.0 - threshold) * f64::from(bits)) / 2.0,
        };
        // `floor(need) - 1`, clamped at 0: `need - 1` is exact for `need >= 1` (below 2^53)
        // and truncation is `floor` on non-negative values; written so because `f64::floor`
        // is a library call on baseline x86-64, and this runs once per 16 pairs.
        let less_one = need - 1.0;
        if less_one > 0.0 { less_one as u32 } else { 0 }
    }

    /// The popcounts `[lo, hi]` a partner of a filter with popcount `p` must have for the pair
    /// to possibly reach `threshold`. Conservative (never excludes a pair that could match):
    /// the bounds are widened by one to absorb floating-point rounding; the exact score decides.
    pub fn popcount_bounds(self, p: u32, threshold: f64, bits: u32) -> (u32, u32) {
        let t = threshold.clamp(0.0, 1.0);
        let p_f = f64::from(p);
        let (lo, hi) = match self {
            _ if t <= 0.0 => (0.0, f64::from(bits)),
            Similarity::Dice => (t * p_f / (2.0 - t), p_f * (2.0 - t) / t),
            Similarity::Jaccard => (t * p_f, p_f / t),
            Similarity::Hamming => {
                let d = (1.0 - t) * f64::from(bits);
                (p_f - d, p_f + d)
            }
        };
        let lo = (lo.ceil() - 1.0).max(0.0) as u32;
        let hi = (hi.floor() + 1.0).min(f64::from(bits)) as u32;
        (lo, hi)
    }
}

/// Filters of one party, ready for matching: words, popcounts, and a popcount-sorted order.
///
/// Filters of an even number of words are stored as two halves (`front`, `back`), each in its
/// own contiguous array: the kernel scores the front halves of a tile, and the back halves are
/// only read for the few pairs that could still reach the threshold (see [`link`]).
#[derive(Debug, Clone)]
pub struct FilterSet {
    words: usize,
    /// How the stored filters' bits were moved.
    order: BitOrder,
    bits: u32,
    /// Words per front half (all the words when the filter is not split).
    front_words: usize,
    /// Front halves in popcount order.
    front: Vec<u64>,
    /// Back halves in popcount order (empty when not split).
    back: Vec<u64>,
    /// Popcount of each back word, one byte per word, in popcount order (empty when not
    /// split): a pair's shared bits in a word it has not counted are at most the smaller of
    /// the two words' popcounts, a tighter bound than the query's bits alone.
    back_pcs: Vec<u8>,
    /// Popcount of each filter, in popcount order.
    popcounts: Vec<u32>,
    /// Original index of each filter, in popcount order.
    index: Vec<u32>,
    /// The filters bit-sliced, in popcount order, built on first use by a scan that counts
    /// sliced ([`crate::filter::sliced`]).
    sliced: std::sync::OnceLock<SlicedSet>,
}

impl FilterSet {
    /// Prepares `filters` (`words` per filter, concatenated) for matching, bits in place.
    pub fn new(filters: &[u64], words: usize) -> FilterSet {
        FilterSet::ordered(filters, words, &BitOrder::identity(words))
    }

    /// Prepares `filters` for matching with their bits moved by `order` (see
    /// [`crate::filter::order`]): the same candidates and scores as [`FilterSet::new`], found
    /// faster where the order puts the bits that tell records apart first. Both sides of a
    /// comparison must share the order ([`link`] checks it), e.g. [`BitOrder::balanced`] of a
    /// sample of both; [`sample_order`] draws one.
    ///
    /// # Panics
    ///
    /// If `filters` is not whole filters of `words` words, or `order` is for another width.
    pub fn ordered(filters: &[u64], words: usize, order: &BitOrder) -> FilterSet {
        assert!(
            words > 0 && filters.len().is_multiple_of(words),
            "whole filters"
        );
        assert_eq!(order.words(), words, "a bit order of the filters' width");
        let n = filters.len() / words;
        let pop: Vec<u32> = filters
            .par_chunks(words)
            .map(crate::filter::popcount)
            .collect();
        let mut index: Vec<u32> = (0..n as u32).collect();
        // Stable by original index within equal popcounts: a deterministic order.
        index.sort_by_key(|&i| (pop[i as usize], i));
        let front_words = if words >= 2 && words.is_multiple_of(2) {
            words / 2
        } else {
            words
        };
        let back_words = words - front_words;
        let mut front = Vec::with_capacity(n * front_words);
        let mut back = Vec::with_capacity(n * back_words);
        // In sorted order, 64 filters at a time (the unit of a bit order's transposes).
        let mut batch = Vec::with_capacity(64 * words);
        for run in index.chunks(64) {
            batch.clear();
            for &i in run {
                batch.extend_from_slice(&filters[i as usize * words..(i as usize + 1) * words]);
            }
            order.apply(&mut batch);
            for filter in batch.chunks_exact(words) {
                front.extend_from_slice(&filter[..front_words]);
                back.extend_from_slice(&filter[front_words..]);
            }
        }
        let back_pcs = back.iter().map(|w| w.count_ones() as u8).collect();
        FilterSet {
            words,
            order: order.clone(),
            bits: words as u32 * 64,
            front_words,
            back_pcs,
            front,
            back,
            popcounts: index.iter().map(|&i| pop[i as usize]).collect(),
            index,
            sliced: std::sync::OnceLock::new(),
        }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True if there are no filters.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Words per filter.
    pub fn words(&self) -> usize {
        self.words
    }

    fn front(&self, sorted_pos: usize) -> &[u64] {
        &self.front[sorted_pos * self.front_words..(sorted_pos + 1) * self.front_words]
    }

    fn back(&self, sorted_pos: usize) -> &[u64] {
        let w = self.words - self.front_words;
        &self.back[sorted_pos * w..(sorted_pos + 1) * w]
    }

    /// The filters bit-sliced in popcount order (built once, on first call).
    fn sliced(&self) -> &SlicedSet {
        self.sliced.get_or_init(|| {
            let (fw, bw) = (self.front_words, self.words - self.front_words);
            SlicedSet::new(self.len(), self.bits as usize, |j, w| {
                if w < fw {
                    self.front[j * fw + w]
                } else {
                    self.back[j * bw + w - fw]
                }
            })
        })
    }

    /// `popcount(a & b)` of the filters at sorted positions `i` of `self` and `j` of `other`,
    /// counted by `counter`'s instructions.
    fn and_count(&self, i: usize, other: &FilterSet, j: usize, counter: Counter) -> u32 {
        counter.and_count(self.front(i), other.front(j))
            + counter.and_count(self.back(i), other.back(j))
    }

    /// The filter at sorted position `pos` as a scan query.
    fn query(&self, pos: usize) -> score::Query<'_> {
        score::Query {
            front: self.front(pos),
            back: self.back(pos),
            popcount: self.popcounts[pos],
        }
    }

    /// The filters at sorted positions `[s, e)` as a scan block.
    fn block(&self, s: usize, e: usize) -> score::Block<'_> {
        let (fw, bw) = (self.front_words, self.words - self.front_words);
        score::Block {
            front: &self.front[s * fw..e * fw],
            back: &self.back[s * bw..e * bw],
            back_pcs: &self.back_pcs[s * bw..e * bw],
            front_words: fw,
            back_words: bw,
            popcounts: &self.popcounts[s..e],
        }
    }

    /// The sorted positions `[start, end)` whose popcount lies in `[lo, hi]`.
    fn range(&self, lo: u32, hi: u32) -> (usize, usize) {
        let start = self.popcounts.partition_point(|&p| p < lo);
        let end = self.popcounts.partition_point(|&p| p <= hi);
        (start, end.max(start))
    }
}

/// How to generate candidates.
#[derive(Debug, Clone, Copy)]
pub struct CandidateOptions {
    /// Minimum similarity for a pair to be a candidate.
    pub threshold: f64,
    /// The measure.
    pub similarity: Similarity,
    /// Keep only the best `k` candidates of each record of the first side (and, for
    /// deduplication, of each record); `None` keeps all.
    pub top_k: Option<usize>,
}

/// What candidate generation did, for summaries and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CandidateStats {
    /// Pairs a naive all-pairs comparison would score.
    pub pairs: u64,
    /// Pairs actually scored after the length filter.
    pub comparisons: u64,
    /// Candidates found (after top-k).
    pub candidates: u64,
}

/// Records drawn per input for [`sample_order`].
const ORDER_SAMPLE: usize = 1024;

/// The [`BitOrder::balanced`] order of up to 1,024 evenly spaced filters of each input
/// (`words` words per filter, back to back): one order for every side of a comparison, drawn
/// the same way from the same inputs.
pub fn sample_order(inputs: &[&[u64]], words: usize) -> BitOrder {
    let mut sample = Vec::new();
    for filters in inputs {
        let n = filters.len() / words;
        let take = n.min(ORDER_SAMPLE);
        for k in 0..take {
            let i = k * n / take;
            sample.extend_from_slice(&filters[i * words..(i + 1) * words]);
        }
    }
    BitOrder::balanced(&sample, words)
}

/// Candidates between two parties: pairs `(a in left, b in right)` with similarity at least
/// the threshold, sorted by `(a, b)`. `progress` is called with batches of comparisons done.
pub fn link(
    left: &FilterSet,
    right: &FilterSet,
    opts: &CandidateOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Candidate>, CandidateStats) {
    assert_eq!(
        left.words, right.words,
        "filter lengths checked by the caller"
    );
    ScanPlan::link(left, right, opts).run(kernel, progress)
}

/// Candidates within one file (deduplication): each unordered pair of distinct records once,
/// as `a < b` (original indices), sorted by `(a, b)`.
pub fn dedup(
    set: &FilterSet,
    opts: &CandidateOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Candidate>, CandidateStats) {
    ScanPlan::dedup(set, opts).run(kernel, progress)
}

/// Receives candidates in batches while they are found (see [`link_streamed`]).
pub type Emit<'a> = &'a mut dyn FnMut(&[Candidate]) -> std::io::Result<()>;

/// Like [`link`] (without top-k), but hands the candidates to `emit` in batches as they are
/// found instead of holding them all: memory stays bounded by one wave of work however many
/// candidates there are. Batches come in a deterministic order (by blocks of first-side
/// records in popcount order, each batch sorted by `(a, b)`), the same for any thread count,
/// but the whole stream is not sorted by `(a, b)`.
pub fn link_streamed(
    left: &FilterSet,
    right: &FilterSet,
    opts: &CandidateOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
    emit: Emit<'_>,
) -> std::io::Result<CandidateStats> {
    assert_eq!(
        left.words, right.words,
        "filter lengths checked by the caller"
    );
    assert_eq!(left.order, right.order, "both sides in one bit order");
    let opts = CandidateOptions {
        top_k: None,
        ..*opts
    };
    let plan = ScanPlan::link(left, right, &opts);
    let units = plan.units();
    let wave = rayon::current_num_threads() * 8;
    let mut stats = CandidateStats {
        pairs: plan.pairs(),
        ..CandidateStats::default()
    };
    for group in units.chunks(wave.max(1)) {
        let results: Vec<(Vec<Candidate>, u64)> = group
            .par_iter()
            .map(|unit| {
                let mut c = Vec::new();
                let n = plan.run_unit(unit, kernel, progress, &mut c);
                Candidate::sort_by_pair(&mut c);
                (c, n)
            })
            .collect();
        for (c, n) in results {
            stats.comparisons += n;
            stats.candidates += c.len() as u64;
            emit(&c)?;
        }
    }
    Ok(stats)
}

/// Keeps each record's best `k` candidates (by score, then partner index). For two parties
/// "each record" means each record of the first side; for deduplication a pair is kept if it
/// is among the best `k` of either of its records.
pub(crate) fn top_k(candidates: Vec<Candidate>, k: usize, symmetric: bool) -> Vec<Candidate> {
    if !symmetric {
        let mut out = Vec::new();
        for group in candidates.chunk_by(|x, y| x.a == y.a) {
            let mut g = group.to_vec();
            g.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.b.cmp(&y.b)));
            g.truncate(k);
            g.sort_by_key(|c| c.b);
            out.extend(g);
        }
        return out;
    }
    // Rank each pair from both ends; keep it if it ranks within k for either record.
    let mut by_record: Vec<(u32, u32, usize)> = Vec::with_capacity(candidates.len() * 2);
    for (i, c) in candidates.iter().enumerate() {
        by_record.push((c.a, c.b, i));
        by_record.push((c.b, c.a, i));
    }
    by_record.sort_by(|x, y| {
        x.0.cmp(&y.0)
            .then(candidates[y.2].score.total_cmp(&candidates[x.2].score))
            .then(x.1.cmp(&y.1))
    });
    let mut keep = vec![false; candidates.len()];
    for group in by_record.chunk_by(|x, y| x.0 == y.0) {
        for entry in group.iter().take(k) {
            keep[entry.2] = true;
        }
    }
    candidates
        .into_iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect()
}

mod nearest;
pub(crate) mod score;
mod unit;
pub use self::nearest::{TopTwo, top_two};
pub use self::unit::{ScanPlan, WorkUnit};

#[cfg(test)]
mod tests;
