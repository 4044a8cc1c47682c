//! The `.clk` encoding file: what leaves a department.
//!
//! Layout (all integers little-endian; full spec in `docs/format.md`):
//!
//! ```text
//! header   magic "\x89PPRL\r\n\x1a", format version, header length, schema fingerprint,
//!          key fingerprint, filter length, filters per record, layout, hashing, id width,
//!          record count, canonical schema JSON, zero padding to a multiple of 8 bytes
//! records  record_count x (id: id_width bytes, UTF-8, NUL padded | filter words: u64 LE
//!          | block ids: u64 LE, version 2 only)
//! trailer  SHA-256 of every byte before it
//! ```
//!
//! Records have a fixed size, so the filter section can be read in bulk and record `i` can be
//! found by arithmetic. The file holds no timestamp, host or path: the same input, schema and
//! secret give the same bytes. The trailer makes truncation and tampering detectable; the
//! reader also checks the file size against the header before reading any record.
//!
//! The writer spools records to a temporary file while it streams (the id width and the count
//! are known only at the end), then writes the final file in one pass, hashing as it goes. It
//! also refuses duplicate record ids, using a `bloomfilter` membership set (a non-secret use, so
//! its SipHash is fine here) with an exact second look at the few suspects.

//!
//! Files: `header.rs` (the header's bytes), `reader.rs` ([`ClkReader`], over any `Read`, with
//! [`ClkReader::open`] for files), `writer.rs` ([`ClkWriter`], to any `Write` with
//! [`ClkWriter::finish_to`], atomically to a file with [`ClkWriter::finish`]).

use std::io;

mod embedded;
mod header;
mod reader;
mod writer;

pub use self::header::ClkHeader;
pub use self::reader::{ClkData, ClkReader, ClkRecord};
#[cfg(test)]
use self::writer::SEEN_START;
pub use self::writer::{ClkParams, ClkSummary, ClkWriter};
#[cfg(test)]
use crate::keys::KeyFingerprint;
#[cfg(test)]
use crate::schema::{HashingScheme, Layout, SchemaFingerprint};
#[cfg(test)]
use sha2::{Digest, Sha256};
#[cfg(test)]
use std::path::Path;

/// The file's first eight bytes. The high-bit first byte and the CR LF pair expose transfers
/// that mangle binary files, as in PNG.
pub const MAGIC: [u8; 8] = *b"\x89PPRL\r\n\x1a";
/// The encoding-file version of files without blocking keys. Files with keyed blocking keys
/// are version [`FILE_VERSION_BLOCKS`]; the writer picks the lowest version that can hold the
/// data, so files without blocking keys stay readable by every earlier build.
pub const FILE_VERSION: u16 = 1;
/// The encoding-file version of files that carry keyed block ids after each filter.
pub const FILE_VERSION_BLOCKS: u16 = 2;
/// The encoding-file version of files whose header flags are in use: records of the `field`
/// layout carry a missing-field mask ([`FLAG_MISSING_MASKS`]), with or without block ids.
pub const FILE_VERSION_FLAGS: u16 = 3;
/// Header flag: each record carries a `u64` missing-field mask after its filter words.
pub const FLAG_MISSING_MASKS: u16 = 1;
/// Longest record id accepted, in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 255;
/// Bytes of the fixed part of the header, before the schema JSON.
pub(crate) const FIXED_HEADER: usize = 108;
/// Largest schema JSON a reader accepts.
pub(crate) const MAX_SCHEMA_JSON: usize = 1 << 20;

/// An encoding file problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClkError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The file does not start with the encoding-file magic.
    #[error("{path} is not a pprl encoding file (bad magic bytes)")]
    NotClk {
        /// The file.
        path: String,
    },
    /// The file is of a format version this build does not read.
    #[error("{path} is encoding-file version {version}; this build reads version {FILE_VERSION}")]
    UnsupportedVersion {
        /// The file.
        path: String,
        /// Its version.
        version: u16,
    },
    /// A header field is impossible.
    #[error("{path}: corrupt header: {detail}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The embedded schema is broken or contradicts the header (a file edited after it was
    /// written, with its checksum recomputed, or written by a faulty tool).
    #[error(
        "{path}: the embedded schema {detail}; the file was changed after it was written or \
         made by a faulty tool (encode it again)"
    )]
    Schema {
        /// The file.
        path: String,
        /// What is wrong, in the header's and the schema's field names.
        detail: String,
    },
    /// The file is shorter or longer than its header says.
    #[error(
        "{path} is {found} bytes but its header describes {expected} bytes: the file is \
         {kind} (copy it again from the source)"
    )]
    Size {
        /// The file.
        path: String,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes on disk.
        found: u64,
        /// `truncated` or `too long`.
        kind: &'static str,
    },
    /// A stream ended before the records and trailer its header describes.
    #[error(
        "{path} ends before the end its header describes: the file is truncated (copy it again \
         from the source)"
    )]
    Truncated {
        /// The input.
        path: String,
    },
    /// A stream goes on after its trailer.
    #[error("{path} goes on after its checksum trailer: the file is too long")]
    Trailing {
        /// The input.
        path: String,
    },
    /// The SHA-256 trailer does not match the content.
    #[error("{path}: checksum mismatch: the file was modified or damaged after it was written")]
    Checksum {
        /// The file.
        path: String,
    },
    /// Two records share an id. The message gives the rows, not the id: ids are file content.
    #[error("a record id appears twice (rows {first_row} and {row}); record ids must be unique")]
    DuplicateId {
        /// The id.
        id: String,
        /// Input row of its first use.
        first_row: u64,
        /// Input row of its second use.
        row: u64,
    },
}

crate::error_kinds! {
    /// What went wrong with an encoding file.
    pub enum ClkErrorKind {
        /// Reading or writing failed.
        Io => "clk-io",
        /// Not an encoding file (bad magic bytes).
        NotClk => "clk-not-clk",
        /// A format version this build does not read.
        UnsupportedVersion => "clk-unsupported-version",
        /// An impossible header field.
        Corrupt => "clk-corrupt",
        /// The embedded schema is broken or contradicts the header.
        Schema => "clk-schema",
        /// The file's size disagrees with its header.
        Size => "clk-size",
        /// A stream ended early.
        Truncated => "clk-truncated",
        /// A stream goes on after its trailer.
        Trailing => "clk-trailing",
        /// The checksum trailer does not match.
        Checksum => "clk-checksum",
        /// Two records share an id.
        DuplicateId => "clk-duplicate-id",
    }
}

impl ClkError {
    /// The error's kind.
    pub fn kind(&self) -> ClkErrorKind {
        match self {
            ClkError::Io { .. } => ClkErrorKind::Io,
            ClkError::NotClk { .. } => ClkErrorKind::NotClk,
            ClkError::UnsupportedVersion { .. } => ClkErrorKind::UnsupportedVersion,
            ClkError::Corrupt { .. } => ClkErrorKind::Corrupt,
            ClkError::Schema { .. } => ClkErrorKind::Schema,
            ClkError::Size { .. } => ClkErrorKind::Size,
            ClkError::Truncated { .. } => ClkErrorKind::Truncated,
            ClkError::Trailing { .. } => ClkErrorKind::Trailing,
            ClkError::Checksum { .. } => ClkErrorKind::Checksum,
            ClkError::DuplicateId { .. } => ClkErrorKind::DuplicateId,
        }
    }

    /// Where it happened: the file (as given), and the input row for a duplicate id.
    pub fn position(&self) -> Option<crate::error::Position> {
        use crate::error::Position;
        match self {
            ClkError::Io { path, .. }
            | ClkError::NotClk { path }
            | ClkError::UnsupportedVersion { path, .. }
            | ClkError::Corrupt { path, .. }
            | ClkError::Schema { path, .. }
            | ClkError::Size { path, .. }
            | ClkError::Truncated { path }
            | ClkError::Trailing { path }
            | ClkError::Checksum { path } => Some(Position::file(path.clone())),
            ClkError::DuplicateId { row, .. } => Some(Position {
                row: Some(*row),
                ..Position::default()
            }),
        }
    }
}

impl crate::error::Coded for ClkError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

#[cfg(test)]
mod tests;
