//! Step 2: a component's scores in, exact perturbed integer weights out.
//!
//! Every score is an integer times one common power of two ([`Scale`]); the weights are those
//! integers times `K`, plus the tie-breaking perturbation `R - rank`, so that the optimum of
//! the integer problem is the rule's optimum (see [`optimal`](super::optimal)). They go to
//! `i64` when they fit 61 bits, otherwise to `i128` ([`Weight`] abstracts over the two). The
//! auction works on 61-bit weights: [`scale_down`] and [`scale_up`] convert weights and prices
//! between the two scales.

use std::ops::{Add, AddAssign, Sub, SubAssign};

use super::graph::Graph;

/// Most bits of a perturbed weight in `i64` and in `i128`: the solver computes values up to
/// three times the largest weight, which must still fit.
pub(super) const NARROW_BITS: u32 = 61;
pub(super) const WIDE_BITS: u32 = 125;

/// Writes the perturbed integer weights `w·K + (R - rank)` of a component (step 2), in rank
/// order, to `narrow` when they fit 61 bits (and returns true), otherwise to `wide`.
pub(super) fn weights(graph: &Graph, narrow: &mut Vec<i64>, wide: &mut Vec<i128>) -> bool {
    let scores = &graph.score;
    let r = scores.len() as u128;
    // At most (2^32 - 1)^2 + 1 < 2^64: left, right and edge counts fit u32.
    let k = graph.nl.min(graph.nr) as u128 * r + 1;
    let k_bits = bit_len(k);
    let scale = Scale::new(scores, WIDE_BITS - k_bits);
    let perturbed = scores
        .iter()
        .enumerate()
        .map(|(rank, &s)| scale.apply(s) * k + (r - rank as u128));
    narrow.clear();
    wide.clear();
    if scale.bits + k_bits <= NARROW_BITS {
        narrow.extend(perturbed.map(|v| v as i64));
        true
    } else {
        wide.extend(perturbed.map(|v| v as i128));
        false
    }
}

pub(super) fn bit_len(v: u128) -> u32 {
    u128::BITS - v.leading_zeros()
}

/// `score = mantissa · 2^exponent` with an odd mantissa, for a finite score above 0.
pub(super) fn decompose(score: f64) -> (u64, i32) {
    let bits = score.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let zeros = mantissa.trailing_zeros().min(63);
    (mantissa >> zeros, exponent + zeros as i32)
}

/// Scores times one power of two, as integers. Exact when the largest fits `max_bits` bits
/// (at most 125); otherwise every value is rounded down to that precision, and to at least 1.
pub(super) struct Scale {
    /// `score · 2^shift` is an integer for every score...
    pub(super) shift: i32,
    /// ...which is divided by `2^excess` to fit.
    pub(super) excess: i32,
    /// The bit length of the largest value.
    pub(super) bits: u32,
}

impl Scale {
    pub(super) fn new(scores: &[f64], max_bits: u32) -> Scale {
        let shift = scores.iter().map(|&s| -decompose(s).1).max().unwrap_or(0);
        let top = scores
            .iter()
            .map(|&s| {
                let (m, e) = decompose(s);
                (u64::BITS - m.leading_zeros()) as i32 + e + shift
            })
            .max()
            .unwrap_or(0);
        // Without excess, e + shift >= 0 by the choice of shift and every value fits max_bits.
        let excess = (top - max_bits as i32).max(0);
        Scale {
            shift,
            excess,
            bits: (top - excess) as u32,
        }
    }

    pub(super) fn apply(&self, score: f64) -> u128 {
        let (m, e) = decompose(score);
        let s = e + self.shift - self.excess;
        let w = if s >= 0 {
            u128::from(m) << s
        } else if s > -64 {
            u128::from(m >> -s)
        } else {
            0
        };
        w.max(1)
    }
}

/// Integer weights and duals of the exact search. Every value it computes lies within three
/// times the largest weight of zero, so 61-bit weights fit `i64` and 125-bit weights `i128`.
pub(super) trait Weight:
    Copy + Ord + Default + Add<Output = Self> + Sub<Output = Self> + AddAssign + SubAssign
{
    const ZERO: Self;
    /// The value of a weight (at least 0).
    fn get(self) -> u128;
    /// A weight of this value (which fits).
    fn new(value: u128) -> Self;
}

impl Weight for i64 {
    const ZERO: i64 = 0;

    fn get(self) -> u128 {
        self as u128
    }

    fn new(value: u128) -> i64 {
        value as i64
    }
}

impl Weight for i128 {
    const ZERO: i128 = 0;

    fn get(self) -> u128 {
        self as u128
    }

    fn new(value: u128) -> i128 {
        value as i128
    }
}

/// `w · scale / 2^shift`, rounded down: a weight for the auction, when `shift` brings the
/// largest to 61 bits.
pub(super) fn scale_down(w: u128, scale: u128, shift: u32) -> i64 {
    let pre = (bit_len(w) + bit_len(scale))
        .saturating_sub(u128::BITS)
        .min(shift);
    (((w >> pre) * scale) >> (shift - pre)) as i64
}

/// About `price · 2^shift / scale`: an auction price back in units of the weights.
pub(super) fn scale_up(price: i64, scale: u128, shift: u32) -> u128 {
    let first = shift.min(64);
    (((price.max(0) as u128) << first) / scale) << (shift - first)
}
