//! Two or four independent SHA-256 block compressions at once.
//!
//! The encoder computes HMAC-SHA256 over many short tokens; each token costs exactly two
//! SHA-256 block compressions (inner and outer hash), and tokens are independent of each other.
//! With the x86 SHA extensions (SHA-NI) a single compression is *latency*-bound: every
//! `sha256rnds2` depends on the one before it and has a multi-cycle latency, so the SHA unit sits
//! idle most of the time. [`compress256_x2`] runs two independent (state, block) pairs through
//! one instruction stream, with the two message schedules and round chains interleaved, so the
//! second chain fills the latency gaps of the first and the pair costs little more than one.
//! [`compress256_x4`] does the same with four pairs, which keeps the SHA unit busy enough that
//! the SIMD pipes' throughput, not latency, becomes the limit.
//!
//! The results are bit-for-bit those of [`sha2::block_api::compress256`] on each pair; the tests
//! (`tests.rs`) check them against `sha2` on thousands of pseudo-random inputs,
//! with property tests, and on both the accelerated and the portable path. On CPUs without
//! SHA-NI, and on other architectures, the functions simply call `sha2` for each pair.
//!
//! This file holds the safe, run-time-dispatched entry points and the portable path; the
//! SHA-NI kernels (unsafe, `target_feature`) are in `x86.rs`.
#![allow(unsafe_code)] // A SIMD kernel behind a safe, run-time-dispatched wrapper.

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;

/// Compresses two independent (state, block) pairs: `a` with `block_a`, `b` with `block_b`.
///
/// The result is identical to calling [`sha2::block_api::compress256`] on each pair; the two
/// pairs may hold equal values. Uses an interleaved SHA-NI kernel when the CPU has one
/// (see [`is_accelerated`]), and `sha2` otherwise.
#[inline]
pub fn compress256_x2(a: &mut [u32; 8], block_a: &[u8; 64], b: &mut [u32; 8], block_b: &[u8; 64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_accelerated() {
            // SAFETY: `is_accelerated` returned true, so the CPU supports every feature the
            // kernel is compiled for (`sha`, `sse2`, `ssse3`, `sse4.1`).
            unsafe { x86::compress256_x2_shani(a, block_a, b, block_b) };
            return;
        }
    }
    compress256_x2_portable(a, block_a, b, block_b);
}

/// Compresses four independent (state, block) pairs: `states[i]` with `blocks[i]`.
///
/// The result is identical to calling [`sha2::block_api::compress256`] on each pair; the
/// pairs may hold equal values. Uses an interleaved four-lane SHA-NI kernel when the CPU has
/// one (see [`is_accelerated`]), and `sha2` otherwise. With four compressions at hand this is
/// faster than two [`compress256_x2`] calls (on Zen 4, ~19 ns per compression against ~21;
/// see the `bench_throughput` test).
#[inline]
pub fn compress256_x4(states: &mut [[u32; 8]; 4], blocks: &[[u8; 64]; 4]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_accelerated() {
            // SAFETY: `is_accelerated` returned true, so the CPU supports every feature the
            // kernel is compiled for (`sha`, `sse2`, `ssse3`, `sse4.1`).
            unsafe { x86::compress256_x4_shani(states, blocks) };
            return;
        }
    }
    compress256_x4_portable(states, blocks);
}

/// Whether [`compress256_x2`] and [`compress256_x4`] use their interleaved SHA-NI kernels on
/// this CPU.
///
/// Detected once per process and cached.
#[inline]
pub fn is_accelerated() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::detected()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The portable path: two calls to `sha2`'s own (possibly accelerated) compression.
#[inline]
fn compress256_x2_portable(
    a: &mut [u32; 8],
    block_a: &[u8; 64],
    b: &mut [u32; 8],
    block_b: &[u8; 64],
) {
    sha2::block_api::compress256(a, core::slice::from_ref(block_a));
    sha2::block_api::compress256(b, core::slice::from_ref(block_b));
}

/// The portable path of [`compress256_x4`]: four calls to `sha2`'s own compression.
#[inline]
fn compress256_x4_portable(states: &mut [[u32; 8]; 4], blocks: &[[u8; 64]; 4]) {
    for (state, block) in states.iter_mut().zip(blocks) {
        sha2::block_api::compress256(state, core::slice::from_ref(block));
    }
}
