//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (this crate lives in `cli/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// A file under `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

/// The example person schema.
pub fn person_schema() -> PathBuf {
    root().join("examples/person.toml")
}

/// `pprl` with a clean environment for the secret.
pub fn pprl() -> Command {
    let mut cmd = Command::cargo_bin("pprl").unwrap();
    cmd.env_remove("PPRL_SECRET_FILE");
    cmd
}

/// `pprl encode --schema SCHEMA --secret-file KEY INPUT -o OUT`.
pub fn encode_with(schema: &Path, key: &Path, input: &Path, out: &Path) -> Command {
    let mut cmd = pprl();
    cmd.arg("encode")
        .arg("--schema")
        .arg(schema)
        .arg("--secret-file")
        .arg(key)
        .arg(input)
        .arg("-o")
        .arg(out);
    cmd
}

/// [`encode_with`] the example person schema.
pub fn encode_cmd(key: &Path, input: &Path, out: &Path) -> Command {
    encode_with(&person_schema(), key, input, out)
}

/// Writes a fresh secret into `dir` with `pprl keygen` and returns its path.
pub fn keygen(dir: &Path) -> PathBuf {
    let key = dir.join("project.key");
    pprl().args(["keygen", "-o"]).arg(&key).assert().success();
    key
}

/// Names of the files in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
