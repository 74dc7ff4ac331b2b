//! Where a record came from: file, archive entry, line or index, JSON pointer.
//!
//! Kept on every operation and every rejection so that a finding years later can still say
//! "fixtures/x.ndjson:17". File names are shared (`Arc<str>`) because millions of records
//! point at a handful of files.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// The location of one record in the input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
    #[serde(skip_serializing_if = "String::is_empty")]
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
