//! `pprl experiment`: schemas x filter lengths x thresholds over one synthetic population.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Result, bail};
use pprl::io::{FileRole, RunFiles};
use pprl::lab::experiment::{self, ExperimentGrid, ExperimentRow, RowFormat};
use pprl::schema::Schema;

use crate::args::ExperimentArgs;

const DEFAULT_SCHEMA: &str = include_str!("../../../examples/person.toml");

pub fn run(args: &ExperimentArgs) -> Result<()> {
    if let Some(out) = &args.output {
        super::check_files(
            RunFiles::new()
                .reads(FileRole::Schema, &args.schema)
                .write(out),
        )?;
        refuse_foreign(out)?;
    }
    let schemas = if args.schema.is_empty() {
        vec![(
            "examples/person.toml".to_string(),
            Schema::from_toml_str(DEFAULT_SCHEMA)?,
        )]
    } else {
        args.schema
            .iter()
            .map(|p| Ok((p.display().to_string(), Schema::from_path(p)?)))
            .collect::<Result<_>>()?
    };
    let grid = ExperimentGrid {
        records: args.records,
        seed: args.seed,
        corruption: pprl::lab::synth::CorruptionLevel::from(args.corruption).profile(),
        schemas,
        lengths: args.length.clone(),
        thresholds: args.threshold.clone(),
        solver: args.solver.into(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    println!(
        "{:<28} {:>6} {:>5} {:>9} {:>7} {:>7} {:>6} {:>10} {:>8}",
        "schema", "bits", "t", "precision", "recall", "F1", "fill", "enc rec/s", "match s"
    );
    let rows = pool.install(|| {
        experiment::run(&grid, &mut |r: &ExperimentRow| {
            println!(
                "{:<28} {:>6} {:>5.2} {:>9.4} {:>7.4} {:>7.4} {:>6.3} {:>10.0} {:>8.2}",
                r.schema,
                r.length_bits,
                r.threshold,
                r.precision,
                r.recall,
                r.f1,
                r.mean_fill,
                r.encode_records_per_s,
                r.match_seconds
            );
        })
    })?;
    if let Some(path) = &args.output {
        experiment::write_rows(path, &rows, RowFormat::for_path(path))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

/// Refuses to replace an existing regular file that is not an earlier experiment's result
/// (a CSV whose header starts with `schema,`, or a JSON array): the run takes minutes, and the
/// file at that path may be data (a truth file, an export) given by mistake.
fn refuse_foreign(out: &Path) -> Result<()> {
    let Ok(meta) = std::fs::metadata(out) else {
        return Ok(());
    };
    if !meta.is_file() || meta.len() == 0 {
        return Ok(());
    }
    let mut start = Vec::with_capacity(8);
    std::fs::File::open(out)?.take(7).read_to_end(&mut start)?;
    if start.starts_with(b"schema,") || start.starts_with(b"[") {
        return Ok(());
    }
    bail!(
        "{} exists and is not an experiment's result; refusing to replace it (remove it, or \
         name another file)",
        pprl::error::escape_controls(&out.display().to_string())
    )
}
