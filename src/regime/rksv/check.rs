//! RKSV checks of the operation stream: each Austrian receipt is rebuilt from its fiscal block's
//! machine-readable code and run through the same [`dep::Verifier`] a DEP7 export goes through
//! (signature, chain, turnover counter, Startbeleg, failure and restore, ids), cash box by cash
//! box in input order; then the receipt is held against its operation — the amounts per VAT
//! rate against the operation's own lines (RKS103), the block's fields against the code
//! (RKS102) and the clear turnover counter of the v1.1 shape against the encrypted one
//! (RKS104). Without a key in the master data, RKS105 says so once per cash box.
//!
//! A history is a DEP7 export before it is written, so one verifier judges both and a finding
//! means the same in `check` as in `verify dep7`. Receipts are verified in batches, in
//! parallel, as in a DEP file; findings come back with the receipt's position and are mapped
//! to the operation that carried it.
//!
//! Across runs (`validate::carry`) each cash box hands on its verifier's [`Carry`] (chain
//! tail, turnover counter, receipt ids, as `rksv::state` writes it), the number of receipts
//! verified and which master data entry gave its keys; the stage hands on the booked amounts
//! of every goods operation for the voids of a later run.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::crypto::{self, PublicKey};
use super::dep::{self, Carry, KeyMaterial, Verifier};
use super::receipt::{self, Counter, FormatClass};
use super::state;
use crate::model::masterdata::{MasterData, RksvCashbox};
use crate::model::templog::KeyedLog;
use crate::model::{Fiscal, Operation, OperationKind, RksvFiscal};
use crate::regime::kassensichv::process_data::{self, Expected, Slots};
use crate::validate::sequence::hash;
use crate::validate::{Emit, OpRef};

/// Receipts verified per parallel run, as for a DEP file. Every cash box holds a batch (the
/// receipt's JWS and where its operation is, about 550 bytes a receipt): at 512 the 211 cash
/// boxes of a ten-million-operation history held about 60 MB; at 128 a batch is still some
/// 10 ms of signature checks to share between threads.
const BATCH: usize = 128;

/// The five fields of the machine-readable code by VAT rate (spec rksv.md §2.3): 20 %, 10 %,
/// 13 %, 0 %, and Besonders for 19 % (Jungholz/Mittelberg) and, from 2026-07-01, 4.9 %.
pub const RKSV_FIELDS: Slots = Slots {
    of: field_of_rate,
    untaxed: 3,
};

fn field_of_rate(rate: Decimal) -> Option<usize> {
    let per_mille = rate.checked_mul(Decimal::from(1000))?.normalize();
    match per_mille.to_string().as_str() {
        "200" => Some(0),
        "100" => Some(1),
        "130" => Some(2),
        "0" => Some(3),
        "190" | "49" => Some(4),
        _ => None,
    }
}

/// Field names for messages.
const FIELD_NAMES: [&str; 5] = [
    "Normal",
    "Ermaessigt-1",
    "Ermaessigt-2",
    "Null",
    "Besonders",
];

/// What an operation books into the five fields, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Booked {
    /// Per field.
    Fields([i64; 5]),
    /// Only the sum over the fields is known (v1.1 cart-level discounts are not allocated to
    /// lines in the API).
    Total(i64),
}

impl Booked {
    /// `None` when neither the fields nor the total are known, or an amount is not whole cents.
    fn of(e: &Expected) -> Option<Booked> {
        let cents = |d: Decimal| {
            let c = d.checked_mul(Decimal::ONE_HUNDRED)?;
            if c.fract().is_zero() {
                i64::try_from(c).ok()
            } else {
                None
            }
        };
        match (e.slots, e.slot_total) {
            (Some(f), _) => {
                let mut out = [0i64; 5];
                for (o, d) in out.iter_mut().zip(f) {
                    *o = cents(d)?;
                }
                Some(Booked::Fields(out))
            }
            (None, Some(t)) => cents(t).map(Booked::Total),
            (None, None) => None,
        }
    }

    fn negated(self) -> Booked {
        match self {
            Booked::Fields(f) => Booked::Fields(f.map(|x| -x)),
            Booked::Total(t) => Booked::Total(-t),
        }
    }
}

/// One cash box's receipts on their way through the verifier.
#[derive(Default)]
struct Cashbox {
    keys: KeyMaterial,
    /// Whether any key is known: without one, "no key" is said once for the cash box instead
    /// of once per receipt.
    has_key: bool,
    /// The Kassen-ID of the master data entry the keys came from.
    keys_from: Option<String>,
    carry: Carry,
    /// Receipts verified so far.
    position: usize,
    batch: Vec<(OpRef, String)>,
    unverifiable: Option<(OpRef, u64)>,
    /// RKS105 was said (in this run or an earlier one).
    unverifiable_reported: bool,
}

/// What a cash box hands on to the next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct CashboxCarry {
    /// The verifier's carried state, as `rksv::state` writes a state file.
    #[serde(with = "state::serde_carry")]
    pub state: Carry,
    /// Receipts verified so far.
    pub position: usize,
    /// The Kassen-ID of the master data entry the keys came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_from: Option<String>,
    /// RKS105 was said.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverifiable_reported: bool,
}

/// What the RKSV stage hands on to the next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RksvCarry {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub boxes: BTreeMap<String, CashboxCarry>,
    /// The booked amounts of every goods operation, by id hash, for later voids.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub originals: BTreeMap<u64, Booked>,
}

/// The RKSV stage of the validator.
pub(crate) struct RksvCheck {
    /// Master data per Kassen-ID, and the Kassen-ID of each register.
    known: HashMap<String, RksvCashbox>,
    by_register: HashMap<String, String>,
    boxes: BTreeMap<String, Cashbox>,
    /// Expected amounts of signed goods operations, by id hash, for the voids that reverse
    /// them: cents per field (or the total). An earlier run's (resumed) are here; this run's
    /// go to `spill` with their input position, and a void is judged at the end against an
    /// original read back that came before it (as when it was judged on arrival).
    originals: HashMap<u64, Booked>,
    spill: KeyedLog,
    /// This run's voids whose original is not an earlier run's.
    voids: Vec<Void>,
    /// Operations pushed so far: the input position of the next.
    pushed: u64,
    /// False with `--no-signatures`.
    verify: bool,
}

impl RksvCheck {
    /// The stage; with `verify` false, receipts go through the chain, counter and format
    /// checks with their signatures unchecked.
    pub fn new(md: Option<&MasterData>, verify: bool) -> RksvCheck {
        let mut known = HashMap::new();
        let mut by_register = HashMap::new();
        for c in md.map(|m| m.rksv.as_slice()).unwrap_or_default() {
            by_register.insert(c.register_id.clone(), c.cashbox_id.clone());
            known.insert(c.cashbox_id.clone(), c.clone());
        }
        RksvCheck {
            verify,
            known,
            by_register,
            boxes: BTreeMap::new(),
            originals: HashMap::new(),
            spill: KeyedLog::new("the RKSV void originals"),
            voids: Vec::new(),
            pushed: 0,
        }
    }

    /// Checks one operation; chain and signature findings may come with a later call.
    pub fn push(&mut self, op: &Operation, emit: &mut Emit) {
        let index = self.pushed;
        self.pushed += 1;
        let Some(Fiscal::Rksv(f)) = &op.fiscal else {
            return;
        };
        let at = OpRef::of(op);
        let Some(code) = f.qr_data.as_deref() else {
            emit.mismatch(
                "RKS101",
                &at,
                "the RKSV fiscal block has no machine-readable code (verification.qr_data)".into(),
                "the receipt's machine-readable code",
                "none",
            );
            return;
        };
        let r = match receipt::parse_qr(code) {
            Ok(r) => r,
            Err(e) => {
                let class = match e.class {
                    FormatClass::Malformed => "malformed",
                    FormatClass::AlgorithmMismatch => "wrong algorithm",
                    FormatClass::UnknownAlgorithm => "unknown suite",
                    FormatClass::CertSerialInvalid => "invalid serial",
                    FormatClass::InvalidCertificateProvider => "serial of the wrong system",
                };
                emit.mismatch(
                    "RKS101",
                    &at,
                    format!(
                        "the machine-readable code cannot be read ({class}, field {})",
                        e.field
                    ),
                    e.expected,
                    e.found,
                );
                return;
            }
        };
        let cb = self.cashbox(f, &r.cashbox_id, op);
        block_vs_code(f, &r, &at, emit);
        turnover_vs_code(f, &r, &cb.keys, &at, emit);
        self.amounts(op, index, &r, &at, emit);
        let cb = self.boxes.get_mut(&r.cashbox_id).expect("opened above");
        cb.batch.push((at, receipt::to_jws(&r)));
        if cb.batch.len() >= BATCH {
            flush(&r.cashbox_id.clone(), cb, emit);
        }
    }

    /// The cash box `id`, opened with its key material on first sight.
    fn cashbox(&mut self, f: &RksvFiscal, id: &str, op: &Operation) -> &Cashbox {
        if !self.boxes.contains_key(id) {
            let md = self.known.get(id).or_else(|| {
                let by_block = f.cashbox_id.as_deref().and_then(|c| self.known.get(c));
                let by_register = op
                    .register_id
                    .as_deref()
                    .and_then(|r| self.by_register.get(r))
                    .and_then(|c| self.known.get(c));
                by_block.or(by_register)
            });
            let (mut keys, has_key) = md.map(key_material).unwrap_or_default();
            keys.skip_signatures = !self.verify;
            let keys_from = md.map(|m| m.cashbox_id.clone());
            self.boxes.insert(
                id.to_string(),
                Cashbox {
                    keys,
                    has_key,
                    keys_from,
                    ..Cashbox::default()
                },
            );
        }
        &self.boxes[id]
    }

    /// RKS103: the amounts the code carries against what the operation books per rate.
    fn amounts(
        &mut self,
        op: &Operation,
        index: u64,
        r: &receipt::Receipt,
        at: &OpRef,
        emit: &mut Emit,
    ) {
        use crate::model::LifecycleState as S;
        let booked = match op.kind {
            // A session record books no sale: what it carries is a null receipt (Startbeleg,
            // Monatsbeleg).
            OperationKind::SessionOpen
            | OperationKind::SessionCashCount
            | OperationKind::SessionClose => Some(Booked::Fields([0; 5])),
            OperationKind::Void => {
                let Some(o) = op.references.original_operation_id.as_deref() else {
                    return;
                };
                let original = hash(o);
                if let Some(b) = self.originals.get(&original) {
                    Some(b.negated())
                } else {
                    self.voids.push(Void {
                        at: at.clone(),
                        original,
                        index,
                        receipt_id: r.receipt_id.clone(),
                        got: r.amounts,
                    });
                    return;
                }
            }
            _ => process_data::expected_in(op, None, RKSV_FIELDS)
                .as_ref()
                .and_then(Booked::of),
        };
        let Some(booked) = booked else { return };
        if op.kind.moves_goods() && op.state == S::Completed {
            self.spill.push(hash(&op.id), |b| {
                b.extend_from_slice(&index.to_le_bytes());
                serde_json::to_writer(b, &booked).expect("a Booked serialises");
            });
        }
        compare_amounts(booked, r.amounts, &r.receipt_id, at, emit);
    }

    /// Reads this run's originals back from the spill: with their input positions.
    fn load_originals(
        &mut self,
        wanted: &mut dyn FnMut(u64) -> bool,
    ) -> HashMap<u64, (u64, Booked)> {
        let mut out = HashMap::new();
        let read = self.spill.scan(wanted, &mut |k, b| {
            let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
            let index = b
                .get(..8)
                .and_then(|i| i.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or_else(|| bad("a record without its position".into()))?;
            let booked = serde_json::from_slice(&b[8..]).map_err(|e| bad(e.to_string()))?;
            out.insert(k, (index, booked));
            Ok(())
        });
        if let Err(e) = read {
            eprintln!(
                "fiskal: the RKSV originals' temporary file could not be read back ({e}); voids of the originals it held are not compared (RKS103)"
            );
        }
        out
    }

    /// RKS103 of the voids of this run's originals, each against an original that came
    /// before it. Returns the originals read back.
    fn judge_voids(&mut self, all: bool, emit: &mut Emit) -> HashMap<u64, (u64, Booked)> {
        let named: std::collections::HashSet<u64> = self.voids.iter().map(|v| v.original).collect();
        let loaded = self.load_originals(&mut |k| all || named.contains(&k));
        for v in std::mem::take(&mut self.voids) {
            if let Some(&(index, booked)) = loaded.get(&v.original)
                && index < v.index
            {
                compare_amounts(booked.negated(), v.got, &v.receipt_id, &v.at, emit);
            }
        }
        loaded
    }
}

/// A void whose original was not an earlier run's: judged at the end.
struct Void {
    at: OpRef,
    original: u64,
    index: u64,
    receipt_id: String,
    got: [i64; 5],
}

/// RKS103: the amounts a receipt carries against those the operation books.
fn compare_amounts(booked: Booked, got: [i64; 5], receipt_id: &str, at: &OpRef, emit: &mut Emit) {
    let mut diffs = Vec::new();
    let euros = |c: i64| Decimal::new(c, 2);
    match booked {
        Booked::Fields(want) => {
            for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                if w != g {
                    diffs.push(format!(
                        "{} {}, the operation books {}",
                        FIELD_NAMES[i],
                        euros(*g),
                        euros(*w)
                    ));
                }
            }
        }
        Booked::Total(want) => {
            let total: i64 = got.iter().sum();
            if want != total {
                diffs.push(format!(
                    "all fields {}, the operation less cart discounts books {}",
                    euros(total),
                    euros(want)
                ));
            }
        }
    }
    if let Some(first) = diffs.first() {
        let more = if diffs.len() > 1 {
            format!(" (and {} more: {})", diffs.len() - 1, diffs[1..].join("; "))
        } else {
            String::new()
        };
        emit.mismatch(
                "RKS103",
                at,
                format!(
                    "receipt {receipt_id} carries other amounts than the operation: {first}{more}",
                ),
                fmt_fields(booked),
                fmt_fields(Booked::Fields(got)),
            );
    }
}

impl RksvCheck {
    /// Continues from an earlier run's carry; the keys come from this run's master data, by
    /// the entry that gave them before.
    pub fn resume(&mut self, c: RksvCarry) {
        for (id, b) in c.boxes {
            // An entry added to the master data since is used from now on.
            let keys_from = b
                .keys_from
                .or_else(|| self.known.contains_key(&id).then(|| id.clone()));
            let (mut keys, has_key) = keys_from
                .as_deref()
                .and_then(|k| self.known.get(k))
                .map(key_material)
                .unwrap_or_default();
            keys.skip_signatures = !self.verify;
            self.boxes.insert(
                id,
                Cashbox {
                    keys,
                    has_key,
                    keys_from,
                    carry: b.state,
                    position: b.position,
                    batch: Vec::new(),
                    unverifiable: None,
                    unverifiable_reported: b.unverifiable_reported,
                },
            );
        }
        self.originals = c.originals.into_iter().collect();
    }

    /// Verifies what is still batched and reports what needs the whole stream.
    pub fn finish(mut self, emit: &mut Emit) {
        self.judge_voids(false, emit);
        self.flush_all(emit);
    }

    /// Like [`RksvCheck::finish`], and hands on each cash box's state.
    pub fn finish_carry(mut self, emit: &mut Emit) -> RksvCarry {
        // The carry holds every original, so all are read back.
        let loaded = self.judge_voids(true, emit);
        self.originals
            .extend(loaded.into_iter().map(|(k, (_, b))| (k, b)));
        self.flush_all(emit);
        RksvCarry {
            boxes: self
                .boxes
                .into_iter()
                .map(|(id, b)| {
                    let c = CashboxCarry {
                        state: b.carry,
                        position: b.position,
                        keys_from: b.keys_from,
                        unverifiable_reported: b.unverifiable_reported,
                    };
                    (id, c)
                })
                .collect(),
            originals: self.originals.into_iter().collect(),
        }
    }

    fn flush_all(&mut self, emit: &mut Emit) {
        let ids: Vec<String> = self.boxes.keys().cloned().collect();
        for id in ids {
            let cb = self.boxes.get_mut(&id).expect("listed");
            flush(&id, cb, emit);
            if let Some((at, n)) = cb.unverifiable.take() {
                cb.unverifiable_reported = true;
                emit.mismatch(
                    "RKS105",
                    &at,
                    format!(
                        "cash box {id}: no key in the master data ([[rksv]] certificate or public_key, docs/masterdata.md), so the signatures of its {n} receipt(s) cannot be verified"
                    ),
                    "a certificate or public key for the cash box",
                    "none",
                );
            }
        }
    }
}

/// Runs the cash box's batch through the verifier and maps each finding to its operation.
fn flush(id: &str, cb: &mut Cashbox, emit: &mut Emit) {
    if cb.batch.is_empty() {
        return;
    }
    let jws: Vec<String> = cb.batch.iter().map(|(_, j)| j.clone()).collect();
    let mut found = Vec::new();
    let mut sink = |f: dep::Finding| found.push(f);
    let mut v = Verifier::resume(&cb.keys, std::mem::take(&mut cb.carry), &mut sink);
    let label = format!("cash box {id}");
    v.receipts_at(&label, cb.position, &jws);
    let (carry, _) = v.into_parts();
    cb.carry = carry;
    for f in found {
        let Some(i) = f.position.and_then(|p| p.checked_sub(cb.position)) else {
            continue;
        };
        let at = &cb.batch[i].0;
        if f.code == "RKS010" && !cb.has_key {
            // Said once per cash box: after an earlier run said it, not again.
            if !cb.unverifiable_reported {
                let entry = cb.unverifiable.get_or_insert_with(|| (at.clone(), 0));
                entry.1 += 1;
            }
            continue;
        }
        let title = dep::check(f.code).map_or("", |c| c.title);
        let receipt = f.receipt.as_deref().unwrap_or("?");
        emit.mismatch(
            f.code,
            at,
            format!("receipt {receipt}: {title}"),
            f.expected,
            f.found,
        );
    }
    cb.position += cb.batch.len();
    cb.batch.clear();
}

/// The cash box's key material from its master data: the AES key and the key under the
/// serial its receipts name. Entries that cannot be read were refused when the master data
/// was loaded, so here they simply give no key.
pub(crate) fn key_material(md: &RksvCashbox) -> (KeyMaterial, bool) {
    let mut keys = KeyMaterial::default();
    keys.aes_key = md
        .aes_key
        .as_deref()
        .and_then(|k| B64.decode(k.trim()).ok())
        .and_then(|k| k.try_into().ok());
    let from_cert = md
        .certificate
        .as_deref()
        .and_then(|c| B64.decode(c.trim()).ok())
        .and_then(|der| crypto::read_certificate(&der).ok())
        .and_then(|c| c.key);
    let from_key = || {
        let raw = B64.decode(md.public_key.as_deref()?.trim()).ok()?;
        PublicKey::from_spki_der(&raw)
            .or_else(|_| PublicKey::from_sec1(&raw))
            .ok()
    };
    let key = from_cert.or_else(from_key);
    let has_key = key.is_some();
    if let Some(k) = key {
        keys.insert(&md.certificate_serial, k);
    }
    (keys, has_key)
}

/// RKS102: the fiscal block's own fields against the code it carries.
fn block_vs_code(f: &RksvFiscal, r: &receipt::Receipt, at: &OpRef, emit: &mut Emit) {
    let pairs = [
        ("cashbox_id", f.cashbox_id.as_deref(), r.cashbox_id.as_str()),
        (
            "document_number",
            f.document_number.as_deref(),
            r.receipt_id.as_str(),
        ),
        (
            "certificate_serial",
            f.certificate_serial.as_deref(),
            r.serial.as_str(),
        ),
    ];
    for (name, block, code) in pairs {
        if let Some(b) = block
            && !b.eq_ignore_ascii_case(code)
        {
            emit.mismatch(
                "RKS102",
                at,
                format!("the fiscal block's {name} differs from the machine-readable code"),
                code,
                b,
            );
        }
    }
}

/// RKS104: the v1.1 shape states the turnover counter in the clear; with the AES key the code's
/// encrypted counter must say the same.
fn turnover_vs_code(
    f: &RksvFiscal,
    r: &receipt::Receipt,
    keys: &KeyMaterial,
    at: &OpRef,
    emit: &mut Emit,
) {
    let (Some(clear), Some(key), Counter::Encrypted(ct)) =
        (f.turnover_counter, keys.aes_key.as_ref(), &r.counter)
    else {
        return;
    };
    let iv = crypto::counter_iv(&r.cashbox_id, &r.receipt_id);
    let Some(cents) = crypto::decrypt_counter(key, &iv, ct) else {
        return;
    };
    let stated = clear.checked_mul(Decimal::ONE_HUNDRED);
    if stated != Decimal::try_from_i128_with_scale(cents, 0).ok() {
        emit.mismatch(
            "RKS104",
            at,
            format!(
                "receipt {}: the stated turnover counter differs from the encrypted one",
                r.receipt_id
            ),
            format!(
                "{} (decrypted)",
                Decimal::try_from_i128_with_scale(cents, 2).unwrap_or_default()
            ),
            clear,
        );
    }
}

fn fmt_fields(b: Booked) -> String {
    match b {
        Booked::Total(t) => format!("{} over all fields", Decimal::new(t, 2)),
        Booked::Fields(f) => FIELD_NAMES
            .iter()
            .zip(f)
            .map(|(n, v)| format!("{n} {}", Decimal::new(v, 2)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
