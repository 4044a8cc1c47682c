//! What an attack works on: the encodings under attack (one filter per record) with the truth
//! the simulation knows, and the attacker's plaintext list, tokenized the way the schema says.
//!
//! In: a [`Schema`], the encoded filters (made in memory with the normal encoder, or read from
//! a `.clk` file), optionally each encoding's true identifier values and the secret, and the
//! attacker's plaintext [`Table`]. Out: an [`AttackData`], interned and ready for the attacks:
//! tokens are tagged with their field (each field hashes under its own key, so `an` of a given
//! name and `an` of a surname are different items), plaintext records are grouped by the
//! values the attacked filter encodes (their *key*) and by the values the attack tries to
//! recover (their *target*).
//!
//! The attacker is assumed to know the encoding scheme (the schema is shared between parties)
//! but not the secret. Only the scoring uses the truth and the secret.

use std::collections::HashMap;

use super::AttackError;
use crate::encode::Encoder;
use crate::encode::hash::{self, Sampler};
use crate::encode::tokenize::{self, Tokens};
use crate::keys::Secret;
use crate::normalize::Normalizer;
use crate::pipeline::{BatchOptions, JobEncoder, encode_records};
use crate::schema::{Layout, Schema, Weight};

/// Rows of named columns held in memory (a CSV export, a synthetic party).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads CSV with a header line from `reader`. `source` names it in errors.
    pub fn from_csv(reader: impl std::io::Read, source: &str) -> Result<Table, AttackError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let bad = |e: csv::Error| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            AttackError::Input(format!(
                "{source}: not a well-formed CSV file (line {line})"
            ))
        };
        let header = csv
            .headers()
            .map_err(bad)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for rec in csv.records() {
            rows.push(rec.map_err(bad)?.iter().map(str::to_string).collect());
        }
        Ok(Table { header, rows })
    }

    /// The index of column `name`.
    pub(crate) fn column(&self, name: &str, what: &str) -> Result<usize, AttackError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| AttackError::Input(format!("the {what} has no column `{name}`")))
    }
}

/// The filters under attack: one filter of `bits` bits per record, flat.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Bits per filter (a multiple of 64).
    pub bits: u32,
    /// `bits / 64` words per record, in record order.
    pub words: Vec<u64>,
}

impl Filters {
    /// Words per filter.
    pub fn words_per_filter(&self) -> usize {
        self.bits as usize / 64
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.words.len() / self.words_per_filter().max(1)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Filter `i`.
    pub fn get(&self, i: usize) -> &[u64] {
        let w = self.words_per_filter();
        &self.words[i * w..(i + 1) * w]
    }

    /// Takes filter `index` of every record out of `words` (`filters_per_record` filters of
    /// `bits` each per record).
    pub fn select(words: &[u64], bits: u32, filters_per_record: usize, index: usize) -> Filters {
        let w = bits as usize / 64;
        let per = w * filters_per_record;
        let words = words
            .chunks_exact(per.max(1))
            .flat_map(|r| r[index * w..(index + 1) * w].iter().copied())
            .collect();
        Filters { bits, words }
    }
}

/// How the attacker sees the schema: normalisers and tokenizers of the fields it encodes.
struct FieldView {
    name: String,
    missing: Vec<String>,
    normalizer: Normalizer,
    tokenizer: Box<dyn tokenize::Tokenize>,
}

impl FieldView {
    /// The normalised value, or `None` when it is missing or invalid.
    fn normalize(&self, raw: &str) -> Option<String> {
        let t = raw.trim().to_ascii_lowercase();
        if t.is_empty() || self.missing.contains(&t) {
            return None;
        }
        let v = self.normalizer.apply(raw).ok()?;
        (!v.trim().is_empty()).then_some(v)
    }
}

/// Everything an attack needs, interned (see the module docs).
#[derive(Debug, Clone)]
pub struct AttackData {
    /// The schema's filter layout (`clk`, `field`, `rbf`).
    pub layout: String,
    /// The fields whose values the attack tries to recover.
    pub attacked: Vec<String>,
    /// The encodings under attack.
    pub filters: Filters,
    /// Each encoding's true target value (an index into `values`), where known.
    pub truth: Vec<Option<u32>>,
    /// Target values (the attacked fields' normalised values, joined by ` | `).
    pub values: Vec<String>,
    /// Tokens, `field:token`.
    pub tokens: Vec<String>,
    /// The schema field (index into `fields`) of each token.
    pub token_field: Vec<u32>,
    /// The fields the attacked filter encodes.
    pub fields: Vec<String>,
    /// Bits per token of each field, where the schema fixes it (`bits_per_token`).
    pub field_k: Vec<Option<u32>>,
    /// Distinct plaintext keys (the values of every encoded field): their sorted token ids.
    pub key_tokens: Vec<Vec<u32>>,
    /// Each key's target value.
    pub key_target: Vec<u32>,
    /// Plaintext records per key.
    pub key_count: Vec<u32>,
    /// Each plaintext record's key, in table order (records with no value are left out).
    pub plain_keys: Vec<u32>,
    /// The attacker's own encoding of its plaintext records (same schema, the attacker's own
    /// key), in `plain_keys` order: what similarity calibration may use.
    pub plain_filters: Option<Filters>,
    /// The true positions of each token in the attacked filter, where the simulation knows
    /// the key and the schema fixes `k` (field or CLK layout, `bits_per_token`).
    pub true_positions: Option<Vec<Option<Vec<u32>>>>,
}

/// The encoding side given to [`AttackData::new`].
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The filters under attack.
    pub filters: Filters,
    /// Each filter's true raw values of the attacked fields (in `fields` order), where known.
    pub truth: Vec<Option<Vec<String>>>,
}

/// Interns strings in first-seen order.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    list: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: String) -> u32 {
        if let Some(&i) = self.ids.get(&s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.ids.insert(s.clone(), i);
        self.list.push(s);
        i
    }
}

/// The fields hashed into the filter that is attacked, and that filter's index in a record.
pub fn attacked_filter(
    schema: &Schema,
    attacked: &[String],
) -> Result<(Vec<usize>, usize), AttackError> {
    for f in attacked {
        if !schema.fields.iter().any(|s| &s.name == f) {
            return Err(AttackError::Settings(format!(
                "the schema has no field `{f}`"
            )));
        }
    }
    if attacked.is_empty() {
        return Err(AttackError::Settings(
            "name at least one field to attack".into(),
        ));
    }
    match schema.filter.layout {
        Layout::Field => {
            if attacked.len() != 1 {
                return Err(AttackError::Settings(
                    "with the field layout each filter holds one field: attack one field".into(),
                ));
            }
            let i = schema
                .fields
                .iter()
                .position(|s| s.name == attacked[0])
                .unwrap_or(0);
            Ok((vec![i], i))
        }
        Layout::Clk | Layout::Rbf => Ok(((0..schema.fields.len()).collect(), 0)),
    }
}

impl AttackData {
    /// Prepares an attack on `encoded` (filters of `schema`) with the attacker's `plaintext`;
    /// `attacked` names the fields whose values the attack tries to recover. `secret` (the
    /// simulation's key) gives the true token positions for scoring; `attacker_seed` keys the
    /// attacker's own encoding of its plaintext.
    pub fn new(
        schema: &Schema,
        encoded: Encoded,
        plaintext: &Table,
        attacked: &[String],
        secret: Option<&Secret>,
        attacker_seed: u64,
    ) -> Result<AttackData, AttackError> {
        schema.validate()?;
        let (encoded_fields, _) = attacked_filter(schema, attacked)?;
        let views: Vec<FieldView> = encoded_fields
            .iter()
            .map(|&i| {
                let spec = &schema.fields[i];
                Ok(FieldView {
                    name: spec.name.clone(),
                    missing: spec
                        .missing_values
                        .iter()
                        .map(|v| v.trim().to_ascii_lowercase())
                        .collect(),
                    normalizer: Normalizer::new(&spec.normalize).map_err(AttackError::Settings)?,
                    tokenizer: tokenize::from_spec(&spec.tokenizer),
                })
            })
            .collect::<Result<_, AttackError>>()?;
        // Where each attacked field sits among the encoded fields.
        let target_of: Vec<usize> = attacked
            .iter()
            .map(|a| views.iter().position(|v| &v.name == a).unwrap_or(0))
            .collect();
        let columns: Vec<usize> = encoded_fields
            .iter()
            .map(|&i| plaintext.column(schema.fields[i].column(), "plaintext list"))
            .collect::<Result<_, _>>()?;

        let mut values = Interner::default();
        let mut tokens = Interner::default();
        let mut token_field = Vec::new();
        let mut keys = Interner::default();
        let mut key_tokens = Vec::new();
        let mut key_target = Vec::new();
        let mut key_count: Vec<u32> = Vec::new();
        let mut plain_keys = Vec::new();
        let mut plain_rows = Vec::new();
        let mut buf = Tokens::default();
        for (row_index, row) in plaintext.rows.iter().enumerate() {
            let normalized: Vec<Option<String>> = views
                .iter()
                .zip(&columns)
                .map(|(v, &c)| row.get(c).and_then(|raw| v.normalize(raw)))
                .collect();
            if normalized.iter().all(Option::is_none) {
                continue;
            }
            let key_text = join(normalized.iter().map(|v| v.as_deref().unwrap_or("")));
            let key = keys.id(key_text);
            if key as usize == key_tokens.len() {
                let mut ids = Vec::new();
                for (f, (v, value)) in views.iter().zip(&normalized).enumerate() {
                    let Some(value) = value else { continue };
                    buf.clear();
                    if v.tokenizer.tokenize(value, &mut buf).is_err() {
                        continue;
                    }
                    for t in buf.iter() {
                        let id = tokens.id(format!("{}:{t}", v.name));
                        if id as usize == token_field.len() {
                            token_field.push(f as u32);
                        }
                        ids.push(id);
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                key_tokens.push(ids);
                let target = join(
                    target_of
                        .iter()
                        .map(|&t| normalized[t].as_deref().unwrap_or("")),
                );
                key_target.push(values.id(target));
                key_count.push(0);
            }
            key_count[key as usize] += 1;
            plain_keys.push(key);
            plain_rows.push(row_index);
        }
        if plain_keys.is_empty() {
            return Err(AttackError::Input(
                "the plaintext list has no values to attack with".into(),
            ));
        }
        let truth = encoded
            .truth
            .iter()
            .map(|t| {
                t.as_ref().map(|raw| {
                    let v = join(
                        target_of
                            .iter()
                            .zip(raw)
                            .map(|(&f, r)| views[f].normalize(r).unwrap_or_default()),
                    );
                    values.id(v)
                })
            })
            .collect();

        let bits = encoded.filters.bits;
        let field_k: Vec<Option<u32>> = encoded_fields
            .iter()
            .map(|&i| match schema.fields[i].weight() {
                Weight::BitsPerToken(k) => Some(k),
                Weight::BitsPerField(_) => None,
            })
            .collect();
        // Hardening moves bits: the positions a token hashes to are not where it shows.
        let true_positions = match (secret, schema.filter.layout) {
            (Some(secret), Layout::Clk | Layout::Field) if schema.filter.harden.is_empty() => {
                let fp = schema.fingerprint();
                let hashers = encoded_fields
                    .iter()
                    .map(|&i| {
                        let key = secret.field_key(&fp, &schema.fields[i].name);
                        hash::from_scheme(schema.filter.hashing, &key)
                    })
                    .collect::<Vec<_>>();
                let mut sampler = Sampler::default();
                let mut target = vec![0u64; bits as usize / 64];
                let positions = tokens
                    .list
                    .iter()
                    .zip(&token_field)
                    .map(|(name, &f)| {
                        let hasher = hashers[f as usize].as_ref()?;
                        let k = field_k[f as usize]?;
                        let token = &name[views[f as usize].name.len() + 1..];
                        target.fill(0);
                        let first = hasher.block(token.as_bytes(), 0);
                        hash::sample_positions(
                            &**hasher,
                            token.as_bytes(),
                            &first,
                            k,
                            bits,
                            &mut sampler,
                            &mut target,
                        );
                        Some(ones(&target))
                    })
                    .collect();
                Some(positions)
            }
            _ => None,
        };
        let plain_filters = attacker_encoding(
            schema,
            plaintext,
            &plain_rows,
            &encoded_fields,
            attacker_seed,
        )?;
        Ok(AttackData {
            layout: schema.filter.layout.as_str().to_string(),
            attacked: attacked.to_vec(),
            filters: encoded.filters,
            truth,
            values: values.list,
            tokens: tokens.list,
            token_field,
            fields: views.into_iter().map(|v| v.name).collect(),
            field_k,
            key_tokens,
            key_target,
            key_count,
            plain_keys,
            plain_filters,
            true_positions,
        })
    }

    /// The plaintext records in which each token occurs.
    pub fn token_counts(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.tokens.len()];
        for (key, ts) in self.key_tokens.iter().enumerate() {
            for &t in ts {
                counts[t as usize] += u64::from(self.key_count[key]);
            }
        }
        counts
    }

    /// The most frequent token of the plaintext list (lowest id among equals).
    pub fn top_token(&self) -> Option<u32> {
        let counts = self.token_counts();
        (0..counts.len())
            .max_by_key(|&t| (counts[t], std::cmp::Reverse(t)))
            .map(|t| t as u32)
    }
}

/// The attacker's own encoding of its plaintext records under a key of its own, with the same
/// schema: its similarity distribution, not its positions, is comparable with the target's.
fn attacker_encoding(
    schema: &Schema,
    plaintext: &Table,
    rows: &[usize],
    encoded_fields: &[usize],
    seed: u64,
) -> Result<Option<Filters>, AttackError> {
    let secret = seeded_secret(seed, "attacker")?;
    let encoder = Encoder::new(schema, &secret)?;
    let mut header = plaintext.header.clone();
    let id_col = schema.id_column.clone();
    let id_index = match header.iter().position(|h| *h == id_col) {
        Some(i) => i,
        None => {
            header.push(id_col);
            header.len() - 1
        }
    };
    let records: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(n, &r)| {
            let mut rec = plaintext.rows[r].clone();
            rec.resize(header.len(), String::new());
            rec[id_index] = format!("p{n}");
            rec
        })
        .collect();
    let batch = encode_records(
        JobEncoder::Pprl(schema, &encoder),
        &header,
        &records,
        &BatchOptions::default(),
    )?;
    if batch.counts.rows_encoded != rows.len() as u64 {
        // Some records encode to nothing under the schema's rules: calibration is skipped.
        return Ok(None);
    }
    let index = attacked_index(schema, encoded_fields);
    Ok(Some(Filters::select(
        &batch.data.words,
        schema.filter.output_bits(),
        schema.filters_per_record(),
        index,
    )))
}

fn attacked_index(schema: &Schema, encoded_fields: &[usize]) -> usize {
    match schema.filter.layout {
        Layout::Field => encoded_fields[0],
        _ => 0,
    }
}

/// A 32-byte secret derived from `seed` and a purpose (simulations only).
pub fn seeded_secret(seed: u64, purpose: &str) -> Result<Secret, AttackError> {
    let mut h = blake3::Hasher::new_derive_key("pprl attack simulation secret v1");
    h.update(&seed.to_le_bytes());
    h.update(purpose.as_bytes());
    let bytes = h.finalize().as_bytes().to_vec();
    Secret::from_bytes(bytes, "simulation").map_err(|e| AttackError::Settings(e.to_string()))
}

/// The set bits of a filter, ascending.
pub fn ones(words: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &word) in words.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            out.push(w as u32 * 64 + x.trailing_zeros());
            x &= x - 1;
        }
    }
    out
}

fn join<S: AsRef<str>>(parts: impl Iterator<Item = S>) -> String {
    parts
        .map(|p| p.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}
