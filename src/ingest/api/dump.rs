//! The partial file `<DUMP>.partial` and the final dump built from it.
//!
//! Pages are appended to the partial file as they arrive, one record per line, duplicates
//! and all: appending is the only write that a crash can leave half done, and the checkpoint
//! says how much of the file is whole. When every listing is done, [`finalize`] reads the
//! partial file once to build an index (id → newest version, where its line is, sort key),
//! sorts the index, and copies each kept line into a temporary file in that order, which is
//! synced and renamed to the dump. Only the index is in memory, never the records: a few
//! dozen bytes per operation plus its id.
//!
//! Which copy of an id is kept: the one with the highest `resource_version` (absent counts
//! as 0), and among equal versions the one fetched last, since a later page saw the later
//! state. Order of the dump: register id, then `sequence_number` (records without one after
//! those with one), then id; records without a register come last. The order depends only on
//! the records, never on page boundaries, retries or restarts, so any two complete fetches
//! of the same data give the same bytes.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Error;
use crate::fsutil::AtomicFile;

/// The partial file, open for appending whole pages.
pub struct Partial {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Partial {
    /// Starts an empty partial file (an old one is truncated).
    pub fn create(path: &Path) -> Result<Partial, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Partial {
            file,
            path: path.to_path_buf(),
            len: 0,
        })
    }

    /// Reopens a partial file and cuts it back to `len`, the length its checkpoint vouches
    /// for: whatever lies beyond is a page the previous run did not finish checkpointing.
    pub fn resume(path: &Path, len: u64) -> Result<Partial, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::Partial {
                    path: path.to_path_buf(),
                    message: "missing, but its checkpoint says pages were fetched; delete the checkpoint to start over".into(),
                });
            }
            Err(e) => return Err(io(e)),
        };
        let actual = file.metadata().map_err(io)?.len();
        if actual < len {
            return Err(Error::Partial {
                path: path.to_path_buf(),
                message: format!(
                    "{actual} bytes, shorter than the {len} bytes its checkpoint vouches for; delete the checkpoint and the partial file to start over"
                ),
            });
        }
        file.set_len(len).map_err(io)?;
        file.seek(SeekFrom::Start(len)).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Partial {
            file,
            path: path.to_path_buf(),
            len,
        })
    }

    /// Appends one page (each record on its own line) and syncs it to disk; returns the new
    /// length, which the checkpoint may then vouch for.
    pub fn append<'a>(&mut self, records: impl Iterator<Item = &'a str>) -> Result<u64, Error> {
        let mut buf = Vec::new();
        for r in records {
            buf.extend_from_slice(r.as_bytes());
            buf.push(b'\n');
        }
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&buf).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len += buf.len() as u64;
        Ok(self.len)
    }

    /// The length written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What [`finalize`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finalized {
    /// Lines in the partial file.
    pub records_read: u64,
    /// Lines in the dump: distinct ids.
    pub records_written: u64,
    /// Copies of an id that were not kept.
    pub duplicates_dropped: u64,
    /// The distinct register ids in the dump, sorted.
    pub registers: Vec<String>,
}

/// Where one kept record is and how it sorts.
#[derive(Debug, Clone, Copy)]
struct Entry {
    version: u64,
    offset: u64,
    len: u32,
    /// Index into the register names; `u32::MAX` when the record names no register.
    register: u32,
    sequence: Option<u64>,
}

/// The fields of a record that decide which copy is kept and where it goes. Each is read
/// leniently: the dump keeps bad data as served for `fiskal check` to report, so a field of
/// the wrong type only counts as absent here.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resource_version: Option<&'a RawValue>,
    #[serde(borrow, default)]
    register_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sequence_number: Option<&'a RawValue>,
}

fn whole_number(raw: Option<&RawValue>) -> Option<u64> {
    let n: serde_json::Number = serde_json::from_str(raw?.get()).ok()?;
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
            .map(|f| f as u64)
    })
}

fn string(raw: Option<&RawValue>) -> Option<String> {
    serde_json::from_str::<String>(raw?.get()).ok()
}

/// The index of a partial file: per id the copy to keep.
#[derive(Default)]
struct Index {
    by_id: HashMap<String, Entry>,
    registers: Vec<String>,
    register_idx: HashMap<String, u32>,
    records_read: u64,
    duplicates: u64,
}

impl Index {
    fn add(&mut self, line: &[u8], offset: u64) -> Result<(), String> {
        let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))?;
        let head: Head = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let id = string(head.id).ok_or("no string id")?;
        let register = match string(head.register_id) {
            Some(r) => match self.register_idx.get(&r) {
                Some(&i) => i,
                None => {
                    let i = u32::try_from(self.registers.len()).map_err(|e| e.to_string())?;
                    self.registers.push(r.clone());
                    self.register_idx.insert(r, i);
                    i
                }
            },
            None => u32::MAX,
        };
        let entry = Entry {
            version: whole_number(head.resource_version).unwrap_or(0),
            offset,
            len: u32::try_from(line.len()).map_err(|_| "a record over 4 GiB")?,
            register,
            sequence: whole_number(head.sequence_number),
        };
        self.records_read += 1;
        match self.by_id.get_mut(&id) {
            Some(kept) => {
                self.duplicates += 1;
                // Ties go to the later copy: it was fetched after the other.
                if entry.version >= kept.version {
                    *kept = entry;
                }
            }
            None => {
                self.by_id.insert(id, entry);
            }
        }
        Ok(())
    }

    /// The kept entries in dump order.
    fn sorted(&self) -> Vec<(&str, Entry)> {
        // Rank registers by name once, so that sorting compares integers.
        let mut names: Vec<u32> = (0..self.registers.len() as u32).collect();
        names.sort_by(|a, b| self.registers[*a as usize].cmp(&self.registers[*b as usize]));
        let mut rank = vec![0u32; self.registers.len()];
        for (r, i) in names.iter().enumerate() {
            rank[*i as usize] = r as u32;
        }
        let rank_of = |e: &Entry| {
            if e.register == u32::MAX {
                u32::MAX
            } else {
                rank[e.register as usize]
            }
        };
        let mut v: Vec<(&str, Entry)> = self.by_id.iter().map(|(k, e)| (k.as_str(), *e)).collect();
        v.sort_by(|(ida, a), (idb, b)| {
            rank_of(a)
                .cmp(&rank_of(b))
                .then_with(|| match (a.sequence, b.sequence) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                })
                .then_with(|| ida.cmp(idb))
        });
        v
    }
}

/// Builds the dump from a complete partial file: dedupe, sort, write to a temporary file,
/// sync, rename to `dump`, sync the directory. The dump appears complete or not at all.
pub fn finalize(partial: &Path, dump: &Path) -> Result<Finalized, Error> {
    let io_at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path: path.clone(),
            source,
        }
    };
    let mut index = Index::default();
    let mut reader = BufReader::new(File::open(partial).map_err(io_at(partial))?);
    let mut line = Vec::new();
    let (mut offset, mut line_no) = (0u64, 0u64);
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(io_at(partial))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        index.add(body, offset).map_err(|message| Error::Partial {
            path: partial.to_path_buf(),
            message: format!("line {line_no}: {message}"),
        })?;
        offset += n as u64;
    }

    let mut source = File::open(partial).map_err(io_at(partial))?;
    let mut out = AtomicFile::create(dump).map_err(io_at(dump))?;
    let sorted = index.sorted();
    let mut buf = Vec::new();
    for (_, e) in &sorted {
        buf.resize(e.len as usize, 0);
        source
            .seek(SeekFrom::Start(e.offset))
            .map_err(io_at(partial))?;
        source.read_exact(&mut buf).map_err(io_at(partial))?;
        out.write_all(&buf).map_err(io_at(dump))?;
        out.write_all(b"\n").map_err(io_at(dump))?;
    }
    out.commit().map_err(io_at(dump))?;
    sync_parent(dump).map_err(io_at(dump))?;

    let mut registers = index.registers.clone();
    registers.sort();
    Ok(Finalized {
        records_read: index.records_read,
        records_written: sorted.len() as u64,
        duplicates_dropped: index.duplicates,
        registers,
    })
}

/// Syncs the directory holding `path`, so that a rename into it survives a power cut.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; NTFS journals the rename itself.
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (String, Finalized) {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("d.partial");
        let dump = dir.path().join("d.ndjson");
        let mut p = Partial::create(&partial).unwrap();
        p.append(lines.iter().copied()).unwrap();
        let stats = finalize(&partial, &dump).unwrap();
        (std::fs::read_to_string(&dump).unwrap(), stats)
    }

    #[test]
    fn highest_version_wins_and_ties_go_to_the_later_copy() {
        let (dump, stats) = run(&[
            r#"{"id":"a","register_id":"r","resource_version":2,"v":"a2"}"#,
            r#"{"id":"b","register_id":"r","v":"b-first"}"#,
            r#"{"id":"a","register_id":"r","resource_version":1,"v":"a1-later"}"#,
            r#"{"id":"c","register_id":"r","resource_version":1,"v":"c1"}"#,
            r#"{"id":"b","register_id":"r","v":"b-later"}"#,
            r#"{"id":"c","register_id":"r","resource_version":3.0,"v":"c3"}"#,
            r#"{"id":"c","register_id":"r","resource_version":"9","v":"c-bad-version"}"#,
        ]);
        assert_eq!(
            dump,
            concat!(
                r#"{"id":"a","register_id":"r","resource_version":2,"v":"a2"}"#,
                "\n",
                r#"{"id":"b","register_id":"r","v":"b-later"}"#,
                "\n",
                r#"{"id":"c","register_id":"r","resource_version":3.0,"v":"c3"}"#,
                "\n"
            )
        );
        assert_eq!(
            stats,
            Finalized {
                records_read: 7,
                records_written: 3,
                duplicates_dropped: 4,
                registers: vec!["r".into()]
            }
        );
    }

    #[test]
    fn order_is_register_then_sequence_then_id_whatever_the_fetch_order() {
        let (dump, stats) = run(&[
            r#"{"id":"z9","register_id":"reg_b","sequence_number":1}"#,
            r#"{"id":"x","register_id":"reg_a"}"#,
            r#"{"id":"m","register_id":"reg_a","sequence_number":10}"#,
            r#"{"id":"online","register_id":null}"#,
            r#"{"id":"n","register_id":"reg_a","sequence_number":9}"#,
            r#"{"id":"w","register_id":"reg_a"}"#,
            r#"{"id":"a","register_id":"reg_b","sequence_number":2}"#,
            r#"{"id":"odd","register_id":"reg_a","sequence_number":"3"}"#,
        ]);
        let ids: Vec<String> = dump
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, ["n", "m", "odd", "w", "x", "z9", "a", "online"]);
        assert_eq!(stats.registers, ["reg_a", "reg_b"]);
    }

    #[test]
    fn resume_cuts_a_half_written_page() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.partial");
        let mut p = Partial::create(&path).unwrap();
        let len = p.append([r#"{"id":"a"}"#].into_iter()).unwrap();
        drop(p);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"id":"b","half"#).unwrap();
        drop(f);
        let mut p = Partial::resume(&path, len).unwrap();
        assert_eq!(p.len(), len);
        p.append([r#"{"id":"c"}"#].into_iter()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"id\":\"a\"}\n{\"id\":\"c\"}\n"
        );
        let e = Partial::resume(&path, 1000).err().unwrap().to_string();
        assert!(e.contains("shorter than the 1000 bytes"), "{e}");
    }

    #[test]
    fn a_damaged_partial_file_is_named_not_guessed_at() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("d.partial");
        std::fs::write(&partial, "{\"id\":\"a\"}\n{\"id\":\n").unwrap();
        let e = finalize(&partial, &dir.path().join("d"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(!dir.path().join("d").exists());
    }
}
