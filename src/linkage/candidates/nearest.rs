//! Each record's best and second-best similarity against another party: the raw material of
//! threshold selection without ground truth ([`crate::linkage::threshold`]).
//!
//! Unlike candidate generation this keeps no pairs, only two numbers per record, so memory is
//! constant per record whatever the floor. Every admissible pair is scored in full (front and
//! back halves through the kernel, tile by tile), because the second-best score of a record is
//! usually far below any linkage threshold, where the half-filter pre-check cannot prune.
//! To bound the cost on large files only an evenly spaced sample of records is scanned.

use rayon::prelude::*;

use super::score::{Counts, Keep, score_block};
use super::{FilterSet, Similarity, TILE_FILTERS};

/// A record's two best scores so far, at or above the floor.
struct Best<'a> {
    top: &'a mut TopTwo,
    floor: f64,
    /// The block position of the record itself, not its own partner.
    skip: Option<usize>,
}

impl Keep for Best<'_> {
    #[inline]
    fn bar(&self) -> f64 {
        self.top.second.max(self.floor)
    }

    #[inline]
    fn hit(&mut self, j: usize, score: f64) {
        if self.skip != Some(j) {
            self.top.push(score);
        }
    }
}
use crate::filter::kernel::Kernel;

/// Queries per parallel task.
const CHUNK_QUERIES: usize = 64;

/// A record's two highest similarities to the records of the other side. A value below the
/// floor of the scan (or missing, when the other side has fewer than two records) is
/// `f64::NEG_INFINITY`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopTwo {
    /// The highest similarity.
    pub best: f64,
    /// The second highest (a second partner with the same score as the best counts).
    pub second: f64,
}

impl TopTwo {
    /// Nothing seen yet.
    pub const NONE: TopTwo = TopTwo {
        best: f64::NEG_INFINITY,
        second: f64::NEG_INFINITY,
    };

    /// Takes one more score into account.
    #[inline]
    pub fn push(&mut self, score: f64) {
        if score > self.best {
            self.second = self.best;
            self.best = score;
        } else if score > self.second {
            self.second = score;
        }
    }
}

/// The [`TopTwo`] scores of up to `sample` records of `left` against all of `right` (scores
/// below `floor` are not kept). With `same`, `left` and `right` are one file (deduplication)
/// and a record is not compared with itself.
///
/// The records are taken evenly spaced in popcount order (all of them when `sample >= len`),
/// which also spreads them over the range of filter fill. The result is in that order and does
/// not depend on the thread count. `progress` is called with batches of comparisons done.
#[allow(clippy::too_many_arguments)]
pub fn top_two(
    left: &FilterSet,
    right: &FilterSet,
    same: bool,
    sample: usize,
    floor: f64,
    similarity: Similarity,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<TopTwo> {
    assert_eq!(
        left.words, right.words,
        "filter lengths checked by the caller"
    );
    let n = left.len();
    let s = sample.min(n);
    let queries: Vec<usize> = (0..s).map(|i| i * n / s).collect();
    queries
        .par_chunks(CHUNK_QUERIES)
        .flat_map_iter(|chunk| {
            scan(
                left, right, same, chunk, floor, similarity, kernel, progress,
            )
        })
        .collect()
}

/// Scores the queries `chunk` (sorted positions of `left`) against their admissible runs of
/// `right`, tile by tile so that each tile is read from cache by all the chunk's queries.
#[allow(clippy::too_many_arguments)]
fn scan(
    left: &FilterSet,
    right: &FilterSet,
    same: bool,
    chunk: &[usize],
    floor: f64,
    similarity: Similarity,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<TopTwo> {
    let bits = left.bits;
    let ranges: Vec<(usize, usize)> = chunk
        .iter()
        .map(|&q| {
            let (lo, hi) = similarity.popcount_bounds(left.popcounts[q], floor, bits);
            right.range(lo, hi)
        })
        .collect();
    let mut top = vec![TopTwo::NONE; chunk.len()];
    let mut counts = Counts::default();
    let first = ranges.iter().map(|r| r.0).min().unwrap_or(0);
    let last = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    let mut tile = first - first % TILE_FILTERS;
    while tile < last {
        let tile_end = (tile + TILE_FILTERS).min(right.len());
        let mut done = 0u64;
        for ((&q, &(start, end)), t) in chunk.iter().zip(&ranges).zip(top.iter_mut()) {
            let (s, e) = (start.max(tile), end.min(tile_end));
            if s >= e {
                continue;
            }
            let query = left.query(q);
            let block = right.block(s, e);
            // Only a score above the current second best (and the floor) changes anything.
            let mut keep = Best {
                top: t,
                floor,
                // The record itself, when scanning one file against itself.
                skip: (same && (s..e).contains(&q)).then(|| q - s),
            };
            done += score_block(
                kernel,
                similarity,
                bits,
                &query,
                &block,
                true,
                &mut counts,
                &mut keep,
            );
        }
        progress(done);
        tile = tile_end;
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random filters, some of them near-copies of others.
    fn filters(n: usize, words: usize, seed: u64) -> Vec<u64> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out: Vec<u64> = (0..n * words).map(|_| next() & next()).collect();
        for i in (2..n).step_by(5) {
            for w in 0..words {
                out[i * words + w] = out[(i - 2) * words + w] ^ (1u64 << (next() % 64));
            }
        }
        out
    }

    /// Every pair scored one by one, kept as sorted lists.
    fn naive(a: &[u64], b: &[u64], words: usize, same: bool, floor: f64) -> Vec<TopTwo> {
        let bits = words as u32 * 64;
        a.chunks(words)
            .enumerate()
            .map(|(i, x)| {
                let mut t = TopTwo::NONE;
                for (j, y) in b.chunks(words).enumerate() {
                    if same && i == j {
                        continue;
                    }
                    let common = x.iter().zip(y).map(|(p, q)| (p & q).count_ones()).sum();
                    let s = Similarity::Dice.score(
                        common,
                        crate::filter::popcount(x),
                        crate::filter::popcount(y),
                        bits,
                    );
                    if s >= floor {
                        t.push(s);
                    }
                }
                t
            })
            .collect()
    }

    fn by_popcount_order(set: &FilterSet, naive: &[TopTwo]) -> Vec<TopTwo> {
        set.index.iter().map(|&i| naive[i as usize]).collect()
    }

    #[test]
    fn agrees_with_naive_for_every_width_and_kernel() {
        for words in [1, 3, 8, 16] {
            let (a, b) = (filters(100, words, 1), filters(2100, words, 2));
            let (sa, sb) = (FilterSet::new(&a, words), FilterSet::new(&b, words));
            for kind in Kernel::available() {
                let kernel = Kernel::new(kind).unwrap();
                for floor in [0.0, 0.4] {
                    let got = top_two(
                        &sa,
                        &sb,
                        false,
                        usize::MAX,
                        floor,
                        Similarity::Dice,
                        &kernel,
                        &|_| {},
                    );
                    let want = by_popcount_order(&sa, &naive(&a, &b, words, false, floor));
                    assert_eq!(
                        got,
                        want,
                        "words {words}, kernel {}, floor {floor}",
                        kernel.name()
                    );
                    let got = top_two(
                        &sa,
                        &sa,
                        true,
                        usize::MAX,
                        floor,
                        Similarity::Dice,
                        &kernel,
                        &|_| {},
                    );
                    let want = by_popcount_order(&sa, &naive(&a, &a, words, true, floor));
                    assert_eq!(got, want, "dedup, words {words}, kernel {}", kernel.name());
                }
            }
        }
    }

    #[test]
    fn sample_is_evenly_spaced_and_thread_independent() {
        let (a, b) = (filters(1000, 16, 3), filters(700, 16, 4));
        let (sa, sb) = (FilterSet::new(&a, 16), FilterSet::new(&b, 16));
        let kernel = Kernel::detect();
        let all = top_two(
            &sa,
            &sb,
            false,
            usize::MAX,
            0.0,
            Similarity::Dice,
            &kernel,
            &|_| {},
        );
        let some = top_two(
            &sa,
            &sb,
            false,
            100,
            0.0,
            Similarity::Dice,
            &kernel,
            &|_| {},
        );
        assert_eq!(some.len(), 100);
        let picked: Vec<TopTwo> = (0..100).map(|i| all[i * 10]).collect();
        assert_eq!(some, picked);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let again = one_thread.install(|| {
            top_two(
                &sa,
                &sb,
                false,
                usize::MAX,
                0.0,
                Similarity::Dice,
                &kernel,
                &|_| {},
            )
        });
        assert_eq!(all, again);
    }

    #[test]
    fn push_keeps_the_two_highest() {
        let mut t = TopTwo::NONE;
        for s in [0.3, 0.9, 0.5, 0.9, 0.1] {
            t.push(s);
        }
        assert_eq!((t.best, t.second), (0.9, 0.9));
    }
}
