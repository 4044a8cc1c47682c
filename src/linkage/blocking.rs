//! Blocking: compare only records that share a block, so matching grows with the data, not
//! with its square.
//!
//! Two kinds of blocks, usable alone or together (a pair is compared if *any* of them puts
//! both records in one block):
//!
//! * **Keyed blocking keys** ([`BlockingOptions::keys`]): opaque 64-bit ids the departments
//!   computed from declared fields (for example Soundex of the surname with the year of birth)
//!   under their own HKDF subkey and stored in the `.clk` file (see
//!   [`crate::encode::blocking`]). Records share a block when they share an id for a key.
//! * **Hamming LSH** ([`LshParams`]): bit-sampling locality-sensitive hashing on the filters
//!   themselves (Karapiperis & Verykios 2015): `L` tables, each reading `K` filter bits at
//!   positions drawn from a seed; records that agree on all `K` bits of a table share its
//!   bucket. With `λ > 1` (λ-fold), a pair must share buckets in at least `λ` tables. Two
//!   filters that agree on a share `q` of their bits collide in one table with probability
//!   `q^K`, so similar filters meet with high probability and random ones rarely.
//!
//! # Each pair once
//!
//! Blocks are the *block functions* in order: the keys first, then the LSH tables. A pair is
//! compared in the first block where it qualifies: in key block `f` if it shares no earlier
//! key; in LSH table `t` if it shares no key and table `t` is its `λ`-th collision. The test
//! reads only the two records' ids, so pairs are deduplicated without remembering them.
//!
//! Inside a block the popcount length filter applies as everywhere: the block's second side is
//! sorted by popcount, and each record scans only the run that can reach the threshold.
//!
//! # Units of work
//!
//! One block function at a time, the blocks shared by both sides are cut into items of at
//! most [`ITEM_RECORDS`] first-side records; each item is independent (it needs only the
//! filters and ids of its records), which is how a distributed engine can ship them to other
//! machines. Items run in parallel; results are sorted, so they do not depend on the order.

use rayon::prelude::*;

use super::Candidate;
use super::candidates::{CandidateOptions, CandidateStats};
use crate::filter::kernel::Kernel;
use crate::io::NO_BLOCK;

/// First-side records per unit of work inside one block.
pub const ITEM_RECORDS: usize = 256;

mod params;
mod unit;
#[cfg(test)]
use self::params::SplitMix;
pub use self::params::{
    AUTO_EXHAUSTIVE_PAIRS, BlockingOptions, BlockingRequest, LshParams, agreement_at,
};
pub(crate) use self::unit::link_blocked_inner;
pub use self::unit::{BlockScratch, BlockUnit, FunctionPlan};

/// One side's records as blocking sees them: filters, popcounts and block ids.
#[derive(Debug, Clone)]
pub struct BlockedSide<'a> {
    filters: &'a [u64],
    words: usize,
    popcounts: Vec<u32>,
    /// `functions` ids per record: the keys, then one bucket per LSH table.
    ids: Vec<u64>,
    functions: usize,
}

impl<'a> BlockedSide<'a> {
    /// Prepares one side: `filters` holds `words` words per record, `key_ids` the records'
    /// `key_count` stored block ids each (used when `opts.keys`).
    pub fn new(
        filters: &'a [u64],
        words: usize,
        key_ids: &[u64],
        key_count: usize,
        opts: &BlockingOptions,
    ) -> BlockedSide<'a> {
        let n = filters.len() / words;
        let keys = if opts.keys { key_count } else { 0 };
        let positions = opts
            .lsh
            .map(|p| p.positions(words as u32 * 64))
            .unwrap_or_default();
        let functions = keys + positions.len();
        let mut ids = vec![0u64; n * functions];
        if functions > 0 {
            ids.par_chunks_mut(functions)
                .zip(filters.par_chunks(words))
                .enumerate()
                .for_each(|(i, (row, filter))| {
                    row[..keys].copy_from_slice(&key_ids[i * key_count..i * key_count + keys]);
                    for (slot, table) in row[keys..].iter_mut().zip(&positions) {
                        let mut v = 0u64;
                        for (j, &p) in table.iter().enumerate() {
                            v |= ((filter[p as usize / 64] >> (p % 64)) & 1) << j;
                        }
                        // Buckets are never NO_BLOCK: every record has one in every table.
                        *slot = v.rotate_left(1) | 1;
                    }
                });
        }
        BlockedSide {
            filters,
            words,
            popcounts: filters
                .par_chunks(words)
                .map(crate::filter::popcount)
                .collect(),
            ids,
            functions,
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.popcounts.len()
    }

    /// True if there are no records.
    pub fn is_empty(&self) -> bool {
        self.popcounts.is_empty()
    }

    /// Block functions (keys used, then LSH tables): what [`FunctionPlan::new`] plans.
    pub fn functions(&self) -> usize {
        self.functions
    }

    /// The block ids of record `i`, one per block function (the keys used, then one LSH
    /// bucket per table; [`NO_BLOCK`] where a record has no key): what a distributed engine
    /// explodes into `(function, block)` rows.
    pub fn row(&self, i: u32) -> &[u64] {
        &self.ids[i as usize * self.functions..(i as usize + 1) * self.functions]
    }

    pub(crate) fn filter(&self, i: u32) -> &[u64] {
        &self.filters[i as usize * self.words..(i as usize + 1) * self.words]
    }
}

/// The blocks of one block function.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FunctionReport {
    /// `key N` or `lsh table N`.
    pub name: String,
    /// Blocks with records on both sides (pairs within one file, for deduplication).
    pub blocks: u64,
    /// Record pairs inside those blocks, repeats across functions included.
    pub pairs: u64,
    /// Records of the largest block (first side, second side).
    pub largest: (u64, u64),
    /// Size distribution: `sizes[k]` blocks have between `2^k` and `2^(k+1) - 1` records
    /// (both sides together; for deduplication, the block's records).
    pub sizes: Vec<u64>,
}

/// What blocking did: block counts and sizes, comparisons saved, and oversized blocks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BlockingReport {
    /// Keyed blocking keys used.
    pub keys: usize,
    /// LSH parameters used.
    pub lsh: Option<LshParams>,
    /// Per block function.
    pub functions: Vec<FunctionReport>,
    /// Pairs a full comparison would score.
    pub total_pairs: u64,
    /// Distinct pairs that share a block and pass the popcount length filter: the pairs
    /// compared, each once.
    pub blocked_pairs: u64,
    /// `1 - blocked_pairs / total_pairs`: the share of comparisons blocking saved.
    pub reduction_ratio: f64,
    /// Blocks above the oversized limit, as (function name, first-side records, second-side
    /// records), largest first (at most 20).
    pub oversized: Vec<(String, u64, u64)>,
    /// The similarity that LSH was sized for (the threshold, unless set otherwise).
    pub lsh_similarity: Option<f64>,
    /// The estimated pair completeness of LSH at the threshold: the probability that a pair
    /// scoring exactly the threshold shares a block (pairs scoring higher share one more
    /// surely), from the LSH parameters and the filters' mean fill. `None` without LSH.
    pub estimated_pair_completeness: Option<f64>,
    /// Known true pairs found in the files, when the truth was given.
    pub true_pairs: Option<u64>,
    /// Share of those that blocking compares ([`pair_completeness`]), when the truth was
    /// given.
    pub pair_completeness: Option<f64>,
}

/// Blocked candidate generation between two sides, or within one (`right = None`: each
/// unordered pair of distinct records once, `a < b`). Returns candidates sorted by `(a, b)`,
/// as [`super::candidates::link`] does, with its counters and a blocking report.
pub fn link_blocked(
    left: &BlockedSide<'_>,
    right: Option<&BlockedSide<'_>>,
    key_count: usize,
    copts: &CandidateOptions,
    bopts: &BlockingOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Candidate>, CandidateStats, BlockingReport) {
    let (found, stats, report) =
        link_blocked_inner(left, right, key_count, copts, bopts, kernel, progress, None)
            .expect("no output to fail");
    (found, stats, report)
}

/// Like [`link_blocked`] (without top-k), but hands the candidates of each block function to
/// `emit` (sorted by `(a, b)`) as soon as that function is done, instead of holding them all.
/// The stream is deterministic but not sorted as a whole.
#[allow(clippy::too_many_arguments)]
pub fn link_blocked_streamed(
    left: &BlockedSide<'_>,
    right: Option<&BlockedSide<'_>>,
    key_count: usize,
    copts: &CandidateOptions,
    bopts: &BlockingOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
    emit: super::candidates::Emit<'_>,
) -> std::io::Result<(CandidateStats, BlockingReport)> {
    let (_, stats, report) = link_blocked_inner(
        left,
        right,
        key_count,
        copts,
        bopts,
        kernel,
        progress,
        Some(emit),
    )?;
    Ok((stats, report))
}

/// Share of `pairs` (indices into the two sides, or into one side for deduplication) that
/// share a block and pass the popcount length filter, that is, that blocked matching
/// compares: the pair completeness of the blocking, when `pairs` are the true matches. (A pair
/// the length filter skips cannot reach the threshold, so no matching could find it.) `None`
/// if `pairs` is empty.
pub fn pair_completeness(
    left: &BlockedSide<'_>,
    right: Option<&BlockedSide<'_>>,
    key_count: usize,
    copts: &CandidateOptions,
    bopts: &BlockingOptions,
    pairs: impl IntoIterator<Item = (u32, u32)>,
) -> Option<f64> {
    let right = right.unwrap_or(left);
    let bits = left.words as u32 * 64;
    let rule = Rule {
        keys: if bopts.keys { key_count } else { 0 },
        lambda: bopts.lsh.map_or(1, |p| p.lambda as usize),
    };
    let (mut total, mut covered) = (0u64, 0u64);
    for (a, b) in pairs {
        total += 1;
        let (ra, rb) = (left.row(a), right.row(b));
        let (lo, hi) =
            copts
                .similarity
                .popcount_bounds(left.popcounts[a as usize], copts.threshold, bits);
        let in_range = (lo..=hi).contains(&right.popcounts[b as usize]);
        covered += (in_range && (0..left.functions).any(|f| rule.qualifies(ra, rb, f))) as u64;
    }
    (total > 0).then(|| covered as f64 / total as f64)
}

/// When a pair is compared: the first block function where it qualifies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) keys: usize,
    pub(crate) lambda: usize,
}

impl Rule {
    /// True if the pair with id rows `a` and `b` is compared in block function `f`.
    #[inline]
    pub(crate) fn qualifies(&self, a: &[u64], b: &[u64], f: usize) -> bool {
        let shares = |g: usize| a[g] == b[g] && a[g] != NO_BLOCK;
        if !shares(f) {
            return false;
        }
        if f < self.keys || self.lambda == 1 {
            // The first shared function: no key and (λ = 1) no table before it.
            return !(0..f).any(shares);
        }
        !(0..self.keys).any(shares) && (self.keys..=f).filter(|&g| shares(g)).count() == self.lambda
    }
}

#[cfg(test)]
mod tests;
