//! Attack simulations: how much of a population an attacker holding a public list of names
//! could re-identify from pprl's encodings of it.
//!
//! In: a [`Schema`] (any schema, hardened ones included: the attacks see only filters), the
//! encodings of one population made with it, the true values behind them (the simulation
//! knows them), and the attacker's plaintext list. Out: an [`AttackReport`], plain
//! serialisable data: correct 1-1, correct 1-m, wrong and no guess per record and per value
//! ([`score`]), and, where the key is known to the simulation, the precision of the
//! recovered q-gram -> position assignments.
//!
//! * [`frequency`]: frequency alignment with possible / impossible tokens per bit
//!   (Christen et al. 2017);
//! * [`pattern`]: pattern mining of bit positions with must-have / cannot-have tokens
//!   (Christen et al. 2018; works when every filter is unique);
//! * [`graph`]: matching the encodings' similarity graph to the plaintext's (Vidanage et al.
//!   2020).
//!
//! [`simulate`] runs one attack on a synthetic population ([`crate::lab::synth`]): the
//! encoded party and the attacker's list are two parties of it with a chosen overlap, each
//! corrupted independently. [`run`] takes any prepared [`AttackData`], e.g. a department's own
//! `.clk` file and a plaintext CSV. Everything is seeded and collected in a fixed order, so a
//! report is the same for any thread count. Figures measured with these attacks are in
//! `docs/attacks.md`.
//!
//! The attacks never see the secret; scoring alone uses the truth and (for positions) the key.

pub mod chart;
pub mod data;
pub mod frequency;
pub mod graph;
pub mod pattern;
pub mod score;
pub mod sweep;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use self::data::{AttackData, Encoded, Filters, Table};
pub use self::frequency::FrequencySettings;
pub use self::graph::GraphSettings;
pub use self::pattern::PatternSettings;
pub use self::score::{Outcome, PositionScore, Score, Scores};
use super::synth::{CorruptionLevel, Population, SynthConfig, SynthError};
use crate::encode::Encoder;
use crate::pipeline::{BatchOptions, EncodeError, JobEncoder, encode_records};
use crate::schema::{Schema, SchemaError};

crate::error_kinds! {
    /// What went wrong in an attack simulation.
    pub enum AttackErrorKind {
        /// The settings are invalid (no such field, an overlap outside 0 to 1).
        Settings => "attack-settings",
        /// An input (the plaintext list, the encodings, their source) cannot be used.
        Input => "attack-input",
        /// The schema is invalid.
        Schema => "attack-schema",
        /// Encoding failed.
        Encode => "attack-encode",
        /// Generating the synthetic population failed.
        Synth => "attack-synth",
        /// Too many records for an attack that compares all pairs.
        TooLarge => "attack-too-large",
    }
}

/// An attack simulation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttackError {
    /// The settings are invalid.
    #[error("{0}")]
    Settings(String),
    /// An input cannot be used.
    #[error("{0}")]
    Input(String),
    /// The schema is invalid.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Generating the population failed.
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// Too many records for the graph attack.
    #[error(
        "the graph attack compares all pairs and takes at most {max} records a side; found {records}"
    )]
    TooLarge {
        /// Records found (the larger side).
        records: usize,
        /// The most allowed.
        max: usize,
    },
}

impl AttackError {
    /// The error's kind.
    pub fn kind(&self) -> AttackErrorKind {
        match self {
            AttackError::Settings(_) => AttackErrorKind::Settings,
            AttackError::Input(_) => AttackErrorKind::Input,
            AttackError::Schema(_) => AttackErrorKind::Schema,
            AttackError::Encode(_) => AttackErrorKind::Encode,
            AttackError::Synth(_) => AttackErrorKind::Synth,
            AttackError::TooLarge { .. } => AttackErrorKind::TooLarge,
        }
    }
}

impl crate::error::Coded for AttackError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// Which attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    /// [`frequency`].
    Frequency,
    /// [`pattern`].
    Pattern,
    /// [`graph`].
    Graph,
}

impl AttackKind {
    /// The kind's name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Frequency => "frequency",
            AttackKind::Pattern => "pattern",
            AttackKind::Graph => "graph",
        }
    }
}

/// Settings of every attack and of the scoring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttackSettings {
    /// Frequency attack.
    pub frequency: FrequencySettings,
    /// Pattern mining.
    pub pattern: PatternSettings,
    /// Graph matching.
    pub graph: GraphSettings,
    /// The most candidates a guess may have to count (1-m); more is no guess (default 10).
    pub max_many: usize,
    /// How many of the most frequent true values are reported one by one (default 20).
    pub top: usize,
}

impl Default for AttackSettings {
    fn default() -> Self {
        AttackSettings {
            frequency: FrequencySettings::default(),
            pattern: PatternSettings::default(),
            graph: GraphSettings::default(),
            max_many: 10,
            top: 20,
        }
    }
}

/// What one attack did, per kind.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Details {
    /// The frequency attack's counts.
    Frequency(frequency::FrequencyDetails),
    /// Pattern mining's counts.
    Pattern(pattern::PatternDetails),
    /// Graph matching's counts.
    Graph(graph::GraphDetails),
}

/// The population a simulation was run on (absent for a department's own files).
#[derive(Debug, Clone, Serialize)]
pub struct PopulationInfo {
    /// Records in the encoded party and in the attacker's list.
    pub records: u64,
    /// Share of people in both.
    pub overlap: f64,
    /// Corruption preset.
    pub corruption: String,
    /// Seed.
    pub seed: u64,
}

/// The report of one attack.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    /// Which attack.
    pub attack: AttackKind,
    /// The filter layout attacked (`clk`, `field`, `rbf`).
    pub layout: String,
    /// The fields whose values the attack tries to recover.
    pub fields: Vec<String>,
    /// The fields the attacked filter encodes.
    pub encoded_fields: Vec<String>,
    /// Encodings attacked.
    pub encodings: u64,
    /// Records in the attacker's plaintext list (with a value).
    pub plaintext_records: u64,
    /// Distinct target values among the plaintext records.
    pub plaintext_values: u64,
    /// The synthetic population, for a simulation.
    pub population: Option<PopulationInfo>,
    /// Success.
    pub scores: Scores,
    /// Precision of the claimed q-gram -> position assignments (where the key is known and
    /// the attack claims positions).
    pub positions: Option<PositionScore>,
    /// What the attack found on the way.
    pub details: Details,
    /// Settings used.
    pub settings: AttackSettings,
}

/// Runs attack `kind` on prepared data.
pub fn run(
    kind: AttackKind,
    data: &AttackData,
    s: &AttackSettings,
) -> Result<AttackReport, AttackError> {
    if !(s.pattern.tolerance >= 0.0 && s.pattern.tolerance < 1.0) {
        return Err(AttackError::Settings(
            "the pattern tolerance must be at least 0 and below 1".into(),
        ));
    }
    if !(s.graph.threshold > 0.0 && s.graph.threshold <= 1.0) {
        return Err(AttackError::Settings(
            "the graph threshold must be above 0 and at most 1".into(),
        ));
    }
    let (guesses, assignments, details) = match kind {
        AttackKind::Frequency => {
            let r = frequency::run(data, &s.frequency);
            (
                r.guesses,
                Some(r.assignments),
                Details::Frequency(r.details),
            )
        }
        AttackKind::Pattern => {
            let r = pattern::run(data, &s.pattern);
            (r.guesses, Some(r.assignments), Details::Pattern(r.details))
        }
        AttackKind::Graph => {
            let r = graph::run(data, &s.graph)?;
            (r.guesses, None, Details::Graph(r.details))
        }
    };
    let mut distinct: Vec<u32> = data.key_target.clone();
    distinct.sort_unstable();
    distinct.dedup();
    Ok(AttackReport {
        attack: kind,
        layout: data.layout.clone(),
        fields: data.attacked.clone(),
        encoded_fields: data.fields.clone(),
        encodings: data.filters.len() as u64,
        plaintext_records: data.plain_keys.len() as u64,
        plaintext_values: distinct.len() as u64,
        population: None,
        scores: score::score(data, &guesses, s.max_many, s.top),
        positions: assignments.and_then(|a| score::positions(data, &a)),
        details,
        settings: *s,
    })
}

/// A simulation on a synthetic population.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Records in the encoded party and in the attacker's list.
    pub records: u64,
    /// Share of people in both, in `[0, 1]`.
    pub overlap: f64,
    /// How the two copies are corrupted.
    pub corruption: CorruptionLevel,
    /// Seed of the population, of the simulated department's key and of the attacker's key.
    pub seed: u64,
    /// The fields to recover.
    pub fields: Vec<String>,
}

/// Encodes `table` with `schema` under `secret` in memory and returns the attacked filters
/// with their true values.
pub fn encode_table(
    schema: &Schema,
    secret: &crate::keys::Secret,
    table: &Table,
    fields: &[String],
) -> Result<Encoded, AttackError> {
    let (_, index) = data::attacked_filter(schema, fields)?;
    let encoder = Encoder::new(schema, secret)?;
    let batch = encode_records(
        JobEncoder::Pprl(schema, &encoder),
        &table.header,
        &table.rows,
        &BatchOptions::default(),
    )?;
    let columns: Vec<usize> = fields
        .iter()
        .map(|f| {
            let spec = schema
                .fields
                .iter()
                .find(|s| &s.name == f)
                .map(|s| s.column().to_string())
                .unwrap_or_default();
            table.header.iter().position(|h| *h == spec).ok_or_else(|| {
                AttackError::Input(format!("the encoded records have no column `{spec}`"))
            })
        })
        .collect::<Result<_, _>>()?;
    let truth = batch
        .rows
        .iter()
        .map(|&r| {
            let row = &table.rows[r as usize - 1];
            Some(
                columns
                    .iter()
                    .map(|&c| row.get(c).cloned().unwrap_or_default())
                    .collect(),
            )
        })
        .collect();
    Ok(Encoded {
        filters: Filters::select(
            &batch.data.words,
            schema.filter.output_bits(),
            schema.filters_per_record(),
            index,
        ),
        truth,
    })
}

/// Generates the population of `sim`, encodes its first party with `schema` under a key
/// derived from the seed, gives the second party to the attacker, and runs attack `kind`.
pub fn simulate(
    kind: AttackKind,
    schema: &Schema,
    sim: &Simulation,
    settings: &AttackSettings,
) -> Result<AttackReport, AttackError> {
    let data = simulation_data(schema, sim)?;
    let mut report = run(kind, &data, settings)?;
    report.population = Some(PopulationInfo {
        records: sim.records,
        overlap: sim.overlap,
        corruption: format!("{:?}", sim.corruption).to_lowercase(),
        seed: sim.seed,
    });
    Ok(report)
}

/// The prepared data of [`simulate`], for running several attacks on one population.
pub fn simulation_data(schema: &Schema, sim: &Simulation) -> Result<AttackData, AttackError> {
    if !(0.0..=1.0).contains(&sim.overlap) {
        return Err(AttackError::Settings(
            "the overlap must be between 0 and 1".into(),
        ));
    }
    let population = Population::new(SynthConfig {
        parties: 2,
        overlap: sim.overlap,
        corruption: sim.corruption.profile(),
        ..SynthConfig::new(sim.records, sim.seed)
    })?;
    let party = |p: usize| -> Result<Table, AttackError> {
        let mut buf = Vec::new();
        population
            .write_party(p, &mut buf)
            .map_err(|e| AttackError::Input(format!("synthetic party: {e}")))?;
        Table::from_csv(buf.as_slice(), "synthetic party")
    };
    let (target, attacker) = (party(0)?, party(1)?);
    let secret = data::seeded_secret(sim.seed, "department")?;
    let encoded = encode_table(schema, &secret, &target, &sim.fields)?;
    AttackData::new(
        schema,
        encoded,
        &attacker,
        &sim.fields,
        Some(&secret),
        sim.seed,
    )
}

/// Prepares a department's own test: `encoded` filters (e.g. read from its `.clk` file) with
/// their true values, against the attacker's `plaintext`.
pub fn prepare(
    schema: &Schema,
    encoded: Encoded,
    plaintext: &Table,
    fields: &[String],
    secret: Option<&crate::keys::Secret>,
    seed: u64,
) -> Result<AttackData, AttackError> {
    AttackData::new(schema, encoded, plaintext, fields, secret, seed)
}
