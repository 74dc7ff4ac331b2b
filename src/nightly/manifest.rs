//! The run manifest (`OUT/manifest.json`): what went in, what came out, and what was found.
//!
//! An operator keeps a night's manifest with its exports: it names every input and output
//! with its size and SHA-256, the tool version, the findings by severity and, for a nightly
//! run, the state generation it continued and what it carries on. It holds no clock time or
//! absolute path of the run, so the same night gives the same bytes.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::fsutil::sha256_file;
use crate::report::findings::FindingSummary;
use crate::report::summary::InputSummary;

/// One file with its size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path: as given for inputs, relative to the audit directory for outputs.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

impl FileEntry {
    /// Reads and hashes `path`, listing it as `name`.
    pub fn of(path: &Path, name: String) -> io::Result<FileEntry> {
        let (bytes, sha256) = sha256_file(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(FileEntry {
            path: name,
            bytes,
            sha256,
        })
    }
}

/// A run's inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inputs {
    /// The data files, in reading order (directories expanded as the reader walks them).
    pub files: Vec<FileEntry>,
    /// The master-data file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_data: Option<FileEntry>,
    /// The configuration file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<FileEntry>,
}

/// Lists and hashes the inputs: the data files `paths` expand to, the master data and the
/// configuration. Paths that do not exist are left to the reader, which reports them.
pub fn inputs(paths: &[PathBuf], md: Option<&Path>, config: Option<&Path>) -> io::Result<Inputs> {
    let mut found = crate::ingest::InputFiles::default();
    let existing: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
    // Hashing is a pass over every input byte: files in parallel, in input order.
    let files = crate::ingest::dump::collect_files(&existing, &mut found)
        .par_iter()
        .map(|p| FileEntry::of(p, p.display().to_string()))
        .collect::<io::Result<Vec<_>>>()?;
    let one = |p: Option<&Path>| {
        p.map(|p| FileEntry::of(p, p.display().to_string()))
            .transpose()
    };
    Ok(Inputs {
        files,
        master_data: one(md)?,
        config: one(config)?,
    })
}

impl Inputs {
    /// What identifies these inputs whatever their paths: the content digests, in order.
    pub fn digest(&self) -> String {
        let hashes: Vec<String> = self
            .files
            .iter()
            .map(|f| f.sha256.clone())
            .chain(self.master_data.iter().map(|f| format!("md:{}", f.sha256)))
            .chain(self.config.iter().map(|f| format!("config:{}", f.sha256)))
            .collect();
        super::inputs_digest(&hashes)
    }
}

/// The manifest.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// `fiskal` and its version.
    pub tool: Tool,
    /// What was read.
    pub inputs: Inputs,
    /// What was written, sorted by path (the manifest itself aside).
    pub outputs: Vec<FileEntry>,
    /// Operations accepted and records rejected.
    pub operations: Counts,
    /// Findings per severity.
    pub findings: BTreeMap<&'static str, u64>,
    /// The nightly state: the generation continued and committed, and what is carried on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
}

/// The program that wrote a manifest.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// Always `fiskal`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// Accepted and rejected.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Operations read.
    pub accepted: u64,
    /// Records rejected.
    pub rejected: u64,
}

impl Manifest {
    /// Hashes the outputs `written` (paths relative to `out_dir`) and assembles the manifest.
    pub fn build(
        inputs: Inputs,
        out_dir: &Path,
        mut written: Vec<String>,
        summary: &InputSummary,
        findings: &FindingSummary,
        state: Option<serde_json::Value>,
    ) -> io::Result<Manifest> {
        written.sort();
        written.dedup();
        let outputs = written
            .into_par_iter()
            .map(|name| FileEntry::of(&out_dir.join(&name), name))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Manifest {
            tool: Tool {
                name: "fiskal",
                version: env!("CARGO_PKG_VERSION"),
            },
            inputs,
            outputs,
            operations: Counts {
                accepted: summary.accepted,
                rejected: summary.rejected,
            },
            findings: BTreeMap::from([
                ("error", findings.errors),
                ("warning", findings.warnings),
                ("info", findings.infos),
            ]),
            state,
        })
    }

    /// Pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::fsutil::pretty_json(self)
    }
}
