//! Probabilistic linkage's inner loops (issue 17's targets: agreement-pattern counting at
//! 50 M pairs/s per core or more, EM on the counts under a second): 5,000 records a side of eight
//! 512-bit field filters with about 14% of their bits set (the fill of
//! `examples/febrl_fields.toml` before hardening), every tenth right record a near-copy of a
//! left one, one million candidate pairs sorted by left record (the matcher's order), counted on
//! one thread; then EM (u and m) on those counts.
//!
//! Run: `cargo bench --bench fs` (the `fs_count` example measures larger shapes from the shell).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pprl::linkage::fs::{
    EmSettings, FieldLevels, FieldRecords, FsParams, count_pairs, expectation_maximisation,
};

const RECORDS: usize = 5_000;
const FIELDS: usize = 8;
const WORDS: usize = 8;
const PAIRS: usize = 1_000_000;

/// SplitMix64 from `seed`.
fn stream(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The two sides and the pairs: about 14% fill (three random words ANDed ~ 12.5%), right
/// record `10k` a copy of left record `10k` with one word of one field changed.
fn inputs() -> (Vec<u64>, Vec<u64>, Vec<(u32, u32)>) {
    let mut next = stream(17);
    let record = FIELDS * WORDS;
    let left: Vec<u64> = (0..RECORDS * record)
        .map(|_| next() & next() & (next() | next() >> 3))
        .collect();
    let mut right: Vec<u64> = (0..RECORDS * record)
        .map(|_| next() & next() & (next() | next() >> 3))
        .collect();
    for r in (0..RECORDS).step_by(10) {
        right[r * record..(r + 1) * record].copy_from_slice(&left[r * record..(r + 1) * record]);
        right[r * record + (r % FIELDS) * WORDS] ^= next() & next();
    }
    let mut pairs: Vec<(u32, u32)> = (0..PAIRS)
        .map(|_| {
            (
                (next() % RECORDS as u64) as u32,
                (next() % RECORDS as u64) as u32,
            )
        })
        .chain((0..RECORDS as u32).step_by(10).map(|r| (r, r)))
        .collect();
    pairs.sort_unstable();
    (left, right, pairs)
}

fn counting(c: &mut Criterion) {
    let (left, right, pairs) = inputs();
    let fields: Vec<FieldLevels> = (0..FIELDS)
        .map(|f| FieldLevels::with_defaults(format!("f{f}")))
        .collect();
    let l = FieldRecords::new(&left, FIELDS, WORDS, None).unwrap();
    let r = FieldRecords::new(&right, FIELDS, WORDS, None).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    // The pairs of a left record and its near-copy (planted, or drawn at random).
    let planted = pairs.iter().filter(|(a, b)| a == b && a % 10 == 0).count() as u64;
    let mut group = c.benchmark_group("fs_count");
    group.sample_size(10);
    group.throughput(Throughput::Elements(pairs.len() as u64));
    group.bench_function("8x512_1thread", |b| {
        b.iter(|| {
            let counts = one.install(|| count_pairs(&fields, &l, &r, &pairs).unwrap());
            // Every pair counted, and the planted copies agree exactly on seven fields.
            assert_eq!(counts.total(), pairs.len() as u64);
            let copies: u64 = counts
                .nonzero()
                .filter(|(i, _)| counts.pattern(*i).iter().filter(|l| **l == 1).count() >= 7)
                .map(|(_, n)| n)
                .sum();
            assert_eq!(copies, planted);
            counts
        })
    });
    group.finish();

    let counts = count_pairs(&fields, &l, &r, &pairs).unwrap();
    let start = FsParams::starting(fields, 0.001).unwrap();
    let settings = EmSettings {
        estimate_u: true,
        max_iterations: 100,
        ..EmSettings::default()
    };
    c.bench_function("fs_em_8_fields", |b| {
        b.iter(|| expectation_maximisation(&counts, &start, &settings).unwrap())
    });
}

criterion_group!(benches, counting);
criterion_main!(benches);
