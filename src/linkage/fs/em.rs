//! Expectation-maximisation on agreement-pattern counts: counts and a starting model in, the
//! trained model and an honest account of the training out.
//!
//! A model ([`FsParams`]) holds, per field and non-null level, the probability `m` that a true
//! match shows that level and `u` that a non-match does, and the prior `lambda` that a pair is a
//! match. Each iteration computes, per pattern, the probability that its pairs are matches
//! (E-step), then re-estimates `m`, `u` and `lambda` as the count-weighted shares (M-step). `m`
//! and `u` are kept at or above a floor, so a zero start still moves (splink#161), and hitting
//! the iteration cap is reported as such, never as convergence (splink#1382). Patterns are
//! visited in index order and EM runs on one thread: the result is the same on every run.

use serde::{Deserialize, Serialize};

use super::{FieldLevels, FsError, PatternCounts};

/// The model: per-field comparison levels, `m` and `u` per non-null level, and the prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsParams {
    /// The fields' comparison levels.
    pub fields: Vec<FieldLevels>,
    /// Prior probability that a pair is a match.
    pub lambda: f64,
    /// `m[f][l - 1]`: probability that a match shows level `l` (>= 1) in field `f`.
    pub m: Vec<Vec<f64>>,
    /// `u[f][l - 1]`: probability that a non-match shows level `l` in field `f`.
    pub u: Vec<Vec<f64>>,
}

impl FsParams {
    /// A model from its parts; each field's `m` and `u` must have one entry per non-null level.
    pub fn new(
        fields: Vec<FieldLevels>,
        lambda: f64,
        m: Vec<Vec<f64>>,
        u: Vec<Vec<f64>>,
    ) -> Result<Self, FsError> {
        let shaped = |p: &[Vec<f64>]| {
            p.len() == fields.len() && p.iter().zip(&fields).all(|(v, f)| v.len() == f.count() - 1)
        };
        if !shaped(&m) || !shaped(&u) {
            return Err(FsError::Shape(
                "m and u need one value per field and non-null level".into(),
            ));
        }
        if !(lambda > 0.0 && lambda < 1.0) {
            return Err(FsError::BadSettings(format!(
                "the prior must be within (0, 1), not {lambda}"
            )));
        }
        Ok(FsParams {
            fields,
            lambda,
            m,
            u,
        })
    }

    /// A neutral start: `m` halving from *exact* down, `u` halving from *else* up.
    pub fn starting(fields: Vec<FieldLevels>, lambda: f64) -> Result<Self, FsError> {
        let halving = |n: usize, rev: bool| {
            let mut v: Vec<f64> = (0..n).map(|k| 0.5f64.powi(k as i32 + 1)).collect();
            if rev {
                v.reverse();
            }
            normalised(v)
        };
        let m = fields
            .iter()
            .map(|f| halving(f.count() - 1, false))
            .collect();
        let u = fields
            .iter()
            .map(|f| halving(f.count() - 1, true))
            .collect();
        Self::new(fields, lambda, m, u)
    }

    /// `u` estimated from the counts of uniformly random pairs: each level's share among the
    /// pairs where the field is present, kept at or above `floor`.
    pub fn u_from_random(counts: &PatternCounts, floor: f64) -> Vec<Vec<f64>> {
        let mut shares: Vec<Vec<f64>> = counts
            .radices()
            .iter()
            .map(|r| vec![0.0; usize::from(*r) - 1])
            .collect();
        for (index, c) in counts.nonzero() {
            for (f, g) in counts.pattern(index).into_iter().enumerate() {
                if g > 0 {
                    shares[f][usize::from(g) - 1] += c as f64;
                }
            }
        }
        shares
            .into_iter()
            .map(|v| floored(normalised(v), floor))
            .collect()
    }

    fn check(&self, counts: &PatternCounts) -> Result<(), FsError> {
        let radices: Vec<u8> = self.fields.iter().map(|f| f.count() as u8).collect();
        if radices != counts.radices() {
            return Err(FsError::Shape(
                "the counts and the model have different fields or levels".into(),
            ));
        }
        Ok(())
    }
}

/// The prior from a deterministic rule (Splink's method): pairs the rule accepts, over all
/// comparisons, divided by the share of true matches the rule is guessed to find.
pub fn prior_from_rule(rule_pairs: u64, comparisons: u64, recall: f64) -> Result<f64, FsError> {
    if !(recall > 0.0 && recall <= 1.0) || comparisons == 0 || rule_pairs == 0 {
        return Err(FsError::BadSettings(
            "the prior needs rule pairs, comparisons and a recall guess within (0, 1]".into(),
        ));
    }
    let lambda = rule_pairs as f64 / comparisons as f64 / recall;
    if lambda >= 1.0 {
        return Err(FsError::BadSettings(format!(
            "the rule gives a prior of {lambda}, not below 1"
        )));
    }
    Ok(lambda)
}

/// How EM runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmSettings {
    /// The most iterations (Splink: 25).
    pub max_iterations: u32,
    /// Converged when no parameter changes by more than this (Splink: 0.0001).
    pub tolerance: f64,
    /// The least any `m` or `u` may be.
    pub floor: f64,
    /// Re-estimate `u` (off when `u` came from random pairs, as Splink does).
    pub estimate_u: bool,
    /// Re-estimate the prior.
    pub estimate_lambda: bool,
    /// Fields whose `m` stays as given: those the pass's blocking rule used.
    pub fixed_fields: Vec<usize>,
}

impl Default for EmSettings {
    fn default() -> Self {
        EmSettings {
            max_iterations: 25,
            tolerance: 1e-4,
            floor: 1e-6,
            estimate_u: false,
            estimate_lambda: true,
            fixed_fields: Vec::new(),
        }
    }
}

/// One EM iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmIteration {
    /// Largest absolute change of any parameter.
    pub max_change: f64,
    /// The prior after it.
    pub lambda: f64,
}

/// Something the trained model's user should know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FsWarning {
    /// EM stopped at the iteration cap before the tolerance was met.
    NotConverged {
        /// Iterations run.
        iterations: u32,
        /// The last change.
        max_change: f64,
    },
    /// The *exact* level is at least as likely among non-matches as among matches: the model
    /// has learnt something other than who matches (or the field's filters are not comparable).
    UNotBelowM {
        /// The field.
        field: String,
        /// The level's label.
        level: String,
    },
    /// No pair had this field present: its `m` and `u` were not estimated.
    NotEstimated {
        /// The field.
        field: String,
    },
}

impl std::fmt::Display for FsWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsWarning::NotConverged {
                iterations,
                max_change,
            } => write!(
                f,
                "EM stopped at its cap of {iterations} iterations, not converged (last change \
                 {max_change:.2e})"
            ),
            FsWarning::UNotBelowM { field, level } => write!(
                f,
                "field {field}: level `{level}` is at least as likely among non-matches as \
                 among matches"
            ),
            FsWarning::NotEstimated { field } => write!(
                f,
                "field {field}: no pair had it present, so its m and u were not estimated"
            ),
        }
    }
}

/// What EM did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmReport {
    /// The trained model.
    pub params: FsParams,
    /// Iterations run.
    pub iterations: u32,
    /// Whether the tolerance was met (not merely the cap hit).
    pub converged: bool,
    /// One entry per iteration.
    pub history: Vec<EmIteration>,
    /// Warnings about the result.
    pub warnings: Vec<FsWarning>,
}

/// Trains `start` on `counts` by EM.
pub fn expectation_maximisation(
    counts: &PatternCounts,
    start: &FsParams,
    settings: &EmSettings,
) -> Result<EmReport, FsError> {
    start.check(counts)?;
    if settings.max_iterations == 0 || settings.tolerance.is_nan() || settings.tolerance <= 0.0 {
        return Err(FsError::BadSettings(
            "EM needs at least one iteration and a positive tolerance".into(),
        ));
    }
    if !(settings.floor > 0.0 && settings.floor < 0.5) {
        return Err(FsError::BadSettings(
            "the floor must be within (0, 0.5)".into(),
        ));
    }
    if let Some(f) = settings
        .fixed_fields
        .iter()
        .find(|f| **f >= start.fields.len())
    {
        return Err(FsError::BadSettings(format!(
            "fixed field {f} is not a field of the model"
        )));
    }
    let patterns: Vec<(Vec<u8>, f64)> = counts
        .nonzero()
        .map(|(i, c)| (counts.pattern(i), c as f64))
        .collect();
    let total: f64 = patterns.iter().map(|(_, c)| c).sum();
    if total == 0.0 {
        return Err(FsError::NoPairs);
    }
    let mut params = start.clone();
    for f in 0..params.fields.len() {
        params.m[f] = floored(params.m[f].clone(), settings.floor);
        params.u[f] = floored(params.u[f].clone(), settings.floor);
    }
    let mut history = Vec::new();
    let mut converged = false;
    let mut am: Vec<Vec<f64>> = params.m.iter().map(|v| vec![0.0; v.len()]).collect();
    let mut au = am.clone();
    while history.len() < settings.max_iterations as usize {
        am.iter_mut().chain(au.iter_mut()).for_each(|v| v.fill(0.0));
        let mut matches = 0.0;
        for (gamma, c) in &patterns {
            let p = match_probability(&params, gamma);
            matches += c * p;
            for (f, g) in gamma.iter().enumerate().filter(|(_, g)| **g > 0) {
                am[f][usize::from(*g) - 1] += c * p;
                au[f][usize::from(*g) - 1] += c * (1.0 - p);
            }
        }
        let mut change: f64 = 0.0;
        for f in 0..params.fields.len() {
            if !settings.fixed_fields.contains(&f) && am[f].iter().sum::<f64>() > 0.0 {
                let m = floored(normalised(am[f].clone()), settings.floor);
                change = change.max(max_diff(&m, &params.m[f]));
                params.m[f] = m;
            }
            if settings.estimate_u && au[f].iter().sum::<f64>() > 0.0 {
                let u = floored(normalised(au[f].clone()), settings.floor);
                change = change.max(max_diff(&u, &params.u[f]));
                params.u[f] = u;
            }
        }
        if settings.estimate_lambda {
            let lambda = (matches / total).clamp(settings.floor, 1.0 - settings.floor);
            change = change.max((lambda - params.lambda).abs());
            params.lambda = lambda;
        }
        history.push(EmIteration {
            max_change: change,
            lambda: params.lambda,
        });
        if change < settings.tolerance {
            converged = true;
            break;
        }
    }
    let warnings = warnings(
        &params,
        &patterns,
        &history,
        converged,
        &settings.fixed_fields,
    );
    Ok(EmReport {
        params,
        iterations: history.len() as u32,
        converged,
        history,
        warnings,
    })
}

/// Trains `m` over a round robin of blocking passes: each pass has its own counts and the fields
/// its blocking rule used, whose `m` it cannot estimate. Those fields are left out of the pass's
/// EM altogether (every pair of the pass agrees on them, so they say nothing about which pairs
/// match; kept in, their fixed weight would call every pair of the pass a match). A field's `m`
/// is the mean over the passes that did not block on it; `u` and the prior stay as in `start`.
pub fn round_robin(
    passes: &[(&PatternCounts, &[usize])],
    start: &FsParams,
    settings: &EmSettings,
) -> Result<(FsParams, Vec<EmReport>), FsError> {
    let mut reports = Vec::with_capacity(passes.len());
    let mut sums: Vec<Vec<f64>> = start.m.iter().map(|v| vec![0.0; v.len()]).collect();
    let mut passes_per_field = vec![0u32; start.fields.len()];
    for (counts, blocked) in passes {
        let pass = EmSettings {
            estimate_u: false,
            fixed_fields: blocked.to_vec(),
            ..settings.clone()
        };
        let report = expectation_maximisation(&counts.without_fields(blocked), start, &pass)?;
        for f in (0..start.fields.len()).filter(|f| !blocked.contains(f)) {
            passes_per_field[f] += 1;
            sums[f]
                .iter_mut()
                .zip(&report.params.m[f])
                .for_each(|(s, m)| *s += m);
        }
        reports.push(report);
    }
    let mut params = start.clone();
    for (f, n) in passes_per_field.iter().enumerate().filter(|(_, n)| **n > 0) {
        params.m[f] = sums[f].iter().map(|s| s / f64::from(*n)).collect();
    }
    Ok((params, reports))
}

/// The probability that a pair with pattern `gamma` is a match under `params`.
pub(crate) fn match_probability(params: &FsParams, gamma: &[u8]) -> f64 {
    let (mut pm, mut pu) = (params.lambda, 1.0 - params.lambda);
    for (f, g) in gamma.iter().enumerate().filter(|(_, g)| **g > 0) {
        pm *= params.m[f][usize::from(*g) - 1];
        pu *= params.u[f][usize::from(*g) - 1];
    }
    pm / (pm + pu)
}

fn warnings(
    params: &FsParams,
    patterns: &[(Vec<u8>, f64)],
    history: &[EmIteration],
    converged: bool,
    fixed: &[usize],
) -> Vec<FsWarning> {
    let mut out = Vec::new();
    if !converged {
        out.push(FsWarning::NotConverged {
            iterations: history.len() as u32,
            max_change: history.last().map_or(f64::NAN, |h| h.max_change),
        });
    }
    for (f, field) in params.fields.iter().enumerate() {
        if !patterns.iter().any(|(g, _)| g[f] > 0) {
            // A fixed field (a pass's own, left out of its EM) is not estimated by design.
            if !fixed.contains(&f) {
                out.push(FsWarning::NotEstimated {
                    field: field.name().to_string(),
                });
            }
            continue;
        }
        // Identical values must favour matches; a partial level may rightly weigh against
        // them (a surname of Dice 0.7 is weak evidence of a different person).
        if params.u[f][0] >= params.m[f][0] {
            out.push(FsWarning::UNotBelowM {
                field: field.name().to_string(),
                level: field.label(1),
            });
        }
    }
    out
}

fn normalised(mut v: Vec<f64>) -> Vec<f64> {
    let sum: f64 = v.iter().sum();
    if sum > 0.0 {
        v.iter_mut().for_each(|x| *x /= sum);
    }
    v
}

/// Raises every entry to at least `floor`, taking the excess from the others in proportion.
fn floored(v: Vec<f64>, floor: f64) -> Vec<f64> {
    if v.iter().all(|x| *x >= floor) {
        return v;
    }
    let low = v.iter().filter(|x| **x < floor).count() as f64;
    let rest: f64 = v.iter().filter(|x| **x >= floor).sum();
    let scale = if rest > 0.0 {
        (1.0 - low * floor) / rest
    } else {
        0.0
    };
    v.into_iter()
        .map(|x| if x < floor { floor } else { x * scale })
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
