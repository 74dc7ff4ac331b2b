//! `fiskal audit`: the main job.
//!
//! Reads the histories, validates them (docs/rules.md), and writes the audit directory:
//! `summary.json` (what was read, per register/regime/type, the period, master-data coverage,
//! findings per rule with the first examples), `rejects.jsonl` (every rejected record with
//! file, line, field and reason) and `findings.jsonl` (every finding).
//! Each file is written to a temporary name and renamed when complete, so an interrupted run
//! never leaves a file that looks finished. Exit codes as for `check`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::Outcome;
use super::common::{self, InputArgs, ValidateArgs};
use crate::fsutil::AtomicFile;
use crate::output::Output;
use crate::report::findings::FindingSummary;
use crate::report::summary::InputSummary;

/// Arguments of `fiskal audit`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal audit fixtures/demo --out out/\n  fiskal audit dumps/*.ndjson.gz --master-data md.toml --out audit-2026-03/ --json"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    validate: ValidateArgs,
    /// Directory to write the audit output into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Serialize)]
struct AuditSummary<'a> {
    input: &'a InputSummary,
    master_data: MasterDataCoverage,
    findings: &'a FindingSummary,
}

#[derive(Serialize)]
struct MasterDataCoverage {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    registers_without_master_data: Vec<String>,
}

/// Runs `fiskal audit`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let config = args.validate.load()?;
    let md = common::load_master_data(&args.input)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let rejects_path = args.out.join("rejects.jsonl");
    let findings_path = args.out.join("findings.jsonl");
    let create = |p: &std::path::Path| {
        AtomicFile::create(p).with_context(|| format!("creating {}", p.display()))
    };
    let (mut rejects, mut findings_file) = (create(&rejects_path)?, create(&findings_path)?);
    let (summary, findings) = common::check_inputs(
        &args.input,
        config,
        md.as_ref().map(|(_, m)| m),
        out,
        &mut |r| json_line(&mut rejects, r),
        &mut |f| json_line(&mut findings_file, f),
    )?;
    let missing = common::registers_without_master_data(&summary, md.as_ref().map(|(_, m)| m));
    rejects
        .commit()
        .with_context(|| format!("writing {}", rejects_path.display()))?;

    let audit = AuditSummary {
        input: &summary,
        master_data: MasterDataCoverage {
            path: md.as_ref().map(|(p, _)| p.display().to_string()),
            registers_without_master_data: missing.clone(),
        },
        findings: &findings,
    };
    let summary_path = args.out.join("summary.json");
    let mut bytes = serde_json::to_vec_pretty(&audit)?;
    bytes.push(b'\n');
    crate::fsutil::write_atomic(&summary_path, &bytes)
        .with_context(|| format!("writing {}", summary_path.display()))?;

    out.human(&summary.render_human())?;
    if !missing.is_empty() {
        out.human(&format!(
            "\nregisters without master data: {}",
            missing.join(", ")
        ))?;
    }
    out.human(&format!("\n{}", findings.render_human()))?;
    out.human(&format!(
        "\nwrote {}, {} and {}",
        summary_path.display(),
        rejects_path.display(),
        findings_path.display()
    ))?;
    out.json("summary", &audit)?;
    Ok(if summary.rejected > 0 || findings.has_errors() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn json_line<T: Serialize>(file: &mut AtomicFile, value: &T) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *file, value)?;
    file.write_all(b"\n")?;
    Ok(())
}
