//! Throughput measurement for `pprl bench match` and the benches: on random filters, on
//! synthetic filters with the fill and similarity structure of real CLKs, or on any filters
//! the caller read from a file.
//!
//! Random half-full filters are the easy case for candidate search: two unrelated filters
//! share about a quarter of their bits, far below any useful threshold, so the half-filter
//! pre-check prunes nearly every pair. Real CLKs are denser (clkhash's FEBRL schema fills about
//! 68% of 1,024 bits) and unrelated records share common n-grams, so unrelated pairs score
//! 0.6-0.7 and almost none is pruned early. [`realistic_sides`] builds filters like that, so
//! the benches measure the case users have.

use std::time::Instant;

use super::candidates::{self, CandidateOptions, CandidateStats, FilterSet, Similarity};
use crate::filter::kernel::Kernel;

/// `n` random filters of `words` words with about half the bits set, from a seeded xorshift
/// generator (the same on every platform). Every tenth filter `i` of the second side of
/// [`pair_of_sides`] is a near-copy of filter `i` of the first.
pub fn random_filters(n: usize, words: usize, seed: u64) -> Vec<u64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n * words)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect()
}

/// Two sides of `n` random 1024-bit filters; every tenth filter of the second is the same
/// position's filter of the first with about 3% of its bits flipped, so a Dice threshold of 0.8
/// finds about `n / 10` true pairs among `n * n` comparisons.
pub fn pair_of_sides(n: usize, seed: u64) -> (Vec<u64>, Vec<u64>) {
    let words = 16;
    let left = random_filters(n, words, seed);
    let mut right = random_filters(n, words, seed ^ 0x5555);
    let noise = random_filters(n, words, seed ^ 0xaaaa);
    for i in (0..n).step_by(10) {
        for w in i * words..(i + 1) * words {
            // AND of five random words: each bit set with probability 1/32.
            let flip = noise[w]
                & noise[(w + 1) % noise.len()].rotate_left(7)
                & noise[w].rotate_left(19)
                & noise[(w + 3) % noise.len()].rotate_left(29)
                & noise[w].rotate_left(41);
            right[w] = left[w] ^ flip;
        }
    }
    (left, right)
}

/// One timed candidate generation.
#[derive(Debug, Clone, Copy)]
pub struct MatchBench {
    /// Kernel used.
    pub kernel: &'static str,
    /// Counters.
    pub stats: CandidateStats,
    /// Wall time in seconds (candidate generation, including the popcount sort).
    pub seconds: f64,
}

impl MatchBench {
    /// Comparisons per second.
    pub fn rate(&self) -> f64 {
        self.stats.comparisons as f64 / self.seconds.max(1e-9)
    }
}

/// Filters like real CLKs, for benchmarks: two sides of `n` 1024-bit filters with about two
/// thirds of the bits set (65% measured for 40 records), where record `i` of the second side is a corrupted copy of record `i` of
/// the first for every even `i` (the other half are other people).
///
/// Each record is a bag of 80 tokens (standing for the n-grams of its fields) drawn from a
/// vocabulary of 4,096 with a skewed popularity (token `4096 u^3` for uniform `u`), so common
/// tokens are shared by unrelated records as common bigrams are in names and addresses; each
/// token sets 15 bits chosen by hashing it. A copy replaces about one token in eight (typos,
/// changed fields). Deterministic for a seed, the same on every platform.
pub fn realistic_sides(n: usize, seed: u64) -> (Vec<u64>, Vec<u64>) {
    const WORDS: usize = 16;
    const TOKENS: usize = 80;
    const BITS_PER_TOKEN: u64 = 15;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut token = move || {
        let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
        ((4096.0 * u * u * u) as u64, next())
    };
    let set_bits = |filter: &mut [u64], t: u64| {
        for k in 0..BITS_PER_TOKEN {
            // splitmix64 of (token, k): a fixed "hash" per token, as a keyed CLK has.
            let mut z =
                t.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let bit = (z % 1024) as usize;
            filter[bit / 64] |= 1 << (bit % 64);
        }
    };
    let mut left = vec![0u64; n * WORDS];
    let mut right = vec![0u64; n * WORDS];
    for i in 0..n {
        let tokens: Vec<u64> = (0..TOKENS).map(|_| token().0).collect();
        let l = &mut left[i * WORDS..(i + 1) * WORDS];
        for &t in &tokens {
            set_bits(l, t);
        }
        let r = &mut right[i * WORDS..(i + 1) * WORDS];
        for &t in &tokens {
            let (other, coin) = token();
            let t = if i % 2 == 1 || coin % 8 == 0 {
                other
            } else {
                t
            };
            set_bits(r, t);
        }
    }
    (left, right)
}

/// Times Dice candidate generation between the two sides with `kernel` on the current rayon
/// pool (1024-bit filters).
pub fn time_link(left: &[u64], right: &[u64], threshold: f64, kernel: Kernel) -> MatchBench {
    time_link_words(left, right, 16, threshold, kernel)
}

/// [`time_link`] for filters of `words` 64-bit words each (as read from a file).
///
/// # Panics
///
/// If `words` is 0 or a side is not whole filters.
pub fn time_link_words(
    left: &[u64],
    right: &[u64],
    words: usize,
    threshold: f64,
    kernel: Kernel,
) -> MatchBench {
    let start = Instant::now();
    // As `pprl match` scans: one bit order for both sides.
    let order = candidates::sample_order(&[left, right], words);
    let l = FilterSet::ordered(left, words, &order);
    let r = FilterSet::ordered(right, words, &order);
    let opts = CandidateOptions {
        threshold,
        similarity: Similarity::Dice,
        top_k: None,
    };
    let (_, stats) = candidates::link(&l, &r, &opts, &kernel, &|_| {});
    MatchBench {
        kernel: kernel.name(),
        stats,
        seconds: start.elapsed().as_secs_f64(),
    }
}
