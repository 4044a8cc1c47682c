//! What stops an encoding job: [`EncodeError`], with its kind ([`EncodeErrorKind`], stable
//! codes) and position. A row that cannot be encoded does not stop a job: it is a reject.

use crate::error::Position;
use crate::io::{ClkError, InputError, OutputError};

/// A job-stopping problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The input is not what the schema describes.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The encoding file could not be written, or ids repeat.
    #[error(transparent)]
    Clk(#[from] ClkError),
    /// Another output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An output collides with a file of the job, or cannot be written there (checked before
    /// anything is written; see [`OutputError::kind`]).
    #[error(transparent)]
    Unsafe(#[from] OutputError),
    /// The output file is the input file (no longer returned: see [`EncodeError::Unsafe`]).
    #[error("the output {output} would overwrite the input")]
    OverwritesInput {
        /// The output (and input) file.
        output: String,
    },
    /// Chunks of no rows were asked for.
    #[error("the chunk size must be at least 1 row")]
    ChunkRows,
    /// The worker threads could not be started.
    #[error("cannot start {threads} threads: {message}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The cause.
        message: String,
    },
    /// The encodings do not fit pprl's `.clk` records (whole 64-bit words, at most
    /// [`crate::schema::MAX_FILTER_BITS`] bits).
    #[error(
        "the .clk format holds filters of a multiple of 64 bits up to {max}, and this clkhash \
         schema's l is {bits}; write clkhash's JSON format instead"
    )]
    FilterBits {
        /// The encodings' length in bits.
        bits: u32,
        /// The longest filter a `.clk` file holds.
        max: u32,
    },
    /// Rows were rejected, but the output format identifies records by their position, so a
    /// file without them would misalign every later record: nothing was written.
    #[error(
        "{rows} row(s) could not be encoded, and {format} output holds one encoding per input \
         row, identified by position, so no output was written; the first: {first}{}",
        match rejects {
            Some(r) => format!("; every rejected row is listed in {r}"),
            None => String::new(),
        }
    )]
    RowsRejected {
        /// How many rows were rejected.
        rows: u64,
        /// The output format.
        format: &'static str,
        /// The first rejected row: row, line, field and reason.
        first: String,
        /// The first rejected row's data row, from 1.
        first_row: u64,
        /// The rejects report, written only when the job named one
        /// ([`crate::pipeline::EncodeOptions::rejects`]): a failed job leaves no default
        /// `OUT.rejects.csv` behind.
        rejects: Option<String>,
    },
}

crate::error_kinds! {
    /// What kind of [`EncodeError`] happened: a stable code for front ends and tests.
    pub enum EncodeErrorKind {
        /// The input is unreadable or not what the schema describes (see [`InputError::kind`]).
        Input => "encode-input",
        /// Two records share an id.
        DuplicateId => "encode-duplicate-id",
        /// The encoding file could not be written.
        Clk => "encode-clk",
        /// Another output could not be written.
        Output => "encode-output",
        /// An output is a file the job reads.
        OverwritesInput => "encode-overwrites-input",
        /// An output collides with another file of the job, or its folder is missing.
        Unsafe => "encode-output-unsafe",
        /// Chunks of no rows were asked for.
        ChunkRows => "encode-chunk-rows",
        /// The worker threads could not be started.
        Threads => "encode-threads",
        /// The encodings do not fit `.clk` records.
        FilterBits => "encode-filter-bits",
        /// Rows were rejected from a format that identifies records by position.
        RowsRejected => "encode-rows-rejected",
    }
}

impl EncodeError {
    /// The error's kind (its stable code).
    pub fn kind(&self) -> EncodeErrorKind {
        match self {
            EncodeError::Input(_) => EncodeErrorKind::Input,
            EncodeError::Clk(ClkError::DuplicateId { .. }) => EncodeErrorKind::DuplicateId,
            EncodeError::Clk(_) => EncodeErrorKind::Clk,
            EncodeError::Output { .. } => EncodeErrorKind::Output,
            EncodeError::OverwritesInput { .. } => EncodeErrorKind::OverwritesInput,
            EncodeError::Unsafe(e) if e.kind() == crate::io::OutputErrorKind::IsInput => {
                EncodeErrorKind::OverwritesInput
            }
            EncodeError::Unsafe(_) => EncodeErrorKind::Unsafe,
            EncodeError::ChunkRows => EncodeErrorKind::ChunkRows,
            EncodeError::Threads { .. } => EncodeErrorKind::Threads,
            EncodeError::FilterBits { .. } => EncodeErrorKind::FilterBits,
            EncodeError::RowsRejected { .. } => EncodeErrorKind::RowsRejected,
        }
    }

    /// Where the problem is, as far as known: the input's row, line or column, the row of a
    /// repeated id, the first rejected row, or the file that could not be written.
    pub fn position(&self) -> Position {
        match self {
            EncodeError::Input(e) => e.position(),
            EncodeError::Clk(ClkError::DuplicateId { row, .. }) => Position {
                row: Some(*row),
                ..Position::default()
            },
            EncodeError::Clk(ClkError::Io { path, .. }) => Position::file(path.as_str()),
            EncodeError::Output { path, .. } => Position::file(path.as_str()),
            EncodeError::OverwritesInput { output } => Position::file(output.as_str()),
            EncodeError::RowsRejected { first_row, .. } => Position {
                row: Some(*first_row),
                ..Position::default()
            },
            _ => Position::default(),
        }
    }
}

impl crate::error::Coded for EncodeError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// `EncodeError::Output` for `path`, as a `map_err` argument.
pub(crate) fn output_error(
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> EncodeError + use<> {
    let path = path.display().to_string();
    move |source| EncodeError::Output { path, source }
}
