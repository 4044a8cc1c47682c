//! `privacy_audit`: encodings in, the library's leakage audit out (the report `pprl privacy
//! audit --json` prints), as JSON text for `pprl.privacy_audit` to turn into a dict.
//!
//! The audit reads only filter words, never plaintext; it runs without the GIL on the call's
//! own threads, and its result does not depend on their number.

use pprl::privacy::{AuditOptions, audit};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::encodings::Encodings;

/// Measures what `encodings` reveal to whoever holds them (frequency, length, co-occurrence,
/// similarity and similarity neighbourhood, each with a verdict and a remedy), as `pprl privacy
/// audit --json` does; returns the report as JSON text. `threshold` is the Dice threshold of
/// the neighbourhood measure, in `(0, 1]`.
#[pyfunction]
#[pyo3(signature = (encodings, *, threshold = 0.8, threads = None))]
pub(crate) fn privacy_audit_json(
    py: Python<'_>,
    encodings: &Encodings,
    threshold: f64,
    threads: Option<usize>,
) -> PyResult<String> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(PyValueError::new_err("threshold must be in (0, 1]"));
    }
    let threads = crate::threads::threads(py, threads)?;
    let pool = crate::threads::pool(threads)?;
    let opts = AuditOptions {
        threshold,
        ..AuditOptions::default()
    };
    let report = py.allow_threads(|| pool.install(|| audit(&encodings.data, &opts)));
    serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))
}
