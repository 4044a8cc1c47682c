//! Interoperability with clkhash and anonlink (data61): their schemas, encodings and files.
//!
//! Many departments already encode with clkhash and send CLKs to a third party running
//! anonlink or the anonlink entity service. This module lets them switch to pprl one
//! department at a time:
//!
//! * [`clkhash`]: a clkhash linkage schema (v1, v2 or v3) and secret give *bit-identical*
//!   CLKs, so pprl's CLKs link with clkhash's;
//! * [`OutputFormat`]: an encoding job writes pprl's `.clk`, clkhash's JSON or the anonlink
//!   entity service's binary upload layout ([`anonlink_binary`]), whichever schema made it;
//! * [`read_encoding_file`]: the third party's `pprl match` reads all three.
//!
//! clkhash's formats identify records by their position and carry no fingerprints. pprl
//! therefore refuses to write them with gaps (a rejected row fails the job rather than shift
//! every later record), and warns when it matches them that it cannot check that the files
//! were made with the same secret and schema.

pub mod anonlink_binary;
pub mod clkhash;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::encode::{Encoder, Rejection};
use crate::io::clk::{ClkParams, FILE_VERSION, MAGIC};
use crate::io::{ClkData, ClkError, ClkHeader, ClkReader, Input, InputRow, RejectWriter};
use crate::keys::{KeyFingerprint, Secret};
use crate::pipeline::{
    self, EncodeError, EncodeOptions, EncodeSummary, IdSource, NativeRows, Progress, RowEncoder,
    RowSink, Streamed,
};
use crate::schema::{HashingScheme, Layout, Schema, SchemaError, SchemaFingerprint};

/// The fingerprint a file without fingerprints is given when it is read: all zeros, which no
/// real fingerprint is (they are SHA-256 and HKDF outputs). [`crate::linkage::job`] skips the
/// key and schema checks for such files and warns instead.
pub const UNKNOWN_FINGERPRINT: [u8; 32] = [0; 32];

/// Output format of an encoding job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// pprl's `.clk` file (record ids, fingerprints, checksum) with a manifest.
    Clk,
    /// clkhash's `{"clks": [base64, ...]}`, one CLK per input row, in input order.
    ClkhashJson,
    /// The anonlink entity service's binary upload layout, one record per input row.
    AnonlinkBinary,
}

impl OutputFormat {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Clk => "clk",
            OutputFormat::ClkhashJson => "clkhash-json",
            OutputFormat::AnonlinkBinary => "anonlink-binary",
        }
    }
}

/// A linkage schema of either kind, as `pprl encode --schema` reads it.
#[derive(Debug, Clone)]
pub enum AnySchema {
    /// pprl's own schema (TOML or JSON).
    Pprl(Box<Schema>),
    /// A clkhash linkage schema (JSON with clkhash's keys).
    Clkhash(Box<clkhash::Schema>),
}

/// A schema that could not be read, of either kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnySchemaError {
    /// A pprl schema problem.
    #[error(transparent)]
    Pprl(#[from] SchemaError),
    /// A clkhash schema problem.
    #[error(transparent)]
    Clkhash(#[from] clkhash::SchemaError),
}

impl AnySchema {
    /// Reads a schema file: a `.json` file with clkhash's top-level keys (`clkConfig`,
    /// `features`) is a clkhash schema; anything else is a pprl schema.
    pub fn from_path(path: impl AsRef<Path>) -> Result<AnySchema, AnySchemaError> {
        let path = path.as_ref();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
                path: path.display().to_string(),
                source,
            })?;
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
                && clkhash::schema::is_clkhash_schema(&value)
            {
                return Ok(AnySchema::Clkhash(Box::new(clkhash::Schema::from_value(
                    &value,
                )?)));
            }
            return Ok(AnySchema::Pprl(Box::new(Schema::from_json_str(&text)?)));
        }
        Ok(AnySchema::Pprl(Box::new(Schema::from_path(path)?)))
    }
}

/// What an encoding job into clkhash JSON or anonlink binary did.
#[derive(Debug, Clone)]
pub struct PositionalSummary {
    /// Rows read (all encoded: a rejected row fails the job).
    pub rows: u64,
    /// The output file.
    pub output: PathBuf,
    /// Bits per encoding.
    pub bits: u32,
    /// Bytes per encoding in the file (anonlink's `Hash-Size`).
    pub bytes_per_encoding: usize,
    /// Wall time.
    pub elapsed: std::time::Duration,
    /// Threads used.
    pub threads: usize,
}

/// What an encoding job did, by output format.
#[derive(Debug, Clone)]
pub enum JobSummary {
    /// A `.clk` file with its manifest (and rejects report).
    Clk(EncodeSummary),
    /// A clkhash JSON or anonlink binary file.
    Positional(PositionalSummary),
}

/// The encoder of a job: pprl's own, or clkhash's.
#[derive(Debug)]
pub enum JobEncoder<'a> {
    /// A pprl schema and its encoder.
    Pprl(&'a Schema, &'a Encoder),
    /// A clkhash encoder.
    Clkhash(&'a clkhash::Encoder),
}

/// Runs an encoding job into any output format (see the module docs).
pub fn encode_csv(
    encoder: JobEncoder<'_>,
    format: OutputFormat,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<JobSummary, EncodeError> {
    match (encoder, format) {
        (JobEncoder::Pprl(schema, enc), OutputFormat::Clk) => Ok(JobSummary::Clk(
            pipeline::encode_csv(schema, enc, opts, progress)?,
        )),
        (JobEncoder::Pprl(schema, enc), _) => {
            let mut input = pipeline::open_input(opts)?;
            let rows = NativeRows::new(schema, enc, &mut input)?;
            let bits = enc.filter_bits() * enc.filters_per_record() as u32;
            positional(input, &rows, bits, format, opts, progress)
        }
        (JobEncoder::Clkhash(enc), format) => {
            let mut input = pipeline::open_input(opts)?;
            let rows = ClkhashRows::new(enc, &mut input)?;
            if format != OutputFormat::Clk {
                return positional(input, &rows, enc.filter_bits(), format, opts, progress);
            }
            let bits = enc.filter_bits();
            if !bits.is_multiple_of(64) || bits > crate::schema::MAX_FILTER_BITS {
                return Err(EncodeError::Options(format!(
                    "the .clk format holds filters of a multiple of 64 bits up to {}, and \
                     this clkhash schema's l is {bits}; write --format clkhash-json instead",
                    crate::schema::MAX_FILTER_BITS
                )));
            }
            let params = ClkParams {
                schema_fingerprint: enc.schema_fingerprint(),
                key_fingerprint: enc.key_fingerprint(),
                layout: Layout::Clk,
                hashing: HashingScheme::Clkhash,
                filter_bits: bits,
                filters_per_record: 1,
                block_keys: 0,
                schema_json: enc.schema_json().to_vec(),
            };
            Ok(JobSummary::Clk(pipeline::encode_to_clk(
                input,
                &rows,
                params,
                IdSource::Position,
                opts,
                progress,
            )?))
        }
    }
}

/// A clkhash encoder reading its features from the CSV columns.
///
/// Columns are matched as clkhash does when the header is exactly the features' identifiers
/// in order (clkhash requires that); otherwise each hashed feature's column is found by name,
/// so exports with extra or reordered columns work too.
#[derive(Debug)]
pub struct ClkhashRows<'a> {
    encoder: &'a clkhash::Encoder,
    /// Column of each feature (ignored features: unused).
    columns: Vec<usize>,
}

impl<'a> ClkhashRows<'a> {
    /// Maps the encoder's features to `input`'s columns.
    pub fn new(
        encoder: &'a clkhash::Encoder,
        input: &mut Input,
    ) -> Result<ClkhashRows<'a>, EncodeError> {
        let features = encoder.features();
        let header: Vec<&str> = input.headers();
        if header == features.iter().map(String::as_str).collect::<Vec<_>>() {
            return Ok(ClkhashRows {
                encoder,
                columns: (0..features.len()).collect(),
            });
        }
        let hashed: Vec<usize> = encoder.hashed_features().collect();
        let wanted: Vec<(&str, String)> = hashed
            .iter()
            .map(|&i| {
                (
                    features[i].as_str(),
                    format!("clkhash feature `{}`", features[i]),
                )
            })
            .collect();
        let found = input.resolve_columns(&wanted)?;
        let mut columns = vec![usize::MAX; features.len()];
        for (i, c) in hashed.into_iter().zip(found) {
            columns[i] = c;
        }
        Ok(ClkhashRows { encoder, columns })
    }
}

impl RowEncoder for ClkhashRows<'_> {
    type Scratch = clkhash::Scratch;

    fn words_per_record(&self) -> usize {
        self.encoder.words_per_record()
    }

    fn encode_row(
        &self,
        row: &InputRow,
        scratch: &mut clkhash::Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        self.encoder.encode_record(
            |i| row.record.get(self.columns[i]).unwrap_or(""),
            scratch,
            out,
        )
    }
}

/// The writer of a positional format.
enum PositionalWriter {
    Json(clkhash::json::JsonWriter),
    Binary(anonlink_binary::BinaryWriter),
}

/// Writes encodings in input order; rejected rows go to the rejects report, and any of them
/// fails the job at the end.
struct PositionalSink {
    writer: PositionalWriter,
    output: PathBuf,
    rejects: RejectWriter,
    rejects_path: PathBuf,
    first: Option<String>,
}

impl RowSink for PositionalSink {
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<&[u64], &Rejection>,
    ) -> Result<(), EncodeError> {
        match outcome {
            Ok(words) => {
                if self.first.is_some() {
                    return Ok(()); // the job fails anyway; keep collecting rejects
                }
                let written = match &mut self.writer {
                    PositionalWriter::Json(w) => w.write(words),
                    PositionalWriter::Binary(w) => w.write(words),
                };
                written.map_err(|source| EncodeError::Output {
                    path: self.output.display().to_string(),
                    source,
                })
            }
            Err(r) => {
                if self.first.is_none() {
                    self.first = Some(format!(
                        "row {} (line {}; clkhash's row index {}), {}: {}",
                        row.row,
                        row.line,
                        row.row - 1,
                        r.field
                            .as_deref()
                            .map(|f| format!("field `{f}`"))
                            .unwrap_or_else(|| "the row".into()),
                        r.reason
                    ));
                }
                let id = (row.row - 1).to_string();
                pipeline::write_reject(&mut self.rejects, &self.rejects_path, row, &id, r)
            }
        }
    }
}

fn positional<E: RowEncoder>(
    input: Input,
    rows: &E,
    bits: u32,
    format: OutputFormat,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<JobSummary, EncodeError> {
    let started = std::time::Instant::now();
    let out_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| EncodeError::Output { path, source }
    };
    let writer = match format {
        OutputFormat::ClkhashJson => PositionalWriter::Json(
            clkhash::json::JsonWriter::create(&opts.output, bits).map_err(out_err(&opts.output))?,
        ),
        _ => PositionalWriter::Binary(
            anonlink_binary::BinaryWriter::create(&opts.output, bits)
                .map_err(out_err(&opts.output))?,
        ),
    };
    let (rejects, rejects_path) = pipeline::create_rejects(opts)?;
    let sink = PositionalSink {
        writer,
        output: opts.output.clone(),
        rejects,
        rejects_path,
        first: None,
    };
    let Streamed {
        sink,
        rows_read,
        threads,
    } = pipeline::stream_rows(input, rows, sink, opts, progress)?;
    let PositionalSink {
        writer,
        rejects,
        rejects_path,
        first,
        ..
    } = sink;
    if let Some(first) = first {
        let count = rejects.count();
        rejects
            .finish()
            .and_then(|f| f.commit())
            .map_err(out_err(&rejects_path))?;
        return Err(EncodeError::RowsRejected {
            rows: count,
            format: format.as_str(),
            first,
            rejects: rejects_path.display().to_string(),
        });
    }
    let file = match writer {
        PositionalWriter::Json(w) => w.finish(),
        PositionalWriter::Binary(w) => w.finish(),
    }
    .map_err(out_err(&opts.output))?;
    file.commit().map_err(out_err(&opts.output))?;
    if opts.rejects.is_some() {
        rejects
            .finish()
            .and_then(|f| f.commit())
            .map_err(out_err(&rejects_path))?;
    }
    Ok(JobSummary::Positional(PositionalSummary {
        rows: rows_read,
        output: opts.output.clone(),
        bits,
        bytes_per_encoding: (bits as usize).div_ceil(8),
        elapsed: started.elapsed(),
        threads,
    }))
}

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
    /// Appends one encoding given as clkhash's bytes; all must have the same length.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let bits = bytes.len() * 8;
        if bits == 0 {
            return Err("an empty encoding".into());
        }
        if self.count == 0 {
            self.bits = u32::try_from(bits).map_err(|_| "an encoding of over 4 Gbit")?;
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
        clkhash::json::bytes_to_words(bytes, &mut self.words[start..]);
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
    /// Detects the kind from the first bytes: the `.clk` magic, a JSON object, or else the
    /// anonlink binary layout.
    pub fn detect(path: &Path) -> Result<FileKind, ReadError> {
        let mut head = [0u8; 64];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|source| ReadError::Io {
                path: path.display().to_string(),
                source,
            })?;
        let head = &head[..n];
        Ok(if head.starts_with(&MAGIC) {
            FileKind::Clk
        } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            FileKind::ClkhashJson
        } else {
            FileKind::AnonlinkBinary
        })
    }
}

/// Reads an encoding file of any kind for matching. A clkhash JSON or anonlink binary file
/// gets record ids `0, 1, 2, ...` (its positions), layout `clk`, hashing `clkhash` and
/// [`UNKNOWN_FINGERPRINT`]s; its encodings must be a multiple of 64 bits long.
pub fn read_encoding_file(path: &Path) -> Result<(ClkData, FileKind), ReadError> {
    let kind = FileKind::detect(path)?;
    let enc = match kind {
        FileKind::Clk => return Ok((ClkReader::open(path)?.read_all()?, kind)),
        FileKind::ClkhashJson => clkhash::json::read(path)?,
        FileKind::AnonlinkBinary => anonlink_binary::read(path)?,
    };
    if enc.count == 0 {
        return Err(ReadError::Invalid {
            path: path.display().to_string(),
            detail: "the file holds no encodings".into(),
        });
    }
    if !enc.bits.is_multiple_of(64) || enc.bits > 65_536 {
        return Err(ReadError::Invalid {
            path: path.display().to_string(),
            detail: format!(
                "its encodings have {} bits; pprl matches encodings of a multiple of 64 bits",
                enc.bits
            ),
        });
    }
    let header = ClkHeader {
        version: FILE_VERSION,
        schema_fingerprint: SchemaFingerprint(UNKNOWN_FINGERPRINT),
        key_fingerprint: KeyFingerprint(UNKNOWN_FINGERPRINT),
        layout: Layout::Clk,
        hashing: HashingScheme::Clkhash,
        filter_bits: enc.bits,
        filters_per_record: 1,
        id_width: 8,
        block_keys: 0,
        record_count: enc.count,
        schema_json: Vec::new(),
    };
    let data = ClkData {
        header,
        ids: (0..enc.count).map(|i| i.to_string()).collect(),
        words: enc.words,
        blocks: Vec::new(),
    };
    Ok((data, kind))
}

/// True if the secret file's bytes end with a line break, which clkhash's command-line
/// secrets never have: a frequent cause of CLKs that do not match.
pub fn secret_ends_with_newline(secret: &Secret) -> bool {
    secret.expose_bytes().ends_with(b"\n")
}
