//! End-to-end tests of `pprl synth`: what it writes, that `pprl encode` takes it as it is, and
//! how it refuses bad arguments.

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{encode_cmd, keygen, listing, pprl};

fn synth(out: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = pprl();
    cmd.arg("synth").arg("--out-dir").arg(out).args(extra);
    cmd
}

/// Encodes `input` with the example schema and returns the manifest's row accounting.
fn encode(key: &Path, input: &Path) -> serde_json::Value {
    let out = input.with_extension("clk");
    encode_cmd(key, input, &out)
        .assert()
        .success()
        .stdout(contains(" 0 rejected"));
    let manifest = std::fs::read_to_string(out.with_extension("clk.manifest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    v["counts"].clone()
}

#[test]
fn writes_party_files_and_truth_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pop");
    synth(
        &out,
        &["--records", "1000", "--overlap", "0.3", "--seed", "7"],
    )
    .assert()
    .success()
    .stdout(
        contains("party_a.csv (1,000 records)")
            .and(contains("party_b.csv (1,000 records)"))
            .and(contains("truth.csv (300 true pairs, a_id,b_id)"))
            .and(contains("2,000 records in "))
            .and(contains("per party 300 shared")),
    );
    assert_eq!(listing(&out), ["party_a.csv", "party_b.csv", "truth.csv"]);
    let truth = std::fs::read_to_string(out.join("truth.csv")).unwrap();
    assert!(truth.starts_with("a_id,b_id\n"));
    assert_eq!(truth.lines().count(), 301);
}

#[test]
fn every_party_file_encodes_with_the_example_schema_without_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let multi = dir.path().join("multi");
    synth(
        &multi,
        &[
            "--records",
            "3000",
            "--parties",
            "3",
            "--duplicates",
            "0.1",
            "--corruption",
            "high",
            "--seed",
            "1",
        ],
    )
    .assert()
    .success()
    .stdout(contains("truth.csv (9,000 records with their person"));
    for name in ["party_a.csv", "party_b.csv", "party_c.csv"] {
        let counts = encode(&key, &multi.join(name));
        assert_eq!(counts["rows_encoded"], 3000, "{name}");
    }
    let dedup = dir.path().join("dedup");
    synth(
        &dedup,
        &[
            "--records",
            "2000",
            "--parties",
            "1",
            "--duplicates",
            "0.25",
            "--seed",
            "2",
        ],
    )
    .assert()
    .success()
    .stdout(contains("500 duplicates"));
    assert_eq!(listing(&dedup), ["party_a.csv", "truth.csv"]);
    assert_eq!(
        encode(&key, &dedup.join("party_a.csv"))["rows_encoded"],
        2000
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str, threads: &str| {
        let out = dir.path().join(name);
        synth(
            &out,
            &[
                "--records",
                "9000",
                "--seed",
                seed,
                "--threads",
                threads,
                "--quiet",
            ],
        )
        .assert()
        .success()
        .stdout("");
        ["party_a.csv", "party_b.csv", "truth.csv"].map(|f| std::fs::read(out.join(f)).unwrap())
    };
    let one = run("one", "5", "1");
    assert_eq!(one, run("three", "5", "3"));
    let other = run("other", "6", "2");
    for (a, b) in one.iter().zip(&other) {
        assert_ne!(a, b);
    }
}

#[test]
fn single_rates_can_be_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pop");
    synth(
        &out,
        &[
            "--records",
            "200",
            "--corruption",
            "none",
            "--rate",
            "given_name.missing=1",
            "--rate",
            "sex.missing = 1",
            "--seed",
            "3",
        ],
    )
    .assert()
    .success();
    let read = |name: &str| {
        let mut rdr = csv::Reader::from_path(out.join(name)).unwrap();
        rdr.records().map(|r| r.unwrap()).collect::<Vec<_>>()
    };
    // The first party is the truth; the second's copies lost their given names and sex.
    assert!(
        read("party_a.csv")
            .iter()
            .all(|r| !r[1].is_empty() && &r[4] != "U")
    );
    assert!(
        read("party_b.csv")
            .iter()
            .all(|r| r[1].is_empty() && &r[4] == "U" && !r[2].is_empty())
    );
}

#[test]
fn the_truth_scores_a_real_linkage() {
    // Generated pairs, encoded and matched, are found by the matcher: the truth file and the
    // match output use the same ids and the same `a_id,b_id` shape.
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let out = dir.path().join("pop");
    synth(&out, &["--records", "2000", "--seed", "11", "--quiet"])
        .assert()
        .success();
    encode(&key, &out.join("party_a.csv"));
    encode(&key, &out.join("party_b.csv"));
    let matches = dir.path().join("matches.csv");
    pprl()
        .args([
            "match",
            "--threshold",
            "0.8",
            "--no-scores",
            "--quiet",
            "-o",
        ])
        .arg(&matches)
        .arg(out.join("party_a.clk"))
        .arg(out.join("party_b.clk"))
        .assert()
        .success();
    let pairs = |path: &Path| -> Vec<(String, String)> {
        let mut rdr = csv::Reader::from_path(path).unwrap();
        assert_eq!(rdr.headers().unwrap(), vec!["a_id", "b_id"]);
        rdr.records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[1].to_string())
            })
            .collect()
    };
    let truth = pairs(&out.join("truth.csv"));
    let found = pairs(&matches);
    let m = pprl::eval::PairMetrics::from_pairs(
        truth.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        found.iter().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    // Moderate corruption: most true pairs stay similar, few strangers look alike.
    assert!(m.precision > 0.9 && m.recall > 0.8, "{m:?}");
}

#[test]
fn bad_arguments_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pop");
    let cases: &[(&[&str], &str)] = &[
        (&["--records", "0", "--seed", "1"], "between 1 and"),
        (&["--records", "ten", "--seed", "1"], "not a whole number"),
        (&["--records", "10"], "--seed"),
        (
            &["--records", "10", "--seed", "1", "--overlap", "1.5"],
            "between 0 and 1",
        ),
        (
            &["--records", "10", "--seed", "1", "--overlap=-0.1"],
            "between 0 and 1",
        ),
        (
            &["--records", "10", "--seed", "1", "--duplicates", "1"],
            "below 1",
        ),
        (
            &["--records", "10", "--seed", "1", "--parties", "0"],
            "--parties",
        ),
        (
            &["--records", "10", "--seed", "1", "--parties", "27"],
            "--parties",
        ),
        (
            &["--records", "10", "--seed", "1", "--corruption", "extreme"],
            "--corruption",
        ),
        (
            &["--records", "10", "--seed", "1", "--rate", "typo"],
            "NAME=P",
        ),
        (
            &["--records", "10", "--seed", "1", "--rate", "sex.missing=2"],
            "between 0 and 1",
        ),
    ];
    for (args, message) in cases {
        synth(&out, args)
            .assert()
            .code(2)
            .stderr(contains(*message));
    }
    // Errors found after parsing exit with 1 and a precise message.
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--records",
                "10",
                "--seed",
                "1",
                "--rate",
                "given_name.typos=0.1",
            ],
            "no corruption rate `given_name.typos`",
        ),
        (
            &[
                "--records",
                "10",
                "--seed",
                "1",
                "--parties",
                "1",
                "--overlap",
                "0.5",
            ],
            "--overlap needs two parties",
        ),
    ];
    for (args, message) in cases {
        synth(&out, args)
            .assert()
            .code(1)
            .stderr(contains(*message));
    }
    assert!(!out.exists());
}

#[test]
fn an_unwritable_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    synth(&blocker.join("pop"), &["--records", "10", "--seed", "1"])
        .assert()
        .code(1)
        .stderr(contains("cannot write").and(contains("file")));
}
