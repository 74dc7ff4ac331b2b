//! Synthetic operation histories (`fiskal synth`): deterministic test data in both API shapes.
//!
//! fiskal needs large, realistic and reproducible histories to test its readers, validators,
//! regime verifiers and exporters, and real POS data cannot be shared. [`generate`] writes, for
//! each register, one NDJSON file of operations in the wire contract of docs/input.md, plus the
//! master data that describes the registers and their fiscal devices, and a list of the
//! anomalies it planted on request. The same options always give byte-identical files, on any
//! machine and with any number of threads. docs/synth.md describes the content and the money
//! identities every clean operation satisfies.
//!
//! Layout: `catalog` (what is sold, VAT per country), `cart` (receipt arithmetic), `op` (one
//! operation, shape-neutral), `fiscal` (TSE/RKSV/RT blocks), `sim` (one register's days),
//! `wire_register` and `wire_ops` (the two JSON shapes, over the streaming writer `json`),
//! `inject` (where anomalies go), `masterdata`, and small helpers (`rng`, `text`).

use std::path::{Path, PathBuf};

use chrono::Datelike;
use rayon::prelude::*;
use serde::Serialize;

mod cart;
mod catalog;
mod fiscal;
mod inject;
mod json;
mod masterdata;
mod op;
mod rng;
mod sim;
mod text;
mod wire_ops;
mod wire_register;

#[cfg(test)]
mod tests;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Number of registers (one output file each).
    pub registers: u32,
    /// Number of consecutive business days per register.
    pub days: u32,
    /// Goods operations (sales, returns, …) per register and day; session and cash operations
    /// come on top.
    pub ops_per_day: u32,
    /// Seed of all randomness; the same seed gives the same bytes.
    pub seed: u64,
    /// Fiscal regime of the registers.
    pub regime: SynthRegime,
    /// Wire shape of the registers' files.
    pub shape: SynthShape,
    /// First business day.
    pub start: chrono::NaiveDate,
    /// Anomalies to plant, one instance each.
    pub inject: Vec<Anomaly>,
    /// German TSE and Austrian RKSV signatures as deterministic placeholder bytes of the
    /// right size instead of real signatures: every other field, the RKSV chaining value and
    /// encrypted turnover counter included, is as signed data would have it. For volume
    /// benchmarks audited with `--no-signatures`, where ECDSA signing would take most of the
    /// generation time. (The name predates the Austrian part; `--placeholder-signatures`.)
    pub placeholder_tse_signatures: bool,
    /// Output directory (created if missing; files of the same names are replaced).
    pub out: PathBuf,
}

/// Fiscal regime of the generated registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SynthRegime {
    /// Germany: TSE-signed operations (KassenSichV, DSFinV-K).
    Kassensichv,
    /// Austria: RKSV receipts with machine-readable code.
    Rksv,
    /// Italy: RT documents (documento commerciale).
    Rt,
    /// Register i gets Germany, Austria, Italy in turn (i mod 3).
    Mixed,
}

/// Wire shape of the generated files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SynthShape {
    /// `GET /registers/{id}/operations`: integer minor units, `data` blocks.
    Register,
    /// `/operations` v1.1: decimal strings, sessions.
    Operations,
    /// Even registers register-scoped, odd registers v1.1.
    Mixed,
}

/// A deliberate error planted into an otherwise clean history.
///
/// Each one breaks exactly one rule of the validator on exactly one operation (the one named
/// in [`INJECTED_FILE`]); docs/synth.md lists the rule per anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anomaly {
    /// An operation's total differs from the sum of its lines by 0.01.
    TotalMismatch,
    /// A line's VAT is off by 0.01.
    TaxMismatch,
    /// A register's sequence number skips one (a fiscal counter when no register-scoped
    /// register exists).
    SequenceGap,
    /// An operation reuses the id of an earlier one.
    DuplicateId,
    /// A v1.1 cash count states a wrong expected amount.
    CashCountError,
    /// A return references an operation that does not exist.
    DanglingReference,
    /// Payments do not add up to the total.
    PaymentMismatch,
    /// A TSE transaction counter, RKSV receipt number or RT progressive number skips one.
    FiscalCounterGap,
    /// The last goods operation of the history is a sale left open.
    OpenAtEnd,
    /// A v1.1 session is never counted nor closed; the next day opens a new one anyway.
    UnclosedSession,
    /// An operation's timestamps lie two hours before those of the operation before it.
    ClockBackwards,
    /// A completed sale was not fiscalised (fiscalisation failed).
    FiscalFailed,
    /// A return takes back one unit more than the sale sold.
    OverReturn,
    /// A sale line carries a VAT rate that does not exist in the country on that date.
    VatRate,
    /// A register-shape void targets a sale that was already voided.
    DoubleVoid,
    /// A German sale's TSE finish signature has one bit flipped.
    BadSignature,
    /// A German sale's TSE signed amounts 1.00 higher than the sale's lines and payments
    /// (a valid signature over the wrong processData).
    WrongProcessData,
    /// An Italian sale's printed RT document number is not its `ZZZZ-NNNN`: in the v1.1 shape
    /// it names the next progressive number while the block's counters are right, in the
    /// register shape (the number is all the block has) it lacks the zero padding.
    RtDocumentNumber,
}

impl Anomaly {
    /// Every anomaly, in declaration order.
    pub const ALL: [Anomaly; 18] = [
        Anomaly::TotalMismatch,
        Anomaly::TaxMismatch,
        Anomaly::SequenceGap,
        Anomaly::DuplicateId,
        Anomaly::CashCountError,
        Anomaly::DanglingReference,
        Anomaly::PaymentMismatch,
        Anomaly::FiscalCounterGap,
        Anomaly::OpenAtEnd,
        Anomaly::UnclosedSession,
        Anomaly::ClockBackwards,
        Anomaly::FiscalFailed,
        Anomaly::OverReturn,
        Anomaly::VatRate,
        Anomaly::DoubleVoid,
        Anomaly::BadSignature,
        Anomaly::WrongProcessData,
        Anomaly::RtDocumentNumber,
    ];
}

/// The kebab-case name of an anomaly, as on the command line and in [`INJECTED_FILE`].
pub(crate) fn anomaly_name(a: Anomaly) -> &'static str {
    match a {
        Anomaly::TotalMismatch => "total-mismatch",
        Anomaly::TaxMismatch => "tax-mismatch",
        Anomaly::SequenceGap => "sequence-gap",
        Anomaly::DuplicateId => "duplicate-id",
        Anomaly::CashCountError => "cash-count-error",
        Anomaly::DanglingReference => "dangling-reference",
        Anomaly::PaymentMismatch => "payment-mismatch",
        Anomaly::FiscalCounterGap => "fiscal-counter-gap",
        Anomaly::OpenAtEnd => "open-at-end",
        Anomaly::UnclosedSession => "unclosed-session",
        Anomaly::ClockBackwards => "clock-backwards",
        Anomaly::FiscalFailed => "fiscal-failed",
        Anomaly::OverReturn => "over-return",
        Anomaly::VatRate => "vat-rate",
        Anomaly::DoubleVoid => "double-void",
        Anomaly::BadSignature => "bad-signature",
        Anomaly::WrongProcessData => "wrong-process-data",
        Anomaly::RtDocumentNumber => "rt-document-number",
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug)]
pub struct SynthSummary {
    /// Every file written: `masterdata.toml`, one `<register_id>.ndjson` per register, then
    /// [`INJECTED_FILE`].
    pub files: Vec<PathBuf>,
    /// Operations written over all registers.
    pub n_operations: u64,
    /// Operations per register id, in register order.
    pub per_register: Vec<(String, u64)>,
    /// The anomalies planted, in the order requested (duplicates requested once).
    pub injected: Vec<Injected>,
}

/// One planted anomaly, as listed in [`INJECTED_FILE`].
#[derive(Clone, Debug, Serialize)]
pub struct Injected {
    /// Which anomaly.
    pub anomaly: Anomaly,
    /// The register whose file carries it.
    pub register_id: String,
    /// The operation that carries it.
    pub operation_id: String,
    /// The validator rule it breaks (`TOT003`, `FIS003`, …), the only finding the validator
    /// should report for it; `None` for `duplicate-id`, which the readers reject before any
    /// rule runs.
    pub rule: Option<&'static str>,
    /// What exactly is wrong, and by how much.
    pub description: String,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The options cannot produce a history.
    #[error("invalid synth options: {0}")]
    InvalidOptions(String),
}

/// File name of the list of planted anomalies in the output directory. The leading `_` makes
/// the readers skip it (`ingest::dump` treats `_`-prefixed files as metadata), so reading an
/// output directory back yields only operations.
pub const INJECTED_FILE: &str = "_injected.json";

/// Largest `ops_per_day`: keeps at least about a second between operations in a business day.
const MAX_OPS_PER_DAY: u32 = 20_000;
/// Largest `days` (ten years): RT daily closing numbers have four digits.
const MAX_DAYS: u32 = 3660;
/// Largest `registers`.
const MAX_REGISTERS: u32 = 9_999;

fn check(opts: &SynthOptions) -> Result<(), Error> {
    let bad = |m: String| Err(Error::InvalidOptions(m));
    if opts.registers == 0 || opts.registers > MAX_REGISTERS {
        return bad(format!(
            "--registers must be between 1 and {MAX_REGISTERS}, got {}",
            opts.registers
        ));
    }
    if opts.days == 0 || opts.days > MAX_DAYS {
        return bad(format!(
            "--days must be between 1 and {MAX_DAYS}, got {}",
            opts.days
        ));
    }
    if opts.ops_per_day == 0 || opts.ops_per_day > MAX_OPS_PER_DAY {
        return bad(format!(
            "--ops-per-day must be between 1 and {MAX_OPS_PER_DAY}, got {}",
            opts.ops_per_day
        ));
    }
    let last = opts
        .start
        .checked_add_days(chrono::Days::new(u64::from(opts.days)));
    if opts.start < chrono::NaiveDate::from_ymd_opt(1971, 1, 1).expect("valid date")
        || last.is_none_or(|d| d.year() > 9000)
    {
        return bad(format!(
            "--start {} with --days {} leaves the supported calendar",
            opts.start, opts.days
        ));
    }
    Ok(())
}

/// Generates the histories described by `opts` into `opts.out`.
///
/// Registers are simulated in parallel; each streams its operations to
/// `<out>/<register_id>.ndjson` through an [`AtomicFile`](crate::fsutil::AtomicFile), so a
/// failed run leaves no half-written file under a final name. `progress(n)` is called (from
/// any thread) each time `n` more operations have been written.
pub fn generate(
    opts: &SynthOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SynthSummary, Error> {
    check(opts)?;
    let (md, specs) = masterdata::build(opts);
    let plan = inject::plan(&opts.inject, &specs, opts.days, opts.ops_per_day)
        .map_err(Error::InvalidOptions)?;
    std::fs::create_dir_all(&opts.out).map_err(|source| Error::Io {
        path: opts.out.clone(),
        source,
    })?;

    let md_path = opts.out.join("masterdata.toml");
    write_file(&md_path, md.to_toml().as_bytes())?;

    let paths: Vec<PathBuf> = specs
        .iter()
        .map(|s| opts.out.join(format!("{}.ndjson", s.register_id)))
        .collect();
    let outcomes: Vec<sim::Outcome> = specs
        .par_iter()
        .zip(paths.par_iter())
        .map(|(spec, path)| {
            let mine = plan
                .iter()
                .filter(|p| p.register == spec.idx)
                .copied()
                .collect();
            sim::run(spec, opts, mine, path, progress)
        })
        .collect::<Result<_, _>>()?;

    // Report anomalies in the order they were asked for, whatever register carries them.
    let mut injected = Vec::with_capacity(plan.len());
    for p in &plan {
        let found = outcomes[p.register]
            .injected
            .iter()
            .find(|i| i.anomaly == p.anomaly)
            .expect("every planned anomaly is planted");
        injected.push(found.clone());
    }
    let inj_path = opts.out.join(INJECTED_FILE);
    let mut json = serde_json::to_vec_pretty(&injected).expect("Injected always serializes");
    json.push(b'\n');
    write_file(&inj_path, &json)?;

    let mut files = Vec::with_capacity(specs.len() + 2);
    files.push(md_path);
    files.extend(paths);
    files.push(inj_path);
    Ok(SynthSummary {
        files,
        n_operations: outcomes.iter().map(|o| o.n_ops).sum(),
        per_register: specs
            .iter()
            .zip(&outcomes)
            .map(|(s, o)| (s.register_id.clone(), o.n_ops))
            .collect(),
        injected,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::fsutil::write_atomic(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
