//! `fiskal export rt`: the daily closings (DatiCorrispettivi COR10) of every Italian RT in the
//! input, rebuilt from its documents.
//!
//! Streams the histories and writes `<matricola>_<ZZZZ>.xml` per (RT, daily closing) into
//! `--out` (docs/rt.md), each sealed with the master data's `[rt_seal]` and written to a
//! temporary name first. The files are reconstructions for comparison with what the device
//! transmitted (`fiskal verify rt-xml DEVICE.xml --compare OURS.xml`), never a substitute
//! for it. Each written file is read back through `verify rt-xml`'s checks. Exit 0 from clean
//! input, 1 when a record was rejected, a document was left out or a file does not verify, 2
//! when nothing could be read, the master data has no usable seal, a document cannot be put
//! into a closing (a 0 % line without Natura code) or a file cannot be written.

use std::path::PathBuf;

use anyhow::Context;

use super::super::Outcome;
use super::super::common::{self, InputArgs};
use crate::export::rt::{ClosingFile, Seal, Writer};
use crate::output::Output;

/// Arguments of `fiskal export rt`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal export rt fixtures/demo --out rt/\n  fiskal export rt dumps/ --master-data md.toml --out out/ --json"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Directory to write the XML files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// A written closing and what `verify rt-xml` says about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    /// The file.
    #[serde(flatten)]
    pub file: ClosingFile,
    /// Whether digest and seal verify and nothing of error severity was found.
    pub valid: bool,
    /// Codes of the findings of warning or error severity, with their counts (the note that
    /// the seal is not a device's is expected and left out).
    pub findings: std::collections::BTreeMap<&'static str, u64>,
}

/// Reads every written closing back through the verifier (structure, arithmetic identities,
/// digest and seal), so a reconstruction is never handed over without saying what a checker
/// finds in it.
pub fn verify_all(files: Vec<ClosingFile>) -> anyhow::Result<Vec<Verified>> {
    use crate::model::Severity;
    use crate::regime::rt::{Options, verify};
    files
        .into_iter()
        .map(|file| {
            let bytes =
                std::fs::read(&file.path).with_context(|| format!("reading back {}", file.path))?;
            let report = verify(&bytes, &Options::default());
            let mut findings = std::collections::BTreeMap::new();
            for f in report
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Info)
            {
                *findings.entry(f.code).or_insert(0) += 1;
            }
            Ok(Verified {
                valid: report.is_valid(),
                file,
                findings,
            })
        })
        .collect()
}

/// The seal of the master data, or why there is none.
pub fn seal(md: Option<&crate::model::masterdata::MasterData>) -> anyhow::Result<Seal> {
    let s = md.and_then(|m| m.rt_seal.as_ref()).context(
        "no [rt_seal] in the master data: the COR10 schema requires a signature, and fiskal signs its reconstructions with a seal you supply (docs/masterdata.md)",
    )?;
    Seal::from_master_data(s).map_err(|e| anyhow::anyhow!("[rt_seal] {e}"))
}

/// Runs `fiskal export rt`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let md = common::load_master_data(&args.input)?;
    let md = md.as_ref().map(|(_, m)| m);
    let seal = seal(md)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = Writer::new(&args.out, md, &seal);
    let summary = common::ingest_inputs(&args.input, out, &mut |_| Ok(()), &mut |op, _| {
        writer.push(&op);
        Ok(())
    })?;
    let (files, skipped) = writer.finish()?;
    if files.is_empty() {
        out.human("no RT document in the input")?;
    }
    let verified = verify_all(files)?;
    for v in &verified {
        out.human(&human_line(v))?;
        out.json("rt_closing", v)?;
    }
    for (op, why) in &skipped {
        out.human(&format!("left out operation {op}: {why}"))?;
        out.json(
            "rt_left_out",
            &serde_json::json!({"operation_id": op, "reason": why}),
        )?;
    }
    let invalid = verified.iter().any(|v| !v.valid);
    Ok(if summary.rejected > 0 || !skipped.is_empty() || invalid {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// One line per closing: what was written and what verifying it found.
pub fn human_line(v: &Verified) -> String {
    let f = &v.file;
    let verdict = if v.findings.is_empty() && v.valid {
        "verified: digest and seal valid, no findings".to_string()
    } else {
        let list: Vec<String> = v
            .findings
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect();
        format!(
            "verified: {}, findings: {}",
            if v.valid { "valid" } else { "NOT valid" },
            list.join(", ")
        )
    };
    format!(
        "wrote {} (RT {}, closing {}, {} documents, {} Riepilogo rows); {verdict}",
        f.path, f.rt_serial, f.daily_closing_number, f.documents, f.rows
    )
}
