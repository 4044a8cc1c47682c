//! Linkage at the trusted third party: which encodings refer to the same person.
//!
//! Encodings in; candidate pairs (similarity above a threshold) out of [`candidates`] (or
//! [`blocking`]); one-to-one links or clusters out of [`solve`]. [`match_encodings`] runs the
//! whole match over encodings in memory, with a fixed or automatic ([`threshold`]) threshold,
//! and returns a [`MatchReport`]; [`job`] is its file edge (every file read once, any encoding
//! format) and [`output`] writes the result as CSV or Parquet.
//!
//! Records are referred to by their position in their file (`u32`, 0-based) and, with several
//! files, by the file's position among the inputs (its *party*). Only at the very end are
//! positions turned back into the departments' record ids.

pub mod bench;
pub mod blocking;
pub mod candidates;
mod error;
pub mod fs;
pub mod job;
mod matcher;
mod options;
pub mod output;
mod report;
pub mod solve;
pub mod threshold;

pub use self::error::{MatchError, MatchErrorKind, Mismatch, MismatchWhat};
pub use self::matcher::{CandidateSink, MatchInput, check_compatible, match_encodings};
pub use self::options::{MatchOptions, Threshold};
pub use self::report::{MatchReport, MatchResult, MatchSummary, MatchWarning, MatchWarningKind};

/// A scored pair of records from two parties (or two records of one file, for deduplication).
///
/// `score` is the similarity (Dice by default) in `0..=1`. Ordering for solvers is always
/// "higher score first, then lower `a`, then lower `b`", so results never depend on the order
/// in which candidates were found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index of the record in the first file (or the lower index, for deduplication).
    pub a: u32,
    /// Index of the record in the second file (or the higher index, for deduplication).
    pub b: u32,
    /// Similarity.
    pub score: f64,
}

impl Candidate {
    /// The solver order: descending score, then ascending `a`, then ascending `b`.
    pub fn solver_order(x: &Candidate, y: &Candidate) -> std::cmp::Ordering {
        y.score
            .total_cmp(&x.score)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    }

    /// Sorts candidates by `(a, b)`, the order every candidate search returns. A radix sort
    /// (stable, reading only the bytes of `a` and `b` that differ between candidates): at low
    /// thresholds the dense encodings of real data give millions of candidates, and a
    /// comparison sort of them cost as much as scoring all the pairs (39% of the CPU time at
    /// Dice 0.75 on the FEBRL CLKs of docs/benchmarks.md).
    pub fn sort_by_pair(candidates: &mut [Candidate]) {
        radsort::sort_by_key(candidates, |c| u64::from(c.a) << 32 | u64::from(c.b));
    }

    /// The candidates of several parts in one vector, sorted by `(a, b)`
    /// ([`Candidate::sort_by_pair`]).
    pub(crate) fn joined_by_pair(parts: Vec<Vec<Candidate>>) -> Vec<Candidate> {
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            all.extend_from_slice(&part);
        }
        Candidate::sort_by_pair(&mut all);
        all
    }
}

/// A record of one party in multi-party linkage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordRef {
    /// The party (index of its file among the inputs).
    pub party: u16,
    /// The record's position in that file.
    pub index: u32,
}

/// A scored pair between records of two different parties (multi-party linkage).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartyCandidate {
    /// One record (the one with the lower `(party, index)`).
    pub a: RecordRef,
    /// The other record.
    pub b: RecordRef,
    /// Similarity.
    pub score: f64,
}
