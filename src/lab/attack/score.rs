//! Scoring an attack: its guesses in, the counts of correct 1-1, correct 1-m, wrong and no
//! guess out, per record and per value, and the precision of the q-gram -> position
//! assignments it claims.
//!
//! The outcomes follow the ANU attack code (`libs/eval_attack_res.py`): a guess is a set of
//! candidate values; *correct 1-1* when it is exactly the true value, *correct 1-m* when the
//! true value is one of several (at most `max_many`) candidates, *wrong* when the true value is
//! not among them, *no guess* when there are none or too many.

use std::collections::HashMap;

use serde::Serialize;

use super::data::AttackData;

/// One encoding's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The only candidate is the true value.
    #[serde(rename = "correct-1-1")]
    Correct1To1,
    /// The true value is one of several candidates.
    #[serde(rename = "correct-1-m")]
    Correct1ToM,
    /// The true value is not among the candidates.
    Wrong,
    /// No candidate, or more than `max_many`.
    NoGuess,
}

/// The outcome of a guess (sorted, distinct candidate values) for the true value `truth`.
pub fn outcome(truth: u32, guess: &[u32], max_many: usize) -> Outcome {
    if guess.is_empty() || guess.len() > max_many {
        Outcome::NoGuess
    } else if guess.binary_search(&truth).is_ok() {
        if guess.len() == 1 {
            Outcome::Correct1To1
        } else {
            Outcome::Correct1ToM
        }
    } else {
        Outcome::Wrong
    }
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Score {
    /// Records (or values) scored.
    pub total: u64,
    /// Correct, one candidate.
    pub correct_1_1: u64,
    /// Correct among several candidates.
    pub correct_1_m: u64,
    /// Wrong.
    pub wrong: u64,
    /// No guess.
    pub no_guess: u64,
    /// `correct_1_1 / total` (0 when nothing was scored).
    pub rate_1_1: f64,
    /// `(correct_1_1 + correct_1_m) / total`.
    pub rate_correct: f64,
}

impl Score {
    fn add(&mut self, o: Outcome) {
        self.total += 1;
        match o {
            Outcome::Correct1To1 => self.correct_1_1 += 1,
            Outcome::Correct1ToM => self.correct_1_m += 1,
            Outcome::Wrong => self.wrong += 1,
            Outcome::NoGuess => self.no_guess += 1,
        }
    }

    fn finish(mut self) -> Score {
        let t = self.total.max(1) as f64;
        self.rate_1_1 = self.correct_1_1 as f64 / t;
        self.rate_correct = (self.correct_1_1 + self.correct_1_m) as f64 / t;
        self
    }
}

/// One of the most frequent true values and what the attack made of it.
#[derive(Debug, Clone, Serialize)]
pub struct ValueResult {
    /// The value (rank 1 is the most frequent among the encodings).
    pub value: String,
    /// Encodings with this value.
    pub records: u64,
    /// The value's outcome (see [`Scores::per_value`]).
    pub outcome: Outcome,
}

/// All scores of one attack.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// One outcome per encoding whose truth is known.
    pub per_record: Score,
    /// One outcome per distinct true value: the outcome most of its encodings got (ties go
    /// to the better outcome).
    pub per_value: Score,
    /// The same over the `top` most frequent true values only.
    pub top_values: Score,
    /// Those values, most frequent first.
    pub top: Vec<ValueResult>,
}

/// Scores `guesses` (one per encoding: sorted distinct candidate value ids).
pub fn score(data: &AttackData, guesses: &[Vec<u32>], max_many: usize, top: usize) -> Scores {
    let mut per_record = Score::default();
    let mut by_value: HashMap<u32, [u64; 4]> = HashMap::new();
    for (truth, guess) in data.truth.iter().zip(guesses) {
        let Some(t) = *truth else { continue };
        let o = outcome(t, guess, max_many);
        per_record.add(o);
        by_value.entry(t).or_default()[o as usize] += 1;
    }
    // Values ordered by frequency among the encodings, then by text: deterministic.
    let mut values: Vec<(u32, [u64; 4])> = by_value.into_iter().collect();
    values.sort_by(|a, b| {
        let (na, nb) = (a.1.iter().sum::<u64>(), b.1.iter().sum::<u64>());
        nb.cmp(&na)
            .then_with(|| data.values[a.0 as usize].cmp(&data.values[b.0 as usize]))
    });
    let majority = |c: &[u64; 4]| {
        let best = (0..4)
            .max_by_key(|&i| (c[i], std::cmp::Reverse(i)))
            .unwrap_or(3);
        [
            Outcome::Correct1To1,
            Outcome::Correct1ToM,
            Outcome::Wrong,
            Outcome::NoGuess,
        ][best]
    };
    let mut per_value = Score::default();
    let mut top_values = Score::default();
    let mut top_list = Vec::new();
    for (rank, (v, counts)) in values.iter().enumerate() {
        let o = majority(counts);
        per_value.add(o);
        if rank < top {
            top_values.add(o);
            top_list.push(ValueResult {
                value: data.values[*v as usize].clone(),
                records: counts.iter().sum(),
                outcome: o,
            });
        }
    }
    Scores {
        per_record: per_record.finish(),
        per_value: per_value.finish(),
        top_values: top_values.finish(),
        top: top_list,
    }
}

/// How right the claimed q-gram -> position assignments are (where the key is known).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PositionScore {
    /// Tokens with at least one claimed position.
    pub tokens: u64,
    /// Claimed (token, position) pairs.
    pub claimed: u64,
    /// Of those, positions the token really sets.
    pub correct: u64,
    /// `correct / claimed`.
    pub precision: f64,
    /// `correct` over the true positions of the tokens claimed.
    pub recall: f64,
    /// The plaintext list's most frequent token, if the attack claimed positions for it.
    pub top_token: Option<TokenPositions>,
}

/// One token's claimed positions, scored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenPositions {
    /// The token, `field:q-gram`.
    pub token: String,
    /// Positions claimed.
    pub claimed: u64,
    /// Of those, right.
    pub correct: u64,
    /// `correct / claimed`.
    pub precision: f64,
    /// `correct / k`.
    pub recall: f64,
}

/// Scores `assignments` (token id, claimed positions), or `None` without the true positions.
pub fn positions(data: &AttackData, assignments: &[(u32, Vec<u32>)]) -> Option<PositionScore> {
    let truth = data.true_positions.as_ref()?;
    let top = data.top_token();
    let (mut tokens, mut claimed, mut correct, mut true_total) = (0u64, 0u64, 0u64, 0u64);
    let mut top_token = None;
    for (t, ps) in assignments {
        let Some(Some(real)) = truth.get(*t as usize) else {
            continue;
        };
        if ps.is_empty() {
            continue;
        }
        let ok = ps.iter().filter(|p| real.binary_search(p).is_ok()).count() as u64;
        tokens += 1;
        claimed += ps.len() as u64;
        correct += ok;
        true_total += real.len() as u64;
        if Some(*t) == top {
            top_token = Some(TokenPositions {
                token: data.tokens[*t as usize].clone(),
                claimed: ps.len() as u64,
                correct: ok,
                precision: ok as f64 / ps.len() as f64,
                recall: ok as f64 / real.len().max(1) as f64,
            });
        }
    }
    Some(PositionScore {
        tokens,
        claimed,
        correct,
        precision: if claimed == 0 {
            0.0
        } else {
            correct as f64 / claimed as f64
        },
        recall: if true_total == 0 {
            0.0
        } else {
            correct as f64 / true_total as f64
        },
        top_token,
    })
}
