//! Reading a `.clk` file: [`ClkReader`] over any `Read` ([`ClkReader::from_reader`]), with
//! [`ClkReader::open`] for files (which also checks the size against the header up front).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{ClkError, ClkHeader};

/// Records reserved up front when reading a stream whose size is not known.
const STREAM_RESERVE: u64 = 1024;

/// One record read back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClkRecord {
    /// The record id.
    pub id: String,
    /// Its filter words (all filters of the record, in order).
    pub words: Vec<u64>,
    /// Its keyed block ids ([`ClkHeader::block_keys`] of them).
    pub blocks: Vec<u64>,
    /// Its missing-field mask (bit `f`: field `f` was empty); 0 when the file has none
    /// ([`ClkHeader::missing_masks`]).
    pub missing: u64,
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
    /// Missing-field masks, one per record (bit `f`: field `f` was empty), in file order;
    /// empty when the file has none ([`ClkHeader::missing_masks`]).
    pub missing: Vec<u64>,
}

impl ClkData {
    /// The filter words of record `i`.
    pub fn record(&self, i: usize) -> &[u64] {
        let w = self.header.words_per_record();
        &self.words[i * w..(i + 1) * w]
    }

    /// The words a `.clk` record stores after record `i`'s filters: its missing-field mask
    /// (if the data has masks), then its block ids (see [`crate::io::ClkWriter::write_record`]).
    pub fn trailer(&self, i: usize) -> Vec<u64> {
        let k = self.header.block_keys as usize;
        let mask = self.header.missing_masks.then(|| self.missing[i]);
        mask.into_iter()
            .chain(self.blocks[i * k..(i + 1) * k].iter().copied())
            .collect()
    }
}

/// Streams the records of an encoding file, verifying the checksum at the end.
pub struct ClkReader<R: Read = BufReader<File>> {
    path: String,
    header: ClkHeader,
    reader: R,
    hasher: Sha256,
    remaining: u64,
    buf: Vec<u8>,
    /// The size was checked against the header (a file), so nothing can end early.
    sized: bool,
}

impl<R: Read> std::fmt::Debug for ClkReader<R> {
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
            sized: true,
        })
    }
}

impl<R: Read> ClkReader<R> {
    /// Reads the header from `reader` (buffer it: records are read one at a time); `label`
    /// names the input in messages. Without a size known up front, a stream that ends early is
    /// [`ClkError::Truncated`], and one that goes on after its trailer [`ClkError::Trailing`].
    pub fn from_reader(mut reader: R, label: impl Into<String>) -> Result<ClkReader<R>, ClkError> {
        let path = label.into();
        let mut hasher = Sha256::new();
        let header = ClkHeader::read_from(&mut reader, &path, &mut hasher)?;
        Ok(ClkReader {
            buf: vec![0; header.record_bytes()],
            remaining: header.record_count,
            path,
            header,
            reader,
            hasher,
            sized: false,
        })
    }

    /// An I/O error of this input; an early end of a stream of unknown size is truncation.
    fn io(&self, source: std::io::Error) -> ClkError {
        if !self.sized && source.kind() == std::io::ErrorKind::UnexpectedEof {
            return ClkError::Truncated {
                path: self.path.clone(),
            };
        }
        ClkError::Io {
            path: self.path.clone(),
            source,
        }
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
        if let Err(e) = self.reader.read_exact(&mut self.buf) {
            return Err(self.io(e));
        }
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
        let split = match self.header.missing_masks {
            true => {
                rec.missing = u64::from_le_bytes(self.buf[split..split + 8].try_into().expect("8"));
                split + 8
            }
            false => {
                rec.missing = 0;
                split
            }
        };
        words(&self.buf[split..], &mut rec.blocks);
        Ok(true)
    }

    fn verify_trailer(&mut self) -> Result<(), ClkError> {
        let mut trailer = [0u8; 32];
        if let Err(e) = self.reader.read_exact(&mut trailer) {
            return Err(self.io(e));
        }
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if digest != trailer {
            return Err(ClkError::Checksum {
                path: self.path.clone(),
            });
        }
        if !self.sized {
            let mut more = [0u8; 1];
            match self.reader.read(&mut more) {
                Ok(0) => {}
                Ok(_) => {
                    return Err(ClkError::Trailing {
                        path: self.path.clone(),
                    });
                }
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(())
    }

    /// Reads every record into memory (ids and filters apart) and verifies the checksum.
    pub fn read_all(mut self) -> Result<ClkData, ClkError> {
        // A file's size was checked against its header, so its record count is real; a
        // stream's is only a claim until the records arrive, so memory grows with them.
        let n = if self.sized {
            usize::try_from(self.header.record_count).unwrap_or(usize::MAX)
        } else {
            usize::try_from(self.header.record_count.min(STREAM_RESERVE)).unwrap_or(0)
        };
        let mut ids = Vec::with_capacity(n);
        let mut words = Vec::with_capacity(n.saturating_mul(self.header.words_per_record()));
        let mut blocks = Vec::with_capacity(n.saturating_mul(self.header.block_keys as usize));
        let masks = self.header.missing_masks;
        let mut missing = Vec::with_capacity(if masks { n } else { 0 });
        let mut rec = ClkRecord::default();
        while self.read_record(&mut rec)? {
            ids.push(std::mem::take(&mut rec.id));
            words.extend_from_slice(&rec.words);
            blocks.extend_from_slice(&rec.blocks);
            if masks {
                missing.push(rec.missing);
            }
        }
        Ok(ClkData {
            header: self.header,
            ids,
            words,
            blocks,
            missing,
        })
    }
}
