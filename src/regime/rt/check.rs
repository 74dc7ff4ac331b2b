//! RT checks of the operation stream (RTD001–RTD010): the documento commerciale behind each
//! Italian fiscal block, against the rules of shared spec rt.md §2 and §6.
//!
//! Judged as each operation streams by: the printed document number (`ZZZZ-NNNN`) and its
//! agreement with the block's counters, the document type against the operation, the lottery
//! code's form and the purchase it may go with, and the form of the RT serial. Judged at the
//! end, so that a reso or annullo may come before its original in the input: whether the
//! original is an RT document, whether an annullo comes after a reso already took part of the
//! document back, and whether a reso or annullo with a lottery code has one on its original.
//!
//! What other stages already judge is not repeated here: the counters themselves (no gap, no
//! repeat, a new closing starts at 1, closings count up by one) are FIS001/FIS002 in
//! `validate::sequence`; that a reference exists, is earlier, returns no more than was sold and
//! does not void twice is REF001–REF004 in `validate::references`.
//!
//! Memory: one entry per RT document (a 64-bit hash of its id and whether it carried a lottery
//! code), the resi, annulli and exchanges waiting for the end, and one hash per RT serial
//! reported as malformed.
//!
//! Across runs (`validate::carry`) all of it is handed on, except that resi, annulli and
//! exchanges whose original is known are judged at the end of their run; what remains of
//! them is the time of every reso and exchange per original (RTD005 of a later annullo).

use std::collections::{BTreeMap, HashMap, HashSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::keyset::KeySet;
use crate::model::{
    Direction, Fiscal, LifecycleState, Operation, OperationKind, PaymentMethod, RtFiscal,
};
use crate::validate::carry::kind_serde;
use crate::validate::sequence::hash;
use crate::validate::{Emit, FirstOf, OpRef};

/// What a document is by its type (rt.md §2.3). The names depend on the API (rt.md §6):
/// the Italian ones and their English counterparts are recognised, in any letter case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DocClass {
    /// Documento commerciale di vendita o prestazione.
    Sale,
    /// Goods returned ("reso merce").
    Reso,
    /// A document issued in error, cancelled ("annullamento").
    Annullo,
}

impl DocClass {
    fn of(document_type: &str) -> Option<DocClass> {
        match document_type.trim().to_ascii_uppercase().as_str() {
            "VENDITA" | "SALE" => Some(DocClass::Sale),
            "RESO" | "RETURN" | "REFUND" => Some(DocClass::Reso),
            "ANNULLO" | "VOID" => Some(DocClass::Annullo),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            DocClass::Sale => "VENDITA",
            DocClass::Reso => "RESO",
            DocClass::Annullo => "ANNULLO",
        }
    }
}

/// The document types an operation of `kind` may carry; `None` for operations an RT issues no
/// document for (training, cash and session records), whose type is not judged.
fn expected_classes(kind: OperationKind) -> Option<&'static [DocClass]> {
    use OperationKind as K;
    match kind {
        K::Sale | K::Deposit | K::DepositCapture => Some(&[DocClass::Sale]),
        K::Return => Some(&[DocClass::Reso]),
        K::Void => Some(&[DocClass::Annullo]),
        // One document for the balance: a sale when the customer pays, a reso when paid out.
        K::Exchange => Some(&[DocClass::Sale, DocClass::Reso]),
        _ => None,
    }
}

/// The daily closing and progressive numbers of a document number of the form `ZZZZ-NNNN`
/// (rt.md §2.1: four digits each, zero-padded), or `None` for any other form.
/// An RT document in [`RtCheck`]'s set: its id hash above, whether it had a lottery code in
/// the lowest bit.
fn document(hash: u64, lottery: bool) -> u128 {
    u128::from(hash) << 64 | u128::from(lottery)
}

pub(crate) fn parse_document_number(s: &str) -> Option<(u32, u32)> {
    let (z, n) = s.split_once('-')?;
    let four = |p: &str| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit());
    if !(four(z) && four(n)) {
        return None;
    }
    Some((z.parse().ok()?, n.parse().ok()?))
}

/// Whether `s` has the form of a matricola (rt.md §2.1): manufacturer (2 characters), device
/// type (a letter), model (2 characters), serial (6 digits), `^[0-9A-Z]{2}[A-Z][0-9A-Z]{2}[0-9]{6}$`.
pub(crate) fn is_matricola(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    b.len() == 11
        && b[..2].iter().all(alnum)
        && b[2].is_ascii_uppercase()
        && b[3..5].iter().all(alnum)
        && b[5..].iter().all(u8::is_ascii_digit)
}

const NO_TIME: i64 = i64::MIN;

/// When a document was issued: its time where known, else its place in the input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Order {
    /// Milliseconds since the epoch; `NO_TIME` when unknown.
    time_ms: i64,
    index: u64,
}

impl Order {
    fn before(self, other: Order) -> bool {
        if self.time_ms != NO_TIME && other.time_ms != NO_TIME {
            (self.time_ms, self.index) < (other.time_ms, other.index)
        } else {
            self.index < other.index
        }
    }
}

/// A reso, annullo or exchange waiting for the end, where its original is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    at: OpRef,
    #[serde(with = "kind_serde")]
    kind: OperationKind,
    completed: bool,
    target: Box<str>,
    order: Order,
    /// It carries a lottery code as a reso or annullo (its original must have had one).
    reso_lottery: bool,
}

/// The RT stage of the validator.
#[derive(Default)]
pub(crate) struct RtCheck {
    /// RT documents: the id hash in the top 64 bits, whether the document carried a lottery
    /// code in the lowest bit (17 bytes a document instead of a hash table's 25 to 50).
    documents: KeySet<u128>,
    pending: Vec<Pending>,
    /// RT serials (and registers without one) already reported by RTD010.
    reported_serials: HashSet<u64>,
    /// When the completed resi and exchanges of earlier runs were issued, by the hash of
    /// their original (those still in `pending` aside).
    taken_back: HashMap<u64, Vec<Order>>,
    n_ops: u64,
}

/// What the RT stage hands on to the next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RtCarry {
    /// Hashes of the RT documents without a lottery code, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<u64>,
    /// Hashes of the RT documents with a lottery code, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lottery_documents: Vec<u64>,
    /// Resi, annulli and exchanges whose original has not come yet, in input order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
    /// When the completed resi and exchanges judged so far were issued, per original.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub taken_back: BTreeMap<u64, Vec<Order>>,
    /// Hashes of the RT serials (and registers) RTD010 was said for, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reported_serials: Vec<u64>,
}

impl RtCheck {
    pub fn new() -> RtCheck {
        RtCheck::default()
    }

    /// Continues from an earlier run's carry, after `n_ops` operations.
    pub fn resume(c: RtCarry, n_ops: u64) -> RtCheck {
        let mut documents = KeySet::default();
        for (hashes, lottery) in [(c.documents, false), (c.lottery_documents, true)] {
            for h in hashes {
                documents.insert(document(h, lottery));
            }
        }
        RtCheck {
            documents,
            pending: c.pending,
            reported_serials: c.reported_serials.into_iter().collect(),
            taken_back: c.taken_back.into_iter().collect(),
            n_ops,
        }
    }

    /// Checks one operation; reference findings come in [`RtCheck::finish`].
    pub fn push(&mut self, op: &Operation, emit: &mut Emit) {
        let index = self.n_ops;
        self.n_ops += 1;
        let Some(Fiscal::Rt(f)) = &op.fiscal else {
            return;
        };
        let at = OpRef::of(op);
        self.serial(op, f, &at, emit);
        number(f, &at, emit);
        let class = document_type(op, f, &at, emit);
        let reso_like = match op.kind {
            OperationKind::Return | OperationKind::Void => true,
            OperationKind::Exchange => class == Some(DocClass::Reso),
            _ => false,
        };
        let lottery = f.lottery_code.as_deref();
        if let Some(code) = lottery {
            lottery_code(code, &at, emit);
            let sale_like = matches!(
                op.kind,
                OperationKind::Sale | OperationKind::Deposit | OperationKind::DepositCapture
            ) || (op.kind == OperationKind::Exchange
                && class == Some(DocClass::Sale));
            if sale_like && matches!(op.state, LifecycleState::Completed | LifecycleState::Voided) {
                lottery_purchase(op, &at, emit);
            }
            let tax_id = op
                .customer
                .as_ref()
                .and_then(|c| c.tax_id.as_deref())
                .map(str::trim)
                .filter(|t| !t.is_empty());
            if let Some(t) = tax_id {
                emit.mismatch(
                    "RTD009",
                    &at,
                    format!(
                        "lottery code {code} on a document that names the buyer's tax id {t}: a document with the buyer's codice fiscale or P.IVA takes no lottery code"
                    ),
                    "no lottery code, or no buyer tax id",
                    t,
                );
            }
        }
        let h = hash(&op.id);
        // Ids are unique (ingest rejects repeats), so a hash is there at most once.
        if self.documents.find_packed(document(h, false), 64).is_none() {
            self.documents.insert(document(h, lottery.is_some()));
        }
        if matches!(
            op.kind,
            OperationKind::Return | OperationKind::Void | OperationKind::Exchange
        ) && let Some(target) = &op.references.original_operation_id
        {
            self.pending.push(Pending {
                at,
                kind: op.kind,
                completed: op.state == LifecycleState::Completed,
                target: target.as_str().into(),
                order: Order {
                    time_ms: op
                        .timestamps
                        .effective()
                        .map_or(NO_TIME, |t| t.utc().timestamp_millis()),
                    index,
                },
                reso_lottery: reso_like && lottery.is_some(),
            });
        }
    }

    /// RTD010: the RT serial is a matricola; said once per serial (or per register without one).
    fn serial(&mut self, op: &Operation, f: &RtFiscal, at: &OpRef, emit: &mut Emit) {
        match f.rt_serial.as_deref() {
            Some(s) if is_matricola(s) => {}
            Some(s) => {
                if self.reported_serials.insert(hash(s)) {
                    emit.mismatch(
                        "RTD010",
                        at,
                        format!(
                            "RT serial {s} is not a matricola (11 characters: manufacturer, device type letter, model, six-digit serial); said once for this serial"
                        ),
                        "[0-9A-Z]{2}[A-Z][0-9A-Z]{2}[0-9]{6}",
                        s,
                    );
                }
            }
            None => {
                let register = op.register_id.as_deref().unwrap_or_default();
                if self.reported_serials.insert(hash(&format!("\0{register}"))) {
                    emit.mismatch(
                        "RTD010",
                        at,
                        "the RT block names no RT serial (matricola); said once for this register"
                            .into(),
                        "the RT's matricola",
                        "none",
                    );
                }
            }
        }
    }

    /// Resolves the references of resi, annulli and exchanges (RTD004, RTD005, RTD008).
    /// `in_input` tells whether an operation id is in the input at all: an original that is
    /// missing is REF001's finding, not this stage's.
    pub fn finish(mut self, in_input: &dyn Fn(&str) -> bool, emit: &mut Emit) {
        self.resolve(true, in_input, emit);
    }

    /// Like [`RtCheck::finish`], but a reso, annullo or exchange whose original is not in the
    /// input yet is handed on: it may come in a later run.
    pub fn finish_carry(mut self, in_input: &dyn Fn(&str) -> bool, emit: &mut Emit) -> RtCarry {
        let pending = self.resolve(false, in_input, emit);
        let mut documents = Vec::new();
        let mut lottery_documents = Vec::new();
        // In key order, so each list is sorted by hash.
        for d in self.documents.iter() {
            if d & 1 == 1 {
                lottery_documents.push((d >> 64) as u64);
            } else {
                documents.push((d >> 64) as u64);
            }
        }
        let mut reported_serials: Vec<u64> = self.reported_serials.into_iter().collect();
        reported_serials.sort_unstable();
        RtCarry {
            documents,
            lottery_documents,
            pending,
            taken_back: self.taken_back.into_iter().collect(),
            reported_serials,
        }
    }

    /// Judges the waiting references; returns those whose original is not in the input,
    /// unless `last`. What resi and exchanges took back is kept for later annulli.
    fn resolve(
        &mut self,
        last: bool,
        in_input: &dyn Fn(&str) -> bool,
        emit: &mut Emit,
    ) -> Vec<Pending> {
        let takes_back = |p: &Pending| {
            p.completed && matches!(p.kind, OperationKind::Return | OperationKind::Exchange)
        };
        // What resi and exchanges took back, per original: of earlier runs and of all waiting.
        let mut taken_back = self.taken_back.clone();
        for p in &self.pending {
            if takes_back(p) {
                taken_back.entry(hash(&p.target)).or_default().push(p.order);
            }
        }
        let mut waiting = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            let what = p.kind.name();
            let key = hash(&p.target);
            let found = self.documents.find_packed(document(key, false), 64);
            let Some(had_lottery) = found.map(|d| d & 1 == 1) else {
                if in_input(&p.target) {
                    emit.mismatch(
                        "RTD004",
                        &p.at,
                        format!(
                            "{what} references {}, which is no RT document: a reso or annullo refers to a documento commerciale of an RT",
                            p.target
                        ),
                        "an operation with an RT fiscal block",
                        "no RT fiscal block",
                    );
                } else if !last {
                    waiting.push(p);
                    continue;
                }
                if takes_back(&p) {
                    self.taken_back.entry(key).or_default().push(p.order);
                }
                continue;
            };
            if p.reso_lottery && !had_lottery {
                emit.mismatch(
                    "RTD008",
                    &p.at,
                    format!(
                        "{what} carries a lottery code, but its original {} carried none",
                        p.target
                    ),
                    "a lottery code only on the reso or annullo of a sale that had one",
                    "a lottery code",
                );
            }
            if p.kind == OperationKind::Void
                && p.completed
                && taken_back
                    .get(&key)
                    .is_some_and(|v| v.iter().any(|o| o.before(p.order)))
            {
                emit.mismatch(
                    "RTD005",
                    &p.at,
                    format!(
                        "annullo of {}, part of which a reso or exchange already took back: an annullo cancels the whole document, more than remains of it",
                        p.target
                    ),
                    "an annullo of a document no reso took anything back from",
                    "partly returned before",
                );
            }
            if takes_back(&p) {
                self.taken_back.entry(key).or_default().push(p.order);
            }
        }
        waiting
    }
}

/// RTD001 (the form of the document number) and RTD002 (its agreement with the counters).
fn number(f: &RtFiscal, at: &OpRef, emit: &mut Emit) {
    let Some(doc) = f.document_number.as_deref() else {
        emit.mismatch(
            "RTD001",
            at,
            "the RT document has no document number".into(),
            "ZZZZ-NNNN",
            "none",
        );
        return;
    };
    let Some((z, p)) = parse_document_number(doc) else {
        emit.mismatch(
            "RTD001",
            at,
            format!(
                "document number {doc} is not ZZZZ-NNNN (daily closing and progressive number, four digits each)"
            ),
            "ZZZZ-NNNN",
            doc,
        );
        return;
    };
    let mut bad = FirstOf::new();
    for (field, what, printed, stated) in [
        (
            "daily_closing_number",
            "daily closing",
            z,
            f.daily_closing_number,
        ),
        (
            "progressive_number",
            "progressive number",
            p,
            f.progressive_number,
        ),
    ] {
        match stated {
            Some(n) if n == printed => {}
            Some(n) => bad.add(
                format!("document number {doc} names {what} {printed}, but {field} is {n}"),
                printed,
                n,
            ),
            None => bad.add(
                format!("document number {doc}, but the block has no {field}"),
                printed,
                "none",
            ),
        }
    }
    bad.emit("RTD002", at, emit);
}

/// RTD003: the document type fits the operation. Returns the document's class, if known.
fn document_type(op: &Operation, f: &RtFiscal, at: &OpRef, emit: &mut Emit) -> Option<DocClass> {
    let class = f.document_type.as_deref().and_then(DocClass::of);
    let Some(allowed) = expected_classes(op.kind) else {
        return class;
    };
    let names = allowed
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(" or ");
    let kind = op.kind.name();
    match (f.document_type.as_deref(), class) {
        (None, _) => emit.mismatch(
            "RTD003",
            at,
            format!("the RT document of a {kind} has no document type"),
            names,
            "none",
        ),
        (Some(t), None) => emit.mismatch(
            "RTD003",
            at,
            format!("document type {t} of a {kind} is none of VENDITA, RESO, ANNULLO"),
            names,
            t,
        ),
        (Some(t), Some(c)) if !allowed.contains(&c) => emit.mismatch(
            "RTD003",
            at,
            format!("a {kind} is recorded as a {t} document"),
            names,
            t,
        ),
        _ => {}
    }
    class
}

/// RTD006 (8 letters or digits) and RTD007 (upper case) on the lottery code.
fn lottery_code(code: &str, at: &OpRef, emit: &mut Emit) {
    let alnum = code.len() == 8 && code.bytes().all(|b| b.is_ascii_alphanumeric());
    if !alnum {
        emit.mismatch(
            "RTD006",
            at,
            format!("lottery code {code:?} is not 8 letters or digits"),
            "8 characters [A-Z0-9]",
            code,
        );
    } else if code.bytes().any(|b| b.is_ascii_lowercase()) {
        emit.mismatch(
            "RTD007",
            at,
            format!("lottery code {code} has lower-case letters"),
            code.to_ascii_uppercase(),
            code,
        );
    }
}

/// Electronic payment forms (rt.md §2.4: cards, apps, online → PagatoElettronico); `None` for
/// forms whose nature the API does not say.
fn electronic(method: &PaymentMethod) -> Option<bool> {
    match method {
        PaymentMethod::Card | PaymentMethod::Wallet | PaymentMethod::Online => Some(true),
        PaymentMethod::Cash | PaymentMethod::Voucher | PaymentMethod::GiftCard => Some(false),
        PaymentMethod::Other(_) => None,
    }
}

/// RTD008 for a sale document with a lottery code: paid entirely electronically, at least
/// 1.00 EUR (rt.md §2.5).
fn lottery_purchase(op: &Operation, at: &OpRef, emit: &mut Emit) {
    let mut bad = FirstOf::new();
    let inbound = || op.payments.iter().filter(|p| p.direction == Direction::In);
    if inbound().next().is_none() {
        bad.add(
            "a lottery code on a document without payment".into(),
            "paid entirely electronically",
            "no payment",
        );
    } else if let Some(p) = inbound().find(|p| electronic(&p.method) == Some(false)) {
        let method = p.method.name();
        bad.add(
            format!(
                "a lottery code on a document paid partly or wholly by {method}: the lottery takes only purchases paid entirely electronically"
            ),
            "paid entirely electronically",
            method,
        );
    }
    let total = match &op.totals {
        Some(t) => Some(t.payable.unwrap_or(t.gross)),
        None => crate::model::money::checked_sum(inbound().map(|p| p.amount)),
    };
    let one = Decimal::ONE;
    if op.currency.code() == "EUR"
        && let Some(total) = total
        && total < one
    {
        bad.add(
            format!("a lottery code on a purchase of {total} EUR: the lottery takes purchases from 1.00 EUR"),
            "≥ 1.00",
            total,
        );
    }
    bad.emit("RTD008", at, emit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Customer, Payment, Timestamp, Totals};
    use crate::validate::Config;

    fn rt(z: u32, p: u32) -> RtFiscal {
        RtFiscal {
            rt_serial: Some("99IEB019690".into()),
            document_number: Some(format!("{z:04}-{p:04}")),
            document_type: Some("VENDITA".into()),
            daily_closing_number: Some(z),
            progressive_number: Some(p),
            ..RtFiscal::default()
        }
    }

    fn card(amount: &str) -> Payment {
        Payment::new(PaymentMethod::Card, Direction::In, amount.parse().unwrap())
    }

    fn op(id: &str, kind: OperationKind, minute: u32, f: RtFiscal) -> Operation {
        let mut op = Operation::bare(id, kind);
        op.register_id = Some("reg".into());
        op.timestamps.completed = Timestamp::parse(&format!("2026-03-02T10:{minute:02}:00Z"));
        op.fiscal = Some(Fiscal::Rt(f));
        op
    }

    fn sale(id: &str, minute: u32, f: RtFiscal, amount: &str) -> Operation {
        let mut op = op(id, OperationKind::Sale, minute, f);
        op.payments.push(card(amount));
        op.totals = Some(Totals {
            gross: amount.parse().unwrap(),
            payable: Some(amount.parse().unwrap()),
            ..Totals::default()
        });
        op
    }

    fn of(kind: OperationKind, id: &str, minute: u32, target: &str, f: RtFiscal) -> Operation {
        let mut op = op(id, kind, minute, f);
        op.references.original_operation_id = Some(target.into());
        op
    }

    /// The RT stage's findings as (code, operation), for operations given in input order.
    fn run(ops: &[Operation]) -> Vec<(&'static str, String)> {
        crate::validate::validate_all(ops, Config::default())
            .into_iter()
            .filter(|f| f.code.starts_with("RTD"))
            .map(|f| (f.code, f.operation_id.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn document_numbers_are_zzzz_nnnn() {
        assert_eq!(parse_document_number("0002-0003"), Some((2, 3)));
        for bad in [
            "2-3",
            "0002-003",
            "00002-0003",
            "0002/0003",
            "00a2-0003",
            "0002-0003 ",
        ] {
            assert_eq!(parse_document_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn matricole_follow_rt_md() {
        for ok in ["7CIMG990005", "72MAA000001", "80I15002815", "37SAT123456"] {
            assert!(is_matricola(ok), "{ok}");
        }
        for bad in [
            "7C1MG990005",
            "72MAA00001",
            "72maa000001",
            "72MAA00000X",
            "",
        ] {
            assert!(!is_matricola(bad), "{bad}");
        }
    }

    #[test]
    fn a_clean_history_passes() {
        let mut lottery = rt(1, 1);
        lottery.lottery_code = Some("AB12CD34".into());
        let mut reso = rt(1, 3);
        reso.document_type = Some("reso".into());
        let mut annullo = rt(1, 4);
        annullo.document_type = Some("ANNULLO".into());
        let ops = [
            sale("a", 0, lottery, "1.00"),
            sale("b", 1, rt(1, 2), "5.00"),
            of(OperationKind::Return, "c", 2, "a", reso),
            of(OperationKind::Void, "d", 3, "b", annullo),
        ];
        assert_eq!(run(&ops), []);
    }

    #[test]
    fn a_reso_may_come_before_its_original_in_the_input() {
        let mut reso = rt(1, 2);
        reso.document_type = Some("RESO".into());
        let ops = [
            of(OperationKind::Return, "r", 5, "s", reso),
            sale("s", 1, rt(1, 1), "3.00"),
        ];
        assert_eq!(run(&ops), []);
    }

    #[test]
    fn an_annullo_after_a_reso_of_the_same_document_is_rtd005() {
        let mut reso = rt(1, 2);
        reso.document_type = Some("RESO".into());
        let mut annullo = rt(1, 3);
        annullo.document_type = Some("ANNULLO".into());
        let ops = [
            sale("s", 0, rt(1, 1), "3.00"),
            of(OperationKind::Void, "v", 9, "s", annullo.clone()),
            of(OperationKind::Return, "r", 5, "s", reso.clone()),
        ];
        // Judged by time, not input order.
        assert_eq!(run(&ops), [("RTD005", "v".to_string())]);
        // An annullo before the reso is REF004's (a reso of an annulled document).
        let ops = [
            sale("s", 0, rt(1, 1), "3.00"),
            of(OperationKind::Void, "v", 3, "s", annullo),
            of(OperationKind::Return, "r", 5, "s", reso),
        ];
        assert_eq!(run(&ops), []);
    }

    /// `validate::carry`, "Where a split run differs": an annullo is judged at the end of its
    /// night, so a reso of the same document that comes in a later night, dated before the
    /// annullo, is not held against it; one run over both nights reports RTD005.
    #[test]
    fn rtd005_is_judged_in_the_annullos_night() {
        use crate::validate::{Carry, Validator};
        let mut reso = rt(1, 2);
        reso.document_type = Some("RESO".into());
        let mut annullo = rt(1, 3);
        annullo.document_type = Some("ANNULLO".into());
        let s = sale("s", 0, rt(1, 1), "3.00");
        let v = of(OperationKind::Void, "v", 9, "s", annullo);
        let r = of(OperationKind::Return, "r", 5, "s", reso);
        assert_eq!(
            run(&[s.clone(), v.clone(), r.clone()]),
            [("RTD005", "v".to_string())]
        );
        let rtd = |found: Vec<crate::model::Finding>| -> Vec<(&'static str, String)> {
            found
                .into_iter()
                .filter(|f| f.code.starts_with("RTD"))
                .map(|f| (f.code, f.operation_id.unwrap_or_default()))
                .collect()
        };
        let night = |ops: &[Operation], carry: Carry| {
            let mut found = Vec::new();
            let mut val = Validator::resume(Config::default(), None, carry);
            for op in ops {
                val.push(op, &mut |f| found.push(f));
            }
            let carry = val.finish_carry(&mut |f| found.push(f));
            (rtd(found), carry)
        };
        let (first, carry) = night(&[s, v], Carry::default());
        assert_eq!(first, []);
        let (second, carry) = night(&[r], carry);
        assert_eq!(second, []);
        let mut end = Vec::new();
        carry.report_open(Config::default(), None, &mut |f| end.push(f));
        assert_eq!(rtd(end), []);
    }

    /// A reso in one night and the annullo of the same document in the next: RTD005 in the
    /// annullo's night, as one run reports it.
    #[test]
    fn rtd005_across_nights_in_input_order() {
        use crate::validate::{Carry, Validator};
        let mut reso = rt(1, 2);
        reso.document_type = Some("RESO".into());
        let mut annullo = rt(1, 3);
        annullo.document_type = Some("ANNULLO".into());
        let ops = [
            sale("s", 0, rt(1, 1), "3.00"),
            of(OperationKind::Return, "r", 5, "s", reso),
            of(OperationKind::Void, "v", 9, "s", annullo),
        ];
        assert_eq!(run(&ops), [("RTD005", "v".to_string())]);
        let mut carry = Carry::default();
        let mut per_night = Vec::new();
        for part in [&ops[..2], &ops[2..]] {
            let mut found = Vec::new();
            let mut val = Validator::resume(Config::default(), None, carry);
            for op in part {
                val.push(op, &mut |f| found.push(f));
            }
            carry = val.finish_carry(&mut |f| found.push(f));
            per_night.push(
                found
                    .into_iter()
                    .filter(|f| f.code.starts_with("RTD"))
                    .map(|f| (f.code, f.operation_id.unwrap_or_default()))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(per_night, [vec![], vec![("RTD005", "v".to_string())]]);
    }

    #[test]
    fn originals_without_an_rt_block_are_rtd004_and_missing_ones_ref001s() {
        let mut reso = rt(1, 1);
        reso.document_type = Some("RESO".into());
        let mut plain = Operation::bare("s", OperationKind::Sale);
        plain.payments.push(card("3.00"));
        let ops = [
            plain,
            of(OperationKind::Return, "r", 5, "s", reso.clone()),
            of(OperationKind::Return, "x", 6, "nowhere", reso),
        ];
        assert_eq!(run(&ops), [("RTD004", "r".to_string())]);
        let refs: Vec<(&str, String)> = crate::validate::validate_all(&ops, Config::default())
            .into_iter()
            .filter(|f| f.code == "REF001")
            .map(|f| (f.code, f.operation_id.unwrap_or_default()))
            .collect();
        assert_eq!(refs, [("REF001", "x".to_string())]);
    }

    #[test]
    fn lottery_codes_need_an_eligible_purchase() {
        let coded = |code: &str| {
            let mut f = rt(1, 1);
            f.lottery_code = Some(code.into());
            f
        };
        assert_eq!(
            run(&[sale("s", 0, coded("AB12CD3"), "2.00")]),
            [("RTD006", "s".to_string())]
        );
        assert_eq!(
            run(&[sale("s", 0, coded("AB12CD3-"), "2.00")]),
            [("RTD006", "s".to_string())]
        );
        assert_eq!(
            run(&[sale("s", 0, coded("ab12cd34"), "2.00")]),
            [("RTD007", "s".to_string())]
        );
        assert_eq!(
            run(&[sale("s", 0, coded("AB12CD34"), "0.99")]),
            [("RTD008", "s".to_string())]
        );
        let mut cash = sale("s", 0, coded("AB12CD34"), "2.00");
        cash.payments.push(Payment {
            method: PaymentMethod::Cash,
            ..card("1.00")
        });
        assert_eq!(run(&[cash]), [("RTD008", "s".to_string())]);
        let mut unpaid = sale("s", 0, coded("AB12CD34"), "2.00");
        unpaid.payments.clear();
        assert_eq!(run(&[unpaid]), [("RTD008", "s".to_string())]);
        // A payment form the API does not explain is not held against the code.
        let mut other = sale("s", 0, coded("AB12CD34"), "2.00");
        other.payments[0].method = PaymentMethod::Other("satispay".into());
        assert_eq!(run(&[other]), []);
        let mut parlante = sale("s", 0, coded("AB12CD34"), "2.00");
        parlante.customer = Some(Customer {
            id: None,
            name: None,
            tax_id: Some("RSSMRA80A01H501U".into()),
            tax_id_type: Some("codice_fiscale".into()),
        });
        assert_eq!(run(&[parlante]), [("RTD009", "s".to_string())]);
    }

    #[test]
    fn a_reso_keeps_the_lottery_code_of_its_sale_only() {
        let mut reso = rt(1, 2);
        reso.document_type = Some("RESO".into());
        reso.lottery_code = Some("AB12CD34".into());
        let mut coded = rt(1, 1);
        coded.lottery_code = Some("AB12CD34".into());
        let ok = [
            sale("s", 0, coded, "2.00"),
            of(OperationKind::Return, "r", 5, "s", reso.clone()),
        ];
        assert_eq!(run(&ok), []);
        let bad = [
            sale("s", 0, rt(1, 1), "2.00"),
            of(OperationKind::Return, "r", 5, "s", reso),
        ];
        assert_eq!(run(&bad), [("RTD008", "r".to_string())]);
    }

    #[test]
    fn numbers_types_and_serials() {
        let mut unpadded = rt(1, 1);
        unpadded.document_number = Some("1-1".into());
        assert_eq!(
            run(&[sale("s", 0, unpadded, "1.00")]),
            [("RTD001", "s".to_string())]
        );
        let mut missing = rt(1, 1);
        missing.document_number = None;
        assert_eq!(
            run(&[sale("s", 0, missing, "1.00")]),
            [("RTD001", "s".to_string())]
        );
        let mut other = rt(1, 1);
        other.progressive_number = Some(2);
        other.daily_closing_number = None;
        // Two disagreements, one finding.
        assert_eq!(
            run(&[sale("s", 0, other, "1.00")]),
            [("RTD002", "s".to_string())]
        );
        let mut reso = rt(1, 1);
        reso.document_type = Some("RESO".into());
        assert_eq!(
            run(&[sale("s", 0, reso, "1.00")]),
            [("RTD003", "s".to_string())]
        );
        let mut unknown = rt(1, 1);
        unknown.document_type = Some("FATTURA".into());
        assert_eq!(
            run(&[sale("s", 0, unknown, "1.00")]),
            [("RTD003", "s".to_string())]
        );
        // An exchange is a sale or a reso by its balance.
        let mut exchange = rt(1, 1);
        exchange.document_type = Some("RESO".into());
        assert_eq!(
            run(&[of(OperationKind::Exchange, "e", 0, "e0", exchange)]),
            []
        );
        // A malformed serial is said once per device, a missing one once per register.
        let mut odd = rt(1, 1);
        odd.rt_serial = Some("RT-1".into());
        let mut odd2 = odd.clone();
        odd2.document_number = Some("0001-0002".into());
        odd2.progressive_number = Some(2);
        let mut none = rt(1, 3);
        none.rt_serial = None;
        assert_eq!(
            run(&[
                sale("a", 0, odd, "1.00"),
                sale("b", 1, odd2, "1.00"),
                sale("c", 2, none.clone(), "1.00"),
                sale("d", 3, none, "1.00"),
            ]),
            [("RTD010", "a".to_string()), ("RTD010", "c".to_string())]
        );
    }
}
