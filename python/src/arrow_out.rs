//! Arrow out through the PyCapsule interface: `Encodings` as a `fixed_size_binary` column that
//! shares the encodings' memory (`__arrow_c_array__`), and `Links` as a table of ids and scores
//! (`__arrow_c_stream__`), for `pyarrow.array(...)`, `pyarrow.table(...)`, polars, DuckDB.

use std::ffi::CString;
use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;
use std::sync::Arc;

use arrow_array::ffi::FFI_ArrowArray;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch, RecordBatchIterator};
use arrow_buffer::Buffer;
use arrow_schema::ffi::FFI_ArrowSchema;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};

use crate::encodings::Encodings;

fn err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("Arrow export: {e}"))
}

/// The filter words of `enc` as a `fixed_size_binary(bits / 8)` array over the same memory
/// (the array keeps `enc` alive).
pub(crate) fn clk_array(enc: &Bound<'_, Encodings>) -> PyResult<FixedSizeBinaryArray> {
    let this = enc.get();
    let n = this.data.ids.len();
    let w = this.data.header.words_per_record();
    let words = &this.data.words[..n * w];
    let owner: Arc<AssertUnwindSafe<Py<Encodings>>> =
        Arc::new(AssertUnwindSafe(enc.clone().unbind()));
    let ptr = NonNull::new(words.as_ptr() as *mut u8).unwrap_or(NonNull::dangling());
    // SAFETY: the words live in a frozen `Encodings` (never changed or moved while it lives),
    // and `owner` keeps it alive as long as the buffer.
    let buffer =
        unsafe { Buffer::from_custom_allocation(ptr, std::mem::size_of_val(words), owner) };
    FixedSizeBinaryArray::try_new((w * 8) as i32, buffer, None).map_err(err)
}

/// `(schema capsule, array capsule)` for `array` (the Arrow PyCapsule interface).
pub(crate) fn array_capsules<'py>(
    py: Python<'py>,
    array: &dyn Array,
) -> PyResult<Bound<'py, PyTuple>> {
    let data = array.to_data();
    let schema = FFI_ArrowSchema::try_from(data.data_type()).map_err(err)?;
    let array = FFI_ArrowArray::new(&data);
    let schema = PyCapsule::new(py, schema, Some(CString::from(c"arrow_schema")))?;
    let array = PyCapsule::new(py, array, Some(CString::from(c"arrow_array")))?;
    PyTuple::new(py, [schema.into_any(), array.into_any()])
}

/// An `arrow_array_stream` capsule of one record batch.
pub(crate) fn stream_capsule<'py>(
    py: Python<'py>,
    batch: RecordBatch,
) -> PyResult<Bound<'py, PyCapsule>> {
    let schema = batch.schema();
    let reader = RecordBatchIterator::new([Ok(batch)], schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    PyCapsule::new(py, stream, Some(CString::from(c"arrow_array_stream")))
}
