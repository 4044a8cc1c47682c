//! Writing a `.clk` file: records spooled while they stream, then the file written in one
//! pass, atomically (see the module docs of [`super`]).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{
    ClkError, ClkHeader, FILE_VERSION, FILE_VERSION_BLOCKS, FILE_VERSION_FLAGS, MAX_ID_BYTES,
};
use crate::io::AtomicFile;
use crate::keys::KeyFingerprint;
use crate::schema::{HashingScheme, Layout, SchemaFingerprint};

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
    /// Whether records carry a missing-field mask (the `field` layout).
    pub missing_masks: bool,
    /// Canonical schema JSON.
    pub schema_json: Vec<u8>,
}

impl ClkParams {
    /// Filter words per record (the block ids come after them), as
    /// [`ClkHeader::words_per_record`] of the file's header.
    pub fn words_per_record(&self) -> usize {
        self.filter_bits as usize / 64 * self.filters_per_record as usize
    }

    /// `u64` words after a record's filter words: its mask, then its block ids.
    pub fn trailer_words(&self) -> usize {
        usize::from(self.missing_masks) + self.block_keys as usize
    }

    /// The header of a file of `record_count` records whose longest id is `max_id` bytes:
    /// version 3 ([`FILE_VERSION_FLAGS`]) when records carry missing-field masks, else
    /// version 2 ([`FILE_VERSION_BLOCKS`]) when they carry block ids, else version 1 (the
    /// lowest that holds the data, so older builds read what they can); ids padded to a
    /// multiple of 8 bytes (at least 8).
    pub fn header(self, record_count: u64, max_id: usize) -> ClkHeader {
        ClkHeader {
            version: if self.missing_masks {
                FILE_VERSION_FLAGS
            } else if self.block_keys == 0 {
                FILE_VERSION
            } else {
                FILE_VERSION_BLOCKS
            },
            schema_fingerprint: self.schema_fingerprint,
            key_fingerprint: self.key_fingerprint,
            layout: self.layout,
            hashing: self.hashing,
            filter_bits: self.filter_bits,
            filters_per_record: self.filters_per_record,
            id_width: max_id.max(1).div_ceil(8) as u16 * 8,
            block_keys: self.block_keys,
            missing_masks: self.missing_masks,
            record_count,
            schema_json: self.schema_json,
        }
    }
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
pub(crate) const SEEN_START: usize = 1 << 16;

impl ClkWriter {
    /// Starts an encoding file at `path` (nothing appears there until the final commit).
    pub fn create(path: impl AsRef<Path>, params: ClkParams) -> Result<ClkWriter, ClkError> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => ".".into(),
        };
        ClkWriter::spooled_in(&dir, path.display().to_string(), params)
    }

    /// Starts an encoding file for any writer ([`ClkWriter::finish_to`]), spooling in the
    /// system's temporary directory; `label` names the output in messages.
    pub fn new(label: impl Into<String>, params: ClkParams) -> Result<ClkWriter, ClkError> {
        ClkWriter::spooled_in(&std::env::temp_dir(), label.into(), params)
    }

    fn spooled_in(dir: &Path, shown: String, params: ClkParams) -> Result<ClkWriter, ClkError> {
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
    /// `trailer` its missing-field mask (with [`ClkParams::missing_masks`]) followed by its
    /// [`ClkParams::block_keys`] block ids.
    pub fn write_record(
        &mut self,
        row: u64,
        id: &str,
        words: &[u64],
        trailer: &[u64],
    ) -> Result<(), ClkError> {
        let blocks = trailer;
        assert!(
            id.len() <= MAX_ID_BYTES && !id.contains('\0'),
            "record id checked by caller"
        );
        debug_assert_eq!(words.len(), self.params.words_per_record());
        assert_eq!(
            blocks.len(),
            self.params.trailer_words(),
            "mask and block ids"
        );
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
    /// returns it with its summary; call [`AtomicFile::commit`] to make it appear. (A writer
    /// from [`ClkWriter::new`] has no path: use [`ClkWriter::finish_to`].)
    pub fn finish(self) -> Result<(AtomicFile, ClkSummary), ClkError> {
        let out = AtomicFile::create(&self.path).map_err(|source| ClkError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.finish_to(out)
    }

    /// Writes the encoding file to `out` (any writer) and returns it, flushed, with the
    /// summary. [`ClkWriter::finish`] does this to the atomic file at the writer's path.
    pub fn finish_to<W: Write>(self, mut out: W) -> Result<(W, ClkSummary), ClkError> {
        let path = self.path.clone();
        let io_err = |source| ClkError::Io {
            path: path.clone(),
            source,
        };
        let mut spool = self
            .spool
            .into_inner()
            .map_err(|e| io_err(e.into_error()))?;
        let words = self.params.words_per_record() + self.params.trailer_words();
        if !self.suspects.is_empty() {
            check_suspects(&mut spool, words, &self.suspects).map_err(|e| match e {
                SpoolError::Io(e) => io_err(e),
                SpoolError::Duplicate(err) => err,
            })?;
        }
        let header = self.params.header(self.count, self.max_id);
        let mut hasher = Sha256::new();
        let mut emit = |bytes: &[u8], out: &mut W| -> io::Result<()> {
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
