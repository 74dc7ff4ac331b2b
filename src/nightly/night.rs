//! One nightly run's carried state: loaded from the base generation, handed to the validator
//! and the exporters, and saved as the next generation.
//!
//! A generation holds:
//!
//! | file | what | written by |
//! |---|---|---|
//! | `validator.json` | sequence tails, device counters, open sessions, originals for later references | [`crate::validate::Carry`] |
//! | `dsfinvk.json` | per register the last Z_NR and where each goods operation landed | [`Continuation`] |
//! | `dep7.json` | per RKSV cash box the chain tail, turnover counter and receipt ids | [`crate::regime::rksv::state`] |
//! | `rt.json` | per RT the last closing written, and the splits later annulli need | [`rt::Carry`] |
//! | `pending.ndjson` | the wire records of operations in DSFinV-K sessions not yet closed | [`crate::ingest::raw_records`] |
//!
//! Pending operations are kept as the records they came as, so the next night reads them with
//! the same reader as its own input; they go only to the DSFinV-K exporter, since validation
//! and the other exports have taken them already.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::manifest::Inputs;
use super::{Error, Meta, Plan, StateDir};
use crate::export::dsfinvk::Continuation;
use crate::export::rt;
use crate::ingest::{self, Item};
use crate::model::Operation;
use crate::regime::rksv::dep;
use crate::validate;

const VALIDATOR: &str = "validator.json";
const DSFINVK: &str = "dsfinvk.json";
const DEP7: &str = "dep7.json";
const RT: &str = "rt.json";
const PENDING: &str = "pending.ndjson";

/// A nightly run in progress, holding the state directory's lock.
pub struct Night {
    dir: StateDir,
    plan: Plan,
    validator: Option<validate::Carry>,
    /// Per register, where its DSFinV-K export goes on.
    pub dsfinvk: BTreeMap<String, Continuation>,
    /// Per Kassen-ID, where its DEP7 chain goes on.
    pub dep7: BTreeMap<String, dep::Carry>,
    /// The RT closings' carry.
    pub rt: rt::Carry,
    pending: Vec<u8>,
}

/// The next generation, ready to commit once the run's outputs are written.
pub struct Prepared {
    files: BTreeMap<String, Vec<u8>>,
    pending_out: u64,
    overview: serde_json::Value,
    generation: u64,
    base: Option<u64>,
}

/// The state part of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct StateSummary {
    /// The night this run saved.
    pub generation: u64,
    /// The night it continued.
    pub base: Option<u64>,
    /// Operations of unclosed sessions read from the base and handed to the DSFinV-K export.
    pub operations_carried_in: u64,
    /// Operations of unclosed sessions saved for the next night.
    pub operations_carried_out: u64,
    /// Operations in the input that an earlier night already audited, passed over.
    pub operations_already_audited: u64,
}

fn damaged(name: &str, message: impl ToString) -> Error {
    Error::Damaged {
        path: PathBuf::from(name),
        message: message.to_string(),
    }
}

impl Night {
    /// Opens and locks the state directory `root` and loads the generation a run over
    /// `inputs` starts from.
    pub fn start(root: &Path, inputs: &Inputs) -> Result<Night, Error> {
        let dir = StateDir::open(root)?;
        let plan = dir.plan(&inputs.digest())?;
        let validator = plan
            .file(VALIDATOR)
            .map(|b| validate::Carry::from_bytes(b).map_err(|e| damaged(VALIDATOR, e)))
            .transpose()?;
        let dsfinvk = load(&plan, DSFINVK)?;
        let dep7: BTreeMap<String, Dep7Carry> = load(&plan, DEP7)?;
        let dep7 = dep7.into_iter().map(|(k, c)| (k, c.0)).collect();
        let rt = load(&plan, RT)?;
        let pending = plan.file(PENDING).map(<[u8]>::to_vec).unwrap_or_default();
        Ok(Night {
            dir,
            plan,
            validator,
            dsfinvk,
            dep7,
            rt,
            pending,
        })
    }

    /// Whether this run repeats the current night.
    pub fn rerun(&self) -> bool {
        self.plan.rerun
    }

    /// The validator's carry (empty on the first night); taken once.
    pub fn take_validator(&mut self) -> validate::Carry {
        self.validator.take().unwrap_or_default()
    }

    /// Hands the operations carried from the base generation to `push`; their count.
    pub fn carried_operations(&self, push: &mut dyn FnMut(Operation)) -> u64 {
        let mut n = 0;
        ingest::read_bytes(PENDING, &self.pending, &mut |item| {
            if let Item::Operation(op) = item {
                n += 1;
                push(*op);
            }
        });
        n
    }

    /// Assembles the next generation: the carries, and the wire records of the `unclosed`
    /// operations, taken from the base's pending records and this night's `inputs`.
    pub fn prepare(
        &self,
        inputs: &[PathBuf],
        validator: validate::Carry,
        dsfinvk: BTreeMap<String, Continuation>,
        dep7: BTreeMap<String, dep::Carry>,
        rt: rt::Carry,
        unclosed: &HashSet<String>,
    ) -> Result<Prepared, Error> {
        let mut pending = Vec::new();
        let mut found: HashSet<String> = HashSet::new();
        fn keep(found: &mut HashSet<String>, pending: &mut Vec<u8>, id: &str, raw: &str) {
            if found.insert(id.to_string()) {
                pending.extend_from_slice(raw.as_bytes());
                pending.push(b'\n');
            }
        }
        for line in self.pending.split(|&b| b == b'\n') {
            let Ok(text) = std::str::from_utf8(line) else {
                continue;
            };
            if let Ok(ingest::wire::Detected::Operation { id: Some(id), .. }) =
                ingest::wire::detect(text)
                && unclosed.contains(&id)
            {
                keep(&mut found, &mut pending, &id, text);
            }
        }
        // The night's inputs are read a second time only for what the carried records lack.
        if found.len() < unclosed.len() {
            ingest::raw_records(inputs, unclosed, &mut |id, raw| {
                keep(&mut found, &mut pending, id, raw)
            });
        }
        let pending_out = found.len() as u64;

        let mut files = BTreeMap::new();
        let overview = serde_json::json!({
            "validator": validator.overview(),
            "dsfinvk": dsfinvk
                .iter()
                .map(|(r, c)| (r.clone(), serde_json::json!({"last_z_nr": c.last_z_nr})))
                .collect::<serde_json::Map<_, _>>(),
            "dep7": dep7
                .iter()
                .map(|(k, c)| (k.clone(), serde_json::json!({
                    "receipts": c.receipt_count(),
                    "turnover_counter_cents": c.counter().to_string(),
                })))
                .collect::<serde_json::Map<_, _>>(),
            "rt": rt.written.clone(),
            "pending_operations": pending_out,
        });
        files.insert(VALIDATOR.to_string(), validator.to_bytes());
        files.insert(DSFINVK.to_string(), pretty(&dsfinvk));
        let dep7: BTreeMap<&String, Dep7CarryRef> =
            dep7.iter().map(|(k, c)| (k, Dep7CarryRef(c))).collect();
        files.insert(DEP7.to_string(), pretty(&dep7));
        files.insert(RT.to_string(), pretty(&rt));
        files.insert(PENDING.to_string(), pending);
        Ok(Prepared {
            files,
            pending_out,
            overview,
            generation: self.plan.generation,
            base: self.plan.base_generation(),
        })
    }

    /// Saves `p`, the state after a night that audited `operations`, as the current
    /// generation.
    pub fn commit(&mut self, p: Prepared, operations: u64) -> Result<Meta, Error> {
        self.dir.commit(&self.plan, &p.files, operations)
    }
}

impl Prepared {
    /// The state part of `summary.json`.
    pub fn summary(&self, carried_in: u64, already_audited: u64) -> StateSummary {
        StateSummary {
            generation: self.generation,
            base: self.base,
            operations_carried_in: carried_in,
            operations_carried_out: self.pending_out,
            operations_already_audited: already_audited,
        }
    }

    /// The state part of the manifest: generations and what is carried on.
    pub fn manifest_state(&self) -> serde_json::Value {
        serde_json::json!({
            "generation": self.generation,
            "base": self.base,
            "carried": self.overview,
        })
    }
}

/// A DEP7 carry as `fiskal verify dep7 --state-out` writes it (`rksv::state`).
#[derive(serde::Deserialize)]
struct Dep7Carry(#[serde(with = "crate::regime::rksv::state::serde_carry")] dep::Carry);

#[derive(Serialize)]
struct Dep7CarryRef<'a>(
    #[serde(serialize_with = "crate::regime::rksv::state::serde_carry::serialize")] &'a dep::Carry,
);

/// The state file `name` of the base generation, or the empty state without one.
fn load<T: serde::de::DeserializeOwned + Default>(plan: &Plan, name: &str) -> Result<T, Error> {
    plan.file(name)
        .map(|b| serde_json::from_slice(b).map_err(|e| damaged(name, e)))
        .transpose()
        .map(Option::unwrap_or_default)
}

fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    crate::fsutil::pretty_json(v)
}
