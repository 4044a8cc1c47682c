//! `pprl schema check FILE`, `pprl schema convert CLKHASH.json -o OUT.toml`.

use std::io::Write as _;

use anyhow::{Context as _, Result};
use pprl::compat::AnySchema;
use pprl::compat::clkhash;
use pprl::schema::Schema;

use crate::args::{Format, SchemaCheckArgs, SchemaConvertArgs};

pub fn check(args: &SchemaCheckArgs) -> Result<()> {
    let schema = AnySchema::from_path(&args.schema)
        .with_context(|| format!("invalid schema {}", args.schema.display()))?;
    match schema {
        AnySchema::Pprl(schema) => check_pprl(args, &schema),
        AnySchema::Clkhash(schema) => check_clkhash(args, &schema),
    }
    Ok(())
}

fn check_pprl(args: &SchemaCheckArgs, schema: &Schema) {
    let warnings = schema.warnings();
    let fingerprint = schema.fingerprint();
    match args.format {
        Format::Json => {
            let fields: Vec<_> = schema
                .fields
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "name": f.name,
                        "column": f.column(),
                        "tokenizer": f.tokenizer.kind(),
                    })
                })
                .collect();
            let out = serde_json::json!({
                "valid": true,
                "fingerprint": fingerprint.to_hex(),
                "version": schema.version,
                "layout": schema.filter.layout.as_str(),
                "length_bits": schema.filter.length_bits,
                "hashing": schema.filter.hashing.as_str(),
                "fields": fields,
                "warnings": warnings
                    .iter()
                    .map(|w| serde_json::json!({"code": w.code, "message": w.message}))
                    .collect::<Vec<_>>(),
            });
            println!("{out:#}");
        }
        Format::Text => {
            println!("schema ok: {}", args.schema.display());
            println!(
                "version {}, layout {}, {} bits, hashing {}, {} field(s): {}",
                schema.version,
                schema.filter.layout.as_str(),
                schema.filter.length_bits,
                schema.filter.hashing.as_str(),
                schema.fields.len(),
                schema
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !schema.blocking.is_empty() {
                println!(
                    "{} keyed blocking key(s): {}",
                    schema.blocking.len(),
                    schema
                        .blocking
                        .iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            println!("fingerprint: {fingerprint}");
            for w in &warnings {
                println!("warning {w}");
            }
        }
    }
}

fn check_clkhash(args: &SchemaCheckArgs, schema: &clkhash::Schema) {
    let hashed: Vec<&str> = schema
        .features
        .iter()
        .filter(|f| f.hashing.is_some())
        .map(|f| f.identifier.as_str())
        .collect();
    let fingerprint = schema.fingerprint().to_hex();
    match args.format {
        Format::Json => {
            let out = serde_json::json!({
                "valid": true,
                "kind": "clkhash",
                "version": schema.source_version,
                "fingerprint": fingerprint,
                "l": schema.l,
                "xor_folds": schema.xor_folds,
                "features": schema.features.iter().map(|f| &f.identifier).collect::<Vec<_>>(),
                "hashed": hashed,
                "warnings": schema.warnings,
            });
            println!("{out:#}");
        }
        Format::Text => {
            println!("schema ok: {}", args.schema.display());
            println!(
                "clkhash schema (version {}), l = {} bits, {} XOR fold(s), {} feature(s), {} \
                 hashed: {}",
                schema.source_version,
                schema.l,
                schema.xor_folds,
                schema.features.len(),
                hashed.len(),
                hashed.join(", ")
            );
            println!("fingerprint: {fingerprint}");
            for w in &schema.warnings {
                println!("warning: {w}");
            }
        }
    }
}

pub fn convert(args: &SchemaConvertArgs) -> Result<()> {
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
