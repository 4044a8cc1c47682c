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
    /// Encode a CSV export into a keyed Bloom-filter encoding file.
    Encode(EncodeArgs),
    /// Show the header, counts and popcount statistics of an encoding file.
    Inspect(InspectArgs),
    /// Run the whole job on built-in sample data: encode two sample department exports.
    Demo(DemoArgs),
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
    /// The CSV export to encode, with a header row; `-` reads standard input.
    #[arg(value_name = "INPUT")]
    pub input: String,
    /// The encoding file to write (a manifest is written beside it as OUT.manifest.json).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Rejects report (CSV). Default: OUT.rejects.csv, written only if a row is rejected.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Field delimiter of the CSV input (one ASCII character; `\t` for tab).
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

/// Output format of reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object, for programs.
    Json,
}
