//! What a schema declares, as plain data: what `pprl schema check` prints.
//!
//! In: a validated [`Schema`]. Out: a [`SchemaSummary`] (fingerprint, filter settings, fields,
//! expected fill, warnings) that front ends render as text or serialise.

use serde::Serialize;

use super::fill::ExpectedFill;
use super::{Schema, SchemaWarning};

/// A checked schema, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaSummary {
    /// Always `true`: an invalid schema is an error, not a summary.
    pub valid: bool,
    /// The schema fingerprint, in hex.
    pub fingerprint: String,
    /// The schema format version.
    pub version: u32,
    /// Filter layout.
    pub layout: &'static str,
    /// Filter length in bits.
    pub length_bits: u32,
    /// Hashing scheme.
    pub hashing: &'static str,
    /// The hardening steps, by name, in the order applied (left out when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub harden: Vec<String>,
    /// Length of each stored filter once hardened, when the steps change it (left out
    /// otherwise: it is `length_bits`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_bits: Option<u32>,
    /// The fields, in schema order.
    pub fields: Vec<FieldSummary>,
    /// The keyed blocking keys' names.
    pub blocking: Vec<String>,
    /// The fill expected from the weights and typical token counts (no data).
    pub expected_fill: ExpectedFill,
    /// Legal but risky settings.
    pub warnings: Vec<SchemaWarning>,
}

/// One field of a [`SchemaSummary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSummary {
    /// The field's name.
    pub name: String,
    /// The input column it reads.
    pub column: String,
    /// Its tokenizer's kind (`qgram`, `exact`, ...).
    pub tokenizer: &'static str,
}

impl Schema {
    /// The schema's summary.
    pub fn summary(&self) -> SchemaSummary {
        SchemaSummary {
            valid: true,
            fingerprint: self.fingerprint().to_hex(),
            version: self.version,
            layout: self.filter.layout.as_str(),
            length_bits: self.filter.length_bits,
            hashing: self.filter.hashing.as_str(),
            harden: self
                .filter
                .harden
                .iter()
                .map(|h| h.name().to_string())
                .collect(),
            stored_bits: (self.filter.output_bits() != self.filter.length_bits)
                .then(|| self.filter.output_bits()),
            fields: self
                .fields
                .iter()
                .map(|f| FieldSummary {
                    name: f.name.clone(),
                    column: f.column().to_string(),
                    tokenizer: f.tokenizer.kind(),
                })
                .collect(),
            blocking: self.blocking.iter().map(|k| k.name.clone()).collect(),
            expected_fill: self.expected_fill(),
            warnings: self.warnings(),
        }
    }
}
