//! What can go wrong while evaluating: unreadable or malformed link files, inputs that do not
//! describe the same linkage, charts that cannot be written.

use crate::error::Position;

crate::error_kinds! {
    /// What kind of evaluation problem an [`EvalError`] is.
    pub enum EvalErrorKind {
        /// A file could not be opened or read.
        Io => "eval-io",
        /// A CSV file is malformed.
        Csv => "eval-csv",
        /// A header names no known layout.
        Header => "eval-header",
        /// A row has a bad value.
        Row => "eval-row",
        /// The scores file is not `a_id,b_id,score`.
        ScoresLayout => "eval-scores-layout",
        /// A scores file was given for a linkage other than two files.
        ScoresNeedTwoFiles => "eval-scores-two-files",
        /// The truth describes other files than the match output.
        TruthParties => "eval-truth-parties",
        /// The input sizes do not fit the linkage.
        RecordSizes => "eval-record-sizes",
        /// A chart or output could not be written.
        Output => "eval-output",
        /// Too little or degenerate data.
        Data => "eval-data",
        /// Reading or matching encoding files failed.
        Match => "eval-match",
    }
}

/// An evaluation problem that stops the run. Messages name the file and, for a bad row, its
/// line and field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The CSV itself is malformed (unequal row lengths, invalid UTF-8, ...).
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// The parser's error, which gives the position.
        source: csv::Error,
    },
    /// The header names no layout this reader knows.
    #[error(
        "{path}: its header (not shown) is not a links file; expected `a_id,b_id` (optionally with \
         `score`), `cluster,id`, `cluster,party,id` or `entity_id,party,record_id`"
    )]
    Header {
        /// The file.
        path: String,
        /// The header as found.
        found: String,
    },
    /// A row has a bad value.
    #[error("{path}, line {line}, field `{field}`: {reason}")]
    Row {
        /// The file.
        path: String,
        /// Line number, from 1 (the header is line 1).
        line: u64,
        /// The column.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The scores file is not a two-file pairs file with scores.
    #[error(
        "{path}: the scores file must have the columns a_id,b_id,score (as written when two \
         files are matched without a one-to-one solver)"
    )]
    ScoresLayout {
        /// The scores file.
        path: String,
    },
    /// A scores file was given for a linkage of one or of three or more files.
    #[error(
        "{path} holds {linkage} clusters; a scores file (a_id,b_id,score) only fits a two-file linkage"
    )]
    ScoresNeedTwoFiles {
        /// The match output.
        path: String,
        /// Its linkage (`dedup`, `multi-party`).
        linkage: &'static str,
    },
    /// The truth describes other files than the match output (e.g. a two-party truth against
    /// deduplication clusters).
    #[error(
        "{truth} describes records of {parties} files, but {matches} is a {linkage} result; \
         evaluate against the truth of the same files"
    )]
    TruthParties {
        /// The truth file.
        truth: String,
        /// Files the truth describes.
        parties: usize,
        /// The match output.
        matches: String,
        /// Its linkage.
        linkage: &'static str,
    },
    /// The input sizes given do not fit the linkage.
    #[error("{given} input sizes given, but a {linkage} linkage needs {wanted}")]
    RecordSizes {
        /// Sizes given.
        given: usize,
        /// The linkage.
        linkage: &'static str,
        /// How many it needs.
        wanted: String,
    },
    /// A chart or output file could not be written.
    #[error("cannot write {path}: {reason}")]
    Output {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Too little or degenerate data for the requested computation.
    #[error("{0}")]
    Data(String),
    /// Reading or matching encoding files failed (automatic threshold).
    #[error(transparent)]
    Match(#[from] crate::linkage::job::MatchError),
}

impl EvalError {
    /// The error's kind.
    pub fn kind(&self) -> EvalErrorKind {
        match self {
            EvalError::Io { .. } => EvalErrorKind::Io,
            EvalError::Csv { .. } => EvalErrorKind::Csv,
            EvalError::Header { .. } => EvalErrorKind::Header,
            EvalError::Row { .. } => EvalErrorKind::Row,
            EvalError::ScoresLayout { .. } => EvalErrorKind::ScoresLayout,
            EvalError::ScoresNeedTwoFiles { .. } => EvalErrorKind::ScoresNeedTwoFiles,
            EvalError::TruthParties { .. } => EvalErrorKind::TruthParties,
            EvalError::RecordSizes { .. } => EvalErrorKind::RecordSizes,
            EvalError::Output { .. } => EvalErrorKind::Output,
            EvalError::Data(_) => EvalErrorKind::Data,
            EvalError::Match(_) => EvalErrorKind::Match,
        }
    }

    /// Where the problem is: the file, and for a bad row its line and field.
    pub fn position(&self) -> Option<Position> {
        match self {
            EvalError::Io { path, .. }
            | EvalError::Csv { path, .. }
            | EvalError::Header { path, .. }
            | EvalError::ScoresLayout { path }
            | EvalError::ScoresNeedTwoFiles { path, .. }
            | EvalError::Output { path, .. } => Some(Position::file(path.clone())),
            EvalError::TruthParties { truth, .. } => Some(Position::file(truth.clone())),
            EvalError::Row {
                path, line, field, ..
            } => {
                let mut p = Position::file(path.clone()).in_field(field.clone());
                p.line = Some(*line);
                Some(p)
            }
            EvalError::RecordSizes { .. } | EvalError::Data(_) | EvalError::Match(_) => None,
        }
    }
}

impl crate::error::Coded for EvalError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}
