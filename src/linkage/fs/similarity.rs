//! Per-field similarities of candidate pairs: field-layout filters and candidate pairs in,
//! agreement-pattern counts (or one pair's per-field Dice) out.
//!
//! In the `field` layout a record is `fields` filters of `words_per_field` words each, one after
//! the other. Whether a field was missing comes from a per-record mask (bit `f` set: field `f`
//! was empty) that the encoder records; it is never guessed from an empty filter, because
//! hardening (balancing, BLIP) fills empty filters. Without masks every field counts as present.
//! Pairs that share their left record (the matcher's order) are counted together, one kernel call
//! per field (POPCNT where the CPU has it); no allocation per pair.

use rayon::prelude::*;

use super::{FieldLevels, FsError, PatternCounts};
use crate::filter::Kernel;

/// Pairs per parallel chunk.
const CHUNK: usize = 1 << 14;

/// One party's records in the `field` layout.
#[derive(Debug, Clone, Copy)]
pub struct FieldRecords<'a> {
    words: &'a [u64],
    fields: usize,
    words_per_field: usize,
    missing: Option<&'a [u64]>,
}

impl<'a> FieldRecords<'a> {
    /// A view over `words` (records of `fields * words_per_field` words, concatenated) with an
    /// optional missing-field mask per record.
    pub fn new(
        words: &'a [u64],
        fields: usize,
        words_per_field: usize,
        missing: Option<&'a [u64]>,
    ) -> Result<Self, FsError> {
        let record = fields * words_per_field;
        if fields == 0 || fields > 64 || words_per_field == 0 {
            return Err(FsError::Shape(
                "field records need 1 to 64 fields of at least one word".into(),
            ));
        }
        if !words.len().is_multiple_of(record) {
            return Err(FsError::Shape(format!(
                "{} words are not whole records of {record} words",
                words.len()
            )));
        }
        if let Some(m) = missing
            && m.len() != words.len() / record
        {
            return Err(FsError::Shape(format!(
                "{} missing-field masks for {} records",
                m.len(),
                words.len() / record
            )));
        }
        Ok(FieldRecords {
            words,
            fields,
            words_per_field,
            missing,
        })
    }

    /// Records in the view.
    pub fn len(&self) -> usize {
        self.words.len() / (self.fields * self.words_per_field)
    }

    /// Fields per record.
    pub fn fields(&self) -> usize {
        self.fields
    }

    /// Whether the view holds no records.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Popcount of every field filter, record by record.
    fn popcounts(&self) -> Vec<u32> {
        self.words
            .par_chunks(self.words_per_field)
            .map(crate::filter::popcount)
            .collect()
    }

    pub(crate) fn filter(&self, record: usize, field: usize) -> &'a [u64] {
        let start = (record * self.fields + field) * self.words_per_field;
        &self.words[start..start + self.words_per_field]
    }

    pub(crate) fn is_missing(&self, record: usize, field: usize) -> bool {
        self.missing.is_some_and(|m| m[record] >> field & 1 == 1)
    }
}

/// The missing-field masks of unhardened field filters: bit `f` of a record's mask is set
/// when its field `f` filter is empty. Exact only without hardening (a present value sets at
/// least one bit; hardening fills empty filters), so callers use it only then.
pub fn empty_field_masks(words: &[u64], fields: usize, words_per_field: usize) -> Vec<u64> {
    words
        .par_chunks(fields * words_per_field)
        .map(|record| {
            record
                .chunks(words_per_field)
                .enumerate()
                .filter(|(_, f)| f.iter().all(|w| *w == 0))
                .fold(0u64, |m, (f, _)| m | 1 << f)
        })
        .collect()
}

/// The Dice of field `field` between record `a` of `left` and record `b` of `right`; `None`
/// when the field is missing in either.
pub fn field_dice(
    left: &FieldRecords<'_>,
    a: usize,
    right: &FieldRecords<'_>,
    b: usize,
    field: usize,
) -> Option<f64> {
    if left.is_missing(a, field) || right.is_missing(b, field) {
        return None;
    }
    Some(crate::filter::dice(
        left.filter(a, field),
        right.filter(b, field),
    ))
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
    if fields.len() != left.fields || left.fields != right.fields {
        return Err(FsError::Shape(format!(
            "{} levelled fields for records of {} and {} fields",
            fields.len(),
            left.fields,
            right.fields
        )));
    }
    if left.words_per_field != right.words_per_field {
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
    let kernel = Kernel::detect();
    let (width, wpf) = (left.fields, left.words_per_field);
    // Folded per worker, not per chunk: dense counts of many fields are megabytes each.
    Ok(pairs
        .par_chunks(CHUNK)
        .fold(
            || empty.clone(),
            |mut counts, chunk| {
                // Reused per run of pairs that share their left record: the right records and,
                // field by field, the common bits, counted by the kernel in one call per field.
                let mut at: Vec<u32> = Vec::new();
                let mut common: Vec<u32> = Vec::new();
                for run in chunk.chunk_by(|x, y| x.0 == y.0) {
                    let a = run[0].0 as usize;
                    at.clear();
                    at.extend(run.iter().map(|p| p.1));
                    common.clear();
                    common.resize(run.len() * width, 0);
                    for f in 0..width {
                        let out = &mut common[f * run.len()..(f + 1) * run.len()];
                        let query = left.filter(a, f);
                        kernel.add_counts_at(query, right.words, width * wpf, f * wpf, &at, out);
                    }
                    for (k, &b) in at.iter().enumerate() {
                        let b = b as usize;
                        let index = fields.iter().enumerate().fold(0usize, |acc, (f, levels)| {
                            let dice =
                                (!left.is_missing(a, f) && !right.is_missing(b, f)).then(|| {
                                    let total = left_pop[a * width + f] + right_pop[b * width + f];
                                    dice_of(common[f * run.len() + k], total)
                                });
                            acc * levels.count() + usize::from(levels.level(dice))
                        });
                        counts.add_at(index, 1);
                    }
                }
                counts
            },
        )
        .reduce(|| empty.clone(), PatternCounts::summed))
}

/// `n` uniformly random pairs for estimating `u` (Splink's `estimate_u_using_random_sampling`):
/// a record of a side of `left` records and one of `right`, or, for deduplication
/// (`right == None`), two different records of one side as `(lower, higher)`. Drawn with
/// replacement from `seed` (SplitMix64), so a run is reproducible, and sorted by left record, the
/// order [`count_pairs`] counts fastest.
pub fn random_pairs(
    left: usize,
    right: Option<usize>,
    n: usize,
    seed: u64,
) -> Result<Vec<(u32, u32)>, FsError> {
    let too_few = match right {
        Some(r) => left == 0 || r == 0,
        None => left < 2,
    };
    if too_few || left > u32::MAX as usize || right.is_some_and(|r| r > u32::MAX as usize) {
        return Err(FsError::NoPairs);
    }
    let mut rng = crate::linkage::threshold::neighbours::SplitMix(seed);
    let mut pairs: Vec<(u32, u32)> = (0..n)
        .map(|_| match right {
            Some(r) => (rng.below(left) as u32, rng.below(r) as u32),
            None => {
                let a = rng.below(left);
                // A uniform other record: skip `a` by drawing from the other `left - 1`.
                let b = rng.below(left - 1);
                let b = if b >= a { b + 1 } else { b };
                (a.min(b) as u32, a.max(b) as u32)
            }
        })
        .collect();
    pairs.sort_unstable();
    Ok(pairs)
}

/// Dice from the common and the total bit counts; 0 for two empty filters, as
/// [`crate::filter::dice`].
fn dice_of(common: u32, total: u32) -> f64 {
    if total == 0 {
        0.0
    } else {
        2.0 * f64::from(common) / f64::from(total)
    }
}
