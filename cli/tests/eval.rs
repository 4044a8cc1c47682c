//! `pprl eval` and `pprl match --threshold auto` end to end, on the shipped samples.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

use crate::util::{encode_cmd, keygen, pprl, testdata};

fn encode(key: &Path, input: &Path, out: &Path) {
    encode_cmd(key, input, out)
        .arg("--quiet")
        .assert()
        .success();
}

/// Runs `pprl ARGS` and parses its standard output as JSON.
fn json(args: &[&str], paths: &[&Path]) -> Value {
    let run = pprl().args(args).args(paths).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

struct Sample {
    dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

fn sample() -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let (a, b) = (dir.path().join("a.clk"), dir.path().join("b.clk"));
    encode(&key, &testdata("sample/dept_a.csv"), &a);
    encode(&key, &testdata("sample/dept_b.csv"), &b);
    Sample { dir, a, b }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn auto_threshold_is_near_the_best_on_the_sample() {
    let s = sample();
    let d = s.dir.path();
    let (auto_out, scores) = (d.join("auto.csv"), d.join("greedy.csv"));
    let summary = json(
        &["match", "--threshold", "auto", "--format", "json", "-o"],
        &[&auto_out, &s.a, &s.b],
    );
    let chosen = summary["threshold"].as_f64().unwrap();
    let auto = &summary["threshold_auto"];
    assert_eq!(auto["value"].as_f64(), Some(chosen));
    assert_eq!(auto["method"], "mixture");
    assert!(
        auto["explanation"]
            .as_str()
            .unwrap()
            .contains("estimated F1")
    );
    assert!(auto["non_match_anchor"].as_f64().unwrap() < chosen);
    assert!(auto["match_mean"].as_f64().unwrap() > chosen);
    // 300 people are in both samples.
    let estimated = auto["estimated"]["true_pairs"].as_f64().unwrap();
    assert!((240.0..=360.0).contains(&estimated), "{estimated}");
    assert_eq!(summary["matches"].as_u64(), Some(300));

    // The greedy links at a low threshold give greedy's result at every higher threshold.
    pprl()
        .args(["match", "-t", "0.5", "-q", "-o"])
        .args([&scores, &s.a, &s.b])
        .assert()
        .success();
    let eval = json(
        &["eval", "--format", "json", "--truth"],
        &[
            &testdata("sample/truth.csv"),
            Path::new("--matches"),
            &auto_out,
            Path::new("--scores"),
            &scores,
        ],
    );
    let best = eval["sweep"]["best_f1"]["f1"].as_f64().unwrap();
    let got = eval["f1"].as_f64().unwrap();
    assert!(got >= best - 0.01, "auto F1 {got}, best {best}");

    // The text summary says what was chosen and why.
    pprl()
        .args(["match", "--threshold", "auto", "-o"])
        .arg(d.join("auto2.csv"))
        .args([&s.a, &s.b])
        .assert()
        .success()
        .stdout(contains("chosen automatically (mixture)"))
        .stdout(contains("non-match tails end near"))
        .stdout(contains("estimated quality of the result"));
}

#[test]
fn metrics_by_hand_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = write(d, "truth.csv", "a_id,b_id\na1,b1\na2,b2\na3,b3\na4,b4\n");
    let matches = write(d, "m.csv", "a_id,b_id\na1,b1\na2,b2\na3,b9\n");
    let scores = write(
        d,
        "s.csv",
        "a_id,b_id,score\na1,b1,0.95\na2,b2,0.9\na3,b9,0.85\na3,b3,0.8\na1,b2,0.7\n",
    );
    let v = json(
        &[
            "eval",
            "--format",
            "json",
            "--beta",
            "2",
            "--records",
            "10,20",
        ],
        &[
            Path::new("--truth"),
            &truth,
            Path::new("--matches"),
            &matches,
            Path::new("--scores"),
            &scores,
        ],
    );
    assert_eq!(
        (v["tp"].as_u64(), v["fp"].as_u64(), v["fn"].as_u64()),
        (Some(2), Some(1), Some(2))
    );
    let f = |k: &str| v[k].as_f64().unwrap();
    assert!((f("precision") - 2.0 / 3.0).abs() < 1e-12);
    assert!((f("recall") - 0.5).abs() < 1e-12);
    assert!((f("f1") - 4.0 / 7.0).abs() < 1e-12);
    assert!((f("f_beta") - 10.0 / 19.0).abs() < 1e-12);
    // Candidates: the 5 scored pairs of 10 x 20, 3 of the 4 true pairs among them.
    assert!((f("reduction_ratio") - (1.0 - 5.0 / 200.0)).abs() < 1e-12);
    assert!((f("pair_completeness") - 0.75).abs() < 1e-12);
    assert_eq!(v["sweep"]["best_f1"]["threshold"].as_f64(), Some(0.8));
    assert_eq!(v["sweep"]["best_f1"]["tp"].as_u64(), Some(3));

    pprl()
        .args(["eval", "--truth"])
        .arg(&truth)
        .arg("--matches")
        .arg(&matches)
        .arg("--scores")
        .arg(&scores)
        .args(["--threshold", "0.9"])
        .assert()
        .success()
        .stdout(contains("precision"))
        .stdout(contains("0.6667"))
        .stdout(contains("best F1 0.7500 at threshold 0.8000"))
        .stdout(contains("in use"));
}

#[test]
fn charts_are_valid_and_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = testdata("sample/truth.csv");
    // Scores: the truth's pairs at high scores plus some false pairs lower down.
    let mut text = String::from("a_id,b_id,score\n");
    for (i, line) in std::fs::read_to_string(&truth)
        .unwrap()
        .lines()
        .skip(1)
        .enumerate()
    {
        text.push_str(&format!("{line},{:.3}\n", 0.8 + (i % 20) as f64 / 100.0));
        text.push_str(&format!("X{i},Y{i},{:.3}\n", 0.5 + (i % 30) as f64 / 100.0));
    }
    let scores = write(d, "scores.csv", &text);
    for run in ["one", "two"] {
        pprl()
            .args(["eval", "--threshold", "0.75", "--truth"])
            .arg(&truth)
            .arg("--matches")
            .arg(&truth)
            .arg("--scores")
            .arg(&scores)
            .arg("--plot")
            .arg(d.join(run))
            .assert()
            .success()
            .stdout(contains("scores.png"));
    }
    let names = crate::util::listing(&d.join("one"));
    assert_eq!(
        names,
        [
            "pr_curve.png",
            "pr_curve.svg",
            "scores.png",
            "scores.svg",
            "threshold.png",
            "threshold.svg"
        ]
    );
    for name in names {
        let bytes = std::fs::read(d.join("one").join(&name)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(d.join("two").join(&name)).unwrap(),
            "{name}"
        );
        if name.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        } else {
            let svg = String::from_utf8(bytes).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            assert!(svg.contains("in use 0.750"), "{name}");
            // Every element is closed (a pair of tags, or self-closing): each `<` belongs to
            // an opening tag with a `</` partner, to such a partner, or to a `/>` element.
            let (tags, pairs, single) = (
                svg.matches('<').count(),
                svg.matches("</").count(),
                svg.matches("/>").count(),
            );
            assert_eq!(tags, 2 * pairs + single, "{name}");
            assert!(svg.contains("<text") && svg.contains("<polyline"), "{name}");
        }
    }
}

#[test]
fn dedup_and_multi_party_outputs_are_evaluated_as_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = keygen(d);
    let a_text = std::fs::read_to_string(testdata("sample/dept_a.csv")).unwrap();
    let b_text = std::fs::read_to_string(testdata("sample/dept_b.csv")).unwrap();
    let truth: Vec<(String, String)> = csv::Reader::from_path(testdata("sample/truth.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect();

    // Deduplication: both samples in one file; every true pair is a cluster of two.
    let both = write(
        d,
        "both.csv",
        &format!("{a_text}{}", b_text.split_once('\n').unwrap().1),
    );
    let both_clk = d.join("both.clk");
    encode(&key, &both, &both_clk);
    let dedup = d.join("dedup.csv");
    pprl()
        .args(["match", "-t", "0.8", "-q", "-o"])
        .args([&dedup, &both_clk])
        .assert()
        .success();
    let mut clusters = String::from("entity_id,record_id\n");
    for (i, (a, b)) in truth.iter().enumerate() {
        clusters.push_str(&format!("e{i},{a}\ne{i},{b}\n"));
    }
    let dedup_truth = write(d, "dedup_truth.csv", &clusters);
    let v = json(
        &["eval", "--format", "json", "--records", "900"],
        &[
            Path::new("--truth"),
            &dedup_truth,
            Path::new("--matches"),
            &dedup,
        ],
    );
    assert_eq!(v["linkage"], "dedup");
    assert!(v["recall"].as_f64().unwrap() > 0.95, "{v}");
    assert!(v["precision"].as_f64().unwrap() > 0.95, "{v}");
    assert_eq!(v["comparison_space"].as_u64(), Some(900 * 899 / 2));

    // Three parties: A, B, and the first 100 rows of A again under new ids.
    let mut c_text = String::from(a_text.lines().next().unwrap());
    c_text.push('\n');
    let mut c_ids = Vec::new();
    for (i, line) in a_text.lines().skip(1).take(100).enumerate() {
        let (a_id, rest) = line.split_once(',').unwrap();
        c_text.push_str(&format!("C{i},{rest}\n"));
        c_ids.push((a_id.to_string(), format!("C{i}")));
    }
    let c = write(d, "c.csv", &c_text);
    let clks: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|n| d.join(format!("{n}.clk")))
        .collect();
    encode(&key, &testdata("sample/dept_a.csv"), &clks[0]);
    encode(&key, &testdata("sample/dept_b.csv"), &clks[1]);
    encode(&key, &c, &clks[2]);
    let multi = d.join("multi.csv");
    pprl()
        .args(["match", "-t", "0.8", "-q", "-o"])
        .arg(&multi)
        .args(&clks)
        .assert()
        .success();
    // Truth clusters with named parties (numbered in sorted order: dept_a, dept_b, dept_c).
    let mut text = String::from("entity_id,party,record_id\n");
    for (i, (a, b)) in truth.iter().enumerate() {
        text.push_str(&format!("t{i},dept_a,{a}\nt{i},dept_b,{b}\n"));
    }
    for (a, c) in &c_ids {
        let entity = truth
            .iter()
            .position(|t| &t.0 == a)
            .map_or(format!("c{a}"), |i| format!("t{i}"));
        text.push_str(&format!("{entity},dept_a,{a}\n{entity},dept_c,{c}\n"));
    }
    let multi_truth = write(d, "multi_truth.csv", &text);
    let v = json(
        &["eval", "--format", "json"],
        &[
            Path::new("--truth"),
            &multi_truth,
            Path::new("--matches"),
            &multi,
        ],
    );
    assert_eq!(v["linkage"], "multi-party");
    let in_truth = v["true_pairs"].as_u64().unwrap();
    // 300 A-B pairs, 100 A-C pairs, and a B-C pair for each C whose A row has a B match.
    let with_b = c_ids
        .iter()
        .filter(|(a, _)| truth.iter().any(|t| &t.0 == a))
        .count() as u64;
    assert_eq!(in_truth, 300 + 100 + with_b);
    assert!(v["recall"].as_f64().unwrap() > 0.95, "{v}");
    assert!(v["precision"].as_f64().unwrap() > 0.95, "{v}");
}

#[test]
fn bad_inputs_are_refused_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = write(d, "truth.csv", "a_id,b_id\na,b\n");
    let eval = |matches: &Path| {
        let mut cmd = pprl();
        cmd.arg("eval")
            .arg("--truth")
            .arg(&truth)
            .arg("--matches")
            .arg(matches);
        cmd
    };
    let bad_header = write(d, "h.csv", "left,right\na,b\n");
    eval(&bad_header)
        .assert()
        .code(1)
        .stderr(contains("h.csv is not a links file").and(contains("left").not()));
    let bad_score = write(d, "s.csv", "a_id,b_id,score\na,b,0.5\nc,d,lots\n");
    eval(&bad_score)
        .assert()
        .code(1)
        .stderr(contains("s.csv, line 3, field `score`: not a number").and(contains("lots").not()));
    let dedup = write(d, "d.csv", "cluster,id\n0,a\n0,b\n");
    eval(&dedup)
        .assert()
        .code(1)
        .stderr(contains("describes records of two files"));
    eval(&truth)
        .arg("--records")
        .arg("5")
        .assert()
        .code(1)
        .stderr(contains("1 input sizes given").and(contains("hint: --records")));
    // Charts need scores.
    eval(&truth).arg("--plot").arg(d.join("p")).assert().code(2);
    assert!(!d.join("p").exists());
    eval(&d.join("missing.csv"))
        .assert()
        .code(1)
        .stderr(contains("cannot read"));
}

/// The `y` of the SVG text element whose text is `needle` (its own line in plotters' SVG).
fn text_y(svg: &str, needle: &str) -> f64 {
    let lines: Vec<&str> = svg.lines().collect();
    let i = lines.iter().position(|l| l.trim() == needle).expect(needle);
    let tag = lines[..i]
        .iter()
        .rev()
        .find(|l| l.starts_with("<text"))
        .unwrap();
    let start = tag.find(" y=\"").unwrap() + 4;
    tag[start..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn chart_labels_stay_apart_and_axes_fit_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = testdata("sample/truth.csv");
    // True pairs at 0.95 (three in five) and 0.9, false ones from 0.5 to 0.79: recall runs
    // from 0.6 to 1 and precision from 0.5 to 1; the best F1 threshold is 0.9.
    let mut text = String::from("a_id,b_id,score\n");
    for (i, line) in std::fs::read_to_string(&truth)
        .unwrap()
        .lines()
        .skip(1)
        .enumerate()
    {
        let score = if i % 5 < 3 { 0.95 } else { 0.9 };
        text.push_str(&format!("{line},{score}\n"));
        text.push_str(&format!("X{i},Y{i},{:.3}\n", 0.5 + (i % 30) as f64 / 100.0));
    }
    let scores = write(d, "scores.csv", &text);
    // The threshold in use is the best one: both marks at one point of every chart.
    eval_cmd(&truth, &truth)
        .args(["--threshold", "0.9", "--scores"])
        .arg(&scores)
        .arg("--plot")
        .arg(d.join("p"))
        .assert()
        .success();
    for chart in ["pr_curve", "threshold", "scores"] {
        let svg = std::fs::read_to_string(d.join("p").join(format!("{chart}.svg"))).unwrap();
        let (best, in_use) = (text_y(&svg, "best F1 0.900"), text_y(&svg, "in use 0.900"));
        assert!((best - in_use).abs() >= 12.0, "{chart}: {best} {in_use}");
    }
    // The PR chart's axes start near the data (0.6 and 0.5), not at 0.
    let pr = std::fs::read_to_string(d.join("p/pr_curve.svg")).unwrap();
    for tick in ["0.0", "0.1", "0.2", "0.3", "0.4"] {
        assert!(
            !pr.lines().any(|l| l.trim() == tick),
            "tick {tick} on the PR chart"
        );
    }
    assert!(pr.lines().any(|l| l.trim() == "0.6"));
}

/// `pprl eval --truth T --matches M [ARGS]`.
fn eval_cmd(truth: &Path, matches: &Path) -> assert_cmd::Command {
    let mut cmd = pprl();
    cmd.arg("eval")
        .arg("--truth")
        .arg(truth)
        .arg("--matches")
        .arg(matches);
    cmd
}

#[test]
fn files_of_the_wrong_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = write(d, "truth.csv", "a_id,b_id\na1,b1\na2,b2\n");
    let matches = write(d, "m.csv", "a_id,b_id,score\na1,b1,0.9\na2,b3,0.8\n");
    // Clusters within one file as the truth of a two-file result: was precision 0, recall 1.
    let dedup_truth = write(d, "dedup.csv", "entity_id,record_id\ne1,a1\ne1,b1\n");
    eval_cmd(&dedup_truth, &matches).assert().code(1).stderr(
        contains("dedup.csv describes records of one file")
            .and(contains("m.csv is a two-party result"))
            .and(contains("hint: --truth")),
    );
    // The match output given as the truth, and the truth given as the matches.
    eval_cmd(&matches, &truth).assert().code(1).stderr(
        contains("m.csv has a `score` column, as a match output has")
            .and(contains("a truth file lists the true pairs"))
            .and(contains("hint: --truth takes the true pairs")),
    );
    let entities = write(
        d,
        "entities.csv",
        "entity_id,party,record_id\ne1,0,a1\ne1,1,b1\n",
    );
    eval_cmd(&truth, &entities).assert().code(1).stderr(
        contains("entities.csv has the columns of a truth file")
            .and(contains("a match output is what `pprl match` writes"))
            .and(contains("hint: --matches takes")),
    );
    // Entities of one record each: no true pair at all.
    let singles = write(
        d,
        "singles.csv",
        "entity_id,party,record_id\ne1,0,a1\ne2,1,b1\n",
    );
    eval_cmd(&singles, &matches)
        .assert()
        .code(1)
        .stderr(contains("singles.csv holds no true pair"));
    // The columns a links file lacks are named; the header itself is never echoed.
    let half = write(d, "half.csv", "a_id,\u{1b}[31mSECRET\na,b\n");
    let run = eval_cmd(&truth, &half).assert().code(1);
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(stderr.contains("lacks a `b_id` column"), "{stderr}");
    assert!(
        !stderr.contains("SECRET") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
}

#[test]
fn record_counts_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truth = write(d, "truth.csv", "a_id,b_id\na1,b1\na2,b2\n");
    let matches = write(d, "m.csv", "a_id,b_id,score\na1,b1,0.9\na3,b2,0.8\n");
    // Was a reduction ratio of -1 (2 candidates in a space of 1 pair).
    eval_cmd(&truth, &matches)
        .args(["--records", "1,1"])
        .assert()
        .code(1)
        .stderr(
            contains("name 3 distinct records of input file 1, more than its record count 1")
                .and(contains("hint: --records")),
        );
    eval_cmd(&truth, &matches)
        .args(["--records", "0,5"])
        .assert()
        .code(2)
        .stderr(contains("--records"));
    let v = json(
        &["eval", "--format", "json", "--records", "3,2", "--truth"],
        &[&truth, Path::new("--matches"), &matches],
    );
    assert_eq!(v["comparison_space"].as_u64(), Some(6));
    assert!(v["reduction_ratio"].as_f64().unwrap() >= 0.0, "{v}");
}

#[test]
fn match_refuses_a_bad_threshold() {
    pprl()
        .args(["match", "x.clk", "-o", "o.csv", "--threshold", "sometimes"])
        .assert()
        .code(2)
        .stderr(contains("(or `auto`)"));
}
