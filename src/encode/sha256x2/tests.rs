//! The kernels against `sha2` on pseudo-random and property-tested inputs, on both the
//! accelerated and the portable path, and a throughput check.
#![allow(unsafe_code)] // Calls the kernels directly.

use super::*;

/// Two `sha2` calls: the reference.
fn reference(
    a: &[u32; 8],
    block_a: &[u8; 64],
    b: &[u32; 8],
    block_b: &[u8; 64],
) -> ([u32; 8], [u32; 8]) {
    let (mut ra, mut rb) = (*a, *b);
    sha2::block_api::compress256(&mut ra, &[*block_a]);
    sha2::block_api::compress256(&mut rb, &[*block_b]);
    (ra, rb)
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn state(&mut self) -> [u32; 8] {
        core::array::from_fn(|_| self.next() as u32)
    }

    fn block(&mut self) -> [u8; 64] {
        core::array::from_fn(|_| self.next() as u8)
    }
}

type Compress = fn(&mut [u32; 8], &[u8; 64], &mut [u32; 8], &[u8; 64]);

/// Checks `f` against `sha2` on thousands of pseudo-random pairs, equal lanes included.
fn check_many(f: Compress) {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for i in 0..5000 {
        let a0 = rng.state();
        let block_a = rng.block();
        let (b0, block_b) = match i % 4 {
            0 => (a0, block_a),          // both lanes equal
            1 => (a0, rng.block()),      // same state, different block
            2 => (rng.state(), block_a), // different state, same block
            _ => (rng.state(), rng.block()),
        };
        let (ea, eb) = reference(&a0, &block_a, &b0, &block_b);
        let (mut a, mut b) = (a0, b0);
        f(&mut a, &block_a, &mut b, &block_b);
        assert_eq!((a, b), (ea, eb), "case {i}");
    }
}

#[test]
fn public_matches_sha2() {
    check_many(compress256_x2);
}

#[test]
fn portable_matches_sha2() {
    check_many(compress256_x2_portable);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn accelerated_matches_sha2() {
    if !is_accelerated() {
        eprintln!("SHA-NI not available; accelerated path not tested");
        return;
    }
    check_many(|a, block_a, b, block_b| {
        // SAFETY: `is_accelerated()` returned true above, so the CPU has the features.
        unsafe { x86::compress256_x2_shani(a, block_a, b, block_b) }
    });
}

#[test]
fn sha256_of_abc() {
    // FIPS 180-2 example: SHA-256("abc"), one padded block, in both lanes.
    let mut block = [0u8; 64];
    block[..3].copy_from_slice(b"abc");
    block[3] = 0x80;
    block[63] = 24;
    const IV: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let expected = [
        0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
        0xf20015ad,
    ];
    let (mut a, mut b) = (IV, [0u32; 8]);
    compress256_x2(&mut a, &block, &mut b, &block);
    assert_eq!(a, expected);
    let (_, eb) = reference(&IV, &block, &[0u32; 8], &block);
    assert_eq!(b, eb);
    let (mut c, mut d) = (IV, IV);
    compress256_x2(&mut c, &block, &mut d, &block);
    assert_eq!((c, d), (expected, expected));
}

fn to_block(v: &[u8]) -> [u8; 64] {
    v.try_into().expect("64 bytes")
}

proptest::proptest! {
    #[test]
    fn prop_matches_sha2(
        a in proptest::array::uniform8(proptest::prelude::any::<u32>()),
        b in proptest::array::uniform8(proptest::prelude::any::<u32>()),
        block_a in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
        block_b in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
    ) {
        let (block_a, block_b) = (to_block(&block_a), to_block(&block_b));
        let (ea, eb) = reference(&a, &block_a, &b, &block_b);
        let (mut ra, mut rb) = (a, b);
        compress256_x2(&mut ra, &block_a, &mut rb, &block_b);
        proptest::prop_assert_eq!((ra, rb), (ea, eb));
        let (mut pa, mut pb) = (a, b);
        compress256_x2_portable(&mut pa, &block_a, &mut pb, &block_b);
        proptest::prop_assert_eq!((pa, pb), (ea, eb));
    }
}

/// Four `sha2` calls: the reference for the four-lane functions.
fn reference_x4(states: &[[u32; 8]; 4], blocks: &[[u8; 64]; 4]) -> [[u32; 8]; 4] {
    let mut r = *states;
    for (s, b) in r.iter_mut().zip(blocks) {
        sha2::block_api::compress256(s, &[*b]);
    }
    r
}

type Compress4 = fn(&mut [[u32; 8]; 4], &[[u8; 64]; 4]);

/// Checks `f` against `sha2` on thousands of pseudo-random quadruples, with all, some or
/// none of the lanes sharing their state and/or block.
fn check_many_x4(f: Compress4) {
    let mut rng = Rng(0x5EED_1234_ABCD_0004);
    for i in 0..8000 {
        let mut states: [[u32; 8]; 4] = core::array::from_fn(|_| rng.state());
        let mut blocks: [[u8; 64]; 4] = core::array::from_fn(|_| rng.block());
        // Bits 0..3 of the case number: which lanes copy lane 0's state; bits 3..6: which
        // copy its block. Covers all equal, partly equal and all different.
        let (state_mask, block_mask) = (i % 8, (i / 8) % 8);
        for l in 1..4 {
            if state_mask >> (l - 1) & 1 == 1 {
                states[l] = states[0];
            }
            if block_mask >> (l - 1) & 1 == 1 {
                blocks[l] = blocks[0];
            }
        }
        let expected = reference_x4(&states, &blocks);
        f(&mut states, &blocks);
        assert_eq!(states, expected, "case {i}");
    }
}

#[test]
fn x4_public_matches_sha2() {
    check_many_x4(compress256_x4);
}

#[test]
fn x4_portable_matches_sha2() {
    check_many_x4(compress256_x4_portable);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x4_accelerated_matches_sha2() {
    if !is_accelerated() {
        eprintln!("SHA-NI not available; accelerated x4 path not tested");
        return;
    }
    check_many_x4(|states, blocks| {
        // SAFETY: `is_accelerated()` returned true above, so the CPU has the features.
        unsafe { x86::compress256_x4_shani(states, blocks) }
    });
}

#[test]
fn x4_sha256_of_abc() {
    // FIPS 180-2 example: SHA-256("abc") in lanes 0 and 2, other states in lanes 1 and 3.
    let mut block = [0u8; 64];
    block[..3].copy_from_slice(b"abc");
    block[3] = 0x80;
    block[63] = 24;
    const IV: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let expected = [
        0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
        0xf20015ad,
    ];
    let states = [IV, [0u32; 8], IV, [u32::MAX; 8]];
    let blocks = [block; 4];
    let mut out = states;
    compress256_x4(&mut out, &blocks);
    assert_eq!(out[0], expected);
    assert_eq!(out[2], expected);
    assert_eq!(out, reference_x4(&states, &blocks));
}

proptest::proptest! {
    #[test]
    fn prop_x4_matches_sha2(
        states in proptest::array::uniform4(
            proptest::array::uniform8(proptest::prelude::any::<u32>())),
        blocks in proptest::array::uniform4(
            proptest::collection::vec(proptest::prelude::any::<u8>(), 64)),
    ) {
        let blocks: [[u8; 64]; 4] = core::array::from_fn(|l| to_block(&blocks[l]));
        let expected = reference_x4(&states, &blocks);
        let mut r = states;
        compress256_x4(&mut r, &blocks);
        proptest::prop_assert_eq!(r, expected);
        let mut p = states;
        compress256_x4_portable(&mut p, &blocks);
        proptest::prop_assert_eq!(p, expected);
    }
}

/// Throughput check, not part of the normal suite: run with
/// `cargo test --release --lib sha256x2 -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run by hand in release mode"]
fn bench_throughput() {
    use std::hint::black_box;
    use std::time::Instant;
    const N: u32 = 2_000_000;
    let mut rng = Rng(42);
    let blocks: Vec<[u8; 64]> = (0..64).map(|_| rng.block()).collect();
    for _ in 0..3 {
        // sha2, one compression at a time, each depending on the previous state.
        let mut s = rng.state();
        let t = Instant::now();
        for i in 0..N {
            sha2::block_api::compress256(&mut s, &[blocks[(i & 63) as usize]]);
        }
        let single = t.elapsed().as_nanos() as f64 / f64::from(N);
        black_box(s);

        // sha2, two independent chains per iteration (what the portable path does).
        let (mut s1, mut s2) = (rng.state(), rng.state());
        let t = Instant::now();
        for i in 0..N / 2 {
            let i = (i & 63) as usize;
            compress256_x2_portable(&mut s1, &blocks[i], &mut s2, &blocks[i ^ 1]);
        }
        let pair_sha2 = t.elapsed().as_nanos() as f64 / f64::from(N);
        black_box((s1, s2));

        // compress256_x2, two chains, N compressions in all.
        let (mut s1, mut s2) = (rng.state(), rng.state());
        let t = Instant::now();
        for i in 0..N / 2 {
            let i = (i & 63) as usize;
            compress256_x2(&mut s1, &blocks[i], &mut s2, &blocks[i ^ 1]);
        }
        let x2 = t.elapsed().as_nanos() as f64 / f64::from(N);
        black_box((s1, s2));

        // compress256_x2 twice per iteration: four chains.
        let (mut s1, mut s2, mut s3, mut s4) = (rng.state(), rng.state(), rng.state(), rng.state());
        let t = Instant::now();
        for i in 0..N / 4 {
            let i = (i & 63) as usize;
            compress256_x2(&mut s1, &blocks[i], &mut s2, &blocks[i ^ 1]);
            compress256_x2(&mut s3, &blocks[i ^ 2], &mut s4, &blocks[i ^ 3]);
        }
        let two_x2 = t.elapsed().as_nanos() as f64 / f64::from(N);
        black_box((s1, s2, s3, s4));

        // compress256_x4 and its portable path: four chains, N compressions in all.
        let mut x4_runs = [0.0; 2];
        for (run, f) in x4_runs.iter_mut().zip([
            compress256_x4 as fn(&mut [[u32; 8]; 4], &[[u8; 64]; 4]),
            compress256_x4_portable,
        ]) {
            let mut ss: [[u32; 8]; 4] = core::array::from_fn(|_| rng.state());
            let t = Instant::now();
            for i in 0..N / 4 {
                let i = (i & 63) as usize;
                let bs = [blocks[i], blocks[i ^ 1], blocks[i ^ 2], blocks[i ^ 3]];
                f(&mut ss, &bs);
            }
            *run = t.elapsed().as_nanos() as f64 / f64::from(N);
            black_box(ss);
        }
        let [x4, quad_sha2] = x4_runs;

        println!(
            "accelerated={} ns/compression: sha2 single {single:.2}; sha2 x2 (portable) \
             {pair_sha2:.2}; compress256_x2 {x2:.2} (speed-up {:.2}x); two compress256_x2 \
             calls {two_x2:.2}; sha2 x4 (portable) {quad_sha2:.2}; compress256_x4 {x4:.2} \
             (speed-up {:.2}x)",
            is_accelerated(),
            single / x2,
            single / x4,
        );
    }
}
