//! Attack regression tests: floors measured on small synthetic populations (see
//! docs/attacks.md for the commands and figures at larger sizes).

use super::*;

fn schema(layout: &str, fields: &[&str]) -> Schema {
    let mut toml = format!(
        "version = 1\nid_column = \"record_id\"\n[filter]\nlayout = \"{layout}\"\nlength_bits = 1024\n"
    );
    for f in fields {
        let (tok, k) = match *f {
            "date_of_birth" => (
                "normalize = [{ date = { formats = [\"%d/%m/%Y\", \"%Y-%m-%d\"] } }]\ntokenizer = { kind = \"date\" }",
                20,
            ),
            "sex" => (
                "normalize = [\"casefold\"]\ntokenizer = { kind = \"exact\" }",
                10,
            ),
            _ => (
                "normalize = [\"nfkc\", \"casefold\", \"strip-diacritics\", \"strip-punctuation\", \"collapse-whitespace\"]\ntokenizer = { kind = \"qgram\", q = 2, padding = true }",
                20,
            ),
        };
        toml.push_str(&format!(
            "[[fields]]\nname = \"{f}\"\n{tok}\nbits_per_token = {k}\n"
        ));
    }
    Schema::from_toml_str(&toml).unwrap()
}

fn sim(records: u64, overlap: f64, fields: &[&str]) -> Simulation {
    Simulation {
        records,
        overlap,
        corruption: CorruptionLevel::Low,
        seed: 7,
        fields: fields.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn outcomes_follow_the_anu_scoring() {
    use score::outcome;
    assert_eq!(outcome(3, &[3], 10), Outcome::Correct1To1);
    assert_eq!(outcome(3, &[1, 3], 10), Outcome::Correct1ToM);
    assert_eq!(outcome(3, &[1, 2], 10), Outcome::Wrong);
    assert_eq!(outcome(3, &[], 10), Outcome::NoGuess);
    assert_eq!(outcome(3, &[1, 2, 3], 2), Outcome::NoGuess);
}

#[test]
fn true_positions_are_set_in_every_filter_holding_the_token() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(300, 1.0, &["given_name"])).unwrap();
    let truth = data.true_positions.as_ref().unwrap();
    let top = data.top_token().unwrap();
    let real = truth[top as usize].as_ref().unwrap();
    assert_eq!(real.len(), 20);
    let token = &data.tokens[top as usize]["given_name:".len()..];
    let mut holding = 0;
    for (i, t) in data.truth.iter().enumerate() {
        let value = &data.values[t.unwrap() as usize];
        if format!("_{value}_").contains(token) {
            holding += 1;
            let set = data::ones(data.filters.get(i));
            for p in real {
                assert!(set.binary_search(p).is_ok(), "{value} {token} {p}");
            }
        }
    }
    assert!(holding > 10);
}

/// Measured 2026-12-03 (debug and release alike, the result is deterministic): field-level
/// given names, 2,000 records each side, full overlap, low corruption, seed 7: 8 ranks aligned
/// by count, 278 filters aligned after the bootstrap, all right; all 20 of the most frequent
/// values correct 1-1, 1,890 records correct 1-1, none wrong; every claimed position right.
/// (Before the bootstrap, stopping at the first tie: 6 of 20, 276 records.)
#[test]
fn frequency_attack_reidentifies_frequent_first_names() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(2_000, 1.0, &["given_name"])).unwrap();
    let r = run(AttackKind::Frequency, &data, &AttackSettings::default()).unwrap();
    eprintln!("{:?} {:?}", r.scores.top_values, r.details);
    assert_eq!(
        r.scores.top_values.correct_1_1, 20,
        "{:?}",
        r.scores.top_values
    );
    assert!(
        r.scores.per_record.correct_1_1 >= 1_890,
        "{:?}",
        r.scores.per_record
    );
    assert_eq!(r.scores.per_record.wrong, 0, "{:?}", r.scores.per_record);
    let p = r.positions.unwrap();
    assert_eq!(p.precision, 1.0, "{p:?}");
    assert!(p.tokens >= 50, "{p:?}");
}

/// The paper's alignment alone (stop at the first tie, no bootstrap) is much weaker: what the
/// bootstrap adds is measured, not assumed.
#[test]
fn the_bootstrap_is_what_makes_the_frequency_attack_strong() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(2_000, 1.0, &["given_name"])).unwrap();
    let mut settings = AttackSettings::default();
    settings.frequency.past_ties = false;
    settings.frequency.rounds = 0;
    let plain = run(AttackKind::Frequency, &data, &settings).unwrap();
    let full = run(AttackKind::Frequency, &data, &AttackSettings::default()).unwrap();
    assert!(
        plain.scores.per_record.correct_1_1 * 2 < full.scores.per_record.correct_1_1,
        "{:?} {:?}",
        plain.scores.per_record,
        full.scores.per_record
    );
}

/// Measured: seed 7, 2,000 records, 16 tokens: the most frequent bigram `n_` gets its 20 true
/// positions (precision 1.0).
#[test]
fn pattern_mining_recovers_the_top_bigram_positions() {
    let schema = schema("field", &["given_name"]);
    let data = simulation_data(&schema, &sim(2_000, 1.0, &["given_name"])).unwrap();
    let mut settings = AttackSettings::default();
    settings.pattern.max_tokens = 16;
    let r = run(AttackKind::Pattern, &data, &settings).unwrap();
    let p = r.positions.unwrap();
    eprintln!("{p:?} {:?}", r.scores.per_record);
    let top = p.top_token.clone().unwrap();
    assert_eq!(top.precision, 1.0);
    assert_eq!(top.claimed, 20);
    assert!(p.precision >= 0.5, "{p:?}");
    assert!(
        r.scores.per_record.correct_1_1 + r.scores.per_record.correct_1_m >= 550,
        "{:?}",
        r.scores.per_record
    );
}

/// Record-level CLKs of three fields: every filter is unique, nothing aligns.
#[test]
fn frequency_attack_fails_on_record_level_clks() {
    let schema = schema("clk", &["given_name", "surname", "date_of_birth"]);
    let data = simulation_data(&schema, &sim(2_000, 1.0, &["given_name"])).unwrap();
    let r = run(AttackKind::Frequency, &data, &AttackSettings::default()).unwrap();
    assert_eq!(
        r.scores.per_record.correct_1_1, 0,
        "{:?}",
        r.scores.per_record
    );
    let Details::Frequency(d) = &r.details else {
        panic!()
    };
    assert_eq!(d.aligned, 0);
}

/// Measured: seed 7, 400 records, full overlap: see the floor; 25% overlap must do worse.
#[test]
fn graph_matching_needs_overlap() {
    let schema = schema("clk", &["given_name", "surname", "date_of_birth"]);
    let full = simulation_data(&schema, &sim(400, 1.0, &["given_name", "surname"])).unwrap();
    let r = run(AttackKind::Graph, &full, &AttackSettings::default()).unwrap();
    let quarter = simulation_data(&schema, &sim(400, 0.25, &["given_name", "surname"])).unwrap();
    let q = run(AttackKind::Graph, &quarter, &AttackSettings::default()).unwrap();
    eprintln!("{:?} {:?}", r.scores.per_record, q.scores.per_record);
    assert!(
        r.scores.per_record.correct_1_1 >= GRAPH_FLOOR,
        "{:?}",
        r.scores.per_record
    );
    assert!(q.scores.per_record.correct_1_1 < r.scores.per_record.correct_1_1);
}

const GRAPH_FLOOR: u64 = 1;

#[test]
fn reports_do_not_depend_on_the_thread_count() {
    let schema = schema("field", &["given_name"]);
    let report = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut settings = AttackSettings::default();
            settings.pattern.max_tokens = 8;
            let data = simulation_data(&schema, &sim(600, 0.8, &["given_name"])).unwrap();
            [
                AttackKind::Frequency,
                AttackKind::Pattern,
                AttackKind::Graph,
            ]
            .map(|k| serde_json::to_string(&run(k, &data, &settings).unwrap()).unwrap())
        })
    };
    assert_eq!(report(1), report(3));
}

#[test]
fn bad_settings_are_refused_with_a_kind() {
    let schema = schema("field", &["given_name", "surname"]);
    let e = simulation_data(&schema, &sim(50, 1.0, &["given_name", "surname"])).unwrap_err();
    assert_eq!(e.kind(), AttackErrorKind::Settings);
    let e = simulation_data(&schema, &sim(50, 1.0, &["nickname"])).unwrap_err();
    assert_eq!(e.kind(), AttackErrorKind::Settings);
    let mut s = sim(50, 1.0, &["given_name"]);
    s.overlap = 1.5;
    assert_eq!(
        simulation_data(&schema, &s).unwrap_err().kind(),
        AttackErrorKind::Settings
    );
    let data = simulation_data(&schema, &sim(50, 1.0, &["given_name"])).unwrap();
    let mut settings = AttackSettings::default();
    settings.graph.max_records = 10;
    assert_eq!(
        run(AttackKind::Graph, &data, &settings).unwrap_err().kind(),
        AttackErrorKind::TooLarge
    );
}

#[test]
fn sweep_settings_go_into_the_filter_table() {
    let base = "version = 1\nid_column = \"id\"\n[filter]\nlength_bits = 1024\n[[fields]]\nname = \"given_name\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 20\n";
    let s = sweep::with_harden(base, r#""balance""#).unwrap();
    assert_eq!(s.filter.output_bits(), 2048);
    assert_eq!(s.filter.length_bits, 1024);
    let no_table = base.replace("[filter]\nlength_bits = 1024\n", "");
    let s = sweep::with_harden(&no_table, r#""xor-fold""#).unwrap();
    assert_eq!(s.filter.output_bits(), 512);
    assert!(
        sweep::with_harden(base, "")
            .unwrap()
            .filter
            .harden
            .is_empty()
    );
    let twice = base.replace("[filter]\n", "[filter]\nharden = [\"rule90\"]\n");
    assert_eq!(
        sweep::with_harden(&twice, r#""balance""#)
            .unwrap_err()
            .kind(),
        AttackErrorKind::Settings
    );
}

/// Attacks read hardened filters at their stored length (balance doubles it) and claim no
/// positions to score (hardening moves bits).
#[test]
fn attacks_run_on_hardened_filters() {
    let base = schema("field", &["given_name"]);
    let mut s = base.clone();
    s.filter.harden = sweep::with_harden(
        "version = 1\nid_column = \"record_id\"\n[[fields]]\nname = \"given_name\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 20\n",
        r#""balance""#,
    )
    .unwrap()
    .filter
    .harden;
    let data = simulation_data(&s, &sim(300, 1.0, &["given_name"])).unwrap();
    assert_eq!(data.filters.bits, 2048);
    assert_eq!(data.filters.len(), 300);
    assert!(data.true_positions.is_none());
    for kind in [
        AttackKind::Frequency,
        AttackKind::Pattern,
        AttackKind::Graph,
    ] {
        let r = run(kind, &data, &AttackSettings::default()).unwrap();
        assert_eq!(r.scores.per_record.total, 300);
        assert!(r.positions.is_none());
    }
}

/// A deterministic hardener that smears positions (`rule90`) stops the bootstrap but not the
/// count alignment: equal values still give equal filters. Measured (seed 7, 2,000 records):
/// 6 of the top 20 correct 1-1, 276 records, as the alignment alone on unhardened filters.
#[test]
fn frequency_alignment_survives_position_smearing_hardeners() {
    let mut s = schema("field", &["given_name"]);
    s.filter.harden = sweep::with_harden(
        "version = 1\nid_column = \"record_id\"\n[[fields]]\nname = \"given_name\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 20\n",
        r#""rule90""#,
    )
    .unwrap()
    .filter
    .harden;
    let data = simulation_data(&s, &sim(2_000, 1.0, &["given_name"])).unwrap();
    let r = run(AttackKind::Frequency, &data, &AttackSettings::default()).unwrap();
    assert!(
        r.scores.top_values.correct_1_1 >= 6,
        "{:?}",
        r.scores.top_values
    );
    assert!(
        r.scores.per_record.correct_1_1 >= 276,
        "{:?}",
        r.scores.per_record
    );
    let Details::Frequency(d) = &r.details else {
        panic!()
    };
    assert_eq!(d.tokens_known, 0, "nothing learnt from smeared positions");
}

/// Issue 13's target at the recommended profile (`examples/recommended.toml`: a five-field CLK
/// with `balance`): each attack re-identifies at most 1% of records 1-1, at full and half
/// overlap. Measured 2026-12-03 (seed 7): 0 of 1,000 by frequency and pattern mining, 0 of 400
/// by graph matching, at both overlaps; the sweep's figures at 10k-100k are in docs/privacy.md.
/// The floors above show the same attacks do work where they should.
#[test]
fn the_recommended_profile_keeps_every_attack_under_one_percent() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/recommended.toml");
    let schema = Schema::from_path(path).unwrap();
    assert!(crate::privacy::profile::matches_recommended(&schema));
    let mut settings = AttackSettings::default();
    settings.pattern.max_tokens = 16;
    for overlap in [1.0, 0.5] {
        for (kind, records, fields) in [
            (AttackKind::Frequency, 1_000, &["given_name"][..]),
            (AttackKind::Pattern, 1_000, &["given_name"][..]),
            (AttackKind::Graph, 400, &["given_name", "surname"][..]),
        ] {
            let data = simulation_data(&schema, &sim(records, overlap, fields)).unwrap();
            let r = run(kind, &data, &settings).unwrap();
            let p = &r.scores.per_record;
            assert_eq!(p.total, records, "{kind:?}");
            assert!(
                p.correct_1_1 * 100 <= p.total,
                "{kind:?} at overlap {overlap}: {p:?}"
            );
        }
    }
}
