//! The linkage schema: which columns of an export are read, and how each becomes bits.
//!
//! A schema is a small versioned document (TOML, or JSON with the same keys) that two or more
//! departments agree on before they encode. It declares
//!
//! * the record-id column: an opaque handle carried along with each encoding, never hashed;
//! * each identifier field: its column, normalisation steps, tokenizer, weight and missing-value
//!   rule;
//! * the filter: layout (record-level CLK, field-level filters, or Durham's RBF), length in bits
//!   and the keyed hashing scheme.
//!
//! Flow: file text -> [`Schema::from_toml_str`] / [`Schema::from_json_str`] (serde, which
//! reports unknown keys and bad values with a line and column) -> [`Schema::validate`] (the
//! cross-field rules, reported with a key path such as `fields[2].tokenizer.q`) -> a [`Schema`]
//! that the encoder can trust.
//!
//! # The fingerprint covers the bits, not the plumbing
//!
//! [`Schema::fingerprint`] is the SHA-256 of a canonical JSON serialisation of every setting that
//! changes the bits of an encoding. Settings that only say how to *read* a department's export
//! (the column names, the date input formats, the missing-value markers) are left out, so two
//! departments whose exports are laid out differently can still confirm, by comparing one hex
//! string, that they encode the same way. The canonical JSON is also embedded in every encoding
//! file so that a third party can check it.
//!
//! The full format is documented in `docs/schema.md`.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod date_format;
mod step;
pub mod summary;

pub use date_format::DateFormats;
pub use step::NormalizeStep;

/// The only schema format version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Smallest and largest filter length accepted, in bits.
pub const MIN_FILTER_BITS: u32 = 64;
/// See [`MIN_FILTER_BITS`]. Matching kernels are built for up to 4096 bits per filter.
pub const MAX_FILTER_BITS: u32 = 4096;

/// A validated linkage schema.
///
/// Construct it with [`Schema::from_path`], [`Schema::from_toml_str`] or
/// [`Schema::from_json_str`]; all of them validate. A `Schema` built by hand should be passed
/// through [`Schema::validate`] before use.
///
/// `Serialize` writes the *canonical* form (the one the fingerprint covers), not the file as
/// written: local input settings are skipped and every default is spelled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Schema format version; must be [`SCHEMA_VERSION`].
    pub version: u32,
    /// Name of the column holding the record id (an opaque handle, never hashed).
    #[serde(skip_serializing)]
    pub id_column: String,
    /// Layout, length and hashing of the filters.
    #[serde(default)]
    pub filter: FilterSpec,
    /// The identifier fields, in the order they are hashed.
    pub fields: Vec<FieldSpec>,
    /// Keyed blocking keys stored beside each filter (none by default). Left out of the
    /// canonical form when empty, so schemas without them keep their fingerprints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocking: Vec<BlockingKeySpec>,
}

/// A keyed blocking key: a few characters of one or more normalised fields, hashed under its
/// own key into an opaque 64-bit block id stored with each record.
///
/// Records that share a block id under any key are compared by `pprl match --blocking keys`;
/// the third party sees only the ids, never the values. Example: the Soundex code of the
/// surname with the year of birth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingKeySpec {
    /// The key's name: unique among blocking keys, and bound into its hashing key.
    pub name: String,
    /// The parts, concatenated in order. A record with any part missing has no block id for
    /// this key (it can still meet its matches through the other keys).
    pub parts: Vec<BlockingPart>,
}

/// One part of a blocking key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingPart {
    /// The schema field whose value is used, after that field's own missing-value markers and
    /// normalisation.
    pub field: String,
    /// Further normalisation steps for the key only (for example `"soundex"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub normalize: Vec<NormalizeStep>,
    /// Keep only the first `prefix` characters (for example 4 for the year of an ISO date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u32>,
}

/// The most blocking keys a schema may declare.
pub const MAX_BLOCKING_KEYS: usize = 16;

/// How the filters of one record are laid out, how long they are and how bits are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Record-level CLK (default), field-level filters or record-level Bloom filters (RBF).
    #[serde(default)]
    pub layout: Layout,
    /// Length of each filter in bits: a multiple of 64 between 64 and 4096. Default 1024.
    #[serde(default = "default_length_bits")]
    pub length_bits: u32,
    /// Keyed hashing scheme that turns a token into bit positions.
    #[serde(default)]
    pub hashing: HashingScheme,
}

impl Default for FilterSpec {
    fn default() -> Self {
        FilterSpec {
            layout: Layout::default(),
            length_bits: default_length_bits(),
            hashing: HashingScheme::default(),
        }
    }
}

fn default_length_bits() -> u32 {
    1024
}

/// Filter layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One cryptographic long-term key (CLK) per record: every field hashed into one filter.
    /// Default, and the safest against frequency attacks because several fields share a filter.
    #[default]
    Clk,
    /// One filter per field (each `length_bits` long), stored side by side. Equal values give
    /// equal filters, which frequency attacks exploit (Kuzu et al. 2011): use only with care.
    Field,
    /// Record-level Bloom filter (Durham et al. 2014): each field is hashed into its own filter
    /// (`rbf_bits` long), then bits are sampled from the field filters in proportion to
    /// `rbf_weight` into one record filter and permuted, all under the secret key.
    Rbf,
}

impl Layout {
    /// The stable name used in schemas and file headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Clk => "clk",
            Layout::Field => "field",
            Layout::Rbf => "rbf",
        }
    }
}

/// Keyed hashing scheme: how a token becomes bit positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashingScheme {
    /// Random hashing with HMAC-SHA256 in counter mode under a per-field HKDF subkey (default).
    #[default]
    HmacSha256,
    /// Random hashing with keyed BLAKE3 in extendable-output mode under the same subkeys.
    Blake3,
    /// clkhash's own schemes (`blakeHash`, `doubleHash`), for encodings made from a clkhash
    /// schema (`crate::compat::clkhash`). Only file headers carry it: a pprl schema cannot
    /// name it, because clkhash's bits depend on its own schema and key derivation.
    #[serde(skip_deserializing)]
    Clkhash,
}

impl HashingScheme {
    /// The stable name used in schemas and file headers.
    pub fn as_str(self) -> &'static str {
        match self {
            HashingScheme::HmacSha256 => "hmac-sha256",
            HashingScheme::Blake3 => "blake3",
            HashingScheme::Clkhash => "clkhash",
        }
    }
}

/// One identifier field of the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name: unique in the schema, and bound into its key, so renaming a field
    /// changes its bits.
    pub name: String,
    /// The input column it reads (default: the field's name). Several fields may read one
    /// column (for example a name and its Soundex code).
    #[serde(default, skip_serializing)]
    pub column: Option<String>,
    /// Raw values treated as missing, compared after trimming, ignoring ASCII case.
    /// An empty value is always missing. Default: none besides the empty value.
    #[serde(default, skip_serializing)]
    pub missing_values: Vec<String>,
    /// Normalisation steps, applied in order.
    #[serde(default)]
    pub normalize: Vec<NormalizeStep>,
    /// How the normalised value is cut into tokens.
    pub tokenizer: TokenizerSpec,
    /// Bits set per token (`k`). Exactly one of this and `bits_per_field` must be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_token: Option<u32>,
    /// Bits set for the whole field value, spread over its tokens:
    /// `k = max(1, round(bits_per_field / tokens))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_field: Option<u32>,
    /// What to do when the value is missing (empty, a missing-value marker, or empty after
    /// normalisation). Default: `skip`.
    #[serde(default)]
    pub missing: MissingRule,
    /// RBF layout only: share of the record filter sampled from this field (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbf_weight: Option<f64>,
    /// RBF layout only: length of this field's own filter in bits (default: `length_bits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbf_bits: Option<u32>,
}

/// Weight of a field: how many bits its tokens set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// `k` bits per token.
    BitsPerToken(u32),
    /// About this many bits for the whole value, divided among its tokens.
    BitsPerField(u32),
}

impl FieldSpec {
    /// The input column this field reads.
    pub fn column(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }

    /// The field's weight. Only meaningful on a validated schema, where exactly one of
    /// `bits_per_token` and `bits_per_field` is set.
    pub fn weight(&self) -> Weight {
        match (self.bits_per_token, self.bits_per_field) {
            (Some(k), _) => Weight::BitsPerToken(k),
            (None, Some(n)) => Weight::BitsPerField(n),
            (None, None) => Weight::BitsPerToken(0),
        }
    }
}

/// How a normalised value is cut into tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TokenizerSpec {
    /// Overlapping character q-grams (`q` characters each; Unicode scalar values, not bytes).
    Qgram {
        /// Characters per gram (1 to 8). Default 2.
        #[serde(default = "default_q")]
        q: u32,
        /// Pad the value with `q-1` `_` on each side so first and last characters weigh as
        /// much as the rest. Default true.
        #[serde(default = "default_true")]
        padding: bool,
        /// Prefix each gram with its position (`3:ab`), so the order of grams counts.
        #[serde(default)]
        positional: bool,
    },
    /// The whole value as one token.
    Exact,
    /// Numeric neighbourhood: the value and its neighbours, so numbers within `distance`
    /// of each other share tokens.
    Numeric {
        /// Values further apart than this share no tokens. Must be > 0.
        distance: f64,
        /// Tokens on each side of the value (1 to 64); more gives a smoother similarity.
        #[serde(default = "default_resolution")]
        resolution: u32,
    },
    /// A date in `YYYY-MM-DD` form (see the `date` normalisation step), cut into one token each
    /// for year, month and day, so a one-part error keeps two thirds of the tokens.
    Date,
}

fn default_q() -> u32 {
    2
}
fn default_true() -> bool {
    true
}
fn default_resolution() -> u32 {
    4
}

impl TokenizerSpec {
    /// The stable name of this tokenizer.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenizerSpec::Qgram { .. } => "qgram",
            TokenizerSpec::Exact => "exact",
            TokenizerSpec::Numeric { .. } => "numeric",
            TokenizerSpec::Date => "date",
        }
    }
}

/// What happens to a missing value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingRule {
    /// The field contributes no bits; the record is still encoded (default).
    #[default]
    Skip,
    /// The row is rejected (reported in the rejects file with the field's name).
    Reject,
    /// The value is replaced by this normalised value before tokenizing.
    ReplaceWith(String),
}

/// A schema problem found when reading or validating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema file could not be read.
    #[error("cannot read schema {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not valid TOML/JSON, or a key or value is unknown or of the wrong type.
    /// The message carries the line and column.
    #[error("schema {format} syntax: {message}")]
    Syntax {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// The parser's message, with its position.
        message: String,
    },
    /// A value parsed but breaks a rule.
    #[error("schema key `{path}`: {message}")]
    Invalid {
        /// The key path, e.g. `fields[2].tokenizer.q`.
        path: String,
        /// What was expected.
        message: String,
    },
}

crate::error_kinds! {
    /// What kind of problem a [`SchemaError`] is.
    pub enum SchemaErrorKind {
        /// The schema file could not be read.
        Io => "schema-io",
        /// The text is not valid TOML/JSON, or a key or value is unknown or of the wrong type.
        Syntax => "schema-syntax",
        /// A value parsed but breaks a rule.
        Invalid => "schema-invalid",
    }
}

impl SchemaError {
    /// The error's kind.
    pub fn kind(&self) -> SchemaErrorKind {
        match self {
            SchemaError::Io { .. } => SchemaErrorKind::Io,
            SchemaError::Syntax { .. } => SchemaErrorKind::Syntax,
            SchemaError::Invalid { .. } => SchemaErrorKind::Invalid,
        }
    }

    /// Where the problem is: the file that could not be read, or the key path (as the
    /// position's field, e.g. `fields[2].tokenizer.q`) of the value that breaks a rule. A
    /// syntax error's line and column are in its message.
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            SchemaError::Io { path, .. } => Some(crate::error::Position::file(path.clone())),
            SchemaError::Invalid { path, .. } => {
                Some(crate::error::Position::default().in_field(path.clone()))
            }
            SchemaError::Syntax { .. } => None,
        }
    }

    /// The key path of the value that breaks a rule, for [`SchemaErrorKind::Invalid`].
    pub fn key_path(&self) -> Option<&str> {
        match self {
            SchemaError::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }

    fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        SchemaError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl crate::error::Coded for SchemaError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// Something legal but risky in a schema, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaWarning {
    /// Stable code, e.g. `W001`.
    pub code: &'static str,
    /// What is risky and what to do instead.
    pub message: String,
}

impl fmt::Display for SchemaWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The SHA-256 fingerprint of a schema's canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaFingerprint(pub [u8; 32]);

impl SchemaFingerprint {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for SchemaFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Schema {
    /// Reads and validates a schema file; `.json` files are read as JSON, anything else as TOML.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Schema, SchemaError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Schema::from_json_str(&text)
        } else {
            Schema::from_toml_str(&text)
        }
    }

    /// Parses and validates a TOML schema.
    pub fn from_toml_str(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema = toml::from_str(text).map_err(|e| SchemaError::Syntax {
            format: "TOML",
            message: e.to_string().trim_end().to_string(),
        })?;
        schema.validate()?;
        Ok(schema)
    }

    /// Parses and validates a JSON schema (same keys as TOML).
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema = serde_json::from_str(text).map_err(|e| SchemaError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        schema.validate()?;
        Ok(schema)
    }

    /// Checks the rules serde cannot: versions, ranges, uniqueness and combinations.
    pub fn validate(&self) -> Result<(), SchemaError> {
        if self.version != SCHEMA_VERSION {
            return Err(SchemaError::invalid(
                "version",
                format!(
                    "unsupported schema version {}; this build reads version {SCHEMA_VERSION}",
                    self.version
                ),
            ));
        }
        if self.id_column.trim().is_empty() {
            return Err(SchemaError::invalid(
                "id_column",
                "must name the column that holds the record id",
            ));
        }
        let bits = self.filter.length_bits;
        if !(MIN_FILTER_BITS..=MAX_FILTER_BITS).contains(&bits) || !bits.is_multiple_of(64) {
            return Err(SchemaError::invalid(
                "filter.length_bits",
                format!(
                    "expected a multiple of 64 between {MIN_FILTER_BITS} and {MAX_FILTER_BITS}, found {bits}"
                ),
            ));
        }
        if self.filter.hashing == HashingScheme::Clkhash {
            return Err(SchemaError::invalid(
                "filter.hashing",
                "`clkhash` hashing comes only from clkhash schemas (encode with the clkhash \
                 schema itself)",
            ));
        }
        if self.fields.is_empty() {
            return Err(SchemaError::invalid(
                "fields",
                "a schema needs at least one identifier field",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            let at = |key: &str| format!("fields[{i}].{key}");
            if field.name.trim().is_empty() || field.name.chars().any(char::is_control) {
                return Err(SchemaError::invalid(
                    at("name"),
                    "expected a non-empty name without control characters",
                ));
            }
            if !seen.insert(field.name.as_str()) {
                return Err(SchemaError::invalid(
                    at("name"),
                    format!("field name `{}` is used twice", field.name),
                ));
            }
            if field.column() == self.id_column {
                return Err(SchemaError::invalid(
                    at("column"),
                    format!(
                        "`{}` is the id column; record ids are carried along, never hashed",
                        self.id_column
                    ),
                ));
            }
            for (j, step) in field.normalize.iter().enumerate() {
                step.validate().map_err(|message| {
                    SchemaError::invalid(at(&format!("normalize[{j}]")), message)
                })?;
            }
            match &field.tokenizer {
                TokenizerSpec::Qgram { q, .. } if !(1..=8).contains(q) => {
                    return Err(SchemaError::invalid(
                        at("tokenizer.q"),
                        format!("expected 1 to 8 characters per gram, found {q}"),
                    ));
                }
                TokenizerSpec::Numeric {
                    distance,
                    resolution,
                } => {
                    if !(distance.is_finite() && *distance > 0.0) {
                        return Err(SchemaError::invalid(
                            at("tokenizer.distance"),
                            format!("expected a finite number > 0, found {distance}"),
                        ));
                    }
                    if !(1..=64).contains(resolution) {
                        return Err(SchemaError::invalid(
                            at("tokenizer.resolution"),
                            format!("expected 1 to 64 tokens on each side, found {resolution}"),
                        ));
                    }
                }
                _ => {}
            }
            let target_bits = match field.layout_bits(self) {
                Some(b) => b,
                None => {
                    return Err(SchemaError::invalid(
                        at("rbf_bits"),
                        format!(
                            "expected a multiple of 64 between {MIN_FILTER_BITS} and {MAX_FILTER_BITS}"
                        ),
                    ));
                }
            };
            match (field.bits_per_token, field.bits_per_field) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(SchemaError::invalid(
                        at("bits_per_token"),
                        "give exactly one of `bits_per_token` and `bits_per_field`",
                    ));
                }
                (Some(k), None) if k == 0 || k > target_bits / 2 => {
                    return Err(SchemaError::invalid(
                        at("bits_per_token"),
                        format!(
                            "expected 1 to {} (half the filter), found {k}",
                            target_bits / 2
                        ),
                    ));
                }
                (None, Some(n)) if n == 0 || n > target_bits => {
                    return Err(SchemaError::invalid(
                        at("bits_per_field"),
                        format!("expected 1 to {target_bits} (the filter length), found {n}"),
                    ));
                }
                _ => {}
            }
            if let MissingRule::ReplaceWith(v) = &field.missing
                && v.trim().is_empty()
            {
                return Err(SchemaError::invalid(
                    at("missing.replace_with"),
                    "the replacement must not be empty",
                ));
            }
            if self.filter.layout != Layout::Rbf
                && (field.rbf_weight.is_some() || field.rbf_bits.is_some())
            {
                return Err(SchemaError::invalid(
                    at("rbf_weight"),
                    "`rbf_weight` and `rbf_bits` apply only to `layout = \"rbf\"`",
                ));
            }
            if let Some(w) = field.rbf_weight
                && !(w.is_finite() && w > 0.0)
            {
                return Err(SchemaError::invalid(
                    at("rbf_weight"),
                    format!("expected a finite number > 0, found {w}"),
                ));
            }
        }
        if self.filter.layout == Layout::Field && self.fields.len() > 64 {
            return Err(SchemaError::invalid(
                "fields",
                "the field layout supports at most 64 fields",
            ));
        }
        self.validate_blocking()
    }

    fn validate_blocking(&self) -> Result<(), SchemaError> {
        if self.blocking.len() > MAX_BLOCKING_KEYS {
            return Err(SchemaError::invalid(
                "blocking",
                format!("at most {MAX_BLOCKING_KEYS} blocking keys"),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, key) in self.blocking.iter().enumerate() {
            let at = |k: &str| format!("blocking[{i}].{k}");
            if key.name.trim().is_empty() || key.name.chars().any(char::is_control) {
                return Err(SchemaError::invalid(
                    at("name"),
                    "expected a non-empty name without control characters",
                ));
            }
            if !names.insert(key.name.as_str()) {
                return Err(SchemaError::invalid(
                    at("name"),
                    format!("blocking key name `{}` is used twice", key.name),
                ));
            }
            if key.parts.is_empty() {
                return Err(SchemaError::invalid(
                    at("parts"),
                    "a blocking key needs at least one part",
                ));
            }
            for (j, part) in key.parts.iter().enumerate() {
                let at = |k: &str| format!("blocking[{i}].parts[{j}].{k}");
                if !self.fields.iter().any(|f| f.name == part.field) {
                    return Err(SchemaError::invalid(
                        at("field"),
                        format!("no field named `{}` in `fields`", part.field),
                    ));
                }
                if part.prefix == Some(0) {
                    return Err(SchemaError::invalid(
                        at("prefix"),
                        "expected at least 1 character",
                    ));
                }
                for (k, step) in part.normalize.iter().enumerate() {
                    step.validate().map_err(|message| {
                        SchemaError::invalid(at(&format!("normalize[{k}]")), message)
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Risky but legal choices, for `pprl schema check` and `pprl encode` to print.
    pub fn warnings(&self) -> Vec<SchemaWarning> {
        let mut out = Vec::new();
        if self.filter.layout == Layout::Field {
            out.push(SchemaWarning {
                code: "W001",
                message: "field-level filters: equal values give equal filters, which frequency \
                          attacks exploit; prefer the default `clk` layout"
                    .into(),
            });
        }
        if self.filter.length_bits < 512 {
            out.push(SchemaWarning {
                code: "W002",
                message: format!(
                    "filters of {} bits fill up quickly and make attacks easier; 1024 is usual",
                    self.filter.length_bits
                ),
            });
        }
        let low_entropy = |f: &FieldSpec| {
            matches!(
                f.tokenizer,
                TokenizerSpec::Exact | TokenizerSpec::Date | TokenizerSpec::Numeric { .. }
            )
        };
        if self.fields.iter().all(low_entropy) {
            out.push(SchemaWarning {
                code: "W003",
                message: "every field is an exact, date or numeric value: such encodings are \
                          easy to enumerate; add name or address q-gram fields"
                    .into(),
            });
        }
        if self.filter.layout != Layout::Field && self.fields.len() < 3 {
            out.push(SchemaWarning {
                code: "W004",
                message: format!(
                    "only {} field(s) in one filter: frequent values give frequent filters; \
                     three or more fields make filters unique",
                    self.fields.len()
                ),
            });
        }
        out
    }

    /// The canonical JSON bytes that [`Schema::fingerprint`] hashes and that encoding files
    /// embed: keys in declaration order, defaults spelled out, local input settings left out.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Serialising plain structs and enums (no maps) cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// SHA-256 of [`Schema::canonical_json`].
    pub fn fingerprint(&self) -> SchemaFingerprint {
        SchemaFingerprint(Sha256::digest(self.canonical_json()).into())
    }

    /// Number of filters stored per record (one, or one per field for the field layout).
    pub fn filters_per_record(&self) -> usize {
        match self.filter.layout {
            Layout::Field => self.fields.len(),
            Layout::Clk | Layout::Rbf => 1,
        }
    }

    /// Bits stored per record: `filters_per_record * length_bits`.
    pub fn record_bits(&self) -> usize {
        self.filters_per_record() * self.filter.length_bits as usize
    }
}

impl FieldSpec {
    /// Length of the filter this field's tokens are hashed into, or `None` if `rbf_bits` is
    /// out of range.
    pub(crate) fn layout_bits(&self, schema: &Schema) -> Option<u32> {
        match (schema.filter.layout, self.rbf_bits) {
            (Layout::Rbf, Some(b)) => ((MIN_FILTER_BITS..=MAX_FILTER_BITS).contains(&b)
                && b.is_multiple_of(64))
            .then_some(b),
            _ => Some(schema.filter.length_bits),
        }
    }
}

#[cfg(test)]
mod tests;
