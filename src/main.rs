//! The `pprl` command-line tool: argument parsing and glue over the `pprl` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
