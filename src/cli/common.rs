//! Flag groups and steps shared by several subcommands.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::ingest::dump::InputFiles;
use crate::ingest::{self, Item, Reject};
use crate::model::masterdata::MasterData;
use crate::model::{Finding, Operation};
use crate::output::Output;
use crate::report::findings::FindingSummary;
use crate::report::summary::InputSummary;
use crate::validate::{Config, Validator};

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

/// Validation options.
#[derive(clap::Args, Debug, Clone)]
pub struct ValidateArgs {
    /// Configuration (tolerances, severities, disabled rules; docs/config.md). Default:
    /// `fiskal.toml` in the current directory, if there is one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ValidateArgs {
    /// The configuration to validate with.
    pub fn load(&self) -> anyhow::Result<Config> {
        let path = match &self.config {
            Some(p) => p.clone(),
            None if Path::new("fiskal.toml").is_file() => PathBuf::from("fiskal.toml"),
            None => return Ok(Config::default()),
        };
        Ok(Config::load(&path)?)
    }
}

/// Reads and validates all inputs: rejections and findings are printed (JSON mode: as they
/// come; human mode: rejections as they come, findings grouped at the end) and handed to the
/// callbacks, every accepted operation to `on_op` after validation. Returns the input and
/// findings summaries.
pub fn check_inputs(
    input: &InputArgs,
    config: Config,
    md: Option<&MasterData>,
    out: &mut Output,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    on_finding: &mut dyn FnMut(&Finding) -> anyhow::Result<()>,
    on_op: &mut dyn FnMut(Operation),
) -> anyhow::Result<(InputSummary, FindingSummary)> {
    let mut validator = Validator::with_master_data(config, md);
    let mut findings = FindingSummary::default();
    let mut failure: Option<anyhow::Error> = None;
    let mut handle = |f: Finding, out: &mut Output| {
        if failure.is_none() {
            findings.add(&f);
            let r = out
                .json("finding", &f)
                .map_err(anyhow::Error::from)
                .and_then(|()| on_finding(&f));
            if let Err(e) = r {
                failure = Some(e);
            }
        }
    };
    let summary = ingest_inputs(
        input,
        ingest::Mode::Streaming,
        out,
        on_reject,
        &mut |op, out| {
            validator.push(&op, &mut |f| handle(f, out));
            on_op(op);
            Ok(())
        },
    )?;
    validator.finish(&mut |f| handle(f, out));
    if let Some(e) = failure {
        return Err(e);
    }
    Ok((summary, findings))
}

/// Reads all inputs, printing every rejection as it streams by and handing every accepted
/// operation to `on_op`. Returns the summary.
pub fn ingest_inputs(
    input: &InputArgs,
    mode: ingest::Mode,
    out: &mut Output,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    on_op: &mut dyn FnMut(Operation, &mut Output) -> anyhow::Result<()>,
) -> anyhow::Result<InputSummary> {
    let mut summary = InputSummary::default();
    let bar = out.progress(None, "reading");
    let mut failure: Option<anyhow::Error> = None;
    let files = ingest::read_with(&input.inputs, mode, &mut |item| {
        if failure.is_some() {
            return;
        }
        bar.inc(1);
        let result = match item {
            Item::Operation(op) => {
                summary.add(&op);
                on_op(*op, out)
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
///
/// Looked up before any data is read (a directory walk, no parsing), because the validator
/// needs the TSE keys of older API shapes while the operations stream by.
pub fn load_master_data(input: &InputArgs) -> anyhow::Result<Option<(PathBuf, MasterData)>> {
    let mut files = InputFiles::default();
    if input.master_data.is_none() {
        crate::ingest::dump::collect_files(&input.inputs, &mut files);
    }
    let path = match (&input.master_data, files.master_data.as_slice()) {
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
