//! `fiskal verify dep7 DEP.json… --crypto CONTAINER`: check an Austrian DEP7 export as the
//! RKSV requires (docs/rksv.md): every receipt's format and signature, the Startbeleg, the
//! chain, the turnover counter, receipt ids, dates and the failure/restore sequence.
//!
//! Several files are one register's DEP in order (split exports, nightly increments): the
//! chain and the counter carry across them, and across runs through `--state-out` and
//! `--state-in`. With `--trust`, every certificate that verifies receipts must chain to one
//! of the given CA certificates. Human output groups the findings by code with their count
//! and the first examples; JSON gives one object per finding, then a summary. Exit 0 when no
//! finding has error severity, 1 when one does, 2 when a file, the crypto container, a trust
//! file or the state file cannot be read, or the state cannot be written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;

use super::super::Outcome;
use super::Grouped;
use crate::output::Output;
use crate::regime::rksv::dep::{self, Carry, Finding, KeyMaterial, Verifier};
use crate::regime::rksv::{state, trust};

/// Arguments of `fiskal verify dep7`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal verify dep7 dep-export.json --crypto cryptographicMaterialContainer.json\n  fiskal verify dep7 q1.json q2.json --crypto container.json --format json\n  fiskal verify dep7 q1.json --crypto container.json --state-out q1.state\n  fiskal verify dep7 q2.json --crypto container.json --state-in q1.state --trust ca.pem"
)]
pub struct Args {
    /// DEP7 export files of one register, in order.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The BMF crypto container (cryptographicMaterialContainer.json): the AES key and the
    /// certificates or public keys by serial. Without it only certificates in the DEP are
    /// used and the turnover counter is not checked.
    #[arg(long, value_name = "FILE")]
    pub crypto: Option<PathBuf>,
    /// The register's AES-256 key (standard Base64), instead of or over the container's.
    #[arg(long, value_name = "BASE64")]
    pub aes_key: Option<String>,
    /// Trust anchors: files of CA certificates (DER, PEM, or Base64 of DER, one or more
    /// each). Every certificate that verifies receipts must then chain to one of them
    /// through the DEP's certificates. Without it trust is not checked, as by the BMF.
    /// Takes several files: give the DEP files first, or end the list with `--`.
    #[arg(long, value_name = "FILE", num_args = 1.., action = clap::ArgAction::Append)]
    pub trust: Vec<PathBuf>,
    /// Continue from the state a previous run saved with --state-out: the first receipt
    /// must then chain to that run's last one.
    #[arg(long, value_name = "FILE")]
    pub state_in: Option<PathBuf>,
    /// Save the chain, counter, receipt ids and failure state after the last receipt, for a
    /// later run's --state-in (written atomically, also when there are findings).
    #[arg(long, value_name = "FILE")]
    pub state_out: Option<PathBuf>,
    /// Examples shown per code in human output.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

fn human_line(f: &Finding) -> String {
    let mut place = f.file.clone();
    if let (Some(g), Some(p)) = (f.group, f.position) {
        place += &format!(" group {g} receipt {p}");
    }
    if let Some(r) = &f.receipt {
        place += &format!(" ({r})");
    }
    format!("    {place}: expected {}, found {}", f.expected, f.found)
}

/// The trust store of `--trust`, or `None` without it.
fn trust_store(paths: &[PathBuf]) -> anyhow::Result<Option<trust::TrustStore>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut anchors = Vec::new();
    for path in paths {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let certs = trust::read_certificates(&bytes)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--trust {}", path.display()))?;
        anchors.extend(certs);
    }
    Ok(Some(trust::TrustStore::new(anchors)))
}

/// The carried state of `--state-in`, or a fresh one.
fn state_in(path: Option<&PathBuf>) -> anyhow::Result<Carry> {
    let Some(path) = path else {
        return Ok(Carry::default());
    };
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    state::from_bytes(&bytes).with_context(|| format!("--state-in {}", path.display()))
}

/// The key material of `--crypto` and `--aes-key`.
fn key_material(args: &Args) -> anyhow::Result<KeyMaterial> {
    let mut keys = match &args.crypto {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            KeyMaterial::from_container(&bytes)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}", path.display()))?
        }
        None => KeyMaterial::default(),
    };
    if let Some(text) = &args.aes_key {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .context("--aes-key: not Base64")?;
        let key: [u8; 32] = raw
            .try_into()
            .map_err(|r: Vec<u8>| anyhow::anyhow!("--aes-key: {} bytes, expected 32", r.len()))?;
        keys.aes_key = Some(key);
    }
    Ok(keys)
}

/// Runs `fiskal verify dep7`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let trust = trust_store(&args.trust)?;
    let carry = state_in(args.state_in.as_ref())?;
    let keys = key_material(args)?;
    // Every file is opened before the first is read, so that a missing one is exit 2 before
    // any finding; each is then streamed.
    let files: Vec<(String, std::fs::File)> = args
        .inputs
        .iter()
        .map(|p| {
            std::fs::File::open(p)
                .map(|f| (p.display().to_string(), f))
                .with_context(|| format!("cannot read {}", p.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut grouped = Grouped::new(out, "dep7_finding", args.examples);
    let mut sink = |f: Finding| {
        *counts.entry(f.code).or_default() += 1;
        grouped.take(out, f.code, f);
    };
    let mut v = Verifier::resume(&keys, carry, &mut sink);
    if let Some(t) = &trust {
        v = v.with_trust(t);
    }
    for (name, file) in files {
        v.file_reader(&name, file);
    }
    let (carry, summary) = v.into_parts();
    if let Some(path) = &args.state_out {
        crate::fsutil::write_atomic(path, &state::to_bytes(&carry))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    grouped.print(out, &counts, dep::check, human_line)?;
    out.human(&format!(
        "\n{} files, {} receipts: {} signatures valid, {} with the device failed, {} counters checked (final {} cents): {} errors, {} warnings",
        summary.files,
        summary.receipts,
        summary.signatures_valid,
        summary.device_failed,
        summary.counters_checked,
        summary.final_counter,
        summary.errors,
        summary.warnings
    ))?;
    if let Some(path) = &args.state_out {
        out.human(&format!(
            "state after the last receipt saved to {}",
            path.display()
        ))?;
    }
    out.json("dep7_summary", &summary)?;
    Ok(if summary.errors == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
