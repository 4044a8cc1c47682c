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

#[test]
fn encode_records_the_audit_in_the_manifest_and_prints_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("s.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let out = dir.path().join("out.clk");
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/febrl.toml");
    let run = pprl()
        .args(["encode", FEBRL, "--schema", schema, "--secret-file"])
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).unwrap();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("privacy audit: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out.clk.manifest.json")).unwrap())
            .unwrap();
    let audit = &manifest["privacy"];
    assert_eq!(audit["records"], 1000);
    // The printed line is the recorded audit's verdicts, and `privacy audit` gives the same.
    for name in ["frequency", "length", "similarity"] {
        let level = audit[name]["verdict"]["level"].as_str().unwrap();
        assert!(line.contains(&format!("{name} {level}")), "{line}");
    }
    let again = pprl()
        .args(["privacy", "audit", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(&v, audit);
    // The manifest still describes the file it sits beside.
    pprl().arg("inspect").arg(&out).assert().success();
}

#[test]
fn audit_plot_writes_one_page_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let rec_schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/febrl.toml");
    let clk = encode(dir.path(), rec_schema, FEBRL);
    let plot = dir.path().join("charts");
    pprl()
        .args(["privacy", "audit"])
        .arg(&clk)
        .arg("--plot")
        .arg(&plot)
        .assert()
        .success();
    let svg = std::fs::read_to_string(plot.join("audit.svg")).unwrap();
    for name in [
        "frequency",
        "length",
        "co-occurrence",
        "similarity",
        "neighbourhood",
    ] {
        assert!(svg.contains(&format!("{name}: ")), "{name}");
    }
    let png = std::fs::read(plot.join("audit.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // Same bytes on a second run.
    pprl()
        .args(["privacy", "audit"])
        .arg(&clk)
        .arg("--plot")
        .arg(&plot)
        .assert()
        .success();
    assert_eq!(std::fs::read(plot.join("audit.png")).unwrap(), png);
    // The chart never replaces the input.
    pprl()
        .args(["privacy", "audit"])
        .arg(&clk)
        .arg("--plot")
        .arg(dir.path())
        .assert()
        .success();
    assert!(clk.exists());
}

#[test]
fn sweep_reports_attack_success_beside_f1_per_setting() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sweep.json");
    let plot = dir.path().join("charts");
    let out = pprl()
        .args([
            "privacy",
            "sweep",
            "--records",
            "400",
            "--seed",
            "3",
            "--harden",
            "none=",
            "--harden",
            "balance=\"balance\"",
            "--attack",
            "frequency",
            "--overlap",
            "1",
            "--real",
            FEBRL,
            "--output",
        ])
        .arg(&json)
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4, "two settings on two data sets");
    for r in rows {
        for k in ["two_party_f1", "dedup_f1"] {
            let f = r[k].as_f64().unwrap();
            // Measured (400 synthetic records, FEBRL 1): every F1 above 0.97.
            assert!(f > 0.95 && f <= 1.0, "{k} {r}");
        }
        assert_eq!(r["attacks"][0]["attack"], "frequency");
        assert_eq!(r["worst_rate_1_1"], r["attacks"][0]["rate_1_1"]);
    }
    assert_eq!(rows[1]["stored_bits"], 2048, "balance doubles the filter");
    assert_eq!(rows[2]["data"], "febrl1.csv");
    assert!(plot.join("sweep.svg").exists() && plot.join("sweep.png").exists());
    // A bad setting is one precise error.
    pprl()
        .args(["privacy", "sweep", "--records", "100", "--harden", "oops"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("LABEL=LIST"));
}

#[test]
fn schema_init_writes_the_recommended_profile_and_check_finds_nothing_weak_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new.toml");
    pprl()
        .args(["schema", "init", "-o"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("harden = [\"balance\"]"));
    let check = pprl().args(["schema", "check"]).arg(&out).output().unwrap();
    assert!(check.status.success());
    let stdout = String::from_utf8(check.stdout).unwrap();
    assert!(
        stdout.contains("privacy profile: has the recommended shape; 0 weak choice(s)"),
        "{stdout}"
    );
    let stderr = String::from_utf8(check.stderr).unwrap();
    assert!(!stderr.contains("W02"), "{stderr}");
    // Never replaces a file.
    std::fs::write(&out, "mine").unwrap();
    pprl()
        .args(["schema", "init", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("never replaces"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
}

#[test]
fn schema_check_warns_on_weak_privacy_choices() {
    let dir = tempfile::tempdir().unwrap();
    // No hardening, exact tokens of the state (17 distinct values in FEBRL 1).
    let febrl = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/febrl.toml");
    let check = pprl()
        .args(["schema", "check", febrl, "--data", FEBRL])
        .output()
        .unwrap();
    assert!(check.status.success());
    let stderr = String::from_utf8(check.stderr).unwrap();
    assert!(stderr.contains("warning[W020]"), "{stderr}");
    assert!(
        stderr.contains("warning[W021]: field `state`: exact tokens of a field with 17 distinct"),
        "{stderr}"
    );
    // Field-level filters of one frequent attribute, one field: W001 and W004-free (field
    // layout), no hardening; a hardened CLK without balance: W022.
    let field = dir.path().join("field.toml");
    std::fs::write(
        &field,
        "version = 1\nid_column = \"rec_id\"\n[filter]\nlayout = \"field\"\n[[fields]]\n\
         name = \"given_name\"\ntokenizer = { kind = \"qgram\", q = 2 }\nbits_per_token = 20\n",
    )
    .unwrap();
    let stderr = pprl()
        .args(["schema", "check"])
        .arg(&field)
        .output()
        .unwrap()
        .stderr;
    let stderr = String::from_utf8(stderr).unwrap();
    assert!(
        stderr.contains("warning[W001]") && stderr.contains("warning[W020]"),
        "{stderr}"
    );
    // Field filters: the trade is stated (a note with the measured leak), and W023 warns
    // when they are unhardened; the hardened FS example gets the note only.
    let note = "note: field-level filters are what probabilistic linkage";
    assert!(
        stderr.contains("warning[W023]") && stderr.contains(note) && stderr.contains("78%"),
        "{stderr}"
    );
    let fs = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/febrl_fields.toml");
    let out = pprl().args(["schema", "check", fs]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(note) && !stderr.contains("W023") && !stderr.contains("W020"),
        "{stderr}"
    );
    let clk = pprl()
        .args(["schema", "check", febrl])
        .output()
        .unwrap()
        .stderr;
    assert!(
        !String::from_utf8(clk)
            .unwrap()
            .contains("note: field-level")
    );
    let folded = dir.path().join("folded.toml");
    std::fs::write(
        &folded,
        std::fs::read_to_string(febrl).unwrap().replacen(
            "id_column = \"rec_id\"\n",
            "id_column = \"rec_id\"\n[filter]\nharden = [\"xor-fold\"]\n",
            1,
        ),
    )
    .unwrap();
    let stderr = pprl()
        .args(["schema", "check"])
        .arg(&folded)
        .output()
        .unwrap()
        .stderr;
    let stderr = String::from_utf8(stderr).unwrap();
    assert!(
        stderr.contains("warning[W022]") && !stderr.contains("W020"),
        "{stderr}"
    );
}

#[test]
fn with_the_export_the_length_measure_correlates_popcounts_with_token_counts() {
    let dir = tempfile::tempdir().unwrap();
    let body = "version = 1\nid_column = \"rec_id\"\n[[fields]]\nname = \"given_name\"\n\
         normalize = [\"nfkc\", \"casefold\"]\ntokenizer = { kind = \"qgram\", q = 2 }\n\
         bits_per_token = 20\n";
    let audit = |schema_text: &str, sub: &str| -> serde_json::Value {
        let d = dir.path().join(sub);
        std::fs::create_dir(&d).unwrap();
        let schema = d.join("s.toml");
        std::fs::write(&schema, schema_text).unwrap();
        let clk = encode(&d, schema.to_str().unwrap(), FEBRL);
        let out = pprl()
            .args(["privacy", "audit", "--json", "--data", FEBRL, "--schema"])
            .arg(&schema)
            .arg(&clk)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // Unhardened, a longer name sets more bits: the popcount follows the bigram count.
    let plain = audit(body, "plain");
    let t = &plain["length"]["tokens"];
    // Every encoded record (rows without a given name encode nothing and are rejected).
    assert_eq!(t["records"], plain["records"]);
    assert!(t["pearson"].as_f64().unwrap() > 0.7, "{t}");
    assert_eq!(t["verdict"]["level"], "high");
    // Balanced, every filter has half its bits set: nothing to follow.
    let balanced = audit(
        &body.replace("[[fields]]", "[filter]\nharden = [\"balance\"]\n[[fields]]"),
        "balanced",
    );
    let t = &balanced["length"]["tokens"];
    assert_eq!(t["pearson"], 0.0);
    assert_eq!(t["verdict"]["level"], "low");
    // Another export (no id in common) is one clear error; `--data` needs `--schema`.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "rec_id,given_name\nx-1,ann\nx-2,bob\n").unwrap();
    let out = pprl()
        .args(["privacy", "audit", "--data"])
        .arg(&other)
        .arg("--schema")
        .arg(dir.path().join("plain/s.toml"))
        .arg(dir.path().join("plain/out.clk"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the ids differ"));
    let out = pprl()
        .args(["privacy", "audit", "--data", FEBRL])
        .arg(dir.path().join("plain/out.clk"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}
