//! clkhash compatibility: every committed vector bit for bit, and the CLI paths.
//!
//! The vectors in `testdata/clkhash/` were made by clkhash 0.18.3 itself (see its README):
//! for each schema, a few hundred synthetic rows, and for each row either clkhash's base64 CLK
//! or the column clkhash's validation names.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use pprl::compat::clkhash::{Encoder, Schema, Scratch};
use pprl::io::formats::clkhash_json::words_to_bytes;
use pprl::keys::Secret;
use predicates::prelude::*;

use crate::util::{pprl, testdata};

/// Each vector: schema name and secret file.
const VECTORS: [(&str, &str); 5] = [
    ("v3_full", "secret.txt"),
    ("v3_folds_sha512", "secret.bin"),
    ("v3_odd_length", "secret.txt"),
    ("v2_basic", "secret.txt"),
    ("v1_basic", "secret.bin"),
];

fn vector(name: &str, file: &str) -> PathBuf {
    testdata(&format!("clkhash/{name}{file}"))
}

/// One expected row: clkhash's base64 CLK, or the feature its validation rejects.
struct Expected {
    clk: String,
    invalid_field: String,
}

fn expected(name: &str) -> Vec<Expected> {
    let mut rdr = csv::Reader::from_path(vector(name, ".expected.csv")).unwrap();
    rdr.records()
        .enumerate()
        .map(|(i, r)| {
            let r = r.unwrap();
            assert_eq!(r[0].parse::<usize>().unwrap(), i);
            Expected {
                clk: r[1].to_string(),
                invalid_field: r[2].to_string(),
            }
        })
        .collect()
}

fn rows(name: &str) -> Vec<Vec<String>> {
    let mut rdr = csv::Reader::from_path(vector(name, ".csv")).unwrap();
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn encoder(name: &str, secret: &str) -> Encoder {
    let schema = Schema::from_path(vector(name, ".schema.json")).unwrap();
    let secret = Secret::from_file_any_length(testdata(&format!("clkhash/{secret}"))).unwrap();
    Encoder::new(&schema, &secret).unwrap()
}

#[test]
fn every_vector_matches_clkhash_bit_for_bit() {
    for (name, secret) in VECTORS {
        let enc = encoder(name, secret);
        let (rows, expected) = (rows(name), expected(name));
        assert_eq!(rows.len(), expected.len(), "{name}");
        let mut scratch = Scratch::default();
        let mut words = vec![0u64; enc.words_per_record()];
        let (mut clks, mut invalid) = (0, 0);
        for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
            let got = enc.encode_record(|f| row[f].as_str(), &mut scratch, &mut words);
            match got {
                Ok(()) => {
                    let mut bytes = Vec::new();
                    words_to_bytes(&words, enc.filter_bits(), &mut bytes);
                    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                    assert_eq!(b64, want.clk, "{name} row {i}: CLK differs from clkhash's");
                    clks += 1;
                }
                Err(r) => {
                    assert_eq!(
                        r.field.as_deref(),
                        Some(want.invalid_field.as_str()),
                        "{name} row {i}: rejected ({} {}) but clkhash {}",
                        r.code,
                        r.reason,
                        if want.clk.is_empty() {
                            "names another field"
                        } else {
                            "encodes it"
                        }
                    );
                    invalid += 1;
                }
            }
        }
        assert!(
            clks >= 200 && invalid >= 5,
            "{name}: {clks} CLKs, {invalid} invalid"
        );
    }
}

/// Writes the vector's valid rows (clkhash's header, in order) to `dir`.
fn valid_rows_csv(dir: &Path, name: &str) -> (PathBuf, Vec<String>) {
    let expected = expected(name);
    let mut rdr = csv::Reader::from_path(vector(name, ".csv")).unwrap();
    let path = dir.join(format!("{name}.valid.csv"));
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(rdr.headers().unwrap()).unwrap();
    let mut clks = Vec::new();
    for (r, want) in rdr.records().zip(&expected) {
        if want.invalid_field.is_empty() {
            w.write_record(&r.unwrap()).unwrap();
            clks.push(want.clk.clone());
        }
    }
    w.flush().unwrap();
    (path, clks)
}

fn json_clks(path: &Path) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["clks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn cli_encode_writes_clkhash_json_identical_to_clkhash() {
    let dir = tempfile::tempdir().unwrap();
    for (name, secret) in VECTORS {
        let (input, want) = valid_rows_csv(dir.path(), name);
        let out = dir.path().join(format!("{name}.json"));
        for threads in ["1", "2"] {
            pprl()
                .args(["encode", "--quiet", "--threads", threads, "--schema"])
                .arg(vector(name, ".schema.json"))
                .arg("--secret-file")
                .arg(testdata(&format!("clkhash/{secret}")))
                .arg(&input)
                .arg("-o")
                .arg(&out)
                .assert()
                .success();
            assert_eq!(json_clks(&out), want, "{name} with {threads} threads");
        }
    }
}

#[test]
fn cli_invalid_rows_fail_positional_output_and_name_row_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let expected = expected("v3_full");
    let first = expected
        .iter()
        .position(|e| !e.invalid_field.is_empty())
        .unwrap();
    pprl()
        .args(["encode", "--schema"])
        .arg(vector("v3_full", ".schema.json"))
        .arg("--secret-file")
        .arg(testdata("clkhash/secret.txt"))
        .arg(vector("v3_full", ".csv"))
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "row {} (line {}; clkhash's row index {first}), field `{}`",
            first + 1,
            first + 2,
            expected[first].invalid_field
        )));
    assert!(!out.exists(), "no partial clkhash JSON");
    let rejects = dir.path().join("out.json.rejects.csv");
    assert!(
        !rejects.exists(),
        "a failed run leaves no default rejects report"
    );
    // A rejects report named on the command line is written, failed run or not.
    pprl()
        .args(["encode", "--schema"])
        .arg(vector("v3_full", ".schema.json"))
        .arg("--secret-file")
        .arg(testdata("clkhash/secret.txt"))
        .arg(vector("v3_full", ".csv"))
        .arg("-o")
        .arg(&out)
        .arg("--rejects")
        .arg(&rejects)
        .assert()
        .failure()
        .stderr(predicate::str::contains("every rejected row is listed in"));
    assert!(!out.exists(), "no partial clkhash JSON");
    let mut rdr = csv::Reader::from_path(&rejects).unwrap();
    let got: Vec<(usize, String)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].parse::<usize>().unwrap() - 1, r[3].to_string())
        })
        .collect();
    let want: Vec<(usize, String)> = expected
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.invalid_field.is_empty())
        .map(|(i, e)| (i, e.invalid_field.clone()))
        .collect();
    assert_eq!(
        got, want,
        "every row clkhash's validation refuses, with its field"
    );
}

/// `pprl encode --format FORMAT` of `input` with the `v3_full` vector's schema and secret.
fn encode_v3_full(input: &Path, format: &str, out: &Path) {
    pprl()
        .args(["encode", "--quiet", "--format", format, "--schema"])
        .arg(vector("v3_full", ".schema.json"))
        .arg("--secret-file")
        .arg(testdata("clkhash/secret.txt"))
        .arg(input)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn cli_clk_and_anonlink_binary_outputs_hold_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let (input, want) = valid_rows_csv(dir.path(), "v3_full");
    let run = |format: &str, out: &Path| encode_v3_full(&input, format, out);
    let bin = dir.path().join("a.bin");
    run("anonlink-binary", &bin);
    let raw = std::fs::read(&bin).unwrap();
    assert_eq!(raw.len(), want.len() * (4 + 128));
    for (i, (record, clk)) in raw.chunks(132).zip(&want).enumerate() {
        assert_eq!(&record[..4], &(i as u32).to_be_bytes());
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&record[4..]),
            *clk
        );
    }
    let clk = dir.path().join("a.clk");
    run("clk", &clk);
    let data = pprl::io::ClkReader::open(&clk).unwrap().read_all().unwrap();
    assert_eq!(data.header.hashing.as_str(), "clkhash");
    assert_eq!(data.ids[..3], ["0", "1", "2"]);
    for (i, clk) in want.iter().enumerate() {
        let mut bytes = Vec::new();
        words_to_bytes(data.record(i), 1024, &mut bytes);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            *clk
        );
    }
    pprl().arg("inspect").arg(&clk).assert().success();
}

#[test]
fn cli_match_reads_clkhash_json_and_anonlink_binary_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = valid_rows_csv(dir.path(), "v3_full");
    let encode = |format: &str, out: &Path| encode_v3_full(&input, format, out);
    let (json, bin, clk) = (
        dir.path().join("a.json"),
        dir.path().join("b.bin"),
        dir.path().join("c.clk"),
    );
    encode("clkhash-json", &json);
    encode("anonlink-binary", &bin);
    encode("clk", &clk);
    for other in [&bin, &clk] {
        let links = dir.path().join("links.csv");
        pprl()
            .args(["match", "--threshold", "0.99", "-o"])
            .arg(&links)
            .arg(&json)
            .arg(other)
            .assert()
            .success()
            .stderr(predicate::str::contains("cannot check"));
        let text = std::fs::read_to_string(&links).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("a_id,b_id,score"));
        // The same rows encoded twice: every record links to itself, by position.
        let n = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!(f[0], f[1], "{l}");
                assert_eq!(f[2], "1.000000");
            })
            .count();
        assert!(n > 300, "{n} links");
    }
}

#[test]
fn cli_schema_convert_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("converted.toml");
    pprl()
        .args(["schema", "convert"])
        .arg(vector("v2_basic", ".schema.json"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("do not compare with clkhash"));
    pprl()
        .args(["schema", "check"])
        .arg(&out)
        .assert()
        .success();
    let schema = pprl::schema::Schema::from_path(&out).unwrap();
    assert_eq!(schema.id_column, "rec_id");
    assert_eq!(schema.fields.len(), 4);
    // A feature without a pprl equivalent is named.
    pprl()
        .args(["schema", "convert"])
        .arg(vector("v3_folds_sha512", ".schema.json"))
        .arg("-o")
        .arg(dir.path().join("x.toml"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("clkConfig.xor_folds"));
    pprl()
        .args(["schema", "check"])
        .arg(vector("v3_odd_length", ".schema.json"))
        .assert()
        .success()
        .stdout(predicate::str::contains("clkhash schema (version 3)"))
        .stderr(
            predicate::str::contains("warning[W100]").and(predicate::str::contains("xorFolds")),
        );
}

#[test]
fn cli_refuses_unsupported_features_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let schema = std::fs::read_to_string(vector("v3_full", ".schema.json")).unwrap();
    for (from, to, named) in [
        (
            r#""%d/%m/%Y""#,
            r#""%x""#,
            "features[4] (dob).format.format",
        ),
        (
            r#""l": 1024"#,
            r#""l": 1000"#,
            "features[1] (given_name).hashing.hash",
        ),
        (
            r#""keySize": 64"#,
            r#""keySize": 65"#,
            "features[1] (given_name).hashing.hash",
        ),
    ] {
        let path = dir.path().join("bad.json");
        std::fs::write(&path, schema.replace(from, to)).unwrap();
        pprl()
            .args(["encode", "--schema"])
            .arg(&path)
            .arg("--secret-file")
            .arg(testdata("clkhash/secret.txt"))
            .arg(vector("v3_full", ".csv"))
            .arg("-o")
            .arg(dir.path().join("out.json"))
            .assert()
            .failure()
            .stderr(predicate::str::contains(named))
            .stderr(predicate::str::contains("refuses"));
    }
}

#[test]
fn secret_file_bytes_are_used_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let (input, want) = valid_rows_csv(dir.path(), "v2_basic");
    let key = dir.path().join("k.txt");
    std::fs::write(&key, "correct horse battery staple\n").unwrap();
    let out = dir.path().join("o.json");
    pprl()
        .args(["encode", "--schema"])
        .arg(vector("v2_basic", ".schema.json"))
        .arg("--secret-file")
        .arg(&key)
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("ends with a line break"));
    assert_ne!(
        json_clks(&out)[0],
        want[0],
        "the newline is part of the secret"
    );
}

#[test]
fn cli_pprl_schema_writes_clkhash_json_with_the_same_bits_as_its_clk() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "record_id,given_name,surname,date_of_birth,sex,postcode,address\n\
         a1,Mary,Smith,01/02/1980,F,LS1 1AA,1 High Street\n\
         a2,Zoë,Ångström,1975-12-31,M,BS2 2BB,22 Mill Lane\n\
         a3,José,García,29/02/2000,M,CF3 3CC,3 The Avenue\n",
    )
    .unwrap();
    let key = crate::util::keygen(dir.path());
    let run = |format: &str, out: &Path| {
        pprl()
            .args(["encode", "--quiet", "--format", format, "--schema"])
            .arg(crate::util::person_schema())
            .arg("--secret-file")
            .arg(&key)
            .arg(&input)
            .arg("-o")
            .arg(out)
            .assert()
            .success();
    };
    let (clk, json) = (dir.path().join("a.clk"), dir.path().join("a.json"));
    run("clk", &clk);
    run("clkhash-json", &json);
    let data = pprl::io::ClkReader::open(&clk).unwrap().read_all().unwrap();
    let got = json_clks(&json);
    assert_eq!(got.len(), 3);
    for (i, b64) in got.iter().enumerate() {
        let mut bytes = Vec::new();
        words_to_bytes(data.record(i), 1024, &mut bytes);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&bytes),
            *b64
        );
    }
    // A rejected row would shift every later position: positional output refuses it.
    std::fs::write(
        &input,
        "record_id,given_name,surname,date_of_birth,sex,postcode,address\n\
         ,Mary,Smith,03/02/1980,F,LS1 1AA,1 High Street\n",
    )
    .unwrap();
    pprl()
        .args(["encode", "--format", "anonlink-binary", "--schema"])
        .arg(crate::util::person_schema())
        .arg("--secret-file")
        .arg(&key)
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("b.bin"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("the record id is empty"));
    assert!(!dir.path().join("b.bin").exists());
}

#[test]
fn cli_match_still_checks_the_clk_files_among_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = valid_rows_csv(dir.path(), "v2_basic");
    let other_key = dir.path().join("other.txt");
    std::fs::write(&other_key, "another secret").unwrap();
    let encode = |format: &str, key: &Path, out: &Path| {
        pprl()
            .args(["encode", "--quiet", "--format", format, "--schema"])
            .arg(vector("v2_basic", ".schema.json"))
            .arg("--secret-file")
            .arg(key)
            .arg(&input)
            .arg("-o")
            .arg(out)
            .assert()
            .success();
    };
    let (json, b, c) = (
        dir.path().join("a.json"),
        dir.path().join("b.clk"),
        dir.path().join("c.clk"),
    );
    encode("clkhash-json", &testdata("clkhash/secret.txt"), &json);
    encode("clk", &testdata("clkhash/secret.txt"), &b);
    encode("clk", &other_key, &c);
    pprl()
        .args(["match", "--threshold", "0.9", "-o"])
        .arg(dir.path().join("out.csv"))
        .arg(&json)
        .arg(&b)
        .arg(&c)
        .assert()
        .failure()
        .stderr(predicate::str::contains("different key fingerprints"))
        .stderr(predicate::str::contains("b.clk"));
}
