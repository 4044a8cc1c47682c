//! `pprl inspect FILE`: renders the library's [`Inspection`] as text or JSON.

use anyhow::Result;
use pprl::io::inspect::{self, Inspection};

use super::thousands;
use crate::args::{Format, InspectArgs};

pub fn run(args: &InspectArgs) -> Result<()> {
    let report = inspect::inspect(&args.file)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print_text(&report),
    }
    Ok(())
}

fn print_text(r: &Inspection) {
    let header = &r.header;
    println!("file               {} (checksum ok)", r.file);
    println!("format version     {}", r.format_version);
    println!("records            {}", thousands(r.records));
    println!(
        "filters            {} x {} bits, layout {}, hashing {}",
        r.filters_per_record, r.filter_bits, r.layout, r.hashing
    );
    println!("schema fingerprint {}", header.schema_fingerprint);
    println!("key fingerprint    {}", header.key_fingerprint);
    println!("id width           {} bytes", r.id_width);
    if r.block_keys > 0 {
        println!("blocking keys      {} block ids per record", r.block_keys);
    }
    match &r.manifest {
        Some(m) if m.describes_this_file => println!(
            "manifest           rows read {}, encoded {}, rejected {} (created {} by pprl {})",
            thousands(m.counts.rows_read),
            thousands(m.counts.rows_encoded),
            thousands(m.counts.rows_rejected),
            m.created,
            m.tool_version
        ),
        Some(m) => println!(
            "manifest           {} does NOT describe this file (SHA-256 differs)",
            m.path
        ),
        None => println!("manifest           none beside the file"),
    }
    let stats = &r.popcount;
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
