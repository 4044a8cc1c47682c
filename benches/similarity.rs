//! Popcount kernels: comparisons (|A & B| of two 1024-bit filters) per second, one query
//! against an L2-sized tile of 2,048 filters, single thread, one bench per available kernel
//! (the portable one included, as the baseline).
//!
//! Run: `cargo bench --bench similarity`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pprl::filter::kernel::Kernel;
use pprl::linkage::bench::random_filters;

fn kernels(c: &mut Criterion) {
    let words = 16;
    let tile = 2048;
    let queries = random_filters(64, words, 1);
    let block = random_filters(tile, words, 2);
    let mut out = vec![0u32; tile];
    let mut group = c.benchmark_group("and_counts_1024bit");
    group.throughput(Throughput::Elements((queries.len() / words * tile) as u64));
    let mut reference = None;
    for kind in Kernel::available() {
        let kernel = Kernel::new(kind).expect("available");
        // Every kernel must agree with the first (the portable one): fast but wrong fails.
        kernel.and_counts(&queries[..words], &block, words, &mut out);
        let sum: u64 = out.iter().map(|&c| u64::from(c)).sum();
        assert_eq!(sum, *reference.get_or_insert(sum), "{}", kernel.name());
        group.bench_function(kernel.name(), |b| {
            b.iter(|| {
                for q in queries.chunks(words) {
                    kernel.and_counts(q, &block, words, &mut out);
                    black_box(&out);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
