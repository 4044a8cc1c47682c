//! The native module `pprl._pprl` of the Python package `pprl` (python/python/pprl): pprl's
//! in-memory encode and match, with the GIL released during all work, a thread count per call
//! and the library's errors as Python exceptions.
//!
//! * `arrow_in`: Arrow tables in through the PyCapsule interface, without copying strings.
//! * `arrow_out`: `Encodings` and `Links` out through the PyCapsule interface.
//! * `encodings`: `encode`, `Encodings` (files, rejects, a NumPy view).
//! * `schema`: `Schema` (pprl's, or a clkhash linkage schema).
//! * `links`: `match`, `Links`, `evaluate`.
//! * `synth`: `synth`, a synthetic population with ground truth, as `Table`s (`table`).
//! * `privacy`: `privacy_audit`, the leakage audit of encodings.
//! * `spark`: the blocking plan, block ids, block-pair kernel and solvers `pprl.spark` runs.
//! * `threads`: the per-call pool size, and the fallback to one thread after `os.fork()`.
//! * `errors`: the exception classes and the mapping from the library's error kinds.
//!
//! Secrets are read only from files named by path, never taken as Python strings or bytes.

mod arrow_in;
mod arrow_out;
mod encodings;
mod errors;
mod links;
mod privacy;
mod schema;
mod spark;
mod synth;
mod table;
mod threads;

use pyo3::prelude::*;

/// pprl's native module; use it through the `pprl` package.
#[pymodule]
fn _pprl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FORMAT_VERSION", pprl::version::FORMAT_VERSION)?;
    m.add_class::<schema::Schema>()?;
    m.add_class::<encodings::Encodings>()?;
    m.add_class::<links::Links>()?;
    m.add_class::<synth::Synth>()?;
    m.add_class::<table::Table>()?;
    m.add_function(wrap_pyfunction!(encodings::encode, m)?)?;
    m.add_function(wrap_pyfunction!(links::match_, m)?)?;
    m.add_function(wrap_pyfunction!(links::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(synth::synth, m)?)?;
    m.add_function(wrap_pyfunction!(privacy::privacy_audit_json, m)?)?;
    m.add_function(wrap_pyfunction!(spark::blocking_plan, m)?)?;
    m.add_function(wrap_pyfunction!(spark::block_ids, m)?)?;
    m.add_function(wrap_pyfunction!(spark::compare_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(spark::solve_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(spark::dedup_clusters, m)?)?;
    m.add_function(wrap_pyfunction!(spark::party_clusters, m)?)?;
    m.add_function(wrap_pyfunction!(threads::forked_after_threads, m)?)?;
    errors::register(m)
}
