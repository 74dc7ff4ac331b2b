//! KassenSichV checks of the operation stream (TSE001–TSE007): signatures replayed offline,
//! the signed amounts against the operation's own, the receipt QR code against the fiscal
//! block, signature counters and signed times.
//!
//! Signature verification costs about a millisecond on brainpool curves, a thousand times
//! the rest of the checks, so verification jobs are collected in batches and verified in
//! parallel (rayon); findings of a batch come out in input order, so output stays
//! deterministic. Everything else is judged as the operation streams by, except voids whose
//! original comes later in the input: they wait for the end.
//!
//! Across runs (`validate::carry`) the stage hands on the last signature counter per TSE,
//! the expected amounts of every signed goods operation (for the voids of a later run) and
//! the voids whose original has not come yet; signature batches are emptied at the end of
//! every run.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::SignedLog;
use super::fiscal::from_fiscal;
use super::process_data::{self, Expected, PayKey, PayType};
use super::qr::{QrError, QrFields, split_qr};
use super::verify::{Verdict, Verification, verify};
use crate::model::masterdata::{MasterData, Tse};
use crate::model::templog::KeyedLog;
use crate::model::{Fiscal, Operation, OperationKind, TseFiscal};
use crate::validate::sequence::hash;
use crate::validate::{Emit, OpRef};

/// Verification jobs collected before a parallel run: large enough to keep both cores busy,
/// small enough that memory stays flat.
const BATCH: usize = 512;

/// The TSEs the master data describes, by serial (lower-case hex) and by client id.
#[derive(Default)]
struct TseTable {
    by_serial: HashMap<String, Tse>,
    by_client: HashMap<String, Tse>,
}

impl TseTable {
    fn of(md: Option<&MasterData>) -> TseTable {
        let mut t = TseTable::default();
        for tse in md.map(|m| m.tse.as_slice()).unwrap_or_default() {
            t.by_serial
                .insert(tse.serial.trim().to_ascii_lowercase(), tse.clone());
            for c in &tse.client_ids {
                t.by_client.insert(c.clone(), tse.clone());
            }
        }
        t
    }

    fn find(&self, f: &TseFiscal) -> Option<&Tse> {
        f.tse_serial
            .as_deref()
            .and_then(|s| self.by_serial.get(&s.trim().to_ascii_lowercase()))
            .or_else(|| f.client_id.as_deref().and_then(|c| self.by_client.get(c)))
    }
}

/// A void whose original had not been seen when it arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PendingVoid {
    at: OpRef,
    original: u64,
    signed: String,
}

/// An [`Expected`] as a carry saves it: what a later void's negation needs (the Vorgangstyp
/// is the void's own). Payment keys are written as in processData (`Bar`, `Unbar:CHF`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Original {
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    slots: Option<[Decimal; 5]>,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    slot_total: Option<Decimal>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    payments: Option<Vec<(String, Decimal)>>,
    #[serde(rename = "u", default, skip_serializing_if = "Vec::is_empty")]
    unknown: Vec<String>,
}

fn pay_key_name(k: &PayKey) -> String {
    let t = match k.0 {
        PayType::Bar => "Bar",
        PayType::Unbar => "Unbar",
    };
    match &k.1 {
        Some(c) => format!("{t}:{c}"),
        None => t.to_string(),
    }
}

fn pay_key_of(s: &str) -> PayKey {
    let (t, c) = match s.split_once(':') {
        Some((t, c)) => (t, Some(c.to_string())),
        None => (s, None),
    };
    let t = if t == "Bar" {
        PayType::Bar
    } else {
        PayType::Unbar
    };
    (t, c)
}

/// An original's [`Original`] as JSON: written for every signed goods operation of the
/// history (to the spill of [`TseCheck`]), and in memory only for the few that a void
/// reverses and for an earlier run's. An [`Expected`] with its payment map
/// took about 1 KB an operation (a third of `check`'s memory on a German history); this
/// takes under 100 bytes.
#[derive(Debug, Clone, PartialEq)]
struct Packed(Box<str>);

impl Packed {
    fn of(o: &Original) -> Packed {
        // Plain fields and string keys: serialising cannot fail.
        Packed(
            serde_json::to_string(o)
                .expect("an Original serialises")
                .into_boxed_str(),
        )
    }

    fn original(&self) -> Original {
        serde_json::from_str(&self.0).expect("a Packed reads back what it wrote")
    }
}

impl Original {
    fn of(e: &Expected) -> Original {
        Original {
            slots: e.slots,
            slot_total: e.slot_total,
            payments: e
                .payments
                .as_ref()
                .map(|p| p.iter().map(|(k, v)| (pay_key_name(k), *v)).collect()),
            unknown: e.unknown.iter().map(pay_key_name).collect(),
        }
    }

    fn expected(self) -> Expected {
        Expected {
            // Only the negation is ever used, which names the void's own Vorgangstypen.
            vorgang: &["Beleg"],
            slots: self.slots,
            slot_total: self.slot_total,
            payments: self
                .payments
                .map(|p| p.iter().map(|(k, v)| (pay_key_of(k), *v)).collect()),
            unknown: self.unknown.iter().map(|k| pay_key_of(k)).collect(),
        }
    }
}

/// What the KassenSichV stage hands on to the next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TseCarry {
    /// Per TSE: the last signature counter and the operation that carried it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_counter: BTreeMap<String, (u64, String)>,
    /// The expected amounts of every signed goods operation, by id hash.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub originals: BTreeMap<u64, Original>,
    /// Voids whose original has not come yet, in input order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_voids: Vec<PendingVoid>,
}

/// The KassenSichV stage of the validator.
pub(crate) struct TseCheck {
    tses: TseTable,
    batch: Vec<(OpRef, SignedLog)>,
    /// Expected processData of signed goods operations, by id hash, for the voids that
    /// reverse them: an earlier run's (resumed), and at the end those the voids name, read
    /// back from `spill`.
    originals: HashMap<u64, Packed>,
    /// This run's originals, as [`Packed`] JSON by id hash: a void is judged at the end,
    /// against the original read back, so that only the voided ones are ever in memory.
    spill: KeyedLog,
    pending_voids: Vec<PendingVoid>,
    /// Last finish signature counter per TSE, and the operation that carried it.
    last_counter: HashMap<String, (u64, String)>,
    /// False with `--no-signatures`.
    verify: bool,
}

impl TseCheck {
    /// The stage; with `verify` false, signatures are neither verified nor reported as
    /// unverifiable.
    pub fn new(md: Option<&MasterData>, verify: bool) -> TseCheck {
        TseCheck {
            verify,
            tses: TseTable::of(md),
            batch: Vec::new(),
            originals: HashMap::new(),
            spill: KeyedLog::new("the TSE void originals"),
            pending_voids: Vec::new(),
            last_counter: HashMap::new(),
        }
    }

    /// Checks one operation; signature findings may come with a later call.
    pub fn push(&mut self, op: &Operation, emit: &mut Emit) {
        let Some(Fiscal::KassenSichV(f)) = &op.fiscal else {
            return;
        };
        let at = OpRef::of(op);
        let qr = f.qr_data.as_deref().map(split_qr);
        let qr = match qr {
            Some(Ok(q)) => Some(q),
            Some(Err(e)) => {
                emit.mismatch(
                    "TSE003",
                    &at,
                    format!("the receipt QR code cannot be read: {e}"),
                    "a DSFinV-K V0 QR code with 12 fields",
                    f.qr_data.as_deref().unwrap_or_default(),
                );
                None
            }
            None => None,
        };
        if let Some(q) = &qr {
            qr_vs_block(f, q, &at, emit);
        }
        times(op, f, qr.as_ref(), &at, emit);
        let signed_pd = f
            .finish
            .as_ref()
            .and_then(|e| e.process_data.as_deref())
            .or(qr.as_ref().map(|q| q.process_data));
        let finished = f.finish.is_some() || qr.is_some();
        if !finished {
            // An open transaction has only its start; the receipt is not signed yet.
            return;
        }
        self.counters(f, qr.as_ref(), &at, emit);
        let process_type = f
            .finish
            .as_ref()
            .and_then(|e| e.process_type.as_deref())
            .or(qr.as_ref().map(|q| q.process_type));
        self.amounts(op, process_type, signed_pd, &at, emit);
        if !self.verify {
            return;
        }
        match from_fiscal(f, self.tses.find(f)) {
            Ok(log) => {
                self.batch.push((at, log));
                if self.batch.len() >= BATCH {
                    self.flush(emit);
                }
            }
            Err(QrError::Missing(fields)) => emit.mismatch(
                "TSE007",
                &at,
                format!(
                    "the signature cannot be checked: {} in neither the fiscal block, the QR code nor the master data (the TSE's public key, algorithm and time format can be given in [[tse]], docs/masterdata.md)",
                    fields.join(", ")
                ),
                "every value of the signed log message",
                format!("missing: {}", fields.join(", ")),
            ),
            // Present but unreadable values belong to the QR/block rule.
            Err(e) => emit.mismatch(
                "TSE003",
                &at,
                format!("the fiscal block cannot be read for verification: {e}"),
                "well-formed TSE fields",
                e.to_string(),
            ),
        }
    }

    /// Verifies the collected signatures in parallel and reports the failures in order.
    fn flush(&mut self, emit: &mut Emit) {
        let jobs = std::mem::take(&mut self.batch);
        let results: Vec<Verification> = jobs.par_iter().map(|(_, log)| verify(log)).collect();
        for ((at, log), v) in jobs.iter().zip(results) {
            if v.verdict != Verdict::Valid {
                signature_finding(at, log, &v, emit);
            }
        }
    }

    /// Continues from an earlier run's carry.
    pub fn resume(&mut self, c: TseCarry) {
        self.last_counter = c.last_counter.into_iter().collect();
        self.originals = c
            .originals
            .into_iter()
            .map(|(k, o)| (k, Packed::of(&o)))
            .collect();
        self.pending_voids = c.pending_voids;
    }

    /// Judges what needs the whole stream and empties the last batch.
    pub fn finish(mut self, emit: &mut Emit) {
        self.flush(emit);
        let named: std::collections::HashSet<u64> =
            self.pending_voids.iter().map(|v| v.original).collect();
        self.load_originals(&mut |k| named.contains(&k));
        self.resolve_voids(emit);
    }

    /// Reads this run's originals back from the spill into `originals`.
    fn load_originals(&mut self, wanted: &mut dyn FnMut(u64) -> bool) {
        let into = &mut self.originals;
        let read = self.spill.scan(wanted, &mut |k, b| {
            let json = std::str::from_utf8(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            into.insert(k, Packed(json.into()));
            Ok(())
        });
        if let Err(e) = read {
            eprintln!(
                "fiskal: the TSE originals' temporary file could not be read back ({e}); voids of the originals it held are not compared (TSE002)"
            );
        }
    }

    /// Like [`TseCheck::finish`], but a void whose original has not come yet is handed on.
    pub fn finish_carry(mut self, emit: &mut Emit) -> TseCarry {
        self.flush(emit);
        // The carry holds every original, so all are read back.
        self.load_originals(&mut |_| true);
        let pending_voids = self.resolve_voids(emit);
        TseCarry {
            last_counter: self.last_counter.into_iter().collect(),
            originals: self
                .originals
                .iter()
                .map(|(k, p)| (*k, p.original()))
                .collect(),
            pending_voids,
        }
    }

    /// Compares the waiting voids whose original is known; returns the others.
    fn resolve_voids(&mut self, emit: &mut Emit) -> Vec<PendingVoid> {
        let mut waiting = Vec::new();
        for v in std::mem::take(&mut self.pending_voids) {
            match self.originals.get(&v.original) {
                Some(orig) => compare(
                    &orig.original().expected().negated(),
                    &v.signed,
                    &v.at,
                    emit,
                ),
                None => waiting.push(v),
            }
        }
        waiting
    }

    fn counters(&mut self, f: &TseFiscal, qr: Option<&QrFields>, at: &OpRef, emit: &mut Emit) {
        let Some(counter) = qr.and_then(|q| q.signature_counter.parse::<u64>().ok()) else {
            return;
        };
        let Some(tse) = f
            .tse_serial
            .as_deref()
            .map(str::to_ascii_lowercase)
            .or_else(|| qr.map(|q| q.public_key.to_string()))
        else {
            return;
        };
        if let Some((prev, prev_op)) = self.last_counter.get(&tse)
            && counter <= *prev
        {
            emit.mismatch(
                "TSE004",
                at,
                format!(
                    "signature counter {counter} after {prev} (operation {prev_op}) on the same TSE: {}",
                    if counter == *prev {
                        "a repeated counter"
                    } else {
                        "the counter went back"
                    }
                ),
                format!("> {prev}"),
                counter,
            );
        }
        self.last_counter.insert(tse, (counter, at.id.clone()));
    }

    fn amounts(
        &mut self,
        op: &Operation,
        process_type: Option<&str>,
        signed: Option<&str>,
        at: &OpRef,
        emit: &mut Emit,
    ) {
        let Some(signed) = signed else { return };
        // Only Kassenbeleg-V1 states amounts (Bestellung-V1 and SonstigerVorgang do not);
        // the name's case varies between vendors and is not part of the amounts.
        if !process_type
            .unwrap_or("Kassenbeleg-V1")
            .eq_ignore_ascii_case("Kassenbeleg-V1")
        {
            return;
        }
        if op.kind == OperationKind::Void {
            if let Some(orig) = &op.references.original_operation_id {
                let key = hash(orig);
                match self.originals.get(&key) {
                    Some(o) => compare(&o.original().expected().negated(), signed, at, emit),
                    None => self.pending_voids.push(PendingVoid {
                        at: at.clone(),
                        original: key,
                        signed: signed.to_string(),
                    }),
                }
            }
            return;
        }
        if let Some(expected) = process_data::expected(op, None) {
            compare(&expected, signed, at, emit);
            if op.kind.moves_goods() && op.state == crate::model::LifecycleState::Completed {
                // Plain fields and string keys: serialising cannot fail.
                self.spill.push(hash(&op.id), |b| {
                    serde_json::to_writer(b, &Original::of(&expected))
                        .expect("an Original serialises")
                });
            }
        }
    }
}

fn compare(expected: &Expected, signed: &str, at: &OpRef, emit: &mut Emit) {
    match process_data::parse(signed) {
        Ok(k) => {
            let diff = expected.differences(&k);
            if let Some(first) = diff.first() {
                let more = if diff.len() > 1 {
                    format!(" (and {} more: {})", diff.len() - 1, diff[1..].join("; "))
                } else {
                    String::new()
                };
                emit.mismatch(
                    "TSE002",
                    at,
                    format!("the TSE signed other amounts than the operation has: {first}{more}"),
                    "processData rebuilt from the operation's lines and payments",
                    signed,
                );
            }
        }
        Err(e) => emit.mismatch(
            "TSE002",
            at,
            format!("the signed processData is not Kassenbeleg-V1: {e}"),
            "<Vorgangstyp>^<5 gross amounts>^<payments>",
            signed,
        ),
    }
}

fn signature_finding(at: &OpRef, log: &SignedLog, v: &Verification, emit: &mut Emit) {
    let mut tried: Vec<String> = Vec::new();
    for a in &v.attempts {
        let s = format!(
            "{} {} {}",
            a.variant.curve.name(),
            a.variant.time_format.name(),
            match a.variant.process_data {
                super::ProcessDataEncoding::DerPrimitive => "DER",
                super::ProcessDataEncoding::BerIndefinite => "BER",
            }
        );
        if !tried.contains(&s) {
            tried.push(s);
        }
    }
    let mut found = v.problems.join("; ");
    if !tried.is_empty() {
        found.push_str(&format!("; tried: {}", tried.join(", ")));
    }
    if let Some(tbs) = &v.tbs_hex {
        found.push_str(&format!("; to-be-signed bytes (stated encoding): {tbs}"));
    }
    emit.mismatch(
        "TSE001",
        at,
        format!(
            "TSE signature of transaction {} (signature counter {}, client {}) does not verify",
            log.transaction_number, log.signature_counter, log.client_id
        ),
        format!(
            "a {} signature by TSE {} over the rebuilt FinishTransaction log",
            log.algorithm.name(),
            v.serial.as_deref().unwrap_or("(unknown key)")
        ),
        found,
    );
}

/// TSE003: every value the QR code repeats must be the fiscal block's.
fn qr_vs_block(f: &TseFiscal, q: &QrFields, at: &OpRef, emit: &mut Emit) {
    let finish = f.finish.as_ref();
    let mut diffs: Vec<(String, String, String)> = Vec::new();
    let mut same = |what: &str, block: Option<&str>, qr: &str| {
        if let Some(b) = block
            && b != qr
        {
            diffs.push((what.to_string(), b.to_string(), qr.to_string()));
        }
    };
    same("clientId", f.client_id.as_deref(), q.client_id);
    same(
        "processType",
        finish.and_then(|e| e.process_type.as_deref()),
        q.process_type,
    );
    same(
        "processData",
        finish.and_then(|e| e.process_data.as_deref()),
        q.process_data,
    );
    same(
        "signature algorithm",
        f.signature_algorithm.as_deref(),
        q.algorithm,
    );
    same("time format", f.time_format.as_deref(), q.time_format);
    same(
        "signature",
        finish.and_then(|e| e.signature.as_deref()),
        q.signature,
    );
    same(
        "public key",
        finish.and_then(|e| e.public_key.as_deref()),
        q.public_key,
    );
    // The API's one counter is the transaction number or the signature counter (spec §11 Q1).
    if let Some(c) = finish.and_then(|e| e.transaction_counter)
        && q.transaction_number != c.to_string()
        && q.signature_counter != c.to_string()
    {
        diffs.push((
            "transaction counter".into(),
            c.to_string(),
            format!(
                "transactionNumber {}, signatureCounter {}",
                q.transaction_number, q.signature_counter
            ),
        ));
    }
    let secs = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.to_utc().timestamp())
    };
    for (what, block, qr) in [
        ("logTime", finish.and_then(|e| e.signed_at), q.log_time),
        (
            "start time",
            f.start.as_ref().and_then(|e| e.signed_at),
            q.start_time,
        ),
    ] {
        if let Some(b) = block
            && secs(qr) != Some(b.utc().timestamp())
        {
            diffs.push((what.into(), b.utc().to_rfc3339(), qr.to_string()));
        }
    }
    if let Some((what, block, qr)) = diffs.first() {
        let more = if diffs.len() > 1 {
            let rest: Vec<&str> = diffs[1..].iter().map(|d| d.0.as_str()).collect();
            format!(" (also: {})", rest.join(", "))
        } else {
            String::new()
        };
        emit.mismatch(
            "TSE003",
            at,
            format!("the receipt QR code and the fiscal block disagree on {what}{more}"),
            format!("{what} {block} (fiscal block)"),
            format!("{qr} (QR code)"),
        );
    }
}

/// TSE005 and TSE006: start before finish; signed times are the operation's times.
fn times(op: &Operation, f: &TseFiscal, q: Option<&QrFields>, at: &OpRef, emit: &mut Emit) {
    let qr_time = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc());
    let start: Option<DateTime<Utc>> = f
        .start
        .as_ref()
        .and_then(|e| e.signed_at)
        .map(|t| t.utc())
        .or_else(|| q.and_then(|q| qr_time(q.start_time)));
    let finish: Option<DateTime<Utc>> = f
        .finish
        .as_ref()
        .and_then(|e| e.signed_at)
        .map(|t| t.utc())
        .or_else(|| q.and_then(|q| qr_time(q.log_time)));
    if let (Some(s), Some(e)) = (start, finish)
        && s > e
    {
        emit.mismatch(
            "TSE005",
            at,
            format!(
                "the TSE transaction finished {} s before it started",
                (s - e).num_seconds()
            ),
            format!("finish at or after {}", s.to_rfc3339()),
            e.to_rfc3339(),
        );
    }
    let tolerance = emit.config().tolerance.clock_seconds;
    let ts = &op.timestamps;
    for (what, signed, stated, field) in [
        ("start", start, ts.started.or(ts.created), "started_at"),
        ("finish", finish, ts.completed, "completed_at"),
    ] {
        if let (Some(signed), Some(stated)) = (signed, stated) {
            let off = (signed - stated.utc()).num_seconds();
            if off.abs() > tolerance {
                emit.mismatch(
                    "TSE006",
                    at,
                    format!(
                        "the TSE signed the {what} {} s {} the operation's {field}",
                        off.abs(),
                        if off > 0 { "after" } else { "before" }
                    ),
                    format!("{field} {} (± {tolerance} s)", stated.utc().to_rfc3339()),
                    signed.to_rfc3339(),
                );
            }
        }
    }
}
