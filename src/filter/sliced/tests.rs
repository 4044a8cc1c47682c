use super::*;
use proptest::prelude::*;

fn filters(seed: u64, n: usize, words: usize, fill: f64) -> Vec<u64> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n * words)
        .map(|_| {
            let mut w = 0u64;
            for b in 0..64 {
                if (next() % 1000) as f64 / 1000.0 < fill {
                    w |= 1 << b;
                }
            }
            w
        })
        .collect()
}

fn counters() -> Vec<Counter> {
    let mut c = vec![Counter::Portable];
    c.extend(Counter::avx2());
    c
}

/// Every lane's pass bit against the predicate it stands for, `c >= query_bound + floor(slope *
/// pb)`, for queries of every fill (set bits summed, or clear bits).
fn check(n: usize, words: usize, fill: f64, qfill: f64, slope: f64, offset: f64, seed: u64) {
    let bits = words * 64;
    let f = filters(seed, n, words, fill);
    let q = filters(seed ^ 0xabcdef, 1, words, qfill);
    let set = SlicedSet::new(n, bits, |j, w| f[j * words + w]);
    let mut query = SlicedQuery::default();
    query.set(q.iter().copied());
    let bq = query_bound(offset, bits);
    for counter in counters() {
        for g in 0..n.div_ceil(LANES) {
            let lanes = (n - g * LANES).min(LANES);
            let pcs: Vec<u32> = (0..lanes)
                .map(|l| crate::filter::popcount(&f[(g * LANES + l) * words..][..words]))
                .collect();
            let limits = Limits::new(&pcs, bits, slope);
            let mask = counter.pass(&set, g, &query, offset, &limits);
            for (l, &pb) in pcs.iter().enumerate() {
                let b = &f[(g * LANES + l) * words..][..words];
                let c: u32 = q.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
                let want = i64::from(c) >= bq + (slope * f64::from(pb)) as i64;
                let got = mask[l / 64] >> (l % 64) & 1 == 1;
                assert_eq!(got, want, "{counter:?} group {g} lane {l}: c {c} pb {pb}");
            }
        }
    }
}

#[test]
fn the_mask_is_the_bound_on_dense_and_sparse_queries() {
    check(600, 16, 0.67, 0.7, 0.4, 270.0, 1);
    check(600, 16, 0.5, 0.3, 0.4, 100.0, 2);
    check(300, 16, 0.67, 0.67, 0.4, 250.0, 3);
}

#[test]
fn wide_filters_take_the_large_counter() {
    check(260, 32, 0.6, 0.6, 0.45, 500.0, 4);
    check(70, 32, 0.3, 0.2, 0.5, -40.0, 5);
}

#[test]
fn empty_and_full_queries() {
    for (qfill, offset) in [(0.0, 0.0), (1.0, 400.0), (0.0, -600.0), (1.0, 2000.0)] {
        check(100, 16, 0.5, qfill, 0.4, offset, 6);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn the_mask_is_the_bound(
        n in 1usize..700,
        words in prop::sample::select(vec![1usize, 2, 8, 16, 20]),
        fill in 0.0f64..1.0,
        qfill in 0.0f64..1.0,
        slope in 0.0f64..1.0,
        offset in -700.0f64..700.0,
        seed in any::<u64>(),
    ) {
        check(n, words, fill, qfill, slope, offset, seed);
    }
}
