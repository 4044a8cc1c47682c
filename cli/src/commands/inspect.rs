//! `pprl inspect FILE`.

use anyhow::Result;
use pprl::filter::PopcountAccumulator;
use pprl::io::{ClkReader, ClkRecord, Manifest};

use super::thousands;
use crate::args::{Format, InspectArgs};

pub fn run(args: &InspectArgs) -> Result<()> {
    let mut reader = ClkReader::open(&args.file)?;
    let header = reader.header().clone();
    let mut acc =
        PopcountAccumulator::new(header.filter_bits * u32::from(header.filters_per_record));
    let mut rec = ClkRecord::default();
    while reader.read_record(&mut rec)? {
        acc.add(&rec.words);
    }
    let stats = acc.finish(10);
    // The manifest beside the file, if there is one, adds the row accounting.
    let manifest_path = Manifest::path_for(&args.file);
    let manifest = match Manifest::read(&manifest_path) {
        Ok(m) => {
            let matches = m.describes(&args.file)?;
            Some((m, matches))
        }
        Err(_) => None,
    };
    match args.format {
        Format::Json => {
            let out = serde_json::json!({
                "file": args.file.display().to_string(),
                "checksum": "ok",
                "format_version": header.version,
                "records": header.record_count,
                "layout": header.layout.as_str(),
                "hashing": header.hashing.as_str(),
                "filter_bits": header.filter_bits,
                "filters_per_record": header.filters_per_record,
                "id_width": header.id_width,
                "block_keys": header.block_keys,
                "schema_fingerprint": header.schema_fingerprint.to_hex(),
                "key_fingerprint": header.key_fingerprint.to_hex(),
                "schema": serde_json::from_slice::<serde_json::Value>(&header.schema_json)?,
                "popcount": stats,
                "manifest": manifest.as_ref().map(|(m, matches)| serde_json::json!({
                    "describes_this_file": matches,
                    "counts": m.counts,
                    "created": m.created,
                    "tool_version": m.tool_version,
                })),
            });
            println!("{out:#}");
        }
        Format::Text => {
            println!("file               {} (checksum ok)", args.file.display());
            println!("format version     {}", header.version);
            println!("records            {}", thousands(header.record_count));
            println!(
                "filters            {} x {} bits, layout {}, hashing {}",
                header.filters_per_record,
                header.filter_bits,
                header.layout.as_str(),
                header.hashing.as_str()
            );
            println!("schema fingerprint {}", header.schema_fingerprint);
            println!("key fingerprint    {}", header.key_fingerprint);
            println!("id width           {} bytes", header.id_width);
            if header.block_keys > 0 {
                println!(
                    "blocking keys      {} block ids per record",
                    header.block_keys
                );
            }
            match &manifest {
                Some((m, true)) => println!(
                    "manifest           rows read {}, encoded {}, rejected {} (created {} by pprl {})",
                    thousands(m.counts.rows_read),
                    thousands(m.counts.rows_encoded),
                    thousands(m.counts.rows_rejected),
                    m.created,
                    m.tool_version
                ),
                Some((_, false)) => println!(
                    "manifest           {} does NOT describe this file (SHA-256 differs)",
                    manifest_path.display()
                ),
                None => println!("manifest           none beside the file"),
            }
            println!(
                "popcount           mean {:.1}, sd {:.1}, min {}, max {} (fill {:.1}%)",
                stats.mean,
                stats.sd,
                stats.min,
                stats.max,
                stats.fill * 100.0
            );
            let peak = stats
                .histogram
                .iter()
                .map(|h| h.2)
                .max()
                .unwrap_or(0)
                .max(1);
            for (lo, hi, n) in &stats.histogram {
                let bar = "#".repeat(((n * 40).div_ceil(peak)) as usize);
                println!("  {lo:>5}-{hi:<5} {:>10} {bar}", thousands(*n));
            }
        }
    }
    Ok(())
}
