//! `fiskal check`: read histories and report what was read.
//!
//! Prints records per shape, regime, register, type and state, the period covered, every
//! rejected record with file, line, field and reason, and which registers lack master data.
//! Writes nothing. Exit 0 when every record was accepted, 1 when any was rejected, 2 when
//! nothing could be read or the master data is broken.

use serde::Serialize;

use super::Outcome;
use super::common::{self, InputArgs};
use crate::output::Output;

/// Arguments of `fiskal check`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal check fixtures/demo\n  fiskal check dump.ndjson.gz --json | jq 'select(.type==\"reject\")'\n  fiskal check export.zip --master-data masterdata.toml"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Serialize)]
struct MasterDataStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    registers_without_master_data: Vec<String>,
}

/// Runs `fiskal check`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let summary = common::ingest_inputs(&args.input, out, &mut |_| Ok(()), &mut |_| Ok(()))?;
    let md = common::load_master_data(&args.input, &summary)?;
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
    out.json("summary", &summary)?;
    out.json(
        "master_data",
        &MasterDataStatus {
            path: md.as_ref().map(|(p, _)| p.display().to_string()),
            registers_without_master_data: missing,
        },
    )?;
    Ok(if summary.rejected > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
