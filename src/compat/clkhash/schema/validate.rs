//! The checks on a typed [`Schema`]: a schema in, `Ok` or the first problem out, with the same
//! kind ([`Invalid`](SchemaError::Invalid) or [`Unsupported`](SchemaError::Unsupported)) and the
//! same JSON key path as parsing the same settings gives.
//!
//! [`parse`](super::parse) checks each key as it reads it (so that a file's first problem is
//! the one reported) and leaves the checks that need the whole schema to this module; a schema
//! built by hand ([`Schema::new`]) or changed after parsing gets all of them here, and
//! [`Encoder::new`](crate::compat::clkhash::Encoder::new) runs them before compiling one.

use super::model::{
    Comparison, Feature, Format, HashKind, Hashing, Kdf, Schema, Strategy, TextEncoding,
};
use super::parse::compile_pattern;
use super::{MAX_HASH_BITS, SchemaError, invalid, unsupported};
use crate::compat::clkhash::strptime::{DateFormat, FormatError};

/// Largest key size HKDF-SHA512 can give in one key (255 blocks of 64 bytes).
pub(super) const MAX_KEY_SIZE: u32 = 16_320;

/// Largest bit count and resolution pprl supports.
pub(super) const MAX_SMALL: u32 = 1 << 20;

/// Bits per record before folding, `l << xor_folds`: refused when that overflows or passes
/// [`MAX_HASH_BITS`] (or when either number does not fit).
pub(super) fn hash_bits<L, F>(l: L, xor_folds: F) -> Result<u64, SchemaError>
where
    L: TryInto<u64> + std::fmt::Display + Copy,
    F: TryInto<u32> + std::fmt::Display + Copy,
{
    let bits = l
        .try_into()
        .ok()
        .zip(xor_folds.try_into().ok())
        .and_then(|(l, f)| l.checked_shl(f).filter(|b| b >> f == l));
    match bits {
        Some(b) if b <= MAX_HASH_BITS => Ok(b),
        _ => Err(unsupported(
            "clkConfig.l",
            format!(
                "l = {l} with {xor_folds} XOR folds needs more than {MAX_HASH_BITS} bits per record"
            ),
        )),
    }
}

/// Every check of the module doc, in the order parsing meets the same settings.
pub(super) fn validate(schema: &Schema) -> Result<(), SchemaError> {
    if schema.l == 0 {
        return Err(invalid("clkConfig.l", "0 is less than 1"));
    }
    let hash_bits = hash_bits(schema.l, schema.xor_folds)?;
    kdf(&schema.kdf)?;
    for (i, feature) in schema.features.iter().enumerate() {
        if let Some(h) = &feature.hashing {
            hashing(h, &feature_at(i, feature), hash_bits)?;
        }
    }
    whole(schema)
}

/// The checks that need the whole schema: BLAKE2b's key length and the key material HKDF can
/// give. Parsing runs them last.
pub(super) fn whole(schema: &Schema) -> Result<(), SchemaError> {
    let kdf = &schema.kdf;
    let blake = schema.features.iter().enumerate().find(|(_, f)| {
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
    let key_bytes = 2 * schema.features.len() as u64 * u64::from(kdf.key_size);
    let limit = 255 * kdf.hash.output_len() as u64;
    if key_bytes > limit {
        return Err(unsupported(
            "clkConfig.kdf.keySize",
            format!(
                "{} features x 2 keys x {} bytes is {key_bytes} bytes of key material, more \
                 than HKDF with this hash can give ({limit}); clkhash fails on it too",
                schema.features.len(),
                kdf.key_size
            ),
        ));
    }
    Ok(())
}

/// `features[i] (identifier)`, as parsing names a feature.
fn feature_at(i: usize, feature: &Feature) -> String {
    format!("features[{i}] ({})", feature.identifier)
}

fn kdf(kdf: &Kdf) -> Result<(), SchemaError> {
    match kdf.key_size {
        0 => Err(invalid("clkConfig.kdf.keySize", "0 is less than 1")),
        k if k > MAX_KEY_SIZE => Err(unsupported(
            "clkConfig.kdf.keySize",
            format!("keys of {k} bytes"),
        )),
        _ => Ok(()),
    }
}

/// A positive count of at most [`MAX_SMALL`].
fn small(v: u32, at: String) -> Result<(), SchemaError> {
    match v {
        0 => Err(invalid(at, "0 is less than 1")),
        v if v > MAX_SMALL => Err(unsupported(at, format!("{v} is larger than pprl supports"))),
        _ => Ok(()),
    }
}

fn hashing(h: &Hashing, at: &str, hash_bits: u64) -> Result<(), SchemaError> {
    format(&h.format, &format!("{at}.format"))?;
    let at = format!("{at}.hashing");
    comparison(&h.comparison, &format!("{at}.comparison"))?;
    match h.strategy {
        Strategy::BitsPerToken(k) => small(k, format!("{at}.strategy.bitsPerToken"))?,
        Strategy::BitsPerFeature(k) => small(k, format!("{at}.strategy.bitsPerFeature"))?,
    }
    if h.hash == HashKind::Blake && !hash_bits.is_power_of_two() {
        return Err(unsupported(
            format!("{at}.hash"),
            format!(
                "blakeHash needs a filter length that is a power of two, and l x 2^xor_folds \
                 is {hash_bits}; clkhash stops with an error on the first value"
            ),
        ));
    }
    if let Some(m) = &h.missing_value
        && h.encoding == TextEncoding::Ascii
        && !m.replace_with.is_ascii()
    {
        return Err(unsupported(
            format!("{at}.missingValue.replaceWith"),
            "the replacement is not ASCII but the feature's encoding is; clkhash stops with \
             an error on every missing value",
        ));
    }
    Ok(())
}

fn format(format: &Format, at: &str) -> Result<(), SchemaError> {
    match format {
        Format::String {
            max_length: Some(0),
            ..
        } => Err(invalid(format!("{at}.maxLength"), "0 is less than 1")),
        Format::Pattern { pattern } => compile_pattern(pattern).map(drop).map_err(|e| {
            unsupported(
                format!("{at}.pattern"),
                format!(
                    "pprl cannot compile this regular expression ({e}); look-around and \
                     back-references are not supported"
                ),
            )
        }),
        Format::Date { format } => DateFormat::new(format).map(drop).map_err(|e| match e {
            FormatError::Unsupported(_) => unsupported(format!("{at}.format"), e.to_string()),
            FormatError::Invalid(m) => invalid(format!("{at}.format"), m),
        }),
        _ => Ok(()),
    }
}

fn comparison(c: &Comparison, at: &str) -> Result<(), SchemaError> {
    match *c {
        Comparison::Ngram { n, .. } => small(n, format!("{at}.n")),
        Comparison::Exact => Ok(()),
        Comparison::Numeric {
            threshold_distance,
            resolution,
            fractional_precision,
            distance_interval,
        } => {
            if threshold_distance.is_nan() || threshold_distance <= 0.0 {
                return Err(invalid(
                    format!("{at}.thresholdDistance"),
                    format!("{threshold_distance} is not greater than 0"),
                ));
            }
            small(resolution, format!("{at}.resolution"))?;
            if fractional_precision > 300 {
                return Err(unsupported(
                    format!("{at}.fractional_precision"),
                    format!("{fractional_precision} digits after the point"),
                ));
            }
            if distance_interval < 1 {
                return Err(unsupported(
                    format!("{at}.thresholdDistance"),
                    "the grid spacing must be at least 1 at this fractional_precision",
                ));
            }
            Ok(())
        }
    }
}
