//! `fiskal verify dsfinvk DIR|ZIP`: check any DSFinV-K export as strictly as the auditors'
//! import and reconciliation (docs/dsfinvk.md, codes in docs/dsfinvk-verify.md).
//!
//! Human output groups the findings by code with their count and the first examples; JSON
//! gives one object per finding, then a summary. Exit 0 when no finding has error severity, 1
//! when one does, 2 when the input is not an export (not a directory or zip, no index.xml, an
//! unreadable index.xml).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

use super::super::Outcome;
use crate::export::dsfinvk::check::{self, Finding, catalog};
use crate::output::{Format, Output};

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
    let json = out.format() == Format::Json;
    let mut examples: BTreeMap<&'static str, Vec<Finding>> = BTreeMap::new();
    let mut write_error = None;
    let summary = check::check_path(&args.input, &mut |f| {
        if json {
            if let Err(e) = out.json("dsfinvk_finding", &f) {
                write_error.get_or_insert(e);
            }
        } else {
            let list = examples.entry(f.code).or_default();
            if list.len() < args.examples {
                list.push(f);
            }
        }
    })
    .with_context(|| format!("cannot check {}", args.input.display()))?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    for (code, count) in &summary.findings {
        let Some(c) = catalog::check(code) else {
            continue;
        };
        out.human(&format!("{code} {} ×{count}: {}", c.severity, c.title))?;
        for f in examples.get(code).into_iter().flatten() {
            out.human(&human_line(f))?;
        }
    }
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
