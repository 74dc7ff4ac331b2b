//! The state directory of nightly incremental runs (`fiskal audit --state DIR`).
//!
//! A night reads only its new operations, yet the checks and exports must go on where the
//! previous night stopped. What they carry is saved as a *generation*: a directory
//! `gen-NNNNNN/` of named files (the validator's carry, the exports' continuations, the raw
//! records of operations a later night still needs) plus `meta.json` naming the generation
//! it was built on and a digest of the inputs that built it. `current` names the latest.
//!
//! Why generations and not one state file: re-running a night must give byte-identical
//! results, so it has to start from the state *before* that night, not after it. A run whose
//! inputs have the digest of the current generation is a re-run: it starts from that
//! generation's base and replaces it. Inputs already audited by an older generation are
//! refused, since the state has moved past them. Only the current generation and its base are
//! kept; `history.jsonl` lists every generation committed.
//!
//! Crash safety: a generation is written to `gen-NNNNNN.tmp/`, synced, and renamed into place
//! before `current` is replaced (atomically); a crash before that leaves the previous state
//! current, and the leftover is removed by the next run. The directory is locked for the
//! whole run ([`lock::Lock`]).

pub mod lock;
pub mod manifest;
pub mod night;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use lock::{Lock, LockError};

/// The layout version of a state directory.
const FORMAT: u32 = 1;

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another run holds the lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// These inputs were already audited, and later nights after them.
    #[error(
        "these inputs were audited as night {generation} already, and the state has moved on to night {current}; \
         re-running an older night would count its operations twice (use a copy of the state saved at that night)"
    )]
    AlreadyAudited {
        /// The generation that audited them.
        generation: u64,
        /// The current generation.
        current: u64,
    },
    /// A file of the state is damaged or of another version.
    #[error("state {path}: {message}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing failed.
    #[error("state {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a generation says of itself (`meta.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Layout version.
    pub format: u32,
    /// Its number: the night, counting from 1.
    pub generation: u64,
    /// The generation it was built on.
    pub base: Option<u64>,
    /// [`inputs_digest`] of the inputs that built it.
    pub inputs_digest: String,
    /// Operations the night audited. Inputs that held none may come again (a closed day's
    /// empty dump is like every other's) without being taken for a night audited before.
    #[serde(default)]
    pub operations: u64,
}

/// An opened, locked state directory.
#[derive(Debug)]
pub struct StateDir {
    root: PathBuf,
    /// The lock, held until this is dropped.
    pub lock: Lock,
    current: Option<Meta>,
    history: Vec<Meta>,
}

/// Where a run starts from.
#[derive(Debug)]
pub struct Plan {
    /// The generation this run will commit.
    pub generation: u64,
    /// The generation it starts from, with its files; `None` for the first night.
    pub base: Option<(Meta, BTreeMap<String, Vec<u8>>)>,
    /// Whether this run repeats the current generation's night.
    pub rerun: bool,
    digest: String,
}

impl Plan {
    /// A file of the base generation, if there is a base and it has the file.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.base
            .as_ref()
            .and_then(|(_, files)| files.get(name))
            .map(Vec::as_slice)
    }

    /// The base generation's files whose names start with `prefix`, with the prefix removed.
    pub fn files_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        self.base.iter().flat_map(move |(_, files)| {
            files
                .iter()
                .filter_map(move |(n, b)| Some((n.strip_prefix(prefix)?, b.as_slice())))
        })
    }

    /// The base generation's number.
    pub fn base_generation(&self) -> Option<u64> {
        self.base.as_ref().map(|(m, _)| m.generation)
    }
}

impl StateDir {
    /// Opens `root` (created if missing), takes its lock and cleans up after a crashed commit.
    pub fn open(root: &Path) -> Result<StateDir, Error> {
        std::fs::create_dir_all(root).map_err(io_at(root))?;
        let lock = Lock::acquire(&root.join("lock"))?;
        let mut dir = StateDir {
            root: root.to_path_buf(),
            lock,
            current: None,
            history: Vec::new(),
        };
        dir.recover()?;
        let current_path = root.join("current");
        if current_path.exists() {
            let text = std::fs::read_to_string(&current_path).map_err(io_at(&current_path))?;
            let n: u64 = text.trim().parse().map_err(|_| Error::Damaged {
                path: current_path.clone(),
                message: format!("expected a generation number, found {:?}", text.trim()),
            })?;
            dir.current = Some(dir.meta(n)?);
        }
        let history_path = root.join("history.jsonl");
        if history_path.exists() {
            let text = std::fs::read_to_string(&history_path).map_err(io_at(&history_path))?;
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let m: Meta = serde_json::from_str(line).map_err(|e| Error::Damaged {
                    path: history_path.clone(),
                    message: format!("line {}: {e}", i + 1),
                })?;
                dir.history.push(m);
            }
        }
        Ok(dir)
    }

    /// The latest committed generation.
    pub fn current(&self) -> Option<&Meta> {
        self.current.as_ref()
    }

    fn gen_dir(&self, n: u64) -> PathBuf {
        self.root.join(format!("gen-{n:06}"))
    }

    fn meta(&self, n: u64) -> Result<Meta, Error> {
        let path = self.gen_dir(n).join("meta.json");
        let bytes = std::fs::read(&path).map_err(io_at(&path))?;
        let m: Meta = serde_json::from_slice(&bytes).map_err(|e| Error::Damaged {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if m.format != FORMAT || m.generation != n {
            return Err(Error::Damaged {
                path,
                message: format!(
                    "format {} generation {}, expected format {FORMAT} generation {n}",
                    m.format, m.generation
                ),
            });
        }
        Ok(m)
    }

    /// A commit interrupted between renames leaves `gen-N.old` and no `gen-N`: put it back.
    /// Leftover `.tmp` and `.old` directories go.
    fn recover(&self) -> Result<(), Error> {
        let entries = std::fs::read_dir(&self.root).map_err(io_at(&self.root))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let path = self.root.join(&name);
            if let Some(stem) = name.strip_suffix(".old") {
                let live = self.root.join(stem);
                if live.exists() {
                    std::fs::remove_dir_all(&path).map_err(io_at(&path))?;
                } else {
                    std::fs::rename(&path, &live).map_err(io_at(&path))?;
                }
            } else if name.ends_with(".tmp") && name.starts_with("gen-") {
                std::fs::remove_dir_all(&path).map_err(io_at(&path))?;
            }
        }
        Ok(())
    }

    /// Decides where a run over inputs with `digest` ([`inputs_digest`]) starts.
    pub fn plan(&self, digest: &str) -> Result<Plan, Error> {
        let (generation, base, rerun) = match &self.current {
            None => (1, None, false),
            Some(cur) if cur.inputs_digest == digest => (cur.generation, cur.base, true),
            Some(cur) => {
                if let Some(old) = self
                    .history
                    .iter()
                    .find(|m| m.inputs_digest == digest && m.operations > 0)
                {
                    return Err(Error::AlreadyAudited {
                        generation: old.generation,
                        current: cur.generation,
                    });
                }
                (cur.generation + 1, Some(cur.generation), false)
            }
        };
        let base = match base {
            Some(n) => Some((self.meta(n)?, self.read_files(n)?)),
            None => None,
        };
        Ok(Plan {
            generation,
            base,
            rerun,
            digest: digest.to_string(),
        })
    }

    fn read_files(&self, n: u64) -> Result<BTreeMap<String, Vec<u8>>, Error> {
        let dir = self.gen_dir(n);
        let mut files = BTreeMap::new();
        read_tree(&dir, "", &mut files)?;
        files.remove("meta.json");
        Ok(files)
    }

    /// Commits `files`, the state after a night that audited `operations`, as the generation
    /// `plan` announced and makes it current.
    pub fn commit(
        &mut self,
        plan: &Plan,
        files: &BTreeMap<String, Vec<u8>>,
        operations: u64,
    ) -> Result<Meta, Error> {
        let meta = Meta {
            format: FORMAT,
            generation: plan.generation,
            base: plan.base_generation(),
            inputs_digest: plan.digest.clone(),
            operations,
        };
        let live = self.gen_dir(plan.generation);
        let tmp = self.root.join(format!("gen-{:06}.tmp", plan.generation));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
        }
        write_synced(&tmp.join("meta.json"), &crate::fsutil::pretty_json(&meta))?;
        for (name, bytes) in files {
            write_synced(&tmp.join(name), bytes)?;
        }
        sync_dir(&tmp)?;
        let old = self.root.join(format!("gen-{:06}.old", plan.generation));
        if live.exists() {
            std::fs::rename(&live, &old).map_err(io_at(&live))?;
        }
        std::fs::rename(&tmp, &live).map_err(io_at(&tmp))?;
        sync_dir(&self.root)?;
        crate::fsutil::write_atomic(
            &self.root.join("current"),
            format!("{}\n", plan.generation).as_bytes(),
        )
        .map_err(io_at(&self.root.join("current")))?;
        sync_dir(&self.root)?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io_at(&old))?;
        }
        self.history.retain(|m| m.generation < plan.generation);
        self.history.push(meta.clone());
        let mut history = Vec::new();
        for m in &self.history {
            serde_json::to_writer(&mut history, m).unwrap_or_default();
            history.push(b'\n');
        }
        crate::fsutil::write_atomic(&self.root.join("history.jsonl"), &history)
            .map_err(io_at(&self.root.join("history.jsonl")))?;
        // Only the new generation and its base are needed: a re-run of this night starts
        // from the base.
        self.prune(&[Some(plan.generation), meta.base])?;
        self.current = Some(meta.clone());
        Ok(meta)
    }

    fn prune(&self, keep: &[Option<u64>]) -> Result<(), Error> {
        let entries = std::fs::read_dir(&self.root).map_err(io_at(&self.root))?;
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_prefix("gen-")
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if !keep.contains(&Some(n)) {
                std::fs::remove_dir_all(e.path()).map_err(io_at(&e.path()))?;
            }
        }
        Ok(())
    }
}

fn read_tree(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(io_at(dir))?;
    for e in entries {
        let e = e.map_err(io_at(dir))?;
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        let path = e.path();
        if path.is_dir() {
            read_tree(&path, &format!("{name}/"), out)?;
        } else {
            out.insert(name, std::fs::read(&path).map_err(io_at(&path))?);
        }
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let mut f = std::fs::File::create(path).map_err(io_at(path))?;
    f.write_all(bytes).map_err(io_at(path))?;
    f.sync_all().map_err(io_at(path))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    // Directories can be opened and synced on Unix; elsewhere the rename is what there is.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_at(dir))?;
    Ok(())
}

/// The digest that identifies a night's inputs: SHA-256 over the SHA-256 of each file's
/// content in reading order, so that the same files give the same digest wherever they lie.
pub fn inputs_digest(file_hashes: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in file_hashes {
        h.update(f.as_bytes());
        h.update(b"\n");
    }
    crate::regime::kassensichv::logmsg::hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn nights_chain_and_a_rerun_starts_from_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let mut s = StateDir::open(&root).unwrap();
        let p1 = s.plan("d1").unwrap();
        assert_eq!(
            (p1.generation, p1.base_generation(), p1.rerun),
            (1, None, false)
        );
        s.commit(&p1, &files(&[("a.json", "1"), ("dep7/x.json", "x1")]), 5)
            .unwrap();
        let p2 = s.plan("d2").unwrap();
        assert_eq!(
            (p2.generation, p2.base_generation(), p2.rerun),
            (2, Some(1), false)
        );
        assert_eq!(p2.file("a.json"), Some(&b"1"[..]));
        assert_eq!(
            p2.files_under("dep7/").collect::<Vec<_>>(),
            vec![("x.json", &b"x1"[..])]
        );
        s.commit(&p2, &files(&[("a.json", "2")]), 5).unwrap();
        drop(s);

        // Reopened: the same night again starts from night 1's state and replaces night 2.
        let mut s = StateDir::open(&root).unwrap();
        assert_eq!(s.current().unwrap().generation, 2);
        let again = s.plan("d2").unwrap();
        assert_eq!(
            (again.generation, again.base_generation(), again.rerun),
            (2, Some(1), true)
        );
        assert_eq!(again.file("a.json"), Some(&b"1"[..]));
        s.commit(&again, &files(&[("a.json", "2")]), 5).unwrap();
        // Night 1's inputs again are refused: the state is past them.
        let err = s.plan("d1").unwrap_err();
        assert!(
            matches!(
                err,
                Error::AlreadyAudited {
                    generation: 1,
                    current: 2
                }
            ),
            "{err}"
        );
        let p3 = s.plan("d3").unwrap();
        s.commit(&p3, &files(&[("a.json", "3")]), 5).unwrap();
        let mut gens: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("gen-"))
            .collect();
        gens.sort();
        assert_eq!(gens, ["gen-000002", "gen-000003"]);
        let history = std::fs::read_to_string(root.join("history.jsonl")).unwrap();
        assert_eq!(history.lines().count(), 3);
    }

    #[test]
    fn empty_inputs_may_come_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = StateDir::open(dir.path()).unwrap();
        let p = s.plan("empty").unwrap();
        s.commit(&p, &files(&[]), 0).unwrap();
        let p = s.plan("d2").unwrap();
        s.commit(&p, &files(&[]), 3).unwrap();
        // Another closed day: the same empty dump is a new night, not night 1 again.
        let p = s.plan("empty").unwrap();
        assert_eq!(
            (p.generation, p.base_generation(), p.rerun),
            (3, Some(2), false)
        );
        s.commit(&p, &files(&[]), 0).unwrap();
        // Nights with operations are still refused.
        assert!(matches!(
            s.plan("d2"),
            Err(Error::AlreadyAudited { generation: 2, .. })
        ));
    }

    #[test]
    fn second_open_is_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let _s = StateDir::open(dir.path()).unwrap();
        assert!(matches!(
            StateDir::open(dir.path()),
            Err(Error::Lock(LockError::Held { .. }))
        ));
    }

    #[test]
    fn interrupted_commit_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        {
            let mut s = StateDir::open(root).unwrap();
            let p = s.plan("d1").unwrap();
            s.commit(&p, &files(&[("a.json", "1")]), 5).unwrap();
        }
        // A re-run of night 1 that crashed after moving the live generation aside, and a
        // half-written generation.
        std::fs::rename(root.join("gen-000001"), root.join("gen-000001.old")).unwrap();
        std::fs::create_dir(root.join("gen-000002.tmp")).unwrap();
        let s = StateDir::open(root).unwrap();
        assert_eq!(s.current().unwrap().generation, 1);
        assert!(root.join("gen-000001/meta.json").exists());
        assert!(!root.join("gen-000002.tmp").exists());
    }

    #[test]
    fn damaged_current_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("current"), "seven\n").unwrap();
        let err = StateDir::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("current"), "{err}");
    }
}
