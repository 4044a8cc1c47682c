//! The encoding job: an export in; an encoding file, a rejects report and a manifest out.
//!
//! The export is CSV, or Parquet with the `polars` feature ([`crate::io::table`]); both arrive as
//! the same rows, so the job below does not know which. A reader thread streams the rows in
//! chunks through a bounded channel (so memory stays constant however large the export); each
//! chunk is encoded in parallel on a rayon pool and then written in input order. Chunking fixes
//! the order of the output, so the bytes do not
//! depend on the number of threads or the chunk size.
//!
//! Every input row ends up in exactly one place: the encoding file or the rejects report
//! (`rows_read == rows_encoded + rows_rejected`, recorded in the manifest). Problems with the
//! file as a whole (malformed CSV or Parquet, invalid UTF-8, a missing column, a duplicate
//! record id) stop the job with an error and leave no output behind: all three outputs are
//! written to temporary files and renamed into place only when the whole input has been
//! processed.
//!
//! The stages are generic: a [`RowEncoder`] turns a row into words and a [`RowSink`] receives
//! the rows in order. [`encode_csv`] pairs pprl's encoder ([`NativeRows`]) with a `.clk` file
//! ([`ClkSink`]); `crate::compat` pairs clkhash's encoder, or clkhash's and anonlink's file
//! formats, with the same [`stream_rows`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

mod formats;

pub use formats::{
    ClkhashRows, JobEncoder, JobSummary, OutputFormat, PositionalSummary, encode_any,
};

use crate::encode::{Encoder, Rejection, Scratch};
use crate::io::clk::{ClkParams, ClkSummary};
use crate::io::manifest::Counts;
use crate::io::{
    ClkError, ClkWriter, Input, InputError, InputRow, Manifest, RejectRow, RejectWriter,
    TableFormat,
};
use crate::schema::Schema;

/// Default rows per chunk: large enough to amortise the hand-off between threads, small enough
/// to keep memory flat (a few MiB).
pub const DEFAULT_CHUNK_ROWS: usize = 4096;

/// What to encode, where to, and how.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Input path, or `-` for standard input (CSV only).
    pub input: String,
    /// Format of the input; `None`: from the extension ([`TableFormat::from_path`]).
    pub format: Option<TableFormat>,
    /// Output encoding file.
    pub output: PathBuf,
    /// Rejects report. `None`: `OUTPUT.rejects.csv`, written only if a row is rejected.
    pub rejects: Option<PathBuf>,
    /// Worker threads; `None` uses one per core.
    pub threads: Option<usize>,
    /// Rows per chunk.
    pub chunk_rows: usize,
    /// CSV field delimiter.
    pub delimiter: u8,
}

impl EncodeOptions {
    /// Options with defaults for everything but the paths.
    pub fn new(input: impl Into<String>, output: impl Into<PathBuf>) -> Self {
        EncodeOptions {
            input: input.into(),
            format: None,
            output: output.into(),
            rejects: None,
            threads: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            delimiter: b',',
        }
    }
}

/// A job-stopping problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The input is not what the schema describes.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The encoding file could not be written, or ids repeat.
    #[error(transparent)]
    Clk(#[from] ClkError),
    /// Another output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The options contradict each other.
    #[error("{0}")]
    Options(String),
    /// Rows were rejected, but the output format identifies records by their position, so a
    /// file without them would misalign every later record: nothing was written.
    #[error(
        "{rows} row(s) could not be encoded, and {format} output holds one encoding per input \
         row, identified by position, so no output was written; the first: {first}; every \
         rejected row is listed in {rejects}"
    )]
    RowsRejected {
        /// How many rows were rejected.
        rows: u64,
        /// The output format.
        format: &'static str,
        /// The first rejected row: row, line, field and reason.
        first: String,
        /// The rejects report.
        rejects: String,
    },
}

/// What a finished job did.
#[derive(Debug, Clone)]
pub struct EncodeSummary {
    /// Row accounting.
    pub counts: Counts,
    /// The encoding file.
    pub output: PathBuf,
    /// Its header and hash.
    pub clk: ClkSummary,
    /// The rejects report, if written.
    pub rejects: Option<PathBuf>,
    /// The manifest.
    pub manifest: PathBuf,
    /// Wall time.
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
}

/// Progress callback: `(rows done, input bytes read)`.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// The default rejects path for an output: `OUT.clk` -> `OUT.clk.rejects.csv`.
pub fn default_rejects_path(output: &Path) -> PathBuf {
    let mut p = output.as_os_str().to_owned();
    p.push(".rejects.csv");
    PathBuf::from(p)
}

/// Turns one input row into filter words. pprl's own [`Encoder`] is one (see
/// [`NativeRows`]); compatibility encoders (`crate::compat`) are others, and they share the
/// reader -> parallel encoding -> ordered writer machinery of [`stream_rows`].
pub trait RowEncoder: Sync {
    /// Per-thread buffers, reused from row to row.
    type Scratch: Default + Send;
    /// `u64` words per encoded row.
    fn words_per_record(&self) -> usize;
    /// Encodes `row` into `out` (overwritten), or says why the row cannot be encoded.
    fn encode_row(
        &self,
        row: &InputRow,
        scratch: &mut Self::Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection>;
}

/// Receives every row, in input order, with its outcome: the filter words if it was encoded,
/// the rejection if not.
pub trait RowSink: Send {
    /// Handles one row.
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<&[u64], &Rejection>,
    ) -> Result<(), EncodeError>;
}

/// What [`stream_rows`] hands back.
#[derive(Debug)]
pub struct Streamed<S> {
    /// The sink, holding whatever it wrote.
    pub sink: S,
    /// Rows read from the input.
    pub rows_read: u64,
    /// Worker threads used.
    pub threads: usize,
}

/// Opens the job's input after checking the options (the output must not overwrite the
/// input; chunks hold at least one row).
pub fn open_input(opts: &EncodeOptions) -> Result<Input, EncodeError> {
    if opts.input != "-" && same_file(Path::new(&opts.input), &opts.output) {
        return Err(EncodeError::Options(format!(
            "the output {} would overwrite the input",
            opts.output.display()
        )));
    }
    if opts.chunk_rows == 0 {
        return Err(EncodeError::Options(
            "the chunk size must be at least 1 row".into(),
        ));
    }
    let format = opts
        .format
        .unwrap_or_else(|| TableFormat::from_path(&opts.input));
    Ok(Input::open(&opts.input, format, opts.delimiter)?)
}

/// pprl's [`Encoder`] reading its fields from the columns the schema names.
#[derive(Debug)]
pub struct NativeRows<'a> {
    encoder: &'a Encoder,
    id_col: usize,
    field_cols: Vec<usize>,
}

impl<'a> NativeRows<'a> {
    /// Finds the schema's columns in `input`'s header.
    pub fn new(
        schema: &Schema,
        encoder: &'a Encoder,
        input: &mut Input,
    ) -> Result<NativeRows<'a>, EncodeError> {
        let mut wanted = vec![(schema.id_column.as_str(), "id_column".to_string())];
        wanted.extend(
            schema
                .fields
                .iter()
                .map(|f| (f.column(), format!("field `{}`", f.name))),
        );
        let columns = input.resolve_columns(&wanted)?;
        Ok(NativeRows {
            encoder,
            id_col: columns[0],
            field_cols: columns[1..].to_vec(),
        })
    }

    /// The column holding the record id.
    pub fn id_column(&self) -> usize {
        self.id_col
    }
}

impl RowEncoder for NativeRows<'_> {
    type Scratch = Scratch;

    /// The filter words, then one block id per keyed blocking key.
    fn words_per_record(&self) -> usize {
        self.encoder.words_per_record() + self.encoder.block_keys()
    }

    fn encode_row(
        &self,
        row: &InputRow,
        scratch: &mut Scratch,
        out: &mut [u64],
    ) -> Result<(), Rejection> {
        check_id(row.record.get(self.id_col).unwrap_or(""))?;
        let value = |i: usize| row.record.get(self.field_cols[i]).unwrap_or("");
        let (bits, blocks) = out.split_at_mut(self.encoder.words_per_record());
        self.encoder.encode_record(value, scratch, bits)?;
        self.encoder.encode_blocks(value, scratch, blocks);
        Ok(())
    }
}

/// Where the record id of a `.clk` record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSource {
    /// A CSV column (the schema's `id_column`).
    Column(usize),
    /// The row's position among the data rows, from 0, as clkhash and anonlink identify
    /// records.
    Position,
}

/// Writes encoded rows to a `.clk` file and rejected rows to a rejects report.
#[derive(Debug)]
pub struct ClkSink {
    writer: ClkWriter,
    rejects: RejectWriter,
    rejects_path: PathBuf,
    ids: IdSource,
    id: String,
    /// Filter words per record; the words after them are block ids.
    filter_words: usize,
}

impl RowSink for ClkSink {
    fn write_row(
        &mut self,
        row: &InputRow,
        outcome: Result<&[u64], &Rejection>,
    ) -> Result<(), EncodeError> {
        let ClkSink {
            writer,
            rejects,
            rejects_path,
            ids,
            id,
            filter_words,
        } = self;
        let id: &str = match *ids {
            IdSource::Column(c) => row.record.get(c).unwrap_or(""),
            IdSource::Position => {
                id.clear();
                let _ = write!(id, "{}", row.row - 1);
                id
            }
        };
        match outcome {
            Ok(words) => {
                let (bits, blocks) = words.split_at(*filter_words);
                Ok(writer.write_record(row.row, id, bits, blocks)?)
            }
            Err(r) => write_reject(rejects, rejects_path, row, id, r),
        }
    }
}

/// Appends a rejected row to a rejects report.
pub fn write_reject(
    rejects: &mut RejectWriter,
    path: &Path,
    row: &InputRow,
    record_id: &str,
    r: &Rejection,
) -> Result<(), EncodeError> {
    rejects
        .write(&RejectRow {
            row: row.row,
            line: row.line,
            record_id: record_id.to_string(),
            field: r.field.clone().unwrap_or_default(),
            code: r.code.to_string(),
            reason: r.reason.clone(),
        })
        .map_err(|source| EncodeError::Output {
            path: path.display().to_string(),
            source,
        })
}

/// Starts the rejects report of a job: `opts.rejects`, or `OUT.rejects.csv`.
pub fn create_rejects(opts: &EncodeOptions) -> Result<(RejectWriter, PathBuf), EncodeError> {
    let path = opts
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(&opts.output));
    let writer = RejectWriter::create(&path).map_err(|source| EncodeError::Output {
        path: path.display().to_string(),
        source,
    })?;
    Ok((writer, path))
}

/// Runs the encoding job (see the module docs).
pub fn encode_csv(
    schema: &Schema,
    encoder: &Encoder,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<EncodeSummary, EncodeError> {
    let mut input = open_input(opts)?;
    let rows = NativeRows::new(schema, encoder, &mut input)?;
    let params = ClkParams {
        schema_fingerprint: encoder.schema_fingerprint(),
        key_fingerprint: encoder.key_fingerprint(),
        layout: encoder.layout(),
        hashing: encoder.hashing(),
        filter_bits: encoder.filter_bits(),
        filters_per_record: encoder.filters_per_record() as u16,
        block_keys: encoder.block_keys() as u16,
        schema_json: encoder.schema_json().to_vec(),
    };
    let ids = IdSource::Column(rows.id_column());
    encode_to_clk(input, &rows, params, ids, opts, progress)
}

/// Encodes every row of `input` with `encoder` into a `.clk` file described by `params`, with
/// a rejects report and a manifest, all written atomically at the end.
pub fn encode_to_clk<E: RowEncoder>(
    input: Input,
    encoder: &E,
    params: ClkParams,
    ids: IdSource,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<EncodeSummary, EncodeError> {
    let started = Instant::now();
    let (rejects, rejects_path) = create_rejects(opts)?;
    let output_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| EncodeError::Output { path, source }
    };
    let manifest_params = params.clone();
    let filter_words = params.filter_bits as usize / 64 * params.filters_per_record as usize;
    let sink = ClkSink {
        filter_words,
        writer: ClkWriter::create(&opts.output, params)?,
        rejects,
        rejects_path: rejects_path.clone(),
        ids,
        id: String::new(),
    };
    let Streamed {
        sink,
        rows_read,
        threads,
    } = stream_rows(input, encoder, sink, opts, progress)?;
    let ClkSink {
        writer, rejects, ..
    } = sink;

    let counts = Counts {
        rows_read,
        rows_encoded: writer.count(),
        rows_rejected: rejects.count(),
    };
    debug_assert_eq!(counts.rows_read, counts.rows_encoded + counts.rows_rejected);
    let (clk_file, clk) = writer.finish()?;
    let write_rejects = opts.rejects.is_some() || counts.rows_rejected > 0;
    let rejects_file = rejects.finish().map_err(output_err(&rejects_path))?;
    let manifest_path = Manifest::path_for(&opts.output);
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let manifest = Manifest {
        tool: "pprl".into(),
        tool_version: crate::version::TOOL_VERSION.into(),
        format_version: crate::version::FORMAT_VERSION,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        encoding_file: file_name(&opts.output),
        encoding_sha256: hex::encode(clk.file_sha256),
        schema_fingerprint: manifest_params.schema_fingerprint.to_hex(),
        key_fingerprint: manifest_params.key_fingerprint.to_hex(),
        layout: manifest_params.layout.as_str().into(),
        hashing: manifest_params.hashing.as_str().into(),
        filter_bits: manifest_params.filter_bits,
        counts,
        rejects_file: write_rejects.then(|| file_name(&rejects_path)),
    };
    let manifest_file = manifest
        .write(&manifest_path)
        .map_err(output_err(&manifest_path))?;

    clk_file.commit().map_err(output_err(&opts.output))?;
    if write_rejects {
        rejects_file.commit().map_err(output_err(&rejects_path))?;
    }
    manifest_file.commit().map_err(output_err(&manifest_path))?;

    Ok(EncodeSummary {
        counts,
        output: opts.output.clone(),
        clk,
        rejects: write_rejects.then_some(rejects_path),
        manifest: manifest_path,
        elapsed: started.elapsed(),
        threads,
    })
}

/// Streams `input` through `encoder` into `sink` (see the module docs): a reader thread
/// parses chunks of rows, the calling thread encodes each chunk on a pool of `opts.threads`
/// workers, and a writer thread hands the rows to `sink` in input order. Buffers travel back
/// to the stage that fills them, so the steady state allocates nothing.
pub fn stream_rows<E: RowEncoder, S: RowSink>(
    mut input: Input,
    encoder: &E,
    sink: S,
    opts: &EncodeOptions,
    progress: Progress<'_>,
) -> Result<Streamed<S>, EncodeError> {
    let threads = opts
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| EncodeError::Options(format!("cannot start {threads} threads: {e}")))?;
    let words = encoder.words_per_record();
    let chunk_rows = opts.chunk_rows.max(1);
    let mut rows_read = 0u64;
    let sink = std::thread::scope(|scope| {
        let (read_tx, read_rx) = mpsc::sync_channel::<Result<(Vec<InputRow>, u64), InputError>>(2);
        let (rows_back_tx, rows_back_rx) = mpsc::channel::<Vec<InputRow>>();
        let (write_tx, write_rx) = mpsc::sync_channel::<Encoded>(2);
        let (bufs_back_tx, bufs_back_rx) = mpsc::channel::<Encoded>();
        scope.spawn(move || {
            loop {
                let mut rows = rows_back_rx.try_recv().unwrap_or_default();
                let msg = input
                    .read_chunk(&mut rows, chunk_rows)
                    .map(|n| (n, rows, input.bytes_read()));
                let stop = match msg {
                    Ok((0, ..)) => true,
                    Ok((_, rows, bytes)) => read_tx.send(Ok((rows, bytes))).is_err(),
                    Err(e) => {
                        let _ = read_tx.send(Err(e));
                        true
                    }
                };
                if stop {
                    break;
                }
            }
        });
        let writing = scope.spawn(move || -> Result<S, EncodeError> {
            let mut sink = sink;
            for chunk in write_rx {
                chunk.write(words, &mut sink)?;
                let Encoded {
                    mut rows,
                    filters,
                    outcomes,
                } = chunk;
                rows_back_tx.send(std::mem::take(&mut rows)).ok();
                bufs_back_tx
                    .send(Encoded {
                        rows,
                        filters,
                        outcomes,
                    })
                    .ok();
            }
            Ok(sink)
        });
        let encoding = (|| -> Result<(), EncodeError> {
            for msg in read_rx {
                let (rows, bytes) = msg?;
                let Encoded {
                    mut filters,
                    mut outcomes,
                    ..
                } = bufs_back_rx.try_recv().unwrap_or_default();
                filters.clear();
                filters.resize(rows.len() * words, 0);
                pool.install(|| {
                    filters
                        .par_chunks_mut(words)
                        .zip(rows.par_iter())
                        .map_init(E::Scratch::default, |scratch, (out, row)| {
                            encoder.encode_row(row, scratch, out)
                        })
                        .collect_into_vec(&mut outcomes);
                });
                rows_read += rows.len() as u64;
                let chunk = Encoded {
                    rows,
                    filters,
                    outcomes,
                };
                if write_tx.send(chunk).is_err() {
                    break; // the writer failed; its error is reported below
                }
                progress(rows_read, bytes);
            }
            Ok(())
        })();
        drop(write_tx);
        let written = writing.join().expect("writer thread does not panic");
        encoding?;
        written
    })?;
    Ok(Streamed {
        sink,
        rows_read,
        threads,
    })
}

/// One encoded chunk on its way to the writer thread (and its buffers on their way back).
#[derive(Default)]
struct Encoded {
    rows: Vec<InputRow>,
    filters: Vec<u64>,
    outcomes: Vec<Result<(), Rejection>>,
}

impl Encoded {
    /// Hands the chunk's rows to the sink, in input order.
    fn write(&self, words: usize, sink: &mut impl RowSink) -> Result<(), EncodeError> {
        let rows = self
            .rows
            .iter()
            .zip(&self.outcomes)
            .zip(self.filters.chunks(words.max(1)));
        for ((row, outcome), bits) in rows {
            sink.write_row(row, outcome.as_ref().map(|()| bits))?;
        }
        Ok(())
    }
}

/// Record ids are opaque handles, but they must be usable as such: present, of bounded length,
/// and free of control characters (which would corrupt CSV and terminal output downstream).
fn check_id(id: &str) -> Result<(), Rejection> {
    let reject = |code: &'static str, reason: &str| {
        Err(Rejection {
            field: None,
            code,
            reason: reason.to_string(),
        })
    };
    if id.trim().is_empty() {
        return reject("missing-id", "the record id is empty");
    }
    if id.len() > crate::io::clk::MAX_ID_BYTES {
        return reject("id-too-long", "the record id is longer than 255 bytes");
    }
    if id.chars().any(char::is_control) {
        return reject("invalid-id", "the record id contains a control character");
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
