//! Per-field similarities of candidate pairs: field-layout filters and candidate pairs in,
//! agreement-pattern counts (or one pair's per-field Dice) out.
//!
//! In the `field` layout a record is `fields` filters of `words_per_field` words each, one after
//! the other. Whether a field was missing comes from a per-record mask (bit `f` set: field `f`
//! was empty) that the encoder records; it is never guessed from an empty filter, because
//! hardening (balancing, BLIP) fills empty filters. Without masks every field counts as present.
//! Counting agreement patterns over many pairs is [`super::count`]'s.

use rayon::prelude::*;

use super::FsError;

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
    pub(super) fn popcounts(&self) -> Vec<u32> {
        self.words
            .par_chunks(self.words_per_field)
            .map(crate::filter::popcount)
            .collect()
    }

    pub(crate) fn filter(&self, record: usize, field: usize) -> &'a [u64] {
        let start = (record * self.fields + field) * self.words_per_field;
        &self.words[start..start + self.words_per_field]
    }

    /// The words of every record, one after the other.
    pub(super) fn words(&self) -> &'a [u64] {
        self.words
    }

    /// Words per field filter.
    pub(super) fn words_per_field(&self) -> usize {
        self.words_per_field
    }

    /// The missing-field mask of `record` (0 without masks).
    pub(super) fn missing_mask(&self, record: usize) -> u64 {
        self.missing.map_or(0, |m| m[record])
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

/// `n` uniformly random pairs for estimating `u` (Splink's `estimate_u_using_random_sampling`):
/// a record of a side of `left` records and one of `right`, or, for deduplication
/// (`right == None`), two different records of one side as `(lower, higher)`. Drawn with
/// replacement from `seed` (SplitMix64), so a run is reproducible, and sorted by left record, the
/// order [`super::count_pairs`] counts fastest.
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
