//! The in-memory entry point: kinds of refusals, sinks, automatic thresholds.

use super::*;
use crate::io::formats::Encodings;
use crate::linkage::MatchErrorKind;
use crate::linkage::bench::pair_of_sides;
use crate::linkage::threshold::AutoOptions;

/// Two sides of random 1024-bit filters where every tenth record matches.
fn inputs(n: usize) -> Vec<MatchInput> {
    let (a, b) = pair_of_sides(n, 7);
    [("a", a), ("b", b)]
        .into_iter()
        .map(|(label, words)| {
            let data = Encodings {
                bits: 1024,
                count: (words.len() / 16) as u64,
                words,
            }
            .into_clk_data();
            MatchInput::new(label, data)
        })
        .collect()
}

fn fixed(t: f64) -> MatchOptions {
    MatchOptions {
        threshold: Threshold::Fixed(t),
        ..MatchOptions::default()
    }
}

#[test]
fn refusals_have_kinds() {
    let none = |_| {};
    let kind = |inputs, opts: &MatchOptions| {
        match_encodings(inputs, opts, None, &none)
            .unwrap_err()
            .kind()
    };
    assert_eq!(kind(Vec::new(), &fixed(0.8)), MatchErrorKind::NoInputs);
    assert_eq!(kind(inputs(50), &fixed(1.5)), MatchErrorKind::BadThreshold);
    let top0 = MatchOptions {
        top_k: Some(0),
        ..fixed(0.8)
    };
    assert_eq!(kind(inputs(50), &top0), MatchErrorKind::BadTopK);
    let mut other = inputs(50);
    other[1].data.header.key_fingerprint.0 = [1; 32];
    other[0].data.header.key_fingerprint.0 = [2; 32];
    assert_eq!(kind(other, &fixed(0.8)), MatchErrorKind::KeyMismatch);
    let mut sink = |_: [&[String]; 2], _: &[Candidate]| Ok(());
    let one = inputs(50).into_iter().take(1).collect();
    let err = match_encodings(one, &fixed(0.8), Some(&mut sink), &none).unwrap_err();
    assert_eq!(err.kind(), MatchErrorKind::SinkInputs);
}

#[test]
fn a_sink_gets_the_links_the_report_holds() {
    let none = |_| {};
    for solver in [Solver::Greedy, Solver::None] {
        let opts = MatchOptions {
            solver,
            ..fixed(0.7)
        };
        let held = match_encodings(inputs(300), &opts, None, &none).unwrap();
        let mut got = Vec::new();
        let mut sink = |_: [&[String]; 2], batch: &[Candidate]| {
            got.extend_from_slice(batch);
            Ok(())
        };
        let report = match_encodings(inputs(300), &opts, Some(&mut sink), &none).unwrap();
        let MatchResult::Pairs(mut want) = held.result else {
            panic!("two inputs give pairs")
        };
        want.sort_by(Candidate::solver_order);
        got.sort_by(Candidate::solver_order);
        assert_eq!(got, want, "{solver}");
        assert!(!want.is_empty());
        assert_eq!(report.matches, want.len() as u64);
        assert_eq!(
            matches!(report.result, MatchResult::Written { .. }),
            solver == Solver::None
        );
    }
}

#[test]
fn an_automatic_threshold_is_chosen_and_reported() {
    let opts = MatchOptions {
        threshold: Threshold::Auto(AutoOptions::default()),
        ..MatchOptions::default()
    };
    let report = match_encodings(inputs(400), &opts, None, &|_| {}).unwrap();
    let auto = report.auto.as_ref().expect("chosen");
    assert_eq!(report.threshold, auto.threshold.value);
    let fixed = match_encodings(inputs(400), &fixed(report.threshold), None, &|_| {}).unwrap();
    assert_eq!(report.id_pairs(), fixed.id_pairs());
    assert!(!fixed.id_pairs().is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["threshold"], report.threshold);
    assert!(json["threshold_auto"]["choose_s"].is_f64());
    assert_eq!(json["records"], serde_json::json!([400, 400]));
    assert!(json.get("ids").is_none());
}

#[test]
fn kind_codes_are_unique() {
    use crate::filter::kernel::KernelErrorKind;
    use crate::io::clk::ClkErrorKind;
    use crate::io::formats::ReadErrorKind;
    use crate::linkage::MatchWarningKind;
    let codes: Vec<&str> = (MatchErrorKind::ALL.iter().map(|k| k.code()))
        .chain(MatchWarningKind::ALL.iter().map(|k| k.code()))
        .chain(ClkErrorKind::ALL.iter().map(|k| k.code()))
        .chain(ReadErrorKind::ALL.iter().map(|k| k.code()))
        .chain(KernelErrorKind::ALL.iter().map(|k| k.code()))
        .collect();
    let unique: std::collections::HashSet<&str> = codes.iter().copied().collect();
    assert_eq!(unique.len(), codes.len());
}
