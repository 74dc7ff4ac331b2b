//! The `fiskal` binary: parse, dispatch, print the error chain, map the outcome to 0/1/2.

use std::process::ExitCode;

fn main() -> ExitCode {
    fiskal::cli::main()
}
