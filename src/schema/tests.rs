use super::*;

const MINIMAL: &str = r#"
version = 1
id_column = "id"

[[fields]]
name = "surname"
tokenizer = { kind = "qgram" }
bits_per_token = 20
"#;

fn person() -> Schema {
    Schema::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/person.toml")).unwrap()
}

fn invalid_path(text: &str) -> String {
    match Schema::from_toml_str(text) {
        Err(SchemaError::Invalid { path, .. }) => path,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn defaults_are_filled_in() {
    let s = Schema::from_toml_str(MINIMAL).unwrap();
    assert_eq!(s.filter, FilterSpec::default());
    assert_eq!(s.filter.length_bits, 1024);
    assert_eq!(s.filter.layout, Layout::Clk);
    assert_eq!(s.filter.hashing, HashingScheme::HmacSha256);
    let f = &s.fields[0];
    assert_eq!(f.column(), "surname");
    assert_eq!(f.missing, MissingRule::Skip);
    assert_eq!(
        f.tokenizer,
        TokenizerSpec::Qgram {
            q: 2,
            padding: true,
            positional: false
        }
    );
    assert_eq!(f.weight(), Weight::BitsPerToken(20));
}

#[test]
fn person_example_is_valid_and_its_fingerprint_is_pinned() {
    let s = person();
    assert_eq!(s.fields.len(), 6);
    // Pinned: a change to the canonical form (or to the example) must be deliberate, because
    // it changes every key derived from the schema.
    assert_eq!(
        s.fingerprint().to_hex(),
        "797e2e8643776adb1b28087a105715c74ca4e187eb43e56738a8a89b12460237"
    );
}

#[test]
fn json_and_toml_give_the_same_fingerprint() {
    let toml = person();
    let json_text = r#"{
        "version": 1, "id_column": "record_id",
        "filter": {"layout": "clk", "length_bits": 1024, "hashing": "hmac-sha256"},
        "fields": [
          {"name": "given_name", "normalize": ["nfkc", "casefold", "strip-diacritics", "strip-punctuation", "collapse-whitespace"],
           "tokenizer": {"kind": "qgram", "q": 2, "padding": true}, "bits_per_token": 20},
          {"name": "surname", "normalize": ["nfkc", "casefold", "strip-diacritics", "strip-punctuation", "collapse-whitespace"],
           "tokenizer": {"kind": "qgram", "q": 2, "padding": true}, "bits_per_token": 20},
          {"name": "date_of_birth", "normalize": [{"date": {"formats": ["%Y%m%d"]}}],
           "tokenizer": {"kind": "date"}, "bits_per_token": 20},
          {"name": "sex", "normalize": ["casefold"], "tokenizer": {"kind": "exact"}, "bits_per_token": 10},
          {"name": "postcode", "normalize": ["nfkc", "casefold", "remove-whitespace"],
           "tokenizer": {"kind": "qgram", "q": 2, "padding": true}, "bits_per_token": 12},
          {"name": "address", "normalize": ["nfkc", "casefold", "strip-diacritics", "strip-punctuation", "collapse-whitespace"],
           "tokenizer": {"kind": "qgram", "q": 2, "padding": true}, "bits_per_field": 200}
        ]
    }"#;
    let json = Schema::from_json_str(json_text).unwrap();
    // Different date input formats and no missing-value markers: local settings only.
    assert_eq!(json.fingerprint(), toml.fingerprint());
}

#[test]
fn local_settings_do_not_change_the_fingerprint_but_encoding_settings_do() {
    let base = Schema::from_toml_str(MINIMAL).unwrap().fingerprint();
    let local = MINIMAL
        .replace("id_column = \"id\"", "id_column = \"person_ref\"")
        .replace(
            "name = \"surname\"",
            "name = \"surname\"\ncolumn = \"LAST_NAME\"\nmissing_values = [\"NA\"]",
        );
    assert_eq!(Schema::from_toml_str(&local).unwrap().fingerprint(), base);
    for changed in [
        MINIMAL.replace("bits_per_token = 20", "bits_per_token = 21"),
        MINIMAL.replace("name = \"surname\"", "name = \"last_name\""),
        MINIMAL.replace("{ kind = \"qgram\" }", "{ kind = \"qgram\", q = 3 }"),
        MINIMAL.replace("[[fields]]", "[filter]\nlength_bits = 2048\n\n[[fields]]"),
        MINIMAL.replace("[[fields]]", "[filter]\nhashing = \"blake3\"\n\n[[fields]]"),
    ] {
        assert_ne!(
            Schema::from_toml_str(&changed).unwrap().fingerprint(),
            base,
            "{changed}"
        );
    }
}

#[test]
fn syntax_errors_carry_a_position() {
    let err =
        Schema::from_toml_str(&MINIMAL.replace("bits_per_token", "bits_per_tokn")).unwrap_err();
    assert_eq!(err.kind(), SchemaErrorKind::Syntax);
    // The parser's message (a field of the error) names the key and its line.
    assert!(
        matches!(err, SchemaError::Syntax { format: "TOML", ref message }
            if message.contains("bits_per_tokn") && message.contains("line")),
        "{err}"
    );

    let err = Schema::from_toml_str(&MINIMAL.replace("kind = \"qgram\"", "kind = \"qgrams\""))
        .unwrap_err();
    assert!(
        matches!(err, SchemaError::Syntax { ref message, .. } if message.contains("qgrams")),
        "{err}"
    );

    let err = Schema::from_json_str("{\"version\": 1,").unwrap_err();
    assert!(
        matches!(err, SchemaError::Syntax { format: "JSON", .. }),
        "{err}"
    );

    let err = Schema::from_toml_str(
        &MINIMAL.replace("tokenizer", "normalize = [\"lowercase\"]\ntokenizer"),
    )
    .unwrap_err();
    assert!(
        matches!(err, SchemaError::Syntax { ref message, .. } if message.contains("lowercase")),
        "{err}"
    );
}

#[test]
fn rule_violations_name_the_key() {
    assert_eq!(
        invalid_path(&MINIMAL.replace("version = 1", "version = 2")),
        "version"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace("[[fields]]", "[filter]\nlength_bits = 1000\n[[fields]]")),
        "filter.length_bits"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace("{ kind = \"qgram\" }", "{ kind = \"qgram\", q = 0 }")),
        "fields[0].tokenizer.q"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace(
            "bits_per_token = 20",
            "bits_per_token = 20\nbits_per_field = 100"
        )),
        "fields[0].bits_per_token"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace("bits_per_token = 20", "")),
        "fields[0].bits_per_token"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace("bits_per_token = 20", "bits_per_token = 513")),
        "fields[0].bits_per_token"
    );
    assert_eq!(
        invalid_path(&format!(
            "{MINIMAL}\n{}",
            &MINIMAL[MINIMAL.find("[[fields]]").unwrap()..]
        )),
        "fields[1].name"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace(
            "tokenizer",
            "normalize = [{ date = { formats = [\"%Y\"] } }]\ntokenizer"
        )),
        "fields[0].normalize[0]"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace("tokenizer", "rbf_weight = 2.0\ntokenizer")),
        "fields[0].rbf_weight"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace("name = \"surname\"", "name = \"surname\"\ncolumn = \"id\"")),
        "fields[0].column"
    );
    assert_eq!(
        invalid_path(&MINIMAL.replace(
            "{ kind = \"qgram\" }",
            "{ kind = \"numeric\", distance = 0.0 }"
        )),
        "fields[0].tokenizer.distance"
    );
    assert_eq!(
        invalid_path(
            &MINIMAL.replace("tokenizer", "missing = { replace_with = \" \" }\ntokenizer")
        ),
        "fields[0].missing.replace_with"
    );
}

#[test]
fn every_documented_option_parses() {
    let text = r#"
        version = 1
        id_column = "id"
        [filter]
        layout = "rbf"
        length_bits = 2048
        hashing = "blake3"
        [[fields]]
        name = "a"
        normalize = ["nfkc", "casefold", "strip-diacritics", "ascii", "collapse-whitespace",
                     "remove-whitespace", "strip-punctuation", "digits-only", { truncate = 3 },
                     "soundex", "double-metaphone", "nysiis"]
        tokenizer = { kind = "qgram", q = 3, padding = false, positional = true }
        bits_per_field = 300
        missing = "reject"
        rbf_weight = 2.5
        rbf_bits = 512
        [[fields]]
        name = "b"
        tokenizer = { kind = "numeric", distance = 5.0, resolution = 3 }
        bits_per_token = 10
        missing = { replace_with = "0" }
        [[fields]]
        name = "c"
        normalize = [{ date = { formats = ["%d.%m.%Y", "%Y%m%d"] } }]
        tokenizer = { kind = "date" }
        bits_per_token = 10
    "#;
    let s = Schema::from_toml_str(text).unwrap();
    assert_eq!(s.filter.layout, Layout::Rbf);
    assert_eq!(s.fields[0].normalize.len(), 12);
    assert_eq!(s.fields[1].missing, MissingRule::ReplaceWith("0".into()));
    assert_eq!(s.record_bits(), 2048);
}

#[test]
fn warnings_flag_risky_choices() {
    let codes = |s: &Schema| s.warnings().iter().map(|w| w.code).collect::<Vec<_>>();
    assert!(codes(&person()).is_empty());
    let field = Schema::from_toml_str(&MINIMAL.replace(
        "[[fields]]",
        "[filter]\nlayout = \"field\"\nlength_bits = 256\n[[fields]]",
    ))
    .unwrap();
    assert_eq!(codes(&field), ["W001", "W002"]);
    let exact =
        Schema::from_toml_str(&MINIMAL.replace("{ kind = \"qgram\" }", "{ kind = \"exact\" }"))
            .unwrap();
    assert_eq!(codes(&exact), ["W003", "W004"]);
    assert_eq!(field.filters_per_record(), 1);
}

#[test]
fn clkhash_hashing_is_only_for_clkhash_schemas() {
    // File headers name it, but a pprl schema cannot: its bits come from clkhash's own
    // schema and key derivation (`crate::compat::clkhash`).
    let text = MINIMAL.replace("[[fields]]", "[filter]\nhashing = \"clkhash\"\n[[fields]]");
    assert!(matches!(
        Schema::from_toml_str(&text),
        Err(SchemaError::Syntax { .. })
    ));
    let mut s = Schema::from_toml_str(MINIMAL).unwrap();
    s.filter.hashing = HashingScheme::Clkhash;
    assert!(
        matches!(s.validate(), Err(SchemaError::Invalid { ref path, .. }) if path == "filter.hashing")
    );
}

#[test]
fn hand_built_schemas_are_validated_like_parsed_ones() {
    let parsed = Schema::from_toml_str(MINIMAL).unwrap();
    let built = Schema::new(
        "id",
        parsed.filter.clone(),
        parsed.fields.clone(),
        Vec::new(),
    )
    .unwrap();
    assert_eq!(built, parsed);
    assert_eq!(built.fingerprint(), parsed.fingerprint());

    let bad = FilterSpec {
        length_bits: 1000,
        ..FilterSpec::default()
    };
    let err = Schema::new("id", bad, parsed.fields.clone(), Vec::new()).unwrap_err();
    assert_eq!(err.kind(), SchemaErrorKind::Invalid);
    assert_eq!(err.key_path(), Some("filter.length_bits"));
    assert_eq!(
        err.position().and_then(|p| p.field),
        Some("filter.length_bits".to_string())
    );
    let err = Schema::new("", parsed.filter.clone(), parsed.fields, Vec::new()).unwrap_err();
    assert_eq!(err.key_path(), Some("id_column"));
}

#[test]
fn on_invalid_defaults_to_missing_and_only_reject_row_is_fingerprinted() {
    let plain = Schema::from_toml_str(MINIMAL).unwrap();
    assert_eq!(plain.fields[0].on_invalid, OnInvalid::Missing);
    let with =
        |v: &str| Schema::from_toml_str(&format!("{MINIMAL}on_invalid = \"{v}\"\n")).unwrap();
    let missing = with("missing");
    let reject = with("reject-row");
    assert_eq!(reject.fields[0].on_invalid, OnInvalid::RejectRow);
    assert_eq!(missing.fingerprint(), plain.fingerprint());
    assert_ne!(reject.fingerprint(), plain.fingerprint());
    let json = String::from_utf8(reject.canonical_json()).unwrap();
    assert!(json.contains(r#""on_invalid":"reject-row""#), "{json}");
    assert!(
        !String::from_utf8(plain.canonical_json())
            .unwrap()
            .contains("on_invalid")
    );
    assert!(Schema::from_toml_str(&format!("{MINIMAL}on_invalid = \"drop\"\n")).is_err());
}

#[test]
fn expected_fill_follows_weights_and_typical_tokens() {
    // 6 characters -> 7 padded bigrams, 20 bits each: 140 draws into 1024 positions.
    let s = Schema::from_toml_str(MINIMAL).unwrap();
    let f = s.expected_fill();
    assert_eq!((f.fields[0].tokens, f.fields[0].bits), (7.0, 140.0));
    let want = 1.0 - (1.0 - 1.0 / 1024.0f64).powf(140.0);
    assert!((f.fill - want).abs() < 1e-12);
    assert!(!s.is_dense());
    assert!(s.warnings().iter().all(|w| w.code != "W005"));
    // The person example is near half full.
    let p = person().expected_fill().fill;
    assert!((0.4..0.55).contains(&p), "{p}");
    // 256 bits, 7 grams of 100 bits: dense, and warned about.
    let dense = Schema::from_toml_str(
        "version = 1\nid_column = \"id\"\n[filter]\nlength_bits = 256\n[[fields]]\n\
         name = \"a\"\ntokenizer = { kind = \"qgram\" }\nbits_per_token = 100\n",
    )
    .unwrap();
    assert!(dense.is_dense());
    assert!(dense.warnings().iter().any(|w| w.code == "W005"));
}
