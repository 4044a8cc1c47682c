//! `pprl encode --schema S --secret-file K INPUT -o OUT`.

use anyhow::{Context as _, Result, bail};
use pprl::encode::Encoder;
use pprl::pipeline::{self, EncodeOptions};
use pprl::schema::Schema;

use super::{load_secret, print_encode_summary, thousands};
use crate::cli::args::EncodeArgs;
use crate::cli::progress::rows_bar;

pub fn run(args: &EncodeArgs) -> Result<()> {
    let schema = Schema::from_path(&args.schema)
        .with_context(|| format!("invalid schema {}", args.schema.display()))?;
    let secret = load_secret(&args.secret)?;
    if !args.quiet {
        for w in schema.warnings() {
            eprintln!("warning {w}");
        }
    }
    let encoder = Encoder::new(&schema, &secret)?;
    let opts = EncodeOptions {
        input: args.input.clone(),
        format: args.input_format.map(Into::into),
        output: args.output.clone(),
        rejects: args.rejects.clone(),
        threads: args.threads.map(usize::from),
        chunk_rows: args.chunk_rows,
        delimiter: parse_delimiter(&args.delimiter)?,
    };
    let total = (args.input != "-")
        .then(|| std::fs::metadata(&args.input).ok().map(|m| m.len()))
        .flatten();
    let bar = rows_bar(total, args.quiet);
    let result = pipeline::encode_csv(&schema, &encoder, &opts, &mut |rows, bytes| {
        bar.set_position(bytes);
        bar.set_message(format!("{} rows", thousands(rows)));
    });
    bar.finish_and_clear();
    let summary = result?;
    if !args.quiet {
        print_encode_summary(&summary, "");
    }
    Ok(())
}

fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "\\t" | "tab" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => bail!("--delimiter must be one ASCII character (or `\\t`), found `{s}`"),
    }
}
