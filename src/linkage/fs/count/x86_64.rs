//! The pattern index of a batch of pairs with AVX2: every pair's common-bit counts, the two
//! records' popcounts and missing masks in, one histogram increment per pair out.
//!
//! The scalar loop ([`super::Pass::count`]) spends about twenty instructions per field; here all
//! fields of a pair (up to eight) go through one pass of vector instructions: the row of bounds
//! of every field is fetched by one masked gather per four fields (missing fields and lanes past
//! the record are not read), each field's count is copied into the four 16-bit slots of its row,
//! one 16-bit compare tells which bounds lie above it, `vpsadbw` counts them, and one
//! multiplication by the fields' strides, masked to the present fields, gives the terms of the
//! pattern index. The result equals the scalar loop's for every input (tested).

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m256i, _MM_HINT_T0, _mm_add_epi64, _mm_cvtsi128_si64, _mm_prefetch, _mm_unpackhi_epi64,
    _mm256_add_epi32, _mm256_add_epi64, _mm256_and_si256, _mm256_castsi256_ps,
    _mm256_castsi256_si128, _mm256_cmpeq_epi32, _mm256_cmpgt_epi16, _mm256_cmpgt_epi32,
    _mm256_cvtepi32_epi64, _mm256_cvtepu16_epi32, _mm256_cvtepu32_epi64, _mm256_extracti128_si256,
    _mm256_loadu_si256, _mm256_mask_i32gather_epi64, _mm256_movemask_ps, _mm256_mul_epu32,
    _mm256_mullo_epi32, _mm256_sad_epu8, _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_setr_epi8,
    _mm256_setr_epi32, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_slli_epi32,
    _mm256_srli_epi16,
};

use super::{PatternCounts, SLOTS};
use crate::filter::fields::PREFETCH_AHEAD;
use crate::filter::fields::x86_64::{avx2_field_counts, fields_of_vectors};

/// A fused loop of [`Avx2Fold`] for records of `F` fields of 8 words: `$counts` gives a
/// pair's common-bit counts, one per lane, from its records `$ra` and `$rb`; the loop
/// prefetches ahead and folds ([`Avx2Fold::fold`]). One macro so that each instruction set
/// gets its own `#[target_feature]` function around the same loop.
macro_rules! fused_loop {
    ($(#[$doc:meta])* $name:ident, $features:literal, |$ra:ident, $rb:ident| $counts:expr) => {
        $(#[$doc])*
        #[target_feature(enable = $features)]
        fn $name<const F: usize>(
            &self,
            (left, right): (&[u64], &[u64]),
            pairs: &[(u32, u32)],
            pops: (&[u32], &[u32]),
            missing: impl Fn(usize, usize) -> u64,
            counts: &mut PatternCounts,
        ) {
            let common = |k: usize, a: usize, b: usize| {
                prefetch_ahead::<F>((left, right), pairs, k, a);
                let ($ra, $rb) = (record::<F>(left, a), record::<F>(right, b));
                $counts
            };
            self.fold(pairs, common, pops, missing, counts);
        }
    };
}

/// The instructions that count the common bits in [`Avx2Fold::count_fused`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fused {
    /// `POPCNT`, word by word.
    Popcnt,
    /// AVX2 nibble tables, 256 bits at a time.
    Avx2,
    /// AVX-512 `vpopcntq`, 512 bits at a time.
    Avx512,
}

/// Lanes of one pass: the most fields this path takes.
pub(super) const LANES: usize = 8;

/// What the vector loop needs of a counting pass, checked once by [`Avx2Fold::new`].
pub(super) struct Avx2Fold<'a> {
    /// Packed rows of bounds, field after field ([`super::LevelTable`]).
    rows: &'a [u64],
    /// Per lane: the first row of its field (`f * totals`).
    bases: [i32; LANES],
    /// Per lane: the field's stride in the pattern index (0 past the last field).
    strides: [u32; LANES],
    /// Per lane: the field's [`super::LevelTable`] floor (0 past the last field).
    floors: [u32; LANES],
    /// Per missing-field mask: the pattern index where every present field is at its lowest
    /// level, the pattern of most pairs (unrelated records).
    lowest: Vec<usize>,
    width: usize,
}

/// What [`Avx2Fold::new`] takes of a counting pass: packed rows of bounds, `totals` rows per
/// field, the fields' strides and floors, the [`super::Pass`] weights and each field's
/// lowest-level bits.
pub(super) struct FoldTable<'a, 'w> {
    pub(super) rows: &'a [u64],
    pub(super) totals: usize,
    pub(super) strides: &'a [usize],
    pub(super) floors: &'a [u32],
    pub(super) weights: &'w [usize],
    pub(super) else_bits: &'w [usize],
}

impl<'a> Avx2Fold<'a> {
    /// The fold for `width` fields with `totals` rows each, if this CPU has AVX2 and the shape
    /// fits the lanes: at most [`LANES`] fields, row numbers and strides within 32 bits, a
    /// floor per field and a lowest pattern per mask of missing fields.
    pub(super) fn new(table: FoldTable<'a, '_>) -> Option<Avx2Fold<'a>> {
        let FoldTable {
            rows,
            totals,
            strides,
            floors,
            weights,
            else_bits,
        } = table;
        let width = strides.len();
        let fits = width <= LANES
            && rows.len() == width * totals
            && i32::try_from(rows.len()).is_ok()
            && strides.iter().all(|&s| u32::try_from(s).is_ok())
            && floors.len() == width
            && else_bits.len() == width
            && weights.len() == width * SLOTS;
        if !(fits && std::arch::is_x86_feature_detected!("avx2")) {
            return None;
        }
        let lowest = (0..1usize << width)
            .map(|gone| {
                let fields = else_bits.iter().enumerate();
                fields
                    .map(|(f, &bits)| weights[f * SLOTS + ((gone >> f & 1) << 4 | bits)])
                    .sum()
            })
            .collect();

        let mut bases = [0i32; LANES];
        let mut lanes = [0u32; LANES];
        let mut floor = [0u32; LANES];
        for f in 0..width {
            bases[f] = (f * totals) as i32;
            lanes[f] = strides[f] as u32;
            floor[f] = floors[f];
        }
        Some(Avx2Fold {
            rows,
            bases,
            strides: lanes,
            floors: floor,
            lowest,
            width,
        })
    }

    /// Adds the pattern of every pair of `batch` to `counts`. `common` holds the pairs' counts
    /// pair by pair and at least [`LANES`] readable entries from the last pair's first;
    /// `left_pop` and `right_pop` every record's field popcounts plus [`LANES`] entries of
    /// padding; `missing` gives a pair's missing-field mask.
    pub(super) fn count(
        &self,
        batch: &[(u32, u32)],
        common: &[u32],
        pops: (&[u32], &[u32]),
        missing: impl Fn(usize, usize) -> u64,
        counts: &mut PatternCounts,
    ) {
        let width = self.width;
        // SAFETY: `new` found AVX2 on this CPU.
        unsafe {
            self.fold(
                batch,
                |k, _, _| load(&common[k * width..]),
                pops,
                missing,
                counts,
            );
        }
    }

    /// [`Avx2Fold::count`] with the common bits counted in the same loop, for records of
    /// `F` fields of 8 words (`left` and `right`: the two sides' words), by the instructions
    /// `with` names: the counting of one pair runs while the vector instructions of the pair
    /// before do, where two loops one after the other would wait for each other. `None`
    /// (nothing counted) where the CPU lacks the instructions or the records are of another
    /// shape.
    pub(super) fn count_fused(
        &self,
        with: Fused,
        sides: (&[u64], &[u64]),
        pairs: &[(u32, u32)],
        pops: (&[u32], &[u32]),
        missing: impl Fn(usize, usize) -> u64,
        counts: &mut PatternCounts,
    ) -> Option<()> {
        let popcnt = std::arch::is_x86_feature_detected!("popcnt");
        let vpopcnt = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq");
        if !popcnt || (with == Fused::Avx512 && !vpopcnt) {
            return None;
        }
        macro_rules! fused {
            ($f:literal) => {
                // SAFETY: `new` found AVX2; POPCNT (and AVX-512 where taken) checked above.
                unsafe {
                    match with {
                        Fused::Avx512 => {
                            self.fused_avx512::<$f>(sides, pairs, pops, missing, counts)
                        }
                        Fused::Popcnt => {
                            self.fused_popcnt::<$f>(sides, pairs, pops, missing, counts)
                        }
                        Fused::Avx2 => self.fused_avx2::<$f>(sides, pairs, pops, missing, counts),
                    }
                }
            };
        }
        match self.width {
            1 => fused!(1),
            2 => fused!(2),
            3 => fused!(3),
            4 => fused!(4),
            5 => fused!(5),
            6 => fused!(6),
            7 => fused!(7),
            8 => fused!(8),
            _ => return None,
        }
        Some(())
    }

    fused_loop! {
        /// The fused loop with `POPCNT`.
        fused_popcnt, "avx2,popcnt", |ra, rb| {
            let mut c = [0i32; LANES];
            for f in 0..F {
                c[f] = (0..8)
                    .map(|w| (ra[f][w] & rb[f][w]).count_ones())
                    .sum::<u32>() as i32;
            }
            _mm256_setr_epi32(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
        }
    }

    fused_loop! {
        /// The fused loop with AVX2 nibble tables ([`avx2_field_counts!`]).
        fused_avx2, "avx2,popcnt", |ra, rb| _mm256_cvtepu16_epi32(avx2_field_counts!(F, ra, rb))
    }

    fused_loop! {
        /// The fused loop with `vpopcntq` ([`fields_of_vectors`]).
        fused_avx512, "avx2,avx512f,avx512vpopcntdq,popcnt",
        |ra, rb| _mm256_cvtepu16_epi32(fields_of_vectors::<F>(ra, rb))
    }

    /// The vector loop: `common(k, a, b)` gives pair `k`'s common-bit counts, one per lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn fold(
        &self,
        pairs: &[(u32, u32)],
        mut common: impl FnMut(usize, usize, usize) -> __m256i,
        (left_pop, right_pop): (&[u32], &[u32]),
        missing: impl Fn(usize, usize) -> u64,
        counts: &mut PatternCounts,
    ) {
        let width = self.width;
        let bases = load(&self.bases.map(|b| b as u32));
        let strides = load(&self.strides);
        let floors = load(&self.floors);
        let lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let all_lanes = (1u64 << width) - 1;
        // Bytes 0-1 (a field's count) into all four 16-bit slots of each 64-bit lane.
        let splat = _mm256_setr_epi8(
            0, 1, 0, 1, 0, 1, 0, 1, 8, 9, 8, 9, 8, 9, 8, 9, 0, 1, 0, 1, 0, 1, 0, 1, 8, 9, 8, 9, 8,
            9, 8, 9,
        );
        let (zero, one) = (_mm256_setzero_si256(), _mm256_set1_epi64x(1));
        let rows = self.rows.as_ptr().cast::<i64>();
        let half = |v: __m256i, h: i32| {
            if h == 0 {
                _mm256_castsi256_si128(v)
            } else {
                _mm256_extracti128_si256::<1>(v)
            }
        };
        for (k, &(a, b)) in pairs.iter().enumerate() {
            let (a, b) = (a as usize, b as usize);
            let c = common(k, a, b);
            let gone = missing(a, b) & all_lanes;
            let totals =
                _mm256_add_epi32(load(&left_pop[a * width..]), load(&right_pop[b * width..]));
            // Where every present field's floor proves its lowest level, no row is read.
            let low = _mm256_cmpgt_epi32(
                _mm256_mullo_epi32(totals, floors),
                _mm256_slli_epi32::<17>(c),
            );
            let low = _mm256_movemask_ps(_mm256_castsi256_ps(low)) as u64;
            // Most pairs (unrelated records): every present field's floor proves its lowest
            // level, and no row is read. (Levelling the few fields above their floors by
            // scalar row reads, as pairs from blocking have, measured no faster on Zen 3.)
            if (low | gone) & all_lanes == all_lanes {
                counts.add_at(self.lowest[gone as usize], 1);
                continue;
            }
            let present = _mm256_cmpeq_epi32(
                _mm256_and_si256(_mm256_set1_epi32(!gone as i32), lane_bits),
                lane_bits,
            );
            let at = _mm256_add_epi32(totals, bases);
            let mut terms = zero;
            for h in [0, 1] {
                let mask = _mm256_cvtepi32_epi64(half(present, h));
                // SAFETY: a present lane's row `f * totals + total` lies inside field `f`'s
                // rows (a field's popcounts sum to at most `2 * bits < totals`), so inside
                // `rows` (`new` checked its length); masked lanes are not read.
                let row =
                    unsafe { _mm256_mask_i32gather_epi64::<8>(zero, rows, half(at, h), mask) };
                let count = _mm256_shuffle_epi8(_mm256_cvtepu32_epi64(half(c, h)), splat);
                // Slots whose bound lies above the count (both below 0x8000: signed is exact).
                let above = _mm256_srli_epi16::<15>(_mm256_cmpgt_epi16(row, count));
                let level = _mm256_add_epi64(_mm256_sad_epu8(above, zero), one);
                let stride = _mm256_cvtepu32_epi64(half(strides, h));
                let term = _mm256_and_si256(_mm256_mul_epu32(level, stride), mask);
                terms = _mm256_add_epi64(terms, term);
            }
            let pair = _mm_add_epi64(half(terms, 0), half(terms, 1));
            let index = _mm_cvtsi128_si64(_mm_add_epi64(pair, _mm_unpackhi_epi64(pair, pair)));
            counts.add_at(index as usize, 1);
        }
    }
}

/// [`LANES`] `u32`s from the start of `s` (which must hold that many) into a vector.
#[inline(always)]
fn load(s: &[u32]) -> __m256i {
    // SAFETY: the slice of exactly `LANES` `u32`s is cut with a bounds check; unaligned load
    // (AVX is implied by the callers' AVX2, and the load is SSE2-encoded otherwise).
    unsafe { _mm256_loadu_si256(s[..LANES].as_ptr().cast()) }
}

/// Record `r` of a side of `F` fields of 8 words.
#[inline(always)]
fn record<const F: usize>(side: &[u64], r: usize) -> &[[u64; 8]; F] {
    let fields = side[r * 8 * F..][..8 * F].as_chunks::<8>().0;
    fields.try_into().expect("a record is F fields of 8 words")
}

/// Prefetches the records of the pair [`PREFETCH_AHEAD`] places after pair `k` (whose left
/// record is `a`): its right record, and its left one where it changes.
#[inline(always)]
fn prefetch_ahead<const F: usize>(
    (left, right): (&[u64], &[u64]),
    pairs: &[(u32, u32)],
    k: usize,
    a: usize,
) {
    let prefetch = |side: &[u64], r: u32| {
        for line in record::<F>(side, r as usize) {
            // SAFETY: SSE is part of x86-64; a prefetch reads nothing architecturally.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
        }
    };
    if let Some(&(na, nb)) = pairs.get(k + PREFETCH_AHEAD) {
        prefetch(right, nb);
        if na as usize != a {
            prefetch(left, na);
        }
    }
}
