//! The typed clkhash schema, upgraded to version 3: every choice an enum, so the encoder never
//! looks at a string again. Built by `parse` from JSON, or by hand with
//! [`Schema::new`]; either way `validate` has checked it.

use serde::Serialize;

/// A clkhash schema, upgraded to version 3 and validated.
///
/// Read one with [`Schema::from_path`] or [`Schema::from_json_str`], or build one with
/// [`Schema::new`]: all three run the same checks ([`Schema::validate`]), and the encoder runs
/// them again, so the public fields (for reading) cannot smuggle in an unchecked schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Schema {
    /// The version the file was written in (1, 2 or 3).
    #[serde(skip)]
    pub source_version: u32,
    /// Length of a CLK in bits, after folding.
    pub l: u32,
    /// Number of XOR folds: bits are set in a filter of `l * 2^xor_folds` bits, which is then
    /// folded in half that many times.
    pub xor_folds: u32,
    /// Key derivation.
    pub kdf: Kdf,
    /// The features, one per input column, in column order.
    pub features: Vec<Feature>,
    /// Legal but surprising settings, for people to read.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// HKDF settings: how the per-feature keys are derived from the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kdf {
    /// The hash inside HKDF.
    pub hash: KdfHash,
    /// HKDF salt (decoded from base64); `None` means HKDF's default (zeros).
    pub salt: Option<Vec<u8>>,
    /// HKDF info (decoded from base64); `None` means empty.
    pub info: Option<Vec<u8>>,
    /// Bytes per derived key (default 64).
    pub key_size: u32,
}

/// The hash function of HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KdfHash {
    /// HKDF-SHA256 (default).
    Sha256,
    /// HKDF-SHA512.
    Sha512,
}

/// One feature (input column).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feature {
    /// The column's identifier (also its expected header).
    #[serde(skip)]
    pub identifier: String,
    /// How it is validated and hashed; `None` for an ignored feature.
    pub hashing: Option<Box<Hashing>>,
}

/// How a feature is validated, tokenized and hashed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hashing {
    /// The value's format (what validation accepts, and how the value is normalised).
    pub format: Format,
    /// How tokens become bytes (only string formats can choose; others are UTF-8).
    pub encoding: TextEncoding,
    /// How a value becomes tokens.
    pub comparison: Comparison,
    /// How many bits each token sets.
    pub strategy: Strategy,
    /// How a token becomes bit positions.
    pub hash: HashKind,
    /// The missing-value sentinel and its replacement.
    pub missing_value: Option<MissingValue>,
}

/// A feature's format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Format {
    /// A string, with optional case and length limits (lengths count characters).
    String {
        /// Required case.
        case: Case,
        /// Shortest accepted length.
        min_length: Option<u64>,
        /// Longest accepted length.
        max_length: Option<u64>,
    },
    /// A string that must match a regular expression in full.
    Pattern {
        /// The expression, as written.
        pattern: String,
    },
    /// A base-10 integer (as Python's `int` reads it), hashed in canonical form.
    Integer {
        /// Smallest accepted value.
        minimum: Option<i64>,
        /// Largest accepted value.
        maximum: Option<i64>,
    },
    /// A date in a strptime format, hashed as `%Y%m%d`.
    Date {
        /// The strptime format.
        format: String,
    },
    /// One of a fixed set of strings.
    Enum {
        /// The accepted values.
        values: Vec<String>,
    },
}

/// Case rule of a string format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Case {
    /// Must equal its upper-case form.
    Upper,
    /// Must equal its lower-case form.
    Lower,
    /// Anything (default).
    Mixed,
}

/// How tokens are turned into bytes before hashing (Python's `str.encode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TextEncoding {
    /// ASCII; values with other characters fail validation.
    Ascii,
    /// UTF-8 (default).
    Utf8,
    /// UTF-16 with a byte-order mark, little-endian as on x86-64 (`FF FE` + code units).
    Utf16,
    /// UTF-32 with a byte-order mark, little-endian as on x86-64 (`FF FE 00 00` + units).
    Utf32,
}

/// How a value becomes tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Comparison {
    /// Overlapping n-grams of characters, padded with `n-1` spaces on each side; positional
    /// n-grams are prefixed with their 1-based index and a space.
    Ngram {
        /// Characters per gram.
        n: u32,
        /// Prefix each gram with its position.
        positional: bool,
    },
    /// The whole value as one token.
    Exact,
    /// The value's neighbourhood on a grid (Vatsalan & Christen 2015).
    Numeric {
        /// As written in the schema.
        threshold_distance: f64,
        /// Tokens on each side of the value.
        resolution: u32,
        /// Decimal digits kept after the point.
        fractional_precision: u32,
        /// `round(threshold_distance * 10^fractional_precision)`: the grid spacing.
        distance_interval: i64,
    },
}

/// How many bits each token sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Every token sets this many bits (with repetition, as clkhash does).
    BitsPerToken(u32),
    /// This many insertions in all, spread over the tokens: the first `n % t` tokens get
    /// `n / t + 1`, the others `n / t`.
    BitsPerFeature(u32),
}

/// How a token becomes bit positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HashKind {
    /// Keyed BLAKE2b, read as little-endian 16-bit slices (default).
    Blake,
    /// `(HMAC-SHA1 + i * HMAC-MD5) mod l` (Schnell et al. 2011); with `prevent_singularity`,
    /// an HMAC-MD5 of zero is re-drawn.
    Double {
        /// Re-draw a zero second hash.
        prevent_singularity: bool,
    },
}

/// A missing-value sentinel: a value equal to it skips validation and is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingValue {
    /// The exact raw value that means "missing".
    pub sentinel: String,
    /// What is hashed instead (default: the sentinel itself).
    pub replace_with: String,
}

impl KdfHash {
    /// The hash's output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            KdfHash::Sha256 => 32,
            KdfHash::Sha512 => 64,
        }
    }
}
