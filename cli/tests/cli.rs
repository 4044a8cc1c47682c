//! End-to-end tests of the `pprl` binary on files in `testdata/`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{encode_cmd, keygen, listing, person_schema, pprl, testdata};

#[test]
fn keygen_writes_a_private_32_byte_secret_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    pprl()
        .args(["keygen", "-o"])
        .arg(&key)
        .assert()
        .success()
        .stdout(contains("key fingerprint: "));
    let bytes = std::fs::read(&key).unwrap();
    assert_eq!(bytes.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    pprl()
        .args(["keygen", "-o"])
        .arg(&key)
        .assert()
        .failure()
        .stderr(contains("already exists"));
    assert_eq!(std::fs::read(&key).unwrap(), bytes);
}

#[test]
fn schema_check_prints_the_fingerprint() {
    pprl()
        .args(["schema", "check"])
        .arg(person_schema())
        .assert()
        .success()
        .stdout(contains(
            "fingerprint: 797e2e8643776adb1b28087a105715c74ca4e187eb43e56738a8a89b12460237",
        ));
    let out = pprl()
        .args(["schema", "check", "--format", "json"])
        .arg(testdata("golden/field.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["layout"], "field");
    assert_eq!(v["warnings"][0]["code"], "W001");
}

#[test]
fn schema_check_names_the_bad_key() {
    pprl()
        .args(["schema", "check"])
        .arg(testdata("bad/schema_length.toml"))
        .assert()
        .code(1)
        .stderr(contains("filter.length_bits").and(contains("multiple of 64")));
}

#[test]
fn encode_accounts_for_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let out = dir.path().join("b.clk");
    encode_cmd(&key, &testdata("sample/dept_b.csv"), &out)
        .assert()
        .success()
        .stdout(contains("encoded 401 of 402 rows").and(contains("1 rejected")))
        .stdout(contains("1 invalid value(s) encoded as missing"));
    // The impossible date is encoded as missing (the schema's default `on_invalid`); the row
    // without an id is rejected.
    let rejects = std::fs::read_to_string(dir.path().join("b.clk.rejects.csv")).unwrap();
    assert_eq!(
        rejects,
        "row,line,record_id,field,code,reason,action\n\
         401,402,B-9001,date_of_birth,invalid-date,\"not a valid date in any declared format (%d/%m/%Y, %Y-%m-%d)\",field-missing\n\
         402,403,,,missing-id,the record id is empty,row-rejected\n"
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("b.clk.manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["counts"]["rows_read"], 402);
    assert_eq!(manifest["counts"]["rows_encoded"], 401);
    assert_eq!(manifest["counts"]["rows_rejected"], 1);
    assert_eq!(manifest["fields_invalid"]["date_of_birth"], 1);
    assert_eq!(manifest["rejects_file"], "b.clk.rejects.csv");
    let sha = sha2::Sha256::digest(std::fs::read(&out).unwrap());
    assert_eq!(manifest["encoding_sha256"], hex::encode(sha));

    let inspect = pprl()
        .args(["inspect", "--format", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["records"], 401);
    assert_eq!(v["checksum"], "ok");
    assert_eq!(v["key_fingerprint"], manifest["key_fingerprint"]);
    assert_eq!(v["popcount"]["records"], 401);
    let mean = v["popcount"]["mean"].as_f64().unwrap();
    assert!((350.0..650.0).contains(&mean), "{mean}");
    pprl().arg("inspect").arg(&out).assert().success().stdout(
        contains("records            401")
            .and(contains("checksum ok"))
            .and(contains("rows read 402, encoded 401, rejected 1")),
    );
    assert_eq!(v["manifest"]["describes_this_file"], true);
}

use sha2::Digest as _;

#[test]
fn output_is_identical_across_threads_and_chunk_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let mut outputs = Vec::new();
    for (threads, chunk) in [("1", "4096"), ("2", "7"), ("3", "1"), ("2", "100000")] {
        let out = dir.path().join(format!("a-{threads}-{chunk}.clk"));
        encode_cmd(&key, &testdata("sample/dept_a.csv"), &out)
            .args(["--threads", threads, "--chunk-rows", chunk, "--quiet"])
            .assert()
            .success()
            .stdout("");
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn stdin_input_and_secret_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let from_file = dir.path().join("file.clk");
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &from_file)
        .assert()
        .success();
    let from_stdin = dir.path().join("stdin.clk");
    pprl()
        .env("PPRL_SECRET_FILE", &key)
        .arg("encode")
        .arg("--schema")
        .arg(person_schema())
        .arg("-")
        .arg("-o")
        .arg(&from_stdin)
        .pipe_stdin(testdata("sample/dept_a.csv"))
        .unwrap()
        .assert()
        .success();
    assert_eq!(
        std::fs::read(from_file).unwrap(),
        std::fs::read(from_stdin).unwrap()
    );
}

/// Each bad input: a precise message, exit code 1, and no output left behind.
#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let cases = [
        (
            "bad/unequal_lengths.csv",
            "row 2 (line 3) has 4 fields but the header has 7",
        ),
        (
            "bad/invalid_utf8.csv",
            "row 2 (line 3), column 2: invalid UTF-8",
        ),
        (
            "bad/missing_column.csv",
            "no column `date_of_birth` (needed by field `date_of_birth`)",
        ),
        (
            "bad/duplicate_id.csv",
            "a record id appears twice (rows 1 and 3)",
        ),
        (
            "bad/unterminated_quote.csv",
            "quoted field opened on line 2 is never closed",
        ),
        ("bad/empty.csv", "is empty"),
        ("bad/does_not_exist.csv", "cannot read"),
    ];
    for (input, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let out = dir.path().join("out.clk");
        encode_cmd(&key, &testdata(input), &out)
            .assert()
            .code(1)
            .stderr(contains(message).and(contains("panicked").not()));
        assert_eq!(
            listing(dir.path()),
            ["project.key"],
            "{input} left files behind"
        );
    }
}

#[test]
fn secret_problems_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = testdata("sample/dept_a.csv");
    let out = dir.path().join("out.clk");
    // No secret at all.
    pprl()
        .arg("encode")
        .arg("--schema")
        .arg(person_schema())
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("--secret-file"));
    // There is no way to pass the secret itself as a value.
    pprl().args(["encode", "--secret", "abc"]).assert().code(2);
    // Too short, and missing.
    let short = dir.path().join("short.key");
    std::fs::write(&short, b"too short").unwrap();
    encode_cmd(&short, &input, &out)
        .assert()
        .code(1)
        .stderr(contains("holds 9 bytes").and(contains("at least 32")));
    // A path that names nothing is not echoed: it may be the secret itself.
    encode_cmd(&dir.path().join("nope.key"), &input, &out)
        .assert()
        .code(1)
        .stderr(contains("the secret file path does not exist").and(contains("nope.key").not()));
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn a_readable_secret_file_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    encode_cmd(
        &key,
        &testdata("sample/dept_a.csv"),
        &dir.path().join("a.clk"),
    )
    .assert()
    .success()
    .stderr(contains("readable by other users"));
}

#[test]
fn output_may_not_overwrite_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let input = dir.path().join("in.csv");
    std::fs::copy(testdata("sample/dept_a.csv"), &input).unwrap();
    encode_cmd(&key, &input, &input)
        .assert()
        .code(1)
        .stderr(contains("is the same file as the input"));
}

#[test]
fn a_canary_secret_never_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let canary = b"CANARY-SECRET-0123456789-abcdefghijklmnop".to_vec();
    let key = dir.path().join("canary.key");
    std::fs::write(&key, &canary).unwrap();
    let out = dir.path().join("b.clk");
    let mut streams = Vec::new();
    let encoded = encode_cmd(&key, &testdata("sample/dept_b.csv"), &out)
        .output()
        .unwrap();
    assert!(encoded.status.success());
    streams.extend([encoded.stdout, encoded.stderr]);
    let inspected = pprl().arg("inspect").arg(&out).output().unwrap();
    streams.extend([inspected.stdout, inspected.stderr]);
    // Error paths too: a bad input with the canary secret.
    let failed = encode_cmd(
        &key,
        &testdata("bad/unequal_lengths.csv"),
        &dir.path().join("x.clk"),
    )
    .output()
    .unwrap();
    streams.extend([failed.stdout, failed.stderr]);
    for name in listing(dir.path()) {
        if name != "canary.key" {
            streams.push(std::fs::read(dir.path().join(name)).unwrap());
        }
    }
    let needles = [
        canary.clone(),
        hex::encode(&canary).into_bytes(),
        canary[..16].to_vec(),
    ];
    for (i, haystack) in streams.iter().enumerate() {
        for needle in &needles {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "output {i} contains the secret"
            );
        }
    }
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = pprl()
        .args(["demo", "--records", "800", "--dir"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(
            contains("encoded 800 of 800 rows")
                .and(contains("threshold 0."))
                .and(contains("400 true pairs")),
        );
    // The printed quality is the real one: recompute it from the files the demo kept.
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let f1: f64 = text
        .lines()
        .find(|l| l.starts_with("7. quality"))
        .unwrap()
        .split("F1 ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(f1 > 0.9, "demo F1 {f1}");
    for f in [
        "party_a.clk",
        "party_b.clk.manifest.json",
        "truth.csv",
        "project.key",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let matches = std::fs::read_to_string(dir.path().join("matches.csv")).unwrap();
    assert!(matches.starts_with("a_id,b_id\n"));
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let truth: std::collections::HashSet<&str> = truth.lines().skip(1).collect();
    let links: Vec<&str> = matches.lines().skip(1).collect();
    let tp = links.iter().filter(|l| truth.contains(*l)).count();
    let (p, r) = (
        tp as f64 / links.len() as f64,
        tp as f64 / truth.len() as f64,
    );
    assert!(
        (2.0 * p * r / (p + r) - f1).abs() < 0.0015,
        "F1 {f1} vs {p} {r}"
    );
}

#[test]
fn version_and_help() {
    pprl()
        .arg("--version")
        .assert()
        .success()
        .stdout(contains("pprl"));
    pprl()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("encode").and(contains("keygen")));
}
