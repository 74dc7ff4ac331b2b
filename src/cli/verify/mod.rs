//! `fiskal verify …`: offline checks of what fiscal devices signed, one file per input kind.
//!
//! Exit codes: 0 when everything verifies, 1 when anything is invalid or unparsable, 2 on
//! usage errors or unreadable input.

pub mod tse_qr;

use clap::Subcommand;

use super::Outcome;
use crate::output::Output;

/// Arguments of `fiskal verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to verify.
    #[command(subcommand)]
    pub command: VerifyCommand,
}

/// The inputs `fiskal verify` understands.
#[derive(Subcommand, Debug)]
pub enum VerifyCommand {
    /// German TSE signatures of DSFinV-K receipt QR codes (`V0;…`), one per line.
    TseQr(tse_qr::Args),
}

/// Runs `fiskal verify`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    match &args.command {
        VerifyCommand::TseQr(a) => tse_qr::run(a, out),
    }
}
