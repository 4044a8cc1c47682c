//! `pprl match A.clk [B.clk ...] --threshold T -o matches.csv`.

use anyhow::{Result, bail};
use pprl::filter::kernel::{Kernel, KernelKind};
use pprl::io::TableFormat;
use pprl::linkage::job::{self, MatchOptions, MatchResult};
use pprl::linkage::output;
use pprl::linkage::threshold::{self, AutoOptions};

use super::thousands;
use crate::args::{Format, MatchArgs, ThresholdArg};
use crate::progress::count_bar;

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
        threshold: match args.threshold {
            ThresholdArg::Value(t) => t,
            ThresholdArg::Auto => 0.0,
        },
        similarity: args.similarity.into(),
        solver: args.solver.into(),
        top_k: args.top_k.map(|k| k as usize),
        allow_schema_mismatch: args.allow_mismatch,
        scores: !args.no_scores,
        kernel,
        blocking: args.blocking.request(),
        truth: args
            .truth
            .as_deref()
            .map(|t| pprl::eval::truth::read_id_pairs(t, args.files.len()))
            .transpose()?,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    let bar = count_bar(args.quiet || args.format == Format::Json, "comparisons");
    let progress = |n| bar.inc(n);
    let (report, auto) = match args.threshold {
        // CSV results stream to the file where the result allows it (no solver).
        ThresholdArg::Value(_) if output_format == TableFormat::Csv => (
            pool.install(|| job::match_files_to_csv(&args.files, &opts, &args.output, &progress))?,
            None,
        ),
        ThresholdArg::Value(_) => (
            pool.install(|| job::match_files(&args.files, &opts, &progress))?,
            None,
        ),
        ThresholdArg::Auto => {
            let auto = pool.install(|| {
                threshold::auto_match(&args.files, &opts, &AutoOptions::default(), &progress)
            })?;
            (auto.report, Some((auto.threshold, auto.choose_time)))
        }
    };
    bar.finish_and_clear();
    let chosen = auto.as_ref().map_or(opts.threshold, |a| a.0.value);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    // A fixed threshold with CSV output was written by the job itself.
    let written = output_format == TableFormat::Csv && auto.is_none();
    if !written {
        report.write(&args.output, output_format, opts.scores)?;
    }

    let secs = report.elapsed.as_secs_f64().max(1e-9);
    let rate = report.stats.comparisons as f64 / secs;
    let kind = match &report.result {
        MatchResult::Pairs(_) | MatchResult::Written { .. } => "links",
        MatchResult::Duplicates(_) => "records in duplicate clusters",
        MatchResult::Clusters(_) => "records in clusters",
    };
    match args.format {
        Format::Json => {
            let out = serde_json::json!({
                "files": report.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "records": report.ids.iter().map(Vec::len).collect::<Vec<_>>(),
                "threshold": chosen,
                "threshold_auto": auto.as_ref().map(|(a, secs)| {
                    let mut v = serde_json::to_value(a).unwrap_or_default();
                    v["explanation"] = a.explanation().into();
                    v["choose_s"] = secs.as_secs_f64().into();
                    v
                }),
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
                "blocking": report.blocking,
            });
            println!("{out:#}");
        }
        Format::Text if !args.quiet => {
            if let Some((a, secs)) = &auto {
                println!(
                    "threshold {:.4}, chosen automatically ({}) in {:.2} s: {}",
                    a.value,
                    a.method.as_str(),
                    secs.as_secs_f64(),
                    a.explanation()
                );
            }
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
    if args.format == Format::Text && !args.quiet {
        for b in &report.blocking {
            let how: Vec<String> = (b.keys > 0)
                .then(|| format!("{} keyed blocking keys", b.keys))
                .into_iter()
                .chain(
                    b.lsh
                        .map(|p| format!("LSH L={} K={} lambda={}", p.tables, p.bits, p.lambda)),
                )
                .collect();
            println!(
                "blocking ({}): {} blocks, {} distinct pairs in blocks, reduction ratio {:.6}{}",
                how.join(" + "),
                thousands(b.functions.iter().map(|f| f.blocks).sum()),
                thousands(b.blocked_pairs),
                b.reduction_ratio,
                b.pair_completeness.map_or(String::new(), |pc| format!(
                    ", pair completeness {pc:.4} of {} true pairs",
                    thousands(b.true_pairs.unwrap_or(0))
                )),
            );
        }
    }
    Ok(())
}
