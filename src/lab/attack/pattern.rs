//! Pattern mining on bit positions (Christen, Vidanage, Ranbaduge, Schnell, PAKDD 2018): the
//! attack that needs no repeated filter, only co-occurring positions.
//!
//! In: an [`AttackData`]. Out: the positions claimed for each token it assigns, and a guess
//! for every encoding from its must-have and cannot-have tokens.
//!
//! Every filter is a transaction whose items are its set positions. Work proceeds on
//! partitions of the encodings, matched by partitions of the plaintext list, starting with
//! everything:
//!
//! 1. In the plaintext partition, the most frequent token not yet decided there occurs in a
//!    fraction `f1` of records; if the runner-up is within `min_gap` of it the branch stops
//!    (the assignment would be ambiguous).
//! 2. In the encoded partition frequent itemsets of positions are grown greedily from the
//!    best-supported positions (Max-Miner chains: add the position that keeps the most
//!    filters, while at least `f1 x (1 - tolerance)` of them remain, up to `k` positions, the
//!    schema's bits per token). All filters holding the token share its `k` positions; chance
//!    co-occurrence of that many positions at that support is rare, so the chain of at least
//!    `3k/4` positions with the highest support is the token's. Without one the itemset is
//!    discarded; the token's known positions are reused when it was already assigned in
//!    another branch.
//! 3. Filters holding every position get the token as *must-have*, the rest as *cannot-have*;
//!    both partitions (and the plaintext records with and without the token) are worked on in
//!    turn, breadth first, while both sides have `min_partition` records, until `max_tokens`
//!    tokens are assigned.
//!
//! Re-identification: an encoding's candidates are the plaintext keys holding exactly the
//! assigned tokens whose positions the filter has. Bitsets of record ids per position make
//! support counting a popcount of ANDs. Everything runs in a fixed order, so the result does
//! not depend on the thread count.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::data::AttackData;

/// The most tokens the attack assigns (the re-identification keeps them in a `u128` mask).
pub const MAX_TOKENS: usize = 128;

/// Settings of the pattern-mining attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PatternSettings {
    /// Relative slack below the plaintext frequency an itemset's support may fall (default
    /// 0.2).
    pub tolerance: f64,
    /// Least gap between the frequencies of the top two tokens of a partition (default 0.005;
    /// at 0.01 the synthetic first names of seed 1 stop at once: `n_` and `e_` are 0.9% apart).
    pub min_gap: f64,
    /// Least records on each side of a partition worth mining (default 50).
    pub min_partition: usize,
    /// The most tokens assigned (at most [`MAX_TOKENS`], default 64).
    pub max_tokens: usize,
}

impl Default for PatternSettings {
    fn default() -> Self {
        PatternSettings {
            tolerance: 0.2,
            min_gap: 0.005,
            min_partition: 50,
            max_tokens: 64,
        }
    }
}

/// What the attack found on the way.
#[derive(Debug, Clone, Serialize)]
pub struct PatternDetails {
    /// Partitions mined.
    pub partitions: u64,
    /// Tokens assigned positions.
    pub tokens_assigned: u64,
    /// Branches stopped because the top two tokens were too close.
    pub ambiguous: u64,
    /// Itemsets discarded (too small or too large).
    pub discarded: u64,
    /// The assigned tokens in the order they were assigned.
    pub assigned: Vec<String>,
}

/// The attack's result.
#[derive(Debug, Clone)]
pub struct PatternResult {
    /// Per encoding: sorted distinct candidate target values.
    pub guesses: Vec<Vec<u32>>,
    /// Claimed (token, positions).
    pub assignments: Vec<(u32, Vec<u32>)>,
    /// Details.
    pub details: PatternDetails,
}

struct Part {
    rows: Vec<u64>,
    keys: Vec<u32>, // plaintext keys in this partition (weighted by their counts)
    must: Vec<u32>,
    cannot: Vec<u32>,
}

fn popcount(b: &[u64]) -> u64 {
    b.iter().map(|w| u64::from(w.count_ones())).sum()
}

/// Runs the attack.
pub fn run(data: &AttackData, s: &PatternSettings) -> PatternResult {
    let f = &data.filters;
    let n = f.len();
    let m = f.bits as usize;
    let words = n.div_ceil(64);
    // Column bitsets: the records that set each position.
    let mut cols = vec![vec![0u64; words]; m];
    for r in 0..n {
        for (w, &word) in f.get(r).iter().enumerate() {
            let mut x = word;
            while x != 0 {
                let p = w * 64 + x.trailing_zeros() as usize;
                cols[p][r / 64] |= 1 << (r % 64);
                x &= x - 1;
            }
        }
    }
    let mut all = vec![u64::MAX; words];
    if !n.is_multiple_of(64)
        && let Some(last) = all.last_mut()
    {
        *last = (1u64 << (n % 64)) - 1;
    }
    let max_tokens = s.max_tokens.min(MAX_TOKENS);
    let kmax = |t: u32| data.field_k[data.token_field[t as usize] as usize].unwrap_or(32) as usize;
    let mut assigned: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut known: HashMap<u32, usize> = HashMap::new();
    let mut details = PatternDetails {
        partitions: 0,
        tokens_assigned: 0,
        ambiguous: 0,
        discarded: 0,
        assigned: Vec::new(),
    };
    let mut queue = VecDeque::from([Part {
        rows: all,
        keys: (0..data.key_tokens.len() as u32).collect(),
        must: Vec::new(),
        cannot: Vec::new(),
    }]);
    let mut counts = vec![0u64; data.tokens.len()];
    while let Some(part) = queue.pop_front() {
        if assigned.len() >= max_tokens {
            break;
        }
        details.partitions += 1;
        let p_total: u64 = part
            .keys
            .iter()
            .map(|&k| u64::from(data.key_count[k as usize]))
            .sum();
        let e_total = popcount(&part.rows);
        counts.fill(0);
        for &k in &part.keys {
            for &t in &data.key_tokens[k as usize] {
                counts[t as usize] += u64::from(data.key_count[k as usize]);
            }
        }
        for &t in part.must.iter().chain(&part.cannot) {
            counts[t as usize] = 0;
        }
        let mut order: Vec<u32> = (0..counts.len() as u32)
            .filter(|&t| counts[t as usize] > 0)
            .collect();
        order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let Some(&top) = order.first() else { continue };
        let f1 = counts[top as usize] as f64 / p_total as f64;
        let f2 = order
            .get(1)
            .map_or(0.0, |&t| counts[t as usize] as f64 / p_total as f64);
        if f1 >= 1.0 - 1e-12 {
            // Every record of the partition holds it: nothing to split on; note it as must-have.
            let mut part = part;
            part.must.push(top);
            queue.push_front(part);
            details.partitions -= 1;
            continue;
        }
        if f1 - f2 < s.min_gap {
            details.ambiguous += 1;
            continue;
        }
        let positions = if let Some(&i) = known.get(&top) {
            assigned[i].1.clone()
        } else {
            let excluded: Vec<bool> = {
                let mut ex = vec![false; m];
                for t in &part.must {
                    if let Some(&i) = known.get(t) {
                        for &p in &assigned[i].1 {
                            ex[p as usize] = true;
                        }
                    }
                }
                ex
            };
            let min_support = (f1 * (1.0 - s.tolerance) * e_total as f64).ceil().max(1.0) as u64;
            let set = grow(&cols, &part.rows, &excluded, min_support, kmax(top));
            if set.is_empty() {
                details.discarded += 1;
                continue;
            }
            known.insert(top, assigned.len());
            details.assigned.push(data.tokens[top as usize].clone());
            assigned.push((top, set.clone()));
            set
        };
        // Split both sides on the token.
        let mut has = part.rows.clone();
        for &p in &positions {
            for (a, b) in has.iter_mut().zip(&cols[p as usize]) {
                *a &= b;
            }
        }
        let not: Vec<u64> = part.rows.iter().zip(&has).map(|(a, b)| a & !b).collect();
        let (with, without): (Vec<u32>, Vec<u32>) = part
            .keys
            .iter()
            .partition(|&&k| data.key_tokens[k as usize].binary_search(&top).is_ok());
        let weight = |ks: &[u32]| {
            ks.iter()
                .map(|&k| data.key_count[k as usize] as usize)
                .sum::<usize>()
        };
        for (rows, keys, is_must) in [(has, with, true), (not, without, false)] {
            if (popcount(&rows) as usize) < s.min_partition || weight(&keys) < s.min_partition {
                continue;
            }
            let (mut must, mut cannot) = (part.must.clone(), part.cannot.clone());
            if is_must {
                must.push(top);
            } else {
                cannot.push(top);
            }
            queue.push_back(Part {
                rows,
                keys,
                must,
                cannot,
            });
        }
    }
    details.tokens_assigned = assigned.len() as u64;
    let guesses = reidentify(data, &cols, n, &assigned);
    PatternResult {
        guesses,
        assignments: assigned,
        details,
    }
}

/// Seeds tried per mining: the positions of highest support.
const SEEDS: usize = 32;

/// Mines the itemset of a partition's most frequent token: from each of the [`SEEDS`]
/// best-supported positions a greedy chain adds the position that keeps the most rows while at
/// least `min_support` remain, up to `k` positions; of the chains that reach `3k/4` positions
/// the one with the highest support wins (the most frequent token's positions co-occur in the
/// most filters). Ties go to the earlier seed, so the result is deterministic.
fn grow(
    cols: &[Vec<u64>],
    rows: &[u64],
    excluded: &[bool],
    min_support: u64,
    k: usize,
) -> Vec<u32> {
    let live: Vec<usize> = (0..rows.len()).filter(|&w| rows[w] != 0).collect();
    let base: Vec<u64> = live.iter().map(|&w| rows[w]).collect();
    let support = |r: &[u64], col: &[u64]| -> u64 {
        live.iter()
            .zip(r)
            .map(|(&w, &x)| u64::from((x & col[w]).count_ones()))
            .sum()
    };
    let mut seeds: Vec<(u64, usize)> = (0..cols.len())
        .filter(|&p| !excluded[p])
        .map(|p| (support(&base, &cols[p]), p))
        .filter(|&(c, _)| c >= min_support)
        .collect();
    seeds.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let need = (3 * k).div_ceil(4).max(2);
    let mut best: Option<(u64, Vec<u32>)> = None;
    let mut covered = vec![false; cols.len()];
    for &(_, seed) in seeds.iter().take(SEEDS) {
        if covered[seed] {
            continue;
        }
        let mut current: Vec<u64> = live
            .iter()
            .zip(&base)
            .map(|(&w, &x)| x & cols[seed][w])
            .collect();
        let mut set = vec![seed as u32];
        let mut cands: Vec<usize> = seeds
            .iter()
            .map(|&(_, p)| p)
            .filter(|&p| p != seed)
            .collect();
        let mut rows_left = support(&current, &cols[seed]);
        while set.len() < k {
            let mut scored: Vec<(u64, usize)> = cands
                .iter()
                .map(|&p| (support(&current, &cols[p]), p))
                .filter(|&(c, _)| c >= min_support)
                .collect();
            let Some(&(c, p)) = scored
                .iter()
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            else {
                break;
            };
            set.push(p as u32);
            rows_left = c;
            for (x, &w) in current.iter_mut().zip(&live) {
                *x &= cols[p][w];
            }
            scored.retain(|&(_, q)| q != p);
            cands = scored.into_iter().map(|(_, q)| q).collect();
        }
        if set.len() < need {
            continue;
        }
        for &p in &set {
            covered[p as usize] = true;
        }
        if best.as_ref().is_none_or(|(b, _)| rows_left > *b) {
            best = Some((rows_left, set));
        }
    }
    let mut set = best.map(|b| b.1).unwrap_or_default();
    set.sort_unstable();
    set
}

/// Each encoding's candidates: keys whose assigned tokens are exactly those whose positions
/// the filter holds.
fn reidentify(
    data: &AttackData,
    cols: &[Vec<u64>],
    n: usize,
    assigned: &[(u32, Vec<u32>)],
) -> Vec<Vec<u32>> {
    let mut by_mask: HashMap<u128, Vec<u32>> = HashMap::new();
    for (k, ts) in data.key_tokens.iter().enumerate() {
        let mut mask = 0u128;
        for (i, (t, _)) in assigned.iter().enumerate() {
            if ts.binary_search(t).is_ok() {
                mask |= 1 << i;
            }
        }
        by_mask.entry(mask).or_default().push(data.key_target[k]);
    }
    for v in by_mask.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    let mut masks = vec![0u128; n];
    for (i, (_, ps)) in assigned.iter().enumerate() {
        for (r, mask) in masks.iter_mut().enumerate() {
            if ps
                .iter()
                .all(|&p| cols[p as usize][r / 64] >> (r % 64) & 1 == 1)
            {
                *mask |= 1 << i;
            }
        }
    }
    masks
        .iter()
        .map(|mask| {
            if *mask == 0 {
                return Vec::new();
            }
            by_mask.get(mask).cloned().unwrap_or_default()
        })
        .collect()
}
