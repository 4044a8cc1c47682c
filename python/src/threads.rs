//! How many worker threads a call gets: the caller's count, else one per core, and one after
//! `os.fork()`.
//!
//! Every call runs on a rayon pool of its own (never rayon's global pool), started for the
//! call. A process forked from one that has run a parallel call inherits no worker threads; as
//! the `tokenizers` package does, such a child is detected (its process id differs from the
//! one that started workers) and runs every later call on one thread, with one
//! `RuntimeWarning` saying so.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use pyo3::exceptions::{PyRuntimeWarning, PyValueError};
use pyo3::prelude::*;

/// The process that started worker threads (0: none has yet).
static WORKERS_PID: AtomicU32 = AtomicU32::new(0);
/// Whether the after-fork warning was given.
static WARNED: AtomicBool = AtomicBool::new(false);

/// The thread count for a call that asked for `requested` (`None`: one per core).
pub(crate) fn threads(py: Python<'_>, requested: Option<usize>) -> PyResult<usize> {
    if requested == Some(0) {
        return Err(PyValueError::new_err(
            "threads must be at least 1 (or None)",
        ));
    }
    let pid = std::process::id();
    let started = WORKERS_PID.load(Ordering::Relaxed);
    if started != 0 && started != pid {
        if !WARNED.swap(true, Ordering::Relaxed) {
            PyErr::warn(
                py,
                &py.get_type::<PyRuntimeWarning>(),
                c"pprl: the current process was forked after pprl had used worker threads; \
                  pprl runs on one thread in this process to avoid a deadlock",
                1,
            )?;
        }
        return Ok(1);
    }
    let n = requested.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    WORKERS_PID.store(pid, Ordering::Relaxed);
    Ok(n)
}

/// A pool of `threads` workers for one call.
pub(crate) fn pool(threads: usize) -> PyResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            crate::errors::PprlError::new_err(format!("cannot start {threads} threads: {e}"))
        })
}

/// Whether this process is a fork of one that used worker threads.
#[pyfunction]
pub(crate) fn forked_after_threads() -> bool {
    let started = WORKERS_PID.load(Ordering::Relaxed);
    started != 0 && started != std::process::id()
}
