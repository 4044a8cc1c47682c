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

use std::path::Path;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use super::strptime::{DateFormat, FormatError};

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

/// A clkhash schema, upgraded to version 3 and validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
        let value: Value =
            serde_json::from_str(text).map_err(|e| SchemaError::Json(e.to_string()))?;
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
        Ok(schema)
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

/// A JSON integer as JSON Schema counts them (an integral float is one; a boolean is not).
fn integral(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// An object being validated, with its path for messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, at: impl Into<String>) -> Result<Obj<'a>, SchemaError> {
        let at = at.into();
        match v {
            Value::Object(map) => Ok(Obj { map, at }),
            other => Err(invalid(
                at,
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    fn path(&self, key: &str) -> String {
        if self.at == "the top level" {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn req(&self, key: &str) -> Result<&'a Value, SchemaError> {
        self.get(key)
            .ok_or_else(|| invalid(self.at.clone(), format!("the key `{key}` is required")))
    }

    fn obj(&self, key: &str) -> Result<Obj<'a>, SchemaError> {
        Obj::new(self.req(key)?, self.path(key))
    }

    /// An optional integer of at least `min`.
    fn int(&self, key: &str, min: i64) -> Result<Option<i64>, SchemaError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match integral(v) {
            Some(n) if n >= min => Ok(Some(n)),
            Some(n) => Err(invalid(self.path(key), format!("{n} is less than {min}"))),
            None if v.is_number() => Err(unsupported(
                self.path(key),
                format!("{v} is not an integer that fits 64 bits"),
            )),
            None => Err(invalid(
                self.path(key),
                format!("expected an integer, found {}", kind(v)),
            )),
        }
    }

    fn req_int(&self, key: &str, min: i64) -> Result<i64, SchemaError> {
        self.req(key)?;
        Ok(self.int(key, min)?.unwrap_or(min))
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, SchemaError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(invalid(
                self.path(key),
                format!("expected a string, found {}", kind(v)),
            )),
        }
    }

    fn req_string(&self, key: &str) -> Result<&'a str, SchemaError> {
        self.req(key)?;
        Ok(self.string(key)?.unwrap_or_default())
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, SchemaError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(invalid(
                self.path(key),
                format!("expected true or false, found {}", kind(v)),
            )),
        }
    }

    /// `additionalProperties: false`.
    fn only(&self, keys: &[&str]) -> Result<(), SchemaError> {
        match self.map.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(extra) => Err(invalid(
                self.at.clone(),
                format!(
                    "the key `{extra}` is not allowed here (allowed: {})",
                    keys.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// One of `allowed` string constants.
    fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>, SchemaError> {
        match self.string(key)? {
            Some(s) if !allowed.contains(&s) => Err(invalid(
                self.path(key),
                format!("`{s}` is not one of {}", allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn features<'a>(top: &Obj<'a>) -> Result<&'a Vec<Value>, SchemaError> {
    match top.req("features")? {
        Value::Array(items) => Ok(items),
        other => Err(invalid(
            "features",
            format!("expected an array, found {}", kind(other)),
        )),
    }
}

fn feature_at(i: usize, item: &Value) -> String {
    match item.get("identifier").and_then(Value::as_str) {
        Some(id) => format!("features[{i}] ({id})"),
        None => format!("features[{i}]"),
    }
}

/// Is `item` a valid ignored feature? In v3 it may hold nothing else; in v1 and v2 it may.
fn is_ignore_feature(item: &Value, version: u32) -> bool {
    let Some(map) = item.as_object() else {
        return false;
    };
    let only_known = map
        .keys()
        .all(|k| ["identifier", "ignored", "description"].contains(&k.as_str()));
    map.get("identifier").is_some_and(Value::is_string)
        && map.get("ignored") == Some(&Value::Bool(true))
        && map.get("description").is_none_or(Value::is_string)
        && (version < 3 || only_known)
}

/// JSON Schema's `oneOf: [featureConfig, ignoreFeature]` for one feature: `hashed` checks the
/// featureConfig branch. Returns whether the feature is ignored.
fn one_of_feature(
    i: usize,
    item: &Value,
    version: u32,
    hashed: impl FnOnce() -> Result<(), SchemaError>,
) -> Result<bool, SchemaError> {
    let ignore = is_ignore_feature(item, version);
    match (hashed(), ignore) {
        (Ok(()), true) => Err(invalid(
            feature_at(i, item),
            "the feature is both a hashed and an ignored feature (remove `ignored` or \
             `format`/`hashing`)",
        )),
        (Ok(()), false) => Ok(item.get("ignored") == Some(&Value::Bool(true))),
        (Err(_), true) => Ok(true),
        (Err(e), false) => Err(e),
    }
}

/// clkhash's `_convert_v1_to_v2`, after the checks of the v1 master schema it relies on.
fn v1_to_v2(value: &Value, warnings: &mut Vec<String>) -> Result<Value, SchemaError> {
    let top = Obj::new(value, "the top level")?;
    let config = top.obj("clkConfig")?;
    config.req("l")?;
    config.obj("kdf")?;
    let hash = config.obj("hash")?;
    let k = config.req_int("k", 1)?;
    if let Some(folds) = config.int("xorFolds", 0)?
        && folds != 0
    {
        warnings.push(format!(
            "clkConfig.xorFolds = {folds} is ignored, as clkhash 0.18 ignores it when it \
             upgrades a version 1 schema"
        ));
    }
    hash.one_of("type", &["doubleHash", "blakeHash"])?;
    let mut out = Vec::new();
    for (i, item) in features(&top)?.iter().enumerate() {
        let at = feature_at(i, item);
        let ignored = one_of_feature(i, item, 1, || {
            let f = Obj::new(item, at.clone())?;
            f.req_string("identifier")?;
            f.req("format")?;
            let h = f.obj("hashing")?;
            h.req_int("ngram", 0)?;
            weight(&h).map(|_| ())
        })?;
        if ignored {
            out.push(item.clone());
            continue;
        }
        let f = Obj::new(item, at.clone())?;
        let h = f.obj("hashing")?;
        let w = weight(&h)?;
        if w == 0.0 {
            out.push(serde_json::json!({
                "identifier": f.req_string("identifier")?,
                "ignored": true,
            }));
            continue;
        }
        let mut feature = item.clone();
        let hashing = feature["hashing"]
            .as_object_mut()
            .expect("checked to be an object");
        hashing.remove("weight");
        // Python: int(round(weight * k)), rounding halves to even.
        let bits = (w * k as f64).round_ties_even();
        hashing.insert("strategy".into(), serde_json::json!({ "k": bits as i64 }));
        hashing.insert("hash".into(), Value::Object(hash.map.clone()));
        out.push(feature);
    }
    let mut config_out = Map::new();
    config_out.insert("l".into(), config.req("l")?.clone());
    config_out.insert(
        "xor_folds".into(),
        config.get("xor_folds").cloned().unwrap_or(Value::from(0)),
    );
    config_out.insert("kdf".into(), config.req("kdf")?.clone());
    Ok(serde_json::json!({
        "version": 2,
        "clkConfig": config_out,
        "features": out,
    }))
}

/// A v1 feature's `weight` (number >= 0, default 1).
fn weight(h: &Obj<'_>) -> Result<f64, SchemaError> {
    match h.get("weight") {
        None => Ok(1.0),
        Some(v) => match v.as_f64() {
            Some(w) if w >= 0.0 && w.is_finite() => Ok(w),
            _ => Err(invalid(
                h.path("weight"),
                format!("expected a number >= 0, found {v}"),
            )),
        },
    }
}

/// clkhash's `_convert_v2_to_v3`, after the checks of the v2 master schema it relies on.
fn v2_to_v3(value: &Value) -> Result<Value, SchemaError> {
    let top = Obj::new(value, "the top level")?;
    top.obj("clkConfig")?;
    let mut out = Vec::new();
    for (i, item) in features(&top)?.iter().enumerate() {
        let at = feature_at(i, item);
        let ignored = one_of_feature(i, item, 2, || {
            let f = Obj::new(item, at.clone())?;
            f.req_string("identifier")?;
            f.req("format")?;
            let h = f.obj("hashing")?;
            h.only(&["hash", "strategy", "ngram", "positional", "missingValue"])?;
            h.req_int("ngram", 1)?;
            h.boolean("positional")?;
            let s = h.obj("strategy")?;
            match (s.get("k").is_some(), s.get("numBits").is_some()) {
                (true, false) | (false, true) => Ok(()),
                _ => Err(invalid(
                    s.at.clone(),
                    "expected exactly one of `k` and `numBits`",
                )),
            }
        })?;
        let mut feature = item.clone();
        if !ignored {
            let hashing = feature["hashing"]
                .as_object_mut()
                .expect("checked to be an object");
            let strategy = hashing["strategy"]
                .as_object_mut()
                .expect("checked to be an object");
            if let Some(k) = strategy.remove("k") {
                strategy.insert("bitsPerToken".into(), k);
            } else if let Some(n) = strategy.remove("numBits") {
                strategy.insert("bitsPerFeature".into(), n);
            }
            let n = hashing.remove("ngram").unwrap_or(Value::from(2));
            let positional = hashing.remove("positional").unwrap_or(Value::Bool(false));
            hashing.insert(
                "comparison".into(),
                serde_json::json!({"type": "ngram", "n": n, "positional": positional}),
            );
        }
        out.push(feature);
    }
    let mut v3 = value.clone();
    v3["version"] = Value::from(3);
    v3["features"] = Value::Array(out);
    Ok(v3)
}

/// Validates a v3 document (clkhash's master schema v3 and field-format checks) and builds the
/// typed schema.
fn parse_v3(value: &Value, warnings: &mut Vec<String>) -> Result<Schema, SchemaError> {
    let top = Obj::new(value, "the top level")?;
    let config = top.obj("clkConfig")?;
    let l = config.req_int("l", 1)?;
    if let Some(folds) = config.int("xorFolds", 0)?
        && folds != 0
        && config.get("xor_folds").is_none()
    {
        warnings.push(format!(
            "clkConfig.xorFolds = {folds} has no effect: clkhash 0.18 reads the folds from \
             `xor_folds`, so it does not fold, and neither does pprl (the CLKs stay identical); \
             to fold, every party must rename the key to `xor_folds` and re-encode"
        ));
    }
    let xor_folds = config.int("xor_folds", 0)?.unwrap_or(0);
    let hash_bits = u64::try_from(l)
        .ok()
        .zip(u32::try_from(xor_folds).ok())
        .and_then(|(l, f)| l.checked_shl(f).filter(|b| b >> f == l));
    let hash_bits = match hash_bits {
        Some(b) if b <= MAX_HASH_BITS => b,
        _ => {
            return Err(unsupported(
                "clkConfig.l",
                format!(
                    "l = {l} with {xor_folds} XOR folds needs more than {MAX_HASH_BITS} bits \
                     per record"
                ),
            ));
        }
    };
    let kdf = parse_kdf(&config.obj("kdf")?)?;
    let items = features(&top)?;
    let mut features_out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = feature_at(i, item);
        let mut hashing = None;
        let ignored = one_of_feature(i, item, 3, || {
            let f = Obj::new(item, at.clone())?;
            f.req_string("identifier")?;
            f.string("description")?;
            f.boolean("ignored")?;
            hashing = Some(parse_hashing(&f, hash_bits)?);
            Ok(())
        })?;
        let identifier = item
            .get("identifier")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        features_out.push(Feature {
            identifier,
            hashing: if ignored { None } else { hashing.map(Box::new) },
        });
    }
    let blake = features_out.iter().enumerate().find(|(_, f)| {
        f.hashing
            .as_ref()
            .is_some_and(|h| h.hash == HashKind::Blake)
    });
    if let Some((i, f)) = blake
        && kdf.key_size > 64
    {
        return Err(unsupported(
            format!("features[{i}] ({}).hashing.hash", f.identifier),
            format!(
                "blakeHash keys BLAKE2b, whose keys are at most 64 bytes, and \
                 clkConfig.kdf.keySize is {}; clkhash stops with an error on it",
                kdf.key_size
            ),
        ));
    }
    let key_bytes = 2 * features_out.len() as u64 * u64::from(kdf.key_size);
    let limit = 255 * kdf.hash.output_len() as u64;
    if key_bytes > limit {
        return Err(unsupported(
            "clkConfig.kdf.keySize",
            format!(
                "{} features x 2 keys x {} bytes is {key_bytes} bytes of key material, more \
                 than HKDF with this hash can give ({limit}); clkhash fails on it too",
                features_out.len(),
                kdf.key_size
            ),
        ));
    }
    Ok(Schema {
        source_version: 3,
        l: l as u32,
        xor_folds: xor_folds as u32,
        kdf,
        features: features_out,
        warnings: Vec::new(),
    })
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

fn parse_kdf(kdf: &Obj<'_>) -> Result<Kdf, SchemaError> {
    match kdf.req_string("type")? {
        "HKDF" => {}
        other => {
            return Err(invalid(
                kdf.path("type"),
                format!("`{other}` is not a supported key derivation (clkhash reads `HKDF`)"),
            ));
        }
    }
    let hash = match kdf.one_of("hash", &["SHA256", "SHA512"])? {
        Some("SHA512") => KdfHash::Sha512,
        _ => KdfHash::Sha256,
    };
    let bytes = |key: &str| -> Result<Option<Vec<u8>>, SchemaError> {
        kdf.string(key)?
            .map(|s| {
                python_b64decode(s).ok_or_else(|| {
                    invalid(
                        kdf.path(key),
                        "not valid base64 (clkhash decodes it as base64)",
                    )
                })
            })
            .transpose()
    };
    let key_size = kdf.int("keySize", 1)?.unwrap_or(64);
    let key_size = u32::try_from(key_size)
        .ok()
        .filter(|&k| k <= 16_320)
        .ok_or_else(|| unsupported(kdf.path("keySize"), format!("keys of {key_size} bytes")))?;
    Ok(Kdf {
        hash,
        salt: bytes("salt")?,
        info: bytes("info")?,
        key_size,
    })
}

/// Python's `base64.b64decode(s)` (not `validate`): characters outside the alphabet are
/// discarded, then the rest must be valid padded base64.
fn python_b64decode(s: &str) -> Option<Vec<u8>> {
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(kept).ok()
}

fn parse_hashing(f: &Obj<'_>, hash_bits: u64) -> Result<Hashing, SchemaError> {
    let fmt = f.obj("format")?;
    let (format, encoding) = parse_format(&fmt)?;
    let h = f.obj("hashing")?;
    h.only(&["hash", "strategy", "comparison", "missingValue"])?;
    let comparison = parse_comparison(&h.obj("comparison")?)?;
    let strategy = {
        let s = h.obj("strategy")?;
        match (s.get("bitsPerToken"), s.get("bitsPerFeature")) {
            (Some(_), None) => {
                s.only(&["bitsPerToken"])?;
                Strategy::BitsPerToken(small(&s, "bitsPerToken")?)
            }
            (None, Some(_)) => {
                s.only(&["bitsPerFeature"])?;
                Strategy::BitsPerFeature(small(&s, "bitsPerFeature")?)
            }
            _ => {
                return Err(invalid(
                    s.at.clone(),
                    "expected exactly one of `bitsPerToken` and `bitsPerFeature`",
                ));
            }
        }
    };
    let hash = match h.get("hash") {
        None => HashKind::Blake,
        Some(_) => {
            let hash = h.obj("hash")?;
            let singular = hash.boolean("prevent_singularity")?;
            match hash.req_string("type")? {
                "blakeHash" if singular.is_some() => {
                    return Err(unsupported(
                        hash.path("prevent_singularity"),
                        "`prevent_singularity` applies to `doubleHash` only; clkhash stops \
                         with an error on it",
                    ));
                }
                "blakeHash" => HashKind::Blake,
                "doubleHash" => HashKind::Double {
                    prevent_singularity: singular.unwrap_or(false),
                },
                other => {
                    return Err(invalid(
                        hash.path("type"),
                        format!("`{other}` is not one of blakeHash, doubleHash"),
                    ));
                }
            }
        }
    };
    if hash == HashKind::Blake && !hash_bits.is_power_of_two() {
        return Err(unsupported(
            h.path("hash"),
            format!(
                "blakeHash needs a filter length that is a power of two, and l x 2^xor_folds \
                 is {hash_bits}; clkhash stops with an error on the first value"
            ),
        ));
    }
    let missing_value = match h.get("missingValue") {
        None => None,
        Some(_) => {
            let m = h.obj("missingValue")?;
            let sentinel = m.req_string("sentinel")?.to_string();
            let replace_with = m.string("replaceWith")?.map(str::to_string);
            let replace_with = replace_with.unwrap_or_else(|| sentinel.clone());
            if encoding == TextEncoding::Ascii && !replace_with.is_ascii() {
                return Err(unsupported(
                    m.path("replaceWith"),
                    "the replacement is not ASCII but the feature's encoding is; clkhash \
                     stops with an error on every missing value",
                ));
            }
            Some(MissingValue {
                sentinel,
                replace_with,
            })
        }
    };
    Ok(Hashing {
        format,
        encoding,
        comparison,
        strategy,
        hash,
        missing_value,
    })
}

/// A positive integer that fits `u32` (bit counts, resolutions).
fn small(o: &Obj<'_>, key: &str) -> Result<u32, SchemaError> {
    let v = o.req_int(key, 1)?;
    u32::try_from(v)
        .ok()
        .filter(|&v| v <= 1 << 20)
        .ok_or_else(|| unsupported(o.path(key), format!("{v} is larger than pprl supports")))
}

fn parse_format(fmt: &Obj<'_>) -> Result<(Format, TextEncoding), SchemaError> {
    let encoding = |fmt: &Obj<'_>| -> Result<TextEncoding, SchemaError> {
        Ok(
            match fmt.one_of("encoding", &["ascii", "utf-8", "utf-16", "utf-32"])? {
                Some("ascii") => TextEncoding::Ascii,
                Some("utf-16") => TextEncoding::Utf16,
                Some("utf-32") => TextEncoding::Utf32,
                _ => TextEncoding::Utf8,
            },
        )
    };
    fmt.string("description")?;
    match fmt.req_string("type")? {
        "string" if fmt.get("pattern").is_some() => {
            fmt.only(&["type", "encoding", "pattern", "description"])?;
            let pattern = fmt.req_string("pattern")?.to_string();
            compile_pattern(&pattern).map_err(|e| {
                unsupported(
                    fmt.path("pattern"),
                    format!(
                        "pprl cannot compile this regular expression ({e}); look-around and \
                         back-references are not supported"
                    ),
                )
            })?;
            Ok((Format::Pattern { pattern }, encoding(fmt)?))
        }
        "string" => {
            fmt.only(&[
                "type",
                "encoding",
                "case",
                "minLength",
                "maxLength",
                "description",
            ])?;
            let case = match fmt.one_of("case", &["upper", "lower", "mixed"])? {
                Some("upper") => Case::Upper,
                Some("lower") => Case::Lower,
                _ => Case::Mixed,
            };
            Ok((
                Format::String {
                    case,
                    min_length: fmt.int("minLength", 0)?.map(|n| n as u64),
                    max_length: fmt.int("maxLength", 1)?.map(|n| n as u64),
                },
                encoding(fmt)?,
            ))
        }
        "integer" => {
            fmt.only(&["type", "minimum", "maximum", "description"])?;
            Ok((
                Format::Integer {
                    minimum: fmt.int("minimum", i64::MIN)?,
                    maximum: fmt.int("maximum", i64::MIN)?,
                },
                TextEncoding::Utf8,
            ))
        }
        "date" => {
            fmt.only(&["type", "format", "description"])?;
            let format = fmt.req_string("format")?.to_string();
            DateFormat::new(&format).map_err(|e| match e {
                FormatError::Unsupported(_) => unsupported(fmt.path("format"), e.to_string()),
                FormatError::Invalid(m) => invalid(fmt.path("format"), m),
            })?;
            Ok((Format::Date { format }, TextEncoding::Utf8))
        }
        "enum" => {
            fmt.only(&["type", "values", "description"])?;
            let values = match fmt.req("values")? {
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            }
            .ok_or_else(|| invalid(fmt.path("values"), "expected an array of strings"))?;
            Ok((Format::Enum { values }, TextEncoding::Utf8))
        }
        other => Err(invalid(
            fmt.path("type"),
            format!("`{other}` is not one of string, integer, date, enum"),
        )),
    }
}

/// Compiles a schema's pattern for a full match (Python's `re.fullmatch`).
pub(crate) fn compile_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!(r"\A(?:{pattern})\z"))
}

fn parse_comparison(c: &Obj<'_>) -> Result<Comparison, SchemaError> {
    match c.req_string("type")? {
        "ngram" => {
            let n = small(c, "n")?;
            let positional = c.boolean("positional")?.unwrap_or(false);
            Ok(Comparison::Ngram { n, positional })
        }
        "exact" => Ok(Comparison::Exact),
        "numeric" => {
            let td = c.req("thresholdDistance")?;
            let resolution = small(c, "resolution")?;
            let fp = c.int("fractional_precision", 0)?.unwrap_or(0);
            if fp > 300 {
                return Err(unsupported(
                    c.path("fractional_precision"),
                    format!("{fp} digits after the point"),
                ));
            }
            let fp = fp as u32;
            let scale: f64 = format!("1e{fp}").parse().unwrap_or(f64::INFINITY);
            // Python: int(round(threshold_distance * pow(10, fp))): exact for an integer
            // literal (JSON `5` is a Python int), a correctly rounded float product for `5.0`.
            let (threshold, interval) = match td.as_i64() {
                Some(t) => (
                    t as f64,
                    10i64.checked_pow(fp).and_then(|p| p.checked_mul(t)),
                ),
                None => match td.as_f64() {
                    Some(t) => {
                        let v = (t * scale).round_ties_even();
                        (t, (v.abs() < 9.2e18).then_some(v as i64))
                    }
                    None => {
                        return Err(invalid(
                            c.path("thresholdDistance"),
                            format!("expected a number, found {}", kind(td)),
                        ));
                    }
                },
            };
            if threshold.is_nan() || threshold <= 0.0 {
                return Err(invalid(
                    c.path("thresholdDistance"),
                    format!("{td} is not greater than 0"),
                ));
            }
            match interval {
                Some(0) => Err(unsupported(
                    c.path("thresholdDistance"),
                    "the threshold rounds to 0 at this fractional_precision; clkhash stops \
                     with 'not enough fractional precision'",
                )),
                Some(distance_interval) => Ok(Comparison::Numeric {
                    threshold_distance: threshold,
                    resolution,
                    fractional_precision: fp,
                    distance_interval,
                }),
                None => Err(unsupported(
                    c.path("thresholdDistance"),
                    "the grid spacing does not fit 64 bits",
                )),
            }
        }
        other => Err(invalid(
            c.path("type"),
            format!("`{other}` is not one of ngram, exact, numeric"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(features: &str) -> String {
        format!(
            r#"{{"version": 3, "clkConfig": {{"l": 1024, "kdf": {{"type": "HKDF"}}}},
                "features": [{features}]}}"#
        )
    }

    const NAME: &str = r#"{"identifier": "name", "format": {"type": "string"},
        "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 20}}}"#;

    fn err(text: &str) -> SchemaError {
        Schema::from_json_str(text).unwrap_err()
    }

    #[test]
    fn minimal_v3_with_defaults() {
        let s = Schema::from_json_str(&v3(&format!(
            r#"{{"identifier": "id", "ignored": true}}, {NAME}"#
        )))
        .unwrap();
        assert_eq!((s.l, s.xor_folds, s.source_version), (1024, 0, 3));
        assert_eq!(s.kdf.key_size, 64);
        assert_eq!(s.kdf.hash, KdfHash::Sha256);
        assert!(s.features[0].hashing.is_none());
        let h = s.features[1].hashing.as_ref().unwrap();
        assert_eq!(h.hash, HashKind::Blake);
        assert_eq!(h.encoding, TextEncoding::Utf8);
        assert_eq!(
            h.comparison,
            Comparison::Ngram {
                n: 2,
                positional: false
            }
        );
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn upgrades_v1_like_clkhash() {
        let s = Schema::from_json_str(
            r#"{"version": 1, "clkConfig": {"l": 512, "k": 20,
                "hash": {"type": "doubleHash"}, "kdf": {"type": "HKDF"}},
              "features": [
                {"identifier": "a", "format": {"type": "string"}, "hashing": {"ngram": 2, "weight": 0.125}},
                {"identifier": "b", "format": {"type": "string"}, "hashing": {"ngram": 1, "weight": 0}},
                {"identifier": "c", "format": {"type": "string"}, "hashing": {"ngram": 3, "positional": true}}
              ]}"#,
        )
        .unwrap();
        assert_eq!(s.source_version, 1);
        let a = s.features[0].hashing.as_ref().unwrap();
        // 0.125 * 20 = 2.5 rounds to even: 2.
        assert_eq!(a.strategy, Strategy::BitsPerToken(2));
        assert_eq!(
            a.hash,
            HashKind::Double {
                prevent_singularity: false
            }
        );
        assert!(s.features[1].hashing.is_none(), "weight 0 means ignored");
        let c = s.features[2].hashing.as_ref().unwrap();
        assert_eq!(c.strategy, Strategy::BitsPerToken(20));
        assert_eq!(
            c.comparison,
            Comparison::Ngram {
                n: 3,
                positional: true
            }
        );
    }

    #[test]
    fn upgrades_v2_like_clkhash() {
        let s = Schema::from_json_str(
            r#"{"version": 2, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF"}},
              "features": [{"identifier": "a", "format": {"type": "string"},
                "hashing": {"ngram": 2, "strategy": {"numBits": 100}}}]}"#,
        )
        .unwrap();
        let a = s.features[0].hashing.as_ref().unwrap();
        assert_eq!(a.strategy, Strategy::BitsPerFeature(100));
    }

    #[test]
    fn xor_folds_quirk_is_kept_with_a_warning() {
        let text = v3(NAME).replace(r#""l": 1024"#, r#""l": 1024, "xorFolds": 2"#);
        let s = Schema::from_json_str(&text).unwrap();
        assert_eq!(s.xor_folds, 0);
        assert!(s.warnings[0].contains("xorFolds"), "{:?}", s.warnings);
        let text = v3(NAME).replace(r#""l": 1024"#, r#""l": 512, "xor_folds": 1"#);
        assert_eq!(Schema::from_json_str(&text).unwrap().xor_folds, 1);
    }

    #[test]
    fn errors_name_the_feature_and_key() {
        let bad = v3(&NAME.replace(r#""n": 2"#, r#""n": 0"#));
        match err(&bad) {
            SchemaError::Invalid { at, .. } => {
                assert_eq!(at, "features[0] (name).hashing.comparison.n")
            }
            other => panic!("{other:?}"),
        }
        let bad = v3(&NAME.replace("bitsPerToken", "bitsPerTok"));
        assert!(
            matches!(err(&bad), SchemaError::Invalid { ref at, .. } if at.ends_with("strategy"))
        );
        let bad = v3(&NAME.replace(
            r#""format": {"type": "string"}"#,
            r#""format": {"type": "string", "pattern": "x", "case": "upper"}"#,
        ));
        assert!(matches!(err(&bad), SchemaError::Invalid { .. }));
        assert!(matches!(
            err(r#"{"version": 4, "clkConfig": {}, "features": []}"#),
            SchemaError::Invalid { ref at, .. } if at == "version"
        ));
    }

    #[test]
    fn unsupported_features_are_refused_by_name() {
        let cases = [
            (
                v3(NAME).replace("1024", "1000"),
                "features[0] (name).hashing.hash",
            ),
            (
                v3(&NAME.replace(
                    r#""strategy""#,
                    r#""hash": {"type": "blakeHash", "prevent_singularity": true}, "strategy""#,
                )),
                "features[0] (name).hashing.hash.prevent_singularity",
            ),
            (
                v3(&NAME.replace(
                    r#"{"type": "string"}"#,
                    r#"{"type": "date", "format": "%x"}"#,
                )),
                "features[0] (name).format.format",
            ),
            (
                v3(&NAME.replace(
                    r#"{"type": "string"}"#,
                    r#"{"type": "string", "pattern": "(?=a)a"}"#,
                )),
                "features[0] (name).format.pattern",
            ),
            (
                v3(&NAME.replace(
                    r#"{"type": "ngram", "n": 2}"#,
                    r#"{"type": "numeric", "thresholdDistance": 0.01, "resolution": 2}"#,
                )),
                "features[0] (name).hashing.comparison.thresholdDistance",
            ),
        ];
        for (text, path) in cases {
            match err(&text) {
                SchemaError::Unsupported { at, message } => {
                    assert_eq!(at, path, "{message}");
                    let shown = err(&text).to_string();
                    assert!(shown.contains(path) && shown.contains("refuses"), "{shown}");
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn ignore_feature_is_strict_in_v3_only() {
        let both = r#"{"identifier": "x", "ignored": true, "format": {"type": "string"},
            "hashing": {"comparison": {"type": "exact"}, "strategy": {"bitsPerToken": 5}}}"#;
        // v3: the ignore branch forbids other keys, so only the feature branch matches; the
        // feature is then ignored anyway (clkhash checks `ignored` first).
        let s = Schema::from_json_str(&v3(both)).unwrap();
        assert!(s.features[0].hashing.is_none());
        let extra = r#"{"identifier": "x", "ignored": true, "other": 1}"#;
        assert!(Schema::from_json_str(&v3(extra)).is_err());
    }

    #[test]
    fn kdf_and_base64() {
        let text = v3(NAME).replace(
            r#"{"type": "HKDF"}"#,
            r#"{"type": "HKDF", "hash": "SHA512", "salt": "c2Fs\ndA==", "info": "aW5mbw==", "keySize": 32}"#,
        );
        let s = Schema::from_json_str(&text).unwrap();
        assert_eq!(s.kdf.hash, KdfHash::Sha512);
        assert_eq!(s.kdf.salt.as_deref(), Some(&b"salt"[..]));
        assert_eq!(s.kdf.info.as_deref(), Some(&b"info"[..]));
        assert_eq!(s.kdf.key_size, 32);
        let bad = v3(NAME).replace(r#"{"type": "HKDF"}"#, r#"{"type": "HKDF", "salt": "abc"}"#);
        assert!(
            matches!(err(&bad), SchemaError::Invalid { ref at, .. } if at == "clkConfig.kdf.salt")
        );
    }

    #[test]
    fn numeric_grid_spacing_like_python() {
        let numeric = |td: &str, fp: u32| {
            let text = v3(&NAME.replace(
                r#"{"type": "ngram", "n": 2}"#,
                &format!(r#"{{"type": "numeric", "thresholdDistance": {td}, "resolution": 2, "fractional_precision": {fp}}}"#),
            ));
            match Schema::from_json_str(&text).unwrap().features[0]
                .hashing
                .as_ref()
                .unwrap()
                .comparison
            {
                Comparison::Numeric {
                    distance_interval, ..
                } => distance_interval,
                _ => unreachable!(),
            }
        };
        assert_eq!(numeric("5", 0), 5);
        assert_eq!(numeric("2.5", 1), 25);
        assert_eq!(numeric("2.5", 0), 2); // round half to even
        assert_eq!(numeric("0.3", 2), 30);
        assert_eq!(numeric("5", 3), 5000);
    }

    #[test]
    fn detection() {
        let v: Value = serde_json::from_str(&v3(NAME)).unwrap();
        assert!(is_clkhash_schema(&v));
        let pprl: Value =
            serde_json::from_str(r#"{"version": 1, "id_column": "id", "fields": []}"#).unwrap();
        assert!(!is_clkhash_schema(&pprl));
    }
}
