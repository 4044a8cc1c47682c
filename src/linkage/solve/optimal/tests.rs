//! Tests of the solver: exact totals and the tie rule against brute force and an independent
//! Hungarian method on small and medium graphs, every path through the phases (via
//! [`Tuning`]), and the arithmetic of the weights.

use super::super::greedy;
use super::super::tests::{SplitMix, c};
use super::components::{Workspace, sort_key};
use super::graph::Graph;
use super::weights::{Scale, bit_len, decompose, scale_down, scale_up, weights};
use super::*;
use proptest::prelude::*;

mod oracle;

use self::oracle::{brute_force, components, objectives, reference_hungarian, total};

/// The scores as integers, with the bit length of the largest (see [`Scale`]).
fn integers(scores: &[f64], max_bits: u32) -> (Vec<u128>, u32) {
    let scale = Scale::new(scores, max_bits);
    (scores.iter().map(|&s| scale.apply(s)).collect(), scale.bits)
}

#[derive(Debug, PartialEq)]
enum Weights {
    Narrow(Vec<i64>),
    Wide(Vec<i128>),
}

/// [`weights`] of a component with these scores and record counts.
fn weights_of(scores: &[f64], nl: usize, nr: usize) -> Weights {
    let graph = Graph {
        nl,
        nr,
        score: scores.to_vec(),
        ..Graph::default()
    };
    let (mut narrow, mut wide) = (Vec::new(), Vec::new());
    if weights(&graph, &mut narrow, &mut wide) {
        Weights::Narrow(narrow)
    } else {
        Weights::Wide(wide)
    }
}

/// Every path through the solver on small graphs: the defaults (small components go
/// straight to the search), the auction with the search tried at the usual point, right
/// after the first phase, and with no budget for the search (so the auction resumes after
/// every try, down to `ε = 1`).
const TUNINGS: [Tuning; 4] = [
    Tuning::DEFAULT,
    Tuning {
        auction_edges: 0,
        ..Tuning::DEFAULT
    },
    Tuning {
        auction_edges: 0,
        stop_bits: 0,
        ..Tuning::DEFAULT
    },
    Tuning {
        auction_edges: 0,
        stop_bits: 0,
        budget: 0,
    },
];

/// Checks every path of `optimal` against brute force: a valid matching, of exactly the
/// maximum total, and preferred by the tie rule (so it is the rule's optimum, or one of
/// several that also tie on the rank sum).
fn check_brute_force(cands: &[Candidate]) -> Result<(), TestCaseError> {
    let expected = brute_force(cands);
    for tuning in &TUNINGS {
        let links = optimal_tuned(cands, tuning);
        prop_assert_eq!(
            objectives(cands, &links),
            expected.clone(),
            "{:?} with {:?} -> {:?}",
            cands,
            tuning,
            links
        );
    }
    Ok(())
}

#[test]
fn greedy_failure_case() {
    // a0-b0 0.9, a0-b1 0.85, a1-b0 0.85.
    let cands = [c(0, 0, 0.9), c(0, 1, 0.85), c(1, 0, 0.85)];
    assert_eq!(greedy(&cands), vec![c(0, 0, 0.9)]);
    assert_eq!(optimal(&cands), vec![c(0, 1, 0.85), c(1, 0, 0.85)]);
}

#[test]
fn optimal_keeps_the_high_pair_when_it_is_worth_it() {
    let cands = [c(0, 0, 0.9), c(0, 1, 0.4), c(1, 0, 0.4)];
    assert_eq!(optimal(&cands), vec![c(0, 0, 0.9)]);
}

#[test]
fn totals_are_exact() {
    // In f64, 0.1 + 0.2 > 0.3 (the nearest doubles are not in that proportion), so the
    // pair wins; with 0.30000000000000004 the totals are equal... and still the pair wins,
    // on the rank sum. The exact comparison decides, not a rounded sum.
    let cands = [c(0, 0, 0.3), c(0, 1, 0.2), c(1, 0, 0.1), c(2, 0, 0.05)];
    assert_eq!(optimal(&cands), vec![c(0, 1, 0.2), c(1, 0, 0.1)]);
    // 0.5 + 0.375 > 0.75.
    let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.375)];
    assert_eq!(optimal(&cands), vec![c(0, 1, 0.5), c(1, 0, 0.375)]);
    // 0.5 + 0.125 < 0.75.
    let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.125)];
    assert_eq!(optimal(&cands), vec![c(0, 0, 0.75)]);
}

#[test]
fn equal_totals_go_to_the_larger_sum_of_r_minus_rank() {
    // 0.75 == 0.5 + 0.25 exactly. Ranks a0-b0 0, a0-b1 1, a1-b0 2, a2-b0 3; R = 4.
    // {a0-b0}: 4; {a0-b1, a1-b0}: 3 + 2 = 5, so the pair wins.
    let cands = [c(0, 0, 0.75), c(0, 1, 0.5), c(1, 0, 0.25), c(2, 0, 0.125)];
    assert_eq!(optimal(&cands), vec![c(0, 1, 0.5), c(1, 0, 0.25)]);
    // Two lower duplicates of a0-b0 push the pair down: ranks 0 (0.75), 1, 2 (duplicates),
    // 3 (0.5), 4 (0.25); R = 5. {a0-b0}: 5; the pair: 2 + 1 = 3, so the single link wins.
    let cands = [
        c(0, 0, 0.75),
        c(0, 0, 0.7),
        c(0, 0, 0.6),
        c(0, 1, 0.5),
        c(1, 0, 0.25),
    ];
    assert_eq!(optimal(&cands), vec![c(0, 0, 0.75)]);
}

#[test]
fn rank_sum_is_not_lexicographic() {
    // Every score equal. Ranks: a0-b0 0, a0-b1 1, a1-b0 2, a1-b2 3, a1-b3 4, a2-b2 5,
    // a2-b3 6. Every maximum matching links a0, a1, a2; those with a0-b0 have rank sums
    // 0 + 3 + 6 and 0 + 4 + 5 = 9, while a0-b1, a1-b0, a2-b2 has 8. The lexicographically
    // first optimum would start with a0-b0; the rule takes the smaller rank sum.
    let cands = [
        c(0, 0, 0.5),
        c(0, 1, 0.5),
        c(1, 0, 0.5),
        c(1, 2, 0.5),
        c(1, 3, 0.5),
        c(2, 2, 0.5),
        c(2, 3, 0.5),
    ];
    assert_eq!(
        optimal(&cands),
        vec![c(0, 1, 0.5), c(1, 0, 0.5), c(2, 2, 0.5)]
    );
}

#[test]
fn all_equal_scores() {
    // A 6-cycle: a0-b0 0, a0-b1 1, a1-b0 2, a1-b2 3, a2-b1 4, a2-b2 5. The two perfect
    // matchings have rank sums 0 + 3 + 4 = 7 and 1 + 2 + 5 = 8.
    let cands = [
        c(2, 2, 1.0),
        c(0, 1, 1.0),
        c(1, 0, 1.0),
        c(0, 0, 1.0),
        c(2, 1, 1.0),
        c(1, 2, 1.0),
    ];
    assert_eq!(
        optimal(&cands),
        vec![c(0, 0, 1.0), c(1, 2, 1.0), c(2, 1, 1.0)]
    );
    // Complete 30 x 30: every perfect matching has the same rank sum, so the rule leaves
    // the choice to the search; it must still be perfect and independent of input order.
    let mut cands = Vec::new();
    for a in 0..30 {
        for b in 0..30 {
            cands.push(c(a, b, 0.75));
        }
    }
    let links = optimal(&cands);
    assert_eq!(links.len(), 30);
    let mut rng = SplitMix(5);
    for _ in 0..3 {
        rng.shuffle(&mut cands);
        assert_eq!(optimal(&cands), links);
    }
    // Without the diagonal: still perfect.
    cands.retain(|x| x.a != x.b);
    let links = optimal(&cands);
    assert_eq!(links.len(), 30);
    assert!(links.iter().all(|x| x.a != x.b));
}

#[test]
fn medium_graphs_against_the_hungarian_method() {
    // Too large for brute force, large enough for long alternating paths and cycles.
    let mut rng = SplitMix(77);
    for round in 0..150 {
        let n = 8 + rng.below(20) as u32;
        let levels = [1, 2, 3, 10, 1 << 20][rng.below(5) as usize];
        let per_record = 1 + rng.below(5);
        let mut cands = Vec::new();
        for a in 0..n {
            for _ in 0..per_record {
                let score = (rng.below(levels) + 1) as f64 / levels as f64;
                cands.push(c(a, rng.below(n.into()) as u32, score));
            }
        }
        let expected = reference_hungarian(&cands);
        for tuning in &TUNINGS {
            let links = optimal_tuned(&cands, tuning);
            let found: Vec<u128> = components(&cands)
                .iter()
                .zip(objectives(&cands, &links))
                .map(|(comp, o)| comp.perturbed(o))
                .collect();
            assert_eq!(found, expected, "round {round} with {tuning:?}: {cands:?}");
        }
    }
}

#[test]
fn ignores_scores_that_cannot_help() {
    let cands = [
        c(0, 0, f64::NAN),
        c(1, 1, 0.0),
        c(2, 2, -1.0),
        c(3, 3, f64::INFINITY),
        c(4, 4, 0.5),
    ];
    assert_eq!(optimal(&cands), vec![c(4, 4, 0.5)]);
    assert_eq!(optimal(&[]), vec![]);
}

#[test]
fn duplicates_link_once() {
    let cands = [
        c(0, 0, 0.5),
        c(0, 0, 0.5),
        c(0, 0, 0.7),
        c(1, 0, 0.6),
        c(1, 1, 0.1),
    ];
    assert_eq!(optimal(&cands), vec![c(0, 0, 0.7), c(1, 1, 0.1)]);
    let cands = [
        c(0, 0, 0.5),
        c(0, 0, 0.5),
        c(1, 1, 0.5),
        c(1, 1, 0.5),
        c(0, 1, 0.5),
    ];
    assert_eq!(optimal(&cands), vec![c(0, 0, 0.5), c(1, 1, 0.5)]);
}

#[test]
fn scaling_is_exact() {
    assert_eq!(decompose(1.0), (1, 0));
    assert_eq!(decompose(0.75), (3, -2));
    assert_eq!(decompose(f64::MIN_POSITIVE / 4.0), (1, -1024));
    assert_eq!(decompose(f64::from_bits(1)), (1, -1074));
    assert_eq!(integers(&[1.0, 0.75, 0.5], 61), (vec![4, 3, 2], 3));
    // Dice-like scores need 53 bits or a few more.
    let (w, bits) = integers(&[0.9, 0.85, 0.1], 61);
    assert_eq!(bits, 55);
    assert!((w[0] as f64 / w[2] as f64 - 9.0).abs() < 1e-12);
    // Absurd ranges are rounded down, every weight stays at least 1.
    let (w, bits) = integers(&[1e300, 1e-300], 61);
    assert_eq!((w[1], bits), (1, 61));
    assert!(w[0] < 1 << 61 && w[0] >= 1 << 60);
}

#[test]
fn auction_weights_scale_both_ways() {
    // Exact when the product fits: 3 · 5.
    assert_eq!(scale_down(3, 5, 0), 15);
    assert_eq!(scale_up(15, 5, 0), 3);
    // A 125-bit weight times a 20-bit scale, down to at most 61 bits, and back: close, but
    // not exact.
    let (w, scale) = ((1u128 << 124) + 12_345, 1_000_001);
    let shift = bit_len(w) + bit_len(scale) - 61;
    let down = scale_down(w, scale, shift);
    assert!((60..=61).contains(&bit_len(down as u128)));
    let back = scale_up(down, scale, shift);
    assert!(back <= w && w - back < 2 * ((1 << shift) / scale + 1));
    // Negative prices do not occur, but would count as 0.
    assert_eq!(scale_up(-4, 5, 0), 0);
}

proptest! {
    #[test]
    fn sort_keys_follow_solver_order(
        cands in proptest::collection::vec(
            (0..4u32, 0..4u32, prop_oneof![
                (1..=4u32).prop_map(|k| f64::from(k) / 4.0),
                1e-310..1e300f64,
            ]).prop_map(|(a, b, s)| c(a, b, s)),
            0..40,
        )
    ) {
        let mut by_key = cands.clone();
        by_key.sort_by_key(sort_key);
        let mut by_order = cands;
        by_order.sort_by(Candidate::solver_order);
        prop_assert_eq!(by_key, by_order);
    }
}

#[test]
fn search_stamps_restart_before_they_wrap() {
    // A 6-cycle of equal scores: the greedy start links two pairs, a search the third.
    let mut graph = Graph {
        nl: 3,
        nr: 3,
        el: vec![0, 0, 1, 1, 2, 2],
        er: vec![0, 1, 0, 2, 1, 2],
        score: vec![1.0; 6],
    };
    let (el, er) = (graph.el.clone(), graph.er.clone());
    let ends = |e: usize| (el[e], er[e]);
    let mut workspace = Workspace::default();
    let mut expected = Vec::new();
    workspace.solve(&mut graph, &Tuning::DEFAULT, &ends, &mut expected);
    assert_eq!(expected.len(), 3);
    // The stamps of that run stay behind; the next searches cross `u32::MAX`.
    workspace.narrow.epoch = u32::MAX - 1;
    for _ in 0..3 {
        let mut links = Vec::new();
        workspace.solve(&mut graph, &Tuning::DEFAULT, &ends, &mut links);
        assert_eq!(links, expected);
    }
}

#[test]
fn perturbed_weights() {
    // w = 3, 2, 1; K = min(2, 2) · 3 + 1 = 7; w' = w·7 + (3 - rank).
    assert_eq!(
        weights_of(&[0.75, 0.5, 0.25], 2, 2),
        Weights::Narrow(vec![24, 16, 8])
    );
    // 56-bit scores with a 3-bit K still fit 61 bits; a wider range does not.
    assert!(matches!(
        weights_of(&[0.9, 0.85, 0.1], 2, 2),
        Weights::Narrow(_)
    ));
    assert!(matches!(weights_of(&[1.0, 1e-5], 2, 2), Weights::Wide(_)));
    // Coarse scores stay narrow even in a large component: K = 200,000 · 10^6 + 1.
    let k = 200_000 * 1_000_000 + 1;
    let Weights::Narrow(w) = weights_of(&vec![0.5; 1_000_000], 200_000, 200_000) else {
        panic!("narrow expected")
    };
    assert_eq!((w[0], w[999_999]), (k + 1_000_000, k + 1));
    // Dice-like scores there need i128.
    let scores: Vec<f64> = (0..1_000_000)
        .map(|i| 0.8 + (i % 2000) as f64 / 1e4)
        .collect();
    let Weights::Wide(w) = weights_of(&scores, 200_000, 200_000) else {
        panic!("wide expected")
    };
    assert_eq!(w[0] % i128::from(k), 1_000_000);
    // Absurd ranges: w is rounded to 125 - bits(K) bits, the perturbation stays exact.
    let Weights::Wide(w) = weights_of(&[1e300, 1e-300], 2, 2) else {
        panic!("wide expected")
    };
    assert_eq!(w[1], 5 + 1);
    assert!(w[0] < 1 << 125);
    assert_eq!(
        optimal(&[c(0, 0, 1e300), c(0, 1, 1e-300), c(1, 0, 1e-300)]),
        vec![c(0, 0, 1e300)]
    );
}

#[test]
fn wide_weights_agree_with_narrow() {
    // Same structure, scores spanning 2^-40..1 force i128.
    let narrow = [c(0, 0, 0.9), c(0, 1, 0.85), c(1, 0, 0.85), c(1, 1, 0.2)];
    let mut wide = narrow.to_vec();
    wide.push(c(2, 1, 1e-12));
    wide.push(c(2, 2, 2e-12));
    let links = optimal(&wide);
    assert_eq!(links, vec![c(0, 1, 0.85), c(1, 0, 0.85), c(2, 2, 2e-12)]);
}

#[test]
fn random_against_brute_force_with_many_ties() {
    let mut rng = SplitMix(42);
    for _ in 0..300 {
        let (nl, nr) = (1 + rng.below(6) as u32, 1 + rng.below(6) as u32);
        let levels = 1 + rng.below(4);
        let mut cands = Vec::new();
        for a in 0..nl {
            for b in 0..nr {
                if rng.below(3) > 0 {
                    cands.push(c(a, b, (rng.below(levels) + 1) as f64 / 4.0));
                }
            }
        }
        check_brute_force(&cands).unwrap();
    }
}

fn small_graph(max_side: u32, levels: u64) -> impl Strategy<Value = Vec<Candidate>> {
    (1..=max_side, 1..=max_side).prop_flat_map(move |(nl, nr)| {
        proptest::collection::vec(
            (0..nl, 0..nr, 1..=levels).prop_map(move |(a, b, s)| c(a, b, s as f64 / levels as f64)),
            0..=(nl * nr + 3) as usize,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_brute_force_with_ties(cands in small_graph(7, 4)) {
        check_brute_force(&cands)?;
    }

    #[test]
    fn matches_brute_force_decimal_ties(cands in small_graph(7, 10)) {
        // Tenths: equal in decimal is not equal in binary (0.1 + 0.2 vs 0.3).
        check_brute_force(&cands)?;
    }

    #[test]
    fn matches_brute_force_fine_scores(cands in small_graph(7, 1_000_000)) {
        // Down to 1e-6: 73-bit weights, so i128.
        check_brute_force(&cands)?;
    }

    #[test]
    fn ignores_input_order(cands in small_graph(7, 3), seed in any::<u64>()) {
        for tuning in &TUNINGS {
            let expected = optimal_tuned(&cands, tuning);
            let mut shuffled = cands.clone();
            SplitMix(seed).shuffle(&mut shuffled);
            prop_assert_eq!(optimal_tuned(&shuffled, tuning), expected.clone());
            // Relabelling: a and b renumbered in the same order keep the same answer.
            let relabelled: Vec<Candidate> = shuffled
                .iter()
                .map(|x| c(x.a * 1_000_003 + 7, x.b * 999_983, x.score))
                .collect();
            let back: Vec<Candidate> = optimal_tuned(&relabelled, tuning)
                .iter()
                .map(|x| c((x.a - 7) / 1_000_003, x.b / 999_983, x.score))
                .collect();
            prop_assert_eq!(back, expected);
        }
    }
}

/// Random sparse bipartite graph: `n` records per side, `m` candidates.
pub(super) fn random_graph(seed: u64, n: u32, m: usize, levels: u64) -> Vec<Candidate> {
    let mut rng = SplitMix(seed);
    (0..m)
        .map(|_| {
            let score = if levels == 0 {
                rng.unit()
            } else {
                (rng.below(levels) + 1) as f64 / levels as f64
            };
            c(
                rng.below(n.into()) as u32,
                rng.below(n.into()) as u32,
                score,
            )
        })
        .collect()
}

#[test]
fn optimal_beats_or_ties_greedy_and_is_order_independent() {
    for (seed, levels) in [(1, 0), (2, 2), (3, 5), (4, 1)] {
        let mut cands = random_graph(seed, 400, 2000, levels);
        let links = optimal(&cands);
        assert!(total(&links) >= total(&greedy(&cands)) - 1e-9);
        let mut rng = SplitMix(seed + 100);
        rng.shuffle(&mut cands);
        assert_eq!(optimal(&cands), links);
    }
}

#[test]
fn dense_components() {
    // A complete 300 x 300 component with random scores, and one with three score levels.
    for levels in [0, 3] {
        let mut rng = SplitMix(levels + 9);
        let mut cands = Vec::new();
        for a in 0..300 {
            for b in 0..300 {
                let score = if levels == 0 {
                    rng.unit()
                } else {
                    (rng.below(levels) + 1) as f64 / 4.0
                };
                cands.push(c(a, b, score));
            }
        }
        let links = optimal(&cands);
        assert_eq!(links.len(), 300);
        assert!(total(&links) >= total(&greedy(&cands)));
        rng.shuffle(&mut cands);
        assert_eq!(optimal(&cands), links);
    }
}

/// Times greedy and optimal on large inputs. Run in release mode:
/// `cargo test --release --lib solve -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release mode"]
fn timing_one_million_candidates() {
    fn time(name: &str, cands: &[Candidate]) {
        let started = std::time::Instant::now();
        let g = greedy(cands);
        let greedy_time = started.elapsed();
        let started = std::time::Instant::now();
        let o = optimal(cands);
        let optimal_time = started.elapsed();
        println!(
            "{name} ({} candidates): greedy {greedy_time:.2?} ({} links, total {:.2}), \
             optimal {optimal_time:.2?} ({} links, total {:.2})",
            cands.len(),
            g.len(),
            total(&g),
            o.len(),
            total(&o),
        );
        assert!(total(&o) >= total(&g));
    }
    let n = 200_000;
    time(
        "random scores, 200k x 200k",
        &random_graph(2026, n, 1_000_000, 0),
    );
    // A true match per record plus four weaker random candidates.
    let mut rng = SplitMix(3);
    let mut planted = Vec::new();
    for i in 0..n {
        planted.push(c(i, i, 0.8 + 0.2 * rng.unit()));
        for _ in 0..4 {
            planted.push(c(i, rng.below(n.into()) as u32, 0.5 + 0.4 * rng.unit()));
        }
    }
    time("planted matches, 200k x 200k", &planted);
    time(
        "100 score levels, 200k x 200k",
        &random_graph(7, n, 1_000_000, 100),
    );
    time(
        "5 score levels, 200k x 200k",
        &random_graph(7, n, 1_000_000, 5),
    );
    let mut dense = Vec::new();
    for a in 0..1000 {
        for b in 0..1000 {
            dense.push(c(a, b, 1.0));
        }
    }
    time("all tied, complete 1000 x 1000", &dense);
    let mut rng = SplitMix(4);
    let dense: Vec<Candidate> = (0..300 * 300)
        .map(|i| c(i / 300, i % 300, rng.unit()))
        .collect();
    time("random scores, complete 300 x 300", &dense);
    // The hard case for the tie-breaking step: one score for a whole sparse component.
    time(
        "all tied, 20k x 20k sparse",
        &random_graph(7, 20_000, 100_000, 1),
    );
    time(
        "2 score levels, 50k x 50k sparse",
        &random_graph(7, 50_000, 250_000, 2),
    );
    // Ties on the scale of the benchmark (`benches/link.rs`): 2,000 score levels, five
    // candidates per left record.
    let mut rng = SplitMix(8);
    let bench: Vec<Candidate> = (0..1_000_000)
        .map(|i| {
            let score = 0.8 + rng.below(2000) as f64 / 10_000.0;
            c(i / 5, rng.below(n.into()) as u32, score)
        })
        .collect();
    time("2,000 score levels, 200k x 200k", &bench);
    // One score everywhere, one million candidates.
    time("all tied, 200k x 200k", &random_graph(7, n, 1_000_000, 1));
    time(
        "all tied, 20k x 20k",
        &random_graph(7, 20_000, 1_000_000, 1),
    );
    time(
        "2 score levels, 20k x 20k",
        &random_graph(7, 20_000, 1_000_000, 2),
    );
}
