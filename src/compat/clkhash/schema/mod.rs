//! clkhash linkage schemas (versions 1, 2 and 3): reading, validation and the upgrade to v3.
//!
//! clkhash validates a schema file against its master JSON schema for the file's version,
//! upgrades it step by step (v1 -> v2 -> v3, `clkhash/schema.py`), validates the result against
//! the v3 master schema and builds its field specifications from that. This module does the
//! same, in the same order, so that a schema clkhash accepts is read here with the same
//! meaning, and a schema clkhash refuses is refused here too:
//!
//! * v1 -> v2: the global `k` becomes each feature's `strategy.k = int(round(weight * k))`
//!   (Python rounds halves to even), a feature of `weight` 0 becomes ignored, the global `hash`
//!   moves into every feature;
//! * v2 -> v3: `k`/`numBits` become `bitsPerToken`/`bitsPerFeature`, and `ngram`/`positional`
//!   become `comparison = {type: ngram, n, positional}`.
//!
//! The result is a typed [`Schema`]: every choice is an enum, so the encoder never looks at a
//! string again.
//!
//! # Refused, with the feature named
//!
//! Where clkhash 0.18 would accept a schema but fail or crash on it later, or where pprl cannot
//! reproduce its behaviour exactly, the schema is refused when it is loaded
//! ([`SchemaError::Unsupported`]): `blakeHash` with a filter length that is not a power of two,
//! `prevent_singularity` on `blakeHash`, BLAKE2b keys over 64 bytes, more key material than
//! HKDF can give, date directives for locales, time zones or week numbers, regular expressions
//! that Rust's `regex` crate cannot compile (look-around, back-references), and numbers beyond
//! 64 bits.
//!
//! # One quirk kept on purpose
//!
//! clkhash 0.18 reads the number of XOR folds from the key `xor_folds`, while its master
//! schemas document `xorFolds`; a schema that says `"xorFolds": 2` is therefore *not* folded by
//! clkhash. pprl does the same (so the CLKs stay identical) and adds a warning.

//!
//! # Layout
//!
//! * `model`: the typed schema ([`Schema`] and its parts), what flows out of every path;
//! * `json`: typed access to a JSON document with key paths for messages, as the master schemas
//!   check it;
//! * `upgrade`: v1 document -> v2 document -> v3 document;
//! * `parse`: v3 document -> [`Schema`], key by key;
//! * `validate`: the checks on a typed [`Schema`] (run for a parsed one and for one built with
//!   [`Schema::new`], and again by [`Encoder::new`](super::Encoder::new)).

mod json;
mod model;
mod parse;
mod upgrade;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::Value;

use crate::error::Position;

use self::json::{Obj, integral};
pub use self::model::{
    Case, Comparison, Feature, Format, HashKind, Hashing, Kdf, KdfHash, MissingValue, Schema,
    Strategy, TextEncoding,
};
pub(crate) use self::parse::compile_pattern;
use self::parse::parse_v3;
use self::upgrade::{v1_to_v2, v2_to_v3};

/// Largest filter before folding, in bits: larger is surely a mistake, and would need
/// megabytes per record.
pub const MAX_HASH_BITS: u64 = 1 << 24;

/// A clkhash schema problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The file could not be read.
    #[error("cannot read clkhash schema {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not JSON.
    #[error("the clkhash schema is not valid JSON: {0}")]
    Json(String),
    /// clkhash would refuse the schema: the key path (with the feature's identifier) and why.
    #[error("invalid clkhash schema at {at}: {message}")]
    Invalid {
        /// Where: `clkConfig.kdf.hash`, `features[3] (dob).hashing.strategy`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// clkhash accepts the schema but pprl cannot reproduce it exactly, so it is refused
    /// rather than encoded approximately.
    #[error(
        "unsupported clkhash schema feature at {at}: {message}; pprl refuses rather than \
         encode differently from clkhash"
    )]
    Unsupported {
        /// Where, as for [`SchemaError::Invalid`].
        at: String,
        /// What cannot be honoured and why.
        message: String,
    },
}

crate::error_kinds! {
    /// What kind of [`SchemaError`] a clkhash schema problem is.
    pub enum SchemaErrorKind {
        /// The file could not be read.
        Io => "clkhash-schema-io",
        /// The text is not JSON.
        Json => "clkhash-schema-json",
        /// clkhash would refuse the schema.
        Invalid => "clkhash-schema-invalid",
        /// clkhash accepts the schema but pprl cannot reproduce it exactly.
        Unsupported => "clkhash-schema-unsupported",
    }
}

impl SchemaError {
    /// The kind of problem, with its stable code.
    pub fn kind(&self) -> SchemaErrorKind {
        match self {
            SchemaError::Io { .. } => SchemaErrorKind::Io,
            SchemaError::Json(_) => SchemaErrorKind::Json,
            SchemaError::Invalid { .. } => SchemaErrorKind::Invalid,
            SchemaError::Unsupported { .. } => SchemaErrorKind::Unsupported,
        }
    }

    /// Where: the file for [`SchemaError::Io`], the JSON key path (as
    /// [`Position::field`], e.g. `clkConfig.kdf.hash`) for [`SchemaError::Invalid`] and
    /// [`SchemaError::Unsupported`]; `None` for JSON syntax errors.
    pub fn position(&self) -> Option<Position> {
        match self {
            SchemaError::Io { path, .. } => Some(Position::file(path.clone())),
            SchemaError::Json(_) => None,
            SchemaError::Invalid { at, .. } | SchemaError::Unsupported { at, .. } => {
                Some(Position::default().in_field(at.clone()))
            }
        }
    }
}

impl crate::error::Coded for SchemaError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl Schema {
    /// Reads and validates a clkhash schema file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Schema, SchemaError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Schema::from_json_str(&text)
    }

    /// Parses and validates a clkhash schema (any version).
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SchemaError::Json(crate::error::scrub_parser_message(&e.to_string())))?;
        Schema::from_value(&value)
    }

    /// Validates a parsed clkhash schema (any version), upgrading it to v3.
    pub fn from_value(value: &Value) -> Result<Schema, SchemaError> {
        let top = Obj::new(value, "the top level")?;
        let version = match top.get("version") {
            None => return Err(invalid("version", "a format version is expected")),
            Some(v) => match integral(v) {
                Some(n @ 1..=3) => n as u32,
                _ => {
                    return Err(invalid(
                        "version",
                        format!("schema version {v} is not supported (clkhash reads 1, 2 and 3)"),
                    ));
                }
            },
        };
        let mut warnings = Vec::new();
        let v3 = match version {
            1 => v2_to_v3(&v1_to_v2(value, &mut warnings)?)?,
            2 => v2_to_v3(value)?,
            _ => value.clone(),
        };
        let mut schema = parse_v3(&v3, &mut warnings)?;
        schema.source_version = version;
        schema.warnings = warnings;
        schema.validate()?;
        Ok(schema)
    }

    /// A version-3 schema built by hand, with the same checks as a parsed one (what
    /// [`validate`](Schema::validate) checks); warnings are empty.
    pub fn new(
        l: u32,
        xor_folds: u32,
        kdf: Kdf,
        features: Vec<Feature>,
    ) -> Result<Schema, SchemaError> {
        let schema = Schema {
            source_version: 3,
            l,
            xor_folds,
            kdf,
            features,
            warnings: Vec::new(),
        };
        schema.validate()?;
        Ok(schema)
    }

    /// Checks what a parsed schema is guaranteed to satisfy, with the error (kind and key path)
    /// that parsing the same settings gives: the filter size, the key derivation, and every
    /// hashed feature's format, comparison, strategy and hash. [`Encoder::new`](super::Encoder::new)
    /// runs it, so a schema built or changed by hand cannot reach the encoder unchecked.
    pub fn validate(&self) -> Result<(), SchemaError> {
        validate::validate(self)
    }

    /// The canonical JSON of everything that changes the bits (not identifiers, descriptions
    /// or the source version), tagged so it never equals a pprl schema's.
    pub fn canonical_json(&self) -> Vec<u8> {
        let tagged = serde_json::json!({ "clkhash_v3": self });
        serde_json::to_vec(&tagged).unwrap_or_default()
    }

    /// SHA-256 of [`Schema::canonical_json`]: equal for two schemas that give the same bits
    /// from the same secret, whatever their identifiers.
    pub fn fingerprint(&self) -> crate::schema::SchemaFingerprint {
        use sha2::Digest as _;
        crate::schema::SchemaFingerprint(sha2::Sha256::digest(self.canonical_json()).into())
    }

    /// Bits of the filter before folding: `l * 2^xor_folds`.
    pub fn hash_bits(&self) -> u64 {
        u64::from(self.l) << self.xor_folds
    }
}

/// True if a parsed JSON document looks like a clkhash schema (it has clkhash's top-level
/// keys) rather than a pprl schema.
pub fn is_clkhash_schema(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|m| m.contains_key("clkConfig") || m.contains_key("features"))
}

fn invalid(at: impl Into<String>, message: impl Into<String>) -> SchemaError {
    SchemaError::Invalid {
        at: at.into(),
        message: message.into(),
    }
}

fn unsupported(at: impl Into<String>, message: impl Into<String>) -> SchemaError {
    SchemaError::Unsupported {
        at: at.into(),
        message: message.into(),
    }
}
