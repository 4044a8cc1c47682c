//! Tests of reading clkhash schemas: defaults, the upgrades, the quirk kept, and refusals by
//! kind and key path.

use super::*;
use crate::compat::clkhash::Encoder;
use crate::error::Coded as _;
use crate::keys::Secret;

fn v3(features: &str) -> String {
    format!(
        r#"{{"version": 3, "clkConfig": {{"l": 1024, "kdf": {{"type": "HKDF"}}}},
            "features": [{features}]}}"#
    )
}

const NAME: &str = r#"{"identifier": "name", "format": {"type": "string"},
    "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 20}}}"#;

fn err(text: &str) -> SchemaError {
    Schema::from_json_str(text).unwrap_err()
}

#[test]
fn minimal_v3_with_defaults() {
    let s = Schema::from_json_str(&v3(&format!(
        r#"{{"identifier": "id", "ignored": true}}, {NAME}"#
    )))
    .unwrap();
    assert_eq!((s.l, s.xor_folds, s.source_version), (1024, 0, 3));
    assert_eq!(s.kdf.key_size, 64);
    assert_eq!(s.kdf.hash, KdfHash::Sha256);
    assert!(s.features[0].hashing.is_none());
    let h = s.features[1].hashing.as_ref().unwrap();
    assert_eq!(h.hash, HashKind::Blake);
    assert_eq!(h.encoding, TextEncoding::Utf8);
    assert_eq!(
        h.comparison,
        Comparison::Ngram {
            n: 2,
            positional: false
        }
    );
    assert!(s.warnings.is_empty());
}

#[test]
fn upgrades_v1_like_clkhash() {
    let s = Schema::from_json_str(
        r#"{"version": 1, "clkConfig": {"l": 512, "k": 20,
            "hash": {"type": "doubleHash"}, "kdf": {"type": "HKDF"}},
          "features": [
            {"identifier": "a", "format": {"type": "string"}, "hashing": {"ngram": 2, "weight": 0.125}},
            {"identifier": "b", "format": {"type": "string"}, "hashing": {"ngram": 1, "weight": 0}},
            {"identifier": "c", "format": {"type": "string"}, "hashing": {"ngram": 3, "positional": true}}
          ]}"#,
    )
    .unwrap();
    assert_eq!(s.source_version, 1);
    let a = s.features[0].hashing.as_ref().unwrap();
    // 0.125 * 20 = 2.5 rounds to even: 2.
    assert_eq!(a.strategy, Strategy::BitsPerToken(2));
    assert_eq!(
        a.hash,
        HashKind::Double {
            prevent_singularity: false
        }
    );
    assert!(s.features[1].hashing.is_none(), "weight 0 means ignored");
    let c = s.features[2].hashing.as_ref().unwrap();
    assert_eq!(c.strategy, Strategy::BitsPerToken(20));
    assert_eq!(
        c.comparison,
        Comparison::Ngram {
            n: 3,
            positional: true
        }
    );
}

#[test]
fn upgrades_v2_like_clkhash() {
    let s = Schema::from_json_str(
        r#"{"version": 2, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF"}},
          "features": [{"identifier": "a", "format": {"type": "string"},
            "hashing": {"ngram": 2, "strategy": {"numBits": 100}}}]}"#,
    )
    .unwrap();
    let a = s.features[0].hashing.as_ref().unwrap();
    assert_eq!(a.strategy, Strategy::BitsPerFeature(100));
}

#[test]
fn xor_folds_quirk_is_kept_with_a_warning() {
    let text = v3(NAME).replace(r#""l": 1024"#, r#""l": 1024, "xorFolds": 2"#);
    let s = Schema::from_json_str(&text).unwrap();
    assert_eq!(s.xor_folds, 0);
    assert!(s.warnings[0].contains("xorFolds"), "{:?}", s.warnings);
    let text = v3(NAME).replace(r#""l": 1024"#, r#""l": 512, "xor_folds": 1"#);
    assert_eq!(Schema::from_json_str(&text).unwrap().xor_folds, 1);
}

#[test]
fn errors_name_the_feature_and_key() {
    let bad = v3(&NAME.replace(r#""n": 2"#, r#""n": 0"#));
    match err(&bad) {
        SchemaError::Invalid { at, .. } => {
            assert_eq!(at, "features[0] (name).hashing.comparison.n")
        }
        other => panic!("{other:?}"),
    }
    let bad = v3(&NAME.replace("bitsPerToken", "bitsPerTok"));
    assert!(matches!(err(&bad), SchemaError::Invalid { ref at, .. } if at.ends_with("strategy")));
    let bad = v3(&NAME.replace(
        r#""format": {"type": "string"}"#,
        r#""format": {"type": "string", "pattern": "x", "case": "upper"}"#,
    ));
    assert!(matches!(err(&bad), SchemaError::Invalid { .. }));
    assert!(matches!(
        err(r#"{"version": 4, "clkConfig": {}, "features": []}"#),
        SchemaError::Invalid { ref at, .. } if at == "version"
    ));
}

#[test]
fn unsupported_features_are_refused_by_name() {
    let cases = [
        (
            v3(NAME).replace("1024", "1000"),
            "features[0] (name).hashing.hash",
        ),
        (
            v3(&NAME.replace(
                r#""strategy""#,
                r#""hash": {"type": "blakeHash", "prevent_singularity": true}, "strategy""#,
            )),
            "features[0] (name).hashing.hash.prevent_singularity",
        ),
        (
            v3(&NAME.replace(
                r#"{"type": "string"}"#,
                r#"{"type": "date", "format": "%x"}"#,
            )),
            "features[0] (name).format.format",
        ),
        (
            v3(&NAME.replace(
                r#"{"type": "string"}"#,
                r#"{"type": "string", "pattern": "(?=a)a"}"#,
            )),
            "features[0] (name).format.pattern",
        ),
        (
            v3(&NAME.replace(
                r#"{"type": "ngram", "n": 2}"#,
                r#"{"type": "numeric", "thresholdDistance": 0.01, "resolution": 2}"#,
            )),
            "features[0] (name).hashing.comparison.thresholdDistance",
        ),
    ];
    for (text, path) in cases {
        match err(&text) {
            e @ SchemaError::Unsupported { .. } => {
                assert_eq!(e.kind(), SchemaErrorKind::Unsupported);
                assert_eq!(e.position().and_then(|p| p.field).as_deref(), Some(path));
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn ignore_feature_is_strict_in_v3_only() {
    let both = r#"{"identifier": "x", "ignored": true, "format": {"type": "string"},
        "hashing": {"comparison": {"type": "exact"}, "strategy": {"bitsPerToken": 5}}}"#;
    // v3: the ignore branch forbids other keys, so only the feature branch matches; the
    // feature is then ignored anyway (clkhash checks `ignored` first).
    let s = Schema::from_json_str(&v3(both)).unwrap();
    assert!(s.features[0].hashing.is_none());
    let extra = r#"{"identifier": "x", "ignored": true, "other": 1}"#;
    assert!(Schema::from_json_str(&v3(extra)).is_err());
}

#[test]
fn kdf_and_base64() {
    let text = v3(NAME).replace(
        r#"{"type": "HKDF"}"#,
        r#"{"type": "HKDF", "hash": "SHA512", "salt": "c2Fs\ndA==", "info": "aW5mbw==", "keySize": 32}"#,
    );
    let s = Schema::from_json_str(&text).unwrap();
    assert_eq!(s.kdf.hash, KdfHash::Sha512);
    assert_eq!(s.kdf.salt.as_deref(), Some(&b"salt"[..]));
    assert_eq!(s.kdf.info.as_deref(), Some(&b"info"[..]));
    assert_eq!(s.kdf.key_size, 32);
    let bad = v3(NAME).replace(r#"{"type": "HKDF"}"#, r#"{"type": "HKDF", "salt": "abc"}"#);
    assert!(matches!(err(&bad), SchemaError::Invalid { ref at, .. } if at == "clkConfig.kdf.salt"));
}

#[test]
fn numeric_grid_spacing_like_python() {
    let numeric = |td: &str, fp: u32| {
        let text = v3(&NAME.replace(
            r#"{"type": "ngram", "n": 2}"#,
            &format!(r#"{{"type": "numeric", "thresholdDistance": {td}, "resolution": 2, "fractional_precision": {fp}}}"#),
        ));
        match Schema::from_json_str(&text).unwrap().features[0]
            .hashing
            .as_ref()
            .unwrap()
            .comparison
        {
            Comparison::Numeric {
                distance_interval, ..
            } => distance_interval,
            _ => unreachable!(),
        }
    };
    assert_eq!(numeric("5", 0), 5);
    assert_eq!(numeric("2.5", 1), 25);
    assert_eq!(numeric("2.5", 0), 2); // round half to even
    assert_eq!(numeric("0.3", 2), 30);
    assert_eq!(numeric("5", 3), 5000);
}

#[test]
fn detection() {
    let v: Value = serde_json::from_str(&v3(NAME)).unwrap();
    assert!(is_clkhash_schema(&v));
    let pprl: Value =
        serde_json::from_str(r#"{"version": 1, "id_column": "id", "fields": []}"#).unwrap();
    assert!(!is_clkhash_schema(&pprl));
}

/// A parsed schema with one setting changed by hand.
fn changed(text: &str, change: impl FnOnce(&mut Schema)) -> Schema {
    let mut s = Schema::from_json_str(text).unwrap();
    change(&mut s);
    s
}

#[test]
fn hand_built_schemas_get_the_checks_of_parsed_ones() {
    let good = Schema::from_json_str(&v3(NAME)).unwrap();
    let built = Schema::new(
        good.l,
        good.xor_folds,
        good.kdf.clone(),
        good.features.clone(),
    );
    assert_eq!(built.unwrap(), good);

    // Each case: a hand-made change, and the same setting written in the file.
    let bits = |k| {
        move |s: &mut Schema| {
            s.features[0].hashing.as_mut().unwrap().strategy = Strategy::BitsPerToken(k)
        }
    };
    let pattern = |s: &mut Schema| {
        s.features[0].hashing.as_mut().unwrap().format = Format::Pattern {
            pattern: "(?=a)a".into(),
        }
    };
    let cases: Vec<(Schema, String)> = vec![
        (
            changed(&v3(NAME), bits(0)),
            v3(&NAME.replace(r#""bitsPerToken": 20"#, r#""bitsPerToken": 0"#)),
        ),
        (
            changed(&v3(NAME), bits(2_000_000)),
            v3(&NAME.replace(r#""bitsPerToken": 20"#, r#""bitsPerToken": 2000000"#)),
        ),
        (
            changed(&v3(NAME), pattern),
            v3(&NAME.replace(
                r#"{"type": "string"}"#,
                r#"{"type": "string", "pattern": "(?=a)a"}"#,
            )),
        ),
        (
            changed(&v3(NAME), |s| s.kdf.key_size = 65),
            v3(NAME).replace(r#""type": "HKDF""#, r#""type": "HKDF", "keySize": 65"#),
        ),
        (
            changed(&v3(NAME), |s| s.l = 1000),
            v3(NAME).replace(r#""l": 1024"#, r#""l": 1000"#),
        ),
    ];
    let secret = Secret::from_bytes(vec![7; 32], "test").unwrap();
    for (hand, text) in cases {
        let parsed = err(&text);
        let by_hand = hand.validate().unwrap_err();
        assert_eq!(by_hand.kind(), parsed.kind(), "{text}");
        assert_eq!(by_hand.position(), parsed.position(), "{text}");
        assert_eq!(by_hand.code(), parsed.code());
        let rebuilt = Schema::new(
            hand.l,
            hand.xor_folds,
            hand.kdf.clone(),
            hand.features.clone(),
        );
        assert_eq!(rebuilt.unwrap_err().kind(), parsed.kind());
        // The encoder refuses it too.
        let Err(refused) = Encoder::new(&hand, &secret) else {
            panic!("refused: {text}")
        };
        assert_eq!(refused.kind(), parsed.kind());
    }
}

#[test]
fn kinds_have_codes_and_positions() {
    let codes: std::collections::BTreeSet<_> =
        SchemaErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(codes.len(), SchemaErrorKind::ALL.len());
    let e = err("{");
    assert_eq!((e.kind(), e.position()), (SchemaErrorKind::Json, None));
    let e = Schema::from_path("/nonexistent/schema.json").unwrap_err();
    assert_eq!(e.kind().code(), "clkhash-schema-io");
    let e = err(&v3(&NAME.replace(r#""n": 2"#, r#""n": 0"#)));
    assert_eq!(e.kind().code(), "clkhash-schema-invalid");
    assert_eq!(
        e.position().and_then(|p| p.field).as_deref(),
        Some("features[0] (name).hashing.comparison.n")
    );
}
