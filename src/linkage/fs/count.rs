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
}

/// Bounds per row when every field has at most three thresholds (the defaults): rows of four
/// take a loop unrolled at compile time.
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
        LevelTable {
            least,
            totals,
            stride,
        }
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
    if let Some((a, b)) = pairs
        .iter()
        .find(|(a, b)| *a as usize >= left.len() || *b as usize >= right.len())
    {
        return Err(FsError::Shape(format!(
            "pair ({a}, {b}) is outside the records"
        )));
    }
    let empty = PatternCounts::new(fields)?;
    let (left_pop, right_pop) = (left.popcounts(), right.popcounts());
    let table = LevelTable::new(fields, (wpf * 64) as u32);
    // The weight of each field's level in the pattern index (first field most significant).
    let mut strides: Vec<usize> = fields.iter().map(FieldLevels::count).collect();
    let mut weight = 1;
    for s in strides.iter_mut().rev() {
        (*s, weight) = (weight, weight * *s);
    }
    Ok(pairs
        .par_chunks(CHUNK)
        .fold(
            || empty.clone(),
            |mut counts, chunk| {
                let mut common = vec![0u32; BATCH * width];
                for batch in chunk.chunks(BATCH) {
                    let common = &mut common[..batch.len() * width];
                    counter.pair_counts(
                        left.words(),
                        right.words(),
                        width * wpf,
                        wpf,
                        batch,
                        common,
                    );
                    for (&(a, b), common) in batch.iter().zip(common.chunks_exact(width)) {
                        let (a, b) = (a as usize, b as usize);
                        let missing = left.missing_mask(a) | right.missing_mask(b);
                        let (pa, pb) = (&left_pop[a * width..][..width], &right_pop[b * width..]);
                        let total = pa.iter().zip(pb).map(|(x, y)| x + y);
                        counts.add_at(table.pattern_index(common, total, missing, &strides), 1);
                    }
                }
                counts
            },
        )
        .reduce(|| empty.clone(), PatternCounts::summed))
}

#[cfg(test)]
mod tests {
    use super::*;

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
                        assert_eq!(
                            table.level(f, c, total),
                            l.level(Some(dice)),
                            "field {f}: {c} common of {pa} + {pb}"
                        );
                    }
                }
            }
        }
    }
}
