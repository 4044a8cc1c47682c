//! `pprl privacy sweep`: renders the library's privacy-utility sweep
//! ([`pprl::lab::attack::sweep`]) as a table, JSON and a chart.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use pprl::lab::attack::sweep::{self, RealData, SweepConfig, SweepRow, SweepSetting};
use pprl::lab::attack::{AttackKind, AttackSettings, Table};

const RECOMMENDED: &str = include_str!("../../../../examples/recommended.toml");
const FEBRL: &str = include_str!("../../../../examples/febrl.toml");

/// `pprl privacy sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Records per synthetic party.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub records: u64,
    /// Seed of the population and of the secrets.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Base schema of the synthetic population, unhardened (default: examples/recommended.toml
    /// without its `harden` list).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Real-like data in the FEBRL layout (`rec_id` = rec-N-org / rec-N-dup-K), e.g. FEBRL 1.
    #[arg(long, value_name = "FILE")]
    pub real: Option<PathBuf>,
    /// Schema of the real-like data, unhardened (default: examples/febrl.toml).
    #[arg(long, value_name = "FILE")]
    pub real_schema: Option<PathBuf>,
    /// A setting as `LABEL=LIST`, LIST the body of a `[filter] harden = [...]` list
    /// (repeatable; default: none, each step alone and two combinations).
    #[arg(long, value_name = "LABEL=LIST")]
    pub harden: Vec<String>,
    /// Attacks, comma-separated.
    #[arg(
        long,
        value_name = "KIND",
        value_delimiter = ',',
        default_value = "frequency,pattern,graph"
    )]
    pub attack: Vec<String>,
    /// Attacker overlaps, comma-separated.
    #[arg(long, value_name = "O", value_delimiter = ',', default_value = "1,0.5")]
    pub overlap: Vec<f64>,
    /// Records of the graph attack (it compares all pairs).
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub graph_records: u64,
    /// Write the rows as JSON here.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the chart (attack success against F1, one point per setting) into this directory
    /// as `sweep.svg` and `sweep.png`.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

pub fn run(args: &SweepArgs) -> Result<()> {
    let mut reads = Vec::new();
    reads.extend(args.schema.iter().cloned());
    reads.extend(args.real_schema.iter().cloned());
    let mut files = pprl::io::RunFiles::new()
        .reads(pprl::io::FileRole::Schema, &reads)
        .reads(pprl::io::FileRole::Input, args.real.as_slice());
    if let Some(out) = &args.output {
        files = files.write(out);
    }
    // A directory that does not exist yet is made when the charts are written.
    if let Some(dir) = args.plot.as_ref().filter(|d| d.is_dir()) {
        for p in pprl::lab::attack::chart::sweep_chart_paths(dir) {
            files = files.write(&p);
        }
    }
    super::super::check_files(files)?;
    let settings = if args.harden.is_empty() {
        sweep::default_settings()
    } else {
        args.harden
            .iter()
            .map(|h| match h.split_once('=') {
                Some((label, list)) if !label.trim().is_empty() => Ok(SweepSetting {
                    label: label.trim().into(),
                    harden: list.trim().into(),
                }),
                _ => bail!("--harden takes LABEL=LIST, e.g. balance='\"balance\"' or none="),
            })
            .collect::<Result<_>>()?
    };
    let attacks = args
        .attack
        .iter()
        .map(|a| match a.as_str() {
            "frequency" => Ok(AttackKind::Frequency),
            "pattern" => Ok(AttackKind::Pattern),
            "graph" => Ok(AttackKind::Graph),
            other => bail!("no attack `{other}` (frequency, pattern, graph)"),
        })
        .collect::<Result<_>>()?;
    let read = |p: &Option<PathBuf>, default: &str| -> Result<String> {
        Ok(match p {
            Some(p) => std::fs::read_to_string(p)?,
            None => default.to_string(),
        })
    };
    let real = match &args.real {
        Some(path) => Some(RealData {
            label: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            schema: read(&args.real_schema, FEBRL)?,
            table: Table::from_csv(std::fs::File::open(path)?, &path.display().to_string())?,
        }),
        None => None,
    };
    let cfg = SweepConfig {
        schema: read(&args.schema, &unhardened(RECOMMENDED))?,
        records: args.records,
        seed: args.seed,
        real,
        settings,
        attacks,
        overlaps: args.overlap.clone(),
        graph_records: args.graph_records,
        attack: AttackSettings::default(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map(usize::from).unwrap_or(0))
        .build()?;
    println!(
        "{:<12} {:<26} {:>5} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10} {:>8}",
        "data",
        "setting",
        "bits",
        "2p F1",
        "dedup F1",
        "enc rec/s",
        "frequency",
        "pattern",
        "graph",
        "worst"
    );
    let rows = pool.install(|| sweep::run(&cfg, &mut |r: &SweepRow| println!("{}", line(r))))?;
    if let Some(out) = &args.output {
        let mut f = pprl::io::AtomicFile::create(out)?;
        serde_json::to_writer_pretty(&mut f, &rows)?;
        std::io::Write::write_all(&mut f, b"\n")?;
        f.commit()?;
        println!("wrote {} rows to {}", rows.len(), out.display());
    }
    if let Some(dir) = &args.plot {
        let written = pprl::lab::attack::chart::write_sweep_chart(dir, &rows)?;
        for p in written {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// Schema text without its `harden = [...]` line.
fn unhardened(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("harden"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// One table line: each attack's worst share of records re-identified 1-1 over the overlaps.
fn line(r: &SweepRow) -> String {
    let worst = |k: AttackKind| {
        let cells: Vec<f64> = r
            .attacks
            .iter()
            .filter(|c| c.attack == k)
            .map(|c| c.rate_1_1)
            .collect();
        if cells.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.2}%",
                cells.iter().fold(0.0f64, |a, &b| a.max(b)) * 100.0
            )
        }
    };
    format!(
        "{:<12} {:<26} {:>5} {:>8.4} {:>8.4} {:>9.0} {:>10} {:>10} {:>10} {:>7.2}%",
        r.data,
        r.setting,
        r.stored_bits,
        r.two_party_f1,
        r.dedup_f1,
        r.encode_records_per_s,
        worst(AttackKind::Frequency),
        worst(AttackKind::Pattern),
        worst(AttackKind::Graph),
        r.worst_rate_1_1 * 100.0
    )
}
