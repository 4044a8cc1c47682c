//! The BLAKE2b compression function (RFC 7693), one block at a time or many at once.
//!
//! clkhash's `blakeHash` computes one keyed BLAKE2b-512 digest per token (per 32 bits the
//! token sets). In keyed BLAKE2b the key is padded to a whole first block, so the chaining
//! value after it depends only on the key and salt and is computed once per feature
//! (`hash::Blake`); a token of up to 128 bytes then needs exactly one more
//! compression, the final one. Those final compressions are independent, so a row's tokens are
//! queued as `Job`s and `finish_all` runs them four at a time in the lanes of AVX2
//! registers where the CPU has AVX2 (chosen at run time; the binary runs on any x86-64 or
//! aarch64 CPU), and one at a time with the portable code otherwise. Both give identical
//! results, which the tests check against each other and against the `blake2b_simd` crate.

// The crate warns on `unsafe_code`; the AVX2 kernel needs it (a `#[target_feature]` function
// and its intrinsics), behind the run-time check in `finish_all`. See the SAFETY comments.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// BLAKE2b's initialisation vector (the SHA-512 IV).
pub(crate) const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// The message schedule of the 12 rounds.
const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

/// One final-block compression to run: on return from [`finish_all`], `h` is the digest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job {
    /// Chaining value (the keyed state), then the digest as 8 little-endian words.
    pub h: [u64; 8],
    /// The last message block, zero-padded, as 16 little-endian words.
    pub m: [u64; 16],
    /// Bytes hashed in all, this block included.
    pub t: u64,
    /// What the caller needs to know about this job (clkhash: how many bits to set, and
    /// where to keep the result).
    pub tag: u64,
}

/// A block of up to 128 bytes as 16 little-endian words, zero-padded.
#[inline]
pub(crate) fn block_words(bytes: &[u8]) -> [u64; 16] {
    let mut block = [0u8; 128];
    block[..bytes.len()].copy_from_slice(bytes);
    std::array::from_fn(|i| u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8")))
}

macro_rules! g {
    ($v:ident, $a:literal, $b:literal, $c:literal, $d:literal, $x:expr, $y:expr) => {
        $v[$a] = $v[$a].wrapping_add($v[$b]).wrapping_add($x);
        $v[$d] = ($v[$d] ^ $v[$a]).rotate_right(32);
        $v[$c] = $v[$c].wrapping_add($v[$d]);
        $v[$b] = ($v[$b] ^ $v[$c]).rotate_right(24);
        $v[$a] = $v[$a].wrapping_add($v[$b]).wrapping_add($y);
        $v[$d] = ($v[$d] ^ $v[$a]).rotate_right(16);
        $v[$c] = $v[$c].wrapping_add($v[$d]);
        $v[$b] = ($v[$b] ^ $v[$c]).rotate_right(63);
    };
}

/// The compression function F on one block (portable).
#[inline]
pub(crate) fn compress(h: &mut [u64; 8], m: &[u64; 16], t: u64, last: bool) {
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t;
    if last {
        v[14] = !v[14];
    }
    for s in &SIGMA {
        g!(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        g!(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        g!(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        g!(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        g!(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        g!(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        g!(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        g!(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

/// The implementations [`finish_all`] chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// One block at a time, any CPU.
    Portable,
    /// Four blocks at a time in AVX2 registers (x86-64 with AVX2).
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs (detected once).
    pub(crate) fn detect() -> Kernel {
        static KERNEL: OnceLock<Kernel> = OnceLock::new();
        *KERNEL.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
            Kernel::Portable
        })
    }

    /// Every kernel this CPU can run.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Kernel> {
        let mut out = vec![Kernel::Portable];
        if Kernel::detect() == Kernel::Avx2 {
            out.push(Kernel::Avx2);
        }
        out
    }
}

/// True if this CPU runs the 4-lane AVX2 kernel (for `pprl --version`).
pub fn is_accelerated() -> bool {
    Kernel::detect() == Kernel::Avx2
}

/// Runs every job's final compression with the fastest kernel.
pub(crate) fn finish_all(jobs: &mut [Job]) {
    finish_with(Kernel::detect(), jobs);
}

/// Runs every job's final compression with `kernel`, which must be one of
/// [`Kernel::available`] (others fall back to the portable code).
pub(crate) fn finish_with(kernel: Kernel, jobs: &mut [Job]) {
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2 && std::arch::is_x86_feature_detected!("avx2") {
        let mut quads = jobs.chunks_exact_mut(4);
        for quad in &mut quads {
            let quad: &mut [Job; 4] = quad.try_into().expect("chunks of 4");
            // SAFETY: AVX2 is available (checked just above).
            unsafe { avx2::compress4(quad) };
        }
        let rest = quads.into_remainder();
        if let Some(last) = rest.last().copied() {
            // The last one to three jobs, padded with copies: one vector pass is cheaper than
            // even two portable compressions.
            let mut quad = [last; 4];
            quad[..rest.len()].copy_from_slice(rest);
            // SAFETY: as above.
            unsafe { avx2::compress4(&mut quad) };
            rest.copy_from_slice(&quad[..rest.len()]);
        }
        return;
    }
    let _ = kernel;
    for job in jobs {
        compress(&mut job.h, &job.m, job.t, true);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! Four final compressions at once: lane `i` of every register belongs to job `i`, so the
    //! G function is the scalar one on 4-lane vectors and no diagonalising shuffles are needed.
    //! AVX2 has no 64-bit rotate: rotations by 32 swap halves (`vpshufd`), by 24 and 16
    //! shuffle bytes (`vpshufb`), by 63 add the value to itself and OR in its top bit.

    use std::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_loadu_si256, _mm256_or_si256, _mm256_permute2x128_si256,
        _mm256_set1_epi64x, _mm256_setr_epi8, _mm256_shuffle_epi8, _mm256_shuffle_epi32,
        _mm256_srli_epi64, _mm256_storeu_si256, _mm256_unpackhi_epi64, _mm256_unpacklo_epi64,
        _mm256_xor_si256,
    };

    use super::{IV, Job, SIGMA};

    /// Columns of four rows: `out[w] = [a[w], b[w], c[w], d[w]]` (its own inverse).
    #[inline(always)]
    fn transpose(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> [__m256i; 4] {
        // SAFETY (all intrinsics in this module): only called from `compress4`, which runs
        // with AVX2 enabled; they are register operations.
        unsafe {
            let t0 = _mm256_unpacklo_epi64(a, b);
            let t1 = _mm256_unpackhi_epi64(a, b);
            let t2 = _mm256_unpacklo_epi64(c, d);
            let t3 = _mm256_unpackhi_epi64(c, d);
            [
                _mm256_permute2x128_si256::<0x20>(t0, t2),
                _mm256_permute2x128_si256::<0x20>(t1, t3),
                _mm256_permute2x128_si256::<0x31>(t0, t2),
                _mm256_permute2x128_si256::<0x31>(t1, t3),
            ]
        }
    }

    /// Loads words `4q..4q+4` of four arrays, transposed.
    #[inline(always)]
    fn load4(rows: [&[u64]; 4], q: usize) -> [__m256i; 4] {
        // SAFETY: each row has at least `4q + 4` words (callers pass `q < len / 4`), and
        // `loadu` has no alignment requirement.
        let l = |r: &[u64]| unsafe { _mm256_loadu_si256(r[4 * q..4 * q + 4].as_ptr().cast()) };
        transpose(l(rows[0]), l(rows[1]), l(rows[2]), l(rows[3]))
    }

    /// Final compression of four jobs.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn compress4(jobs: &mut [Job; 4]) {
        let hs = [
            &jobs[0].h[..],
            &jobs[1].h[..],
            &jobs[2].h[..],
            &jobs[3].h[..],
        ];
        let ms = [
            &jobs[0].m[..],
            &jobs[1].m[..],
            &jobs[2].m[..],
            &jobs[3].m[..],
        ];
        let h: [__m256i; 8] = {
            let [a, b, c, d] = load4(hs, 0);
            let [e, f, g, i] = load4(hs, 1);
            [a, b, c, d, e, f, g, i]
        };
        let mut m = [_mm256_set1_epi64x(0); 16];
        for q in 0..4 {
            m[4 * q..4 * q + 4].copy_from_slice(&load4(ms, q));
        }
        let iv = |i: usize| _mm256_set1_epi64x(IV[i] as i64);
        let t: [u64; 4] = std::array::from_fn(|i| jobs[i].t);
        // SAFETY: `t` holds 4 words; `loadu` has no alignment requirement.
        let t = unsafe { _mm256_loadu_si256(t.as_ptr().cast()) };
        let mut v = [
            h[0],
            h[1],
            h[2],
            h[3],
            h[4],
            h[5],
            h[6],
            h[7],
            iv(0),
            iv(1),
            iv(2),
            iv(3),
            _mm256_xor_si256(iv(4), t),
            iv(5),
            iv(6),
            iv(7),
        ];
        // The last block: v[14] is inverted.
        v[14] = _mm256_xor_si256(v[14], _mm256_set1_epi64x(-1));
        let rot24 = _mm256_setr_epi8(
            3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11, 12,
            13, 14, 15, 8, 9, 10,
        );
        let rot16 = _mm256_setr_epi8(
            2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10, 11,
            12, 13, 14, 15, 8, 9,
        );
        macro_rules! g {
            ($a:literal, $b:literal, $c:literal, $d:literal, $x:expr, $y:expr) => {
                v[$a] = _mm256_add_epi64(_mm256_add_epi64(v[$a], v[$b]), $x);
                v[$d] = _mm256_shuffle_epi32::<0b10_11_00_01>(_mm256_xor_si256(v[$d], v[$a]));
                v[$c] = _mm256_add_epi64(v[$c], v[$d]);
                v[$b] = _mm256_shuffle_epi8(_mm256_xor_si256(v[$b], v[$c]), rot24);
                v[$a] = _mm256_add_epi64(_mm256_add_epi64(v[$a], v[$b]), $y);
                v[$d] = _mm256_shuffle_epi8(_mm256_xor_si256(v[$d], v[$a]), rot16);
                v[$c] = _mm256_add_epi64(v[$c], v[$d]);
                let x = _mm256_xor_si256(v[$b], v[$c]);
                v[$b] = _mm256_or_si256(_mm256_srli_epi64::<63>(x), _mm256_add_epi64(x, x));
            };
        }
        for s in &SIGMA {
            g!(0, 4, 8, 12, m[s[0]], m[s[1]]);
            g!(1, 5, 9, 13, m[s[2]], m[s[3]]);
            g!(2, 6, 10, 14, m[s[4]], m[s[5]]);
            g!(3, 7, 11, 15, m[s[6]], m[s[7]]);
            g!(0, 5, 10, 15, m[s[8]], m[s[9]]);
            g!(1, 6, 11, 12, m[s[10]], m[s[11]]);
            g!(2, 7, 8, 13, m[s[12]], m[s[13]]);
            g!(3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        let out: [__m256i; 8] =
            std::array::from_fn(|i| _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8])));
        let lo = transpose(out[0], out[1], out[2], out[3]);
        let hi = transpose(out[4], out[5], out[6], out[7]);
        for (i, job) in jobs.iter_mut().enumerate() {
            // SAFETY: `job.h` has 8 words; each store writes 4 of them, unaligned.
            unsafe {
                _mm256_storeu_si256(job.h[..4].as_mut_ptr().cast(), lo[i]);
                _mm256_storeu_si256(job.h[4..].as_mut_ptr().cast(), hi[i]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keyed BLAKE2b-512 of `data` (at most 128 bytes, not empty) with the key block first.
    fn keyed(key: &[u8], data: &[u8]) -> [u64; 8] {
        let mut h = IV;
        h[0] ^= 0x0101_0000 | (key.len() as u64) << 8 | 64;
        compress(&mut h, &block_words(key), 128, false);
        compress(&mut h, &block_words(data), 128 + data.len() as u64, true);
        h
    }

    #[test]
    fn portable_matches_blake2b_simd() {
        for len in [1usize, 3, 64, 127, 128] {
            let data: Vec<u8> = (0..len as u8).collect();
            let want = blake2b_simd::Params::new().key(b"secret").hash(&data);
            let got: Vec<u8> = keyed(b"secret", &data)
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            assert_eq!(got, want.as_bytes(), "{len}");
        }
    }

    #[test]
    fn every_kernel_matches_the_portable_one() {
        // Odd counts leave a remainder for the portable tail.
        for n in [1usize, 4, 7, 13] {
            let jobs: Vec<Job> = (0..n)
                .map(|i| Job {
                    h: std::array::from_fn(|w| (i * 131 + w * 7919) as u64 ^ IV[w]),
                    m: std::array::from_fn(|w| (i as u64).wrapping_mul(0x9e37_79b9) ^ w as u64),
                    t: 128 + i as u64,
                    tag: i as u64,
                })
                .collect();
            let mut want = jobs.clone();
            for j in &mut want {
                compress(&mut j.h, &j.m, j.t, true);
            }
            for kernel in Kernel::available() {
                let mut got = jobs.clone();
                finish_with(kernel, &mut got);
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.h, w.h, "{kernel:?} n={n}");
                    assert_eq!(g.tag, w.tag);
                }
            }
        }
    }
}
