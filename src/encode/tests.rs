use super::*;
use crate::filter::{dice, popcount};

fn secret() -> Secret {
    Secret::from_bytes((0u8..32).collect(), "test").unwrap()
}

fn encoder(toml: &str) -> Encoder {
    Encoder::new(&Schema::from_toml_str(toml).unwrap(), &secret()).unwrap()
}

fn encode(enc: &Encoder, values: &[&str]) -> Result<Vec<u64>, Rejection> {
    let mut out = vec![0; enc.words_per_record()];
    enc.encode_record(|i| values[i], &mut Scratch::default(), &mut out)?;
    Ok(out)
}

fn one_field(field: &str) -> String {
    format!("version = 1\nid_column = \"id\"\n[[fields]]\nname = \"f\"\n{field}\n")
}

const PERSON: &str = include_str!("../../testdata/golden/person.toml");

#[test]
fn each_token_sets_exactly_k_bits() {
    for k in [1, 2, 20, 100, 512] {
        let enc = encoder(&one_field(&format!(
            "tokenizer = {{ kind = \"exact\" }}\nbits_per_token = {k}"
        )));
        for v in ["a", "b", "smith"] {
            assert_eq!(popcount(&encode(&enc, &[v]).unwrap()), k, "k={k} {v}");
        }
    }
}

#[test]
fn bits_per_field_spreads_a_budget_over_tokens() {
    let enc = encoder(&one_field(
        "tokenizer = { kind = \"qgram\", q = 2, padding = false }\nbits_per_field = 40",
    ));
    // "ab" has one bigram: k = 40. "abcde" has 4: k = 10, so at most 40 bits.
    assert_eq!(popcount(&encode(&enc, &["ab"]).unwrap()), 40);
    let five = popcount(&encode(&enc, &["abcde"]).unwrap());
    assert!((30..=40).contains(&five), "{five}");
}

#[test]
fn normalisation_makes_spellings_equal() {
    let enc = encoder(PERSON);
    let a = encode(
        &enc,
        &[
            "Zoë",
            "Ångström",
            "03/11/1987",
            "F",
            "SW1A 1AA",
            "1, High St.",
        ],
    )
    .unwrap();
    let b = encode(
        &enc,
        &[
            "ZOE ",
            "angstrom",
            "1987-11-03",
            "f",
            "sw1a1aa",
            "1 high st",
        ],
    )
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn similar_records_are_similar_and_different_ones_are_not() {
    let enc = encoder(PERSON);
    let base = encode(
        &enc,
        &[
            "Charlotte",
            "Lewis",
            "03/09/1952",
            "F",
            "NR23 2BN",
            "25 Alexander Road, Norwich",
        ],
    )
    .unwrap();
    let typo = encode(
        &enc,
        &[
            "Charlotne",
            "Lewis",
            "03/09/1952",
            "F",
            "NR23 2BN",
            "25 Alexander Road, Norwich",
        ],
    )
    .unwrap();
    let other = encode(
        &enc,
        &[
            "George",
            "Patel",
            "17/01/1981",
            "M",
            "CF10 2AB",
            "4 High Street, Cardiff",
        ],
    )
    .unwrap();
    assert!(dice(&base, &typo) > 0.9, "{}", dice(&base, &typo));
    assert!(dice(&base, &other) < 0.7, "{}", dice(&base, &other));
    // About half the bits are set, where Bloom-filter encodings separate best.
    let fill = f64::from(popcount(&base)) / 1024.0;
    assert!((0.35..0.6).contains(&fill), "{fill}");
}

#[test]
fn another_secret_gives_unrelated_bits() {
    let schema = Schema::from_toml_str(PERSON).unwrap();
    let values = ["Ann", "Lee", "01/01/1990", "F", "LS1 1AA", "1 Park Road"];
    let mut a = vec![0; 16];
    let mut b = vec![0; 16];
    Encoder::new(&schema, &secret())
        .unwrap()
        .encode_record(|i| values[i], &mut Scratch::default(), &mut a)
        .unwrap();
    Encoder::new(&schema, &Secret::from_bytes(vec![1; 32], "t").unwrap())
        .unwrap()
        .encode_record(|i| values[i], &mut Scratch::default(), &mut b)
        .unwrap();
    assert!(dice(&a, &b) < 0.7);
}

#[test]
fn missing_value_rules() {
    let rule = |missing: &str| {
        encoder(&format!(
            "version = 1\nid_column = \"id\"\n\
             [[fields]]\nname = \"a\"\ntokenizer = {{ kind = \"exact\" }}\nbits_per_token = 5\n\
             [[fields]]\nname = \"b\"\ntokenizer = {{ kind = \"exact\" }}\nbits_per_token = 5\n\
             missing_values = [\"N/A\"]\nmissing = {missing}\n"
        ))
    };
    let skip = rule("\"skip\"");
    assert_eq!(popcount(&encode(&skip, &["x", ""]).unwrap()), 5);
    assert_eq!(
        encode(&skip, &["x", " n/a "]).unwrap(),
        encode(&skip, &["x", ""]).unwrap()
    );

    let reject = rule("\"reject\"");
    let r = encode(&reject, &["x", "N/A"]).unwrap_err();
    assert_eq!((r.field.as_deref(), r.code), (Some("b"), "missing-value"));

    let replace = rule("{ replace_with = \"zz\" }");
    assert_eq!(
        encode(&replace, &["x", ""]).unwrap(),
        encode(&replace, &["x", "zz"]).unwrap()
    );

    let r = encode(&skip, &["", ""]).unwrap_err();
    assert_eq!((r.field, r.code), (None, "no-tokens"));
}

#[test]
fn invalid_values_are_encoded_as_missing_by_default() {
    let enc = encoder(PERSON);
    let mut scratch = Scratch::default();
    let mut bits = vec![0u64; enc.words_per_record()];
    let bad = ["Ann", "Lee", "31/02/1990", "F", "", ""];
    enc.encode_record(|i| bad[i], &mut scratch, &mut bits)
        .unwrap();
    let noted: Vec<_> = scratch
        .invalid_fields()
        .iter()
        .map(|r| (r.field.as_deref(), r.code))
        .collect();
    assert_eq!(noted, [(Some("date_of_birth"), "invalid-date")]);
    // Exactly as if the date were missing.
    assert_eq!(
        bits,
        encode(&enc, &["Ann", "Lee", "", "F", "", ""]).unwrap()
    );
    // The list is per record.
    let good = ["Ann", "Lee", "", "F", "", ""];
    enc.encode_record(|i| good[i], &mut scratch, &mut bits)
        .unwrap();
    assert!(scratch.invalid_fields().is_empty());

    let num = encoder(&format!(
        "{}\n[[fields]]\nname = \"b\"\ntokenizer = {{ kind = \"exact\" }}\nbits_per_token = 5",
        one_field("tokenizer = { kind = \"numeric\", distance = 2.0 }\nbits_per_token = 5")
    ));
    enc_noted(&num, &["12kg", "x"], "invalid-number");
}

fn enc_noted(enc: &Encoder, values: &[&str], code: &str) {
    let mut scratch = Scratch::default();
    let mut bits = vec![0u64; enc.words_per_record()];
    enc.encode_record(|i| values[i], &mut scratch, &mut bits)
        .unwrap();
    assert_eq!(scratch.invalid_fields()[0].code, code);
}

#[test]
fn reject_row_and_required_fields_still_reject_invalid_values() {
    let with = |extra: &str| {
        encoder(&PERSON.replacen(
            "name = \"date_of_birth\"",
            &format!("name = \"date_of_birth\"\n{extra}"),
            1,
        ))
    };
    let bad = ["Ann", "Lee", "31/02/1990", "F", "", ""];
    for extra in ["on_invalid = \"reject-row\"", "missing = \"reject\""] {
        let r = encode(&with(extra), &bad).unwrap_err();
        assert_eq!(
            (r.field.as_deref(), r.code),
            (Some("date_of_birth"), "invalid-date"),
            "{extra}"
        );
    }
    // A replacement stands in for an invalid value as for a missing one.
    let replace = with("missing = { replace_with = \"1900-01-01\" }");
    assert_eq!(
        encode(&replace, &bad).unwrap(),
        encode(&replace, &["Ann", "Lee", "", "F", "", ""]).unwrap()
    );
}

#[test]
fn field_layout_keeps_fields_apart() {
    let enc = encoder(
        "version = 1\nid_column = \"id\"\n[filter]\nlayout = \"field\"\nlength_bits = 128\n\
         [[fields]]\nname = \"a\"\ntokenizer = { kind = \"exact\" }\nbits_per_token = 7\n\
         [[fields]]\nname = \"b\"\ntokenizer = { kind = \"exact\" }\nbits_per_token = 9\n",
    );
    assert_eq!(enc.words_per_record(), 4);
    assert_eq!(enc.filters_per_record(), 2);
    let bits = encode(&enc, &["x", "y"]).unwrap();
    assert_eq!(popcount(&bits[..2]), 7);
    assert_eq!(popcount(&bits[2..]), 9);
    let only_b = encode(&enc, &["", "y"]).unwrap();
    assert_eq!(only_b[2..], bits[2..]);
    assert_eq!(popcount(&only_b[..2]), 0);
}

#[test]
fn rbf_layout_samples_field_filters() {
    let enc = encoder(
        "version = 1\nid_column = \"id\"\n[filter]\nlayout = \"rbf\"\nlength_bits = 512\n\
         [[fields]]\nname = \"a\"\ntokenizer = { kind = \"qgram\" }\nbits_per_token = 10\nrbf_bits = 256\nrbf_weight = 3.0\n\
         [[fields]]\nname = \"b\"\ntokenizer = { kind = \"qgram\" }\nbits_per_token = 10\nrbf_bits = 128\n",
    );
    assert_eq!(enc.words_per_record(), 8);
    let x = encode(&enc, &["jonathan", "smith"]).unwrap();
    let y = encode(&enc, &["jonathon", "smith"]).unwrap();
    let z = encode(&enc, &["mary", "jones"]).unwrap();
    assert_eq!(x, encode(&enc, &["jonathan", "smith"]).unwrap());
    assert!(dice(&x, &y) > dice(&x, &z));
    assert!(popcount(&x) > 0 && popcount(&x) < 512);
}

#[test]
fn blake3_scheme_differs_from_hmac_but_behaves_alike() {
    let hmac = encoder(PERSON);
    let blake = encoder(&PERSON.replace("hashing = \"hmac-sha256\"", "hashing = \"blake3\""));
    let v = ["Ann", "Lee", "01/01/1990", "F", "LS1 1AA", "1 Park Road"];
    let (a, b) = (encode(&hmac, &v).unwrap(), encode(&blake, &v).unwrap());
    assert_ne!(a, b);
    assert!((popcount(&a) as i32 - popcount(&b) as i32).abs() < 60);
}

proptest::proptest! {
    #[test]
    fn encoding_is_deterministic_and_scratch_independent(
        values in proptest::collection::vec("\\PC{0,12}", 6)
    ) {
        let enc = encoder(PERSON);
        let mut fresh = vec![0; 16];
        let mut reused = vec![0; 16];
        let r1 = enc.encode_record(|i| values[i].as_str(), &mut Scratch::default(), &mut fresh);
        // A scratch that has seen other records must not change the result.
        let mut scratch = Scratch::default();
        let _ = enc.encode_record(|_| "warm up", &mut scratch, &mut reused);
        let r2 = enc.encode_record(|i| values[i].as_str(), &mut scratch, &mut reused);
        proptest::prop_assert_eq!(r1.clone(), r2);
        if r1.is_ok() {
            proptest::prop_assert_eq!(fresh, reused);
        }
    }
}
