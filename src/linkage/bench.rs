//! Throughput measurement on synthetic filters, for `pprl bench match` and the benches.

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

/// Times Dice candidate generation between the two sides with `kernel` on the current rayon
/// pool.
pub fn time_link(left: &[u64], right: &[u64], threshold: f64, kernel: Kernel) -> MatchBench {
    let start = Instant::now();
    let (l, r) = (FilterSet::new(left, 16), FilterSet::new(right, 16));
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
