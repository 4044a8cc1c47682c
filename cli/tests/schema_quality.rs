//! Schema quality: one bad field never loses a row (`on_invalid`), `schema check` reports the
//! expected and measured fill, advises on weak choices, refuses dense schemas, and prints its
//! warnings on standard error.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{encode_with, keygen, pprl, testdata};

/// The person schema the golden vectors use (frozen: the example may change).
fn person() -> PathBuf {
    testdata("golden/person.toml")
}

/// Three rows in the person columns; row 2's date of birth is impossible.
const EXPORT: &str = "record_id,given_name,surname,date_of_birth,sex,postcode,address\n\
    A1,Ann,Lee,03/11/1987,F,SW1A 1AA,1 Main St\n\
    A2,Bob,Ray,31/02/1990,M,LS1 1AA,2 Park Rd\n\
    A3,Cy,Wu,01/01/1970,F,EX4 4QJ,3 High St\n";

/// The person schema with `extra` added to its `date_of_birth` field.
fn person_with(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(person()).unwrap().replacen(
        "name = \"date_of_birth\"",
        &format!("name = \"date_of_birth\"\n{extra}"),
        1,
    );
    let path = dir.join("schema.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn manifest(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}.manifest.json", out.display())).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fingerprint(schema: &Path) -> String {
    let out = pprl()
        .args(["schema", "check", "--format", "json"])
        .arg(schema)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["fingerprint"].as_str().unwrap().to_string()
}

#[test]
fn an_invalid_date_is_encoded_as_missing_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let input = dir.path().join("export.csv");
    std::fs::write(&input, EXPORT).unwrap();
    let out = dir.path().join("out.clk");
    encode_with(&person(), &key, &input, &out)
        .assert()
        .success()
        .stdout(contains("encoded 3 of 3 rows").and(contains("0 rejected")))
        .stdout(contains("1 invalid value(s) encoded as missing"));
    let m = manifest(&out);
    assert_eq!(m["counts"]["rows_read"], 3);
    assert_eq!(m["counts"]["rows_encoded"], 3);
    assert_eq!(m["counts"]["rows_rejected"], 0);
    assert_eq!(m["fields_invalid"]["date_of_birth"], 1);
    let rejects = std::fs::read_to_string(dir.path().join("out.clk.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "row,line,record_id,field,code,reason,action");
    assert_eq!(lines.len(), 2, "{rejects}");
    assert!(
        lines[1].starts_with("2,3,A2,date_of_birth,invalid-date,")
            && lines[1].ends_with(",field-missing"),
        "{rejects}"
    );
    // No value is copied into the report.
    assert!(!rejects.contains("31/02/1990"));
}

#[test]
fn reject_row_and_required_fields_still_reject_the_row() {
    for extra in ["on_invalid = \"reject-row\"", "missing = \"reject\""] {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let input = dir.path().join("export.csv");
        std::fs::write(&input, EXPORT).unwrap();
        let schema = person_with(dir.path(), extra);
        let out = dir.path().join("out.clk");
        encode_with(&schema, &key, &input, &out)
            .assert()
            .success()
            .stdout(contains("encoded 2 of 3 rows"));
        let m = manifest(&out);
        assert_eq!(m["counts"]["rows_rejected"], 1, "{extra}");
        assert!(m.get("fields_invalid").is_none(), "{extra}: {m}");
        let rejects = std::fs::read_to_string(dir.path().join("out.clk.rejects.csv")).unwrap();
        assert!(
            rejects.contains("2,3,A2,date_of_birth,invalid-date,")
                && rejects.trim_end().ends_with(",row-rejected"),
            "{extra}: {rejects}"
        );
    }
}

#[test]
fn on_invalid_is_in_the_fingerprint_but_its_default_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let plain = fingerprint(&person());
    let default = fingerprint(&person_with(dir.path(), "on_invalid = \"missing\""));
    let reject = fingerprint(&person_with(dir.path(), "on_invalid = \"reject-row\""));
    // The golden person schema's fingerprint (testdata/golden/person.expected.csv's schema).
    assert_eq!(
        plain,
        "797e2e8643776adb1b28087a105715c74ca4e187eb43e56738a8a89b12460237"
    );
    assert_eq!(default, plain);
    assert_ne!(reject, plain);
    pprl()
        .args(["schema", "check"])
        .arg(person_with(dir.path(), "on_invalid = \"drop\""))
        .assert()
        .failure()
        .stderr(contains("on_invalid").or(contains("unknown variant")));
}

#[test]
fn schema_check_profiles_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    let mut text = String::from(EXPORT);
    for i in 4..40 {
        text.push_str(&format!(
            "A{i},Name{i},Smith,0{}/0{}/19{i:02},F,NR23 2BN,{i} Road\n",
            1 + i % 9,
            1 + i % 9
        ));
    }
    std::fs::write(&input, &text).unwrap();
    pprl()
        .args(["schema", "check"])
        .arg(person())
        .arg("--data")
        .arg(&input)
        .assert()
        .success()
        .stdout(contains("profiled 39 row(s)").and(contains("date_of_birth")))
        .stdout(contains("measured"))
        .stdout(contains("warning").not())
        .stderr(contains("warning[W103]: field `surname`"))
        .stderr(contains("warning[W105]: field `date_of_birth`"));
    let out = pprl()
        .args(["schema", "check", "--format", "json"])
        .arg(person())
        .arg("--data")
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["profile"];
    assert_eq!(p["rows"], 39);
    let dob = &p["fields"][2];
    assert_eq!(dob["name"], "date_of_birth");
    assert!((dob["invalid_rate"].as_f64().unwrap() - 1.0 / 39.0).abs() < 1e-9);
    assert!((p["fields"][1]["top_share"].as_f64().unwrap() - 36.0 / 39.0).abs() < 1e-9);
    let measured = p["measured"]["mean"].as_f64().unwrap();
    assert!(measured > 0.1 && measured < 0.9, "{measured}");
    assert!(v["expected_fill"]["fill"].as_f64().unwrap() > 0.0);
    // No value of the export appears in the report.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("Smith") && !stdout.contains("smith"));
}

/// One exact field whose weight fills nearly every bit of a 256-bit filter.
fn dense_schema(dir: &Path) -> PathBuf {
    let path = dir.join("dense.toml");
    std::fs::write(
        &path,
        "version = 1\nid_column = \"id\"\n[filter]\nlength_bits = 256\n\
         [[fields]]\nname = \"name\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 100\n\
         [[fields]]\nname = \"city\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 100\n\
         [[fields]]\nname = \"code\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 100\n",
    )
    .unwrap();
    path
}

#[test]
fn a_dense_schema_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dense_schema(dir.path());
    pprl()
        .args(["schema", "check"])
        .arg(&schema)
        .assert()
        .failure()
        .stderr(contains("% full").and(contains("--allow-dense")))
        .stderr(contains("warning[W005]"));
    pprl()
        .args(["schema", "check", "--allow-dense"])
        .arg(&schema)
        .assert()
        .success()
        .stdout(contains("expected fill: 100.0%"))
        .stderr(contains("warning[W005]"));
    // The example schema is far from dense.
    pprl()
        .args(["schema", "check"])
        .arg(person())
        .assert()
        .success();
}

#[test]
fn schema_check_warnings_go_to_stderr() {
    pprl()
        .args(["schema", "check"])
        .arg(testdata("golden/field.toml"))
        .assert()
        .success()
        .stdout(contains("warning").not())
        .stderr(contains("warning[W001]"));
}

#[test]
fn a_missing_schema_file_is_said_to_be_missing() {
    let dir = tempfile::tempdir().unwrap();
    pprl()
        .args(["schema", "check"])
        .arg(dir.path().join("nope.toml"))
        .assert()
        .failure()
        .stderr(contains("does not exist").and(contains("invalid").not()));
}

#[test]
fn every_example_schema_checks_and_is_not_dense() {
    let examples = crate::util::root().join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = pprl()
                .args(["schema", "check", "--format", "json"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", path.display());
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let fill = v["expected_fill"]["fill"].as_f64().unwrap();
            // Field filters are compared one by one: a sparse filter keeps each field's Dice
            // faithful (febrl_fields.toml links best at 14%, docs/probabilistic.md).
            let low = match v["layout"].as_str() {
                Some("field") => 0.1,
                _ => 0.3,
            };
            assert!((low..=0.7).contains(&fill), "{}: {fill}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked}");
}
