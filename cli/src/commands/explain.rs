//! `pprl explain --model MODEL.json A.clk [B.clk] --pair ID_A ID_B`: a pair's match weight,
//! field by field, as text, JSON and a waterfall chart; `--plot DIR` alone charts the model.
//!
//! For the trusted third party only: an explanation is similarity information, which helps
//! re-identification, so it is never for data providers.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pprl::io::{FileRole, RunFiles};
use pprl::linkage::fs::{self, FsOptions};
use pprl::linkage::job;

use crate::args::Format;

/// `pprl explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The encodings the pair is in: one file (both records in it) or two.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The model (`pprl match --model fs --save-model FILE`).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The pair: a record id of the first file, then one of the second (or of the first).
    #[arg(long, num_args = 2, value_names = ["ID_A", "ID_B"])]
    pub pair: Option<Vec<String>>,
    /// Write charts into DIR: the model's level weights and m/u, and the pair's waterfall.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Fields with term-frequency adjustment: `all`, `none` or names (as for the match).
    #[arg(
        long,
        value_name = "all|none|FIELD,..",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub tf: Vec<String>,
    /// Accept unhardened field filters (see `pprl match --allow-unhardened`).
    #[arg(long)]
    pub allow_unhardened: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &ExplainArgs) -> Result<()> {
    let mut files = RunFiles::new()
        .reads(FileRole::Input, &args.files)
        .read(FileRole::Input, &args.model);
    // A folder that does not exist yet holds no input.
    if let Some(dir) = args.plot.as_ref().filter(|d| d.is_dir()) {
        for name in ["match_weights", "m_u", "waterfall"] {
            for ext in ["svg", "png"] {
                files = files.write(dir.join(format!("{name}.{ext}")));
            }
        }
    }
    super::check_files(files)?;
    let model = job::read_model(&args.model)?;
    if let Some(dir) = &args.plot {
        for p in pprl::eval::plot::fs::write_model_charts(dir, &model.params)? {
            eprintln!("wrote {}", super::shown(&p));
        }
    }
    let Some(pair) = &args.pair else {
        if args.plot.is_none() {
            anyhow::bail!("nothing to explain: give --pair ID_A ID_B, or --plot DIR for the model");
        }
        return Ok(());
    };
    if args.files.is_empty() || args.files.len() > 2 {
        anyhow::bail!("--pair needs the encodings the records are in: one file or two");
    }
    let data = args
        .files
        .iter()
        .map(|f| pprl::io::formats::read_encoding_file(f).map(|(d, _)| d))
        .collect::<Result<Vec<_>, _>>()?;
    let tf_fields = match args.tf.as_slice() {
        [one] if one == "all" => None,
        [one] if one == "none" => Some(Vec::new()),
        names => Some(names.to_vec()),
    };
    let opts = FsOptions {
        model: Some(model),
        tf_fields,
        allow_unhardened: args.allow_unhardened,
        ..FsOptions::default()
    };
    let e = fs::explain(&data, &opts, &pair[0], &pair[1])?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&e)?),
        Format::Text => {
            println!("prior                       {:>+8.2}", e.prior_weight);
            for f in &e.fields {
                let dice = f
                    .dice
                    .map_or("missing".to_string(), |d| format!("Dice {d:.3}"));
                let tf = f
                    .tf_adjustment
                    .map_or(String::new(), |t| format!(" (term frequency {t:+.2})"));
                println!(
                    "{:<16} {:<10} {:>+8.2}  {dice}{tf}",
                    f.field,
                    f.label,
                    f.weight + f.tf_adjustment.unwrap_or(0.0)
                );
            }
            println!(
                "total                       {:>+8.2}  match probability {:.6}",
                e.weight, e.probability
            );
        }
    }
    if let Some(dir) = &args.plot {
        for p in pprl::eval::plot::fs::write_waterfall(dir, &e)? {
            eprintln!("wrote {}", super::shown(&p));
        }
    }
    Ok(())
}
