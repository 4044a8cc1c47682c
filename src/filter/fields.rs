//! Per-field common-bit counts of record pairs: two parties' records in the `field` layout
//! (`fields` filters of `field_words` words each, one after the other) and a list of pairs in,
//! `popcount(a_f & b_f)` for every pair and field out.
//!
//! This is what probabilistic linkage (`linkage::fs`) needs per candidate pair: one count per
//! field, from which, with each field filter's cached popcount, its Dice and comparison level
//! follow. One call covers a batch of pairs, so the dispatch through a function pointer, chosen
//! once at run time as for [`super::Kernel`], is paid per batch and never per pair; a record is
//! read once per pair with every field fused (contiguous words), and the next pairs' records are
//! prefetched, which matters when the pairs are random (estimating `u`) and the records do not
//! fit in cache.
//!
//! | [`FieldCounter`] kind | method |
//! |---|---|
//! | portable | `u64::count_ones` for baseline x86-64; the reference |
//! | `POPCNT` | the same loop compiled with `POPCNT`, plus `prefetcht0` of the pairs ahead |
//! | `avx512` | `vpopcntq` per 8-word vector; four fields' lane counts packed into 16-bit slots so one reduction sums them; records of 4 to 8 fields of 8 words take a loop with the number of fields fixed at compile time |
//!
//! A field filter is typically 4 to 16 words, so a vector kernel that reduced each field's
//! count on its own would spend as much on the horizontal sums as it saves (the reason
//! [`super::Kernel::add_counts_at`] is scalar). The AVX-512 kernel avoids that: a lane's count of
//! one word is at most 64, so four fields' lane counts, shifted into the four 16-bit slots of
//! each 64-bit lane, are summed over the lanes by one `reduce_add` without carries between
//! slots (a slot holds at most `8 * 64 * W / 8` for `W`-word fields, far below 65,536). Widths
//! that are not a multiple of 8 words take the `POPCNT` loop. On AVX2-only CPUs (Zen 3) the
//! `POPCNT` loop is the fast one: they issue several `POPCNT`s per cycle.

use std::fmt;

/// `(left, right, record_words, field_words, pairs, out)`; `unsafe` because an implementation
/// may use instructions the CPU lacks (a [`FieldCounter`] holds one only after checking).
type PairCountsFn = unsafe fn(&[u64], &[u64], usize, usize, &[(u32, u32)], &mut [u32]);

/// How far ahead (in pairs) the records of later pairs are prefetched.
pub(crate) const PREFETCH_AHEAD: usize = 8;

/// Per-field common-bit counts, with the instruction set chosen once for this CPU.
#[derive(Clone, Copy)]
pub struct FieldCounter {
    name: &'static str,
    counts: PairCountsFn,
}

impl FieldCounter {
    /// The fastest implementation this CPU supports.
    pub fn detect() -> FieldCounter {
        ["avx512", "popcnt"]
            .into_iter()
            .find_map(FieldCounter::by_name)
            .unwrap_or_else(FieldCounter::portable)
    }

    /// The implementation named `name` (`portable`, `popcnt`, `avx512`: see
    /// [`FieldCounter::name`]), if this CPU supports it; for benchmarks that time one path
    /// (the `POPCNT` loop is what AVX2-only CPUs run).
    pub fn by_name(name: &str) -> Option<FieldCounter> {
        match name {
            "portable" => Some(FieldCounter::portable()),
            #[cfg(target_arch = "x86_64")]
            "popcnt" if std::arch::is_x86_feature_detected!("popcnt") => Some(FieldCounter {
                name: "popcnt",
                counts: x86_64::pair_counts,
            }),
            #[cfg(target_arch = "x86_64")]
            "avx512"
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::arch::is_x86_feature_detected!("popcnt") =>
            {
                Some(FieldCounter {
                    name: "avx512",
                    counts: x86_64::pair_counts_avx512,
                })
            }
            _ => None,
        }
    }

    /// The portable implementation, available everywhere (the reference in tests).
    pub fn portable() -> FieldCounter {
        FieldCounter {
            name: "portable",
            counts: portable_pair_counts,
        }
    }

    /// The implementation's short name (`portable`, `popcnt`, `avx512`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// For every pair `k = (a, b)` and field `f`, `out[k * fields + f] = popcount(left_a_f &
    /// right_b_f)`, where record `a` is `left[a * record_words..][..record_words]`, its field
    /// `f` the `field_words` words from `f * field_words`, and `fields = record_words /
    /// field_words`.
    ///
    /// # Panics
    ///
    /// If `field_words` is 0 or does not divide `record_words`, a side is not whole records,
    /// a pair names a record outside its side, or `out` is not `pairs.len() * fields` long.
    pub fn pair_counts(
        &self,
        left: &[u64],
        right: &[u64],
        record_words: usize,
        field_words: usize,
        pairs: &[(u32, u32)],
        out: &mut [u32],
    ) {
        assert!(
            field_words > 0 && record_words.is_multiple_of(field_words),
            "pair_counts: records are whole fields"
        );
        assert!(
            left.len().is_multiple_of(record_words) && right.len().is_multiple_of(record_words),
            "pair_counts: sides are whole records"
        );
        let fields = record_words / field_words;
        assert_eq!(
            Some(out.len()),
            pairs.len().checked_mul(fields),
            "pair_counts: one count per pair and field"
        );
        let (nl, nr) = (left.len() / record_words, right.len() / record_words);
        assert!(
            pairs
                .iter()
                .all(|&(a, b)| (a as usize) < nl && (b as usize) < nr),
            "pair_counts: every pair names records of the sides"
        );
        // SAFETY: `self.counts` is the portable function or one whose CPU feature `detect`
        // checked; implementations index the slices safely (the checks above only make the
        // panics precise).
        #[allow(unsafe_code)]
        unsafe {
            (self.counts)(left, right, record_words, field_words, pairs, out)
        }
    }
}

impl fmt::Debug for FieldCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCounter")
            .field("name", &self.name)
            .finish()
    }
}

/// The loop every implementation compiles; `prefetch` is called with the records of the pair
/// [`PREFETCH_AHEAD`] places on. Field filters of 4, 8 and 16 words (256, 512 and 1024 bits)
/// take loops unrolled at compile time.
#[inline(always)]
fn pair_counts_inline(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
    prefetch: impl Fn(&[u64]),
) {
    let any = |ra: &[u64], rb: &[u64], out: &mut [u32]| fields_of(field_words, ra, rb, out);
    let (l, r, rw, p) = (left, right, record_words, pairs);
    match field_words {
        4 => each_pair(l, r, rw, p, out, prefetch, fields_of_width::<4>),
        8 => each_pair(l, r, rw, p, out, prefetch, fields_of_width::<8>),
        16 => each_pair(l, r, rw, p, out, prefetch, fields_of_width::<16>),
        _ => each_pair(l, r, rw, p, out, prefetch, any),
    }
}

/// `out[f] = popcount(a_f & b_f)` for the `W`-word fields of two records.
#[inline(always)]
fn fields_of_width<const W: usize>(ra: &[u64], rb: &[u64], out: &mut [u32]) {
    let (fa, fb) = (ra.as_chunks::<W>().0, rb.as_chunks::<W>().0);
    for ((o, fa), fb) in out.iter_mut().zip(fa).zip(fb) {
        let mut sum = 0;
        for w in 0..W {
            sum += (fa[w] & fb[w]).count_ones();
        }
        *o = sum;
    }
}

/// [`fields_of_width`] for any width.
#[inline(always)]
fn fields_of(field_words: usize, ra: &[u64], rb: &[u64], out: &mut [u32]) {
    let fields = ra
        .chunks_exact(field_words)
        .zip(rb.chunks_exact(field_words));
    for (o, (fa, fb)) in out.iter_mut().zip(fields) {
        *o = fa.iter().zip(fb).map(|(x, y)| (x & y).count_ones()).sum();
    }
}

/// Calls `count(record_a, record_b, out_k)` for every pair `k`, prefetching ahead.
#[inline(always)]
fn each_pair(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
    prefetch: impl Fn(&[u64]),
    count: impl Fn(&[u64], &[u64], &mut [u32]),
) {
    if pairs.is_empty() {
        return;
    }
    let fields = out.len() / pairs.len();
    for (k, (&(a, b), out)) in pairs.iter().zip(out.chunks_exact_mut(fields)).enumerate() {
        if let Some(&(na, nb)) = pairs.get(k + PREFETCH_AHEAD) {
            prefetch(&right[nb as usize * record_words..][..record_words]);
            if na != a {
                prefetch(&left[na as usize * record_words..][..record_words]);
            }
        }
        count(
            &left[a as usize * record_words..][..record_words],
            &right[b as usize * record_words..][..record_words],
            out,
        );
    }
}

/// The portable implementation.
///
/// # Safety
///
/// None needed; `unsafe` only to share [`PairCountsFn`]'s type.
#[allow(unsafe_code)]
unsafe fn portable_pair_counts(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
) {
    pair_counts_inline(left, right, record_words, field_words, pairs, out, |_| ());
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64 {
    // `#[target_feature]` functions are `unsafe` to call on a CPU without the feature; only
    // `FieldCounter::detect` hands this one out, after the check.
    #![allow(unsafe_code)]

    use std::arch::x86_64::{
        __m128i, __m512i, _MM_HINT_T0, _mm_prefetch, _mm_unpacklo_epi64, _mm256_zextsi128_si256,
        _mm512_add_epi64, _mm512_and_si512, _mm512_castsi512_si128, _mm512_cvtepu16_epi32,
        _mm512_extracti32x4_epi32, _mm512_loadu_si512, _mm512_mask_storeu_epi32, _mm512_or_si512,
        _mm512_popcnt_epi64, _mm512_reduce_add_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
        _mm512_shuffle_epi32, _mm512_shuffle_i64x2, _mm512_slli_epi64, _mm512_sllv_epi64,
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
                            lanes = _mm512_add_epi64(
                                lanes,
                                _mm512_popcnt_epi64(_mm512_and_si512(x, y)),
                            );
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

    /// The pair loop for records of `F` fields of 8 words ([`one_vector`]), each record
    /// prefetched by `F` hints in a row (no loop over its lines).
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    fn each_pair_one_vector<const F: usize>(
        left: &[u64],
        right: &[u64],
        record_words: usize,
        pairs: &[(u32, u32)],
        out: &mut [u32],
    ) {
        let prefetch = |record: &[u64]| {
            for line in record.as_chunks::<8>().0.iter().take(F) {
                _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
            }
        };
        super::each_pair(
            left,
            right,
            record_words,
            pairs,
            out,
            prefetch,
            |a, b, o| one_vector::<F>(a, b, o),
        );
    }

    /// `F` fields of one 512-bit vector each (4 to 8 fields, unrolled at compile time): the
    /// lane counts of fields 0-3 and 4-7 packed into the 16-bit slots of two vectors by
    /// immediate shifts, both summed over their lanes at once (three shuffle-and-add steps),
    /// and the eight 16-bit sums widened and stored by one masked store.
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    fn one_vector<const F: usize>(ra: &[u64], rb: &[u64], out: &mut [u32]) {
        let Some(out) = out.get_mut(..F) else {
            return; // never taken: one count per field
        };
        let (Some(va), Some(vb)) = (
            ra.as_chunks::<8>().0.get(..F),
            rb.as_chunks::<8>().0.get(..F),
        ) else {
            return; // the caller passes whole records of F fields; never taken
        };
        let (Ok(va), Ok(vb)) = (va.try_into(), vb.try_into()) else {
            return; // never taken: F fields each
        };
        let sums = fields_of_vectors::<F>(va, vb);
        let wide = _mm512_cvtepu16_epi32(_mm256_zextsi128_si256(sums));
        // SAFETY: `out` holds exactly F <= 16 `u32`s; the mask writes only those.
        unsafe { _mm512_mask_storeu_epi32(out.as_mut_ptr().cast(), (1u16 << F) - 1, wide) };
    }

    /// The common-bit counts of `F` fields of one 512-bit vector each (4 to 8), as the eight
    /// 16-bit lanes of the result (0 past field `F`), for loops that keep the counts in
    /// registers (`linkage::fs::count`'s fused loop).
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(crate) fn fields_of_vectors<const F: usize>(
        va: &[[u64; 8]; F],
        vb: &[[u64; 8]; F],
    ) -> __m128i {
        const { assert!(F >= 4 && F <= 8) };
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(left: &[u64], right: &[u64], rw: usize, fw: usize, pairs: &[(u32, u32)]) -> Vec<u32> {
        let mut out = Vec::new();
        for &(a, b) in pairs {
            for f in 0..rw / fw {
                let fa = &left[a as usize * rw + f * fw..][..fw];
                let fb = &right[b as usize * rw + f * fw..][..fw];
                out.push(fa.iter().zip(fb).map(|(x, y)| (x & y).count_ones()).sum());
            }
        }
        out
    }

    #[test]
    fn every_implementation_equals_the_naive_count() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state ^ (state >> 29)
        };
        for (fields, fw) in [
            (1, 1),
            (3, 2),
            (8, 8),
            (4, 8),
            (5, 8),
            (6, 8),
            (7, 8),
            (9, 8),
            (5, 16),
            (2, 7),
        ] {
            let rw = fields * fw;
            let left: Vec<u64> = (0..40 * rw).map(|_| next()).collect();
            let right: Vec<u64> = (0..30 * rw).map(|_| next() & next()).collect();
            let pairs: Vec<(u32, u32)> = (0..100)
                .map(|_| ((next() % 40) as u32, (next() % 30) as u32))
                .collect();
            let want = naive(&left, &right, rw, fw, &pairs);
            let named = ["portable", "popcnt", "avx512"].map(FieldCounter::by_name);
            let counters = [Some(FieldCounter::detect())].into_iter().chain(named);
            for counter in counters.flatten() {
                let mut out = vec![0; pairs.len() * fields];
                counter.pair_counts(&left, &right, rw, fw, &pairs, &mut out);
                assert_eq!(out, want, "{} at {fields} x {fw}", counter.name());
            }
        }
    }

    #[test]
    fn by_name_gives_the_named_kind_or_none() {
        for name in ["portable", "popcnt", "avx512"] {
            if let Some(counter) = FieldCounter::by_name(name) {
                assert_eq!(counter.name(), name);
            }
        }
        assert_eq!(
            FieldCounter::by_name("portable").map(|c| c.name()),
            Some("portable")
        );
        assert!(FieldCounter::by_name("sse9").is_none());
        let best = FieldCounter::detect();
        assert_eq!(
            FieldCounter::by_name(best.name()).map(|c| c.name()),
            Some(best.name())
        );
    }

    #[test]
    #[should_panic(expected = "every pair names records")]
    fn a_pair_outside_the_records_panics() {
        let side = vec![0u64; 4];
        let mut out = vec![0; 2];
        FieldCounter::detect().pair_counts(&side, &side, 4, 2, &[(1, 0)], &mut out);
    }
}
