//! Sequences and fiscal counters (SEQ001–SEQ004, FIS001–FIS003).
//!
//! Sequence numbers and completed external ids are collected per register and judged once all
//! are in, so that gaps and repeats are exact whatever order the input came in. What a
//! register collects goes to a temporary file in chunks ([`Chunked`]) and is read back, sorted
//! and judged one register at a time in `finish`: memory holds a few hundred entries per
//! register while the input is read, not one per operation (24 and 16 bytes each, about 400
//! MB at ten million operations). Fiscal counters are judged per device in input order, as the
//! records were written.
//!
//! Across runs ([`super::carry`]) a register hands on its last entry in number order, the
//! ranges of numbers seen and the hashes of completed external ids; a device its last counter.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::carry::time_serde;
use super::{Emit, OpRef};
use crate::model::templog::TempLog;
use crate::model::*;
use crate::model::{CompactLoc, SourceTable};

/// One sequenced operation, in 24 bytes: what the checks need; its id, location and input
/// position, needed only to name it in a finding or hand it on, are in the [`OpLog`].
struct SeqEntry {
    seq: u64,
    /// Start time in milliseconds since the epoch; `i64::MIN` when unknown.
    time_ms: i64,
    /// The operation's record in the [`OpLog`]. Records are appended in input order, so
    /// this orders entries as their input positions do.
    at: u64,
}

/// The id and location of the operations the sequences may have to name, in a
/// [`TempLog`]: a record (id length, external id length, input position, [`CompactLoc`], id,
/// completed external id) per operation, read back only for a finding and for the last entry
/// of a register. In memory they took about 90 bytes a sequenced operation, a gigabyte at ten
/// million. The registers' [`Chunked`] records share a second log.
pub(crate) struct OpLog {
    sources: SourceTable,
    log: TempLog,
    record: Vec<u8>,
    /// The registers' [`Chunked`] entries and external ids.
    chunks: TempLog,
}

impl Default for OpLog {
    fn default() -> Self {
        OpLog {
            sources: SourceTable::default(),
            log: TempLog::new("the ids of sequenced operations"),
            record: Vec::new(),
            chunks: TempLog::new("the sequence numbers and external ids of registers"),
        }
    }
}

/// What [`OpLog`] recorded of an operation.
struct Logged {
    id: String,
    /// The external id, if the operation completed one (SEQ004 names it).
    external_id: String,
    location: SourceLoc,
    index: u64,
}

impl OpLog {
    /// Records `op`'s id, completed external id and location; returns where.
    fn put(&mut self, op: &Operation, index: u64) -> u64 {
        let loc = self.sources.compact(&op.source);
        let ext = completed_external_id(op).unwrap_or_default();
        let r = &mut self.record;
        r.clear();
        r.extend_from_slice(&(op.id.len() as u32).to_le_bytes());
        r.extend_from_slice(&(ext.len() as u32).to_le_bytes());
        r.extend_from_slice(&index.to_le_bytes());
        r.extend_from_slice(&loc.to_bytes());
        r.extend_from_slice(op.id.as_bytes());
        r.extend_from_slice(ext.as_bytes());
        self.log.append(r)
    }

    /// What was recorded at `at`; if the temporary file lost it (the one message of
    /// [`TempLog`] has said so), [`LOST`] at no location.
    fn get(&mut self, at: u64) -> Logged {
        self.read(at).unwrap_or_else(|| Logged {
            id: LOST.to_string(),
            external_id: String::new(),
            location: SourceLoc::file("".into(), None),
            index: 0,
        })
    }

    fn read(&mut self, at: u64) -> Option<Logged> {
        let mut head = [0u8; 16 + CompactLoc::BYTES];
        if !self.log.read_at(at, &mut head) {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
        let (id_len, ext_len) = (u32_at(0) as usize, u32_at(4) as usize);
        let index = u64_at(&head, 8);
        let loc = CompactLoc::from_bytes(head[16..].try_into().expect("24 bytes"));
        let mut text = vec![0; id_len + ext_len];
        if !self.log.read_at(at + head.len() as u64, &mut text) {
            return None;
        }
        let external_id = String::from_utf8(text.split_off(id_len)).ok()?;
        let id = String::from_utf8(text).ok()?;
        Some(Logged {
            id,
            external_id,
            location: self.sources.expand(loc),
            index,
        })
    }

    /// The id recorded at `at` (see [`OpLog::get`]).
    fn id(&mut self, at: u64) -> String {
        self.get(at).id
    }
}

/// The external id `op` completes, if any: what SEQ004 holds to once per register.
fn completed_external_id(op: &Operation) -> Option<&str> {
    (op.state == LifecycleState::Completed)
        .then_some(op.external_id.as_deref())
        .flatten()
}

/// A record of fixed size that a [`Chunked`] list writes to the temporary file.
trait Fixed: Sized {
    const BYTES: usize;
    fn put(&self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

impl Fixed for SeqEntry {
    const BYTES: usize = 24;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.time_ms.to_le_bytes());
        out.extend_from_slice(&self.at.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        SeqEntry {
            seq: u64_at(b, 0),
            time_ms: u64_at(b, 8) as i64,
            at: u64_at(b, 16),
        }
    }
}

/// A completed external id: its [`hash()`] and the [`OpLog`] record of its operation.
#[derive(Clone, Copy)]
struct ExtId {
    hash: u64,
    at: u64,
}

impl Fixed for ExtId {
    const BYTES: usize = 16;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.at.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        ExtId {
            hash: u64_at(b, 0),
            at: u64_at(b, 8),
        }
    }
}

/// Records per chunk: a chunk of entries is 6 KiB, so a register holds at most that much in
/// memory while the input is read, and reads its records back in a few dozen reads a
/// thousand operations.
const CHUNK_RECORDS: usize = 256;

/// A register's records of one kind: the last ones in memory, every [`CHUNK_RECORDS`] before
/// them in a chunk of [`OpLog`]'s temporary file.
struct Chunked<T> {
    tail: Vec<T>,
    chunks: Vec<u64>,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            tail: Vec::new(),
            chunks: Vec::new(),
        }
    }
}

impl<T: Fixed> Chunked<T> {
    fn push(&mut self, x: T, log: &mut TempLog) {
        self.tail.push(x);
        if self.tail.len() == CHUNK_RECORDS {
            let mut bytes = Vec::with_capacity(CHUNK_RECORDS * T::BYTES);
            for x in self.tail.drain(..) {
                x.put(&mut bytes);
            }
            self.chunks.push(log.append(&bytes));
        }
    }

    /// Every record in the order pushed; `None` if the temporary file lost a chunk.
    fn load(self, log: &mut TempLog) -> Option<Vec<T>> {
        let mut all = Vec::with_capacity(self.chunks.len() * CHUNK_RECORDS + self.tail.len());
        let mut bytes = vec![0; CHUNK_RECORDS * T::BYTES];
        for at in self.chunks {
            if !log.read_at(at, &mut bytes) {
                return None;
            }
            all.extend(bytes.chunks_exact(T::BYTES).map(T::get));
        }
        all.extend(self.tail);
        Some(all)
    }
}

/// Names an operation whose record the temporary file lost.
const LOST: &str = "(an operation whose id was lost with a temporary file)";

/// The operation before, in number order: one of this run's, or the last of an earlier run.
#[derive(Clone, Copy)]
enum Prev<'a> {
    Logged(u64),
    Earlier(&'a str),
}

const NO_TIME: i64 = i64::MIN;

/// The last entry of a register in number order, from an earlier run: what the first entry
/// of the next run is judged against (SEQ001–SEQ003).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LastEntry {
    pub seq: u64,
    pub index: u64,
    /// Milliseconds since the epoch; `None` when unknown.
    pub time_ms: Option<i64>,
    pub id: String,
}

/// What a register's sequence hands on to the next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SequenceCarry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastEntry>,
    /// Every sequence number seen so far, as sorted disjoint inclusive ranges: one range on a
    /// history without gaps, one more per gap.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<(u64, u64)>,
    /// The time of the last operation without a sequence number (its SEQ003 predecessor).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time_serde::option"
    )]
    pub last_unsequenced: Option<Timestamp>,
    /// [`hash()`] of every external id completed so far, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<u64>,
}

/// What one register's operations have shown so far.
#[derive(Default)]
pub(crate) struct RegisterSequence {
    entries: Chunked<SeqEntry>,
    last_unsequenced: Option<Timestamp>,
    /// Every completion of an external id in this run, repeats included.
    external_ids: Chunked<ExtId>,
    /// [`hash()`] of the external ids completed in earlier runs, sorted.
    earlier_external_ids: Vec<u64>,
    /// The last entry in number order of the earlier runs.
    last: Option<LastEntry>,
    /// The numbers the earlier runs saw (see [`SequenceCarry::seen`]).
    seen: Vec<(u64, u64)>,
}

/// An external id completed in an earlier run, whose operation is not in the [`OpLog`].
const EARLIER: u64 = u64::MAX;

/// A 64-bit hash of an id, for indexes that only need to recognise an id seen before (the
/// validator's external ids and references, the regime stages' originals): eight bytes
/// instead of the string. It is [`crate::model::hash::id_hash`], fixed across builds, since
/// these hashes are saved in a [`super::Carry`].
pub(crate) fn hash(s: &str) -> u64 {
    crate::model::hash::id_hash(s)
}

/// Whether `v` is in the sorted disjoint ranges `r`.
fn in_ranges(r: &[(u64, u64)], v: u64) -> bool {
    let i = r.partition_point(|&(start, _)| start <= v);
    i > 0 && r[i - 1].1 >= v
}

/// Adds `v` to the sorted disjoint ranges `r`, merging neighbours; appending after the last
/// range (the usual case) is constant time.
fn add_to_ranges(r: &mut Vec<(u64, u64)>, v: u64) {
    let i = r.partition_point(|&(start, _)| start <= v);
    if i > 0 && r[i - 1].1 >= v {
        return;
    }
    let joins_prev = i > 0 && r[i - 1].1.checked_add(1) == Some(v);
    let joins_next = i < r.len() && v.checked_add(1) == Some(r[i].0);
    match (joins_prev, joins_next) {
        (true, true) => {
            r[i - 1].1 = r[i].1;
            r.remove(i);
        }
        (true, false) => r[i - 1].1 = v,
        (false, true) => r[i].0 = v,
        (false, false) => r.insert(i, (v, v)),
    }
}

impl RegisterSequence {
    /// A register's sequence continuing from an earlier run.
    pub fn resume(c: SequenceCarry) -> RegisterSequence {
        RegisterSequence {
            last_unsequenced: c.last_unsequenced,
            earlier_external_ids: c.external_ids,
            last: c.last,
            seen: c.seen,
            ..RegisterSequence::default()
        }
    }

    pub fn push(&mut self, op: &Operation, index: u64, ops: &mut OpLog, emit: &mut Emit) {
        let tolerance = Duration::seconds(emit.config().tolerance.clock_seconds);
        let time = op
            .timestamps
            .started
            .or(op.timestamps.created)
            .or(op.timestamps.completed);
        let mut logged = None;
        if let Some(seq) = op.sequence_number {
            let at = *logged.get_or_insert_with(|| ops.put(op, index));
            let entry = SeqEntry {
                seq,
                time_ms: time.map_or(NO_TIME, |t| t.utc().timestamp_millis()),
                at,
            };
            self.entries.push(entry, &mut ops.chunks);
        } else if let Some(t) = time {
            if let Some(prev) = self.last_unsequenced
                && t.utc() + tolerance < prev.utc()
            {
                clock(&OpRef::of(op), prev, t, emit);
            }
            self.last_unsequenced = Some(t);
        }
        if let Some(ext) = completed_external_id(op) {
            let at = *logged.get_or_insert_with(|| ops.put(op, index));
            let ext = ExtId {
                hash: hash(ext),
                at,
            };
            self.external_ids.push(ext, &mut ops.chunks);
        }
    }

    /// Judges the register's numbers (SEQ001–SEQ003) and external ids (SEQ004).
    pub fn finish(self, register: &str, ops: &mut OpLog, emit: &mut Emit) {
        self.judge(register, ops, emit);
    }

    /// Judges the register's numbers as [`RegisterSequence::finish`] does and hands on what
    /// the next run's numbers are judged against.
    pub fn finish_carry(self, register: &str, ops: &mut OpLog, emit: &mut Emit) -> SequenceCarry {
        self.judge(register, ops, emit)
    }

    fn judge(mut self, register: &str, ops: &mut OpLog, emit: &mut Emit) -> SequenceCarry {
        let entries = std::mem::take(&mut self.entries).load(&mut ops.chunks);
        let external_ids = std::mem::take(&mut self.external_ids).load(&mut ops.chunks);
        let (Some(mut entries), Some(external_ids)) = (entries, external_ids) else {
            // The one message of `TempLog` has said what was lost; judging what is left
            // would report the lost numbers as gaps.
            eprintln!(
                "fiskal: register {register:?}: SEQ001–SEQ004 are not judged, their records \
                 were lost with a temporary file"
            );
            return SequenceCarry {
                last: self.last,
                seen: self.seen,
                last_unsequenced: self.last_unsequenced,
                external_ids: self.earlier_external_ids,
            };
        };
        let tolerance_ms = emit.config().tolerance.clock_seconds.saturating_mul(1000);
        let at = |ops: &mut OpLog, e: &SeqEntry| {
            let logged = ops.get(e.at);
            OpRef {
                id: logged.id,
                register: Some(register.to_string()),
                location: logged.location,
            }
        };
        entries.sort_unstable_by_key(|e| (e.seq, e.at));
        // Numbers below the last one of an earlier run belong among that run's operations,
        // which are no longer here: they are judged for reuse only (module doc of `carry`).
        let split = match &self.last {
            Some(l) => entries.partition_point(|e| e.seq < l.seq),
            None => 0,
        };
        let (late, current) = entries.split_at(split);
        for (i, b) in late.iter().enumerate() {
            // A repeat among the late ones names the first; one of an earlier run's numbers
            // cannot be named (only the ranges are carried).
            let by = match i.checked_sub(1).map(|j| &late[j]) {
                Some(a) if a.seq == b.seq => ops.id(a.at),
                _ if in_ranges(&self.seen, b.seq) => "an operation of an earlier run".to_string(),
                _ => continue,
            };
            emit.mismatch(
                "SEQ002",
                &at(ops, b),
                format!("sequence_number {} was already used by {by}", b.seq),
                "a new sequence number",
                b.seq,
            );
        }
        let mut prev: Option<(u64, i64, Prev)> = self
            .last
            .as_ref()
            .map(|l| (l.seq, l.time_ms.unwrap_or(NO_TIME), Prev::Earlier(&l.id)));
        for b in current {
            if let Some(a) = prev {
                pair(a, b, ops, &|ops| at(ops, b), tolerance_ms, emit);
            }
            prev = Some((b.seq, b.time_ms, Prev::Logged(b.at)));
        }
        let last = match current.last() {
            Some(e) => {
                let logged = ops.get(e.at);
                Some(LastEntry {
                    seq: e.seq,
                    index: logged.index,
                    time_ms: (e.time_ms != NO_TIME).then_some(e.time_ms),
                    id: logged.id,
                })
            }
            None => self.last.clone(),
        };
        let mut seen = std::mem::take(&mut self.seen);
        for e in &entries {
            add_to_ranges(&mut seen, e.seq);
        }
        drop(entries);
        let external_ids = judge_external_ids(
            external_ids,
            &self.earlier_external_ids,
            register,
            ops,
            emit,
        );
        SequenceCarry {
            last,
            seen,
            last_unsequenced: self.last_unsequenced,
            external_ids,
        }
    }
}

/// SEQ004: every completion of an external id after its first, in input order, naming the
/// first (an earlier run's, or this run's first in input order). Returns the hashes of all
/// completed external ids, sorted, for the next run.
fn judge_external_ids(
    mut this_run: Vec<ExtId>,
    earlier: &[u64],
    register: &str,
    ops: &mut OpLog,
    emit: &mut Emit,
) -> Vec<u64> {
    // An earlier run's completion sorts first among its hash's.
    this_run.extend(earlier.iter().map(|&hash| ExtId { hash, at: EARLIER }));
    this_run.sort_unstable_by_key(|e| (e.hash, e.at.wrapping_add(1)));
    let mut repeats = Vec::new();
    let mut hashes = Vec::new();
    for run in this_run.chunk_by(|a, b| a.hash == b.hash) {
        hashes.push(run[0].hash);
        repeats.extend(run[1..].iter().map(|e| (e.at, run[0].at)));
    }
    repeats.sort_unstable();
    for (at, first) in repeats {
        let by = match first {
            EARLIER => "in an earlier run".to_string(),
            first => format!("by {}", ops.id(first)),
        };
        let logged = ops.get(at);
        let op = OpRef {
            id: logged.id,
            register: (!register.is_empty()).then(|| register.to_string()),
            location: logged.location,
        };
        let ext = logged.external_id;
        emit.mismatch(
            "SEQ004",
            &op,
            format!("external_id {ext} was already completed {by}"),
            "an external_id completed once",
            &ext,
        );
    }
    hashes
}

/// SEQ001–SEQ003 of `b` after `a` = (number, time, operation) in number order; `at` names
/// `b`, read from the log only when there is a finding.
fn pair(
    a: (u64, i64, Prev),
    b: &SeqEntry,
    ops: &mut OpLog,
    at: &dyn Fn(&mut OpLog) -> OpRef,
    tolerance_ms: i64,
    emit: &mut Emit,
) {
    let (a_seq, a_time, a_who) = a;
    if b.seq == a_seq {
        let a_id = match a_who {
            Prev::Logged(x) => ops.id(x),
            Prev::Earlier(id) => id.to_string(),
        };
        emit.mismatch(
            "SEQ002",
            &at(ops),
            format!("sequence_number {} was already used by {a_id}", b.seq),
            "a new sequence number",
            b.seq,
        );
        return;
    }
    if b.seq > a_seq + 1 {
        let missing = if b.seq == a_seq + 2 {
            format!("{}", a_seq + 1)
        } else {
            format!("{}–{}", a_seq + 1, b.seq - 1)
        };
        emit.mismatch(
            "SEQ001",
            &at(ops),
            format!("sequence numbers {missing} are missing before this operation"),
            a_seq + 1,
            b.seq,
        );
    }
    if a_time != NO_TIME && b.time_ms != NO_TIME && b.time_ms.saturating_add(tolerance_ms) < a_time
    {
        let ts = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms).map(|t| Timestamp(t.fixed_offset()))
        };
        if let (Some(ta), Some(tb)) = (ts(a_time), ts(b.time_ms)) {
            clock(&at(ops), ta, tb, emit);
        }
    }
}

fn clock(at: &OpRef, prev: Timestamp, this: Timestamp, emit: &mut Emit) {
    let secs = (prev.utc() - this.utc()).num_seconds();
    emit.mismatch(
        "SEQ003",
        at,
        format!("started {secs} s before the operation preceding it on the register"),
        format!("not before {}", prev.utc().to_rfc3339()),
        this.utc().to_rfc3339(),
    );
}

/// The last counter of a fiscal device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Last {
    /// A TSE transaction number or an RKSV receipt number.
    Counter(u64),
    /// An RT's daily closing and progressive number.
    Rt(u32, u32),
}

/// The last counter seen per fiscal device.
#[derive(Default)]
pub(crate) struct Devices {
    last: HashMap<String, Last>,
}

impl Devices {
    /// The devices continuing from an earlier run.
    pub fn resume(last: BTreeMap<String, Last>) -> Devices {
        Devices {
            last: last.into_iter().collect(),
        }
    }

    /// What the next run continues from: the last counter per device.
    pub fn into_carry(self) -> BTreeMap<String, Last> {
        self.last.into_iter().collect()
    }

    pub fn push(&mut self, op: &Operation, emit: &mut Emit) {
        let at = OpRef::of(op);
        match &op.fiscal {
            Some(Fiscal::KassenSichV(t)) => {
                let counter = t
                    .finish
                    .as_ref()
                    .and_then(|e| e.transaction_counter)
                    .or(t.start.as_ref().and_then(|e| e.transaction_counter));
                let device = t.tse_serial.as_ref().or(t.client_id.as_ref());
                if let (Some(c), Some(d)) = (counter, device) {
                    self.counter(
                        format!("TSE {d}"),
                        c,
                        "transaction number",
                        "FIS003",
                        &at,
                        emit,
                    );
                }
            }
            Some(Fiscal::Rksv(r)) => {
                let counter = r
                    .transaction_counter
                    .or_else(|| r.document_number.as_deref().and_then(|n| n.parse().ok()));
                if let (Some(c), Some(d)) = (counter, &r.cashbox_id) {
                    self.counter(
                        format!("cash box {d}"),
                        c,
                        "receipt number",
                        "FIS002",
                        &at,
                        emit,
                    );
                }
            }
            Some(Fiscal::Rt(rt)) => {
                if let (Some(z), Some(p), Some(d)) = (
                    rt.daily_closing_number,
                    rt.progressive_number,
                    &rt.rt_serial,
                ) {
                    self.rt(format!("RT {d}"), z, p, &at, emit);
                }
            }
            None => {}
        }
    }

    fn counter(
        &mut self,
        device: String,
        c: u64,
        what: &str,
        gap_rule: &'static str,
        at: &OpRef,
        emit: &mut Emit,
    ) {
        if let Some(Last::Counter(prev)) = self.last.get(&device).copied() {
            if c <= prev {
                emit.mismatch(
                    "FIS001",
                    at,
                    format!("{device}: {what} {c} after {prev}"),
                    format!("> {prev}"),
                    c,
                );
            } else if c > prev + 1 {
                emit.mismatch(
                    gap_rule,
                    at,
                    format!("{device}: {what}s {}–{} are missing", prev + 1, c - 1),
                    prev + 1,
                    c,
                );
            }
        }
        self.last.insert(device, Last::Counter(c));
    }

    fn rt(&mut self, device: String, z: u32, p: u32, at: &OpRef, emit: &mut Emit) {
        let number = |z: u32, p: u32| format!("{z:04}-{p:04}");
        if let Some(Last::Rt(z0, p0)) = self.last.get(&device).copied() {
            if (z, p) <= (z0, p0) {
                emit.mismatch(
                    "FIS001",
                    at,
                    format!(
                        "{device}: document {} after {}",
                        number(z, p),
                        number(z0, p0)
                    ),
                    format!("after {}", number(z0, p0)),
                    number(z, p),
                );
            } else if z == z0 && p != p0 + 1 {
                emit.mismatch(
                    "FIS002",
                    at,
                    format!(
                        "{device}: progressive numbers {}–{} are missing",
                        p0 + 1,
                        p - 1
                    ),
                    number(z0, p0 + 1),
                    number(z, p),
                );
            } else if z == z0 + 1 && p != 1 {
                emit.mismatch(
                    "FIS002",
                    at,
                    format!(
                        "{device}: the first document after daily closing {z0:04} is not number 1"
                    ),
                    number(z, 1),
                    number(z, p),
                );
            } else if z > z0 + 1 {
                emit.mismatch(
                    "FIS002",
                    at,
                    format!("{device}: daily closings {}–{} are missing", z0 + 1, z - 1),
                    number(z0 + 1, 1),
                    number(z, p),
                );
            }
        }
        self.last.insert(device, Last::Rt(z, p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_answer() {
        let mut r = Vec::new();
        for v in [5, 6, 7, 9, 1, 8, 3, 2, u64::MAX, 0] {
            add_to_ranges(&mut r, v);
        }
        assert_eq!(r, [(0, 3), (5, 9), (u64::MAX, u64::MAX)]);
        assert!(in_ranges(&r, 0) && in_ranges(&r, 9) && in_ranges(&r, u64::MAX));
        assert!(!in_ranges(&r, 4) && !in_ranges(&r, 10));
        add_to_ranges(&mut r, 4);
        assert_eq!(r, [(0, 9), (u64::MAX, u64::MAX)]);
    }
}
