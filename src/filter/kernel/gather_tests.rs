//! [`Kernel::add_counts_at`] (the survivors' unread words) checked against a naive oracle for
//! every kind this CPU supports: random words, widths of 1 to 12 words (the 4- and 8-word
//! loops and the general one), offsets within a stride, repeated and unordered indices, and
//! counts that are added to rather than overwritten.

use proptest::prelude::*;

use super::{Kernel, KernelKind};

/// `out[k] + popcount(query & filter at at[k])`, bit by bit.
fn oracle(
    query: &[u64],
    block: &[u64],
    stride: usize,
    offset: usize,
    at: &[u32],
    out: &[u32],
) -> Vec<u32> {
    at.iter()
        .zip(out)
        .map(|(&i, &before)| {
            let f = &block[i as usize * stride + offset..][..query.len()];
            let mut n = before;
            for (q, w) in query.iter().zip(f) {
                for bit in 0..64 {
                    n += u32::from((q >> bit) & (w >> bit) & 1 == 1);
                }
            }
            n
        })
        .collect()
}

#[test]
#[cfg(not(miri))]
fn add_counts_at_matches_oracle() {
    let inputs = (1usize..=12, 0usize..4, 1usize..20).prop_flat_map(|(w, extra, n)| {
        let stride = w + extra;
        (
            Just((w, stride, n)),
            0..=extra,
            proptest::collection::vec(any::<u64>(), w),
            proptest::collection::vec(any::<u64>(), stride * n),
            proptest::collection::vec((0..n as u32, 0u32..1000), 0..30),
        )
    });
    let config = ProptestConfig {
        source_file: Some(file!()),
        ..ProptestConfig::default()
    };
    for kind in KernelKind::ALL {
        let Some(kernel) = Kernel::new(kind) else {
            eprintln!("SKIPPED add_counts_at {kind}: this CPU does not support it");
            continue;
        };
        let result = proptest::test_runner::TestRunner::new(config.clone()).run(
            &inputs,
            |((_, stride, _), offset, query, block, picks)| {
                let at: Vec<u32> = picks.iter().map(|p| p.0).collect();
                let mut out: Vec<u32> = picks.iter().map(|p| p.1).collect();
                let expected = oracle(&query, &block, stride, offset, &at, &out);
                kernel.add_counts_at(&query, &block, stride, offset, &at, &mut out);
                prop_assert_eq!(out, expected, "kernel {}", kind);
                Ok(())
            },
        );
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

#[test]
#[should_panic(expected = "every index is a filter of the block")]
fn add_counts_at_rejects_an_index_past_the_block() {
    let block = vec![0u64; 8];
    Kernel::detect().add_counts_at(&[1, 2], &block, 4, 0, &[2], &mut [0]);
}

#[test]
#[should_panic(expected = "within the stride")]
fn add_counts_at_rejects_words_past_the_stride() {
    let block = vec![0u64; 8];
    Kernel::detect().add_counts_at(&[1, 2], &block, 4, 3, &[0], &mut [0]);
}
