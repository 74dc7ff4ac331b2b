//! Command-line interface: one file per subcommand, one `match` to dispatch.
//!
//! Exit codes (README, "Exit codes"): 0 clean; 1 findings of error severity (including
//! rejected records); 2 usage or input error (bad flags, nothing readable, broken master
//! data). A closed stdout (`fiskal check … | head`) ends the run quietly with 0.

pub mod audit;
pub mod check;
pub mod common;
pub mod export;
pub mod fetch;
pub mod merge;
pub mod report;
pub mod synth;
pub mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{Format, Output};

/// Audits and tax exports for OpenFiskal point-of-sale operation histories.
#[derive(Parser, Debug)]
#[command(name = "fiskal", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Output format: `human` text, or `json` lines (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Shorthand for `--format json`.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// Text for people.
    Human,
    /// JSON lines.
    Json,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read and validate histories: what was read, what was rejected, what the rules found.
    Check(check::Args),
    /// The main job: read, validate and write the audit output into a directory.
    Audit(audit::Args),
    /// Write tax-audit exports (DSFinV-K, DEP7, RT daily closings).
    Export(export::Args),
    /// Write the audit report (HTML, Markdown, JSON) without the exports.
    Report(report::Args),
    /// Combine the outputs of `audit --shard I/N` into one audit directory.
    Merge(merge::Args),
    /// Pull operation histories from the OpenFiskal API into an NDJSON dump (resumable).
    Fetch(fetch::Args),
    /// Generate a deterministic synthetic history (tests, demo, benchmarks).
    Synth(synth::Args),
    /// Verify fiscal signatures offline (German TSE receipt QR codes and TAR exports).
    Verify(verify::Args),
}

/// How a successful run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing of error severity.
    Clean,
    /// Findings (or rejected records) of error severity.
    Findings,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Output::stdout(
        if cli.json || cli.format == FormatArg::Json {
            Format::Json
        } else {
            Format::Human
        },
        cli.quiet,
    );
    let result = match &cli.command {
        Command::Check(args) => check::run(args, &mut out),
        Command::Audit(args) => audit::run(args, &mut out),
        Command::Export(args) => export::run(args, &mut out),
        Command::Report(args) => report::run(args, &mut out),
        Command::Merge(args) => merge::run(args, &mut out),
        Command::Fetch(args) => fetch::run(args, &mut out),
        Command::Synth(args) => synth::run(args, &mut out),
        Command::Verify(args) => verify::run(args, &mut out),
    }
    .and_then(|outcome| {
        out.flush()?;
        Ok(outcome)
    });
    match result {
        Ok(Outcome::Clean) => ExitCode::from(0),
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(0),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
