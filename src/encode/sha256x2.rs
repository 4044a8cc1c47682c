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
//! at the bottom of this file check them against `sha2` on thousands of pseudo-random inputs,
//! with property tests, and on both the accelerated and the portable path. On CPUs without
//! SHA-NI, and on other architectures, the functions simply call `sha2` for each pair.
#![allow(unsafe_code)] // A SIMD kernel behind a safe, run-time-dispatched wrapper.

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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_loadu_si128, _mm_set_epi64x,
        _mm_setzero_si128, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32,
        _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_storeu_si128,
    };
    use std::sync::atomic::{AtomicU8, Ordering};

    /// 0: not yet detected, 1: not available, 2: available.
    static DETECTED: AtomicU8 = AtomicU8::new(0);

    #[inline]
    pub(super) fn detected() -> bool {
        match DETECTED.load(Ordering::Relaxed) {
            0 => {
                let yes = std::arch::is_x86_feature_detected!("sha")
                    && std::arch::is_x86_feature_detected!("sse2")
                    && std::arch::is_x86_feature_detected!("ssse3")
                    && std::arch::is_x86_feature_detected!("sse4.1");
                DETECTED.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
            v => v == 2,
        }
    }

    /// The SHA-256 round constants, in the order the 4-round groups consume them.
    static K32: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// Compresses `a` with `block_a` and `b` with `block_b`, the two round chains interleaved.
    ///
    /// The structure is the Intel SHA extensions reference (as in `sha2`'s `x86_sha` backend):
    /// state in ABEF/CDGH order, four rounds per step (two `sha256rnds2`), message schedule by
    /// `sha256msg1`/`alignr`/`sha256msg2`. Every step is done for lane A then lane B, so the
    /// two independent dependency chains overlap in the pipeline.
    ///
    /// # Safety
    ///
    /// The CPU must support the `sha`, `sse2`, `ssse3` and `sse4.1` features (checked by
    /// [`detected`]); calling it on a CPU without them is undefined behaviour.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress256_x2_shani(
        a: &mut [u32; 8],
        block_a: &[u8; 64],
        b: &mut [u32; 8],
        block_b: &[u8; 64],
    ) {
        // SAFETY: every pointer below comes from a live reference to a `[u32; 8]` (32 bytes),
        // a `[u8; 64]` or the 256-byte `K32`, and is offset by at most its size minus 16
        // bytes; the loads and stores are the unaligned forms, so alignment does not matter.
        // The intrinsics need only the target features this function is compiled for, which
        // the caller guarantees (see `# Safety`).
        unsafe {
            let mask = _mm_set_epi64x(
                0x0C0D_0E0F_0809_0A0Bu64 as i64,
                0x0405_0607_0001_0203u64 as i64,
            );
            let k: *const __m128i = K32.as_ptr().cast();

            // Load the states and rearrange them into ABEF / CDGH.
            let pa: *const __m128i = a.as_ptr().cast();
            let pb: *const __m128i = b.as_ptr().cast();
            let cdab_a = _mm_shuffle_epi32(_mm_loadu_si128(pa), 0xB1);
            let cdab_b = _mm_shuffle_epi32(_mm_loadu_si128(pb), 0xB1);
            let efgh_a = _mm_shuffle_epi32(_mm_loadu_si128(pa.add(1)), 0x1B);
            let efgh_b = _mm_shuffle_epi32(_mm_loadu_si128(pb.add(1)), 0x1B);
            let mut abef_a = _mm_alignr_epi8(cdab_a, efgh_a, 8);
            let mut abef_b = _mm_alignr_epi8(cdab_b, efgh_b, 8);
            let mut cdgh_a = _mm_blend_epi16(efgh_a, cdab_a, 0xF0);
            let mut cdgh_b = _mm_blend_epi16(efgh_b, cdab_b, 0xF0);
            let abef_a0 = abef_a;
            let abef_b0 = abef_b;
            let cdgh_a0 = cdgh_a;
            let cdgh_b0 = cdgh_b;

            // Load the message words, big-endian.
            let ba: *const __m128i = block_a.as_ptr().cast();
            let bb: *const __m128i = block_b.as_ptr().cast();
            let mut wa0 = _mm_shuffle_epi8(_mm_loadu_si128(ba), mask);
            let mut wb0 = _mm_shuffle_epi8(_mm_loadu_si128(bb), mask);
            let mut wa1 = _mm_shuffle_epi8(_mm_loadu_si128(ba.add(1)), mask);
            let mut wb1 = _mm_shuffle_epi8(_mm_loadu_si128(bb.add(1)), mask);
            let mut wa2 = _mm_shuffle_epi8(_mm_loadu_si128(ba.add(2)), mask);
            let mut wb2 = _mm_shuffle_epi8(_mm_loadu_si128(bb.add(2)), mask);
            let mut wa3 = _mm_shuffle_epi8(_mm_loadu_si128(ba.add(3)), mask);
            let mut wb3 = _mm_shuffle_epi8(_mm_loadu_si128(bb.add(3)), mask);

            // Four rounds on both lanes with message words `$wa` / `$wb` and constants `K[4i..]`.
            macro_rules! rounds4 {
                ($wa:expr, $wb:expr, $i:expr) => {{
                    let kv = _mm_loadu_si128(k.add($i));
                    let ta = _mm_add_epi32($wa, kv);
                    let tb = _mm_add_epi32($wb, kv);
                    cdgh_a = _mm_sha256rnds2_epu32(cdgh_a, abef_a, ta);
                    cdgh_b = _mm_sha256rnds2_epu32(cdgh_b, abef_b, tb);
                    let ta = _mm_shuffle_epi32(ta, 0x0E);
                    let tb = _mm_shuffle_epi32(tb, 0x0E);
                    abef_a = _mm_sha256rnds2_epu32(abef_a, cdgh_a, ta);
                    abef_b = _mm_sha256rnds2_epu32(abef_b, cdgh_b, tb);
                }};
            }

            // Message schedule: the next four words from the previous sixteen, both lanes.
            macro_rules! schedule {
                ($wa0:ident, $wa1:ident, $wa2:ident, $wa3:ident,
                 $wb0:ident, $wb1:ident, $wb2:ident, $wb3:ident) => {{
                    let ta = _mm_sha256msg1_epu32($wa0, $wa1);
                    let tb = _mm_sha256msg1_epu32($wb0, $wb1);
                    let ta = _mm_add_epi32(ta, _mm_alignr_epi8($wa3, $wa2, 4));
                    let tb = _mm_add_epi32(tb, _mm_alignr_epi8($wb3, $wb2, 4));
                    $wa0 = _mm_sha256msg2_epu32(ta, $wa3);
                    $wb0 = _mm_sha256msg2_epu32(tb, $wb3);
                }};
            }

            rounds4!(wa0, wb0, 0);
            rounds4!(wa1, wb1, 1);
            rounds4!(wa2, wb2, 2);
            rounds4!(wa3, wb3, 3);
            // Steps 4..16 rotate through the four word registers: w[i] = f(w[i-4..i]).
            macro_rules! step {
                ($i:expr, $a0:ident, $a1:ident, $a2:ident, $a3:ident,
                 $b0:ident, $b1:ident, $b2:ident, $b3:ident) => {{
                    schedule!($a0, $a1, $a2, $a3, $b0, $b1, $b2, $b3);
                    rounds4!($a0, $b0, $i);
                }};
            }
            step!(4, wa0, wa1, wa2, wa3, wb0, wb1, wb2, wb3);
            step!(5, wa1, wa2, wa3, wa0, wb1, wb2, wb3, wb0);
            step!(6, wa2, wa3, wa0, wa1, wb2, wb3, wb0, wb1);
            step!(7, wa3, wa0, wa1, wa2, wb3, wb0, wb1, wb2);
            step!(8, wa0, wa1, wa2, wa3, wb0, wb1, wb2, wb3);
            step!(9, wa1, wa2, wa3, wa0, wb1, wb2, wb3, wb0);
            step!(10, wa2, wa3, wa0, wa1, wb2, wb3, wb0, wb1);
            step!(11, wa3, wa0, wa1, wa2, wb3, wb0, wb1, wb2);
            step!(12, wa0, wa1, wa2, wa3, wb0, wb1, wb2, wb3);
            step!(13, wa1, wa2, wa3, wa0, wb1, wb2, wb3, wb0);
            step!(14, wa2, wa3, wa0, wa1, wb2, wb3, wb0, wb1);
            step!(15, wa3, wa0, wa1, wa2, wb3, wb0, wb1, wb2);

            abef_a = _mm_add_epi32(abef_a, abef_a0);
            abef_b = _mm_add_epi32(abef_b, abef_b0);
            cdgh_a = _mm_add_epi32(cdgh_a, cdgh_a0);
            cdgh_b = _mm_add_epi32(cdgh_b, cdgh_b0);

            // Back from ABEF / CDGH to the state's A..H order.
            let feba_a = _mm_shuffle_epi32(abef_a, 0x1B);
            let feba_b = _mm_shuffle_epi32(abef_b, 0x1B);
            let dchg_a = _mm_shuffle_epi32(cdgh_a, 0xB1);
            let dchg_b = _mm_shuffle_epi32(cdgh_b, 0xB1);
            let qa: *mut __m128i = a.as_mut_ptr().cast();
            let qb: *mut __m128i = b.as_mut_ptr().cast();
            _mm_storeu_si128(qa, _mm_blend_epi16(feba_a, dchg_a, 0xF0));
            _mm_storeu_si128(qb, _mm_blend_epi16(feba_b, dchg_b, 0xF0));
            _mm_storeu_si128(qa.add(1), _mm_alignr_epi8(dchg_a, feba_a, 8));
            _mm_storeu_si128(qb.add(1), _mm_alignr_epi8(dchg_b, feba_b, 8));
        }
    }

    /// Compresses `states[l]` with `blocks[l]` for the four lanes `l`, the four round chains
    /// and message schedules interleaved.
    ///
    /// Same algorithm as [`compress256_x2_shani`], but with four lanes the sixteen XMM
    /// registers cannot hold four message schedules (four registers each) besides the eight
    /// round-state registers, and the compiler, left to itself, spills round states and message
    /// words all over the place: the straightforward four-lane version of the x2 kernel ran at
    /// ~22 ns per compression on Zen 4, slower than two x2 calls. What the layout below does,
    /// each point measured on Zen 4:
    ///
    /// - the message words live in a small ring buffer on the stack, `ring[lane][j]`, read and
    ///   written with *volatile* accesses, so the compiler keeps them there (it still folds the
    ///   reads into the instructions' memory operands) and leaves the registers to the round
    ///   states;
    /// - the newest four words of each lane (`last`) also stay in a register: the schedule's
    ///   dependency chain runs through them, and through memory each step would pay a ~9-cycle
    ///   store-to-load forwarding (which made this ~12% slower);
    /// - within a step, the schedule of all four lanes comes before their rounds (~1% faster
    ///   than lane by lane);
    /// - the initial state is read again from memory for the final addition instead of being
    ///   kept in eight registers.
    ///
    /// With four chains the kernel is no longer bound by the `sha256rnds2` latency but by the
    /// throughput of the SIMD pipes, which the SHA instructions share with the shuffles
    /// (`pshufd`, `palignr`, `pshufb`); things that did *not* pay: computing the schedule of a
    /// whole block before the rounds, running it a fixed number of steps ahead of them, and
    /// going through memory for `W + K` to replace each `pshufd` by a load.
    ///
    /// # Safety
    ///
    /// The CPU must support the `sha`, `sse2`, `ssse3` and `sse4.1` features (checked by
    /// [`detected`]); calling it on a CPU without them is undefined behaviour.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress256_x4_shani(states: &mut [[u32; 8]; 4], blocks: &[[u8; 64]; 4]) {
        // SAFETY: every pointer comes from a live reference to a `[u32; 8]` (32 bytes), a
        // `[u8; 64]` or the 256-byte `K32`, and is offset by at most its size minus 16 bytes,
        // or from the local `ring` (16 vectors, 16-byte aligned as `__m128i` is) and is offset
        // by at most 15 vectors. The loads and stores through the first kind are the unaligned
        // forms; the volatile ones through `ring` are aligned. Every element of `ring` is
        // written (in the loop right after its declaration) before it is read. The intrinsics
        // need only the target features this function is compiled for, which the caller
        // guarantees (see `# Safety`).
        unsafe {
            let mask = _mm_set_epi64x(
                0x0C0D_0E0F_0809_0A0Bu64 as i64,
                0x0405_0607_0001_0203u64 as i64,
            );
            let k: *const __m128i = K32.as_ptr().cast();

            // The message words, big-endian, into the ring: `ring[l][j]` = words `4j..4j + 4`.
            let mut ring = core::mem::MaybeUninit::<[[__m128i; 4]; 4]>::uninit();
            let rp: *mut __m128i = ring.as_mut_ptr().cast();
            for (l, block) in blocks.iter().enumerate() {
                let p: *const __m128i = block.as_ptr().cast();
                for j in 0..4 {
                    let w = _mm_shuffle_epi8(_mm_loadu_si128(p.add(j)), mask);
                    rp.add(4 * l + j).write_volatile(w);
                }
            }
            let ring_at = |l: usize, j: usize| rp.add(4 * l + j).read_volatile();

            // Load the states and rearrange them into ABEF / CDGH.
            let mut abef = [_mm_setzero_si128(); 4];
            let mut cdgh = [_mm_setzero_si128(); 4];
            for l in 0..4 {
                let p: *const __m128i = states[l].as_ptr().cast();
                let cdab = _mm_shuffle_epi32(_mm_loadu_si128(p), 0xB1);
                let efgh = _mm_shuffle_epi32(_mm_loadu_si128(p.add(1)), 0x1B);
                abef[l] = _mm_alignr_epi8(cdab, efgh, 8);
                cdgh[l] = _mm_blend_epi16(efgh, cdab, 0xF0);
            }

            // The newest four message words of each lane.
            let mut last = [_mm_setzero_si128(); 4];

            // Step `$i`, rounds `4i..4i + 4`, on every lane: first the message words (for
            // `$i >= 4` computed from the previous sixteen, `ring[_][$i % 4]` the oldest, which
            // they replace), then the rounds.
            macro_rules! step {
                ($i:expr) => {{
                    let (j0, j1, j2) = ($i % 4, ($i + 1) % 4, ($i + 2) % 4);
                    for l in 0..4 {
                        if $i < 4 {
                            last[l] = ring_at(l, j0);
                        } else {
                            let t = _mm_sha256msg1_epu32(ring_at(l, j0), ring_at(l, j1));
                            let t = _mm_add_epi32(t, _mm_alignr_epi8(last[l], ring_at(l, j2), 4));
                            last[l] = _mm_sha256msg2_epu32(t, last[l]);
                            rp.add(4 * l + j0).write_volatile(last[l]);
                        }
                    }
                    let kv = _mm_loadu_si128(k.add($i));
                    for l in 0..4 {
                        let t = _mm_add_epi32(last[l], kv);
                        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], t);
                        let t = _mm_shuffle_epi32(t, 0x0E);
                        abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], t);
                    }
                }};
            }
            step!(0);
            step!(1);
            step!(2);
            step!(3);
            step!(4);
            step!(5);
            step!(6);
            step!(7);
            step!(8);
            step!(9);
            step!(10);
            step!(11);
            step!(12);
            step!(13);
            step!(14);
            step!(15);

            // Back from ABEF / CDGH to the state's A..H order, then add the initial state, read
            // again from memory. The fence stops the compiler from reusing the values loaded
            // at the start, which would keep them in eight registers all along.
            core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
            for l in 0..4 {
                let feba = _mm_shuffle_epi32(abef[l], 0x1B);
                let dchg = _mm_shuffle_epi32(cdgh[l], 0xB1);
                let q: *mut __m128i = states[l].as_mut_ptr().cast();
                let abcd = _mm_add_epi32(_mm_blend_epi16(feba, dchg, 0xF0), _mm_loadu_si128(q));
                let efgh = _mm_add_epi32(_mm_alignr_epi8(dchg, feba, 8), _mm_loadu_si128(q.add(1)));
                _mm_storeu_si128(q, abcd);
                _mm_storeu_si128(q.add(1), efgh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two `sha2` calls: the reference.
    fn reference(
        a: &[u32; 8],
        block_a: &[u8; 64],
        b: &[u32; 8],
        block_b: &[u8; 64],
    ) -> ([u32; 8], [u32; 8]) {
        let (mut ra, mut rb) = (*a, *b);
        sha2::block_api::compress256(&mut ra, &[*block_a]);
        sha2::block_api::compress256(&mut rb, &[*block_b]);
        (ra, rb)
    }

    /// A small deterministic generator (splitmix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn state(&mut self) -> [u32; 8] {
            core::array::from_fn(|_| self.next() as u32)
        }

        fn block(&mut self) -> [u8; 64] {
            core::array::from_fn(|_| self.next() as u8)
        }
    }

    type Compress = fn(&mut [u32; 8], &[u8; 64], &mut [u32; 8], &[u8; 64]);

    /// Checks `f` against `sha2` on thousands of pseudo-random pairs, equal lanes included.
    fn check_many(f: Compress) {
        let mut rng = Rng(0x5EED_1234_ABCD_0001);
        for i in 0..5000 {
            let a0 = rng.state();
            let block_a = rng.block();
            let (b0, block_b) = match i % 4 {
                0 => (a0, block_a),          // both lanes equal
                1 => (a0, rng.block()),      // same state, different block
                2 => (rng.state(), block_a), // different state, same block
                _ => (rng.state(), rng.block()),
            };
            let (ea, eb) = reference(&a0, &block_a, &b0, &block_b);
            let (mut a, mut b) = (a0, b0);
            f(&mut a, &block_a, &mut b, &block_b);
            assert_eq!((a, b), (ea, eb), "case {i}");
        }
    }

    #[test]
    fn public_matches_sha2() {
        check_many(compress256_x2);
    }

    #[test]
    fn portable_matches_sha2() {
        check_many(compress256_x2_portable);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn accelerated_matches_sha2() {
        if !is_accelerated() {
            eprintln!("SHA-NI not available; accelerated path not tested");
            return;
        }
        check_many(|a, block_a, b, block_b| {
            // SAFETY: `is_accelerated()` returned true above, so the CPU has the features.
            unsafe { x86::compress256_x2_shani(a, block_a, b, block_b) }
        });
    }

    #[test]
    fn sha256_of_abc() {
        // FIPS 180-2 example: SHA-256("abc"), one padded block, in both lanes.
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        const IV: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let expected = [
            0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
            0xf20015ad,
        ];
        let (mut a, mut b) = (IV, [0u32; 8]);
        compress256_x2(&mut a, &block, &mut b, &block);
        assert_eq!(a, expected);
        let (_, eb) = reference(&IV, &block, &[0u32; 8], &block);
        assert_eq!(b, eb);
        let (mut c, mut d) = (IV, IV);
        compress256_x2(&mut c, &block, &mut d, &block);
        assert_eq!((c, d), (expected, expected));
    }

    fn to_block(v: &[u8]) -> [u8; 64] {
        v.try_into().expect("64 bytes")
    }

    proptest::proptest! {
        #[test]
        fn prop_matches_sha2(
            a in proptest::array::uniform8(proptest::prelude::any::<u32>()),
            b in proptest::array::uniform8(proptest::prelude::any::<u32>()),
            block_a in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
            block_b in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
        ) {
            let (block_a, block_b) = (to_block(&block_a), to_block(&block_b));
            let (ea, eb) = reference(&a, &block_a, &b, &block_b);
            let (mut ra, mut rb) = (a, b);
            compress256_x2(&mut ra, &block_a, &mut rb, &block_b);
            proptest::prop_assert_eq!((ra, rb), (ea, eb));
            let (mut pa, mut pb) = (a, b);
            compress256_x2_portable(&mut pa, &block_a, &mut pb, &block_b);
            proptest::prop_assert_eq!((pa, pb), (ea, eb));
        }
    }

    /// Four `sha2` calls: the reference for the four-lane functions.
    fn reference_x4(states: &[[u32; 8]; 4], blocks: &[[u8; 64]; 4]) -> [[u32; 8]; 4] {
        let mut r = *states;
        for (s, b) in r.iter_mut().zip(blocks) {
            sha2::block_api::compress256(s, &[*b]);
        }
        r
    }

    type Compress4 = fn(&mut [[u32; 8]; 4], &[[u8; 64]; 4]);

    /// Checks `f` against `sha2` on thousands of pseudo-random quadruples, with all, some or
    /// none of the lanes sharing their state and/or block.
    fn check_many_x4(f: Compress4) {
        let mut rng = Rng(0x5EED_1234_ABCD_0004);
        for i in 0..8000 {
            let mut states: [[u32; 8]; 4] = core::array::from_fn(|_| rng.state());
            let mut blocks: [[u8; 64]; 4] = core::array::from_fn(|_| rng.block());
            // Bits 0..3 of the case number: which lanes copy lane 0's state; bits 3..6: which
            // copy its block. Covers all equal, partly equal and all different.
            let (state_mask, block_mask) = (i % 8, (i / 8) % 8);
            for l in 1..4 {
                if state_mask >> (l - 1) & 1 == 1 {
                    states[l] = states[0];
                }
                if block_mask >> (l - 1) & 1 == 1 {
                    blocks[l] = blocks[0];
                }
            }
            let expected = reference_x4(&states, &blocks);
            f(&mut states, &blocks);
            assert_eq!(states, expected, "case {i}");
        }
    }

    #[test]
    fn x4_public_matches_sha2() {
        check_many_x4(compress256_x4);
    }

    #[test]
    fn x4_portable_matches_sha2() {
        check_many_x4(compress256_x4_portable);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x4_accelerated_matches_sha2() {
        if !is_accelerated() {
            eprintln!("SHA-NI not available; accelerated x4 path not tested");
            return;
        }
        check_many_x4(|states, blocks| {
            // SAFETY: `is_accelerated()` returned true above, so the CPU has the features.
            unsafe { x86::compress256_x4_shani(states, blocks) }
        });
    }

    #[test]
    fn x4_sha256_of_abc() {
        // FIPS 180-2 example: SHA-256("abc") in lanes 0 and 2, other states in lanes 1 and 3.
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        const IV: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let expected = [
            0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
            0xf20015ad,
        ];
        let states = [IV, [0u32; 8], IV, [u32::MAX; 8]];
        let blocks = [block; 4];
        let mut out = states;
        compress256_x4(&mut out, &blocks);
        assert_eq!(out[0], expected);
        assert_eq!(out[2], expected);
        assert_eq!(out, reference_x4(&states, &blocks));
    }

    proptest::proptest! {
        #[test]
        fn prop_x4_matches_sha2(
            states in proptest::array::uniform4(
                proptest::array::uniform8(proptest::prelude::any::<u32>())),
            blocks in proptest::array::uniform4(
                proptest::collection::vec(proptest::prelude::any::<u8>(), 64)),
        ) {
            let blocks: [[u8; 64]; 4] = core::array::from_fn(|l| to_block(&blocks[l]));
            let expected = reference_x4(&states, &blocks);
            let mut r = states;
            compress256_x4(&mut r, &blocks);
            proptest::prop_assert_eq!(r, expected);
            let mut p = states;
            compress256_x4_portable(&mut p, &blocks);
            proptest::prop_assert_eq!(p, expected);
        }
    }

    /// Throughput check, not part of the normal suite: run with
    /// `cargo test --release --lib sha256x2 -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark; run by hand in release mode"]
    fn bench_throughput() {
        use std::hint::black_box;
        use std::time::Instant;
        const N: u32 = 2_000_000;
        let mut rng = Rng(42);
        let blocks: Vec<[u8; 64]> = (0..64).map(|_| rng.block()).collect();
        for _ in 0..3 {
            // sha2, one compression at a time, each depending on the previous state.
            let mut s = rng.state();
            let t = Instant::now();
            for i in 0..N {
                sha2::block_api::compress256(&mut s, &[blocks[(i & 63) as usize]]);
            }
            let single = t.elapsed().as_nanos() as f64 / f64::from(N);
            black_box(s);

            // sha2, two independent chains per iteration (what the portable path does).
            let (mut s1, mut s2) = (rng.state(), rng.state());
            let t = Instant::now();
            for i in 0..N / 2 {
                let i = (i & 63) as usize;
                compress256_x2_portable(&mut s1, &blocks[i], &mut s2, &blocks[i ^ 1]);
            }
            let pair_sha2 = t.elapsed().as_nanos() as f64 / f64::from(N);
            black_box((s1, s2));

            // compress256_x2, two chains, N compressions in all.
            let (mut s1, mut s2) = (rng.state(), rng.state());
            let t = Instant::now();
            for i in 0..N / 2 {
                let i = (i & 63) as usize;
                compress256_x2(&mut s1, &blocks[i], &mut s2, &blocks[i ^ 1]);
            }
            let x2 = t.elapsed().as_nanos() as f64 / f64::from(N);
            black_box((s1, s2));

            // compress256_x2 twice per iteration: four chains.
            let (mut s1, mut s2, mut s3, mut s4) =
                (rng.state(), rng.state(), rng.state(), rng.state());
            let t = Instant::now();
            for i in 0..N / 4 {
                let i = (i & 63) as usize;
                compress256_x2(&mut s1, &blocks[i], &mut s2, &blocks[i ^ 1]);
                compress256_x2(&mut s3, &blocks[i ^ 2], &mut s4, &blocks[i ^ 3]);
            }
            let two_x2 = t.elapsed().as_nanos() as f64 / f64::from(N);
            black_box((s1, s2, s3, s4));

            // compress256_x4 and its portable path: four chains, N compressions in all.
            let mut x4_runs = [0.0; 2];
            for (run, f) in x4_runs.iter_mut().zip([
                compress256_x4 as fn(&mut [[u32; 8]; 4], &[[u8; 64]; 4]),
                compress256_x4_portable,
            ]) {
                let mut ss: [[u32; 8]; 4] = core::array::from_fn(|_| rng.state());
                let t = Instant::now();
                for i in 0..N / 4 {
                    let i = (i & 63) as usize;
                    let bs = [blocks[i], blocks[i ^ 1], blocks[i ^ 2], blocks[i ^ 3]];
                    f(&mut ss, &bs);
                }
                *run = t.elapsed().as_nanos() as f64 / f64::from(N);
                black_box(ss);
            }
            let [x4, quad_sha2] = x4_runs;

            println!(
                "accelerated={} ns/compression: sha2 single {single:.2}; sha2 x2 (portable) \
                 {pair_sha2:.2}; compress256_x2 {x2:.2} (speed-up {:.2}x); two compress256_x2 \
                 calls {two_x2:.2}; sha2 x4 (portable) {quad_sha2:.2}; compress256_x4 {x4:.2} \
                 (speed-up {:.2}x)",
                is_accelerated(),
                single / x2,
                single / x4,
            );
        }
    }
}
