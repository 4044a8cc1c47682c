//! `pprl match A.clk [B.clk ...] --threshold T -o matches.csv`.

use anyhow::{Result, bail};
use pprl::filter::kernel::{Kernel, KernelKind};
use pprl::io::TableFormat;
use pprl::linkage::job::{self, MatchOptions, MatchResult};
use pprl::linkage::output;

use super::thousands;
use crate::cli::args::{Format, MatchArgs};
use crate::cli::progress::count_bar;

/// The kernel named on the command line, if this CPU can run it.
pub fn kernel_by_name(name: &str) -> Result<Kernel> {
    let kind = KernelKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            anyhow::anyhow!("unknown kernel `{name}` (portable, popcnt, avx2, avx512)")
        })?;
    match Kernel::new(kind) {
        Some(k) => Ok(k),
        None => bail!("this CPU cannot run the `{name}` kernel"),
    }
}

pub fn run(args: &MatchArgs) -> Result<()> {
    let kernel = args.kernel.as_deref().map(kernel_by_name).transpose()?;
    let output_format = args
        .output_format
        .map(TableFormat::from)
        .unwrap_or_else(|| TableFormat::from_path(&args.output));
    output::check_format(&args.output, output_format)?;
    let opts = MatchOptions {
        threshold: args.threshold,
        similarity: args.similarity.into(),
        solver: args.solver.into(),
        top_k: args.top_k.map(|k| k as usize),
        allow_schema_mismatch: args.allow_mismatch,
        scores: !args.no_scores,
        kernel,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    let bar = count_bar(args.quiet || args.format == Format::Json, "comparisons");
    let report = pool.install(|| job::match_files(&args.files, &opts, &|n| bar.inc(n)))?;
    bar.finish_and_clear();
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    report.write(&args.output, output_format, opts.scores)?;

    let secs = report.elapsed.as_secs_f64().max(1e-9);
    let rate = report.stats.comparisons as f64 / secs;
    let kind = match &report.result {
        MatchResult::Pairs(_) => "links",
        MatchResult::Duplicates(_) => "records in duplicate clusters",
        MatchResult::Clusters(_) => "records in clusters",
    };
    match args.format {
        Format::Json => {
            let out = serde_json::json!({
                "files": report.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "records": report.ids.iter().map(Vec::len).collect::<Vec<_>>(),
                "threshold": args.threshold,
                "similarity": opts.similarity.as_str(),
                "solver": opts.solver.as_str(),
                "pairs": report.stats.pairs,
                "comparisons": report.stats.comparisons,
                "candidates": report.stats.candidates,
                "matches": report.matches,
                "elapsed_s": report.elapsed.as_secs_f64(),
                "read_s": report.read_time.as_secs_f64(),
                "comparisons_per_s": rate,
                "kernel": report.kernel,
                "threads": pool.current_num_threads(),
                "output": args.output.display().to_string(),
                "warnings": report.warnings,
            });
            println!("{out:#}");
        }
        Format::Text if !args.quiet => {
            println!(
                "{} comparisons ({} pairs before the length filter), {} candidates, {} {kind} \
                 -> {} in {:.2} s ({:.0} M comparisons/s, kernel {}, {} threads)",
                thousands(report.stats.comparisons),
                thousands(report.stats.pairs),
                thousands(report.stats.candidates),
                thousands(report.matches),
                args.output.display(),
                secs,
                rate / 1e6,
                report.kernel,
                pool.current_num_threads(),
            );
        }
        Format::Text => {}
    }
    Ok(())
}
