//! Arrow tables in: anything with the Arrow PyCapsule interface (`__arrow_c_stream__` or
//! `__arrow_c_array__`: pyarrow tables and record batches, polars data frames, pandas with
//! Arrow, DuckDB results) becomes columns of `&str` for the encoder without copying the strings.
//!
//! The capsules are taken while the GIL is held; reading the batches and building the columns
//! runs without it. String, large string and string view columns are borrowed (one slice per
//! row, pointing into the Arrow buffers); integer and date columns are formatted. Nulls are
//! missing values (empty strings, as an empty CSV cell).

use std::ffi::CStr;

use arrow_array::ffi::{FFI_ArrowArray, from_ffi};
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::temporal_conversions::{date32_to_datetime, date64_to_datetime};
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, RecordBatch, StringViewArray, StructArray, cast::AsArray,
};
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::{DataType, SchemaRef};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

/// The record batches of an Arrow table, owned by Rust (the producer's buffers stay alive
/// until they are dropped).
pub(crate) struct ArrowTable {
    pub(crate) schema: SchemaRef,
    pub(crate) batches: Vec<RecordBatch>,
}

/// Whether `data` offers the Arrow PyCapsule interface.
pub(crate) fn is_arrow(data: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(data.hasattr("__arrow_c_stream__")? || data.hasattr("__arrow_c_array__")?)
}

fn capsule_ptr<T>(capsule: &Bound<'_, PyAny>, name: &CStr) -> PyResult<*mut T> {
    let capsule = capsule
        .downcast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err("the Arrow PyCapsule interface returned no capsule"))?;
    if capsule.name()? != Some(name) {
        return Err(PyTypeError::new_err(format!(
            "expected an Arrow capsule named {:?}",
            name.to_string_lossy()
        )));
    }
    Ok(capsule.pointer() as *mut T)
}

/// Takes the Arrow data out of `data` (GIL held; the batches are read later, without it).
pub(crate) enum Exported {
    Stream(FFI_ArrowArrayStream),
    Array(FFI_ArrowArray, FFI_ArrowSchema),
}

// SAFETY: the C stream / array structs are owned here and their release callbacks may run on
// any thread (the Arrow C data interface requires producers to allow that).
unsafe impl Send for Exported {}

pub(crate) fn export(data: &Bound<'_, PyAny>) -> PyResult<Exported> {
    if data.hasattr("__arrow_c_stream__")? {
        let capsule = data.call_method0("__arrow_c_stream__")?;
        let ptr = capsule_ptr::<FFI_ArrowArrayStream>(&capsule, c"arrow_array_stream")?;
        // SAFETY: the capsule holds a valid stream; `from_raw` moves it out and marks the
        // capsule's copy released, so the capsule's destructor does not release it again.
        let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr) };
        return Ok(Exported::Stream(stream));
    }
    let pair = data.call_method1("__arrow_c_array__", (data.py().None(),))?;
    let pair = pair
        .downcast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err("__arrow_c_array__ must return two capsules"))?;
    if pair.len() != 2 {
        return Err(PyTypeError::new_err(
            "__arrow_c_array__ must return two capsules",
        ));
    }
    let schema_ptr = capsule_ptr::<FFI_ArrowSchema>(&pair.get_item(0)?, c"arrow_schema")?;
    let array_ptr = capsule_ptr::<FFI_ArrowArray>(&pair.get_item(1)?, c"arrow_array")?;
    // SAFETY: valid structs from the producer; both are moved out (the capsules' copies are
    // marked released).
    let (array, schema) = unsafe {
        (
            FFI_ArrowArray::from_raw(array_ptr),
            std::ptr::replace(schema_ptr, FFI_ArrowSchema::empty()),
        )
    };
    Ok(Exported::Array(array, schema))
}

/// Reads the batches (no GIL needed).
pub(crate) fn read(exported: Exported) -> Result<ArrowTable, String> {
    match exported {
        Exported::Stream(stream) => {
            let reader = RecordBatchStreamReader::try_new(stream).map_err(|e| e.to_string())?;
            let schema = arrow_array::RecordBatchReader::schema(&reader);
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            Ok(ArrowTable { schema, batches })
        }
        Exported::Array(array, schema) => {
            // SAFETY: `array` and `schema` come from one `__arrow_c_array__` call.
            let data = unsafe { from_ffi(array, &schema) }.map_err(|e| e.to_string())?;
            if !matches!(data.data_type(), DataType::Struct(_)) {
                return Err("an Arrow array of records (a struct array) is needed".into());
            }
            let batch = RecordBatch::from(StructArray::from(data));
            Ok(ArrowTable {
                schema: batch.schema(),
                batches: vec![batch],
            })
        }
    }
}

/// One column's values over all batches: borrowed or formatted.
pub(crate) enum Column<'a> {
    Borrowed(Vec<&'a str>),
    Owned(Vec<String>),
}

fn strings<'a>(out: &mut Vec<&'a str>, array: &'a ArrayRef) -> bool {
    match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            out.extend(a.iter().map(|v| v.unwrap_or("")));
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            out.extend(a.iter().map(|v| v.unwrap_or("")));
        }
        DataType::Utf8View => {
            let a: &StringViewArray = array.as_string_view();
            out.extend(a.iter().map(|v| v.unwrap_or("")));
        }
        _ => return false,
    }
    true
}

fn ints<T: ArrowPrimitiveType>(out: &mut Vec<String>, array: &ArrayRef)
where
    T::Native: std::fmt::Display,
{
    let a = array.as_primitive::<T>();
    out.extend(
        a.iter()
            .map(|v| v.map(|v| v.to_string()).unwrap_or_default()),
    );
}

fn formatted(out: &mut Vec<String>, array: &ArrayRef) -> bool {
    match array.data_type() {
        DataType::Int8 => ints::<Int8Type>(out, array),
        DataType::Int16 => ints::<Int16Type>(out, array),
        DataType::Int32 => ints::<Int32Type>(out, array),
        DataType::Int64 => ints::<Int64Type>(out, array),
        DataType::UInt8 => ints::<UInt8Type>(out, array),
        DataType::UInt16 => ints::<UInt16Type>(out, array),
        DataType::UInt32 => ints::<UInt32Type>(out, array),
        DataType::UInt64 => ints::<UInt64Type>(out, array),
        DataType::Date32 => {
            let a = array.as_primitive::<arrow_array::types::Date32Type>();
            out.extend(a.iter().map(|v| {
                v.and_then(date32_to_datetime)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            }));
        }
        DataType::Date64 => {
            let a = array.as_primitive::<arrow_array::types::Date64Type>();
            out.extend(a.iter().map(|v| {
                v.and_then(date64_to_datetime)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            }));
        }
        _ => return false,
    }
    true
}

impl ArrowTable {
    /// The column `name` over all batches, or None when the table has no such column.
    pub(crate) fn column(&self, name: &str) -> Result<Option<Column<'_>>, String> {
        let Ok(index) = self.schema.index_of(name) else {
            return Ok(None);
        };
        let dtype = self.schema.field(index).data_type();
        let rows: usize = self.batches.iter().map(RecordBatch::num_rows).sum();
        let unsupported = || {
            format!(
                "column {name:?} has Arrow type {dtype}; pprl reads string, large string, \
                 string view, integer and date columns (cast it to strings first)"
            )
        };
        if matches!(
            dtype,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            let mut out = Vec::with_capacity(rows);
            for b in &self.batches {
                if !strings(&mut out, b.column(index)) {
                    return Err(unsupported());
                }
            }
            return Ok(Some(Column::Borrowed(out)));
        }
        let mut out = Vec::with_capacity(rows);
        for b in &self.batches {
            if !formatted(&mut out, b.column(index)) {
                return Err(unsupported());
            }
        }
        Ok(Some(Column::Owned(out)))
    }
}

/// A `ValueError` for a table that could not be read.
pub(crate) fn error(msg: String) -> PyErr {
    PyValueError::new_err(format!("Arrow input: {msg}"))
}
