//! Encoding files of other tools, and telling the kinds apart.
//!
//! * [`clkhash_json`]: clkhash's `{"clks": [base64, ...]}` and its bit order;
//! * [`anonlink_binary`]: the anonlink entity service's binary upload layout;
//! * [`FileKind::detect`] (from bytes, or [`FileKind::detect_path`]) and [`read_encoding_file`]: any of those or a `.clk` file, read into
//!   the same [`ClkData`] the matcher takes.
//!
//! clkhash's formats identify records by their position and carry no fingerprints: a file read
//! from them gets ids `0, 1, 2, ...` and [`UNKNOWN_FINGERPRINT`]s, and the matcher warns that it
//! cannot check that such files were made with the same secret and schema.

pub mod anonlink_binary;
pub mod clkhash_json;

use std::io::Read as _;
use std::path::Path;

use crate::io::clk::{FILE_VERSION, MAGIC};
use crate::io::{ClkData, ClkError, ClkHeader, ClkReader};
use crate::keys::KeyFingerprint;
use crate::schema::{HashingScheme, Layout, SchemaFingerprint};

/// The fingerprint a file without fingerprints is given when it is read: all zeros, which no
/// real fingerprint is (they are SHA-256 and HKDF outputs). [`crate::linkage::job`] skips the
/// key and schema checks for such files and warns instead.
pub const UNKNOWN_FINGERPRINT: [u8; 32] = [0; 32];

/// The longest encoding read from a file without a header, in bits: the longest filter a
/// `.clk` file holds. Longer ones are refused as soon as they are seen, so a damaged or
/// hostile file cannot make the reader allocate without bound.
pub const MAX_ENCODING_BITS: u32 = 65_536;

/// Encodings read from a file without ids (clkhash JSON, anonlink binary).
#[derive(Debug, Default, Clone)]
pub struct Encodings {
    /// Bits per encoding (bytes times 8).
    pub bits: u32,
    /// Number of encodings.
    pub count: u64,
    /// All encodings' words, `ceil(bits / 64)` per encoding, in pprl's bit order.
    pub words: Vec<u64>,
}

impl Encodings {
    /// The encodings as matching takes them: record ids `0, 1, 2, ...` (their positions),
    /// layout `clk`, hashing `clkhash`, [`UNKNOWN_FINGERPRINT`]s and no block ids. Matching
    /// needs `bits` to be a multiple of 64.
    pub fn into_clk_data(self) -> ClkData {
        let header = ClkHeader {
            version: FILE_VERSION,
            schema_fingerprint: SchemaFingerprint(UNKNOWN_FINGERPRINT),
            key_fingerprint: KeyFingerprint(UNKNOWN_FINGERPRINT),
            layout: Layout::Clk,
            hashing: HashingScheme::Clkhash,
            filter_bits: self.bits,
            filters_per_record: 1,
            id_width: 8,
            block_keys: 0,
            missing_masks: false,
            record_count: self.count,
            schema_json: Vec::new(),
        };
        ClkData {
            header,
            ids: (0..self.count).map(|i| i.to_string()).collect(),
            words: self.words,
            blocks: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// Appends one encoding given as clkhash's bytes; all must have the same length.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let bits = bytes.len() * 8;
        if bits == 0 {
            return Err("an empty encoding".into());
        }
        if bits > MAX_ENCODING_BITS as usize {
            return Err(format!(
                "{bits} bits, over the longest encoding pprl reads ({MAX_ENCODING_BITS} bits)"
            ));
        }
        if self.count == 0 {
            self.bits = bits as u32;
        } else if bits != self.bits as usize {
            return Err(format!(
                "{} bytes, but the first encoding has {} (all must have one length)",
                bytes.len(),
                self.bits / 8
            ));
        }
        let w = bits.div_ceil(64);
        let start = self.words.len();
        self.words.resize(start + w, 0);
        clkhash_json::bytes_to_words(bytes, &mut self.words[start..]);
        self.count += 1;
        Ok(())
    }
}

/// A file that could not be read as encodings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A `.clk` file problem.
    #[error(transparent)]
    Clk(#[from] ClkError),
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not in the format it looks like.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// What kind of encoding file a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// pprl's `.clk`.
    Clk,
    /// clkhash JSON.
    ClkhashJson,
    /// anonlink binary.
    AnonlinkBinary,
}

impl FileKind {
    /// Detects the kind from a file's first bytes (64 are plenty): the `.clk` magic, a JSON
    /// object, or else the anonlink binary layout.
    pub fn detect(head: &[u8]) -> FileKind {
        if head.starts_with(&MAGIC) {
            FileKind::Clk
        } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            FileKind::ClkhashJson
        } else {
            FileKind::AnonlinkBinary
        }
    }

    /// [`FileKind::detect`] on the first bytes of the file at `path`.
    pub fn detect_path(path: &Path) -> Result<FileKind, ReadError> {
        let mut head = [0u8; 64];
        let mut n = 0;
        let (mut file, _) = open(path)?;
        while n < head.len() {
            match file.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ReadError::Io {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
        Ok(FileKind::detect(&head[..n]))
    }
}

crate::error_kinds! {
    /// What went wrong reading encodings.
    pub enum ReadErrorKind {
        /// A `.clk` file problem (its own kind: [`ClkError::kind`]).
        Clk => "encodings-clk",
        /// The file could not be read.
        Io => "encodings-io",
        /// The input is not in the format it looks like.
        Invalid => "encodings-invalid",
    }
}

impl ReadError {
    /// The error's kind.
    pub fn kind(&self) -> ReadErrorKind {
        match self {
            ReadError::Clk(_) => ReadErrorKind::Clk,
            ReadError::Io { .. } => ReadErrorKind::Io,
            ReadError::Invalid { .. } => ReadErrorKind::Invalid,
        }
    }

    /// The input (as given) where it happened.
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            ReadError::Clk(e) => e.position(),
            ReadError::Io { path, .. } | ReadError::Invalid { path, .. } => {
                Some(crate::error::Position::file(path.clone()))
            }
        }
    }
}

impl crate::error::Coded for ReadError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// Opens the input at `path`, with the name messages give it.
pub(crate) fn open(path: &Path) -> Result<(std::fs::File, String), ReadError> {
    let shown = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => Ok((file, shown)),
        Err(source) => Err(ReadError::Io {
            path: shown,
            source,
        }),
    }
}

/// Reads an encoding file of any kind for matching. A clkhash JSON or anonlink binary file
/// gets record ids `0, 1, 2, ...` (its positions), layout `clk`, hashing `clkhash` and
/// [`UNKNOWN_FINGERPRINT`]s; its encodings must be a multiple of 64 bits long.
pub fn read_encoding_file(path: &Path) -> Result<(ClkData, FileKind), ReadError> {
    let kind = FileKind::detect_path(path)?;
    let enc = match kind {
        FileKind::Clk => return Ok((ClkReader::open(path)?.read_all()?, kind)),
        FileKind::ClkhashJson => clkhash_json::read(path)?,
        FileKind::AnonlinkBinary => anonlink_binary::read(path)?,
    };
    if enc.count == 0 {
        return Err(ReadError::Invalid {
            path: path.display().to_string(),
            detail: "the file holds no encodings".into(),
        });
    }
    if !enc.bits.is_multiple_of(64) {
        return Err(ReadError::Invalid {
            path: path.display().to_string(),
            detail: format!(
                "its encodings have {} bits; pprl matches encodings of a multiple of 64 bits",
                enc.bits
            ),
        });
    }
    Ok((enc.into_clk_data(), kind))
}
