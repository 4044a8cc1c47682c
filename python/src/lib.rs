//! The native module `pprl._pprl` of the Python package `pprl` (python/python/pprl): pprl's
//! in-memory encode and match, with the GIL released during all work, a thread count per call
//! and the library's errors as Python exceptions.
//!
//! * `arrow_in`: Arrow tables in through the PyCapsule interface, without copying strings.
//! * `arrow_out`: `Encodings` and `Links` out through the PyCapsule interface.
//! * `encodings`: `Schema`, `encode`, `Encodings` (files, rejects, a NumPy view).
//! * `links`: `match`, `Links`.
//! * `threads`: the per-call pool size, and the fallback to one thread after `os.fork()`.
//! * `errors`: the exception classes and the mapping from the library's error kinds.
//!
//! Secrets are read only from files named by path, never taken as Python strings or bytes.

mod arrow_in;
mod arrow_out;
mod encodings;
mod errors;
mod links;
mod threads;

use pyo3::prelude::*;

/// pprl's native module; use it through the `pprl` package.
#[pymodule]
fn _pprl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FORMAT_VERSION", pprl::version::FORMAT_VERSION)?;
    m.add_class::<encodings::Schema>()?;
    m.add_class::<encodings::Encodings>()?;
    m.add_class::<links::Links>()?;
    m.add_function(wrap_pyfunction!(encodings::encode, m)?)?;
    m.add_function(wrap_pyfunction!(links::match_, m)?)?;
    m.add_function(wrap_pyfunction!(links::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(threads::forked_after_threads, m)?)?;
    errors::register(m)
}
