//! `pprl schema check FILE`, `pprl schema convert CLKHASH.json -o OUT.toml`.

use std::io::Write as _;

use anyhow::{Context as _, Result};
use pprl::compat::AnySchema;
use pprl::compat::clkhash;
use pprl::io::inspect::{ClkhashSchemaSummary, SchemaInspection, inspect_schema};
use pprl::schema::summary::SchemaSummary;

use crate::args::{Format, SchemaCheckArgs, SchemaConvertArgs};

pub fn check(args: &SchemaCheckArgs) -> Result<()> {
    let schema = AnySchema::from_path(&args.schema)
        .with_context(|| format!("invalid schema {}", args.schema.display()))?;
    let summary = inspect_schema(&schema);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Format::Text => {
            println!("schema ok: {}", args.schema.display());
            match &summary {
                SchemaInspection::Pprl(s) => print_pprl(s),
                SchemaInspection::Clkhash(s) => print_clkhash(s),
            }
        }
    }
    Ok(())
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
    for w in &s.warnings {
        println!("warning {w}");
    }
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
    for w in &s.warnings {
        println!("warning: {w}");
    }
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
