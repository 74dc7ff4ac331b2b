//! Sequences and fiscal counters (SEQ001–SEQ004, FIS001–FIS003).
//!
//! Sequence numbers are collected per register (eight bytes and a reference per operation)
//! and judged once all are in, so that gaps and duplicates are exact whatever order the input
//! came in. Fiscal counters are judged per device in input order, as the records were written.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::Duration;

use super::{Emit, OpRef};
use crate::model::*;
use crate::model::{CompactLoc, SourceTable};

/// One sequenced operation, in about 80 bytes: what the checks need, and enough to name the
/// operation in a finding.
struct SeqEntry {
    seq: u64,
    index: u64,
    /// Start time in milliseconds since the epoch; `i64::MIN` when unknown.
    time_ms: i64,
    id: Box<str>,
    loc: CompactLoc,
}

const NO_TIME: i64 = i64::MIN;

/// What one register's operations have shown so far.
#[derive(Default)]
pub(crate) struct RegisterSequence {
    entries: Vec<SeqEntry>,
    last_unsequenced: Option<Timestamp>,
    /// Hash of an external_id → the operation that completed it first.
    external_ids: HashMap<u64, Box<str>>,
}

/// A 64-bit hash of an id, for indexes that only need to recognise an id seen before (the
/// validator's external ids, the KassenSichV stage's voided originals): eight bytes instead
/// of the string.
pub(crate) fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl RegisterSequence {
    pub fn push(&mut self, op: &Operation, index: u64, sources: &mut SourceTable, emit: &mut Emit) {
        let tolerance = Duration::seconds(emit.config().tolerance.clock_seconds);
        let time = op
            .timestamps
            .started
            .or(op.timestamps.created)
            .or(op.timestamps.completed);
        if let Some(seq) = op.sequence_number {
            self.entries.push(SeqEntry {
                seq,
                index,
                time_ms: time.map_or(NO_TIME, |t| t.utc().timestamp_millis()),
                id: op.id.as_str().into(),
                loc: sources.compact(&op.source),
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
            if let Some(first) = self.external_ids.get(&hash(ext)) {
                emit.mismatch(
                    "SEQ004",
                    &OpRef::of(op),
                    format!("external_id {ext} was already completed by {first}"),
                    "an external_id completed once",
                    ext,
                );
            } else {
                self.external_ids.insert(hash(ext), op.id.as_str().into());
            }
        }
    }

    pub fn finish(mut self, register: &str, sources: &SourceTable, emit: &mut Emit) {
        let tolerance_ms = emit.config().tolerance.clock_seconds.saturating_mul(1000);
        let at = |e: &SeqEntry| OpRef {
            id: e.id.to_string(),
            register: Some(register.to_string()),
            location: sources.expand(e.loc),
        };
        self.entries.sort_by_key(|e| (e.seq, e.index));
        for pair in self.entries.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.seq == a.seq {
                emit.mismatch(
                    "SEQ002",
                    &at(b),
                    format!("sequence_number {} was already used by {}", b.seq, a.id),
                    "a new sequence number",
                    b.seq,
                );
                continue;
            }
            if b.seq > a.seq + 1 {
                let missing = if b.seq == a.seq + 2 {
                    format!("{}", a.seq + 1)
                } else {
                    format!("{}–{}", a.seq + 1, b.seq - 1)
                };
                emit.mismatch(
                    "SEQ001",
                    &at(b),
                    format!("sequence numbers {missing} are missing before this operation"),
                    a.seq + 1,
                    b.seq,
                );
            }
            if a.time_ms != NO_TIME
                && b.time_ms != NO_TIME
                && b.time_ms.saturating_add(tolerance_ms) < a.time_ms
            {
                let ts = |ms: i64| {
                    chrono::DateTime::from_timestamp_millis(ms).map(|t| Timestamp(t.fixed_offset()))
                };
                if let (Some(ta), Some(tb)) = (ts(a.time_ms), ts(b.time_ms)) {
                    clock(&at(b), ta, tb, emit);
                }
            }
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

#[derive(Clone, Copy)]
enum Last {
    Counter(u64),
    Rt(u32, u32),
}

/// The last counter seen per fiscal device.
#[derive(Default)]
pub(crate) struct Devices {
    last: HashMap<String, Last>,
}

impl Devices {
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
