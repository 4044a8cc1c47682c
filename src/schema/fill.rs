//! The expected fill of a schema's filters, from its weights and typical token counts alone.
//!
//! In: a [`Schema`]. Out: an [`ExpectedFill`]: per field the tokens a typical value gives and
//! the bits they set, and the share of each filter that a record with every field present is
//! expected to set. No data is read: token counts are typical figures for each tokenizer
//! ([`TYPICAL_CHARS`] characters for q-grams, one token for `exact`, three for `date`,
//! `2 * resolution + 1` for `numeric`). `pprl schema check --data` measures the real figures.
//!
//! Why it matters: Bloom-filter encodings separate best when about half the bits are set. A
//! filter that is nearly full makes every pair look alike (every Dice score near 1); a nearly
//! empty one wastes the filter and makes few-token fields dominate.
//!
//! `k` bits per token drawn `B` times into `m` positions at random leave a position unset with
//! probability `(1 - 1/m)^B`, so the expected fill is `1 - (1 - 1/m)^B`.

use serde::Serialize;

use super::{Layout, Schema, TokenizerSpec, Weight};

/// Characters of a typical value, for q-gram token counts without data (a typical name).
pub const TYPICAL_CHARS: u32 = 6;

/// The fill above which a schema is called dense: nearly every pair of records would score
/// close to 1 (`pprl schema check` refuses such a schema unless told to allow it).
pub const DENSE_FILL: f64 = 0.9;

/// The fill range in which encodings separate well; outside it `schema check` gives advice.
pub const GOOD_FILL: (f64, f64) = (0.3, 0.7);

/// The fill range that suits field filters (the `field` layout, compared field by field in
/// probabilistic linkage): sparser, so each field's Dice stays faithful to its value. On FEBRL
/// 2, 14% linked at F1 0.9997 and 31% at 0.9967-0.9985 (docs/probabilistic.md).
pub const GOOD_FIELD_FILL: (f64, f64) = (0.05, 0.35);

/// A schema's expected fill, without data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedFill {
    /// Share of the bits of a record's filter(s) expected to be set when every field is
    /// present (for the field layout: the mean over the fields' filters).
    pub fill: f64,
    /// The fullest single filter (the field layout's densest field; otherwise `fill`).
    pub max_filter_fill: f64,
    /// Per field, in schema order.
    pub fields: Vec<FieldFill>,
}

/// One field's part of an [`ExpectedFill`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldFill {
    /// The field's name.
    pub name: String,
    /// Tokens of a typical value.
    pub tokens: f64,
    /// Bits drawn for a typical value (`k` per token; repeats counted).
    pub bits: f64,
}

/// Expected fill of `m` positions after `draws` random draws.
pub fn fill_after(draws: f64, m: f64) -> f64 {
    if m <= 0.0 {
        return 0.0;
    }
    1.0 - (1.0 - 1.0 / m).powf(draws.max(0.0))
}

/// Bits drawn for a value of `tokens` tokens under `weight` into a filter of `filter_bits`,
/// as the encoder computes `k`.
pub fn bits_for(weight: Weight, tokens: f64, filter_bits: u32) -> f64 {
    match weight {
        Weight::BitsPerToken(k) => f64::from(k) * tokens,
        Weight::BitsPerField(n) => {
            if tokens <= 0.0 {
                return 0.0;
            }
            let k = (f64::from(n) / tokens)
                .round()
                .clamp(1.0, f64::from(filter_bits / 2).max(1.0));
            k * tokens
        }
    }
}

/// Tokens of a typical value for `tokenizer`, with `chars` characters.
pub fn typical_tokens(tokenizer: &TokenizerSpec, chars: f64) -> f64 {
    match *tokenizer {
        TokenizerSpec::Qgram { q, padding, .. } => {
            let q = f64::from(q);
            if padding {
                chars + q - 1.0
            } else {
                (chars - q + 1.0).max(1.0)
            }
        }
        TokenizerSpec::Exact => 1.0,
        TokenizerSpec::Date => 3.0,
        TokenizerSpec::Numeric { resolution, .. } => 2.0 * f64::from(resolution) + 1.0,
    }
}

impl Schema {
    /// The expected fill with typical token counts (see the module docs).
    pub fn expected_fill(&self) -> ExpectedFill {
        let tokens: Vec<f64> = self
            .fields
            .iter()
            .map(|f| typical_tokens(&f.tokenizer, f64::from(TYPICAL_CHARS)))
            .collect();
        self.fill_with_tokens(&tokens)
    }

    /// The expected fill when field `i`'s values give `tokens[i]` tokens (0 for a field that
    /// is always missing).
    pub fn fill_with_tokens(&self, tokens: &[f64]) -> ExpectedFill {
        let m = f64::from(self.filter.length_bits);
        let fields: Vec<FieldFill> = self
            .fields
            .iter()
            .zip(tokens)
            .map(|(f, &t)| FieldFill {
                name: f.name.clone(),
                tokens: t,
                bits: bits_for(
                    f.weight(),
                    t,
                    f.layout_bits(self).unwrap_or(self.filter.length_bits),
                ),
            })
            .collect();
        let (fill, max_filter_fill) = match self.filter.layout {
            Layout::Clk => {
                let f = fill_after(fields.iter().map(|f| f.bits).sum(), m);
                (f, f)
            }
            Layout::Field => {
                let fills: Vec<f64> = fields.iter().map(|f| fill_after(f.bits, m)).collect();
                let mean = fills.iter().sum::<f64>() / fills.len().max(1) as f64;
                (mean, fills.iter().copied().fold(0.0, f64::max))
            }
            Layout::Rbf => {
                // Bits are sampled from each field filter in proportion to its weight, so the
                // record filter's fill is the weighted mean of the field filters' fills.
                let (mut sum, mut weights) = (0.0, 0.0);
                for (spec, f) in self.fields.iter().zip(&fields) {
                    let w = spec.rbf_weight.unwrap_or(1.0);
                    let bits = f64::from(spec.layout_bits(self).unwrap_or(self.filter.length_bits));
                    sum += w * fill_after(f.bits, bits);
                    weights += w;
                }
                let f = if weights > 0.0 { sum / weights } else { 0.0 };
                (f, f)
            }
        };
        ExpectedFill {
            fill,
            max_filter_fill,
            fields,
        }
    }

    /// True if the expected fill of some filter is over [`DENSE_FILL`].
    pub fn is_dense(&self) -> bool {
        self.expected_fill().max_filter_fill > DENSE_FILL
    }
}
