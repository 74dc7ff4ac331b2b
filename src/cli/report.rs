//! `fiskal report`: the audit report on its own.
//!
//! Reads and validates the histories as `check` does and writes `report.html` (one
//! self-contained page with inline SVG charts, printable), `report.md` and `report.json`
//! (docs/report.md). No exports are written, so the report's closings and files sections
//! are empty; `fiskal audit` writes the same report as its last step, with them. Exit codes
//! as for `check`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::Outcome;
use super::common::{self, InputArgs, ValidateArgs};
use crate::nightly::manifest;
use crate::output::Output;
use crate::report::build::{Accumulator, DEFAULT_TOP, Produced};
use crate::report::model::Report;
use crate::report::render;

/// Arguments of `fiskal report`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal report fixtures/demo --out report/\n  fiskal report dumps/ --master-data md.toml --out report/ --top 50"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    validate: ValidateArgs,
    /// Directory to write report.html, report.md and report.json into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    report: ReportArgs,
}

/// Report options, shared with `audit`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// How many entries each list of the report keeps (registers, sessions, closings,
    /// devices, cashiers, gaps); the rest are counted, and are in findings.jsonl and the
    /// exports.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
}

/// The three report files, relative to the output directory.
pub const FILES: [&str; 3] = ["report.html", "report.md", "report.json"];

/// Renders and writes the report into `dir` (each file through a temporary name).
pub fn write(dir: &Path, report: &Report) -> anyhow::Result<()> {
    let html = render::html(report)?;
    let md = render::markdown(report)?;
    let json = render::json(report);
    for (name, bytes) in FILES.iter().zip([html.as_bytes(), md.as_bytes(), &json]) {
        let path = dir.join(name);
        crate::fsutil::write_atomic(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The last steps of an audit directory: writes the report, then the manifest, which lists
/// the report files and `also` (paths in `dir` written after the manifest was built) beside
/// what it held — the report lists the files written before it, the manifest lists the report.
pub fn write_last(
    dir: &Path,
    report: &Report,
    manifest: &mut crate::nightly::manifest::Manifest,
    also: &[&str],
) -> anyhow::Result<()> {
    write(dir, report)?;
    for name in FILES.iter().chain(also) {
        manifest.outputs.push(
            crate::nightly::manifest::FileEntry::of(&dir.join(name), name.to_string())
                .with_context(|| format!("hashing {name}"))?,
        );
    }
    manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let path = dir.join("manifest.json");
    crate::fsutil::write_atomic(&path, &manifest.to_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(Serialize)]
struct Written<'a> {
    verdict: crate::report::model::Verdict,
    files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_data: Option<&'a str>,
}

/// Runs `fiskal report`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let config = args.validate.load()?;
    let md = common::load_master_data(&args.input)?;
    let inputs = manifest::inputs(
        &args.input.inputs,
        md.as_ref().map(|(p, _)| p.as_path()),
        args.validate.path().as_deref(),
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let acc = RefCell::new(Accumulator::new(args.report.top));
    let checked = common::check_inputs_with(
        &args.input,
        config,
        md.as_ref().map(|(_, m)| m),
        None,
        out,
        &mut |_| Ok(()),
        &mut |f| {
            acc.borrow_mut().finding(f);
            Ok(())
        },
        &mut |op| acc.borrow_mut().push(&op),
    )?;
    let report = acc
        .into_inner()
        .finish(Produced {
            input: &checked.summary,
            findings: &checked.findings,
            sessions: &checked.sessions,
            closings: Vec::new(),
            inputs: Some(&inputs),
            exports: Vec::new(),
            failed_exports: 0,
        })
        .context("building the report")?;
    write(&args.out, &report)?;
    let files: Vec<String> = FILES
        .iter()
        .map(|f| args.out.join(f).display().to_string())
        .collect();
    out.human(&checked.summary.render_human())?;
    out.human(&format!("\n{}", checked.findings.render_human()))?;
    out.human(&format!("\nverdict: {:?}", report.verdict).to_lowercase())?;
    out.human(&format!("wrote {}", files.join(", ")))?;
    let path = md.as_ref().map(|(p, _)| p.display().to_string());
    out.json(
        "report",
        &Written {
            verdict: report.verdict,
            files,
            master_data: path.as_deref(),
        },
    )?;
    Ok(
        if checked.summary.rejected > 0 || checked.findings.has_errors() {
            Outcome::Findings
        } else {
            Outcome::Clean
        },
    )
}
