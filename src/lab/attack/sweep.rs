//! The privacy-utility sweep (`pprl privacy sweep`): each hardening setting's attack success
//! beside its linkage quality, on one synthetic population and (optionally) on real-like data.
//!
//! In: a base schema as TOML text (for the synthetic population: it must read the columns of
//! `pprl synth`), optionally real-like data with its own schema (the FEBRL layout: `rec_id`
//! values `rec-N-org` / `rec-N-dup-K`, entity `N`), and the settings as `[filter] harden`
//! lists. Out: one [`SweepRow`] per data set and setting: two-party F1 and deduplication F1 at
//! the automatic threshold (`Threshold::Auto`, as `pprl match --threshold auto` runs), the
//! encoding rate, and the share of records each attack re-identifies correctly one-to-one at
//! each attacker overlap, with the worst of them.
//!
//! * Synthetic two-party: two parties of `records`, half of their people in common, moderate
//!   corruption, greedy one-to-one links; dedup: one party of `records` with a fifth of its
//!   records extra corrupted copies, every pair at or above the automatic threshold a link.
//! * Real-like two-party: originals (`-org`) against their first duplicates (`-dup-0`);
//!   dedup: all records. Attacks on real-like data: the attacker holds the same file's values
//!   (full overlap, no corruption between the two: the strongest position).
//! * Attacks: [`super::simulate`] on the synthetic population, the encoded party against an
//!   attacker list with each overlap; frequency and pattern mining recover `given_name`,
//!   graph matching `given_name` and `surname` on at most `graph_records` records.
//!
//! Everything is seeded (population, secrets), so the quality and attack figures are the same
//! for any thread count; the encoding rate is a timing and varies.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use super::{AttackError, AttackKind, AttackSettings, Simulation, Table};
use crate::encode::Encoder;
use crate::io::ClkData;
use crate::keys::Secret;
use crate::lab::synth::{CorruptionLevel, Population, SynthConfig};
use crate::linkage::threshold::AutoOptions;
use crate::linkage::{MatchInput, MatchOptions, MatchResult, Threshold, match_encodings};
use crate::pipeline::{BatchOptions, JobEncoder, encode_records};
use crate::schema::Schema;

/// One hardening setting: a label and the body of its `[filter] harden = [...]` list (empty:
/// unhardened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepSetting {
    /// Label, e.g. `balance`.
    pub label: String,
    /// The list body, e.g. `"balance"` or `{ blip = { epsilon = 300.0 } }`.
    pub harden: String,
}

/// The settings measured by default: none, each step alone, and two combinations.
pub fn default_settings() -> Vec<SweepSetting> {
    [
        ("none", ""),
        ("balance", r#""balance""#),
        ("xor-fold", r#""xor-fold""#),
        ("rule90", r#""rule90""#),
        ("blip eps=300", "{ blip = { epsilon = 300.0 } }"),
        ("diffusion t=3", "{ diffusion = { t = 3 } }"),
        (
            "diffusion t=3 + balance",
            r#"{ diffusion = { t = 3 } }, "balance""#,
        ),
        (
            "salt year",
            r#"{ salt = { field = "date_of_birth", prefix = 4, missing = "unsalted" } }"#,
        ),
    ]
    .into_iter()
    .map(|(label, harden)| SweepSetting {
        label: label.into(),
        harden: harden.into(),
    })
    .collect()
}

/// Real-like data: a table in the FEBRL layout and the schema to encode it with.
#[derive(Debug, Clone)]
pub struct RealData {
    /// Label in the rows, e.g. the file name.
    pub label: String,
    /// The base schema, TOML.
    pub schema: String,
    /// The records (`rec_id` column: `rec-N-org`, `rec-N-dup-K`).
    pub table: Table,
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// The base schema of the synthetic population, TOML.
    pub schema: String,
    /// Records per synthetic party.
    pub records: u64,
    /// Seed of the population and of the secrets.
    pub seed: u64,
    /// Real-like data, if any.
    pub real: Option<RealData>,
    /// The settings.
    pub settings: Vec<SweepSetting>,
    /// Attacks run on each setting.
    pub attacks: Vec<AttackKind>,
    /// Attacker overlaps tried (each in `[0, 1]`).
    pub overlaps: Vec<f64>,
    /// Records of the graph attack's population (it compares all pairs).
    pub graph_records: u64,
    /// Attack settings.
    pub attack: AttackSettings,
}

/// One attack's success on one setting at one overlap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackCell {
    /// Which attack.
    pub attack: AttackKind,
    /// Share of people the attacker's list and the encodings have in common.
    pub overlap: f64,
    /// Records attacked.
    pub records: u64,
    /// Records re-identified correctly one-to-one.
    pub correct_1_1: u64,
    /// `correct_1_1 / records`.
    pub rate_1_1: f64,
}

/// One data set and setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// `synthetic` or the real data's label.
    pub data: String,
    /// The setting's label.
    pub setting: String,
    /// Its `harden` list body.
    pub harden: String,
    /// Bits per stored record.
    pub stored_bits: u32,
    /// Two-party F1 at the automatic threshold.
    pub two_party_f1: f64,
    /// The automatic threshold of the two-party run.
    pub two_party_threshold: f64,
    /// Deduplication F1 at the automatic threshold.
    pub dedup_f1: f64,
    /// The automatic threshold of the deduplication run.
    pub dedup_threshold: f64,
    /// Records encoded per second in the two-party run (both parties, this machine).
    pub encode_records_per_s: f64,
    /// Attack success, per attack and overlap.
    pub attacks: Vec<AttackCell>,
    /// The largest `rate_1_1` of `attacks` (0 when none ran).
    pub worst_rate_1_1: f64,
}

/// Inserts `harden = [list]` into the `[filter]` table of schema text (adding the table before
/// the first field if there is none). An empty list leaves the text as it is.
pub fn with_harden(schema: &str, list: &str) -> Result<Schema, AttackError> {
    if list.trim().is_empty() {
        return Ok(Schema::from_toml_str(schema)?);
    }
    if schema.lines().any(|l| l.trim_start().starts_with("harden")) {
        return Err(AttackError::Settings(
            "the base schema already has a `harden` list; give it unhardened".into(),
        ));
    }
    let line = format!("harden = [{list}]\n");
    let text = match schema.find("\n[filter]") {
        Some(at) => {
            let end = at + "\n[filter]".len();
            let nl = schema[end..]
                .find('\n')
                .map_or(schema.len(), |i| end + i + 1);
            format!("{}{line}{}", &schema[..nl], &schema[nl..])
        }
        None => {
            let at = schema.find("[[fields]]").ok_or_else(|| {
                AttackError::Settings("the base schema has no `[[fields]]`".into())
            })?;
            format!("{}[filter]\n{line}\n{}", &schema[..at], &schema[at..])
        }
    };
    Ok(Schema::from_toml_str(&text)?)
}

/// Runs the sweep; `on_row` receives each row as soon as it is known.
pub fn run(
    cfg: &SweepConfig,
    on_row: &mut dyn FnMut(&SweepRow),
) -> Result<Vec<SweepRow>, AttackError> {
    if cfg.overlaps.iter().any(|o| !(0.0..=1.0).contains(o)) {
        return Err(AttackError::Settings(
            "overlaps must be between 0 and 1".into(),
        ));
    }
    let secret = super::data::seeded_secret(cfg.seed, "sweep")?;
    let two = synth_tables(cfg, 2, 0.0)?;
    let one = synth_tables(cfg, 1, 0.2)?;
    let mut rows = Vec::new();
    for s in &cfg.settings {
        let schema = with_harden(&cfg.schema, &s.harden)?;
        let encoder = Encoder::new(&schema, &secret)?;
        let started = Instant::now();
        let a = encode(&schema, &encoder, &two.tables[0])?;
        let b = encode(&schema, &encoder, &two.tables[1])?;
        let rate = (a.0.ids.len() + b.0.ids.len()) as f64 / started.elapsed().as_secs_f64();
        let truth2 = cross_truth(&a.1, &b.1, &two.entities);
        let (two_party_threshold, two_party_f1) = link(vec![a.0.clone(), b.0], &truth2, true)?;
        let d = encode(&schema, &encoder, &one.tables[0])?;
        let truthd = dedup_truth(&d.1, &one.entities[0]);
        let (dedup_threshold, dedup_f1) = link(vec![d.0], &truthd, false)?;
        let mut attacks = Vec::new();
        for &kind in &cfg.attacks {
            for &overlap in &cfg.overlaps {
                let (records, fields) = match kind {
                    AttackKind::Graph => (
                        cfg.records.min(cfg.graph_records),
                        vec!["given_name".to_string(), "surname".to_string()],
                    ),
                    _ => (cfg.records, vec!["given_name".to_string()]),
                };
                let sim = Simulation {
                    records,
                    overlap,
                    corruption: CorruptionLevel::Low,
                    seed: cfg.seed,
                    fields,
                };
                let r = super::simulate(kind, &schema, &sim, &cfg.attack)?;
                attacks.push(AttackCell {
                    attack: kind,
                    overlap,
                    records: r.scores.per_record.total,
                    correct_1_1: r.scores.per_record.correct_1_1,
                    rate_1_1: r.scores.per_record.rate_1_1,
                });
            }
        }
        let row = finish(
            "synthetic",
            s,
            stored_bits(&a.0),
            (two_party_f1, two_party_threshold),
            (dedup_f1, dedup_threshold),
            rate,
            attacks,
        );
        on_row(&row);
        rows.push(row);
    }
    if let Some(real) = &cfg.real {
        for s in &cfg.settings {
            let row = real_row(cfg, real, s, &secret)?;
            on_row(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

fn finish(
    data: &str,
    s: &SweepSetting,
    stored_bits: u32,
    two: (f64, f64),
    dedup: (f64, f64),
    rate: f64,
    attacks: Vec<AttackCell>,
) -> SweepRow {
    SweepRow {
        data: data.into(),
        setting: s.label.clone(),
        harden: s.harden.clone(),
        stored_bits,
        two_party_f1: two.0,
        two_party_threshold: two.1,
        dedup_f1: dedup.0,
        dedup_threshold: dedup.1,
        encode_records_per_s: rate,
        worst_rate_1_1: attacks.iter().map(|c| c.rate_1_1).fold(0.0, f64::max),
        attacks,
    }
}

fn stored_bits(d: &ClkData) -> u32 {
    d.header.filter_bits * u32::from(d.header.filters_per_record)
}

/// Synthetic parties in memory with the entity of every row.
struct Synthetic {
    tables: Vec<Table>,
    entities: Vec<Vec<u64>>,
}

fn synth_tables(
    cfg: &SweepConfig,
    parties: usize,
    duplicates: f64,
) -> Result<Synthetic, AttackError> {
    let population = Population::new(SynthConfig {
        parties,
        duplicates,
        ..SynthConfig::new(cfg.records, cfg.seed)
    })?;
    let mut tables = Vec::new();
    let mut entities = Vec::new();
    for p in 0..parties {
        let mut buf = Vec::new();
        population
            .write_party(p, &mut buf)
            .map_err(|e| AttackError::Input(format!("synthetic party: {e}")))?;
        let t = Table::from_csv(buf.as_slice(), "synthetic party")?;
        entities.push(
            (0..t.rows.len() as u64)
                .map(|r| population.entity(p, r))
                .collect(),
        );
        tables.push(t);
    }
    Ok(Synthetic { tables, entities })
}

/// Encodes a table; returns the encodings and the table row (from 0) of each.
fn encode(
    schema: &Schema,
    encoder: &Encoder,
    t: &Table,
) -> Result<(ClkData, Vec<usize>), AttackError> {
    let batch = encode_records(
        JobEncoder::Pprl(schema, encoder),
        &t.header,
        &t.rows,
        &BatchOptions::default(),
    )?;
    let rows = batch.rows.iter().map(|&r| r as usize - 1).collect();
    Ok((batch.data, rows))
}

fn cross_truth(a: &[usize], b: &[usize], entities: &[Vec<u64>]) -> HashSet<(u32, u32)> {
    let of_b: HashMap<u64, u32> = b
        .iter()
        .enumerate()
        .map(|(i, &r)| (entities[1][r], i as u32))
        .collect();
    a.iter()
        .enumerate()
        .filter_map(|(i, &r)| Some((i as u32, *of_b.get(&entities[0][r])?)))
        .collect()
}

fn dedup_truth(rows: &[usize], entities: &[u64]) -> HashSet<(u32, u32)> {
    let mut by: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, &r) in rows.iter().enumerate() {
        by.entry(entities[r]).or_default().push(i as u32);
    }
    let mut out = HashSet::new();
    for ids in by.values() {
        for (x, &a) in ids.iter().enumerate() {
            for &b in &ids[x + 1..] {
                out.insert((a.min(b), a.max(b)));
            }
        }
    }
    out
}

/// Links the inputs at the automatic threshold (greedy one-to-one for two, every candidate
/// pair for one) and scores them: (threshold, F1).
fn link(
    inputs: Vec<ClkData>,
    truth: &HashSet<(u32, u32)>,
    one_to_one: bool,
) -> Result<(f64, f64), AttackError> {
    let opts = MatchOptions {
        threshold: Threshold::Auto(AutoOptions::default()),
        solver: if one_to_one {
            crate::linkage::solve::Solver::Greedy
        } else {
            crate::linkage::solve::Solver::None
        },
        ..MatchOptions::default()
    };
    let inputs = inputs
        .into_iter()
        .enumerate()
        .map(|(i, d)| MatchInput::new(["a", "b"][i.min(1)], d))
        .collect();
    let report = match_encodings(inputs, &opts, None, &|_| {})
        .map_err(|e| AttackError::Input(format!("matching: {e}")))?;
    let MatchResult::Pairs(links) = &report.result else {
        return Err(AttackError::Input("matching gave no pairs".into()));
    };
    let tp = links.iter().filter(|c| truth.contains(&(c.a, c.b))).count();
    let f1 = 2.0 * tp as f64 / (links.len() + truth.len()).max(1) as f64;
    Ok((report.threshold, f1))
}

/// The FEBRL entity of a `rec_id` (`rec-12-dup-0` -> `12`).
fn febrl_entity(id: &str) -> Option<u64> {
    id.split('-').nth(1)?.parse().ok()
}

fn real_row(
    cfg: &SweepConfig,
    real: &RealData,
    s: &SweepSetting,
    secret: &Secret,
) -> Result<SweepRow, AttackError> {
    let schema = with_harden(&real.schema, &s.harden)?;
    let encoder = Encoder::new(&schema, secret)?;
    let id_col = real.table.column(&schema.id_column, "real-like data")?;
    let entity = |row: &Vec<String>| febrl_entity(&row[id_col]);
    if real.table.rows.iter().any(|r| entity(r).is_none()) {
        return Err(AttackError::Input(format!(
            "{}: every `{}` must look like rec-N-org or rec-N-dup-K",
            real.label, schema.id_column
        )));
    }
    let part = |suffix: &str| Table {
        header: real.table.header.clone(),
        rows: real
            .table
            .rows
            .iter()
            .filter(|r| r[id_col].ends_with(suffix))
            .cloned()
            .collect(),
    };
    let (orgs, dups) = (part("-org"), part("-dup-0"));
    let started = Instant::now();
    let a = encode(&schema, &encoder, &orgs)?;
    let b = encode(&schema, &encoder, &dups)?;
    let rate = (a.0.ids.len() + b.0.ids.len()) as f64 / started.elapsed().as_secs_f64();
    let ents = |t: &Table| -> Vec<u64> { t.rows.iter().filter_map(entity).collect() };
    let truth2 = cross_truth(&a.1, &b.1, &[ents(&orgs), ents(&dups)]);
    let two = link(vec![a.0.clone(), b.0], &truth2, true)?;
    let all = encode(&schema, &encoder, &real.table)?;
    let truthd = dedup_truth(&all.1, &ents(&real.table));
    let dedup = link(vec![all.0.clone()], &truthd, false)?;
    let mut attacks = Vec::new();
    for &kind in &cfg.attacks {
        let fields: Vec<String> = match kind {
            AttackKind::Graph => vec!["given_name".into(), "surname".into()],
            _ => vec!["given_name".into()],
        };
        let encoded = super::encode_table(&schema, secret, &real.table, &fields)?;
        let data = super::prepare(
            &schema,
            encoded,
            &real.table,
            &fields,
            Some(secret),
            cfg.seed,
        )?;
        let r = super::run(kind, &data, &cfg.attack)?;
        attacks.push(AttackCell {
            attack: kind,
            overlap: 1.0,
            records: r.scores.per_record.total,
            correct_1_1: r.scores.per_record.correct_1_1,
            rate_1_1: r.scores.per_record.rate_1_1,
        });
    }
    Ok(finish(
        &real.label,
        s,
        stored_bits(&all.0),
        (two.1, two.0),
        (dedup.1, dedup.0),
        rate,
        attacks,
    ))
}
