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
        Command::Encode(a) => commands::encode::run(&a),
        Command::Inspect(a) => commands::inspect::run(&a),
        Command::Match(a) => commands::match_cmd::run(&a),
        Command::Experiment(a) => commands::experiment::run(&a),
        Command::Bench(args::BenchCommand::Match(a)) => commands::bench::matching(&a),
        Command::Bench(args::BenchCommand::Scale(a)) => commands::bench::scale(&a),
        Command::Demo(a) => commands::demo::run(&a),
        Command::Synth(a) => commands::synth::run(&a),
        Command::Eval(a) => commands::eval::run(&a),
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
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
