//! Frequency alignment with bit-position inference (Christen, Schnell, Vatsalan, Ranbaduge,
//! PAKDD 2017): the attack on filters that repeat.
//!
//! In: an [`AttackData`]. Out: a guess for every encoding and the q-gram -> position
//! assignments the attack is sure of.
//!
//! 1. Identical filters are counted; those seen at least `min_freq` times are ranked by count,
//!    as are the plaintext keys (values of every field the filter holds).
//! 2. Ranks are aligned one to one where the counts are unique on both sides. The paper stops
//!    at the first tie; by default tied ranks are skipped and the alignment goes on
//!    (`past_ties`), since the bootstrap drops the wrong pairs this makes.
//! 3. For each token of the aligned values, the *possible* positions are those set in the
//!    filter of every aligned value holding it; a position clear in one of them is
//!    *impossible* (a token that hashed there would have set it). This is the paper's
//!    possible / impossible sets per bit, read per token, with a tolerance of one miss in five
//!    aligned filters. A token left with fewer than `k` possible positions met a wrong
//!    alignment, one with more than `2k` is known too loosely: neither is used.
//!    *Bootstrap* (`rounds`): aligned pairs that contradict the known tokens are dropped, and
//!    every frequent filter not yet aligned whose consistent keys include one clearly nearest
//!    in count (within `max_ratio`) is aligned to it; the positions are learnt again, until
//!    nothing changes. If most seeds contradict the positions they teach (a hardener such as
//!    `rule90` or `diffusion` smeared them), nothing is learnt and the count alignment stands
//!    alone. Counts of the two lists differ (corruption, partial overlap), so rank
//!    alignment alone swaps near-equal frequent values; the bootstrap lets the q-grams decide.
//! 4. An aligned filter is re-identified as its aligned value; every other distinct filter
//!    gets, of the `candidates` most frequent plaintext keys, those consistent with it: every
//!    known token of the key present (at least `k` of its possible positions set), no other
//!    known token present, and the bits the key's known tokens leave unexplained at most `k`
//!    per unknown token of the key. Checking every 1-bit against the aligned tokens, as the
//!    paper's description reads, drops the true value whenever a bit comes from a token no
//!    aligned value has, which on filters a quarter full is nearly always.
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
    /// Go on aligning past a tied rank (skipping it) instead of stopping there (default true;
    /// a wrong pair this makes is dropped by the bootstrap's checks).
    pub past_ties: bool,
    /// Most bootstrap rounds (default 20; 0 is the paper's alignment by count alone).
    pub rounds: usize,
    /// Bootstrap: the most a filter's count and its key's count may differ, as a ratio
    /// (default 2).
    pub max_ratio: f64,
    /// Share of the aligned filters holding a token that may lack one of its positions
    /// (default 0.2).
    pub tolerance: f64,
}

impl Default for FrequencySettings {
    fn default() -> Self {
        FrequencySettings {
            min_freq: 2,
            max_align: 100,
            candidates: 10_000,
            past_ties: true,
            rounds: 20,
            max_ratio: 2.0,
            tolerance: 0.2,
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
    /// Ranks aligned by count alone (step 2).
    pub seeded: u64,
    /// Bootstrap rounds that aligned more filters (step 3).
    pub rounds: u64,
    /// Aligned pairs dropped because they contradicted the others.
    pub dropped: u64,
    /// Filters aligned at the end (by count, then by bootstrap).
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
            if s.past_ties {
                continue;
            }
            break;
        }
        aligned.push((frequent[r], keys[r]));
    }
    let seeded = aligned.len() as u64;
    // 3. Learn the tokens' positions from the aligned pairs; then (bootstrap) align more
    //    frequent filters, each to the one consistent key of nearest count, and learn again.
    let k_of = |t: usize| data.field_k[data.token_field[t] as usize];
    let cands: Vec<usize> = keys.iter().copied().take(s.candidates).collect();
    let learn = |aligned: &[(usize, usize)]| learn(data, f, &groups, aligned, &k_of, s.tolerance);
    let mut known = learn(&aligned);
    // Where most seeds contradict the positions they teach, q-grams do not map to positions
    // (a hardener smeared them): keep the count alignment alone, which equal filters of equal
    // values still support, and learn nothing.
    let fits = {
        let index_of = index_known(&known);
        let mut cover = vec![0u64; f.words_per_filter()];
        aligned
            .iter()
            .filter(|&&(g, k)| {
                let filter = f.get(groups[g].0);
                let seen = present_tokens(filter, &known);
                consistent(data, filter, &seen, k, &known, &index_of, &mut cover, false)
            })
            .count()
    };
    if fits * 2 < aligned.len() {
        known.clear();
    }
    let mut rounds = 0u64;
    let mut dropped = 0u64;
    while rounds < s.rounds as u64 && !known.is_empty() {
        rounds += 1;
        // Drop the aligned pairs that contradict what the others taught.
        let before = aligned.len();
        let index_of = index_known(&known);
        let mut cover = vec![0u64; f.words_per_filter()];
        aligned.retain(|&(g, k)| {
            let filter = f.get(groups[g].0);
            let seen = present_tokens(filter, &known);
            consistent(data, filter, &seen, k, &known, &index_of, &mut cover, false)
        });
        let changed = aligned.len() != before;
        dropped += (before - aligned.len()) as u64;
        if changed {
            known = learn(&aligned);
        }
        let more = bootstrap(
            data,
            f,
            &groups,
            &frequent,
            &aligned,
            &known,
            &cands,
            s.max_ratio,
        );
        if more.is_empty() && !changed {
            break;
        }
        aligned.extend(more);
        known = learn(&aligned);
    }
    let aligned_correct = data.truth.iter().all(Option::is_some).then(|| {
        aligned
            .iter()
            .filter(|(g, k)| data.truth[groups[*g].0] == Some(data.key_target[*k]))
            .count() as u64
    });
    let with_candidates = known.len() as u64;
    // Claimed: tokens whose possible positions are exactly k.
    let assignments: Vec<(u32, Vec<u32>)> = known
        .iter()
        .filter(|(t, b, need)| k_of(*t as usize).is_some() && ones(b).len() == *need as usize)
        .map(|(t, b, _)| (*t, ones(b)))
        .collect();
    // 4. Re-identify every distinct filter: a candidate key is consistent when every token of
    //    it with known positions has at least k of them set, every known token whose
    //    positions are not set is absent from it, and the bits its known tokens leave
    //    unexplained are few enough for its unknown tokens to have set.
    let index_of = index_known(&known);
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
            let seen = present_tokens(filter, &known);
            if seen.n_maybe == 0 {
                return Vec::new();
            }
            let mut cover = vec![0u64; f.words_per_filter()];
            let mut targets: Vec<u32> = cands
                .iter()
                .zip(&cand_known)
                .filter(|&(&k, ks)| {
                    !ks.is_empty()
                        && ks.iter().all(|&i| seen.maybe[i])
                        && ks.iter().filter(|&&i| seen.surely[i]).count() == seen.n_surely
                        && consistent(data, filter, &seen, k, &known, &index_of, &mut cover, true)
                })
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
            seeded,
            rounds,
            dropped,
            aligned: aligned.len() as u64,
            aligned_correct,
            tokens_known: with_candidates,
        },
    }
}

/// A token with known possible positions: (token, position bits, k).
type Known = (u32, Vec<u64>, u32);

/// Each token's possible positions: those set in the filter of every aligned value holding it
/// (a position clear in one of them is impossible for the token), forgiving a share
/// `tolerance` of those filters (rounded down: a token of four aligned values or fewer must
/// have them set in all), so that one wrong alignment does not wipe out a token. A token left
/// with fewer than `k` met wrong alignments, one with more than `2k` is known too loosely
/// (chance alone sets `k` of them in most filters): neither is kept.
fn learn(
    data: &AttackData,
    f: &super::data::Filters,
    groups: &[(usize, u64)],
    aligned: &[(usize, usize)],
    k_of: &dyn Fn(usize) -> Option<u32>,
    tolerance: f64,
) -> Vec<Known> {
    let bits = f.bits as usize;
    let words = f.words_per_filter();
    let mut votes: HashMap<u32, (u32, Vec<u32>)> = HashMap::new();
    for &(g, k) in aligned {
        let filter = f.get(groups[g].0);
        for &t in &data.key_tokens[k] {
            let (n, v) = votes.entry(t).or_insert_with(|| (0, vec![0; bits]));
            *n += 1;
            for p in ones(filter) {
                v[p as usize] += 1;
            }
        }
    }
    let mut out: Vec<Known> = votes
        .into_iter()
        .filter_map(|(t, (n, v))| {
            let need_votes = n - (f64::from(n) * tolerance).floor() as u32;
            let mut b = vec![0u64; words];
            for (p, &c) in v.iter().enumerate() {
                if c >= need_votes {
                    b[p / 64] |= 1 << (p % 64);
                }
            }
            let set: u32 = b.iter().map(|w| w.count_ones()).sum();
            let need = k_of(t as usize).unwrap_or(set);
            (set >= need && need > 0 && set <= 2 * need).then_some((t, b, need))
        })
        .collect();
    out.sort_unstable_by_key(|k| k.0);
    out
}

/// Whether `filter` can be the encoding of key `key` given the known tokens: every known token
/// of the key may be in it (at least `k` of its possible positions set), every known token
/// surely in it (all its possible positions set) is one of the key's, and the bits no known
/// token of the key explains are at most `k` per unknown token of the key. A filter merely
/// having `k` of a loosely known token's positions is no evidence against a key without that
/// token: the positions of a token that always comes with it (`ja` with `_j`) are among them.
#[allow(clippy::too_many_arguments)] // private, one call shape per step
fn consistent(
    data: &AttackData,
    filter: &[u64],
    seen: &Seen,
    key: usize,
    known: &[Known],
    index_of: &HashMap<u32, usize>,
    cover: &mut [u64],
    strict: bool,
) -> bool {
    let mut n_surely = 0;
    let mut n_known = 0;
    let mut unknown_bits = 0u32;
    cover.iter_mut().for_each(|w| *w = 0);
    for t in &data.key_tokens[key] {
        match index_of.get(t) {
            Some(&i) => {
                if !seen.maybe[i] {
                    return false;
                }
                n_surely += usize::from(seen.surely[i]);
                n_known += 1;
                cover.iter_mut().zip(&known[i].1).for_each(|(c, b)| *c |= b);
            }
            None => {
                unknown_bits += data.field_k[data.token_field[*t as usize] as usize].unwrap_or(0);
            }
        }
    }
    if n_surely != seen.n_surely || (strict && n_known != seen.n_maybe) {
        return false;
    }
    let extra: u32 = filter
        .iter()
        .zip(cover.iter())
        .map(|(x, c)| (x & !c).count_ones())
        .sum();
    extra <= unknown_bits
}

/// One bootstrap round: each frequent filter not yet aligned whose consistent, unaligned
/// candidates include one of count within `max_ratio` of its own, clearly nearer than the
/// next (half the ratio distance), is aligned to it; a key wanted by several filters goes to
/// the nearest in count, the others wait for the next round.
#[allow(clippy::too_many_arguments)] // private, called once
fn bootstrap(
    data: &AttackData,
    f: &super::data::Filters,
    groups: &[(usize, u64)],
    frequent: &[usize],
    aligned: &[(usize, usize)],
    known: &[Known],
    cands: &[usize],
    max_ratio: f64,
) -> Vec<(usize, usize)> {
    let taken_g: std::collections::HashSet<usize> = aligned.iter().map(|p| p.0).collect();
    let taken_k: std::collections::HashSet<usize> = aligned.iter().map(|p| p.1).collect();
    let index_of = index_known(known);
    let free: Vec<usize> = cands
        .iter()
        .copied()
        .filter(|k| !taken_k.contains(k))
        .collect();
    let words = f.words_per_filter();
    let limit = max_ratio.max(1.0).ln();
    // Per free frequent filter: (distance, key) of its best candidate.
    let wanted: Vec<Option<(f64, usize, usize)>> = frequent
        .par_iter()
        .map(|&g| {
            if taken_g.contains(&g) {
                return None;
            }
            let filter = f.get(groups[g].0);
            let seen = present_tokens(filter, known);
            if seen.n_maybe == 0 {
                return None;
            }
            let mut cover = vec![0u64; words];
            let count = (groups[g].1 as f64).ln();
            let mut best: Option<(f64, usize)> = None;
            let mut second = f64::INFINITY;
            for &k in &free {
                if !consistent(data, filter, &seen, k, known, &index_of, &mut cover, true) {
                    continue;
                }
                let d = (count - f64::from(data.key_count[k]).ln()).abs();
                match best {
                    Some((b, _)) if d >= b => second = second.min(d),
                    _ => {
                        if let Some((b, _)) = best {
                            second = second.min(b);
                        }
                        best = Some((d, k));
                    }
                }
            }
            let (d, k) = best?;
            (d <= limit && second - d >= limit / 2.0).then_some((d, g, k))
        })
        .collect();
    let mut chosen: HashMap<usize, (f64, usize)> = HashMap::new();
    for (d, g, k) in wanted.into_iter().flatten() {
        let e = chosen.entry(k).or_insert((d, g));
        if d < e.0 {
            *e = (d, g);
        }
    }
    let mut more: Vec<(usize, usize)> = chosen.into_iter().map(|(k, (_, g))| (g, k)).collect();
    more.sort_unstable();
    more
}

/// Token -> its index in `known`.
fn index_known(known: &[Known]) -> HashMap<u32, usize> {
    known
        .iter()
        .enumerate()
        .map(|(i, (t, _, _))| (*t, i))
        .collect()
}

/// Which known tokens a filter may hold (at least `k` of their possible positions set) and
/// surely holds (all of them set).
struct Seen {
    maybe: Vec<bool>,
    surely: Vec<bool>,
    n_maybe: usize,
    n_surely: usize,
}

fn present_tokens(filter: &[u64], known: &[Known]) -> Seen {
    let mut seen = Seen {
        maybe: Vec::with_capacity(known.len()),
        surely: Vec::with_capacity(known.len()),
        n_maybe: 0,
        n_surely: 0,
    };
    for (_, b, need) in known {
        let (set, all) = b.iter().zip(filter).fold((0u32, 0u32), |(s, a), (p, x)| {
            (s + (p & x).count_ones(), a + p.count_ones())
        });
        let maybe = set >= *need;
        let surely = set == all;
        seen.n_maybe += usize::from(maybe);
        seen.n_surely += usize::from(surely);
        seen.maybe.push(maybe);
        seen.surely.push(surely);
    }
    seen
}
