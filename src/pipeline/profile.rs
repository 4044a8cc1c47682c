//! Schema advice from data: an export profiled under a schema, in memory.
//!
//! In: a [`Schema`] and a [`RowSource`] (a department's export, or a sample of it). Out: a
//! [`SchemaProfile`]: per field the missing and invalid rates, tokens per value, distinct
//! values and the share of the most common one; the expected fill (from the weights and
//! typical token counts, [`Schema::expected_fill`]) beside the fill measured by encoding the
//! sample under a throwaway random key that never leaves memory; and [`Advice`] on weak
//! choices, each with a stable code:
//!
//! * `W101` the fill is outside 0.3-0.7 (encodings separate best near half full; 0.05-0.35 for
//!   field filters, compared one by one);
//! * `W102` exact tokens on an error-prone field: a one-character error in a date, postcode
//!   or number loses all of the field's bits;
//! * `W103` one value dominates the field;
//! * `W104` the field is missing in most rows;
//! * `W105` some values are invalid (they are encoded as missing, or reject their rows).
//!
//! Why in the library: a department should learn before it encodes, from its own export,
//! that a schema will separate poorly; front ends only render the report.

use std::collections::HashMap;

use serde::Serialize;

use super::error::EncodeError;
use super::rows::{NativeRows, RowEncoder};
use crate::encode::tokenize::{self, Tokens};
use crate::encode::{Encoder, Scratch};
use crate::io::{InputRow, RowSource};
use crate::keys::Secret;
use crate::normalize::Normalizer;
use crate::schema::fill::{ExpectedFill, GOOD_FIELD_FILL, GOOD_FILL};
use crate::schema::{FieldSpec, Layout, Schema, TokenizerSpec};

/// Rows profiled by default: enough for stable rates, quick on any export.
pub const DEFAULT_SAMPLE_ROWS: usize = 20_000;

/// How an export is profiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Profile at most this many rows (the first ones).
    pub sample_rows: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            sample_rows: DEFAULT_SAMPLE_ROWS,
        }
    }
}

/// What stops a profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The schema is invalid.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// No throwaway key could be drawn from the system's random source.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The input is unreadable or not what the schema describes.
    #[error(transparent)]
    Input(#[from] EncodeError),
}

crate::error_kinds! {
    /// What kind of [`ProfileError`] happened.
    pub enum ProfileErrorKind {
        /// The schema is invalid.
        Schema => "profile-schema",
        /// No random key could be drawn.
        Key => "profile-key",
        /// The input is unreadable or not what the schema describes.
        Input => "profile-input",
    }
}

impl ProfileError {
    /// The error's kind.
    pub fn kind(&self) -> ProfileErrorKind {
        match self {
            ProfileError::Schema(_) => ProfileErrorKind::Schema,
            ProfileError::Key(_) => ProfileErrorKind::Key,
            ProfileError::Input(_) => ProfileErrorKind::Input,
        }
    }
}

impl crate::error::Coded for ProfileError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl From<crate::io::InputError> for ProfileError {
    fn from(e: crate::io::InputError) -> Self {
        ProfileError::Input(e.into())
    }
}

/// An export profiled under a schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaProfile {
    /// Rows profiled.
    pub rows: u64,
    /// Rows the encoder would reject (`rows - rows_encoded`).
    pub rows_rejected: u64,
    /// Per field, in schema order.
    pub fields: Vec<FieldProfile>,
    /// The fill expected from the weights and typical token counts (no data).
    pub expected: ExpectedFill,
    /// The fill expected from the weights and the tokens measured per field (as if every field
    /// were present).
    pub expected_from_data: ExpectedFill,
    /// The fill measured by encoding the rows (under a random key held only in memory).
    pub measured: MeasuredFill,
    /// Weak choices found.
    pub advice: Vec<Advice>,
}

/// What `pprl schema check` reports: the schema's summary and, where an export was profiled,
/// the profile beside it (serialised as the summary's keys plus `profile`).
#[derive(Debug, Clone, Serialize)]
pub struct SchemaCheck<'a> {
    /// The schema's summary.
    #[serde(flatten)]
    pub schema: &'a crate::io::inspect::SchemaInspection,
    /// The export's profile, if one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<&'a SchemaProfile>,
}

/// One field of a [`SchemaProfile`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldProfile {
    /// The field's name.
    pub name: String,
    /// Its tokenizer's kind.
    pub tokenizer: &'static str,
    /// Share of rows whose value is missing (empty, a marker, or empty after normalising).
    pub missing_rate: f64,
    /// Share of rows whose value is present but invalid (it does not normalise or tokenize).
    pub invalid_rate: f64,
    /// Mean tokens per valid value.
    pub tokens_per_value: f64,
    /// Mean characters per valid normalised value.
    pub chars_per_value: f64,
    /// Distinct valid normalised values.
    pub distinct: u64,
    /// Share of valid values that are the most common value (its value is never reported).
    pub top_share: f64,
}

/// The measured fill of the encoded rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredFill {
    /// Records encoded.
    pub records: u64,
    /// Mean share of set bits per record.
    pub mean: f64,
    /// Smallest share.
    pub min: f64,
    /// Largest share.
    pub max: f64,
}

/// One piece of advice, with a stable code (`W1xx`, see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// Stable code.
    pub code: &'static str,
    /// The field it is about, if one.
    pub field: Option<String>,
    /// What is weak and what to do instead.
    pub message: String,
}

impl std::fmt::Display for Advice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: field `{field}`: {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

/// Running counts for one field.
#[derive(Debug, Default)]
struct FieldCounter {
    missing: u64,
    invalid: u64,
    valid: u64,
    tokens: u64,
    chars: u64,
    /// Valid values that look error-prone (4+ characters holding digits: dates, postcodes,
    /// phone numbers).
    digits: u64,
    values: HashMap<String, u64>,
}

/// Profiles the first `opts.sample_rows` rows of `source` under `schema` (see the module docs).
pub fn profile_source<S: RowSource + ?Sized>(
    schema: &Schema,
    source: &mut S,
    opts: &ProfileOptions,
) -> Result<SchemaProfile, ProfileError> {
    schema.validate()?;
    let secret = Secret::generate()?;
    let encoder = Encoder::new(schema, &secret)?;
    let rows = NativeRows::new(schema, &encoder, source)?;
    let cols = rows.field_columns().to_vec();
    let (normalizers, tokenizers) = field_steps(schema)?;
    let mut counters: Vec<FieldCounter> =
        schema.fields.iter().map(|_| Default::default()).collect();
    let (mut value, mut tmp, mut tokens) = (String::new(), String::new(), Tokens::default());
    let mut scratch = Scratch::default();
    let mut words = vec![0u64; rows.words_per_record()];
    let record_bits = schema.record_bits() as f64;
    let mut fills = Vec::new();
    let mut chunk: Vec<InputRow> = Vec::new();
    let mut read = 0u64;
    while (read as usize) < opts.sample_rows {
        let want = (opts.sample_rows - read as usize).min(4096);
        if source.read_chunk(&mut chunk, want)? == 0 {
            break;
        }
        for row in &chunk {
            read += 1;
            for (i, spec) in schema.fields.iter().enumerate() {
                let raw = row.record.get(cols[i]).unwrap_or("");
                let c = &mut counters[i];
                if is_marked_missing(spec, raw) {
                    c.missing += 1;
                    continue;
                }
                if normalizers[i]
                    .apply_into(raw, &mut value, &mut tmp)
                    .is_err()
                {
                    c.invalid += 1;
                    continue;
                }
                if value.trim().is_empty() {
                    c.missing += 1;
                    continue;
                }
                tokens.clear();
                if tokenizers[i].tokenize(&value, &mut tokens).is_err() {
                    c.invalid += 1;
                    continue;
                }
                c.valid += 1;
                c.tokens += tokens.len() as u64;
                let chars = value.chars().count();
                c.chars += chars as u64;
                if chars >= 4 && value.chars().any(|ch| ch.is_ascii_digit()) {
                    c.digits += 1;
                }
                *c.values.entry(value.clone()).or_default() += 1;
            }
            if rows.encode_row(row, &mut scratch, &mut words).is_ok() {
                let bits = &words[..encoder.words_per_record()];
                let set: u32 = bits.iter().map(|w| w.count_ones()).sum();
                fills.push(f64::from(set) / record_bits);
            }
        }
    }
    let fields: Vec<FieldProfile> = schema
        .fields
        .iter()
        .zip(&counters)
        .map(|(spec, c)| field_profile(spec, c, read))
        .collect();
    let measured_tokens: Vec<f64> = fields.iter().map(|f| f.tokens_per_value).collect();
    let measured = MeasuredFill {
        records: fills.len() as u64,
        mean: fills.iter().sum::<f64>() / fills.len().max(1) as f64,
        min: if fills.is_empty() {
            0.0
        } else {
            fills.iter().copied().fold(1.0, f64::min)
        },
        max: fills.iter().copied().fold(0.0, f64::max),
    };
    let mut profile = SchemaProfile {
        rows: read,
        rows_rejected: read - fills.len() as u64,
        fields,
        expected: schema.expected_fill(),
        expected_from_data: schema.fill_with_tokens(&measured_tokens),
        measured,
        advice: Vec::new(),
    };
    profile.advice = advise(schema, Some((&profile, &counters)));
    Ok(profile)
}

fn field_profile(spec: &FieldSpec, c: &FieldCounter, rows: u64) -> FieldProfile {
    let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    FieldProfile {
        name: spec.name.clone(),
        tokenizer: spec.tokenizer.kind(),
        missing_rate: share(c.missing, rows),
        invalid_rate: share(c.invalid, rows),
        tokens_per_value: share(c.tokens, c.valid),
        chars_per_value: share(c.chars, c.valid),
        distinct: c.values.len() as u64,
        top_share: share(c.values.values().copied().max().unwrap_or(0), c.valid),
    }
}

/// As the encoder decides: an empty value or a declared marker is missing.
/// Each field's normaliser and tokeniser, as the encoder builds them.
pub(super) type FieldSteps = (Vec<Normalizer>, Vec<Box<dyn tokenize::Tokenize>>);

/// The [`FieldSteps`] of `schema`'s fields.
pub(super) fn field_steps(schema: &Schema) -> Result<FieldSteps, ProfileError> {
    let normalizers = schema
        .fields
        .iter()
        .map(|f| Normalizer::new(&f.normalize))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| crate::schema::SchemaError::Invalid {
            path: "fields.normalize".into(),
            message,
        })?;
    let tokenizers = schema
        .fields
        .iter()
        .map(|f| tokenize::from_spec(&f.tokenizer))
        .collect();
    Ok((normalizers, tokenizers))
}

pub(super) fn is_marked_missing(spec: &FieldSpec, raw: &str) -> bool {
    let trimmed = raw.trim();
    trimmed.is_empty()
        || spec
            .missing_values
            .iter()
            .any(|m| m.trim().eq_ignore_ascii_case(trimmed))
}

/// Names that usually hold error-prone identifiers (dates, postcodes, numbers).
const ERROR_PRONE_NAMES: [&str; 8] = [
    "date",
    "dob",
    "birth",
    "postcode",
    "post_code",
    "zip",
    "phone",
    "number",
];

/// Advice on `schema`, from its settings alone, or with a profile of data.
pub fn schema_advice(schema: &Schema) -> Vec<Advice> {
    advise(schema, None)
}

fn advise(schema: &Schema, data: Option<(&SchemaProfile, &[FieldCounter])>) -> Vec<Advice> {
    let mut out = Vec::new();
    let (fill, source) = match data {
        Some((p, _)) if p.measured.records > 0 => (p.measured.mean, "measured"),
        _ => (schema.expected_fill().fill, "expected"),
    };
    // Field filters are compared one by one and suit a sparser fill than a CLK.
    let (good, suits) = match schema.filter.layout {
        Layout::Field => (
            GOOD_FIELD_FILL,
            "field filters separate best (docs/probabilistic.md)",
        ),
        _ => (GOOD_FILL, "encodings separate best"),
    };
    if !(good.0..=good.1).contains(&fill) {
        let (lo, hi) = good;
        let fix = if fill < lo { "raise" } else { "lower" };
        out.push(Advice {
            code: "W101",
            field: None,
            message: format!(
                "the {source} fill is {:.0}%, outside {:.0}-{:.0}% where {suits}; {fix} the \
                 weights (`bits_per_token`, `bits_per_field`){}",
                fill * 100.0,
                lo * 100.0,
                hi * 100.0,
                if schema.filter.layout == Layout::Clk {
                    ""
                } else {
                    " or change the filter length"
                }
            ),
        });
    }
    for (i, spec) in schema.fields.iter().enumerate() {
        let name = spec.name.to_ascii_lowercase();
        let prone = match data {
            Some((_, counters)) => {
                let c = &counters[i];
                c.valid > 0 && c.digits * 2 > c.valid
            }
            None => ERROR_PRONE_NAMES.iter().any(|n| name.contains(n)),
        };
        // Date parts (`kind = "date"`) keep two thirds of the bits on a one-part error; on the
        // FEBRL sets they separated as well as q-grams of the date (docs/schema.md), so only
        // whole-value tokens are flagged.
        if prone && spec.tokenizer == TokenizerSpec::Exact {
            out.push(Advice {
                code: "W102",
                field: Some(spec.name.clone()),
                message: "exact tokens on an error-prone value (a date, postcode or number): \
                          one wrong or swapped character loses all of the field's bits; \
                          q-grams (`{ kind = \"qgram\", q = 2 }`, after `digits-only` for \
                          dates) or date parts (`{ kind = \"date\" }`) keep most of them"
                    .to_string(),
            });
        }
        let Some((profile, _)) = data else { continue };
        let f = &profile.fields[i];
        let valid = profile.rows as f64 * (1.0 - f.missing_rate - f.invalid_rate);
        if valid >= 20.0 && f.top_share > 0.5 {
            out.push(Advice {
                code: "W103",
                field: Some(spec.name.clone()),
                message: format!(
                    "one value makes up {:.0}% of the values: the field tells few records \
                     apart, yet its bits make unrelated records look alike; weigh it lightly \
                     or drop it",
                    f.top_share * 100.0
                ),
            });
        }
        if f.missing_rate > 0.5 {
            out.push(Advice {
                code: "W104",
                field: Some(spec.name.clone()),
                message: format!(
                    "missing in {:.0}% of the rows; check the column and its missing-value \
                     markers",
                    f.missing_rate * 100.0
                ),
            });
        }
        if f.invalid_rate > 0.0 {
            out.push(Advice {
                code: "W105",
                field: Some(spec.name.clone()),
                message: format!(
                    "{:.2}% of the values are invalid; they are {} (`on_invalid = \"{}\"`)",
                    f.invalid_rate * 100.0,
                    match (spec.on_invalid, &spec.missing) {
                        (crate::schema::OnInvalid::RejectRow, _)
                        | (_, crate::schema::MissingRule::Reject) => "rejected with their rows",
                        _ => "encoded as missing",
                    },
                    spec.on_invalid.as_str()
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::RecordRows;

    fn schema(extra: &str) -> Schema {
        Schema::from_toml_str(&format!(
            "version = 1\nid_column = \"id\"\n\
             [[fields]]\nname = \"name\"\ntokenizer = {{ kind = \"qgram\" }}\nbits_per_token = 20\n\
             [[fields]]\nname = \"dob\"\nnormalize = [{{ date = {{ formats = [\"%Y%m%d\"] }} }}]\n\
             tokenizer = {{ kind = \"exact\" }}\nbits_per_token = 20\n{extra}"
        ))
        .unwrap()
    }

    fn rows() -> Vec<[String; 3]> {
        (0..100)
            .map(|i| {
                let dob = if i % 10 == 0 {
                    "19450493".to_string()
                } else {
                    format!("19{:02}0{}1{}", 40 + i % 50, 1 + i % 9, i % 10)
                };
                let name = if i < 60 {
                    "smith".to_string()
                } else {
                    format!("n{i}")
                };
                [i.to_string(), name, dob]
            })
            .collect()
    }

    #[test]
    fn rates_counts_and_advice_come_from_the_data() {
        let schema = schema("");
        let mut src = RecordRows::new(&["id", "name", "dob"], rows());
        let p = profile_source(&schema, &mut src, &ProfileOptions::default()).unwrap();
        assert_eq!((p.rows, p.rows_rejected), (100, 0));
        let dob = &p.fields[1];
        assert!((dob.invalid_rate - 0.1).abs() < 1e-9, "{dob:?}");
        assert_eq!(dob.missing_rate, 0.0);
        assert!((dob.tokens_per_value - 1.0).abs() < 1e-9);
        let name = &p.fields[0];
        assert!((name.top_share - 0.6).abs() < 1e-9);
        assert_eq!(name.distinct, 41);
        assert!(p.measured.records == 100 && p.measured.mean > 0.0);
        assert!(p.measured.min <= p.measured.mean && p.measured.mean <= p.measured.max);
        let codes: Vec<_> = p
            .advice
            .iter()
            .map(|a| (a.code, a.field.as_deref()))
            .collect();
        assert!(codes.contains(&("W102", Some("dob"))), "{codes:?}");
        assert!(codes.contains(&("W103", Some("name"))), "{codes:?}");
        assert!(codes.contains(&("W105", Some("dob"))), "{codes:?}");
        assert!(!codes.contains(&("W102", Some("name"))), "{codes:?}");
    }

    #[test]
    fn the_sample_is_bounded() {
        let schema = schema("");
        let mut src = RecordRows::new(&["id", "name", "dob"], rows());
        let p = profile_source(&schema, &mut src, &ProfileOptions { sample_rows: 7 }).unwrap();
        assert_eq!(p.rows, 7);
    }

    #[test]
    fn advice_without_data_uses_names_and_expected_fill() {
        let codes: Vec<_> = schema_advice(&schema(""))
            .into_iter()
            .map(|a| a.code)
            .collect();
        // 7 bigrams * 20 + 1 * 20 = 160 bits of 1024: fill 0.15, and exact tokens on `dob`.
        assert_eq!(codes, ["W101", "W102"]);
    }
}
