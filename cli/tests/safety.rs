//! Nothing lost, nothing leaked (issue 11): outputs never destroy inputs, the secret never
//! echoes, symbolic links, FIFOs and devices are written as documented, killed runs leave
//! nothing that the next run keeps, and each error says its cause once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use predicates::prelude::*;
use predicates::str::contains;

use crate::util::{encode_cmd, encode_with, keygen, listing, person_schema, pprl, testdata};

/// A recognisable secret: one printable token, so pprl accepts it as a secret file.
const CANARY: &str = "CANARY-7f3a9c1e5b2d4a6f8e0c9b7a5d3f1e2c";

#[cfg(unix)]
fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[cfg(not(unix))]
fn private(_: &Path) {}

/// The rows of clkhash's `v1_basic` vector that clkhash encodes, as a CSV in `dir`.
fn clkhash_valid_rows(dir: &Path) -> PathBuf {
    let mut expected = csv::Reader::from_path(testdata("clkhash/v1_basic.expected.csv")).unwrap();
    let valid: Vec<bool> = expected
        .records()
        .map(|r| r.unwrap()[2].is_empty())
        .collect();
    let mut input = csv::Reader::from_path(testdata("clkhash/v1_basic.csv")).unwrap();
    let path = dir.join("v1_valid.csv");
    let mut out = csv::Writer::from_path(&path).unwrap();
    out.write_record(input.headers().unwrap()).unwrap();
    for (row, ok) in input.records().zip(valid) {
        if ok {
            out.write_record(&row.unwrap()).unwrap();
        }
    }
    out.flush().unwrap();
    path
}

/// Two encodings of the sample exports under one fresh key, in `dir`.
fn encoded_pair(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let key = keygen(dir);
    let a = dir.join("a.clk");
    let b = dir.join("b.clk");
    for (csv, out) in [("sample/dept_a.csv", &a), ("sample/dept_b.csv", &b)] {
        encode_cmd(&key, &testdata(csv), out)
            .arg("--quiet")
            .assert()
            .success();
    }
    (key, a, b)
}

#[test]
fn outputs_never_overwrite_inputs_the_secret_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, a, b) = encoded_pair(d);
    let key_bytes = std::fs::read(&key).unwrap();
    let export = d.join("export.csv");
    std::fs::copy(testdata("sample/dept_a.csv"), &export).unwrap();
    let export_bytes = std::fs::read(&export).unwrap();
    let out = d.join("x.clk");
    // The secret as the output, or as the rejects report.
    encode_cmd(&key, &export, &key)
        .assert()
        .code(1)
        .stderr(contains("is the same file as the secret file"));
    encode_cmd(&key, &export, &out)
        .arg("--rejects")
        .arg(&key)
        .assert()
        .code(1)
        .stderr(contains("the secret file"));
    // The input as the rejects report (also through `./`), the output as the rejects report.
    encode_cmd(&key, &export, &out)
        .arg("--rejects")
        .arg(d.join(".").join("export.csv"))
        .assert()
        .code(1)
        .stderr(contains("is the same file as the input"));
    encode_cmd(&key, &export, &out)
        .arg("--rejects")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(contains("are the same file"));
    assert_eq!(
        std::fs::read(&key).unwrap(),
        key_bytes,
        "the secret is intact"
    );
    assert_eq!(std::fs::read(&export).unwrap(), export_bytes);
    assert!(!out.exists());

    // match onto one of its inputs.
    let b_bytes = std::fs::read(&b).unwrap();
    pprl()
        .arg("match")
        .arg(&a)
        .arg(&b)
        .args(["-t", "0.8", "-o"])
        .arg(&b)
        .assert()
        .code(1)
        .stderr(contains("is the same file as the input"));
    assert_eq!(std::fs::read(&b).unwrap(), b_bytes);

    // experiment onto an existing file that is not an experiment's result (a truth file).
    let truth = d.join("truth.csv");
    std::fs::copy(testdata("sample/truth.csv"), &truth).unwrap();
    let truth_bytes = std::fs::read(&truth).unwrap();
    pprl()
        .args(["experiment", "--records", "50", "-o"])
        .arg(&truth)
        .assert()
        .code(1)
        .stderr(contains("is not an experiment's result"));
    assert_eq!(std::fs::read(&truth).unwrap(), truth_bytes);

    // schema convert onto its input.
    let clkhash = d.join("in.json");
    std::fs::copy(testdata("clkhash/v1_basic.schema.json"), &clkhash).unwrap();
    let clkhash_bytes = std::fs::read(&clkhash).unwrap();
    pprl()
        .args(["schema", "convert"])
        .arg(&clkhash)
        .arg("-o")
        .arg(&clkhash)
        .assert()
        .code(1)
        .stderr(contains("is the same file as the schema"));
    assert_eq!(std::fs::read(&clkhash).unwrap(), clkhash_bytes);

    // eval --plot into a folder whose chart name is the truth file.
    let charts = d.join("charts");
    std::fs::create_dir(&charts).unwrap();
    let links = charts.join("threshold.png");
    std::fs::write(&links, "a_id,b_id\n1,2\n").unwrap();
    pprl()
        .args(["eval", "--truth"])
        .arg(&links)
        .arg("--matches")
        .arg(&links)
        .arg("--scores")
        .arg(&links)
        .arg("--plot")
        .arg(&charts)
        .assert()
        .code(1)
        .stderr(contains("is the same file as the evaluation input"));
    assert_eq!(std::fs::read(&links).unwrap(), b"a_id,b_id\n1,2\n");
}

#[cfg(unix)]
#[test]
fn symlinks_fifos_devices_and_stdout_are_written_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, a, b) = encoded_pair(d);
    let matched = |out: &Path| {
        let mut cmd = pprl();
        cmd.arg("match")
            .arg(&a)
            .arg(&b)
            .args(["-t", "0.8", "--quiet", "-o"])
            .arg(out)
            .timeout(Duration::from_secs(60));
        cmd
    };
    // A symbolic link is kept; the file it points to gets the result.
    let real = d.join("real.csv");
    std::fs::write(&real, "old").unwrap();
    let link = d.join("link.csv");
    std::os::unix::fs::symlink("real.csv", &link).unwrap();
    matched(&link).assert().success();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    let result = std::fs::read_to_string(&real).unwrap();
    assert!(result.starts_with("a_id,b_id,score\n"), "{result}");

    // /dev/null stays a device.
    matched(Path::new("/dev/null")).assert().success();
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());

    // A FIFO is written through: a reader gets the result, and the FIFO stays a FIFO.
    use std::os::unix::fs::FileTypeExt;
    let fifo = d.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    matched(&fifo).assert().success();
    assert_eq!(reader.join().unwrap(), result);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // An encode to a FIFO: a `.clk` file is refused (its manifest would go beside the FIFO),
    // a one-stream clkhash JSON output is written through.
    let key = d.join("project.key");
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &fifo)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains("it is a FIFO or a device"));
    assert!(!d.join("fifo.manifest.json").exists());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    encode_with(
        &testdata("clkhash/v1_basic.schema.json"),
        &testdata("clkhash/secret.txt"),
        &clkhash_valid_rows(d),
        &fifo,
    )
    .timeout(Duration::from_secs(60))
    .assert()
    .success();
    assert!(reader.join().unwrap().starts_with("{\"clks\""));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // `-`: the result on standard output, and no file named `-`.
    let out = matched(Path::new("-")).assert().success();
    assert_eq!(
        String::from_utf8(out.get_output().stdout.clone()).unwrap(),
        result
    );
    assert!(!d.join("-").exists());
}

#[test]
fn a_killed_runs_unfinished_file_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = keygen(d);
    // What `kill -9` leaves: a complete-looking temporary file of a process that is gone
    // (no process has pid 4194305: Linux's pid_max is at most 4194304).
    let stale = d.join(".a.clk.pprl-unfinished.4194305.abcdefgh");
    std::fs::write(&stale, "unfinished").unwrap();
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &d.join("a.clk"))
        .assert()
        .success();
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists(), "{:?}", listing(d));
    }
    assert!(
        listing(d).iter().all(|n| !n.contains("pprl-unfinished")),
        "{:?}",
        listing(d)
    );
}

#[test]
fn secrets_are_bounded_regular_files_and_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = testdata("sample/dept_a.csv");
    let out = d.join("x.clk");
    // The public example schema is not a secret.
    let public = d.join("person.toml");
    std::fs::copy(person_schema(), &public).unwrap();
    private(&public);
    encode_cmd(&public, &input, &out)
        .assert()
        .code(1)
        .stderr(contains("holds text").and(contains("not random bytes")));
    // Devices and FIFOs are refused at once (no read of /dev/zero, no wait on a FIFO).
    #[cfg(unix)]
    {
        encode_cmd(Path::new("/dev/zero"), &input, &out)
            .timeout(Duration::from_secs(20))
            .assert()
            .code(1)
            .stderr(contains("is a device, not a regular file"));
        let fifo = d.join("key.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        encode_cmd(&fifo, &input, &out)
            .timeout(Duration::from_secs(20))
            .assert()
            .code(1)
            .stderr(contains("FIFO"));
    }
    // Longer than 4 KiB.
    let long = d.join("long.key");
    std::fs::write(&long, vec![0x5au8; 4097]).unwrap();
    private(&long);
    encode_cmd(&long, &input, &out)
        .assert()
        .code(1)
        .stderr(contains("more than 4096 bytes"));
    // A clkhash schema takes 1 byte (with a warning with its code) but not 0.
    let clkhash = |key: &Path| {
        encode_with(
            &testdata("clkhash/v1_basic.schema.json"),
            key,
            &clkhash_valid_rows(d),
            &d.join("c.json"),
        )
    };
    let one = d.join("one.key");
    std::fs::write(&one, b"x").unwrap();
    private(&one);
    clkhash(&one)
        .assert()
        .success()
        .stderr(contains("warning[key-short]: the secret is 1 bytes"));
    let empty = d.join("empty.key");
    std::fs::write(&empty, b"").unwrap();
    private(&empty);
    clkhash(&empty)
        .assert()
        .code(1)
        .stderr(contains("holds 0 bytes"));
    assert!(!out.exists());
}

#[test]
fn demo_never_touches_existing_files_and_says_where_its_files_go() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("project.key");
    std::fs::write(&key, "someone's secret").unwrap();
    pprl()
        .args(["demo", "--records", "100", "--dir"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(contains("already holds files").and(contains("--force")));
    assert_eq!(std::fs::read(&key).unwrap(), b"someone's secret");
    assert_eq!(listing(dir.path()), ["project.key"]);
    pprl()
        .args(["demo", "--records", "100"])
        .assert()
        .success()
        .stdout(contains("removed when the demo ends"));
}

#[test]
fn messages_say_each_cause_once_with_the_right_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("missing.clk");
    let out = pprl().arg("inspect").arg(&missing).assert().code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
    // keygen -o - is refused and writes no file named `-`.
    pprl()
        .current_dir(d)
        .args(["keygen", "-o", "-"])
        .assert()
        .code(1)
        .stderr(contains("standard output"));
    assert!(!d.join("-").exists());
    // A missing output folder is reported against the output, not its rejects report.
    let key = keygen(d);
    let nowhere = d.join("no-such-folder").join("a.clk");
    pprl()
        .arg("encode")
        .arg("--schema")
        .arg(person_schema())
        .arg("--secret-file")
        .arg(&key)
        .arg(testdata("sample/dept_a.csv"))
        .arg("-o")
        .arg(&nowhere)
        .assert()
        .code(1)
        .stderr(
            contains("no-such-folder/a.clk: its folder does not exist")
                .and(contains("rejects").not()),
        );
}

/// Every command, with the canary secret's file wherever a file goes, and the canary as the
/// value of `--secret-file` and `PPRL_SECRET_FILE`: the canary appears in no output.
#[test]
fn the_canary_secret_appears_in_no_output_stream_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, a, _) = encoded_pair(d);
    let canary_key = d.join("canary.key");
    std::fs::write(&canary_key, format!("{CANARY}\n")).unwrap();
    private(&canary_key);
    // Copies, so that each parser sees the secret's bytes (the secret file itself given as
    // another of a run's files is refused before any parser reads it).
    let copies: Vec<PathBuf> = ["copy.txt", "copy.json", "copy.toml", "copy.csv", "copy.clk"]
        .iter()
        .map(|n| {
            let p = d.join(n);
            std::fs::copy(&canary_key, &p).unwrap();
            p
        })
        .collect();
    let schema = person_schema();
    let export = testdata("sample/dept_a.csv");
    let truth = testdata("sample/truth.csv");
    let o = |n: &str| d.join(n);
    let mut runs: Vec<Vec<std::ffi::OsString>> = Vec::new();
    let args = |list: &[&dyn AsRef<std::ffi::OsStr>]| -> Vec<std::ffi::OsString> {
        list.iter().map(|a| a.as_ref().to_owned()).collect()
    };
    for copy in &copies {
        // The secret's bytes as a schema, an input, a truth file, an encoding file.
        runs.push(args(&[
            &"encode",
            &"--schema",
            copy,
            &"--secret-file",
            &key,
            &export,
            &"-o",
            &o("s.clk"),
        ]));
        runs.push(args(&[
            &"encode",
            &"--schema",
            &schema,
            &"--secret-file",
            &key,
            copy,
            &"-o",
            &o("i.clk"),
        ]));
        runs.push(args(&[&"schema", &"check", copy]));
        runs.push(args(&[&"schema", &"convert", copy, &"-o", &o("c.toml")]));
        runs.push(args(&[&"inspect", copy]));
        runs.push(args(&[&"inspect", &"--format", &"json", copy]));
        runs.push(args(&[
            &"match",
            copy,
            &a,
            &"-t",
            &"0.8",
            &"-o",
            &o("m.csv"),
        ]));
        runs.push(args(&[
            &"match",
            &a,
            &"-t",
            &"0.8",
            &"--truth",
            copy,
            &"-o",
            &o("m2.csv"),
        ]));
        runs.push(args(&[
            &"experiment",
            &"--records",
            &"50",
            &"--schema",
            copy,
        ]));
        runs.push(args(&[&"eval", &"--truth", copy, &"--matches", &truth]));
        runs.push(args(&[&"eval", &"--truth", &truth, &"--matches", copy]));
        runs.push(args(&[
            &"eval",
            &"--truth",
            &truth,
            &"--matches",
            &truth,
            &"--scores",
            copy,
        ]));
    }
    // The secret file itself, everywhere a file goes.
    let k = &canary_key;
    runs.push(args(&[
        &"encode",
        &"--schema",
        &schema,
        &"--secret-file",
        k,
        &export,
        &"-o",
        &o("ok.clk"),
    ]));
    runs.push(args(&[
        &"encode",
        &"--schema",
        k,
        &"--secret-file",
        k,
        &export,
        &"-o",
        &o("x.clk"),
    ]));
    runs.push(args(&[
        &"encode",
        &"--schema",
        &schema,
        &"--secret-file",
        k,
        k,
        &"-o",
        &o("x.clk"),
    ]));
    runs.push(args(&[
        &"encode",
        &"--schema",
        &schema,
        &"--secret-file",
        k,
        &export,
        &"-o",
        k,
    ]));
    runs.push(args(&[
        &"encode",
        &"--schema",
        &schema,
        &"--secret-file",
        k,
        &export,
        &"-o",
        &o("y.clk"),
        &"--rejects",
        k,
    ]));
    runs.push(args(&[
        &"encode",
        &"--schema",
        &testdata("clkhash/v1_basic.schema.json"),
        &"--secret-file",
        k,
        &clkhash_valid_rows(d),
        &"-o",
        &o("ok.json"),
    ]));
    runs.push(args(&[&"keygen", &"-o", k]));
    runs.push(args(&[&"schema", &"check", k]));
    runs.push(args(&[&"inspect", k]));
    runs.push(args(&[&"match", k, &"-t", &"0.8", &"-o", &o("m3.csv")]));
    runs.push(args(&[&"eval", &"--truth", k, &"--matches", k]));
    runs.push(args(&[
        &"experiment",
        &"--records",
        &"50",
        &"--schema",
        k,
        &"-o",
        k,
    ]));
    // The secret itself as the secret file's path.
    runs.push(args(&[
        &"encode",
        &"--schema",
        &schema,
        &"--secret-file",
        &CANARY,
        &export,
        &"-o",
        &o("z.clk"),
    ]));
    let mut streams: Vec<(String, Vec<u8>)> = Vec::new();
    for run in &runs {
        let got = pprl().current_dir(d).args(run).output().unwrap();
        let shown = format!("{run:?}");
        streams.push((format!("stdout of {shown}"), got.stdout));
        streams.push((format!("stderr of {shown}"), got.stderr));
    }
    // The secret as PPRL_SECRET_FILE's value, in a run and in the help.
    let env_run: Vec<std::ffi::OsString> = args(&[
        &"encode",
        &"--schema",
        &schema,
        &export,
        &"-o",
        &o("env.clk"),
    ]);
    for run in [env_run, args(&[&"encode", &"--help"])] {
        let got = pprl()
            .env("PPRL_SECRET_FILE", CANARY)
            .current_dir(d)
            .args(&run)
            .output()
            .unwrap();
        streams.push((format!("stdout of {run:?} (env)"), got.stdout));
        streams.push((format!("stderr of {run:?} (env)"), got.stderr));
    }
    assert!(
        o("ok.clk").exists() && o("ok.json").exists(),
        "the canary secret works"
    );
    let originals = [&canary_key].into_iter().chain(&copies).collect::<Vec<_>>();
    for name in listing(d) {
        let path = d.join(&name);
        if path.is_file() && !originals.contains(&&path) {
            streams.push((format!("file {name}"), std::fs::read(&path).unwrap()));
        }
    }
    let needles = [
        CANARY.as_bytes(),
        &CANARY.as_bytes()[..16],
        &CANARY.as_bytes()[7..],
    ];
    for (what, bytes) in &streams {
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{what} contains the secret: {}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    assert_eq!(
        std::fs::read(&canary_key).unwrap(),
        format!("{CANARY}\n").into_bytes(),
        "the secret is intact"
    );
}
