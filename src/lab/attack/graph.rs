//! Graph matching on similarity graphs (Vidanage, Christen, Ranbaduge, Schnell, CIKM 2020): the
//! attack that uses only how similar the encodings are to each other.
//!
//! In: an [`AttackData`] (with the attacker's own encoding of its plaintext, for calibration).
//! Out: a guess for every encoding: the plaintext record whose node it matched.
//!
//! 1. The plaintext graph links records whose token sets have Dice similarity at least
//!    `threshold`; the encoded graph links filters whose Dice similarity is at least the
//!    calibrated equivalent.
//! 2. Calibration: the attacker encodes its own plaintext under a key of its own (same
//!    schema) and fits, by least squares over pairs of its records, the plaintext similarity
//!    as a linear function of the encoded one; encoded edge weights are mapped through it.
//!    Similarity distributions, not positions, carry over between keys.
//! 3. Every node with an edge gets features: log degree, mean, max, min and spread of its edge
//!    weights, log mean and log max of its neighbours' degrees. Features are standardised over
//!    both graphs together.
//! 4. Each encoded node is matched to the plaintext node of the most similar features (cosine)
//!    when that choice is mutual; it then guesses that record's value.
//!
//! All pairs are compared (no blocking), so the attack is limited to `max_records` on each
//! side. Rows are processed in parallel but collected in order: the result does not depend on
//! the thread count.

use rayon::prelude::*;
use serde::Serialize;

use super::AttackError;
use super::data::{AttackData, Filters};

/// Settings of the graph attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GraphSettings {
    /// Least plaintext Dice similarity of an edge (default 0.6).
    pub threshold: f64,
    /// The most records on either side (default 20,000).
    pub max_records: usize,
    /// Plaintext records used to fit the calibration (default 1,000).
    pub calibration_records: usize,
}

impl Default for GraphSettings {
    fn default() -> Self {
        GraphSettings {
            threshold: 0.6,
            max_records: 20_000,
            calibration_records: 1_000,
        }
    }
}

/// What the attack found on the way.
#[derive(Debug, Clone, Serialize)]
pub struct GraphDetails {
    /// Calibration: plaintext Dice = `slope` x encoded Dice + `intercept`.
    pub slope: f64,
    /// See `slope`.
    pub intercept: f64,
    /// The encoded-side edge threshold that corresponds to `threshold`.
    pub encoded_threshold: f64,
    /// Edges of the encoded graph.
    pub encoded_edges: u64,
    /// Edges of the plaintext graph.
    pub plaintext_edges: u64,
    /// Encoded nodes with at least one edge.
    pub encoded_nodes: u64,
    /// Plaintext nodes with at least one edge.
    pub plaintext_nodes: u64,
    /// Mutual best matches (guesses made).
    pub matched: u64,
}

/// The attack's result.
#[derive(Debug, Clone)]
pub struct GraphResult {
    /// Per encoding: the matched record's target value, or nothing.
    pub guesses: Vec<Vec<u32>>,
    /// Details.
    pub details: GraphDetails,
}

fn dice_bits(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut t) = (0u32, 0u32);
    for (x, y) in a.iter().zip(b) {
        i += (x & y).count_ones();
        t += x.count_ones() + y.count_ones();
    }
    if t == 0 {
        0.0
    } else {
        2.0 * f64::from(i) / f64::from(t)
    }
}

fn dice_sets(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut c) = (0, 0, 0u32);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                c += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let t = a.len() + b.len();
    if t == 0 {
        0.0
    } else {
        2.0 * f64::from(c) / t as f64
    }
}

/// Adjacency lists of the graph `sim(i, j) >= t` over `0..n`, weights mapped by `w`.
fn graph(
    n: usize,
    sim: &(dyn Fn(usize, usize) -> f64 + Sync),
    t: f64,
    w: &(dyn Fn(f64) -> f64 + Sync),
) -> Vec<Vec<(u32, f64)>> {
    let upper: Vec<Vec<(u32, f64)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            ((i + 1)..n)
                .filter_map(|j| {
                    let s = sim(i, j);
                    (s >= t).then(|| (j as u32, w(s)))
                })
                .collect()
        })
        .collect();
    let mut adj = upper.clone();
    for (i, row) in upper.iter().enumerate() {
        for &(j, s) in row {
            adj[j as usize].push((i as u32, s));
        }
    }
    adj
}

const FEATURES: usize = 7;

fn features(adj: &[Vec<(u32, f64)>]) -> Vec<Option<[f64; FEATURES]>> {
    adj.iter()
        .map(|nb| {
            if nb.is_empty() {
                return None;
            }
            let d = nb.len() as f64;
            let mean = nb.iter().map(|x| x.1).sum::<f64>() / d;
            let var = nb.iter().map(|x| (x.1 - mean).powi(2)).sum::<f64>() / d;
            let max = nb.iter().map(|x| x.1).fold(f64::MIN, f64::max);
            let min = nb.iter().map(|x| x.1).fold(f64::MAX, f64::min);
            let nd: Vec<f64> = nb.iter().map(|x| adj[x.0 as usize].len() as f64).collect();
            let nd_mean = nd.iter().sum::<f64>() / d;
            let nd_max = nd.iter().copied().fold(0.0, f64::max);
            Some([
                d.ln_1p(),
                mean,
                max,
                min,
                var.sqrt(),
                nd_mean.ln_1p(),
                nd_max.ln_1p(),
            ])
        })
        .collect()
}

/// Least-squares fit of the plaintext similarity on the attacker's own encoded similarity.
fn calibrate(data: &AttackData, own: &Filters, s: &GraphSettings) -> (f64, f64) {
    let n = own.len().min(s.calibration_records);
    let (mut sx, mut sy, mut sxx, mut sxy, mut c) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        for j in (i + 1)..n {
            let y = dice_sets(
                &data.key_tokens[data.plain_keys[i] as usize],
                &data.key_tokens[data.plain_keys[j] as usize],
            );
            // Pairs far from any edge say little about the edges' scale.
            if y < s.threshold / 2.0 {
                continue;
            }
            let x = dice_bits(own.get(i), own.get(j));
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            c += 1.0;
        }
    }
    let var = sxx - sx * sx / c.max(1.0);
    if c < 2.0 || var <= 1e-12 {
        return (1.0, 0.0);
    }
    let slope = (sxy - sx * sy / c) / var;
    (slope, (sy - slope * sx) / c)
}

/// Runs the attack.
pub fn run(data: &AttackData, s: &GraphSettings) -> Result<GraphResult, AttackError> {
    let ne = data.filters.len();
    let np = data.plain_keys.len();
    if ne > s.max_records || np > s.max_records {
        return Err(AttackError::TooLarge {
            records: ne.max(np),
            max: s.max_records,
        });
    }
    let (slope, intercept) = match &data.plain_filters {
        Some(own) => calibrate(data, own, s),
        None => (1.0, 0.0),
    };
    let encoded_threshold = if slope > 1e-9 {
        ((s.threshold - intercept) / slope).clamp(0.0, 1.0)
    } else {
        s.threshold
    };
    let f = &data.filters;
    let adj_e = graph(
        ne,
        &|i, j| dice_bits(f.get(i), f.get(j)),
        encoded_threshold,
        &|x| slope * x + intercept,
    );
    let keys = &data.plain_keys;
    let adj_p = graph(
        np,
        &|i, j| {
            dice_sets(
                &data.key_tokens[keys[i] as usize],
                &data.key_tokens[keys[j] as usize],
            )
        },
        s.threshold,
        &|x| x,
    );
    let fe = features(&adj_e);
    let fp = features(&adj_p);
    // Standardise over both graphs.
    let present: Vec<&[f64; FEATURES]> = fe.iter().chain(&fp).flatten().collect();
    let cnt = present.len().max(1) as f64;
    let mut mean = [0.0; FEATURES];
    let mut sd = [0.0; FEATURES];
    for x in &present {
        for k in 0..FEATURES {
            mean[k] += x[k] / cnt;
        }
    }
    for x in &present {
        for k in 0..FEATURES {
            sd[k] += (x[k] - mean[k]).powi(2) / cnt;
        }
    }
    let norm = |v: &[Option<[f64; FEATURES]>]| -> Vec<Option<[f64; FEATURES]>> {
        v.iter()
            .map(|x| {
                x.map(|x| {
                    let mut z = [0.0; FEATURES];
                    for k in 0..FEATURES {
                        z[k] = if sd[k] > 1e-12 {
                            (x[k] - mean[k]) / sd[k].sqrt()
                        } else {
                            0.0
                        };
                    }
                    let len = z.iter().map(|a| a * a).sum::<f64>().sqrt();
                    if len > 0.0 {
                        z.iter_mut().for_each(|a| *a /= len);
                    }
                    z
                })
            })
            .collect()
    };
    let (ze, zp) = (norm(&fe), norm(&fp));
    let best =
        |from: &[Option<[f64; FEATURES]>], to: &[Option<[f64; FEATURES]>]| -> Vec<Option<u32>> {
            from.par_iter()
                .map(|x| {
                    let x = x.as_ref()?;
                    let mut b: Option<(f64, u32)> = None;
                    for (j, y) in to.iter().enumerate() {
                        let Some(y) = y else { continue };
                        let c: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
                        if b.is_none_or(|(bc, _)| c > bc) {
                            b = Some((c, j as u32));
                        }
                    }
                    b.map(|(_, j)| j)
                })
                .collect()
        };
    let e2p = best(&ze, &zp);
    let p2e = best(&zp, &ze);
    let mut matched = 0u64;
    let guesses = e2p
        .iter()
        .enumerate()
        .map(|(e, p)| match p {
            Some(p) if p2e[*p as usize] == Some(e as u32) => {
                matched += 1;
                vec![data.key_target[keys[*p as usize] as usize]]
            }
            _ => Vec::new(),
        })
        .collect();
    let edges = |a: &[Vec<(u32, f64)>]| a.iter().map(Vec::len).sum::<usize>() as u64 / 2;
    Ok(GraphResult {
        guesses,
        details: GraphDetails {
            slope,
            intercept,
            encoded_threshold,
            encoded_edges: edges(&adj_e),
            plaintext_edges: edges(&adj_p),
            encoded_nodes: fe.iter().flatten().count() as u64,
            plaintext_nodes: fp.iter().flatten().count() as u64,
            matched,
        },
    })
}
