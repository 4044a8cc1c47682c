//! The schema's data model: the [`Schema`] document and its parts (filter, fields, tokenizers,
//! blocking keys), as serde reads them from TOML or JSON and writes their canonical form.
//!
//! Nothing here checks a rule that serde cannot; [`Schema::validate`] (in `validate.rs`) does.

use serde::{Deserialize, Serialize};

use super::{
    HardenStep, MAX_FILTER_BITS, MIN_FILTER_BITS, NormalizeStep, SCHEMA_VERSION, SchemaError,
};

/// A validated linkage schema.
///
/// Construct it with [`Schema::from_path`], [`Schema::from_toml_str`],
/// [`Schema::from_json_str`] or, from parts, [`Schema::new`]; all of them validate. A `Schema`
/// whose fields are changed by hand goes through the same checks in [`Schema::validate`],
/// which the encoder also runs before it encodes.
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
    /// Hardening steps, applied in the fixed order [`HardenStep::ORDER`] (none by default).
    /// Left out of the canonical form when empty, so unhardened schemas keep their
    /// fingerprints.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::harden::deserialize_steps"
    )]
    pub harden: Vec<HardenStep>,
}

impl Default for FilterSpec {
    fn default() -> Self {
        FilterSpec {
            layout: Layout::default(),
            length_bits: default_length_bits(),
            hashing: HashingScheme::default(),
            harden: Vec::new(),
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
    /// What to do when the value is present but invalid (a date in none of the declared
    /// formats, a number that does not parse). Default: [`OnInvalid::Missing`], the value is
    /// treated as missing (the `missing` rule applies) and reported; the rest of the row is
    /// encoded. The default is left out of the canonical form, so schemas that do not name it
    /// keep their fingerprints.
    #[serde(default, skip_serializing_if = "OnInvalid::is_default")]
    pub on_invalid: OnInvalid,
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

/// What happens to a value that is present but cannot be normalised or tokenized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnInvalid {
    /// The value is treated as missing: the field's [`MissingRule`] applies (skip, reject the
    /// row, or replace), and the row, field and reason are reported (default).
    #[default]
    Missing,
    /// The whole row is rejected, as pprl did before `on_invalid` existed.
    RejectRow,
}

impl OnInvalid {
    /// The stable name used in schemas.
    pub fn as_str(self) -> &'static str {
        match self {
            OnInvalid::Missing => "missing",
            OnInvalid::RejectRow => "reject-row",
        }
    }

    /// True for the default, [`OnInvalid::Missing`] (left out of the canonical form).
    pub fn is_default(&self) -> bool {
        *self == OnInvalid::Missing
    }
}

impl Schema {
    /// Builds a schema of the current format version from its parts and validates it, with
    /// the same checks as a parsed one.
    pub fn new(
        id_column: impl Into<String>,
        filter: FilterSpec,
        fields: Vec<FieldSpec>,
        blocking: Vec<BlockingKeySpec>,
    ) -> Result<Schema, SchemaError> {
        let schema = Schema {
            version: SCHEMA_VERSION,
            id_column: id_column.into(),
            filter,
            fields,
            blocking,
        };
        schema.validate()?;
        Ok(schema)
    }

    /// Number of filters stored per record (one, or one per field for the field layout).
    pub fn filters_per_record(&self) -> usize {
        match self.filter.layout {
            Layout::Field => self.fields.len(),
            Layout::Clk | Layout::Rbf => 1,
        }
    }

    /// Bits stored per record: `filters_per_record` times the hardened filter length
    /// ([`FilterSpec::output_bits`]; `length_bits` when there is no hardening).
    pub fn record_bits(&self) -> usize {
        self.filters_per_record() * self.filter.output_bits() as usize
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
