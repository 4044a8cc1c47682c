//! One module per subcommand: turn arguments into library calls and print the results.

pub mod attack;
pub mod bench;
pub mod demo;
pub mod encode;
pub mod eval;
pub mod experiment;
pub mod explain;
pub mod inspect;
pub mod keygen;
pub mod match_cmd;
pub mod match_fs;
pub mod privacy;
pub mod remote;
pub mod schema;
pub mod serve;
pub mod synth;

/// Formats an integer with thousands separators: `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Checks the files of a run before anything is read or written: no output is an input, the
/// secret, the schema or another output, and the secret is read as nothing else
/// ([`pprl::io::RunFiles`]).
pub fn check_files(files: pprl::io::RunFiles) -> anyhow::Result<()> {
    Ok(files.check()?)
}

/// A path as the CLI prints it: control characters shown as `\u{..}`.
pub fn shown(path: &std::path::Path) -> String {
    pprl::error::escape_controls(&path.display().to_string())
}

/// Prints a warning with its stable code on standard error.
pub fn warn(code: &str, message: &dyn std::fmt::Display) {
    eprintln!("warning[{code}]: {message}");
}

/// Reads the secret named by `--secret-file`/`PPRL_SECRET_FILE`, warning on loose permissions.
pub fn load_secret(args: &crate::args::SecretArgs) -> anyhow::Result<pprl::keys::Secret> {
    let secret = pprl::keys::Secret::from_file(&args.secret_file)?;
    if let Some(w) = pprl::keys::permission_warning(&args.secret_file) {
        warn("key-readable", &w);
    }
    Ok(secret)
}

/// Reads the secret file of a clkhash schema: its bytes verbatim, 1 to 4096 bytes (clkhash's
/// secrets are often passphrases), with warnings for what often goes wrong.
pub fn load_clkhash_secret(args: &crate::args::SecretArgs) -> anyhow::Result<pprl::keys::Secret> {
    let secret = pprl::keys::Secret::from_file_any_length(&args.secret_file)?;
    if let Some(w) = pprl::keys::permission_warning(&args.secret_file) {
        warn("key-readable", &w);
    }
    if pprl::compat::secret_ends_with_newline(&secret) {
        warn(
            "key-newline",
            &format_args!(
                "the secret file {} ends with a line break, which is part of the secret \
                 (clkhash's secret \"abc\" is a file of exactly those bytes: `printf %s abc > \
                 FILE`)",
                shown(&args.secret_file)
            ),
        );
    }
    if secret.len() < pprl::keys::Secret::MIN_LEN {
        warn(
            "key-short",
            &format_args!(
                "the secret is {} bytes; clkhash takes any passphrase, but 32 random bytes \
                 (`pprl keygen`) cannot be guessed",
                secret.len()
            ),
        );
    }
    Ok(secret)
}

/// Prints the one-line summary of an encoding job.
pub fn print_encode_summary(s: &pprl::pipeline::EncodeSummary, indent: &str) {
    let c = s.counts;
    let secs = s.elapsed.as_secs_f64();
    let rejected = match &s.rejects {
        Some(path) if c.rows_rejected > 0 => format!(
            "{} rejected (see {})",
            thousands(c.rows_rejected),
            shown(path)
        ),
        _ => "0 rejected".to_string(),
    };
    println!(
        "{indent}encoded {} of {} rows into {}, {rejected}, in {secs:.2} s ({} rows/s, {} thread{})",
        thousands(c.rows_encoded),
        thousands(c.rows_read),
        shown(&s.output),
        thousands((c.rows_read as f64 / secs.max(1e-9)) as u64),
        s.threads,
        if s.threads == 1 { "" } else { "s" },
    );
    let invalid: u64 = s.fields_invalid.values().sum();
    if invalid > 0 {
        let per_field: Vec<String> = s
            .fields_invalid
            .iter()
            .map(|(f, n)| format!("{f} {}", thousands(*n)))
            .collect();
        println!(
            "{indent}{} invalid value(s) encoded as missing ({}; see {})",
            thousands(invalid),
            per_field.join(", "),
            s.rejects
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        );
    }
    println!(
        "{indent}schema fingerprint {}, key fingerprint {}",
        s.clk.header.schema_fingerprint, s.clk.header.key_fingerprint
    );
}
