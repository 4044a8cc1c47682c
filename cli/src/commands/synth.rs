//! `pprl synth --records N --seed S --out-dir DIR`: synthetic exports with ground truth.

use anyhow::{Result, bail};
use pprl::lab::synth::{CorruptionLevel, Population, SynthConfig, TruthFormat};

use super::thousands;
use crate::args::SynthArgs;

pub fn run(args: &SynthArgs) -> Result<()> {
    let parties = usize::from(args.parties);
    if parties == 1 && args.overlap.is_some() {
        bail!("--overlap needs two parties or more; with one party use --duplicates");
    }
    let mut corruption = CorruptionLevel::from(args.corruption).profile();
    for (name, value) in &args.rate {
        corruption.set(name, *value)?;
    }
    let config = SynthConfig {
        parties,
        overlap: args.overlap.unwrap_or(0.5),
        duplicates: args.duplicates,
        corruption,
        ..SynthConfig::new(args.records, args.seed)
    };
    let population = Population::new(config)?;
    let summary = population.write_dir(&args.out_dir, args.threads.map(usize::from))?;
    if args.quiet {
        return Ok(());
    }
    for f in &summary.parties {
        println!(
            "wrote {} ({} records)",
            f.path.display(),
            thousands(f.records)
        );
    }
    let what = match summary.truth_format {
        TruthFormat::Pairs => "true pairs, a_id,b_id",
        TruthFormat::Entities => "records with their person, entity_id,party,record_id",
    };
    println!(
        "wrote {} ({} {what})",
        summary.truth.display(),
        thousands(summary.truth_rows)
    );
    let rows = config.records * parties as u64;
    let secs = summary.elapsed.as_secs_f64();
    println!(
        "{} records in {secs:.2} s ({} records/s, {} thread{}); per party {} shared with \
         another party, {} duplicates; seed {}",
        thousands(rows),
        thousands((rows as f64 / secs.max(1e-9)) as u64),
        summary.threads,
        if summary.threads == 1 { "" } else { "s" },
        thousands(population.shared_per_party()),
        thousands(population.duplicates_per_party()),
        config.seed,
    );
    Ok(())
}
