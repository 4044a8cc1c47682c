//! Linkage at the trusted third party: which encodings refer to the same person.
//!
//! Encoding files in; candidate pairs (similarity above a threshold) out of [`candidates`];
//! one-to-one links or clusters out of [`solve`]; [`job`] runs the whole match and [`output`]
//! writes its result as CSV or Parquet.
//!
//! Records are referred to by their position in their file (`u32`, 0-based) and, with several
//! files, by the file's position among the inputs (its *party*). Only at the very end are
//! positions turned back into the departments' record ids.

pub mod bench;
pub mod blocking;
pub mod candidates;
pub mod job;
pub mod output;
pub mod solve;
pub mod threshold;

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
