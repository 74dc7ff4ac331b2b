//! `fiskal merge`: one audit directory from the directories of `fiskal audit --shard I/N`.
//!
//! A shard holds every register of its slice whole (ingest keeps the registers whose stable
//! hash falls in it), so its exports are final as written: merge links or copies them, after
//! checking each against the digest its shard's manifest recorded. What spans registers is
//! combined from each shard's `shard.json` (its input and finding summaries, the report's
//! accumulators, session reconciliations and Z totals) — the files themselves hold only
//! derived figures, which cannot be added up. summary.json, the report and the manifest are
//! then written as one run over everything would have written them; findings.jsonl and
//! rejects.jsonl hold the shards' lines one shard after the other (docs/sharding.md).
//!
//! Refused, with exit 2, before anything is written: a directory without `shard.json`, shards
//! of different counts or versions, a missing or repeated shard, shards that read different
//! inputs, an export whose bytes no longer match its shard's manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Outcome;
use crate::export::ZTotals;
use crate::fsutil::AtomicFile;
use crate::ingest::Shard;
use crate::nightly::manifest::{self, FileEntry, Inputs};
use crate::output::Output;
use crate::report::build::{Accumulator, Produced};
use crate::report::findings::FindingSummary;
use crate::report::summary::InputSummary;
use crate::validate::Reconciliation;

/// The file a shard writes for the merge.
pub const SHARD_FILE: &str = "shard.json";

/// Identifies the layout of [`SHARD_FILE`].
pub const FORMAT: &str = "fiskal-shard/1";

/// The directories exports live in; every other output is the shard's own and is rebuilt.
const EXPORT_DIRS: &[&str] = &["dsfinvk/", "dep7/", "rt/"];

/// Arguments of `fiskal merge`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal merge shards/0 shards/1 shards/2 --out audit/\n  fiskal merge shards/* --out audit/ --json"
)]
pub struct Args {
    /// The output directories of `fiskal audit --shard I/N`, one per shard, all N of them.
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
    /// Directory to write the merged audit into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// What a shard saves for the merge (written by `fiskal audit --shard`).
#[derive(Serialize)]
pub struct ShardOut<'a> {
    /// [`FORMAT`].
    pub format: &'static str,
    /// The crate version: shards of different versions are not merged.
    pub version: &'static str,
    /// Which shard.
    pub shard: Shard,
    /// What was read.
    pub input: &'a InputSummary,
    /// What was found.
    pub findings: &'a FindingSummary,
    /// Every session's cash reconciliation.
    pub sessions: &'a [Reconciliation],
    /// The closings the exports wrote.
    pub closings: &'a [ZTotals],
    /// Exports that failed.
    pub failed_exports: u64,
    /// The report's accumulators.
    pub report: &'a Accumulator,
}

/// [`ShardOut`] read back.
#[derive(Deserialize)]
struct ShardIn {
    format: String,
    version: String,
    shard: Shard,
    input: InputSummary,
    findings: FindingSummary,
    sessions: Vec<Reconciliation>,
    closings: Vec<ZTotals>,
    failed_exports: u64,
    report: Accumulator,
}

/// Writes `OUT/shard.json`.
pub fn write_shard(out: &Path, shard: &ShardOut) -> anyhow::Result<()> {
    let path = out.join(SHARD_FILE);
    crate::fsutil::write_atomic(&path, &crate::fsutil::pretty_json(shard))
        .with_context(|| format!("writing {}", path.display()))
}

/// The parts of a shard's summary.json the merge combines. Export entries stay raw: they are
/// written back byte for byte, at the same depth of the same pretty layout.
#[derive(Deserialize)]
struct SummaryIn {
    master_data: MasterDataIn,
    dsfinvk: DsfinvkIn,
    dep7: Vec<Box<RawValue>>,
    rt: RtIn,
}

#[derive(Deserialize)]
struct MasterDataIn {
    path: Option<String>,
    registers_without_master_data: Vec<String>,
}

#[derive(Deserialize)]
struct DsfinvkIn {
    archives: Vec<Box<RawValue>>,
    #[serde(default)]
    errors: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
struct RtIn {
    closings: Vec<Box<RawValue>>,
    #[serde(default)]
    left_out: Vec<Box<RawValue>>,
    not_written: Option<String>,
}

/// summary.json as `fiskal audit` lays it out (`audit::AuditSummary`; the shard test holds
/// the two to the same bytes).
#[derive(Serialize)]
struct SummaryOut<'a> {
    input: &'a InputSummary,
    master_data: MasterDataOut,
    findings: &'a FindingSummary,
    dsfinvk: DsfinvkOut,
    dep7: Vec<Box<RawValue>>,
    rt: RtOut,
}

#[derive(Serialize)]
struct MasterDataOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    registers_without_master_data: Vec<String>,
}

#[derive(Serialize)]
struct DsfinvkOut {
    archives: Vec<Box<RawValue>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Box<RawValue>>,
}

#[derive(Serialize)]
struct RtOut {
    closings: Vec<Box<RawValue>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    left_out: Vec<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_written: Option<String>,
}

/// One shard directory, read and checked.
struct ShardDir {
    dir: PathBuf,
    state: ShardIn,
    summary: SummaryIn,
    inputs: Inputs,
    outputs: Vec<FileEntry>,
}

/// The fields of a shard's manifest.json the merge needs.
#[derive(Deserialize)]
struct ManifestIn {
    inputs: Inputs,
    outputs: Vec<FileEntry>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
}

impl ShardDir {
    fn open(dir: &Path) -> anyhow::Result<ShardDir> {
        let shard_path = dir.join(SHARD_FILE);
        if !shard_path.is_file() {
            bail!(
                "{} has no {SHARD_FILE}: not the output directory of `fiskal audit --shard I/N`",
                dir.display()
            );
        }
        let state: ShardIn = read_json(&shard_path)?;
        if state.format != FORMAT {
            bail!(
                "{}: format {:?}, expected {FORMAT:?}",
                shard_path.display(),
                state.format
            );
        }
        let manifest: ManifestIn = read_json(&dir.join("manifest.json"))?;
        Ok(ShardDir {
            dir: dir.to_path_buf(),
            summary: read_json(&dir.join("summary.json"))?,
            state,
            inputs: manifest.inputs,
            outputs: manifest.outputs,
        })
    }
}

/// Checks that `shards` are all N shards of one run, and returns them in shard order.
fn complete(mut shards: Vec<ShardDir>) -> anyhow::Result<Vec<ShardDir>> {
    shards.sort_by_key(|s| s.state.shard.index);
    let first = &shards[0];
    let (count, version) = (first.state.shard.count, first.state.version.clone());
    let digest = first.inputs.digest();
    for s in &shards {
        let at = s.dir.display();
        if s.state.version != version {
            bail!(
                "{at} was written by fiskal {}, {} by {version}: merge shards of one version",
                s.state.version,
                first.dir.display()
            );
        }
        if s.state.shard.count != count {
            bail!(
                "{at} is shard {} but {} is shard {}: all shards must split the registers the same way",
                s.state.shard,
                first.dir.display(),
                first.state.shard
            );
        }
        if s.inputs.digest() != digest {
            bail!(
                "{at} read other inputs than {} (their manifests' input digests differ): shards must read the same files, master data and configuration",
                first.dir.display()
            );
        }
    }
    let seen: Vec<u32> = shards.iter().map(|s| s.state.shard.index).collect();
    for pair in shards.windows(2) {
        if pair[0].state.shard.index == pair[1].state.shard.index {
            bail!(
                "{} and {} are both shard {}",
                pair[0].dir.display(),
                pair[1].dir.display(),
                pair[0].state.shard
            );
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard(s) {} missing: a merge needs all {count} shards",
            missing.join(", ")
        );
    }
    Ok(shards)
}

/// Links (or, across file systems, copies) one export into `out`, checking its bytes against
/// the shard's manifest entry. Returns the entry as it stands in `out`.
fn take_export(shard: &Path, entry: &FileEntry, out: &Path) -> anyhow::Result<FileEntry> {
    let from = shard.join(&entry.path);
    let to = out.join(&entry.path);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = to.with_file_name(format!(
        ".{}.merge-tmp",
        to.file_name().and_then(|n| n.to_str()).unwrap_or("export")
    ));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(&from, &tmp).is_err() {
        std::fs::copy(&from, &tmp)
            .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
    }
    let found = FileEntry::of(&tmp, entry.path.clone())
        .with_context(|| format!("reading {}", tmp.display()))?;
    if found != *entry {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "{}: {} bytes with SHA-256 {}, but the shard's manifest lists {} bytes with {}: the shard's output was changed or is damaged",
            from.display(),
            found.bytes,
            found.sha256,
            entry.bytes,
            entry.sha256
        );
    }
    std::fs::rename(&tmp, &to).with_context(|| format!("writing {}", to.display()))?;
    Ok(found)
}

/// Concatenates each shard's `name` (JSON lines) into `OUT/name`, shard by shard.
fn concat_lines(shards: &[ShardDir], name: &str, out: &Path) -> anyhow::Result<()> {
    let path = out.join(name);
    let mut file =
        AtomicFile::create(&path).with_context(|| format!("creating {}", path.display()))?;
    for s in shards {
        let from = s.dir.join(name);
        let reader = std::io::BufReader::new(
            std::fs::File::open(&from).with_context(|| format!("reading {}", from.display()))?,
        );
        for line in reader.lines() {
            let line = line.with_context(|| format!("reading {}", from.display()))?;
            file.write_all(line.as_bytes())?;
            file.write_all(b"\n")?;
        }
    }
    file.commit()
        .with_context(|| format!("writing {}", path.display()))
}

/// Sorts raw entries by one string field, as the single run lists them.
fn sort_by_field(entries: &mut [Box<RawValue>], field: &str) {
    let key = |e: &RawValue| {
        serde_json::from_str::<BTreeMap<String, serde_json::Value>>(e.get())
            .ok()
            .and_then(|m| m.get(field).and_then(|v| v.as_str().map(str::to_string)))
            .unwrap_or_default()
    };
    entries.sort_by_cached_key(|e| key(e));
}

/// Runs `fiskal merge`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let opened = args
        .shards
        .iter()
        .map(|d| ShardDir::open(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let shards = complete(opened)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    // Exports: each path belongs to one shard, because every register does.
    let mut taken: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut outputs = Vec::new();
    for s in &shards {
        for entry in &s.outputs {
            if !EXPORT_DIRS.iter().any(|d| entry.path.starts_with(d)) {
                continue;
            }
            if let Some(other) = taken.insert(entry.path.clone(), s.dir.clone()) {
                bail!(
                    "{} is an export of both {} and {}: the shards overlap",
                    entry.path,
                    other.display(),
                    s.dir.display()
                );
            }
            outputs.push(take_export(&s.dir, entry, &args.out)?);
        }
    }
    concat_lines(&shards, "rejects.jsonl", &args.out)?;
    concat_lines(&shards, "findings.jsonl", &args.out)?;

    let mut shards = shards;
    let first = shards.remove(0);
    let ShardIn {
        mut input,
        mut findings,
        mut sessions,
        mut closings,
        mut failed_exports,
        report: mut acc,
        ..
    } = first.state;
    let SummaryIn {
        master_data,
        mut dsfinvk,
        mut dep7,
        mut rt,
    } = first.summary;
    let mut without_md: BTreeSet<String> = master_data
        .registers_without_master_data
        .into_iter()
        .collect();
    let inputs = first.inputs;
    let mut dirs = vec![first.dir];
    for s in shards {
        input.merge(&s.state.input);
        findings.merge(&s.state.findings);
        sessions.extend(s.state.sessions);
        closings.extend(s.state.closings);
        failed_exports += s.state.failed_exports;
        acc.merge(s.state.report)
            .context("adding a shard's report state")?;
        without_md.extend(s.summary.master_data.registers_without_master_data);
        dsfinvk.archives.extend(s.summary.dsfinvk.archives);
        dsfinvk.errors.extend(s.summary.dsfinvk.errors);
        dep7.extend(s.summary.dep7);
        rt.closings.extend(s.summary.rt.closings);
        rt.left_out.extend(s.summary.rt.left_out);
        rt.not_written = rt.not_written.or(s.summary.rt.not_written);
        dirs.push(s.dir);
    }
    // The merged run read every register: nothing was left to another shard.
    input.files.other_shards = 0;
    sort_by_field(&mut dsfinvk.archives, "register");
    sort_by_field(&mut dsfinvk.errors, "register");
    sort_by_field(&mut dep7, "cashbox");
    sort_by_field(&mut rt.closings, "path");

    let summary = SummaryOut {
        input: &input,
        master_data: MasterDataOut {
            path: master_data.path,
            registers_without_master_data: without_md.into_iter().collect(),
        },
        findings: &findings,
        dsfinvk: DsfinvkOut {
            archives: dsfinvk.archives,
            errors: dsfinvk.errors,
        },
        dep7,
        rt: RtOut {
            closings: rt.closings,
            left_out: rt.left_out,
            not_written: rt.not_written,
        },
    };
    let summary_path = args.out.join("summary.json");
    crate::fsutil::write_atomic(&summary_path, &crate::fsutil::pretty_json(&summary))
        .with_context(|| format!("writing {}", summary_path.display()))?;

    // The exports were hashed while they were checked; the manifest hashes what merge wrote.
    let written = ["summary.json", "rejects.jsonl", "findings.jsonl"].map(String::from);
    let mut manifest =
        manifest::Manifest::build(inputs, &args.out, written.to_vec(), &input, &findings, None)?;
    manifest.outputs.extend(outputs);
    manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    let report = acc
        .finish(Produced {
            input: &input,
            findings: &findings,
            sessions: &sessions,
            closings,
            inputs: Some(&manifest.inputs),
            exports: manifest.outputs.clone(),
            failed_exports,
        })
        .context("building the report")?;
    super::report::write_last(&args.out, &report, &mut manifest, &[])?;

    out.human(&format!(
        "merged {} shards ({}) into {}: {} operations, {} rejected, {} exports",
        dirs.len(),
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display(),
        input.accepted,
        input.rejected,
        taken.len()
    ))?;
    out.human(&findings.render_human())?;
    out.json("summary", &summary)?;
    Ok(
        if input.rejected > 0 || findings.has_errors() || failed_exports > 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        },
    )
}
