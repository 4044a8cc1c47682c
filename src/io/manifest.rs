//! The manifest written beside an encoding file (`OUT.clk.manifest.json`).
//!
//! The encoding file itself holds no timestamp or host detail, so that it is byte-identical for
//! the same input, schema and secret. What varies between runs (the tool version, the time) and
//! the row accounting go here, with the SHA-256 of the encoding file to tie the two together.
//!
//! [`Manifest::write_to`] writes it to any [`Write`], [`Manifest::write`] atomically to a file;
//! [`Manifest::read_from`] and [`Manifest::read`] read it back.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::AtomicFile;

/// Row accounting: `rows_read == rows_encoded + rows_rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Data rows read from the input.
    pub rows_read: u64,
    /// Rows written to the encoding file.
    pub rows_encoded: u64,
    /// Rows written to the rejects report.
    pub rows_rejected: u64,
}

/// The manifest's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `pprl`.
    pub tool: String,
    /// Version of the tool that wrote the file.
    pub tool_version: String,
    /// Encoding format version.
    pub format_version: u16,
    /// UTC creation time, RFC 3339.
    pub created: String,
    /// File name of the encoding file (no directory).
    pub encoding_file: String,
    /// SHA-256 of the whole encoding file, hex.
    pub encoding_sha256: String,
    /// Schema fingerprint, hex.
    pub schema_fingerprint: String,
    /// Key fingerprint, hex.
    pub key_fingerprint: String,
    /// Filter layout.
    pub layout: String,
    /// Hashing scheme.
    pub hashing: String,
    /// Bits per filter.
    pub filter_bits: u32,
    /// Row accounting.
    pub counts: Counts,
    /// Per schema field, the values that were invalid and encoded as missing (each has a
    /// `field-missing` line in the rejects report). Left out when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields_invalid: BTreeMap<String, u64>,
    /// File name of the rejects report, if one was written.
    pub rejects_file: Option<String>,
    /// The leakage audit of the encodings (`crate::privacy::PrivacyAudit` as JSON), recorded
    /// by `pprl encode` after the file is written. Left out when none was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<serde_json::Value>,
}

impl Manifest {
    /// The manifest path for an encoding file: `OUT.clk` -> `OUT.clk.manifest.json`.
    pub fn path_for(encoding: impl AsRef<Path>) -> PathBuf {
        let mut p = encoding.as_ref().as_os_str().to_owned();
        p.push(".manifest.json");
        PathBuf::from(p)
    }

    /// Writes the manifest to a temporary file beside `path`; commit it to make it appear.
    pub fn write(&self, path: impl AsRef<Path>) -> io::Result<AtomicFile> {
        let mut f = AtomicFile::create(path)?;
        self.write_to(&mut f)?;
        Ok(f)
    }

    /// Writes the manifest (pretty JSON and a line break) to `writer`.
    pub fn write_to(&self, mut writer: impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut writer, self)?;
        writer.write_all(b"\n")
    }

    /// True if `encoding` is the file this manifest describes (its SHA-256 matches).
    pub fn describes(&self, encoding: impl AsRef<Path>) -> io::Result<bool> {
        use sha2::{Digest, Sha256};
        use std::io::Read as _;
        let mut hasher = Sha256::new();
        let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(encoding)?);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()) == self.encoding_sha256)
    }

    /// Reads a manifest from any reader.
    pub fn read_from(reader: impl io::Read) -> io::Result<Manifest> {
        serde_json::from_reader(reader).map_err(io::Error::other)
    }

    /// Reads a manifest.
    pub fn read(path: impl AsRef<Path>) -> io::Result<Manifest> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_what_was_written() {
        let m = Manifest {
            tool: "pprl".into(),
            tool_version: "1".into(),
            format_version: 1,
            created: "2026-01-01T00:00:00Z".into(),
            encoding_file: "a.clk".into(),
            encoding_sha256: "00".into(),
            schema_fingerprint: "11".into(),
            key_fingerprint: "22".into(),
            layout: "clk".into(),
            hashing: "hmac-sha256".into(),
            filter_bits: 1024,
            counts: Counts {
                rows_read: 3,
                rows_encoded: 2,
                rows_rejected: 1,
            },
            fields_invalid: BTreeMap::from([("dob".to_string(), 2)]),
            rejects_file: None,
            privacy: Some(serde_json::json!({ "summary": "frequency low" })),
        };
        let mut bytes = Vec::new();
        m.write_to(&mut bytes).unwrap();
        assert!(bytes.ends_with(b"}\n"));
        assert_eq!(Manifest::read_from(&bytes[..]).unwrap(), m);
    }
}
