//! The five measures over bare filter words (`wpr` words per record).
//!
//! In: the words, the record width and options. Out: a [`PrivacyAudit`]. Frequency and length
//! read every record; co-occurrence transposes a sample into one bit column per position;
//! similarity compares a sample against all records with the filter popcount kernel.

use std::collections::HashMap;

use rayon::prelude::*;

use super::{
    AuditOptions, BitPair, Cooccurrence, Frequency, Length, Neighbourhood, PrivacyAudit,
    Similarity, Verdict,
};
use crate::filter::popcount;

const REMEDY_FREQUENCY: &str = "encode several fields into one record-level filter, add `salt` \
     (e.g. salting with a stable field) or `blip` to `[filter] harden`";
const REMEDY_LENGTH: &str = "add `balance` (constant popcount) to `[filter] harden`";
const REMEDY_COOC: &str = "add `rule90`, `xor-fold` or `diffusion` to `[filter] harden`, or use \
     more fields per filter";
const REMEDY_SIM: &str = "add `blip` to `[filter] harden` (noise on similarities); similarities \
     are inherent to linkage and can only be blurred";
const REMEDY_NEIGH: &str =
    "add `blip` or `diffusion` to `[filter] harden`; release scores only above the threshold";

/// SplitMix64 step: the seed and sample offsets.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seed derived from the data: a hash of the record count and every 97th word.
fn seed_of(words: &[u64], n: usize) -> u64 {
    words
        .iter()
        .step_by(97)
        .fold(mix(n as u64), |h, w| mix(h ^ w))
}

/// `m` evenly spaced record indices out of `n`, starting at an offset from the seed.
fn sample(n: usize, m: usize, seed: u64) -> Vec<usize> {
    if n <= m {
        return (0..n).collect();
    }
    let offset = (seed % n as u64) as usize;
    let mut idx: Vec<usize> = (0..m).map(|k| (offset + k * n / m) % n).collect();
    idx.sort_unstable();
    idx
}

/// Audits `words`, `wpr` words (`bits` bits) per record.
pub fn audit_words(words: &[u64], wpr: usize, bits: u32, options: &AuditOptions) -> PrivacyAudit {
    let n = words.len().checked_div(wpr).unwrap_or(0);
    let seed = seed_of(words, n);
    let rec = |i: usize| &words[i * wpr..(i + 1) * wpr];
    let (similarity, neighbourhood) = similarity(n, words, wpr, options, seed);
    PrivacyAudit {
        records: n as u64,
        bits,
        options: *options,
        sample_seed: seed,
        frequency: frequency(n, &rec, options.top),
        length: length(n, &rec),
        cooccurrence: cooccurrence(n, wpr, bits, &rec, options, seed),
        similarity,
        neighbourhood,
    }
}

/// Frequency over each field filter of a `field`-layout encoding (`fields` filters a record),
/// leaving out the records whose field is flagged missing in `missing`: the most repeated
/// field's index and measure. What frequency attacks read, field by field; the record as a whole
/// can be unique while its given-name filter is shared by thousands.
pub(crate) fn field_frequency(
    words: &[u64],
    wpr: usize,
    fields: usize,
    missing: Option<&[u64]>,
    top: usize,
) -> Option<(usize, Frequency)> {
    let n = words.len().checked_div(wpr).unwrap_or(0);
    let wpf = wpr.checked_div(fields).filter(|w| *w > 0)?;
    (0..fields)
        .map(|f| {
            let present: Vec<usize> = (0..n)
                .filter(|&i| missing.is_none_or(|m| m[i] >> f & 1 == 0))
                .collect();
            let rec = |k: usize| &words[present[k] * wpr + f * wpf..][..wpf];
            (f, frequency(present.len(), &rec, top))
        })
        .max_by(|(fa, a), (fb, b)| {
            a.verdict
                .measure
                .total_cmp(&b.verdict.measure)
                .then(fb.cmp(fa))
        })
}

fn frequency<'a>(n: usize, rec: &(dyn Fn(usize) -> &'a [u64] + Sync), top: usize) -> Frequency {
    let mut counts: HashMap<&[u64], u64> = HashMap::with_capacity(n);
    for i in 0..n {
        *counts.entry(rec(i)).or_insert(0) += 1;
    }
    let mut sizes: Vec<u64> = counts.values().copied().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let nf = n.max(1) as f64;
    let duplicated: u64 = sizes.iter().filter(|&&c| c > 1).sum();
    let entropy: f64 = sizes
        .iter()
        .map(|&c| {
            let p = c as f64 / nf;
            -p * p.log2()
        })
        .sum();
    let max_entropy = (n.max(2) as f64).log2();
    let top_shares: Vec<f64> = sizes.iter().take(top).map(|&c| c as f64 / nf).collect();
    // With fewer than 20 records one record is already 5 %; judge on a repeated filter only.
    let largest = sizes.first().copied().unwrap_or(0);
    let measure = if largest > 1 {
        largest as f64 / nf
    } else {
        0.0
    };
    Frequency {
        distinct: sizes.len() as u64,
        duplicate_share: duplicated as f64 / nf,
        top_shares,
        entropy_bits: entropy,
        entropy_ratio: entropy / max_entropy,
        verdict: Verdict::judge(
            measure,
            0.001,
            0.01,
            "share of records holding the most frequent filter; a filter shared by many records \
             can be matched to a frequent name in a public list",
            REMEDY_FREQUENCY,
        ),
    }
}

fn length<'a>(n: usize, rec: &(dyn Fn(usize) -> &'a [u64] + Sync)) -> Length {
    let pops: Vec<u32> = (0..n).map(|i| popcount(rec(i))).collect();
    let nf = n.max(1) as f64;
    let mean = pops.iter().map(|&p| f64::from(p)).sum::<f64>() / nf;
    let var = pops
        .iter()
        .map(|&p| (f64::from(p) - mean).powi(2))
        .sum::<f64>()
        / nf;
    let sd = var.sqrt();
    let mut distinct = pops.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let cv = if mean > 0.0 { sd / mean } else { 0.0 };
    Length {
        mean,
        sd,
        min: pops.iter().copied().min().unwrap_or(0),
        max: pops.iter().copied().max().unwrap_or(0),
        distinct: distinct.len() as u64,
        verdict: Verdict::judge(
            cv,
            0.02,
            0.15,
            "coefficient of variation of the popcount; popcounts that vary reveal how many \
             q-grams (how long the values) a record has",
            REMEDY_LENGTH,
        ),
        tokens: None,
    }
}

fn cooccurrence<'a>(
    n: usize,
    wpr: usize,
    bits: u32,
    rec: &(dyn Fn(usize) -> &'a [u64] + Sync),
    options: &AuditOptions,
    seed: u64,
) -> Cooccurrence {
    let rows = sample(n, options.cooccurrence_records, mix(seed ^ 1));
    let positions: Vec<u32> = {
        let total = (bits as usize).min(wpr * 64);
        let m = options.cooccurrence_bits.min(total);
        sample(total, m, mix(seed ^ 2))
            .into_iter()
            .map(|p| p as u32)
            .collect()
    };
    let cw = rows.len().div_ceil(64);
    // Transpose: one column of `cw` words per sampled bit position.
    let mut cols = vec![0u64; positions.len() * cw];
    for (r, &i) in rows.iter().enumerate() {
        let words = rec(i);
        for (c, &p) in positions.iter().enumerate() {
            if words[p as usize / 64] >> (p % 64) & 1 == 1 {
                cols[c * cw + r / 64] |= 1 << (r % 64);
            }
        }
    }
    let s = rows.len() as f64;
    let ones: Vec<u32> = (0..positions.len())
        .map(|c| popcount(&cols[c * cw..(c + 1) * cw]))
        .collect();
    let varying: Vec<usize> = (0..positions.len())
        .filter(|&c| ones[c] > 0 && (ones[c] as usize) < rows.len())
        .collect();
    let phi = |a: usize, b: usize| -> f64 {
        let both = popcount_and(&cols[a * cw..(a + 1) * cw], &cols[b * cw..(b + 1) * cw]);
        let (pa, pb) = (f64::from(ones[a]) / s, f64::from(ones[b]) / s);
        (f64::from(both) / s - pa * pb) / (pa * (1.0 - pa) * pb * (1.0 - pb)).sqrt()
    };
    let top = options.top.max(1);
    // Per first bit: the count above 0.9 and its strongest pairs; merged in order.
    let per: Vec<(u64, Vec<BitPair>)> = (0..varying.len())
        .into_par_iter()
        .map(|x| {
            let mut above = 0;
            let mut best: Vec<BitPair> = Vec::new();
            for y in x + 1..varying.len() {
                let v = phi(varying[x], varying[y]);
                if v >= 0.9 {
                    above += 1;
                }
                push_top(
                    &mut best,
                    BitPair {
                        a: positions[varying[x]],
                        b: positions[varying[y]],
                        phi: v,
                    },
                    top,
                );
            }
            (above, best)
        })
        .collect();
    let mut above = 0;
    let mut strongest = Vec::new();
    for (a, best) in per {
        above += a;
        for p in best {
            push_top(&mut strongest, p, top);
        }
    }
    let k = varying.len() as f64;
    let pairs = (k * (k - 1.0) / 2.0).max(1.0);
    let max_phi = strongest.first().map_or(0.0, |p| p.phi);
    Cooccurrence {
        sampled_records: rows.len() as u64,
        sampled_bits: positions.len() as u64,
        varying_bits: varying.len() as u64,
        share_above_0_9: above as f64 / pairs,
        strongest,
        verdict: Verdict::judge(
            max_phi,
            0.5,
            0.9,
            "largest correlation between two bit positions; bits that are always set together \
             betray a common q-gram and let an attacker mine patterns",
            REMEDY_COOC,
        ),
    }
}

fn popcount_and(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// Keeps the `top` strongest pairs, strongest (|phi|) first; ties by position.
fn push_top(best: &mut Vec<BitPair>, p: BitPair, top: usize) {
    let key = |q: &BitPair| (std::cmp::Reverse(OrdF(q.phi.abs())), q.a, q.b);
    let at = best.partition_point(|q| key(q) < key(&p));
    if at < top {
        best.insert(at, p);
        best.truncate(top);
    }
}

/// A total order on finite floats.
struct OrdF(f64);
impl PartialEq for OrdF {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o).is_eq()
    }
}
impl Eq for OrdF {}
impl PartialOrd for OrdF {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// Records compared per kernel call (a tile of about 256 KiB at 1024 bits).
const TILE: usize = 2048;

fn similarity(
    n: usize,
    words: &[u64],
    wpr: usize,
    options: &AuditOptions,
    seed: u64,
) -> (Similarity, Neighbourhood) {
    let rows = sample(n, options.similarity_sample, mix(seed ^ 3));
    let t = options.threshold;
    // Popcounts once; each sampled record then costs one AND-popcount per record, through the
    // dispatched kernel (POPCNT / AVX2 where the CPU has them).
    let kernel = crate::filter::Kernel::detect();
    let pops: Vec<u32> = (0..n)
        .map(|j| popcount(&words[j * wpr..(j + 1) * wpr]))
        .collect();
    let per: Vec<(f64, u64)> = rows
        .par_iter()
        .map(|&i| {
            let q = &words[i * wpr..(i + 1) * wpr];
            let pq = pops[i];
            let mut best = 0.0f64;
            let mut degree = 0;
            let mut common = vec![0u32; TILE];
            for start in (0..n).step_by(TILE) {
                let end = (start + TILE).min(n);
                let out = &mut common[..end - start];
                kernel.and_counts(q, &words[start * wpr..end * wpr], wpr, out);
                for (o, &c) in out.iter().enumerate() {
                    let j = start + o;
                    if j == i {
                        continue;
                    }
                    let total = pq + pops[j];
                    let d = if total == 0 {
                        0.0
                    } else {
                        2.0 * f64::from(c) / f64::from(total)
                    };
                    best = best.max(d);
                    if d >= t {
                        degree += 1;
                    }
                }
            }
            (best, degree)
        })
        .collect();
    let m = per.len().max(1) as f64;
    let mut nn: Vec<f64> = per.iter().map(|p| p.0).collect();
    nn.sort_unstable_by(f64::total_cmp);
    let q = |f: f64| {
        nn.get(((nn.len() as f64 - 1.0) * f).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let mut histogram = vec![0u64; 10];
    for &d in &nn {
        histogram[((d * 10.0) as usize).min(9)] += 1;
    }
    let median = q(0.5);
    let similarity = Similarity {
        sampled_records: per.len() as u64,
        mean: nn.iter().sum::<f64>() / m,
        median,
        p90: q(0.9),
        identical_share: nn.iter().filter(|&&d| d >= 1.0).count() as f64 / m,
        histogram,
        verdict: Verdict::judge(
            median,
            0.8,
            0.95,
            "median Dice of a record to its nearest neighbour; near-identical encodings let an \
             attacker who knows one record's similarity pattern re-identify the others",
            REMEDY_SIM,
        ),
    };
    let mut degree_histogram = vec![0u64; 6];
    for &(_, d) in &per {
        let bin = match d {
            0 => 0,
            1 => 1,
            2 => 2,
            3..=5 => 3,
            6..=10 => 4,
            _ => 5,
        };
        degree_histogram[bin] += 1;
    }
    let crowded = per.iter().filter(|p| p.1 >= 2).count() as f64 / m;
    let neighbourhood = Neighbourhood {
        threshold: t,
        mean_degree: per.iter().map(|p| p.1 as f64).sum::<f64>() / m,
        max_degree: per.iter().map(|p| p.1).max().unwrap_or(0),
        degree_histogram,
        verdict: Verdict::judge(
            crowded,
            0.05,
            0.25,
            "share of records with two or more neighbours above the threshold; the shape of a \
             record's neighbourhood in the similarity graph can be matched to a graph built \
             from a public list",
            REMEDY_NEIGH,
        ),
    };
    (similarity, neighbourhood)
}
