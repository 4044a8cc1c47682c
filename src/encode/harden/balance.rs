//! Balancing (Schnell & Borgs 2016): a filter `b` of `m` bits in, `2m` bits out: `b` followed
//! by its complement, then permuted under the key.
//!
//! Every output has exactly `m` bits set, so the number of set bits (which tracks how many
//! tokens a record has) no longer leaks. The permutation is drawn once per schema and key, so
//! an observer cannot tell the complement half from the filter half. Dice on balanced filters
//! stays monotone in the overlap of the originals.

use crate::encode::bloom::{KeyedRng, set_bit};

/// The keyed permutation of `2m` positions: output bit `j` is bit `sources[j]` of `b || !b`.
///
/// Applied through its inverse: input bit `i` lands at `one[i]` and its complement at
/// `zero[i]`, so a filter's output is the all-complement mask (`b = 0`) with both positions of
/// each set input bit toggled, which costs one step per set bit rather than one per output bit.
#[derive(Debug, Clone)]
pub struct Balance {
    one: Vec<u32>,
    zero: Vec<u32>,
    base: Vec<u64>,
}

impl Balance {
    /// Draws the permutation for filters of `bits` bits (output `2 * bits`) under `key`.
    pub fn new(key: &[u8; 32], bits: u32) -> Balance {
        let mut rng = KeyedRng::new(key, b"harden:balance");
        let mut sources: Vec<u32> = (0..2 * bits).collect();
        for i in (1..sources.len()).rev() {
            let j = rng.below(i as u32 + 1) as usize;
            sources.swap(i, j);
        }
        let mut dest = vec![0u32; sources.len()];
        for (j, &src) in sources.iter().enumerate() {
            dest[src as usize] = j as u32;
        }
        let (one, zero) = dest.split_at(bits as usize);
        let mut base = vec![0u64; (2 * bits as usize).div_ceil(64)];
        for &z in zero {
            set_bit(&mut base, z as usize);
        }
        Balance {
            one: one.to_vec(),
            zero: zero.to_vec(),
            base,
        }
    }

    /// Writes the balanced, permuted form of `input` into `out` (twice as many words).
    pub fn apply(&self, input: &[u64], out: &mut [u64]) {
        out.copy_from_slice(&self.base);
        for (w, &word) in input.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let i = w * 64 + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let (o, z) = (self.one[i] as usize, self.zero[i] as usize);
                out[o / 64] ^= 1 << (o % 64);
                out[z / 64] ^= 1 << (z % 64);
            }
        }
    }
}
