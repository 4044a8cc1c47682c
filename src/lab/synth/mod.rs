//! Synthetic populations with ground truth: parties' exports of the same people, corrupted the
//! way real records are, and the file saying which records are the same person.
//!
//! Linkage quality can only be measured where the truth is known, and real data with a known
//! truth cannot be shared. This module makes as much realistic data as an experiment needs:
//! UK-like people (names with a realistic frequency skew that follows the birth cohort, sex,
//! dates of birth shaped like the UK's age pyramid, addresses whose postcodes belong to their
//! town), copied into several parties' exports, each copy corrupted independently by a model
//! of the errors seen in administrative data ([`CorruptionProfile`]).
//!
//! # Brief overview
//!
//! * [`SynthConfig`] says how many records, parties, how much overlap, how many duplicates,
//!   which corruption and which seed.
//! * [`Population::new`] checks it and lays the population out; nothing is generated yet.
//! * [`Population::write_party`] streams one party's CSV export to any writer, and
//!   [`Population::write_truth`] the truth; [`Population::write_dir`] writes them all into a
//!   directory (`party_a.csv`, `party_b.csv`, ..., `truth.csv`), atomically.
//!
//! # Why it is built this way
//!
//! Every value is a pure function of the seed and of what it is (which person, which party's
//! copy, which corruption operator), computed by a counter-based generator. Nothing about the
//! population is held in memory: a party's rows are generated in chunks on every core and
//! written in order, so any size streams in constant memory and the bytes are the same for any
//! number of threads. Rows are shuffled by a keyed permutation, so a record's position and id
//! say nothing about who it is or whether it is shared.
//!
//! The layout of people across parties, the truth formats and the corruption model are
//! described in `docs/synth.md`.
//!
//! # Example
//!
//! ```
//! use pprl::lab::synth::{CorruptionLevel, Population, SynthConfig};
//!
//! let config = SynthConfig {
//!     parties: 2,
//!     overlap: 0.8,
//!     corruption: CorruptionLevel::High.profile(),
//!     ..SynthConfig::new(1_000, 42)
//! };
//! let population = Population::new(config).unwrap();
//! let mut party_b = Vec::new();
//! population.write_party(1, &mut party_b).unwrap();
//! let text = String::from_utf8(party_b).unwrap();
//! assert!(text.starts_with("record_id,given_name,surname,date_of_birth,sex,postcode,address\n"));
//! assert_eq!(text.lines().count(), 1 + 1_000);
//! ```

mod corrupt;
mod error;
mod person;
mod rng;
mod tables;
mod write;

use std::path::PathBuf;
use std::time::Duration;

pub use self::corrupt::{
    AddressRates, CorruptionLevel, CorruptionProfile, DateRates, GivenNameRates, PostcodeRates,
    SexRates, SurnameRates,
};
pub use self::error::{SynthError, SynthErrorKind};
use self::person::{Date, Person, Sex, Values};
use self::rng::{Permutation, Rng, key};
use self::write::party_letter;
use crate::io::AtomicFile;

/// The header of every party file: the columns of `examples/person.toml`.
pub const PARTY_HEADER: &str = "record_id,given_name,surname,date_of_birth,sex,postcode,address";

/// The most parties: one file per letter, `party_a.csv` to `party_z.csv`.
pub const MAX_PARTIES: usize = 26;

/// The most records per party (2^40), which keeps every person's number within 64 bits.
pub const MAX_RECORDS: u64 = 1 << 40;

/// Rows generated together on one thread before being written in order.
const CHUNK_ROWS: u64 = 4096;

/// Stream labels for [`key`].
const ROWS_STREAM: u64 = 0x524f_5753; // "ROWS"
const COPY_STREAM: u64 = 0x434f_5059; // "COPY"
const DUPLICATE_STREAM: u64 = 0x0044_5550; // "DUP"

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthConfig {
    /// Records in each party's file, duplicates included (1 to [`MAX_RECORDS`]).
    pub records: u64,
    /// Number of parties (files), 1 to [`MAX_PARTIES`]; one party is the deduplication case.
    pub parties: usize,
    /// Fraction of each party's distinct people who also appear in another party, in
    /// `[0, 1]`; ignored with one party. With three or more parties, about half of them appear
    /// in every party and the others in one neighbouring party each (see `docs/synth.md`).
    pub overlap: f64,
    /// Fraction of each party's records that are extra, independently corrupted copies of
    /// another record of the same party, in `[0, 1)`.
    pub duplicates: f64,
    /// The corruption model's rates.
    pub corruption: CorruptionProfile,
    /// The seed: the same seed and settings give the same files, byte for byte.
    pub seed: u64,
}

impl SynthConfig {
    /// Two parties of `records` each, half of their people in common, no duplicates, moderate
    /// corruption.
    pub fn new(records: u64, seed: u64) -> SynthConfig {
        SynthConfig {
            records,
            parties: 2,
            overlap: 0.5,
            duplicates: 0.0,
            corruption: CorruptionProfile::moderate(),
            seed,
        }
    }
}

/// How `truth.csv` describes who is who.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruthFormat {
    /// `a_id,b_id`: one row per person in both files (two parties without duplicates; the
    /// format of `testdata/sample/truth.csv`).
    Pairs,
    /// `entity_id,party,record_id`: one row per record, in party then row order; records with
    /// the same `entity_id` are the same person. `party` counts from 0 in file order, as the
    /// clusters of `pprl match` do.
    Entities,
}

/// How the people are spread over the parties' slots (see `docs/synth.md`).
///
/// Each party has `records` slots: the first `distinct` hold distinct people, the rest
/// duplicates of them. Of the distinct slots the first `shared` hold people in other parties
/// too: `all` slots for people in every party, then `pair` slots shared with the next party
/// (in a ring) and `pair` slots shared with the previous one. Rows are a keyed shuffle of the
/// slots.
#[derive(Debug, Clone, Copy)]
struct Layout {
    parties: u64,
    distinct: u64,
    shared: u64,
    all: u64,
    pair: u64,
}

impl Layout {
    fn new(config: &SynthConfig) -> Layout {
        let n = config.records;
        let dups = ((config.duplicates * n as f64).round() as u64).min(n - 1);
        let distinct = n - dups;
        let parties = config.parties as u64;
        let shared = if parties == 1 {
            0
        } else {
            ((config.overlap * distinct as f64).round() as u64).min(distinct)
        };
        // With two parties every shared person is in both; with more, a quarter of each
        // party's shared slots pair it with each ring neighbour and the rest are in every party.
        let pair = if parties >= 3 { shared / 4 } else { 0 };
        Layout {
            parties,
            distinct,
            shared,
            all: shared - 2 * pair,
            pair,
        }
    }

    /// The person in distinct slot `slot` of party `p`.
    fn entity(&self, p: u64, slot: u64) -> u64 {
        let Layout {
            parties: np,
            distinct,
            shared,
            all,
            pair,
        } = *self;
        if slot < all {
            slot
        } else if slot < all + pair {
            all + p * pair + (slot - all)
        } else if slot < shared {
            all + ((p + np - 1) % np) * pair + (slot - all - pair)
        } else {
            all + np * pair + p * (distinct - shared) + (slot - shared)
        }
    }
}

/// A laid-out synthetic population: cheap to build, generated only as it is written.
#[derive(Debug, Clone)]
pub struct Population {
    config: SynthConfig,
    layout: Layout,
    rows: Vec<Permutation>,
    id_width: usize,
}

/// One party file that [`Population::write_dir`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartyFile {
    /// Where.
    pub path: PathBuf,
    /// Data rows written.
    pub records: u64,
}

/// What [`Population::write_dir`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthSummary {
    /// The party files, in party order.
    pub parties: Vec<PartyFile>,
    /// The truth file.
    pub truth: PathBuf,
    /// Its format.
    pub truth_format: TruthFormat,
    /// Its data rows.
    pub truth_rows: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Worker threads used.
    pub threads: usize,
}

impl Population {
    /// Checks `config` and lays the population out.
    pub fn new(config: SynthConfig) -> Result<Population, SynthError> {
        if !(1..=MAX_RECORDS).contains(&config.records) {
            return Err(SynthError::Records {
                found: config.records,
                max: MAX_RECORDS,
            });
        }
        if !(1..=MAX_PARTIES).contains(&config.parties) {
            return Err(SynthError::Parties {
                found: config.parties,
            });
        }
        if !(0.0..=1.0).contains(&config.overlap) {
            return Err(SynthError::Overlap {
                found: config.overlap,
            });
        }
        if !(0.0..1.0).contains(&config.duplicates) {
            return Err(SynthError::Duplicates {
                found: config.duplicates,
            });
        }
        config.corruption.validate()?;
        let rows = (0..config.parties as u64)
            .map(|p| Permutation::new(config.records, key(&[config.seed, ROWS_STREAM, p])))
            .collect();
        Ok(Population {
            config,
            layout: Layout::new(&config),
            rows,
            id_width: config.records.to_string().len().max(6),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// How many of each party's distinct people also appear in another party:
    /// `round(overlap x distinct)`, where distinct = records - duplicates.
    pub fn shared_per_party(&self) -> u64 {
        self.layout.shared
    }

    /// How many records of each party are extra copies of another of its records.
    pub fn duplicates_per_party(&self) -> u64 {
        self.config.records - self.layout.distinct
    }

    /// The file name of party `party` (from 0): `party_a.csv`, `party_b.csv`, ...
    pub fn party_file_name(party: usize) -> String {
        format!("party_{}.csv", party_letter(party))
    }

    /// The id of row `row` (from 0) of party `party`: `a-000001` for the first row of the
    /// first party. Ids are opaque: row order is a shuffle, so they reveal nothing.
    pub fn record_id(&self, party: usize, row: u64) -> String {
        let mut buf = Vec::new();
        self.push_id(party, row, &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// The person behind row `row` of party `party`: rows with the same entity are the same
    /// person (the `entity_id` of the truth file).
    ///
    /// # Panics
    ///
    /// If `party` is not below the configured number of parties.
    pub fn entity(&self, party: usize, row: u64) -> u64 {
        let p = party as u64;
        let slot = self.rows[party].apply(row);
        self.layout.entity(p, self.distinct_slot(p, slot))
    }

    /// How the truth file describes the population.
    pub fn truth_format(&self) -> TruthFormat {
        if self.config.parties == 2 && self.duplicates_per_party() == 0 {
            TruthFormat::Pairs
        } else {
            TruthFormat::Entities
        }
    }
}

#[cfg(test)]
mod tests;
