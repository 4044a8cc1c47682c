//! `pprl match --model fs` and `pprl explain` end to end on FEBRL 1 (data pprl did not make):
//! the unsupervised result against the truth in the record ids, the saved model reused, the
//! review band, the charts, and every refusal.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use predicates::str::contains;

use crate::util::{encode_with, keygen, pprl, root, testdata};

struct Setup {
    dir: tempfile::TempDir,
    key: PathBuf,
    clk: PathBuf,
}

/// FEBRL 1 encoded with the hardened field schema.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let clk = dir.path().join("febrl1.clk");
    encode_with(
        &root().join("examples/febrl_fields.toml"),
        &key,
        &testdata("febrl/febrl1.csv"),
        &clk,
    )
    .arg("--quiet")
    .assert()
    .success();
    Setup { dir, key, clk }
}

/// `pprl match --model fs -t auto FILE -o OUT`; more arguments follow.
fn fs_match(s: &Setup, out: &Path) -> assert_cmd::Command {
    let mut cmd = pprl();
    cmd.args(["match", "--model", "fs", "-t", "auto"])
        .arg(&s.clk)
        .arg("-o")
        .arg(out);
    cmd
}

/// Pairs within the clusters of a `cluster,id` file.
fn clustered_pairs(path: &Path) -> HashSet<(String, String)> {
    let mut clusters: HashMap<String, Vec<String>> = HashMap::new();
    let mut r = csv::Reader::from_path(path).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        clusters
            .entry(rec[0].to_string())
            .or_default()
            .push(rec[1].to_string());
    }
    let mut pairs = HashSet::new();
    for ids in clusters.values_mut() {
        ids.sort();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                pairs.insert((a.clone(), b.clone()));
            }
        }
    }
    pairs
}

/// The F1 of FEBRL 1 clusters in a `cluster,id` file: every record's entity is in its id
/// (`rec-N-org`, `rec-N-dup-0`), 500 true pairs.
fn febrl1_f1(path: &Path) -> f64 {
    let predicted = clustered_pairs(path);
    let entity = |id: &str| id.split('-').nth(1).unwrap().to_string();
    let tp = predicted
        .iter()
        .filter(|(a, b)| entity(a) == entity(b))
        .count();
    2.0 * tp as f64 / (predicted.len() + 500) as f64
}

#[test]
fn febrl1_deduplicates_unsupervised_and_the_saved_model_reproduces_it() {
    let s = setup();
    let out = s.dir.path().join("dups.csv");
    let model = s.dir.path().join("model.json");
    let review = s.dir.path().join("review.csv");
    let plots = s.dir.path().join("plots");
    fs_match(&s, &out)
        .arg("--save-model")
        .arg(&model)
        .arg("--review")
        .arg("0.01")
        .arg("--review-output")
        .arg(&review)
        .arg("--plot")
        .arg(&plots)
        .assert()
        .success()
        .stdout(contains("trained in"))
        .stdout(contains("chosen for the best expected F1"));
    let f1 = febrl1_f1(&out);
    // Measured 0.9990 (docs/probabilistic.md).
    assert!(f1 >= 0.994, "F1 {f1}");
    let review_rows = std::fs::read_to_string(&review).unwrap();
    assert!(review_rows.starts_with("a_id,b_id,probability\n"));
    for name in ["weights", "match_weights", "m_u"] {
        for ext in ["svg", "png"] {
            let p = plots.join(format!("{name}.{ext}"));
            assert!(
                std::fs::metadata(&p).unwrap().len() > 1000,
                "{}",
                p.display()
            );
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(json["params"]["fields"].as_array().unwrap().len(), 8);
    assert!(json["passes"].as_array().unwrap().len() >= 2);

    // Reused, the model gives the same clusters, byte for byte, without training.
    let again = s.dir.path().join("again.csv");
    fs_match(&s, &again)
        .arg("--load-model")
        .arg(&model)
        .assert()
        .success()
        .stdout(contains("loaded"));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());

    // The explanation of a true pair adds up to a confident match, and charts it.
    let output = pprl()
        .args(["explain", "--format", "json", "--model"])
        .arg(&model)
        .arg(&s.clk)
        .args(["--pair", "rec-122-org", "rec-122-dup-0", "--plot"])
        .arg(&plots)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let e: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let parts: f64 = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["weight"].as_f64().unwrap() + f["tf_adjustment"].as_f64().unwrap_or(0.0))
        .sum::<f64>()
        + e["prior_weight"].as_f64().unwrap();
    assert!((parts - e["weight"].as_f64().unwrap()).abs() < 1e-9);
    assert!(e["probability"].as_f64().unwrap() > 0.99, "{e}");
    assert!(plots.join("waterfall.svg").exists());

    // Candidates from exact agreement on some field: named in the summary, the same quality.
    let exact = s.dir.path().join("exact.csv");
    fs_match(&s, &exact)
        .args(["--candidates", "exact"])
        .assert()
        .success()
        .stdout(contains(
            "candidates (agreeing exactly on given_name or surname or",
        ));
    let f1 = febrl1_f1(&exact);
    assert!(f1 >= 0.994, "F1 with exact candidates {f1}");
}

#[test]
fn refusals_name_the_problem() {
    let s = setup();
    let out = s.dir.path().join("x.csv");
    // A flag of the model without the model.
    pprl()
        .args(["match", "-t", "0.8", "--prior", "0.001"])
        .arg(&s.clk)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("--prior applies only with --model fs"));
    // Record-level encodings.
    let dir = s.dir.path();
    let clk = dir.join("clk.clk");
    encode_with(
        &root().join("examples/febrl.toml"),
        &s.key,
        &testdata("febrl/febrl1.csv"),
        &clk,
    )
    .arg("--quiet")
    .assert()
    .success();
    pprl()
        .args(["match", "--model", "fs", "-t", "auto"])
        .arg(&clk)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("`field` layout"));
    // A model file that is not one, and an unknown pair.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"params\": 3}").unwrap();
    pprl()
        .args(["match", "--model", "fs", "-t", "auto", "--load-model"])
        .arg(&bad)
        .arg(&s.clk)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("not a pprl model"));
    assert!(!out.exists());
}
