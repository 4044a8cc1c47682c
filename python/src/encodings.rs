//! `encode` and `Encodings`: records in (a CSV file, columns in memory or an Arrow table) under
//! a pprl or clkhash schema, keyed Bloom-filter encodings and the rejected rows out, read from
//! and written to encoding files.
//!
//! Columns are copied into Rust strings while the GIL is held; everything else (reading the
//! secret, encoding, reading and writing files) runs with the GIL released. The encodings
//! stay in Rust memory; [`Encodings::to_numpy`] lends them to NumPy without copying.

use std::path::PathBuf;

use numpy::PyArray2;
use numpy::ndarray::ArrayView2;
use pprl::encode::Encoder;
use pprl::io::clk::ClkParams;
use pprl::io::formats::{self, FileKind};
use pprl::io::{ClkData, ClkWriter, FileRole, Input, RejectRow, RunFiles, TableFormat};
use pprl::keys::Secret;
use pprl::pipeline::{BatchOptions, EncodedBatch, JobEncoder, encode_columns, encode_source};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::errors::{Failure, raise};
use crate::schema::{Kind, Schema};

/// What `encode` reads.
enum Source {
    /// A CSV file (or Parquet, in builds with it).
    Path(PathBuf),
    /// Columns, by name, of equal length.
    Columns(Vec<(String, Vec<String>)>),
    /// An Arrow table or record batch (the PyCapsule interface), read without the GIL.
    Arrow(crate::arrow_in::Exported),
}

/// Reads `data` (a path or a mapping of columns) while the GIL is held.
fn source(data: &Bound<'_, PyAny>) -> PyResult<Source> {
    if data.is_instance_of::<PyString>() || data.hasattr("__fspath__")? {
        return Ok(Source::Path(data.extract()?));
    }
    if crate::arrow_in::is_arrow(data)? {
        return Ok(Source::Arrow(crate::arrow_in::export(data)?));
    }
    let Ok(items) = data.call_method0("items") else {
        return Err(PyTypeError::new_err(
            "data must be a path to a CSV file or a mapping of column name to a list of str or \
             None (pprl.encode also takes pyarrow, polars and pandas tables)",
        ));
    };
    let mut columns = Vec::new();
    for item in items.try_iter()? {
        let (name, values): (String, Bound<'_, PyAny>) = item?.extract()?;
        let mut column = Vec::with_capacity(values.len().unwrap_or(0));
        for (i, v) in values.try_iter()?.enumerate() {
            let v = v?;
            if v.is_none() {
                column.push(String::new());
            } else if let Ok(s) = v.downcast::<PyString>() {
                column.push(s.to_cow()?.into_owned());
            } else {
                return Err(PyTypeError::new_err(format!(
                    "column {name:?}, row {}: a {} where a str or None belongs (cast the column \
                     to strings first)",
                    i + 1,
                    v.get_type().name()?
                )));
            }
        }
        columns.push((name, column));
    }
    Ok(Source::Columns(columns))
}

/// Runs `job` with the encoder of `schema` under the secret in `secret_file` (read here, and
/// dropped once the encoder holds its keys). A clkhash schema takes a secret of any length, as
/// `pprl encode` does; what often goes wrong with one is pushed onto `warnings`.
fn with_encoder(
    schema: &Schema,
    secret_file: &std::path::Path,
    warnings: &mut Vec<String>,
    job: impl FnOnce(JobEncoder<'_>) -> Result<EncodedBatch, pprl::pipeline::EncodeError>,
) -> Result<EncodedBatch, Failure> {
    match &schema.kind {
        Kind::Pprl(schema) => {
            let secret = Secret::from_file(secret_file)?;
            let encoder = Encoder::new(schema, &secret)?;
            drop(secret);
            Ok(job(JobEncoder::Pprl(schema, &encoder))?)
        }
        Kind::Clkhash(schema) => {
            let secret = Secret::from_file_any_length(secret_file)?;
            if pprl::compat::secret_ends_with_newline(&secret) {
                warnings.push(format!(
                    "the secret file {} ends with a line break, which is part of the secret \
                     (clkhash's secret \"abc\" is a file of exactly those bytes)",
                    secret_file.display()
                ));
            }
            if secret.len() < Secret::MIN_LEN {
                warnings.push(format!(
                    "the secret is {} bytes; clkhash takes any passphrase, but 32 random bytes \
                     (`pprl keygen`) cannot be guessed",
                    secret.len()
                ));
            }
            let encoder = pprl::compat::clkhash::Encoder::new(schema, &secret)?;
            drop(secret);
            Ok(job(JobEncoder::Clkhash(&encoder))?)
        }
    }
}

/// Encodes `data` under `schema` with the secret in the file `secret_file` (without the GIL).
/// The outer error is a bad Arrow table, the inner one the library's.
fn run_encode(
    source: Source,
    schema: &Schema,
    secret_file: PathBuf,
    threads: usize,
    warnings: &mut Vec<String>,
) -> PyResult<Result<EncodedBatch, Failure>> {
    let opts = BatchOptions {
        threads: Some(threads),
        ..BatchOptions::default()
    };
    let mut run = |named: &[(&str, &[&str])], path: Option<PathBuf>| {
        with_encoder(schema, &secret_file, warnings, |job| match &path {
            Some(path) => {
                let mut input = Input::from_path(path, TableFormat::from_path(path), b',')?;
                encode_source(job, &mut input, &opts)
            }
            None => encode_columns(job, named, &opts),
        })
    };
    Ok(match source {
        Source::Path(path) => run(&[], Some(path)),
        Source::Columns(columns) => {
            let values: Vec<Vec<&str>> = columns
                .iter()
                .map(|(_, v)| v.iter().map(String::as_str).collect())
                .collect();
            let named: Vec<(&str, &[&str])> = columns
                .iter()
                .zip(&values)
                .map(|((name, _), v)| (name.as_str(), v.as_slice()))
                .collect();
            run(&named, None)
        }
        Source::Arrow(exported) => {
            use crate::arrow_in::Column;
            let table = crate::arrow_in::read(exported).map_err(crate::arrow_in::error)?;
            // The columns the encoder may read; the others are not read.
            let mut columns = Vec::new();
            for name in schema.input_columns() {
                if let Some(c) = table.column(name).map_err(crate::arrow_in::error)? {
                    columns.push((name, c));
                }
            }
            let values: Vec<std::borrow::Cow<'_, [&str]>> = columns
                .iter()
                .map(|(_, c)| match c {
                    Column::Borrowed(v) => std::borrow::Cow::Borrowed(v.as_slice()),
                    Column::Owned(v) => v.iter().map(String::as_str).collect(),
                })
                .collect();
            let named: Vec<(&str, &[&str])> = columns
                .iter()
                .zip(&values)
                .map(|((name, _), v)| (*name, v.as_ref()))
                .collect();
            run(&named, None)
        }
    })
}

/// Encodes records into keyed Bloom-filter encodings (see `pprl.encode` for the tables it
/// takes besides a path and a mapping of columns).
#[pyfunction]
#[pyo3(signature = (data, schema, *, secret_file, threads = None))]
pub(crate) fn encode(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    schema: &Schema,
    secret_file: PathBuf,
    threads: Option<usize>,
) -> PyResult<Encodings> {
    let source = source(data)?;
    let label = match &source {
        Source::Path(p) => p.display().to_string(),
        Source::Columns(_) | Source::Arrow(_) => "<memory>".to_string(),
    };
    let threads = crate::threads::threads(py, threads)?;
    let mut warnings = Vec::new();
    let batch =
        py.allow_threads(|| run_encode(source, schema, secret_file, threads, &mut warnings))?;
    for w in warnings {
        crate::schema::warn(py, &w)?;
    }
    let batch = raise(py, batch)?;
    Ok(Encodings {
        data: batch.data,
        rows: Some(batch.rows),
        rejects: batch.rejects,
        invalid_fields: batch.invalid_fields,
        rows_read: batch.counts.rows_read,
        label,
        source: None,
    })
}

/// Encodings of records: ids, filter words (and keyed block ids), with the schema's and the
/// secret's fingerprints; from `pprl.encode` or `Encodings.read`.
#[pyclass(frozen, module = "pprl._pprl")]
pub(crate) struct Encodings {
    pub(crate) data: ClkData,
    rows: Option<Vec<u64>>,
    rejects: Vec<RejectRow>,
    /// Fields of encoded rows whose invalid values were encoded as missing.
    invalid_fields: Vec<RejectRow>,
    rows_read: u64,
    pub(crate) label: String,
    /// The file read, if any (an output may not overwrite it).
    source: Option<PathBuf>,
}

impl Encodings {
    /// `.clk` writer settings that reproduce this header.
    fn params(&self) -> ClkParams {
        let h = &self.data.header;
        ClkParams {
            schema_fingerprint: h.schema_fingerprint,
            key_fingerprint: h.key_fingerprint,
            layout: h.layout,
            hashing: h.hashing,
            filter_bits: h.filter_bits,
            filters_per_record: h.filters_per_record,
            block_keys: h.block_keys,
            missing_masks: h.missing_masks,
            schema_json: h.schema_json.clone(),
        }
    }

    /// Writes the encodings to `path` in `format` (without the GIL).
    fn write_file(&self, path: &std::path::Path, format: &str) -> Result<(), Failure> {
        let mut files = RunFiles::new().write(path);
        if let Some(src) = &self.source {
            files = files.read(FileRole::Input, src);
        }
        files.check()?;
        if format != "clk"
            && let Some(r) = self.rejects.first()
        {
            // Positional formats identify records by position: a gap would misalign every
            // later record (`pprl encode` refuses the same way).
            return Err(Failure::from(pprl::pipeline::EncodeError::RowsRejected {
                rows: self.rejects.len() as u64,
                format: if format == "clkhash-json" {
                    "clkhash-json"
                } else {
                    "anonlink-binary"
                },
                first: format!(
                    "row {} (line {}), {}: {}",
                    r.row,
                    r.line.unwrap_or(0),
                    if r.field.is_empty() {
                        "the row".to_string()
                    } else {
                        format!("field `{}`", r.field)
                    },
                    r.reason
                ),
                first_row: r.row,
                rejects: None,
            }));
        }
        let d = &self.data;
        let w = d.header.words_per_record();
        let bits = d.header.filter_bits * u32::from(d.header.filters_per_record);
        let io = |source: std::io::Error| {
            Failure::from(pprl::io::ClkError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        match format {
            "clk" => {
                let mut out = ClkWriter::create(path, self.params())?;
                for (i, id) in d.ids.iter().enumerate() {
                    let row = self.rows.as_ref().map_or(i as u64 + 1, |r| r[i]);
                    out.write_record(row, id, d.record(i), &d.trailer(i))?;
                }
                let (file, _) = out.finish()?;
                file.commit().map_err(io)?;
            }
            "clkhash-json" => {
                let mut out = formats::clkhash_json::JsonWriter::create(path, bits).map_err(io)?;
                for i in 0..d.ids.len() {
                    out.write(&d.words[i * w..(i + 1) * w]).map_err(io)?;
                }
                out.finish().map_err(io)?.commit().map_err(io)?;
            }
            _ => {
                let mut out =
                    formats::anonlink_binary::BinaryWriter::create(path, bits).map_err(io)?;
                for i in 0..d.ids.len() {
                    out.write(&d.words[i * w..(i + 1) * w]).map_err(io)?;
                }
                out.finish().map_err(io)?.commit().map_err(io)?;
            }
        }
        Ok(())
    }
}

#[pymethods]
impl Encodings {
    /// Reads an encoding file: `.clk`, clkhash JSON or anonlink binary (told apart by their
    /// bytes). Encodings from the two clkhash formats are named by position (`"0"`, `"1"`, ...)
    /// and carry no fingerprints.
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Encodings> {
        let read = py.allow_threads(|| formats::read_encoding_file(&path).map_err(Failure::from));
        let (data, _kind): (ClkData, FileKind) = raise(py, read)?;
        Ok(Encodings {
            data,
            rows: None,
            rejects: Vec::new(),
            invalid_fields: Vec::new(),
            rows_read: 0,
            label: path.display().to_string(),
            source: Some(path),
        })
    }

    /// Writes the encodings to `path`, atomically: `format` is `"clk"` (pprl's file, with ids
    /// and fingerprints; the same bytes as `pprl encode` writes for the same input),
    /// `"clkhash-json"` or `"anonlink-binary"` (encodings only, in record order; refused with
    /// `InputError` code `encode-rows-rejected` when `encode` rejected rows, since those formats
    /// identify records by position). Refuses to overwrite the file these encodings were read
    /// from.
    #[pyo3(signature = (path, format = "clk"))]
    fn write(&self, py: Python<'_>, path: PathBuf, format: &str) -> PyResult<()> {
        if !["clk", "clkhash-json", "anonlink-binary"].contains(&format) {
            return Err(PyValueError::new_err(
                "format must be \"clk\", \"clkhash-json\" or \"anonlink-binary\"",
            ));
        }
        let done = py.allow_threads(|| self.write_file(&path, format));
        raise(py, done)
    }

    /// The record ids, in order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.data.ids.clone()
    }

    /// The input row (data rows from 1) of each encoding, for encodings made by `encode`;
    /// None for encodings read from a file.
    #[getter]
    fn rows(&self) -> Option<Vec<u64>> {
        self.rows.clone()
    }

    /// Bits per encoding (all filters of a record).
    #[getter]
    fn bits(&self) -> u32 {
        self.data.header.filter_bits * u32::from(self.data.header.filters_per_record)
    }

    /// The schema's fingerprint (hex; zeros for clkhash files).
    #[getter]
    fn schema_fingerprint(&self) -> String {
        self.data.header.schema_fingerprint.to_hex()
    }

    /// The secret's fingerprint (hex; zeros for clkhash files). Never the secret itself.
    #[getter]
    fn key_fingerprint(&self) -> String {
        self.data.header.key_fingerprint.to_hex()
    }

    /// The rows that were not encoded, in input order: one dict per row with `row` (data rows
    /// from 1), `line`, `record_id`, `field`, `code` (a stable reason code) and `reason`.
    #[getter]
    fn rejects<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        reject_list(py, &self.rejects)
    }

    /// The fields of encoded rows whose invalid values were encoded as missing (the schema's
    /// `on_invalid = "field-missing"`), as dicts like `rejects`.
    #[getter]
    fn invalid_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        reject_list(py, &self.invalid_fields)
    }

    /// Row accounting of `encode`: `rows_read`, `rows_encoded`, `rows_rejected`.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("rows_read", self.rows_read)?;
        d.set_item("rows_encoded", self.data.ids.len())?;
        d.set_item("rows_rejected", self.rejects.len())?;
        Ok(d)
    }

    /// The filter words as a read-only NumPy `uint64` array of shape `(len, bits / 64)`, in
    /// pprl's bit order (bit `i` of a filter is bit `i % 64` of word `i / 64`). No copy: the
    /// array shares this object's memory and keeps it alive.
    fn to_numpy<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        let this = slf.get();
        let n = this.data.ids.len();
        let w = this.data.header.words_per_record();
        let view = ArrayView2::from_shape((n, w), &this.data.words[..n * w])
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        // SAFETY: the words live in `slf`, which is frozen (never changes them) and is kept
        // alive as the array's base; the array is made read-only below.
        let array = unsafe { PyArray2::borrow_from_array(&view, slf.clone().into_any()) };
        array.getattr("flags")?.setattr("writeable", false)?;
        Ok(array)
    }

    /// Keyed blocking keys stored per record (0 when the schema declares none).
    #[getter]
    fn block_keys(&self) -> u16 {
        self.data.header.block_keys
    }

    /// The stored blocking key ids as a read-only NumPy `uint64` array of shape `(len,
    /// block_keys)` (0: the record has no value for that key), sharing this object's memory.
    fn blocks_numpy<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        let this = slf.get();
        let n = this.data.ids.len();
        let k = this.data.header.block_keys as usize;
        let view = ArrayView2::from_shape((n, k), &this.data.blocks[..n * k])
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        // SAFETY: as in `to_numpy`: frozen, kept alive as the base, read-only.
        let array = unsafe { PyArray2::borrow_from_array(&view, slf.clone().into_any()) };
        array.getattr("flags")?.setattr("writeable", false)?;
        Ok(array)
    }

    /// The encodings as an Arrow `fixed_size_binary(bits / 8)` array (the Arrow PyCapsule
    /// interface: `pyarrow.array(enc)`, `polars.Series(enc)`), sharing this object's memory:
    /// no copy. Each value is the record's filter words as little-endian bytes (pprl's bit
    /// order). `requested_schema` is accepted and ignored (the type is fixed).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_array__<'py>(
        slf: Bound<'py, Self>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let _ = requested_schema;
        let array = crate::arrow_out::clk_array(&slf)?;
        crate::arrow_out::array_capsules(slf.py(), &array)
    }

    fn __len__(&self) -> usize {
        self.data.ids.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Encodings(len={}, bits={}, rejects={})",
            self.data.ids.len(),
            self.bits(),
            self.rejects.len()
        )
    }
}

/// Rejected rows (or invalid fields) as a list of dicts.
fn reject_list<'py>(py: Python<'py>, rows: &[RejectRow]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for r in rows {
        let d = PyDict::new(py);
        d.set_item("row", r.row)?;
        d.set_item("line", r.line)?;
        d.set_item("record_id", &r.record_id)?;
        d.set_item("field", &r.field)?;
        d.set_item("code", &r.code)?;
        d.set_item("reason", &r.reason)?;
        list.append(d)?;
    }
    Ok(list)
}
