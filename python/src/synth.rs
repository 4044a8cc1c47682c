//! `synth`: a synthetic population with ground truth (the library's `lab::synth`, as `pprl
//! synth` makes it): the settings in, each party's export and the truth out as [`Table`]s, and
//! the same files as `pprl synth --out-dir` on request.
//!
//! The tables are the very bytes `pprl synth` writes, parsed: generation runs without the GIL
//! on the call's own threads, and the output does not depend on their number.

use std::path::PathBuf;

use pprl::lab::synth::{CorruptionLevel, Population, SynthConfig, SynthError, TruthFormat};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors::{Class, Failure, raise};
use crate::table::{self, Table};

impl From<SynthError> for Failure {
    fn from(e: SynthError) -> Failure {
        let class = match e.kind() {
            pprl::lab::synth::SynthErrorKind::Output => Class::Output,
            _ => Class::Pprl,
        };
        Failure::new(class, &e, e.position())
    }
}

/// A synthetic population: each party's export (`parties`, in file order: `party_a.csv`,
/// `party_b.csv`, ...) and the truth (`truth`), as tables; from `pprl.synth`.
#[pyclass(frozen, module = "pprl._pprl")]
pub(crate) struct Synth {
    population: Population,
    parties: Vec<Py<Table>>,
    truth: Py<Table>,
}

#[pymethods]
impl Synth {
    /// Each party's export, in party order: columns `record_id`, `given_name`, `surname`,
    /// `date_of_birth`, `sex`, `postcode`, `address` (all strings; empty for a missing value),
    /// the rows of `party_a.csv`, `party_b.csv`, ... as `pprl synth` writes them.
    #[getter]
    fn parties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.parties.iter().map(|t| t.clone_ref(py)))
    }

    /// The truth, as `truth.csv`: `a_id`, `b_id` (one row per person in both parties) when
    /// `truth_format` is `"pairs"` (two parties without duplicates), else `entity_id` (int),
    /// `party` (int, from 0 in party order), `record_id`: one row per record, records with
    /// the same `entity_id` being the same person.
    #[getter]
    fn truth(&self, py: Python<'_>) -> Py<Table> {
        self.truth.clone_ref(py)
    }

    /// `"pairs"` or `"entities"` (see `truth`).
    #[getter]
    fn truth_format(&self) -> &'static str {
        match self.population.truth_format() {
            TruthFormat::Pairs => "pairs",
            TruthFormat::Entities => "entities",
        }
    }

    /// How many of each party's distinct people also appear in another party.
    #[getter]
    fn shared_per_party(&self) -> u64 {
        self.population.shared_per_party()
    }

    /// How many records of each party are extra copies of another of its records.
    #[getter]
    fn duplicates_per_party(&self) -> u64 {
        self.population.duplicates_per_party()
    }

    /// The seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.population.config().seed
    }

    /// Writes `party_a.csv`, `party_b.csv`, ... and `truth.csv` into `out_dir` (created if
    /// needed), atomically: the same bytes as `pprl synth --out-dir` with the same settings.
    /// Returns the paths written, parties first.
    #[pyo3(signature = (out_dir, *, threads = None))]
    fn write(
        &self,
        py: Python<'_>,
        out_dir: PathBuf,
        threads: Option<usize>,
    ) -> PyResult<Vec<PathBuf>> {
        let threads = crate::threads::threads(py, threads)?;
        let done = py.allow_threads(|| {
            self.population
                .write_dir(&out_dir, Some(threads))
                .map_err(Failure::from)
        });
        let summary = raise(py, done)?;
        let mut paths: Vec<PathBuf> = summary.parties.into_iter().map(|p| p.path).collect();
        paths.push(summary.truth);
        Ok(paths)
    }

    fn __repr__(&self) -> String {
        let c = self.population.config();
        format!(
            "Synth(parties={}, records={}, seed={}, truth_format={:?})",
            c.parties,
            c.records,
            c.seed,
            self.truth_format()
        )
    }
}

/// The preset named `name`.
fn level(name: &str) -> PyResult<CorruptionLevel> {
    Ok(match name {
        "none" => CorruptionLevel::None,
        "low" => CorruptionLevel::Low,
        "moderate" => CorruptionLevel::Moderate,
        "high" => CorruptionLevel::High,
        _ => {
            return Err(PyValueError::new_err(
                "corruption must be \"none\", \"low\", \"moderate\" or \"high\"",
            ));
        }
    })
}

/// Generates a synthetic population with ground truth, as `pprl synth` does with the same
/// options: `records` per party (duplicates included), `parties` (1 to 26; one is the
/// deduplication case), `overlap` (the fraction of each party's distinct people also in
/// another party; default 0.5, two parties or more), `duplicates` (the fraction of each
/// party's records that are extra corrupted copies, in `[0, 1)`), `corruption` (a preset) and
/// `rates` (a mapping of rate name, e.g. `"given_name.typo"`, to a probability, overriding the
/// preset's as `--rate` does). The same seed and options give the same records.
#[pyfunction]
#[pyo3(signature = (records, *, seed, parties = 2, overlap = None, duplicates = 0.0, corruption = "moderate", rates = None, threads = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn synth(
    py: Python<'_>,
    records: u64,
    seed: u64,
    parties: usize,
    overlap: Option<f64>,
    duplicates: f64,
    corruption: &str,
    rates: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Synth> {
    let rates: Vec<(String, f64)> = match rates {
        None => Vec::new(),
        Some(r) if r.hasattr("items")? => r
            .call_method0("items")?
            .try_iter()?
            .map(|i| i?.extract())
            .collect::<PyResult<_>>()?,
        Some(r) => r.extract()?,
    };
    if parties == 1 && overlap.is_some() {
        return Err(PyValueError::new_err(
            "overlap needs two parties or more; with one party use duplicates",
        ));
    }
    let mut profile = level(corruption)?.profile();
    for (name, value) in &rates {
        raise(py, profile.set(name, *value).map_err(Failure::from))?;
    }
    let config = SynthConfig {
        parties,
        overlap: overlap.unwrap_or(0.5),
        duplicates,
        corruption: profile,
        ..SynthConfig::new(records, seed)
    };
    let population = raise(py, Population::new(config).map_err(Failure::from))?;
    let threads = crate::threads::threads(py, threads)?;
    let pool = crate::threads::pool(threads)?;
    let made = py.allow_threads(|| {
        pool.install(|| -> Result<(Vec<Table>, Table), String> {
            let mut tables = Vec::new();
            for p in 0..parties {
                let mut csv = Vec::new();
                population
                    .write_party(p, &mut csv)
                    .map_err(|e| e.to_string())?;
                tables.push(table::from_csv(csv, &[])?);
            }
            let mut csv = Vec::new();
            population
                .write_truth(&mut csv)
                .map_err(|e| e.to_string())?;
            Ok((tables, table::from_csv(csv, &["entity_id", "party"])?))
        })
    });
    let (tables, truth) = made.map_err(PyValueError::new_err)?;
    Ok(Synth {
        population,
        parties: tables
            .into_iter()
            .map(|t| Py::new(py, t))
            .collect::<PyResult<_>>()?,
        truth: Py::new(py, truth)?,
    })
}
