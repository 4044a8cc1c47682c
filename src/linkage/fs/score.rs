//! Scoring pairs with a trained model: field-layout records and a model in, each pair's match
//! weight (and, for one pair, the explanation of it) out.
//!
//! A pair's weight is the prior's weight plus, per field, the weight of its comparison level
//! (nothing for a missing field), plus, for fields with term frequencies, Splink's adjustment
//! of the *exact* level by how common the agreed value is ([`super::tf_adjustment`]): the
//! share of records holding the same field filter. Explanations are similarity information:
//! they are for the third party, never for data providers.

use serde::Serialize;

use super::count::LevelTable;
use super::{ExactGroups, FieldRecords, FsParams, field_dice, probability, tf_adjustment};
use crate::filter::fields::FieldCounter;

/// The most fields a record has in the `field` layout (the missing-field mask is one `u64`).
const MAX_FIELDS: usize = 64;

/// Term frequencies of one field: per record of each side, the share of records holding its
/// filter (`None` where the field is missing).
type Frequencies = (Vec<Option<f64>>, Vec<Option<f64>>);

/// Scores pairs of two sides (the same side twice for deduplication) under a model.
#[derive(Debug)]
pub struct Scorer<'a> {
    params: &'a FsParams,
    left: FieldRecords<'a>,
    right: FieldRecords<'a>,
    tf: Vec<Option<Frequencies>>,
    tf_minimum: f64,
    /// `log2(m / u)` per field and level (0 for *null*), computed once.
    level_weights: Vec<Vec<f64>>,
    /// Popcount of every field filter of each side.
    left_pop: Vec<u32>,
    right_pop: Vec<u32>,
    /// Levels from bit counts, as [`super::count_pairs`] takes them.
    table: LevelTable,
    counter: FieldCounter,
}

/// One field's part in a pair's weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldEvidence {
    /// The field.
    pub field: String,
    /// The Dice of the field filters (`None`: missing in either record).
    pub dice: Option<f64>,
    /// The comparison level.
    pub level: u8,
    /// Its label.
    pub label: String,
    /// `log2(m / u)` of the level.
    pub weight: f64,
    /// The term-frequency adjustment (exact level of a field with term frequencies).
    pub tf_adjustment: Option<f64>,
}

/// Why a pair scores what it does: the prior, each field's evidence, the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The prior's weight.
    pub prior_weight: f64,
    /// Per field, in record order.
    pub fields: Vec<FieldEvidence>,
    /// The total match weight.
    pub weight: f64,
    /// The match probability.
    pub probability: f64,
}

impl<'a> Scorer<'a> {
    /// A scorer of `left` against `right` (`None`: deduplication of `left`), with term
    /// frequencies on `tf_fields`, counted over both sides' records.
    pub fn new(
        params: &'a FsParams,
        left: FieldRecords<'a>,
        right: Option<FieldRecords<'a>>,
        tf_fields: &[usize],
    ) -> Self {
        let tf = (0..params.fields.len())
            .map(|f| {
                tf_fields.contains(&f).then(|| {
                    ExactGroups::new(&left, right.as_ref(), &[f])
                        .frequencies(left.len(), right.map_or(0, |r| r.len()))
                })
            })
            .collect();
        let level_weights = params
            .fields
            .iter()
            .enumerate()
            .map(|(f, l)| {
                (0..l.count())
                    .map(|level| params.level_weight(f, level as u8))
                    .collect()
            })
            .collect();
        let left_pop = left.popcounts();
        let right_pop = right.map_or_else(|| left_pop.clone(), |r| r.popcounts());
        let table = LevelTable::new(&params.fields, (left.words_per_field() * 64) as u32);
        Scorer {
            params,
            left,
            right: right.unwrap_or(left),
            level_weights,
            left_pop,
            right_pop,
            table,
            counter: FieldCounter::detect(),
            tf,
            // No value is rarer than one record in the files.
            tf_minimum: 1.0 / (left.len() + right.map_or(0, |r| r.len())).max(1) as f64,
        }
    }

    /// The total match weight of pair `(a, b)`: the common bits of every field from one
    /// kernel call, each level from the integer table, the weights looked up (the same sum, in
    /// the same order, as the explanation's).
    pub fn weight(&self, a: u32, b: u32) -> f64 {
        let width = self.params.fields.len();
        let mut common = [0u32; MAX_FIELDS];
        let common = &mut common[..width];
        let wpf = self.left.words_per_field();
        self.counter.pair_counts(
            self.left.words(),
            self.right.words(),
            width * wpf,
            wpf,
            &[(a, b)],
            common,
        );
        let (x, y) = (a as usize, b as usize);
        let missing = self.left.missing_mask(x) | self.right.missing_mask(y);
        let (pa, pb) = (&self.left_pop[x * width..], &self.right_pop[y * width..]);
        (0..width).fold(self.params.prior_weight(), |w, f| {
            let level = if missing >> f & 1 == 1 {
                0
            } else {
                self.table.level(f, common[f], pa[f] + pb[f])
            };
            w + self.level_weights[f][usize::from(level)]
                + self.tf_term(a, b, f, level).unwrap_or(0.0)
        })
    }

    /// The explanation of pair `(a, b)`'s weight.
    pub fn explain(&self, a: u32, b: u32) -> Explanation {
        let fields: Vec<FieldEvidence> = (0..self.params.fields.len())
            .map(|f| {
                let (level, dice) = self.level(a, b, f);
                FieldEvidence {
                    field: self.params.fields[f].name().to_string(),
                    dice,
                    level,
                    label: self.params.fields[f].label(level),
                    weight: self.params.level_weight(f, level),
                    tf_adjustment: self.tf_term(a, b, f, level),
                }
            })
            .collect();
        let weight = fields
            .iter()
            .map(|e| e.weight + e.tf_adjustment.unwrap_or(0.0))
            .sum::<f64>()
            + self.params.prior_weight();
        Explanation {
            prior_weight: self.params.prior_weight(),
            fields,
            weight,
            probability: probability(weight),
        }
    }

    fn level(&self, a: u32, b: u32, f: usize) -> (u8, Option<f64>) {
        let dice = field_dice(&self.left, a as usize, &self.right, b as usize, f);
        (self.params.fields[f].level(dice), dice)
    }

    fn tf_term(&self, a: u32, b: u32, f: usize, level: u8) -> Option<f64> {
        let (tl, tr) = self.tf[f].as_ref().filter(|_| level == 1)?;
        let (x, y) = (tl[a as usize]?, tr.get(b as usize).copied().flatten());
        // Deduplication: both records are on the left.
        let y = y.or_else(|| (tr.is_empty()).then(|| tl[b as usize]).flatten())?;
        Some(tf_adjustment(self.params.u[f][0], x, y, self.tf_minimum))
    }
}
