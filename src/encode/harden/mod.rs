//! Hardening: a built Bloom filter in, the filter that is stored out.
//!
//! The schema's `[filter] harden` list ([`crate::schema::HardenStep`]) names the steps; they
//! run in the fixed order [`crate::schema::HardenStep::ORDER`]. `salt` acts on tokens before
//! hashing ([`salt`]); the rest act on each built filter (one per record, or one per field for
//! the field layout), in this order:
//!
//! 1. [`blip`]: permanent randomised response, each bit flipped with probability
//!    `1 / (1 + e^(epsilon / k))`;
//! 2. [`fold`]: XOR folding, `m` bits to `m / 2`;
//! 3. [`rule90`]: `c[i] = b[i-1] xor b[i+1]`, cyclic;
//! 4. [`diffusion`]: each output bit the XOR of `t` keyed input bits;
//! 5. [`balance`]: `b || !b`, permuted under the key, `m` bits to `2m`.
//!
//! Keyed randomness comes from HKDF purpose keys of the project secret, bound to the schema
//! fingerprint (`harden:blip`, `harden:diffusion`, `harden:balance`): the permutation and the
//! diffusion map are drawn once per [`Hardener`], BLIP's noise from the filter's own bits. So
//! the same input, schema and secret give byte-identical filters for any thread count.

pub mod balance;
pub mod blip;
pub mod diffusion;
pub mod fold;
pub mod rule90;
pub mod salt;

use crate::keys::Secret;
use crate::schema::{
    BlipSpec, DiffusionSpec, HardenStep, Layout, Schema, SchemaFingerprint, Weight,
};

use self::balance::Balance;
use self::blip::Blip;
use self::diffusion::Diffusion;

#[derive(Debug, Clone)]
enum Step {
    /// One compiled BLIP per stored filter (their `k` may differ in the field layout).
    Blip(Vec<Blip>),
    XorFold,
    Rule90,
    Diffusion(Diffusion),
    Balance(Balance),
}

/// The filter steps of a schema's `harden` list, compiled under a secret.
#[derive(Debug, Clone)]
pub struct Hardener {
    steps: Vec<Step>,
    built_bits: u32,
    output_bits: u32,
}

/// Per-thread buffers for [`Hardener::apply`].
#[derive(Debug, Default, Clone)]
pub struct HardenScratch {
    a: Vec<u64>,
    b: Vec<u64>,
    noise: Vec<u8>,
    wide: Vec<u64>,
}

/// The most bits one token of `field` can set in a filter of `bits` bits.
fn max_token_bits(weight: Weight, bits: u32) -> u32 {
    match weight {
        Weight::BitsPerToken(k) => k,
        Weight::BitsPerField(n) => n.min(bits / 2).max(1),
    }
}

impl Hardener {
    /// Compiles the filter steps of a validated `schema` (fingerprint `fp`) under `secret`;
    /// `None` if it has none (no hardening, or only `salt`).
    pub fn new(schema: &Schema, fp: &SchemaFingerprint, secret: &Secret) -> Option<Hardener> {
        let mut bits = schema.filter.length_bits;
        let mut steps = Vec::new();
        for step in &schema.filter.harden {
            steps.push(match step {
                HardenStep::Salt(_) | HardenStep::Unknown(_) => continue,
                HardenStep::Blip(BlipSpec { epsilon }) => {
                    let key = secret.purpose_key(fp, "harden:blip");
                    let k: Vec<u32> = schema
                        .fields
                        .iter()
                        .map(|f| max_token_bits(f.weight(), schema.filter.length_bits))
                        .collect();
                    let per_filter = match schema.filter.layout {
                        Layout::Field => k,
                        Layout::Clk | Layout::Rbf => vec![k.into_iter().max().unwrap_or(1)],
                    };
                    Step::Blip(
                        per_filter
                            .into_iter()
                            .map(|k| Blip::new(&key, *epsilon, k))
                            .collect(),
                    )
                }
                HardenStep::XorFold => Step::XorFold,
                HardenStep::Rule90 => Step::Rule90,
                HardenStep::Diffusion(DiffusionSpec { t }) => {
                    let key = secret.purpose_key(fp, "harden:diffusion");
                    Step::Diffusion(Diffusion::new(&key, bits, *t))
                }
                HardenStep::Balance => {
                    let key = secret.purpose_key(fp, "harden:balance");
                    Step::Balance(Balance::new(&key, bits))
                }
            });
            bits = step.output_bits(bits);
        }
        (!steps.is_empty()).then_some(Hardener {
            steps,
            built_bits: schema.filter.length_bits,
            output_bits: bits,
        })
    }

    /// Length of a filter before hardening (the schema's `length_bits`).
    pub fn built_bits(&self) -> u32 {
        self.built_bits
    }

    /// Length of a stored filter ([`crate::schema::FilterSpec::output_bits`]).
    pub fn output_bits(&self) -> u32 {
        self.output_bits
    }

    /// The flip probability BLIP applies to stored filter `filter`, if the list has BLIP.
    pub fn flip_probability(&self, filter: usize) -> Option<f64> {
        self.steps.iter().find_map(|s| match s {
            Step::Blip(b) => b.get(filter).or(b.first()).map(Blip::flip_probability),
            _ => None,
        })
    }

    /// Hardens built filter number `filter` of a record (`input`, [`Hardener::built_bits`]
    /// long) into `out` ([`Hardener::output_bits`] long).
    pub fn apply(&self, filter: usize, input: &[u64], out: &mut [u64], s: &mut HardenScratch) {
        debug_assert_eq!(input.len() * 64, self.built_bits as usize);
        debug_assert_eq!(out.len() * 64, self.output_bits as usize);
        let HardenScratch { a, b, noise, wide } = s;
        a.clear();
        a.extend_from_slice(input);
        for step in &self.steps {
            let n = a.len();
            b.clear();
            b.resize(
                match step {
                    Step::XorFold => n / 2,
                    Step::Balance(_) => n * 2,
                    _ => n,
                },
                0,
            );
            match step {
                Step::Blip(blips) => {
                    let blip = blips.get(filter).unwrap_or(&blips[0]);
                    blip.apply(filter as u32, a, b, noise);
                }
                Step::XorFold => fold::xor_fold(a, b),
                Step::Rule90 => rule90::rule90(a, b),
                Step::Diffusion(d) => d.apply(a, b),
                Step::Balance(bal) => bal.apply(a, b, wide),
            }
            std::mem::swap(a, b);
        }
        out.copy_from_slice(a);
    }
}

#[cfg(test)]
mod tests;
