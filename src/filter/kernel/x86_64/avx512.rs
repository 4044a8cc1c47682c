//! AVX-512 kernel: `vpopcntq` (AVX-512 VPOPCNTDQ) on 512-bit vectors.
//!
//! A 512-bit vector is eight words, so a 1024-bit filter is two vectors: two ANDs with the
//! query (held in registers for the whole tile), two `vpopcntq` and one add give eight 64-bit
//! partial counts per filter. Summing those eight lanes per filter with a horizontal reduction
//! would cost as much again as the popcounts, so the partial vectors of eight filters are reduced
//! together by a transpose-and-add tree (see [`reduce8`]): three rounds of shuffles and adds
//! turn eight vectors of partial counts into one vector of eight totals, which is narrowed to
//! 32 bits and stored with one instruction.
//!
//! Only AVX-512F and AVX-512 VPOPCNTDQ instructions are used (no BW, no VL). Widths that are not
//! a multiple of 8 words load their last partial vector with a zero-masking load, which reads
//! only the words the mask selects.
//!
//! The development machine had no AVX-512, so this code was written to be checked by reading:
//! every step is a plain intrinsic with its lane layout written next to it. Its tests run
//! wherever the CPU has the features, and under Miri with
//! `-C target-feature=+avx512f,+avx512vpopcntdq` (see `tests.rs`).

// The crate warns on `unsafe_code`. This module needs it: the entry point is an `unsafe fn`
// (calling `#[target_feature]` code on a CPU without the feature is undefined behaviour), and
// vector loads and stores take raw pointers. Every pointer comes from a slice of the right
// length, see the SAFETY comments.
#![allow(unsafe_code)]
// AVX-512 intrinsics and the `avx512f` / `avx512vpopcntdq` target features are stable since
// Rust 1.89, above the `rust-version` in Cargo.toml: that must be raised to 1.89 (this module
// does not build on older compilers). Until then Clippy would flag every intrinsic.
#![allow(clippy::incompatible_msrv)]

use super::super::{LinearBound, portable};

use std::arch::x86_64::{
    __m256i, __m512i, _CMP_GE_OQ, _mm256_add_epi32, _mm256_add_ps, _mm256_castsi128_si256,
    _mm256_castsi256_si128, _mm256_cmp_ps, _mm256_cvtepi32_ps, _mm256_inserti128_si256,
    _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_ps, _mm256_mul_ps,
    _mm256_permutevar8x32_epi32, _mm256_sad_epu8, _mm256_set1_epi32, _mm256_set1_epi64x,
    _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_si256, _mm256_storeu_si256, _mm512_add_epi64,
    _mm512_and_si512, _mm512_cvtepi64_epi32, _mm512_loadu_si512, _mm512_maskz_loadu_epi64,
    _mm512_popcnt_epi64, _mm512_setzero_si512, _mm512_shuffle_i64x2, _mm512_unpackhi_epi64,
    _mm512_unpacklo_epi64,
};

/// `out[j] = popcount(query & filter_j)` for every filter of `block` (`words` words each).
///
/// # Safety
///
/// The CPU must support AVX-512F and AVX-512 VPOPCNTDQ, and the operating system must save
/// the AVX-512 registers (see `super::avx512_available`). Memory is accessed only within the
/// slices, so lengths are not a safety condition.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(in crate::filter::kernel) unsafe fn and_counts(
    query: &[u64],
    block: &[u64],
    words: usize,
    out: &mut [u32],
) {
    match words {
        8 => fixed::<1>(query, block, out),
        16 => fixed::<2>(query, block, out),
        32 => fixed::<4>(query, block, out),
        64 => fixed::<8>(query, block, out),
        _ => any_width(query, block, words, out),
    }
}

/// Filters of `8 * V` words (`V` vectors): the query stays in `V` registers, eight filters per
/// step.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn fixed<const V: usize>(query: &[u64], block: &[u64], out: &mut [u32]) {
    const { assert!(V >= 1) };
    let words = 8 * V;
    if query.len() != words {
        return; // the safe wrapper has asserted this; never taken
    }
    let mut q = [_mm512_setzero_si512(); V];
    for (v, chunk) in q.iter_mut().zip(query.chunks_exact(8)) {
        *v = load(chunk);
    }

    let mut groups = block.chunks_exact(8 * words);
    let mut counts = out.chunks_exact_mut(8);
    for (group, count) in (&mut groups).zip(&mut counts) {
        let mut partial = [_mm512_setzero_si512(); 8];
        for (p, filter) in partial.iter_mut().zip(group.chunks_exact(words)) {
            *p = fixed_partial(&q, filter);
        }
        store8(reduce8(partial), count);
    }

    // The last one to seven filters: the same reduction, zero for the missing filters.
    let rest = counts.into_remainder();
    if !rest.is_empty() {
        let mut partial = [_mm512_setzero_si512(); 8];
        for (p, filter) in partial
            .iter_mut()
            .zip(groups.remainder().chunks_exact(words))
        {
            *p = fixed_partial(&q, filter);
        }
        let mut eight = [0u32; 8];
        store8(reduce8(partial), &mut eight);
        rest.copy_from_slice(&eight[..rest.len()]);
    }
}

/// Eight 64-bit partial counts of `query & filter` for a filter of `8 * V` words.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
fn fixed_partial<const V: usize>(q: &[__m512i; V], filter: &[u64]) -> __m512i {
    let mut acc = _mm512_setzero_si512();
    for (qv, chunk) in q.iter().zip(filter.chunks_exact(8)) {
        let both = _mm512_and_si512(*qv, load(chunk));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(both));
    }
    acc
}

/// Any width: eight filters per step as in [`fixed`], with the query read from memory (it stays
/// in L1) and a masked load for the last `words % 8` words of each filter.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn any_width(query: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    let mut groups = block.chunks_exact(8 * words);
    let mut counts = out.chunks_exact_mut(8);
    for (group, count) in (&mut groups).zip(&mut counts) {
        let mut partial = [_mm512_setzero_si512(); 8];
        for (p, filter) in partial.iter_mut().zip(group.chunks_exact(words)) {
            *p = any_partial(query, filter);
        }
        store8(reduce8(partial), count);
    }

    let rest = counts.into_remainder();
    if !rest.is_empty() {
        let mut partial = [_mm512_setzero_si512(); 8];
        for (p, filter) in partial
            .iter_mut()
            .zip(groups.remainder().chunks_exact(words))
        {
            *p = any_partial(query, filter);
        }
        let mut eight = [0u32; 8];
        store8(reduce8(partial), &mut eight);
        rest.copy_from_slice(&eight[..rest.len()]);
    }
}

/// Eight 64-bit partial counts of `query & filter` for equally long slices of any length.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
#[inline]
fn any_partial(query: &[u64], filter: &[u64]) -> __m512i {
    let q_chunks = query.chunks_exact(8);
    let f_chunks = filter.chunks_exact(8);
    let (q_tail, f_tail) = (q_chunks.remainder(), f_chunks.remainder());
    let mut acc = _mm512_setzero_si512();
    for (q, f) in q_chunks.zip(f_chunks) {
        let both = _mm512_and_si512(load(q), load(f));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(both));
    }
    if !q_tail.is_empty() {
        let both = _mm512_and_si512(load_tail(q_tail), load_tail(f_tail));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(both));
    }
    acc
}

/// Reduces eight filters' partial counts (eight 64-bit lanes each) to their eight totals, as
/// 32-bit lanes `[t0, ..., t7]`.
///
/// Notation: `v[j]` holds filter `j`'s lanes `v[j][0..8]`; a 512-bit vector is four 128-bit
/// blocks `B0..B3` of two lanes each.
#[target_feature(enable = "avx512f")]
#[inline]
fn reduce8(v: [__m512i; 8]) -> __m256i {
    // Round 1, within each 128-bit block k: unpacklo(a, b) = [a[2k], b[2k]] and
    // unpackhi(a, b) = [a[2k+1], b[2k+1]], so the sum holds, in block k,
    // [a[2k] + a[2k+1], b[2k] + b[2k+1]]: each block now carries two filters' pair sums.
    let pairs = |a: __m512i, b: __m512i| {
        _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b))
    };
    let a01 = pairs(v[0], v[1]);
    let a23 = pairs(v[2], v[3]);
    let a45 = pairs(v[4], v[5]);
    let a67 = pairs(v[6], v[7]);

    // Rounds 2 and 3: shuffle_i64x2::<0b10_00_10_00>(x, y) = [x.B0, x.B2, y.B0, y.B2] and
    // shuffle_i64x2::<0b11_01_11_01>(x, y) = [x.B1, x.B3, y.B1, y.B3], so their sum is
    // [x.B0 + x.B1, x.B2 + x.B3, y.B0 + y.B1, y.B2 + y.B3]: adjacent blocks added, x's results
    // in the low half and y's in the high half.
    let blocks = |x: __m512i, y: __m512i| {
        _mm512_add_epi64(
            _mm512_shuffle_i64x2::<0b10_00_10_00>(x, y),
            _mm512_shuffle_i64x2::<0b11_01_11_01>(x, y),
        )
    };
    // Round 2: b0123 = [(f0, f1) over B0,B1; (f0, f1) over B2,B3; (f2, f3) over B0,B1;
    // (f2, f3) over B2,B3], each a pair of lanes; likewise b4567 for filters 4 to 7.
    let b0123 = blocks(a01, a23);
    let b4567 = blocks(a45, a67);
    // Round 3: [(t0, t1), (t2, t3), (t4, t5), (t6, t7)] = the eight totals in filter order.
    let totals = blocks(b0123, b4567);
    // Every total is at most 64 * words, far below 2^32: narrow each lane to 32 bits.
    _mm512_cvtepi64_epi32(totals)
}

/// Loads eight words (unaligned).
#[target_feature(enable = "avx512f")]
#[inline]
fn load(words: &[u64]) -> __m512i {
    let words: &[u64; 8] = words.try_into().expect("a vector is eight words");
    // SAFETY: `words` is 64 readable bytes; `vmovdqu64` has no alignment requirement, and
    // AVX-512F is enabled for this function.
    unsafe { _mm512_loadu_si512(words.as_ptr().cast()) }
}

/// Loads one to seven words into the low lanes, zeroing the others.
#[target_feature(enable = "avx512f")]
#[inline]
fn load_tail(words: &[u64]) -> __m512i {
    assert!(
        !words.is_empty() && words.len() < 8,
        "a tail is 1 to 7 words"
    );
    // Bits 0 to len-1: the lanes to load.
    let mask = (1u8 << words.len()) - 1;
    // SAFETY: the masked load reads only the lanes whose mask bit is set, i.e. words
    // `0..words.len()` starting at `words.as_ptr()`, all inside the slice; masked-off lanes
    // are neither read nor faulted on, and are zeroed. No alignment is required, and AVX-512F
    // is enabled for this function.
    unsafe { _mm512_maskz_loadu_epi64(mask, words.as_ptr().cast()) }
}

/// Stores eight 32-bit lanes to `out[..8]` (unaligned).
#[target_feature(enable = "avx512f")]
#[inline]
fn store8(v: __m256i, out: &mut [u32]) {
    let out: &mut [u32; 8] = out.try_into().expect("eight counts");
    // SAFETY: `out` is 32 writable bytes; `vmovdqu` has no alignment requirement, and AVX
    // (implied by AVX-512F) is enabled for this function.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) }
}

/// `out[j] = popcount(query_front & front_j) + popcount(query_back & back_j)` (see
/// `Kernel::and_counts_split`): eight filters per step as in [`any_width`], each filter's two
/// halves adding their partial counts before the one reduction; back half `j` is
/// `back[j * back_stride..][..back_words]`.
///
/// # Safety
///
/// As [`and_counts`]. `front_words` and `back_words` are at least 1 (the safe wrapper handles
/// an empty half).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(in crate::filter::kernel) unsafe fn and_counts_split(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    front_words: usize,
    back_words: usize,
    back_stride: usize,
    out: &mut [u32],
) {
    if front_words == 0 || back_words == 0 || back_words > back_stride {
        return; // the safe wrapper never passes an empty half
    }
    let mut fronts = front.chunks_exact(8 * front_words);
    let mut backs = back.chunks_exact(8 * back_stride);
    let mut counts = out.chunks_exact_mut(8);
    for ((f8, b8), count) in (&mut fronts).zip(&mut backs).zip(&mut counts) {
        let mut partial = [_mm512_setzero_si512(); 8];
        let halves = f8
            .chunks_exact(front_words)
            .zip(b8.chunks_exact(back_stride));
        for (p, (f, b)) in partial.iter_mut().zip(halves) {
            let b = &b[..back_words];
            *p = _mm512_add_epi64(any_partial(query_front, f), any_partial(query_back, b));
        }
        store8(reduce8(partial), count);
    }
    let rest = counts.into_remainder();
    if !rest.is_empty() {
        let mut partial = [_mm512_setzero_si512(); 8];
        let halves = fronts
            .remainder()
            .chunks_exact(front_words)
            .zip(backs.remainder().chunks_exact(back_stride));
        for (p, (f, b)) in partial.iter_mut().zip(halves) {
            let b = &b[..back_words];
            *p = _mm512_add_epi64(any_partial(query_front, f), any_partial(query_back, b));
        }
        let mut eight = [0u32; 8];
        store8(reduce8(partial), &mut eight);
        rest.copy_from_slice(&eight[..rest.len()]);
    }
}

/// `Kernel::select_split`: eight filters' prefix counts reduced together ([`reduce8`]),
/// compared with the bound in one 256-bit float compare (AVX, which every AVX-512 CPU has), and
/// only the survivors' rest counted, by `POPCNT`.
///
/// # Safety
///
/// As [`and_counts`], and the CPU must support AVX2 and `POPCNT` (`super::avx512_available`
/// checks them too).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
pub(in crate::filter::kernel) unsafe fn select_split(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    back_pcs: &[u8],
    counted: usize,
    popcounts: &[u32],
    bound: LinearBound,
    at: &mut [u32],
    common: &mut [u32],
) -> usize {
    let (qf, qb, f, b, bp, p) = (query_front, query_back, front, back, back_pcs, popcounts);
    match (qf.len(), qb.len(), counted) {
        (8, 8, 0) => select_fixed::<1, 0, 1>(qf, qb, f, b, bp, p, bound, at, common),
        (8, 8, 8) => select_fixed::<1, 1, 0>(qf, qb, f, b, bp, p, bound, at, common),
        (16, 16, 0) => select_fixed::<2, 0, 2>(qf, qb, f, b, bp, p, bound, at, common),
        (16, 16, 8) => select_fixed::<2, 1, 1>(qf, qb, f, b, bp, p, bound, at, common),
        (16, 16, 16) => select_fixed::<2, 2, 0>(qf, qb, f, b, bp, p, bound, at, common),
        _ => portable::select_split_inline(qf, qb, f, b, bp, counted, p, bound, at, common),
    }
}

/// [`select_split`] for a front of `8 * F` words and a back of `8 * (C + R)` words of which
/// `8 * C` are counted before the bound, eight filters per step. The rest bounds of eight
/// filters with 8-word backs are two AVX2 `vpminub` + `vpsadbw` (no AVX-512BW needed); other
/// widths add them up word by word.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
fn select_fixed<const F: usize, const C: usize, const R: usize>(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    back_pcs: &[u8],
    popcounts: &[u32],
    bound: LinearBound,
    at: &mut [u32],
    common: &mut [u32],
) -> usize {
    const { assert!(F >= 1 && C + R >= 1) };
    let (fw, cw, bw) = (8 * F, 8 * C, 8 * (C + R));
    if query_front.len() != fw || query_back.len() != bw {
        return 0; // the safe wrapper has asserted this; never taken
    }
    let mut qf = [_mm512_setzero_si512(); F];
    for (v, chunk) in qf.iter_mut().zip(query_front.chunks_exact(8)) {
        *v = load(chunk);
    }
    let mut qc = [_mm512_setzero_si512(); C];
    for (v, chunk) in qc.iter_mut().zip(query_back.chunks_exact(8)) {
        *v = load(chunk);
    }
    let rest_q = &query_back[cw..];
    let (query_pcs, query_rest) = portable::query_rest_pcs(query_back, cw);
    let query_pcs_vec = _mm256_set1_epi64x(i64::from_le_bytes(
        query_pcs[..8].try_into().expect("eight bytes"),
    ));
    let offset = _mm256_set1_ps(bound.offset);
    let slope = _mm256_set1_ps(bound.slope);
    let mut n = 0;
    let mut fronts = front.chunks_exact(8 * fw);
    let mut backs = back.chunks_exact(8 * bw);
    let mut pops = popcounts.chunks_exact(8);
    let mut j0 = 0u32;
    for ((f8, b8), p8) in (&mut fronts).zip(&mut backs).zip(&mut pops) {
        let mut partial = [_mm512_setzero_si512(); 8];
        for (p, (f, b)) in partial
            .iter_mut()
            .zip(f8.chunks_exact(fw).zip(b8.chunks_exact(bw)))
        {
            *p = _mm512_add_epi64(fixed_partial(&qf, f), fixed_partial(&qc, &b[..cw]));
        }
        let counts = reduce8(partial);
        let rest = if R == 0 {
            _mm256_setzero_si256()
        } else if back_pcs.is_empty() {
            _mm256_set1_epi32(query_rest as i32)
        } else {
            let pcs = &back_pcs[j0 as usize * bw..(j0 as usize + 8) * bw];
            if bw == 8 {
                rest_bounds8_8(pcs, query_pcs_vec)
            } else {
                let eight: [u32; 8] = std::array::from_fn(|i| {
                    portable::rest_bound(&query_pcs[cw..bw], &pcs[i * bw + cw..(i + 1) * bw])
                });
                load8(&eight)
            }
        };
        let bounded = _mm256_cvtepi32_ps(_mm256_add_epi32(counts, rest));
        // The product is rounded before the sum, as `LinearBound::limit` does.
        let limit = _mm256_add_ps(offset, _mm256_mul_ps(slope, _mm256_cvtepi32_ps(load8(p8))));
        let passed = _mm256_cmp_ps::<_CMP_GE_OQ>(bounded, limit);
        let mask = _mm256_movemask_ps(passed);
        if mask != 0 {
            let mut eight = [0u32; 8];
            store8(counts, &mut eight);
            let mut bits = mask as u32;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let rest = &b8[i * bw + cw..(i + 1) * bw];
                at[n] = j0 + i as u32;
                common[n] = eight[i] + and_count_words(rest_q, rest);
                n += 1;
            }
        }
        j0 += 8;
    }
    let filters = fronts
        .remainder()
        .chunks_exact(fw)
        .zip(backs.remainder().chunks_exact(bw));
    for ((f, b), &pj) in filters.zip(pops.remainder()) {
        let prefix = and_count_words(query_front, f) + and_count_words(&query_back[..cw], &b[..cw]);
        let partner = portable::partner_pcs(back_pcs, j0 as usize, bw, cw);
        let rest = portable::rest_bound(&query_pcs[cw..bw], partner);
        if bound.passes(prefix + rest, pj) {
            at[n] = j0;
            common[n] = prefix + and_count_words(rest_q, &b[cw..]);
            n += 1;
        }
        j0 += 1;
    }
    n
}

/// `popcount(query & filter)` word by word (`POPCNT`), for a survivor's few unread words.
#[target_feature(enable = "popcnt")]
#[inline]
fn and_count_words(query: &[u64], filter: &[u64]) -> u32 {
    query
        .iter()
        .zip(filter)
        .map(|(q, f)| (q & f).count_ones())
        .sum()
}

/// The rest bounds of eight filters with 8-word back halves, as eight 32-bit lanes: the bytes
/// of `pcs` (eight word popcounts per filter) against `query_pcs` (the query's eight, repeated
/// in every 64-bit lane), the smaller of each pair, summed per filter by `vpsadbw`.
#[target_feature(enable = "avx2")]
#[inline]
fn rest_bounds8_8(pcs: &[u8], query_pcs: __m256i) -> __m256i {
    let pcs: &[u8; 64] = pcs.try_into().expect("eight filters' eight word popcounts");
    // SAFETY: `pcs` is 64 readable bytes, read as two 32-byte halves; `vmovdqu` has no
    // alignment requirement.
    let (lo, hi) = unsafe {
        (
            _mm256_loadu_si256(pcs.as_ptr().cast()),
            _mm256_loadu_si256(pcs.as_ptr().add(32).cast()),
        )
    };
    let zero = _mm256_setzero_si256();
    let sums_lo = _mm256_sad_epu8(_mm256_min_epu8(lo, query_pcs), zero);
    let sums_hi = _mm256_sad_epu8(_mm256_min_epu8(hi, query_pcs), zero);
    // Each sum is below 2^32: the low 32 bits of each 64-bit lane, filters 0-3 then 4-7.
    let pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    let lo4 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(sums_lo, pick));
    let hi4 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(sums_hi, pick));
    _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo4), hi4)
}

/// Loads eight 32-bit lanes (unaligned).
#[target_feature(enable = "avx2")]
#[inline]
fn load8(eight: &[u32]) -> __m256i {
    let eight: &[u32; 8] = eight.try_into().expect("eight lanes");
    // SAFETY: `eight` is 32 readable bytes; `vmovdqu` has no alignment requirement, and AVX
    // is enabled for this function.
    unsafe { _mm256_loadu_si256(eight.as_ptr().cast()) }
}
