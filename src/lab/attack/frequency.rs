//! Frequency alignment with bit-position inference (Christen, Schnell, Vatsalan, Ranbaduge,
//! PAKDD 2017): the attack on filters that repeat.
//!
//! In: an [`AttackData`]. Out: a guess for every encoding and the q-gram -> position
//! assignments the attack is sure of.
//!
//! 1. Identical filters are counted; those seen at least `min_freq` times are ranked by count,
//!    as are the plaintext keys (values of every field the filter holds).
//! 2. Ranks are aligned one to one while the counts are unique on both sides; the first tie on
//!    either side stops the alignment (ties make it ambiguous).
//! 3. For each bit position, the *possible* tokens are those of aligned values whose filter
//!    sets the bit, minus the *impossible* ones: tokens of aligned values whose filter leaves
//!    it clear (a token that hashed there would have set it).
//! 4. Every distinct filter, aligned or not, is then re-identified: of the `candidates` most
//!    frequent plaintext keys, each 1-bit with a non-empty possible set drops the keys holding
//!    none of its possible tokens.
//!
//! A position whose possible set is a single token is claimed as that token's position.
//! Record-level CLKs of several fields are all but unique, so nothing aligns and the attack
//! makes no guess: the measurement shows it.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::data::{AttackData, ones};

/// Settings of the frequency attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrequencySettings {
    /// Least count of a filter to take part in the alignment (default 2).
    pub min_freq: u32,
    /// Most ranks aligned (default 100).
    pub max_align: usize,
    /// The most frequent plaintext keys tried as candidates (default 10,000).
    pub candidates: usize,
}

impl Default for FrequencySettings {
    fn default() -> Self {
        FrequencySettings {
            min_freq: 2,
            max_align: 100,
            candidates: 10_000,
        }
    }
}

/// What the attack found on the way.
#[derive(Debug, Clone, Serialize)]
pub struct FrequencyDetails {
    /// Distinct filters among the encodings.
    pub distinct_filters: u64,
    /// Filters seen at least `min_freq` times.
    pub frequent_filters: u64,
    /// Ranks aligned.
    pub aligned: u64,
    /// Aligned pairs whose plaintext value is the filter's true value (where known).
    pub aligned_correct: Option<u64>,
    /// Positions with a non-empty possible set.
    pub positions_with_candidates: u64,
}

/// The attack's result.
#[derive(Debug, Clone)]
pub struct FrequencyResult {
    /// Per encoding: sorted distinct candidate target values.
    pub guesses: Vec<Vec<u32>>,
    /// Claimed (token, positions).
    pub assignments: Vec<(u32, Vec<u32>)>,
    /// Details.
    pub details: FrequencyDetails,
}

/// A growable bitset over `0..n`.
fn bitset(n: usize) -> Vec<u64> {
    vec![0; n.div_ceil(64)]
}

fn set(b: &mut [u64], i: usize) {
    b[i / 64] |= 1 << (i % 64);
}

fn get(b: &[u64], i: usize) -> bool {
    b[i / 64] >> (i % 64) & 1 == 1
}

/// Runs the attack.
pub fn run(data: &AttackData, s: &FrequencySettings) -> FrequencyResult {
    let f = &data.filters;
    let n = f.len();
    let m = f.bits as usize;
    // 1. Distinct filters in first-seen order, then ranked by count.
    let mut index: HashMap<&[u64], usize> = HashMap::new();
    let mut groups: Vec<(usize, u64)> = Vec::new(); // (first record, count)
    let mut group_of = Vec::with_capacity(n);
    for i in 0..n {
        let g = *index.entry(f.get(i)).or_insert_with(|| {
            groups.push((i, 0));
            groups.len() - 1
        });
        groups[g].1 += 1;
        group_of.push(g);
    }
    let mut ranked: Vec<usize> = (0..groups.len()).collect();
    ranked.sort_by(|&a, &b| groups[b].1.cmp(&groups[a].1).then(groups[a].0.cmp(&groups[b].0)));
    let frequent: Vec<usize> = ranked
        .iter()
        .copied()
        .take_while(|&g| groups[g].1 >= u64::from(s.min_freq))
        .collect();
    let mut keys: Vec<usize> = (0..data.key_tokens.len()).collect();
    keys.sort_by(|&a, &b| {
        data.key_count[b]
            .cmp(&data.key_count[a])
            .then(data.values[data.key_target[a] as usize].cmp(&data.values[data.key_target[b] as usize]))
            .then(a.cmp(&b))
    });
    // 2. Align while counts are unique on both sides.
    let e_count = |r: usize| groups[frequent[r]].1;
    let p_count = |r: usize| u64::from(data.key_count[keys[r]]);
    let unique = |c: &dyn Fn(usize) -> u64, r: usize, len: usize| {
        (r == 0 || c(r - 1) != c(r)) && (r + 1 >= len || c(r + 1) != c(r))
    };
    let limit = frequent.len().min(keys.len()).min(s.max_align);
    let mut aligned = Vec::new();
    for r in 0..limit {
        if !unique(&e_count, r, frequent.len()) || !unique(&p_count, r, keys.len()) {
            break;
        }
        aligned.push((frequent[r], keys[r]));
    }
    let aligned_correct = data.truth.iter().all(Option::is_some).then(|| {
        aligned
            .iter()
            .filter(|(g, k)| data.truth[groups[*g].0] == Some(data.key_target[*k]))
            .count() as u64
    });
    // 3. Possible and impossible tokens per position.
    let v = data.tokens.len();
    let mut possible = vec![bitset(v); m];
    let mut impossible = vec![bitset(v); m];
    for &(g, k) in &aligned {
        let filter = f.get(groups[g].0);
        for p in 0..m {
            let target = if get(filter, p) { &mut possible[p] } else { &mut impossible[p] };
            for &t in &data.key_tokens[k] {
                set(target, t as usize);
            }
        }
    }
    for (pos, imp) in possible.iter_mut().zip(&impossible) {
        for (a, b) in pos.iter_mut().zip(imp) {
            *a &= !b;
        }
    }
    let mut assignments: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut claims: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut with_candidates = 0u64;
    for (p, pos) in possible.iter().enumerate() {
        let count: u32 = pos.iter().map(|w| w.count_ones()).sum();
        if count > 0 {
            with_candidates += 1;
        }
        if count == 1 {
            let t = ones(pos)[0];
            claims.entry(t).or_default().push(p as u32);
        }
    }
    let mut claimed: Vec<u32> = claims.keys().copied().collect();
    claimed.sort_unstable();
    for t in claimed {
        assignments.push((t, claims.remove(&t).unwrap_or_default()));
    }
    // 4. Re-identify every distinct filter against the candidate keys.
    let cands: Vec<usize> = keys.iter().copied().take(s.candidates).collect();
    let cand_tokens: Vec<Vec<u64>> = cands
        .iter()
        .map(|&k| {
            let mut b = bitset(v);
            for &t in &data.key_tokens[k] {
                set(&mut b, t as usize);
            }
            b
        })
        .collect();
    // For each useful position: the candidates holding one of its possible tokens.
    let masks: Vec<Option<Vec<u64>>> = possible
        .par_iter()
        .map(|pos| {
            if pos.iter().all(|&w| w == 0) {
                return None;
            }
            let mut mask = bitset(cands.len());
            for (c, ct) in cand_tokens.iter().enumerate() {
                if ct.iter().zip(pos).any(|(a, b)| a & b != 0) {
                    set(&mut mask, c);
                }
            }
            Some(mask)
        })
        .collect();
    let group_guess: Vec<Vec<u32>> = groups
        .par_iter()
        .map(|&(first, _)| {
            if aligned.is_empty() {
                return Vec::new();
            }
            let mut alive = vec![u64::MAX; cands.len().div_ceil(64)];
            if let Some(last) = alive.last_mut()
                && cands.len() % 64 != 0
            {
                *last = (1u64 << (cands.len() % 64)) - 1;
            }
            for p in ones(f.get(first)) {
                if let Some(mask) = &masks[p as usize] {
                    for (a, b) in alive.iter_mut().zip(mask) {
                        *a &= b;
                    }
                }
            }
            let mut targets: Vec<u32> = ones(&alive)
                .into_iter()
                .map(|c| data.key_target[cands[c as usize]])
                .collect();
            targets.sort_unstable();
            targets.dedup();
            targets
        })
        .collect();
    FrequencyResult {
        guesses: group_of.iter().map(|&g| group_guess[g].clone()).collect(),
        assignments,
        details: FrequencyDetails {
            distinct_filters: groups.len() as u64,
            frequent_filters: frequent.len() as u64,
            aligned: aligned.len() as u64,
            aligned_correct,
            positions_with_candidates: with_candidates,
        },
    }
}
