//! `match` and `Links`: encodings in, links (two inputs) or duplicate clusters (one input) out,
//! computed without the GIL on a pool of the call's own threads.

use std::path::PathBuf;

use numpy::{PyArray1, PyArrayMethods};
use pprl::io::{FileRole, RunFiles};
use pprl::linkage::blocking::BlockingRequest;
use pprl::linkage::solve::Solver;
use pprl::linkage::threshold::AutoOptions;
use pprl::linkage::{
    Candidate, CandidateSink, MatchInput, MatchOptions, MatchReport, MatchResult, Threshold,
    match_encodings,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::encodings::Encodings;
use crate::errors::{Failure, raise};

/// A threshold argument: a number in `0..=1` or `"auto"`.
pub(crate) enum ThresholdArg {
    Fixed(f64),
    Auto,
}

impl<'py> FromPyObject<'py> for ThresholdArg {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = ob.downcast::<PyString>() {
            return match s.to_cow()?.as_ref() {
                "auto" => Ok(ThresholdArg::Auto),
                _ => Err(PyValueError::new_err(
                    "threshold must be a number in 0..=1 or \"auto\"",
                )),
            };
        }
        ob.extract::<f64>()
            .map(ThresholdArg::Fixed)
            .map_err(|_| PyTypeError::new_err("threshold must be a number in 0..=1 or \"auto\""))
    }
}

/// Matches encodings: with `b`, links records of `a` to records of `b` one-to-one (`solver`
/// `"greedy"` or `"optimal"`; `"none"` keeps every pair above the threshold); without `b`,
/// finds clusters of duplicates within `a`. `threshold` is a Dice similarity in `0..=1` or
/// `"auto"` (chosen from the score distribution; see `Links.threshold`). `blocking` lists
/// what limits the comparisons, as `pprl match --blocking` does: `"keys"` (the keyed blocking
/// keys in the encodings), `"lsh"`, `"auto"`; None or `["none"]` compares every pair.
#[pyfunction(name = "match")]
#[pyo3(signature = (a, b = None, *, threshold = ThresholdArg::Fixed(0.8), solver = "greedy", blocking = None, scores = true, threads = None),
    text_signature = "(a, b=None, *, threshold=0.8, solver='greedy', blocking=None, scores=True, threads=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn match_(
    py: Python<'_>,
    a: &Encodings,
    b: Option<&Encodings>,
    threshold: ThresholdArg,
    solver: &str,
    blocking: Option<Vec<String>>,
    scores: bool,
    threads: Option<usize>,
) -> PyResult<Links> {
    let mut request = BlockingRequest::default();
    for b in blocking.iter().flatten() {
        match b.as_str() {
            "none" => {}
            "keys" => request.keys = true,
            "lsh" => request.lsh = true,
            "auto" => request.auto = true,
            _ => {
                return Err(PyValueError::new_err(
                    "blocking must list \"keys\", \"lsh\", \"auto\" or \"none\"",
                ));
            }
        }
    }
    let solver: Solver = solver
        .parse()
        .map_err(|_| PyValueError::new_err("solver must be \"greedy\", \"optimal\" or \"none\""))?;
    let opts = MatchOptions {
        threshold: match threshold {
            ThresholdArg::Fixed(t) => Threshold::Fixed(t),
            ThresholdArg::Auto => Threshold::Auto(AutoOptions::default()),
        },
        solver,
        scores,
        blocking: request,
        ..MatchOptions::default()
    };
    let threads = crate::threads::threads(py, threads)?;
    let pool = crate::threads::pool(threads)?;
    let report = py.allow_threads(|| {
        let mut inputs = vec![MatchInput::new(a.label.clone(), a.data.clone())];
        if let Some(b) = b {
            inputs.push(MatchInput::new(b.label.clone(), b.data.clone()));
        }
        // With two inputs the library may stream the links (every candidate a link) to a
        // sink, in the order found, as `pprl match` writes them; keep them in that order.
        let two = inputs.len() == 2;
        let (report, streamed) = pool.install(|| {
            let mut streamed: Vec<Candidate> = Vec::new();
            let mut collect = |_: [&[String]; 2], batch: &[Candidate]| {
                streamed.extend_from_slice(batch);
                Ok(())
            };
            let sink: Option<&mut dyn CandidateSink> = match two {
                true => Some(&mut collect),
                false => None,
            };
            let report = match_encodings(inputs, &opts, sink, &|_| {});
            (report, streamed)
        });
        let mut report = report.map_err(Failure::from)?;
        if let MatchResult::Written { .. } = report.result {
            report.result = MatchResult::Pairs(streamed);
        }
        Ok(report)
    });
    let report = raise(py, report)?;
    Ok(Links { report, scores })
}

/// The result of `match`: links `(a_id, b_id, score)` for two inputs, duplicate clusters for
/// one.
#[pyclass(frozen, module = "pprl._pprl")]
pub(crate) struct Links {
    report: MatchReport,
    scores: bool,
}

impl Links {
    /// The result as one Arrow record batch: `a_id`, `b_id` (strings) and `score` (float64,
    /// when scores were kept) for links; `cluster` (uint64), `id` (string) for duplicates.
    fn record_batch(&self) -> PyResult<arrow_array::RecordBatch> {
        use arrow_array::{ArrayRef, Float64Array, StringArray, UInt64Array};
        use std::sync::Arc;
        let mut cols: Vec<(&str, ArrayRef)> = Vec::new();
        match &self.report.result {
            MatchResult::Duplicates(_) | MatchResult::Clusters(_) => {
                let (cluster, id) = self.cluster_columns();
                cols.push(("cluster", Arc::new(UInt64Array::from(cluster))));
                cols.push(("id", Arc::new(StringArray::from(id))));
            }
            _ => {
                cols.push(("a_id", Arc::new(StringArray::from(self.a_ids()))));
                cols.push(("b_id", Arc::new(StringArray::from(self.b_ids()))));
                if self.scores {
                    let s: Vec<f64> = self.pairs().iter().map(|c| c.score).collect();
                    cols.push(("score", Arc::new(Float64Array::from(s))));
                }
            }
        }
        arrow_array::RecordBatch::try_from_iter(cols)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The `cluster` and `id` columns of a deduplication or multi-party result: one row per
    /// member, clusters numbered from 0.
    fn cluster_columns(&self) -> (Vec<u64>, Vec<String>) {
        let mut cluster = Vec::new();
        let mut id = Vec::new();
        for (k, c) in self.report.clusters().into_iter().enumerate() {
            for (_, rid) in c {
                cluster.push(k as u64);
                id.push(rid.to_string());
            }
        }
        (cluster, id)
    }

    fn pairs(&self) -> &[pprl::linkage::Candidate] {
        match &self.report.result {
            MatchResult::Pairs(p) => p,
            _ => &[],
        }
    }
}

#[pymethods]
impl Links {
    /// The first input's record id of each link (empty for deduplication).
    #[getter]
    fn a_ids(&self) -> Vec<String> {
        let ids = &self.report.ids[0];
        self.pairs()
            .iter()
            .map(|c| ids[c.a as usize].clone())
            .collect()
    }

    /// The second input's record id of each link (empty for deduplication).
    #[getter]
    fn b_ids(&self) -> Vec<String> {
        match self.report.ids.get(1) {
            Some(ids) => self
                .pairs()
                .iter()
                .map(|c| ids[c.b as usize].clone())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The similarity of each link as a NumPy `float64` array (None when `scores=False`).
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.scores.then(|| {
            let s: Vec<f64> = self.pairs().iter().map(|c| c.score).collect();
            PyArray1::from_vec(py, s)
        })
    }

    /// Duplicate clusters (one input): lists of record ids, each of two or more.
    #[getter]
    fn clusters(&self) -> Vec<Vec<String>> {
        self.report
            .clusters()
            .into_iter()
            .map(|c| c.into_iter().map(|(_, id)| id.to_string()).collect())
            .collect()
    }

    /// The threshold used (the chosen one for `threshold="auto"`).
    #[getter]
    fn threshold(&self) -> f64 {
        self.report.threshold
    }

    /// The match report (what `pprl match --format json` prints) as a JSON string.
    fn report_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.report).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The result as columns: `a_id`, `b_id`, `score` for links; `cluster`, `id` for
    /// duplicates (ready for `pyarrow.table(...)` or `polars.DataFrame(...)`).
    fn to_pydict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match &self.report.result {
            MatchResult::Duplicates(_) | MatchResult::Clusters(_) => {
                let (cluster, id) = self.cluster_columns();
                d.set_item("cluster", cluster)?;
                d.set_item("id", id)?;
            }
            _ => {
                d.set_item("a_id", self.a_ids())?;
                d.set_item("b_id", self.b_ids())?;
                if let Some(s) = self.scores(py) {
                    d.set_item("score", s.to_vec()?)?;
                }
            }
        }
        Ok(d)
    }

    /// The result as an Arrow stream of one record batch (the Arrow PyCapsule interface:
    /// `pyarrow.table(links)`, `polars.DataFrame(links)`, DuckDB); the columns are those of
    /// `to_pydict`. `requested_schema` is accepted and ignored.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, pyo3::types::PyCapsule>> {
        let _ = requested_schema;
        crate::arrow_out::stream_capsule(py, self.record_batch()?)
    }

    /// The result as a `pyarrow.Table` (columns as `to_pydict`), through the Arrow stream.
    /// Needs pyarrow.
    fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("pyarrow")?.call_method1("table", (slf,))
    }

    /// The result as a `polars.DataFrame` (columns as `to_pydict`), through the Arrow stream.
    /// Needs polars.
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("polars")?.call_method1("DataFrame", (slf,))
    }

    /// Writes the result as CSV to `path`, atomically: the same bytes as `pprl match` writes
    /// (`a_id,b_id[,score]`, or `cluster,id`).
    fn write_csv(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let done = py.allow_threads(|| {
            RunFiles::new()
                .reads(FileRole::Input, &self.report.files)
                .write(&path)
                .check()?;
            self.report
                .write_csv(&path, self.scores)
                .map_err(Failure::from)
        });
        raise(py, done)
    }

    fn __len__(&self) -> usize {
        match &self.report.result {
            MatchResult::Pairs(p) => p.len(),
            MatchResult::Written { links } => *links as usize,
            MatchResult::Duplicates(c) => c.len(),
            MatchResult::Clusters(c) => c.len(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Links(len={}, threshold={:.4}, kind={:?})",
            self.__len__(),
            self.report.threshold,
            self.report.matches_noun()
        )
    }
}

/// Scores `links` against the true links: `truth` is a list of `(a_id, b_id)` pairs or the
/// path of a truth CSV as `pprl eval` reads it (its first two id columns). For a
/// deduplication (one input) the predicted pairs are every pair within a cluster and pairs
/// count once in either order. Returns `tp`, `fp`, `fn`, `precision`, `recall` and `f1`.
#[pyfunction]
pub(crate) fn evaluate<'py>(
    py: Python<'py>,
    truth: &Bound<'py, PyAny>,
    links: &Links,
) -> PyResult<Bound<'py, PyDict>> {
    let truth: Vec<(String, String)> =
        if truth.is_instance_of::<PyString>() || truth.hasattr("__fspath__")? {
            let path: PathBuf = truth.extract()?;
            let read = py.allow_threads(|| {
                pprl::eval::truth::read_id_pairs(&path, 2)
                    .map_err(|e| Failure::new(crate::errors::Class::Pprl, &e, None))
            });
            raise(py, read)?
        } else {
            truth.extract()?
        };
    let dedup = !matches!(links.report.result, MatchResult::Pairs(_));
    let m = py.allow_threads(|| {
        if dedup {
            // Duplicates: every pair of records within a cluster, unordered.
            let ordered = |a: &str, b: &str| -> (String, String) {
                if a <= b {
                    (a.into(), b.into())
                } else {
                    (b.into(), a.into())
                }
            };
            let mut predicted = Vec::new();
            for c in links.report.clusters() {
                for (i, (_, x)) in c.iter().enumerate() {
                    for (_, y) in &c[i + 1..] {
                        predicted.push(ordered(x, y));
                    }
                }
            }
            let truth = truth
                .iter()
                .filter(|(a, b)| a != b)
                .map(|(a, b)| ordered(a, b));
            return pprl::eval::PairMetrics::from_pairs(truth, predicted);
        }
        let ids = &links.report.ids;
        let predicted = links
            .pairs()
            .iter()
            .map(|c| (ids[0][c.a as usize].as_str(), ids[1][c.b as usize].as_str()));
        pprl::eval::PairMetrics::from_pairs(
            truth.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            predicted,
        )
    });
    let d = PyDict::new(py);
    d.set_item("tp", m.tp)?;
    d.set_item("fp", m.fp)?;
    d.set_item("fn", m.fn_)?;
    d.set_item("precision", m.precision)?;
    d.set_item("recall", m.recall)?;
    d.set_item("f1", m.f1)?;
    Ok(d)
}
