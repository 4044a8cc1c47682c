//! BLIP, permanent randomised response (Schnell & Borgs, ICDM workshops 2016; Alaggan et al.'s
//! BLIP): a filter in, the same filter with each bit flipped with probability `p` out.
//!
//! # Accounting
//!
//! The privacy unit is one token. A token sets at most `k` bits, so two records that differ
//! by one token (one more, one less) have filters that differ in at most `k` positions. Each
//! bit is flipped independently with probability `p`, so each differing position changes the
//! probability of a given output by a factor of at most `(1 - p) / p`; over `k` positions by
//! `((1 - p) / p)^k`. Setting that to `e^epsilon` gives
//!
//! `p = 1 / (1 + e^(epsilon / k))`
//!
//! (privacy.md; with Schnell & Borgs' `f`, the probability a bit is replaced by a random bit,
//! `p = f / 2`). A value of `n` tokens is protected at `n * epsilon` (sequential composition),
//! a record at the sum over its fields. `k` is the most bits one token of the filter's fields
//! can set: `bits_per_token`, or for `bits_per_field = n` the bound `min(n, length / 2)` (one
//! token takes the whole budget). In a CLK, the largest `k` of its fields is used. Every later
//! hardening step is post-processing and keeps the guarantee.
//!
//! `p` is applied as `thr / 65536` with `thr = round(p * 65536)`, comparing a 16-bit keyed
//! random number per bit with `thr`; [`Blip::flip_probability`] is that realised value.
//!
//! # Keyed noise
//!
//! The random bits come from keyed BLAKE3 (extendable output) under the purpose key
//! `harden:blip`, over the filter's index in the record and its bytes. The noise is therefore
//! reproducible (the same input, schema and secret give the same bytes for any thread count)
//! and *permanent*: an unchanged record gets the same noise every time it is encoded, so
//! repeated exports cannot be averaged to remove it; two records whose unhardened filters
//! differ in any bit get independent noise. Equal filters stay equal (with three or more fields
//! in a CLK, filters are practically unique anyway).

/// A compiled BLIP step: the keyed stream and the flip threshold.
#[derive(Clone)]
pub struct Blip {
    key: [u8; 32],
    thr: u32,
}

impl std::fmt::Debug for Blip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blip")
            .field("thr", &self.thr)
            .finish_non_exhaustive()
    }
}

/// The flip probability for a budget of `epsilon` per token of at most `k` bits:
/// `1 / (1 + e^(epsilon / k))`.
pub fn flip_probability(epsilon: f64, k: u32) -> f64 {
    1.0 / (1.0 + (epsilon / f64::from(k.max(1))).exp())
}

impl Blip {
    /// A BLIP step under `key` for tokens of at most `k` bits and a budget of `epsilon`.
    pub fn new(key: &[u8; 32], epsilon: f64, k: u32) -> Blip {
        let thr = (flip_probability(epsilon, k) * 65536.0).round() as u32;
        Blip { key: *key, thr }
    }

    /// The flip probability actually applied (`thr / 65536`).
    pub fn flip_probability(&self) -> f64 {
        f64::from(self.thr) / 65536.0
    }

    /// Writes `input` with its bits flipped into `out`; `filter` is the filter's index in
    /// the record (field layout) and `noise` a buffer.
    pub fn apply(&self, filter: u32, input: &[u64], out: &mut [u64], noise: &mut Vec<u8>) {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(b"harden:blip\0");
        h.update(&filter.to_le_bytes());
        for w in input {
            h.update(&w.to_le_bytes());
        }
        noise.clear();
        noise.resize(input.len() * 64 * 2, 0);
        h.finalize_xof().fill(noise);
        for (w, (o, &word)) in out.iter_mut().zip(input).enumerate() {
            let mut flips = 0u64;
            let bytes = &noise[w * 128..(w + 1) * 128];
            for (b, pair) in bytes.chunks_exact(2).enumerate() {
                let r = u32::from(u16::from_le_bytes([pair[0], pair[1]]));
                flips |= u64::from(r < self.thr) << b;
            }
            *o = word ^ flips;
        }
    }
}
