//! Leakage audit of encodings, without plaintext.
//!
//! In: encodings in memory ([`ClkData`], or bare filter words). Out: a serialisable
//! [`PrivacyAudit`] that measures the five vulnerabilities of Bloom-filter encodings named by
//! Vidanage et al. (JDIQ 2023) — frequency, length, co-occurrence, similarity and similarity
//! neighbourhood — each with a plain-language [`Verdict`] (low/medium/high against stated
//! thresholds) and the hardening setting that would reduce it. Why: a department should see
//! what its encodings reveal to an honest-but-curious third party before it sends them.
//!
//! The audit never sees plaintext. Costs are bounded by sampling: frequency and length use
//! every record; co-occurrence uses at most [`AuditOptions::cooccurrence_records`] records
//! and [`AuditOptions::cooccurrence_bits`] bit positions (a bit-matrix transpose, then one
//! AND+popcount per bit pair); similarity and neighbourhood compare at most
//! [`AuditOptions::similarity_sample`] records against all records. Samples are evenly spaced
//! with an offset derived from the data (never from time), and results are the same for any
//! thread count.

mod measure;
pub mod profile;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::io::ClkData;

pub use measure::audit_words;

/// How much an encoding reveals on one vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Below the medium threshold.
    Low,
    /// Between the thresholds.
    Medium,
    /// Above the high threshold.
    High,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        })
    }
}

/// A verdict: the level, the measure it was judged on, its thresholds, and what would help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The level.
    pub level: Level,
    /// The value judged.
    pub measure: f64,
    /// At or above this the level is medium.
    pub medium_at: f64,
    /// At or above this the level is high.
    pub high_at: f64,
    /// What the measure means, in plain language.
    pub explanation: String,
    /// The schema setting(s) that would reduce it (`[filter] harden = [...]` names).
    pub remedy: String,
}

impl Verdict {
    fn judge(measure: f64, medium_at: f64, high_at: f64, explanation: &str, remedy: &str) -> Self {
        let level = if measure >= high_at {
            Level::High
        } else if measure >= medium_at {
            Level::Medium
        } else {
            Level::Low
        };
        Verdict {
            level,
            measure,
            medium_at,
            high_at,
            explanation: explanation.to_string(),
            remedy: remedy.to_string(),
        }
    }
}

/// Sampling and threshold settings of the audit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AuditOptions {
    /// Records sampled for the co-occurrence measure.
    pub cooccurrence_records: usize,
    /// Bit positions sampled for the co-occurrence measure.
    pub cooccurrence_bits: usize,
    /// Records whose nearest neighbours and degrees are computed (against all records).
    pub similarity_sample: usize,
    /// Dice threshold of the similarity neighbourhood (degree) measure.
    pub threshold: f64,
    /// How many top frequencies / pairs to report.
    pub top: usize,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            cooccurrence_records: 1024,
            cooccurrence_bits: 1024,
            similarity_sample: 256,
            threshold: 0.8,
            top: 5,
        }
    }
}

/// Frequency: identical filters reveal frequent values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frequency {
    /// Distinct filters.
    pub distinct: u64,
    /// Share of records whose filter is the same as another record's.
    pub duplicate_share: f64,
    /// Shares of records held by the most frequent filters, largest first.
    pub top_shares: Vec<f64>,
    /// Shannon entropy of the filter distribution, in bits.
    pub entropy_bits: f64,
    /// Entropy divided by its maximum, log2(records) (1 = every filter unique).
    pub entropy_ratio: f64,
    /// Judged on the share of the most frequent filter.
    pub verdict: Verdict,
}

/// Length: the number of set bits reveals how long the encoded values are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Length {
    /// Mean popcount.
    pub mean: f64,
    /// Standard deviation of the popcount.
    pub sd: f64,
    /// Smallest popcount.
    pub min: u32,
    /// Largest popcount.
    pub max: u32,
    /// Distinct popcounts.
    pub distinct: u64,
    /// Judged on the coefficient of variation, sd / mean.
    pub verdict: Verdict,
    /// The popcount's correlation with the records' token counts, when the export was given
    /// ([`length_token_correlation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenCorrelation>,
}

/// How closely the popcount follows the number of tokens a record's values make: what lets a
/// third party tell long names from short ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenCorrelation {
    /// Records found in both the encodings and the export.
    pub records: u64,
    /// Pearson correlation of popcount and token count (0 when either is constant, as after
    /// `balance`).
    pub pearson: f64,
    /// Judged on the absolute correlation.
    pub verdict: Verdict,
}

/// The correlation of each record's popcount with its token count (`tokens`: record id and
/// tokens, from the export the encodings were made from; ids not in `data` are skipped).
/// `None` when fewer than two records are in both.
pub fn length_token_correlation(
    data: &ClkData,
    tokens: &[(String, u32)],
) -> Option<TokenCorrelation> {
    let index: std::collections::HashMap<&str, usize> = data
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let pairs: Vec<(f64, f64)> = tokens
        .iter()
        .filter_map(|(id, t)| {
            let r = *index.get(id.as_str())?;
            Some((
                f64::from(crate::filter::popcount(data.record(r))),
                f64::from(*t),
            ))
        })
        .collect();
    if pairs.len() < 2 {
        return None;
    }
    // A constant side (balanced filters) correlates with nothing; rounding must not say else.
    let constant = |side: fn(&(f64, f64)) -> f64| pairs.iter().all(|p| side(p) == side(&pairs[0]));
    if constant(|p| p.0) || constant(|p| p.1) {
        return Some(TokenCorrelation::of(pairs.len(), 0.0));
    }
    let n = pairs.len() as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(x, y), (a, b)| (x + a / n, y + b / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    Some(TokenCorrelation::of(pairs.len(), sxy / (sxx * syy).sqrt()))
}

impl TokenCorrelation {
    fn of(records: usize, pearson: f64) -> Self {
        TokenCorrelation {
            records: records as u64,
            pearson,
            verdict: Verdict::judge(
                pearson.abs(),
                0.3,
                0.7,
                "correlation of the popcount with the number of tokens of the record's values; \
                 a popcount that follows it tells long names and addresses from short ones",
                "add `balance` (constant popcount) to `[filter] harden`",
            ),
        }
    }
}

/// One strongly correlated pair of bit positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BitPair {
    /// First bit position (over the whole record).
    pub a: u32,
    /// Second bit position.
    pub b: u32,
    /// Pearson (phi) correlation over the sampled records.
    pub phi: f64,
}

/// Co-occurrence: bits set together reveal q-grams (the pattern-mining attack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cooccurrence {
    /// Records sampled.
    pub sampled_records: u64,
    /// Bit positions sampled.
    pub sampled_bits: u64,
    /// Of those, bits that vary in the sample (neither always 0 nor always 1).
    pub varying_bits: u64,
    /// Share of varying bit pairs with phi >= 0.9.
    pub share_above_0_9: f64,
    /// The strongest pairs, strongest first.
    pub strongest: Vec<BitPair>,
    /// Judged on the largest phi.
    pub verdict: Verdict,
}

/// Similarity: nearest-neighbour Dice coefficients reveal near-identical records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    /// Records sampled (each compared with all other records).
    pub sampled_records: u64,
    /// Mean nearest-neighbour Dice.
    pub mean: f64,
    /// Median nearest-neighbour Dice.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Share of sampled records whose nearest neighbour is identical (Dice 1).
    pub identical_share: f64,
    /// Deciles of the nearest-neighbour Dice distribution: counts in [0,0.1), ..., [0.9,1].
    pub histogram: Vec<u64>,
    /// Judged on the median nearest-neighbour Dice.
    pub verdict: Verdict,
}

/// Similarity neighbourhood: the degree of a record in the graph of pairs above a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbourhood {
    /// The Dice threshold.
    pub threshold: f64,
    /// Mean degree of the sampled records.
    pub mean_degree: f64,
    /// Largest degree seen.
    pub max_degree: u64,
    /// Counts of sampled records with degree 0, 1, 2, 3-5, 6-10, more than 10.
    pub degree_histogram: Vec<u64>,
    /// Judged on the share of sampled records with a degree of 2 or more.
    pub verdict: Verdict,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacyAudit {
    /// Records audited.
    pub records: u64,
    /// Bits per record (all filters together).
    pub bits: u32,
    /// The settings used.
    pub options: AuditOptions,
    /// The sampling offset, derived from the data.
    pub sample_seed: u64,
    /// Frequency.
    pub frequency: Frequency,
    /// Length.
    pub length: Length,
    /// Co-occurrence.
    pub cooccurrence: Cooccurrence,
    /// Similarity.
    pub similarity: Similarity,
    /// Similarity neighbourhood.
    pub neighbourhood: Neighbourhood,
}

impl PrivacyAudit {
    /// The five verdicts, named, in report order.
    pub fn verdicts(&self) -> [(&'static str, &Verdict); 5] {
        [
            ("frequency", &self.frequency.verdict),
            ("length", &self.length.verdict),
            ("co-occurrence", &self.cooccurrence.verdict),
            ("similarity", &self.similarity.verdict),
            ("neighbourhood", &self.neighbourhood.verdict),
        ]
    }

    /// One line: `frequency low, length medium, ...`.
    pub fn summary(&self) -> String {
        self.verdicts()
            .iter()
            .map(|(n, v)| format!("{n} {}", v.level))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Audits encodings in memory (all filters of a record together).
///
/// In the `field` layout the frequency measure is taken field by field (records flagged
/// missing in a field left out of it) and reports the most repeated field: a frequency attack
/// aligns one field's filters with a list of that field's values.
pub fn audit(data: &ClkData, options: &AuditOptions) -> PrivacyAudit {
    let fields = usize::from(data.header.filters_per_record);
    let bits = data.header.filter_bits * fields as u32;
    let wpr = data.header.words_per_record();
    let mut report = audit_words(&data.words, wpr, bits, options);
    if data.header.layout == crate::schema::Layout::Field && fields > 1 {
        let missing = data.header.missing_masks.then_some(data.missing.as_slice());
        if let Some((f, mut freq)) =
            measure::field_frequency(&data.words, wpr, fields, missing, options.top)
        {
            let name = field_name(data, f).unwrap_or_else(|| format!("field {}", f + 1));
            freq.verdict.explanation = format!(
                "field `{name}`, the most repeated of the {fields} field filters (records \
                 missing it left out): {}",
                freq.verdict.explanation
            );
            report.frequency = freq;
        }
    }
    report
}

/// Field `f`'s name in the encoding's embedded schema.
fn field_name(data: &ClkData, f: usize) -> Option<String> {
    let schema: serde_json::Value = serde_json::from_slice(&data.header.schema_json).ok()?;
    Some(schema["fields"][f]["name"].as_str()?.to_string())
}

/// Recording an audit in an encoding file's manifest failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestAuditError {
    /// The encoding file could not be read.
    #[error(transparent)]
    Read(#[from] crate::io::formats::ReadError),
    /// The manifest could not be read or written.
    #[error("manifest {path}: {source}")]
    Manifest {
        /// The manifest's path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl crate::error::Coded for ManifestAuditError {
    fn code(&self) -> &'static str {
        match self {
            ManifestAuditError::Read(_) => "audit-read",
            ManifestAuditError::Manifest { .. } => "audit-manifest",
        }
    }
}

/// Audits the `.clk` file at `clk` (read whole into memory) and records the audit in the
/// manifest beside it (`privacy`), replacing the manifest atomically. What `pprl encode` runs
/// after writing a `.clk` file.
pub fn audit_into_manifest(
    clk: &std::path::Path,
    options: &AuditOptions,
) -> Result<PrivacyAudit, ManifestAuditError> {
    let (data, _) = crate::io::formats::read_encoding_file(clk)?;
    let report = audit(&data, options);
    let path = crate::io::Manifest::path_for(clk);
    let err = |source: std::io::Error| ManifestAuditError::Manifest {
        path: path.display().to_string(),
        source,
    };
    let mut manifest = crate::io::Manifest::read(&path).map_err(err)?;
    manifest.privacy = Some(serde_json::to_value(&report).map_err(|e| err(e.into()))?);
    manifest.write(&path).map_err(err)?.commit().map_err(err)?;
    Ok(report)
}
