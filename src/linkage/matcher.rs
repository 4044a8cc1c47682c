//! The one match entry point, over encodings in memory: [`match_encodings`].
//!
//! 1. The inputs' headers must agree on the key fingerprint, the layout and the filter length,
//!    and (unless allowed) on the schema fingerprint ([`check_compatible`]). A key mismatch is
//!    never overridable: filters made with different secrets share nothing but noise.
//! 2. With [`Threshold::Auto`], the threshold is chosen from the inputs' own scores
//!    ([`super::threshold`]), whatever format they were read from.
//! 3. One input: deduplication (each unordered pair once, clusters of duplicates). Two inputs:
//!    candidates above the threshold, then a one-to-one solver (or none). Three or more: the
//!    candidates of every pair of inputs, then greedy multi-party clustering with at most one
//!    record per party.
//! 4. With a [`CandidateSink`] (two inputs), the links go to the sink: as they are found when
//!    no solver and no top-k need them all at once (the result is then
//!    [`MatchResult::Written`]), otherwise once solved.
//!
//! Similarity scores are sensitive: with them and an overlapping plaintext data set, published
//! graph-matching attacks re-identify records. The third party should not release them to data
//! providers; [`MatchOptions::scores`] leaves them out of the output.

use std::time::{Duration, Instant};

use super::blocking::{self, BlockedSide, BlockingReport, BlockingRequest};
use super::candidates::{self, CandidateOptions, CandidateStats, Emit, FilterSet};
use super::error::{MatchError, Mismatch, MismatchWhat};
use super::options::{MatchOptions, Threshold};
use super::report::{MatchReport, MatchResult, MatchWarning, MatchWarningKind};
use super::solve::{self, Clustering, Solver};
use super::threshold::{self, AutoChoice, Linkage, Method};

use self::estimate::{Refine, assess};
use super::fs::FsOptions;
use super::{Candidate, PartyCandidate, RecordRef, fs};
use crate::filter::kernel::Kernel;
use crate::io::ClkData;
use crate::io::formats::UNKNOWN_FINGERPRINT;
use rayon::prelude::*;

/// One input of a match: encodings with a label for messages and reports (the file name,
/// for files).
#[derive(Debug, Clone)]
pub struct MatchInput {
    /// How messages and the report name this input.
    pub label: String,
    /// The encodings: header, record ids, filters and block ids.
    pub data: ClkData,
}

impl MatchInput {
    /// An input labelled `label`.
    pub fn new(label: impl Into<String>, data: ClkData) -> MatchInput {
        MatchInput {
            label: label.into(),
            data,
        }
    }
}

/// Where the links of a two-input match go as they are found (a CSV file, a socket, a
/// channel): batches of candidates, named by the two inputs' record ids.
pub trait CandidateSink {
    /// Takes a batch of links; `ids` are the two inputs' record ids (`ids[0][c.a]`,
    /// `ids[1][c.b]`).
    fn accept(&mut self, ids: [&[String]; 2], batch: &[Candidate]) -> std::io::Result<()>;
}

impl<F> CandidateSink for F
where
    F: FnMut([&[String]; 2], &[Candidate]) -> std::io::Result<()>,
{
    fn accept(&mut self, ids: [&[String]; 2], batch: &[Candidate]) -> std::io::Result<()> {
        self(ids, batch)
    }
}

/// Matches encodings in memory (see the module docs). `sink` takes the links of two inputs
/// (an error for other counts); `progress` is called with comparisons done. Runs on the
/// current rayon pool.
///
/// ```
/// use pprl::io::formats::Encodings;
/// use pprl::linkage::threshold::AutoOptions;
/// use pprl::linkage::{MatchInput, MatchOptions, Threshold, match_encodings};
///
/// // Two sides of 500 random 1024-bit filters; every tenth pair is a near-copy.
/// let (a, b) = pprl::linkage::bench::pair_of_sides(500, 1);
/// let input = |label: &str, words: Vec<u64>| {
///     let count = words.len() as u64 / 16;
///     MatchInput::new(label, Encodings { bits: 1024, count, words }.into_clk_data())
/// };
/// let opts = MatchOptions {
///     threshold: Threshold::Auto(AutoOptions::default()),
///     ..MatchOptions::default()
/// };
/// let report = match_encodings(vec![input("a", a), input("b", b)], &opts, None, &|_| {})?;
/// // Encodings read from clkhash's formats are named by position: the true links are `(i, i)`.
/// let links = report.id_pairs();
/// assert!(links.iter().filter(|(x, y)| x == y).count() >= 45);
/// println!("threshold {:.3}: {}", report.threshold, report.auto.unwrap().explanation);
/// # Ok::<(), pprl::linkage::MatchError>(())
/// ```
pub fn match_encodings(
    inputs: Vec<MatchInput>,
    opts: &MatchOptions,
    sink: Option<&mut dyn CandidateSink>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MatchReport, MatchError> {
    if inputs.is_empty() {
        return Err(MatchError::NoInputs);
    }
    if let Threshold::Fixed(t) = opts.threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(MatchError::BadThreshold(t));
    }
    if opts.top_k == Some(0) {
        return Err(MatchError::BadTopK);
    }
    if sink.is_some() && inputs.len() != 2 {
        return Err(MatchError::SinkInputs(inputs.len()));
    }
    let started = Instant::now();
    let labels: Vec<String> = inputs.iter().map(|i| i.label.clone()).collect();
    let data: Vec<ClkData> = inputs.into_iter().map(|i| i.data).collect();
    let mut warnings = check_compatible(&labels, &data, opts.allow_schema_mismatch)?;
    check_distinct(&labels, &data)?;
    let kernel = opts.kernel.unwrap_or_else(Kernel::detect);
    let words = data[0].header.words_per_record();
    // Probabilistic linkage: the model (trained here, or given), and a scorer of pairs.
    // On inputs too large to compare exhaustively, automatic blocking gives the model the
    // pairs that agree exactly on some field (LSH at its low candidate Dice would need very many
    // tables).
    let sizes: Vec<u64> = data.iter().map(|d| d.ids.len() as u64).collect();
    let pairs_of_inputs = match sizes[..] {
        [n] => n * n.saturating_sub(1) / 2,
        [n, m] => n * m,
        _ => 0,
    };
    let fs_opts = opts.probabilistic.as_ref().map(|f| FsOptions {
        exact_candidates: f.exact_candidates
            || (opts.blocking.auto && pairs_of_inputs > blocking::AUTO_EXHAUSTIVE_PAIRS),
        ..f.clone()
    });
    let prepared = match &fs_opts {
        Some(f) => Some((f, fs::link::prepare(&data, f)?)),
        None => None,
    };
    let scorer = prepared.as_ref().map(|(_, p)| p.scorer(&data));
    // What a cut links: every pair for one input or without a solver, else one per record.
    let linkage = if data.len() == 1 || (data.len() == 2 && opts.solver == Solver::None) {
        Linkage::Pairwise
    } else {
        Linkage::OneToOne
    };

    // The similarity of two records, scored afresh (clustering and the estimate need pairs
    // that were not candidates).
    // With a model, the score is the match weight.
    let score = |(p, x): (usize, u32), (q, y): (usize, u32)| {
        if let Some(scorer) = &scorer {
            return scorer.weight(x, y);
        }
        let (a, b) = (&data[p].words, &data[q].words);
        let (x, y) = (x as usize * words, y as usize * words);
        threshold::pair_score(opts.similarity, &a[x..x + words], &b[y..y + words])
    };

    let (value, mut auto, fit) = match (opts.threshold, &prepared) {
        // Candidates at the model's record-level Dice; the cut comes once they are scored.
        (_, Some((_, p))) => (p.candidates, None, None),
        (Threshold::Fixed(t), None) => (t, None, None),
        (Threshold::Auto(a), None) => {
            let chose = Instant::now();
            let filters: Vec<&[u64]> = data.iter().map(|d| d.words.as_slice()).collect();
            let sides =
                threshold::side_neighbours(&filters, words, opts.similarity, &a, &kernel, progress);
            let (mut chosen, fit) = threshold::choose_fitted(&sides, linkage, a.floor, a.fallback)?;
            if let Some(fit) = fit.as_ref().filter(|_| chosen.method == Method::Mixture) {
                let how = Refine {
                    solver: opts.solver,
                    clustering: opts.clustering,
                    inputs: data.len(),
                    linkage,
                };
                if let Some((value, e)) = how.best_cut(fit, &sides, a.floor, &score) {
                    chosen.value = value;
                    chosen.confidence = e.f1;
                    chosen.reason = threshold::refusal(fit, &e);
                    chosen.estimated = Some(e);
                    // The refined cut is held to the same test as the first.
                    chosen.settle(a.fallback)?;
                }
            }
            let choice = AutoChoice {
                explanation: chosen.explanation(),
                threshold: chosen,
                estimated_result: None,
                choose_time: chose.elapsed(),
            };
            (choice.threshold.value, Some(choice), fit)
        }
    };
    let matching = Instant::now();
    let copts = CandidateOptions {
        threshold: value,
        similarity: opts.similarity,
        top_k: opts.top_k,
    };
    let truth = opts.truth.as_deref().filter(|_| data.len() <= 2);
    // A probabilistic match's candidates, weighed and cut; the summary for the report.
    let mut summary = None;
    let mut cut = value;
    let mut pair = |i: usize, j: Option<usize>, emit: Option<Emit<'_>>| {
        let between = Between {
            data: &data,
            copts: &copts,
            request: &opts.blocking,
            truth,
            kernel: &kernel,
            progress,
        };
        let mut exact_passes = Vec::new();
        let (mut cands, stats, report) = match &prepared {
            Some((f, p)) if f.exact_candidates => {
                let (cands, used) = p.pass_candidates(&data, f.train.pass_cap);
                exact_passes = used;
                let found = cands.len() as u64;
                let stats = CandidateStats {
                    pairs: pairs_of_inputs,
                    comparisons: found,
                    candidates: found,
                };
                (cands, stats, None)
            }
            _ => between.candidates(i, j, emit)?,
        };
        if let (Some((f, p)), Some(scorer)) = (&prepared, &scorer) {
            cands
                .par_iter_mut()
                .for_each(|c| c.score = scorer.weight(c.a, c.b));
            let (weight, automatic) = match opts.threshold {
                Threshold::Fixed(t) => (fs::link::weight_of(t), false),
                Threshold::Auto(_) => (fs::link::best_cut(&cands).unwrap_or(0.0), true),
            };
            summary = Some(p.summary(f, &cands, weight, automatic, exact_passes));
            cut = weight;
            cands.retain(|c| c.score >= weight);
        }
        Ok::<_, MatchError>((cands, stats, report))
    };
    let mut reports = Vec::new();
    let streams = opts.solver == Solver::None && opts.top_k.is_none() && prepared.is_none();
    let (result, stats) = match (data.len(), sink) {
        (1, _) => {
            let (cands, stats, report) = pair(0, None, None)?;
            reports.extend(report);
            let n = data[0].ids.len() as u32;
            if opts.solver == Solver::None {
                let mut pairs = solve::all_pairs(&cands);
                probabilities(&mut pairs, prepared.is_some());
                (MatchResult::Pairs(pairs), stats)
            } else {
                let clusters = match opts.clustering {
                    Clustering::Average => {
                        solve::dedup_average_linkage(n, &cands, cut, &|x, y| score((0, x), (0, y)))
                    }
                    Clustering::Components => solve::dedup_components(n, &cands),
                };
                (MatchResult::Duplicates(clusters), stats)
            }
        }
        (2, Some(sink)) if streams => {
            let ids = [data[0].ids.as_slice(), &data[1].ids];
            let mut written = 0u64;
            let mut emit = |batch: &[Candidate]| -> std::io::Result<()> {
                written += batch.len() as u64;
                sink.accept(ids, batch)
            };
            let (_, stats, report) = pair(0, Some(1), Some(&mut emit))?;
            reports.extend(report);
            (MatchResult::Written { links: written }, stats)
        }
        (2, sink) => {
            let (cands, stats, report) = pair(0, Some(1), None)?;
            reports.extend(report);
            let mut links = solve::solve(opts.solver, &cands);
            probabilities(&mut links, prepared.is_some());
            if let Some(sink) = sink {
                let ids = [data[0].ids.as_slice(), &data[1].ids];
                sink.accept(ids, &links).map_err(sink_err)?;
            }
            (MatchResult::Pairs(links), stats)
        }
        (many, _) => {
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
            let clusters = match opts.clustering {
                Clustering::Average => solve::multiparty_average_linkage(&all, cut, &|x, y| {
                    score((x.party as usize, x.index), (y.party as usize, y.index))
                }),
                Clustering::Components => solve::multiparty_greedy(&all),
            };
            (MatchResult::Clusters(clusters), stats)
        }
    };
    for r in &reports {
        if let Some((name, l, rr)) = r.oversized.first() {
            warnings.push(MatchWarning {
                kind: MatchWarningKind::OversizedBlocks,
                message: format!(
                    "{} oversized block{} (largest: {name} with {l} x {rr} records): large \
                     blocks dominate the run time and reveal that many records share a value",
                    r.oversized.len(),
                    if r.oversized.len() == 1 { "" } else { "s" },
                ),
            });
        }
    }
    let matches = match &result {
        MatchResult::Pairs(p) => p.len() as u64,
        MatchResult::Written { links } => *links,
        MatchResult::Duplicates(c) => c.iter().map(|c| c.len() as u64).sum(),
        MatchResult::Clusters(c) => c.iter().map(|c| c.len() as u64).sum(),
    };
    if let (Some(choice), Some(fit)) = (auto.as_mut(), fit.as_ref()) {
        choice.estimated_result = assess(fit, linkage, &result, data.len(), &score);
    }
    let matching = matching.elapsed();
    let clustering =
        (data.len() != 2 && !matches!(result, MatchResult::Pairs(_))).then_some(opts.clustering);
    Ok(MatchReport {
        files: labels,
        records: data.iter().map(|d| d.ids.len() as u64).collect(),
        ids: data.into_iter().map(|d| d.ids).collect(),
        result,
        threshold: summary.as_ref().map_or(value, |s| s.cut_probability),
        auto,
        similarity: opts.similarity,
        solver: opts.solver,
        clustering,
        stats,
        matches,
        elapsed: started.elapsed(),
        read_time: Duration::ZERO,
        comparisons_per_s: stats.comparisons as f64 / matching.as_secs_f64().max(1e-9),
        kernel: kernel.name(),
        threads: rayon::current_num_threads(),
        warnings,
        blocking: reports,
        probabilistic: summary,
    })
}

/// A probabilistic match's links, ranked by weight, report their match probabilities.
fn probabilities(links: &mut [Candidate], probabilistic: bool) {
    if probabilistic {
        links
            .iter_mut()
            .for_each(|c| c.score = fs::probability(c.score));
    }
}

/// Refuses an input given twice: the same label (for files, the same path) with the same ids
/// and filters.
fn check_distinct(labels: &[String], data: &[ClkData]) -> Result<(), MatchError> {
    for j in 1..data.len() {
        for i in 0..j {
            if labels[i] == labels[j]
                && data[i].ids == data[j].ids
                && data[i].words == data[j].words
            {
                return Err(MatchError::SameInput {
                    first: labels[i].clone(),
                    second: labels[j].clone(),
                });
            }
        }
    }
    Ok(())
}

fn sink_err(source: std::io::Error) -> MatchError {
    MatchError::Output {
        path: "the output".into(),
        source,
    }
}

/// The `blocking` section of an input's embedded schema.
fn blocking_section(d: &ClkData) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(&d.header.schema_json)
        .ok()
        .and_then(|v| v.get("blocking").cloned())
}

type PairResult = (Vec<Candidate>, CandidateStats, Option<BlockingReport>);

/// What candidate generation between two inputs needs.
struct Between<'a> {
    data: &'a [ClkData],
    copts: &'a CandidateOptions,
    request: &'a BlockingRequest,
    truth: Option<&'a [(String, String)]>,
    kernel: &'a Kernel,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl Between<'_> {
    /// Candidates between inputs `i` and `j` (within input `i` when `j` is `None`), with the
    /// requested blocking or exhaustively; to `emit` as found, if given (two inputs).
    fn candidates(
        &self,
        i: usize,
        j: Option<usize>,
        emit: Option<Emit<'_>>,
    ) -> Result<PairResult, MatchError> {
        let (copts, kernel, progress) = (self.copts, self.kernel, self.progress);
        let (a, b) = (&self.data[i], j.map(|j| &self.data[j]));
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
            return Err(MatchError::BlockKeyCount {
                first: a.header.block_keys,
                second: b.header.block_keys,
            });
        }
        if let Some(b) = b
            && key_count > 0
            && (self.request.keys || self.request.auto)
            && blocking_section(a) != blocking_section(b)
        {
            return Err(MatchError::BlockingSchemaMismatch);
        }
        let bopts = self.request.resolve(
            n,
            m,
            pairs,
            fill,
            key_count,
            blocking::LshParams::seed_for(&a.header.key_fingerprint.0),
            copts.threshold,
        )?;
        if !bopts.is_enabled() {
            // One bit order for both sides, from both (the same candidates, found faster).
            let inputs: Vec<&[u64]> = [Some(a), b]
                .into_iter()
                .flatten()
                .map(|d| &d.words[..])
                .collect();
            let order = candidates::sample_order(&inputs, words);
            let left = FilterSet::ordered(&a.words, words, &order);
            if let (Some(emit), Some(b)) = (emit, b) {
                let right = FilterSet::ordered(&b.words, words, &order);
                let stats = candidates::link_streamed(&left, &right, copts, kernel, progress, emit)
                    .map_err(sink_err)?;
                return Ok((Vec::new(), stats, None));
            }
            let (cands, stats) = match b {
                Some(b) => candidates::link(
                    &left,
                    &FilterSet::ordered(&b.words, words, &order),
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
        // With `emit`, the candidates go there (without top-k) and none come back.
        let (cands, stats, mut report) = blocking::link_blocked_inner(
            &left,
            right.as_ref(),
            key_count,
            copts,
            &bopts,
            kernel,
            progress,
            emit,
        )
        .map_err(sink_err)?;
        if let Some(p) = bopts.lsh {
            let target = self.request.lsh_similarity.unwrap_or(copts.threshold);
            report.lsh_similarity = Some(target);
            report.estimated_pair_completeness =
                Some(p.collision_probability(blocking::agreement_at(fill, copts.threshold)));
        }
        if let Some(truth) = self.truth {
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
}

/// Checks that the inputs can be compared; returns warnings for what was allowed. Key and
/// schema fingerprints are compared only where both inputs carry them (encodings read from
/// clkhash's formats have [`UNKNOWN_FINGERPRINT`]s).
pub fn check_compatible(
    labels: &[String],
    data: &[ClkData],
    allow_schema_mismatch: bool,
) -> Result<Vec<MatchWarning>, MatchError> {
    let mut warnings = Vec::new();
    let known = |fp: &[u8; 32]| fp != &UNKNOWN_FINGERPRINT;
    // Each check compares every input with the first input to which it applies.
    let key_ref = data.iter().position(|d| known(&d.header.key_fingerprint.0));
    let schema_ref = data
        .iter()
        .position(|d| known(&d.header.schema_fingerprint.0));
    for (i, (label, d)) in labels.iter().zip(data).enumerate() {
        let h = &d.header;
        let mismatch = |r: usize, what, a: String, b: String| {
            MatchError::Mismatch(Box::new(Mismatch {
                first: labels[r].clone(),
                second: label.clone(),
                what,
                a,
                b,
            }))
        };
        if let Some(r) = key_ref.filter(|&r| r < i && known(&h.key_fingerprint.0)) {
            let k0 = &data[r].header.key_fingerprint;
            if h.key_fingerprint != *k0 {
                return Err(mismatch(
                    r,
                    MismatchWhat::Key,
                    short(&k0.to_hex()),
                    short(&h.key_fingerprint.to_hex()),
                ));
            }
        }
        let h0 = &data[0].header;
        if i > 0 && h.layout != h0.layout {
            return Err(mismatch(
                0,
                MismatchWhat::Layout,
                h0.layout.as_str().into(),
                h.layout.as_str().into(),
            ));
        }
        if i > 0
            && (h.filter_bits != h0.filter_bits || h.filters_per_record != h0.filters_per_record)
        {
            return Err(mismatch(
                0,
                MismatchWhat::Length,
                format!("{} x {} bits", h0.filters_per_record, h0.filter_bits),
                format!("{} x {} bits", h.filters_per_record, h.filter_bits),
            ));
        }
        if let Some(r) = schema_ref.filter(|&r| r < i && known(&h.schema_fingerprint.0)) {
            let s0 = &data[r].header.schema_fingerprint;
            if h.schema_fingerprint != *s0 {
                let (a, b) = (short(&s0.to_hex()), short(&h.schema_fingerprint.to_hex()));
                if !allow_schema_mismatch {
                    return Err(mismatch(r, MismatchWhat::Schema, a, b));
                }
                warnings.push(MatchWarning {
                    kind: MatchWarningKind::SchemaMismatchAllowed,
                    message: format!(
                        "{} and {label} have different schema fingerprints ({a} vs {b}); \
                         matching anyway, as schema mismatches were allowed",
                        labels[r],
                    ),
                });
            }
        }
    }
    Ok(warnings)
}

fn short(hex: &str) -> String {
    hex[..16.min(hex.len())].to_string()
}

mod estimate;
#[cfg(test)]
mod tests;
