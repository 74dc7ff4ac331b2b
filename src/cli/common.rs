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
    /// Keep only the registers of shard I of N (counted from 0): those whose stable hash of the
    /// register id falls in it, so that N processes over the same inputs split the work
    /// without overlap and `fiskal merge` can combine their outputs (docs/sharding.md).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ingest::Shard>,
}

impl InputArgs {
    /// The shard to keep (all of the input without `--shard`).
    pub fn shard(&self) -> ingest::Shard {
        self.shard.unwrap_or(ingest::Shard::WHOLE)
    }
}

/// Validation options.
#[derive(clap::Args, Debug, Clone)]
pub struct ValidateArgs {
    /// Configuration (tolerances, severities, disabled rules; docs/config.md). Default:
    /// `fiskal.toml` in the current directory, if there is one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Leave fiscal signatures (TSE, RKSV) unverified: every other check runs, including
    /// counters, chains and the signed amounts. For a fast pass, or data without keys.
    #[arg(long)]
    pub no_signatures: bool,
}

impl ValidateArgs {
    /// The configuration file in use: `--config`, else `fiskal.toml` if there is one.
    pub fn path(&self) -> Option<PathBuf> {
        match &self.config {
            Some(p) => Some(p.clone()),
            None if Path::new("fiskal.toml").is_file() => Some(PathBuf::from("fiskal.toml")),
            None => None,
        }
    }

    /// The configuration to validate with.
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut config = match self.path() {
            Some(path) => Config::load(&path)?,
            None => Config::default(),
        };
        config.skip_signatures = self.no_signatures;
        Ok(config)
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
    let c = check_inputs_with(input, config, md, None, out, on_reject, on_finding, on_op)?;
    Ok((c.summary, c.findings))
}

/// What [`check_inputs_with`] found.
pub struct Checked {
    /// What was read.
    pub summary: InputSummary,
    /// What was found.
    pub findings: FindingSummary,
    /// For a night: what the next night goes on from.
    pub carry: Option<crate::validate::Carry>,
    /// Operations an earlier night already audited, passed over.
    pub already_audited: u64,
    /// The cash reconciliation of every register session seen.
    pub sessions: Vec<crate::validate::Reconciliation>,
}

/// One night of `audit --state`: the validator's state from the nights before, and whether
/// this night ends the history (what still waits for a later night is then reported too).
pub struct NightRun {
    /// The carried validator state.
    pub carry: crate::validate::Carry,
    /// `--final`.
    pub last: bool,
}

/// [`check_inputs`], or with `night` one night of an incremental run: the validator goes on
/// from the carry, operations an earlier night audited are passed over (counted, not handed
/// on), and what a later night may still resolve is returned instead of reported.
#[allow(clippy::too_many_arguments)]
pub fn check_inputs_with(
    input: &InputArgs,
    config: Config,
    md: Option<&MasterData>,
    night: Option<NightRun>,
    out: &mut Output,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    on_finding: &mut dyn FnMut(&Finding) -> anyhow::Result<()>,
    on_op: &mut dyn FnMut(Operation),
) -> anyhow::Result<Checked> {
    let (mut validator, last) = match night {
        Some(n) => (Validator::resume(config.clone(), md, n.carry), Some(n.last)),
        None => (Validator::with_master_data(config.clone(), md), None),
    };
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
    let mut already_audited = 0;
    let summary = ingest_inputs(input, out, on_reject, &mut |op, out| {
        // The readers refuse a repeated id within the run, so a known id is one an
        // earlier night audited: fetch windows that overlap must not count twice.
        if last.is_some() && validator.audited_before(&op.id) {
            already_audited += 1;
            return Ok(());
        }
        validator.push(&op, &mut |f| handle(f, out));
        on_op(op);
        Ok(())
    })?;
    let sessions = validator.reconciliations();
    let carry = match last {
        None => {
            validator.finish(&mut |f| handle(f, out));
            None
        }
        Some(last) => {
            let carry = validator.finish_carry(&mut |f| handle(f, out));
            if last {
                carry
                    .clone()
                    .report_open(config, md, &mut |f| handle(f, out));
            }
            Some(carry)
        }
    };
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Checked {
        summary,
        findings,
        carry,
        already_audited,
        sessions,
    })
}

/// Reads all inputs, printing every rejection as it streams by and handing every accepted
/// operation to `on_op`. Returns the summary.
pub fn ingest_inputs(
    input: &InputArgs,
    out: &mut Output,
    on_reject: &mut dyn FnMut(&Reject) -> anyhow::Result<()>,
    on_op: &mut dyn FnMut(Operation, &mut Output) -> anyhow::Result<()>,
) -> anyhow::Result<InputSummary> {
    let mut summary = InputSummary::default();
    let bar = out.progress(None, "reading");
    let mut failure: Option<anyhow::Error> = None;
    let files = ingest::read_with(&input.inputs, input.shard(), &mut |item| {
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
