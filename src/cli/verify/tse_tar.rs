//! `fiskal verify tse-tar EXPORT.tar|-`: verify a German TSE's TAR export (TR-03151 §5).
//!
//! Every log message is verified over its stored bytes with the key of the certificate its
//! serialNumber names; then each TSE's logs are checked together (signatureCounter gaps and
//! repeats, transaction order) and file names against content (docs/kassensichv.md). Human
//! output: the export, every log or certificate with a problem (failed signatures with the
//! same diagnostics as `tse-qr`), one summary per TSE, totals. `--json`: one `tse_tar_log`
//! per log, `tse_tar_certificate` per certificate, `tse_tar_tse` per TSE, then
//! `tse_tar_summary`. Exit 0 when everything verifies and no check fails, 1 otherwise, 2 when
//! the file cannot be read, is not a tar archive or holds no log message.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::Outcome;
use super::{diagnostics, read_input, verdict_word};
use crate::output::Output;
use crate::regime::kassensichv::export::{Counts, ExportReport, LogReport, LogVerdict, TseReport};
use crate::regime::kassensichv::verify_export;

/// Arguments of `fiskal verify tse-tar`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal verify tse-tar export.tar\n  fiskal verify tse-tar export.tar --json | jq 'select(.type == \"tse_tar_log\" and .verdict != \"valid\")'\n  fiskal verify tse-tar export.tar --json | jq 'select(.type == \"tse_tar_tse\") | .gaps'"
)]
pub struct Args {
    /// The TSE's TAR export (info.csv, certificates, log messages); `-` reads stdin.
    pub input: PathBuf,
}

#[derive(Serialize)]
struct Summary<'a> {
    file: String,
    entries: usize,
    #[serde(flatten)]
    counts: Counts,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    info: &'a std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ignored: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notes: &'a [String],
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A log's block: printed only when something is wrong with it.
fn human_log(log: &LogReport) -> Option<String> {
    if log.verdict == LogVerdict::Valid && log.problems.is_empty() {
        return None;
    }
    let mut s = format!("{}: ", log.file);
    match (&log.signature, log.verdict) {
        (_, LogVerdict::Unparsable) => s += "UNPARSABLE",
        (Some(v), _) => {
            let curve = v.curve.map(|c| c.name()).unwrap_or("curve unknown");
            s += &format!(
                "signature {} ({curve}, {})",
                verdict_word(v.verdict),
                v.algorithm
            );
        }
        (None, LogVerdict::Unsupported) => s += "signature UNSUPPORTED",
        (None, _) => s += "signature INVALID (not checked)",
    }
    for p in &log.problems {
        s += &format!("\n  problem: {p}");
    }
    if let Some(v) = &log.signature {
        s += &diagnostics(v, "stored bytes");
    }
    Some(s)
}

fn human_tse(t: &TseReport) -> String {
    let mut s = format!("TSE {}", t.serial);
    match &t.certificate {
        Some(c) => {
            let curve = t.curve.map(|c| c.name()).unwrap_or("curve unknown");
            s += &format!("\n  certificate: {c} ({curve})");
        }
        None => s += "\n  certificate: none",
    }
    s += &format!(
        "\n  logs: {} ({} transaction, {} system, {} audit): {} valid, {} invalid, {} unsupported",
        t.logs, t.transaction_logs, t.system_logs, t.audit_logs, t.valid, t.invalid, t.unsupported
    );
    s += &format!(
        "\n  signatureCounter: {} to {}, gaps: {}, repeated: {}",
        t.counter_first,
        t.counter_last,
        t.gaps.len(),
        t.repeats.len()
    );
    if let (Some(first), Some(last)) = (t.transaction_first, t.transaction_last) {
        s += &format!(
            "\n  transactions: {} (numbers {first} to {last}), {} finished",
            t.transactions, t.transactions_finished
        );
    }
    if !t.clients.is_empty() {
        s += &format!("\n  clients: {}", t.clients.join(", "));
    }
    s += &format!(
        "\n  logTime: {} to {}",
        time(t.time_first),
        time(t.time_last)
    );
    for p in &t.problems {
        s += &format!("\n  problem: {p}");
    }
    for n in &t.notes {
        s += &format!("\n  note: {n}");
    }
    s
}

fn human_head(file: &str, r: &ExportReport, c: &Counts) -> String {
    let mut s = format!(
        "{file}: {} files, {} log messages, {} certificates",
        r.entries, c.logs, c.certificates
    );
    if !r.info.is_empty() {
        let pairs: Vec<String> = r.info.iter().map(|(k, v)| format!("{k} {v:?}")).collect();
        s += &format!("\ninfo.csv: {}", pairs.join(", "));
    }
    for n in &r.notes {
        s += &format!("\nnote: {n}");
    }
    if !r.ignored.is_empty() {
        s += &format!(
            "\nignored (not a log message, certificate or info.csv): {}",
            r.ignored.join(", ")
        );
    }
    s
}

/// Runs `fiskal verify tse-tar`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let bytes = read_input(&args.input)?;
    let file = args.input.display().to_string();
    let report = verify_export(&bytes).with_context(|| format!("cannot check {file}"))?;
    let counts = report.counts();

    out.human(&human_head(&file, &report, &counts))?;
    for log in &report.logs {
        if let Some(text) = human_log(log) {
            out.human(&format!("\n{text}"))?;
        }
        out.json("tse_tar_log", log)?;
    }
    for cert in &report.certificates {
        for p in &cert.problems {
            out.human(&format!("\ncertificate {}: problem: {p}", cert.file))?;
        }
        out.json("tse_tar_certificate", cert)?;
    }
    for tse in &report.tses {
        out.human(&format!("\n{}", human_tse(tse)))?;
        out.json("tse_tar_tse", tse)?;
    }
    out.human(&format!(
        "\n{} log messages: {} valid, {} invalid, {} unsupported, {} unparsable; TSEs: {}; other problems: {}",
        counts.logs,
        counts.valid,
        counts.invalid,
        counts.unsupported,
        counts.unparsable,
        counts.tses,
        counts.problems
    ))?;
    out.json(
        "tse_tar_summary",
        &Summary {
            file,
            entries: report.entries,
            counts,
            info: &report.info,
            ignored: &report.ignored,
            notes: &report.notes,
        },
    )?;
    Ok(if report.is_clean() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
