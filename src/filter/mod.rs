//! Filters as plain `u64` words, and statistics over them.
//!
//! A filter of `m` bits is `m / 64` little-endian-ordered words: bit `p` is bit `p % 64` of
//! word `p / 64`. Plain word arrays are what popcount instructions work on; bit-vector crates
//! measured several times slower here (see `docs/design.md`).
//!
//! [`kernel`] holds the similarity kernels the matcher calls per tile: one query against a
//! block of filters, with the instruction set (portable, `POPCNT`, AVX2, AVX-512) chosen once
//! at run time by [`Kernel::detect`]; [`fields`] the per-field counts of record pairs that
//! probabilistic linkage needs; [`order`] the bit orders that tighten the candidate search's
//! bounds on skewed real encodings; `sliced` the bit-sliced layout (256 filters as bit planes)
//! that the exhaustive search counts with on AVX2.

pub mod fields;
pub mod kernel;
pub mod order;
pub(crate) mod sliced;

pub use kernel::{Kernel, KernelKind};
pub use order::BitOrder;

/// Number of set bits in a filter.
#[inline]
pub fn popcount(words: &[u64]) -> u32 {
    words.iter().map(|w| w.count_ones()).sum()
}

/// Dice coefficient of two equally long filters: `2|A & B| / (|A| + |B|)`; 0 when both are
/// empty.
pub fn dice(a: &[u64], b: &[u64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let common: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
    let total = popcount(a) + popcount(b);
    if total == 0 {
        0.0
    } else {
        2.0 * f64::from(common) / f64::from(total)
    }
}

/// Popcount statistics over a set of records, for `pprl inspect`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PopcountStats {
    /// Records counted.
    pub records: u64,
    /// Bits per record.
    pub bits: u32,
    /// Mean set bits per record.
    pub mean: f64,
    /// Standard deviation of set bits per record (population).
    pub sd: f64,
    /// Fewest set bits.
    pub min: u32,
    /// Most set bits.
    pub max: u32,
    /// Mean share of bits set, 0 to 1.
    pub fill: f64,
    /// Histogram: `(lower bound, upper bound inclusive, records)` over `min..=max`.
    pub histogram: Vec<(u32, u32, u64)>,
}

/// Accumulates [`PopcountStats`] in one pass and constant memory (one counter per possible
/// popcount).
#[derive(Debug, Clone)]
pub struct PopcountAccumulator {
    bits: u32,
    counts: Vec<u64>,
}

impl PopcountAccumulator {
    /// For records of `bits` bits.
    pub fn new(bits: u32) -> Self {
        PopcountAccumulator {
            bits,
            counts: vec![0; bits as usize + 1],
        }
    }

    /// Adds one record.
    pub fn add(&mut self, words: &[u64]) {
        self.counts[popcount(words) as usize] += 1;
    }

    /// The statistics, with a histogram of at most `bins` bins.
    pub fn finish(&self, bins: u32) -> PopcountStats {
        let records: u64 = self.counts.iter().sum();
        let present = || {
            self.counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(p, _)| p as u32)
        };
        let (min, max) = (present().min().unwrap_or(0), present().max().unwrap_or(0));
        let n = records.max(1) as f64;
        let mean = self
            .counts
            .iter()
            .enumerate()
            .map(|(p, &c)| p as f64 * c as f64)
            .sum::<f64>()
            / n;
        let var = self
            .counts
            .iter()
            .enumerate()
            .map(|(p, &c)| (p as f64 - mean).powi(2) * c as f64)
            .sum::<f64>()
            / n;
        let width = (max - min + 1).div_ceil(bins.max(1)).max(1);
        let histogram = if records == 0 {
            Vec::new()
        } else {
            (min..=max)
                .step_by(width as usize)
                .map(|lo| {
                    let hi = (lo + width - 1).min(max);
                    (lo, hi, self.counts[lo as usize..=hi as usize].iter().sum())
                })
                .collect()
        };
        PopcountStats {
            records,
            bits: self.bits,
            mean,
            sd: var.sqrt(),
            min,
            max,
            fill: mean / f64::from(self.bits.max(1)),
            histogram,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_of_known_filters() {
        let a = [0b1111u64, 0];
        let b = [0b0011u64, 0];
        assert!((dice(&a, &b) - 2.0 * 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(dice(&[0, 0], &[0, 0]), 0.0);
        assert_eq!(dice(&a, &a), 1.0);
    }

    #[test]
    fn stats_by_hand() {
        let mut acc = PopcountAccumulator::new(128);
        acc.add(&[0b1, 0]); // 1
        acc.add(&[0b111, 0]); // 3
        acc.add(&[0b11111, 0]); // 5
        let s = acc.finish(2);
        assert_eq!((s.records, s.min, s.max), (3, 1, 5));
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.sd - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.histogram, vec![(1, 3, 2), (4, 5, 1)]);
        assert_eq!(s.histogram.iter().map(|h| h.2).sum::<u64>(), 3);
    }
}
