//! Probabilistic linkage in the match job: field-layout encodings and [`FsOptions`] in, a
//! trained (or given) model, a scorer for the job's candidates and the cut on their match
//! probability out, with an [`FsSummary`] for the report.
//!
//! The match job ([`crate::linkage::match_encodings`]) finds candidate pairs by record-level
//! Dice over all the fields' filters (a loose threshold, [`FsOptions::candidates`], with any
//! blocking), scores each by its total match weight, keeps those at or above the cut and hands
//! them to the usual solvers and clustering, which rank by weight. The cut is a match
//! probability: given, or chosen automatically as the one that maximises the F1 the model
//! itself expects (each candidate is a match with its probability). Pairs between a lower
//! review threshold and the cut are set aside for clerical review.

use rayon::prelude::*;
use serde::Serialize;

use super::{
    FieldLevels, FieldRecords, FsError, FsModel, FsParams, PassReport, PriorReport, Scorer,
    TrainOptions, empty_field_masks, probability, train,
};
use crate::io::ClkData;
use crate::linkage::Candidate;
use crate::schema::Layout;

/// How to link probabilistically.
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// A model from an earlier run to score with; `None` trains one on the inputs.
    pub model: Option<FsModel>,
    /// Training (its `levels` empty: one per field of the schema, with `thresholds`).
    pub train: TrainOptions,
    /// The comparison thresholds below *exact* of every field, descending.
    pub thresholds: Vec<f64>,
    /// The record-level Dice (over all fields' filters) of a candidate pair; `None`: the Dice
    /// that a share [`RANDOM_PASS`] of uniformly random pairs reaches (less on large inputs;
    /// hardening lifts every pair's Dice, so a fixed value would keep nearly all pairs or lose
    /// matches).
    pub candidates: Option<f64>,
    /// Candidates from exact agreement on some field instead of record-level Dice (see
    /// `Prepared::pass_candidates`); also used, whatever this says, with automatic blocking on
    /// inputs too large to compare exhaustively.
    pub exact_candidates: bool,
    /// Fields with term-frequency adjustment, by name (`None`: every field).
    pub tf_fields: Option<Vec<String>>,
    /// The lower end of a clerical-review band, as a match probability below the cut.
    pub review: Option<f64>,
    /// Accept field filters without hardening. Field filters leak more than record-level
    /// ones (frequency and pattern attacks work field by field; docs/privacy.md): the model
    /// is offered on hardened field filters, and on unhardened ones only on request (for
    /// research on synthetic data, or where the data owners accept it).
    pub allow_unhardened: bool,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            model: None,
            train: TrainOptions::new(Vec::new()),
            thresholds: super::levels::DEFAULT_THRESHOLDS.to_vec(),
            candidates: None,
            exact_candidates: false,
            tf_fields: None,
            review: None,
            allow_unhardened: false,
        }
    }
}

/// With automatic candidates, the share of random pairs (nearly all non-matches) that pass,
/// at most: on FEBRL's field filters, hardened or not, the Dice 1% of random pairs reach is
/// below every true pair's but a few (docs/probabilistic.md).
pub const RANDOM_PASS: f64 = 1e-2;

/// With automatic candidates, the most candidates expected from random pairs: the share that
/// passes shrinks below [`RANDOM_PASS`] on large inputs to keep to it.
pub const CANDIDATE_CAP: f64 = 2e7;

/// The record-level Dice that a share of uniformly random pairs reaches: [`RANDOM_PASS`], or
/// less where that would make more than [`CANDIDATE_CAP`] candidates.
fn candidate_threshold(data: &[ClkData], seed: u64) -> Result<f64, FsError> {
    let (left, right) = (&data[0], data.get(1));
    let (n, m) = (left.ids.len() as f64, right.map(|r| r.ids.len() as f64));
    let comparisons = m.map_or(n * (n - 1.0) / 2.0, |m| n * m).max(1.0);
    let share = RANDOM_PASS.min(CANDIDATE_CAP / comparisons);
    // At least a hundred sampled pairs above the quantile.
    let sample = ((100.0 / share) as usize).clamp(200_000, 10_000_000);
    let pairs = super::random_pairs(
        left.ids.len(),
        right.map(|r| r.ids.len()),
        sample,
        seed ^ 0xc0de,
    )?;
    let other = right.unwrap_or(left);
    let mut dice: Vec<f64> = pairs
        .par_iter()
        .map(|&(a, b)| crate::filter::dice(left.record(a as usize), other.record(b as usize)))
        .collect();
    dice.sort_by(|x, y| y.total_cmp(x));
    let k = ((dice.len() as f64 * share) as usize).min(dice.len() - 1);
    Ok(dice[k])
}

/// What probabilistic linkage did, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct FsSummary {
    /// The model used.
    pub params: FsParams,
    /// How its prior was set.
    pub prior: PriorReport,
    /// The blocking passes that trained it (empty for a given model).
    pub passes: Vec<PassReport>,
    /// Whether it was trained in this run (not given).
    pub trained: bool,
    /// Random pairs its `u` came from.
    pub u_pairs: u64,
    /// Fields with term-frequency adjustment.
    pub tf_fields: Vec<String>,
    /// The record-level Dice of candidate pairs (unused when `exact_passes` is not empty).
    pub candidate_threshold: f64,
    /// For inputs too large to compare exhaustively with `--blocking auto`: the fields whose
    /// exact agreement made the candidates (empty: candidates by record-level Dice).
    pub exact_passes: Vec<String>,
    /// Candidates scored.
    pub scored: u64,
    /// The cut, as a match probability.
    pub cut_probability: f64,
    /// The cut, as a match weight.
    pub cut_weight: f64,
    /// Whether the cut was chosen automatically (the model's expected F1).
    pub cut_automatic: bool,
    /// The quality the model expects of the pairs at or above the cut.
    pub expected: Expected,
    /// Pairs in the review band (probability at or above `review`, below the cut).
    pub review_pairs: u64,
    /// The lower end of the review band.
    pub review: Option<f64>,
    /// Seconds spent training.
    pub train_s: f64,
    /// The model, to save for later runs.
    #[serde(skip)]
    pub model: FsModel,
    /// The review band's pairs (scores are match probabilities).
    #[serde(skip)]
    pub review_band: Vec<Candidate>,
    /// Every scored candidate's match weight, in candidate order (for the weight histogram).
    #[serde(skip)]
    pub weights: Vec<f64>,
}

/// The quality the model expects of a cut, from the candidates' match probabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Expected {
    /// Expected share of true matches among the pairs kept.
    pub precision: f64,
    /// Expected share of the candidates' matches kept.
    pub recall: f64,
    /// Their harmonic mean.
    pub f1: f64,
    /// Expected matches among all candidates.
    pub matches: f64,
}

/// The inputs' shape as field filters, with their missing-field masks.
#[derive(Debug)]
struct Shape {
    masks: Vec<Vec<u64>>,
    fields: usize,
    words_per_field: usize,
}

impl Shape {
    fn records<'a>(&'a self, data: &'a [ClkData], i: usize) -> FieldRecords<'a> {
        FieldRecords::new(
            &data[i].words,
            self.fields,
            self.words_per_field,
            Some(&self.masks[i]),
        )
        .expect("the records were checked when the masks were made")
    }
}

/// A job's inputs made ready: missing-field masks and the model.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) model: FsModel,
    shape: Shape,
    /// The record-level Dice of candidate pairs.
    pub(crate) candidates: f64,
    tf_fields: Vec<usize>,
    trained: bool,
    train_s: f64,
}

/// The fields' names in an encoding's embedded schema, and whether it hardens its filters.
fn schema_fields(d: &ClkData) -> Result<(Vec<String>, bool), FsError> {
    let schema: serde_json::Value = serde_json::from_slice(&d.header.schema_json)
        .map_err(|_| FsError::Shape("the encodings' embedded schema is not JSON".into()))?;
    let names: Vec<String> = schema["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let hardened = schema["filter"]["harden"]
        .as_array()
        .is_some_and(|h| !h.is_empty());
    Ok((names, hardened))
}

/// Checks the inputs, reads their missing-field masks and trains (or checks) the model.
pub(crate) fn prepare(data: &[ClkData], opts: &FsOptions) -> Result<Prepared, FsError> {
    if data.is_empty() || data.len() > 2 {
        return Err(FsError::Inputs(data.len()));
    }
    let header = &data[0].header;
    if header.layout != Layout::Field {
        return Err(FsError::Layout {
            layout: header.layout.as_str().to_string(),
        });
    }
    let (names, hardened) = schema_fields(&data[0])?;
    let fields = usize::from(header.filters_per_record);
    if names.len() != fields {
        return Err(FsError::Shape(format!(
            "the schema names {} fields for {fields} field filters",
            names.len()
        )));
    }
    if !hardened && !opts.allow_unhardened {
        return Err(FsError::Unhardened);
    }
    let words_per_field = header.filter_bits as usize / 64;
    // The encoder's masks; without them (files from before masks), empty filters are
    // missing fields, which holds only for unhardened filters.
    let masks = data
        .iter()
        .map(|d| match (d.header.missing_masks, hardened) {
            (true, _) => Ok(d.missing.clone()),
            (false, false) => Ok(empty_field_masks(&d.words, fields, words_per_field)),
            (false, true) => Err(FsError::NoMissingFlags),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tf_fields = match &opts.tf_fields {
        None => (0..fields).collect(),
        Some(wanted) => wanted
            .iter()
            .map(|w| {
                names.iter().position(|n| n == w).ok_or_else(|| {
                    FsError::BadSettings(format!("term frequencies: no field `{w}`"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let shape = Shape {
        masks,
        fields,
        words_per_field,
    };
    let started = std::time::Instant::now();
    let model = match &opts.model {
        Some(model) => {
            let theirs: Vec<&str> = model.params.fields.iter().map(|f| f.name()).collect();
            if theirs != names.iter().map(String::as_str).collect::<Vec<_>>() {
                return Err(FsError::ModelMismatch(format!(
                    "it has fields {theirs:?}, the encodings {names:?}"
                )));
            }
            model.clone()
        }
        None => {
            let levels = names
                .iter()
                .map(|n| FieldLevels::new(n.clone(), opts.thresholds.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            let train_opts = TrainOptions {
                levels,
                ..opts.train.clone()
            };
            let left = shape.records(data, 0);
            let right = (data.len() == 2).then(|| shape.records(data, 1));
            train(&left, right.as_ref(), &train_opts)?
        }
    };
    let candidates = match opts.candidates {
        Some(t) => t,
        // Not used: the candidates come from exact agreement.
        None if opts.exact_candidates => 0.0,
        None => candidate_threshold(data, opts.train.seed)?,
    };
    Ok(Prepared {
        model,
        shape,
        candidates,
        tf_fields,
        trained: opts.model.is_none(),
        train_s: if opts.model.is_none() {
            started.elapsed().as_secs_f64()
        } else {
            0.0
        },
    })
}

impl Prepared {
    /// Candidates for inputs too large to compare exhaustively: the pairs that agree exactly on
    /// some field (the blocks of the training passes, as Splink's prediction blocking rules),
    /// each field's pairs only if at most `cap` (a field such as sex would pair a third of
    /// everyone); deduplicated, sorted by `(a, b)`, unscored; with the fields used. A pair that
    /// disagrees on every such field is not a candidate.
    pub(crate) fn pass_candidates(
        &self,
        data: &[ClkData],
        cap: u64,
    ) -> (Vec<Candidate>, Vec<String>) {
        let left = self.shape.records(data, 0);
        let right = (data.len() == 2).then(|| self.shape.records(data, 1));
        let (mut pairs, mut used) = (Vec::new(), Vec::new());
        for f in 0..self.shape.fields {
            let groups = super::ExactGroups::new(&left, right.as_ref(), &[f]);
            let n = groups.pair_count();
            if n > 0 && n <= cap {
                pairs.extend(groups.pairs());
                used.push(self.model.params.fields[f].name().to_string());
            }
        }
        pairs.par_sort_unstable();
        pairs.dedup();
        let candidates = pairs
            .into_iter()
            .map(|(a, b)| Candidate { a, b, score: 0.0 })
            .collect();
        (candidates, used)
    }

    /// The scorer of the job's pair of inputs (the one input twice for deduplication).
    pub(crate) fn scorer<'a>(&'a self, data: &'a [ClkData]) -> Scorer<'a> {
        let left = self.shape.records(data, 0);
        let right = (data.len() == 2).then(|| self.shape.records(data, 1));
        Scorer::new(&self.model.params, left, right, &self.tf_fields)
    }

    /// The summary, once the cut (a weight) is known; `scored` holds every candidate's
    /// match weight.
    pub(crate) fn summary(
        &self,
        opts: &FsOptions,
        scored: &[Candidate],
        cut_weight: f64,
        automatic: bool,
        exact_passes: Vec<String>,
    ) -> FsSummary {
        let review_band: Vec<Candidate> = opts
            .review
            .map(|low| {
                let low = weight_of(low);
                scored
                    .iter()
                    .filter(|c| c.score >= low && c.score < cut_weight)
                    .map(|c| Candidate {
                        score: probability(c.score),
                        ..*c
                    })
                    .collect()
            })
            .unwrap_or_default();
        FsSummary {
            params: self.model.params.clone(),
            prior: self.model.prior.clone(),
            passes: self.model.passes.clone(),
            trained: self.trained,
            u_pairs: self.model.u_pairs,
            tf_fields: self
                .tf_fields
                .iter()
                .map(|&f| self.model.params.fields[f].name().to_string())
                .collect(),
            candidate_threshold: self.candidates,
            exact_passes,
            scored: scored.len() as u64,
            cut_probability: probability(cut_weight),
            cut_weight,
            cut_automatic: automatic,
            expected: expected_at(scored, cut_weight),
            review_pairs: review_band.len() as u64,
            review: opts.review,
            train_s: self.train_s,
            model: self.model.clone(),
            review_band,
            weights: scored.iter().map(|c| c.score).collect(),
        }
    }
}

/// The weight of a match probability, `log2(p / (1 - p))` (infinite at 0 and 1).
pub fn weight_of(probability: f64) -> f64 {
    (probability / (1.0 - probability)).log2()
}

/// What the model expects of keeping the candidates weighing at least `cut` (a weight).
fn expected_at(scored: &[Candidate], cut: f64) -> Expected {
    let matches: f64 = scored.iter().map(|c| probability(c.score)).sum();
    let kept: Vec<f64> = scored
        .iter()
        .filter(|c| c.score >= cut)
        .map(|c| probability(c.score))
        .collect();
    let tp: f64 = kept.iter().sum();
    let precision = if kept.is_empty() {
        1.0
    } else {
        tp / kept.len() as f64
    };
    let recall = if matches > 0.0 { tp / matches } else { 1.0 };
    Expected {
        precision,
        recall,
        f1: if tp > 0.0 {
            2.0 * tp / (kept.len() as f64 + matches)
        } else {
            0.0
        },
        matches,
    }
}

/// The weight cut that maximises the expected F1 of the candidates kept (weights in
/// `scored`); ties go to the higher cut. `None` when there are no candidates.
pub(crate) fn best_cut(scored: &[Candidate]) -> Option<f64> {
    let mut weights: Vec<f64> = scored.iter().map(|c| c.score).collect();
    weights.sort_by(|a, b| b.total_cmp(a));
    let matches: f64 = weights.iter().map(|w| probability(*w)).sum();
    let (mut tp, mut best) = (0.0, None::<(f64, f64)>);
    for (k, w) in weights.iter().enumerate() {
        tp += probability(*w);
        // Cut between distinct weights only: equal weights are kept or dropped together.
        if weights.get(k + 1).is_some_and(|next| next == w) {
            continue;
        }
        let f1 = 2.0 * tp / ((k + 1) as f64 + matches);
        if best.is_none_or(|(b, _)| f1 > b) {
            best = Some((f1, *w));
        }
    }
    best.map(|(_, w)| w)
}

/// Explains the weight of the pair of records `a` (in the first input) and `b` (in the second,
/// or also in the first for deduplication) under `opts`' model (trained on the inputs when
/// none is given).
pub fn explain(
    data: &[ClkData],
    opts: &FsOptions,
    a: &str,
    b: &str,
) -> Result<super::Explanation, FsError> {
    let prepared = prepare(data, opts)?;
    let find = |d: &ClkData, id: &str| {
        d.ids
            .iter()
            .position(|x| x == id)
            .map(|i| i as u32)
            .ok_or_else(|| FsError::UnknownId { id: id.to_string() })
    };
    let (x, y) = (find(&data[0], a)?, find(data.last().expect("an input"), b)?);
    Ok(prepared.scorer(data).explain(x, y))
}
