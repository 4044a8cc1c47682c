use super::em::match_probability;
use super::*;
use crate::error::Coded;
use crate::linkage::threshold::neighbours::SplitMix;

/// The planted model: per field `(m, u)` over the non-null levels exact, >= 0.9, >= 0.8,
/// >= 0.7, else.
const PLANTED: [([f64; 5], [f64; 5]); 4] = [
    (
        [0.80, 0.08, 0.05, 0.03, 0.04],
        [0.01, 0.02, 0.05, 0.12, 0.80],
    ),
    (
        [0.70, 0.15, 0.05, 0.05, 0.05],
        [0.02, 0.03, 0.05, 0.10, 0.80],
    ),
    (
        [0.90, 0.03, 0.02, 0.02, 0.03],
        [0.005, 0.015, 0.03, 0.05, 0.90],
    ),
    (
        [0.60, 0.20, 0.10, 0.05, 0.05],
        [0.05, 0.05, 0.10, 0.20, 0.60],
    ),
];
const LAMBDA: f64 = 0.2;
const NULL_RATE: f64 = 0.05;

fn unit(rng: &mut SplitMix) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn draw(rng: &mut SplitMix, probs: &[f64]) -> u8 {
    let x = unit(rng);
    let mut acc = 0.0;
    for (l, p) in probs.iter().enumerate() {
        acc += p;
        if x < acc {
            return l as u8 + 1;
        }
    }
    probs.len() as u8
}

fn fields() -> Vec<FieldLevels> {
    ["given", "surname", "dob", "postcode"]
        .into_iter()
        .map(FieldLevels::with_defaults)
        .collect()
}

/// `n` agreement patterns drawn from the planted model.
fn planted_pairs(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| {
            let is_match = unit(&mut rng) < LAMBDA;
            PLANTED
                .iter()
                .map(|(m, u)| {
                    if unit(&mut rng) < NULL_RATE {
                        0
                    } else {
                        draw(&mut rng, if is_match { m } else { u })
                    }
                })
                .collect()
        })
        .collect()
}

fn count(pairs: &[Vec<u8>]) -> PatternCounts {
    let mut counts = PatternCounts::new(&fields()).unwrap();
    pairs.iter().for_each(|g| counts.add(g));
    counts
}

fn full_em() -> EmSettings {
    EmSettings {
        max_iterations: 500,
        tolerance: 1e-7,
        estimate_u: true,
        ..EmSettings::default()
    }
}

#[test]
fn levels_split_similarities() {
    let f = FieldLevels::with_defaults("surname");
    let levels: Vec<u8> = [
        None,
        Some(1.0),
        Some(0.95),
        Some(0.9),
        Some(0.85),
        Some(0.7),
        Some(0.69),
        Some(0.0),
    ]
    .into_iter()
    .map(|s| f.level(s))
    .collect();
    assert_eq!(levels, [0, 1, 2, 2, 3, 4, 5, 5]);
    assert_eq!(f.count(), 6);
    let labels: Vec<String> = (0..6).map(|l| f.label(l)).collect();
    assert_eq!(
        labels,
        ["null", "exact", ">= 0.9", ">= 0.8", ">= 0.7", "else"]
    );
    for bad in [vec![0.8, 0.9], vec![1.0], vec![0.5, 0.5], vec![0.0]] {
        assert_eq!(
            FieldLevels::new("x", bad).unwrap_err().code(),
            "fs-bad-levels"
        );
    }
}

#[test]
fn pattern_index_round_trips_and_caps() {
    let counts = PatternCounts::new(&fields()).unwrap();
    for index in [0, 1, 77, 6usize.pow(4) - 1] {
        assert_eq!(counts.index(&counts.pattern(index)), index);
    }
    let err = PatternCounts::with_radices(vec![16; 7]).unwrap_err();
    assert_eq!(err.code(), "fs-too-many-patterns");
}

#[test]
fn em_recovers_planted_parameters_from_a_million_pairs() {
    let counts = count(&planted_pairs(1_000_000, 7));
    let start = FsParams::starting(fields(), 0.05).unwrap();
    let report = expectation_maximisation(&counts, &start, &full_em()).unwrap();
    assert!(report.converged, "{:?}", report.warnings);
    let p = &report.params;
    assert!((p.lambda - LAMBDA).abs() < 0.01, "lambda {}", p.lambda);
    for (f, (m, u)) in PLANTED.iter().enumerate() {
        for l in 0..5 {
            assert!(
                (p.m[f][l] - m[l]).abs() < 0.01,
                "m[{f}][{l}] {} vs {}",
                p.m[f][l],
                m[l]
            );
            assert!(
                (p.u[f][l] - u[l]).abs() < 0.01,
                "u[{f}][{l}] {} vs {}",
                p.u[f][l],
                u[l]
            );
        }
    }
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

/// EM over every pair, one at a time: what the counts must reproduce.
fn pair_level_em(pairs: &[Vec<u8>], start: &FsParams, iterations: usize) -> FsParams {
    let mut p = start.clone();
    for _ in 0..iterations {
        let mut am: Vec<Vec<f64>> = p.m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut au = am.clone();
        let mut matches = 0.0;
        for gamma in pairs {
            let q = match_probability(&p, gamma);
            matches += q;
            for (f, g) in gamma.iter().enumerate().filter(|(_, g)| **g > 0) {
                am[f][*g as usize - 1] += q;
                au[f][*g as usize - 1] += 1.0 - q;
            }
        }
        let norm = |v: &Vec<f64>| {
            let s: f64 = v.iter().sum();
            v.iter().map(|x| x / s).collect::<Vec<f64>>()
        };
        p.m = am.iter().map(norm).collect();
        p.u = au.iter().map(norm).collect();
        p.lambda = matches / pairs.len() as f64;
    }
    p
}

#[test]
fn pattern_count_em_equals_pair_level_em() {
    let pairs = planted_pairs(2_000, 11);
    let start = FsParams::starting(fields(), 0.1).unwrap();
    let settings = EmSettings {
        max_iterations: 10,
        tolerance: 1e-300,
        floor: 1e-300,
        estimate_u: true,
        ..EmSettings::default()
    };
    let by_counts = expectation_maximisation(&count(&pairs), &start, &settings).unwrap();
    assert_eq!(by_counts.iterations, 10);
    let by_pairs = pair_level_em(&pairs, &start, 10);
    assert!((by_counts.params.lambda - by_pairs.lambda).abs() < 1e-12);
    for f in 0..4 {
        for l in 0..5 {
            assert!((by_counts.params.m[f][l] - by_pairs.m[f][l]).abs() < 1e-12);
            assert!((by_counts.params.u[f][l] - by_pairs.u[f][l]).abs() < 1e-12);
        }
    }
}

#[test]
fn a_zero_start_still_moves() {
    let counts = count(&planted_pairs(200_000, 3));
    let mut start = FsParams::starting(fields(), 0.05).unwrap();
    start.m[0] = vec![0.0, 0.0, 0.0, 0.0, 1.0];
    let report = expectation_maximisation(&counts, &start, &full_em()).unwrap();
    let exact = report.params.m[0][0];
    assert!(
        (exact - PLANTED[0].0[0]).abs() < 0.02,
        "m[given][exact] stayed at {exact}"
    );
}

#[test]
fn hitting_the_iteration_cap_is_not_convergence() {
    let counts = count(&planted_pairs(10_000, 5));
    let start = FsParams::starting(fields(), 0.05).unwrap();
    let settings = EmSettings {
        max_iterations: 2,
        tolerance: 1e-12,
        ..full_em()
    };
    let report = expectation_maximisation(&counts, &start, &settings).unwrap();
    assert_eq!((report.iterations, report.converged), (2, false));
    assert_eq!(report.history.len(), 2);
    assert!(matches!(
        report.warnings[0],
        FsWarning::NotConverged { iterations: 2, .. }
    ));
}

#[test]
fn u_not_below_m_and_unseen_fields_are_warned() {
    let mut pairs = planted_pairs(20_000, 9);
    pairs.iter_mut().for_each(|g| g[3] = 0);
    let mut start = FsParams::starting(fields(), 0.2).unwrap();
    start.m[1] = vec![0.01, 0.01, 0.01, 0.01, 0.96];
    let settings = EmSettings {
        fixed_fields: vec![1],
        max_iterations: 3,
        ..EmSettings::default()
    };
    let report = expectation_maximisation(&count(&pairs), &start, &settings).unwrap();
    let w = &report.warnings;
    assert!(
        w.contains(&FsWarning::NotEstimated {
            field: "postcode".into()
        }),
        "{w:?}"
    );
    assert!(w.contains(&FsWarning::UNotBelowM {
        field: "surname".into(),
        level: "exact".into()
    }));
    assert_eq!(report.params.m[1], start.m[1], "a fixed field's m is kept");
}

#[test]
fn counting_and_em_are_the_same_for_any_thread_count() {
    let mut rng = SplitMix(21);
    let sims: Vec<Option<f64>> = (0..4 * 300_000)
        .map(|_| (unit(&mut rng) > 0.03).then(|| unit(&mut rng).powf(0.3)))
        .collect();
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let counts = PatternCounts::from_similarities(&fields(), &sims).unwrap();
            let start = FsParams::starting(fields(), 0.1).unwrap();
            let report = expectation_maximisation(&counts, &start, &full_em()).unwrap();
            (counts, serde_json::to_string(&report).unwrap())
        })
    };
    let one = run(1);
    assert_eq!(one.0.total(), 300_000);
    assert_eq!(one, run(3));
}

#[test]
fn round_robin_skips_the_blocked_field_in_each_pass() {
    let a = count(&planted_pairs(50_000, 1));
    let b = count(&planted_pairs(50_000, 2));
    let mut start = FsParams::starting(fields(), 0.2).unwrap();
    start.u = PLANTED.iter().map(|(_, u)| u.to_vec()).collect();
    let blocked_a: &[usize] = &[0];
    let blocked_b: &[usize] = &[1];
    let (params, reports) = round_robin(
        &[(&a, blocked_a), (&b, blocked_b)],
        &start,
        &EmSettings::default(),
    )
    .unwrap();
    assert_eq!(reports[0].params.m[0], start.m[0]);
    assert_eq!(params.m[0], reports[1].params.m[0]);
    assert_eq!(params.m[1], reports[0].params.m[1]);
    let mean = (reports[0].params.m[2][0] + reports[1].params.m[2][0]) / 2.0;
    assert!((params.m[2][0] - mean).abs() < 1e-15);
    assert_eq!(
        (params.u.clone(), params.lambda),
        (start.u.clone(), start.lambda)
    );
}

#[test]
fn u_from_random_pairs_is_the_level_shares() {
    let mut counts = PatternCounts::with_radices(vec![3]).unwrap();
    counts.add_at(0, 50);
    counts.add_at(1, 10);
    counts.add_at(2, 30);
    assert_eq!(
        FsParams::u_from_random(&counts, 1e-6),
        vec![vec![0.25, 0.75]]
    );
}

#[test]
fn weights_sum_the_prior_and_present_fields() {
    let fields = vec![FieldLevels::new("dob", vec![0.8]).unwrap(); 2];
    let m = vec![vec![0.9, 0.05, 0.05]; 2];
    let u = vec![vec![0.01, 0.09, 0.9]; 2];
    let p = FsParams::new(fields, 0.01, m, u).unwrap();
    let prior = (0.01f64 / 0.99).log2();
    assert!((p.prior_weight() - prior).abs() < 1e-15);
    let w = p.weight(&[1, 0]);
    assert!((w - (prior + 90f64.log2())).abs() < 1e-12);
    assert!((p.weight(&[1, 3]) - (w + (0.05f64 / 0.9).log2())).abs() < 1e-12);
    assert_eq!(probability(0.0), 0.5);
    assert!((probability(w) - match_probability(&p, &[1, 0])).abs() < 1e-12);
}

#[test]
fn tf_adjustment_matches_a_hand_computed_case() {
    // u_exact 1%, the value held by 0.2% and 0.1% of records: log2(0.01 / 0.002) = log2(5).
    assert!((tf_adjustment(0.01, 0.002, 0.001, 0.0005) - 5f64.log2()).abs() < 1e-12);
    // A value rarer than the minimum is capped at it.
    assert!((tf_adjustment(0.01, 0.0001, 0.0, 0.0005) - 20f64.log2()).abs() < 1e-12);
}

#[test]
fn prior_from_a_rule_and_a_recall_guess() {
    let lambda = prior_from_rule(100, 1_000_000, 0.8).unwrap();
    assert!((lambda - 1.25e-4).abs() < 1e-18);
    assert_eq!(
        prior_from_rule(0, 10, 0.8).unwrap_err().code(),
        "fs-bad-settings"
    );
}

fn random_records(n: usize, fields: usize, words: usize, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix(seed);
    // Sparse words, so Dice spreads over the levels.
    (0..n * fields * words)
        .map(|_| rng.next_u64() & rng.next_u64() & rng.next_u64())
        .collect()
}

#[test]
fn pairs_are_counted_from_field_filters_with_flagged_missing_fields() {
    let (fields, words) = (4, 2);
    let left_words = random_records(50, fields, words, 31);
    let mut right_words = random_records(40, fields, words, 32);
    // Record 0 on the right copies left record 0 exactly: every present field is exact.
    right_words[..fields * words].copy_from_slice(&left_words[..fields * words]);
    let left_missing: Vec<u64> = (0..50)
        .map(|i| if i % 7 == 0 { 0b0100 } else { 0 })
        .collect();
    let left = FieldRecords::new(&left_words, fields, words, Some(&left_missing)).unwrap();
    let right = FieldRecords::new(&right_words, fields, words, None).unwrap();
    let pairs: Vec<(u32, u32)> = (0..50).flat_map(|a| (0..40).map(move |b| (a, b))).collect();
    let counts = count_pairs(&self::fields(), &left, &right, &pairs).unwrap();
    assert_eq!(counts.total(), 2000);
    // Pairs in another order (no runs of one left record) count the same.
    let mut by_right = pairs.clone();
    by_right.sort_by_key(|&(a, b)| (b, a));
    assert_eq!(
        count_pairs(&self::fields(), &left, &right, &by_right).unwrap(),
        counts
    );
    // The reference: Dice bit by bit, missing from the mask alone.
    let bit = |w: &[u64], r: usize, f: usize, i: usize| {
        w[(r * fields + f) * words + i / 64] >> (i % 64) & 1
    };
    let mut sims = Vec::new();
    for &(a, b) in &pairs {
        for f in 0..fields {
            if left_missing[a as usize] >> f & 1 == 1 {
                sims.push(None);
                continue;
            }
            let (mut both, mut total) = (0u32, 0u32);
            for i in 0..words * 64 {
                let (x, y) = (
                    bit(&left_words, a as usize, f, i),
                    bit(&right_words, b as usize, f, i),
                );
                both += (x & y) as u32;
                total += (x + y) as u32;
            }
            sims.push(Some(if total == 0 {
                0.0
            } else {
                2.0 * f64::from(both) / f64::from(total)
            }));
        }
    }
    assert_eq!(
        counts,
        PatternCounts::from_similarities(&self::fields(), &sims).unwrap()
    );
    assert_eq!(field_dice(&left, 0, &right, 0, 1), Some(1.0));
    assert_eq!(
        field_dice(&left, 0, &right, 0, 2),
        None,
        "flagged missing on the left"
    );
    assert!(counts.count_at(counts.index(&[1, 1, 0, 1])) >= 1);
    let err = count_pairs(&self::fields(), &left, &right, &[(50, 0)]).unwrap_err();
    assert_eq!(err.code(), "fs-shape");
    assert_eq!(
        FieldRecords::new(&left_words[1..], fields, words, None)
            .unwrap_err()
            .code(),
        "fs-shape"
    );
}

#[test]
fn random_pairs_are_reproducible_in_range_and_distinct_for_deduplication() {
    let two = random_pairs(30, Some(7), 5_000, 42).unwrap();
    assert_eq!(two, random_pairs(30, Some(7), 5_000, 42).unwrap());
    assert_ne!(two, random_pairs(30, Some(7), 5_000, 43).unwrap());
    assert!(
        two.windows(2).all(|w| w[0] <= w[1]),
        "sorted by left record"
    );
    assert!(two.iter().all(|&(a, b)| a < 30 && b < 7));
    // Every record of each side is drawn at about its share.
    let hits = two.iter().filter(|p| p.1 == 3).count();
    assert!((600..830).contains(&hits), "{hits} of 5000 for 1 in 7");
    let dedup = random_pairs(5, None, 10_000, 1).unwrap();
    assert!(dedup.iter().all(|&(a, b)| a < b && b < 5));
    let mut seen = std::collections::BTreeMap::new();
    dedup.iter().for_each(|p| *seen.entry(*p).or_insert(0) += 1);
    assert_eq!(seen.len(), 10, "all 10 pairs of 5 records");
    assert!(seen.values().all(|c| (850..1150).contains(c)), "{seen:?}");
    assert_eq!(
        random_pairs(1, None, 3, 0).unwrap_err().code(),
        "fs-no-pairs"
    );
}

#[test]
fn a_pass_leaves_its_own_fields_out_of_the_counts() {
    let mut counts = PatternCounts::with_radices(vec![3, 4]).unwrap();
    counts.add(&[1, 2]);
    counts.add(&[2, 2]);
    counts.add(&[1, 3]);
    let out = counts.without_fields(&[0]);
    assert_eq!(out.total(), 3);
    assert_eq!(out.count_at(out.index(&[0, 2])), 2);
    assert_eq!(out.count_at(out.index(&[0, 3])), 1);
    assert_eq!(counts.without_fields(&[]), counts);
}

#[test]
fn a_pairs_weight_is_its_explanation_and_the_levels_of_its_dice() {
    let (fields, words) = (4, 2);
    let left_words = random_records(30, fields, words, 41);
    let mut right_words = random_records(20, fields, words, 42);
    right_words[..fields * words].copy_from_slice(&left_words[..fields * words]);
    let left_missing: Vec<u64> = (0..30)
        .map(|i| if i % 5 == 0 { 0b1001 } else { 0 })
        .collect();
    let right_missing: Vec<u64> = (0..20)
        .map(|i| if i % 3 == 0 { 0b0010 } else { 0 })
        .collect();
    let left = FieldRecords::new(&left_words, fields, words, Some(&left_missing)).unwrap();
    let right = FieldRecords::new(&right_words, fields, words, Some(&right_missing)).unwrap();
    let m = PLANTED.iter().map(|(m, _)| m.to_vec()).collect();
    let u = PLANTED.iter().map(|(_, u)| u.to_vec()).collect();
    let params = FsParams::new(self::fields(), LAMBDA, m, u).unwrap();
    for (right, tf) in [(Some(right), vec![1]), (None, vec![])] {
        let scorer = Scorer::new(&params, left, right, &tf);
        let other = right.unwrap_or(left);
        for a in 0..30u32 {
            for b in 0..other.len() as u32 {
                let naive = (0..fields).fold(params.prior_weight(), |w, f| {
                    let dice = field_dice(&left, a as usize, &other, b as usize, f);
                    w + params.level_weight(f, params.fields[f].level(dice))
                });
                let explained = scorer.explain(a, b);
                // Summed in another order: equal to rounding.
                assert!(
                    (scorer.weight(a, b) - explained.weight).abs() < 1e-12,
                    "pair ({a}, {b})"
                );
                let tf_part: f64 = explained
                    .fields
                    .iter()
                    .filter_map(|e| e.tf_adjustment)
                    .sum();
                assert!(
                    (explained.weight - tf_part - naive).abs() < 1e-12,
                    "pair ({a}, {b})"
                );
            }
        }
    }
}
