//! `fiskal export dsfinvk`: the DSFinV-K archives of every KassenSichV register in the input.
//!
//! Reads the histories, gathers each German register's operations, groups them into closings
//! and writes `<register_id>_<first day>_<last day>.zip` per register into `--out`
//! (docs/dsfinvk.md, docs/dsfinvk-mapping.md). Archives are written to a temporary name and
//! renamed when complete. Exit 0 when every register was exported from clean input, 1 when a
//! record was rejected, 2 when nothing could be read, the master data lacks a register being
//! exported (the Stamm tables need it) or an operation cannot be expressed in DSFinV-K.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;

use super::super::Outcome;
use super::super::common::{self, InputArgs};
use crate::export::ZTotals;
use crate::export::dsfinvk::{self, Collector, Options};
use crate::model::Operation;
use crate::model::masterdata::MasterData;
use crate::output::Output;

/// Arguments of `fiskal export dsfinvk`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal export dsfinvk fixtures/demo --out dsfinvk/\n  fiskal export dsfinvk dumps/ --master-data md.toml --out out/ --cutoff-hour 4 --json"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Directory to write the archives into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Local hour (0–23) at which a business day starts, for registers without session
    /// records (one closing per business day).
    #[arg(long, value_name = "H", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..24))]
    cutoff_hour: u32,
}

/// One written archive, as printed with `--format json` and listed in the audit summary.
#[derive(Debug, Clone, Serialize)]
pub struct Archive {
    /// The register.
    pub register: String,
    /// Path of the zip.
    pub path: String,
    /// Business day of the first and last closing.
    pub first_day: String,
    /// Business day of the last closing.
    pub last_day: String,
    /// Number of closings (Kassenabschlüsse).
    pub closings: usize,
    /// Number of Vorgänge (transactions.csv rows).
    pub transactions: usize,
    /// Operations in no closing (sessions not yet closed).
    pub operations_not_closed: usize,
    /// Each closing's totals as the archive states them, `file` the same string as `path`
    /// (kept so by [`Archive::set_path`]). Not part of summary.json or `--json` output.
    #[serde(skip)]
    pub z: Vec<ZTotals>,
}

impl Archive {
    /// Sets `path` and the `file` of every closing's totals to it, so that the report finds
    /// a closing under the path the summary lists its archive by.
    pub fn set_path(&mut self, path: String) {
        for z in &mut self.z {
            z.file.clone_from(&path);
        }
        self.path = path;
    }
}

/// Exports every register `collected` holds into `dir`; returns the archives written, in
/// register order. Registers without a complete closing are skipped.
///
/// Each register is read back, built and written by one thread, so that memory holds a
/// register per thread. When a register fails, the archives of the registers after it (in
/// register order) are removed again and the first failure is returned, so that the same
/// files are left behind as by a run that stopped at the failure.
pub fn write_all(
    collected: dsfinvk::Collected,
    md: &MasterData,
    options: &Options,
    dir: &Path,
) -> Result<Vec<Archive>, dsfinvk::Error> {
    let dsfinvk::Collected { registers, spill } = collected;
    let written: Vec<Result<Option<Archive>, dsfinvk::Error>> = registers
        .into_par_iter()
        .map(|g| {
            let register = g.register.clone();
            let ops = spill.load(g)?;
            build(&register, ops, md, options)?
                .map(|b| b.write(dir))
                .transpose()
        })
        .collect();
    let mut archives = Vec::new();
    let mut failure = None;
    for w in written {
        match (w, &failure) {
            (Ok(Some(a)), None) => archives.push(a),
            (Ok(None), _) => {}
            (Ok(Some(a)), Some(_)) => {
                let _ = std::fs::remove_file(&a.path);
            }
            (Err(e), None) => failure = Some(e),
            (Err(_), Some(_)) => {}
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(archives),
    }
}

/// One register's archive, built in memory and not written yet.
pub struct Built {
    archive: Archive,
    file_name: String,
    bytes: Vec<u8>,
}

/// Builds the archive of one register, `None` when it has no complete closing.
pub fn build(
    register: &str,
    ops: Vec<Operation>,
    md: &MasterData,
    options: &Options,
) -> Result<Option<Built>, dsfinvk::Error> {
    Ok(build_continuing(
        register,
        ops,
        md,
        options,
        &dsfinvk::Continuation::default(),
    )?
    .map(|(b, _)| b))
}

/// [`build`] going on from an earlier export of the register (`audit --state`); with the
/// continuation the next export goes on from.
///
/// Takes the operations so as to drop them once the rows are built: the rows, the CSVs and
/// the archive then have the memory the operations had.
pub fn build_continuing(
    register: &str,
    ops: Vec<Operation>,
    md: &MasterData,
    options: &Options,
    earlier: &dsfinvk::Continuation,
) -> Result<Option<(Built, dsfinvk::Continuation)>, dsfinvk::Error> {
    let Some(mut e) = dsfinvk::export_continuing(register, &ops, md, options, earlier)? else {
        return Ok(None);
    };
    drop(ops);
    let bytes = e.to_zip()?;
    let continuation = std::mem::take(&mut e.continuation);
    Ok(Some((
        Built {
            archive: Archive {
                register: register.to_string(),
                path: String::new(),
                first_day: e.first_day.to_string(),
                last_day: e.last_day.to_string(),
                closings: e.n_closings,
                transactions: e.n_vorgaenge,
                operations_not_closed: e.left_out,
                z: e.z_totals(),
            },
            file_name: e.file_name(),
            bytes,
        },
        continuation,
    )))
}

impl Built {
    /// Writes the archive into `dir` (through a temporary file renamed when complete).
    pub fn write(self, dir: &Path) -> Result<Archive, dsfinvk::Error> {
        let path = dir.join(&self.file_name);
        crate::fsutil::write_atomic(&path, &self.bytes).map_err(|source| dsfinvk::Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut archive = self.archive;
        archive.set_path(path.display().to_string());
        Ok(archive)
    }
}

/// Runs `fiskal export dsfinvk`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let md = common::load_master_data(&args.input)?;
    // The archives go here, and so does the collector's spill file (same file system, and
    // not a RAM-backed /tmp).
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut collector = Collector::spilling_to(&args.out);
    let summary = common::ingest_inputs(&args.input, out, &mut |_| Ok(()), &mut |op, _| {
        collector.push(op);
        Ok(())
    })?;
    let collected = collector.finish();
    if let Some(missing) = collected
        .registers
        .iter()
        .map(|g| g.register.as_str())
        .find(|r| md.as_ref().is_none_or(|(_, m)| m.register(r).is_none()))
    {
        anyhow::bail!(
            "register {missing}: no master data (the DSFinV-K Stamm tables need merchant, \
             location and register; pass --master-data, docs/masterdata.md)"
        );
    }
    let options = Options {
        cutoff_hour: args.cutoff_hour,
    };
    let archives = match &md {
        Some((_, m)) => write_all(collected, m, &options, &args.out)?,
        None => Vec::new(),
    };
    if archives.is_empty() {
        out.human("no KassenSichV register with a complete closing in the input")?;
    }
    for a in &archives {
        out.human(&format!(
            "wrote {} ({} closings, {} transactions, {} to {}{})",
            a.path,
            a.closings,
            a.transactions,
            a.first_day,
            a.last_day,
            if a.operations_not_closed > 0 {
                format!(
                    "; {} operations of sessions not closed left out",
                    a.operations_not_closed
                )
            } else {
                String::new()
            }
        ))?;
        out.json("archive", a)?;
    }
    Ok(if summary.rejected > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
