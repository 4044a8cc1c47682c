//! What can go wrong generating synthetic data: [`SynthError`] and its kinds.

use std::io;

use super::MAX_PARTIES;
#[cfg(doc)]
use super::MAX_RECORDS;

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
