//! The x86-64 implementations of [`super::FieldCounter`]: `POPCNT`, AVX2 and AVX-512 loops,
//! each compiled with its instruction set and handed out only after the CPU was checked.

// `#[target_feature]` functions are `unsafe` to call on a CPU without the feature; only
// `FieldCounter::detect` hands this one out, after the check.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m128i, __m512i, _MM_HINT_T0, _mm_prefetch, _mm_storeu_si128, _mm_unpacklo_epi64,
    _mm512_add_epi64, _mm512_and_si512, _mm512_castsi512_si128, _mm512_extracti32x4_epi32,
    _mm512_loadu_si512, _mm512_or_si512, _mm512_popcnt_epi64, _mm512_reduce_add_epi64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_shuffle_epi32, _mm512_shuffle_i64x2,
    _mm512_slli_epi64, _mm512_sllv_epi64,
};

/// The loop with `POPCNT` and prefetching.
///
/// # Safety
///
/// The CPU must support `POPCNT`.
#[target_feature(enable = "popcnt")]
pub(super) unsafe fn pair_counts(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
) {
    super::pair_counts_inline(
        left,
        right,
        record_words,
        field_words,
        pairs,
        out,
        prefetch_lines,
    );
}

/// Widths (in words) the AVX-512 loop takes: whole vectors, and slots that cannot carry.
const fn avx512_width(field_words: usize) -> bool {
    field_words.is_multiple_of(8) && field_words <= 1016
}

/// `vpopcntq` per vector, four fields reduced together (see the module documentation);
/// other widths take [`pair_counts`]'s loop.
///
/// # Safety
///
/// The CPU must support AVX-512F, AVX-512 VPOPCNTDQ and `POPCNT`.
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
pub(super) unsafe fn pair_counts_avx512(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
) {
    if !avx512_width(field_words) {
        // SAFETY: the caller guarantees POPCNT.
        return unsafe { pair_counts(left, right, record_words, field_words, pairs, out) };
    }
    if field_words == 8 {
        let (l, r, rw, p) = (left, right, record_words, pairs);
        match record_words / 8 {
            4 => return each_pair_one_vector::<4>(l, r, rw, p, out),
            5 => return each_pair_one_vector::<5>(l, r, rw, p, out),
            6 => return each_pair_one_vector::<6>(l, r, rw, p, out),
            7 => return each_pair_one_vector::<7>(l, r, rw, p, out),
            8 => return each_pair_one_vector::<8>(l, r, rw, p, out),
            _ => {}
        }
    }
    super::each_pair(
        left,
        right,
        record_words,
        pairs,
        out,
        prefetch_lines,
        |ra, rb, out| {
            let fields = ra
                .chunks_exact(field_words)
                .zip(rb.chunks_exact(field_words));
            let mut fields = fields.peekable();
            let mut out = out.iter_mut();
            while fields.peek().is_some() {
                let mut packed = _mm512_setzero_si512();
                let mut taken = 0;
                for (slot, (fa, fb)) in fields.by_ref().take(4).enumerate() {
                    let mut lanes = _mm512_setzero_si512();
                    for (va, vb) in fa.chunks_exact(8).zip(fb.chunks_exact(8)) {
                        // SAFETY: each chunk is 8 words = 64 bytes, read unaligned.
                        let (x, y) = unsafe {
                            (
                                _mm512_loadu_si512(va.as_ptr().cast()),
                                _mm512_loadu_si512(vb.as_ptr().cast()),
                            )
                        };
                        lanes =
                            _mm512_add_epi64(lanes, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
                    }
                    let shift = _mm512_set1_epi64(16 * slot as i64);
                    packed = _mm512_or_si512(packed, _mm512_sllv_epi64(lanes, shift));
                    taken += 1;
                }
                let sums = _mm512_reduce_add_epi64(packed) as u64;
                for (slot, o) in out.by_ref().take(taken).enumerate() {
                    *o = (sums >> (16 * slot) & 0xffff) as u32;
                }
            }
        },
    );
}

/// One `prefetcht0` per cache line (8 words) of a record; a hint never faults.
#[inline(always)]
fn prefetch_lines(record: &[u64]) {
    for line in record.chunks(8) {
        // SAFETY: SSE is part of x86-64; a prefetch reads nothing architecturally.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
}

/// The pair loop for records of `F` fields of 8 words, `counts` giving a pair's counts as the
/// eight 16-bit lanes of a vector ([`fields_of_vectors`], [`avx2_field_counts!`]); each
/// record prefetched by `F` hints in a row (no loop over its lines).
#[inline(always)]
fn each_pair_of_vectors<const F: usize>(
    (left, right): (&[u64], &[u64]),
    record_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
    counts: impl Fn(&[[u64; 8]; F], &[[u64; 8]; F]) -> __m128i,
) {
    let prefetch = |record: &[u64]| {
        for line in record.as_chunks::<8>().0.iter().take(F) {
            // SAFETY: SSE is part of x86-64; a prefetch reads nothing architecturally.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
        }
    };
    super::each_pair(
        left,
        right,
        record_words,
        pairs,
        out,
        prefetch,
        |a, b, o| {
            let (Some(va), Some(vb), Some(o)) = (fields::<F>(a), fields::<F>(b), o.get_mut(..F))
            else {
                return; // never taken: the caller passes whole records of F fields, F counts each
            };
            let mut wide = [0u16; 8];
            // SAFETY: `wide` is 16 bytes, written unaligned.
            unsafe { _mm_storeu_si128(wide.as_mut_ptr().cast(), counts(va, vb)) };
            for (o, &w) in o.iter_mut().zip(&wide) {
                *o = u32::from(w);
            }
        },
    );
}

/// A record of `F` fields of 8 words as its fields (`None` if it is not that long).
#[inline(always)]
fn fields<const F: usize>(record: &[u64]) -> Option<&[[u64; 8]; F]> {
    record.as_chunks::<8>().0.get(..F)?.try_into().ok()
}

/// The AVX-512 pair loop for 4 to 8 fields of 8 words.
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
fn each_pair_one_vector<const F: usize>(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
) {
    let counts = |va: &_, vb: &_| fields_of_vectors::<F>(va, vb);
    each_pair_of_vectors::<F>((left, right), record_words, pairs, out, counts);
}

/// Nibble-table popcounts (`vpshufb`) per 256 bits for records of 1 to 8 fields of 8 words;
/// other shapes take [`pair_counts`]'s loop. On Zen 3 this is about three times the `POPCNT`
/// loop, which two loads per word bound (`filter::fields` module documentation).
///
/// # Safety
///
/// The CPU must support AVX2 and `POPCNT`.
#[target_feature(enable = "avx2,popcnt")]
pub(super) unsafe fn pair_counts_avx2(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
) {
    macro_rules! loop_of {
        ($f:literal) => {{
            let counts = |va: &[[u64; 8]; $f], vb: &[[u64; 8]; $f]| avx2_field_counts!($f, va, vb);
            each_pair_of_vectors::<$f>((left, right), record_words, pairs, out, counts)
        }};
    }
    match (field_words, record_words / 8) {
        (8, 1) => loop_of!(1),
        (8, 2) => loop_of!(2),
        (8, 3) => loop_of!(3),
        (8, 4) => loop_of!(4),
        (8, 5) => loop_of!(5),
        (8, 6) => loop_of!(6),
        (8, 7) => loop_of!(7),
        (8, 8) => loop_of!(8),
        // SAFETY: the caller guarantees POPCNT.
        _ => unsafe { pair_counts(left, right, record_words, field_words, pairs, out) },
    }
}

/// The common-bit counts of `F` fields of 8 words (1 to 8 fields) with AVX2, as the eight
/// 16-bit lanes of an `__m128i` (0 past field `F`): per field, the two 256-bit halves' byte
/// counts by nibble table, added and summed per 64-bit lane by `vpsadbw`; the lane sums of
/// fields 0-3 and 4-7 packed into 16-bit slots (a lane sum is at most 128) and both vectors
/// summed over their lanes at once, as in [`fields_of_vectors`].
///
/// A macro, for expansion inside `#[target_feature(enable = "avx2")]` functions only (its
/// closures inherit the caller's features): as a `#[target_feature]` function LLVM called it
/// from the fused loop of `linkage::fs::count` instead of inlining it, its result going
/// through memory, and `#[inline(always)]` cannot be put on such a function.
macro_rules! avx2_field_counts {
    ($f:expr, $va:expr, $vb:expr) => {{
        use std::arch::x86_64::{
            __m256i, _mm_add_epi64, _mm256_add_epi8, _mm256_add_epi64, _mm256_and_si256,
            _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_or_si256,
            _mm256_sad_epu8, _mm256_set1_epi8, _mm256_setr_epi8, _mm256_setzero_si256,
            _mm256_shuffle_epi8, _mm256_slli_epi64, _mm256_srli_epi16, _mm256_unpackhi_epi64,
            _mm256_unpacklo_epi64,
        };
        let (va, vb): (&[[u64; 8]], &[[u64; 8]]) = ($va, $vb);
        const { assert!($f >= 1 && $f <= 8) };
        let table = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let (nibble, zero) = (_mm256_set1_epi8(0x0f), _mm256_setzero_si256());
        let bytes = |v: __m256i| {
            let low = _mm256_shuffle_epi8(table, _mm256_and_si256(v, nibble));
            let high = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble);
            _mm256_add_epi8(low, _mm256_shuffle_epi8(table, high))
        };
        let lanes: [__m256i; $f] = std::array::from_fn(|f| {
            let (a, b) = (&va[f], &vb[f]);
            // SAFETY: each half is 4 words = 32 bytes, read unaligned.
            let half = |h: usize| unsafe {
                _mm256_and_si256(
                    _mm256_loadu_si256(a[4 * h..].as_ptr().cast()),
                    _mm256_loadu_si256(b[4 * h..].as_ptr().cast()),
                )
            };
            _mm256_sad_epu8(_mm256_add_epi8(bytes(half(0)), bytes(half(1))), zero)
        });
        let lane = |f: usize| if f < $f { lanes[f] } else { zero };
        let pack = |base: usize| {
            _mm256_or_si256(
                _mm256_or_si256(lane(base), _mm256_slli_epi64::<16>(lane(base + 1))),
                _mm256_or_si256(
                    _mm256_slli_epi64::<32>(lane(base + 2)),
                    _mm256_slli_epi64::<48>(lane(base + 3)),
                ),
            )
        };
        let (low, high) = (pack(0), pack(4));
        // Per 128-bit half: [low lane 0 + 1, high lane 0 + 1], then [low lane 2 + 3, ...];
        // the halves summed give fields 0-3 in the low 64 bits, 4-7 in the high.
        let s = _mm256_add_epi64(
            _mm256_unpacklo_epi64(low, high),
            _mm256_unpackhi_epi64(low, high),
        );
        _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s))
    }};
}
pub(crate) use avx2_field_counts;

/// The common-bit counts of `F` fields of one 512-bit vector each (4 to 8), as the eight
/// 16-bit lanes of the result (0 past field `F`), for loops that keep the counts in
/// registers (`linkage::fs::count`'s fused loop).
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
#[inline]
pub(crate) fn fields_of_vectors<const F: usize>(va: &[[u64; 8]; F], vb: &[[u64; 8]; F]) -> __m128i {
    const { assert!(F >= 1 && F <= 8) };
    let lanes: [__m512i; F] = std::array::from_fn(|f| {
        // SAFETY: each field is 8 words = 64 bytes, read unaligned.
        let (x, y) = unsafe {
            (
                _mm512_loadu_si512(va[f].as_ptr().cast()),
                _mm512_loadu_si512(vb[f].as_ptr().cast()),
            )
        };
        _mm512_popcnt_epi64(_mm512_and_si512(x, y))
    });
    let pack = |base: usize| {
        let mut packed = if base < F {
            lanes[base]
        } else {
            _mm512_setzero_si512()
        };
        if base + 1 < F {
            packed = _mm512_or_si512(packed, _mm512_slli_epi64::<16>(lanes[base + 1]));
        }
        if base + 2 < F {
            packed = _mm512_or_si512(packed, _mm512_slli_epi64::<32>(lanes[base + 2]));
        }
        if base + 3 < F {
            packed = _mm512_or_si512(packed, _mm512_slli_epi64::<48>(lanes[base + 3]));
        }
        packed
    };
    let (low, high) = (pack(0), pack(4));
    // 128-bit units: [l0 + l2, l1 + l3, h0 + h2, h1 + h3], then each pair of units summed.
    let s = _mm512_add_epi64(
        _mm512_shuffle_i64x2::<0b01_00_01_00>(low, high),
        _mm512_shuffle_i64x2::<0b11_10_11_10>(low, high),
    );
    let s = _mm512_add_epi64(s, _mm512_shuffle_i64x2::<0b10_11_00_01>(s, s));
    // The two 64-bit lanes of each unit: unit 0 lane 0 sums `low`, unit 2 lane 0 `high`.
    let s = _mm512_add_epi64(s, _mm512_shuffle_epi32::<0b01_00_11_10>(s));
    _mm_unpacklo_epi64(_mm512_castsi512_si128(s), _mm512_extracti32x4_epi32::<2>(s))
}
