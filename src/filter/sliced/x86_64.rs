//! The AVX2 instance of the sliced pass test: [`super::pass_lanes`] on `__m256i`.

use std::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_andnot_si256, _mm256_loadu_si256, _mm256_or_si256,
    _mm256_set1_epi8, _mm256_setzero_si256, _mm256_storeu_si256, _mm256_xor_si256,
};

use super::{LARGE_PLANES, Lanes, Plane, SMALL_PLANES, pass_lanes};

impl Lanes for __m256i {
    #[inline(always)]
    fn splat(bit: bool) -> Self {
        // SAFETY: AVX is baseline for every caller (they run under `avx2`).
        unsafe {
            if bit {
                _mm256_set1_epi8(-1)
            } else {
                _mm256_setzero_si256()
            }
        }
    }
    #[inline(always)]
    unsafe fn load(planes: *const Plane, offset: u32) -> Self {
        // SAFETY: the caller keeps `offset` within `planes`; `vmovdqu` needs no alignment.
        unsafe { _mm256_loadu_si256(planes.byte_add(offset as usize).cast()) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { _mm256_xor_si256(self, o) }
    }
    #[inline(always)]
    unsafe fn and(self, o: Self) -> Self {
        unsafe { _mm256_and_si256(self, o) }
    }
    #[inline(always)]
    unsafe fn or(self, o: Self) -> Self {
        unsafe { _mm256_or_si256(self, o) }
    }
    #[inline(always)]
    unsafe fn andnot(self, o: Self) -> Self {
        unsafe { _mm256_andnot_si256(self, o) }
    }
    #[inline(always)]
    unsafe fn plane(self) -> Plane {
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), self) };
        out
    }
}

/// [`super::and_count_words`] compiled with `POPCNT`.
///
/// # Safety
///
/// The CPU must have `POPCNT`.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn and_count(x: &[u64], y: &[u64]) -> u32 {
    super::and_count_words(x, y)
}

/// [`pass_lanes`] compiled for AVX2.
///
/// # Safety
///
/// As [`pass_lanes`]; the CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pass(
    planes: &[Plane],
    offsets: &[u32],
    init: u32,
    limit: &[Plane; LARGE_PLANES],
    at_most: bool,
    small: bool,
) -> Plane {
    // SAFETY: the caller's contract.
    unsafe {
        if small {
            pass_lanes::<__m256i, SMALL_PLANES>(planes, offsets, init, limit, at_most)
        } else {
            pass_lanes::<__m256i, LARGE_PLANES>(planes, offsets, init, limit, at_most)
        }
    }
}
