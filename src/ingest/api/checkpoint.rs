//! The checkpoint `<DUMP>.checkpoint.json`: how far a fetch got, so that a new run resumes.
//!
//! Written after every page, once the page's records are synced to the partial file: per
//! listing (one per register, or one for all registers) the next cursor and the pages and
//! records done, and the partial file's length at that moment. A run that dies anywhere
//! leaves a checkpoint that describes a prefix of the partial file; the next run cuts the
//! file back to that length (dropping a half-written page) and asks for the cursor again.
//!
//! The query the fetch was started with is stored with its SHA-256, so that a run with other
//! options (another register, filter or page size would make the pages disagree) is refused
//! instead of mixing two listings in one dump. The key is never stored, nor anything derived
//! from it: [`Checkpoint::save`] refuses text that contains it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::{ApiKey, RetryCounts};
use super::{Error, Query};

/// The checkpoint format written by this version.
pub const FORMAT: u32 = 1;

/// The whole checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`FORMAT`].
    pub format: u32,
    /// SHA-256 (hex) of the query's canonical JSON.
    pub query_sha256: String,
    /// The query the fetch was started with.
    pub query: Query,
    /// The listings to fetch; `None` until the register list has been read
    /// (`--all-registers` with the register-scoped API).
    pub listings: Option<Vec<Listing>>,
    /// Length of the partial file when this checkpoint was written: everything before it
    /// is complete pages.
    pub partial_len: u64,
    /// Retries of all runs of this fetch so far, by cause.
    pub retries: RetryCounts,
    /// Listings started over after a rejected cursor, all runs so far.
    pub restarts: u64,
}

/// One listing: the operations of one register, or of all registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The register; `None` for the unfiltered `/operations` listing.
    pub register: Option<String>,
    /// The cursor of the next page; `None` with `done: false` means the first page.
    pub cursor: Option<String>,
    /// Whether the last page was read.
    pub done: bool,
    /// Pages read.
    pub pages: u64,
    /// Records read (duplicates included).
    pub records: u64,
    /// Times this listing started over.
    pub restarts: u32,
}

impl Listing {
    /// A listing not started yet.
    pub fn new(register: Option<String>) -> Listing {
        Listing {
            register,
            cursor: None,
            done: false,
            pages: 0,
            records: 0,
            restarts: 0,
        }
    }

    /// The name to show: the register id, or `(all registers)`.
    pub fn name(&self) -> &str {
        self.register.as_deref().unwrap_or("(all registers)")
    }
}

/// SHA-256 (hex) of the query's canonical JSON (fields in declaration order).
pub fn query_sha256(query: &Query) -> String {
    let json = serde_json::to_vec(query).expect("a query always serializes");
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Checkpoint {
    /// A checkpoint for a fetch that has not read anything yet.
    pub fn start(query: &Query, listings: Option<Vec<Listing>>) -> Checkpoint {
        Checkpoint {
            format: FORMAT,
            query_sha256: query_sha256(query),
            query: query.clone(),
            listings,
            partial_len: 0,
            retries: RetryCounts::default(),
            restarts: 0,
        }
    }

    /// Reads a checkpoint; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let bad = |message: String| Error::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let format = serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| bad(format!("not readable ({e}); delete it to start over")))?
            .get("format")
            .and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            let found = format.map_or_else(|| "missing".to_string(), |f| f.to_string());
            return Err(bad(format!(
                "format {found}, this fiskal reads format {FORMAT}; delete it to start over"
            )));
        }
        let cp: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not readable ({e}); delete it to start over")))?;
        if cp.query_sha256 != query_sha256(&cp.query) {
            return Err(bad(
                "its query does not match its SHA-256 (edited by hand?); delete it to start over"
                    .into(),
            ));
        }
        Ok(Some(cp))
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename), refusing to write
    /// anything that contains the key.
    pub fn save(&self, path: &Path, key: &ApiKey) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(self).expect("a checkpoint serializes");
        text.push('\n');
        if key.appears_in(&text) {
            return Err(Error::KeyInCheckpoint {
                path: path.to_path_buf(),
            });
        }
        crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Whether every listing is done.
    pub fn complete(&self) -> bool {
        self.listings
            .as_ref()
            .is_some_and(|l| l.iter().all(|l| l.done))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ApiShape, Filters};
    use super::*;

    fn query() -> Query {
        Query {
            base_url: "https://api.example.test/v1".into(),
            api: ApiShape::Registers,
            registers: vec!["reg_1".into()],
            all_registers: false,
            filters: Filters::default(),
            limit: 200,
            organization: Some("org_1".into()),
        }
    }

    #[test]
    fn round_trip_and_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.checkpoint.json");
        let key = ApiKey::new("ofk_k_123".into()).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let mut cp = Checkpoint::start(&query(), Some(vec![Listing::new(Some("reg_1".into()))]));
        cp.partial_len = 42;
        cp.save(&path, &key).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp.clone()));
        let mut other = query();
        other.limit = 50;
        assert_ne!(query_sha256(&other), cp.query_sha256);
        assert_eq!(query_sha256(&query()), cp.query_sha256);
    }

    #[test]
    fn a_checkpoint_with_the_key_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.checkpoint.json");
        let key = ApiKey::new("ofk_k_123".into()).unwrap();
        let mut cp = Checkpoint::start(&query(), Some(vec![Listing::new(None)]));
        cp.listings.as_mut().unwrap()[0].cursor = Some("c_ofk_k_123".into());
        let err = cp.save(&path, &key).unwrap_err();
        assert!(!err.to_string().contains("ofk_k_123"));
        assert!(!path.exists());
    }

    #[test]
    fn damaged_or_foreign_checkpoints_are_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.checkpoint.json");
        std::fs::write(&path, "{\"format\":1,").unwrap();
        let e = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(e.contains("delete it to start over"), "{e}");
        std::fs::write(&path, "{\"format\":9}").unwrap();
        let e = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(e.contains("format 9, this fiskal reads format 1"), "{e}");
        let key = ApiKey::new("ofk_k_123".into()).unwrap();
        let cp = Checkpoint::start(&query(), None);
        cp.save(&path, &key).unwrap();
        let edited = std::fs::read_to_string(&path)
            .unwrap()
            .replace("reg_1", "reg_2");
        std::fs::write(&path, edited).unwrap();
        let e = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(e.contains("does not match its SHA-256"), "{e}");
    }
}
