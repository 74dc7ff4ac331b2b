//! Where a record came from: file, archive entry, line or index, JSON pointer.
//!
//! Kept on every operation and every rejection so that a finding years later can still say
//! "fixtures/x.ndjson:17". File names are shared (`Arc<str>`) because millions of records
//! point at a handful of files.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

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
}
