//! The pieces `pprl.spark` runs inside Spark tasks and on the driver: the blocking plan of
//! `pprl match` for given sizes, each record's block ids, the block-pair kernel over many
//! blocks at once, and the two-party solvers. Arrays in and out are NumPy; nothing here knows
//! about Spark.
//!
//! Every function is the library's own code (`BlockingRequest::resolve`, `BlockedSide`,
//! `candidates::link`, `solve::solve`), so a distributed match finds exactly the candidates and
//! links of `pprl match` with the same blocking. All work runs without the GIL on a pool of the
//! call's own `threads` (inside a Spark task: the task's CPUs).

use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pprl::filter::kernel::Kernel;
use pprl::linkage::Candidate;
use pprl::linkage::blocking::{BlockedSide, BlockingOptions, BlockingRequest, LshParams};
use pprl::linkage::candidates::{self, CandidateOptions, FilterSet, Similarity};
use pprl::linkage::solve::Solver;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{Failure, raise};

/// `(tables, bits, lambda, seed)` of LSH, as Python passes it.
type Lsh = (u32, u32, u32, u64);

fn fingerprint(hex: &str) -> PyResult<[u8; 32]> {
    let bad = || PyValueError::new_err("key_fingerprint must be 64 hex digits");
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The blocking `pprl match --blocking ...` uses for two inputs of `left` and `right` records
/// of `words` 64-bit words each, with `bits_set` bits set over both, `key_count` stored keys and
/// the files' key fingerprint (hex), at `threshold`. `blocking` lists `"keys"`, `"lsh"`,
/// `"auto"` (or is empty: every pair). Returns `keys` (bool), `lsh` (None or `(tables, bits,
/// lambda, seed)`) and `functions` (block functions: keys used, then LSH tables; 0 when every
/// pair is compared). `dedup`: one file of `left` records against itself (`right` ignored),
/// as `pprl match` with one input plans it (pairs `n(n-1)/2`, fill over that file).
#[pyfunction]
#[pyo3(signature = (left, right, *, words, bits_set, key_count, key_fingerprint, threshold, blocking, lsh_tables = None, lsh_bits = None, dedup = false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn blocking_plan<'py>(
    py: Python<'py>,
    left: usize,
    right: usize,
    words: usize,
    bits_set: u64,
    key_count: usize,
    key_fingerprint: &str,
    threshold: f64,
    blocking: Vec<String>,
    lsh_tables: Option<u32>,
    lsh_bits: Option<u32>,
    dedup: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut request = BlockingRequest {
        lsh_tables,
        lsh_bits,
        ..BlockingRequest::default()
    };
    for b in &blocking {
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
    // As the matcher computes them (matcher.rs): the same floating-point operations.
    let (right, pairs, counted) = if dedup {
        let n = left as u64;
        (left, n * n.saturating_sub(1) / 2, left)
    } else {
        (right, left as u64 * right as u64, left + right)
    };
    let fill = bits_set as f64 / (counted.max(1) * words * 64) as f64;
    let seed = LshParams::seed_for(&fingerprint(key_fingerprint)?);
    let opts = request
        .resolve(left, right, pairs, fill, key_count, seed, threshold)
        .map_err(Failure::from);
    let opts: BlockingOptions = raise(py, opts)?;
    let d = PyDict::new(py);
    d.set_item("keys", opts.keys)?;
    d.set_item(
        "lsh",
        opts.lsh.map(|p| (p.tables, p.bits, p.lambda, p.seed)),
    )?;
    let functions =
        if opts.keys { key_count } else { 0 } + opts.lsh.map_or(0, |p| p.tables as usize);
    d.set_item("functions", functions)?;
    d.set_item("fill", fill)?;
    Ok(d)
}

/// The block ids of each record (`filters`: one row of words per record; `key_ids`: its stored
/// key ids, one column per key) under the blocking of `blocking_plan`: an array of one row per
/// record and one column per block function (keys used, then one LSH bucket per table); 0
/// (no block) where a record has no key.
#[pyfunction]
#[pyo3(signature = (filters, key_ids, *, keys, lsh, threads = 1))]
pub(crate) fn block_ids<'py>(
    py: Python<'py>,
    filters: PyReadonlyArray2<'py, u64>,
    key_ids: PyReadonlyArray2<'py, u64>,
    keys: bool,
    lsh: Option<Lsh>,
    threads: usize,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let words = filters.shape()[1];
    let n = filters.shape()[0];
    let key_count = key_ids.shape()[1];
    if key_ids.shape()[0] != n {
        return Err(PyValueError::new_err("one row of key ids per filter"));
    }
    if words == 0 {
        return Err(PyValueError::new_err("filters need at least one word"));
    }
    let filters = filters.as_slice()?;
    let key_ids = key_ids.as_slice()?;
    let opts = BlockingOptions {
        keys,
        lsh: lsh.map(|(tables, bits, lambda, seed)| LshParams {
            tables,
            bits,
            lambda,
            seed,
        }),
        oversized_share: 0.0,
    };
    let pool = crate::threads::pool(crate::threads::threads(py, Some(threads))?)?;
    let out = py.allow_threads(|| {
        pool.install(|| {
            let side = BlockedSide::new(filters, words, key_ids, key_count, &opts);
            let f = side.functions();
            let mut out = Array2::<u64>::zeros((n, f));
            for i in 0..n {
                out.row_mut(i)
                    .as_slice_mut()
                    .expect("a standard-layout row")
                    .copy_from_slice(side.row(i as u32));
            }
            out
        })
    });
    Ok(out.into_pyarray(py))
}

/// Rows of one side grouped by block: `(block, tag)` keys sorted, with the rows of each.
fn groups(block: &[u64], tag: &[u64]) -> Vec<((u64, u64), u32)> {
    let mut v: Vec<((u64, u64), u32)> = (0..block.len() as u32)
        .map(|i| ((tag[i as usize], block[i as usize]), i))
        .collect();
    v.sort_unstable();
    v
}

/// The block-pair kernel: scores every pair of a left row and a right row that share a block
/// (the same `block` id and `tag`), keeping those at or above `threshold`, exactly as `pprl
/// match` scores the pairs of a block (its kernel and length filter). Returns the left row,
/// the right row and the Dice score of each kept pair (rows are positions in the arrays given),
/// sorted by block then pair.
#[pyfunction]
#[pyo3(signature = (left_block, left_tag, left_filters, right_block, right_tag, right_filters, *, threshold, threads = 1))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn compare_blocks<'py>(
    py: Python<'py>,
    left_block: PyReadonlyArray1<'py, u64>,
    left_tag: PyReadonlyArray1<'py, u64>,
    left_filters: PyReadonlyArray2<'py, u64>,
    right_block: PyReadonlyArray1<'py, u64>,
    right_tag: PyReadonlyArray1<'py, u64>,
    right_filters: PyReadonlyArray2<'py, u64>,
    threshold: f64,
    threads: usize,
) -> PyResult<(
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let words = left_filters.shape()[1];
    if right_filters.shape()[1] != words
        && right_filters.shape()[0] > 0
        && left_filters.shape()[0] > 0
    {
        return Err(PyValueError::new_err(
            "both sides need filters of the same length",
        ));
    }
    let (lb, lt, lf) = (
        left_block.as_slice()?,
        left_tag.as_slice()?,
        left_filters.as_slice()?,
    );
    let (rb, rt, rf) = (
        right_block.as_slice()?,
        right_tag.as_slice()?,
        right_filters.as_slice()?,
    );
    if lb.len() != lt.len()
        || lb.len() * words != lf.len()
        || rb.len() != rt.len()
        || rb.len() * words != rf.len()
    {
        return Err(PyValueError::new_err(
            "one block id, tag and filter row per record",
        ));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(PyValueError::new_err("threshold must be in 0..=1"));
    }
    let pool = crate::threads::pool(crate::threads::threads(py, Some(threads))?)?;
    let (a, b, s) = py.allow_threads(|| {
        pool.install(|| {
            let (a, b, s) = (Vec::new(), Vec::new(), Vec::new());
            if words == 0 || lb.is_empty() || rb.is_empty() {
                return (a, b, s);
            }
            let (lg, rg) = (groups(lb, lt), groups(rb, rt));
            let kernel = Kernel::detect();
            let copts = CandidateOptions {
                threshold,
                similarity: Similarity::Dice,
                top_k: None,
            };
            // Blocks present on both sides, as runs of the sorted groups.
            let mut runs = Vec::new();
            let (mut i, mut j) = (0, 0);
            while i < lg.len() && j < rg.len() {
                let (ki, kj) = (lg[i].0, rg[j].0);
                if ki < kj {
                    i += 1;
                } else if kj < ki {
                    j += 1;
                } else {
                    let ie = i + lg[i..].partition_point(|g| g.0 == ki);
                    let je = j + rg[j..].partition_point(|g| g.0 == kj);
                    runs.push((i..ie, j..je));
                    (i, j) = (ie, je);
                }
            }
            use rayon::prelude::*;
            let found: Vec<Vec<(u32, u32, f64)>> = runs
                .par_iter()
                .map(|(li, ri)| {
                    let gather = |rows: &[((u64, u64), u32)], f: &[u64]| -> (Vec<u32>, Vec<u64>) {
                        let idx: Vec<u32> = rows.iter().map(|g| g.1).collect();
                        let mut w = Vec::with_capacity(idx.len() * words);
                        for &r in &idx {
                            w.extend_from_slice(&f[r as usize * words..(r as usize + 1) * words]);
                        }
                        (idx, w)
                    };
                    let (lidx, lw) = gather(&lg[li.clone()], lf);
                    let (ridx, rw) = gather(&rg[ri.clone()], rf);
                    let (cands, _) = candidates::link(
                        &FilterSet::new(&lw, words),
                        &FilterSet::new(&rw, words),
                        &copts,
                        &kernel,
                        &|_| {},
                    );
                    cands
                        .into_iter()
                        .map(|c| (lidx[c.a as usize], ridx[c.b as usize], c.score))
                        .collect()
                })
                .collect();
            let (mut a, mut b, mut s) = (a, b, s);
            for (x, y, z) in found.into_iter().flatten() {
                a.push(x);
                b.push(y);
                s.push(z);
            }
            (a, b, s)
        })
    });
    Ok((a.into_pyarray(py), b.into_pyarray(py), s.into_pyarray(py)))
}

/// Solves two-party candidates (`a`, `b`: record positions, any `u32` values whose order is the
/// records' order in their files; `score`: their similarities) with `solver` (`"greedy"`,
/// `"optimal"` or `"none"`), as `pprl match --solver` does: the links `(a, b, score)` in the
/// solver's order (higher score first, then lower `a`, then lower `b`).
#[pyfunction]
#[pyo3(signature = (a, b, score, *, solver = "greedy"))]
#[allow(clippy::type_complexity)]
pub(crate) fn solve_pairs<'py>(
    py: Python<'py>,
    a: PyReadonlyArray1<'py, u32>,
    b: PyReadonlyArray1<'py, u32>,
    score: PyReadonlyArray1<'py, f64>,
    solver: &str,
) -> PyResult<(
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let solver: Solver = solver
        .parse()
        .map_err(|_| PyValueError::new_err("solver must be \"greedy\", \"optimal\" or \"none\""))?;
    let (a, b) = (a.as_slice()?, b.as_slice()?);
    let cands = candidates_of(a, b, score.as_slice()?)?;
    // Sorted by the solver order whichever solver runs.
    let links = py.allow_threads(|| pprl::linkage::solve::solve(solver, &cands));
    let x: Vec<u32> = links.iter().map(|c| c.a).collect();
    let y: Vec<u32> = links.iter().map(|c| c.b).collect();
    let z: Vec<f64> = links.iter().map(|c| c.score).collect();
    Ok((x.into_pyarray(py), y.into_pyarray(py), z.into_pyarray(py)))
}

/// The similarity `pprl match` rescores a pair with (average linkage): Dice of two rows.
fn rescore(filters: &[u64], words: usize, x: usize, y: usize) -> f64 {
    let row = |i: usize| &filters[i * words..(i + 1) * words];
    pprl::linkage::threshold::pair_score(Similarity::Dice, row(x), row(y))
}

/// Candidates from three equally long columns.
fn candidates_of(a: &[u32], b: &[u32], score: &[f64]) -> PyResult<Vec<Candidate>> {
    if a.len() != b.len() || a.len() != score.len() {
        return Err(PyValueError::new_err(
            "a, b and score must have the same length",
        ));
    }
    Ok((0..a.len())
        .map(|i| Candidate {
            a: a[i],
            b: b[i],
            score: score[i],
        })
        .collect())
}

fn clustering(name: &str) -> PyResult<pprl::linkage::solve::Clustering> {
    use pprl::linkage::solve::Clustering;
    match name {
        "average" => Ok(Clustering::Average),
        "components" => Ok(Clustering::Components),
        _ => Err(PyValueError::new_err(
            "clustering must be \"average\" or \"components\"",
        )),
    }
}

/// One file's duplicate clusters, as `pprl match` with one input forms them: candidates `a`,
/// `b` (rows of `filters`, numbered in file order), their scores, clustered at `threshold` by
/// `"average"` linkage (pairs rescored from `filters`) or `"components"`. Returns the cluster
/// number and the row of each clustered record, clusters in the library's order.
#[pyfunction]
#[pyo3(signature = (a, b, score, filters, *, threshold, clustering = "average"))]
#[allow(clippy::type_complexity)]
pub(crate) fn dedup_clusters<'py>(
    py: Python<'py>,
    a: PyReadonlyArray1<'py, u32>,
    b: PyReadonlyArray1<'py, u32>,
    score: PyReadonlyArray1<'py, f64>,
    filters: PyReadonlyArray2<'py, u64>,
    threshold: f64,
    clustering: &str,
) -> PyResult<(Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<u32>>)> {
    use pprl::linkage::solve::{self, Clustering};
    let how = self::clustering(clustering)?;
    let (a, b, score) = (a.as_slice()?, b.as_slice()?, score.as_slice()?);
    let words = filters.shape()[1];
    let n = filters.shape()[0] as u32;
    let f = filters.as_slice()?;
    let cands = candidates_of(a, b, score)?;
    if a.iter().chain(b).any(|&x| x >= n) {
        return Err(PyValueError::new_err(
            "a record outside the filters given (one row per clustered record)",
        ));
    }
    let clusters = py.allow_threads(|| match how {
        Clustering::Average => solve::dedup_average_linkage(n, &cands, threshold, &|x, y| {
            rescore(f, words, x as usize, y as usize)
        }),
        Clustering::Components => solve::dedup_components(n, &cands),
    });
    let (mut k, mut r) = (Vec::new(), Vec::new());
    for (i, c) in clusters.iter().enumerate() {
        for &x in c {
            k.push(i as u32);
            r.push(x);
        }
    }
    Ok((k.into_pyarray(py), r.into_pyarray(py)))
}

/// Several parties' clusters, as `pprl match` with three or more inputs forms them: candidates
/// between record `(party_a, a)` and `(party_b, b)` (indices numbered in each party's file
/// order) with their scores, clustered at `threshold` by `"average"` linkage or `"components"`
/// (greedy, at most one record per party). `filters`: one row per record, party by party
/// (`offsets[p]` is party `p`'s first row; a record's row is `offsets[party] + index`), for
/// rescoring. Returns the cluster number, party and index of each clustered record.
#[pyfunction]
#[pyo3(signature = (party_a, a, party_b, b, score, filters, offsets, *, threshold, clustering = "average"))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn party_clusters<'py>(
    py: Python<'py>,
    party_a: PyReadonlyArray1<'py, u16>,
    a: PyReadonlyArray1<'py, u32>,
    party_b: PyReadonlyArray1<'py, u16>,
    b: PyReadonlyArray1<'py, u32>,
    score: PyReadonlyArray1<'py, f64>,
    filters: PyReadonlyArray2<'py, u64>,
    offsets: PyReadonlyArray1<'py, u64>,
    threshold: f64,
    clustering: &str,
) -> PyResult<(
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u16>>,
    Bound<'py, PyArray1<u32>>,
)> {
    use pprl::linkage::solve::{self, Clustering};
    use pprl::linkage::{PartyCandidate, RecordRef};
    let how = self::clustering(clustering)?;
    let (pa, a, pb, b, score) = (
        party_a.as_slice()?,
        a.as_slice()?,
        party_b.as_slice()?,
        b.as_slice()?,
        score.as_slice()?,
    );
    let words = filters.shape()[1];
    let rows = filters.shape()[0] as u64;
    let (f, offsets) = (filters.as_slice()?, offsets.as_slice()?);
    let n = a.len();
    if [pa.len(), pb.len(), b.len(), score.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err(PyValueError::new_err(
            "party_a, a, party_b, b and score must have the same length",
        ));
    }
    let row = |r: RecordRef| {
        offsets
            .get(r.party as usize)
            .map(|o| o + u64::from(r.index))
    };
    let cands: Vec<PartyCandidate> = (0..n)
        .map(|i| PartyCandidate {
            a: RecordRef {
                party: pa[i],
                index: a[i],
            },
            b: RecordRef {
                party: pb[i],
                index: b[i],
            },
            score: score[i],
        })
        .collect();
    // Rescoring (average linkage) reads every clustered record's filter.
    if how == Clustering::Average
        && cands
            .iter()
            .any(|c| [c.a, c.b].iter().any(|&r| row(r).is_none_or(|x| x >= rows)))
    {
        return Err(PyValueError::new_err(
            "a record outside the filters given (party or index)",
        ));
    }
    let clusters = py.allow_threads(|| match how {
        Clustering::Average => solve::multiparty_average_linkage(&cands, threshold, &|x, y| {
            let (x, y) = (row(x).expect("checked"), row(y).expect("checked"));
            rescore(f, words, x as usize, y as usize)
        }),
        Clustering::Components => solve::multiparty_greedy(&cands),
    });
    let (mut k, mut p, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for (i, c) in clusters.iter().enumerate() {
        for x in c {
            k.push(i as u32);
            p.push(x.party);
            r.push(x.index);
        }
    }
    Ok((k.into_pyarray(py), p.into_pyarray(py), r.into_pyarray(py)))
}
