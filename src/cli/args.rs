//! Command-line arguments, exactly as given (clap derive); no I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Privacy-preserving record linkage: encode identifiers into keyed Bloom filters (CLKs).
#[derive(Debug, Parser)]
#[command(name = "pprl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new random 32-byte project secret to a file (mode 0600).
    Keygen(KeygenArgs),
    /// Validate linkage schemas and print their fingerprints.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Encode a CSV (or Parquet) export into a keyed Bloom-filter encoding file.
    Encode(EncodeArgs),
    /// Show the header, counts and popcount statistics of an encoding file.
    Inspect(InspectArgs),
    /// Match encoding files at the trusted third party (one file: find duplicates).
    Match(MatchArgs),
    /// Measure this machine's throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the whole job on built-in sample data: encode two sample department exports.
    Demo(DemoArgs),
}

/// `pprl match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Encoding files: one (deduplicate), two (link one-to-one) or more (multi-party clusters).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Minimum similarity of a candidate pair, between 0 and 1.
    #[arg(short, long, value_name = "T", value_parser = parse_unit_interval)]
    pub threshold: f64,
    /// Where to write the result (CSV; Parquet if the name ends in `.parquet` or `.pq`).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Format of the result file (default: from the output's extension). Parquet needs pprl
    /// built with `--features polars`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Option<TableFormatArg>,
    /// How two files' candidates become links.
    #[arg(long, value_enum, default_value_t = SolverArg::Greedy)]
    pub solver: SolverArg,
    /// Similarity measure.
    #[arg(long, value_enum, default_value_t = SimilarityArg::Dice)]
    pub similarity: SimilarityArg,
    /// Keep only each record's best K candidates.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub top_k: Option<u32>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Leave similarity scores out of the output. Scores help re-identification attacks:
    /// never release them to data providers.
    #[arg(long)]
    pub no_scores: bool,
    /// Match files whose schema fingerprints differ (key, layout and length must still agree).
    #[arg(long)]
    pub allow_mismatch: bool,
    /// Summary format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Popcount kernel (default: the fastest this CPU supports): portable, popcnt, avx2, avx512.
    #[arg(long, value_name = "NAME")]
    pub kernel: Option<String>,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Two-party solvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    /// One-to-one, highest score first.
    Greedy,
    /// One-to-one, maximum total similarity.
    Optimal,
    /// Every candidate above the threshold.
    None,
}

/// Similarity measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimilarityArg {
    /// Dice coefficient.
    Dice,
    /// Jaccard coefficient.
    Jaccard,
    /// Share of agreeing bit positions.
    Hamming,
}

impl From<SolverArg> for pprl::linkage::solve::Solver {
    fn from(s: SolverArg) -> Self {
        match s {
            SolverArg::Greedy => Self::Greedy,
            SolverArg::Optimal => Self::Optimal,
            SolverArg::None => Self::None,
        }
    }
}

impl From<SimilarityArg> for pprl::linkage::candidates::Similarity {
    fn from(s: SimilarityArg) -> Self {
        match s {
            SimilarityArg::Dice => Self::Dice,
            SimilarityArg::Jaccard => Self::Jaccard,
            SimilarityArg::Hamming => Self::Hamming,
        }
    }
}

fn parse_unit_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("expected a value between 0 and 1, found {v}"))
    }
}

/// `pprl bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Candidate generation on N x N random 1024-bit filters, per available kernel.
    Match(BenchMatchArgs),
}

/// `pprl bench match`.
#[derive(Debug, Args)]
pub struct BenchMatchArgs {
    /// Filters per side.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub size: usize,
    /// Similarity threshold.
    #[arg(long, value_name = "T", default_value_t = 0.8, value_parser = parse_unit_interval)]
    pub threshold: f64,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Time only this kernel (default: every kernel this CPU supports).
    #[arg(long, value_name = "NAME")]
    pub kernel: Option<String>,
}

/// `pprl keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret; an existing file is never overwritten.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// `pprl schema ...`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Validate a schema (TOML or JSON) and print its fingerprint and any warnings.
    Check(SchemaCheckArgs),
}

/// `pprl schema check`.
#[derive(Debug, Args)]
pub struct SchemaCheckArgs {
    /// The schema file (`.toml`, or `.json`).
    #[arg(value_name = "FILE")]
    pub schema: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Where the secret comes from: a file only, never a value on the command line.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// File holding the project secret (32+ random bytes, e.g. from `pprl keygen`).
    /// The secret is never accepted as a value, only as a file.
    #[arg(long, value_name = "PATH", env = "PPRL_SECRET_FILE")]
    pub secret_file: PathBuf,
}

/// `pprl encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The linkage schema (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,
    #[command(flatten)]
    pub secret: SecretArgs,
    /// The export to encode: CSV with a header row (`-` reads standard input), or Parquet.
    #[arg(value_name = "INPUT")]
    pub input: String,
    /// Format of the input (default: Parquet for `.parquet` and `.pq` files, else CSV).
    /// Parquet needs pprl built with `--features polars`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<TableFormatArg>,
    /// The encoding file to write (a manifest is written beside it as OUT.manifest.json).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Rejects report (CSV). Default: OUT.rejects.csv, written only if a row is rejected.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Field delimiter of a CSV input (one ASCII character; `\t` for tab).
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub delimiter: String,
    /// Rows per parallel chunk (does not change the output).
    #[arg(long, value_name = "N", default_value_t = pprl::pipeline::DEFAULT_CHUNK_ROWS, hide = true)]
    pub chunk_rows: usize,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `pprl inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The encoding file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `pprl demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's files in this directory (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Format of a tabular input or output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl From<TableFormatArg> for pprl::io::TableFormat {
    fn from(f: TableFormatArg) -> Self {
        match f {
            TableFormatArg::Csv => Self::Csv,
            TableFormatArg::Parquet => Self::Parquet,
        }
    }
}

/// Output format of reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object, for programs.
    Json,
}
