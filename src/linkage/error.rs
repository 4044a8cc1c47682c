//! What stops a match: [`MatchError`] with its kind ([`MatchErrorKind`]), and [`Mismatch`],
//! why two inputs cannot be compared.
//!
//! Messages say what is wrong in the library's words; front ends add their own hints by
//! [`MatchError::kind`] (the CLI names its flags there).

use crate::io::ClkError;
use crate::io::formats::ReadError;

crate::error_kinds! {
    /// What went wrong in a match.
    pub enum MatchErrorKind {
        /// A `.clk` file could not be read or failed verification.
        Clk => "match-clk",
        /// A clkhash JSON or anonlink binary file could not be read.
        Foreign => "match-foreign",
        /// The inputs were encoded with different secrets.
        KeyMismatch => "match-key-mismatch",
        /// The inputs' filters have different layouts.
        LayoutMismatch => "match-layout-mismatch",
        /// The inputs' filters have different lengths.
        LengthMismatch => "match-length-mismatch",
        /// The inputs were encoded under different schemas (and that was not allowed).
        SchemaMismatch => "match-schema-mismatch",
        /// No inputs were given.
        NoInputs => "match-no-inputs",
        /// The fixed threshold is outside `0..=1`.
        BadThreshold => "match-bad-threshold",
        /// `top_k` is zero.
        BadTopK => "match-bad-top-k",
        /// The inputs carry different numbers of blocking keys.
        BlockKeyCount => "match-block-key-count",
        /// The inputs' schemas declare different blocking keys.
        BlockingSchemaMismatch => "match-blocking-schema-mismatch",
        /// Blocking on keys was asked for, but the inputs carry none.
        NoBlockingKeys => "match-no-blocking-keys",
        /// The LSH parameters are inconsistent.
        BadLsh => "match-bad-lsh",
        /// Too few records scored to choose a threshold automatically.
        TooFewScores => "match-too-few-scores",
        /// The scores show no match group separable from the non-matches, and no fallback
        /// threshold was given.
        NoMatchMode => "match-no-match-mode",
        /// The same input was given twice.
        SameInput => "match-same-input",
        /// A candidate sink was given for other than two inputs.
        SinkInputs => "match-sink-inputs",
        /// The result was already written to a sink while it was found.
        AlreadyWritten => "match-already-written",
        /// This build cannot write the requested output format.
        FormatUnavailable => "match-format-unavailable",
        /// The output could not be written.
        Output => "match-output",
        /// Probabilistic (Fellegi-Sunter) linkage could not run.
        Probabilistic => "match-probabilistic",
    }
}

/// A matching problem that stops the job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// A file could not be read or failed verification.
    #[error(transparent)]
    Clk(#[from] ClkError),
    /// A clkhash JSON or anonlink binary file could not be read.
    #[error(transparent)]
    Foreign(#[from] ReadError),
    /// Two inputs cannot be compared.
    #[error("{0}")]
    Mismatch(Box<Mismatch>),
    /// No inputs.
    #[error("no encodings to match: give at least one input")]
    NoInputs,
    /// The fixed threshold is outside `0..=1`.
    #[error("the threshold must be between 0 and 1, found {0}")]
    BadThreshold(f64),
    /// `top_k` is zero.
    #[error("top_k must be at least 1")]
    BadTopK,
    /// The inputs carry different numbers of blocking keys.
    #[error("the files carry different numbers of blocking keys ({first} vs {second})")]
    BlockKeyCount {
        /// Keys of the first input.
        first: u16,
        /// Keys of the other.
        second: u16,
    },
    /// The inputs' schemas declare different blocking keys.
    #[error(
        "the files' schemas declare different blocking keys, so their block ids cannot be \
         compared; block with LSH instead, or encode both with one schema"
    )]
    BlockingSchemaMismatch,
    /// Keyed blocking was asked for, but the inputs carry no blocking keys.
    #[error(
        "blocking on keys, but the files carry no blocking keys: declare `[[blocking]]` keys \
         in the schema and encode again, or block with LSH"
    )]
    NoBlockingKeys,
    /// The LSH parameters are inconsistent.
    #[error("LSH needs 1 <= lambda <= tables")]
    BadLsh,
    /// No threshold could be chosen from the scores.
    #[error(
        "only {scored} records have a similarity of at least {floor} to another record: too \
         few to choose a threshold from (at least {needed} are needed)"
    )]
    TooFewScores {
        /// Records with a score at or above the floor.
        scored: usize,
        /// The floor.
        floor: f64,
        /// Records needed.
        needed: usize,
    },
    /// The automatic threshold found no match group it could separate from the non-matches.
    #[error(
        "the similarity scores show no group of matches separable from the non-matches \
         ({reason}), so no threshold can be chosen from them"
    )]
    NoMatchMode {
        /// Why, in words.
        reason: String,
    },
    /// The same file (or input) was given twice.
    #[error(
        "{first} and {second} are the same input: matching a file with itself finds every \
         record as its own perfect match; one file deduplicates (give it once)"
    )]
    SameInput {
        /// The first mention.
        first: String,
        /// The second.
        second: String,
    },
    /// A candidate sink takes the links of exactly two inputs.
    #[error("a candidate sink takes the links of two inputs, not of {0}")]
    SinkInputs(usize),
    /// The result went to a sink while it was found, so it cannot be written again.
    #[error("this result was written to its output while it was found")]
    AlreadyWritten,
    /// This build cannot write the format.
    #[error(
        "cannot write {path} as {format}: this pprl was built without Parquet support; \
         rebuild it with the cargo feature `polars`, or write CSV"
    )]
    FormatUnavailable {
        /// The file.
        path: String,
        /// The format's name.
        format: &'static str,
    },
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Probabilistic linkage could not run (its own kind says why).
    #[error(transparent)]
    Probabilistic(#[from] crate::linkage::fs::FsError),
}

impl MatchError {
    /// The error's kind.
    pub fn kind(&self) -> MatchErrorKind {
        use MatchErrorKind as K;
        match self {
            MatchError::Clk(_) => K::Clk,
            MatchError::Foreign(_) => K::Foreign,
            MatchError::Mismatch(m) => m.kind(),
            MatchError::NoInputs => K::NoInputs,
            MatchError::BadThreshold(_) => K::BadThreshold,
            MatchError::BadTopK => K::BadTopK,
            MatchError::BlockKeyCount { .. } => K::BlockKeyCount,
            MatchError::BlockingSchemaMismatch => K::BlockingSchemaMismatch,
            MatchError::NoBlockingKeys => K::NoBlockingKeys,
            MatchError::BadLsh => K::BadLsh,
            MatchError::TooFewScores { .. } => K::TooFewScores,
            MatchError::NoMatchMode { .. } => K::NoMatchMode,
            MatchError::SameInput { .. } => K::SameInput,
            MatchError::SinkInputs(_) => K::SinkInputs,
            MatchError::AlreadyWritten => K::AlreadyWritten,
            MatchError::FormatUnavailable { .. } => K::FormatUnavailable,
            MatchError::Output { .. } => K::Output,
            MatchError::Probabilistic(_) => K::Probabilistic,
        }
    }
}

impl crate::error::Coded for MatchError {
    /// The kind's code; for probabilistic linkage, the model's own (`fs-...`).
    fn code(&self) -> &'static str {
        match self {
            MatchError::Probabilistic(e) => e.kind().code(),
            e => e.kind().code(),
        }
    }
}

/// What differs between two inputs that cannot be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MismatchWhat {
    /// Key fingerprints: different secrets.
    Key,
    /// Filter layouts.
    Layout,
    /// Filter lengths.
    Length,
    /// Schema fingerprints.
    Schema,
}

impl MismatchWhat {
    /// The words a message uses: `key fingerprints`, `filter layouts`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            MismatchWhat::Key => "key fingerprints",
            MismatchWhat::Layout => "filter layouts",
            MismatchWhat::Length => "filter lengths",
            MismatchWhat::Schema => "schema fingerprints",
        }
    }

    /// What it means and what to do.
    fn why(self) -> &'static str {
        match self {
            MismatchWhat::Key => {
                "they were encoded with different secrets and cannot be linked; ask the \
                 departments to encode with the project's one shared secret"
            }
            MismatchWhat::Layout => "filters of different layouts cannot be compared",
            MismatchWhat::Length => "filters of different lengths cannot be compared",
            MismatchWhat::Schema => {
                "they were encoded under different schemas, whose bits are not comparable; \
                 re-encode with one schema (schema mismatches are allowed only on request, \
                 never key, layout or length mismatches)"
            }
        }
    }
}

/// Why two inputs cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{first} and {second} have different {} ({a} vs {b}): {}", what.as_str(), what.why())]
pub struct Mismatch {
    /// The first input's label.
    pub first: String,
    /// The other input's label.
    pub second: String,
    /// What differs.
    pub what: MismatchWhat,
    /// The first input's value.
    pub a: String,
    /// The other input's value.
    pub b: String,
}

impl Mismatch {
    /// The kind of the error it makes.
    pub fn kind(&self) -> MatchErrorKind {
        match self.what {
            MismatchWhat::Key => MatchErrorKind::KeyMismatch,
            MismatchWhat::Layout => MatchErrorKind::LayoutMismatch,
            MismatchWhat::Length => MatchErrorKind::LengthMismatch,
            MismatchWhat::Schema => MatchErrorKind::SchemaMismatch,
        }
    }
}
