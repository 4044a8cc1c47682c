//! The CLI: parse arguments, call the library, print results, map errors to exit codes.
//!
//! Exit codes: 0 success, 1 error (the message names the file, row or key at fault),
//! 2 usage error (from clap).

mod args;
mod commands;
mod progress;

use std::process::ExitCode;

use clap::Parser as _;

use self::args::{Cli, Command, SchemaCommand};

/// Runs the CLI.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(a) => commands::keygen::run(&a),
        Command::Schema(SchemaCommand::Check(a)) => commands::schema::check(&a),
        Command::Encode(a) => commands::encode::run(&a),
        Command::Inspect(a) => commands::inspect::run(&a),
        Command::Demo(a) => commands::demo::run(&a),
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
