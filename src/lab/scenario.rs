//! The whole job on synthetic data: generate the parties' exports, encode them, match them,
//! score the links against the generator's truth, timing every stage.
//!
//! In: a [`ScenarioOptions`] (the population, the schema and secret, the threshold and
//! blocking). Out: a [`ScenarioReport`], plain data that `pprl demo` and `pprl bench scale`
//! render. The steps are also public on their own ([`generate`], [`encode_parties`],
//! [`score`]) for the experiment grid, which encodes one population many ways.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::synth::{Population, SynthConfig, SynthError, SynthSummary};
use crate::encode::Encoder;
use crate::eval::{EvalError, PairMetrics};
use crate::keys::Secret;
use crate::linkage::Candidate;
use crate::linkage::Threshold;
use crate::linkage::blocking::BlockingRequest;
use crate::linkage::job::{self, MatchError, MatchOptions, MatchReport, MatchResult};
use crate::pipeline::{self, EncodeError, EncodeSummary};
use crate::schema::{Schema, SchemaError};

crate::error_kinds! {
    /// What went wrong in a scenario, an experiment or the scale benchmark.
    pub enum LabErrorKind {
        /// The settings are invalid (an empty grid, a threshold outside 0 to 1).
        Settings => "lab-settings",
        /// Generating the synthetic data failed.
        Synth => "lab-synth",
        /// A schema (or a variant of one) is invalid.
        Schema => "lab-schema",
        /// Encoding failed.
        Encode => "lab-encode",
        /// Matching failed.
        Match => "lab-match",
        /// The generator's truth could not be read.
        Truth => "lab-truth",
        /// A file, directory or the random source could not be used.
        Io => "lab-io",
    }
}

/// A lab run (scenario, experiment or benchmark) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The settings are invalid.
    #[error("{0}")]
    Settings(String),
    /// Generating the data failed.
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// A schema variant is invalid (e.g. a length its weights do not fit).
    #[error("schema `{label}` at {bits} bits: {source}")]
    SchemaVariant {
        /// The schema's label.
        label: String,
        /// The filter length tried.
        bits: u32,
        /// The cause.
        source: SchemaError,
    },
    /// The schema or key could not be set up.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Matching failed.
    #[error(transparent)]
    Match(#[from] MatchError),
    /// The generator's truth file could not be read.
    #[error(transparent)]
    Truth(#[from] EvalError),
    /// A file or directory could not be used.
    #[error("{0}")]
    Io(String),
}

impl LabError {
    /// The error's kind.
    pub fn kind(&self) -> LabErrorKind {
        match self {
            LabError::Settings(_) => LabErrorKind::Settings,
            LabError::Synth(_) => LabErrorKind::Synth,
            LabError::SchemaVariant { .. } | LabError::Schema(_) => LabErrorKind::Schema,
            LabError::Encode(_) => LabErrorKind::Encode,
            LabError::Match(_) => LabErrorKind::Match,
            LabError::Truth(_) => LabErrorKind::Truth,
            LabError::Io(_) => LabErrorKind::Io,
        }
    }
}

impl crate::error::Coded for LabError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// What to run.
#[derive(Debug)]
pub struct ScenarioOptions {
    /// The population (two parties).
    pub synth: SynthConfig,
    /// The schema both parties encode with.
    pub schema: Schema,
    /// The shared secret.
    pub secret: Secret,
    /// The threshold: fixed, or chosen from the scores alone, without the truth.
    pub threshold: Threshold,
    /// Blocking.
    pub blocking: BlockingRequest,
    /// Whether the matcher gets the truth, to report blocking's pair completeness.
    pub blocking_truth: bool,
    /// Where the generated and encoded files go.
    pub dir: PathBuf,
}

/// The time of one stage.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// `generate`, `encode`, `match`, `evaluate`.
    pub name: &'static str,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Peak resident memory of the process during the stage, in bytes, where the platform
    /// reports it (Linux).
    pub peak_bytes: Option<u64>,
}

/// One party's export and its encoding.
#[derive(Debug, Clone, Serialize)]
pub struct EncodedParty {
    /// The generated CSV export.
    pub input: PathBuf,
    /// Its data rows.
    pub records: u64,
    /// The encoding file.
    pub output: PathBuf,
    /// Rows encoded.
    pub rows_encoded: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Encoding wall time, in seconds.
    pub seconds: f64,
    /// The encoding job's full summary.
    #[serde(skip)]
    pub summary: EncodeSummary,
}

/// The generated population, written out, with its truth read back.
#[derive(Debug, Clone)]
pub struct Generated {
    /// What the generator wrote.
    pub summary: SynthSummary,
    /// The true pairs `(first party's id, second party's id)`.
    pub truth: Vec<(String, String)>,
}

/// What the scenario did.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Records per party.
    pub records: u64,
    /// Worker threads.
    pub threads: usize,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// The parties' exports and encodings.
    pub parties: Vec<EncodedParty>,
    /// The generator's truth file.
    pub truth_file: PathBuf,
    /// True pairs.
    pub true_pairs: u64,
    /// Quality of the links against the truth.
    pub quality: PairMetrics,
    /// The matching job's report: the threshold (and how it was chosen), counts, timings,
    /// blocking; its ids and links, for writing them out.
    pub matched: MatchReport,
}

/// Generates the population of `config` into `dir` and reads its truth back as pairs.
pub fn generate(config: SynthConfig, dir: &Path) -> Result<Generated, LabError> {
    let population = Population::new(config)?;
    let summary = population.write_dir(dir, None)?;
    let truth = crate::eval::truth::read_id_pairs(&summary.truth, 2)?;
    Ok(Generated { summary, truth })
}

/// Encodes every party's export with `schema` and `secret`; `output` names each party's
/// encoding file from its export's path.
pub fn encode_parties(
    schema: &Schema,
    secret: &Secret,
    parties: &[super::synth::PartyFile],
    output: &dyn Fn(&Path) -> PathBuf,
) -> Result<Vec<EncodedParty>, LabError> {
    let encoder = Encoder::new(schema, secret)?;
    let mut encoded = Vec::new();
    for party in parties {
        let out = output(&party.path);
        let opts = pipeline::EncodeOptions::new(party.path.display().to_string(), &out);
        let started = Instant::now();
        let summary = pipeline::encode_csv(schema, &encoder, &opts, &mut |_, _| {})?;
        encoded.push(EncodedParty {
            input: party.path.clone(),
            records: party.records,
            output: out,
            rows_encoded: summary.counts.rows_encoded,
            rows_rejected: summary.counts.rows_rejected,
            seconds: started.elapsed().as_secs_f64(),
            summary,
        });
    }
    Ok(encoded)
}

/// Scores `links` (pairs of record indices into the two files of `report`) against `truth`.
pub fn score(truth: &[(String, String)], report: &MatchReport, links: &[Candidate]) -> PairMetrics {
    PairMetrics::from_pairs(
        truth.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        links.iter().map(|c| {
            (
                report.ids[0][c.a as usize].as_str(),
                report.ids[1][c.b as usize].as_str(),
            )
        }),
    )
}

/// Runs the scenario. `stage` is called with each stage's name as it starts.
pub fn run(
    opts: &ScenarioOptions,
    stage: &mut dyn FnMut(&str),
) -> Result<ScenarioReport, LabError> {
    let mut stages = Vec::new();
    let timed = |name: &'static str, stages: &mut Vec<Stage>, started: Instant| {
        stages.push(Stage {
            name,
            seconds: started.elapsed().as_secs_f64(),
            peak_bytes: peak_rss(),
        });
    };

    stage("generate");
    reset_peak_rss();
    let started = Instant::now();
    let generated = generate(opts.synth, &opts.dir)?;
    timed("generate", &mut stages, started);

    stage("encode");
    reset_peak_rss();
    let started = Instant::now();
    let parties = encode_parties(
        &opts.schema,
        &opts.secret,
        &generated.summary.parties,
        &|p| p.with_extension("clk"),
    )?;
    timed("encode", &mut stages, started);
    let encoded: Vec<PathBuf> = parties.iter().map(|p| p.output.clone()).collect();

    stage("match");
    reset_peak_rss();
    let started = Instant::now();
    let mopts = MatchOptions {
        threshold: opts.threshold,
        blocking: opts.blocking.clone(),
        truth: opts.blocking_truth.then(|| generated.truth.clone()),
        ..MatchOptions::default()
    };
    let matched = job::match_files(&encoded, &mopts, &|_| {})?;
    timed("match", &mut stages, started);

    stage("evaluate");
    let started = Instant::now();
    let links: &[Candidate] = match &matched.result {
        MatchResult::Pairs(p) => p,
        _ => &[],
    };
    let quality = score(&generated.truth, &matched, links);
    timed("evaluate", &mut stages, started);

    Ok(ScenarioReport {
        records: opts.synth.records,
        threads: rayon::current_num_threads(),
        stages,
        parties,
        truth_file: generated.summary.truth.clone(),
        true_pairs: generated.truth.len() as u64,
        quality,
        matched,
    })
}

/// The process's peak resident set size so far (`VmHWM`), on Linux.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak resident set size to the current one (Linux `clear_refs` 5), so the next
/// [`peak_rss`] reports the peak of the stage that follows. Does nothing elsewhere.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_unique_and_prefixed() {
        let mut codes: Vec<&str> = Vec::new();
        let mut add = |prefix: &str, list: Vec<&'static str>| {
            for c in list {
                assert!(prefix.is_empty() || c.starts_with(prefix), "{c}");
                codes.push(c);
            }
        };
        add(
            "schema-",
            crate::schema::SchemaErrorKind::ALL
                .iter()
                .map(|k| k.code())
                .collect(),
        );
        add(
            "key-",
            crate::keys::KeyErrorKind::ALL
                .iter()
                .map(|k| k.code())
                .collect(),
        );
        add(
            "",
            crate::normalize::NormalizeErrorKind::ALL
                .iter()
                .map(|k| k.code())
                .collect(),
        );
        add(
            "eval-",
            crate::eval::EvalErrorKind::ALL
                .iter()
                .map(|k| k.code())
                .collect(),
        );
        add(
            "synth-",
            super::super::synth::SynthErrorKind::ALL
                .iter()
                .map(|k| k.code())
                .collect(),
        );
        add("lab-", LabErrorKind::ALL.iter().map(|k| k.code()).collect());
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code is used twice");
    }

    #[test]
    fn lab_errors_have_kinds() {
        let e = LabError::Settings("an experiment needs a threshold".into());
        assert_eq!(e.kind(), LabErrorKind::Settings);
        let e: LabError = crate::schema::Schema::from_toml_str("version = ")
            .unwrap_err()
            .into();
        assert_eq!(e.kind(), LabErrorKind::Schema);
    }
}
