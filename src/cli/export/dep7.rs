//! `fiskal export dep7`: the RKSV DEP7 export of every Austrian cash box in the input.
//!
//! Streams the histories and writes `dep7-<Kassen-ID>.json` per cash box into `--out`
//! (docs/rksv.md), each appearing only when complete. Then every written file goes through
//! the DEP7 verifier with the key material of the master data (certificate or public key, AES
//! key), so an export is never handed over broken without saying so. Exit 0 when the files
//! verify clean from clean input, 1 when a record was rejected or a file has findings of
//! error severity, 2 when nothing could be read or a file could not be written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;

use super::super::Outcome;
use super::super::common::{self, InputArgs};
use crate::export::dep7::{DepFile, Writer};
use crate::model::masterdata::MasterData;
use crate::output::Output;
use crate::regime::rksv::dep::{self, Verifier};

/// Arguments of `fiskal export dep7`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal export dep7 fixtures/demo --out dep7/\n  fiskal export dep7 dumps/ --master-data md.toml --out out/ --json"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Directory to write the DEP7 files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// A written file and what the verifier said about it.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    /// The file.
    #[serde(flatten)]
    pub file: DepFile,
    /// The verifier's counts.
    pub verification: dep::Summary,
    /// The codes of its findings with their counts.
    pub findings: std::collections::BTreeMap<&'static str, u64>,
}

/// Verifies each written file with the master data's key material for its cash box, files in
/// parallel.
pub fn verify_all(files: Vec<DepFile>, md: Option<&MasterData>) -> anyhow::Result<Vec<Verified>> {
    Ok(
        verify_continuing(files, md, &BTreeMap::new(), false, false)?
            .into_iter()
            .map(|(v, _)| v)
            .collect(),
    )
}

/// [`verify_all`], each cash box's file continuing the chain, counter and receipt ids where
/// an earlier run's file of it stopped (`earlier`, by Kassen-ID); with each file the state the
/// next run goes on from if `keep_carries` (it holds a hash per receipt: a nightly run keeps
/// it, a single run drops it at once).
pub fn verify_continuing(
    files: Vec<DepFile>,
    md: Option<&MasterData>,
    earlier: &BTreeMap<String, dep::Carry>,
    skip_signatures: bool,
    keep_carries: bool,
) -> anyhow::Result<Vec<(Verified, Option<dep::Carry>)>> {
    files
        .into_par_iter()
        .map(|file| {
            let mut keys = md
                .and_then(|m| m.rksv.iter().find(|c| c.cashbox_id == file.cashbox))
                .map(|c| crate::regime::rksv::check::key_material(c).0)
                .unwrap_or_default();
            keys.skip_signatures = skip_signatures;
            let mut findings = std::collections::BTreeMap::new();
            let mut sink = |f: dep::Finding| *findings.entry(f.code).or_insert(0) += 1;
            let mut v = match earlier.get(&file.cashbox) {
                Some(c) => Verifier::resume(&keys, c.clone(), &mut sink),
                None => Verifier::new(&keys, &mut sink),
            };
            let reader = std::fs::File::open(&file.path)
                .with_context(|| format!("reading back {}", file.path))?;
            v.file_reader(&file.path, reader);
            let (carry, verification) = v.into_parts();
            Ok((
                Verified {
                    file,
                    verification,
                    findings,
                },
                keep_carries.then_some(carry),
            ))
        })
        .collect()
}

/// Runs `fiskal export dep7`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let md = common::load_master_data(&args.input)?;
    let md = md.as_ref().map(|(_, m)| m);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = Writer::new(&args.out, md);
    let summary = common::ingest_inputs(&args.input, out, &mut |_| Ok(()), &mut |op, _| {
        writer.push(&op);
        Ok(())
    })?;
    let files = writer.finish()?;
    if files.is_empty() {
        out.human("no RKSV receipt in the input")?;
    }
    let verified = verify_all(files, md)?;
    let mut errors = false;
    for v in &verified {
        errors |= v.verification.errors > 0;
        out.human(&human_line(v))?;
        out.json("dep7", v)?;
    }
    Ok(if summary.rejected > 0 || errors {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// One line per file: what was written and what verifying it found.
pub fn human_line(v: &Verified) -> String {
    let f = &v.file;
    let s = &v.verification;
    let mut line = format!(
        "wrote {} ({} receipts in {} group(s)); verified: {} signatures valid, {} with the device failed, {} counters checked",
        f.path, f.receipts, f.groups, s.signatures_valid, s.device_failed, s.counters_checked
    );
    if f.unreadable > 0 {
        line += &format!(
            ", {} receipt(s) with an unreadable code left out",
            f.unreadable
        );
    }
    if v.findings.is_empty() {
        line += ", no findings";
    } else {
        let list: Vec<String> = v
            .findings
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        line += &format!(", findings: {}", list.join(", "));
    }
    line
}
