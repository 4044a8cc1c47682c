//! Bloom-filter layouts: where each field's bits go in a record's encoding.
//!
//! * CLK (Schnell et al. 2011): every field is hashed into the one record filter.
//! * Field-level: field `i` is hashed into filter `i`; the filters are stored side by side.
//! * RBF (Durham et al. 2014): fields are hashed into their own filters; the record filter takes
//!   `round(m * w_i / sum w)` bits sampled (with replacement) from field `i`'s filter, and the
//!   `m` sampled bits are then permuted. Sampling and permutation are drawn once per schema and
//!   key from a keyed stream, so they are secret and identical for every record and department.

use super::hash::{HmacSha256, TokenHasher};

/// Sets bit `pos` of a little-endian word array (bit `i` is bit `i % 64` of word `i / 64`).
#[inline]
pub fn set_bit(words: &mut [u64], pos: usize) {
    words[pos / 64] |= 1u64 << (pos % 64);
}

/// Reads bit `pos` of a little-endian word array.
#[inline]
pub fn get_bit(words: &[u64], pos: usize) -> bool {
    words[pos / 64] >> (pos % 64) & 1 == 1
}

/// Uniform integers from a keyed HMAC-SHA256 stream (block `i` =
/// `HMAC(key, label || u32_le(i))`), read as little-endian `u32`s with rejection sampling.
pub struct KeyedRng<'a> {
    hasher: HmacSha256,
    label: &'a [u8],
    counter: u32,
    block: super::hash::Block,
    used: usize,
}

impl<'a> KeyedRng<'a> {
    /// A stream under `key`, separated from other streams by `label`.
    pub fn new(key: &[u8; 32], label: &'a [u8]) -> Self {
        KeyedRng {
            hasher: HmacSha256::new(key),
            label,
            counter: 0,
            block: [0; 4],
            used: 8,
        }
    }

    /// The next `u32` of the stream: bytes `4j..4j+4` of each block, little-endian.
    fn next_u32(&mut self) -> u32 {
        if self.used == 8 {
            self.block = self.hasher.block(self.label, self.counter);
            self.counter += 1;
            self.used = 0;
        }
        let v = (self.block[self.used / 2] >> (32 * (self.used % 2))) as u32;
        self.used += 1;
        v
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias.
    pub fn below(&mut self, n: u32) -> u32 {
        let zone = u32::MAX - (u32::MAX % n);
        loop {
            let v = self.next_u32();
            if v < zone {
                return v % n;
            }
        }
    }
}

/// The RBF sampling plan: record bit `j` is bit `sources[j]` of the concatenated field filters.
#[derive(Debug, Clone)]
pub struct RbfPlan {
    sources: Vec<u32>,
}

impl RbfPlan {
    /// Draws the plan for field filters of `field_bits[i]` bits with weights `weights[i]`,
    /// into a record filter of `record_bits` bits.
    pub fn new(key: &[u8; 32], field_bits: &[u32], weights: &[f64], record_bits: u32) -> Self {
        let counts = apportion(record_bits, weights);
        let mut rng = KeyedRng::new(key, b"rbf-plan");
        let mut sources = Vec::with_capacity(record_bits as usize);
        let mut offset = 0u32;
        for (&bits, &count) in field_bits.iter().zip(&counts) {
            for _ in 0..count {
                sources.push(offset + rng.below(bits));
            }
            offset += bits;
        }
        // Fisher-Yates, so a record bit's position says nothing about its field.
        for i in (1..sources.len()).rev() {
            let j = rng.below(i as u32 + 1) as usize;
            sources.swap(i, j);
        }
        RbfPlan { sources }
    }

    /// Fills `record` (zeroed) from the concatenated field filters `fields`.
    pub fn apply(&self, fields: &[u64], record: &mut [u64]) {
        for (j, &src) in self.sources.iter().enumerate() {
            if get_bit(fields, src as usize) {
                set_bit(record, j);
            }
        }
    }
}

/// Splits `total` into parts proportional to `weights` (largest remainder; ties to the earlier
/// field), so the parts add up to exactly `total`.
pub fn apportion(total: u32, weights: &[f64]) -> Vec<u32> {
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| f64::from(total) * w / sum).collect();
    let mut parts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = total - parts.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up() {
        assert_eq!(apportion(1024, &[1.0, 1.0]), [512, 512]);
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), [4, 3, 3]);
        assert_eq!(apportion(100, &[3.0, 1.0]), [75, 25]);
        let p = apportion(1000, &[0.3, 0.2, 0.17, 0.33]);
        assert_eq!(p.iter().sum::<u32>(), 1000);
    }

    #[test]
    fn keyed_rng_is_uniform_enough_and_keyed() {
        let mut rng = KeyedRng::new(&[3; 32], b"t");
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[rng.below(6) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
        let a: Vec<u32> = {
            let mut r = KeyedRng::new(&[3; 32], b"t");
            (0..8).map(|_| r.below(1000)).collect()
        };
        let b: Vec<u32> = {
            let mut r = KeyedRng::new(&[4; 32], b"t");
            (0..8).map(|_| r.below(1000)).collect()
        };
        assert_ne!(a, b);
    }

    #[test]
    fn rbf_plan_samples_by_weight_from_each_field() {
        let plan = RbfPlan::new(&[1; 32], &[256, 512], &[1.0, 3.0], 1024);
        assert_eq!(plan.sources.len(), 1024);
        let from_first = plan.sources.iter().filter(|&&s| s < 256).count();
        assert_eq!(from_first, 256);
        assert!(plan.sources.iter().all(|&s| s < 768));
        // Bits from both fields are spread over the record, not in two runs.
        assert!(plan.sources[..512].iter().any(|&s| s >= 256));
    }
}
