//! From a clkhash schema to the nearest pprl schema, for departments that move on together.
//!
//! The converted schema reads the same columns and cuts them into the same tokens with the
//! same weights, in a filter of the same length, but hashes them pprl's way: random hashing
//! (HMAC-SHA256) under keys that pprl derives from the secret, bound to the schema. Its
//! encodings are therefore *not* comparable with clkhash CLKs: every department of a project
//! must switch to it at the same time (until then, keep encoding with the clkhash schema, which
//! pprl reproduces bit for bit).
//!
//! Where a clkhash setting has no pprl equivalent the conversion fails, naming the feature
//! (XOR folding, n-grams of more than 8 characters, filter lengths that are not a multiple of
//! 64 between 64 and 4096, more than 64 grid points on either side). Settings that only
//! validate values (patterns, lengths, case, enum values), or that pprl replaces by its own
//! (the hash, the key derivation, the text encoding), are left out with a note.

use super::schema::{Comparison, Format, Schema, Strategy, TextEncoding};
use crate::schema::{MAX_FILTER_BITS, MIN_FILTER_BITS};

/// A converted schema: pprl TOML and notes on what was left out.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The pprl schema, as TOML (valid: it parses with [`crate::schema::Schema::from_toml_str`]).
    pub toml: String,
    /// What changed meaning or was left out, one line each.
    pub notes: Vec<String>,
}

/// Why a clkhash schema has no pprl equivalent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no pprl equivalent for {at}: {message}")]
pub struct ConvertError {
    /// The setting, with the feature's identifier.
    pub at: String,
    /// Why.
    pub message: String,
}

crate::error_kinds! {
    /// What kind of [`ConvertError`] it is.
    pub enum ConvertErrorKind {
        /// A clkhash setting has no pprl equivalent.
        NoEquivalent => "clkhash-convert-no-equivalent",
    }
}

impl ConvertError {
    /// The kind of problem, with its stable code.
    pub fn kind(&self) -> ConvertErrorKind {
        ConvertErrorKind::NoEquivalent
    }

    /// Where: the schema's key path, as [`Position::field`](crate::error::Position::field).
    pub fn position(&self) -> crate::error::Position {
        crate::error::Position::default().in_field(self.at.clone())
    }
}

impl crate::error::Coded for ConvertError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

fn fail(at: impl Into<String>, message: impl Into<String>) -> ConvertError {
    ConvertError {
        at: at.into(),
        message: message.into(),
    }
}

/// Converts a clkhash schema (see the module docs).
pub fn to_pprl(schema: &Schema) -> Result<Converted, ConvertError> {
    let mut notes = vec![
        "hashing: pprl's random hashing (HMAC-SHA256) under pprl's key derivation replaces \
         clkhash's hashes and HKDF settings, so these encodings do not compare with clkhash \
         CLKs: switch every department at once"
            .to_string(),
    ];
    if schema.xor_folds > 0 {
        return Err(fail(
            "clkConfig.xor_folds",
            "pprl has no XOR folding of whole filters",
        ));
    }
    if !(MIN_FILTER_BITS..=MAX_FILTER_BITS).contains(&schema.l) || !schema.l.is_multiple_of(64) {
        return Err(fail(
            "clkConfig.l",
            format!(
                "pprl filters are a multiple of 64 bits between {MIN_FILTER_BITS} and \
                 {MAX_FILTER_BITS}, and l is {}",
                schema.l
            ),
        ));
    }
    let id = schema
        .features
        .iter()
        .find(|f| f.hashing.is_none())
        .ok_or_else(|| {
            fail(
                "features",
                "pprl needs a record-id column, and the schema has no ignored feature to \
                 serve as one (add one for the id column)",
            )
        })?;
    let mut root = toml::Table::new();
    root.insert("version".into(), 1.into());
    root.insert("id_column".into(), id.identifier.clone().into());
    let mut filter = toml::Table::new();
    filter.insert("layout".into(), "clk".into());
    filter.insert("length_bits".into(), i64::from(schema.l).into());
    filter.insert("hashing".into(), "hmac-sha256".into());
    root.insert("filter".into(), filter.into());
    let mut fields = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, feature) in schema.features.iter().enumerate() {
        let Some(h) = &feature.hashing else {
            continue;
        };
        let at = |key: &str| format!("features[{i}] ({}).{key}", feature.identifier);
        if !seen.insert(feature.identifier.as_str()) {
            return Err(fail(
                at("identifier"),
                "the identifier is used twice, and pprl field names are unique",
            ));
        }
        let mut field = toml::Table::new();
        field.insert("name".into(), feature.identifier.clone().into());
        let mut normalize: Vec<toml::Value> = Vec::new();
        match &h.format {
            Format::Date { format } => {
                let mut formats = toml::Table::new();
                formats.insert("formats".into(), vec![format.clone()].into());
                let mut step = toml::Table::new();
                step.insert("date".into(), formats.into());
                normalize.push(step.into());
                notes.push(format!(
                    "{}: dates are normalised to YYYY-MM-DD (clkhash: YYYYMMDD) before \
                     tokenizing",
                    feature.identifier
                ));
            }
            Format::Integer { .. } => notes.push(format!(
                "{}: integers are hashed as written (clkhash first rewrites \" +07\" as \"7\")",
                feature.identifier
            )),
            Format::Pattern { .. } | Format::Enum { .. } => notes.push(format!(
                "{}: the format's validation (pattern or enum) is not carried over",
                feature.identifier
            )),
            Format::String {
                case,
                min_length,
                max_length,
            } => {
                if min_length.is_some()
                    || max_length.is_some()
                    || *case != super::schema::Case::Mixed
                {
                    notes.push(format!(
                        "{}: the length and case checks are not carried over",
                        feature.identifier
                    ));
                }
            }
        }
        if h.encoding != TextEncoding::Utf8 {
            notes.push(format!(
                "{}: tokens are hashed as UTF-8 (pprl's only text encoding)",
                feature.identifier
            ));
        }
        field.insert("normalize".into(), normalize.into());
        let mut tokenizer = toml::Table::new();
        match &h.comparison {
            Comparison::Ngram { n, positional } => {
                if !(1..=8).contains(n) {
                    return Err(fail(
                        at("hashing.comparison.n"),
                        format!("pprl q-grams have 1 to 8 characters, and n is {n}"),
                    ));
                }
                tokenizer.insert("kind".into(), "qgram".into());
                tokenizer.insert("q".into(), i64::from(*n).into());
                tokenizer.insert("padding".into(), (*n > 1).into());
                tokenizer.insert("positional".into(), (*positional).into());
            }
            Comparison::Exact => {
                tokenizer.insert("kind".into(), "exact".into());
            }
            Comparison::Numeric {
                threshold_distance,
                resolution,
                fractional_precision,
                ..
            } => {
                if *resolution > 64 {
                    return Err(fail(
                        at("hashing.comparison.resolution"),
                        format!("pprl uses 1 to 64 grid points on each side, not {resolution}"),
                    ));
                }
                tokenizer.insert("kind".into(), "numeric".into());
                tokenizer.insert("distance".into(), (*threshold_distance).into());
                tokenizer.insert("resolution".into(), i64::from(*resolution).into());
                if *fractional_precision > 0 {
                    notes.push(format!(
                        "{}: fractional_precision has no pprl setting (pprl keeps full \
                         precision)",
                        feature.identifier
                    ));
                }
            }
        }
        field.insert("tokenizer".into(), tokenizer.into());
        let half = schema.l / 2;
        match h.strategy {
            Strategy::BitsPerToken(k) => {
                if k > half {
                    return Err(fail(
                        at("hashing.strategy.bitsPerToken"),
                        format!("pprl sets at most half the filter ({half}) bits per token"),
                    ));
                }
                field.insert("bits_per_token".into(), i64::from(k).into());
            }
            Strategy::BitsPerFeature(n) => {
                if n > schema.l {
                    return Err(fail(
                        at("hashing.strategy.bitsPerFeature"),
                        "pprl sets at most the filter length per field",
                    ));
                }
                field.insert("bits_per_field".into(), i64::from(n).into());
                notes.push(format!(
                    "{}: bits per field are spread as round(n / tokens) bits per token \
                     (clkhash: floor, the remainder to the first tokens)",
                    feature.identifier
                ));
            }
        }
        if let Some(m) = &h.missing_value {
            field.insert("missing_values".into(), vec![m.sentinel.clone()].into());
            if !m.replace_with.trim().is_empty() && m.replace_with != m.sentinel {
                let mut rule = toml::Table::new();
                rule.insert("replace_with".into(), m.replace_with.clone().into());
                field.insert("missing".into(), rule.into());
            } else {
                field.insert("missing".into(), "skip".into());
            }
        }
        fields.push(toml::Value::from(field));
    }
    if fields.is_empty() {
        return Err(fail("features", "no hashed feature"));
    }
    root.insert("fields".into(), fields.into());
    let body = toml::to_string_pretty(&root)
        .map_err(|e| fail("schema", format!("cannot write TOML: {e}")))?;
    let toml = format!(
        "# Converted from a clkhash linkage schema (version {}) by pprl {}.\n\
         # Same columns, tokens and weights, but pprl's hashing: these encodings do not compare\n\
         # with clkhash CLKs, so every department must switch to this schema at the same time.\n\n\
         {body}",
        schema.source_version,
        crate::version::TOOL_VERSION
    );
    Ok(Converted { toml, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"version": 3, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF"}},
      "features": [
        {"identifier": "id", "ignored": true},
        {"identifier": "name", "format": {"type": "string", "case": "lower"},
         "hashing": {"comparison": {"type": "ngram", "n": 2, "positional": true}, "strategy": {"bitsPerToken": 20},
                     "missingValue": {"sentinel": "N/A", "replaceWith": "unknown"}}},
        {"identifier": "dob", "format": {"type": "date", "format": "%d/%m/%Y"},
         "hashing": {"comparison": {"type": "exact"}, "strategy": {"bitsPerFeature": 30}, "hash": {"type": "doubleHash"}}},
        {"identifier": "age", "format": {"type": "integer"},
         "hashing": {"comparison": {"type": "numeric", "thresholdDistance": 3, "resolution": 2}, "strategy": {"bitsPerToken": 5}}}
      ]}"#;

    #[test]
    fn converts_to_a_valid_pprl_schema() {
        let schema = Schema::from_json_str(SCHEMA).unwrap();
        let c = to_pprl(&schema).unwrap();
        let pprl = crate::schema::Schema::from_toml_str(&c.toml).unwrap();
        assert_eq!(pprl.id_column, "id");
        assert_eq!(pprl.filter.length_bits, 1024);
        assert_eq!(pprl.fields.len(), 3);
        assert_eq!(
            pprl.fields[0].tokenizer,
            crate::schema::TokenizerSpec::Qgram {
                q: 2,
                padding: true,
                positional: true
            }
        );
        assert_eq!(pprl.fields[0].missing_values, ["N/A"]);
        assert_eq!(
            pprl.fields[0].missing,
            crate::schema::MissingRule::ReplaceWith("unknown".into())
        );
        assert_eq!(pprl.fields[1].bits_per_field, Some(30));
        assert!(c.notes.iter().any(|n| n.contains("dob")));
    }

    #[test]
    fn refuses_what_has_no_equivalent() {
        let folded = SCHEMA.replace(r#""l": 1024"#, r#""l": 512, "xor_folds": 1"#);
        let err = to_pprl(&Schema::from_json_str(&folded).unwrap()).unwrap_err();
        assert_eq!(err.kind(), ConvertErrorKind::NoEquivalent);
        assert_eq!(err.position().field.as_deref(), Some("clkConfig.xor_folds"));
        assert_eq!(err.at, "clkConfig.xor_folds");
        let no_id = SCHEMA.replace(r#"{"identifier": "id", "ignored": true},"#, "");
        let err = to_pprl(&Schema::from_json_str(&no_id).unwrap()).unwrap_err();
        assert_eq!(err.at, "features");
        let long = SCHEMA.replace(r#""n": 2"#, r#""n": 9"#);
        let err = to_pprl(&Schema::from_json_str(&long).unwrap()).unwrap_err();
        assert_eq!(err.at, "features[1] (name).hashing.comparison.n");
    }
}
