//! The interleaved SHA-NI kernels: two or four (state, block) pairs in, compressed in place,
//! with the CPU's support detected once per process. Unsafe to call without the features;
//! the safe entry points in the parent module check [`detected`] first.
#![allow(unsafe_code)] // SIMD intrinsics under `target_feature`.

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
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
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
