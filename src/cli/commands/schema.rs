//! `pprl schema check FILE`.

use anyhow::{Context as _, Result};
use pprl::schema::Schema;

use crate::cli::args::{Format, SchemaCheckArgs};

pub fn check(args: &SchemaCheckArgs) -> Result<()> {
    let schema = Schema::from_path(&args.schema)
        .with_context(|| format!("invalid schema {}", args.schema.display()))?;
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
    Ok(())
}
