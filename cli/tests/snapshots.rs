//! Snapshot tests (`insta`) of the CLI's main outputs: help, the text summaries, the common
//! errors. Each snapshot holds the exit code, stdout and stderr of one run. Temporary and
//! repository paths, timings, rates, thread counts, dates and the tool version are replaced by
//! placeholders, so the snapshots are the same on every machine and run.
//!
//! Review a change with `cargo insta review` (or rerun with `INSTA_UPDATE=always` and read the
//! `.snap` files under `cli/tests/snapshots/`).

use std::path::Path;

use crate::util::{person_schema, pprl, root, testdata};

/// Placeholders for what differs between runs and machines.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_snapshot_path("snapshots");
    for (re, with) in [
        // Durations: `0.12 s`, `12.3 s`.
        (r"\b\d+\.\d+ s\b", "[SECS] s"),
        // Rates: `12,345 rows/s`, `1,234 records/s`.
        (r"\b\d[\d,]* (rows|records)/s", "[RATE] $1/s"),
        // Thread counts: `4 threads`, `1 thread`, `2 thread(s)`.
        (r"\b\d+ thread(s|\(s\))?", "[N] threads"),
        // Timestamps (manifests).
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
            "[DATE]",
        ),
        // The tool version.
        (r"\bpprl \d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", "pprl [VERSION]"),
        (
            r#""tool_version": "[^"]+""#,
            r#""tool_version": "[VERSION]""#,
        ),
        // The kernel detected on this CPU, and its speed.
        (
            r"\bkernel (portable|popcnt|avx2|avx512)\b",
            "kernel [KERNEL]",
        ),
        (r"\b\d+(\.\d+)? M comparisons/s", "[RATE] M comparisons/s"),
        // The length of a temporary path that is not shown.
        (r"a path of \d+ characters", "a path of [N] characters"),
    ] {
        s.add_filter(re, with);
    }
    s
}

/// Runs `pprl ARGS` and renders exit code, stdout and stderr, with `tmp` and the repository
/// root replaced by `[TMP]` and `[ROOT]`.
fn run(args: &[&str], tmp: &Path) -> String {
    let out = pprl()
        .env("COLUMNS", "100")
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap();
    let clean = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(&tmp.display().to_string(), "[TMP]")
            .replace(&root().display().to_string(), "[ROOT]")
    };
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        clean(&out.stdout),
        clean(&out.stderr)
    )
}

/// Snapshots `pprl ARGS` under `name`.
fn snap(name: &str, args: &[&str], tmp: &Path) {
    let text = run(args, tmp);
    settings().bind(|| insta::assert_snapshot!(name, text));
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn help_of_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &[],
        &["keygen"],
        &["schema"],
        &["schema", "check"],
        &["schema", "convert"],
        &["encode"],
        &["inspect"],
        &["match"],
        &["experiment"],
        &["bench"],
        &["bench", "match"],
        &["bench", "scale"],
        &["demo"],
        &["synth"],
        &["eval"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let name = if cmd.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", cmd.join("_"))
        };
        snap(&name, &args, tmp.path());
    }
}

/// A fixed secret (the golden one, copied beside `out` with mode 0600 so no warning depends
/// on the checkout's file modes), so encodings and fingerprints are the same on every run.
fn golden_secret(dir: &Path) -> String {
    let key = dir.join("golden.key");
    std::fs::copy(testdata("golden/secret.key"), &key).unwrap();
    private(&key);
    s(&key)
}

/// Makes `path` readable by its owner only.
fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Encodes a sample department export with the golden secret.
fn encode(input: &str, out: &Path) -> String {
    let schema = s(&person_schema());
    let input = s(&testdata(input));
    let secret = golden_secret(out.parent().unwrap());
    run(
        &[
            "encode",
            "--schema",
            &schema,
            "--secret-file",
            &secret,
            &input,
            "-o",
            &s(out),
        ],
        out.parent().unwrap(),
    )
}

#[test]
fn summaries_of_schema_encode_inspect_match_and_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    snap(
        "schema_check",
        &["schema", "check", &s(&person_schema())],
        t,
    );
    snap(
        "schema_check_json",
        &["schema", "check", "--format", "json", &s(&person_schema())],
        t,
    );
    // A field-layout schema: the trade it makes is stated (note), W001 names the FS need.
    snap(
        "schema_check_field",
        &[
            "schema",
            "check",
            &s(&person_schema().with_file_name("febrl_fields.toml")),
        ],
        t,
    );
    snap(
        "schema_check_clkhash",
        &[
            "schema",
            "check",
            &s(&testdata("clkhash/v3_full.schema.json")),
        ],
        t,
    );

    let (a, b) = (t.join("dept_a.clk"), t.join("dept_b.clk"));
    let text = encode("sample/dept_a.csv", &a);
    settings().bind(|| insta::assert_snapshot!("encode", text));
    let text = encode("sample/dept_b.csv", &b);
    assert!(text.starts_with("exit: 0"), "{text}");

    snap("inspect", &["inspect", &s(&a)], t);
    snap("inspect_json", &["inspect", "--format", "json", &s(&a)], t);

    let matches = t.join("matches.csv");
    snap(
        "match",
        &[
            "match",
            &s(&a),
            &s(&b),
            "--threshold",
            "0.8",
            "-o",
            &s(&matches),
        ],
        t,
    );
    snap(
        "eval",
        &[
            "eval",
            "--truth",
            &s(&testdata("sample/truth.csv")),
            "--matches",
            &s(&matches),
        ],
        t,
    );
    snap(
        "eval_json",
        &[
            "eval",
            "--format",
            "json",
            "--truth",
            &s(&testdata("sample/truth.csv")),
            "--matches",
            &s(&matches),
            "--beta",
            "2",
        ],
        t,
    );
}

#[test]
fn summary_of_synth() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    snap(
        "synth",
        &[
            "synth",
            "--records",
            "50",
            "--seed",
            "7",
            "--out-dir",
            &s(&t.join("data")),
        ],
        t,
    );
}

#[test]
fn common_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let schema = s(&person_schema());
    let input = s(&testdata("sample/dept_a.csv"));

    snap(
        "error_missing_secret_file",
        &[
            "encode",
            "--schema",
            &schema,
            "--secret-file",
            &s(&t.join("missing.key")),
            &input,
            "-o",
            &s(&t.join("x.clk")),
        ],
        t,
    );
    let short = t.join("short.key");
    std::fs::write(&short, b"too short").unwrap();
    private(&short);
    snap(
        "error_short_secret",
        &[
            "encode",
            "--schema",
            &schema,
            "--secret-file",
            &s(&short),
            &input,
            "-o",
            &s(&t.join("x.clk")),
        ],
        t,
    );
    snap(
        "error_bad_schema",
        &["schema", "check", &s(&testdata("bad/schema_length.toml"))],
        t,
    );
    snap("error_not_a_clk_file", &["inspect", &input], t);

    let a = t.join("a.clk");
    assert!(encode("sample/dept_a.csv", &a).starts_with("exit: 0"));
    let bytes = std::fs::read(&a).unwrap();
    let truncated = t.join("truncated.clk");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    snap("error_truncated_clk", &["inspect", &s(&truncated)], t);

    // The same export encoded with another (fixed) secret.
    let other_key = t.join("other.key");
    std::fs::write(&other_key, [7u8; 32]).unwrap();
    private(&other_key);
    let b = t.join("b.clk");
    let out = run(
        &[
            "encode",
            "--schema",
            &schema,
            "--secret-file",
            &s(&other_key),
            &s(&testdata("sample/dept_b.csv")),
            "-o",
            &s(&b),
        ],
        t,
    );
    assert!(out.starts_with("exit: 0"), "{out}");
    snap(
        "error_key_mismatch",
        &[
            "match",
            &s(&a),
            &s(&b),
            "--threshold",
            "0.8",
            "-o",
            &s(&t.join("m.csv")),
        ],
        t,
    );

    snap("error_unknown_subcommand", &["frobnicate"], t);
    snap(
        "error_unknown_flag",
        &["inspect", "--frobnicate", &s(&a)],
        t,
    );
}
