//! `pprl bench match --size N`: comparisons per second on this machine, per kernel, on random
//! or realistic synthetic filters (`--filters`) or on the encodings of a file (`--data`).
//! `pprl bench scale --size N`: the whole pipeline on synthetic data, stage by stage.

use anyhow::{Context as _, Result, bail, ensure};
use pprl::filter::kernel::Kernel;
use pprl::linkage::bench;

use super::thousands;
use crate::args::{BenchFilters, BenchMatchArgs, BenchScaleArgs, Format};

pub fn matching(args: &BenchMatchArgs) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    let threads = pool.current_num_threads();
    let sides = sides(args)?;
    println!(
        "{} x {} {}, Dice >= {}, {threads} thread(s)",
        thousands(sides.left.len() as u64 / sides.words as u64),
        thousands(sides.right.len() as u64 / sides.words as u64),
        sides.what,
        args.threshold
    );
    let mut found = None;
    let kernels = match &args.kernel {
        Some(name) => vec![super::match_cmd::kernel_by_name(name)?],
        None => Kernel::available()
            .into_iter()
            .filter_map(Kernel::new)
            .collect(),
    };
    for kernel in kernels {
        let cpu_before = cpu_seconds();
        let r = pool.install(|| {
            bench::time_link_words(
                &sides.left,
                &sides.right,
                sides.words,
                args.threshold,
                kernel,
            )
        });
        // Every kernel must find the same candidates: fast but wrong fails here.
        let expected = *found.get_or_insert(r.stats.candidates);
        ensure!(
            r.stats.candidates == expected,
            "kernel {} found {} candidates, others {expected}",
            r.kernel,
            r.stats.candidates
        );
        println!(
            "  {:<9} {:>8.1} M comparisons/s ({:.1} M per thread), {} comparisons, {} candidates, {:.3} s",
            r.kernel,
            r.rate() / 1e6,
            r.rate() / 1e6 / threads as f64,
            thousands(r.stats.comparisons),
            thousands(r.stats.candidates),
            r.seconds
        );
        // CPU time of the whole process over the run (all threads): on a shared machine the
        // fair per-core figure, since wall time includes waiting for a core.
        if let (Some(before), Some(after)) = (cpu_before, cpu_seconds()) {
            let cpu = after - before;
            println!(
                "  {:<9} {:>8.1} M comparisons per CPU-second ({:.3} s CPU, {} pairs)",
                "",
                r.stats.comparisons as f64 / cpu.max(1e-9) / 1e6,
                cpu,
                thousands(r.stats.pairs)
            );
        }
    }
    Ok(())
}

/// CPU seconds used so far by all threads of this process, from `/proc/self/task/*/schedstat`
/// (nanoseconds on the CPU); `None` where that is not available.
fn cpu_seconds() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// The two sides a match benchmark runs on.
struct Sides {
    left: Vec<u64>,
    right: Vec<u64>,
    words: usize,
    /// What they are, for the heading.
    what: String,
}

fn sides(args: &BenchMatchArgs) -> Result<Sides> {
    match args.data.as_slice() {
        [] => {
            let (left, right, what) = match args.filters {
                BenchFilters::Random => {
                    let (l, r) = bench::pair_of_sides(args.size, 42);
                    (l, r, "random 1024-bit filters")
                }
                BenchFilters::Realistic => {
                    let (l, r) = bench::realistic_sides(args.size, 42);
                    (
                        l,
                        r,
                        "realistic 1024-bit filters (about two thirds of the bits set)",
                    )
                }
            };
            Ok(Sides {
                left,
                right,
                words: 16,
                what: what.to_string(),
            })
        }
        [one] => {
            let (words, filters) = read_filters(one)?;
            Ok(Sides {
                right: filters.clone(),
                left: filters,
                words,
                what: format!("filters of {} (against itself)", one.display()),
            })
        }
        [a, b] => {
            let (words, left) = read_filters(a)?;
            let (words_b, right) = read_filters(b)?;
            ensure!(
                words == words_b,
                "{} and {} have filters of different lengths",
                a.display(),
                b.display()
            );
            Ok(Sides {
                left,
                right,
                words,
                what: format!("filters of {} and {}", a.display(), b.display()),
            })
        }
        _ => bail!("--data takes one file (matched against itself) or two"),
    }
}

/// The filter words of an encoding file and the words per record (a record's filters, if it
/// has several, are timed as one filter of their total length).
fn read_filters(path: &std::path::Path) -> Result<(usize, Vec<u64>)> {
    let (data, _) = pprl::io::formats::read_encoding_file(path)
        .with_context(|| format!("cannot read encodings from {}", path.display()))?;
    let header = &data.header;
    ensure!(
        header.filter_bits % 64 == 0 && header.words_per_record() > 0,
        "{}: the benchmark takes filters of a multiple of 64 bits",
        path.display()
    );
    Ok((header.words_per_record(), data.words))
}

pub fn scale(args: &BenchScaleArgs) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    let mut blocking = args.blocking.request();
    if args.blocking.blocking.is_empty() {
        blocking.keys = true;
        blocking.lsh = true;
    }
    let opts = pprl::lab::scale::ScaleOptions {
        records: args.size,
        seed: args.seed,
        corruption: pprl::lab::synth::CorruptionLevel::from(args.corruption).profile(),
        threshold: args.threshold,
        blocking,
        dir: args.dir.clone(),
    };
    let text = args.format == Format::Text;
    if text {
        println!(
            "{} x {} synthetic records ({:?} corruption), Dice >= {}, {} thread(s)",
            thousands(args.size),
            thousands(args.size),
            args.corruption,
            args.threshold,
            pool.current_num_threads()
        );
    }
    let report = pool.install(|| {
        pprl::lab::scale::run(&opts, &mut |stage| {
            if text {
                eprintln!("  {stage} ...");
            }
        })
    })?;
    if !text {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let mib = |b: Option<u64>| b.map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0));
    for s in &report.stages {
        println!(
            "  {:<9} {:>8.2} s   peak {}",
            s.name,
            s.seconds,
            mib(s.peak_bytes)
        );
    }
    println!(
        "  {} comparisons, {} candidates",
        thousands(report.comparisons),
        thousands(report.candidates)
    );
    if let Some(b) = &report.blocking {
        println!(
            "  blocking: {} keys{}, reduction ratio {:.6}, pair completeness {}",
            b.keys,
            b.lsh.map_or(String::new(), |p| format!(
                " + LSH L={} K={} lambda={}",
                p.tables, p.bits, p.lambda
            )),
            b.reduction_ratio,
            b.pair_completeness.map_or("?".into(), |p| format!(
                "{p:.4} of {} true pairs",
                thousands(b.true_pairs.unwrap_or(0))
            )),
        );
    }
    let q = &report.quality;
    println!(
        "  links: precision {:.4}, recall {:.4}, F1 {:.4} (tp {}, fp {}, fn {})",
        q.precision,
        q.recall,
        q.f1,
        thousands(q.tp),
        thousands(q.fp),
        thousands(q.fn_)
    );
    Ok(())
}
