//! The matching job at the third party: encoding files in, links or clusters out.
//!
//! 1. Every file is read and verified (checksum, size); their headers must agree on the key
//!    fingerprint, the layout and the filter length, and (unless explicitly allowed) on the
//!    schema fingerprint. A key mismatch is never overridable: filters made with different
//!    secrets share nothing but noise.
//! 2. One file: deduplication (each unordered pair once, clusters of duplicates). Two files:
//!    candidates above the threshold, then a one-to-one solver (or none). Three or more: the
//!    candidates of every pair of files, then greedy multi-party clustering with at most one
//!    record per party.
//! 3. The result goes to a CSV file, written atomically, naming records only by the ids the
//!    departments chose.
//!
//! Similarity scores are sensitive: with them and an overlapping plaintext data set, published
//! graph-matching attacks re-identify records. The third party should not release them to data
//! providers; [`MatchOptions::scores`] leaves them out of the output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::blocking::{self, BlockedSide, BlockingReport, BlockingRequest};
use super::candidates::{self, CandidateOptions, CandidateStats, Emit, FilterSet, Similarity};
use super::solve::{self, Solver};
use super::{Candidate, PartyCandidate, RecordRef};
use crate::filter::kernel::Kernel;
use crate::io::formats::{FileKind, ReadError, UNKNOWN_FINGERPRINT, read_encoding_file};
use crate::io::{AtomicFile, ClkData, ClkError};

/// A matching problem that stops the job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// A file could not be read or failed verification.
    #[error(transparent)]
    Clk(#[from] ClkError),
    /// A clkhash JSON or anonlink binary file could not be read.
    #[error(transparent)]
    Foreign(#[from] ReadError),
    /// Two files cannot be compared.
    #[error("{0}")]
    Mismatch(Box<Mismatch>),
    /// The options do not make sense.
    #[error("{0}")]
    Options(String),
    /// No threshold could be chosen from the scores (too few records scored).
    #[error("{0}")]
    Threshold(String),
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Why two files cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{first} and {second} have different {what} ({a} vs {b}): {why}")]
pub struct Mismatch {
    /// The first file.
    pub first: String,
    /// The other file.
    pub second: String,
    /// What differs: `key fingerprints`, `filter layouts`, `filter lengths` or
    /// `schema fingerprints`.
    pub what: &'static str,
    /// The first file's value.
    pub a: String,
    /// The other file's value.
    pub b: String,
    /// What it means and what to do.
    pub why: &'static str,
}

/// How to match.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Minimum similarity of a candidate pair.
    pub threshold: f64,
    /// Similarity measure.
    pub similarity: Similarity,
    /// One-to-one solver for two files.
    pub solver: Solver,
    /// Keep only the best `k` candidates per record.
    pub top_k: Option<usize>,
    /// Accept files whose schema fingerprints differ (never keys, layouts or lengths).
    pub allow_schema_mismatch: bool,
    /// Write scores into the output.
    pub scores: bool,
    /// The popcount kernel (default: the best this CPU has).
    pub kernel: Option<Kernel>,
    /// Blocking (none by default: every pair is compared, after the length filter).
    pub blocking: BlockingRequest,
    /// Known true pairs `(id in first file, id in second file)` (for one file, pairs of its
    /// ids): with blocking, the report then gives the blocking's pair completeness.
    pub truth: Option<Vec<(String, String)>>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            threshold: 0.8,
            similarity: Similarity::Dice,
            solver: Solver::Greedy,
            top_k: None,
            allow_schema_mismatch: false,
            scores: true,
            kernel: None,
            blocking: BlockingRequest::default(),
            truth: None,
        }
    }
}

/// The result, before it is written.
#[derive(Debug, Clone)]
pub enum MatchResult {
    /// Two files: linked pairs `(index in first, index in second, score)`.
    Pairs(Vec<Candidate>),
    /// Two files, every candidate a link: already written to the output as they were found
    /// ([`match_files_to_csv`]).
    Written {
        /// Rows written.
        links: u64,
    },
    /// One file: clusters of duplicate records (indices), each of two or more.
    Duplicates(Vec<Vec<u32>>),
    /// Three or more files: clusters with at most one record per party.
    Clusters(Vec<Vec<RecordRef>>),
}

/// What a finished matching job did.
#[derive(Debug, Clone)]
pub struct MatchReport {
    /// The files, in input order.
    pub files: Vec<PathBuf>,
    /// Record ids of each file, in file order.
    pub ids: Vec<Vec<String>>,
    /// The result.
    pub result: MatchResult,
    /// Candidate generation counters, summed over all file pairs.
    pub stats: CandidateStats,
    /// Links or clustered records in the result.
    pub matches: u64,
    /// Wall time of candidate generation and solving (reading excluded).
    pub elapsed: Duration,
    /// Time spent reading and verifying the files.
    pub read_time: Duration,
    /// The kernel used.
    pub kernel: &'static str,
    /// Warnings to show (e.g. an allowed schema mismatch).
    pub warnings: Vec<String>,
    /// What blocking did, per compared pair of files (empty without blocking).
    pub blocking: Vec<BlockingReport>,
}

/// Reads and checks the files, then matches them (see the module docs).
pub fn match_files(
    paths: &[PathBuf],
    opts: &MatchOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MatchReport, MatchError> {
    run(paths, opts, progress, None)
}

/// Like [`match_files`], and writes the result to `output` as CSV (see
/// [`MatchReport::write_csv`]). With two files, no solver and no top-k, candidates go to the
/// file as they are found, without being held in memory (the report's result is then
/// [`MatchResult::Written`]); rows are in a deterministic order, but not sorted.
pub fn match_files_to_csv(
    paths: &[PathBuf],
    opts: &MatchOptions,
    output: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MatchReport, MatchError> {
    let report = run(paths, opts, progress, Some(output))?;
    if !matches!(report.result, MatchResult::Written { .. }) {
        report.write_csv(output, opts.scores)?;
    }
    Ok(report)
}

fn run(
    paths: &[PathBuf],
    opts: &MatchOptions,
    progress: &(dyn Fn(u64) + Sync),
    stream_to: Option<&Path>,
) -> Result<MatchReport, MatchError> {
    if paths.is_empty() {
        return Err(MatchError::Options(
            "give at least one encoding file".into(),
        ));
    }
    if !(0.0..=1.0).contains(&opts.threshold) {
        return Err(MatchError::Options(format!(
            "the threshold must be between 0 and 1, found {}",
            opts.threshold
        )));
    }
    if opts.top_k == Some(0) {
        return Err(MatchError::Options("--top-k must be at least 1".into()));
    }
    let started = Instant::now();
    // clkhash JSON and anonlink binary files are read too (see `crate::compat`).
    let mut data = Vec::with_capacity(paths.len());
    let mut warnings = Vec::new();
    for path in paths {
        let (d, kind) = read_encoding_file(path)?;
        if kind != FileKind::Clk {
            let what = match kind {
                FileKind::ClkhashJson => "a clkhash JSON file",
                _ => "an anonlink binary file",
            };
            warnings.push(format!(
                "{} is {what}: its records are identified by position (0, 1, 2, ...), and it \
                 carries no key or schema fingerprint, so pprl cannot check that it was \
                 encoded with the same secret and schema as the other files",
                path.display()
            ));
        }
        data.push(d);
    }
    warnings.extend(check_compatible(paths, &data, opts.allow_schema_mismatch)?);
    let read_time = started.elapsed();

    let started = Instant::now();
    let kernel = opts.kernel.unwrap_or_else(Kernel::detect);
    let copts = CandidateOptions {
        threshold: opts.threshold,
        similarity: opts.similarity,
        top_k: opts.top_k,
    };
    let truth = opts.truth.as_deref().filter(|_| data.len() <= 2);
    let pair = |i: usize, j: Option<usize>, emit: Option<Emit<'_>>| {
        candidates_between(
            &data,
            i,
            j,
            &copts,
            &opts.blocking,
            truth,
            &kernel,
            progress,
            emit,
        )
    };
    let mut reports = Vec::new();
    let (result, stats) = match data.len() {
        1 => {
            let (cands, stats, report) = pair(0, None, None)?;
            reports.extend(report);
            let n = data[0].ids.len() as u32;
            (
                MatchResult::Duplicates(solve::dedup_components(n, &cands)),
                stats,
            )
        }
        2 if stream_to.is_some() && opts.solver == Solver::None && opts.top_k.is_none() => {
            let path = stream_to.expect("checked");
            let err = |source| MatchError::Output {
                path: path.display().to_string(),
                source,
            };
            let mut w = csv::Writer::from_writer(AtomicFile::create(path).map_err(err)?);
            write_pairs_header(&mut w, opts.scores).map_err(|e| err(std::io::Error::other(e)))?;
            let ids = [data[0].ids.as_slice(), &data[1].ids];
            let mut written = 0u64;
            let mut emit = |batch: &[Candidate]| -> std::io::Result<()> {
                for c in batch {
                    write_pair(&mut w, ids, c, opts.scores)?;
                }
                written += batch.len() as u64;
                Ok(())
            };
            let (_, stats, report) = pair(0, Some(1), Some(&mut emit))?;
            reports.extend(report);
            let file = w
                .into_inner()
                .map_err(|e| err(std::io::Error::other(e.to_string())))?;
            file.commit().map_err(err)?;
            (MatchResult::Written { links: written }, stats)
        }
        2 => {
            let (cands, stats, report) = pair(0, Some(1), None)?;
            reports.extend(report);
            (MatchResult::Pairs(solve::solve(opts.solver, &cands)), stats)
        }
        many => {
            let mut all = Vec::new();
            let mut stats = CandidateStats::default();
            for i in 0..many {
                for j in i + 1..many {
                    let (cands, s, report) = pair(i, Some(j), None)?;
                    reports.extend(report);
                    stats.pairs += s.pairs;
                    stats.comparisons += s.comparisons;
                    stats.candidates += s.candidates;
                    all.extend(cands.into_iter().map(|c| PartyCandidate {
                        a: RecordRef {
                            party: i as u16,
                            index: c.a,
                        },
                        b: RecordRef {
                            party: j as u16,
                            index: c.b,
                        },
                        score: c.score,
                    }));
                }
            }
            (MatchResult::Clusters(solve::multiparty_greedy(&all)), stats)
        }
    };
    for r in &reports {
        if let Some((name, l, rr)) = r.oversized.first() {
            warnings.push(format!(
                "{} oversized block{} (largest: {name} with {l} x {rr} records): large blocks \
                 dominate the run time and reveal that many records share a value",
                r.oversized.len(),
                if r.oversized.len() == 1 { "" } else { "s" },
            ));
        }
    }
    let matches = match &result {
        MatchResult::Pairs(p) => p.len() as u64,
        MatchResult::Written { links } => *links,
        MatchResult::Duplicates(c) => c.iter().map(|c| c.len() as u64).sum(),
        MatchResult::Clusters(c) => c.iter().map(|c| c.len() as u64).sum(),
    };
    Ok(MatchReport {
        files: paths.to_vec(),
        ids: data.into_iter().map(|d| d.ids).collect(),
        result,
        stats,
        matches,
        elapsed: started.elapsed(),
        read_time,
        kernel: kernel.name(),
        warnings,
        blocking: reports,
    })
}

/// The `blocking` section of a file's embedded schema.
fn blocking_section(d: &ClkData) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(&d.header.schema_json)
        .ok()
        .and_then(|v| v.get("blocking").cloned())
}

type PairResult = (Vec<Candidate>, CandidateStats, Option<BlockingReport>);

/// Candidates between files `i` and `j` (within file `i` when `j` is `None`), with the
/// requested blocking or exhaustively.
#[allow(clippy::too_many_arguments)]
fn candidates_between(
    data: &[ClkData],
    i: usize,
    j: Option<usize>,
    copts: &CandidateOptions,
    request: &BlockingRequest,
    truth: Option<&[(String, String)]>,
    kernel: &Kernel,
    progress: &(dyn Fn(u64) + Sync),
    emit: Option<Emit<'_>>,
) -> Result<PairResult, MatchError> {
    let stream_err = |source| MatchError::Output {
        path: "the output".into(),
        source,
    };
    let (a, b) = (&data[i], j.map(|j| &data[j]));
    let words = a.header.words_per_record();
    let (n, m) = (a.ids.len(), b.map_or(a.ids.len(), |b| b.ids.len()));
    let pairs = match b {
        Some(_) => n as u64 * m as u64,
        None => n as u64 * (n as u64).saturating_sub(1) / 2,
    };
    let bits_set: u64 = std::iter::once(a)
        .chain(b)
        .map(|d| {
            d.words
                .iter()
                .map(|w| u64::from(w.count_ones()))
                .sum::<u64>()
        })
        .sum();
    let fill = bits_set as f64 / ((n + b.map_or(0, |_| m)).max(1) * words * 64) as f64;
    let key_count = a.header.block_keys as usize;
    if let Some(b) = b
        && b.header.block_keys as usize != key_count
    {
        return Err(MatchError::Options(format!(
            "the files carry different numbers of blocking keys ({key_count} vs {})",
            b.header.block_keys
        )));
    }
    if let Some(b) = b
        && key_count > 0
        && (request.keys || request.auto)
        && blocking_section(a) != blocking_section(b)
    {
        return Err(MatchError::Options(
            "the files' schemas declare different blocking keys, so their block ids cannot be \
             compared; use `--blocking lsh` or encode both with one schema"
                .into(),
        ));
    }
    let bopts = request
        .resolve(
            n,
            m,
            pairs,
            fill,
            key_count,
            blocking::LshParams::seed_for(&a.header.key_fingerprint.0),
        )
        .map_err(MatchError::Options)?;
    if !bopts.is_enabled() {
        let left = FilterSet::new(&a.words, words);
        if let (Some(emit), Some(b)) = (emit, b) {
            let right = FilterSet::new(&b.words, words);
            let stats = candidates::link_streamed(&left, &right, copts, kernel, progress, emit)
                .map_err(stream_err)?;
            return Ok((Vec::new(), stats, None));
        }
        let (cands, stats) = match b {
            Some(b) => candidates::link(
                &left,
                &FilterSet::new(&b.words, words),
                copts,
                kernel,
                progress,
            ),
            None => candidates::dedup(&left, copts, kernel, progress),
        };
        return Ok((cands, stats, None));
    }
    let left = BlockedSide::new(&a.words, words, &a.blocks, key_count, &bopts);
    let right = b.map(|b| BlockedSide::new(&b.words, words, &b.blocks, key_count, &bopts));
    let (cands, stats, mut report) = match emit {
        Some(emit) => {
            let (stats, report) = blocking::link_blocked_streamed(
                &left,
                right.as_ref(),
                key_count,
                copts,
                &bopts,
                kernel,
                progress,
                emit,
            )
            .map_err(stream_err)?;
            (Vec::new(), stats, report)
        }
        None => blocking::link_blocked(
            &left,
            right.as_ref(),
            key_count,
            copts,
            &bopts,
            kernel,
            progress,
        ),
    };
    if let Some(truth) = truth {
        fn index(d: &ClkData) -> std::collections::HashMap<&str, u32> {
            d.ids
                .iter()
                .enumerate()
                .map(|(k, id)| (id.as_str(), k as u32))
                .collect()
        }
        let (ia, ib) = (index(a), b.map(index));
        let ib = ib.as_ref().unwrap_or(&ia);
        let pairs: Vec<(u32, u32)> = truth
            .iter()
            .filter_map(|(x, y)| Some((*ia.get(x.as_str())?, *ib.get(y.as_str())?)))
            .map(|(x, y)| if b.is_none() && y < x { (y, x) } else { (x, y) })
            .collect();
        report.true_pairs = Some(pairs.len() as u64);
        report.pair_completeness =
            blocking::pair_completeness(&left, right.as_ref(), key_count, copts, &bopts, pairs);
    }
    Ok((cands, stats, Some(report)))
}

/// Checks that the files can be compared; returns warnings for what was allowed. Key and
/// schema fingerprints are compared only where both files carry them (files read from
/// clkhash's formats have [`UNKNOWN_FINGERPRINT`]s).
pub fn check_compatible(
    paths: &[PathBuf],
    data: &[ClkData],
    allow_schema_mismatch: bool,
) -> Result<Vec<String>, MatchError> {
    let mut warnings = Vec::new();
    let known = |fp: &[u8; 32]| fp != &UNKNOWN_FINGERPRINT;
    // Each check compares every file with the first file to which it applies.
    let key_ref = data.iter().position(|d| known(&d.header.key_fingerprint.0));
    let schema_ref = data
        .iter()
        .position(|d| known(&d.header.schema_fingerprint.0));
    for (i, (path, d)) in paths.iter().zip(data).enumerate() {
        let h = &d.header;
        let mismatch = |r: usize, what, a: String, b: String, why| {
            MatchError::Mismatch(Box::new(Mismatch {
                first: paths[r].display().to_string(),
                second: path.display().to_string(),
                what,
                a,
                b,
                why,
            }))
        };
        if let Some(r) = key_ref.filter(|&r| r < i && known(&h.key_fingerprint.0)) {
            let k0 = &data[r].header.key_fingerprint;
            if h.key_fingerprint != *k0 {
                return Err(mismatch(
                    r,
                    "key fingerprints",
                    short(&k0.to_hex()),
                    short(&h.key_fingerprint.to_hex()),
                    "they were encoded with different secrets and cannot be linked; ask the \
                     departments to encode with the project's one shared secret",
                ));
            }
        }
        let h0 = &data[0].header;
        if i > 0 && h.layout != h0.layout {
            return Err(mismatch(
                0,
                "filter layouts",
                h0.layout.as_str().into(),
                h.layout.as_str().into(),
                "filters of different layouts cannot be compared",
            ));
        }
        if i > 0
            && (h.filter_bits != h0.filter_bits || h.filters_per_record != h0.filters_per_record)
        {
            return Err(mismatch(
                0,
                "filter lengths",
                format!("{} x {} bits", h0.filters_per_record, h0.filter_bits),
                format!("{} x {} bits", h.filters_per_record, h.filter_bits),
                "filters of different lengths cannot be compared",
            ));
        }
        if let Some(r) = schema_ref.filter(|&r| r < i && known(&h.schema_fingerprint.0)) {
            let s0 = &data[r].header.schema_fingerprint;
            if h.schema_fingerprint != *s0 {
                let (a, b) = (short(&s0.to_hex()), short(&h.schema_fingerprint.to_hex()));
                if !allow_schema_mismatch {
                    return Err(mismatch(
                        r,
                        "schema fingerprints",
                        a,
                        b,
                        "they were encoded under different schemas, whose bits are not \
                         comparable; re-encode with one schema (--allow-mismatch overrides \
                         this check only)",
                    ));
                }
                warnings.push(format!(
                    "{} and {} have different schema fingerprints ({a} vs {b}); matching anyway \
                     because of --allow-mismatch",
                    paths[r].display(),
                    path.display()
                ));
            }
        }
    }
    Ok(warnings)
}

fn short(hex: &str) -> String {
    hex[..16.min(hex.len())].to_string()
}

impl MatchReport {
    /// Writes the result as CSV to `path`, atomically: `a_id,b_id[,score]` for two files,
    /// `cluster,id` for one, `cluster,party,id` for three or more (party = the file's position
    /// among the inputs, from 0).
    pub fn write_csv(&self, path: &Path, scores: bool) -> Result<(), MatchError> {
        let err = |source| MatchError::Output {
            path: path.display().to_string(),
            source,
        };
        let mut w = csv::Writer::from_writer(AtomicFile::create(path).map_err(err)?);
        if let MatchResult::Written { .. } = self.result {
            return Err(MatchError::Options(
                "this result was written to its output while it was found".into(),
            ));
        }
        let csv_err = |e: csv::Error| err(std::io::Error::other(e));
        match &self.result {
            MatchResult::Pairs(pairs) => {
                write_pairs_header(&mut w, scores).map_err(csv_err)?;
                for c in pairs {
                    write_pair(&mut w, [self.ids[0].as_slice(), &self.ids[1]], c, scores)
                        .map_err(csv_err)?;
                }
            }
            MatchResult::Duplicates(clusters) => {
                w.write_record(["cluster", "id"]).map_err(csv_err)?;
                for (k, cluster) in clusters.iter().enumerate() {
                    for &i in cluster {
                        w.write_record([&k.to_string(), &self.ids[0][i as usize]])
                            .map_err(csv_err)?;
                    }
                }
            }
            MatchResult::Clusters(clusters) => {
                w.write_record(["cluster", "party", "id"])
                    .map_err(csv_err)?;
                for (k, cluster) in clusters.iter().enumerate() {
                    for r in cluster {
                        w.write_record([
                            &k.to_string(),
                            &r.party.to_string(),
                            &self.ids[r.party as usize][r.index as usize],
                        ])
                        .map_err(csv_err)?;
                    }
                }
            }
            MatchResult::Written { .. } => unreachable!("refused above"),
        }
        let mut file = w.into_inner().map_err(|e| err(e.into_error()))?;
        file.flush().map_err(err)?;
        file.commit().map_err(err)
    }
}

/// The header of a two-file result: `a_id,b_id[,score]`.
fn write_pairs_header<W: std::io::Write>(w: &mut csv::Writer<W>, scores: bool) -> csv::Result<()> {
    if scores {
        w.write_record(["a_id", "b_id", "score"])
    } else {
        w.write_record(["a_id", "b_id"])
    }
}

/// One row of a two-file result: the records' ids and (with `scores`) the score to six
/// decimals.
fn write_pair<W: std::io::Write>(
    w: &mut csv::Writer<W>,
    ids: [&[String]; 2],
    c: &Candidate,
    scores: bool,
) -> csv::Result<()> {
    let (a, b) = (&ids[0][c.a as usize], &ids[1][c.b as usize]);
    if scores {
        w.write_record([a, b, &format!("{:.6}", c.score)])
    } else {
        w.write_record([a, b])
    }
}
