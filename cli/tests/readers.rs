//! Damaged and hostile inputs: each refused with one clear message that names the file and
//! never quotes its contents (`.clk` files, clkhash JSON, CSV headers).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use predicates::str::contains;
use sha2::{Digest, Sha256};

use crate::util::{encode_cmd, keygen, pprl, testdata};

/// A directory with a secret and the sample's department A encoded as `a.clk`.
fn encoded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let a = dir.path().join("a.clk");
    encode_cmd(&key, &testdata("sample/dept_a.csv"), &a)
        .arg("--quiet")
        .assert()
        .success();
    (dir, a)
}

/// `bytes` without their SHA-256 trailer, edited, with the trailer recomputed: a file that
/// passes the checksum.
fn resealed(bytes: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes[..bytes.len() - 32].to_vec();
    edit(&mut b);
    let digest = Sha256::digest(&b);
    b.extend_from_slice(&digest);
    b
}

/// Runs `pprl ARGS`, expects exit code 1, returns standard error.
fn fails(args: &[&str], paths: &[&Path]) -> String {
    let out = pprl().args(args).args(paths).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

#[test]
fn an_embedded_schema_that_contradicts_the_header_is_refused_by_inspect_and_match() {
    let (dir, a) = encoded();
    let bytes = std::fs::read(&a).unwrap();
    let out = dir.path().join("m.csv");
    // Filter layout code (offset 86) set to rbf; the schema says clk. Then the schema made
    // into broken JSON, with a fingerprint recomputed to match it.
    let layout = resealed(&bytes, |b| b[86] = 2);
    let broken = resealed(&bytes, |b| {
        let json_len = u32::from_le_bytes(b[104..108].try_into().unwrap()) as usize;
        b[108] = b'#';
        let fp = Sha256::digest(&b[108..108 + json_len]);
        b[16..48].copy_from_slice(&fp);
    });
    for (name, file, needle) in [
        (
            "layout.clk",
            layout,
            "the embedded schema gives layout clk, but the header says rbf",
        ),
        (
            "broken.clk",
            broken,
            "the embedded schema is not valid JSON",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, file).unwrap();
        let shown = path.display().to_string();
        for args in [&["inspect"][..], &["inspect", "--format", "json"][..]] {
            let stderr = fails(args, &[&path]);
            assert!(
                stderr.contains(&format!("{shown}: {needle}")),
                "{args:?}: {stderr}"
            );
        }
        let stderr = fails(&["match", "-t", "0.8", "-q", "-o"], &[&out, &path, &a]);
        assert!(stderr.contains(&format!("{shown}: {needle}")), "{stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn a_file_cut_inside_its_header_is_called_truncated() {
    let (dir, a) = encoded();
    let bytes = std::fs::read(&a).unwrap();
    let cut = dir.path().join("cut.clk");
    for len in [60, 140] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let stderr = fails(&["inspect"], &[&cut]);
        assert!(
            stderr.contains("cut.clk ends before the end its header describes"),
            "{len}: {stderr}"
        );
        assert!(!stderr.contains("fill whole buffer"), "{stderr}");
    }
}

#[test]
fn an_overlong_clkhash_clk_is_refused_for_its_length() {
    let dir = tempfile::tempdir().unwrap();
    // 80,000,000 bits: a multiple of 64, over the longest encoding pprl reads.
    let clk = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 10_000_000]);
    let big = dir.path().join("big.json");
    std::fs::write(&big, format!("{{\"clks\": [\"{clk}\"]}}")).unwrap();
    let out = dir.path().join("m.csv");
    let stderr = fails(&["match", "-t", "0.8", "-q", "-o"], &[&out, &big, &big]);
    assert!(
        stderr.contains("80000000 bits, over the longest encoding pprl reads (65536 bits)"),
        "{stderr}"
    );
    assert!(!stderr.contains("multiple of 64"), "{stderr}");
}

#[test]
fn csv_header_text_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    // A header of terminal escape sequences (clear screen, set the title) and no schema column;
    // `Given_Name` differs from the schema's `given_name` only in case.
    let csv = dir.path().join("hostile.csv");
    std::fs::write(&csv, "\u{1b}[2J\u{1b}]0;PWNED\u{7},Given_Name\nR1,Ann\n").unwrap();
    let out = dir.path().join("out.clk");
    let run = encode_cmd(&key, &csv, &out).assert().code(1);
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(stderr.contains("no column `record_id`"), "{stderr}");
    assert!(stderr.contains("among the header's 2 columns"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains("PWNED") && !stderr.contains("Given_Name"),
        "{stderr:?}"
    );
    // Invalid UTF-8 is reported by column position, not by the header's name for it.
    let sample = std::fs::read_to_string(testdata("sample/dept_a.csv")).unwrap();
    let mut lines = sample.lines();
    let header = lines.next().unwrap();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut bytes = format!("{header}\n{},", row[0]).into_bytes();
    bytes.extend_from_slice(b"caf\xe9");
    bytes.extend_from_slice(format!(",{}\n", row[2..].join(",")).as_bytes());
    std::fs::write(&csv, bytes).unwrap();
    encode_cmd(&key, &csv, &out)
        .assert()
        .code(1)
        .stderr(contains("row 1 (line 2), column 2: invalid UTF-8"));
}
