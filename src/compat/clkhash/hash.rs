//! clkhash's two ways of turning a token into bit positions, and its XOR folding.
//!
//! Bit `i` of a filter is bit `i % 64` of word `i / 64`, as everywhere in pprl; clkhash's bit
//! `i` (a big-endian `bitarray`) is the same bit, so positions carry over unchanged and only
//! serialisation needs to know the byte order (see [`super::json`]).
//!
//! # blakeHash
//!
//! For a token that sets `k` bits, clkhash computes `ceil(k / 32)` keyed BLAKE2b-512 digests of
//! the token's bytes (key: the feature's first derived key; salt: the ASCII decimal digits of
//! the digest's number, `"0"`, `"1"`, ..., zero-padded to 16 bytes), reads each 64-byte digest
//! as 32 unsigned 16-bit integers in the machine's byte order (`struct.unpack('32H')`:
//! little-endian on x86-64, which is what pprl always does), and sets bit `v mod l` for the
//! first `k` of them. The filter length must be a power of two. Bits may repeat.
//!
//! In keyed BLAKE2b the key fills the whole first 128-byte block, so `Blake` compresses that
//! block once per feature and salt, and a token of up to 128 bytes then costs a single
//! compression. Longer tokens take the general path (the `blake2b_simd` crate); both are
//! checked against each other in the tests.
//!
//! # doubleHash
//!
//! Schnell et al.'s double hashing: `h1 = HMAC-SHA1(key0, token)` and `h2 = HMAC-MD5(key1,
//! token)`, each read as a big-endian integer modulo `l`; the bits are `(h1 + i * h2) mod l`
//! for `i < k`. With `prevent_singularity`, while `h2` is 0 it is recomputed over the token
//! followed by the UTF-8 bytes of the character with code `0`, `1`, ... (clkhash issue 33).
//! The keyed HMAC states are prepared once per feature. Double hashing lets each token produce
//! only about `l^2` patterns, which published attacks enumerate (Kroll & Steinmetzer 2015): it
//! exists here only to reproduce existing clkhash encodings.

use super::blake2b::{IV, Job, block_words, compress};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use zeroize::Zeroizing;

/// Sets bit `pos`.
#[inline]
fn set_bit(words: &mut [u64], pos: u64) {
    words[(pos / 64) as usize] |= 1u64 << (pos % 64);
}

/// A feature's keyed hasher.
#[derive(Debug)]
pub(crate) enum TokenHasher {
    /// clkhash `blakeHash`.
    Blake(Blake),
    /// clkhash `doubleHash`.
    Double(Box<Double>),
}

impl TokenHasher {
    /// Sets the `k` bits of `token` in a filter of `bits` bits, or (blakeHash) queues the
    /// digests that will, for [`run_jobs`].
    #[inline]
    pub(crate) fn insert(
        &self,
        token: &[u8],
        k: u32,
        bits: u64,
        jobs: &mut Vec<Job>,
        words: &mut [u64],
    ) {
        match self {
            TokenHasher::Blake(b) => b.queue(token, k, bits, 0, jobs, words),
            TokenHasher::Double(d) => d.insert(token, k, bits, words),
        }
    }
}

/// clkhash's salt for digest number `j`: `str(j).encode()`, zero-padded to 16 bytes.
fn salt(j: u32) -> [u8; 16] {
    let digits = j.to_string();
    let mut s = [0u8; 16];
    s[..digits.len()].copy_from_slice(digits.as_bytes());
    s
}

/// clkhash `blakeHash` under one feature key.
pub(crate) struct Blake {
    key: Zeroizing<Vec<u8>>,
    /// The chaining value after the key block, for each salt `0..`.
    keyed: Zeroizing<Vec<[u64; 8]>>,
}

impl std::fmt::Debug for Blake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blake")
            .field("salts", &self.keyed.len())
            .finish_non_exhaustive()
    }
}

impl Blake {
    /// Prepares the keyed states for tokens of up to `max_k` bits (`key` is at most 64 bytes,
    /// which the schema checks).
    pub(crate) fn new(key: &[u8], max_k: u32) -> Blake {
        assert!(!key.is_empty() && key.len() <= 64, "BLAKE2b key length");
        let key_block = Zeroizing::new(block_words(key));
        let keyed = (0..max_k.div_ceil(32).max(1))
            .map(|j| {
                let s = salt(j);
                let mut h = IV;
                h[0] ^= 0x0101_0000 | (key.len() as u64) << 8 | 64;
                h[4] ^= u64::from_le_bytes(s[..8].try_into().expect("8"));
                h[5] ^= u64::from_le_bytes(s[8..].try_into().expect("8"));
                compress(&mut h, &key_block, 128, false);
                h
            })
            .collect();
        Blake {
            key: Zeroizing::new(key.to_vec()),
            keyed: Zeroizing::new(keyed),
        }
    }

    /// Queues the digests that set `token`'s `k` bits as jobs (tag: `note << 32` plus the
    /// bits to take from the digest); a token the fast path cannot take sets its bits at once.
    pub(crate) fn queue(
        &self,
        token: &[u8],
        k: u32,
        bits: u64,
        note: u32,
        jobs: &mut Vec<Job>,
        words: &mut [u64],
    ) {
        let fast = !token.is_empty() && token.len() <= 128;
        let m = if fast { block_words(token) } else { [0; 16] };
        let mut left = k;
        let mut j = 0u32;
        while left > 0 {
            let take = left.min(32);
            match self.keyed.get(j as usize) {
                Some(state) if fast => jobs.push(Job {
                    h: *state,
                    m,
                    t: 128 + token.len() as u64,
                    tag: u64::from(note) << 32 | u64::from(take),
                }),
                _ => set_bits(&self.digest_general(token, j), take, bits, words),
            }
            left -= take;
            j += 1;
        }
    }

    /// The same digest through a general BLAKE2b implementation.
    fn digest_general(&self, token: &[u8], j: u32) -> [u64; 8] {
        let hash = blake2b_simd::Params::new()
            .hash_length(64)
            .key(&self.key)
            .salt(&salt(j))
            .hash(token);
        let b = hash.as_bytes();
        std::array::from_fn(|i| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8")))
    }
}

/// Sets the bits of the first `take` 16-bit values of a digest (little-endian, as
/// `struct.unpack('32H')` reads them on x86-64), each modulo `bits` (a power of two).
#[inline]
pub(crate) fn set_bits(digest: &[u64; 8], take: u32, bits: u64, words: &mut [u64]) {
    let mask = bits - 1;
    for s in 0..(take as usize).min(32) {
        let short = (digest[s / 4] >> (16 * (s % 4))) & 0xffff;
        set_bit(words, short & mask);
    }
}

/// Runs queued jobs and sets their bits (for tests; the encoder also fills its cache).
#[cfg(test)]
pub(crate) fn run_jobs(jobs: &mut [Job], bits: u64, words: &mut [u64]) {
    super::blake2b::finish_all(jobs);
    for job in jobs.iter() {
        set_bits(&job.h, job.tag as u32, bits, words);
    }
}

/// clkhash `doubleHash` under one feature's two keys.
#[derive(Clone)]
pub(crate) struct Double {
    sha1: Hmac<Sha1>,
    md5: Hmac<Md5>,
    prevent_singularity: bool,
}

impl std::fmt::Debug for Double {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Double")
            .field("prevent_singularity", &self.prevent_singularity)
            .finish_non_exhaustive()
    }
}

/// A big-endian byte string modulo `m` (Python's `int.from_bytes(b, 'big') % m`).
fn be_mod(bytes: &[u8], m: u64) -> u64 {
    bytes.iter().fold(0u64, |r, &b| {
        ((u128::from(r) << 8 | u128::from(b)) % u128::from(m)) as u64
    })
}

impl Double {
    /// Keys: `key_sha1` is the feature's first derived key, `key_md5` its second.
    pub(crate) fn new(key_sha1: &[u8], key_md5: &[u8], prevent_singularity: bool) -> Double {
        Double {
            sha1: <Hmac<Sha1> as KeyInit>::new_from_slice(key_sha1)
                .expect("HMAC takes keys of any length"),
            md5: <Hmac<Md5> as KeyInit>::new_from_slice(key_md5)
                .expect("HMAC takes keys of any length"),
            prevent_singularity,
        }
    }

    fn insert(&self, token: &[u8], k: u32, bits: u64, words: &mut [u64]) {
        let mut sha1 = self.sha1.clone();
        sha1.update(token);
        let h1 = be_mod(&sha1.finalize().into_bytes(), bits);
        let mut md5 = self.md5.clone();
        md5.update(token);
        let mut h2 = be_mod(&md5.finalize().into_bytes(), bits);
        if self.prevent_singularity {
            let mut i = 0u32;
            while h2 == 0 {
                let mut md5 = self.md5.clone();
                md5.update(token);
                let c = char::from_u32(i).unwrap_or('\u{fffd}');
                md5.update(c.encode_utf8(&mut [0; 4]).as_bytes());
                h2 = be_mod(&md5.finalize().into_bytes(), bits);
                i += 1;
            }
        }
        for i in 0..u64::from(k) {
            let pos = (u128::from(h1) + u128::from(i) * u128::from(h2)) % u128::from(bits);
            set_bit(words, pos as u64);
        }
    }
}

/// clkhash's `fold_xor`: `folds` times, the filter's first half XOR its second half. `words`
/// holds `bits` bits on entry; on return its first `bits >> folds` bits are the folded filter
/// and every bit above them is zero.
pub(crate) fn fold_xor(words: &mut [u64], bits: u64, folds: u32) {
    let mut len = bits;
    for _ in 0..folds {
        let half = len / 2;
        if half.is_multiple_of(64) {
            let (h, n) = ((half / 64) as usize, (len / 64) as usize);
            let (lo, hi) = words[..n].split_at_mut(h);
            lo.iter_mut().zip(hi.iter()).for_each(|(a, b)| *a ^= *b);
        } else {
            for i in 0..half {
                let j = i + half;
                if words[(j / 64) as usize] >> (j % 64) & 1 == 1 {
                    words[(i / 64) as usize] ^= 1u64 << (i % 64);
                }
            }
        }
        len = half;
    }
    let full = (len / 64) as usize;
    if !len.is_multiple_of(64) {
        words[full] &= (1u64 << (len % 64)) - 1;
    }
    let first_zero = (len.div_ceil(64) as usize).min(words.len());
    words[first_zero..].fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits set through the job queue (fast path) for `token`.
    fn via_jobs(b: &Blake, token: &[u8], k: u32, bits: u64) -> Vec<u64> {
        let mut words = vec![0u64; (bits as usize).div_ceil(64)];
        let mut jobs = Vec::new();
        b.queue(token, k, bits, 0, &mut jobs, &mut words);
        run_jobs(&mut jobs, bits, &mut words);
        words
    }

    #[test]
    fn blake_fast_path_equals_general_blake2b() {
        for key_len in [1usize, 32, 40, 64] {
            let key: Vec<u8> = (0..key_len as u8).map(|b| b.wrapping_mul(37)).collect();
            let b = Blake::new(&key, 100);
            for len in [1usize, 2, 5, 64, 127, 128, 129, 300] {
                let token: Vec<u8> = (0..len).map(|i| (i * 7 + key_len) as u8).collect();
                let mut want = vec![0u64; 1024];
                for j in 0..4 {
                    set_bits(
                        &b.digest_general(&token, j),
                        if j == 3 { 4 } else { 32 },
                        1 << 16,
                        &mut want,
                    );
                }
                assert_eq!(via_jobs(&b, &token, 100, 1 << 16), want, "{key_len} {len}");
            }
        }
    }

    #[test]
    fn blake_matches_python_hashlib() {
        // hashlib.blake2b(b'ab', key=b'k', salt=b'0').hexdigest()[:16] == 'be6eb40275d870aa'
        let d = Blake::new(b"k", 1).digest_general(b"ab", 0);
        assert_eq!(
            d[0].to_le_bytes(),
            [0xbe, 0x6e, 0xb4, 0x02, 0x75, 0xd8, 0x70, 0xaa]
        );
        // 0xaa70 = 43632 and 0xd875 = 55413: the fourth and third shorts of word 0.
        let words = via_jobs(&Blake::new(b"k", 1), b"ab", 4, 1 << 16);
        let s = [0x6ebe_u64, 0x02b4, 0xd875, 0xaa70];
        let mut want = vec![0u64; 1024];
        s.iter().for_each(|&v| set_bit(&mut want, v));
        assert_eq!(words, want);
    }

    #[test]
    fn double_hash_positions() {
        let d = Double::new(b"a", b"b", false);
        let mut words = vec![0u64; 2];
        d.insert(b"xy", 3, 100, &mut words);
        let mut sha1 = <Hmac<Sha1> as KeyInit>::new_from_slice(b"a").unwrap();
        sha1.update(b"xy");
        let mut md5 = <Hmac<Md5> as KeyInit>::new_from_slice(b"b").unwrap();
        md5.update(b"xy");
        let h1 = be_mod(&sha1.finalize().into_bytes(), 100);
        let h2 = be_mod(&md5.finalize().into_bytes(), 100);
        let mut expected = vec![0u64; 2];
        for i in 0..3 {
            set_bit(&mut expected, (h1 + i * h2) % 100);
        }
        assert_eq!(words, expected);
    }

    #[test]
    fn singularity_is_redrawn() {
        // With l = 1 every hash is 0 mod l: the loop must still end (h2 can never be nonzero
        // mod 1, so use l = 2 and find a token whose MD5 is even).
        let d = Double::new(b"a", b"b", true);
        for t in 0u8..20 {
            let mut words = vec![0u64; 1];
            d.insert(&[t], 2, 2, &mut words);
            assert_eq!(
                words[0].count_ones(),
                2,
                "with h2 odd, positions h1 and h1+1 differ"
            );
        }
    }

    #[test]
    fn be_mod_is_big_endian() {
        assert_eq!(be_mod(&[1, 0], 1000), 256);
        assert_eq!(be_mod(&[0xff; 20], 1 << 16), 0xffff);
    }

    #[test]
    fn folding() {
        // 256 bits -> 128: word-wise.
        let mut w = vec![1u64, 2, 4, 8];
        fold_xor(&mut w, 256, 1);
        assert_eq!(w, [5, 10, 0, 0]);
        // 100 bits -> 50 -> 25: bitwise; bit i ^= bit i + half.
        let mut w = vec![0u64; 2];
        w[0] = 1 | 1 << 50 | 1 << 3; // bits 0, 3, 50
        w[1] = 1 << (75 - 64); // bit 75
        fold_xor(&mut w, 100, 2);
        // first fold: bit 0 ^ bit 50 = 0, bit 3, bit 25 (75 - 50); second: bit 0 ^ 25 = 1, bit 3.
        assert_eq!(w, [1 | 1 << 3, 0]);
    }
}
