//! Parquet in (`pprl encode`) and out (`pprl match`), end to end. With the `polars` feature:
//! a Parquet export encodes to the same bytes as its CSV, and a Parquet result holds the same
//! table as the CSV one. Without it: both are refused with a message that says how to build.

use std::path::Path;

use crate::util;

/// [`util::encode_cmd`], quiet.
fn encode_cmd(key: &Path, input: &Path, out: &Path) -> assert_cmd::Command {
    let mut cmd = util::encode_cmd(key, input, out);
    cmd.arg("--quiet");
    cmd
}

#[cfg(not(feature = "polars"))]
#[test]
fn without_the_feature_parquet_is_refused_with_the_fix() {
    use predicates::str::contains;

    use crate::util::{keygen, listing, pprl, testdata};

    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let out = dir.path().join("a.clk");
    encode_cmd(&key, &testdata("parquet/dept_a.parquet"), &out)
        .assert()
        .failure()
        .stderr(contains("--features polars"));
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &out)
        .assert()
        .success();
    pprl()
        .args(["match", "-t", "0.8"])
        .arg(&out)
        .arg("-o")
        .arg(dir.path().join("m.parquet"))
        .assert()
        .failure()
        .stderr(contains("--features polars"));
    assert_eq!(
        listing(dir.path()),
        ["a.clk", "a.clk.manifest.json", "project.key"]
    );
}

#[cfg(feature = "polars")]
mod with_polars {
    use std::path::{Path, PathBuf};

    use polars::prelude::*;
    use predicates::str::contains;

    use super::encode_cmd;
    use crate::util::{keygen, listing, pprl, testdata};

    fn read_csv(path: &Path) -> Vec<Vec<String>> {
        csv::Reader::from_path(path)
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    /// A Parquet result as CSV would print it (scores to six decimals), with its header.
    fn read_parquet(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let df = ParquetReader::new(std::fs::File::open(path).unwrap())
            .finish()
            .unwrap();
        let header = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let rows = (0..df.height())
            .map(|i| {
                df.columns()
                    .iter()
                    .map(|c| match c.get(i).unwrap() {
                        AnyValue::String(s) => s.to_string(),
                        AnyValue::Float64(f) => format!("{f:.6}"),
                        AnyValue::UInt32(v) => v.to_string(),
                        AnyValue::UInt16(v) => v.to_string(),
                        other => panic!("unexpected value {other:?} in {}", c.name()),
                    })
                    .collect()
            })
            .collect();
        (header, rows)
    }

    fn rejects_without_lines(path: &Path) -> Vec<Vec<String>> {
        read_csv(path)
            .into_iter()
            .map(|mut r| {
                r.remove(1); // `line`: CSV lines count the header, Parquet has no lines
                r
            })
            .collect()
    }

    /// dept_b has missing values (nulls in its Parquet) and two rejected rows.
    #[test]
    fn a_parquet_export_encodes_to_the_same_bytes_as_its_csv() {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let (from_csv, from_parquet) = (dir.path().join("csv.clk"), dir.path().join("pq.clk"));
        for name in ["dept_a", "dept_b"] {
            encode_cmd(&key, &testdata(&format!("sample/{name}.csv")), &from_csv)
                .assert()
                .success();
            encode_cmd(
                &key,
                &testdata(&format!("parquet/{name}.parquet")),
                &from_parquet,
            )
            .assert()
            .success();
            assert_eq!(
                std::fs::read(&from_csv).unwrap(),
                std::fs::read(&from_parquet).unwrap(),
                "{name}"
            );
        }
        // The same rows are rejected, for the same reasons, at the same row numbers.
        let (csv_rejects, pq_rejects) = (
            dir.path().join("csv.clk.rejects.csv"),
            dir.path().join("pq.clk.rejects.csv"),
        );
        let rejects = rejects_without_lines(&pq_rejects);
        assert!(!rejects.is_empty());
        assert_eq!(rejects, rejects_without_lines(&csv_rejects));
        for r in read_csv(&pq_rejects) {
            assert_eq!(r[0], r[1], "for Parquet the line is the row");
        }
        let counts = |p: &str| {
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.path().join(p)).unwrap()).unwrap();
            m["counts"].clone()
        };
        assert_eq!(
            counts("csv.clk.manifest.json"),
            counts("pq.clk.manifest.json")
        );
    }

    #[test]
    fn the_input_format_flag_overrides_the_extension() {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let export = dir.path().join("export.bin");
        std::fs::copy(testdata("parquet/dept_a.parquet"), &export).unwrap();
        let (flagged, plain) = (dir.path().join("f.clk"), dir.path().join("p.clk"));
        encode_cmd(&key, &export, &flagged)
            .args(["--input-format", "parquet"])
            .assert()
            .success();
        encode_cmd(&key, &testdata("parquet/dept_a.parquet"), &plain)
            .assert()
            .success();
        assert_eq!(
            std::fs::read(&flagged).unwrap(),
            std::fs::read(&plain).unwrap()
        );
        // Read as CSV, the same bytes are not a valid export.
        encode_cmd(&key, &export, &dir.path().join("x.clk"))
            .assert()
            .failure();
    }

    #[test]
    fn bad_parquet_inputs_fail_precisely_and_leave_no_output() {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let out = dir.path().join("out.clk");
        // A column the schema needs is not there.
        let narrow = dir.path().join("narrow.parquet");
        let mut df =
            ParquetReader::new(std::fs::File::open(testdata("parquet/dept_a.parquet")).unwrap())
                .finish()
                .unwrap();
        let _ = df.drop_in_place("postcode").unwrap();
        ParquetWriter::new(std::fs::File::create(&narrow).unwrap())
            .finish(&mut df)
            .unwrap();
        encode_cmd(&key, &narrow, &out)
            .assert()
            .failure()
            .stderr(contains("no column `postcode`"))
            .stderr(contains("narrow.parquet"));
        // A truncated file.
        let bytes = std::fs::read(testdata("parquet/dept_a.parquet")).unwrap();
        let truncated = dir.path().join("truncated.parquet");
        std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
        encode_cmd(&key, &truncated, &out)
            .assert()
            .failure()
            .stderr(contains("truncated.parquet"))
            .stderr(contains("corrupt, truncated or not Parquet"));
        // Parquet cannot stream from standard input.
        encode_cmd(&key, Path::new("-"), &out)
            .args(["--input-format", "parquet"])
            .assert()
            .failure()
            .stderr(contains("standard input"));
        assert_eq!(
            listing(dir.path()),
            ["narrow.parquet", "project.key", "truncated.parquet"]
        );
    }

    struct Encoded {
        dir: tempfile::TempDir,
        a: PathBuf,
        b: PathBuf,
    }

    fn encoded() -> Encoded {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path());
        let (a, b) = (dir.path().join("a.clk"), dir.path().join("b.clk"));
        encode_cmd(&key, &testdata("parquet/dept_a.parquet"), &a)
            .assert()
            .success();
        encode_cmd(&key, &testdata("parquet/dept_b.parquet"), &b)
            .assert()
            .success();
        Encoded { dir, a, b }
    }

    /// `pprl match ARGS FILES -o NAME` for NAME.csv and NAME.parquet: the two tables agree.
    fn same_table(e: &Encoded, args: &[&str], files: &[&Path], expected_header: &[&str]) {
        let out = |ext: &str| e.dir.path().join(format!("m.{ext}"));
        for ext in ["csv", "parquet"] {
            pprl()
                .arg("match")
                .args(args)
                .args(files)
                .arg("-o")
                .arg(out(ext))
                .arg("--quiet")
                .assert()
                .success();
        }
        let (header, rows) = read_parquet(&out("parquet"));
        assert_eq!(header, expected_header);
        let csv = read_csv(&out("csv"));
        assert!(!csv.is_empty());
        assert_eq!(rows, csv);
    }

    #[test]
    fn match_results_in_parquet_hold_the_csv_table() {
        let e = encoded();
        let (a, b) = (e.a.as_path(), e.b.as_path());
        same_table(&e, &["-t", "0.8"], &[a, b], &["a_id", "b_id", "score"]);
        same_table(
            &e,
            &["-t", "0.8", "--no-scores"],
            &[a, b],
            &["a_id", "b_id"],
        );
        same_table(&e, &["-t", "0.5"], &[b], &["cluster", "id"]);
        // A third party: the same records under another name (one file given twice is refused).
        let c = e.dir.path().join("c.clk");
        std::fs::copy(a, &c).unwrap();
        same_table(&e, &["-t", "0.8"], &[a, b, &c], &["cluster", "party", "id"]);
    }

    #[test]
    fn the_output_format_flag_overrides_the_extension() {
        let e = encoded();
        let out = e.dir.path().join("links.out");
        pprl()
            .args([
                "match",
                "-t",
                "0.8",
                "--output-format",
                "parquet",
                "--quiet",
            ])
            .arg(&e.a)
            .arg(&e.b)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        assert_eq!(&std::fs::read(&out).unwrap()[..4], b"PAR1");
        let (header, rows) = read_parquet(&out);
        assert_eq!(header, ["a_id", "b_id", "score"]);
        assert!(!rows.is_empty());
    }
}
