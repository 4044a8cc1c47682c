//! The `pprl` command-line tool: parse arguments, call the `pprl` library, print its reports,
//! map errors to exit codes.
//!
//! Exit codes: 0 success, 1 error (the message names the file, row or key at fault),
//! 2 usage error (from clap).

mod args;
mod commands;
mod progress;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use self::args::{Cli, Command, SchemaCommand};

/// Parses the arguments; `--version` also lists the CPU features detected at run time.
fn parse() -> Cli {
    let features: Vec<String> = pprl::accelerations()
        .into_iter()
        .map(|(name, on)| format!("{name}: {}", if on { "yes" } else { "no" }))
        .collect();
    let long_version = format!(
        "{} (encoding format {})\n{}",
        pprl::TOOL_VERSION,
        pprl::FORMAT_VERSION,
        features.join("\n")
    );
    let matches = Cli::command().long_version(long_version).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Runs the CLI.
fn main() -> ExitCode {
    let cli = parse();
    let result = match cli.command {
        Command::Keygen(a) => commands::keygen::run(&a),
        Command::Schema(SchemaCommand::Check(a)) => commands::schema::check(&a),
        Command::Schema(SchemaCommand::Convert(a)) => commands::schema::convert(&a),
        Command::Schema(SchemaCommand::Init(a)) => commands::schema::init(&a),
        Command::Encode(a) => commands::encode::run(&a),
        Command::Inspect(a) => commands::inspect::run(&a),
        Command::Match(a) => commands::match_cmd::run(&a),
        Command::Explain(a) => commands::explain::run(&a),
        Command::Experiment(a) => commands::experiment::run(&a),
        Command::Bench(args::BenchCommand::Match(a)) => commands::bench::matching(&a),
        Command::Bench(args::BenchCommand::Scale(a)) => commands::bench::scale(&a),
        Command::Demo(a) => commands::demo::run(&a),
        Command::Synth(a) => commands::synth::run(&a),
        Command::Eval(a) => commands::eval::run(&a),
        Command::Serve(a) => commands::serve::run(&a),
        Command::Remote(a) => commands::remote::run(&a),
        Command::Privacy(c) => commands::privacy::run(&c),
        Command::Attack(a) => commands::attack::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (e.g. `pprl inspect f | head`) is not a failure.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", message(&err));
            if let Some(hint) = hint(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once: a library error that shows its source in its own
/// message and also returns it as `source()` would otherwise print the operating system's
/// words twice ("No such file or directory (os error 2): No such file or directory (os error
/// 2)"). Control characters (from a file name, say) are shown as `\u{..}`.
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.split('\n')
        .map(pprl::error::escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A hint in the CLI's words (flags, commands) for library errors whose fix is a command-line
/// change, chosen by the error's kind.
fn hint(err: &anyhow::Error) -> Option<&'static str> {
    use pprl::eval::{EvalError, EvalErrorKind};
    use pprl::keys::{KeyError, KeyErrorKind};
    use pprl::lab::synth::{SynthError, SynthErrorKind};
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<KeyError>() {
            return match e.kind() {
                KeyErrorKind::TooShort => Some("make a secret with `pprl keygen -o FILE`"),
                _ => None,
            };
        }
        if let Some(e) = cause.downcast_ref::<EvalError>() {
            return match e.kind() {
                EvalErrorKind::ScoresLayout => Some(
                    "write the scored candidates with `pprl match A.clk B.clk --solver none -o \
                     scores.csv` at a low --threshold",
                ),
                EvalErrorKind::RecordSizes => Some(
                    "--records takes one record count per input file (one for a \
                     deduplication, two for two files)",
                ),
                _ => None,
            };
        }
        if let Some(e) = cause.downcast_ref::<SynthError>() {
            return match e.kind() {
                SynthErrorKind::UnknownRate | SynthErrorKind::Rate => {
                    Some("set rates with `--rate NAME=VALUE`, e.g. `--rate surname.typo=0.1`")
                }
                _ => None,
            };
        }
        None
    })
}
