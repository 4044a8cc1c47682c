//! A v3 document in, a typed [`Schema`] out: the checks of clkhash's v3 master schema, key by
//! key with the key path in every error, and what pprl refuses because it cannot reproduce
//! clkhash exactly. The checks that need the whole schema (keys, key material) run in
//! [`validate`](super::validate), as for a schema built by hand.

use base64::Engine as _;
use serde_json::Value;

use super::json::{Obj, feature_at, features, kind, one_of_feature};
use super::model::{
    Case, Comparison, Feature, Format, HashKind, Hashing, Kdf, KdfHash, MissingValue, Schema,
    Strategy, TextEncoding,
};
use super::validate::{MAX_KEY_SIZE, MAX_SMALL, hash_bits};
use super::{SchemaError, invalid, unsupported};
use crate::compat::clkhash::strptime::{DateFormat, FormatError};

/// Validates a v3 document (clkhash's master schema v3 and field-format checks) and builds the
/// typed schema.
pub(super) fn parse_v3(value: &Value, warnings: &mut Vec<String>) -> Result<Schema, SchemaError> {
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
    let hash_bits = hash_bits(l, xor_folds)?;
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
    Ok(Schema {
        source_version: 3,
        l: l as u32,
        xor_folds: xor_folds as u32,
        kdf,
        features: features_out,
        warnings: Vec::new(),
    })
}

pub(super) fn parse_kdf(kdf: &Obj<'_>) -> Result<Kdf, SchemaError> {
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
        .filter(|&k| k <= MAX_KEY_SIZE)
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
pub(super) fn python_b64decode(s: &str) -> Option<Vec<u8>> {
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(kept).ok()
}

pub(super) fn parse_hashing(f: &Obj<'_>, hash_bits: u64) -> Result<Hashing, SchemaError> {
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
pub(super) fn small(o: &Obj<'_>, key: &str) -> Result<u32, SchemaError> {
    let v = o.req_int(key, 1)?;
    u32::try_from(v)
        .ok()
        .filter(|&v| v <= MAX_SMALL)
        .ok_or_else(|| unsupported(o.path(key), format!("{v} is larger than pprl supports")))
}

pub(super) fn parse_format(fmt: &Obj<'_>) -> Result<(Format, TextEncoding), SchemaError> {
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

pub(super) fn parse_comparison(c: &Obj<'_>) -> Result<Comparison, SchemaError> {
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
