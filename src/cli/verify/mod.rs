//! `fiskal verify …`: offline checks of what fiscal devices signed and of exports made from it,
//! one file per input kind.
//!
//! Exit codes: 0 when everything verifies, 1 when anything is invalid or unparsable, 2 on
//! usage errors or unreadable input.

pub mod dep7;
pub mod dsfinvk;
pub mod tse_qr;
pub mod tse_tar;

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;

use super::Outcome;
use crate::output::Output;
use crate::regime::kassensichv::{Verdict, Verification};

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
    /// A German TSE's TAR export: every log message's signature, counters and transactions.
    TseTar(tse_tar::Args),
    /// A DSFinV-K export (directory or zip): dialect, fields, keys, reconciliation and TSE
    /// signatures.
    Dsfinvk(dsfinvk::Args),
    /// An Austrian DEP7 export: receipt formats, signatures, chain, turnover counter and
    /// sequence.
    Dep7(dep7::Args),
}

/// Runs `fiskal verify`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    match &args.command {
        VerifyCommand::TseQr(a) => tse_qr::run(a, out),
        VerifyCommand::TseTar(a) => tse_tar::run(a, out),
        VerifyCommand::Dsfinvk(a) => dsfinvk::run(a, out),
        VerifyCommand::Dep7(a) => dep7::run(a, out),
    }
}

/// The bytes of a file, or of stdin for `-`.
fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read stdin")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

/// A verdict as printed for people: failures in capitals so they stand out.
fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "INVALID",
    }
}

/// The indented lines under a signature verdict: problems, notes and, when it is not valid,
/// the key serial, the to-be-signed bytes (`tbs_label` says which) and every attempt.
fn diagnostics(v: &Verification, tbs_label: &str) -> String {
    let mut s = String::new();
    for p in &v.problems {
        s += &format!("\n  problem: {p}");
    }
    for n in &v.notes {
        s += &format!("\n  note: {n}");
    }
    if let Some(serial) = v
        .verdict
        .ne(&Verdict::Valid)
        .then_some(v.serial.as_ref())
        .flatten()
    {
        s += &format!("\n  key serial (SHA-256 of point): {serial}");
    }
    if let Some(tbs) = &v.tbs_hex {
        s += &format!("\n  to-be-signed ({tbs_label}): {tbs}");
    }
    for a in &v.attempts {
        let pd = serde_json::to_value(a.variant.process_data).unwrap_or_default();
        s += &format!(
            "\n  tried {} / {} / processData {}: {}",
            a.variant.curve.name(),
            a.variant.time_format.name(),
            pd.as_str().unwrap_or("?"),
            if a.verified { "verified" } else { "no" }
        );
    }
    s
}
