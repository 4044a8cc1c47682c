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

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::keys::KeyFingerprint;
use crate::schema::{HashingScheme, Layout, SchemaFingerprint};

use super::atomic::AtomicFile;

/// The file's first eight bytes. The high-bit first byte and the CR LF pair expose transfers
/// that mangle binary files, as in PNG.
pub const MAGIC: [u8; 8] = *b"\x89PPRL\r\n\x1a";
/// The encoding-file version of files without blocking keys. Files with keyed blocking keys
/// are version [`FILE_VERSION_BLOCKS`]; the writer picks the lowest version that can hold the
/// data, so files without blocking keys stay readable by every earlier build.
pub const FILE_VERSION: u16 = 1;
/// The encoding-file version of files that carry keyed block ids after each filter.
pub const FILE_VERSION_BLOCKS: u16 = 2;
/// Longest record id accepted, in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 255;
/// Bytes of the fixed part of the header, before the schema JSON.
const FIXED_HEADER: usize = 108;
/// Largest schema JSON a reader accepts.
const MAX_SCHEMA_JSON: usize = 1 << 20;

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
    /// The SHA-256 trailer does not match the content.
    #[error("{path}: checksum mismatch: the file was modified or damaged after it was written")]
    Checksum {
        /// The file.
        path: String,
    },
    /// Two records share an id.
    #[error(
        "record id `{id}` appears twice (rows {first_row} and {row}); record ids must be unique"
    )]
    DuplicateId {
        /// The id.
        id: String,
        /// Input row of its first use.
        first_row: u64,
        /// Input row of its second use.
        row: u64,
    },
}

/// The header of an encoding file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClkHeader {
    /// Format version ([`FILE_VERSION`]).
    pub version: u16,
    /// Fingerprint of the schema (SHA-256 of `schema_json`).
    pub schema_fingerprint: SchemaFingerprint,
    /// Fingerprint of the secret.
    pub key_fingerprint: KeyFingerprint,
    /// Filter layout.
    pub layout: Layout,
    /// Hashing scheme.
    pub hashing: HashingScheme,
    /// Bits per filter (a multiple of 64).
    pub filter_bits: u32,
    /// Filters per record.
    pub filters_per_record: u16,
    /// Bytes reserved for each record id (a multiple of 8).
    pub id_width: u16,
    /// Keyed block ids per record (0 in version 1 files).
    pub block_keys: u16,
    /// Number of records.
    pub record_count: u64,
    /// The schema's canonical JSON.
    pub schema_json: Vec<u8>,
}

impl ClkHeader {
    /// `u64` words of filter data per record.
    pub fn words_per_record(&self) -> usize {
        self.filter_bits as usize / 64 * self.filters_per_record as usize
    }

    /// Bytes per record: id, filter words and block ids.
    pub fn record_bytes(&self) -> usize {
        self.id_width as usize + (self.words_per_record() + self.block_keys as usize) * 8
    }

    /// Bytes of the header, padding included: the offset of the first record.
    pub fn header_len(&self) -> usize {
        (FIXED_HEADER + self.schema_json.len()).div_ceil(8) * 8
    }

    /// Total file size the header implies.
    pub fn file_len(&self) -> u64 {
        self.header_len() as u64 + self.record_count * self.record_bytes() as u64 + 32
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.header_len());
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes()); // flags
        b.extend_from_slice(&(self.header_len() as u32).to_le_bytes());
        b.extend_from_slice(&self.schema_fingerprint.0);
        b.extend_from_slice(&self.key_fingerprint.0);
        b.extend_from_slice(&self.filter_bits.to_le_bytes());
        b.extend_from_slice(&self.filters_per_record.to_le_bytes());
        b.push(layout_code(self.layout));
        b.push(hashing_code(self.hashing));
        b.extend_from_slice(&self.id_width.to_le_bytes());
        b.extend_from_slice(&self.block_keys.to_le_bytes());
        b.extend_from_slice(&[0; 4]); // reserved
        b.extend_from_slice(&self.record_count.to_le_bytes());
        b.extend_from_slice(&(self.schema_json.len() as u32).to_le_bytes());
        debug_assert_eq!(b.len(), FIXED_HEADER);
        b.extend_from_slice(&self.schema_json);
        b.resize(self.header_len(), 0);
        b
    }

    /// Reads and checks a header; `hasher` receives every byte read.
    fn read_from(
        r: &mut impl Read,
        path: &str,
        hasher: &mut Sha256,
    ) -> Result<ClkHeader, ClkError> {
        let io_err = |source| ClkError::Io {
            path: path.to_string(),
            source,
        };
        let corrupt = |detail: String| ClkError::Corrupt {
            path: path.to_string(),
            detail,
        };
        let mut fixed = [0u8; FIXED_HEADER];
        if let Err(e) = r.read_exact(&mut fixed) {
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                ClkError::NotClk {
                    path: path.to_string(),
                }
            } else {
                io_err(e)
            });
        }
        if fixed[..8] != MAGIC {
            return Err(ClkError::NotClk {
                path: path.to_string(),
            });
        }
        hasher.update(fixed);
        let u16_at = |o: usize| u16::from_le_bytes([fixed[o], fixed[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(fixed[o..o + 4].try_into().expect("4"));
        let version = u16_at(8);
        if version != FILE_VERSION && version != FILE_VERSION_BLOCKS {
            return Err(ClkError::UnsupportedVersion {
                path: path.to_string(),
                version,
            });
        }
        let header_len = u32_at(12) as usize;
        let filter_bits = u32_at(80);
        if filter_bits == 0 || !filter_bits.is_multiple_of(64) || filter_bits > 65536 {
            return Err(corrupt(format!(
                "filter length {filter_bits} bits is not a multiple of 64"
            )));
        }
        let filters_per_record = u16_at(84);
        if filters_per_record == 0 {
            return Err(corrupt("zero filters per record".into()));
        }
        let layout = layout_from(fixed[86])
            .ok_or_else(|| corrupt(format!("unknown layout code {}", fixed[86])))?;
        let hashing = hashing_from(fixed[87])
            .ok_or_else(|| corrupt(format!("unknown hashing code {}", fixed[87])))?;
        let id_width = u16_at(88);
        if id_width == 0 || !id_width.is_multiple_of(8) {
            return Err(corrupt(format!(
                "id width {id_width} is not a positive multiple of 8"
            )));
        }
        let block_keys = u16_at(90);
        if (version == FILE_VERSION) != (block_keys == 0) {
            return Err(corrupt(format!(
                "version {version} file with {block_keys} block keys per record"
            )));
        }
        let record_count = u64::from_le_bytes(fixed[96..104].try_into().expect("8"));
        let json_len = u32_at(104) as usize;
        if json_len > MAX_SCHEMA_JSON {
            return Err(corrupt(format!("schema section of {json_len} bytes")));
        }
        let mut rest = vec![0u8; (FIXED_HEADER + json_len).div_ceil(8) * 8 - FIXED_HEADER];
        r.read_exact(&mut rest).map_err(io_err)?;
        hasher.update(&rest);
        let schema_json = rest[..json_len].to_vec();
        let header = ClkHeader {
            version,
            schema_fingerprint: SchemaFingerprint(fixed[16..48].try_into().expect("32")),
            key_fingerprint: KeyFingerprint(fixed[48..80].try_into().expect("32")),
            layout,
            hashing,
            filter_bits,
            filters_per_record,
            id_width,
            block_keys,
            record_count,
            schema_json,
        };
        if header.header_len() != header_len {
            return Err(corrupt(format!(
                "header length {header_len} does not match its content ({})",
                header.header_len()
            )));
        }
        if <[u8; 32]>::from(Sha256::digest(&header.schema_json)) != header.schema_fingerprint.0 {
            return Err(corrupt(
                "the embedded schema does not match the schema fingerprint".into(),
            ));
        }
        Ok(header)
    }
}

fn layout_code(l: Layout) -> u8 {
    match l {
        Layout::Clk => 0,
        Layout::Field => 1,
        Layout::Rbf => 2,
    }
}

fn layout_from(c: u8) -> Option<Layout> {
    [Layout::Clk, Layout::Field, Layout::Rbf]
        .into_iter()
        .find(|l| layout_code(*l) == c)
}

fn hashing_code(h: HashingScheme) -> u8 {
    match h {
        HashingScheme::HmacSha256 => 0,
        HashingScheme::Blake3 => 1,
        HashingScheme::Clkhash => 2,
    }
}

fn hashing_from(c: u8) -> Option<HashingScheme> {
    [
        HashingScheme::HmacSha256,
        HashingScheme::Blake3,
        HashingScheme::Clkhash,
    ]
    .into_iter()
    .find(|h| hashing_code(*h) == c)
}

/// What the writer needs to know before the first record.
#[derive(Debug, Clone)]
pub struct ClkParams {
    /// Schema fingerprint.
    pub schema_fingerprint: SchemaFingerprint,
    /// Key fingerprint.
    pub key_fingerprint: KeyFingerprint,
    /// Layout.
    pub layout: Layout,
    /// Hashing scheme.
    pub hashing: HashingScheme,
    /// Bits per filter.
    pub filter_bits: u32,
    /// Filters per record.
    pub filters_per_record: u16,
    /// Keyed block ids per record (0 for none).
    pub block_keys: u16,
    /// Canonical schema JSON.
    pub schema_json: Vec<u8>,
}

/// What [`ClkWriter::finish`] reports.
#[derive(Debug, Clone)]
pub struct ClkSummary {
    /// The final header.
    pub header: ClkHeader,
    /// SHA-256 of the whole file, trailer included (for the manifest).
    pub file_sha256: [u8; 32],
}

/// Streams records into a new encoding file (see the module docs for how).
pub struct ClkWriter {
    path: String,
    params: ClkParams,
    spool: BufWriter<File>,
    count: u64,
    max_id: usize,
    seen: Vec<bloomfilter::Bloom<str>>,
    seen_in_last: usize,
    suspects: HashSet<String>,
}

impl std::fmt::Debug for ClkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClkWriter")
            .field("path", &self.path)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Ids per membership filter before a larger one is added.
const SEEN_START: usize = 1 << 16;

impl ClkWriter {
    /// Starts an encoding file at `path` (nothing appears there until the final commit).
    pub fn create(path: impl AsRef<Path>, params: ClkParams) -> Result<ClkWriter, ClkError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => ".".into(),
        };
        let spool = tempfile::tempfile_in(dir).map_err(|source| ClkError::Io {
            path: shown.clone(),
            source,
        })?;
        Ok(ClkWriter {
            path: shown,
            params,
            spool: BufWriter::with_capacity(1 << 20, spool),
            count: 0,
            max_id: 1,
            seen: vec![new_seen(SEEN_START)],
            seen_in_last: 0,
            suspects: HashSet::new(),
        })
    }

    fn io(&self, source: io::Error) -> ClkError {
        ClkError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends a record. `row` is its input row (for duplicate-id messages); `id` must be at
    /// most [`MAX_ID_BYTES`] bytes without NUL; `words` must be the record's filter words and
    /// `blocks` its [`ClkParams::block_keys`] block ids.
    pub fn write_record(
        &mut self,
        row: u64,
        id: &str,
        words: &[u64],
        blocks: &[u64],
    ) -> Result<(), ClkError> {
        assert!(
            id.len() <= MAX_ID_BYTES && !id.contains('\0'),
            "record id checked by caller"
        );
        debug_assert_eq!(
            words.len(),
            self.params.filter_bits as usize / 64 * self.params.filters_per_record as usize
        );
        assert_eq!(blocks.len(), self.params.block_keys as usize, "block ids");
        if self.seen.iter().any(|b| b.check(id)) {
            self.suspects.insert(id.to_string());
        }
        if self.seen_in_last == SEEN_START << (2 * (self.seen.len() - 1)) {
            self.seen
                .push(new_seen(SEEN_START << (2 * self.seen.len())));
            self.seen_in_last = 0;
        }
        self.seen.last_mut().expect("one filter at least").set(id);
        self.seen_in_last += 1;
        self.max_id = self.max_id.max(id.len());
        let mut buf = Vec::with_capacity(10 + id.len() + words.len() * 8);
        buf.extend_from_slice(&row.to_le_bytes());
        buf.extend_from_slice(&(id.len() as u16).to_le_bytes());
        buf.extend_from_slice(id.as_bytes());
        for w in words.iter().chain(blocks) {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        self.spool.write_all(&buf).map_err(|e| self.io(e))?;
        self.count += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Checks ids for duplicates, writes the final file to a temporary beside `path` and
    /// returns it with its summary; call [`AtomicFile::commit`] to make it appear.
    pub fn finish(self) -> Result<(AtomicFile, ClkSummary), ClkError> {
        let path = self.path.clone();
        let io_err = |source| ClkError::Io {
            path: path.clone(),
            source,
        };
        let mut spool = self
            .spool
            .into_inner()
            .map_err(|e| io_err(e.into_error()))?;
        let words = self.params.filter_bits as usize / 64 * self.params.filters_per_record as usize
            + self.params.block_keys as usize;
        if !self.suspects.is_empty() {
            check_suspects(&mut spool, words, &self.suspects).map_err(|e| match e {
                SpoolError::Io(e) => io_err(e),
                SpoolError::Duplicate(err) => err,
            })?;
        }
        let header = ClkHeader {
            version: if self.params.block_keys == 0 {
                FILE_VERSION
            } else {
                FILE_VERSION_BLOCKS
            },
            schema_fingerprint: self.params.schema_fingerprint,
            key_fingerprint: self.params.key_fingerprint,
            layout: self.params.layout,
            hashing: self.params.hashing,
            filter_bits: self.params.filter_bits,
            filters_per_record: self.params.filters_per_record,
            id_width: self.max_id.div_ceil(8) as u16 * 8,
            block_keys: self.params.block_keys,
            record_count: self.count,
            schema_json: self.params.schema_json,
        };
        let mut out = AtomicFile::create(&path).map_err(io_err)?;
        let mut hasher = Sha256::new();
        let mut emit = |bytes: &[u8], out: &mut AtomicFile| -> io::Result<()> {
            hasher.update(bytes);
            out.write_all(bytes)
        };
        emit(&header.to_bytes(), &mut out).map_err(io_err)?;
        spool.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let mut spool = BufReader::with_capacity(1 << 20, spool);
        let mut record = vec![0u8; header.record_bytes()];
        let mut id_buf = [0u8; MAX_ID_BYTES];
        let mut head = [0u8; 10];
        for _ in 0..header.record_count {
            spool.read_exact(&mut head).map_err(io_err)?;
            let id_len = u16::from_le_bytes([head[8], head[9]]) as usize;
            spool.read_exact(&mut id_buf[..id_len]).map_err(io_err)?;
            record.fill(0);
            record[..id_len].copy_from_slice(&id_buf[..id_len]);
            spool
                .read_exact(&mut record[header.id_width as usize..])
                .map_err(io_err)?;
            emit(&record, &mut out).map_err(io_err)?;
        }
        // The trailer hashes every byte before it; the manifest's hash covers the trailer too,
        // so it continues from a copy of the same state instead of reading the file again.
        let mut whole = hasher.clone();
        let digest: [u8; 32] = hasher.finalize().into();
        whole.update(digest);
        out.write_all(&digest).map_err(io_err)?;
        out.flush().map_err(io_err)?;
        Ok((
            out,
            ClkSummary {
                header,
                file_sha256: whole.finalize().into(),
            },
        ))
    }
}

fn new_seen(items: usize) -> bloomfilter::Bloom<str> {
    bloomfilter::Bloom::new_for_fp_rate_with_seed(items, 1e-4, &[0x5a; 32])
        .expect("valid membership filter parameters")
}

enum SpoolError {
    Io(io::Error),
    Duplicate(ClkError),
}

/// Second look at ids the membership filter flagged: counts their exact occurrences.
fn check_suspects(
    spool: &mut File,
    words: usize,
    suspects: &HashSet<String>,
) -> Result<(), SpoolError> {
    spool.seek(SeekFrom::Start(0)).map_err(SpoolError::Io)?;
    let mut r = BufReader::with_capacity(1 << 20, &mut *spool);
    let mut first: HashMap<&str, u64> = HashMap::new();
    let mut head = [0u8; 10];
    let mut id = vec![0u8; MAX_ID_BYTES];
    let mut skip = vec![0u8; words * 8];
    loop {
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(SpoolError::Io(e)),
        }
        let row = u64::from_le_bytes(head[..8].try_into().expect("8"));
        let len = u16::from_le_bytes([head[8], head[9]]) as usize;
        r.read_exact(&mut id[..len]).map_err(SpoolError::Io)?;
        r.read_exact(&mut skip).map_err(SpoolError::Io)?;
        let id = std::str::from_utf8(&id[..len]).unwrap_or_default();
        if let Some(s) = suspects.get(id) {
            if let Some(&first_row) = first.get(s.as_str()) {
                return Err(SpoolError::Duplicate(ClkError::DuplicateId {
                    id: s.clone(),
                    first_row,
                    row,
                }));
            }
            first.insert(s.as_str(), row);
        }
    }
    Ok(())
}

/// One record read back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClkRecord {
    /// The record id.
    pub id: String,
    /// Its filter words (all filters of the record, in order).
    pub words: Vec<u64>,
    /// Its keyed block ids ([`ClkHeader::block_keys`] of them).
    pub blocks: Vec<u64>,
}

/// A whole encoding file in memory: ids and filters kept apart, filters as one flat array.
#[derive(Debug, Clone)]
pub struct ClkData {
    /// The header.
    pub header: ClkHeader,
    /// Record ids, in file order.
    pub ids: Vec<String>,
    /// Filter words, `header.words_per_record()` per record, in file order.
    pub words: Vec<u64>,
    /// Block ids, `header.block_keys` per record, in file order (empty without keys).
    pub blocks: Vec<u64>,
}

impl ClkData {
    /// The filter words of record `i`.
    pub fn record(&self, i: usize) -> &[u64] {
        let w = self.header.words_per_record();
        &self.words[i * w..(i + 1) * w]
    }
}

/// Streams the records of an encoding file, verifying the checksum at the end.
pub struct ClkReader {
    path: String,
    header: ClkHeader,
    reader: BufReader<File>,
    hasher: Sha256,
    remaining: u64,
    buf: Vec<u8>,
}

impl std::fmt::Debug for ClkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClkReader")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl ClkReader {
    /// Opens a file and checks its header and size.
    pub fn open(path: impl AsRef<Path>) -> Result<ClkReader, ClkError> {
        let shown = path.as_ref().display().to_string();
        let io_err = |source| ClkError::Io {
            path: shown.clone(),
            source,
        };
        let file = File::open(path.as_ref()).map_err(io_err)?;
        let found = file.metadata().map_err(io_err)?.len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut hasher = Sha256::new();
        let header = ClkHeader::read_from(&mut reader, &shown, &mut hasher)?;
        let expected = header.file_len();
        if found != expected {
            return Err(ClkError::Size {
                path: shown,
                expected,
                found,
                kind: if found < expected {
                    "truncated"
                } else {
                    "too long"
                },
            });
        }
        Ok(ClkReader {
            buf: vec![0; header.record_bytes()],
            remaining: header.record_count,
            path: shown,
            header,
            reader,
            hasher,
        })
    }

    /// The header.
    pub fn header(&self) -> &ClkHeader {
        &self.header
    }

    /// Reads the next record into `rec`; `Ok(false)` after the last one, once the checksum
    /// has been verified.
    pub fn read_record(&mut self, rec: &mut ClkRecord) -> Result<bool, ClkError> {
        if self.remaining == 0 {
            self.verify_trailer()?;
            return Ok(false);
        }
        self.reader
            .read_exact(&mut self.buf)
            .map_err(|source| ClkError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.hasher.update(&self.buf);
        self.remaining -= 1;
        let w = self.header.id_width as usize;
        let id_len = self.buf[..w].iter().position(|&b| b == 0).unwrap_or(w);
        rec.id.clear();
        rec.id
            .push_str(
                std::str::from_utf8(&self.buf[..id_len]).map_err(|_| ClkError::Corrupt {
                    path: self.path.clone(),
                    detail: "a record id is not UTF-8".into(),
                })?,
            );
        let split = w + self.header.words_per_record() * 8;
        let words = |bytes: &[u8], out: &mut Vec<u64>| {
            out.clear();
            out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8"))),
            );
        };
        words(&self.buf[w..split], &mut rec.words);
        words(&self.buf[split..], &mut rec.blocks);
        Ok(true)
    }

    fn verify_trailer(&mut self) -> Result<(), ClkError> {
        let mut trailer = [0u8; 32];
        self.reader
            .read_exact(&mut trailer)
            .map_err(|source| ClkError::Io {
                path: self.path.clone(),
                source,
            })?;
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if digest != trailer {
            return Err(ClkError::Checksum {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Reads every record into memory (ids and filters apart) and verifies the checksum.
    pub fn read_all(mut self) -> Result<ClkData, ClkError> {
        let n = self.header.record_count as usize;
        let mut ids = Vec::with_capacity(n);
        let mut words = Vec::with_capacity(n * self.header.words_per_record());
        let mut blocks = Vec::with_capacity(n * self.header.block_keys as usize);
        let mut rec = ClkRecord::default();
        while self.read_record(&mut rec)? {
            ids.push(std::mem::take(&mut rec.id));
            words.extend_from_slice(&rec.words);
            blocks.extend_from_slice(&rec.blocks);
        }
        Ok(ClkData {
            header: self.header,
            ids,
            words,
            blocks,
        })
    }
}

#[cfg(test)]
mod tests;
