//! [`Kernel::select_split`] (the fused scan step) checked against a bit-by-bit oracle for every
//! kind this CPU supports: the shapes the vector kinds specialise (halves of 4, 8 and 16 words,
//! every counted prefix of them) and general ones (odd halves, no back half), block sizes that
//! leave every remainder of four and eight filters, dense and sparse words, and bounds that
//! let none, some or all filters through, including counts exactly on the bound.

use proptest::prelude::*;

use super::{Kernel, KernelKind, LinearBound};

/// `popcount(a & b)`, bit by bit.
fn bits(a: &[u64], b: &[u64]) -> u32 {
    let mut n = 0;
    for (x, y) in a.iter().zip(b) {
        for bit in 0..64 {
            n += u32::from((x >> bit) & (y >> bit) & 1 == 1);
        }
    }
    n
}

/// The selected `(position, whole-filter count)` pairs, in order.
#[allow(clippy::too_many_arguments)]
fn oracle(
    qf: &[u64],
    qb: &[u64],
    front: &[u64],
    back: &[u64],
    back_pcs: &[u8],
    counted: usize,
    popcounts: &[u32],
    bound: LinearBound,
) -> Vec<(u32, u32)> {
    let (fw, bw) = (qf.len(), qb.len());
    let mut out = Vec::new();
    for (j, &p) in popcounts.iter().enumerate() {
        let (f, b) = (&front[j * fw..(j + 1) * fw], &back[j * bw..(j + 1) * bw]);
        let prefix = bits(qf, f) + bits(&qb[..counted], &b[..counted]);
        // What each uncounted word can add: the smaller of the two words' popcounts.
        let rest: u32 = (counted..bw)
            .map(|k| {
                let q = bits(&qb[k..=k], &[u64::MAX]);
                let p = back_pcs.get(j * bw + k).map_or(64, |&p| u32::from(p));
                q.min(p)
            })
            .sum();
        // The bound as specified: product rounded, then the sum, in f32.
        let limit = bound.offset + bound.slope * p as f32;
        if (prefix + rest) as f32 >= limit {
            out.push((j as u32, prefix + bits(&qb[counted..], &b[counted..])));
        }
    }
    out
}

/// Words with a density of one in four (`0`), one in two (`1`) or three in four (`2`).
fn word(raw: (u64, u64), density: u8) -> u64 {
    match density {
        0 => raw.0 & raw.1,
        1 => raw.0,
        _ => raw.0 | raw.1,
    }
}

fn shapes() -> impl Strategy<Value = (usize, usize, usize)> {
    let specialised = proptest::sample::select(vec![(4usize, 4usize), (8, 8), (16, 16)]);
    let general = proptest::sample::select(vec![(1usize, 1usize), (3, 3), (5, 0), (8, 0), (2, 6)]);
    prop_oneof![3 => specialised, 1 => general]
        .prop_flat_map(|(fw, bw)| (Just(fw), Just(bw), 0..=bw))
}

#[test]
#[cfg(not(miri))]
fn select_matches_oracle() {
    let inputs = (shapes(), 0usize..40, 0u8..3).prop_flat_map(|((fw, bw, counted), m, density)| {
        let w = fw + bw;
        (
            Just((fw, bw, counted, density)),
            proptest::collection::vec((any::<u64>(), any::<u64>()), w),
            proptest::collection::vec((any::<u64>(), any::<u64>()), w * m),
            // Where the bound sits: a share of the prefix bits, and a slope.
            (
                0.0f32..1.0,
                proptest::sample::select(vec![0.0f32, 0.4, 0.5, 0.8]),
            ),
            // Or exactly on the count of one filter (slope 0): the `>=` edge.
            proptest::option::of(0..m.max(1)),
            // Partner back-word popcounts given, or not.
            any::<bool>(),
        )
    });
    let config = ProptestConfig {
        source_file: Some(file!()),
        cases: 512,
        ..ProptestConfig::default()
    };
    for kind in KernelKind::ALL {
        let Some(kernel) = Kernel::new(kind) else {
            eprintln!("SKIPPED select_split {kind}: this CPU does not support it");
            continue;
        };
        // Cases where the bound let some filters through and stopped others: the test must
        // exercise both sides of it.
        let partial = std::cell::Cell::new(0u32);
        let result = proptest::test_runner::TestRunner::new(config.clone()).run(
            &inputs,
            |((fw, bw, counted, density), q, filters, (share, slope), edge, with_pcs)| {
                let w = fw + bw;
                let q: Vec<u64> = q.iter().map(|&r| word(r, density)).collect();
                let filters: Vec<u64> = filters.iter().map(|&r| word(r, density)).collect();
                let m = filters.len() / w;
                let (qf, qb) = q.split_at(fw);
                let mut front = Vec::with_capacity(m * fw);
                let mut back = Vec::with_capacity(m * bw);
                for f in filters.chunks_exact(w) {
                    front.extend_from_slice(&f[..fw]);
                    back.extend_from_slice(&f[fw..]);
                }
                let popcounts: Vec<u32> = filters
                    .chunks_exact(w)
                    .map(|f| f.iter().map(|x| x.count_ones()).sum())
                    .collect();
                let back_pcs: Vec<u8> = if with_pcs {
                    back.iter().map(|w| w.count_ones() as u8).collect()
                } else {
                    Vec::new()
                };
                let prefix_bits = ((fw + counted) * 64) as f32;
                let bound = match edge {
                    Some(k) if k < m => {
                        let prefix = bits(qf, &front[k * fw..(k + 1) * fw])
                            + bits(&qb[..counted], &back[k * bw..k * bw + counted]);
                        // The bound exactly at filter k's prefix plus rest bound.
                        let rest: u32 = (counted..bw)
                            .map(|i| {
                                let q = qb[i].count_ones();
                                back_pcs.get(k * bw + i).map_or(q, |&p| q.min(u32::from(p)))
                            })
                            .sum();
                        LinearBound {
                            offset: (prefix + rest) as f32,
                            slope: 0.0,
                        }
                    }
                    _ => LinearBound {
                        offset: share * prefix_bits * 0.6 - slope * 0.3 * (w * 64) as f32,
                        slope,
                    },
                };
                let expected = oracle(qf, qb, &front, &back, &back_pcs, counted, &popcounts, bound);
                let (mut at, mut common) = (vec![u32::MAX; m], vec![u32::MAX; m]);
                let n = kernel.select_split(
                    qf,
                    qb,
                    &front,
                    &back,
                    &back_pcs,
                    counted,
                    &popcounts,
                    bound,
                    &mut at,
                    &mut common,
                );
                let got: Vec<(u32, u32)> = at[..n]
                    .iter()
                    .copied()
                    .zip(common[..n].iter().copied())
                    .collect();
                prop_assert_eq!(
                    got,
                    expected,
                    "kernel {} shape {:?}",
                    kind,
                    (fw, bw, counted)
                );
                partial.set(partial.get() + u32::from(n > 0 && n < m));
                Ok(())
            },
        );
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(
            partial.get() >= config.cases / 8,
            "kernel {kind}: only {} of {} cases split the block",
            partial.get(),
            config.cases
        );
    }
}

#[test]
fn a_bound_of_all_passes_everything() {
    let filters: Vec<u64> = (0..7 * 16)
        .map(|i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let (mut front, mut back) = (Vec::new(), Vec::new());
    for f in filters.chunks_exact(16) {
        front.extend_from_slice(&f[..8]);
        back.extend_from_slice(&f[8..]);
    }
    let q = &filters[..16];
    for kernel in Kernel::available().into_iter().filter_map(Kernel::new) {
        let (mut at, mut common) = (vec![0; 7], vec![0; 7]);
        let n = kernel.select_split(
            &q[..8],
            &q[8..],
            &front,
            &back,
            &[],
            4,
            &[500; 7],
            LinearBound::ALL,
            &mut at,
            &mut common,
        );
        assert_eq!(n, 7, "kernel {}", kernel.name());
        assert_eq!(at, [0, 1, 2, 3, 4, 5, 6]);
        let whole: Vec<u32> = filters
            .chunks_exact(16)
            .map(|f| f.iter().zip(q).map(|(a, b)| (a & b).count_ones()).sum())
            .collect();
        assert_eq!(common, whole, "kernel {}", kernel.name());
    }
}

#[test]
#[should_panic(expected = "room for every filter")]
fn select_rejects_short_outputs() {
    let (front, back) = (vec![0u64; 16], vec![0u64; 16]);
    Kernel::detect().select_split(
        &[0; 8],
        &[0; 8],
        &front,
        &back,
        &[],
        0,
        &[0, 0],
        LinearBound::ALL,
        &mut [0],
        &mut [0, 0],
    );
}

#[test]
#[should_panic(expected = "counted words within the back half")]
fn select_rejects_a_prefix_past_the_back() {
    Kernel::detect().select_split(
        &[0; 8],
        &[0; 8],
        &[0; 8],
        &[0; 8],
        &[],
        9,
        &[0],
        LinearBound::ALL,
        &mut [0],
        &mut [0],
    );
}
