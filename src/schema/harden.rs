//! The hardening steps a schema's `[filter] harden = [...]` list declares: their names,
//! parameters, fixed order and checks, and the filter length they leave.
//!
//! In: the list as serde reads it (simple steps are strings, steps with parameters one-key
//! tables, as in `normalize`). Out: validated [`HardenStep`]s, in the one order pprl applies
//! them ([`HardenStep::ORDER`]), and [`FilterSpec::output_bits`], the length of each stored
//! filter once hardened. [`crate::encode`] carries the steps out.
//!
//! The order is fixed, not chosen by the list: `salt` acts on tokens before hashing; then, on
//! the built filter, `blip` (so that every later step is post-processing of the randomised
//! bits and keeps its privacy accounting), `xor-fold`, `rule90`, `diffusion`, and `balance`
//! last (so the stored filter has exactly half its bits set). A list written in another
//! order, or naming a step twice, is refused rather than silently reordered.

use serde::{Deserialize, Deserializer, Serialize};

use super::{FilterSpec, Layout, MAX_FILTER_BITS, MIN_FILTER_BITS, Schema, SchemaError};

/// One hardening step, as written in a schema's `[filter] harden = [...]` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HardenStep {
    /// Salting: every token of the salted fields is hashed together with a stable attribute
    /// of the record (e.g. the year of birth), so equal values of people with different salts
    /// give unrelated bits.
    Salt(SaltSpec),
    /// BLIP, permanent randomised response (Schnell & Borgs 2016): each bit is flipped with
    /// probability `1 / (1 + e^(epsilon / k))`, `k` the most bits one token sets.
    Blip(BlipSpec),
    /// XOR folding: the filter's two halves XOR-ed together (halves the length).
    XorFold,
    /// Rule 90: bit `i` becomes `b[i-1] xor b[i+1]`, cyclic.
    Rule90,
    /// The diffusion layer of Armknecht, Heng & Schnell (PoPETs 2023): output bit `j` is the
    /// XOR of `t` input bits chosen under the key.
    Diffusion(DiffusionSpec),
    /// Balancing (Schnell & Borgs 2016): the filter followed by its complement, permuted under
    /// the key (doubles the length; exactly half the bits set).
    Balance,
    /// A step name this build does not know; [`Schema::validate`] refuses it
    /// ([`HardenProblem::UnknownStep`]). Never part of a valid schema.
    #[serde(skip)]
    Unknown(String),
}

/// Parameters of [`HardenStep::Salt`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaltSpec {
    /// The schema field whose value (after its missing-value markers and normalisation) is the
    /// salt, e.g. `date_of_birth`. Its own tokens are not salted.
    pub field: String,
    /// Keep only the first `prefix` characters of that value (4: the year of an ISO date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u32>,
    /// The fields whose tokens are salted (default: every field but the salt field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// What happens when a record's salt value is missing: reject the row (default), or hash
    /// that record's tokens unsalted.
    #[serde(default)]
    pub missing: SaltMissing,
}

/// What happens to a record whose salt value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SaltMissing {
    /// The row is rejected with the code `missing-salt` (default): a record hashed without
    /// its salt could only match other unsalted records.
    #[default]
    Reject,
    /// The record's tokens are hashed without a salt (as if the step were absent), and it is
    /// encoded.
    Unsalted,
}

/// Parameters of [`HardenStep::Blip`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlipSpec {
    /// The privacy budget per token (> 0, at most 1000): one token more or less changes the
    /// probability of any stored filter by a factor of at most `e^epsilon`.
    pub epsilon: f64,
}

/// Parameters of [`HardenStep::Diffusion`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionSpec {
    /// Input bits XOR-ed into each output bit: 2 to [`MAX_DIFFUSION_T`].
    pub t: u32,
}

/// The largest `t` a diffusion step accepts.
pub const MAX_DIFFUSION_T: u32 = 32;

/// The largest BLIP `epsilon` accepted (beyond it the flip probability rounds to nothing).
pub const MAX_BLIP_EPSILON: f64 = 1000.0;

crate::error_kinds! {
    /// What is wrong with a `[filter] harden` list: the stable code of a
    /// [`SchemaError::Harden`].
    pub enum HardenProblem {
        /// A step name this build does not know.
        UnknownStep => "harden-unknown-step",
        /// Steps out of the fixed order, or one named twice.
        Order => "harden-order",
        /// XOR folding of a filter whose halves are not whole 64-bit words.
        FoldLength => "harden-fold-length",
        /// The hardened filter would be shorter or longer than a filter may be.
        Length => "harden-length",
        /// A BLIP epsilon that is not a finite number in (0, 1000].
        Epsilon => "harden-epsilon",
        /// BLIP on a layout its accounting does not cover (RBF).
        BlipLayout => "harden-blip-layout",
        /// A diffusion `t` out of range.
        DiffusionT => "harden-diffusion-t",
        /// A salt field (or a salted field) that the schema does not have.
        SaltField => "harden-salt-field",
        /// A salt prefix of 0 characters.
        SaltPrefix => "harden-salt-prefix",
    }
}

impl HardenStep {
    /// The fixed order of application, by name.
    pub const ORDER: [&'static str; 6] =
        ["salt", "blip", "xor-fold", "rule90", "diffusion", "balance"];

    /// The step's name as written in schemas.
    pub fn name(&self) -> &str {
        match self {
            HardenStep::Salt(_) => "salt",
            HardenStep::Blip(_) => "blip",
            HardenStep::XorFold => "xor-fold",
            HardenStep::Rule90 => "rule90",
            HardenStep::Diffusion(_) => "diffusion",
            HardenStep::Balance => "balance",
            HardenStep::Unknown(name) => name,
        }
    }

    /// The step's place in [`HardenStep::ORDER`] (`None` for an unknown step).
    pub fn rank(&self) -> Option<usize> {
        HardenStep::ORDER.iter().position(|n| *n == self.name())
    }

    /// The filter length this step leaves, given the length it receives.
    pub fn output_bits(&self, bits: u32) -> u32 {
        match self {
            HardenStep::XorFold => bits / 2,
            HardenStep::Balance => bits * 2,
            _ => bits,
        }
    }
}

/// Reads the list, keeping unknown step names for [`Schema::validate`] to refuse with a code.
pub(super) fn deserialize_steps<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<HardenStep>, D::Error> {
    use serde::de::Error as _;
    let raw = Vec::<serde_json::Value>::deserialize(d)?;
    raw.into_iter()
        .map(|v| {
            let name = match &v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(m) if m.len() == 1 => m.keys().next().cloned(),
                _ => None,
            };
            match name {
                Some(n) if !HardenStep::ORDER.contains(&n.as_str()) => Ok(HardenStep::Unknown(n)),
                _ => serde_json::from_value(v).map_err(|e| {
                    D::Error::custom(format!(
                        "filter.harden: {}",
                        crate::error::scrub_parser_message(&e.to_string())
                    ))
                }),
            }
        })
        .collect()
}

impl FilterSpec {
    /// Length in bits of each stored filter once the `harden` steps have run: `length_bits`,
    /// halved by `xor-fold`, doubled by `balance`. This is the length `.clk` headers record.
    pub fn output_bits(&self) -> u32 {
        self.harden
            .iter()
            .fold(self.length_bits, |bits, s| s.output_bits(bits))
    }

    /// The salt step, if the list has one.
    pub fn salt(&self) -> Option<&SaltSpec> {
        self.harden.iter().find_map(|s| match s {
            HardenStep::Salt(spec) => Some(spec),
            _ => None,
        })
    }
}

impl Schema {
    /// Checks the `[filter] harden` list: known steps, the fixed order, lengths, parameters.
    pub(super) fn validate_harden(&self) -> Result<(), SchemaError> {
        let bad = |i: usize, key: &str, problem: HardenProblem, message: String| {
            let path = if key.is_empty() {
                format!("filter.harden[{i}]")
            } else {
                format!("filter.harden[{i}].{key}")
            };
            SchemaError::Harden {
                path,
                problem,
                message,
            }
        };
        let mut last: Option<usize> = None;
        let mut bits = self.filter.length_bits;
        for (i, step) in self.filter.harden.iter().enumerate() {
            let Some(rank) = step.rank() else {
                return Err(bad(
                    i,
                    "",
                    HardenProblem::UnknownStep,
                    format!(
                        "unknown hardening step `{}`; expected one of {}",
                        step.name(),
                        HardenStep::ORDER.join(", ")
                    ),
                ));
            };
            if last.is_some_and(|l| rank <= l) {
                return Err(bad(
                    i,
                    "",
                    HardenProblem::Order,
                    format!(
                        "`{}` is out of order or repeated; steps are applied once each, in the \
                         order {}: list them in that order",
                        step.name(),
                        HardenStep::ORDER.join(", ")
                    ),
                ));
            }
            last = Some(rank);
            match step {
                HardenStep::Salt(spec) => self.validate_salt(spec, i)?,
                HardenStep::Blip(BlipSpec { epsilon }) => {
                    if !(epsilon.is_finite() && *epsilon > 0.0 && *epsilon <= MAX_BLIP_EPSILON) {
                        return Err(bad(
                            i,
                            "blip.epsilon",
                            HardenProblem::Epsilon,
                            format!(
                                "expected a number greater than 0 and at most {MAX_BLIP_EPSILON}, found {epsilon}"
                            ),
                        ));
                    }
                    if self.filter.layout == Layout::Rbf {
                        return Err(bad(
                            i,
                            "blip",
                            HardenProblem::BlipLayout,
                            "BLIP's accounting needs the bits each token sets, which RBF \
                             sampling spreads unevenly: use the `clk` or `field` layout"
                                .into(),
                        ));
                    }
                }
                HardenStep::XorFold if !bits.is_multiple_of(128) => {
                    return Err(bad(
                        i,
                        "",
                        HardenProblem::FoldLength,
                        format!(
                            "XOR folding needs a filter length that is a multiple of 128 bits \
                             (two halves of whole 64-bit words), found {bits}"
                        ),
                    ));
                }
                HardenStep::Diffusion(DiffusionSpec { t })
                    if !(2..=MAX_DIFFUSION_T).contains(t) || *t > bits =>
                {
                    return Err(bad(
                        i,
                        "diffusion.t",
                        HardenProblem::DiffusionT,
                        format!(
                            "expected 2 to {} input bits per output bit, found {t}",
                            MAX_DIFFUSION_T.min(bits)
                        ),
                    ));
                }
                _ => {}
            }
            bits = step.output_bits(bits);
            if !(MIN_FILTER_BITS..=MAX_FILTER_BITS).contains(&bits) {
                return Err(bad(
                    i,
                    "",
                    HardenProblem::Length,
                    format!(
                        "`{}` leaves filters of {bits} bits; stored filters must be \
                         {MIN_FILTER_BITS} to {MAX_FILTER_BITS} bits (change `length_bits`)",
                        step.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_salt(&self, spec: &SaltSpec, i: usize) -> Result<(), SchemaError> {
        let bad = |key: &str, problem: HardenProblem, message: String| SchemaError::Harden {
            path: format!("filter.harden[{i}].salt.{key}"),
            problem,
            message,
        };
        let has = |name: &str| self.fields.iter().any(|f| f.name == name);
        if !has(&spec.field) {
            return Err(bad(
                "field",
                HardenProblem::SaltField,
                format!("no field named `{}` in `fields`", spec.field),
            ));
        }
        if spec.prefix == Some(0) {
            return Err(bad(
                "prefix",
                HardenProblem::SaltPrefix,
                "expected at least 1 character".into(),
            ));
        }
        for (j, name) in spec.fields.iter().enumerate() {
            if !has(name) || *name == spec.field {
                return Err(bad(
                    &format!("fields[{j}]"),
                    HardenProblem::SaltField,
                    format!(
                        "`{name}` is not a field of the schema other than the salt field itself"
                    ),
                ));
            }
        }
        Ok(())
    }
}
