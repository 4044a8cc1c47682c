//! What a finished job reports, as data: [`EncodeSummary`] for a `.clk` job (the other
//! formats' summaries are in `formats`). Reports serialise with serde for front ends (the
//! CLI's `--format json`, a service's response): durations as seconds (`f64`), paths as
//! strings, fingerprints and hashes as hex.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::io::Counts;
use crate::io::clk::ClkSummary;

/// What a finished `.clk` job did.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeSummary {
    /// Row accounting.
    pub counts: Counts,
    /// Per schema field, the invalid values encoded as missing (each reported in the rejects
    /// report with `action = field-missing`). Left out of the JSON when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields_invalid: BTreeMap<String, u64>,
    /// The encoding file.
    #[serde(serialize_with = "path")]
    pub output: PathBuf,
    /// Its header and hash.
    #[serde(serialize_with = "clk_summary")]
    pub clk: ClkSummary,
    /// The rejects report, if written.
    #[serde(serialize_with = "optional_path")]
    pub rejects: Option<PathBuf>,
    /// The manifest.
    #[serde(serialize_with = "path")]
    pub manifest: PathBuf,
    /// Wall time (serialised as seconds).
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
}

/// Serialises a duration as seconds.
pub(crate) fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Serialises a path as a string (lossily, for paths that are not UTF-8).
pub(crate) fn path<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

pub(crate) fn optional_path<S: Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&*p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// The header of an encoding file as reported: everything but the schema JSON (which the
/// schema fingerprint stands for).
#[derive(Serialize)]
struct ClkSummaryView<'a> {
    version: u16,
    schema_fingerprint: String,
    key_fingerprint: String,
    layout: &'a str,
    hashing: &'a str,
    filter_bits: u32,
    filters_per_record: u16,
    id_width: u16,
    block_keys: u16,
    record_count: u64,
    file_sha256: String,
}

fn clk_summary<S: Serializer>(c: &ClkSummary, s: S) -> Result<S::Ok, S::Error> {
    let h = &c.header;
    ClkSummaryView {
        version: h.version,
        schema_fingerprint: h.schema_fingerprint.to_hex(),
        key_fingerprint: h.key_fingerprint.to_hex(),
        layout: h.layout.as_str(),
        hashing: h.hashing.as_str(),
        filter_bits: h.filter_bits,
        filters_per_record: h.filters_per_record,
        id_width: h.id_width,
        block_keys: h.block_keys,
        record_count: h.record_count,
        file_sha256: hex::encode(c.file_sha256),
    }
    .serialize(s)
}
