//! Ingest: OpenFiskal dumps in, canonical operations and rejections out.
//!
//! `dump` turns paths into raw JSON records; `wire` detects the API shape of each record and
//! normalises it; this module ties them together, expands list pages and refuses duplicate
//! ids. Ingest is the only code that knows wire types, and it knows nothing of exports.
//! It never fails on bad data: every problem becomes a [`Reject`] and reading goes on.

pub mod api;
pub mod dump;
pub mod reject;
pub mod wire;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::value::RawValue;

pub use dump::InputFiles;
pub use reject::{Reject, RejectClass};

use crate::model::{CompactLoc, Operation, SourceLoc, SourceTable, WireShape};
use reject::FieldError;
use wire::Detected;

/// One item of the ingest stream.
// Items are moved once from reader to consumer; boxing the rare rejection too would add an
// allocation for no measurable gain.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A record normalised into the canonical model.
    Operation(Box<Operation>),
    /// A record (or file) that could not be.
    Reject(Reject),
}

/// Why ingest could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No input was given.
    #[error("no input given")]
    NoInput,
    /// None of the inputs could be opened.
    #[error("no input could be read: {}", .0.join(", "))]
    NothingRead(Vec<String>),
}

/// How [`read_with`] goes through the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One record at a time: memory stays bounded whatever the input's size.
    Streaming,
    /// Every file parsed on its own thread first, then handed on file by file in input order:
    /// the same items in the same order as [`Mode::Streaming`], but holding all operations in
    /// memory at once. For callers that keep every operation anyway.
    ParallelFiles,
}

/// Reads all inputs in order and hands every operation and rejection to `sink`.
///
/// Returns which files were read; fails only when nothing at all could be read.
pub fn read(inputs: &[PathBuf], sink: &mut dyn FnMut(Item)) -> Result<InputFiles, Error> {
    read_with(inputs, Mode::Streaming, sink)
}

/// [`read`], going through the files as `mode` says.
pub fn read_with(
    inputs: &[PathBuf],
    mode: Mode,
    sink: &mut dyn FnMut(Item),
) -> Result<InputFiles, Error> {
    if inputs.is_empty() {
        return Err(Error::NoInput);
    }
    let mut files = InputFiles::default();
    for input in inputs {
        if !input.exists() {
            files.unreadable.push(input.display().to_string());
            let loc = SourceLoc::file(input.display().to_string().into(), None);
            sink(Item::Reject(
                FieldError::new(
                    RejectClass::Unreadable,
                    "",
                    None,
                    None,
                    "no such file or directory",
                )
                .at(loc, None),
            ));
        }
    }
    let existing: Vec<PathBuf> = inputs.iter().filter(|p| p.exists()).cloned().collect();
    let paths = dump::collect_files(&existing, &mut files);
    let mut records = Records::default();
    match mode {
        Mode::Streaming => {
            for path in &paths {
                dump::read_file(path, &mut files, &mut |unit| match unit {
                    dump::Unit::Record(loc, text) => records.record(loc, text, sink),
                    dump::Unit::Reject(r) => sink(Item::Reject(r)),
                });
            }
        }
        Mode::ParallelFiles => {
            // Parsing needs no state; only the duplicate check does, and it runs afterwards in
            // input order, so that the first of two equal ids stays the one accepted.
            let parsed: Vec<(InputFiles, Vec<Item>)> = paths
                .par_iter()
                .map(|path| {
                    let mut touched = InputFiles::default();
                    let mut items = Vec::new();
                    dump::read_file(path, &mut touched, &mut |unit| match unit {
                        dump::Unit::Record(loc, text) => parse(loc, text, &mut |i| items.push(i)),
                        dump::Unit::Reject(r) => items.push(Item::Reject(r)),
                    });
                    (touched, items)
                })
                .collect();
            for (touched, items) in parsed {
                files.read.extend(touched.read);
                files.skipped.extend(touched.skipped);
                files.master_data.extend(touched.master_data);
                files.unreadable.extend(touched.unreadable);
                for item in items {
                    records.pass(item, sink);
                }
            }
        }
    }
    if files.read.is_empty() && files.master_data.is_empty() && !files.unreadable.is_empty() {
        return Err(Error::NothingRead(files.unreadable.clone()));
    }
    Ok(files)
}

/// Reads an in-memory dump (any container except zip) as if it were a file named `name`.
///
/// The same path as [`read`] minus the file system: used by the fuzz target and tests.
pub fn read_bytes(name: &str, bytes: &[u8], sink: &mut dyn FnMut(Item)) {
    let mut records = Records::default();
    dump::read_bytes(
        bytes,
        SourceLoc::file(name.into(), None),
        &mut |unit| match unit {
            dump::Unit::Record(loc, text) => records.record(loc, text, sink),
            dump::Unit::Reject(r) => sink(Item::Reject(r)),
        },
    );
}

/// Hands `sink` the wire text of every record among `inputs` whose operation id is in
/// `wanted` (list pages are opened), in input order: what a nightly run keeps of operations
/// a later night still needs, so that the next night reads them exactly as they came.
/// Unreadable files and records are passed over; the run that read them reported them.
pub fn raw_records(
    inputs: &[PathBuf],
    wanted: &std::collections::HashSet<String>,
    sink: &mut dyn FnMut(&str, &str),
) {
    fn one(
        text: &str,
        wanted: &std::collections::HashSet<String>,
        sink: &mut dyn FnMut(&str, &str),
    ) {
        match wire::detect(text) {
            Ok(Detected::ListPage) => {
                if let Ok(data) = page_data(text) {
                    for raw in &data {
                        one(raw.get(), wanted, sink);
                    }
                }
            }
            Ok(Detected::Operation(_, Some(id))) if wanted.contains(&id) => sink(&id, text),
            _ => {}
        }
    }
    let mut files = InputFiles::default();
    let existing: Vec<PathBuf> = inputs.iter().filter(|p| p.exists()).cloned().collect();
    for path in dump::collect_files(&existing, &mut files) {
        dump::read_file(&path, &mut files, &mut |unit| {
            if let dump::Unit::Record(_, text) = unit {
                one(text, wanted, sink);
            }
        });
    }
}

/// Per-run record state: the ids seen so far.
#[derive(Default)]
struct Records {
    // Per id a 128-bit hash and a compact location (about 40 bytes with the table's overhead),
    // so that millions of ids fit in little memory; two ids colliding by chance is beyond any
    // realistic history size. The full location is rebuilt only when a duplicate is reported.
    seen: HashMap<u128, CompactLoc>,
    sources: SourceTable,
}

/// One record as items before the duplicate check: operations (several for a list page) and
/// rejections, in record order.
fn parse(loc: SourceLoc, text: &str, out: &mut dyn FnMut(Item)) {
    match wire::detect(text) {
        Ok(Detected::ListPage) => list_page(loc, text, out),
        Ok(Detected::Operation(shape, id)) => {
            let result = match shape {
                WireShape::Register => wire::registers::normalize(text, loc.clone()),
                WireShape::Operations => wire::operations::normalize(text, loc.clone()),
            };
            match result {
                Ok(op) => out(Item::Operation(Box::new(op))),
                Err(e) => out(Item::Reject(e.at(loc, id))),
            }
        }
        Err((e, id)) => out(Item::Reject(e.at(loc, id))),
    }
}

/// The `data` elements of a list page, unparsed.
fn page_data(text: &str) -> Result<Vec<Box<RawValue>>, FieldError> {
    #[derive(serde::Deserialize)]
    struct Page {
        data: Vec<Box<RawValue>>,
    }
    wire::parse_record::<Page>(text).map(|p| p.data)
}

fn list_page(loc: SourceLoc, text: &str, out: &mut dyn FnMut(Item)) {
    match page_data(text) {
        Ok(data) => {
            for (i, raw) in data.into_iter().enumerate() {
                let here = SourceLoc {
                    pointer: format!("{}/data/{i}", loc.pointer),
                    ..loc.clone()
                };
                parse(here, raw.get(), out);
            }
        }
        Err(e) => out(Item::Reject(e.at(loc, None))),
    }
}

impl Records {
    fn record(&mut self, loc: SourceLoc, text: &str, sink: &mut dyn FnMut(Item)) {
        parse(loc, text, &mut |item| self.pass(item, sink));
    }

    /// Hands a parsed item on, refusing an operation whose id was read before.
    fn pass(&mut self, item: Item, sink: &mut dyn FnMut(Item)) {
        match item {
            Item::Operation(op) => self.accept(op, sink),
            reject @ Item::Reject(_) => sink(reject),
        }
    }

    fn accept(&mut self, op: Box<Operation>, sink: &mut dyn FnMut(Item)) {
        let key = id_key(&op.id);
        if let Some(first) = self.seen.get(&key) {
            let message = format!(
                "duplicate id {}, first read at {}",
                op.id,
                self.sources.expand(*first)
            );
            let reject = FieldError::new(
                RejectClass::DuplicateId,
                "/id",
                Some("an id not read before".into()),
                Some(op.id.clone()),
                message,
            )
            .at(op.source.clone(), Some(op.id.clone()));
            sink(Item::Reject(reject));
            return;
        }
        let seen = self.sources.compact(&op.source);
        self.seen.insert(key, seen);
        sink(Item::Operation(op));
    }
}

fn id_key(id: &str) -> u128 {
    let mut a = DefaultHasher::new();
    id.hash(&mut a);
    let mut b = DefaultHasher::new();
    (0x5eed_u32, id).hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = include_str!("../../tests/data/shapes/operations.ndjson");

    fn count(bytes: &[u8]) -> (usize, usize) {
        let (mut ops, mut rejects) = (0, 0);
        read_bytes("x", bytes, &mut |item| match item {
            Item::Operation(_) => ops += 1,
            Item::Reject(_) => rejects += 1,
        });
        (ops, rejects)
    }

    #[test]
    fn sample_reads_clean() {
        assert_eq!(count(SAMPLE.as_bytes()), (8, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary bytes never panic, and every non-blank NDJSON line is accounted for.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = count(&bytes);
        }

        /// Corrupting one byte of valid records yields operations or rejections, never a panic,
        /// and never more operations than there were records.
        #[test]
        fn corrupted_records_are_rejected_not_panicking(pos in 0usize..SAMPLE.len(), byte in any::<u8>()) {
            let mut bytes = SAMPLE.as_bytes().to_vec();
            bytes[pos] = byte;
            let (ops, rejects) = count(&bytes);
            prop_assert!(ops <= 8);
            prop_assert!(ops + rejects >= 1);
        }

        /// Truncating valid records at any point never panics and loses at most the cut record.
        #[test]
        fn truncation_keeps_every_complete_record(cut in 0usize..SAMPLE.len()) {
            let (ops, _) = count(&SAMPLE.as_bytes()[..cut]);
            let complete_lines = SAMPLE.as_bytes()[..cut].iter().filter(|&&b| b == b'\n').count();
            prop_assert!(ops >= complete_lines.min(8));
        }
    }
}
