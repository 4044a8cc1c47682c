//! Agreement-pattern counts straight from field filters: two parties' records in the `field`
//! layout and candidate pairs in, [`PatternCounts`] out.
//!
//! This is the pass over every pair that EM needs (issue target: at least 50 M pairs/s per core),
//! so nothing in it is per pair but arithmetic: the common bits of all fields of a batch of pairs
//! come from one [`FieldCounter`] call (records read once, fields fused, later records
//! prefetched), and each field's comparison level comes from integers, not from a Dice in
//! floating point: for every possible bit total `|A| + |B|` a level table holds the least
//! common count that reaches each threshold, computed once with the very expression
//! [`crate::filter::dice`] uses, so the levels are exactly those of
//! [`FieldLevels::level`] of the Dice. Missing fields come from the per-record masks, ORed once
//! per pair.

use rayon::prelude::*;

use super::{FieldLevels, FieldRecords, FsError, PatternCounts};
use crate::filter::fields::FieldCounter;

#[cfg(target_arch = "x86_64")]
mod x86_64;

/// Padding after the last record's popcounts and the last pair's counts, so that a vector
/// loop may read a whole register's worth from any record or pair.
const PAD: usize = 8;

/// Pairs per parallel chunk (folded per worker, not per chunk: dense counts of many fields are
/// megabytes each).
const CHUNK: usize = 1 << 14;

/// Pairs per kernel call: their counts (`BATCH * fields` `u32`s) stay in L1.
const BATCH: usize = 256;

/// Comparison levels from integer bit counts, for every field.
#[derive(Debug, Clone)]
pub(crate) struct LevelTable {
    /// Row `(f, total)` at `(f * totals + total) * stride`: the least common count that reaches
    /// each level bound of field `f` (bound 0 is *exact*, then the thresholds in descending
    /// order; `u32::MAX` where no count reaches it), padded with zeros (always reached) to
    /// `stride` bounds.
    least: Vec<u32>,
    /// Possible totals per field: `0..=2 * bits`.
    totals: usize,
    stride: usize,
    /// The same rows as four 15-bit bounds in the 16-bit slots of one `u64` (bounds no count
    /// reaches held at [`NEVER`]), when every field has at most three thresholds and a count
    /// fits below [`NEVER`]: one load and a few integer operations give a level
    /// ([`bounds_above`]).
    packed: Option<Vec<u64>>,
    /// Per field, `floor(t * 2^16)` of its least threshold `t` (0 where no quick test holds):
    /// `2 * common * 2^16 < floor * total` proves the Dice below `t`, so every bound above the
    /// count, without reading a row ([`LevelTable::floor_holds`]).
    floors: Vec<u32>,
    /// Per field, the [`bounds_above`] bits of its lowest level (*else*): its real bounds.
    else_bits: Vec<usize>,
}

/// The fixed-point scale of [`LevelTable::floors`].
const FLOOR_SCALE: f64 = 65_536.0;

/// A 16-bit slot in each of a `u64`'s four.
const ONES: u64 = 0x0001_0001_0001_0001;

/// The top bit of each slot.
const HIGH: u64 = ONES << 15;

/// A packed bound above every count (counts are at most the bits of a field filter).
const NEVER: u32 = 0x7fff;

/// Which of a packed row's four bounds lie above `common`, as bits 0 to 3 of the result. Per
/// slot `0x8000 + bound - (common + 1)` never borrows from the next (both are below `0x8000`)
/// and has its top bit set exactly where `bound > common`; two shifts gather the four top bits.
/// No multiplication: on Intel cores those share one port, and a pair has several per field.
#[inline(always)]
fn bounds_above(row: u64, common: u32) -> usize {
    let c = u64::from(common) + 1;
    let c = c | c << 16;
    let above = (((row | HIGH) - (c | c << 32)) & HIGH) >> 15;
    let above = above | above >> 15;
    ((above | above >> 30) & 0xf) as usize
}

/// Bounds per row when every field has at most three thresholds (the defaults): rows of four
/// take a loop unrolled at compile time, or one packed `u64`.
const STRIDE: usize = 4;

impl LevelTable {
    /// The table for field filters of `bits` bits each.
    pub(crate) fn new(levels: &[FieldLevels], bits: u32) -> LevelTable {
        let most = levels.iter().map(|l| l.thresholds().len() + 1).max();
        let stride = most.unwrap_or(0).max(STRIDE);
        let totals = 2 * bits as usize + 1;
        let mut least = Vec::with_capacity(levels.len() * totals * stride);
        for l in levels {
            for total in 0..totals as u32 {
                let bounds = std::iter::once(1.0).chain(l.thresholds().iter().copied());
                let row = bounds.map(|t| least_common(t, total));
                let filled = least.len();
                least.extend(row);
                least.resize(filled + stride, 0);
            }
        }
        let packed = (stride == STRIDE && bits < NEVER).then(|| {
            let rows = least.as_chunks::<STRIDE>().0;
            rows.iter()
                .map(|row| {
                    row.iter().enumerate().fold(0u64, |packed, (slot, &b)| {
                        packed | u64::from(b.min(NEVER)) << (16 * slot)
                    })
                })
                .collect()
        });
        // `2 * common * 2^16` and `floor * total` stay below 2^31 (signed compares) for
        // filters below 2^14 bits.
        let floors = levels
            .iter()
            .map(|l| {
                let least = l.thresholds().iter().copied().fold(1.0, f64::min);
                let quick = bits < 1 << 14 && least > 0.0 && least <= 1.0;
                if quick {
                    (least * FLOOR_SCALE).floor() as u32
                } else {
                    0
                }
            })
            .collect();
        let else_bits = levels
            .iter()
            .map(|l| (1 << (1 + l.thresholds().len()).min(STRIDE)) - 1)
            .collect();
        LevelTable {
            least,
            totals,
            stride,
            packed,
            floors,
            else_bits,
        }
    }

    /// Whether [`LevelTable::floors`] proves field `f` at its lowest level: the Dice `2 *
    /// common / total` below the field's least threshold. Exact: `floor / 2^16 <= t`, and a
    /// count `c` with `2c * 2^16 < floor * total` has `2c / total` below `floor / 2^16` by at
    /// least `1 / (2^16 * total)`, far more than the rounding of the Dice's division, so the
    /// Dice as computed is below `t` too and `least_common(t, total) > c`.
    #[cfg(test)]
    fn floor_holds(&self, f: usize, common: u32, total: u32) -> bool {
        u64::from(common) * 2 * (1 << 16) < u64::from(self.floors[f]) * u64::from(total)
    }

    /// The level of field `f` with `common` bits in common and `total` bits set in the two
    /// filters together (present in both records): 1 (*exact*) plus the number of bounds not
    /// reached, as [`FieldLevels::level`] of their Dice.
    #[inline]
    pub(crate) fn level(&self, f: usize, common: u32, total: u32) -> u8 {
        let at = (f * self.totals + total as usize) * self.stride;
        let row = &self.least[at..at + self.stride];
        1 + row.iter().map(|&c| u8::from(common < c)).sum::<u8>()
    }

    /// The index in [`PatternCounts`] of a pair's pattern: `common[f]` and `total[f]` of every
    /// field, `missing` bit `f` set where field `f` is missing in either record, `strides[f]`
    /// the weight of field `f`'s level in the mixed-radix index. The sum of independent products
    /// (not Horner's chain of multiplications), with rows of [`STRIDE`] bounds compared at once.
    #[inline]
    fn pattern_index(
        &self,
        common: &[u32],
        total: impl Iterator<Item = u32>,
        missing: u64,
        strides: &[usize],
    ) -> usize {
        let rows = self.least.as_chunks::<STRIDE>().0;
        let fields = common.iter().zip(total).zip(strides).enumerate();
        fields
            .map(|(f, ((&c, t), &stride))| {
                let level = if self.stride == STRIDE {
                    let row = &rows[f * self.totals + t as usize];
                    1 + row.iter().map(|&b| usize::from(c < b)).sum::<usize>()
                } else {
                    usize::from(self.level(f, c, t))
                };
                let present = usize::from(missing >> f & 1 == 0);
                level * present * stride
            })
            .sum()
    }
}

/// The least `c <= total` whose Dice `2c / total` (as [`crate::filter::dice`] computes it)
/// reaches `t`; `u32::MAX` if none (a total of 0 has Dice 0).
fn least_common(t: f64, total: u32) -> u32 {
    let reaches = |c: u32| total > 0 && 2.0 * f64::from(c) / f64::from(total) >= t;
    if !reaches(total) {
        return u32::MAX;
    }
    // Start from the real-valued bound and step to the exact least count.
    let mut c = ((t * f64::from(total) / 2.0).ceil() as u32).min(total);
    while c > 0 && reaches(c - 1) {
        c -= 1;
    }
    while !reaches(c) {
        c += 1;
    }
    c
}

/// Counts the agreement patterns of candidate pairs `(a, b)` (a record of `left`, one of
/// `right`; the same view twice for deduplication), in parallel; the counts do not depend on
/// the number of threads.
pub fn count_pairs(
    fields: &[FieldLevels],
    left: &FieldRecords<'_>,
    right: &FieldRecords<'_>,
    pairs: &[(u32, u32)],
) -> Result<PatternCounts, FsError> {
    count_pairs_with(FieldCounter::detect(), fields, left, right, pairs)
}

/// [`count_pairs`] with the field counter chosen by the caller ([`FieldCounter::by_name`], to
/// time one instruction set); every counter gives the same counts.
pub fn count_pairs_with(
    counter: FieldCounter,
    fields: &[FieldLevels],
    left: &FieldRecords<'_>,
    right: &FieldRecords<'_>,
    pairs: &[(u32, u32)],
) -> Result<PatternCounts, FsError> {
    let width = left.fields();
    if fields.len() != width || width != right.fields() {
        return Err(FsError::Shape(format!(
            "{} levelled fields for records of {} and {} fields",
            fields.len(),
            width,
            right.fields()
        )));
    }
    let wpf = left.words_per_field();
    if wpf != right.words_per_field() {
        return Err(FsError::Shape(
            "the parties' field filters differ in length".into(),
        ));
    }
    let (nl, nr) = (left.len(), right.len());
    if let Some((a, b)) = pairs
        .iter()
        .find(|(a, b)| *a as usize >= nl || *b as usize >= nr)
    {
        return Err(FsError::Shape(format!(
            "pair ({a}, {b}) is outside the records"
        )));
    }
    let empty = PatternCounts::new(fields)?;
    let padded = |mut pop: Vec<u32>| {
        pop.resize(pop.len() + PAD, 0);
        pop
    };
    let (left_pop, right_pop) = (padded(left.popcounts()), padded(right.popcounts()));
    let table = LevelTable::new(fields, (wpf * 64) as u32);
    // The weight of each field's level in the pattern index (first field most significant).
    let mut strides: Vec<usize> = fields.iter().map(FieldLevels::count).collect();
    let mut weight = 1;
    for s in strides.iter_mut().rev() {
        (*s, weight) = (weight, weight * *s);
    }
    // The portable counter is the reference: it takes the scalar fold too.
    let vector = counter.name() != FieldCounter::portable().name();
    // With 512-bit fields, counting and folding share one loop
    // (`x86_64::Avx2Fold::count_fused`).
    #[cfg(target_arch = "x86_64")]
    let fused = match counter.name() {
        _ if wpf != 8 => None,
        "popcnt" => Some(x86_64::Fused::Popcnt),
        "avx2" => Some(x86_64::Fused::Avx2),
        "avx512" => Some(x86_64::Fused::Avx512),
        _ => None,
    };
    let pass = Pass::new(
        &table,
        &strides,
        (left, right),
        (&left_pop, &right_pop),
        vector,
    );
    Ok(pairs
        .par_chunks(CHUNK)
        .fold(
            || empty.clone(),
            |mut counts, chunk| {
                #[cfg(target_arch = "x86_64")]
                if let Some(with) = fused
                    && pass.count_fused(chunk, with, &mut counts)
                {
                    return counts;
                }
                let mut common = vec![0u32; BATCH * width + PAD];
                for batch in chunk.chunks(BATCH) {
                    let counted = batch.len() * width;
                    counter.pair_counts(
                        left.words(),
                        right.words(),
                        width * wpf,
                        wpf,
                        batch,
                        &mut common[..counted],
                    );
                    pass.count(batch, &common[..counted + PAD], &mut counts);
                }
                counts
            },
        )
        .reduce(|| empty.clone(), PatternCounts::summed))
}

/// What every batch of one counting pass reads besides its pairs and their common bits.
struct Pass<'a> {
    table: &'a LevelTable,
    /// The weight of each field's level in the pattern index.
    strides: &'a [usize],
    /// Per field, [`SLOTS`] entries: the weight in the pattern index of the level that
    /// [`bounds_above`]'s bits (plus 16 where the field is missing) stand for.
    weights: Vec<usize>,
    left: &'a FieldRecords<'a>,
    right: &'a FieldRecords<'a>,
    /// Every record's popcounts, then [`PAD`] zeros.
    left_pop: &'a [u32],
    right_pop: &'a [u32],
    /// The vector loop, where this CPU and the shape allow it.
    #[cfg(target_arch = "x86_64")]
    avx2: Option<x86_64::Avx2Fold<'a>>,
}

/// Entries per field in [`Pass::weights`]: four bound bits and the missing bit.
const SLOTS: usize = 32;

impl<'a> Pass<'a> {
    fn new(
        table: &'a LevelTable,
        strides: &'a [usize],
        (left, right): (&'a FieldRecords<'a>, &'a FieldRecords<'a>),
        (left_pop, right_pop): (&'a [u32], &'a [u32]),
        vector: bool,
    ) -> Self {
        let weights: Vec<usize> = strides
            .iter()
            .flat_map(|&stride| {
                (0..SLOTS).map(move |slot| {
                    let level = 1 + (slot & 0xf).count_ones() as usize;
                    if slot & 0x10 == 0 { level * stride } else { 0 }
                })
            })
            .collect();
        #[cfg(target_arch = "x86_64")]
        let avx2 = table.packed.as_deref().filter(|_| vector).and_then(|rows| {
            x86_64::Avx2Fold::new(x86_64::FoldTable {
                rows,
                totals: table.totals,
                strides,
                floors: &table.floors,
                weights: &weights,
                else_bits: &table.else_bits,
            })
        });
        #[cfg(not(target_arch = "x86_64"))]
        let _ = vector;
        Pass {
            table,
            strides,
            weights,
            left,
            right,
            left_pop,
            right_pop,
            #[cfg(target_arch = "x86_64")]
            avx2,
        }
    }

    /// Adds the patterns of `batch` (`common`: their counts, pair by pair, then [`PAD`]
    /// entries) to `counts`: with AVX2 by the vector loop; else, with packed rows, by a loop
    /// compiled for the usual numbers of fields at compile time.
    fn count(&self, batch: &[(u32, u32)], common: &[u32], counts: &mut PatternCounts) {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            let missing = |a, b| self.left.missing_mask(a) | self.right.missing_mask(b);
            let pops = (self.left_pop, self.right_pop);
            return avx2.count(batch, common, pops, missing, counts);
        }
        let Some(rows) = self.table.packed.as_deref() else {
            return self.count_with(batch, common, counts, |common, pa, pb, missing| {
                let total = pa.iter().zip(pb).map(|(x, y)| x + y);
                self.table
                    .pattern_index(common, total, missing, self.strides)
            });
        };
        match self.strides.len() {
            4 => self.count_packed(rows, 4, batch, common, counts),
            5 => self.count_packed(rows, 5, batch, common, counts),
            6 => self.count_packed(rows, 6, batch, common, counts),
            7 => self.count_packed(rows, 7, batch, common, counts),
            8 => self.count_packed(rows, 8, batch, common, counts),
            width => self.count_packed(rows, width, batch, common, counts),
        }
    }

    /// Counts and folds the pairs in one loop where the vector fold takes these records;
    /// `false` (nothing counted) where it does not.
    #[cfg(target_arch = "x86_64")]
    fn count_fused(
        &self,
        pairs: &[(u32, u32)],
        with: x86_64::Fused,
        counts: &mut PatternCounts,
    ) -> bool {
        if let Some(avx2) = &self.avx2 {
            let missing = |a, b| self.left.missing_mask(a) | self.right.missing_mask(b);
            let sides = (self.left.words(), self.right.words());
            let pops = (self.left_pop, self.right_pop);
            return avx2
                .count_fused(with, sides, pairs, pops, missing, counts)
                .is_some();
        }
        false
    }

    /// [`Pass::count`] with packed rows: per field one row load, [`bounds_above`] and one
    /// weight load; the missing fields select weights of 0, without a branch.
    #[inline(always)]
    fn count_packed(
        &self,
        rows: &[u64],
        width: usize,
        batch: &[(u32, u32)],
        common: &[u32],
        counts: &mut PatternCounts,
    ) {
        let totals = self.table.totals;
        let weights = &self.weights[..width * SLOTS];
        self.count_with(batch, common, counts, |common, pa, pb, missing| {
            let mut index = 0;
            for f in 0..width {
                let row = rows[f * totals + (pa[f] + pb[f]) as usize];
                let missing = (missing >> f & 1) as usize;
                index += weights[f * SLOTS + (missing << 4 | bounds_above(row, common[f]))];
            }
            index
        });
    }

    /// Adds `index(common, left popcounts, right popcounts, missing)` of every pair of `batch`
    /// to `counts`, the slices exactly one record's fields long.
    #[inline(always)]
    fn count_with(
        &self,
        batch: &[(u32, u32)],
        common: &[u32],
        counts: &mut PatternCounts,
        index: impl Fn(&[u32], &[u32], &[u32], u64) -> usize,
    ) {
        let width = self.strides.len();
        for (&(a, b), common) in batch.iter().zip(common.chunks_exact(width)) {
            let (a, b) = (a as usize, b as usize);
            let missing = self.left.missing_mask(a) | self.right.missing_mask(b);
            let pa = &self.left_pop[a * width..][..width];
            let pb = &self.right_pop[b * width..][..width];
            counts.add_at(index(common, pa, pb, missing), 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_proves_the_lowest_level_and_often_holds() {
        let levels = [
            FieldLevels::with_defaults("a"),
            FieldLevels::new("b", vec![0.95, 0.5, 0.333_333_333_333_333_3]).unwrap(),
            FieldLevels::new("c", vec![0.75]).unwrap(),
        ];
        let bits = 512;
        let table = LevelTable::new(&levels, bits);
        for (f, l) in levels.iter().enumerate() {
            let least = l.thresholds().iter().copied().fold(1.0, f64::min);
            let mut held = 0;
            for total in 0..=2 * bits {
                for c in 0..=total / 2 {
                    if table.floor_holds(f, c, total) {
                        held += 1;
                        assert!(c < least_common(least, total), "{f}: {c} of {total}");
                        let lowest = l.count() as u8 - 1;
                        assert_eq!(table.level(f, c, total), lowest, "{f}: {c} of {total}");
                    }
                }
            }
            // The floor decides all but a sliver of the counts below the least bound.
            let below: u32 = (1..=2 * bits)
                .map(|t| least_common(least, t).min(t / 2 + 1))
                .sum();
            assert!(held as f64 > 0.99 * below as f64, "{f}: {held} of {below}");
        }
    }

    #[test]
    fn integer_levels_equal_the_levels_of_the_dice() {
        let levels = [
            FieldLevels::with_defaults("a"),
            FieldLevels::new("b", vec![0.95, 0.5, 0.333_333_333_333_333_3]).unwrap(),
        ];
        let bits = 64;
        let table = LevelTable::new(&levels, bits);
        for (f, l) in levels.iter().enumerate() {
            for pa in 0..=bits {
                for pb in 0..=bits {
                    for c in 0..=pa.min(pb) {
                        let total = pa + pb;
                        let dice = if total == 0 {
                            0.0
                        } else {
                            2.0 * f64::from(c) / f64::from(total)
                        };
                        let want = l.level(Some(dice));
                        assert_eq!(
                            table.level(f, c, total),
                            want,
                            "field {f}: {c} common of {pa} + {pb}"
                        );
                        let rows = table.packed.as_deref().expect("three thresholds pack");
                        let row = rows[f * table.totals + total as usize];
                        assert_eq!(
                            1 + bounds_above(row, c).count_ones() as u8,
                            want,
                            "packed, field {f}: {c} common of {pa} + {pb}"
                        );
                    }
                }
            }
        }
    }

    /// Every counter and fold (scalar, packed, vector) gives the patterns that the Dice of each
    /// pair's fields gives, for records of 1 to 9 fields (past the vector loop's eight), with
    /// missing fields on both sides and every level reached (right records are left records
    /// with a few bits flipped).
    #[test]
    fn every_fold_counts_the_patterns_of_the_dice() {
        let mut state = 11u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state ^ (state >> 29)
        };
        for (width, words) in [(1, 1), (3, 2), (4, 8), (5, 8), (8, 8), (9, 1), (6, 3)] {
            let (n, bits) = (24, words * 64);
            let left: Vec<u64> = (0..n * width * words).map(|_| next() & next()).collect();
            let mut right = left.clone();
            for (k, w) in right.iter_mut().enumerate() {
                // Records 0, 6, 12, 18 stay copies (exact); the others get 2 to 10 flips per
                // word (the words hold about 16 bits), so their Dice spread over the levels.
                for _ in 0..(k / (width * words)) % 6 * 2 {
                    *w ^= 1 << (next() % 64);
                }
            }
            let missing = |seed: u64| -> Vec<u64> {
                (0..n as u64)
                    .map(|r| {
                        if (r + seed).is_multiple_of(5) {
                            (r * 7 + seed) & ((1 << width) - 1)
                        } else {
                            0
                        }
                    })
                    .collect()
            };
            let (lm, rm) = (missing(1), missing(3));
            let l = FieldRecords::new(&left, width, words, Some(&lm)).unwrap();
            let r = FieldRecords::new(&right, width, words, Some(&rm)).unwrap();
            let pairs: Vec<(u32, u32)> = (0..n as u32)
                .flat_map(|a| (0..n as u32).map(move |b| (a, b)))
                .chain((0..200).map(|k| (k % 24, (k * 7) % 24)))
                .collect();
            let levels: Vec<FieldLevels> = (0..width)
                .map(|f| FieldLevels::with_defaults(format!("f{f}")))
                .collect();
            let mut want = PatternCounts::new(&levels).unwrap();
            for &(a, b) in &pairs {
                let gamma: Vec<u8> = (0..width)
                    .map(|f| {
                        let (x, y) = (l.filter(a as usize, f), r.filter(b as usize, f));
                        let gone = (lm[a as usize] | rm[b as usize]) >> f & 1 == 1;
                        let pop = |v: &[u64]| v.iter().map(|w| w.count_ones()).sum::<u32>();
                        let both: u32 = x.iter().zip(y).map(|(p, q)| (p & q).count_ones()).sum();
                        let total = pop(x) + pop(y);
                        let dice = (!gone).then(|| {
                            if total == 0 {
                                0.0
                            } else {
                                2.0 * f64::from(both) / f64::from(total)
                            }
                        });
                        levels[f].level(dice)
                    })
                    .collect();
                want.add(&gamma);
            }
            let seen: std::collections::BTreeSet<u8> = (0..want.radices().len())
                .flat_map(|f| want.nonzero().map(move |(i, _)| (i, f)))
                .map(|(i, f)| want.pattern(i)[f])
                .collect();
            assert_eq!(seen.len(), 6, "{width} x {words}: every level reached");
            assert!(bits < NEVER as usize);
            let named = ["portable", "popcnt", "avx2", "avx512"].map(FieldCounter::by_name);
            for counter in [Some(FieldCounter::detect())]
                .into_iter()
                .chain(named)
                .flatten()
            {
                let got = count_pairs_with(counter, &levels, &l, &r, &pairs).unwrap();
                assert_eq!(got, want, "{} at {width} x {words}", counter.name());
            }
        }
    }
}
