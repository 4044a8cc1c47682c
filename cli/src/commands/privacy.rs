//! `pprl privacy audit FILE`: renders the library's [`PrivacyAudit`] as text, JSON or a
//! one-page chart; `pprl privacy sweep`: the privacy-utility sweep ([`sweep`]).

mod sweep;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use pprl::privacy::{self, AuditOptions, PrivacyAudit};

use crate::args::Format;

/// `pprl privacy`.
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Measure what an encoding file reveals (frequency, length, co-occurrence, similarity,
    /// neighbourhood), without plaintext.
    Audit(AuditArgs),
    /// Measure each hardening setting: attack success beside two-party and deduplication F1,
    /// on a synthetic population and optional real-like data (FEBRL layout).
    Sweep(sweep::SweepArgs),
}

/// `pprl privacy audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The encoding file (`.clk`, clkhash JSON or anonlink binary).
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Shorthand for `--format json`.
    #[arg(long)]
    pub json: bool,
    /// Dice threshold of the neighbourhood measure.
    #[arg(long, default_value_t = 0.8)]
    pub threshold: f64,
    /// Also draw the audit on one page into this directory, as `audit.svg` and `audit.png`.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<std::path::PathBuf>,
    /// The export (CSV) the encodings were made from: the length measure then also gives the
    /// popcount's correlation with each record's token count. Needs `--schema`; read on the
    /// data owner's side only (no secret is needed).
    #[arg(long, value_name = "CSV", requires = "schema")]
    pub data: Option<std::path::PathBuf>,
    /// The schema the export was encoded with (for `--data`).
    #[arg(long, value_name = "FILE", requires = "data")]
    pub schema: Option<std::path::PathBuf>,
}

pub fn run(cmd: &PrivacyCommand) -> Result<()> {
    let args = match cmd {
        PrivacyCommand::Audit(args) => args,
        PrivacyCommand::Sweep(args) => return sweep::run(args),
    };
    let mut files = pprl::io::RunFiles::new()
        .reads(pprl::io::FileRole::Input, std::slice::from_ref(&args.file));
    for p in args.data.iter().chain(&args.schema) {
        files = files.reads(pprl::io::FileRole::Input, std::slice::from_ref(p));
    }
    // A directory that does not exist yet is made when the charts are written.
    if let Some(dir) = args.plot.as_ref().filter(|d| d.is_dir()) {
        for p in pprl::lab::attack::chart::audit_chart_paths(dir) {
            files = files.write(&p);
        }
    }
    super::check_files(files)?;
    if !(args.threshold > 0.0 && args.threshold <= 1.0) {
        anyhow::bail!("--threshold must be in (0, 1]");
    }
    let (data, _) = pprl::io::formats::read_encoding_file(&args.file)?;
    let opts = AuditOptions {
        threshold: args.threshold,
        ..AuditOptions::default()
    };
    let mut report = privacy::audit(&data, &opts);
    if let (Some(csv), Some(schema)) = (&args.data, &args.schema) {
        let schema = pprl::schema::Schema::from_path(schema)
            .with_context(|| format!("cannot read the schema {}", schema.display()))?;
        let mut input = pprl::io::CsvInput::from_path(csv, b',')
            .with_context(|| format!("cannot read {}", csv.display()))?;
        let tokens = pprl::pipeline::tokens::record_tokens(&schema, &mut input)
            .with_context(|| format!("cannot read {}", csv.display()))?;
        report.length.tokens = privacy::length_token_correlation(&data, &tokens);
        if report.length.tokens.is_none() {
            anyhow::bail!(
                "no record of {} is in {} (the ids differ): the export is not the one encoded",
                csv.display(),
                args.file.display()
            );
        }
    }
    if args.json || matches!(args.format, Format::Json) {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let text = render(&report);
        std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
    }
    if let Some(dir) = &args.plot {
        for p in pprl::lab::attack::chart::write_audit_chart(dir, &report)? {
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// The text report.
fn render(r: &PrivacyAudit) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    _ = writeln!(o, "records            {} x {} bits", r.records, r.bits);
    _ = writeln!(o, "summary            {}", r.summary());
    let f = &r.frequency;
    _ = writeln!(
        o,
        "frequency          {}: {} distinct, {:.2}% of records share a filter, top {:?}, entropy {:.2} bits ({:.3} of max)",
        f.verdict.level,
        f.distinct,
        f.duplicate_share * 100.0,
        f.top_shares
            .iter()
            .map(|s| format!("{:.3}", s))
            .collect::<Vec<_>>(),
        f.entropy_bits,
        f.entropy_ratio
    );
    let l = &r.length;
    _ = writeln!(
        o,
        "length             {}: popcount mean {:.1}, sd {:.1}, min {}, max {}, {} distinct",
        l.verdict.level, l.mean, l.sd, l.min, l.max, l.distinct
    );
    if let Some(t) = &l.tokens {
        _ = writeln!(
            o,
            "  vs token counts  {}: Pearson {:.3} over {} records of the export",
            t.verdict.level, t.pearson, t.records
        );
    }
    let c = &r.cooccurrence;
    let top = c.strongest.first().map_or(String::from("none"), |p| {
        format!("bits {} and {} phi {:.3}", p.a, p.b, p.phi)
    });
    _ = writeln!(
        o,
        "co-occurrence      {}: strongest {top}; {:.4}% of pairs >= 0.9 ({} records x {} bits sampled, {} vary)",
        c.verdict.level,
        c.share_above_0_9 * 100.0,
        c.sampled_records,
        c.sampled_bits,
        c.varying_bits
    );
    let s = &r.similarity;
    _ = writeln!(
        o,
        "similarity         {}: nearest-neighbour Dice mean {:.3}, median {:.3}, p90 {:.3}, identical {:.1}% ({} records sampled)",
        s.verdict.level,
        s.mean,
        s.median,
        s.p90,
        s.identical_share * 100.0,
        s.sampled_records
    );
    let n = &r.neighbourhood;
    _ = writeln!(
        o,
        "neighbourhood      {}: degree at Dice >= {} mean {:.2}, max {}, histogram 0/1/2/3-5/6-10/>10 {:?}",
        n.verdict.level, n.threshold, n.mean_degree, n.max_degree, n.degree_histogram
    );
    o.push('\n');
    for (name, v) in r.verdicts() {
        _ = writeln!(
            o,
            "{name}: {} (measure {:.4}; medium at {}, high at {}): {}",
            v.level, v.measure, v.medium_at, v.high_at, v.explanation
        );
        if v.level != pprl::privacy::Level::Low {
            _ = writeln!(o, "  to reduce: {}", v.remedy);
        }
    }
    o
}
