//! `fiskal verify rt-xml FILE…`: check Italian daily closings (`DatiCorrispettivi`, COR10) as
//! docs/rt.md describes: the XML-DSig seal replayed (digest and signature apart), the signing
//! certificate (chain to `--ca`, device or other seal, CN = matricola, validity), the
//! tracciato 7.0 structure and the sums; with `--compare`, the differences between the
//! device's file and another file for the same closing. Codes in docs/rt-verify.md.
//!
//! Human output groups the findings by code with their count and first examples, then one
//! line per file; JSON gives one `rt_xml_finding` per finding, one `rt_xml_file` per file, an
//! `rt_xml_comparison` with `--compare`, then `rt_xml_summary`. Exit 0 when no finding has
//! error severity, 1 when one does (a file that is not XML is such a finding), 2 when a file
//! or a CA file cannot be read, or on a usage error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

use super::super::Outcome;
use super::{Grouped, read_input};
use crate::model::Severity;
use crate::output::Output;
use crate::regime::rt::cor10::{self, Finding};
use crate::regime::rt::dsig::Status;
use crate::regime::rt::verify::{ChainStatus, ExpectedSerial, Signer};
use crate::regime::rt::{self, Options, Report, cert};

/// Arguments of `fiskal verify rt-xml`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal verify rt-xml RT_7CIMG990005_24_02_2020.xml --ca ca/prod_ca_servizio_ae_corrispettivi_iva.pem\n  fiskal verify rt-xml z/*.xml --ca ca/*.pem --format json\n  fiskal verify rt-xml device.xml --compare out/rt/7CIMG990005_0023.xml --serial 7CIMG990005"
)]
pub struct Args {
    /// Daily closing files (`-` = stdin).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// CA certificates (PEM or DER, one or more per file) the signing certificate must chain
    /// to. Without it the chain is not checked, and the summary says so. Takes several files:
    /// give the closings first, or end the list with `--`.
    #[arg(long, value_name = "CA", num_args = 1.., action = clap::ArgAction::Append)]
    pub ca: Vec<PathBuf>,
    /// The device serial (matricola) a device certificate's CN must be; without it
    /// Trasmissione/Dispositivo/IdDispositivo is used when present, else the CN is only
    /// checked for the matricola's form.
    #[arg(long, value_name = "MATRICOLA")]
    pub serial: Option<String>,
    /// Another file for the same closing (a reconstruction fiskal sealed): it is verified
    /// too, and every value that differs from the one FILE (the device's) is a finding.
    #[arg(long, value_name = "OURS.xml")]
    pub compare: Option<PathBuf>,
    /// Examples shown per code in human output.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

/// A finding with its file, as printed.
#[derive(serde::Serialize)]
struct FileFinding {
    file: String,
    #[serde(flatten)]
    finding: Finding,
}

/// One file's verdict, as printed.
#[derive(serde::Serialize)]
struct FileSummary<'a> {
    file: &'a str,
    digest: Status,
    signature: Status,
    signer: Option<&'a Signer>,
    chain: &'a ChainStatus,
    expected_serial: Option<&'a ExpectedSerial>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progressivo: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_ora_rilevazione: Option<&'a str>,
    riepiloghi: usize,
    errors: usize,
    warnings: usize,
}

#[derive(serde::Serialize)]
struct Comparison<'a> {
    device: &'a str,
    other: &'a str,
    differences: usize,
    errors: usize,
    warnings: usize,
}

#[derive(serde::Serialize)]
struct Summary {
    files: usize,
    valid: usize,
    chain_checked: bool,
    errors: usize,
    warnings: usize,
}

fn human_line(f: &FileFinding) -> String {
    let mut place = f.file.clone();
    if let Some(l) = f.finding.line {
        place += &format!(":{l}");
    }
    if !f.finding.path.is_empty() {
        place += &format!(" {}", f.finding.path);
    }
    format!(
        "    {place}: expected {}, found {}",
        f.finding.expected, f.finding.found
    )
}

/// The CA certificates of `--ca`.
fn anchors(paths: &[PathBuf]) -> anyhow::Result<Vec<cert::Certificate>> {
    let mut out = Vec::new();
    for path in paths {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let certs = cert::read_certificates(&bytes)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--ca {}", path.display()))?;
        out.extend(certs);
    }
    Ok(out)
}

/// The line people read about one file.
fn file_line(name: &str, r: &Report) -> String {
    let mut s = format!(
        "{name}: digest {}, signature {}",
        r.digest.word(),
        r.signature.word()
    );
    if let Some(sig) = &r.signer {
        s += &format!(
            "; signer {} {} ({}, issuer {})",
            sig.kind.name(),
            sig.subject,
            sig.key,
            sig.issuer
        );
    }
    match &r.chain {
        ChainStatus::Trusted { anchor } => s += &format!("; chain trusted ({anchor})"),
        ChainStatus::Untrusted => s += "; chain NOT TRUSTED",
        ChainStatus::NotChecked => {}
    }
    if let Some(c) = &r.closing {
        s += &format!(
            "; Progressivo {}, DataOraRilevazione {}, {} Riepilogo",
            c.progressivo.as_deref().unwrap_or("?"),
            c.data_ora_rilevazione.as_deref().unwrap_or("?"),
            c.rows.len()
        );
    }
    s + &format!(": {} errors, {} warnings", r.errors(), r.warnings())
}

/// Runs `fiskal verify rt-xml`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    if args.compare.is_some() && args.inputs.len() != 1 {
        anyhow::bail!(
            "--compare compares one device file with another: give one FILE, not {}",
            args.inputs.len()
        );
    }
    let options = Options {
        anchors: anchors(&args.ca)?,
        serial: args.serial.clone(),
    };
    // Every file is read before the first is verified, so that a missing one is exit 2
    // before any finding.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for p in args.inputs.iter().chain(&args.compare) {
        files.push((p.display().to_string(), read_input(p)?));
    }
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut grouped = Grouped::new(out, "rt_xml_finding", args.examples);
    let mut reports = Vec::new();
    for (name, bytes) in &files {
        let report = rt::verify(bytes, &options);
        for f in &report.findings {
            *counts.entry(f.code).or_default() += 1;
            let finding = FileFinding {
                file: name.clone(),
                finding: f.clone(),
            };
            grouped.take(out, f.code, finding);
        }
        let closing = report.closing.as_ref();
        out.json(
            "rt_xml_file",
            &FileSummary {
                file: name,
                digest: report.digest,
                signature: report.signature,
                signer: report.signer.as_ref(),
                chain: &report.chain,
                expected_serial: report.expected_serial.as_ref(),
                progressivo: closing.and_then(|c| c.progressivo.as_deref()),
                data_ora_rilevazione: closing.and_then(|c| c.data_ora_rilevazione.as_deref()),
                riepiloghi: closing.map_or(0, |c| c.rows.len()),
                errors: report.errors(),
                warnings: report.warnings(),
            },
        )?;
        reports.push((name.as_str(), report));
    }
    let mut differences = Vec::new();
    if let ([(device_name, device), (other_name, other)], true) =
        (reports.as_slice(), args.compare.is_some())
    {
        if let (Some(d), Some(o)) = (&device.closing, &other.closing) {
            differences = cor10::compare(d, o);
        }
        for f in &differences {
            *counts.entry(f.code).or_default() += 1;
            grouped.take(
                out,
                f.code,
                FileFinding {
                    file: other_name.to_string(),
                    finding: f.clone(),
                },
            );
        }
        let count = |s: Severity| differences.iter().filter(|f| f.severity == s).count();
        out.json(
            "rt_xml_comparison",
            &Comparison {
                device: device_name,
                other: other_name,
                differences: differences.len(),
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
            },
        )?;
    }
    grouped.print(out, &counts, cor10::check, human_line)?;
    out.human("")?;
    for (name, report) in &reports {
        out.human(&file_line(name, report))?;
    }
    let all = reports
        .iter()
        .flat_map(|(_, r)| &r.findings)
        .chain(&differences);
    let errors = all
        .clone()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = all.filter(|f| f.severity == Severity::Warning).count();
    let summary = Summary {
        files: reports.len(),
        valid: reports.iter().filter(|(_, r)| r.is_valid()).count(),
        chain_checked: !options.anchors.is_empty(),
        errors,
        warnings,
    };
    if let (Some(other), [(device, _), ..]) = (&args.compare, reports.as_slice()) {
        out.human(&format!(
            "compared {device} (device) with {}: {} differences",
            other.display(),
            differences.len()
        ))?;
    }
    out.human(&format!(
        "\n{} files, {} valid: {} errors, {} warnings",
        summary.files, summary.valid, summary.errors, summary.warnings
    ))?;
    if !summary.chain_checked {
        out.human("certificate chains not checked: no --ca given")?;
    }
    out.json("rt_xml_summary", &summary)?;
    Ok(if errors == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
