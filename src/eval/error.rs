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
        /// The truth file looks like a match output.
        TruthKind => "eval-truth-kind",
        /// The matches file looks like a truth file.
        MatchesKind => "eval-matches-kind",
        /// The truth holds no true pair for the linkage.
        NoTruePairs => "eval-no-true-pairs",
        /// A record count is zero.
        RecordCount => "eval-record-count",
        /// The links name more records of a file than its record count.
        RecordsBeyondCount => "eval-records-beyond-count",
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
    /// The header names no layout this reader knows. The header itself is not quoted: it is
    /// file content (it may be a line of a secret given in the wrong place).
    #[error(
        "{path} is not a links file: its header ({columns} columns) lacks {needs}; a links \
         file has the columns `a_id,b_id` (optionally with `score`), `cluster,id`, \
         `cluster,party,id` or `entity_id,party,record_id`"
    )]
    Header {
        /// The file.
        path: String,
        /// How many columns the header has.
        columns: usize,
        /// What it lacks, in the layouts' column names.
        needs: &'static str,
    },
    /// The truth file looks like a match output: it has a `score` column.
    #[error(
        "{path} has a `score` column, as a match output has, so it is not a truth file; a \
         truth file lists the true pairs without scores: `a_id,b_id`, or the records of each \
         entity as `entity_id,party,record_id` (`entity_id,record_id` for one file)"
    )]
    TruthKind {
        /// The truth file.
        path: String,
    },
    /// The matches file looks like a truth file: it uses the truth's column names.
    #[error(
        "{path} has the columns of a truth file (`entity_id`, `record_id`), so it is not a \
         match output; a match output is what `pprl match` writes: `a_id,b_id[,score]` for two \
         files, `cluster,id` for one, `cluster,party,id` for three or more"
    )]
    MatchesKind {
        /// The matches file.
        path: String,
    },
    /// The truth holds no true pair of the linkage evaluated: precision and recall would
    /// mean nothing.
    #[error(
        "{truth} holds no true pair for a {linkage} linkage (no two records of one entity{across}); \
         precision and recall against it would mean nothing"
    )]
    NoTruePairs {
        /// The truth file.
        truth: String,
        /// The linkage.
        linkage: &'static str,
        /// ` in different files` where only cross-file pairs count, else empty.
        across: &'static str,
    },
    /// A record count is zero.
    #[error("record count {position} is 0; every input file holds at least one record")]
    RecordCount {
        /// Which count, from 1.
        position: usize,
    },
    /// The links name more distinct records of a file than its record count.
    #[error(
        "the links files name {seen} distinct records of input file {file}, more than its \
         record count {given}"
    )]
    RecordsBeyondCount {
        /// The input file, from 1 (in `pprl match` order).
        file: usize,
        /// The count given for it.
        given: u64,
        /// Distinct records of it named by the truth, matches and scores files.
        seen: u64,
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
        "{truth} describes records of {}, but {matches} is a {linkage} result; evaluate \
         against the truth of the same files",
        files(*parties)
    )]
    TruthParties {
        /// The truth file.
        truth: String,
        /// Files the truth describes (1 for clusters within one file).
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

fn files(n: usize) -> String {
    match n {
        1 => "one file (clusters within it)".into(),
        2 => "two files".into(),
        n => format!("{n} files"),
    }
}

impl EvalError {
    /// The error's kind.
    pub fn kind(&self) -> EvalErrorKind {
        match self {
            EvalError::Io { .. } => EvalErrorKind::Io,
            EvalError::Csv { .. } => EvalErrorKind::Csv,
            EvalError::Header { .. } => EvalErrorKind::Header,
            EvalError::TruthKind { .. } => EvalErrorKind::TruthKind,
            EvalError::MatchesKind { .. } => EvalErrorKind::MatchesKind,
            EvalError::NoTruePairs { .. } => EvalErrorKind::NoTruePairs,
            EvalError::RecordCount { .. } => EvalErrorKind::RecordCount,
            EvalError::RecordsBeyondCount { .. } => EvalErrorKind::RecordsBeyondCount,
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
            | EvalError::TruthKind { path }
            | EvalError::MatchesKind { path }
            | EvalError::ScoresLayout { path }
            | EvalError::ScoresNeedTwoFiles { path, .. }
            | EvalError::Output { path, .. } => Some(Position::file(path.clone())),
            EvalError::TruthParties { truth, .. } | EvalError::NoTruePairs { truth, .. } => {
                Some(Position::file(truth.clone()))
            }
            EvalError::Row {
                path, line, field, ..
            } => {
                let mut p = Position::file(path.clone()).in_field(field.clone());
                p.line = Some(*line);
                Some(p)
            }
            EvalError::RecordSizes { .. }
            | EvalError::RecordCount { .. }
            | EvalError::RecordsBeyondCount { .. }
            | EvalError::Data(_)
            | EvalError::Match(_) => None,
        }
    }
}

impl crate::error::Coded for EvalError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}
