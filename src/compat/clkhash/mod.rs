//! Bit-identical clkhash (data61) encoding: a clkhash linkage schema and secret in, the same
//! CLKs clkhash 0.18 makes out, many times faster.
//!
//! The modules follow clkhash's own split:
//!
//! * [`schema`]: linkage schemas v1, v2 and v3, validated and upgraded to v3 as clkhash does;
//!   what pprl cannot reproduce exactly is refused with the feature named;
//! * `format`: field formats: validation of raw values, and their normal form (integers,
//!   dates as `%Y%m%d`), with `strptime` and `pynum` reproducing Python's parsers;
//! * `tokenize`: the `ngram`, `exact` and `numeric` comparisons and the insertion
//!   strategies, writing tokens in the feature's text encoding;
//! * `hash`: `blakeHash` (keyed BLAKE2b) and `doubleHash` (HMAC-SHA1/HMAC-MD5), XOR folding,
//!   with `blake2b` running a row's BLAKE2b compressions four at a time (AVX2) and a
//!   per-thread cache of recent tokens' bits (as clkhash memoises its token hashes);
//! * `keys`: HKDF from the one secret to two keys per feature;
//! * clkhash's output file (`{"clks": [base64, ...]}`) and its bit order are in
//!   [`crate::io::formats::clkhash_json`];
//! * [`convert`]: the nearest native pprl schema, for departments that move on together.
//!
//! [`Encoder`] compiles a schema with a secret once (keys derived, BLAKE2b key blocks
//! compressed, formats compiled) and is shared by all threads, like pprl's own
//! [`crate::encode::Encoder`].
//!
//! # A row, step by step (clkhash `clk.py`, `bloomfilter.py`)
//!
//! 1. every hashed feature's value is validated, in column order; the first failure rejects
//!    the row with that feature's identifier (clkhash stops the whole run there instead);
//! 2. each value is normalised and tokenized, and each token sets its bits in a filter of
//!    `l * 2^xor_folds` bits under the feature's keys;
//! 3. the filter is XOR-folded down to `l` bits.
//!
//! Ignored features are neither validated nor read. Where clkhash would raise an exception in
//! step 2 (a `numeric` value that is not a number), the row is rejected with that feature.

pub(crate) mod blake2b;
mod cache;
pub mod convert;
pub(crate) mod format;
pub(crate) mod hash;
pub(crate) mod keys;
pub(crate) mod pynum;
pub mod schema;
pub(crate) mod strptime;
pub(crate) mod tokenize;

pub use schema::{Schema, SchemaError, SchemaErrorKind};

use crate::encode::Rejection;
use crate::keys::{KeyFingerprint, Secret};
use crate::schema::SchemaFingerprint;

use self::format::FieldFormat;
use self::hash::{Blake, Double, TokenHasher};
use self::keys::KeyList;
use self::pynum::PyInt;
use self::schema::{Comparison, HashKind, Strategy, TextEncoding};
use self::tokenize::{TokenBytes, TokenScratch};

/// Per-thread buffers for [`Encoder::encode_record`].
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    values: Vec<String>,
    int: PyInt,
    tokens: TokenBytes,
    tokenizer: TokenScratch,
    filter: Vec<u64>,
    jobs: Vec<blake2b::Job>,
    /// Cache slots and keys of the queued jobs that fill a slot.
    pending: Vec<(usize, cache::Key)>,
    /// Feature and bits of each token of the row.
    metas: Vec<(usize, u32)>,
    /// Cache slot and key of each token of the row, if it has one.
    keys: Vec<Option<(usize, cache::Key)>>,
}

#[derive(Debug)]
struct FieldEncoder {
    /// Index among all features (the column position in clkhash's view).
    index: usize,
    identifier: String,
    format: FieldFormat,
    encoding: TextEncoding,
    comparison: Comparison,
    strategy: Strategy,
    hasher: TokenHasher,
}

/// A clkhash schema compiled with a secret: turns rows into clkhash CLKs.
#[derive(Debug)]
pub struct Encoder {
    /// Tells this encoder's entries in the per-thread caches from another's.
    id: u64,
    fields: Vec<FieldEncoder>,
    features: Vec<String>,
    l: u32,
    xor_folds: u32,
    hash_bits: u64,
    schema_fingerprint: SchemaFingerprint,
    key_fingerprint: KeyFingerprint,
    schema_json: Vec<u8>,
}

impl Encoder {
    /// Compiles `schema` under `secret`, whose bytes are clkhash's secret verbatim. The schema
    /// is checked first ([`Schema::validate`]): one built or changed by hand is refused as the
    /// same settings read from a file would be.
    pub fn new(schema: &Schema, secret: &Secret) -> Result<Encoder, SchemaError> {
        schema.validate()?;
        let keys = KeyList::derive(secret.expose_bytes(), &schema.kdf, schema.features.len())
            .ok_or_else(|| SchemaError::Unsupported {
                at: "clkConfig.kdf".into(),
                message: "HKDF cannot derive that much key material".into(),
            })?;
        let hash_bits = schema.hash_bits();
        let mut fields = Vec::new();
        for (index, feature) in schema.features.iter().enumerate() {
            let Some(h) = &feature.hashing else {
                continue;
            };
            let max_k = match h.strategy {
                Strategy::BitsPerToken(k) | Strategy::BitsPerFeature(k) => k,
            };
            let hasher = match h.hash {
                // The schema refuses blakeHash with keys over BLAKE2b's 64 bytes.
                HashKind::Blake => TokenHasher::Blake(Blake::new(keys.key(index, 0), max_k)),
                HashKind::Double {
                    prevent_singularity,
                } => TokenHasher::Double(Box::new(Double::new(
                    keys.key(index, 0),
                    keys.key(index, 1),
                    prevent_singularity,
                ))),
            };
            fields.push(FieldEncoder {
                index,
                identifier: feature.identifier.clone(),
                format: FieldFormat::new(h),
                encoding: h.encoding,
                comparison: h.comparison.clone(),
                strategy: h.strategy,
                hasher,
            });
        }
        let schema_json = schema.canonical_json();
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Encoder {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fields,
            features: schema
                .features
                .iter()
                .map(|f| f.identifier.clone())
                .collect(),
            l: schema.l,
            xor_folds: schema.xor_folds,
            hash_bits,
            schema_fingerprint: schema.fingerprint(),
            key_fingerprint: secret.fingerprint(),
            schema_json,
        })
    }

    /// Length of a CLK in bits (`l`).
    pub fn filter_bits(&self) -> u32 {
        self.l
    }

    /// `u64` words per encoded record: `ceil(l / 64)`.
    pub fn words_per_record(&self) -> usize {
        (self.l as usize).div_ceil(64)
    }

    /// Every feature's identifier, in schema (column) order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The indices (into [`Encoder::features`]) of the features that are read and hashed.
    pub fn hashed_features(&self) -> impl Iterator<Item = usize> + '_ {
        self.fields.iter().map(|f| f.index)
    }

    /// SHA-256 of [`Encoder::schema_json`].
    pub fn schema_fingerprint(&self) -> SchemaFingerprint {
        self.schema_fingerprint
    }

    /// The secret's one-way fingerprint (pprl's, computed from the same bytes).
    pub fn key_fingerprint(&self) -> KeyFingerprint {
        self.key_fingerprint
    }

    /// The schema's canonical JSON (see [`Schema::canonical_json`]).
    pub fn schema_json(&self) -> &[u8] {
        &self.schema_json
    }

    /// Encodes one row. `value(i)` returns the raw value of feature `i` (only hashed features
    /// are asked for); `out` must hold [`Encoder::words_per_record`] words and is overwritten
    /// with the CLK (bit `i` of clkhash's bitarray is bit `i % 64` of word `i / 64`; bits at
    /// and above `l` are zero).
    pub fn encode_record<'v>(
        &self,
        value: impl Fn(usize) -> &'v str,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        assert_eq!(out.len(), self.words_per_record(), "output buffer size");
        let Scratch {
            values,
            int,
            tokens,
            tokenizer,
            filter,
            jobs,
            pending,
            metas,
            keys,
        } = scratch;
        values.resize_with(self.fields.len(), String::new);
        // Validate every feature first, as clkhash validates a row before hashing any of it:
        // the rejection names the first invalid feature in column order.
        for (field, prepared) in self.fields.iter().zip(values.iter_mut()) {
            field
                .format
                .prepare(value(field.index), prepared, int)
                .map_err(|e| rejection(field, e))?;
        }
        filter.clear();
        filter.resize(self.hash_bits.div_ceil(64) as usize, 0);
        jobs.clear();
        pending.clear();
        let bits = self.hash_bits;
        // Tokenize every feature into one buffer, noting each token's feature and bits.
        tokens.clear();
        metas.clear();
        for (f, (field, prepared)) in self.fields.iter().zip(values.iter()).enumerate() {
            let before = tokens.len();
            tokenize::tokenize(
                &field.comparison,
                prepared,
                field.encoding,
                tokenizer,
                tokens,
            )
            .map_err(|e| rejection(field, e))?;
            let n = tokens.len() - before;
            metas.extend((0..n).map(|i| (f, tokenize::bits_for_token(field.strategy, n, i))));
        }
        cache::with(|cache| {
            let cached = cache.prepare(self.id, filter.len());
            tokens.pad(cache::SLACK);
            let buf = tokens.buffer();
            // First every token's cache key, prefetching its slot, then the lookups: by then
            // the slots are (mostly) in cache.
            keys.clear();
            for ((start, end), &(f, k)) in tokens.spans().zip(metas.iter()) {
                let blake = matches!(self.fields[f].hasher, TokenHasher::Blake(_));
                let key = (cached && blake)
                    .then(|| cache::Key::new(f, k, buf, start, end - start))
                    .flatten()
                    .map(|key| (key.slot(), key));
                if let Some((slot, _)) = key {
                    cache.prefetch(slot);
                }
                keys.push(key);
            }
            for (((start, end), &(f, k)), key) in tokens.spans().zip(metas.iter()).zip(keys.iter())
            {
                let token = &buf[start..end];
                let field = &self.fields[f];
                match (key, &field.hasher) {
                    (Some((slot, key)), TokenHasher::Blake(blake)) => {
                        if let Some(mask) = cache.get(*slot, key) {
                            or_into(filter, mask);
                        } else {
                            pending.push((*slot, *key));
                            let note = pending.len() as u32;
                            blake.queue(token, k, bits, note, jobs, filter);
                        }
                    }
                    _ => field.hasher.insert(token, k, bits, jobs, filter),
                }
            }
            // The queued blakeHash digests run side by side (see `blake2b`); then each sets
            // its bits, through the cache when it fills a slot.
            blake2b::finish_all(jobs);
            for job in jobs.iter() {
                let (note, take) = ((job.tag >> 32) as u32, job.tag as u32);
                if note == 0 {
                    hash::set_bits(&job.h, take, bits, filter);
                    continue;
                }
                let (slot, key) = pending[note as usize - 1];
                let mask = cache.store(slot, key, |mask| hash::set_bits(&job.h, take, bits, mask));
                or_into(filter, mask);
            }
        });
        hash::fold_xor(filter, self.hash_bits, self.xor_folds);
        out.copy_from_slice(&filter[..out.len()]);
        Ok(())
    }
}

#[inline]
fn or_into(filter: &mut [u64], mask: &[u64]) {
    filter.iter_mut().zip(mask).for_each(|(w, m)| *w |= m);
}

fn rejection(field: &FieldEncoder, e: format::Invalid) -> Rejection {
    Rejection {
        field: Some(field.identifier.clone()),
        code: e.code,
        reason: e.reason,
    }
}
