//! Keyed hashing: a token in, `k` distinct bit positions out.
//!
//! Both schemes here are *random hashing*: every token's positions come from a keyed
//! pseudo-random function, independently of every other token. The older double-hashing
//! construction (`g_i = h1 + i*h2 mod m`) lets a token produce only about `m^2` patterns, which
//! Niedermeyer et al. (2014) and Kroll & Steinmetzer (2015) enumerated to re-identify names;
//! random hashing has no such structure.
//!
//! # How positions are drawn (the same for every scheme)
//!
//! The scheme yields a stream of 32-byte blocks for the token. Each block is read as a
//! little-endian 256-bit integer and cut into `floor(256 / b)` slices of `b = ceil(log2 m)` bits,
//! lowest bits first. A slice `v` is accepted if `v < m` and not already drawn for this token
//! (rejection sampling: no modulo bias, and each token sets exactly `k` bits); otherwise the next
//! slice is read. Blocks are drawn until `k` positions are accepted.
//!
//! # Schemes
//!
//! * [`HmacSha256`] (default): block `i` is `HMAC-SHA256(field_key, token || u32_le(i))`. The
//!   keyed inner and outer states are computed once per field and copied per token, so a token
//!   costs two SHA-256 compressions (hardware SHA where the CPU has it).
//! * [`Blake3`]: the blocks are the extendable output of keyed BLAKE3 (`key = field_key`) over
//!   the token. BLAKE3 is a modern PRF with a 256-bit key and comparable margin; it is faster on
//!   CPUs without SHA extensions, and about as fast with them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::schema::HashingScheme;

/// A keyed scheme that turns a token into a stream of pseudo-random 32-byte blocks.
///
/// Implement it to add a scheme; [`sample_positions`] turns any stream into bit positions.
pub trait TokenHasher: Send + Sync + std::fmt::Debug {
    /// Writes block number `counter` (0, 1, ...) of `token`'s stream into `out`.
    fn block(&self, token: &[u8], counter: u32, out: &mut [u8; 32]);
}

/// Builds the hasher of a scheme from a 32-byte field key.
pub fn from_scheme(scheme: HashingScheme, key: &[u8; 32]) -> Box<dyn TokenHasher> {
    match scheme {
        HashingScheme::HmacSha256 => Box::new(HmacSha256::new(key)),
        HashingScheme::Blake3 => Box::new(Blake3::new(key)),
    }
}

/// HMAC-SHA256 in counter mode, with the keyed state prepared once.
#[derive(Clone)]
pub struct HmacSha256 {
    prepared: Hmac<Sha256>,
}

impl HmacSha256 {
    /// Prepares the keyed state.
    pub fn new(key: &[u8; 32]) -> Self {
        HmacSha256 {
            prepared: <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                .expect("HMAC accepts keys of any length"),
        }
    }
}

impl std::fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256 { .. }")
    }
}

impl TokenHasher for HmacSha256 {
    #[inline]
    fn block(&self, token: &[u8], counter: u32, out: &mut [u8; 32]) {
        let mut mac = self.prepared.clone();
        mac.update(token);
        mac.update(&counter.to_le_bytes());
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
}

/// Keyed BLAKE3 in extendable-output mode.
#[derive(Clone)]
pub struct Blake3 {
    prepared: blake3::Hasher,
}

impl Blake3 {
    /// Prepares the keyed hasher.
    pub fn new(key: &[u8; 32]) -> Self {
        Blake3 {
            prepared: blake3::Hasher::new_keyed(key),
        }
    }
}

impl std::fmt::Debug for Blake3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blake3 { .. }")
    }
}

impl TokenHasher for Blake3 {
    #[inline]
    fn block(&self, token: &[u8], counter: u32, out: &mut [u8; 32]) {
        let mut h = self.prepared.clone();
        h.update(token);
        let mut reader = h.finalize_xof();
        reader.set_position(u64::from(counter) * 32);
        reader.fill(out);
    }
}

/// Scratch state for [`sample_positions`]: a bitmap of positions already drawn for the current
/// token, cleared after each token by unsetting only those positions.
#[derive(Debug, Default, Clone)]
pub struct Sampler {
    drawn: Vec<u64>,
}

/// Bits per slice for a filter of `m` positions: `ceil(log2 m)`.
pub fn slice_bits(m: u32) -> u32 {
    debug_assert!(m >= 2);
    32 - (m - 1).leading_zeros()
}

/// Draws `k` distinct positions in `0..m` for `token` and appends them to `out` in the order
/// drawn. `k` must be at most `m / 2` (the schema guarantees it), so the loop ends quickly.
pub fn sample_positions(
    hasher: &dyn TokenHasher,
    token: &[u8],
    k: u32,
    m: u32,
    sampler: &mut Sampler,
    out: &mut Vec<u32>,
) {
    let b = slice_bits(m);
    let mask = (1u64 << b) - 1;
    let per_block = 256 / b;
    let words = (m as usize).div_ceil(64);
    if sampler.drawn.len() < words {
        sampler.drawn.resize(words, 0);
    }
    let start = out.len();
    let mut block = [0u8; 32];
    let mut counter = 0u32;
    while ((out.len() - start) as u32) < k {
        hasher.block(token, counter, &mut block);
        counter += 1;
        let w: [u64; 4] = std::array::from_fn(|i| {
            u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        });
        for s in 0..per_block {
            let bit = s * b;
            let (word, shift) = ((bit / 64) as usize, bit % 64);
            let mut v = w[word] >> shift;
            if shift + b > 64 {
                v |= w[word + 1] << (64 - shift);
            }
            let v = (v & mask) as u32;
            if v >= m {
                continue;
            }
            let (dw, db) = ((v / 64) as usize, v % 64);
            if sampler.drawn[dw] >> db & 1 == 1 {
                continue;
            }
            sampler.drawn[dw] |= 1 << db;
            out.push(v);
            if (out.len() - start) as u32 == k {
                break;
            }
        }
    }
    for &v in &out[start..] {
        sampler.drawn[(v / 64) as usize] &= !(1u64 << (v % 64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_bits_is_ceil_log2() {
        assert_eq!(slice_bits(64), 6);
        assert_eq!(slice_bits(1024), 10);
        assert_eq!(slice_bits(1088), 11);
        assert_eq!(slice_bits(4096), 12);
    }

    #[test]
    fn hmac_block_matches_plain_hmac() {
        // The prepared-and-cloned state must give exactly HMAC(key, token || ctr).
        let key = [9u8; 32];
        let h = HmacSha256::new(&key);
        let mut out = [0u8; 32];
        h.block(b"ab", 3, &mut out);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(b"ab\x03\x00\x00\x00");
        assert_eq!(out.as_slice(), mac.finalize().into_bytes().as_slice());
    }

    #[test]
    fn blake3_blocks_are_consecutive_xof_output() {
        let key = [5u8; 32];
        let h = Blake3::new(&key);
        let mut full = [0u8; 64];
        blake3::Hasher::new_keyed(&key)
            .update(b"tok")
            .finalize_xof()
            .fill(&mut full);
        let (mut b0, mut b1) = ([0u8; 32], [0u8; 32]);
        h.block(b"tok", 0, &mut b0);
        h.block(b"tok", 1, &mut b1);
        assert_eq!(&full[..32], &b0);
        assert_eq!(&full[32..], &b1);
    }

    #[test]
    fn positions_are_distinct_in_range_and_keyed() {
        let mut sampler = Sampler::default();
        for scheme in [HashingScheme::HmacSha256, HashingScheme::Blake3] {
            for m in [64u32, 1024, 1088, 4096] {
                let h = from_scheme(scheme, &[1; 32]);
                let mut out = Vec::new();
                sample_positions(&*h, b"jo", m / 2, m, &mut sampler, &mut out);
                assert_eq!(out.len() as u32, m / 2);
                let mut sorted = out.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), out.len(), "distinct");
                assert!(out.iter().all(|&p| p < m));
                // The scratch bitmap is left clean.
                assert!(sampler.drawn.iter().all(|&w| w == 0));
                let other = from_scheme(scheme, &[2; 32]);
                let mut out2 = Vec::new();
                sample_positions(&*other, b"jo", m / 2, m, &mut sampler, &mut out2);
                assert_ne!(out, out2, "another key gives other positions");
            }
        }
    }
}
