//! Sequences and fiscal counters (SEQ001–SEQ004, FIS001–FIS003).
//!
//! Sequence numbers are collected per register (eight bytes and a reference per operation)
//! and judged once all are in, so that gaps and duplicates are exact whatever order the input
//! came in. Fiscal counters are judged per device in input order, as the records were written.
//!
//! Across runs ([`super::carry`]) a register hands on its last entry in number order, the
//! ranges of numbers seen and the hashes of completed external ids; a device its last counter.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::carry::time_serde;
use super::{Emit, OpRef};
use crate::model::keyset::{KeySet, grow_by_an_eighth};
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
/// [`TempLog`]: a record (id length, input position, [`CompactLoc`], id) per operation, read back only for a
/// finding and for the last entry of a register. In memory they took about 90 bytes a
/// sequenced operation, a gigabyte at ten million.
pub(crate) struct OpLog {
    sources: SourceTable,
    log: TempLog,
    record: Vec<u8>,
}

impl Default for OpLog {
    fn default() -> Self {
        OpLog {
            sources: SourceTable::default(),
            log: TempLog::new("the ids of sequenced operations"),
            record: Vec::new(),
        }
    }
}

impl OpLog {
    /// Records `op`'s id and location; returns where.
    fn put(&mut self, op: &Operation, index: u64) -> u64 {
        let loc = self.sources.compact(&op.source);
        let r = &mut self.record;
        r.clear();
        r.extend_from_slice(&(op.id.len() as u32).to_le_bytes());
        r.extend_from_slice(&index.to_le_bytes());
        r.extend_from_slice(&loc.to_bytes());
        r.extend_from_slice(op.id.as_bytes());
        self.log.append(r)
    }

    /// The id, location and input position recorded at `at`; if the temporary file lost
    /// them (the one message of [`TempLog`] has said so), [`LOST`] at no location.
    fn get(&mut self, at: u64) -> (String, SourceLoc, u64) {
        self.read(at)
            .unwrap_or_else(|| (LOST.to_string(), SourceLoc::file("".into(), None), 0))
    }

    fn read(&mut self, at: u64) -> Option<(String, SourceLoc, u64)> {
        let mut head = [0u8; 12 + CompactLoc::BYTES];
        if !self.log.read_at(at, &mut head) {
            return None;
        }
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let index = u64::from_le_bytes(head[4..12].try_into().expect("8 bytes"));
        let loc = CompactLoc::from_bytes(head[12..].try_into().expect("24 bytes"));
        let mut id = vec![0; len as usize];
        if !self.log.read_at(at + head.len() as u64, &mut id) {
            return None;
        }
        let id = String::from_utf8(id).ok()?;
        Some((id, self.sources.expand(loc), index))
    }

    /// The id recorded at `at` (see [`OpLog::get`]).
    fn id(&mut self, at: u64) -> String {
        self.get(at).0
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
    entries: Vec<SeqEntry>,
    last_unsequenced: Option<Timestamp>,
    /// Per completed external_id its hash over the [`OpLog`] record of the operation that
    /// completed it first ([`EARLIER`]: in an earlier run), packed in 128 bits.
    external_ids: KeySet<u128>,
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
            entries: Vec::new(),
            last_unsequenced: c.last_unsequenced,
            external_ids: {
                let mut set = KeySet::default();
                for h in c.external_ids {
                    set.insert(u128::from(h) << 64 | u128::from(EARLIER));
                }
                set
            },
            last: c.last,
            seen: c.seen,
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
            grow_by_an_eighth(&mut self.entries, 16);
            self.entries.push(SeqEntry {
                seq,
                time_ms: time.map_or(NO_TIME, |t| t.utc().timestamp_millis()),
                at,
            });
        } else if let Some(t) = time {
            if let Some(prev) = self.last_unsequenced
                && t.utc() + tolerance < prev.utc()
            {
                clock(&OpRef::of(op), prev, t, emit);
            }
            self.last_unsequenced = Some(t);
        }
        if op.state == LifecycleState::Completed
            && let Some(ext) = &op.external_id
        {
            let h = u128::from(hash(ext)) << 64;
            match self.external_ids.find_packed(h, 64) {
                Some(first) => {
                    let by = match first as u64 {
                        EARLIER => "in an earlier run".to_string(),
                        at => format!("by {}", ops.id(at)),
                    };
                    emit.mismatch(
                        "SEQ004",
                        &OpRef::of(op),
                        format!("external_id {ext} was already completed {by}"),
                        "an external_id completed once",
                        ext,
                    );
                }
                None => {
                    let at = *logged.get_or_insert_with(|| ops.put(op, index));
                    self.external_ids.insert(h | u128::from(at));
                }
            }
        }
    }

    /// Judges the register's numbers (SEQ001–SEQ003).
    pub fn finish(self, register: &str, ops: &mut OpLog, emit: &mut Emit) {
        self.judge(register, ops, emit);
    }

    /// Judges the register's numbers as [`RegisterSequence::finish`] does and hands on what
    /// the next run's numbers are judged against.
    pub fn finish_carry(self, register: &str, ops: &mut OpLog, emit: &mut Emit) -> SequenceCarry {
        self.judge(register, ops, emit)
    }

    fn judge(mut self, register: &str, ops: &mut OpLog, emit: &mut Emit) -> SequenceCarry {
        let tolerance_ms = emit.config().tolerance.clock_seconds.saturating_mul(1000);
        let at = |ops: &mut OpLog, e: &SeqEntry| {
            let (id, location, _) = ops.get(e.at);
            OpRef {
                id,
                register: Some(register.to_string()),
                location,
            }
        };
        self.entries.sort_by_key(|e| (e.seq, e.at));
        // Numbers below the last one of an earlier run belong among that run's operations,
        // which are no longer here: they are judged for reuse only (module doc of `carry`).
        let split = match &self.last {
            Some(l) => self.entries.partition_point(|e| e.seq < l.seq),
            None => 0,
        };
        let (late, current) = self.entries.split_at(split);
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
                let (id, _, index) = ops.get(e.at);
                Some(LastEntry {
                    seq: e.seq,
                    index,
                    time_ms: (e.time_ms != NO_TIME).then_some(e.time_ms),
                    id,
                })
            }
            None => self.last.clone(),
        };
        let mut seen = std::mem::take(&mut self.seen);
        for e in &self.entries {
            add_to_ranges(&mut seen, e.seq);
        }
        // In key order, so sorted by hash; a hash is there once.
        let external_ids: Vec<u64> = self.external_ids.iter().map(|k| (k >> 64) as u64).collect();
        SequenceCarry {
            last,
            seen,
            last_unsequenced: self.last_unsequenced,
            external_ids,
        }
    }
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
