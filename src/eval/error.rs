//! What can go wrong while evaluating: unreadable or malformed link files, inputs that do not
//! describe the same linkage, charts that cannot be written.

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
        "{path}: header `{found}` is not a links file; expected `a_id,b_id` (optionally with \
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
    /// The inputs do not describe the same linkage (e.g. deduplication clusters against a
    /// two-party truth), or an option does not fit them.
    #[error("{0}")]
    Mismatch(String),
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
