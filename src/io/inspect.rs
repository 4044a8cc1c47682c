//! What an input holds, as plain serialisable reports that front ends render as text or JSON.
//!
//! * [`inspect`]: a `.clk` file (read once, end to end, so its checksum is verified): header
//!   facts, counts, popcount statistics and the manifest beside it (`pprl inspect`);
//! * [`inspect_schema`]: a pprl or clkhash schema (`pprl schema check`).

use std::path::Path;

use serde::Serialize;

use super::clk::{ClkError, ClkHeader, ClkReader, ClkRecord};
use super::manifest::{Counts, Manifest};
use crate::compat::{AnySchema, clkhash};
use crate::filter::{PopcountAccumulator, PopcountStats};
use crate::schema::summary::SchemaSummary;

/// Bins of the popcount histogram.
pub const HISTOGRAM_BINS: u32 = 10;

/// The report on one encoding file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    /// The file, as given.
    pub file: String,
    /// Always `ok`: a file whose checksum does not match is an error, not a report.
    pub checksum: &'static str,
    /// The encoding-file format version.
    pub format_version: u16,
    /// Records in the file.
    pub records: u64,
    /// Filter layout (`clk`, `rbf`, `clkrbf`).
    pub layout: &'static str,
    /// Hashing scheme.
    pub hashing: &'static str,
    /// Bits per filter.
    pub filter_bits: u32,
    /// Filters per record.
    pub filters_per_record: u16,
    /// Bytes per record id.
    pub id_width: u16,
    /// Blocking keys (block ids per record).
    pub block_keys: u16,
    /// The schema's fingerprint, in hex.
    pub schema_fingerprint: String,
    /// The secret's fingerprint, in hex.
    pub key_fingerprint: String,
    /// The schema embedded in the header.
    pub schema: serde_json::Value,
    /// Set bits per record.
    pub popcount: PopcountStats,
    /// The manifest beside the file, if there is one.
    pub manifest: Option<ManifestCheck>,
    /// The header itself (for renderers that want the typed fingerprints).
    #[serde(skip)]
    pub header: ClkHeader,
}

/// The manifest found beside an encoding file, and whether it describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestCheck {
    /// The manifest's path.
    pub path: String,
    /// Whether the manifest's SHA-256 is that of the encoding file.
    pub describes_this_file: bool,
    /// Rows read, encoded and rejected when the file was written.
    pub counts: Counts,
    /// When the file was written.
    pub created: String,
    /// The pprl version that wrote it.
    pub tool_version: String,
}

/// Reads the encoding file at `path` to its end (verifying its checksum) and reports on it and
/// on the manifest beside it.
pub fn inspect(path: impl AsRef<Path>) -> Result<Inspection, ClkError> {
    let path = path.as_ref();
    let mut reader = ClkReader::open(path)?;
    let header = reader.header().clone();
    let mut acc =
        PopcountAccumulator::new(header.filter_bits * u32::from(header.filters_per_record));
    let mut rec = ClkRecord::default();
    while reader.read_record(&mut rec)? {
        acc.add(&rec.words);
    }
    let popcount = acc.finish(HISTOGRAM_BINS);
    let manifest_path = Manifest::path_for(path);
    let manifest = match Manifest::read(&manifest_path) {
        Ok(m) => Some(ManifestCheck {
            path: manifest_path.display().to_string(),
            describes_this_file: m.describes(path).map_err(|source| ClkError::Io {
                path: path.display().to_string(),
                source,
            })?,
            counts: m.counts,
            created: m.created,
            tool_version: m.tool_version,
        }),
        Err(_) => None,
    };
    let schema = serde_json::from_slice(&header.schema_json).map_err(|e| ClkError::Corrupt {
        path: path.display().to_string(),
        detail: format!("the embedded schema is not JSON: {e}"),
    })?;
    Ok(Inspection {
        file: path.display().to_string(),
        checksum: "ok",
        format_version: header.version,
        records: header.record_count,
        layout: header.layout.as_str(),
        hashing: header.hashing.as_str(),
        filter_bits: header.filter_bits,
        filters_per_record: header.filters_per_record,
        id_width: header.id_width,
        block_keys: header.block_keys,
        schema_fingerprint: header.schema_fingerprint.to_hex(),
        key_fingerprint: header.key_fingerprint.to_hex(),
        schema,
        popcount,
        manifest,
        header,
    })
}

/// A checked schema of either kind, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SchemaInspection {
    /// A pprl schema.
    Pprl(SchemaSummary),
    /// A clkhash linkage schema.
    Clkhash(ClkhashSchemaSummary),
}

/// A checked clkhash linkage schema, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClkhashSchemaSummary {
    /// Always `true`: an invalid schema is an error, not a summary.
    pub valid: bool,
    /// Always `clkhash`.
    pub kind: &'static str,
    /// The clkhash schema version it was written in.
    pub version: u32,
    /// Its fingerprint, in hex.
    pub fingerprint: String,
    /// Filter length in bits.
    pub l: u32,
    /// XOR folds.
    pub xor_folds: u32,
    /// Every feature's identifier, in schema order.
    pub features: Vec<String>,
    /// The features that are hashed (not ignored).
    pub hashed: Vec<String>,
    /// Warnings about the schema.
    pub warnings: Vec<String>,
}

/// Summarises a schema of either kind.
pub fn inspect_schema(schema: &AnySchema) -> SchemaInspection {
    match schema {
        AnySchema::Pprl(s) => SchemaInspection::Pprl(s.summary()),
        AnySchema::Clkhash(s) => SchemaInspection::Clkhash(clkhash_summary(s)),
    }
}

fn clkhash_summary(schema: &clkhash::Schema) -> ClkhashSchemaSummary {
    ClkhashSchemaSummary {
        valid: true,
        kind: "clkhash",
        version: schema.source_version,
        fingerprint: schema.fingerprint().to_hex(),
        l: schema.l,
        xor_folds: schema.xor_folds,
        features: schema
            .features
            .iter()
            .map(|f| f.identifier.clone())
            .collect(),
        hashed: schema
            .features
            .iter()
            .filter(|f| f.hashing.is_some())
            .map(|f| f.identifier.clone())
            .collect(),
        warnings: schema.warnings.clone(),
    }
}
