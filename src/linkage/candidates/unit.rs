//! The unit of work of an exhaustive scan, without rayon: a [`ScanPlan`] cuts the comparison
//! matrix into [`WorkUnit`]s (a run of queries x a run of tiles), [`ScanPlan::run_unit`] scores
//! one, and [`ScanPlan::merge`] joins the units' candidates.
//!
//! A distributed engine ships the two [`FilterSet`]s (or builds them from the same filters:
//! the order is deterministic) and the units to its workers, runs each unit anywhere, in any
//! order, with any kernel, and merges: the result is exactly the candidates of a local
//! [`super::link`] or [`super::dedup`]. The local drivers are the same three calls with rayon
//! around [`ScanPlan::run_unit`].

use std::ops::Range;

use rayon::prelude::*;

use super::score::{Counts, Keep, Scan, linear_need, score_block_scan};
use super::{CHUNK_QUERIES, CandidateOptions, CandidateStats, FilterSet, TILE_FILTERS, top_k};
use crate::filter::kernel::{Kernel, KernelKind};
use crate::filter::sliced::{self, Counter, LANES, Limits, SlicedQuery};
use crate::linkage::Candidate;

/// The candidates of one query: partners at or above the threshold.
struct Links<'a> {
    threshold: f64,
    /// The query's original index.
    a: u32,
    /// The block's original indices.
    partners: &'a [u32],
    /// Within one side: the lower index first.
    upper: bool,
    out: &'a mut Vec<Candidate>,
}

impl Keep for Links<'_> {
    #[inline]
    fn bar(&self) -> f64 {
        self.threshold
    }

    #[inline]
    fn hit(&mut self, j: usize, score: f64) {
        let (a, b) = (self.a, self.partners[j]);
        let (a, b) = if self.upper && b < a { (b, a) } else { (a, b) };
        self.out.push(Candidate { a, b, score });
    }
}

/// The sliced counter the exhaustive scan uses with `kernel` on filters of `bits` bits, if any:
/// on the AVX2 kernel, where the sliced sum measured about three times the nibble-lookup
/// scan on dense real CLKs (`crate::filter::sliced`). AVX-512 (`vpopcntq`) keeps its own
/// scan, measured faster than AVX2 before sliced counting existed and not compared since (no
/// AVX-512 machine in that session); `POPCNT` and portable likewise.
fn sliced_counter(kernel: &Kernel, bits: u32) -> Option<Counter> {
    if kernel.kind() != KernelKind::Avx2 || bits as usize > sliced::MAX_BITS {
        return None;
    }
    Counter::avx2()
}

/// The bits of word `k` of a 256-lane mask that lie in lanes `[lo, hi)`.
fn lane_range(k: usize, lo: usize, hi: usize) -> u64 {
    let (lo, hi) = (
        lo.clamp(k * 64, k * 64 + 64) - k * 64,
        hi.clamp(k * 64, k * 64 + 64) - k * 64,
    );
    if hi <= lo {
        0
    } else if hi - lo == 64 {
        u64::MAX
    } else {
        ((1u64 << (hi - lo)) - 1) << lo
    }
}

/// Pairs of a tile scored in one way before the scan judges it: under 1% of a full
/// 256-query x 2,048-filter tile, and enough to tell a pass rate of 1% from one of 12%.
const PROBE_PAIRS: u64 = 4096;

/// A way of reading is kept when at most one pair in [`KEEP_PASS_INV`] passes its bound: a
/// survivor's unread words cost several times their share of a kernel pass (scalar `POPCNT`s
/// and a mispredicted branch against the vector kernel), so pruning pays only while survivors
/// are rare. The lazy way is held to one in [`KEEP_LAZY_PASS_INV`]: its survivors read half a
/// filter more, and the next way (three quarters) costs only a quarter more per pair. Measured
/// at Dice 0.8 (`bounds_prune_where_the_probe_expects`): random half-full filters pass the half
/// bound at 0.6% and stay [`Scan::Lazy`]; realistic dense filters pass it at 96% but the
/// three-quarter bound at 0.2% ([`Scan::Prefix`]); on FEBRL clkhash CLKs (67% fill) the
/// three-quarter bound with the word-by-word rest bound passes 5.3% of all pairs (16.8% with
/// the query's rest bits alone), and the densest tiles pass both and are read whole
/// ([`Scan::Full`]). At Dice 0.85 on the same CLKs the half bound passes 8.2%, which one in
/// eight would keep, at about 6% more CPU than the three-quarter scan (measured).
const KEEP_PASS_INV: u64 = 8;

/// See [`KEEP_PASS_INV`].
const KEEP_LAZY_PASS_INV: u64 = 32;

/// How a tile is being scanned: a way of reading, and whether it is still on trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    scan: Scan,
    /// On trial since the tile had scored this many pairs.
    trial_from: Option<u64>,
}

impl Mode {
    /// The first tile of a unit starts with the cheapest way on trial.
    const START: Mode = Mode {
        scan: Scan::Lazy,
        trial_from: Some(0),
    };

    /// The next tile of the same queries starts where this one ended (the filters are alike),
    /// on trial again; after whole filters it tries the three-quarter bound once more.
    fn next_tile(self) -> Mode {
        let scan = match self.scan {
            Scan::Full => Scan::Prefix,
            scan => scan,
        };
        Mode {
            scan,
            trial_from: Some(0),
        }
    }

    /// After `scored` pairs of the tile, `passed` of them since the trial began: keeps the
    /// way on trial when it prunes, otherwise tries the next more thorough one. Returns
    /// whether the pass counter restarts.
    fn judge(&mut self, scored: u64, passed: u64) -> bool {
        let Some(from) = self.trial_from else {
            return false;
        };
        let tried = scored - from;
        if tried < PROBE_PAIRS {
            return false;
        }
        let keep = match self.scan {
            Scan::Lazy => KEEP_LAZY_PASS_INV,
            Scan::Prefix | Scan::Full => KEEP_PASS_INV,
        };
        if passed.saturating_mul(keep) <= tried {
            self.trial_from = None;
            return false;
        }
        *self = match self.scan {
            Scan::Lazy => Mode {
                scan: Scan::Prefix,
                trial_from: Some(scored),
            },
            Scan::Prefix | Scan::Full => Mode {
                scan: Scan::Full,
                trial_from: None,
            },
        };
        true
    }
}

/// A rectangle of the comparison matrix: queries at sorted (popcount-order) positions
/// `queries` of the first side against tiles `tiles` of the second (tile `t` holds sorted
/// positions `t * TILE_FILTERS..(t + 1) * TILE_FILTERS`). Any partition of a unit's tile range
/// into smaller units gives, together, the same candidates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct WorkUnit {
    /// Sorted positions of the queries in the first side.
    pub queries: Range<u32>,
    /// Tiles of the second side.
    pub tiles: Range<u32>,
}

/// An exhaustive scan (two sides, or one side against itself), ready to be cut into units.
#[derive(Debug, Clone, Copy)]
pub struct ScanPlan<'a> {
    left: &'a FilterSet,
    right: &'a FilterSet,
    /// One side against itself: only partners at later sorted positions (each pair once).
    upper: bool,
    opts: CandidateOptions,
}

impl<'a> ScanPlan<'a> {
    /// Candidates between two sides (see [`super::link`]).
    ///
    /// # Panics
    ///
    /// If the sides' filter lengths differ.
    pub fn link(left: &'a FilterSet, right: &'a FilterSet, opts: &CandidateOptions) -> Self {
        assert_eq!(
            left.words, right.words,
            "filter lengths checked by the caller"
        );
        assert_eq!(left.order, right.order, "both sides in one bit order");
        ScanPlan {
            left,
            right,
            upper: false,
            opts: *opts,
        }
    }

    /// Candidates within one side (see [`super::dedup`]).
    pub fn dedup(set: &'a FilterSet, opts: &CandidateOptions) -> Self {
        ScanPlan {
            left: set,
            right: set,
            upper: true,
            opts: *opts,
        }
    }

    /// Pairs a naive all-pairs comparison would score.
    pub fn pairs(&self) -> u64 {
        let n = self.left.len() as u64;
        if self.upper {
            n * n.saturating_sub(1) / 2
        } else {
            n * self.right.len() as u64
        }
    }

    /// The units: one per run of 256 queries, over the tiles its queries can reach (the
    /// popcount length filter), in a deterministic order. Units that reach no tile are left
    /// out.
    pub fn units(&self) -> Vec<WorkUnit> {
        (0..self.left.len())
            .step_by(CHUNK_QUERIES)
            .filter_map(|start| {
                let end = (start + CHUNK_QUERIES).min(self.left.len());
                let (first, last) = (start..end)
                    .map(|q| self.range(q))
                    .filter(|r| r.0 < r.1)
                    .fold((usize::MAX, 0), |(f, l), r| (f.min(r.0), l.max(r.1)));
                (first < last).then(|| WorkUnit {
                    queries: start as u32..end as u32,
                    tiles: (first / TILE_FILTERS) as u32..last.div_ceil(TILE_FILTERS) as u32,
                })
            })
            .collect()
    }

    /// Query `q`'s admissible run of the second side, in sorted positions.
    fn range(&self, q: usize) -> (usize, usize) {
        let (lo, hi) = self.opts.similarity.popcount_bounds(
            self.left.popcounts[q],
            self.opts.threshold,
            self.left.bits,
        );
        let (start, end) = self.right.range(lo, hi);
        if self.upper {
            (start.max(q + 1), end.max(q + 1))
        } else {
            (start, end)
        }
    }

    /// Scores one unit, tile by tile, appending its candidates (original indices, `a < b`
    /// within one side) to `out` in no particular order; returns the pairs scored. `progress`
    /// is called with the pairs scored per tile. Top-k is applied by [`ScanPlan::merge`].
    pub fn run_unit(
        &self,
        unit: &WorkUnit,
        kernel: &Kernel,
        progress: &(dyn Fn(u64) + Sync),
        out: &mut Vec<Candidate>,
    ) -> u64 {
        if let Some(counter) = sliced_counter(kernel, self.left.bits) {
            return self.run_unit_sliced(unit, counter, progress, out);
        }
        let (left, right, opts) = (self.left, self.right, &self.opts);
        let bits = left.bits;
        let queries = unit.queries.start as usize..(unit.queries.end as usize).min(left.len());
        let ranges: Vec<(usize, usize)> = queries.clone().map(|q| self.range(q)).collect();
        let mut counts = Counts::default();
        let mut comparisons = 0u64;
        let last = (unit.tiles.end as usize * TILE_FILTERS).min(right.len());
        let first_tile = unit.tiles.start as usize * TILE_FILTERS;
        let mut tile = first_tile;
        let mut mode = Mode::START;
        while tile < last {
            let tile_end = (tile + TILE_FILTERS).min(right.len());
            let mut in_tile = 0u64;
            // Each way of reading is judged on the pairs it scored and kept if its bound
            // prunes, otherwise the next more thorough one is tried.
            mode = if tile == first_tile {
                Mode::START
            } else {
                mode.next_tile()
            };
            counts.passed = 0;
            for (qi, &(start, end)) in queries.clone().zip(&ranges) {
                let (s, e) = (start.max(tile), end.min(tile_end));
                if s >= e {
                    continue;
                }
                let query = left.query(qi);
                let block = right.block(s, e);
                let mut keep = Links {
                    threshold: opts.threshold,
                    a: left.index[qi],
                    partners: &right.index[s..e],
                    upper: self.upper,
                    out: &mut *out,
                };
                in_tile += score_block_scan(
                    kernel,
                    opts.similarity,
                    bits,
                    &query,
                    &block,
                    mode.scan,
                    &mut counts,
                    &mut keep,
                );
                if mode.judge(in_tile, counts.passed) {
                    counts.passed = 0;
                }
            }
            comparisons += in_tile;
            progress(in_tile);
            tile = tile_end;
        }
        comparisons
    }

    /// [`ScanPlan::run_unit`] on bit-sliced filters ([`crate::filter::sliced`]): per tile,
    /// group by group of 256 filters, every query whose popcount range reaches the group gets a
    /// pass mask of the group's filters from one sliced count, and only the passing pairs in its
    /// range are counted and scored exactly. The same candidates as the other scans.
    fn run_unit_sliced(
        &self,
        unit: &WorkUnit,
        counter: Counter,
        progress: &(dyn Fn(u64) + Sync),
        out: &mut Vec<Candidate>,
    ) -> u64 {
        let (left, right, opts) = (self.left, self.right, &self.opts);
        let (bits, similarity, threshold) = (left.bits, opts.similarity, opts.threshold);
        let sliced = right.sliced();
        let queries = unit.queries.start as usize..(unit.queries.end as usize).min(left.len());
        let ranges: Vec<(usize, usize)> = queries.clone().map(|q| self.range(q)).collect();
        let prepared: Vec<(SlicedQuery, f64)> = queries
            .clone()
            .map(|q| {
                let mut query = SlicedQuery::default();
                query.set(left.front(q).iter().chain(left.back(q)).copied());
                let (offset, _) = linear_need(similarity, left.popcounts[q], threshold, bits);
                (query, offset)
            })
            .collect();
        let slope = linear_need(similarity, 0, threshold, bits).1;
        let mut comparisons = 0u64;
        let last = (unit.tiles.end as usize * TILE_FILTERS).min(right.len());
        let mut tile = unit.tiles.start as usize * TILE_FILTERS;
        while tile < last {
            let tile_end = (tile + TILE_FILTERS).min(right.len());
            let mut in_tile = 0u64;
            for g_start in (tile..tile_end).step_by(LANES) {
                let g_end = (g_start + LANES).min(right.len());
                let limits = Limits::new(&right.popcounts[g_start..g_end], bits as usize, slope);
                for ((qi, &(start, end)), (query, offset)) in
                    queries.clone().zip(&ranges).zip(&prepared)
                {
                    let (s, e) = (start.max(g_start), end.min(g_end));
                    if s >= e {
                        continue;
                    }
                    in_tile += (e - s) as u64;
                    let mask = counter.pass(sliced, g_start / LANES, query, *offset, &limits);
                    let pa = query.popcount();
                    for (k, word) in mask.into_iter().enumerate() {
                        let mut word = word & lane_range(k, s - g_start, e - g_start);
                        while word != 0 {
                            let j = g_start + k * 64 + word.trailing_zeros() as usize;
                            word &= word - 1;
                            let c = left.and_count(qi, right, j, counter);
                            let score = similarity.score(c, pa, right.popcounts[j], bits);
                            if score >= threshold {
                                let (a, b) = (left.index[qi], right.index[j]);
                                let (a, b) = if self.upper && b < a { (b, a) } else { (a, b) };
                                out.push(Candidate { a, b, score });
                            }
                        }
                    }
                }
            }
            comparisons += in_tile;
            progress(in_tile);
            tile = tile_end;
        }
        comparisons
    }

    /// Joins the candidates of all units (in any order): sorted by `(a, b)`, then top-k.
    pub fn merge(&self, parts: impl IntoIterator<Item = Vec<Candidate>>) -> Vec<Candidate> {
        let all = Candidate::joined_by_pair(parts.into_iter().collect());
        match self.opts.top_k {
            Some(k) => top_k(all, k, self.upper),
            None => all,
        }
    }

    /// The local driver: every unit on the current rayon pool, then [`ScanPlan::merge`].
    pub fn run(
        &self,
        kernel: &Kernel,
        progress: &(dyn Fn(u64) + Sync),
    ) -> (Vec<Candidate>, CandidateStats) {
        let parts: Vec<(Vec<Candidate>, u64)> = self
            .units()
            .par_iter()
            .map(|unit| {
                let mut out = Vec::new();
                let n = self.run_unit(unit, kernel, progress, &mut out);
                (out, n)
            })
            .collect();
        let comparisons = parts.iter().map(|p| p.1).sum();
        let all = self.merge(parts.into_iter().map(|p| p.0));
        let stats = CandidateStats {
            pairs: self.pairs(),
            comparisons,
            candidates: all.len() as u64,
        };
        (all, stats)
    }
}
