//! `fiskal verify …`: offline checks of what fiscal devices signed and of exports made from it,
//! one file per input kind.
//!
//! Exit codes: 0 when everything verifies, 1 when anything is invalid or unparsable, 2 on
//! usage errors or unreadable input.

pub mod dep7;
pub mod dsfinvk;
pub mod rt_xml;
pub mod tse_qr;
pub mod tse_tar;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;

use super::Outcome;
use crate::output::{Format, Output};
use crate::regime::kassensichv::{Verdict, Verification};
use crate::validate::catalog::Rule;

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
    /// Italian daily closings (DatiCorrispettivi COR10): the XML-DSig seal, the certificate,
    /// the tracciato 7.0 structure and the sums; with --compare, the differences from
    /// another file for the same closing.
    RtXml(rt_xml::Args),
}

/// Runs `fiskal verify`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    match &args.command {
        VerifyCommand::TseQr(a) => tse_qr::run(a, out),
        VerifyCommand::TseTar(a) => tse_tar::run(a, out),
        VerifyCommand::Dsfinvk(a) => dsfinvk::run(a, out),
        VerifyCommand::Dep7(a) => dep7::run(a, out),
        VerifyCommand::RtXml(a) => rt_xml::run(a, out),
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

/// The findings of an export verifier as they arrive: with `--format json` each is printed at
/// once as a `kind` object; for people the first `limit` of each code are kept and printed
/// grouped by code after the run. Shared by `verify dsfinvk`, `verify dep7` and
/// `verify rt-xml`.
pub(super) struct Grouped<F> {
    kind: &'static str,
    json: bool,
    limit: usize,
    examples: BTreeMap<&'static str, Vec<F>>,
    write_error: Option<std::io::Error>,
}

impl<F: serde::Serialize> Grouped<F> {
    pub(super) fn new(out: &Output, kind: &'static str, limit: usize) -> Grouped<F> {
        Grouped {
            kind,
            json: out.format() == Format::Json,
            limit,
            examples: BTreeMap::new(),
            write_error: None,
        }
    }

    /// Takes one finding of check `code`.
    pub(super) fn take(&mut self, out: &mut Output, code: &'static str, finding: F) {
        if self.json {
            if let Err(e) = out.json(self.kind, &finding) {
                self.write_error.get_or_insert(e);
            }
        } else {
            let list = self.examples.entry(code).or_default();
            if list.len() < self.limit {
                list.push(finding);
            }
        }
    }

    /// Per code in `counts` (checks `check` does not know are skipped): the severity, count
    /// and title, then the kept examples as `line` renders them. Fails with the first error
    /// printing a JSON finding met.
    pub(super) fn print(
        self,
        out: &mut Output,
        counts: &BTreeMap<&'static str, u64>,
        check: fn(&str) -> Option<&'static Rule>,
        line: fn(&F) -> String,
    ) -> anyhow::Result<()> {
        if let Some(e) = self.write_error {
            return Err(e.into());
        }
        for (code, count) in counts {
            let Some(c) = check(code) else { continue };
            out.human(&format!("{code} {} ×{count}: {}", c.severity, c.title))?;
            for f in self.examples.get(code).into_iter().flatten() {
                out.human(&line(f))?;
            }
        }
        Ok(())
    }
}
