//! Throughput of agreement-pattern counting and of EM (issue 17's targets: >= 50 M pairs/s per
//! core, EM under a second): random field-layout records, `PAIRS` random candidate pairs,
//! counted on one thread, then EM on the counts.
//!
//! ```text
//! cargo run --release --example fs_count -- [PAIRS] [FIELDS] [WORDS_PER_FIELD] [sorted|random|blocked] [RECORDS] [KERNEL]
//! ```
//!
//! `sorted` and `random`: unrelated pairs, sorted by left record or not (every field at its
//! lowest level, the case of exhaustive candidates and of `u` sampling); `blocked`: sorted
//! pairs that share field 0, drawn from 64 values on both sides, as pairs from blocking on a
//! field are (no pair at the lowest level everywhere: the counter reads every level row).
//! `KERNEL`: `portable`, `popcnt`, `avx2` or `avx512`; default: the best this CPU supports.

use std::time::Instant;

use pprl::filter::fields::FieldCounter;

use pprl::linkage::fs::{
    EmSettings, FieldLevels, FieldRecords, FsParams, count_pairs_with, expectation_maximisation,
};

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (pairs_n, fields_n, words) = (arg(1, 10_000_000), arg(2, 5), arg(3, 8));
    let records = arg(5, 100_000);
    let mut state = 0x1234_5678_u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let order = std::env::args().nth(4).unwrap_or_else(|| "sorted".into());
    let blocked = order == "blocked";
    const BLOCKS: usize = 64;
    let values: Vec<u64> = (0..BLOCKS * words).map(|_| next() & next()).collect();
    let mut side = || -> Vec<u64> {
        let mut words_of = Vec::with_capacity(records * fields_n * words);
        for r in 0..records {
            for f in 0..fields_n {
                for w in 0..words {
                    let shared = values[(r % BLOCKS) * words + w];
                    words_of.push(if blocked && f == 0 {
                        shared
                    } else {
                        next() & next()
                    });
                }
            }
        }
        words_of
    };
    let (left, right) = (side(), side());
    let mut pairs: Vec<(u32, u32)> = (0..pairs_n)
        .map(|_| {
            let a = (next() % records as u64) as usize;
            let b = (next() % records as u64) as usize;
            // Blocked: a record of `b`'s neighbourhood in `a`'s block.
            let b = match b - b % BLOCKS + a % BLOCKS {
                _ if !blocked => b,
                within if within < records => within,
                past => past - BLOCKS,
            };
            (a as u32, b as u32)
        })
        .collect();
    // Candidates come from the matcher grouped by the left record; "random" keeps them shuffled.
    if order != "random" {
        pairs.sort_unstable();
    }
    let fields: Vec<FieldLevels> = (0..fields_n)
        .map(|f| FieldLevels::with_defaults(format!("f{f}")))
        .collect();
    let l = FieldRecords::new(&left, fields_n, words, None).unwrap();
    let r = FieldRecords::new(&right, fields_n, words, None).unwrap();
    let counter = match std::env::args().nth(6) {
        Some(name) => FieldCounter::by_name(&name).unwrap_or_else(|| {
            eprintln!("kernel {name} is unknown or not supported by this CPU");
            std::process::exit(2)
        }),
        None => FieldCounter::detect(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let counts = pool.install(|| count_pairs_with(counter, &fields, &l, &r, &pairs).unwrap());
    let (secs, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "count: {pairs_n} {order} pairs of {records} x {records} records, {fields_n} fields x {words} words, {} kernel, 1 thread: \
         {secs:.3} s wall, {cpu:.2} s CPU = {:.1} M pairs/s per CPU second",
        counter.name(),
        pairs_n as f64 / cpu / 1e6
    );
    let start = FsParams::starting(fields, 0.01).unwrap();
    let settings = EmSettings {
        estimate_u: true,
        max_iterations: 100,
        ..EmSettings::default()
    };
    let started = Instant::now();
    let report = expectation_maximisation(&counts, &start, &settings).unwrap();
    println!(
        "em: {} iterations (converged: {}) on {} patterns seen: {:.4} s",
        report.iterations,
        report.converged,
        counts.nonzero().count(),
        started.elapsed().as_secs_f64()
    );
}

/// This process's user + system CPU seconds (from `/proc/self/stat`, 100 ticks a second; 0 where
/// there is no `/proc`): on a shared machine, CPU time is the fair measure of one thread's work.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}
