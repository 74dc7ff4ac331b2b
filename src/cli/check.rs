//! `fiskal check`: read histories and report what was read.
//!
//! Prints records per shape, regime, register, type and state, the period covered, every
//! rejected record with file, line, field and reason, which registers lack master data, and
//! the findings of every validation rule (docs/rules.md), grouped by rule with the first
//! examples. Writes nothing. Exit 0 when clean, 1 when a record was rejected or a finding is
//! of error severity, 2 when nothing could be read or the master data or configuration is
//! broken.

use serde::Serialize;

use super::Outcome;
use super::common::{self, InputArgs, ValidateArgs};
use crate::output::Output;

/// Arguments of `fiskal check`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal check fixtures/demo\n  fiskal check dump.ndjson.gz --json | jq 'select(.type==\"reject\")'\n  fiskal check export.zip --master-data masterdata.toml --config fiskal.toml"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    validate: ValidateArgs,
}

#[derive(Serialize)]
struct MasterDataStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    registers_without_master_data: Vec<String>,
}

/// Runs `fiskal check`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let config = args.validate.load()?;
    let md = common::load_master_data(&args.input)?;
    let (summary, findings) = common::check_inputs(
        &args.input,
        config,
        md.as_ref().map(|(_, m)| m),
        out,
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &mut |_| {},
    )?;
    let missing = common::registers_without_master_data(&summary, md.as_ref().map(|(_, m)| m));
    out.human(&summary.render_human())?;
    if md.is_none() {
        out.human("\nno master data given: exports will need one (docs/masterdata.md)")?;
    } else if !missing.is_empty() {
        out.human(&format!(
            "\nregisters without master data: {}",
            missing.join(", ")
        ))?;
    }
    out.human(&format!("\n{}", findings.render_human()))?;
    out.json("summary", &summary)?;
    out.json("findings_summary", &findings)?;
    out.json(
        "master_data",
        &MasterDataStatus {
            path: md.as_ref().map(|(p, _)| p.display().to_string()),
            registers_without_master_data: missing,
        },
    )?;
    Ok(if summary.rejected > 0 || findings.has_errors() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
