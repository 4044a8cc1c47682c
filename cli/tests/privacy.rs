//! `pprl privacy audit`: the report, its verdicts, and bad input.

use assert_cmd::Command;

fn pprl() -> Command {
    Command::cargo_bin("pprl").unwrap()
}

/// Encodes `csv` with `schema` into `dir/out.clk` and returns its path.
fn encode(dir: &std::path::Path, schema: &str, csv: &str) -> std::path::PathBuf {
    let key = dir.join("s.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let out = dir.join("out.clk");
    pprl()
        .args(["encode", csv, "--schema", schema, "--secret-file"])
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .arg("-q")
        .assert()
        .success();
    out
}

const FEBRL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/febrl/febrl1.csv");

#[test]
fn a_first_name_only_filter_is_high_on_frequency_and_record_level_clks_are_lower() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("given.toml");
    std::fs::write(
        &schema,
        "version = 1\nid_column = \"rec_id\"\n[[fields]]\nname = \"given_name\"\n\
         normalize = [\"nfkc\", \"casefold\"]\ntokenizer = { kind = \"qgram\", q = 2 }\n\
         bits_per_token = 20\n",
    )
    .unwrap();
    let clk = encode(dir.path(), schema.to_str().unwrap(), FEBRL);
    let out = pprl()
        .args(["privacy", "audit", "--json"])
        .arg(&clk)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Measured on testdata/febrl/febrl1.csv: 82 % of records share a first-name filter.
    assert_eq!(v["frequency"]["verdict"]["level"], "high");
    assert!(v["frequency"]["duplicate_share"].as_f64().unwrap() > 0.5);
    let rec_schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/febrl.toml");
    let dir2 = tempfile::tempdir().unwrap();
    let clk2 = encode(dir2.path(), rec_schema, FEBRL);
    let out = pprl()
        .args(["privacy", "audit", "--json"])
        .arg(&clk2)
        .output()
        .unwrap();
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Measured: 7.8 % share a filter (FEBRL's exact duplicates); the largest group is 2 records.
    assert!(w["frequency"]["duplicate_share"].as_f64().unwrap() < 0.15);
    assert_ne!(w["frequency"]["verdict"]["level"], "high");
    assert_ne!(w["neighbourhood"]["verdict"]["level"], "high");
    // The text report names all five.
    let text = pprl()
        .args(["privacy", "audit"])
        .arg(&clk2)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for name in [
        "frequency",
        "length",
        "co-occurrence",
        "similarity",
        "neighbourhood",
    ] {
        assert!(text.contains(&format!("{name}: ")), "{text}");
    }
}

#[test]
fn a_file_that_is_not_an_encoding_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.clk");
    std::fs::write(&f, "name,dob\nalice,1990\n").unwrap();
    let out = pprl().args(["privacy", "audit"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("alice"), "{err}");
}
