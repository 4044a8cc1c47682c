//! The diffusion layer of Armknecht, Heng & Schnell ("Strengthening privacy-preserving record
//! linkage using diffusion", PoPETs 2023(2)): a filter in, a filter of the same length out,
//! each output bit the XOR of `t` input bits chosen under the key.
//!
//! The map is a secret, sparse GF(2)-linear layer `c_j = XOR_{i in S_j} b_i`, `|S_j| = t`,
//! drawn once per schema and key and shared by every department (so encodings stay
//! comparable). Because each output bit mixes `t` input bits, the co-occurrence of a token's
//! `k` positions, which pattern-mining attacks look for, is spread over many outputs. pprl
//! keeps the length (`m` outputs from `m` inputs) and draws the `t` inputs of each output
//! without repetition; the paper's exact parameter choices were not checked against it here.

use crate::encode::bloom::KeyedRng;

/// The keyed input sets: output bit `j` XORs `inputs[j*t .. (j+1)*t]`.
///
/// Applied through the transpose (for each input bit, the outputs it feeds), so a filter
/// costs one toggle per set input bit and output it feeds, about `t` times its set bits.
#[derive(Debug, Clone)]
pub struct Diffusion {
    t: usize,
    inputs: Vec<u32>,
    /// Outputs fed by input `i`: `feeds[starts[i] .. starts[i + 1]]`.
    starts: Vec<u32>,
    feeds: Vec<u32>,
}

impl Diffusion {
    /// Draws the map for filters of `bits` bits under `key`, `t` distinct inputs per output
    /// (`2 <= t <= bits`, checked by the schema).
    pub fn new(key: &[u8; 32], bits: u32, t: u32) -> Diffusion {
        let mut rng = KeyedRng::new(key, b"harden:diffusion");
        let mut inputs = Vec::with_capacity((bits * t) as usize);
        for _ in 0..bits {
            let start = inputs.len();
            while inputs.len() - start < t as usize {
                let i = rng.below(bits);
                if !inputs[start..].contains(&i) {
                    inputs.push(i);
                }
            }
        }
        let mut counts = vec![0u32; bits as usize + 1];
        for &i in &inputs {
            counts[i as usize + 1] += 1;
        }
        for i in 0..bits as usize {
            counts[i + 1] += counts[i];
        }
        let starts = counts.clone();
        let mut feeds = vec![0u32; inputs.len()];
        for (j, set) in inputs.chunks_exact(t as usize).enumerate() {
            for &i in set {
                feeds[counts[i as usize] as usize] = j as u32;
                counts[i as usize] += 1;
            }
        }
        Diffusion {
            t: t as usize,
            inputs,
            starts,
            feeds,
        }
    }

    /// The input positions of output bit `j`.
    pub fn inputs_of(&self, j: usize) -> &[u32] {
        &self.inputs[j * self.t..(j + 1) * self.t]
    }

    /// Writes the diffused form of `input` into `out` (same length).
    pub fn apply(&self, input: &[u64], out: &mut [u64]) {
        out.fill(0);
        for (w, &word) in input.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let i = w * 64 + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
                for &j in &self.feeds[a..b] {
                    out[j as usize / 64] ^= 1 << (j % 64);
                }
            }
        }
    }
}
