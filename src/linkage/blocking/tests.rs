use super::*;
use crate::linkage::candidates::{self, FilterSet, Similarity};
use proptest::prelude::*;

/// Random filters about half full, every third one a near-copy of the one before it.
fn filters(n: usize, words: usize, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix(seed);
    let mut out: Vec<u64> = (0..n * words).map(|_| rng.next()).collect();
    for i in (1..n).step_by(3) {
        for w in 0..words {
            let flip = 1u64 << (rng.next() % 64);
            out[i * words + w] = out[(i - 1) * words + w]
                ^ if rng.next().is_multiple_of(3) {
                    flip
                } else {
                    0
                };
        }
    }
    out
}

/// `count` key ids per record, each drawn from `distinct` values (0 = no block sometimes).
fn key_ids(n: usize, count: usize, distinct: u64, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix(seed);
    (0..n * count)
        .map(|_| rng.next() % (distinct + 1))
        .collect()
}

fn opts(threshold: f64) -> CandidateOptions {
    CandidateOptions {
        threshold,
        similarity: Similarity::Dice,
        top_k: None,
    }
}

/// Every pair above the threshold that shares a block under `rule`, by brute force.
fn oracle(
    l: &BlockedSide<'_>,
    r: Option<&BlockedSide<'_>>,
    rule: Rule,
    threshold: f64,
) -> Vec<Candidate> {
    let same = r.is_none();
    let r = r.unwrap_or(l);
    let bits = l.words as u32 * 64;
    let mut out = Vec::new();
    for i in 0..l.len() as u32 {
        for j in 0..r.len() as u32 {
            if same && j <= i {
                continue;
            }
            if !(0..l.functions).any(|f| rule.qualifies(l.row(i), r.row(j), f)) {
                continue;
            }
            let common = l
                .filter(i)
                .iter()
                .zip(r.filter(j))
                .map(|(x, y)| (x & y).count_ones())
                .sum();
            let score = Similarity::Dice.score(
                common,
                l.popcounts[i as usize],
                r.popcounts[j as usize],
                bits,
            );
            if score >= threshold {
                out.push(Candidate { a: i, b: j, score });
            }
        }
    }
    out
}

/// Number of distinct pairs that share a block and pass the length filter, by brute force.
fn oracle_pairs(l: &BlockedSide<'_>, r: Option<&BlockedSide<'_>>, rule: Rule, t: f64) -> u64 {
    let same = r.is_none();
    let r = r.unwrap_or(l);
    let bits = l.words as u32 * 64;
    let mut n = 0;
    for i in 0..l.len() as u32 {
        let (lo, hi) = Similarity::Dice.popcount_bounds(l.popcounts[i as usize], t, bits);
        for j in 0..r.len() as u32 {
            if (same && j <= i) || !(lo..=hi).contains(&r.popcounts[j as usize]) {
                continue;
            }
            n += (0..l.functions).any(|f| rule.qualifies(l.row(i), r.row(j), f)) as u64;
        }
    }
    n
}

fn run(
    l: &BlockedSide<'_>,
    r: Option<&BlockedSide<'_>>,
    keys: usize,
    b: &BlockingOptions,
    t: f64,
) -> (Vec<Candidate>, CandidateStats, BlockingReport) {
    link_blocked(l, r, keys, &opts(t), b, &Kernel::detect(), &|_| {})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn blocked_candidates_are_exactly_the_blocked_pairs_above_the_threshold(
        seed in any::<u64>(),
        n in 1usize..70,
        m in 1usize..70,
        words in 1usize..5,
        use_keys in any::<bool>(),
        lsh_tables in 0u32..6,
        lambda in 1u32..3,
        dedup in any::<bool>(),
        t in 0.5f64..0.95,
    ) {
        let key_count = 2;
        let a = filters(n, words, seed);
        let b = filters(m, words, seed ^ 1);
        let ka = key_ids(n, key_count, 3, seed ^ 2);
        let kb = key_ids(m, key_count, 3, seed ^ 3);
        let bopts = BlockingOptions {
            keys: use_keys,
            lsh: (lsh_tables > 0).then_some(LshParams {
                tables: lsh_tables,
                bits: 6,
                lambda: lambda.min(lsh_tables),
                seed,
            }),
            oversized_share: 0.5,
        };
        let l = BlockedSide::new(&a, words, &ka, key_count, &bopts);
        let r = BlockedSide::new(&b, words, &kb, key_count, &bopts);
        let right = (!dedup).then_some(&r);
        let rule = Rule {
            keys: if use_keys { key_count } else { 0 },
            lambda: bopts.lsh.map_or(1, |p| p.lambda as usize),
        };
        let (found, stats, report) = run(&l, right, key_count, &bopts, t);
        let expected = oracle(&l, right, rule, t);
        prop_assert_eq!(&found, &expected);
        prop_assert_eq!(stats.candidates as usize, expected.len());
        // Each blocked pair compared once: at most the pairs there are, and exactly the
        // blocked pairs within the length bounds.
        prop_assert!(report.blocked_pairs <= report.total_pairs);
        prop_assert_eq!(stats.comparisons, report.blocked_pairs);
        let in_bounds = oracle_pairs(&l, right, rule, t);
        prop_assert_eq!(stats.comparisons, in_bounds);
        let pc = pair_completeness(&l, right, key_count, &opts(t), &bopts, expected.iter().map(|c| (c.a, c.b)));
        prop_assert!(expected.is_empty() || pc == Some(1.0));
    }
}

#[test]
fn one_shared_block_finds_what_exhaustive_matching_finds() {
    let words = 16;
    let (a, b) = (filters(300, words, 7), filters(250, words, 8));
    let (ka, kb) = (vec![42u64; 300], vec![42u64; 250]);
    let bopts = BlockingOptions {
        keys: true,
        lsh: None,
        oversized_share: 0.01,
    };
    let l = BlockedSide::new(&a, words, &ka, 1, &bopts);
    let r = BlockedSide::new(&b, words, &kb, 1, &bopts);
    let (found, _, report) = run(&l, Some(&r), 1, &bopts, 0.6);
    let (exhaustive, _) = candidates::link(
        &FilterSet::new(&a, words),
        &FilterSet::new(&b, words),
        &opts(0.6),
        &Kernel::detect(),
        &|_| {},
    );
    assert_eq!(found, exhaustive);
    assert!(report.blocked_pairs <= 300 * 250);
    assert_eq!(
        report.reduction_ratio,
        1.0 - report.blocked_pairs as f64 / (300.0 * 250.0)
    );
    assert_eq!(report.functions[0].blocks, 1);
    let mut sizes = vec![0; 10];
    sizes[9] = 1; // 550 records: between 512 and 1023
    assert_eq!(report.functions[0].sizes, sizes);
    assert_eq!(report.oversized, vec![("key 1".to_string(), 300, 250)]);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let words = 16;
    let a = filters(3000, words, 9);
    // The second side: near-copies of the first side's records 1000..3000 (so there are
    // matches to find), with their own keys (so that some are found only by LSH).
    let mut b = a[1000 * words..].to_vec();
    for (i, w) in b.iter_mut().enumerate() {
        *w ^= 1 << (i % 64) & if i % 5 == 0 { u64::MAX } else { 0 };
    }
    let (ka, kb) = (key_ids(3000, 2, 40, 11), key_ids(2000, 2, 40, 12));
    let bopts = BlockingOptions {
        keys: true,
        lsh: Some(LshParams::for_target(0.9, 0.5, 0.99, 3000, 2000, 5)),
        oversized_share: 0.05,
    };
    let l = BlockedSide::new(&a, words, &ka, 2, &bopts);
    let r = BlockedSide::new(&b, words, &kb, 2, &bopts);
    let in_pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run(&l, Some(&r), 2, &bopts, 0.7))
    };
    let (one, s1, r1) = in_pool(1);
    let (two, s2, r2) = in_pool(2);
    assert_eq!(one, two);
    assert_eq!(s1, s2);
    assert_eq!(r1, r2);
    assert!(!one.is_empty());
}

#[test]
fn lsh_parameters_reach_their_target() {
    for &(agree, target, n) in &[
        (0.9, 0.99, 100_000),
        (0.85, 0.95, 1_000_000),
        (0.95, 0.999, 1000),
    ] {
        let p = LshParams::for_target(agree, 0.5, target, n, n, 0);
        assert!(p.collision_probability(agree) >= target, "{p:?}");
        // One table fewer would miss the target: L is the smallest that reaches it.
        let fewer = LshParams {
            tables: p.tables - 1,
            ..p
        };
        assert!(
            p.tables == 1 || fewer.collision_probability(agree) < target,
            "{p:?}"
        );
        // Random pairs collide about once per record and table.
        let spurious = (n as f64).powi(2) * 0.5f64.powi(p.bits as i32);
        assert!(spurious <= 2.0 * n as f64, "{p:?}");
    }
    // λ-fold: needing two collisions is harder than needing one.
    let p = LshParams {
        tables: 10,
        bits: 10,
        lambda: 1,
        seed: 0,
    };
    let p2 = LshParams { lambda: 2, ..p };
    assert!(p2.collision_probability(0.9) < p.collision_probability(0.9));
    let q: f64 = 0.9f64.powi(10);
    let exact = 1.0 - (1.0 - q).powi(10) - 10.0 * q * (1.0 - q).powi(9);
    assert!((p2.collision_probability(0.9) - exact).abs() < 1e-12);
}

#[test]
fn lsh_positions_are_distinct_seeded_and_in_range() {
    let p = LshParams {
        tables: 20,
        bits: 30,
        lambda: 1,
        seed: 3,
    };
    let pos = p.positions(1024);
    assert_eq!(pos.len(), 20);
    for t in &pos {
        assert_eq!(t.len(), 30);
        assert!(t.iter().all(|&x| x < 1024));
        let mut d = t.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 30);
    }
    assert_eq!(pos, p.positions(1024));
    assert_ne!(pos, LshParams { seed: 4, ..p }.positions(1024));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Every unit of every function run one by one, in reverse order, with one scratch space
    /// and the portable kernel, then merged: what a distributed engine may do.
    #[test]
    fn units_run_anywhere_give_the_parallel_result(
        seed in any::<u64>(),
        n in 1usize..600,
        m in 1usize..600,
        use_keys in any::<bool>(),
        lsh_tables in 0u32..4,
        dedup in any::<bool>(),
        top in proptest::option::of(1usize..3),
        t in 0.5f64..0.9,
    ) {
        let (key_count, words) = (2, 4);
        let a = filters(n, words, seed);
        let b = filters(m, words, seed ^ 1);
        let ka = key_ids(n, key_count, 2, seed ^ 2);
        let kb = key_ids(m, key_count, 2, seed ^ 3);
        let bopts = BlockingOptions {
            keys: use_keys || lsh_tables == 0,
            lsh: (lsh_tables > 0).then_some(LshParams {
                tables: lsh_tables,
                bits: 4,
                lambda: 1,
                seed,
            }),
            oversized_share: 0.5,
        };
        let l = BlockedSide::new(&a, words, &ka, key_count, &bopts);
        let r = BlockedSide::new(&b, words, &kb, key_count, &bopts);
        let right = (!dedup).then_some(&r);
        let copts = CandidateOptions { top_k: top, ..opts(t) };
        let (want, _, _) = link_blocked(&l, right, key_count, &copts, &bopts, &Kernel::detect(), &|_| {});
        let kernel = Kernel::portable();
        let mut scratch = BlockScratch::default();
        let mut parts = Vec::new();
        for f in (0..l.functions()).rev() {
            let plan = FunctionPlan::new(&l, right, key_count, &copts, &bopts, f);
            for unit in plan.units.iter().rev() {
                let mut out = Vec::new();
                plan.run_unit(unit, &kernel, &mut scratch, &mut out);
                parts.push(out);
            }
        }
        prop_assert_eq!(FunctionPlan::merge(parts, &copts, dedup), want);
    }
}
