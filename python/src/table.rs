//! `Table`: a table the library made (a synthetic party's export, its truth), held as one Arrow
//! record batch and handed to Python through the Arrow PyCapsule interface, so pyarrow,
//! polars, DuckDB and `pprl.encode` read it without a copy and without pyarrow installed.

use arrow_array::{Array, RecordBatch};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A table of columns made by pprl (e.g. by `pprl.synth`): an Arrow record batch. Pass it to
/// `pyarrow.table(...)`, `polars.DataFrame(...)` or `pprl.encode(...)` directly (the Arrow
/// PyCapsule interface), or use `to_arrow()`, `to_polars()`, `to_pydict()`.
#[pyclass(frozen, module = "pprl._pprl")]
pub(crate) struct Table {
    pub(crate) batch: RecordBatch,
}

#[pymethods]
impl Table {
    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The table as a dict of column name to a list of values (str, or int for integer
    /// columns).
    fn to_pydict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::Int64Type;
        let d = PyDict::new(py);
        for (field, column) in self
            .batch
            .schema()
            .fields()
            .iter()
            .zip(self.batch.columns())
        {
            let list = PyList::empty(py);
            match column.data_type() {
                arrow_schema::DataType::Utf8 => {
                    for v in column.as_string::<i32>() {
                        list.append(v)?;
                    }
                }
                arrow_schema::DataType::Int64 => {
                    for v in column.as_primitive::<Int64Type>() {
                        list.append(v)?;
                    }
                }
                other => {
                    return Err(PyValueError::new_err(format!(
                        "column {:?}: unexpected type {other}",
                        field.name()
                    )));
                }
            }
            d.set_item(field.name(), list)?;
        }
        Ok(d)
    }

    /// The table as an Arrow stream of one record batch (the Arrow PyCapsule interface).
    /// `requested_schema` is accepted and ignored.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, pyo3::types::PyCapsule>> {
        let _ = requested_schema;
        crate::arrow_out::stream_capsule(py, self.batch.clone())
    }

    /// The table as a `pyarrow.Table`, through the Arrow stream. Needs pyarrow.
    fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("pyarrow")?.call_method1("table", (slf,))
    }

    /// The table as a `polars.DataFrame`, through the Arrow stream. Needs polars.
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("polars")?.call_method1("DataFrame", (slf,))
    }

    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }

    fn __repr__(&self) -> String {
        format!(
            "Table(rows={}, columns={:?})",
            self.batch.num_rows(),
            self.column_names()
        )
    }
}

/// A table of the CSV text `csv` (header first): string columns, or 64-bit integers for the
/// columns named in `ints`.
pub(crate) fn from_csv(csv: Vec<u8>, ints: &[&str]) -> Result<Table, String> {
    use arrow_array::builder::{Int64Builder, StringBuilder};
    use std::sync::Arc;
    enum Builder {
        Str(StringBuilder),
        Int(Int64Builder),
    }
    let mut input = pprl::io::CsvInput::from_reader(std::io::Cursor::new(csv), "<synth>", b',')
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = input.headers().iter().map(str::to_string).collect();
    let mut builders: Vec<Builder> = names
        .iter()
        .map(|n| match ints.contains(&n.as_str()) {
            true => Builder::Int(Int64Builder::new()),
            false => Builder::Str(StringBuilder::new()),
        })
        .collect();
    let mut row = pprl::io::InputRow::default();
    while input.read_row(&mut row).map_err(|e| e.to_string())? {
        for (b, v) in builders.iter_mut().zip(row.record.iter()) {
            match b {
                Builder::Str(b) => b.append_value(v),
                Builder::Int(b) => {
                    b.append_value(v.parse().map_err(|_| format!("not an integer: {v:?}"))?)
                }
            }
        }
    }
    let columns: Vec<(String, Arc<dyn Array>)> = names
        .into_iter()
        .zip(builders)
        .map(|(n, b)| {
            let a: Arc<dyn Array> = match b {
                Builder::Str(mut b) => Arc::new(b.finish()),
                Builder::Int(mut b) => Arc::new(b.finish()),
            };
            (n, a)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(columns).map_err(|e| e.to_string())?;
    Ok(Table { batch })
}
