//! Peak memory of the one-to-one solvers on the same candidates (docs/benchmarks.md, "Optimal
//! solver memory"): every pair of two `.clk` files at or above a threshold, found by brute
//! force, then `greedy` or `optimal`. Run under `/usr/bin/time -v`, once per solver:
//!
//! ```text
//! cargo run --release --example solver_memory -- A.clk B.clk 0.47 optimal
//! ```

use pprl::io::ClkReader;
use pprl::linkage::{Candidate, solve};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let a = ClkReader::open(&args[1]).unwrap().read_all().unwrap();
    let b = ClkReader::open(&args[2]).unwrap().read_all().unwrap();
    let t: f64 = args[3].parse().unwrap();
    let pa: Vec<u32> = (0..a.ids.len())
        .map(|i| a.record(i).iter().map(|w| w.count_ones()).sum())
        .collect();
    let pb: Vec<u32> = (0..b.ids.len())
        .map(|i| b.record(i).iter().map(|w| w.count_ones()).sum())
        .collect();
    let mut c = Vec::new();
    for (i, &pi) in pa.iter().enumerate() {
        for (j, &pj) in pb.iter().enumerate() {
            let n: u32 = a
                .record(i)
                .iter()
                .zip(b.record(j))
                .map(|(x, y)| (x & y).count_ones())
                .sum();
            let s = 2.0 * n as f64 / (pi + pj) as f64;
            if s >= t {
                c.push(Candidate {
                    a: i as u32,
                    b: j as u32,
                    score: s,
                });
            }
        }
    }
    c.shrink_to_fit();
    let links = if args.get(4).map(String::as_str) == Some("optimal") {
        solve::optimal(&c)
    } else {
        solve::greedy(&c)
    };
    let total: f64 = links.iter().map(|l| l.score).sum();
    println!(
        "{} candidates, {} links, total {total:.6}",
        c.len(),
        links.len()
    );
}
