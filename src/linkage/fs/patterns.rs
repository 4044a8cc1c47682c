//! Agreement-pattern counts: one vector of comparison levels per pair in, a count per distinct
//! vector out.
//!
//! EM needs only how many pairs share each pattern, so it costs the same for a thousand pairs as
//! for a billion, and counts from several workers (threads, Spark tasks) are simply summed. The
//! counts are dense, indexed by the pattern read as a mixed-radix number (first field most
//! significant), so summing is exact and the order of iteration fixed: the same pairs give the
//! same counts for any number of threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{FieldLevels, FsError};

/// The most patterns counted densely (e.g. 8 fields of 6 levels are 1.7 million).
pub const MAX_PATTERNS: usize = 1 << 24;

/// Pairs per parallel chunk when counting from similarities.
const CHUNK: usize = 1 << 16;

/// How many candidate pairs show each agreement pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternCounts {
    radices: Vec<u8>,
    counts: Vec<u64>,
}

impl PatternCounts {
    /// Empty counts for these fields' levels.
    pub fn new(fields: &[FieldLevels]) -> Result<Self, FsError> {
        Self::with_radices(fields.iter().map(|f| f.count() as u8).collect())
    }

    /// Empty counts for fields with these numbers of levels (null included).
    pub fn with_radices(radices: Vec<u8>) -> Result<Self, FsError> {
        if radices.is_empty() || radices.contains(&0) {
            return Err(FsError::Shape(
                "a pattern needs at least one field with levels".into(),
            ));
        }
        let patterns = radices.iter().map(|r| u128::from(*r)).product::<u128>();
        if patterns > MAX_PATTERNS as u128 {
            return Err(FsError::TooManyPatterns {
                patterns,
                max: MAX_PATTERNS,
            });
        }
        Ok(PatternCounts {
            counts: vec![0; patterns as usize],
            radices,
        })
    }

    /// Levels per field (null included).
    pub fn radices(&self) -> &[u8] {
        &self.radices
    }

    /// The index of a pattern (`gamma[f]` is field `f`'s level).
    ///
    /// # Panics
    /// If `gamma` has the wrong length or a level out of range: patterns come from
    /// [`FieldLevels::level`] of the same fields.
    pub fn index(&self, gamma: &[u8]) -> usize {
        assert_eq!(
            gamma.len(),
            self.radices.len(),
            "pattern of the wrong length"
        );
        gamma.iter().zip(&self.radices).fold(0, |acc, (g, r)| {
            assert!(g < r, "level out of range");
            acc * usize::from(*r) + usize::from(*g)
        })
    }

    /// The pattern at `index` (the inverse of [`PatternCounts::index`]).
    pub fn pattern(&self, mut index: usize) -> Vec<u8> {
        let mut gamma = vec![0; self.radices.len()];
        for (g, r) in gamma.iter_mut().zip(&self.radices).rev() {
            *g = (index % usize::from(*r)) as u8;
            index /= usize::from(*r);
        }
        gamma
    }

    /// Counts one pair with this pattern.
    pub fn add(&mut self, gamma: &[u8]) {
        let i = self.index(gamma);
        self.counts[i] += 1;
    }

    /// Counts `n` pairs with the pattern at `index`.
    pub fn add_at(&mut self, index: usize, n: u64) {
        self.counts[index] += n;
    }

    /// Adds another worker's counts over the same fields.
    pub fn merge(&mut self, other: &PatternCounts) -> Result<(), FsError> {
        if other.radices != self.radices {
            return Err(FsError::Shape(
                "counts over different fields or levels".into(),
            ));
        }
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        Ok(())
    }

    /// The same pairs with `fields` set to *null* (level 0), as if never compared: a blocking
    /// pass's own fields carry no evidence within it (every pair agrees on them), so its EM
    /// leaves them out, as Splink deactivates them.
    pub fn without_fields(&self, fields: &[usize]) -> PatternCounts {
        if fields.is_empty() {
            return self.clone();
        }
        let mut out = PatternCounts {
            radices: self.radices.clone(),
            counts: vec![0; self.counts.len()],
        };
        for (index, c) in self.nonzero() {
            let mut gamma = self.pattern(index);
            let width = gamma.len();
            for &f in fields.iter().filter(|f| **f < width) {
                gamma[f] = 0;
            }
            let i = out.index(&gamma);
            out.counts[i] += c;
        }
        out
    }

    /// Pairs counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The count at a pattern index.
    pub fn count_at(&self, index: usize) -> u64 {
        self.counts[index]
    }

    /// `(index, count)` of every pattern seen, in index order.
    pub fn nonzero(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i, *c))
    }

    /// Counts pairs from their per-field similarities, in parallel.
    ///
    /// `similarities` holds one row of `fields.len()` entries per pair (`None`: the field is
    /// missing in either record). The result does not depend on the number of threads.
    pub fn from_similarities(
        fields: &[FieldLevels],
        similarities: &[Option<f64>],
    ) -> Result<Self, FsError> {
        let empty = Self::new(fields)?;
        let width = fields.len();
        if !similarities.len().is_multiple_of(width) {
            return Err(FsError::Shape(format!(
                "{} similarities are not whole rows of {width} fields",
                similarities.len()
            )));
        }
        let count_chunk = |chunk: &[Option<f64>]| {
            let mut counts = empty.clone();
            let mut gamma = vec![0u8; width];
            for row in chunk.chunks_exact(width) {
                for ((g, f), s) in gamma.iter_mut().zip(fields).zip(row) {
                    *g = f.level(*s);
                }
                counts.add(&gamma);
            }
            counts
        };
        Ok(similarities
            .par_chunks(CHUNK * width)
            .map(count_chunk)
            .reduce(|| empty.clone(), PatternCounts::summed))
    }

    /// The sum of two workers' counts over the same fields (for parallel reductions, where
    /// the shapes are known to agree). Integer sums: the order does not change the result.
    pub(crate) fn summed(mut self, other: PatternCounts) -> PatternCounts {
        debug_assert_eq!(self.radices, other.radices);
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self
    }
}
