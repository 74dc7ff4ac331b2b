//! `fiskal synth`: write a deterministic synthetic history.
//!
//! Writes one NDJSON file per register, `masterdata.toml`, and `_injected.json` (the planted
//! anomalies, if any) into `--out`. The same options always give byte-identical files.
//! Exit 0 on success, 2 on bad options or I/O errors.

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;

use super::Outcome;
use crate::output::Output;
use crate::synth::{self, Anomaly, SynthOptions, SynthRegime, SynthShape};

/// Arguments of `fiskal synth`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal synth --out fixtures/demo --regime mixed --shape mixed --registers 6 --days 3 --seed 7\n  fiskal synth --out big/ --registers 50 --days 30 --ops-per-day 800 --regime kassensichv\n  fiskal synth --out bad/ --inject total-mismatch --inject sequence-gap"
)]
pub struct Args {
    /// Number of registers.
    #[arg(long, default_value_t = 3)]
    registers: u32,
    /// Number of business days per register.
    #[arg(long, default_value_t = 3)]
    days: u32,
    /// Goods operations per register and day (session and cash operations come on top).
    #[arg(long, default_value_t = 40)]
    ops_per_day: u32,
    /// Random seed; the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fiscal regime of the registers (`mixed` cycles DE, AT, IT).
    #[arg(long, value_enum, default_value_t = SynthRegime::Mixed)]
    regime: SynthRegime,
    /// API shape (`mixed`: even registers register-scoped, odd ones /operations).
    #[arg(long, value_enum, default_value_t = SynthShape::Register)]
    shape: SynthShape,
    /// First business day (YYYY-MM-DD).
    #[arg(long, default_value = "2026-03-02")]
    start: NaiveDate,
    /// Plant one named anomaly (repeatable).
    #[arg(long, value_enum)]
    inject: Vec<Anomaly>,
    /// Write German TSE and Austrian RKSV signatures as placeholder bytes instead of signing
    /// (fast, for volume benchmarks; the data then verifies only with `--no-signatures`).
    #[arg(long, alias = "placeholder-tse-signatures")]
    placeholder_signatures: bool,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs `fiskal synth`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let opts = SynthOptions {
        registers: args.registers,
        days: args.days,
        ops_per_day: args.ops_per_day,
        seed: args.seed,
        regime: args.regime,
        shape: args.shape,
        start: args.start,
        inject: args.inject.clone(),
        placeholder_tse_signatures: args.placeholder_signatures,
        out: args.out.clone(),
    };
    let expected = u64::from(args.registers) * u64::from(args.days) * u64::from(args.ops_per_day);
    let bar = out.progress(Some(expected), "generating");
    let summary = synth::generate(&opts, &|n| bar.inc(n))
        .with_context(|| format!("generating into {}", args.out.display()))?;
    bar.finish_and_clear();
    out.human(&format!(
        "wrote {} operations in {} files to {}",
        summary.n_operations,
        summary.files.len(),
        args.out.display()
    ))?;
    for i in &summary.injected {
        out.human(&format!(
            "injected {:?} on {} in {}: {}",
            i.anomaly, i.register_id, i.operation_id, i.description
        ))?;
    }
    #[derive(serde::Serialize)]
    struct Done<'a> {
        out: String,
        operations: u64,
        files: Vec<String>,
        injected: &'a [synth::Injected],
    }
    out.json(
        "synth",
        &Done {
            out: args.out.display().to_string(),
            operations: summary.n_operations,
            files: summary
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            injected: &summary.injected,
        },
    )?;
    Ok(Outcome::Clean)
}
