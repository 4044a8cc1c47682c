//! The linkage schema: which columns of an export are read, and how each becomes bits.
//!
//! A schema is a small versioned document (TOML, or JSON with the same keys) that two or more
//! departments agree on before they encode. It declares
//!
//! * the record-id column: an opaque handle carried along with each encoding, never hashed;
//! * each identifier field: its column, normalisation steps, tokenizer, weight and missing-value
//!   rule;
//! * the filter: layout (record-level CLK, field-level filters, or Durham's RBF), length in bits
//!   and the keyed hashing scheme, and the hardening steps applied to every filter once built
//!   (`[filter] harden`, see [`HardenStep`]).
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

mod date_format;
mod error;
pub mod fill;
mod fingerprint;
mod harden;
mod model;
mod parse;
mod step;
pub mod summary;
mod validate;

pub use date_format::DateFormats;
pub use error::{SchemaError, SchemaErrorKind};
pub use fingerprint::SchemaFingerprint;
pub use harden::{
    BlipSpec, DiffusionSpec, HardenProblem, HardenStep, MAX_BLIP_EPSILON, MAX_DIFFUSION_T,
    SaltMissing, SaltSpec,
};
pub use model::{
    BlockingKeySpec, BlockingPart, FieldSpec, FilterSpec, HashingScheme, Layout, MissingRule,
    OnInvalid, Schema, TokenizerSpec, Weight,
};
pub use step::NormalizeStep;
pub use validate::SchemaWarning;

/// The only schema format version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Smallest and largest filter length accepted, in bits.
pub const MIN_FILTER_BITS: u32 = 64;
/// See [`MIN_FILTER_BITS`]. Matching kernels are built for up to 4096 bits per filter.
pub const MAX_FILTER_BITS: u32 = 4096;

/// The most blocking keys a schema may declare.
pub const MAX_BLOCKING_KEYS: usize = 16;

#[cfg(test)]
mod tests;
