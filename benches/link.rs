//! Candidate generation on 20,000 x 20,000 random 1024-bit filters (about half the bits set,
//! every tenth pair planted as a near-copy) at Dice >= 0.8, and the solvers on one million
//! candidate pairs.
//!
//! Run: `cargo bench --bench link`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pprl::filter::kernel::Kernel;
use pprl::linkage::Candidate;
use pprl::linkage::bench::{pair_of_sides, time_link};
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

fn solvers(c: &mut Criterion) {
    // One million candidates: 200,000 records per side, five partners each, random scores.
    let mut state = 7u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
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
}

criterion_group!(benches, candidates, solvers);
criterion_main!(benches);
