//! `fiskal export parquet`: the canonical data as Parquet tables for DuckDB, Python and R.
//!
//! Reads and validates the histories as `check` does and writes `operations.parquet`,
//! `lines.parquet`, `payments.parquet`, `sessions.parquet` and `findings.parquet` into `--out`
//! (docs/parquet.md), each under a temporary name until all five are complete. Exit 0 from
//! clean input, 1 when a record was rejected or a finding of error severity was written, 2 when
//! nothing could be read, a file cannot be written or a value has no exact representation in
//! its column (a decimal with more than nine fraction digits, an instant finer than a
//! microsecond), naming the operation and the column.

use std::path::PathBuf;

use anyhow::Context;

use super::super::Outcome;
use super::super::common::{self, InputArgs, ValidateArgs};
use crate::export::parquet::{TableFile, Writer};
use crate::output::Output;

/// Arguments of `fiskal export parquet`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal export parquet fixtures/demo --out tables/\n  fiskal export parquet dumps/ --master-data md.toml --out out/ --json\n  duckdb -c \"SELECT kind, sum(total_gross) FROM 'tables/operations.parquet' GROUP BY kind\""
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    validate: ValidateArgs,
    /// Directory to write the five tables into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs `fiskal export parquet`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let md = common::load_master_data(&args.input)?;
    let md = md.as_ref().map(|(_, m)| m);
    let config = args.validate.load()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = Writer::create(&args.out)?;
    // The operation callback cannot fail, so its first error waits here and later
    // operations are passed over.
    let mut failed: Option<crate::export::parquet::Error> = None;
    // Findings and operations both go to the writer, from two callbacks alive at once.
    let writer_cell = std::cell::RefCell::new(&mut writer);
    let checked = common::check_inputs_with(
        &args.input,
        config,
        md,
        None,
        out,
        &mut |_| Ok(()),
        &mut |f| Ok(writer_cell.borrow_mut().push_finding(f)?),
        &mut |op| {
            if failed.is_none()
                && let Err(e) = writer_cell.borrow_mut().push_operation(&op)
            {
                failed = Some(e);
            }
        },
    )?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    for s in &checked.sessions {
        writer.push_session(s)?;
    }
    let files = writer.finish()?;
    for f in &files {
        out.human(&human_line(f))?;
        out.json("parquet_table", f)?;
    }
    let findings = &checked.findings;
    out.human(&format!(
        "{} operations, {} records rejected; {} findings ({} errors, {} warnings, {} infos)",
        checked.summary.accepted,
        checked.summary.rejected,
        findings.errors + findings.warnings + findings.infos,
        findings.errors,
        findings.warnings,
        findings.infos
    ))?;
    Ok(if checked.summary.rejected > 0 || findings.has_errors() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// One line per table.
pub fn human_line(f: &TableFile) -> String {
    format!("wrote {} ({} rows)", f.path, f.rows)
}
