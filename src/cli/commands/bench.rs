//! `pprl bench match --size N`: comparisons per second on this machine, per kernel.

use anyhow::{Result, ensure};
use pprl::filter::kernel::Kernel;
use pprl::linkage::bench;

use super::thousands;
use crate::cli::args::BenchMatchArgs;

pub fn matching(args: &BenchMatchArgs) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    let threads = pool.current_num_threads();
    let (left, right) = bench::pair_of_sides(args.size, 42);
    println!(
        "{} x {} random 1024-bit filters, Dice >= {}, {threads} thread(s)",
        thousands(args.size as u64),
        thousands(args.size as u64),
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
        let r = pool.install(|| bench::time_link(&left, &right, args.threshold, kernel));
        // Every kernel must find the same candidates: fast but wrong fails here.
        let expected = *found.get_or_insert(r.stats.candidates);
        ensure!(
            r.stats.candidates == expected,
            "kernel {} found {} candidates, others {expected}",
            r.kernel,
            r.stats.candidates
        );
        println!(
            "  {:<9} {:>8.1} M comparisons/s ({:.1} M per thread), {} comparisons, {} candidates, {:.2} s",
            r.kernel,
            r.rate() / 1e6,
            r.rate() / 1e6 / threads as f64,
            thousands(r.stats.comparisons),
            thousands(r.stats.candidates),
            r.seconds
        );
    }
    Ok(())
}
