//! The unit of work of blocked matching, without rayon: per block function a
//! [`FunctionPlan`] (its blocks, report and [`BlockUnit`]s: a run of at most
//! [`ITEM_RECORDS`] first-side records of one block against the block's second side), and
//! [`FunctionPlan::run_unit`], which scores one unit.
//!
//! A distributed engine plans each function ([`FunctionPlan::new`] for `f` in
//! `0..`[`BlockedSide::functions`]), runs the units anywhere, in any order, and merges the
//! candidates with [`FunctionPlan::merge`]: exactly those of a local [`super::link_blocked`].
//! Each pair qualifies under one function only, so the functions' candidates never overlap.

use std::ops::Range as StdRange;

use rayon::prelude::*;

use super::{BlockedSide, BlockingOptions, BlockingReport, FunctionReport, ITEM_RECORDS, Rule};
use crate::filter::kernel::Kernel;
use crate::io::NO_BLOCK;
use crate::linkage::Candidate;
use crate::linkage::candidates::score::{Block, Counts, Keep, Query, score_block};
use crate::linkage::candidates::{CandidateOptions, CandidateStats, Emit, top_k};

/// One block of one function, or a run of its first-side records: positions
/// `left` and `right` in the function's sorted `(block id, record)` lists of the two sides
/// ([`FunctionPlan`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BlockUnit {
    /// The block function (keys first, then LSH tables).
    pub function: u32,
    /// Positions in the first side's sorted list.
    pub left: StdRange<u32>,
    /// Positions in the second side's sorted list.
    pub right: StdRange<u32>,
}

/// One block function of a blocked match, planned: its blocks cut into units, and its report.
#[derive(Debug, Clone)]
pub struct FunctionPlan<'a> {
    left: &'a BlockedSide<'a>,
    right: &'a BlockedSide<'a>,
    same: bool,
    rule: Rule,
    copts: CandidateOptions,
    function: usize,
    l_sorted: Vec<(u64, u32)>,
    r_sorted: Vec<(u64, u32)>,
    /// The units, in a deterministic order.
    pub units: Vec<BlockUnit>,
    /// The function's blocks.
    pub report: FunctionReport,
    /// Its oversized blocks: (function name, first-side records, second-side records).
    pub oversized: Vec<(String, u64, u64)>,
}

impl<'a> FunctionPlan<'a> {
    /// Plans block function `function` between `left` and `right` (within `left` when
    /// `right` is `None`), with `key_count` keys stored per record.
    ///
    /// # Panics
    ///
    /// If the sides were blocked differently or their filter lengths differ.
    pub fn new(
        left: &'a BlockedSide<'a>,
        right: Option<&'a BlockedSide<'a>>,
        key_count: usize,
        copts: &CandidateOptions,
        bopts: &BlockingOptions,
        function: usize,
    ) -> FunctionPlan<'a> {
        let same = right.is_none();
        let right = right.unwrap_or(left);
        assert_eq!(
            left.functions, right.functions,
            "same blocking on both sides"
        );
        assert_eq!(left.words, right.words, "same filter length on both sides");
        let keys = if bopts.keys { key_count } else { 0 };
        let lambda = bopts.lsh.map_or(1, |p| p.lambda as usize);
        let f = function;
        let name = if f < keys {
            format!("key {}", f + 1)
        } else {
            format!("lsh table {}", f - keys + 1)
        };
        let l_sorted = sorted_ids(left, f);
        let r_sorted = if same {
            l_sorted.clone()
        } else {
            sorted_ids(right, f)
        };
        let blocks = common_blocks(&l_sorted, &r_sorted);
        let mut report = FunctionReport {
            name: name.clone(),
            blocks: 0,
            pairs: 0,
            largest: (0, 0),
            sizes: Vec::new(),
        };
        let mut oversized = Vec::new();
        let mut units = Vec::new();
        for (lr, rr) in blocks {
            let (nl, nr) = (lr.len() as u64, rr.len() as u64);
            let pairs = if same {
                nl * nl.saturating_sub(1) / 2
            } else {
                nl * nr
            };
            if pairs == 0 {
                continue;
            }
            report.blocks += 1;
            report.pairs += pairs;
            let size = if same { nl } else { nl + nr };
            let class = (u64::BITS - 1 - size.leading_zeros()) as usize;
            if report.sizes.len() <= class {
                report.sizes.resize(class + 1, 0);
            }
            report.sizes[class] += 1;
            if nl * nr > report.largest.0 * report.largest.1 {
                report.largest = (nl, nr);
            }
            let limit = |n: usize| (bopts.oversized_share * n as f64).max(100.0) as u64;
            if bopts.oversized_share > 0.0 && (nl > limit(left.len()) || nr > limit(right.len())) {
                oversized.push((name.clone(), nl, nr));
            }
            for start in (lr.start..lr.end).step_by(ITEM_RECORDS) {
                units.push(BlockUnit {
                    function: f as u32,
                    left: start as u32..(start + ITEM_RECORDS).min(lr.end) as u32,
                    right: rr.start as u32..rr.end as u32,
                });
            }
        }
        FunctionPlan {
            left,
            right,
            same,
            rule: Rule { keys, lambda },
            copts: *copts,
            function: f,
            l_sorted,
            r_sorted,
            units,
            report,
            oversized,
        }
    }

    /// Scores the pairs of `unit` that qualify in this function and pass the length filter,
    /// appending candidates (original indices; `a < b` within one side) to `out`; returns the
    /// pairs scored.
    ///
    /// # Panics
    ///
    /// If the unit belongs to another function.
    pub fn run_unit(
        &self,
        unit: &BlockUnit,
        kernel: &Kernel,
        scratch: &mut BlockScratch,
        out: &mut Vec<Candidate>,
    ) -> u64 {
        assert_eq!(
            unit.function as usize, self.function,
            "a unit of this function"
        );
        let l = &self.l_sorted[unit.left.start as usize..unit.left.end as usize];
        let r = &self.r_sorted[unit.right.start as usize..unit.right.end as usize];
        scan_block(
            self.left,
            self.right,
            self.same,
            self.function,
            self.rule,
            l,
            r,
            &self.copts,
            kernel,
            scratch,
            out,
        )
    }

    /// Joins the candidates of every unit of every function (in any order): sorted by
    /// `(a, b)`, then top-k.
    pub fn merge(
        parts: impl IntoIterator<Item = Vec<Candidate>>,
        copts: &CandidateOptions,
        same: bool,
    ) -> Vec<Candidate> {
        let all = Candidate::joined_by_pair(parts.into_iter().collect());
        match copts.top_k {
            Some(k) => top_k(all, k, same),
            None => all,
        }
    }
}

/// The local driver of [`super::link_blocked`] and [`super::link_blocked_streamed`]: each
/// function planned, its units run on rayon, its candidates handed to `emit` (if given, and
/// then without top-k) or kept, then merged.
#[allow(clippy::too_many_arguments)]
pub(crate) fn link_blocked_inner(
    left: &BlockedSide<'_>,
    right: Option<&BlockedSide<'_>>,
    key_count: usize,
    copts: &CandidateOptions,
    bopts: &BlockingOptions,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
    mut emit: Option<Emit<'_>>,
) -> std::io::Result<(Vec<Candidate>, CandidateStats, BlockingReport)> {
    let streamed;
    let copts = if emit.is_some() {
        streamed = CandidateOptions {
            top_k: None,
            ..*copts
        };
        &streamed
    } else {
        copts
    };
    let same = right.is_none();
    let total_pairs = if same {
        let n = left.len() as u64;
        n * n.saturating_sub(1) / 2
    } else {
        left.len() as u64 * right.unwrap_or(left).len() as u64
    };
    let keys = if bopts.keys { key_count } else { 0 };
    let mut functions = Vec::new();
    let mut oversized = Vec::new();
    let mut found: Vec<Candidate> = Vec::new();
    let mut comparisons = 0u64;
    let mut emitted = 0u64;
    for f in 0..left.functions {
        let plan = FunctionPlan::new(left, right, key_count, copts, bopts, f);
        // Most blocks are tiny (an LSH table has about as many as records): units are handed
        // out in batches, each batch with one scratch space and one output vector.
        let results: Vec<(Vec<Candidate>, u64)> = plan
            .units
            .par_iter()
            .with_min_len(64)
            .fold(
                || (BlockScratch::default(), Vec::new(), 0u64),
                |(mut scratch, mut out, mut compared), unit| {
                    let n = plan.run_unit(unit, kernel, &mut scratch, &mut out);
                    if n > 0 {
                        progress(n);
                    }
                    compared += n;
                    (scratch, out, compared)
                },
            )
            .map(|(_, out, compared)| (out, compared))
            .collect();
        functions.push(plan.report);
        oversized.extend(plan.oversized);
        let before = found.len();
        for (c, compared) in results {
            found.extend(c);
            comparisons += compared;
        }
        if let Some(emit) = emit.as_mut() {
            // Each pair qualifies under one function only: this function's candidates are
            // final, so they can leave now.
            let batch = &mut found[before..];
            Candidate::sort_by_pair(batch);
            emitted += batch.len() as u64;
            emit(batch)?;
            found.truncate(before);
        }
    }
    let found = FunctionPlan::merge([found], copts, same);
    oversized.sort_by(|x, y| (y.1 * y.2).cmp(&(x.1 * x.2)).then(x.0.cmp(&y.0)));
    oversized.truncate(20);
    let stats = CandidateStats {
        pairs: total_pairs,
        comparisons,
        candidates: found.len() as u64 + emitted,
    };
    let report = BlockingReport {
        keys,
        lsh: bopts.lsh,
        functions,
        total_pairs,
        blocked_pairs: comparisons,
        reduction_ratio: if total_pairs == 0 {
            0.0
        } else {
            1.0 - comparisons as f64 / total_pairs as f64
        },
        oversized,
        lsh_similarity: None,
        estimated_pair_completeness: None,
        true_pairs: None,
        pair_completeness: None,
    };
    Ok((found, stats, report))
}

/// Reusable buffers for [`FunctionPlan::run_unit`]: one per worker, not per unit.
#[derive(Debug, Default)]
pub struct BlockScratch {
    /// The block's second side, in popcount order: (popcount, index).
    right: Vec<(u32, u32)>,
    /// Partners to score for one record.
    partners: Vec<u32>,
    gathered: Vec<u64>,
    /// Their popcounts.
    pops: Vec<u32>,
    counts: Counts,
}

/// The candidates of one record of a block: partners at or above the threshold.
struct Hits<'a> {
    threshold: f64,
    a: u32,
    partners: &'a [u32],
    out: &'a mut Vec<Candidate>,
}

impl Keep for Hits<'_> {
    #[inline]
    fn bar(&self) -> f64 {
        self.threshold
    }

    #[inline]
    fn hit(&mut self, j: usize, score: f64) {
        self.out.push(Candidate {
            a: self.a,
            b: self.partners[j],
            score,
        });
    }
}

/// `(id, record)` for every record with an id under function `f`, sorted.
fn sorted_ids(side: &BlockedSide<'_>, f: usize) -> Vec<(u64, u32)> {
    let mut v: Vec<(u64, u32)> = (0..side.len() as u32)
        .map(|i| (side.ids[i as usize * side.functions + f], i))
        .filter(|&(id, _)| id != NO_BLOCK)
        .collect();
    v.par_sort_unstable();
    v
}

type Range = std::ops::Range<usize>;

/// Ranges of equal ids present on both sides.
fn common_blocks(l: &[(u64, u32)], r: &[(u64, u32)]) -> Vec<(Range, Range)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < l.len() && j < r.len() {
        let (a, b) = (l[i].0, r[j].0);
        if a < b {
            i += 1;
        } else if b < a {
            j += 1;
        } else {
            let ie = i + l[i..].partition_point(|x| x.0 == a);
            let je = j + r[j..].partition_point(|x| x.0 == a);
            out.push((i..ie, j..je));
            i = ie;
            j = je;
        }
    }
    out
}

/// Scores the pairs of one item that qualify in block function `f` and pass the length
/// filter, appending candidates to `out`; returns the number of pairs scored. `l` and `r` are
/// `(id, record)` entries of the block.
#[allow(clippy::too_many_arguments)]
fn scan_block(
    left: &BlockedSide<'_>,
    right: &BlockedSide<'_>,
    same: bool,
    f: usize,
    rule: Rule,
    l: &[(u64, u32)],
    r: &[(u64, u32)],
    copts: &CandidateOptions,
    kernel: &Kernel,
    s: &mut BlockScratch,
    out: &mut Vec<Candidate>,
) -> u64 {
    let bits = left.words as u32 * 64;
    s.right.clear();
    s.right
        .extend(r.iter().map(|&(_, j)| (right.popcounts[j as usize], j)));
    s.right.sort_unstable();
    let mut scored = 0u64;
    for &(_, i) in l {
        let pa = left.popcounts[i as usize];
        let row_a = left.row(i);
        let (lo, hi) = copts.similarity.popcount_bounds(pa, copts.threshold, bits);
        // Only the run of partners whose popcount can reach the threshold.
        let start = s.right.partition_point(|x| x.0 < lo);
        let end = s.right.partition_point(|x| x.0 <= hi);
        s.partners.clear();
        for &(_, j) in &s.right[start..end.max(start)] {
            if (same && j <= i) || !rule.qualifies(row_a, right.row(j), f) {
                continue;
            }
            s.partners.push(j);
        }
        if s.partners.is_empty() {
            continue;
        }
        s.gathered.clear();
        s.pops.clear();
        for &j in &s.partners {
            s.gathered.extend_from_slice(right.filter(j));
            s.pops.push(right.popcounts[j as usize]);
        }
        let query = Query {
            front: left.filter(i),
            back: &[],
            popcount: pa,
        };
        // Partners keep the block's popcount order, as the primitive needs.
        let block = Block {
            front: &s.gathered,
            back: &[],
            back_pcs: &[],
            front_words: left.words,
            back_words: 0,
            popcounts: &s.pops,
        };
        let mut keep = Hits {
            threshold: copts.threshold,
            a: i,
            partners: &s.partners,
            out: &mut *out,
        };
        scored += score_block(
            kernel,
            copts.similarity,
            bits,
            &query,
            &block,
            false,
            &mut s.counts,
            &mut keep,
        );
    }
    scored
}
