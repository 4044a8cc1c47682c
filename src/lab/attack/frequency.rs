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
//! 3. For each token of the aligned values, the *possible* positions are those set in the
//!    filter of every aligned value holding it; a position clear in one of them is
//!    *impossible* (a token that hashed there would have set it). This is the paper's
//!    possible / impossible sets per bit, read per token. A token left with fewer than `k`
//!    possible positions met a wrong alignment, one with more than `2k` is known too loosely
//!    (chance sets `k` of them in most filters): neither is used.
//! 4. An aligned filter is re-identified as its aligned value; every other distinct filter
//!    gets, of the `candidates` most frequent plaintext keys, those whose known tokens are exactly the known tokens
//!    the filter holds (at least `k` of the token's possible positions set). Checking every
//!    1-bit against the aligned tokens, as the paper's description reads, drops the true
//!    value whenever a bit comes from a token no aligned value has, which on filters a
//!    quarter full is nearly always.
//!
//! A token whose possible positions are exactly `k` is claimed to set them.
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
    /// Tokens with known possible positions.
    pub tokens_known: u64,
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

/// Runs the attack.
pub fn run(data: &AttackData, s: &FrequencySettings) -> FrequencyResult {
    let f = &data.filters;
    let n = f.len();
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
    ranked.sort_by(|&a, &b| {
        groups[b]
            .1
            .cmp(&groups[a].1)
            .then(groups[a].0.cmp(&groups[b].0))
    });
    let frequent: Vec<usize> = ranked
        .iter()
        .copied()
        .take_while(|&g| groups[g].1 >= u64::from(s.min_freq))
        .collect();
    let mut keys: Vec<usize> = (0..data.key_tokens.len()).collect();
    keys.sort_by(|&a, &b| {
        data.key_count[b]
            .cmp(&data.key_count[a])
            .then(
                data.values[data.key_target[a] as usize]
                    .cmp(&data.values[data.key_target[b] as usize]),
            )
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
    // 3. Each token's possible positions: set in the filter of every aligned value holding
    //    it (a position clear in one of them is impossible for the token).
    let v = data.tokens.len();
    let words = f.words_per_filter();
    let mut possible: Vec<Option<Vec<u64>>> = vec![None; v];
    for &(g, k) in &aligned {
        let filter = f.get(groups[g].0);
        for &t in &data.key_tokens[k] {
            let slot = &mut possible[t as usize];
            match slot {
                None => *slot = Some(filter.to_vec()),
                Some(bits) => bits.iter_mut().zip(filter).for_each(|(a, b)| *a &= b),
            }
        }
    }
    let k_of = |t: usize| data.field_k[data.token_field[t] as usize];
    // A token left with fewer than k positions met a wrong alignment: it is not used.
    let known: Vec<(u32, Vec<u64>, u32)> = possible
        .into_iter()
        .enumerate()
        .filter_map(|(t, b)| {
            let b = b?;
            let n: u32 = b.iter().map(|w| w.count_ones()).sum();
            let need = k_of(t).unwrap_or(n);
            // Too many possible positions (a token of one or two aligned values only) say
            // nothing: chance alone sets k of them in most filters.
            (n >= need && need > 0 && n <= 2 * need).then_some((t as u32, b, need))
        })
        .collect();
    debug_assert!(known.iter().all(|(_, b, _)| b.len() == words));
    let with_candidates = known.len() as u64;
    // Claimed: tokens whose possible positions are exactly k.
    let assignments: Vec<(u32, Vec<u32>)> = known
        .iter()
        .filter(|(t, b, need)| k_of(*t as usize).is_some() && ones(b).len() == *need as usize)
        .map(|(t, b, _)| (*t, ones(b)))
        .collect();
    // 4. Re-identify every distinct filter: a candidate key is consistent when every token of
    //    it with known positions has at least k of them set, and every known token whose
    //    positions are not set is absent from it.
    let cands: Vec<usize> = keys.iter().copied().take(s.candidates).collect();
    let index_of: HashMap<u32, usize> = known
        .iter()
        .enumerate()
        .map(|(i, (t, _, _))| (*t, i))
        .collect();
    let cand_known: Vec<Vec<usize>> = cands
        .iter()
        .map(|&k| {
            data.key_tokens[k]
                .iter()
                .filter_map(|t| index_of.get(t).copied())
                .collect()
        })
        .collect();
    let aligned_to: HashMap<usize, u32> = aligned
        .iter()
        .map(|&(g, k)| (g, data.key_target[k]))
        .collect();
    let group_guess: Vec<Vec<u32>> = groups
        .par_iter()
        .enumerate()
        .map(|(g, &(first, _))| {
            if let Some(&value) = aligned_to.get(&g) {
                return vec![value];
            }
            if known.is_empty() {
                return Vec::new();
            }
            let filter = f.get(first);
            let present: Vec<bool> = known
                .iter()
                .map(|(_, b, need)| {
                    b.iter()
                        .zip(filter)
                        .map(|(a, x)| (a & x).count_ones())
                        .sum::<u32>()
                        >= *need
                })
                .collect();
            let n_present = present.iter().filter(|&&p| p).count();
            if n_present == 0 {
                return Vec::new();
            }
            let mut targets: Vec<u32> = cands
                .iter()
                .zip(&cand_known)
                .filter(|(_, ks)| ks.len() == n_present && ks.iter().all(|&i| present[i]))
                .map(|(&k, _)| data.key_target[k])
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
            tokens_known: with_candidates,
        },
    }
}
