//! Balancing (Schnell & Borgs 2016): a filter `b` of `m` bits in, `2m` bits out: `b` followed
//! by its complement, then permuted under the key.
//!
//! Every output has exactly `m` bits set, so the number of set bits (which tracks how many
//! tokens a record has) no longer leaks. The permutation is drawn once per schema and key, so
//! an observer cannot tell the complement half from the filter half. Dice on balanced filters
//! stays monotone in the overlap of the originals.
//!
//! The permutation is applied in one of two ways, chosen per filter by its number of set bits;
//! both give the same bits (tested):
//!
//! * **toggles** through the inverse permutation: the output is the all-complement mask (`b =
//!   0`) with both positions of each set input bit toggled, one step per set bit; cheap for
//!   sparse filters;
//! * **a Beneš network** of word-wide delta swaps compiled from the permutation once per
//!   encoder ([`Network`]): `2 log2(n) - 1` stages over `b || !b` padded to a power of two `n`,
//!   each a few word operations per word whatever the filter holds; cheaper once a filter has
//!   more than a few set bits per word (a CLK of several fields).

use crate::encode::bloom::{KeyedRng, set_bit};

/// The keyed permutation of `2m` positions: output bit `j` is bit `sources[j]` of `b || !b`.
#[derive(Debug, Clone)]
pub struct Balance {
    /// Input bit `i` lands at `one[i]`, its complement at `zero[i]`.
    one: Vec<u32>,
    zero: Vec<u32>,
    /// The output of an all-zero input.
    base: Vec<u64>,
    /// The same permutation as a network of delta swaps.
    network: Network,
    /// Filters with more set bits than this go through the network.
    network_above: u32,
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
        let network = Network::new(&dest);
        let (one, zero) = dest.split_at(bits as usize);
        let mut base = vec![0u64; (2 * bits as usize).div_ceil(64)];
        for &z in zero {
            set_bit(&mut base, z as usize);
        }
        // One set bit's two toggles cost about as much as four to five stage-words of the
        // network (release build, `perf`, 1024-bit filters: the network about 0.4 us a
        // filter whatever it holds, 21 stages of 32 words; toggles about 2.6 ns a set bit;
        // docs/privacy.md, "Encoding rate").
        let network_above = (network.cost_words() / 5) as u32;
        Balance {
            one: one.to_vec(),
            zero: zero.to_vec(),
            base,
            network,
            network_above,
        }
    }

    /// Writes the balanced, permuted form of `input` into `out` (twice as many words).
    pub fn apply(&self, input: &[u64], out: &mut [u64], scratch: &mut Vec<u64>) {
        let set: u32 = input.iter().map(|w| w.count_ones()).sum();
        if set > self.network_above {
            self.apply_network(input, out, scratch);
        } else {
            self.apply_toggles(input, out);
        }
    }

    /// [`Balance::apply`] by toggling both positions of each set input bit.
    pub fn apply_toggles(&self, input: &[u64], out: &mut [u64]) {
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

    /// [`Balance::apply`] through the Beneš network; `scratch` holds the padded vector.
    pub fn apply_network(&self, input: &[u64], out: &mut [u64], scratch: &mut Vec<u64>) {
        let m = input.len();
        scratch.clear();
        scratch.extend_from_slice(input);
        scratch.extend(input.iter().map(|w| !w));
        scratch.resize(self.network.words, 0);
        self.network.apply(scratch);
        out.copy_from_slice(&scratch[..2 * m]);
    }
}

/// A bit permutation of `n = 2^k >= 128` positions as a Beneš network: stages of delta swaps
/// at distances `n/2, n/4, ..., 1, ..., n/4, n/2`, each "swap bits `i` and `i + d` where the
/// stage's mask has bit `i`". Routed by the looping algorithm (Waksman 1968; Beneš 1964), so
/// any permutation has one; a stage whose mask is empty is dropped.
#[derive(Debug, Clone)]
pub struct Network {
    /// Words of the padded vector (`n / 64`).
    words: usize,
    /// `(distance, mask)`, in the order they apply; a mask has `words` words.
    stages: Vec<(u32, Vec<u64>)>,
}

impl Network {
    /// Compiles the permutation that moves the bit at position `p` to `dest[p]` (`dest` a
    /// permutation of `0..dest.len()`, padded with fixed points to a power of two).
    pub fn new(dest: &[u32]) -> Network {
        let n = dest.len().next_power_of_two().max(128);
        let levels = n.trailing_zeros() as usize;
        let mut padded: Vec<u32> = dest.to_vec();
        padded.extend(dest.len() as u32..n as u32);
        let words = n / 64;
        let mut first = vec![vec![0u64; words]; levels];
        let mut last = vec![vec![0u64; words]; levels];
        route(&padded, 0, 0, &mut first, &mut last);
        let mut stages = Vec::with_capacity(2 * levels - 1);
        // `first[levels - 1]` is the middle stage (distance 1); `last[levels - 1]` stays empty.
        for (level, mask) in first.into_iter().enumerate() {
            stages.push(((n >> (level + 1)) as u32, mask));
        }
        for (level, mask) in last.into_iter().enumerate().take(levels - 1).rev() {
            stages.push(((n >> (level + 1)) as u32, mask));
        }
        stages.retain(|(_, mask)| mask.iter().any(|&w| w != 0));
        Network { words, stages }
    }

    /// Stage-words of work per application (stages times words).
    pub fn cost_words(&self) -> usize {
        self.stages.len() * self.words
    }

    /// Permutes the bits of `x` (`n / 64` words) in place.
    pub fn apply(&self, x: &mut [u64]) {
        assert_eq!(x.len(), self.words, "network width");
        for (d, mask) in &self.stages {
            let d = *d as usize;
            if d < 64 {
                for (w, &m) in x.iter_mut().zip(mask) {
                    let t = (*w ^ (*w >> d)) & m;
                    *w ^= t ^ (t << d);
                }
            } else {
                let dw = d / 64;
                for block in (0..self.words).step_by(2 * dw) {
                    let (lo, hi) = x[block..block + 2 * dw].split_at_mut(dw);
                    for ((a, b), &m) in lo.iter_mut().zip(hi).zip(&mask[block..block + dw]) {
                        let t = (*a ^ *b) & m;
                        *a ^= t;
                        *b ^= t;
                    }
                }
            }
        }
    }
}

/// Routes the sub-network at `offset` (positions `offset .. offset + dest.len()`, `dest`
/// relative to it) at recursion `level`: sets the swaps of its first stage in `first[level]`
/// and of its last stage in `last[level]`, and recurses into its two halves.
fn route(dest: &[u32], offset: usize, level: usize, first: &mut [Vec<u64>], last: &mut [Vec<u64>]) {
    let n = dest.len();
    if n == 2 {
        if dest[0] == 1 {
            set_bit(&mut first[level], offset);
        }
        return;
    }
    let h = n / 2;
    let mut source = vec![0u32; n];
    for (p, &q) in dest.iter().enumerate() {
        source[q as usize] = p as u32;
    }
    // upper[p]: the element at `p` passes through the upper half (`None`: not routed yet).
    // Input pairs {i, i + h} and output pairs {j, j + h} each send one element each way.
    let mut upper: Vec<Option<bool>> = vec![None; n];
    for start in 0..n {
        if upper[start].is_some() {
            continue;
        }
        let mut p = start;
        upper[p] = Some(false);
        loop {
            let partner = p ^ h;
            upper[partner] = Some(!upper[p].unwrap_or(false));
            let mate = source[(dest[partner] as usize) ^ h] as usize;
            if upper[mate].is_some() {
                break;
            }
            upper[mate] = upper[p];
            p = mate;
        }
    }
    let mut lower_dest = vec![0u32; h];
    let mut upper_dest = vec![0u32; h];
    for p in 0..n {
        let (i, j) = (p & (h - 1), dest[p] as usize & (h - 1));
        if upper[p] == Some(true) {
            upper_dest[i] = j as u32;
        } else {
            lower_dest[i] = j as u32;
        }
    }
    for i in 0..h {
        if upper[i] == Some(true) {
            set_bit(&mut first[level], offset + i);
        }
        if upper[source[i] as usize] == Some(true) {
            set_bit(&mut last[level], offset + i);
        }
    }
    route(&lower_dest, offset, level + 1, first, last);
    route(&upper_dest, offset + h, level + 1, first, last);
}
