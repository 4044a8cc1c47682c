//! `pprl encode --schema S --secret-file K INPUT -o OUT [--format F] [--summary-format json]`.

use anyhow::{Context as _, Result, anyhow, bail};
use pprl::compat::{self, AnySchema};
use pprl::io::InputErrorKind;
use pprl::pipeline::EncodeOptions;
use pprl::pipeline::{self, EncodeError, EncodeErrorKind, JobEncoder, JobSummary, OutputFormat};

use pprl::io::{FileRole, RunFiles};

use super::{check_files, load_clkhash_secret, load_secret, print_encode_summary, thousands};
use crate::args::{EncodeArgs, Format};
use crate::progress::rows_bar;

pub fn run(args: &EncodeArgs) -> Result<()> {
    if args.output.as_os_str() == "-" {
        bail!(
            "`-o -`: an encode writes more than one stream (the encodings, a manifest or a \
             rejects report), so it writes files only; name the output file"
        );
    }
    let rejects = args
        .rejects
        .clone()
        .unwrap_or_else(|| pipeline::default_rejects_path(&args.output));
    // Before anything is read or written: no output is a file the run reads, and the secret
    // is read as nothing else (its bytes would reach a parser's error messages).
    check_files(
        RunFiles::new()
            .read(FileRole::Secret, &args.secret.secret_file)
            .read(FileRole::Schema, &args.schema)
            .read(FileRole::Input, &args.input)
            .write(&args.output)
            .write(pprl::io::Manifest::path_for(&args.output))
            .write(&rejects),
    )?;
    let shown_schema = super::shown(&args.schema);
    let schema = AnySchema::from_path(&args.schema).map_err(|e| {
        // A file that cannot be read is named by the error itself; a parse error is not.
        let unreadable = matches!(
            &e,
            compat::AnySchemaError::Pprl(pprl::schema::SchemaError::Io { .. })
        );
        match unreadable {
            true => anyhow!(e),
            false => anyhow!(e).context(format!("schema {shown_schema}")),
        }
    })?;
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
    let mut progress = |rows, bytes| {
        bar.set_position(bytes);
        bar.set_message(format!("{} rows", thousands(rows)));
    };
    let format = args.format.map(OutputFormat::from);
    let warn = |code: &str, message: &str| {
        if !args.quiet {
            super::warn(code, &pprl::error::escape_controls(message));
        }
    };
    let result = match &schema {
        AnySchema::Pprl(schema) => {
            let secret = load_secret(&args.secret)?;
            schema
                .warnings()
                .iter()
                .for_each(|w| warn(w.code, &w.message));
            let encoder = pprl::encode::Encoder::new(schema, &secret)?;
            let job = JobEncoder::Pprl(schema, &encoder);
            pipeline::encode_any(
                job,
                format.unwrap_or(OutputFormat::Clk),
                &opts,
                &mut progress,
            )
        }
        AnySchema::Clkhash(schema) => {
            let secret = load_clkhash_secret(&args.secret)?;
            schema
                .warnings
                .iter()
                .for_each(|w| warn("W100", &format!("(clkhash schema) {w}")));
            let encoder = compat::clkhash::Encoder::new(schema, &secret)
                .with_context(|| format!("invalid schema {shown_schema}"))?;
            let job = JobEncoder::Clkhash(&encoder);
            let format = format.unwrap_or(OutputFormat::ClkhashJson);
            pipeline::encode_any(job, format, &opts, &mut progress)
        }
    };
    bar.finish_and_clear();
    let summary = result.map_err(with_hint)?;
    // The leakage audit of what was written, into the manifest; a one-line summary below.
    let audit = match &summary {
        JobSummary::Clk(s) => {
            match pprl::privacy::audit_into_manifest(&s.output, &Default::default()) {
                Ok(a) => Some(a),
                Err(e) => {
                    warn("W200", &format!("the privacy audit was not recorded: {e}"));
                    None
                }
            }
        }
        _ => None,
    };
    if args.summary_format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    match summary {
        JobSummary::Clk(s) if !args.quiet => {
            print_encode_summary(&s, "");
            if let Some(a) = &audit {
                println!(
                    "privacy audit: {} (in the manifest; `pprl privacy audit {}` explains)",
                    a.summary(),
                    super::shown(&s.output)
                );
            }
        }
        JobSummary::Positional(s) if !args.quiet => {
            let secs = s.elapsed.as_secs_f64();
            println!(
                "encoded all {} rows into {} ({} bits each), in {secs:.2} s ({} rows/s, {} thread{})",
                thousands(s.rows),
                super::shown(&s.output),
                s.bits,
                thousands((s.rows as f64 / secs.max(1e-9)) as u64),
                s.threads,
                if s.threads == 1 { "" } else { "s" },
            );
            if format == Some(OutputFormat::AnonlinkBinary) {
                println!(
                    "upload with Content-Type: application/octet-stream, Hash-Count: {}, \
                     Hash-Size: {}",
                    s.rows, s.bytes_per_encoding
                );
            }
        }
        _ => {}
    }
    Ok(())
}

/// The library's error with the command line's way out, where there is one.
fn with_hint(err: EncodeError) -> anyhow::Error {
    let hint = match &err {
        EncodeError::Input(e) if e.kind() == InputErrorKind::ParquetUnavailable => {
            ": rebuild it with `--features polars` (e.g. `cargo install --path cli --features \
             polars`), or pass `--input-format csv` if the file is really CSV"
        }
        _ if err.kind() == EncodeErrorKind::FilterBits => " (`--format clkhash-json`)",
        EncodeError::RowsRejected { rejects: None, .. } => {
            " (name a rejects report with `--rejects FILE` to list every rejected row)"
        }
        _ => return err.into(),
    };
    anyhow!("{err}{hint}")
}

fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "\\t" | "tab" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => bail!("--delimiter must be one ASCII character (or `\\t`), found `{s}`"),
    }
}
