//! The anonlink entity service's binary upload layout.
//!
//! The entity service accepts encodings as `application/octet-stream` (`POST
//! /projects/{id}/clks` with the headers `Hash-Count: N` and `Hash-Size: S`) in the layout it
//! also stores them in (`entityservice.serialization.binary_format`, Python struct
//! `"!I{S}s"`): for each record, its entity id as a 4-byte big-endian unsigned integer, then
//! the `S` bytes of the encoding in clkhash's byte and bit order (see
//! [`super::clkhash_json`]). pprl writes the records in input order with the ids 0, 1, 2, ...
//! (what the service assigns to JSON uploads too), so the file can be uploaded as it is.
//!
//! The layout carries no length: a reader finds `S` as the one record size for which every
//! record's id equals its position, which the ids written here always satisfy.

use std::io::{self, Read, Write};
use std::path::Path;

use super::clkhash_json::words_to_bytes;
use super::{Encodings, ReadError};
use crate::io::AtomicFile;

/// Bytes of the id that precedes each encoding.
pub const ID_BYTES: usize = 4;

/// Writes anonlink binary to any writer; [`BinaryWriter::create`] writes a file atomically.
#[derive(Debug)]
pub struct BinaryWriter<W: Write = AtomicFile> {
    file: W,
    bits: u32,
    count: u64,
    buf: Vec<u8>,
}

impl BinaryWriter {
    /// Starts a file of encodings of `bits` bits (`ceil(bits / 8)` bytes each); it appears
    /// on [`BinaryWriter::finish`] and [`AtomicFile::commit`].
    pub fn create(path: impl AsRef<Path>, bits: u32) -> io::Result<BinaryWriter> {
        Ok(BinaryWriter::new(AtomicFile::create(path)?, bits))
    }
}

impl<W: Write> BinaryWriter<W> {
    /// Writes encodings of `bits` bits to `w`.
    pub fn new(w: W, bits: u32) -> BinaryWriter<W> {
        BinaryWriter {
            file: w,
            bits,
            count: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes per encoding: the `Hash-Size` header of the upload.
    pub fn encoding_bytes(&self) -> usize {
        (self.bits as usize).div_ceil(8)
    }

    /// Appends the next record (its id is its position).
    pub fn write(&mut self, words: &[u64]) -> io::Result<()> {
        let id = u32::try_from(self.count).map_err(|_| {
            io::Error::other("the anonlink binary layout holds at most 2^32 records")
        })?;
        self.buf.clear();
        self.buf.extend_from_slice(&id.to_be_bytes());
        words_to_bytes(words, self.bits, &mut self.buf);
        self.file.write_all(&self.buf)?;
        self.count += 1;
        Ok(())
    }

    /// Records written: the `Hash-Count` header of the upload.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes and hands back the writer (for a file: to commit).
    pub fn finish(mut self) -> io::Result<W> {
        self.file.flush()?;
        Ok(self.file)
    }
}

/// Reads an anonlink binary file, inferring the encoding size from the ids.
pub fn read(path: &Path) -> Result<Encodings, ReadError> {
    let (file, shown) = super::open(path)?;
    from_reader(file, &shown)
}

/// Reads anonlink binary from any reader (it is read whole: the size is inferred from the
/// ids); `label` names the input in messages.
pub fn from_reader(mut reader: impl Read, label: &str) -> Result<Encodings, ReadError> {
    let shown = label.to_string();
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: shown.clone(),
            source,
        })?;
    let size = infer_size(&bytes).ok_or_else(|| ReadError::Invalid {
        path: shown.clone(),
        detail: "not a pprl encoding file, a clkhash JSON file or an anonlink binary file \
                 (records of a 4-byte big-endian id 0, 1, 2, ... followed by the encoding)"
            .into(),
    })?;
    let mut enc = Encodings::default();
    for record in bytes.chunks_exact(ID_BYTES + size) {
        enc.push_bytes(&record[ID_BYTES..])
            .map_err(|detail| ReadError::Invalid {
                path: shown.clone(),
                detail,
            })?;
    }
    Ok(enc)
}

/// The encoding size `S` for which `bytes` is a sequence of records `id(u32 BE) | S bytes`
/// with ids 0, 1, 2, ...; the smallest such size.
fn infer_size(bytes: &[u8]) -> Option<usize> {
    let ids_ok = |size: usize| {
        bytes
            .chunks_exact(ID_BYTES + size)
            .enumerate()
            .all(|(i, r)| u32::from_be_bytes(r[..4].try_into().expect("4")) as usize == i)
    };
    (1..bytes.len().saturating_sub(ID_BYTES) + 1)
        .filter(|size| bytes.len().is_multiple_of(ID_BYTES + size))
        .find(|&size| ids_ok(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clks.bin");
        let mut w = BinaryWriter::create(&path, 128).unwrap();
        for i in 0..300u64 {
            w.write(&[i, !i]).unwrap();
        }
        assert_eq!((w.count(), w.encoding_bytes()), (300, 16));
        w.finish().unwrap().commit().unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 300 * 20);
        assert_eq!(&raw[20..24], &[0, 0, 0, 1], "ids are big-endian positions");
        let enc = read(&path).unwrap();
        assert_eq!((enc.count, enc.bits), (300, 128));
        assert_eq!(&enc.words[2..4], &[1, !1]);
    }

    #[test]
    fn one_record_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.bin");
        std::fs::write(&path, [0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        let enc = read(&path).unwrap();
        assert_eq!((enc.count, enc.bits), (1, 64));
        std::fs::write(&path, b"hello, world").unwrap();
        assert!(matches!(read(&path), Err(ReadError::Invalid { .. })));
    }
}
