//! Balancing (Schnell & Borgs 2016): a filter `b` of `m` bits in, `2m` bits out: `b` followed
//! by its complement, then permuted under the key.
//!
//! Every output has exactly `m` bits set, so the number of set bits (which tracks how many
//! tokens a record has) no longer leaks. The permutation is drawn once per schema and key, so
//! an observer cannot tell the complement half from the filter half. Dice on balanced filters
//! stays monotone in the overlap of the originals.

use crate::encode::bloom::{KeyedRng, get_bit, set_bit};

/// The keyed permutation of `2m` positions: output bit `j` is bit `sources[j]` of `b || !b`.
#[derive(Debug, Clone)]
pub struct Balance {
    sources: Vec<u32>,
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
        Balance { sources }
    }

    /// Writes the balanced, permuted form of `input` into `out` (twice as many words),
    /// using `doubled` as a buffer.
    pub fn apply(&self, input: &[u64], out: &mut [u64], doubled: &mut Vec<u64>) {
        doubled.clear();
        doubled.extend_from_slice(input);
        doubled.extend(input.iter().map(|w| !w));
        out.fill(0);
        for (j, &src) in self.sources.iter().enumerate() {
            if get_bit(doubled, src as usize) {
                set_bit(out, j);
            }
        }
    }
}
