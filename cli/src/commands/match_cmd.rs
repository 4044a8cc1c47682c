//! `pprl match A.clk [B.clk ...] --threshold T|auto -o matches.csv`: options in, the library's
//! [`MatchReport`] rendered as text or JSON; errors get the flag that fixes them.

use anyhow::Result;
use pprl::filter::kernel::Kernel;
use pprl::io::TableFormat;
use pprl::linkage::job::{self, MatchOptions};
use pprl::linkage::output;
use pprl::linkage::threshold::AutoOptions;
use pprl::linkage::{
    MatchError, MatchErrorKind, MatchReport, MatchWarning, MatchWarningKind, Threshold,
};

use super::thousands;
use crate::args::{Format, MatchArgs, ThresholdArg};
use crate::progress::count_bar;

/// The kernel named on the command line, if this CPU can run it.
pub fn kernel_by_name(name: &str) -> Result<Kernel> {
    Ok(Kernel::by_name(name)?)
}

/// The error, with the command-line flag that addresses it.
fn hint(e: MatchError) -> anyhow::Error {
    let hint = match e.kind() {
        MatchErrorKind::SchemaMismatch => " (--allow-mismatch overrides this check only)",
        MatchErrorKind::NoBlockingKeys | MatchErrorKind::BlockingSchemaMismatch => {
            " (use `--blocking lsh`)"
        }
        MatchErrorKind::FormatUnavailable => " (cargo build --release --features polars)",
        MatchErrorKind::BadTopK => " (--top-k)",
        MatchErrorKind::TooFewScores => "; give a threshold with --threshold T",
        MatchErrorKind::NoMatchMode => {
            "; give --fallback T to match at T in this case, or a threshold with --threshold T"
        }
        _ => "",
    };
    anyhow::anyhow!("{e}{hint}")
}

/// A warning, with the flag that caused it.
fn warning(w: &MatchWarning) -> String {
    match w.kind {
        MatchWarningKind::SchemaMismatchAllowed => format!("{w} (--allow-mismatch)"),
        _ => w.to_string(),
    }
}

pub fn run(args: &MatchArgs) -> Result<()> {
    use pprl::io::{FileRole, RunFiles};
    super::check_files(
        RunFiles::new()
            .reads(FileRole::Input, &args.files)
            .reads(FileRole::Truth, &args.truth)
            .reads(FileRole::Input, &args.fs.load_model)
            .write(&args.output)
            .allow_stdout(),
    )?;
    // The model's outputs: never an input, nor the result.
    let mut extra: Vec<std::path::PathBuf> = [&args.fs.save_model, &args.fs.review_output]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    // A folder that does not exist yet holds no input.
    if let Some(dir) = args.fs.plot.as_ref().filter(|d| d.is_dir()) {
        for name in ["weights", "match_weights", "m_u"] {
            extra.extend(["svg", "png"].map(|ext| dir.join(format!("{name}.{ext}"))));
        }
    }
    if !extra.is_empty() {
        let files = RunFiles::new()
            .reads(FileRole::Input, &args.files)
            .reads(FileRole::Truth, &args.truth)
            .reads(FileRole::Input, &args.fs.load_model)
            .reads(
                FileRole::Input,
                [&args.output].into_iter().filter(|o| o.as_os_str() != "-"),
            );
        super::check_files(extra.iter().fold(files, |f, p| f.write(p)))?;
    }
    // `-o -`: the result is standard output, so the summary goes to standard error.
    let to_stdout = args.output.as_os_str() == "-";
    let kernel = args.kernel.as_deref().map(kernel_by_name).transpose()?;
    let output_format = args
        .output_format
        .map(TableFormat::from)
        .unwrap_or_else(|| TableFormat::from_path(&args.output));
    output::check_format(&args.output, output_format).map_err(hint)?;
    if to_stdout && output_format != TableFormat::Csv {
        anyhow::bail!("`-o -` (standard output) takes CSV only; name a file for a Parquet result");
    }
    let threshold = match args.threshold {
        ThresholdArg::Value(t) => {
            if args.fallback.is_some() {
                anyhow::bail!("--fallback applies only with --threshold auto");
            }
            Threshold::Fixed(t)
        }
        ThresholdArg::Auto => Threshold::Auto(AutoOptions {
            fallback: args.fallback,
            ..AutoOptions::default()
        }),
    };
    let opts = MatchOptions {
        threshold,
        clustering: args.cluster.into(),
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
        probabilistic: super::match_fs::options(&args.fs)?,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    let bar = count_bar(args.quiet || args.format == Format::Json, "comparisons");
    let progress = |n| bar.inc(n);
    // CSV results go to the file as the job finds them; Parquet is written from the report.
    let csv = output_format == TableFormat::Csv;
    let report = pool
        .install(|| match csv {
            true => job::match_files_to_csv(&args.files, &opts, &args.output, &progress),
            false => job::match_files(&args.files, &opts, &progress),
        })
        .map_err(hint)?;
    bar.finish_and_clear();
    for w in &report.warnings {
        super::warn(w.kind.code(), &warning(w));
    }
    if let Some(s) = &report.probabilistic {
        for w in super::match_fs::warnings(s) {
            super::warn("fs-training", &w);
        }
    }
    super::match_fs::write_outputs(&report, &args.fs)?;
    if !csv {
        report
            .write(&args.output, output_format, opts.scores)
            .map_err(hint)?;
    }
    match args.format {
        Format::Json => {
            let summary = report.with_output(args.output.display().to_string());
            let json = serde_json::to_string_pretty(&summary)?;
            if to_stdout {
                eprintln!("{json}")
            } else {
                println!("{json}")
            }
        }
        Format::Text if !args.quiet && !to_stdout => print_text(&report, args),
        Format::Text => {}
    }
    Ok(())
}

fn print_text(report: &MatchReport, args: &MatchArgs) {
    if let Some(s) = &report.probabilistic {
        super::match_fs::print_text(s);
    }
    if let Some(a) = &report.auto {
        println!(
            "threshold {:.4}, chosen automatically ({}) in {:.2} s: {}",
            a.threshold.value,
            a.threshold.method.as_str(),
            a.choose_time.as_secs_f64(),
            a.explanation
        );
        if let Some(e) = &a.estimated_result {
            println!(
                "estimated quality of the result: precision {:.3}, recall {:.3}, F1 {:.3} \
                 ({:.0} of {} linked pairs true, of about {:.0} true pairs)",
                e.precision, e.recall, e.f1, e.true_links, e.links, e.true_pairs
            );
        }
    }
    let clustered = report
        .clustering
        .map_or(String::new(), |c| format!(" ({} clustering)", c.as_str()));
    println!(
        "{} comparisons ({} pairs before the length filter), {} candidates, {} {}{clustered} \
         -> {} in {:.2} s ({:.0} M comparisons/s, kernel {}, {} threads)",
        thousands(report.stats.comparisons),
        thousands(report.stats.pairs),
        thousands(report.stats.candidates),
        thousands(report.matches),
        report.matches_noun(),
        args.output.display(),
        report.elapsed.as_secs_f64().max(1e-9),
        report.comparisons_per_s / 1e6,
        report.kernel,
        report.threads,
    );
    for b in &report.blocking {
        let how: Vec<String> = (b.keys > 0)
            .then(|| format!("{} keyed blocking keys", b.keys))
            .into_iter()
            .chain(
                b.lsh
                    .map(|p| format!("LSH L={} K={} lambda={}", p.tables, p.bits, p.lambda)),
            )
            .collect();
        let estimated = match (b.estimated_pair_completeness, b.lsh_similarity) {
            (Some(pc), Some(s)) => format!(
                ", estimated pair completeness {pc:.4} at the threshold (LSH sized for \
                 similarity {s:.3})"
            ),
            _ => ", pair completeness of the keys not estimated".to_string(),
        };
        println!(
            "blocking ({}): {} blocks, {} distinct pairs in blocks, reduction ratio {:.6}{estimated}{}",
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
