//! Where a record came from: file, archive entry, line or index, JSON pointer.
//!
//! Kept on every operation and every rejection so that a finding years later can still say
//! "fixtures/x.ndjson:17". File names are shared (`Arc<str>`) because millions of records
//! point at a handful of files.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::templog::TempLog;

/// The location of one record in the input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceLoc {
    /// The file as given on the command line (or found in a directory).
    pub file: Arc<str>,
    /// The entry inside a zip archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<Arc<str>>,
    /// 1-based line of the record's start (NDJSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 0-based index of the top-level value or array element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// JSON pointer of the record inside its top-level value (`/data/3` in a list page).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pointer: String,
}

impl SourceLoc {
    /// A location at the start of a file or entry.
    pub fn file(file: Arc<str>, entry: Option<Arc<str>>) -> SourceLoc {
        SourceLoc {
            file,
            entry,
            line: None,
            index: None,
            pointer: String::new(),
        }
    }
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(entry) = &self.entry {
            write!(f, "!{entry}")?;
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        } else if let Some(index) = self.index {
            write!(f, "[#{index}]")?;
        }
        if !self.pointer.is_empty() {
            write!(f, " {}", self.pointer)?;
        }
        Ok(())
    }
}

/// A location in 24 bytes: an index into a [`SourceTable`] plus line, element index and
/// list-page element. Kept per operation where millions of locations must stay in memory
/// (duplicate detection, sequence checks); expanded back only when reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactLoc {
    source: u32,
    page_element: u32,
    line: u64,
    index: u64,
}

const NONE_U64: u64 = u64::MAX;
const NONE_U32: u32 = u32::MAX;

/// The files and archive entries behind [`CompactLoc`]s.
#[derive(Debug, Default, Clone)]
pub struct SourceTable {
    sources: Vec<SourceLoc>,
}

impl SourceTable {
    /// Compacts a location, interning its file (consecutive locations share the last entry).
    pub fn compact(&mut self, loc: &SourceLoc) -> CompactLoc {
        let same = |s: &SourceLoc| s.file == loc.file && s.entry == loc.entry;
        let source = match self.sources.iter().rposition(same) {
            Some(i) if i + 1 == self.sources.len() => i,
            _ => {
                self.sources
                    .push(SourceLoc::file(loc.file.clone(), loc.entry.clone()));
                self.sources.len() - 1
            }
        };
        // Only list pages set a pointer, and only of the form `/data/N`.
        let page_element = loc
            .pointer
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(NONE_U32);
        CompactLoc {
            source: source as u32,
            page_element,
            line: loc.line.unwrap_or(NONE_U64),
            index: loc.index.unwrap_or(NONE_U64),
        }
    }

    /// The full location again.
    pub fn expand(&self, c: CompactLoc) -> SourceLoc {
        let mut loc = self.sources[c.source as usize].clone();
        loc.line = (c.line != NONE_U64).then_some(c.line);
        loc.index = (c.index != NONE_U64).then_some(c.index);
        if c.page_element != NONE_U32 {
            loc.pointer = format!("/data/{}", c.page_element);
        }
        loc
    }
}

impl CompactLoc {
    pub(crate) const BYTES: usize = 24;

    pub(crate) fn to_bytes(self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        b[0..4].copy_from_slice(&self.source.to_le_bytes());
        b[4..8].copy_from_slice(&self.page_element.to_le_bytes());
        b[8..16].copy_from_slice(&self.line.to_le_bytes());
        b[16..24].copy_from_slice(&self.index.to_le_bytes());
        b
    }

    pub(crate) fn from_bytes(b: &[u8; Self::BYTES]) -> CompactLoc {
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        CompactLoc {
            source: u32_at(0),
            page_element: u32_at(4),
            line: u64_at(8),
            index: u64_at(16),
        }
    }
}

/// The [`CompactLoc`] of every record of a run, by ordinal, in a [`TempLog`].
///
/// Duplicate detection must be able to say where an id was first read, for any of millions
/// of ids, but asks only when it finds a duplicate: 24 bytes an id in memory (240 MB at ten
/// million) would be spent on a rare message.
#[derive(Debug)]
pub struct LocLog(TempLog);

impl Default for LocLog {
    fn default() -> Self {
        LocLog(TempLog::new("the locations of the ids read"))
    }
}

impl LocLog {
    /// Appends the location of the next ordinal.
    pub fn push(&mut self, loc: CompactLoc) {
        self.0.append(&loc.to_bytes());
    }

    /// The location of ordinal `n`, if it is still known.
    pub fn get(&mut self, n: u64) -> Option<CompactLoc> {
        let mut b = [0; CompactLoc::BYTES];
        self.0
            .read_at(n * CompactLoc::BYTES as u64, &mut b)
            .then(|| CompactLoc::from_bytes(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_locations_expand_to_the_original() {
        let mut t = SourceTable::default();
        let a = SourceLoc {
            line: Some(7),
            ..SourceLoc::file("a.ndjson".into(), None)
        };
        let b = SourceLoc {
            index: Some(3),
            pointer: "/data/12".into(),
            ..SourceLoc::file("b.zip".into(), Some("x.json".into()))
        };
        let (ca, cb) = (t.compact(&a), t.compact(&b));
        let ca2 = t.compact(&a);
        assert_eq!(
            (t.expand(ca), t.expand(cb), t.expand(ca2)),
            (a.clone(), b, a)
        );
        assert_eq!(std::mem::size_of::<CompactLoc>(), 24);
    }

    #[test]
    fn the_location_log_reads_back_any_ordinal() {
        let mut t = SourceTable::default();
        let mut log = LocLog::default();
        let loc = |i: u64| SourceLoc {
            line: Some(i + 1),
            index: i.is_multiple_of(3).then_some(i),
            ..SourceLoc::file(format!("f{}.ndjson", i / 1000).into(), None)
        };
        let mut compact = Vec::new();
        for i in 0..5000 {
            let c = t.compact(&loc(i));
            compact.push(c);
            log.push(c);
            if i.is_multiple_of(997) {
                // Reads between writes must not disturb the appending.
                assert_eq!(log.get(i / 2), Some(compact[(i / 2) as usize]));
            }
        }
        for i in [0, 1, 999, 1000, 2500, 4999] {
            assert_eq!(log.get(i).map(|c| t.expand(c)), Some(loc(i)));
        }
        assert_eq!(log.get(5000), None);
    }
}
