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
    Match(Box<MatchArgs>),
    /// Explain a pair's probabilistic match weight field by field, or chart a model (for the
    /// third party only: explanations are similarity information).
    Explain(crate::commands::explain::ExplainArgs),
    /// Compare encodings: a grid of schemas x filter lengths x thresholds over one synthetic
    /// population, one row of quality and speed per setting.
    Experiment(ExperimentArgs),
    /// Measure this machine's throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the whole job on built-in sample data: encode two sample department exports.
    Demo(DemoArgs),
    /// Generate synthetic parties' exports of the same people, with the truth.
    Synth(SynthArgs),
    /// Measure a linkage against ground truth: precision, recall, F1, threshold sweep, charts.
    Eval(EvalArgs),
    /// Run the trusted third party as a service: projects, uploads, runs and results over HTTP.
    Serve(crate::commands::serve::ServeArgs),
    /// Talk to a `pprl serve`: create a project, join, upload (resuming), run, download results.
    Remote(crate::commands::remote::RemoteArgs),
    /// Audit what encodings reveal (see docs/privacy.md).
    #[command(subcommand)]
    Privacy(crate::commands::privacy::PrivacyCommand),
    /// Simulate published attacks on encodings and score what they re-identify.
    #[command(subcommand)]
    Attack(crate::commands::attack::AttackCommand),
}

/// `pprl match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Encoding files: one (deduplicate), two (link one-to-one) or more (multi-party clusters).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Minimum similarity of a candidate pair, between 0 and 1, or `auto` to choose it from
    /// the similarity scores alone (see docs/threshold.md).
    #[arg(short, long, value_name = "T|auto", value_parser = parse_threshold)]
    pub threshold: ThresholdArg,
    /// Where to write the result (CSV; Parquet if the name ends in `.parquet` or `.pq`).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Format of the result file (default: from the output's extension). Parquet needs pprl
    /// built with `--features polars`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Option<TableFormatArg>,
    /// How two files' candidates become links (`none` with one file: every candidate pair,
    /// `a_id,b_id,score`, each unordered pair once, instead of clusters).
    #[arg(long, value_enum, default_value_t = SolverArg::Greedy)]
    pub solver: SolverArg,
    /// How one file's duplicates, or three or more files' records, form clusters.
    #[arg(long, value_enum, default_value_t = ClusterArg::Average)]
    pub cluster: ClusterArg,
    /// With `--threshold auto`: the threshold to use when the scores show no separable group
    /// of matches (without it such a match fails).
    #[arg(long, value_name = "T", value_parser = parse_unit_interval)]
    pub fallback: Option<f64>,
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
    /// Blocking.
    #[command(flatten)]
    pub blocking: BlockingArgs,
    /// Known true pairs (`a_id,b_id`, or clusters as `pprl eval` reads them): with blocking,
    /// the summary gives the blocking's pair completeness.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Probabilistic linkage.
    #[command(flatten)]
    pub fs: FsArgs,
}

/// How `pprl match` scores pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// One record-level similarity per pair (the filters' Dice).
    Dice,
    /// Fellegi-Sunter match weights from per-field similarities, trained by EM without
    /// ground truth (needs the `field` layout; see docs/probabilistic.md).
    Fs,
}

/// Probabilistic-linkage options of `pprl match` (with `--model fs`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Probabilistic linkage (--model fs)")]
pub struct FsArgs {
    /// How pairs are scored. With `fs`, `--threshold` is a match probability (`auto`: the
    /// cut the model expects to give the best F1) and scores are match probabilities.
    #[arg(long, value_enum, default_value_t = ModelArg::Dice)]
    pub model: ModelArg,
    /// Record-level Dice (over all fields' filters) a pair needs to be scored, `auto`: the
    /// Dice 1% of random pairs reach (fewer on large inputs; hardening lifts every Dice), or
    /// `exact`: the pairs that agree exactly on some field (each field's pairs up to
    /// `--pass-cap`), what `--blocking auto` uses on inputs too large to compare exhaustively.
    #[arg(long, value_name = "T|auto|exact", default_value = "auto", value_parser = parse_candidates)]
    pub candidates: CandidatesArg,
    /// Per-field comparison levels: the Dice thresholds below exact, descending.
    #[arg(long, value_name = "T,..", value_delimiter = ',', default_values_t = [0.9, 0.8, 0.7])]
    pub levels: Vec<f64>,
    /// Score with a model saved by an earlier run (`--save-model`) instead of training one.
    #[arg(long, value_name = "FILE")]
    pub load_model: Option<PathBuf>,
    /// Write the model (levels, m, u, prior, training history, pattern counts) as JSON.
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
    /// Random pairs to estimate u from.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub u_pairs: usize,
    /// The prior (share of all pairs that match), instead of estimating it.
    #[arg(long, value_name = "P", value_parser = parse_unit_interval, conflicts_with = "recall")]
    pub prior: Option<f64>,
    /// Estimate the prior from the pairs identical on every field, of which this share of
    /// true matches is guessed (Splink's deterministic rule), instead of from the passes.
    #[arg(long, value_name = "R", value_parser = parse_unit_interval)]
    pub recall: Option<f64>,
    /// Most pairs a training pass (exact on one field) may have; larger ones are skipped.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    pub pass_cap: u64,
    /// Fields with term-frequency adjustment: `all`, `none` or names.
    #[arg(
        long,
        value_name = "all|none|FIELD,..",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub tf: Vec<String>,
    /// Set aside pairs from this match probability up to the threshold for clerical review.
    #[arg(long, value_name = "P", value_parser = parse_unit_interval)]
    pub review: Option<f64>,
    /// Where to write the review band's pairs (`a_id,b_id,probability`).
    #[arg(long, value_name = "FILE", requires = "review")]
    pub review_output: Option<PathBuf>,
    /// Write charts into DIR: the candidates' match weights with the cut, and the model's
    /// level weights and m/u (for the third party only).
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Accept field filters without `[filter] harden`: they leak values field by field to
    /// frequency and pattern attacks (docs/privacy.md); for research on synthetic data, or
    /// where the data owners accept it.
    #[arg(long)]
    pub allow_unhardened: bool,
}

/// Blocking options of `pprl match`.
#[derive(Debug, Args)]
pub struct BlockingArgs {
    /// Compare only records that share a block: `keys` (the keyed blocking keys in the files),
    /// `lsh` (Hamming LSH on the filters), both (`keys,lsh`), `auto` (exhaustive for small
    /// inputs, else keys and LSH), or `none`. Default: `none` for `pprl match`, `keys,lsh`
    /// for `pprl bench scale`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub blocking: Vec<BlockingArg>,
    /// LSH tables L (default: the fewest that reach --pair-completeness).
    #[arg(long, value_name = "L", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub lsh_tables: Option<u32>,
    /// LSH bits per table K (default: derived from the number of records).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub lsh_bits: Option<u32>,
    /// LSH collisions a pair needs (lambda-fold LSH).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub lsh_lambda: u32,
    /// Dice similarity at which LSH must still reach --pair-completeness (default: the
    /// threshold, fixed or chosen automatically).
    #[arg(long, value_name = "S", value_parser = parse_unit_interval)]
    pub lsh_similarity: Option<f64>,
    /// Target share of pairs at --lsh-similarity that LSH puts in a common block.
    #[arg(long, value_name = "P", default_value_t = 0.99, value_parser = parse_unit_interval)]
    pub pair_completeness: f64,
}

/// Blocking methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlockingArg {
    /// Compare every pair (after the length filter).
    None,
    /// Keyed blocking keys stored in the encoding files.
    Keys,
    /// Hamming locality-sensitive hashing on the filters.
    Lsh,
    /// Exhaustive for small inputs, else keys (if present) and LSH.
    Auto,
}

impl BlockingArgs {
    /// The library's request.
    pub fn request(&self) -> pprl::linkage::blocking::BlockingRequest {
        let has = |b| self.blocking.contains(&b);
        pprl::linkage::blocking::BlockingRequest {
            keys: has(BlockingArg::Keys),
            lsh: has(BlockingArg::Lsh),
            auto: has(BlockingArg::Auto),
            lsh_tables: self.lsh_tables,
            lsh_bits: self.lsh_bits,
            lsh_lambda: self.lsh_lambda,
            lsh_similarity: self.lsh_similarity,
            pair_completeness: self.pair_completeness,
            ..Default::default()
        }
    }
}

/// Two-party solvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    /// One-to-one, highest score first.
    Greedy,
    /// One-to-one, maximum total similarity.
    Optimal,
    /// Every candidate above the threshold (one file: every pair, instead of clusters).
    None,
}

/// Clustering methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterArg {
    /// Average linkage: clusters merge when their cross pairs average at least the
    /// threshold; does not chain.
    Average,
    /// Connected components of the candidates (single linkage): cheaper, but chains.
    Components,
}

impl From<ClusterArg> for pprl::linkage::solve::Clustering {
    fn from(c: ClusterArg) -> Self {
        match c {
            ClusterArg::Average => Self::Average,
            ClusterArg::Components => Self::Components,
        }
    }
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

/// `--threshold`: a number, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdArg {
    /// This threshold.
    Value(f64),
    /// Chosen from the scores (`pprl::linkage::threshold`).
    Auto,
}

impl From<ThresholdArg> for pprl::linkage::Threshold {
    fn from(t: ThresholdArg) -> Self {
        match t {
            ThresholdArg::Value(t) => pprl::linkage::Threshold::Fixed(t),
            ThresholdArg::Auto => pprl::linkage::Threshold::Auto(Default::default()),
        }
    }
}

/// How probabilistic linkage picks the pairs it scores (`--candidates`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CandidatesArg {
    /// Record-level Dice at least this.
    Value(f64),
    /// The record-level Dice a share of random pairs reaches.
    Auto,
    /// Exact agreement on some field.
    Exact,
}

fn parse_candidates(s: &str) -> Result<CandidatesArg, String> {
    match s {
        "exact" => Ok(CandidatesArg::Exact),
        "auto" => Ok(CandidatesArg::Auto),
        _ => parse_unit_interval(s)
            .map(CandidatesArg::Value)
            .map_err(|e| format!("{e} (or `auto`, `exact`)")),
    }
}

fn parse_threshold(s: &str) -> Result<ThresholdArg, String> {
    if s == "auto" {
        Ok(ThresholdArg::Auto)
    } else {
        parse_unit_interval(s)
            .map(ThresholdArg::Value)
            .map_err(|e| format!("{e} (or `auto`)"))
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        Ok(v) => Err(format!("expected a positive number, found {v}")),
        Err(_) => Err(format!("`{s}` is not a number")),
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
    /// Candidate generation per available kernel, on N x N random or realistic 1024-bit
    /// filters or on encoding files.
    Match(BenchMatchArgs),
    /// The whole pipeline on N x N synthetic records: generate, encode, block, match and
    /// evaluate, with time and peak memory per stage, reduction ratio and pair completeness.
    Scale(BenchScaleArgs),
}

/// `pprl experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// Records per party.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub records: u64,
    /// Generator seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Corruption of the second party's records.
    #[arg(long, value_enum, default_value_t = CorruptionArg::Moderate)]
    pub corruption: CorruptionArg,
    /// A schema to compare (repeatable; default: the example person schema). Schemas must read
    /// the columns of `pprl synth` output (those of examples/person.toml).
    #[arg(long, value_name = "FILE")]
    pub schema: Vec<PathBuf>,
    /// Filter lengths in bits, comma-separated (default: each schema's own).
    #[arg(long, value_name = "BITS", value_delimiter = ',')]
    pub length: Vec<u32>,
    /// Thresholds, comma-separated.
    #[arg(long, value_name = "T", value_delimiter = ',', value_parser = parse_unit_interval,
          default_value = "0.6,0.65,0.7,0.75,0.8,0.85,0.9,0.95")]
    pub threshold: Vec<f64>,
    /// One-to-one solver at each threshold.
    #[arg(long, value_enum, default_value_t = SolverArg::Greedy)]
    pub solver: SolverArg,
    /// Write the rows here: CSV, or JSON (an array) if the name ends in `.json`.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// `pprl bench scale`.
#[derive(Debug, Args)]
pub struct BenchScaleArgs {
    /// Records per party.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub size: u64,
    /// Generator seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Corruption of the second party's records.
    #[arg(long, value_enum, default_value_t = CorruptionArg::Moderate)]
    pub corruption: CorruptionArg,
    /// Match threshold (Dice).
    #[arg(long, value_name = "T", default_value_t = 0.8, value_parser = parse_unit_interval)]
    pub threshold: f64,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Keep the generated and encoded files here (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Blocking (as for `pprl match`; default `keys,lsh`).
    #[command(flatten)]
    pub blocking: BlockingArgs,
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
    /// Synthetic filters: `random` (half the bits set, unrelated pairs far apart) or
    /// `realistic` (about two thirds of the bits set and shared common tokens, like clkhash CLKs of
    /// person data).
    #[arg(long, value_enum, default_value_t = BenchFilters::Random)]
    pub filters: BenchFilters,
    /// Time on the encodings of this file (`.clk`, clkhash JSON or anonlink binary) instead of
    /// synthetic filters; give it twice for two parties (once: the file against itself).
    #[arg(long, value_name = "FILE", num_args = 1, action = clap::ArgAction::Append)]
    pub data: Vec<PathBuf>,
}

/// `pprl bench match --filters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFilters {
    /// Random filters, about half the bits set.
    Random,
    /// Filters with the fill and similarity structure of real CLKs.
    Realistic,
}

/// `pprl keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret; an existing file is never overwritten, and `-` (standard
    /// output) is refused: a secret goes to a file of mode 0600 only.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// `pprl schema ...`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Validate a schema (TOML or JSON) and print its fingerprint, expected fill and any
    /// warnings; with `--data`, profile an export under it and advise on weak choices.
    Check(SchemaCheckArgs),
    /// Write the nearest pprl schema to a clkhash linkage schema (its encodings do not
    /// compare with clkhash CLKs: every department must switch at once).
    Convert(SchemaConvertArgs),
    /// Write a new schema with the recommended privacy profile (record-level CLK of five
    /// fields, balanced), to adapt to your exports.
    Init(crate::commands::schema::SchemaInitArgs),
}

/// `pprl schema convert`.
#[derive(Debug, Args)]
pub struct SchemaConvertArgs {
    /// The clkhash linkage schema (JSON, version 1, 2 or 3).
    #[arg(value_name = "FILE")]
    pub schema: PathBuf,
    /// Where to write the pprl schema (TOML).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

/// Output formats of `pprl encode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormatArg {
    /// pprl's encoding file, with record ids, fingerprints, checksum and manifest.
    Clk,
    /// clkhash's JSON (`{"clks": [base64, ...]}`), one CLK per input row in input order.
    ClkhashJson,
    /// The anonlink entity service's binary upload layout (4-byte id, then the CLK).
    AnonlinkBinary,
}

impl From<OutputFormatArg> for pprl::pipeline::OutputFormat {
    fn from(f: OutputFormatArg) -> Self {
        match f {
            OutputFormatArg::Clk => Self::Clk,
            OutputFormatArg::ClkhashJson => Self::ClkhashJson,
            OutputFormatArg::AnonlinkBinary => Self::AnonlinkBinary,
        }
    }
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
    /// Profile this export (CSV) under the schema: missing and invalid rates, tokens per
    /// value, distinct values, measured fill, advice. Encodes a sample in memory under a
    /// throwaway random key; nothing is written.
    #[arg(long, value_name = "CSV")]
    pub data: Option<PathBuf>,
    /// Rows of `--data` to profile (the first ones).
    #[arg(long, value_name = "N", default_value_t = pprl::pipeline::profile::DEFAULT_SAMPLE_ROWS)]
    pub sample_rows: usize,
    /// Field delimiter of `--data`: one ASCII character, or `\t`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub delimiter: String,
    /// Accept a schema whose filters are expected (or measured) to be over 90% full, where
    /// nearly every pair scores close to 1.
    #[arg(long)]
    pub allow_dense: bool,
}

/// Where the secret comes from: a file only, never a value on the command line.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// File holding the project secret (32 to 4096 random bytes, e.g. from `pprl keygen`; a
    /// regular file, readable by its owner only). The secret is never accepted as a value,
    /// only as a file; the environment variable's value is never shown.
    #[arg(
        long,
        value_name = "PATH",
        env = "PPRL_SECRET_FILE",
        hide_env_values = true
    )]
    pub secret_file: PathBuf,
}

/// `pprl encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The linkage schema: pprl's (`.toml` or `.json`), or a clkhash linkage schema (`.json`,
    /// detected by its keys), whose CLKs pprl reproduces bit for bit.
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,
    /// Output format (default: `clk` for pprl schemas, `clkhash-json` for clkhash schemas).
    #[arg(long, value_enum)]
    pub format: Option<OutputFormatArg>,
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
    /// Summary format on standard output (`json`: the job's report as one JSON object, printed
    /// even with `--quiet`).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    pub summary_format: Format,
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
    /// Files already there are never deleted or overwritten, unless `--force`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Let the demo overwrite its own files (project.key, the CSVs, schema and results) in
    /// `--dir`.
    #[arg(long, requires = "dir")]
    pub force: bool,
    /// Records in each department's synthetic export.
    #[arg(long, value_name = "N", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub records: u64,
    /// Seed of the synthetic data (the secret is always fresh).
    #[arg(long, value_name = "S", default_value_t = 2026)]
    pub seed: u64,
}

/// `pprl synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Records in each party's file, duplicates included.
    #[arg(long, value_name = "N", value_parser = parse_records)]
    pub records: u64,
    /// Number of parties (files); 1 makes one file with duplicates to find.
    #[arg(long, value_name = "P", default_value_t = 2,
          value_parser = clap::value_parser!(u8).range(1..=26))]
    pub parties: u8,
    /// Fraction of each party's distinct people who also appear in another party
    /// (default 0.5; needs two parties or more).
    #[arg(long, value_name = "F", value_parser = parse_unit_interval)]
    pub overlap: Option<f64>,
    /// Fraction of each party's records that are extra corrupted copies of another of its
    /// records, at least 0 and below 1.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_duplicates)]
    pub duplicates: f64,
    /// Corruption preset.
    #[arg(long, value_enum, default_value_t = CorruptionArg::Moderate)]
    pub corruption: CorruptionArg,
    /// Override one corruption rate, e.g. `--rate given_name.typo=0.05` (repeatable; the
    /// names are listed in docs/synth.md and in the error for an unknown one).
    #[arg(long, value_name = "NAME=P", value_parser = parse_rate)]
    pub rate: Vec<(String, f64)>,
    /// The seed: the same seed and options give the same files, byte for byte.
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Directory for party_a.csv, party_b.csv, ... and truth.csv (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Worker threads (default: one per core); the output does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// No summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Corruption presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CorruptionArg {
    /// Exact copies.
    None,
    /// 0.4 times the moderate rates.
    Low,
    /// A few percent per field, as in administrative data.
    Moderate,
    /// 2.5 times the moderate rates.
    High,
}

impl From<CorruptionArg> for pprl::lab::synth::CorruptionLevel {
    fn from(c: CorruptionArg) -> Self {
        match c {
            CorruptionArg::None => Self::None,
            CorruptionArg::Low => Self::Low,
            CorruptionArg::Moderate => Self::Moderate,
            CorruptionArg::High => Self::High,
        }
    }
}

fn parse_records(s: &str) -> Result<u64, String> {
    use pprl::lab::synth::MAX_RECORDS;
    let v: u64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (1..=MAX_RECORDS).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "expected between 1 and {MAX_RECORDS} records per party, found {v}"
        ))
    }
}

fn parse_duplicates(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "expected a fraction at least 0 and below 1 (some records must be originals), found {v}"
        ))
    }
}

fn parse_rate(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=P, e.g. given_name.typo=0.05, found `{s}`"))?;
    Ok((name.trim().to_string(), parse_unit_interval(value.trim())?))
}

/// `pprl eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The ground truth: `a_id,b_id` pairs, or clusters as `entity_id,party,record_id` (or
    /// `entity_id,record_id` for one file).
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    /// The links to evaluate: a `pprl match` output (`a_id,b_id[,score]`, `cluster,id` or
    /// `cluster,party,id`).
    #[arg(long, value_name = "FILE")]
    pub matches: PathBuf,
    /// Scored candidates `a_id,b_id,score` (e.g. `pprl match --solver none` at a low
    /// threshold): adds a threshold sweep and the best-F1 threshold.
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Resolve the scored candidates one-to-one (greedy, as `pprl match`) before sweeping.
    #[arg(long, requires = "scores")]
    pub one_to_one: bool,
    /// Also report F-beta: recall weighted B times as much as precision (2 favours recall).
    #[arg(long, value_name = "B", value_parser = parse_positive)]
    pub beta: Option<f64>,
    /// Records in each encoding file, comma-separated, in `pprl match` order (the `records` of
    /// its `--format json` summary): adds reduction ratio and pair completeness.
    #[arg(
        long,
        value_name = "N,N,...",
        value_delimiter = ',',
        num_args = 1,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub records: Option<Vec<u64>>,
    /// The threshold the matches were made with: marked on the charts and shown in the sweep.
    #[arg(long, value_name = "T", value_parser = parse_unit_interval)]
    pub threshold: Option<f64>,
    /// Write charts into this directory as SVG and PNG (needs --scores).
    #[arg(long, value_name = "DIR", requires = "scores")]
    pub plot: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
