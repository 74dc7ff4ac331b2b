//! Flag groups and steps shared by several subcommands.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::ingest::{self, Item, Reject};
use crate::model::Operation;
use crate::model::masterdata::MasterData;
use crate::output::Output;
use crate::report::summary::InputSummary;

/// Inputs: dumps and master data.
#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Dump files or directories: NDJSON, JSON arrays, single operations or list pages, any of
    /// them gzip-compressed, zip archives of them; directories are read recursively in sorted
    /// order.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Master-data file (TOML or JSON, docs/masterdata.md). Default: a `masterdata.toml` or
    /// `masterdata.json` found in an input directory.
    #[arg(long, value_name = "FILE")]
    pub master_data: Option<PathBuf>,
}

/// Reads all inputs, printing every rejection as it streams by and handing every accepted
/// operation to `on_op`. Returns the summary.
pub fn ingest_inputs(
    input: &InputArgs,
    out: &mut Output,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    on_op: &mut dyn FnMut(Operation) -> anyhow::Result<()>,
) -> anyhow::Result<InputSummary> {
    let mut summary = InputSummary::default();
    let bar = out.progress(None, "reading");
    let mut failure: Option<anyhow::Error> = None;
    let files = ingest::read(&input.inputs, &mut |item| {
        if failure.is_some() {
            return;
        }
        bar.inc(1);
        let result = match item {
            Item::Operation(op) => {
                summary.add(&op);
                on_op(*op)
            }
            Item::Reject(r) => {
                summary.add_reject(&r);
                bar.suspend(|| {
                    out.human(&format!("rejected: {r}"))?;
                    out.json("reject", &r)
                })
                .map_err(anyhow::Error::from)
                .and_then(|()| on_reject(&r))
            }
        };
        if let Err(e) = result {
            failure = Some(e);
        }
    })?;
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    summary.files = files;
    summary.finish();
    Ok(summary)
}

/// The master data to use: `--master-data`, else the one found in an input directory.
pub fn load_master_data(
    input: &InputArgs,
    summary: &InputSummary,
) -> anyhow::Result<Option<(PathBuf, MasterData)>> {
    let path = match (&input.master_data, summary.files.master_data.as_slice()) {
        (Some(p), _) => p.clone(),
        (None, []) => return Ok(None),
        (None, [one]) => one.clone(),
        (None, many) => bail!(
            "several master-data files found ({}); name the one to use with --master-data",
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let md = MasterData::load(&path)
        .with_context(|| format!("loading master data {}", path.display()))?;
    Ok(Some((path, md)))
}

/// Registers in the input that the master data does not describe.
pub fn registers_without_master_data(
    summary: &InputSummary,
    md: Option<&MasterData>,
) -> Vec<String> {
    summary
        .by_register
        .keys()
        .filter(|id| !id.starts_with('('))
        .filter(|id| md.is_none_or(|m| m.register(id).is_none()))
        .cloned()
        .collect()
}
