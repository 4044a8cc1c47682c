//! The header of a `.clk` file: its fields, and their bytes (written and read).

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::{
    ClkError, FILE_VERSION, FILE_VERSION_BLOCKS, FILE_VERSION_FLAGS, FIXED_HEADER,
    FLAG_MISSING_MASKS, MAGIC, MAX_SCHEMA_JSON,
};
use crate::keys::KeyFingerprint;
use crate::schema::{HashingScheme, Layout, SchemaFingerprint};

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
    /// Whether each record carries a missing-field mask after its filter words (version 3,
    /// flag [`FLAG_MISSING_MASKS`]): bit `f` set when field `f` was empty.
    pub missing_masks: bool,
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

    /// `u64` words after a record's filter words: its missing-field mask (if the file has
    /// them), then its block ids.
    pub fn trailer_words(&self) -> usize {
        usize::from(self.missing_masks) + self.block_keys as usize
    }

    /// Bytes per record: id, filter words, missing-field mask and block ids.
    pub fn record_bytes(&self) -> usize {
        self.id_width as usize + (self.words_per_record() + self.trailer_words()) * 8
    }

    /// Bytes of the header, padding included: the offset of the first record.
    pub fn header_len(&self) -> usize {
        (FIXED_HEADER + self.schema_json.len()).div_ceil(8) * 8
    }

    /// Total file size the header implies.
    pub fn file_len(&self) -> u64 {
        // Saturating: a damaged header may claim more than any file holds.
        (self.header_len() as u64)
            .saturating_add(self.record_count.saturating_mul(self.record_bytes() as u64))
            .saturating_add(32)
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.header_len());
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        let flags = if self.missing_masks {
            FLAG_MISSING_MASKS
        } else {
            0
        };
        b.extend_from_slice(&flags.to_le_bytes());
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
    pub(crate) fn read_from(
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
        let got = read_full(r, &mut fixed).map_err(io_err)?;
        if got < MAGIC.len() || fixed[..8] != MAGIC {
            return Err(ClkError::NotClk {
                path: path.to_string(),
            });
        }
        if got < FIXED_HEADER {
            return Err(ClkError::Truncated {
                path: path.to_string(),
            });
        }
        hasher.update(fixed);
        let u16_at = |o: usize| u16::from_le_bytes([fixed[o], fixed[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(fixed[o..o + 4].try_into().expect("4"));
        let version = u16_at(8);
        if ![FILE_VERSION, FILE_VERSION_BLOCKS, FILE_VERSION_FLAGS].contains(&version) {
            return Err(ClkError::UnsupportedVersion {
                path: path.to_string(),
                version,
            });
        }
        let flags = u16_at(10);
        if flags & !FLAG_MISSING_MASKS != 0 || (flags != 0) != (version == FILE_VERSION_FLAGS) {
            return Err(corrupt(format!(
                "version {version} file with header flags {flags:#06x}"
            )));
        }
        let missing_masks = flags & FLAG_MISSING_MASKS != 0;
        let header_len = u32_at(12) as usize;
        let filter_bits = u32_at(80);
        if filter_bits == 0 || !filter_bits.is_multiple_of(64) {
            return Err(corrupt(format!(
                "filter length {filter_bits} bits is not a positive multiple of 64"
            )));
        }
        if filter_bits > MAX_FILTER_BITS {
            return Err(corrupt(format!(
                "filter length {filter_bits} bits is over the largest a file can hold \
                 ({MAX_FILTER_BITS} bits)"
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
        let record_bytes = usize::from(id_width)
            + (filter_bits as usize / 64 * usize::from(filters_per_record)
                + usize::from(missing_masks)
                + usize::from(block_keys))
                * 8;
        if record_bytes > MAX_RECORD_BYTES {
            return Err(corrupt(format!(
                "records of {record_bytes} bytes are over the largest a file can hold \
                 ({MAX_RECORD_BYTES} bytes)"
            )));
        }
        if version != FILE_VERSION_FLAGS && (version == FILE_VERSION) != (block_keys == 0) {
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
        if read_full(r, &mut rest).map_err(io_err)? < rest.len() {
            return Err(ClkError::Truncated {
                path: path.to_string(),
            });
        }
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
            missing_masks,
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
        super::embedded::check(&header, path)?;
        Ok(header)
    }
}

/// Largest record a file holds, in bytes (id, filters and block ids): far above any schema's
/// (100 field-level filters of 4096 bits are 51,200 bytes), and small enough that a damaged
/// header cannot make a reader reserve much memory for one record.
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 20;

/// Largest filter a file holds, in bits.
pub(crate) const MAX_FILTER_BITS: u32 = 65_536;

/// Reads into `buf` until it is full or the input ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(crate) fn layout_code(l: Layout) -> u8 {
    match l {
        Layout::Clk => 0,
        Layout::Field => 1,
        Layout::Rbf => 2,
    }
}

pub(crate) fn layout_from(c: u8) -> Option<Layout> {
    [Layout::Clk, Layout::Field, Layout::Rbf]
        .into_iter()
        .find(|l| layout_code(*l) == c)
}

pub(crate) fn hashing_code(h: HashingScheme) -> u8 {
    match h {
        HashingScheme::HmacSha256 => 0,
        HashingScheme::Blake3 => 1,
        HashingScheme::Clkhash => 2,
    }
}

pub(crate) fn hashing_from(c: u8) -> Option<HashingScheme> {
    [
        HashingScheme::HmacSha256,
        HashingScheme::Blake3,
        HashingScheme::Clkhash,
    ]
    .into_iter()
    .find(|h| hashing_code(*h) == c)
}
