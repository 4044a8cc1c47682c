//! Encoding: one record's identifier values in, its keyed Bloom-filter bits out.
//!
//! For every field of the schema, in order:
//!
//! 1. **missing?** an empty value, a declared missing-value marker, or a value that normalises
//!    to nothing is missing; the field's rule skips it, rejects the row, or substitutes a value;
//! 2. **normalize** ([`crate::normalize`]);
//! 3. **tokenize** ([`tokenize`]): q-grams, exact value, numeric neighbourhood or date parts;
//! 4. **hash** ([`hash`]): each token draws `k` distinct positions from a keyed PRF under the
//!    field's own HKDF subkey;
//! 5. **layout** ([`bloom`]): the positions are set in the record's CLK, in the field's own
//!    filter, or in a field filter that is then sampled into an RBF;
//! 6. **harden** ([`harden`]): the schema's `[filter] harden` steps turn each built filter into
//!    the stored one (BLIP, XOR folding, Rule 90, diffusion, balancing, in that order); a
//!    `salt` step instead salts the tokens of step 3 with a stable attribute of the record.
//!
//! The [`Encoder`] resolves every choice in the schema once (typed tokenizers, compiled date
//! formats, prepared HMAC states); it is `Send + Sync` and shared by all threads. Per-thread
//! buffers live in [`Scratch`], so encoding a row does not allocate once the buffers are warm.
//!
//! A row that cannot be encoded is not an error: [`Encoder::encode_record`] returns a
//! [`Rejection`] naming the field and a stable code, and the caller reports it. A value that is
//! present but invalid (it does not normalise or tokenize) rejects the row only under the
//! field's `on_invalid = "reject-row"` or a `missing = "reject"` rule; by default it is encoded
//! as missing and listed in [`Scratch::invalid_fields`], for the caller to report.

pub mod blocking;
pub mod bloom;
pub mod harden;
pub mod hash;
pub(crate) mod sha256x2;
pub mod tokenize;

use crate::keys::{KeyFingerprint, Secret};
use crate::normalize::Normalizer;
use crate::schema::{
    HashingScheme, Layout, MissingRule, OnInvalid, SaltMissing, Schema, SchemaError,
    SchemaFingerprint, Weight,
};

use self::bloom::RbfPlan;
use self::harden::{HardenScratch, Hardener};
use self::hash::{Sampler, TokenHasher};
use self::tokenize::{Tokenize, Tokens};

/// Why a row was not encoded. Holds no identifier values, only the field name and a reason.
///
/// Its code is stable, like an error kind's ([`crate::error::Coded`]): `missing-value`,
/// `no-tokens`, `missing-id`, the normalisation and tokenizer codes ([`TokenizeError::code`](tokenize::TokenizeError::code)),
/// and clkhash's format codes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// The schema field at fault, or `None` for the row as a whole.
    pub field: Option<String>,
    /// Stable, machine-readable code (`missing-value`, `invalid-date`, ...).
    pub code: &'static str,
    /// Human-readable reason.
    pub reason: String,
}

impl crate::error::Coded for Rejection {
    fn code(&self) -> &'static str {
        self.code
    }
}

/// Per-thread buffers for [`Encoder::encode_record`].
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    value: String,
    tmp: String,
    tokens: Tokens,
    firsts: Vec<hash::Block>,
    sampler: Sampler,
    rbf: Vec<u64>,
    /// Buffers for blocking keys.
    block: [String; 3],
    /// The fields of the last record whose values were invalid and encoded as missing.
    invalid: Vec<Rejection>,
    /// Hardening: the record's filters as built (before the `harden` steps), their buffers,
    /// the record's salt (empty: none) and the salted tokens.
    built: Vec<u64>,
    harden: HardenScratch,
    salt: String,
    salted: Tokens,
    salt_buf: String,
    /// Bit `i`: field `i` of the last record had no tokens.
    missing: u64,
}

impl Scratch {
    /// The fields of the record last given to [`Encoder::encode_record`] whose values were
    /// invalid and, under `on_invalid = "missing"`, encoded as missing: one [`Rejection`]
    /// (field, code, reason) each, in schema order. Empty when the record was rejected.
    pub fn invalid_fields(&self) -> &[Rejection] {
        &self.invalid
    }

    /// The missing fields of the record last given to [`Encoder::encode_record`]: bit `i` is
    /// set when field `i` (of the first 64) contributed no token (empty, missing, or invalid
    /// and encoded as missing). The `field` layout stores it beside the filters.
    pub fn missing_fields(&self) -> u64 {
        self.missing
    }

    /// Takes the list [`Scratch::invalid_fields`] returns, leaving it empty.
    pub fn take_invalid_fields(&mut self) -> Vec<Rejection> {
        std::mem::take(&mut self.invalid)
    }
}

#[derive(Debug)]
struct FieldEncoder {
    name: String,
    missing_values: Vec<String>,
    missing: MissingRule,
    on_invalid: OnInvalid,
    normalizer: Normalizer,
    tokenizer: Box<dyn Tokenize>,
    weight: Weight,
    hasher: Box<dyn TokenHasher>,
    /// Where this field's filter starts, in bits, in the record (CLK, field layout) or in the
    /// concatenated field filters (RBF).
    offset_bits: usize,
    /// Length of the filter this field hashes into.
    bits: u32,
    /// Whether the schema's `salt` step salts this field's tokens.
    salted: bool,
}

/// The schema's `salt` step, resolved.
#[derive(Debug)]
struct SaltPlan {
    /// The salt field's index.
    field: usize,
    prefix: Option<u32>,
    missing: SaltMissing,
}

/// A schema compiled with a secret: turns records into filters.
#[derive(Debug)]
pub struct Encoder {
    fields: Vec<FieldEncoder>,
    layout: Layout,
    hashing: HashingScheme,
    filter_bits: u32,
    words_per_record: usize,
    rbf: Option<(RbfPlan, usize)>,
    hardener: Option<Hardener>,
    salt: Option<SaltPlan>,
    blocks: Vec<blocking::BlockKeyEncoder>,
    schema_fingerprint: SchemaFingerprint,
    key_fingerprint: KeyFingerprint,
    schema_json: Vec<u8>,
}

impl Encoder {
    /// Compiles `schema` under `secret`: validates it, derives every field key, prepares the
    /// keyed hash states and (for RBF) draws the sampling plan.
    pub fn new(schema: &Schema, secret: &Secret) -> Result<Encoder, SchemaError> {
        schema.validate()?;
        let fp = schema.fingerprint();
        let mut fields = Vec::with_capacity(schema.fields.len());
        let mut offset_bits = 0usize;
        let salt = schema.filter.salt();
        for (i, spec) in schema.fields.iter().enumerate() {
            let normalizer =
                Normalizer::new(&spec.normalize).map_err(|message| SchemaError::Invalid {
                    path: format!("fields[{i}].normalize"),
                    message,
                })?;
            let bits = spec
                .layout_bits(schema)
                .expect("validated schema has valid filter lengths");
            let key = secret.field_key(&fp, &spec.name);
            let hasher = hash::from_scheme(schema.filter.hashing, &key).ok_or_else(|| {
                SchemaError::Invalid {
                    path: "filter.hashing".into(),
                    message: "`clkhash` hashing is only for clkhash schemas".into(),
                }
            })?;
            fields.push(FieldEncoder {
                name: spec.name.clone(),
                missing_values: spec
                    .missing_values
                    .iter()
                    .map(|v| v.trim().to_ascii_lowercase())
                    .collect(),
                missing: spec.missing.clone(),
                on_invalid: spec.on_invalid,
                normalizer,
                tokenizer: tokenize::from_spec(&spec.tokenizer),
                weight: spec.weight(),
                hasher,
                offset_bits,
                bits,
                salted: salt.is_some_and(|s| {
                    s.field != spec.name && (s.fields.is_empty() || s.fields.contains(&spec.name))
                }),
            });
            if schema.filter.layout != Layout::Clk {
                offset_bits += bits as usize;
            }
        }
        let rbf = (schema.filter.layout == Layout::Rbf).then(|| {
            let key = secret.purpose_key(&fp, "rbf-plan");
            let field_bits: Vec<u32> = fields.iter().map(|f| f.bits).collect();
            let weights: Vec<f64> = schema
                .fields
                .iter()
                .map(|f| f.rbf_weight.unwrap_or(1.0))
                .collect();
            let plan = RbfPlan::new(&key, &field_bits, &weights, schema.filter.length_bits);
            (plan, offset_bits.div_ceil(64))
        });
        let salt = salt.map(|s| SaltPlan {
            field: schema
                .fields
                .iter()
                .position(|f| f.name == s.field)
                .expect("validated schema has its salt field"),
            prefix: s.prefix,
            missing: s.missing,
        });
        Ok(Encoder {
            fields,
            layout: schema.filter.layout,
            hashing: schema.filter.hashing,
            filter_bits: schema.filter.output_bits(),
            words_per_record: schema.record_bits() / 64,
            rbf,
            hardener: Hardener::new(schema, &fp, secret),
            salt,
            blocks: blocking::compile(schema, &fp, secret)?,
            schema_fingerprint: fp,
            key_fingerprint: secret.fingerprint(),
            schema_json: schema.canonical_json(),
        })
    }

    /// Number of `u64` words per encoded record (all its filters).
    pub fn words_per_record(&self) -> usize {
        self.words_per_record
    }

    /// Length of one stored filter in bits: after the `harden` steps
    /// ([`crate::schema::FilterSpec::output_bits`]).
    pub fn filter_bits(&self) -> u32 {
        self.filter_bits
    }

    /// Filters per record: one, or one per field for the field layout.
    pub fn filters_per_record(&self) -> usize {
        self.words_per_record * 64 / self.filter_bits as usize
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether records carry a missing-field mask ([`Scratch::missing_fields`]): in the
    /// `field` layout (of at most 64 fields), where a field's similarity is compared on its
    /// own and hardening may fill an empty field's filter.
    pub fn missing_masks(&self) -> bool {
        self.layout == Layout::Field && self.fields.len() <= 64
    }

    /// The hashing scheme.
    pub fn hashing(&self) -> HashingScheme {
        self.hashing
    }

    /// The compiled filter hardening steps, if the schema has any besides `salt`.
    pub fn hardener(&self) -> Option<&Hardener> {
        self.hardener.as_ref()
    }

    /// Fingerprint of the schema the encoder was built from.
    pub fn schema_fingerprint(&self) -> SchemaFingerprint {
        self.schema_fingerprint
    }

    /// Fingerprint of the secret the encoder was built with.
    pub fn key_fingerprint(&self) -> KeyFingerprint {
        self.key_fingerprint
    }

    /// The schema's canonical JSON (what the fingerprint covers).
    pub fn schema_json(&self) -> &[u8] {
        &self.schema_json
    }

    /// Names of the schema fields, in order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Number of keyed blocking keys per record (the schema's `[[blocking]]` entries).
    pub fn block_keys(&self) -> usize {
        self.blocks.len()
    }

    /// Computes one record's block ids, one per blocking key, into `out` (which must hold
    /// [`Encoder::block_keys`] values): an opaque keyed id, or [`blocking::NO_BLOCK`] where a
    /// part of the key is missing. `value(i)` returns the raw value of schema field `i`.
    pub fn encode_blocks<'v>(
        &self,
        value: impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) {
        assert_eq!(out.len(), self.blocks.len(), "output buffer size");
        for (key, slot) in self.blocks.iter().zip(out) {
            let normalized = |i: usize, into: &mut String, tmp: &mut String| {
                let field = &self.fields[i];
                !field.is_marked_missing(value(i))
                    && field.normalizer.apply_into(value(i), into, tmp).is_ok()
                    && !into.trim().is_empty()
            };
            *slot = key.block_id(normalized, &mut scratch.block);
        }
    }

    /// Encodes one record. `value(i)` returns the raw value of schema field `i`; `out` must
    /// hold [`Encoder::words_per_record`] words and is overwritten. Bit `p` of a filter is bit
    /// `p % 64` of word `p / 64`.
    pub fn encode_record<'v>(
        &self,
        value: impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        assert_eq!(out.len(), self.words_per_record, "output buffer size");
        out.fill(0);
        scratch.invalid.clear();
        scratch.missing = 0;
        let result = self.encode_fields(value, scratch, out);
        if result.is_err() {
            scratch.invalid.clear();
        }
        result
    }

    /// [`Encoder::encode_record`] after its set-up.
    fn encode_fields<'v>(
        &self,
        value: impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        self.record_salt(&value, scratch)?;
        let Some(hardener) = &self.hardener else {
            return self.encode_built(value, scratch, out);
        };
        // Built filters go to a buffer of the schema's `length_bits` per filter; the hardened
        // ones to `out`.
        let (built_words, out_words) = (
            hardener.built_bits() as usize / 64,
            hardener.output_bits() as usize / 64,
        );
        let mut built = std::mem::take(&mut scratch.built);
        built.clear();
        built.resize(built_words * self.filters_per_record(), 0);
        let result = self.encode_built(value, scratch, &mut built);
        if result.is_ok() {
            for (f, (input, dest)) in built
                .chunks_exact(built_words)
                .zip(out.chunks_exact_mut(out_words))
                .enumerate()
            {
                hardener.apply(f, input, dest, &mut scratch.harden);
            }
        }
        scratch.built = built;
        result
    }

    /// Words per record of the filters as built, before the filter hardening steps
    /// (`length_bits` per filter); equal to [`Encoder::words_per_record`] without them.
    pub fn built_words_per_record(&self) -> usize {
        match &self.hardener {
            Some(h) => self.filters_per_record() * h.built_bits() as usize / 64,
            None => self.words_per_record,
        }
    }

    /// Encodes one record as [`Encoder::encode_record`] does but stops before the filter
    /// hardening steps (a `salt` step still applies): the filters as built, for checks and
    /// attack simulations that know the key. `out` must hold
    /// [`Encoder::built_words_per_record`] words.
    pub fn encode_built_record<'v>(
        &self,
        value: impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        assert_eq!(
            out.len(),
            self.built_words_per_record(),
            "output buffer size"
        );
        out.fill(0);
        scratch.invalid.clear();
        scratch.missing = 0;
        let result = self
            .record_salt(&value, scratch)
            .and_then(|()| self.encode_built(value, scratch, out));
        if result.is_err() {
            scratch.invalid.clear();
        }
        result
    }

    /// Computes the record's salt into `scratch.salt` (left empty without a `salt` step or,
    /// under `missing = "unsalted"`, when the salt value is missing).
    fn record_salt<'v>(
        &self,
        value: &impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
    ) -> Result<(), Rejection> {
        scratch.salt.clear();
        let Some(plan) = &self.salt else {
            return Ok(());
        };
        let field = &self.fields[plan.field];
        let raw = value(plan.field);
        let ok = !field.is_marked_missing(raw)
            && field
                .normalizer
                .apply_into(raw, &mut scratch.value, &mut scratch.tmp)
                .is_ok()
            && !scratch.value.trim().is_empty();
        if ok {
            let salt = harden::salt::salt_value(&scratch.value, plan.prefix);
            scratch.salt.push_str(salt);
            return Ok(());
        }
        match plan.missing {
            SaltMissing::Unsalted => Ok(()),
            SaltMissing::Reject => Err(Rejection {
                field: Some(field.name.clone()),
                code: "missing-salt",
                reason: "the salt value of this record is missing or invalid".into(),
            }),
        }
    }

    /// Encodes the record's built (unhardened) filters into `out`.
    fn encode_built<'v>(
        &self,
        value: impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        let encode_all = |scratch: &mut Scratch, dest: &mut [u64]| {
            self.fields
                .iter()
                .enumerate()
                .try_fold(0usize, |sum, (i, field)| {
                    let tokens = self.encode_field(field, value(i), scratch, dest)?;
                    if tokens == 0 && i < 64 {
                        scratch.missing |= 1 << i;
                    }
                    Ok(sum + tokens)
                })
        };
        let total_tokens = match &self.rbf {
            None => encode_all(scratch, out)?,
            Some((plan, words)) => {
                // Taken out of `scratch` so it can be borrowed beside the other buffers.
                let mut fields = std::mem::take(&mut scratch.rbf);
                fields.clear();
                fields.resize(*words, 0);
                let result = encode_all(scratch, &mut fields);
                if result.is_ok() {
                    plan.apply(&fields, out);
                }
                scratch.rbf = fields;
                result?
            }
        };
        if total_tokens == 0 {
            return Err(Rejection {
                field: None,
                code: "no-tokens",
                reason: "every field is missing: the record has nothing to encode".into(),
            });
        }
        Ok(())
    }

    /// Hashes one field's value into `dest`; returns the number of tokens.
    fn encode_field(
        &self,
        field: &FieldEncoder,
        raw: &str,
        scratch: &mut Scratch,
        dest: &mut [u64],
    ) -> Result<usize, Rejection> {
        let reject = |code: &'static str, reason: String| Rejection {
            field: Some(field.name.clone()),
            code,
            reason,
        };
        // An invalid value either rejects the row or, by default, counts as missing: the
        // missing rule then applies, and a required field still rejects the row (with the
        // invalid value's own code). The invalid field is noted in `scratch.invalid`.
        let mut invalid = None;
        let marked_missing = field.is_marked_missing(raw);
        if !marked_missing
            && let Err(e) = field
                .normalizer
                .apply_into(raw, &mut scratch.value, &mut scratch.tmp)
        {
            invalid = Some(field.invalid(reject(e.code(), e.to_string()))?);
        }
        let mut replaced = false;
        if marked_missing || invalid.is_some() || scratch.value.trim().is_empty() {
            if !field.apply_missing(&mut scratch.value, invalid.take(), &mut scratch.invalid)? {
                return Ok(0);
            }
            replaced = true;
        }
        scratch.tokens.clear();
        if let Err(e) = field
            .tokenizer
            .tokenize(&scratch.value, &mut scratch.tokens)
        {
            let r = reject(e.code(), e.to_string());
            // A replacement value that does not tokenize is the schema's fault: the row cannot
            // be encoded as the schema says.
            if replaced {
                return Err(r);
            }
            let r = field.invalid(r)?;
            if !field.apply_missing(&mut scratch.value, Some(r), &mut scratch.invalid)? {
                return Ok(0);
            }
            scratch.tokens.clear();
            field
                .tokenizer
                .tokenize(&scratch.value, &mut scratch.tokens)
                .map_err(|e| reject(e.code(), e.to_string()))?;
        }
        if field.salted && !scratch.salt.is_empty() {
            harden::salt::salt_tokens(
                &scratch.salt,
                &scratch.tokens,
                &mut scratch.salted,
                &mut scratch.salt_buf,
            );
            std::mem::swap(&mut scratch.tokens, &mut scratch.salted);
        }
        let n = scratch.tokens.len();
        let k = match field.weight {
            Weight::BitsPerToken(k) => k,
            Weight::BitsPerField(bits) => {
                ((f64::from(bits) / n as f64).round() as u32).clamp(1, field.bits / 2)
            }
        };
        // All first blocks up front: the hasher may overlap several tokens' computations, and
        // sampling then never waits on a hash in flight.
        field
            .hasher
            .first_blocks(&scratch.tokens, &mut scratch.firsts);
        let start = field.offset_bits / 64;
        let target = &mut dest[start..start + field.bits as usize / 64];
        for (token, first) in scratch.tokens.iter().zip(&scratch.firsts) {
            hash::sample_positions(
                &*field.hasher,
                token.as_bytes(),
                first,
                k,
                field.bits,
                &mut scratch.sampler,
                target,
            );
        }
        Ok(n)
    }
}

impl FieldEncoder {
    /// An invalid value's rejection under the field's `on_invalid` rule: `Err` rejects the
    /// row, `Ok` hands it back to be treated as a missing value.
    fn invalid(&self, r: Rejection) -> Result<Rejection, Rejection> {
        match self.on_invalid {
            OnInvalid::RejectRow => Err(r),
            OnInvalid::Missing => Ok(r),
        }
    }

    /// Applies the missing-value rule to a missing (or, with `invalid`, an invalid) value:
    /// `Ok(false)` if the field contributes nothing, `Ok(true)` if `value` now holds the
    /// replacement, `Err` if the row is rejected. An invalid value the row survives is noted
    /// in `notes`.
    fn apply_missing(
        &self,
        value: &mut String,
        invalid: Option<Rejection>,
        notes: &mut Vec<Rejection>,
    ) -> Result<bool, Rejection> {
        match &self.missing {
            MissingRule::Skip => {
                notes.extend(invalid);
                Ok(false)
            }
            MissingRule::Reject => Err(invalid.unwrap_or_else(|| Rejection {
                field: Some(self.name.clone()),
                code: "missing-value",
                reason: "required value is missing".to_string(),
            })),
            MissingRule::ReplaceWith(v) => {
                notes.extend(invalid);
                value.clear();
                value.push_str(v);
                Ok(true)
            }
        }
    }

    /// True if the raw value is empty or one of the field's missing-value markers.
    fn is_marked_missing(&self, raw: &str) -> bool {
        let trimmed = raw.trim();
        trimmed.is_empty()
            || self
                .missing_values
                .iter()
                .any(|m| m.eq_ignore_ascii_case(trimmed))
    }
}

#[cfg(test)]
mod tests;
