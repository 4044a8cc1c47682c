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
mod person;
mod rng;
mod tables;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

pub use self::corrupt::{
    AddressRates, CorruptionLevel, CorruptionProfile, DateRates, GivenNameRates, PostcodeRates,
    SexRates, SurnameRates,
};
use self::person::{Date, Person, Sex, Values};
use self::rng::{Permutation, Rng, key};
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

/// A configuration that cannot be generated, or an output that cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// The number of records is out of range.
    #[error("the number of records per party must be between 1 and {max}, found {found}")]
    Records {
        /// The number given.
        found: u64,
        /// [`MAX_RECORDS`].
        max: u64,
    },
    /// The number of parties is out of range.
    #[error(
        "the number of parties must be between 1 and {MAX_PARTIES} (one file per letter), \
         found {found}"
    )]
    Parties {
        /// The number given.
        found: usize,
    },
    /// The overlap is not a fraction.
    #[error("the overlap must be a fraction between 0 and 1, found {found}")]
    Overlap {
        /// The value given.
        found: f64,
    },
    /// The duplicate fraction is not in `[0, 1)`.
    #[error(
        "the duplicate fraction must be at least 0 and below 1 (some records must be \
         originals), found {found}"
    )]
    Duplicates {
        /// The value given.
        found: f64,
    },
    /// A corruption rate is not a probability.
    #[error("corruption rate `{name}` must be a probability between 0 and 1, found {value}")]
    Rate {
        /// The rate's name, e.g. `given_name.typo`.
        name: String,
        /// The value given.
        value: f64,
    },
    /// No corruption rate has this name.
    #[error("there is no corruption rate `{name}`; the rates are: {known}")]
    UnknownRate {
        /// The name given.
        name: String,
        /// Every rate's name, comma separated.
        known: String,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The worker threads could not be started.
    #[error("cannot start {threads} threads: {message}")]
    Threads {
        /// How many were asked for.
        threads: usize,
        /// Why not.
        message: String,
    },
}

crate::error_kinds! {
    /// What kind of problem a [`SynthError`] is.
    pub enum SynthErrorKind {
        /// The number of records is out of range.
        Records => "synth-records",
        /// The number of parties is out of range.
        Parties => "synth-parties",
        /// The overlap is not a fraction.
        Overlap => "synth-overlap",
        /// The duplicate fraction is not in `[0, 1)`.
        Duplicates => "synth-duplicates",
        /// A corruption rate is not a probability.
        Rate => "synth-rate",
        /// No corruption rate has the name given.
        UnknownRate => "synth-unknown-rate",
        /// An output could not be written.
        Output => "synth-output",
        /// The worker threads could not be started.
        Threads => "synth-threads",
    }
}

impl SynthError {
    /// The error's kind.
    pub fn kind(&self) -> SynthErrorKind {
        match self {
            SynthError::Records { .. } => SynthErrorKind::Records,
            SynthError::Parties { .. } => SynthErrorKind::Parties,
            SynthError::Overlap { .. } => SynthErrorKind::Overlap,
            SynthError::Duplicates { .. } => SynthErrorKind::Duplicates,
            SynthError::Rate { .. } => SynthErrorKind::Rate,
            SynthError::UnknownRate { .. } => SynthErrorKind::UnknownRate,
            SynthError::Output { .. } => SynthErrorKind::Output,
            SynthError::Threads { .. } => SynthErrorKind::Threads,
        }
    }

    /// The file that could not be written, for [`SynthErrorKind::Output`].
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            SynthError::Output { path, .. } => Some(crate::error::Position::file(path.clone())),
            _ => None,
        }
    }
}

impl crate::error::Coded for SynthError {
    fn code(&self) -> &'static str {
        self.kind().code()
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

    /// Writes party `party`'s export as CSV (header included) and returns the number of data
    /// rows. Generation runs on the current rayon pool; the bytes do not depend on its size.
    ///
    /// # Panics
    ///
    /// If `party` is not below the configured number of parties.
    pub fn write_party(&self, party: usize, out: &mut dyn Write) -> io::Result<u64> {
        assert!(party < self.config.parties, "no party {party}");
        writeln!(out, "{PARTY_HEADER}")?;
        self.write_chunked(out, self.config.records, |row, values, buf| {
            self.push_row(party, row, values, buf);
        })?;
        Ok(self.config.records)
    }

    /// Writes the truth in [`Population::truth_format`] and returns the number of data rows.
    pub fn write_truth(&self, out: &mut dyn Write) -> io::Result<u64> {
        match self.truth_format() {
            TruthFormat::Pairs => {
                writeln!(out, "a_id,b_id")?;
                self.write_chunked(out, self.config.records, |row, _, buf| {
                    let slot = self.rows[0].apply(row);
                    if slot < self.layout.shared {
                        // Two parties: shared slot j of one is shared slot j of the other.
                        let b_row = self.rows[1].invert(slot);
                        self.push_id(0, row, buf);
                        buf.push(b',');
                        self.push_id(1, b_row, buf);
                        buf.push(b'\n');
                    }
                })?;
                Ok(self.layout.shared)
            }
            TruthFormat::Entities => {
                writeln!(out, "entity_id,party,record_id")?;
                for party in 0..self.config.parties {
                    self.write_chunked(out, self.config.records, |row, _, buf| {
                        push_uint(buf, self.entity(party, row));
                        buf.push(b',');
                        push_uint(buf, party as u64);
                        buf.push(b',');
                        self.push_id(party, row, buf);
                        buf.push(b'\n');
                    })?;
                }
                Ok(self.config.records * self.config.parties as u64)
            }
        }
    }

    /// Writes every party's file and `truth.csv` into `dir` (created if needed) on `threads`
    /// threads (default: one per core). Files appear only once all of them are complete.
    pub fn write_dir(
        &self,
        dir: &Path,
        threads: Option<usize>,
    ) -> Result<SynthSummary, SynthError> {
        let start = Instant::now();
        let output = |path: &Path| {
            let path = path.display().to_string();
            move |source| SynthError::Output { path, source }
        };
        std::fs::create_dir_all(dir).map_err(output(dir))?;
        let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| SynthError::Threads {
                threads,
                message: e.to_string(),
            })?;
        let mut files = Vec::new();
        let mut parties = Vec::new();
        for party in 0..self.config.parties {
            let path = dir.join(Population::party_file_name(party));
            let mut file = AtomicFile::create(&path).map_err(output(&path))?;
            let records = pool
                .install(|| self.write_party(party, &mut file))
                .map_err(output(&path))?;
            files.push(file);
            parties.push(PartyFile { path, records });
        }
        let truth = dir.join("truth.csv");
        let mut file = AtomicFile::create(&truth).map_err(output(&truth))?;
        let truth_rows = pool
            .install(|| self.write_truth(&mut file))
            .map_err(output(&truth))?;
        files.push(file);
        for file in files {
            let path = file.path().to_path_buf();
            file.commit().map_err(output(&path))?;
        }
        Ok(SynthSummary {
            parties,
            truth,
            truth_format: self.truth_format(),
            truth_rows,
            elapsed: start.elapsed(),
            threads,
        })
    }

    /// The distinct slot whose person fills `slot` of party `p` (itself, or for a duplicate
    /// the slot it copies).
    fn distinct_slot(&self, p: u64, slot: u64) -> u64 {
        if slot < self.layout.distinct {
            slot
        } else {
            Rng::new(key(&[self.config.seed, DUPLICATE_STREAM, p, slot]))
                .below(self.layout.distinct)
        }
    }

    /// Generates rows `0..n` in chunks on the current pool, writing them in order.
    fn write_chunked(
        &self,
        out: &mut dyn Write,
        n: u64,
        row: impl Fn(u64, &mut Values, &mut Vec<u8>) + Sync,
    ) -> io::Result<()> {
        let chunks = n.div_ceil(CHUNK_ROWS);
        // A few chunks per thread in flight: enough to balance, little enough to keep memory
        // constant.
        let batch = 4 * rayon::current_num_threads() as u64;
        let mut first = 0;
        while first < chunks {
            let last = (first + batch).min(chunks);
            let buffers: Vec<Vec<u8>> = (first..last)
                .into_par_iter()
                .map_init(Values::default, |values, c| {
                    let mut buf = Vec::with_capacity(CHUNK_ROWS as usize * 80);
                    for r in c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n) {
                        row(r, values, &mut buf);
                    }
                    buf
                })
                .collect();
            for buf in &buffers {
                out.write_all(buf)?;
            }
            first = last;
        }
        Ok(())
    }

    /// Appends row `row` of party `party` as a CSV line.
    fn push_row(&self, party: usize, row: u64, v: &mut Values, buf: &mut Vec<u8>) {
        let p = party as u64;
        let slot = self.rows[party].apply(row);
        let source = self.distinct_slot(p, slot);
        let mut person = Person::generate(self.config.seed, self.layout.entity(p, source));
        // The first party's distinct records are the truth; every other record is a copy
        // corrupted on its own.
        let clean = party == 0 && slot < self.layout.distinct;
        if clean {
            v.fill(&person, false);
        } else {
            let copy = key(&[self.config.seed, COPY_STREAM, p, slot]);
            let abbreviate = corrupt::apply_to_person(&mut person, &self.config.corruption, copy);
            v.fill(&person, abbreviate);
            corrupt::apply_to_values(v, &self.config.corruption, copy);
        }
        self.push_id(party, row, buf);
        for text in [&v.given_name, &v.surname] {
            buf.push(b',');
            push_field(buf, text);
        }
        buf.push(b',');
        if let Some(d) = v.date_of_birth {
            push_date(buf, d, party % 2 == 1);
        }
        buf.push(b',');
        buf.push(match v.sex {
            Some(Sex::Female) => b'F',
            Some(Sex::Male) => b'M',
            None => b'U',
        });
        for text in [&v.postcode, &v.address] {
            buf.push(b',');
            push_field(buf, text);
        }
        buf.push(b'\n');
    }

    fn push_id(&self, party: usize, row: u64, buf: &mut Vec<u8>) {
        buf.push(party_letter(party) as u8);
        buf.push(b'-');
        let digits = (row + 1).checked_ilog10().unwrap_or(0) as usize + 1;
        buf.extend(std::iter::repeat_n(
            b'0',
            self.id_width.saturating_sub(digits),
        ));
        push_uint(buf, row + 1);
    }
}

fn party_letter(party: usize) -> char {
    char::from(b'a' + party as u8)
}

fn push_uint(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn push_two(buf: &mut Vec<u8>, n: u8) {
    buf.extend_from_slice(&[b'0' + n / 10, b'0' + n % 10]);
}

/// `dd/mm/yyyy`, or `yyyy-mm-dd` if `iso`: parties alternate, as departments' exports differ.
fn push_date(buf: &mut Vec<u8>, d: Date, iso: bool) {
    let year = d.year.clamp(0, 9999) as u16;
    let (century, yy) = ((year / 100) as u8, (year % 100) as u8);
    if iso {
        push_two(buf, century);
        push_two(buf, yy);
        buf.push(b'-');
        push_two(buf, d.month);
        buf.push(b'-');
        push_two(buf, d.day);
    } else {
        push_two(buf, d.day);
        buf.push(b'/');
        push_two(buf, d.month);
        buf.push(b'/');
        push_two(buf, century);
        push_two(buf, yy);
    }
}

/// A CSV field, quoted if it holds a delimiter, quote or line break.
fn push_field(buf: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        buf.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests;
