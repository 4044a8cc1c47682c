//! `pprl attack simulate`: run a published attack on encodings and score it.
//!
//! Either on a synthetic population (`--records`, `--overlap`, `--seed`: the first party is
//! encoded under a key derived from the seed, the second is the attacker's plaintext list),
//! or on a department's own files (`--encodings FILE.clk --source FILE.csv --plaintext
//! FILE.csv`: the encodings, the export they were made from, for the truth, and the list an
//! attacker might hold). Prints a summary, or the JSON report with `--json`; `-o` writes the
//! report atomically.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use pprl::io::{AtomicFile, ClkReader, FileRole, RunFiles};
use pprl::lab::attack::{
    self, AttackData, AttackKind, AttackReport, AttackSettings, Encoded, Filters, Simulation, Table,
};
use pprl::schema::Schema;

use crate::args::CorruptionArg;

/// `pprl attack ...`.
#[derive(Debug, Subcommand)]
pub enum AttackCommand {
    /// Simulate an attack (frequency alignment, pattern mining or graph matching) and score
    /// how many records and values it re-identifies.
    Simulate(SimulateArgs),
}

/// Which attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Frequency alignment with possible / impossible q-grams per bit (Christen et al. 2017).
    Frequency,
    /// Pattern mining of bit positions (Christen et al. 2018).
    Pattern,
    /// Similarity-graph matching (Vidanage et al. 2020).
    Graph,
}

/// `pprl attack simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The attack.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// The schema of the encodings (default: one field-level filter of bigrams, 20 bits per
    /// bigram, for one `--field`; a CLK of them for several).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// A field whose values the attack tries to recover (repeatable).
    #[arg(long, value_name = "NAME", default_values_t = vec!["given_name".to_string()])]
    pub field: Vec<String>,
    /// Records in the encoded party and in the attacker's list (synthetic population).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub records: u64,
    /// Share of people in both (synthetic population).
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = unit_interval)]
    pub overlap: f64,
    /// Corruption of the two copies (synthetic population).
    #[arg(long, value_enum, default_value_t = CorruptionArg::Low)]
    pub corruption: CorruptionArg,
    /// Seed of the population and of the simulation's keys.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// A department's own encodings to attack (needs `--source`, `--plaintext`, `--schema`).
    #[arg(long, value_name = "FILE.clk", requires_all = ["source", "plaintext", "schema"])]
    pub encodings: Option<PathBuf>,
    /// The CSV export the encodings were made from (the truth, matched by record id).
    #[arg(long, value_name = "FILE.csv", requires = "encodings")]
    pub source: Option<PathBuf>,
    /// The attacker's plaintext list (CSV with the schema's columns).
    #[arg(long, value_name = "FILE.csv", requires = "encodings")]
    pub plaintext: Option<PathBuf>,
    /// The project secret, to score the claimed q-gram positions (own files only; the attack
    /// itself never uses it).
    #[arg(long, value_name = "PATH", requires = "encodings")]
    pub secret_file: Option<PathBuf>,
    /// Least count of a filter to be aligned (frequency attack).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_freq: u32,
    /// Most tokens assigned positions (pattern mining, at most 128).
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(1..=128))]
    pub max_tokens: u16,
    /// Least plaintext similarity of an edge (graph matching).
    #[arg(long, value_name = "T", default_value_t = 0.6, value_parser = unit_interval)]
    pub graph_threshold: f64,
    /// The most candidates a correct guess may have (1-m).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_many: usize,
    /// Worker threads (default: one per core; the report is the same for any number).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write the JSON report to this file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn unit_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err("expected a number between 0 and 1".into()),
    }
}

/// Runs `pprl attack ...`.
pub fn run(cmd: &AttackCommand) -> Result<()> {
    match cmd {
        AttackCommand::Simulate(a) => simulate(a),
    }
}

/// The default schema: bigrams of each field, 20 bits each.
fn default_schema(fields: &[String]) -> Result<Schema> {
    let layout = if fields.len() == 1 { "field" } else { "clk" };
    let mut toml = format!(
        "version = 1\nid_column = \"record_id\"\n[filter]\nlayout = \"{layout}\"\nlength_bits = 1024\n"
    );
    for f in fields {
        toml.push_str(&format!(
            "[[fields]]\nname = {}\nnormalize = [\"nfkc\", \"casefold\", \"strip-diacritics\", \
             \"strip-punctuation\", \"collapse-whitespace\"]\ntokenizer = {{ kind = \"qgram\", q = 2, \
             padding = true }}\nbits_per_token = 20\n",
            toml_string(f)
        ));
    }
    Ok(Schema::from_toml_str(&toml)?)
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn simulate(a: &SimulateArgs) -> Result<()> {
    let mut files = RunFiles::new();
    for p in [&a.schema, &a.encodings, &a.source, &a.plaintext]
        .into_iter()
        .flatten()
    {
        files = files.read(FileRole::Input, p);
    }
    if let Some(p) = &a.secret_file {
        files = files.read(FileRole::Secret, p);
    }
    if let Some(o) = &a.output {
        files = files.write(o);
    }
    super::check_files(files)?;
    let schema = match &a.schema {
        Some(p) => Schema::from_path(p)?,
        None => default_schema(&a.field)?,
    };
    let kind = match a.kind {
        KindArg::Frequency => AttackKind::Frequency,
        KindArg::Pattern => AttackKind::Pattern,
        KindArg::Graph => AttackKind::Graph,
    };
    let mut settings = AttackSettings {
        max_many: a.max_many.max(1),
        ..AttackSettings::default()
    };
    settings.frequency.min_freq = a.min_freq.max(1);
    settings.pattern.max_tokens = usize::from(a.max_tokens);
    settings.graph.threshold = a.graph_threshold.max(1e-6);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.map_or(0, usize::from))
        .build()
        .context("cannot start the worker threads")?;
    let report = pool.install(|| -> Result<AttackReport> {
        match &a.encodings {
            None => Ok(attack::simulate(
                kind,
                &schema,
                &Simulation {
                    records: a.records,
                    overlap: a.overlap,
                    corruption: a.corruption.into(),
                    seed: a.seed,
                    fields: a.field.clone(),
                },
                &settings,
            )?),
            Some(clk) => {
                let data = own_files(a, &schema, clk)?;
                Ok(attack::run(kind, &data, &settings)?)
            }
        }
    })?;
    let json = serde_json::to_string_pretty(&report)? + "\n";
    if let Some(o) = &a.output {
        let mut f = AtomicFile::create(o)?;
        f.write_all(json.as_bytes())?;
        f.commit()
            .with_context(|| format!("cannot write {}", super::shown(o)))?;
    }
    if a.json {
        print!("{json}");
    } else {
        print_summary(&report);
    }
    Ok(())
}

/// A department's own `.clk`, its source export and the attacker's list.
fn own_files(a: &SimulateArgs, schema: &Schema, clk: &std::path::Path) -> Result<AttackData> {
    let (Some(source), Some(plain)) = (&a.source, &a.plaintext) else {
        bail!("--encodings needs --source and --plaintext");
    };
    let data = ClkReader::open(clk)?.read_all()?;
    if data.header.schema_fingerprint != schema.fingerprint() {
        bail!(
            "{} was not encoded with this schema (its schema fingerprint differs)",
            super::shown(clk)
        );
    }
    let (_, index) = attack::data::attacked_filter(schema, &a.field)?;
    let filters = Filters::select(
        &data.words,
        data.header.filter_bits,
        usize::from(data.header.filters_per_record),
        index,
    );
    let read = |p: &PathBuf| -> Result<Table> {
        let f =
            std::fs::File::open(p).with_context(|| format!("cannot open {}", super::shown(p)))?;
        Ok(Table::from_csv(
            std::io::BufReader::new(f),
            &super::shown(p),
        )?)
    };
    let source_table = read(source)?;
    let plain_table = read(plain)?;
    let id_col = source_table
        .header
        .iter()
        .position(|h| *h == schema.id_column)
        .with_context(|| {
            format!(
                "{} has no id column `{}`",
                super::shown(source),
                schema.id_column
            )
        })?;
    let columns: Vec<usize> = a
        .field
        .iter()
        .map(|f| {
            let col = schema
                .fields
                .iter()
                .find(|s| &s.name == f)
                .map(|s| s.column().to_string())
                .unwrap_or_default();
            source_table
                .header
                .iter()
                .position(|h| *h == col)
                .with_context(|| format!("{} has no column `{col}`", super::shown(source)))
        })
        .collect::<Result<_>>()?;
    let by_id: std::collections::HashMap<&str, usize> = source_table
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.get(id_col).map(|id| (id.as_str(), i)))
        .collect();
    let truth = data
        .ids
        .iter()
        .map(|id| {
            by_id.get(id.as_str()).map(|&r| {
                columns
                    .iter()
                    .map(|&c| source_table.rows[r].get(c).cloned().unwrap_or_default())
                    .collect()
            })
        })
        .collect();
    let secret = match &a.secret_file {
        Some(p) => Some(pprl::keys::Secret::from_file(p)?),
        None => None,
    };
    Ok(attack::prepare(
        schema,
        Encoded { filters, truth },
        &plain_table,
        &a.field,
        secret.as_ref(),
        a.seed,
    )?)
}

fn print_summary(r: &AttackReport) {
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    println!(
        "{} attack on {} encodings ({} layout, fields {}) with a plaintext list of {} records ({} distinct values)",
        r.attack.name(),
        r.encodings,
        r.layout,
        r.fields.join(", "),
        r.plaintext_records,
        r.plaintext_values
    );
    if let Some(p) = &r.population {
        println!(
            "synthetic population: {} records each, overlap {}, corruption {}, seed {}",
            p.records, p.overlap, p.corruption, p.seed
        );
    }
    for (name, s) in [
        ("records", &r.scores.per_record),
        ("values", &r.scores.per_value),
        ("top values", &r.scores.top_values),
    ] {
        println!(
            "{name:>10}: {} scored, correct 1-1 {} ({}), correct 1-m {}, wrong {}, no guess {}",
            s.total,
            s.correct_1_1,
            pct(s.rate_1_1),
            s.correct_1_m,
            s.wrong,
            s.no_guess
        );
    }
    if let Some(p) = &r.positions {
        println!(
            " positions: {} tokens, {} claimed, precision {:.3}, recall {:.3}",
            p.tokens, p.claimed, p.precision, p.recall
        );
        if let Some(t) = &p.top_token {
            println!(
                "            most frequent token {}: {} claimed, precision {:.3}",
                t.token, t.claimed, t.precision
            );
        }
    }
}
