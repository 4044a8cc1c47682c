//! AVX2 kernel: Muła's nibble-lookup popcount.
//!
//! AVX2 has no vector popcount instruction. `vpshufb` looks up 32 bytes at once in a 16-entry
//! table, so the popcount of every byte is `table[low nibble] + table[high nibble]`; the byte
//! counts of a whole filter are added as bytes and then summed into four 64-bit lanes by
//! `vpsadbw` (sum of absolute differences against zero). See W. Muła, N. Kurz, D. Lemire,
//! "Faster Population Counts Using AVX2 Instructions", The Computer Journal 61(1), 2018.
//!
//! Two refinements for the one-query-many-filters shape:
//!
//! * The query is split into its low and high nibbles (`query & 0x0f`, `query & 0xf0` per
//!   byte) once per tile. Then the low nibbles of `query & filter` are `filter & query_lo`, and
//!   the high nibbles are `(filter & query_hi) >> 4` (a 16-bit shift, whose carried-in bits are
//!   already zero): seven instructions per vector instead of eight. (Splitting as
//!   `(filter >> 4) & (query >> 4)` would not help: LLVM rewrites it back to the eight.)
//! * Four filters' partial sums are reduced together by a small transpose (unpack, then swap
//!   128-bit halves) instead of one horizontal sum per filter, and their four counts are stored
//!   with one 128-bit store.
//!
//! Measured on the development machine (AMD EPYC Zen 3, 1024-bit filters, 2,048-filter tile):
//! this kernel ~325 M comparisons/s against ~213 M for `POPCNT`. Harley-Seal carry-save adders
//! (the paper's faster method for long inputs) need many vectors per count to pay off; over the
//! four vectors of a 1024-bit filter a carry-save variant reached only ~265 M, and handing every
//! fourth filter to scalar `POPCNT` (to use the integer pipes too) ~307 M.

// The crate warns on `unsafe_code`. This module needs it: the entry point is an `unsafe fn`
// (calling `#[target_feature]` code on a CPU without the feature is undefined behaviour), and
// vector loads and stores take raw pointers. Every pointer comes from a slice of the right
// length, see the SAFETY comments.
#![allow(unsafe_code)]

use super::super::{LinearBound, portable};

use std::arch::x86_64::{
    __m128i, __m256i, _mm_add_epi32, _mm_add_epi64, _mm_add_ps, _mm_cmpge_ps, _mm_cvtepi32_ps,
    _mm_cvtsi128_si64, _mm_loadu_si128, _mm_movemask_ps, _mm_mul_ps, _mm_set1_epi32, _mm_set1_ps,
    _mm_setzero_si128, _mm_storeu_si128, _mm_unpackhi_epi64, _mm256_add_epi8, _mm256_add_epi64,
    _mm256_and_si256, _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_loadu_si256,
    _mm256_min_epu8, _mm256_permute2x128_si256, _mm256_permutevar8x32_epi32, _mm256_sad_epu8,
    _mm256_set1_epi8, _mm256_set1_epi64x, _mm256_setr_epi8, _mm256_setr_epi32,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm256_unpackhi_epi64,
    _mm256_unpacklo_epi64,
};

/// `out[j] = popcount(query & filter_j)` for every filter of `block` (`words` words each).
///
/// # Safety
///
/// The CPU must support AVX2 and `POPCNT` (see `super::avx2_available`). Memory is accessed
/// only within the slices, so lengths are not a safety condition.
#[target_feature(enable = "avx2,popcnt")]
pub(in crate::filter::kernel) unsafe fn and_counts(
    query: &[u64],
    block: &[u64],
    words: usize,
    out: &mut [u32],
) {
    match words {
        8 => fixed::<2>(query, block, out),
        16 => fixed::<4>(query, block, out),
        32 => fixed::<8>(query, block, out),
        64 => fixed::<16>(query, block, out),
        _ => any_width(query, block, words, out),
    }
}

/// Filters of `4 * V` words (`V` vectors), four filters per step.
///
/// Byte counts reach at most `8 * V` before `vpsadbw`, so `V <= 31`.
#[target_feature(enable = "avx2,popcnt")]
fn fixed<const V: usize>(query: &[u64], block: &[u64], out: &mut [u32]) {
    const { assert!(V >= 1 && V <= 31) };
    let words = 4 * V;
    if query.len() != words {
        return; // the safe wrapper has asserted this; never taken
    }
    let low4 = _mm256_set1_epi8(0x0f);
    let high4 = _mm256_set1_epi8(0xf0_u8 as i8);
    let mut query_lo = [_mm256_setzero_si256(); V];
    let mut query_hi = [_mm256_setzero_si256(); V];
    for ((lo, hi), chunk) in query_lo
        .iter_mut()
        .zip(query_hi.iter_mut())
        .zip(query.chunks_exact(4))
    {
        let q = load(chunk);
        *lo = _mm256_and_si256(q, low4);
        *hi = _mm256_and_si256(q, high4);
    }

    let mut groups = block.chunks_exact(4 * words);
    let mut counts = out.chunks_exact_mut(4);
    for (group, count) in (&mut groups).zip(&mut counts) {
        let mut sums = [_mm256_setzero_si256(); 4];
        for (sum, filter) in sums.iter_mut().zip(group.chunks_exact(words)) {
            *sum = filter_sums(&query_lo, &query_hi, filter);
        }
        store4(reduce4(sums), count);
    }

    // The last one to three filters: the same reduction with zero sums for the missing ones.
    let rest = counts.into_remainder();
    if !rest.is_empty() {
        let mut sums = [_mm256_setzero_si256(); 4];
        for (sum, filter) in sums.iter_mut().zip(groups.remainder().chunks_exact(words)) {
            *sum = filter_sums(&query_lo, &query_hi, filter);
        }
        let mut four = [0u32; 4];
        store4(reduce4(sums), &mut four);
        rest.copy_from_slice(&four[..rest.len()]);
    }
}

/// `out[j] = popcount(query_front & front_j) + popcount(query_back & back_j)`, back half `j`
/// being `back[j * back_stride..][..back_words]` (see `Kernel::and_counts_split_strided`).
///
/// # Safety
///
/// As [`and_counts`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,popcnt")]
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
    let (qf, qb) = (query_front, query_back);
    match (front_words, back_words, back_stride) {
        (4, 4, 4) => fixed_split::<1, 1>(qf, qb, front, back, 4, out),
        (8, 8, 8) => fixed_split::<2, 2>(qf, qb, front, back, 8, out),
        (16, 16, 16) => fixed_split::<4, 4>(qf, qb, front, back, 16, out),
        (32, 32, 32) => fixed_split::<8, 8>(qf, qb, front, back, 32, out),
        (8, 4, 8) => fixed_split::<2, 1>(qf, qb, front, back, 8, out),
        (16, 8, 16) => fixed_split::<4, 2>(qf, qb, front, back, 16, out),
        (fw, bw, stride) => {
            let halves = front
                .chunks_exact(fw.max(1))
                .zip(back.chunks_exact(stride.max(1)));
            for ((f, b), count) in halves.zip(out.iter_mut()) {
                *count = and_count_any(qf, f) + and_count_any(qb, &b[..bw]);
            }
        }
    }
}

/// Filters stored as a front of `4 * F` words and a back of `4 * B` words (`stride` words
/// apart), four filters per step: both parts' byte counts are added before one `vpsadbw`, so a
/// split filter costs what a whole one costs in [`fixed`].
///
/// Byte counts reach at most `8 * (F + B)` before `vpsadbw`, so `F + B <= 31`.
#[target_feature(enable = "avx2,popcnt")]
fn fixed_split<const F: usize, const B: usize>(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    stride: usize,
    out: &mut [u32],
) {
    const { assert!(F >= 1 && B >= 1 && F + B <= 31) };
    let (fw, bw) = (4 * F, 4 * B);
    if query_front.len() != fw || query_back.len() != bw || stride < bw {
        return; // the safe wrapper has asserted this; never taken
    }
    let front_q = split_query::<F>(query_front);
    let back_q = split_query::<B>(query_back);
    let mut fronts = front.chunks_exact(4 * fw);
    let mut backs = back.chunks_exact(4 * stride);
    let mut counts = out.chunks_exact_mut(4);
    for ((f4, b4), count) in (&mut fronts).zip(&mut backs).zip(&mut counts) {
        let mut s = [_mm256_setzero_si256(); 4];
        for (sum, (f, b)) in s
            .iter_mut()
            .zip(f4.chunks_exact(fw).zip(b4.chunks_exact(stride)))
        {
            *sum = split_sums(&front_q, &back_q, f, &b[..bw]);
        }
        store4(reduce4(s), count);
    }
    let rest = counts.into_remainder();
    if !rest.is_empty() {
        let mut s = [_mm256_setzero_si256(); 4];
        let halves = fronts
            .remainder()
            .chunks_exact(fw)
            .zip(backs.remainder().chunks_exact(stride));
        for (sum, (f, b)) in s.iter_mut().zip(halves) {
            *sum = split_sums(&front_q, &back_q, f, &b[..bw]);
        }
        let mut four = [0u32; 4];
        store4(reduce4(s), &mut four);
        rest.copy_from_slice(&four[..rest.len()]);
    }
}

/// `Kernel::select_split`: the prefix counts of four filters at a time reduced in registers,
/// compared with the bound there (`cvtdq2ps`, `mulps`, `addps`, `cmpps`, `movmskps`), and only
/// the survivors' rest counted, by `POPCNT` (a survivor's rest is one or two vectors' worth of
/// words, which four to eight `POPCNT`s count faster than a vector reduction would).
///
/// # Safety
///
/// As [`and_counts`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,popcnt")]
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
        (8, 8, 0) => select_fixed::<2, 0, 2>(qf, qb, f, b, bp, p, bound, at, common),
        (8, 8, 4) => select_fixed::<2, 1, 1>(qf, qb, f, b, bp, p, bound, at, common),
        (8, 8, 8) => select_fixed::<2, 2, 0>(qf, qb, f, b, bp, p, bound, at, common),
        (4, 4, 0) => select_fixed::<1, 0, 1>(qf, qb, f, b, bp, p, bound, at, common),
        (4, 4, 4) => select_fixed::<1, 1, 0>(qf, qb, f, b, bp, p, bound, at, common),
        (16, 16, 0) => select_fixed::<4, 0, 4>(qf, qb, f, b, bp, p, bound, at, common),
        (16, 16, 8) => select_fixed::<4, 2, 2>(qf, qb, f, b, bp, p, bound, at, common),
        (16, 16, 16) => select_fixed::<4, 4, 0>(qf, qb, f, b, bp, p, bound, at, common),
        _ => portable::select_split_inline(qf, qb, f, b, bp, counted, p, bound, at, common),
    }
}

/// [`select_split`] for a front of `4 * F` words and a back of `4 * (C + R)` words of which
/// `4 * C` are counted before the bound, four filters per step. The rest bounds of four
/// filters with 8-word backs are `vpminub` of their word popcounts against the query's (zero on
/// the counted words) and one `vpsadbw`; other widths add them up word by word.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,popcnt")]
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
    const { assert!(F >= 1 && C + R >= 1 && F + C <= 31) };
    let (fw, cw, bw) = (4 * F, 4 * C, 4 * (C + R));
    if query_front.len() != fw || query_back.len() != bw {
        return 0; // the safe wrapper has asserted this; never taken
    }
    let front_q = split_query::<F>(query_front);
    let back_q = split_query::<C>(&query_back[..cw]);
    let rest_q = &query_back[cw..];
    let (query_pcs, query_rest) = portable::query_rest_pcs(query_back, cw);
    let query_pcs_vec = _mm256_set1_epi64x(i64::from_le_bytes(
        query_pcs[..8].try_into().expect("eight bytes"),
    ));
    let offset = _mm_set1_ps(bound.offset);
    let slope = _mm_set1_ps(bound.slope);
    let mut n = 0;
    let mut fronts = front.chunks_exact(4 * fw);
    let mut backs = back.chunks_exact(4 * bw);
    let mut pops = popcounts.chunks_exact(4);
    let mut j0 = 0u32;
    for ((f4, b4), p4) in (&mut fronts).zip(&mut backs).zip(&mut pops) {
        let mut s = [_mm256_setzero_si256(); 4];
        for (sum, (f, b)) in s
            .iter_mut()
            .zip(f4.chunks_exact(fw).zip(b4.chunks_exact(bw)))
        {
            *sum = split_sums(&front_q, &back_q, f, &b[..cw]);
        }
        let counts = reduce4(s);
        let rest = if R == 0 {
            _mm_setzero_si128()
        } else if back_pcs.is_empty() {
            _mm_set1_epi32(query_rest as i32)
        } else {
            let pcs = &back_pcs[j0 as usize * bw..(j0 as usize + 4) * bw];
            if bw == 8 {
                rest_bounds4_8(pcs, query_pcs_vec)
            } else {
                let four: [u32; 4] = std::array::from_fn(|i| {
                    portable::rest_bound(&query_pcs[cw..bw], &pcs[i * bw + cw..(i + 1) * bw])
                });
                load4(&four)
            }
        };
        let bounded = _mm_cvtepi32_ps(_mm_add_epi32(counts, rest));
        // The product is rounded before the sum, as `LinearBound::limit` does.
        let limit = _mm_add_ps(offset, _mm_mul_ps(slope, _mm_cvtepi32_ps(load4(p4))));
        let mask = _mm_movemask_ps(_mm_cmpge_ps(bounded, limit));
        if mask != 0 {
            let mut four = [0u32; 4];
            store4(counts, &mut four);
            let mut bits = mask as u32;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let rest = &b4[i * bw + cw..(i + 1) * bw];
                at[n] = j0 + i as u32;
                common[n] = four[i] + and_count_words(rest_q, rest);
                n += 1;
            }
        }
        j0 += 4;
    }
    let filters = fronts
        .remainder()
        .chunks_exact(fw)
        .zip(backs.remainder().chunks_exact(bw));
    for ((f, b), &pj) in filters.zip(pops.remainder()) {
        let prefix = and_count_any(query_front, f) + and_count_any(&query_back[..cw], &b[..cw]);
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

/// The rest bounds of four filters with 8-word back halves, as four 32-bit lanes: the bytes
/// of `pcs` (eight word popcounts per filter) against `query_pcs` (the query's eight, repeated
/// in every 64-bit lane), the smaller of each pair, summed per filter by `vpsadbw`.
#[target_feature(enable = "avx2")]
#[inline]
fn rest_bounds4_8(pcs: &[u8], query_pcs: __m256i) -> __m128i {
    let pcs: &[u8; 32] = pcs.try_into().expect("four filters' eight word popcounts");
    // SAFETY: `pcs` is 32 readable bytes; `vmovdqu` has no alignment requirement.
    let v = unsafe { _mm256_loadu_si256(pcs.as_ptr().cast()) };
    let sums = _mm256_sad_epu8(_mm256_min_epu8(v, query_pcs), _mm256_setzero_si256());
    // Each sum is below 2^32: the low 32 bits of each lane, packed into the low half.
    let packed = _mm256_permutevar8x32_epi32(sums, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
    _mm256_castsi256_si128(packed)
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

/// Loads four 32-bit lanes (unaligned).
#[target_feature(enable = "avx2")]
#[inline]
fn load4(four: &[u32]) -> __m128i {
    let four: &[u32; 4] = four.try_into().expect("four lanes");
    // SAFETY: `four` is 16 readable bytes; `movdqu` has no alignment requirement, and SSE2 is
    // part of x86-64.
    unsafe { _mm_loadu_si128(four.as_ptr().cast()) }
}

/// The query's low and high nibbles, vector by vector.
type Nibbles<const V: usize> = ([__m256i; V], [__m256i; V]);

/// Popcount of `query & filter` for a filter stored as two parts of `4 * F` and `4 * B`
/// words, as four 64-bit partial sums: both parts' byte counts, then one `vpsadbw`.
#[target_feature(enable = "avx2")]
#[inline]
fn split_sums<const F: usize, const B: usize>(
    front_q: &Nibbles<F>,
    back_q: &Nibbles<B>,
    front: &[u64],
    back: &[u64],
) -> __m256i {
    let table = nibble_table();
    let bytes = nibble_bytes(table, &front_q.0, &front_q.1, front, _mm256_setzero_si256());
    let bytes = nibble_bytes(table, &back_q.0, &back_q.1, back, bytes);
    _mm256_sad_epu8(bytes, _mm256_setzero_si256())
}

/// A query of `4 * V` words as its low and high nibbles, vector by vector (see the module
/// docs).
#[target_feature(enable = "avx2")]
#[inline]
fn split_query<const V: usize>(query: &[u64]) -> Nibbles<V> {
    let low4 = _mm256_set1_epi8(0x0f);
    let high4 = _mm256_set1_epi8(0xf0_u8 as i8);
    let mut lo = [_mm256_setzero_si256(); V];
    let mut hi = [_mm256_setzero_si256(); V];
    for ((l, h), chunk) in lo.iter_mut().zip(hi.iter_mut()).zip(query.chunks_exact(4)) {
        let q = load(chunk);
        *l = _mm256_and_si256(q, low4);
        *h = _mm256_and_si256(q, high4);
    }
    (lo, hi)
}

/// `bytes` plus the per-byte popcounts of `query & filter` (`4 * V` words, the query given as
/// its nibbles).
#[target_feature(enable = "avx2")]
#[inline]
fn nibble_bytes<const V: usize>(
    table: __m256i,
    query_lo: &[__m256i; V],
    query_hi: &[__m256i; V],
    filter: &[u64],
    mut bytes: __m256i,
) -> __m256i {
    for ((lo, hi), chunk) in query_lo.iter().zip(query_hi).zip(filter.chunks_exact(4)) {
        let f = load(chunk);
        let low = _mm256_and_si256(f, *lo);
        let high = _mm256_srli_epi16::<4>(_mm256_and_si256(f, *hi));
        bytes = _mm256_add_epi8(bytes, _mm256_shuffle_epi8(table, low));
        bytes = _mm256_add_epi8(bytes, _mm256_shuffle_epi8(table, high));
    }
    bytes
}

/// Popcount of `query & filter` for a filter of `4 * V` words, as four 64-bit partial sums.
#[target_feature(enable = "avx2")]
#[inline]
fn filter_sums<const V: usize>(
    query_lo: &[__m256i; V],
    query_hi: &[__m256i; V],
    filter: &[u64],
) -> __m256i {
    let table = nibble_table();
    let mut bytes = _mm256_setzero_si256();
    for ((lo, hi), chunk) in query_lo.iter().zip(query_hi).zip(filter.chunks_exact(4)) {
        let f = load(chunk);
        // Low nibbles of `query & filter`, each in 0..16.
        let low = _mm256_and_si256(f, *lo);
        // High nibbles: `f & hi` keeps bits 4 to 7 of every byte, and shifting each 16-bit
        // lane right by 4 moves them to bits 0 to 3 of the same byte; the bits shifted in
        // (from the next byte's cleared low nibble, or zeros at the top) are all zero.
        let high = _mm256_srli_epi16::<4>(_mm256_and_si256(f, *hi));
        bytes = _mm256_add_epi8(bytes, _mm256_shuffle_epi8(table, low));
        bytes = _mm256_add_epi8(bytes, _mm256_shuffle_epi8(table, high));
    }
    _mm256_sad_epu8(bytes, _mm256_setzero_si256())
}

/// Reduces four filters' partial sums (four 64-bit lanes each) to their four totals, as 32-bit
/// lanes `[t0, t1, t2, t3]`.
#[target_feature(enable = "avx2")]
#[inline]
fn reduce4(s: [__m256i; 4]) -> __m128i {
    // Within each 128-bit half: [s0[0] + s0[1], s1[0] + s1[1] | s0[2] + s0[3], s1[2] + s1[3]].
    let p01 = _mm256_add_epi64(
        _mm256_unpacklo_epi64(s[0], s[1]),
        _mm256_unpackhi_epi64(s[0], s[1]),
    );
    let p23 = _mm256_add_epi64(
        _mm256_unpacklo_epi64(s[2], s[3]),
        _mm256_unpackhi_epi64(s[2], s[3]),
    );
    // Low halves [p01.lo, p23.lo] plus high halves [p01.hi, p23.hi]: [t0, t1, t2, t3] as u64.
    let totals = _mm256_add_epi64(
        _mm256_permute2x128_si256::<0x20>(p01, p23),
        _mm256_permute2x128_si256::<0x31>(p01, p23),
    );
    // Each total is below 2^32: keep the low 32 bits of each lane, packed into the low half.
    let packed = _mm256_permutevar8x32_epi32(totals, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
    _mm256_castsi256_si128(packed)
}

/// Any width, one filter at a time: whole vectors by lookup, the last `words % 4` words by
/// `POPCNT`.
#[target_feature(enable = "avx2,popcnt")]
fn any_width(query: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    for (filter, count) in block.chunks_exact(words).zip(out.iter_mut()) {
        *count = and_count_any(query, filter);
    }
}

/// `popcount(query & filter)` for equally long slices of any length.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn and_count_any(query: &[u64], filter: &[u64]) -> u32 {
    let table = nibble_table();
    let zero = _mm256_setzero_si256();
    let q_chunks = query.chunks_exact(4);
    let f_chunks = filter.chunks_exact(4);
    let (q_tail, f_tail) = (q_chunks.remainder(), f_chunks.remainder());

    let mut sums = zero;
    let mut bytes = zero;
    let mut pending = 0;
    for (q, f) in q_chunks.zip(f_chunks) {
        bytes = _mm256_add_epi8(
            bytes,
            nibble_popcount(table, _mm256_and_si256(load(q), load(f))),
        );
        pending += 1;
        // A byte gains at most 8 per vector: flush before it could pass 255.
        if pending == 31 {
            sums = _mm256_add_epi64(sums, _mm256_sad_epu8(bytes, zero));
            bytes = zero;
            pending = 0;
        }
    }
    sums = _mm256_add_epi64(sums, _mm256_sad_epu8(bytes, zero));
    let half = _mm_add_epi64(
        _mm256_castsi256_si128(sums),
        _mm256_extracti128_si256::<1>(sums),
    );
    let total = _mm_add_epi64(half, _mm_unpackhi_epi64(half, half));
    let vectors = _mm_cvtsi128_si64(total) as u32;

    let mut tail = 0;
    for (q, f) in q_tail.iter().zip(f_tail) {
        tail += (q & f).count_ones();
    }
    vectors + tail
}

/// Popcount of every byte of `v` (0 to 8 per byte).
#[target_feature(enable = "avx2")]
#[inline]
fn nibble_popcount(table: __m256i, v: __m256i) -> __m256i {
    let low4 = _mm256_set1_epi8(0x0f);
    let low = _mm256_and_si256(v, low4);
    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low4);
    _mm256_add_epi8(
        _mm256_shuffle_epi8(table, low),
        _mm256_shuffle_epi8(table, high),
    )
}

/// Popcount of 0 to 15, repeated in both 128-bit halves (`vpshufb` looks up within a half).
#[target_feature(enable = "avx2")]
#[inline]
fn nibble_table() -> __m256i {
    _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, //
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    )
}

/// Loads four words (unaligned).
#[target_feature(enable = "avx2")]
#[inline]
fn load(words: &[u64]) -> __m256i {
    let words: &[u64; 4] = words.try_into().expect("a vector is four words");
    // SAFETY: `words` is 32 readable bytes; `vmovdqu` has no alignment requirement, and AVX
    // (implied by AVX2) is enabled for this function.
    unsafe { _mm256_loadu_si256(words.as_ptr().cast()) }
}

/// Stores four 32-bit lanes to `out[..4]` (unaligned).
#[target_feature(enable = "avx2")]
#[inline]
fn store4(v: __m128i, out: &mut [u32]) {
    let out: &mut [u32; 4] = out.try_into().expect("four counts");
    // SAFETY: `out` is 16 writable bytes; `movdqu` has no alignment requirement, and SSE2 is
    // part of x86-64.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) }
}
