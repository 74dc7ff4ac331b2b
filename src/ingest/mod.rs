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

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use serde_json::value::RawValue;

pub use dump::InputFiles;
pub use reject::{Reject, RejectClass};

use crate::model::keyset::KeySet;
use crate::model::{LocLog, Operation, SourceLoc, SourceTable, WireShape};
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

/// Records decoded as one task by the streaming reader: tens of milliseconds of work, so the
/// hand-overs cost nothing next to it, and a few MB of text, so memory stays flat.
const BATCH: usize = 1024;

/// Batches read ahead of the consumer by the streaming reader (being decoded or waiting).
const AHEAD: usize = 4;

/// Reads all inputs in order and hands every operation and rejection to `sink`.
///
/// Returns which files were read; fails only when nothing at all could be read.
pub fn read(inputs: &[PathBuf], sink: &mut dyn FnMut(Item)) -> Result<InputFiles, Error> {
    read_with(inputs, Shard::WHOLE, sink)
}

/// [`read`], keeping only the operations of `shard`'s registers.
///
/// The records of other shards' registers are counted in [`InputFiles::other_shards`] and
/// their ids still enter the duplicate check, so that a shard refuses a repeated id exactly
/// when one run over everything would. Rejections that name no register (unreadable files,
/// malformed records, list pages) belong to shard 0, so that N shards report each once.
pub fn read_with(
    inputs: &[PathBuf],
    shard: Shard,
    sink: &mut dyn FnMut(Item),
) -> Result<InputFiles, Error> {
    if inputs.is_empty() {
        return Err(Error::NoInput);
    }
    let mut files = InputFiles::default();
    for input in inputs {
        if !input.exists() {
            files.unreadable.push(input.display().to_string());
            if !shard.owns_unattributed() {
                continue;
            }
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
    let touched = pipelined(&paths, shard, &mut |item| records.pass(item, sink));
    files.absorb(touched);
    files.other_shards = records.other_shards;
    if files.read.is_empty() && files.master_data.is_empty() && !files.unreadable.is_empty() {
        return Err(Error::NothingRead(files.unreadable.clone()));
    }
    Ok(files)
}

/// The streaming reader: a reader thread splits the files into records and hands each batch
/// to the rayon pool to decode, up to [`AHEAD`] batches in flight; this thread takes the
/// decoded batches in input order. Reading, decoding and the caller's work overlap, so the
/// caller's thread is the only stage that runs one record at a time. Returns the files the
/// reader touched.
fn pipelined(paths: &[PathBuf], shard: Shard, take: &mut dyn FnMut(Parsed)) -> InputFiles {
    use std::sync::mpsc::{Receiver, sync_channel};
    enum Raw {
        Record(SourceLoc, String),
        Reject(Reject),
    }
    fn decode(batch: Vec<Raw>, shard: Shard) -> Vec<Parsed> {
        let mut out = Vec::with_capacity(batch.len());
        for raw in batch {
            match raw {
                Raw::Record(loc, text) => parse(loc, &text, shard, &mut |p| out.push(p)),
                Raw::Reject(r) => unattributed(r, shard, &mut |p| out.push(p)),
            }
        }
        out
    }
    // Each batch gets its own one-shot channel, queued in input order: the decoders may finish
    // out of order, the consumer still takes the batches as they were read.
    let (queue, batches) = sync_channel::<Receiver<Vec<Parsed>>>(AHEAD);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut files = InputFiles::default();
            let mut batch = Vec::with_capacity(BATCH);
            // A send fails only when the consumer has gone, and then nothing is left to do.
            let mut gone = false;
            let dispatch = |full: Vec<Raw>| {
                let (tx, rx) = sync_channel(1);
                if queue.send(rx).is_err() {
                    return false;
                }
                rayon::spawn(move || {
                    let _ = tx.send(decode(full, shard));
                });
                true
            };
            for path in paths {
                dump::read_file(path, &mut files, &mut |unit| {
                    if gone {
                        return;
                    }
                    batch.push(match unit {
                        dump::Unit::Record(loc, text) => Raw::Record(loc, text.to_string()),
                        dump::Unit::Reject(r) => Raw::Reject(r),
                    });
                    if batch.len() >= BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        gone = !dispatch(full);
                    }
                });
            }
            if !batch.is_empty() && !gone {
                dispatch(batch);
            }
            files
        });
        for pending in batches {
            // A decoder only drops its sender by panicking; that batch is then lost, which a
            // bug report should say, so the panic is surfaced below through the reader.
            let Ok(decoded) = pending.recv() else {
                panic!("a decoder thread panicked");
            };
            for parsed in decoded {
                take(parsed);
            }
        }
        // The reader only fails by panicking, and a panic there is a bug to surface as one.
        reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
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
            dump::Unit::Record(loc, text) => {
                parse(loc, text, Shard::WHOLE, &mut |p| records.pass(p, sink))
            }
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
            Ok(Detected::Operation { id: Some(id), .. }) if wanted.contains(&id) => sink(&id, text),
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

/// Which registers a run keeps: those whose stable hash falls in shard `index` of `count`.
///
/// The hash is [`crate::model::hash::id_hash`] of the register id (the empty string for
/// operations without one), fixed across builds and machines, so every process of a sharded
/// run agrees on where a register belongs, and a register's whole history — every file, every
/// night — lands in the same shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many there are.
    pub count: u32,
}

impl Shard {
    /// Everything: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard keeps the operations of `register`.
    pub fn owns(&self, register: Option<&str>) -> bool {
        self.count <= 1
            || crate::model::hash::id_hash(register.unwrap_or_default()) % u64::from(self.count)
                == u64::from(self.index)
    }

    /// Whether this shard reports what names no register (shard 0 does).
    pub fn owns_unattributed(&self) -> bool {
        self.index == 0
    }

    /// True when this is the whole input.
    pub fn is_whole(&self) -> bool {
        self.count <= 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with 0 ≤ I < N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (shard I of N, counted from 0), found {s:?}"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("shard index {i:?} is not a whole number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index counts from 0 and must be below the count"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// Per-run record state: the ids seen so far.
#[derive(Default)]
struct Records {
    // Per id 16 bytes: the top 96 bits of a 128-bit hash of the id, over the id's ordinal
    // (its place in `locations`). Two ids colliding in 96 bits by chance is beyond any
    // realistic history size; the ordinal finds where the first was read, only when a
    // duplicate is reported.
    seen: KeySet<u128>,
    locations: LocLog,
    sources: SourceTable,
    other_shards: u64,
}

/// Ordinals from here on are not kept (four billion ids in one run): a duplicate of such an
/// id is still refused, without saying where the first was read.
const NO_ORDINAL: u32 = u32::MAX;

/// A record after decoding, before the duplicate check.
enum Parsed {
    Item(Item),
    /// An operation of another shard's register: not decoded, but its id counts as read.
    Elsewhere(SourceLoc, Option<String>),
}

/// A rejection that names no register: shard 0's to report.
fn unattributed(r: Reject, shard: Shard, out: &mut dyn FnMut(Parsed)) {
    if shard.owns_unattributed() {
        out(Parsed::Item(Item::Reject(r)));
    }
}

/// One record as items before the duplicate check: operations (several for a list page) and
/// rejections, in record order.
fn parse(loc: SourceLoc, text: &str, shard: Shard, out: &mut dyn FnMut(Parsed)) {
    match wire::detect(text) {
        Ok(Detected::ListPage) => list_page(loc, text, shard, out),
        Ok(Detected::Operation {
            shape,
            id,
            register,
        }) => {
            if !shard.owns(register.as_deref()) {
                out(Parsed::Elsewhere(loc, id));
                return;
            }
            let result = match shape {
                WireShape::Register => wire::registers::normalize(text, loc.clone()),
                WireShape::Operations => wire::operations::normalize(text, loc.clone()),
            };
            out(Parsed::Item(match result {
                Ok(op) => Item::Operation(Box::new(op)),
                Err(e) => Item::Reject(e.at(loc, id)),
            }))
        }
        Err((e, id)) => unattributed(e.at(loc, id), shard, out),
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

fn list_page(loc: SourceLoc, text: &str, shard: Shard, out: &mut dyn FnMut(Parsed)) {
    match page_data(text) {
        Ok(data) => {
            for (i, raw) in data.into_iter().enumerate() {
                let here = SourceLoc {
                    pointer: format!("{}/data/{i}", loc.pointer),
                    ..loc.clone()
                };
                parse(here, raw.get(), shard, out);
            }
        }
        Err(e) => unattributed(e.at(loc, None), shard, out),
    }
}

impl Records {
    /// Hands a parsed item on, refusing an operation whose id was read before.
    fn pass(&mut self, parsed: Parsed, sink: &mut dyn FnMut(Item)) {
        match parsed {
            Parsed::Item(Item::Operation(op)) => self.accept(op, sink),
            Parsed::Item(reject @ Item::Reject(_)) => sink(reject),
            Parsed::Elsewhere(loc, id) => {
                self.other_shards += 1;
                if let Some(id) = id {
                    let hash = id_key(&id) >> 32 << 32;
                    if self.seen.find_packed(hash, 32).is_none() {
                        self.remember(hash, &loc);
                    }
                }
            }
        }
    }

    /// Records an id, as `hash` (its [`id_key`] with the low 32 bits zero), read at `loc`.
    fn remember(&mut self, hash: u128, loc: &SourceLoc) {
        let ordinal = u32::try_from(self.seen.len())
            .ok()
            .filter(|&n| n != NO_ORDINAL);
        if ordinal.is_some() {
            let at = self.sources.compact(loc);
            self.locations.push(at);
        }
        self.seen
            .insert(hash | u128::from(ordinal.unwrap_or(NO_ORDINAL)));
    }

    fn accept(&mut self, op: Box<Operation>, sink: &mut dyn FnMut(Item)) {
        let hash = id_key(&op.id) >> 32 << 32;
        if let Some(first) = self.seen.find_packed(hash, 32) {
            let ordinal = first as u32;
            let at = (ordinal != NO_ORDINAL)
                .then(|| self.locations.get(u64::from(ordinal)))
                .flatten();
            let message = match at {
                Some(at) => format!(
                    "duplicate id {}, first read at {}",
                    op.id,
                    self.sources.expand(at)
                ),
                None => format!("duplicate id {}, first read earlier in this run", op.id),
            };
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
        self.remember(hash, &op.source);
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
