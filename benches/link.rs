//! Candidate generation on 20,000 x 20,000 1024-bit filters at Dice >= 0.8 and 0.85: random
//! ones (about half the bits set, every tenth pair planted as a near-copy) and realistic ones
//! (about two thirds of the bits set and shared common tokens, like clkhash CLKs of person data, where the
//! half-filter bound prunes almost nothing), and the solvers on one million candidate pairs: a
//! worst case (one giant component with many exactly equal scores) and a realistic one (small
//! groups of similar records).
//!
//! Run: `cargo bench --bench link` (or `-- realistic`, `-- solve` for one group).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pprl::filter::kernel::Kernel;
use pprl::linkage::Candidate;
use pprl::linkage::bench::{pair_of_sides, realistic_sides, time_link};
use pprl::linkage::solve;

fn candidates(c: &mut Criterion) {
    let n = 20_000;
    let (left, right) = pair_of_sides(n, 42);
    let kernel = Kernel::detect();
    let mut group = c.benchmark_group("link_20k");
    group.sample_size(10);
    group.throughput(Throughput::Elements((n * n) as u64));
    group.bench_function(kernel.name(), |b| {
        b.iter(|| {
            let r = time_link(&left, &right, 0.8, kernel);
            // The planted pairs and nothing else: fast but wrong fails.
            assert_eq!(r.stats.candidates, (n / 10) as u64);
        })
    });
    group.finish();
}

fn candidates_realistic(c: &mut Criterion) {
    let n = 20_000;
    let (left, right) = realistic_sides(n, 42);
    let kernel = Kernel::detect();
    let mut group = c.benchmark_group("link_20k_realistic");
    group.sample_size(10);
    group.throughput(Throughput::Elements((n * n) as u64));
    for threshold in [0.8, 0.85] {
        // Every kernel and scan finds the same candidates; the count pins that down here.
        let expected = time_link(&left, &right, threshold, kernel).stats.candidates;
        group.bench_function(format!("{}_{threshold}", kernel.name()), |b| {
            b.iter(|| {
                let r = time_link(&left, &right, threshold, kernel);
                assert_eq!(r.stats.candidates, expected);
            })
        });
    }
    group.finish();
}

/// A xorshift generator: the benches need reproducible inputs, not good randomness.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

fn solvers(c: &mut Criterion) {
    // One million candidates: 200,000 records per side, five partners each, random scores on
    // 2,000 levels. Almost every record is in one component, with many exactly equal scores.
    let mut next = xorshift(7);
    let sides = 200_000u64;
    let cands: Vec<Candidate> = (0..1_000_000u64)
        .map(|i| Candidate {
            a: (i / 5) as u32,
            b: (next() % sides) as u32,
            score: 0.8 + (next() % 2000) as f64 / 10_000.0,
        })
        .collect();
    let mut dedup = cands.clone();
    dedup.sort_by(|x, y| x.a.cmp(&y.a).then(x.b.cmp(&y.b)));
    dedup.dedup_by(|x, y| x.a == y.a && x.b == y.b);
    let mut group = c.benchmark_group("solve_1m");
    group.sample_size(10);
    group.throughput(Throughput::Elements(dedup.len() as u64));
    group.bench_function("greedy", |b| b.iter(|| solve::greedy(&dedup)));
    group.bench_function("optimal", |b| b.iter(|| solve::optimal(&dedup)));
    group.finish();

    let cands = realistic(500_000);
    let mut group = c.benchmark_group("solve_realistic");
    group.sample_size(10);
    group.throughput(Throughput::Elements(cands.len() as u64));
    group.bench_function("greedy", |b| b.iter(|| solve::greedy(&cands)));
    group.bench_function("optimal", |b| b.iter(|| solve::optimal(&cands)));
    group.finish();
}

/// Candidates as record linkage finds them: `n` true pairs `a = b`, the records grouped in
/// runs of 1 to 6 similar people (a family, a street), and each left record also a candidate
/// of 0 to 2 other right records of its group, at lower scores. Scores are Dice coefficients
/// `2c / (|x| + |y|)` of 1024-bit filters with 450 to 549 bits set, so equal scores are common.
fn realistic(n: u32) -> Vec<Candidate> {
    let mut next = xorshift(11);
    let mut draw = xorshift(13);
    let mut dice = move |low: f64, high: f64| {
        let sizes = 900 + draw() % 200;
        let target = low + (high - low) * (draw() % 1_000_000) as f64 / 1e6;
        2.0 * (target * sizes as f64 / 2.0).round() / sizes as f64
    };
    let mut cands = Vec::new();
    let mut start = 0;
    while start < n {
        let size = (1 + (next() % 6) as u32).min(n - start);
        for a in start..start + size {
            cands.push(Candidate {
                a,
                b: a,
                score: dice(0.85, 1.0),
            });
            for _ in 0..next() % 3 {
                let b = start + (next() % u64::from(size)) as u32;
                if b != a {
                    cands.push(Candidate {
                        a,
                        b,
                        score: dice(0.8, 0.92),
                    });
                }
            }
        }
        start += size;
    }
    cands
}

criterion_group!(benches, candidates, candidates_realistic, solvers);
criterion_main!(benches);
