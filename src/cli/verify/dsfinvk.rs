//! `fiskal verify dsfinvk DIR|ZIP`: check any DSFinV-K export as strictly as the auditors'
//! import and reconciliation (docs/dsfinvk.md, codes in docs/dsfinvk-verify.md).
//!
//! Human output groups the findings by code with their count and the first examples; JSON
//! gives one object per finding, then a summary. Exit 0 when no finding has error severity, 1
//! when one does, 2 when the input is not an export (not a directory or zip, no index.xml, an
//! unreadable index.xml).

use std::path::PathBuf;

use anyhow::Context;

use super::super::Outcome;
use super::Grouped;
use crate::export::dsfinvk::check::{self, Finding, catalog};
use crate::output::Output;

/// Arguments of `fiskal verify dsfinvk`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal verify dsfinvk export.zip\n  fiskal verify dsfinvk export/ --format json | jq 'select(.type == \"dsfinvk_finding\")'"
)]
pub struct Args {
    /// The export: a directory or a zip holding index.xml and the CSV files.
    pub input: PathBuf,
    /// Examples shown per code in human output.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

/// One finding as a person reads it.
fn human_line(f: &Finding) -> String {
    let mut place = f.file.clone();
    if let Some(l) = f.line {
        place += &format!(":{l}");
    }
    if let Some(c) = &f.column {
        place += &format!(" {c}");
    }
    format!("    {place}: expected {}, found {}", f.expected, f.found)
}

/// Runs `fiskal verify dsfinvk`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let mut grouped = Grouped::new(out, "dsfinvk_finding", args.examples);
    let summary = check::check_path(&args.input, &mut |f| grouped.take(out, f.code, f))
        .with_context(|| format!("cannot check {}", args.input.display()))?;
    grouped.print(out, &summary.findings, catalog::check, human_line)?;
    let rows: u64 = summary.rows.values().sum();
    out.human(&format!(
        "\n{} tables, {rows} rows, {} closings, {} TSE signatures verified: {} errors, {} warnings",
        summary.rows.len(),
        summary.closings,
        summary.tse_verified,
        summary.errors,
        summary.warnings
    ))?;
    out.json("dsfinvk_summary", &summary)?;
    Ok(if summary.errors == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
