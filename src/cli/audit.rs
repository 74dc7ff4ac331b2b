//! `fiskal audit`: the main job.
//!
//! Reads the histories, validates them (docs/rules.md), and writes the audit directory:
//! `summary.json` (what was read, per register/regime/type, the period, master-data coverage,
//! findings per rule with the first examples, the DSFinV-K archives written),
//! `rejects.jsonl` (every rejected record with file, line, field and reason),
//! `findings.jsonl` (every finding) and `dsfinvk/<register>_<first day>_<last day>.zip` for
//! every KassenSichV register the master data describes (`fiskal export dsfinvk`), and
//! `dep7/dep7-<Kassen-ID>.json` for every RKSV cash box, verified after writing (`fiskal
//! export dep7`), and `rt/<matricola>_<ZZZZ>.xml` for every Italian daily closing when the master
//! data has a seal (`fiskal export rt`). A register whose export fails is listed with the error in summary.json and
//! makes the run exit 1.
//! Each file is written to a temporary name and renamed when complete, so an interrupted run
//! never leaves a file that looks finished. `manifest.json`, written last, lists every input
//! and output with its SHA-256. With `--state DIR` the run is one night of an incremental
//! audit: validation and exports continue from the state the nights before left, and the
//! next state is committed after the outputs (docs/nightly.md, `crate::nightly`). Exit codes
//! as for `check`.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;

use super::Outcome;
use super::common::{self, InputArgs, ValidateArgs};
use super::export::dep7::{Verified, verify_continuing};
use super::export::dsfinvk::{Archive, build_continuing};
use crate::export::dep7;
use crate::export::dsfinvk::{Collected, Collector, Continuation, Options, closing};
use crate::fsutil::AtomicFile;
use crate::nightly::manifest;
use crate::nightly::night::Night;
use crate::output::Output;
use crate::report::build::{Accumulator, Produced};
use crate::report::findings::FindingSummary;
use crate::report::summary::InputSummary;

/// Arguments of `fiskal audit`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal audit fixtures/demo --out out/\n  fiskal audit dumps/*.ndjson.gz --master-data md.toml --out audit-2026-03/ --json\n  fiskal audit night/2026-03-02.ndjson --master-data md.toml --state state/ --out audit/2026-03-02/"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    validate: ValidateArgs,
    /// Directory to write the audit output into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Nightly incremental run: continue from the state kept in DIR (created if missing) and
    /// save where this run stops, so that the inputs need only hold the new operations
    /// (docs/nightly.md).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    #[command(flatten)]
    report: super::report::ReportArgs,
    /// With --state: this night ends the history, so what still waits for a later night (a
    /// return whose sale never came, a session never closed) is reported now, as one run
    /// over everything reports it at its end.
    #[arg(long = "final", requires = "state")]
    last: bool,
}

#[derive(Serialize)]
struct AuditSummary<'a> {
    input: &'a InputSummary,
    master_data: MasterDataCoverage,
    findings: &'a FindingSummary,
    dsfinvk: DsfinvkSummary,
    dep7: Vec<Verified>,
    rt: RtSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<crate::nightly::night::StateSummary>,
}

#[derive(Serialize, Default)]
struct RtSummary {
    closings: Vec<super::export::rt::Verified>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    left_out: Vec<serde_json::Value>,
    /// Why no closing was written although the input has RT documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_written: Option<String>,
}

#[derive(Serialize, Default)]
struct DsfinvkSummary {
    archives: Vec<Archive>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ExportFailure>,
}

#[derive(Serialize)]
struct ExportFailure {
    register: String,
    error: String,
}

#[derive(Serialize)]
struct MasterDataCoverage {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    registers_without_master_data: Vec<String>,
}

/// Runs `fiskal audit`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let config = args.validate.load()?;
    let md = common::load_master_data(&args.input)?;
    let inputs = manifest::inputs(
        &args.input.inputs,
        md.as_ref().map(|(p, _)| p.as_path()),
        args.validate.path().as_deref(),
    )?;
    let mut night = match &args.state {
        Some(dir) => Some(Night::start(dir, &inputs)?),
        None => None,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let rejects_path = args.out.join("rejects.jsonl");
    let findings_path = args.out.join("findings.jsonl");
    let create = |p: &std::path::Path| {
        AtomicFile::create(p).with_context(|| format!("creating {}", p.display()))
    };
    let (mut rejects, mut findings_file) = (create(&rejects_path)?, create(&findings_path)?);
    let mut collector = Collector::spilling_to(&args.out);
    let carried_in = match &night {
        Some(n) => n.carried_operations(&mut |op| collector.push(op)),
        None => 0,
    };
    let mut dep7 = dep7::Writer::new(&args.out.join("dep7"), md.as_ref().map(|(_, m)| m));
    let seal = super::export::rt::seal(md.as_ref().map(|(_, m)| m));
    let mut rt = seal.as_ref().ok().map(|s| {
        let dir = args.out.join("rt");
        let md = md.as_ref().map(|(_, m)| m);
        match &night {
            Some(n) => crate::export::rt::Writer::resume(&dir, md, s, n.rt.clone()),
            None => crate::export::rt::Writer::new(&dir, md, s),
        }
    });
    let mut rt_documents = false;
    let report_acc = std::cell::RefCell::new(Accumulator::new(args.report.top));
    let night_run = night.as_mut().map(|n| common::NightRun {
        carry: n.take_validator(),
        last: args.last,
    });
    let checked = common::check_inputs_with(
        &args.input,
        config,
        md.as_ref().map(|(_, m)| m),
        night_run,
        out,
        &mut |r| json_line(&mut rejects, r),
        &mut |f| {
            report_acc.borrow_mut().finding(f);
            json_line(&mut findings_file, f)
        },
        &mut |op| {
            report_acc.borrow_mut().push(&op);
            dep7.push(&op);
            if let Some(w) = &mut rt {
                w.push(&op);
            }
            rt_documents |= matches!(op.fiscal, Some(crate::model::Fiscal::Rt(_)));
            collector.push(op)
        },
    )?;
    let common::Checked {
        summary,
        findings,
        carry: validator_carry,
        already_audited,
        sessions,
    } = checked;
    let missing = common::registers_without_master_data(&summary, md.as_ref().map(|(_, m)| m));
    // DEP7 and RT first: their writers hold an index per receipt or sale until they
    // finish, and the DSFinV-K archives, built next, are the run's largest transient.
    let no_carries = BTreeMap::new();
    let dep7_carries = night.as_ref().map_or(&no_carries, |n| &n.dep7);
    let mut dep7_out = BTreeMap::new();
    let mut dep7_verified = Vec::new();
    for (mut v, carry) in verify_continuing(
        dep7.finish()?,
        md.as_ref().map(|(_, m)| m),
        dep7_carries,
        args.validate.no_signatures,
        // A cash box's carry holds a hash per receipt: kept for the next night only.
        night.is_some(),
    )? {
        v.file.path = in_audit_dir("dep7", &v.file.path);
        if let Some(carry) = carry {
            dep7_out.insert(v.file.cashbox.clone(), carry);
        }
        dep7_verified.push(v);
    }
    let mut rt_summary = RtSummary::default();
    let mut rt_carry = night.as_ref().map(|n| n.rt.clone()).unwrap_or_default();
    match (rt, &seal) {
        (Some(w), _) => {
            // The carry holds every sale document's split (for a later night's annulli):
            // built only for a nightly run, since at ten million operations it was 1.5 GB.
            let (files, left_out) = if night.is_some() {
                let (files, left_out, carry) = w.finish_carry()?;
                rt_carry = carry;
                (files, left_out)
            } else {
                w.finish()?
            };
            for mut v in super::export::rt::verify_all(files)? {
                v.file.set_path(in_audit_dir("rt", &v.file.path));
                rt_summary.closings.push(v);
            }
            rt_summary.left_out = left_out
                .into_iter()
                .map(|(op, why)| serde_json::json!({"operation_id": op, "reason": why}))
                .collect();
        }
        (None, Err(e)) if rt_documents => rt_summary.not_written = Some(format!("{e:#}")),
        (None, _) => {}
    }
    let earlier = night.as_ref().map(|n| &n.dsfinvk);
    let (dsfinvk, continuations, unclosed) =
        export_dsfinvk(collector, md.as_ref().map(|(_, m)| m), &args.out, earlier);
    rejects
        .commit()
        .with_context(|| format!("writing {}", rejects_path.display()))?;
    findings_file
        .commit()
        .with_context(|| format!("writing {}", findings_path.display()))?;

    let carried = match night.as_mut() {
        Some(n) => {
            let mut dep7_all = std::mem::take(&mut n.dep7);
            dep7_all.extend(dep7_out);
            let mut dsfinvk_all = std::mem::take(&mut n.dsfinvk);
            dsfinvk_all.extend(continuations);
            Some(n.prepare(
                &args.input.inputs,
                validator_carry.unwrap_or_default(),
                dsfinvk_all,
                dep7_all,
                rt_carry,
                &unclosed,
            )?)
        }
        None => None,
    };

    let audit = AuditSummary {
        input: &summary,
        master_data: MasterDataCoverage {
            path: md.as_ref().map(|(p, _)| p.display().to_string()),
            registers_without_master_data: missing.clone(),
        },
        findings: &findings,
        dsfinvk,
        dep7: dep7_verified,
        rt: rt_summary,
        state: carried
            .as_ref()
            .map(|c| c.summary(carried_in, already_audited)),
    };
    let summary_path = args.out.join("summary.json");
    let mut bytes = serde_json::to_vec_pretty(&audit)?;
    bytes.push(b'\n');
    crate::fsutil::write_atomic(&summary_path, &bytes)
        .with_context(|| format!("writing {}", summary_path.display()))?;

    // Everything this run wrote, for the manifest; paths relative to the audit directory.
    let mut written: Vec<String> = vec![
        "summary.json".into(),
        "rejects.jsonl".into(),
        "findings.jsonl".into(),
    ];
    written.extend(audit.dsfinvk.archives.iter().map(|a| a.path.clone()));
    written.extend(audit.dep7.iter().map(|v| v.file.path.clone()));
    written.extend(audit.rt.closings.iter().map(|c| c.file.path.clone()));
    let mut manifest = manifest::Manifest::build(
        inputs,
        &args.out,
        written,
        &summary,
        &findings,
        carried.as_ref().map(|c| c.manifest_state()),
    )?;
    // The report lists the files written before it with their digests; the manifest then
    // lists the report too.
    let mut closings: Vec<crate::export::ZTotals> = audit
        .dsfinvk
        .archives
        .iter()
        .flat_map(|a| a.z.iter().cloned())
        .collect();
    closings.extend(audit.rt.closings.iter().filter_map(|c| c.file.z.clone()));
    // A DSFinV-K archive that could not be written, or a DEP7 file that does not verify.
    let failed_exports = audit.dsfinvk.errors.len() as u64
        + audit
            .dep7
            .iter()
            .filter(|v| v.verification.errors > 0)
            .count() as u64;
    let mut report_acc = report_acc.into_inner();
    // The report's days, parked while reading, come back now that the exports are written.
    report_acc
        .settle()
        .context("reading the report's days back")?;
    let shard = args.input.shard;
    if let Some(shard) = shard {
        super::merge::write_shard(
            &args.out,
            &super::merge::ShardOut {
                format: super::merge::FORMAT,
                version: env!("CARGO_PKG_VERSION"),
                shard,
                input: &summary,
                findings: &findings,
                sessions: &sessions,
                closings: &closings,
                failed_exports,
                report: &report_acc,
            },
        )?;
    }
    let report = report_acc
        .finish(Produced {
            input: &summary,
            findings: &findings,
            sessions: &sessions,
            closings,
            inputs: Some(&manifest.inputs),
            exports: manifest.outputs.clone(),
            failed_exports,
        })
        .context("building the report")?;
    let shard_file = shard.map(|_| super::merge::SHARD_FILE);
    super::report::write_last(&args.out, &report, &mut manifest, shard_file.as_slice())?;
    if already_audited > 0 {
        out.human(&format!(
            "{already_audited} operations an earlier night already audited were passed over"
        ))?;
    }
    if let (Some(n), Some(c)) = (night.as_mut(), carried) {
        let meta = n.commit(c, summary.accepted - already_audited)?;
        out.human(&format!(
            "state {}: night {} saved{}",
            args.state
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            meta.generation,
            if n.rerun() {
                " (a re-run of the same inputs)"
            } else {
                ""
            }
        ))?;
    }

    out.human(&summary.render_human())?;
    if !missing.is_empty() {
        out.human(&format!(
            "\nregisters without master data: {}",
            missing.join(", ")
        ))?;
    }
    out.human(&format!("\n{}", findings.render_human()))?;
    out.human(&format!(
        "\nwrote {}, {} and {}",
        summary_path.display(),
        rejects_path.display(),
        findings_path.display()
    ))?;
    for a in &audit.dsfinvk.archives {
        out.human(&format!(
            "wrote {} ({} closings)",
            args.out.join(&a.path).display(),
            a.closings
        ))?;
    }
    for f in &audit.dsfinvk.errors {
        out.human(&format!(
            "DSFinV-K export of {} failed: {}",
            f.register, f.error
        ))?;
    }
    for v in &audit.dep7 {
        let line = super::export::dep7::human_line(v);
        let line = line.replacen(
            &v.file.path,
            &args.out.join(&v.file.path).display().to_string(),
            1,
        );
        out.human(&line)?;
    }
    for c in &audit.rt.closings {
        let line = super::export::rt::human_line(c);
        let line = line.replacen(
            &c.file.path,
            &args.out.join(&c.file.path).display().to_string(),
            1,
        );
        out.human(&line)?;
    }
    if let Some(why) = &audit.rt.not_written {
        out.human(&format!("RT daily closings not written: {why}"))?;
    }
    out.json("summary", &audit)?;
    Ok(
        if summary.rejected > 0 || findings.has_errors() || failed_exports > 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        },
    )
}

fn json_line<T: Serialize>(file: &mut AtomicFile, value: &T) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *file, value)?;
    file.write_all(b"\n")?;
    Ok(())
}

/// The DSFinV-K archives of every KassenSichV register the master data describes, into
/// `OUT/dsfinvk/`; registers without master data are already listed as such and skipped.
///
/// With `earlier` (a nightly run), each register's closings go on from its continuation, and
/// the continuations to save are returned with the ids of the operations whose session has
/// not closed yet (the next night's export takes them).
fn export_dsfinvk(
    collector: Collector,
    md: Option<&crate::model::masterdata::MasterData>,
    out_dir: &std::path::Path,
    earlier: Option<&BTreeMap<String, Continuation>>,
) -> (
    DsfinvkSummary,
    BTreeMap<String, Continuation>,
    HashSet<String>,
) {
    let mut s = DsfinvkSummary::default();
    let mut continuations = BTreeMap::new();
    let mut unclosed = HashSet::new();
    let Some(md) = md else {
        return (s, continuations, unclosed);
    };
    let dir = out_dir.join("dsfinvk");
    let fresh = Continuation::default();
    let Collected { registers, spill } = collector.finish();
    // One register at a time per thread, from reading its operations (back from the spill
    // file) to writing its archive, so that memory holds a register per thread, not the
    // history. Archives have names of their own, so the order they are written in does not
    // matter; the summary lists them in register order.
    let done: Vec<_> = registers
        .into_par_iter()
        .filter(|g| md.register(&g.register).is_some())
        .map(|g| {
            let register = g.register.clone();
            let from = earlier.and_then(|e| e.get(&register)).unwrap_or(&fresh);
            let ops = match spill.load(g) {
                Ok(ops) => ops,
                Err(e) => return (register, Err(e), Vec::new()),
            };
            let open: Vec<String> = if earlier.is_some() {
                closing::unclosed(&ops)
                    .iter()
                    .map(|o| o.id.clone())
                    .collect()
            } else {
                Vec::new()
            };
            // The continuation holds an entry per goods operation: dropped here unless a
            // nightly run keeps it, since every register's result waits for the others (at
            // ten million operations they grew the archive phase by over 300 MB).
            let nightly = earlier.is_some();
            let written =
                build_continuing(&register, ops, md, &Options::default(), from).and_then(|b| {
                    b.map(|(b, c)| b.write(&dir).map(|a| (a, nightly.then_some(c))))
                        .transpose()
                });
            (register, written, open)
        })
        .collect();
    for (register, written, open) in done {
        unclosed.extend(open);
        match written {
            Ok(Some((mut a, c))) => {
                a.set_path(in_audit_dir("dsfinvk", &a.path));
                s.archives.push(a);
                if let Some(c) = c {
                    continuations.insert(register, c);
                }
            }
            Ok(None) => {}
            Err(e) => s.errors.push(ExportFailure {
                register,
                error: e.to_string(),
            }),
        }
    }
    (s, continuations, unclosed)
}

/// `path` as `<dir>/<file name>`, relative to the audit directory, so that summary.json does
/// not depend on where the audit was written.
fn in_audit_dir(dir: &str, path: &str) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{dir}/{name}")
}
