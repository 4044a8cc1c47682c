//! `pprl schema check FILE [--data CSV] [--allow-dense]`, `pprl schema convert CLKHASH.json -o
//! OUT.toml`, `pprl schema init -o OUT.toml` (the recommended privacy profile).
//!
//! `check` prints the report on standard output and every warning (schema warnings `W0xx`,
//! privacy-profile findings `W02x`, advice `W1xx`) on standard error, each with its code, and
//! for a field-layout schema a note stating its trade (field weights against a per-field leak).

use std::io::Write as _;

use anyhow::{Context as _, Result, bail};
use pprl::compat::AnySchema;
use pprl::compat::clkhash;
use pprl::io::CsvInput;
use pprl::io::inspect::{ClkhashSchemaSummary, SchemaInspection, inspect_schema};
use pprl::pipeline::profile::{self, ProfileOptions, SchemaCheck, SchemaProfile};
use pprl::schema::fill::DENSE_FILL;
use pprl::schema::summary::SchemaSummary;

use crate::args::{Format, SchemaCheckArgs, SchemaConvertArgs};

/// Reads a schema of either kind; a file that does not exist is said to be missing (not
/// "invalid"), and an unreadable one unreadable.
pub fn load_any_schema(path: &std::path::Path) -> Result<AnySchema> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("schema file {} does not exist", super::shown(path))
        }
        Err(e) => bail!(
            "cannot read schema file {}: {}",
            super::shown(path),
            e.kind()
        ),
        Ok(m) if m.is_dir() => bail!("schema file {} is a directory", super::shown(path)),
        Ok(_) => {}
    }
    AnySchema::from_path(path).with_context(|| format!("invalid schema {}", super::shown(path)))
}

pub fn check(args: &SchemaCheckArgs) -> Result<()> {
    let schema = load_any_schema(&args.schema)?;
    let summary = inspect_schema(&schema);
    let profile = match (&schema, &args.data) {
        (AnySchema::Pprl(s), Some(data)) => Some(profile(s, data, args)?),
        (AnySchema::Clkhash(_), Some(_)) => {
            bail!(
                "`--data` profiles pprl schemas only; convert a clkhash schema first (`pprl schema convert`)"
            )
        }
        _ => None,
    };
    match args.format {
        Format::Json => {
            let report = SchemaCheck {
                schema: &summary,
                profile: profile.as_ref(),
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Format::Text => {
            println!("schema ok: {}", args.schema.display());
            match &summary {
                SchemaInspection::Pprl(s) => print_pprl(s),
                SchemaInspection::Clkhash(s) => print_clkhash(s),
            }
            if let Some(p) = &profile {
                print_profile(p, args);
            }
        }
    }
    // Every warning goes to standard error, with its code.
    match &summary {
        SchemaInspection::Pprl(s) => s
            .warnings
            .iter()
            .for_each(|w| super::warn(w.code, &w.message)),
        SchemaInspection::Clkhash(s) => s
            .warnings
            .iter()
            .for_each(|w| super::warn("W100", &format!("(clkhash schema) {w}"))),
    }
    if let AnySchema::Pprl(s) = &schema {
        let distinct = |name: &str| {
            profile
                .as_ref()
                .and_then(|p| p.fields.iter().find(|f| f.name == name))
                .filter(|f| f.distinct > 0)
                .map(|f| f.distinct)
        };
        let findings = pprl::privacy::profile::review(s, &distinct);
        if args.format == Format::Text {
            let shape = if pprl::privacy::profile::matches_recommended(s) {
                "has the recommended shape"
            } else {
                "differs from the recommended profile (clk, 3+ fields, 1024 bits, harden = \
                 [\"balance\"]; `pprl schema init` writes it)"
            };
            println!(
                "privacy profile: {shape}; {} weak choice(s) flagged",
                findings.len()
            );
        }
        for f in &findings {
            match &f.field {
                Some(field) => super::warn(f.code, &format!("field `{field}`: {}", f.message)),
                None => super::warn(f.code, &f.message),
            }
        }
        if let Some(note) = pprl::privacy::profile::field_layout_note(s) {
            eprintln!("note: {note}");
        }
    }
    let advice = match (&schema, &profile) {
        (_, Some(p)) => p.advice.clone(),
        (AnySchema::Pprl(s), None) => profile::schema_advice(s),
        _ => Vec::new(),
    };
    // W101 without data repeats what W005 says of a dense schema.
    for a in &advice {
        match &a.field {
            Some(field) => super::warn(a.code, &format!("field `{field}`: {}", a.message)),
            None => super::warn(a.code, &a.message),
        }
    }
    if let AnySchema::Pprl(s) = &schema {
        let expected = s.expected_fill().max_filter_fill;
        let measured = profile
            .as_ref()
            .filter(|p| p.measured.records > 0)
            .map(|p| p.measured.mean);
        let (fill, how) = match measured {
            Some(m) if m > DENSE_FILL => (m, "measured on the data"),
            _ => (expected, "expected"),
        };
        if fill > DENSE_FILL && !args.allow_dense {
            bail!(
                "schema {}: the filters are {how} to be {:.0}% full (over {:.0}%), so nearly \
                 every pair of records would score close to 1; lower the weights, or pass \
                 --allow-dense to accept it",
                args.schema.display(),
                fill * 100.0,
                DENSE_FILL * 100.0
            );
        }
    }
    Ok(())
}

fn profile(
    schema: &pprl::schema::Schema,
    data: &std::path::Path,
    args: &SchemaCheckArgs,
) -> Result<SchemaProfile> {
    let delimiter = match args.delimiter.as_str() {
        "\\t" | "tab" => b'\t',
        d if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        _ => bail!("--delimiter must be one ASCII character (or `\\t`)"),
    };
    let mut input = CsvInput::from_path(data, delimiter)
        .with_context(|| format!("cannot read {}", data.display()))?;
    let opts = ProfileOptions {
        sample_rows: args.sample_rows,
    };
    profile::profile_source(schema, &mut input, &opts)
        .with_context(|| format!("cannot profile {}", data.display()))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn print_profile(p: &SchemaProfile, args: &SchemaCheckArgs) {
    let data = args.data.as_deref().unwrap_or(std::path::Path::new(""));
    println!(
        "profiled {} row(s) of {}: {} would be encoded, {} rejected",
        p.rows,
        data.display(),
        p.rows - p.rows_rejected,
        p.rows_rejected
    );
    let width = p
        .fields
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "  {:width$}  {:9} {:>8} {:>8} {:>7} {:>9} {:>9}",
        "field", "tokenizer", "missing", "invalid", "tokens", "distinct", "top value"
    );
    for f in &p.fields {
        println!(
            "  {:width$}  {:9} {:>8} {:>8} {:>7.1} {:>9} {:>9}",
            f.name,
            f.tokenizer,
            pct(f.missing_rate),
            pct(f.invalid_rate),
            f.tokens_per_value,
            f.distinct,
            pct(f.top_share)
        );
    }
    println!(
        "fill: expected {} (typical tokens), {} (tokens measured here), measured {} \
         (min {}, max {}) over {} encoded record(s)",
        pct(p.expected.fill),
        pct(p.expected_from_data.fill),
        pct(p.measured.mean),
        pct(p.measured.min),
        pct(p.measured.max),
        p.measured.records
    );
}

fn print_pprl(s: &SchemaSummary) {
    println!(
        "version {}, layout {}, {} bits, hashing {}, {} field(s): {}",
        s.version,
        s.layout,
        s.length_bits,
        s.hashing,
        s.fields.len(),
        s.fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !s.blocking.is_empty() {
        println!(
            "{} keyed blocking key(s): {}",
            s.blocking.len(),
            s.blocking.join(", ")
        );
    }
    println!("fingerprint: {}", s.fingerprint);
    println!(
        "expected fill: {} of the bits when every field is present (typical token counts; \
         `--data` measures it)",
        pct(s.expected_fill.fill)
    );
}

fn print_clkhash(s: &ClkhashSchemaSummary) {
    println!(
        "clkhash schema (version {}), l = {} bits, {} XOR fold(s), {} feature(s), {} \
         hashed: {}",
        s.version,
        s.l,
        s.xor_folds,
        s.features.len(),
        s.hashed.len(),
        s.hashed.join(", ")
    );
    println!("fingerprint: {}", s.fingerprint);
}

pub fn convert(args: &SchemaConvertArgs) -> Result<()> {
    use pprl::io::{FileRole, RunFiles};
    super::check_files(
        RunFiles::new()
            .read(FileRole::Schema, &args.schema)
            .write(&args.output),
    )?;
    let schema = clkhash::Schema::from_path(&args.schema)
        .with_context(|| format!("invalid clkhash schema {}", args.schema.display()))?;
    let converted = clkhash::convert::to_pprl(&schema)
        .with_context(|| format!("cannot convert {}", args.schema.display()))?;
    let mut file = pprl::io::AtomicFile::create(&args.output)?;
    file.write_all(converted.toml.as_bytes())?;
    file.commit()
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    for note in &converted.notes {
        eprintln!("note: {note}");
    }
    println!(
        "wrote {} (check it with `pprl schema check {}`)",
        args.output.display(),
        args.output.display()
    );
    Ok(())
}

const RECOMMENDED: &str = include_str!("../../../examples/recommended.toml");

/// `pprl schema init`.
#[derive(Debug, clap::Args)]
pub struct SchemaInitArgs {
    /// Where to write the schema (TOML); an existing file is never replaced.
    #[arg(short, long, value_name = "OUT")]
    pub output: std::path::PathBuf,
}

/// Writes the recommended privacy profile (`examples/recommended.toml`) to a new file.
pub fn init(args: &SchemaInitArgs) -> Result<()> {
    if std::fs::symlink_metadata(&args.output).is_ok() {
        bail!(
            "{} exists; `schema init` never replaces a file (name another, or remove it)",
            super::shown(&args.output)
        );
    }
    super::check_files(pprl::io::RunFiles::new().write(&args.output))?;
    let mut f = pprl::io::AtomicFile::create(&args.output)?;
    f.write_all(RECOMMENDED.as_bytes())?;
    f.commit()?;
    let schema = pprl::schema::Schema::from_toml_str(RECOMMENDED)?;
    println!(
        "wrote {} (the recommended privacy profile; schema fingerprint {}); adapt the fields \
         to your exports and run `pprl schema check {} --data EXPORT.csv`",
        super::shown(&args.output),
        schema.fingerprint().to_hex(),
        super::shown(&args.output)
    );
    Ok(())
}
