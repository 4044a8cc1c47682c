use super::*;

/// Pseudo-random filters: `n` records of `wpr` words, about `fill` of the bits set.
fn random(n: usize, wpr: usize, seed: u64) -> Vec<u64> {
    let mut s = seed;
    (0..n * wpr)
        .map(|_| {
            s = measure_mix(s);
            let a = s;
            s = measure_mix(s);
            a & s // about a quarter of the bits
        })
        .collect()
}

fn measure_mix(z: u64) -> u64 {
    let z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn identical_filters_are_high_on_frequency_similarity_and_neighbourhood() {
    let one = random(1, 16, 7);
    let words: Vec<u64> = one.iter().copied().cycle().take(16 * 500).collect();
    let a = audit_words(&words, 16, 1024, &AuditOptions::default());
    assert_eq!(a.frequency.distinct, 1);
    assert_eq!(a.frequency.top_shares[0], 1.0);
    assert_eq!(a.frequency.verdict.level, Level::High);
    assert_eq!(a.length.verdict.level, Level::Low);
    assert_eq!(a.similarity.identical_share, 1.0);
    assert_eq!(a.similarity.verdict.level, Level::High);
    assert_eq!(a.neighbourhood.verdict.level, Level::High);
    assert_eq!(a.neighbourhood.max_degree, 499);
    assert!(a.summary().starts_with("frequency high, length low"));
}

#[test]
fn random_filters_are_low_on_frequency_cooccurrence_and_similarity() {
    let words = random(2000, 16, 11);
    let a = audit_words(&words, 16, 1024, &AuditOptions::default());
    assert_eq!(a.frequency.distinct, 2000);
    assert_eq!(a.frequency.verdict.level, Level::Low);
    assert!((a.frequency.entropy_ratio - 1.0).abs() < 1e-9);
    // Independent bits over 1024 sampled records: |phi| stays well below 0.5.
    assert_eq!(
        a.cooccurrence.verdict.level,
        Level::Low,
        "{:?}",
        a.cooccurrence
    );
    assert_eq!(a.cooccurrence.sampled_records, 1024);
    assert_eq!(a.similarity.verdict.level, Level::Low);
    assert_eq!(a.neighbourhood.verdict.level, Level::Low);
}

#[test]
fn bits_always_set_together_are_found() {
    // Bits 3 and 700 are copies of bit 100: correlation 1 for both pairs.
    let mut words = random(600, 16, 5);
    for r in 0..600 {
        let w = &mut words[r * 16..(r + 1) * 16];
        let bit = w[1] >> 36 & 1; // position 100
        w[0] = (w[0] & !(1 << 3)) | bit << 3;
        w[10] = (w[10] & !(1 << 60)) | bit << 60; // position 700
    }
    let opts = AuditOptions {
        cooccurrence_bits: 1024,
        ..AuditOptions::default()
    };
    let a = audit_words(&words, 16, 1024, &opts);
    let top: Vec<(u32, u32)> = a
        .cooccurrence
        .strongest
        .iter()
        .map(|p| (p.a, p.b))
        .collect();
    assert_eq!(&top[..3], &[(3, 100), (3, 700), (100, 700)]);
    assert!((a.cooccurrence.strongest[0].phi - 1.0).abs() < 1e-9);
    assert_eq!(a.cooccurrence.verdict.level, Level::High);
}

#[test]
fn length_spread_is_judged_on_the_popcount() {
    // Balanced: every record has 256 set bits (4 full words); varied: 1 to 8 full words.
    let balanced: Vec<u64> = (0..300)
        .flat_map(|r| (0..16).map(move |w| if (w + r) % 16 < 4 { u64::MAX } else { 0 }))
        .collect();
    let a = audit_words(&balanced, 16, 1024, &AuditOptions::default());
    assert_eq!(a.length.sd, 0.0);
    assert_eq!(a.length.verdict.level, Level::Low);
    let varied: Vec<u64> = (0..300)
        .flat_map(|r| (0..16).map(move |w| if w <= r % 8 { u64::MAX ^ r as u64 } else { 0 }))
        .collect();
    let b = audit_words(&varied, 16, 1024, &AuditOptions::default());
    assert_eq!(b.length.verdict.level, Level::High);
}

#[test]
fn the_audit_is_the_same_for_any_thread_count() {
    let words = random(3000, 8, 3);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| audit_words(&words, 8, 512, &AuditOptions::default()))
    };
    let one = serde_json::to_string(&run(1)).unwrap();
    assert_eq!(one, serde_json::to_string(&run(4)).unwrap());
    // The sample depends on the data: other records give another seed.
    let other = audit_words(&random(3000, 8, 4), 8, 512, &AuditOptions::default());
    assert_ne!(run(1).sample_seed, other.sample_seed);
}

#[test]
fn empty_input_gives_an_empty_low_report() {
    let a = audit_words(&[], 16, 1024, &AuditOptions::default());
    assert_eq!(a.records, 0);
    assert_eq!(
        a.summary(),
        "frequency low, length low, co-occurrence low, similarity low, neighbourhood low"
    );
}

#[test]
fn field_filters_are_judged_field_by_field_without_missing_ones() {
    // 1,000 records of three 128-bit field filters: every record unique, but field 1 holds one
    // filter in records 0-299, of which 0-99 are flagged missing in that field.
    let (n, fields, wpf) = (1000, 3, 2);
    let mut words = random(n, fields * wpf, 11);
    let shared = random(1, wpf, 12);
    for r in 0..300 {
        words[r * fields * wpf + wpf..][..wpf].copy_from_slice(&shared);
    }
    let missing: Vec<u64> = (0..n).map(|r| u64::from(r < 100) << 1).collect();
    let whole = audit_words(&words, fields * wpf, 384, &AuditOptions::default());
    assert_eq!(
        whole.frequency.verdict.level,
        Level::Low,
        "records are unique"
    );
    let (f, freq) =
        super::measure::field_frequency(&words, fields * wpf, fields, Some(&missing), 5).unwrap();
    assert_eq!(f, 1);
    assert!(
        (freq.top_shares[0] - 200.0 / 900.0).abs() < 1e-12,
        "{:?}",
        freq.top_shares
    );
    assert_eq!(freq.verdict.level, Level::High);
    // Without the flags the empty-looking records count too.
    let (_, all) = super::measure::field_frequency(&words, fields * wpf, fields, None, 5).unwrap();
    assert!((all.top_shares[0] - 0.3).abs() < 1e-12);
}
