//! Training a model without ground truth: field-layout records of one or two sides in, a
//! trained [`FsModel`] (parameters, prior, and an account of every step) out.
//!
//! Splink's recipe, on encodings:
//! 1. `u` from uniformly random pairs ([`random_pairs`]): nearly all are non-matches.
//! 2. `m` by EM over a round robin of blocking passes, each pass the pairs that agree exactly on
//!    one field (identical field filters, [`ExactGroups`]); the field a pass blocks on is not
//!    estimated in it, and a field's `m` is the mean over the passes that did not block on it.
//!    A pass with more pairs than the cap (a low-cardinality field) is skipped and reported.
//! 3. The prior, by default from the passes themselves: a pass's EM finds `lambda_p` of its
//!    `pairs_p` pairs are matches, and a match agrees exactly on the pass's field with
//!    probability `m_f(exact)` (learnt from the other passes), so the files hold about
//!    `lambda_p * pairs_p / m_f(exact)` matches; the median over passes, over all comparisons, is
//!    the prior. It can be given instead, or taken from Splink's deterministic rule (pairs
//!    exact on every field, over a stated recall guess).

use serde::{Deserialize, Serialize};

use super::{
    EmReport, EmSettings, ExactGroups, FieldLevels, FieldRecords, FsError, FsParams, PatternCounts,
    count_pairs, prior_from_rule, random_pairs, round_robin,
};

/// How the prior (the share of all comparisons that are matches) is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum PriorChoice {
    /// From the blocking passes' EM (see the module docs).
    Passes,
    /// Pairs exact on every field over all comparisons, divided by this recall guess.
    Rule {
        /// The share of true matches the rule is guessed to find, in `(0, 1]`.
        recall: f64,
    },
    /// This value.
    Given {
        /// The prior, in `(0, 1)`.
        lambda: f64,
    },
}

/// How a model is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Comparison levels, one per field in record order.
    pub levels: Vec<FieldLevels>,
    /// Random pairs for `u` (Splink's default is a million; more gives steadier small `u`).
    pub u_pairs: usize,
    /// Seed of the random pairs.
    pub seed: u64,
    /// The most pairs a blocking pass may have; larger passes are skipped.
    pub pass_cap: u64,
    /// Fields to block the passes on (`None`: every field).
    pub pass_fields: Option<Vec<usize>>,
    /// How the prior is set.
    pub prior: PriorChoice,
    /// EM settings of each pass (`estimate_u` and `fixed_fields` are set per pass).
    pub em: EmSettings,
}

impl TrainOptions {
    /// Default training for these fields' levels.
    pub fn new(levels: Vec<FieldLevels>) -> Self {
        TrainOptions {
            levels,
            u_pairs: 1_000_000,
            seed: 0x005e_edf5,
            pass_cap: 20_000_000,
            pass_fields: None,
            prior: PriorChoice::Passes,
            em: EmSettings::default(),
        }
    }
}

/// One blocking pass of the training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassReport {
    /// The field the pass blocked on.
    pub field: String,
    /// Pairs that agree exactly on it.
    pub pairs: u64,
    /// Why it was skipped, if it was.
    pub skipped: Option<String>,
    /// Its EM (absent when skipped), with `lambda` the share of its pairs found to match.
    pub em: Option<EmReport>,
    /// The matches in the files it implies, `lambda * pairs / m(exact)`.
    pub implied_matches: Option<f64>,
}

/// The prior and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorReport {
    /// How it was set.
    pub choice: PriorChoice,
    /// The prior.
    pub lambda: f64,
    /// Comparisons it is a share of (all pairs of the files).
    pub comparisons: u64,
    /// The matches it implies, `lambda * comparisons`.
    pub expected_matches: f64,
    /// Pairs the deterministic rule found (for [`PriorChoice::Rule`]).
    pub rule_pairs: Option<u64>,
}

/// A trained model and how it was trained: what `model.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsModel {
    /// The model.
    pub params: FsParams,
    /// How the prior was set.
    pub prior: PriorReport,
    /// Random pairs `u` came from.
    pub u_pairs: u64,
    /// Their agreement-pattern counts (nonzero ones, `(pattern index, count)`).
    pub u_counts: Vec<(u64, u64)>,
    /// The blocking passes that trained `m`.
    pub passes: Vec<PassReport>,
}

/// Trains a model on `left` and `right` (`None`: deduplication of `left`).
pub fn train(
    left: &FieldRecords<'_>,
    right: Option<&FieldRecords<'_>>,
    opts: &TrainOptions,
) -> Result<FsModel, FsError> {
    let fields = opts.levels.len();
    if fields != left.fields() || right.is_some_and(|r| r.fields() != fields) {
        return Err(FsError::Shape(format!(
            "{fields} levelled fields for records of {} fields",
            left.fields()
        )));
    }
    let other = right.unwrap_or(left);
    let (n, m) = (left.len() as u64, right.map(|r| r.len() as u64));
    let comparisons = match m {
        Some(m) => n * m,
        None => n * n.saturating_sub(1) / 2,
    };

    // 1. u from random pairs.
    let sample = random_pairs(left.len(), right.map(|r| r.len()), opts.u_pairs, opts.seed)?;
    let u_counts = count_pairs(&opts.levels, left, other, &sample)?;
    let u = FsParams::u_from_random(&u_counts, opts.em.floor);
    let start_m = FsParams::starting(opts.levels.clone(), 0.5)?.m;
    let start = FsParams::new(opts.levels.clone(), 0.1, start_m, u)?;

    // 2. m by a round robin of passes, each exact on one field.
    let pass_fields: Vec<usize> = opts
        .pass_fields
        .clone()
        .unwrap_or_else(|| (0..fields).collect());
    if let Some(f) = pass_fields.iter().find(|f| **f >= fields) {
        return Err(FsError::BadSettings(format!(
            "pass field {f} is not a field of the records"
        )));
    }
    let mut passes: Vec<PassReport> = Vec::new();
    let mut counted: Vec<(PatternCounts, Vec<usize>)> = Vec::new();
    for &f in &pass_fields {
        let groups = ExactGroups::new(left, right, &[f]);
        let pairs = groups.pair_count();
        let skipped = if pairs == 0 {
            Some("no pairs agree exactly on it".to_string())
        } else if pairs > opts.pass_cap {
            Some(format!("more pairs than the cap of {}", opts.pass_cap))
        } else {
            None
        };
        if skipped.is_none() {
            counted.push((
                count_pairs(&opts.levels, left, other, &groups.pairs())?,
                vec![f],
            ));
        }
        passes.push(PassReport {
            field: opts.levels[f].name().to_string(),
            pairs,
            skipped,
            em: None,
            implied_matches: None,
        });
    }
    if counted.len() < 2 {
        return Err(FsError::BadSettings(format!(
            "training needs at least two blocking passes within the cap; {} of {} fields qualify",
            counted.len(),
            pass_fields.len()
        )));
    }
    let rr: Vec<(&PatternCounts, &[usize])> =
        counted.iter().map(|(c, f)| (c, f.as_slice())).collect();
    let (mut params, reports) = round_robin(&rr, &start, &opts.em)?;
    let mut reports = reports.into_iter();
    for pass in passes.iter_mut().filter(|p| p.skipped.is_none()) {
        let report = reports.next().expect("one report per counted pass");
        let f = opts
            .levels
            .iter()
            .position(|l| l.name() == pass.field)
            .expect("a pass blocks on a field");
        pass.implied_matches =
            Some(report.params.lambda * pass.pairs as f64 / params.m[f][0].max(opts.em.floor));
        pass.em = Some(report);
    }

    // 3. The prior.
    let mut rule_pairs = None;
    let lambda = match opts.prior {
        PriorChoice::Given { lambda } => lambda,
        PriorChoice::Rule { recall } => {
            let all: Vec<usize> = (0..fields).collect();
            let pairs = ExactGroups::new(left, right, &all).pair_count();
            rule_pairs = Some(pairs);
            prior_from_rule(pairs, comparisons, recall)?
        }
        PriorChoice::Passes => {
            let mut implied: Vec<f64> = passes.iter().filter_map(|p| p.implied_matches).collect();
            implied.sort_by(f64::total_cmp);
            let median = implied[implied.len() / 2];
            (median / comparisons.max(1) as f64).clamp(opts.em.floor, 0.5)
        }
    };
    params = FsParams::new(params.fields, lambda, params.m, params.u)?;
    Ok(FsModel {
        params,
        prior: PriorReport {
            choice: opts.prior,
            lambda,
            comparisons,
            expected_matches: lambda * comparisons as f64,
            rule_pairs,
        },
        u_pairs: sample.len() as u64,
        u_counts: u_counts.nonzero().map(|(i, c)| (i as u64, c)).collect(),
        passes,
    })
}
