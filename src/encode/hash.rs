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
use zeroize::Zeroize as _;

use super::tokenize::Tokens;
use crate::schema::HashingScheme;

/// A keyed scheme that turns a token into a stream of pseudo-random 32-byte blocks.
///
/// Implement it to add a scheme; [`sample_positions`] turns any stream into bit positions.
pub trait TokenHasher: Send + Sync + std::fmt::Debug {
    /// Block number `counter` (0, 1, ...) of `token`'s stream.
    fn block(&self, token: &[u8], counter: u32) -> Block;

    /// Replaces `out` with block 0 of every token, in order. The result must equal one
    /// [`TokenHasher::block`] call per token; a scheme may interleave the computations of
    /// several tokens so that the CPU overlaps them.
    fn first_blocks(&self, tokens: &Tokens, out: &mut Vec<Block>) {
        out.clear();
        out.extend(tokens.iter().map(|t| self.block(t.as_bytes(), 0)));
    }
}

/// One 32-byte block of a token's stream, read as four little-endian `u64`s: byte 0 of the
/// block is the lowest byte of word 0, byte 31 the highest byte of word 3.
pub type Block = [u64; 4];

/// Reads 32 bytes as a [`Block`].
pub fn block_from_bytes(bytes: &[u8; 32]) -> Block {
    std::array::from_fn(|i| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8")))
}

/// Builds the hasher of a scheme from a 32-byte field key; `None` for
/// [`HashingScheme::Clkhash`], whose bits do not come from pprl's field keys (see
/// `crate::compat::clkhash`).
pub fn from_scheme(scheme: HashingScheme, key: &[u8; 32]) -> Option<Box<dyn TokenHasher>> {
    match scheme {
        HashingScheme::HmacSha256 => Some(Box::new(HmacSha256::new(key))),
        HashingScheme::Blake3 => Some(Box::new(Blake3::new(key))),
        HashingScheme::Clkhash => None,
    }
}

/// HMAC-SHA256 in counter mode, with the keyed state prepared once.
///
/// HMAC is `H((K ^ opad) || H((K ^ ipad) || msg))`. The two keyed first blocks do not depend on
/// the token, so their compressed states are computed once per field. A token of up to 51
/// bytes (with its 4-byte counter, 55 bytes: one padded block) then costs exactly two SHA-256
/// compressions, which is what this type does by calling `sha2`'s compression function with
/// the standard padding. Measured on the reference machine this halves the time per token
/// compared with cloning an `hmac::Hmac` state (whose buffering and finalisation dominate for
/// messages this short). Longer tokens take the `hmac` crate's general path. Both paths are
/// checked against the `hmac` crate in the tests.
#[derive(Clone)]
pub struct HmacSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
    general: Hmac<Sha256>,
}

/// SHA-256 initial hash value (FIPS 180-4, section 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl HmacSha256 {
    /// Prepares the keyed states.
    pub fn new(key: &[u8; 32]) -> Self {
        let keyed = |pad: u8| {
            let mut block = [pad; 64];
            for (b, k) in block.iter_mut().zip(key) {
                *b ^= k;
            }
            let mut state = SHA256_IV;
            sha2::block_api::compress256(&mut state, &[block]);
            block.fill(0);
            state
        };
        HmacSha256 {
            inner: keyed(0x36),
            outer: keyed(0x5c),
            general: <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                .expect("HMAC accepts keys of any length"),
        }
    }
}

impl Drop for HmacSha256 {
    /// The keyed states are as good as the field key: wipe them. (`hmac` wipes its own state
    /// with its `zeroize` feature.)
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl std::fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256 { .. }")
    }
}

impl HmacSha256 {
    /// The inner block for a short message (`token || counter`, at most 55 bytes), padded
    /// for a message that follows the 64-byte keyed block.
    #[inline]
    fn inner_block(token: &[u8], counter: u32) -> [u8; 64] {
        let len = token.len() + 4;
        let mut block = [0u8; 64];
        block[..token.len()].copy_from_slice(token);
        block[token.len()..len].copy_from_slice(&counter.to_le_bytes());
        block[len] = 0x80;
        block[56..].copy_from_slice(&((64 + len as u64) * 8).to_be_bytes());
        block
    }

    /// The outer block: the 32-byte inner digest, padded the same way.
    #[inline]
    fn outer_block(inner: [u32; 8]) -> [u8; 64] {
        let mut block = [0u8; 64];
        for (chunk, word) in block.chunks_exact_mut(4).zip(inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[32] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        block
    }

    /// The digest as a [`Block`]: SHA-256 writes its state words big-endian, and the block
    /// reads those bytes as little-endian `u64`s.
    #[inline]
    fn digest_block(state: [u32; 8]) -> Block {
        std::array::from_fn(|i| {
            u64::from(state[2 * i].swap_bytes()) | u64::from(state[2 * i + 1].swap_bytes()) << 32
        })
    }

    fn general(&self, token: &[u8], counter: u32) -> Block {
        let mut mac = self.general.clone();
        mac.update(token);
        mac.update(&counter.to_le_bytes());
        block_from_bytes(&mac.finalize().into_bytes().into())
    }
}

/// Longest token that fits the two-compression path (with its 4-byte counter and padding).
const SHORT_TOKEN: usize = 51;

impl TokenHasher for HmacSha256 {
    #[inline]
    fn block(&self, token: &[u8], counter: u32) -> Block {
        if token.len() > SHORT_TOKEN {
            return self.general(token, counter);
        }
        let mut state = self.inner;
        sha2::block_api::compress256(&mut state, &[Self::inner_block(token, counter)]);
        let inner = state;
        let mut state = self.outer;
        sha2::block_api::compress256(&mut state, &[Self::outer_block(inner)]);
        Self::digest_block(state)
    }

    fn first_blocks(&self, tokens: &Tokens, out: &mut Vec<Block>) {
        out.clear();
        out.resize(tokens.len(), [0; 4]);
        // Short tokens go through the interleaved kernels four (then two) at a time; a long
        // token takes the general path on its own.
        let mut pending: [(&[u8], usize); 4] = [(&[], 0); 4];
        let mut n = 0;
        for (i, token) in tokens.iter().map(str::as_bytes).enumerate() {
            if token.len() > SHORT_TOKEN {
                out[i] = self.general(token, 0);
                continue;
            }
            pending[n] = (token, i);
            n += 1;
            if n == 4 {
                self.four(&pending, out);
                n = 0;
            }
        }
        let mut rest = pending[..n].chunks_exact(2);
        for pair in &mut rest {
            let (a, b) = (pair[0], pair[1]);
            (out[a.1], out[b.1]) = self.pair(a.0, b.0);
        }
        if let [(token, i)] = rest.remainder() {
            out[*i] = self.block(token, 0);
        }
    }
}

impl HmacSha256 {
    /// Block 0 of four short tokens, the four chains interleaved in one instruction stream
    /// (a single SHA-256 compression is latency-bound; see [`super::sha256x2`]).
    #[inline]
    fn four(&self, tokens: &[(&[u8], usize); 4], out: &mut [Block]) {
        let mut states = [self.inner; 4];
        let blocks = tokens.map(|(t, _)| Self::inner_block(t, 0));
        super::sha256x2::compress256_x4(&mut states, &blocks);
        let blocks = states.map(Self::outer_block);
        let mut states = [self.outer; 4];
        super::sha256x2::compress256_x4(&mut states, &blocks);
        for ((_, i), state) in tokens.iter().zip(states) {
            out[*i] = Self::digest_block(state);
        }
    }

    /// Block 0 of two short tokens, interleaved like [`HmacSha256::four`].
    #[inline]
    fn pair(&self, a: &[u8], b: &[u8]) -> (Block, Block) {
        let (mut ia, mut ib) = (self.inner, self.inner);
        super::sha256x2::compress256_x2(
            &mut ia,
            &Self::inner_block(a, 0),
            &mut ib,
            &Self::inner_block(b, 0),
        );
        let (mut oa, mut ob) = (self.outer, self.outer);
        super::sha256x2::compress256_x2(
            &mut oa,
            &Self::outer_block(ia),
            &mut ob,
            &Self::outer_block(ib),
        );
        (Self::digest_block(oa), Self::digest_block(ob))
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

impl Drop for Blake3 {
    fn drop(&mut self) {
        self.prepared.zeroize();
    }
}

impl std::fmt::Debug for Blake3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blake3 { .. }")
    }
}

impl TokenHasher for Blake3 {
    #[inline]
    fn block(&self, token: &[u8], counter: u32) -> Block {
        let mut h = self.prepared.clone();
        h.update(token);
        let mut reader = h.finalize_xof();
        reader.set_position(u64::from(counter) * 32);
        let mut out = [0u8; 32];
        reader.fill(&mut out);
        block_from_bytes(&out)
    }
}

/// Scratch state for [`sample_positions`]: a bitmap of the positions already drawn for the
/// current token.
#[derive(Debug, Default, Clone)]
pub struct Sampler {
    drawn: Vec<u64>,
}

/// Bits per slice for a filter of `m` positions: `ceil(log2 m)`.
pub fn slice_bits(m: u32) -> u32 {
    debug_assert!(m >= 2);
    32 - (m - 1).leading_zeros()
}

/// Draws `k` distinct positions in `0..m` for `token` and sets them in `target` (a filter of
/// `m` bits, `m` a multiple of 64). `first` is block 0 of the token's stream (computed ahead,
/// see [`TokenHasher::first_blocks`]); later blocks are computed here if needed. `k` must be at
/// most `m / 2` (the schema guarantees it), so the loop ends quickly.
#[inline]
pub fn sample_positions(
    hasher: &dyn TokenHasher,
    token: &[u8],
    first: &Block,
    k: u32,
    m: u32,
    sampler: &mut Sampler,
    target: &mut [u64],
) {
    let sample = match slice_bits(m) {
        6 => sample_into::<6>,
        7 => sample_into::<7>,
        8 => sample_into::<8>,
        9 => sample_into::<9>,
        10 => sample_into::<10>,
        11 => sample_into::<11>,
        12 => sample_into::<12>,
        13 => sample_into::<13>,
        14 => sample_into::<14>,
        15 => sample_into::<15>,
        _ => sample_into::<16>,
    };
    sample(hasher, token, first, k, m, sampler, target);
}

/// [`sample_positions`] for slices of `B` bits (a constant, so slice offsets are known at
/// compile time).
///
/// The token's positions are collected in a scratch filter `t` (zero between calls). When `m`
/// is a power of two every slice is in range, so the first `k` slices are ORed in without
/// branches, counting the new bits as they go (they are all new, most of the time); only if
/// some repeated, or for other `m`, are further slices taken one by one with the checks. The
/// accepted set is the same either way: the first `k` distinct in-range slices of the stream.
fn sample_into<const B: u32>(
    hasher: &dyn TokenHasher,
    token: &[u8],
    first: &Block,
    k: u32,
    m: u32,
    sampler: &mut Sampler,
    target: &mut [u64],
) {
    let words = m as usize / 64;
    if sampler.drawn.len() < words {
        sampler.drawn.resize(words, 0);
    }
    let t = &mut sampler.drawn[..words];
    let per_block = 256 / B;
    let mut w = *first;
    let mut next = 0u32; // next slice in the current block
    let mut counter = 1u32; // next block to compute
    let mut have = 0u32;
    if m.is_power_of_two() && k <= per_block {
        for s in 0..k {
            let v = slice::<B>(&w, s) as usize;
            let (slot, flag) = (&mut t[v / 64], 1u64 << (v % 64));
            have += u32::from(*slot & flag == 0);
            *slot |= flag;
        }
        next = k;
    }
    while have < k {
        if next == per_block {
            w = hasher.block(token, counter);
            counter += 1;
            next = 0;
        }
        let v = slice::<B>(&w, next);
        next += 1;
        if v >= m {
            continue;
        }
        let (slot, flag) = (&mut t[(v / 64) as usize], 1u64 << (v % 64));
        if *slot & flag == 0 {
            *slot |= flag;
            have += 1;
        }
    }
    for (dst, src) in target.iter_mut().zip(t.iter_mut()) {
        *dst |= *src;
        *src = 0;
    }
}

/// Slice `s` of `B` bits of a 256-bit little-endian block.
#[inline(always)]
fn slice<const B: u32>(w: &[u64; 4], s: u32) -> u32 {
    let bit = s * B;
    let (word, shift) = ((bit / 64) as usize, bit % 64);
    let mut v = w[word] >> shift;
    if shift + B > 64 {
        v |= w[word + 1] << (64 - shift);
    }
    (v & ((1u64 << B) - 1)) as u32
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

    fn bytes(block: &Block) -> Vec<u8> {
        block.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn reference_hmac(key: &[u8; 32], token: &[u8], counter: u32) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(token);
        mac.update(&counter.to_le_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn hmac_block_matches_plain_hmac_at_every_length() {
        // Both the two-compression fast path (<= 51-byte tokens) and the general path must be
        // exactly HMAC(key, token || u32_le(counter)).
        let key: [u8; 32] = std::array::from_fn(|i| i as u8 * 7 + 1);
        let h = HmacSha256::new(&key);
        for len in 0..=130 {
            let token: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            for counter in [0, 1, 0xdead_beef] {
                let out = h.block(&token, counter);
                assert_eq!(
                    bytes(&out),
                    reference_hmac(&key, &token, counter),
                    "len {len}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn first_blocks_equal_single_blocks(key: [u8; 32], values in proptest::collection::vec("\\PC{0,30}", 0..9)) {
            let mut tokens = Tokens::default();
            for v in &values {
                tokens.push(v);
            }
            for scheme in [HashingScheme::HmacSha256, HashingScheme::Blake3] {
                let h = from_scheme(scheme, &key).unwrap();
                let mut batch = Vec::new();
                h.first_blocks(&tokens, &mut batch);
                let single: Vec<Block> = tokens.iter().map(|t| h.block(t.as_bytes(), 0)).collect();
                proptest::prop_assert_eq!(batch, single);
            }
        }

        #[test]
        fn hmac_block_matches_plain_hmac(key: [u8; 32], token: Vec<u8>, counter: u32) {
            let out = HmacSha256::new(&key).block(&token, counter);
            proptest::prop_assert_eq!(bytes(&out), reference_hmac(&key, &token, counter));
        }
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
        assert_eq!(full[..32].to_vec(), bytes(&h.block(b"tok", 0)));
        assert_eq!(full[32..].to_vec(), bytes(&h.block(b"tok", 1)));
    }

    #[test]
    fn positions_are_distinct_in_range_and_keyed() {
        let mut sampler = Sampler::default();
        for scheme in [HashingScheme::HmacSha256, HashingScheme::Blake3] {
            for m in [64u32, 1024, 1088, 4096] {
                let h = from_scheme(scheme, &[1; 32]).unwrap();
                let first = h.block(b"jo", 0);
                let mut out = vec![0u64; m as usize / 64];
                sample_positions(&*h, b"jo", &first, m / 2, m, &mut sampler, &mut out);
                let set: u32 = out.iter().map(|w| w.count_ones()).sum();
                assert_eq!(set, m / 2, "exactly k distinct positions");
                assert!(sampler.drawn.iter().all(|&w| w == 0), "scratch left clean");
                let other = from_scheme(scheme, &[2; 32]).unwrap();
                let mut out2 = vec![0u64; m as usize / 64];
                let first = other.block(b"jo", 0);
                sample_positions(&*other, b"jo", &first, m / 2, m, &mut sampler, &mut out2);
                assert_ne!(out, out2, "another key gives other positions");
            }
        }
    }
}
