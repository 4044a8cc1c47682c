//! What a match did, as data: [`MatchReport`] (with its [`MatchResult`]), its
//! [`MatchWarning`]s, and views of the result by record id ([`MatchReport::id_pairs`],
//! [`MatchReport::clusters`]).
//!
//! Reports serialise with serde (durations as `f64` seconds, keys ending in `_s`); the ids and
//! the result itself are left out of that summary, they go to the result table
//! ([`super::output`]).

use std::time::Duration;

use super::blocking::BlockingReport;
use super::candidates::{CandidateStats, Similarity};
use super::solve::{Clustering, Solver};
use super::threshold::AutoChoice;
use super::{Candidate, RecordRef};

/// Serialises a duration as `f64` seconds.
pub(crate) fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The result, before it is written.
#[derive(Debug, Clone)]
pub enum MatchResult {
    /// Two inputs: linked pairs `(index in first, index in second, score)`; one input
    /// without a solver: every candidate pair `(lower index, higher index, score)`.
    Pairs(Vec<Candidate>),
    /// Two inputs, every candidate a link: already given to the candidate sink as they were
    /// found, not held.
    Written {
        /// Links given to the sink.
        links: u64,
    },
    /// One input: clusters of duplicate records (indices), each of two or more.
    Duplicates(Vec<Vec<u32>>),
    /// Three or more inputs: clusters with at most one record per party.
    Clusters(Vec<Vec<RecordRef>>),
}

crate::error_kinds! {
    /// What a warning is about.
    pub enum MatchWarningKind {
        /// An input carries no key or schema fingerprint, so its compatibility was not checked.
        Unchecked => "match-warning-unchecked",
        /// Inputs with different schema fingerprints were matched, as allowed.
        SchemaMismatchAllowed => "match-warning-schema-mismatch-allowed",
        /// Blocking produced oversized blocks.
        OversizedBlocks => "match-warning-oversized-blocks",
    }
}

/// Something the user should know about a match that went through. Serialises as its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchWarning {
    /// What it is about.
    pub kind: MatchWarningKind,
    /// What happened, in a sentence.
    pub message: String,
}

impl std::fmt::Display for MatchWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl serde::Serialize for MatchWarning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.message)
    }
}

/// What a finished match did. Serialises as its summary (ids and result left out).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MatchReport {
    /// The inputs' labels (file names, for files), in input order.
    pub files: Vec<String>,
    /// Records of each input.
    pub records: Vec<u64>,
    /// Record ids of each input, in input order.
    #[serde(skip)]
    pub ids: Vec<Vec<String>>,
    /// The result.
    #[serde(skip)]
    pub result: MatchResult,
    /// The threshold used (the chosen one, when it was chosen automatically).
    pub threshold: f64,
    /// How the threshold was chosen, when it was chosen automatically.
    #[serde(rename = "threshold_auto")]
    pub auto: Option<AutoChoice>,
    /// The similarity measure.
    pub similarity: Similarity,
    /// The solver.
    pub solver: Solver,
    /// How clusters were formed (one input, or three or more; `None` for pairs).
    pub clustering: Option<Clustering>,
    /// Candidate generation counters, summed over all pairs of inputs.
    #[serde(flatten)]
    pub stats: CandidateStats,
    /// Links or clustered records in the result.
    pub matches: u64,
    /// Wall time of the whole match: choosing the threshold, candidate generation, solving
    /// and, for files, reading them (`read_s`) and writing a streamed result; `threshold_auto`
    /// gives the choice's share (`choose_s`).
    #[serde(rename = "elapsed_s", serialize_with = "secs")]
    pub elapsed: Duration,
    /// Time spent reading and verifying the inputs (zero for inputs given in memory).
    #[serde(rename = "read_s", serialize_with = "secs")]
    pub read_time: Duration,
    /// Comparisons per second of candidate generation and solving.
    pub comparisons_per_s: f64,
    /// The kernel used.
    pub kernel: &'static str,
    /// Worker threads of the pool the match ran in.
    pub threads: usize,
    /// Warnings to show (e.g. an allowed schema mismatch).
    pub warnings: Vec<MatchWarning>,
    /// What blocking did, per compared pair of inputs (empty without blocking).
    pub blocking: Vec<BlockingReport>,
    /// The model and the cut of a probabilistic match (scores are then match probabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilistic: Option<super::fs::FsSummary>,
}

impl MatchReport {
    /// The links of a pairs result as `(id in first, id in second)` (for one input without
    /// a solver: both ids of that input), in result order; empty for other results (and for
    /// a result given to a sink, [`MatchResult::Written`]).
    pub fn id_pairs(&self) -> Vec<(&str, &str)> {
        match &self.result {
            MatchResult::Pairs(p) => p
                .iter()
                .map(|c| {
                    (
                        self.ids[0][c.a as usize].as_str(),
                        self.second_ids()[c.b as usize].as_str(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The clusters of a one-input (duplicates, party 0) or multi-input result as
    /// `(party, id)` lists, in result order; empty for two-input results.
    pub fn clusters(&self) -> Vec<Vec<(u16, &str)>> {
        match &self.result {
            MatchResult::Duplicates(c) => c
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|&i| (0, self.ids[0][i as usize].as_str()))
                        .collect()
                })
                .collect(),
            MatchResult::Clusters(c) => c
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|r| {
                            (
                                r.party,
                                self.ids[r.party as usize][r.index as usize].as_str(),
                            )
                        })
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The ids of the second input of a pairs result: the first input's own, for one input.
    pub(crate) fn second_ids(&self) -> &[String] {
        &self.ids[self.ids.len().min(2) - 1]
    }

    /// What the result holds, in words: `links`, `records in duplicate clusters` or
    /// `records in clusters`.
    pub fn matches_noun(&self) -> &'static str {
        match &self.result {
            MatchResult::Pairs(_) | MatchResult::Written { .. } => "links",
            MatchResult::Duplicates(_) => "records in duplicate clusters",
            MatchResult::Clusters(_) => "records in clusters",
        }
    }
}

/// A match report with where its result went: what a front end prints as its summary
/// ([`MatchReport::with_output`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MatchSummary<'a> {
    /// The report.
    #[serde(flatten)]
    pub report: &'a MatchReport,
    /// Where the result was written.
    pub output: String,
}

impl MatchReport {
    /// This report with the place its result was written, for summaries.
    pub fn with_output(&self, output: impl Into<String>) -> MatchSummary<'_> {
        MatchSummary {
            report: self,
            output: output.into(),
        }
    }
}
