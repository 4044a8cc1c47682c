//! Parquet exports in, Parquet tables out (cargo feature `polars`).
//!
//! # Reading
//!
//! [`ParquetInput`] yields the same [`InputRow`]s as the CSV reader, so the encoding pipeline
//! and everything after it treat both formats alike. It reads a window of
//! [`WINDOW_ROWS`] rows at a time (only the columns the schema needs), so memory stays flat
//! however large the file; the file itself is memory-mapped by the reader, not loaded. Windows
//! ignore row-group boundaries: polars decodes just the row groups a window overlaps (on its
//! own thread pool), so the cost does not depend on how the file was cut into row groups.
//!
//! Encoders work on text, so every value becomes the string a CSV export of the same data would
//! hold (the exact rules are in `docs/guide.md`):
//!
//! | Parquet type | text |
//! |---|---|
//! | string, dictionary/categorical of strings | as is |
//! | binary | as is if valid UTF-8, else an error naming row and column |
//! | integers (8 to 64 bits, signed or not) | decimal: `-42` |
//! | floats | shortest text that reads back to the same number: `1.5`, `3`, `NaN` |
//! | boolean | `true` / `false` |
//! | date | ISO 8601: `1990-04-14` |
//! | timestamp without time zone | `1990-04-14` at midnight, else `1990-04-14T08:30:00[.fff]` |
//! | null (any type) | empty, i.e. a missing value |
//!
//! Other types (decimals, times of day, durations, lists, structs, timestamps with a time zone)
//! are refused up front with [`InputError::UnsupportedType`]: their text form is a choice the
//! department should make in its export, not one pprl should guess, since a different choice
//! changes every encoding.
//!
//! Parquet has rows but no lines, so an [`InputRow`]'s `line` is its row number (from 1).
//!
//! # Writing
//!
//! [`write_parquet`] writes batches of columns to a Parquet file atomically (temporary file,
//! then rename), one row group per batch, Zstandard-compressed.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;

use super::AtomicFile;
use super::csv_input::{InputError, InputRow, find_columns};

/// Rows decoded per window: large enough that the per-window cost of setting up the reader
/// vanishes, small enough (a few MiB of text for typical exports) to keep memory flat.
pub const WINDOW_ROWS: usize = 1 << 16;

/// A Parquet export opened for streaming.
pub struct ParquetInput {
    file: File,
    source_name: String,
    file_len: u64,
    metadata: FileMetadataRef,
    schema: Arc<ArrowSchema>,
    headers: Vec<String>,
    /// Columns read, as indices into `headers`; a row's fields follow this order.
    projection: Vec<usize>,
    total_rows: u64,
    window_rows: usize,
    /// Rows decoded so far (windows already read).
    decoded: u64,
    /// The current window, one text column per projected column.
    window: Vec<TextColumn>,
    window_len: usize,
    window_pos: usize,
    /// Row number (from 1) of the window's first row.
    window_first: u64,
}

impl ParquetInput {
    /// Opens a Parquet file and reads its footer (schema, row groups).
    pub fn open(path: &str) -> Result<ParquetInput, InputError> {
        let io_err = |source| InputError::Io {
            source_name: path.to_string(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let file_len = file.metadata().map_err(io_err)?.len();
        let source_name = path.to_string();
        let footer_err = |e: PolarsError| InputError::Parquet {
            source_name: source_name.clone(),
            place: "metadata".into(),
            message: e.to_string(),
        };
        let (metadata, schema) = guard(&source_name, "metadata", || {
            let mut reader = ParquetReader::new(&mut file);
            let metadata = reader.get_metadata()?.clone();
            Ok((metadata, reader.schema()?))
        })?
        .map_err(footer_err)?;
        let headers: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        Ok(ParquetInput {
            file,
            file_len,
            total_rows: metadata.num_rows as u64,
            metadata,
            schema,
            projection: (0..headers.len()).collect(),
            headers,
            source_name,
            window_rows: WINDOW_ROWS,
            decoded: 0,
            window: Vec::new(),
            window_len: 0,
            window_pos: 0,
            window_first: 1,
        })
    }

    /// Decodes at most `rows` rows per window (tests use tiny windows to cross boundaries).
    pub fn with_window_rows(mut self, rows: usize) -> Self {
        self.window_rows = rows.max(1);
        self
    }

    /// The column names, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The name used in messages.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Rows in the file, from its footer.
    pub fn total_rows(&self) -> u64 {
        self.total_rows
    }

    /// An estimate of the bytes consumed (file size times the share of rows handed out).
    pub fn bytes_read(&self) -> u64 {
        let done = self.window_first - 1 + self.window_pos as u64;
        (u128::from(self.file_len) * u128::from(done) / u128::from(self.total_rows.max(1))) as u64
    }

    /// Finds each `(column, needed_by)` and restricts reading to those columns; the returned
    /// indices point into the fields of the rows read from now on. A column of a type with no
    /// text form (see the module docs) is an error here, before any row is read.
    pub fn resolve_columns(
        &mut self,
        columns: &[(&str, String)],
    ) -> Result<Vec<usize>, InputError> {
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        let found = find_columns(&self.source_name, &headers, columns)?;
        let mut projection: Vec<usize> = Vec::new();
        let positions = found
            .iter()
            .map(|&i| match projection.iter().position(|&p| p == i) {
                Some(at) => at,
                None => {
                    projection.push(i);
                    projection.len() - 1
                }
            })
            .collect();
        for &i in &projection {
            let (name, field) = self
                .schema
                .get_at_index(i)
                .expect("index from the same schema");
            if !supported(field.dtype()) {
                return Err(InputError::UnsupportedType {
                    source_name: self.source_name.clone(),
                    column: name.to_string(),
                    dtype: format!("{:?}", field.dtype()),
                });
            }
        }
        self.projection = projection;
        Ok(positions)
    }

    /// Fills `rows` with up to `max` rows, reusing their buffers; returns how many were read
    /// (fewer than `max` only at the end of the file).
    pub fn read_chunk(
        &mut self,
        rows: &mut Vec<InputRow>,
        max: usize,
    ) -> Result<usize, InputError> {
        let mut n = 0;
        while n < max {
            if self.window_pos == self.window_len && !self.next_window()? {
                break;
            }
            if rows.len() == n {
                rows.push(InputRow::default());
            }
            let row = &mut rows[n];
            row.record.clear();
            for column in &self.window {
                row.record.push_field(column.get(self.window_pos));
            }
            row.row = self.window_first + self.window_pos as u64;
            row.line = row.row;
            self.window_pos += 1;
            n += 1;
        }
        rows.truncate(n);
        Ok(n)
    }

    /// Decodes the next window into text; `Ok(false)` at the end of the file.
    fn next_window(&mut self) -> Result<bool, InputError> {
        if self.decoded >= self.total_rows {
            return Ok(false);
        }
        let first = self.decoded;
        let len = (self.total_rows - first).min(self.window_rows as u64) as usize;
        let place = format!("rows {}-{}", first + 1, first + len as u64);
        let (file, metadata, projection) = (&mut self.file, &self.metadata, &self.projection);
        let frame = guard(&self.source_name, &place, || {
            let mut reader = ParquetReader::new(file)
                .with_projection(Some(projection.clone()))
                .with_slice(Some((first as usize, len)))
                .read_parallel(ParallelStrategy::RowGroups);
            reader.set_metadata(metadata.clone());
            reader.finish()
        })?
        .map_err(|e| InputError::Parquet {
            source_name: self.source_name.clone(),
            place: place.clone(),
            message: e.to_string(),
        })?;
        if frame.height() != len || frame.width() != self.projection.len() {
            return Err(InputError::Parquet {
                source_name: self.source_name.clone(),
                place,
                message: format!(
                    "expected {len} rows of {} columns, decoded {} of {}",
                    self.projection.len(),
                    frame.height(),
                    frame.width()
                ),
            });
        }
        self.window.resize_with(frame.width(), TextColumn::default);
        for (column, text) in frame.columns().iter().zip(&mut self.window) {
            text.clear();
            let ctx = Ctx {
                source_name: &self.source_name,
                place: &place,
                first_row: first + 1,
            };
            to_text(column, text, &ctx)?;
        }
        self.decoded += len as u64;
        self.window_first = first + 1;
        self.window_len = len;
        self.window_pos = 0;
        Ok(true)
    }
}

/// Runs a call into the Parquet reader, turning a panic on malformed input into an error: a
/// corrupt file must stop the job with a message, not abort the process. polars checks most
/// damage, but some (a mangled footer, say) ends in an `unwrap` inside it.
///
/// While the call runs, the panic hook stays quiet on this thread (see [`quiet_hook`]), so the
/// user sees one error naming the file instead of a backtrace from inside polars.
fn guard<T>(
    source_name: &str,
    place: &str,
    f: impl FnOnce() -> PolarsResult<T>,
) -> Result<PolarsResult<T>, InputError> {
    quiet_hook();
    QUIET.with(|q| q.set(true));
    GUARDS.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDS.fetch_sub(1, Ordering::SeqCst);
    QUIET.with(|q| q.set(false));
    result.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no details");
        InputError::Parquet {
            source_name: source_name.to_string(),
            place: place.to_string(),
            message: format!("the Parquet reader gave up ({message})"),
        }
    })
}

thread_local! {
    /// Set while this thread is inside [`guard`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Calls to [`guard`] in progress, on any thread.
static GUARDS: AtomicUsize = AtomicUsize::new(0);

/// Installs (once per process) a panic hook that stays silent for panics inside [`guard`] and
/// hands every other panic to the hook that was there before, so nothing else changes.
///
/// polars decodes row groups on its own thread pool (threads named `polars-N`), and rayon
/// carries a panic there back to the guarded caller, so a panic on a polars thread while a
/// guard is active is the guard's to report.
fn quiet_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_polars_thread = || {
                let current = std::thread::current();
                current.name().is_some_and(|n| n.starts_with("polars"))
            };
            let guarded = QUIET.with(std::cell::Cell::get)
                || (GUARDS.load(Ordering::SeqCst) > 0 && on_polars_thread());
            if !guarded {
                previous(info);
            }
        }));
    });
}

/// Whether the reader and [`to_text`] handle a column of this (Arrow) type. Checked on the
/// file's Arrow schema, before polars is asked to read the column: polars panics on some types
/// it has no support for.
fn supported(dtype: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    match dtype {
        A::Null | A::Boolean | A::Float32 | A::Float64 | A::Date32 => true,
        A::Int8 | A::Int16 | A::Int32 | A::Int64 => true,
        A::UInt8 | A::UInt16 | A::UInt32 | A::UInt64 => true,
        A::Utf8 | A::LargeUtf8 | A::Utf8View => true,
        A::Binary | A::LargeBinary | A::BinaryView => true,
        A::Timestamp(_, tz) => tz.is_none(),
        A::Dictionary(_, values, _) => matches!(**values, A::Utf8 | A::LargeUtf8 | A::Utf8View),
        _ => false,
    }
}

/// One column of a window as text: the values back to back, with their end offsets.
#[derive(Debug, Default)]
struct TextColumn {
    text: String,
    ends: Vec<usize>,
}

impl TextColumn {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn end(&mut self) {
        self.ends.push(self.text.len());
    }

    fn push_str(&mut self, value: Option<&str>) {
        self.text.push_str(value.unwrap_or(""));
        self.end();
    }

    fn push_display(&mut self, value: Option<impl std::fmt::Display>) {
        if let Some(v) = value {
            write!(self.text, "{v}").expect("writing to a String cannot fail");
        }
        self.end();
    }
}

/// Where a window came from, for error messages.
struct Ctx<'a> {
    source_name: &'a str,
    place: &'a str,
    first_row: u64,
}

impl Ctx<'_> {
    fn error(&self, message: impl Into<String>) -> InputError {
        InputError::Parquet {
            source_name: self.source_name.to_string(),
            place: self.place.to_string(),
            message: message.into(),
        }
    }
}

/// Appends the text form (module docs) of every value of `column` to `out`.
fn to_text(column: &Column, out: &mut TextColumn, ctx: &Ctx<'_>) -> Result<(), InputError> {
    use DataType as D;
    let polars_err = |e: PolarsError| ctx.error(e.to_string());
    macro_rules! display {
        ($ca:expr) => {
            $ca.map_err(polars_err)?
                .iter()
                .for_each(|v| out.push_display(v))
        };
    }
    match column.dtype() {
        D::String => column
            .str()
            .map_err(polars_err)?
            .iter()
            .for_each(|v| out.push_str(v)),
        D::Binary => {
            for (i, v) in column.binary().map_err(polars_err)?.iter().enumerate() {
                let text = v.map(std::str::from_utf8).transpose().map_err(|_| {
                    InputError::InvalidUtf8 {
                        source_name: ctx.source_name.to_string(),
                        row: ctx.first_row + i as u64,
                        line: ctx.first_row + i as u64,
                        column: column.name().to_string(),
                    }
                })?;
                out.push_str(text);
            }
        }
        D::Boolean => display!(column.bool()),
        D::Int8 => display!(column.i8()),
        D::Int16 => display!(column.i16()),
        D::Int32 => display!(column.i32()),
        D::Int64 => display!(column.i64()),
        D::UInt8 => display!(column.u8()),
        D::UInt16 => display!(column.u16()),
        D::UInt32 => display!(column.u32()),
        D::UInt64 => display!(column.u64()),
        D::Float32 => display!(column.f32()),
        D::Float64 => display!(column.f64()),
        D::Date => {
            for days in column.date().map_err(polars_err)?.physical().iter() {
                let date = days
                    .map(|d| {
                        chrono::NaiveDate::from_num_days_from_ce_opt(
                            d.saturating_add(UNIX_EPOCH_CE),
                        )
                        .ok_or_else(|| {
                            ctx.error(format!("date {d} days from 1970 is out of range"))
                        })
                    })
                    .transpose()?;
                out.push_display(date.map(|d| d.format("%Y-%m-%d")));
            }
        }
        D::Datetime(unit, None) => {
            let unit = *unit;
            for t in column.datetime().map_err(polars_err)?.physical().iter() {
                let time = t
                    .map(|t| {
                        timestamp(t, unit).ok_or_else(|| {
                            ctx.error(format!("timestamp {t} ({unit}) is out of range"))
                        })
                    })
                    .transpose()?;
                out.push_display(time.map(|t| {
                    if t.time() == chrono::NaiveTime::MIN {
                        t.format("%Y-%m-%d")
                    } else {
                        t.format("%Y-%m-%dT%H:%M:%S%.f")
                    }
                }));
            }
        }
        D::Categorical(..) | D::Enum(..) => {
            let strings = column.cast(&D::String).map_err(polars_err)?;
            return to_text(&strings, out, ctx);
        }
        D::Null => (0..column.len()).for_each(|_| out.push_str(None)),
        other => {
            return Err(InputError::UnsupportedType {
                source_name: ctx.source_name.to_string(),
                column: column.name().to_string(),
                dtype: other.to_string(),
            });
        }
    }
    if out.ends.len() != column.len() {
        return Err(ctx.error(format!(
            "column `{}` decoded to {} values, expected {}",
            column.name(),
            out.ends.len(),
            column.len()
        )));
    }
    Ok(())
}

/// chrono's day number of 1970-01-01, Parquet's day 0 (chrono counts 0001-01-01 as day 1).
const UNIX_EPOCH_CE: i32 = 719_163;

fn timestamp(t: i64, unit: TimeUnit) -> Option<chrono::NaiveDateTime> {
    let utc = match unit {
        TimeUnit::Nanoseconds => Some(chrono::DateTime::from_timestamp_nanos(t)),
        TimeUnit::Microseconds => chrono::DateTime::from_timestamp_micros(t),
        TimeUnit::Milliseconds => chrono::DateTime::from_timestamp_millis(t),
    };
    utc.map(|t| t.naive_utc())
}

/// Writes `batches` (data frames of one schema) as a Parquet file at `path`, atomically: the
/// file appears only once complete. Each batch becomes one row group, so a caller that builds
/// batches of bounded size writes any number of rows in bounded memory.
pub fn write_parquet(
    path: &Path,
    schema: &Schema,
    batches: impl IntoIterator<Item = PolarsResult<DataFrame>>,
) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    let written = (|| -> PolarsResult<()> {
        let mut writer = ParquetWriter::new(&mut file)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(schema)?;
        for batch in batches {
            writer.write_batch(&batch?)?;
        }
        writer.finish()?;
        Ok(())
    })();
    written.map_err(|e| match e {
        PolarsError::IO { error, .. } => std::io::Error::new(error.kind(), error.to_string()),
        other => std::io::Error::other(other.to_string()),
    })?;
    file.flush()?;
    file.commit()
}

#[cfg(test)]
mod tests;
