//! Register sessions and cash counts (SES001–SES008), /operations v1.1 only: the
//! register-scoped shape has no sessions.
//!
//! Per session the state is a few sums and the four lifecycle events, so memory grows with
//! the number of sessions, not of operations. That is still one per register-day, 200,000 at
//! ten million operations and about a kilobyte each; a closed session is therefore written to
//! an unnamed temporary file ([`TempLog`]) and read back only for an operation that names it
//! after its close and when the sessions are judged at the end.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::carry::time_serde;
use super::num::close;
use super::{Emit, OpRef};
use crate::model::keyset::grow_by_an_eighth;
use crate::model::templog::TempLog;
use crate::model::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Event<T> {
    at: OpRef,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time_serde::option"
    )]
    time: Option<Timestamp>,
    value: T,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Count {
    counted: Decimal,
    expected: Option<Decimal>,
    difference: Option<Decimal>,
    explained: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Close {
    business_date: Option<NaiveDate>,
    adjustment: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Session {
    id: String,
    currency: Currency,
    first: OpRef,
    open: Option<Event<Decimal>>,
    adjustments: Decimal,
    /// Cash in − cash out of the session's goods movements.
    cash: Decimal,
    /// The cash-out part of `cash`, for the report's reconciliation (in = cash + cash_out).
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    cash_out: Decimal,
    count: Option<Event<Count>>,
    close: Option<Event<Close>>,
    order_reported: bool,
}

impl Session {
    /// The register the session belongs to (`""` for none).
    pub fn register(&self) -> String {
        self.first.register.clone().unwrap_or_default()
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Where a session stands at the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// No cash count yet.
    Open,
    /// Counted, not closed.
    Counted,
    /// Closed.
    Closed,
}

/// One register session's cash reconciliation as the validator computed it (SES002, SES003):
/// what the report's cash table and the Parquet `sessions` table show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Register id (`""` for none).
    pub register: String,
    /// Session id.
    pub session: String,
    /// The session's currency.
    pub currency: Currency,
    /// When the session was opened.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time_serde::option"
    )]
    pub opened_at: Option<Timestamp>,
    /// When the cash was counted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time_serde::option"
    )]
    pub counted_at: Option<Timestamp>,
    /// When the session was closed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time_serde::option"
    )]
    pub closed_at: Option<Timestamp>,
    /// The business date the close names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_date: Option<NaiveDate>,
    /// Opening float (absent when the session was never opened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening: Option<Decimal>,
    /// Cash taken in by completed goods movements before the count.
    pub cash_in: Decimal,
    /// Cash paid out by completed goods movements before the count.
    pub cash_out: Decimal,
    /// Completed cash adjustments (drops, pay-ins, pay-outs) before the count.
    pub adjustments: Decimal,
    /// opening + cash in − cash out + adjustments, recomputed (absent without an opening).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Decimal>,
    /// The expected amount the source stated with its count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_stated: Option<Decimal>,
    /// The cash counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted: Option<Decimal>,
    /// counted − expected (the recomputed expected amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Decimal>,
    /// Whether the count carries a note explaining a difference.
    pub explained: bool,
    /// Open, counted or closed.
    pub status: SessionStatus,
}

impl Session {
    fn reconciliation(&self) -> Reconciliation {
        let opening = self.open.as_ref().map(|o| o.value);
        // Overflow is impossible in practice, but data never panics: an unrepresentable sum
        // leaves the expected amount out.
        let expected = opening.and_then(|o| {
            o.checked_add(self.cash)
                .and_then(|v| v.checked_add(self.adjustments))
        });
        let count = self.count.as_ref();
        let counted = count.map(|c| c.value.counted);
        Reconciliation {
            register: self.register(),
            session: self.id.clone(),
            currency: self.currency,
            opened_at: self.open.as_ref().and_then(|e| e.time),
            counted_at: count.and_then(|e| e.time),
            closed_at: self.close.as_ref().and_then(|e| e.time),
            business_date: self.close.as_ref().and_then(|e| e.value.business_date),
            opening,
            cash_in: self.cash + self.cash_out,
            cash_out: self.cash_out,
            adjustments: self.adjustments,
            expected,
            expected_stated: count.and_then(|c| c.value.expected),
            counted,
            difference: counted.zip(expected).and_then(|(c, e)| c.checked_sub(e)),
            explained: count.is_some_and(|c| c.value.explained),
            status: match (&self.count, &self.close) {
                (_, Some(_)) => SessionStatus::Closed,
                (Some(_), None) => SessionStatus::Counted,
                (None, None) => SessionStatus::Open,
            },
        }
    }
}

/// A session judged in an earlier run: what the order checks of operations that still name
/// it need (SES001, SES007). Its amounts are not kept, so it is not judged again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Settled {
    currency: Currency,
    opened: bool,
    counted: bool,
    closed: bool,
    order_reported: bool,
}

/// What the sessions hand on to the next run (see the module doc of `carry`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SessionsCarry {
    /// Sessions not settled yet, in the order they first appeared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<Session>,
    /// Per register, what the last settled session left in the drawer (SES004) and its id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub previous: BTreeMap<String, (Decimal, String)>,
    /// Per register and session id, the sessions judged in earlier runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settled: BTreeMap<String, BTreeMap<String, Settled>>,
}

/// All sessions, per register in the order they first appeared.
pub(crate) struct Sessions {
    sessions: Vec<Slot>,
    index: BTreeMap<(String, String), usize>,
    /// Sessions judged in earlier runs.
    settled: BTreeMap<(String, String), Settled>,
    /// Per register, what the last judged session left in the drawer, and its id.
    previous: BTreeMap<String, (Decimal, String)>,
    /// Closed sessions as JSON.
    closed: TempLog,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            sessions: Vec::new(),
            index: BTreeMap::new(),
            settled: BTreeMap::new(),
            previous: BTreeMap::new(),
            closed: TempLog::new("closed sessions"),
        }
    }
}

/// A session held in memory, or closed and written to [`Sessions::closed`] (offset, length).
enum Slot {
    Held(Box<Session>),
    Written(u64, u32),
}

impl Slot {
    /// The session, read back from `log` if it is closed; `None` if the log lost it (it then
    /// said so on stderr, and the session is left out rather than judged on half its data).
    fn load<'a>(&'a self, log: &mut TempLog) -> Option<std::borrow::Cow<'a, Session>> {
        match self {
            Slot::Held(s) => Some(std::borrow::Cow::Borrowed(s)),
            Slot::Written(at, len) => {
                let mut bytes = vec![0; *len as usize];
                if !log.read_at(*at, &mut bytes) {
                    return None;
                }
                serde_json::from_slice(&bytes)
                    .ok()
                    .map(std::borrow::Cow::Owned)
            }
        }
    }
}

/// Where an operation breaks the order open → adjustments/sales → count → close.
fn order_of(
    closed: bool,
    counted: bool,
    opened: bool,
    order_reported: &mut bool,
    kind: OperationKind,
) -> Option<&'static str> {
    if closed {
        Some("after the session was closed")
    } else if counted && kind != OperationKind::SessionClose {
        Some("after the cash count, where only session_close may follow")
    } else if !opened && kind != OperationKind::SessionOpen && !*order_reported {
        *order_reported = true;
        Some("in a session that was never opened")
    } else {
        None
    }
}

fn currency_differs(op: &Operation, sid: &str, currency: Currency, at: &OpRef, emit: &mut Emit) {
    if op.currency != currency {
        emit.mismatch(
            "SES007",
            at,
            format!(
                "session {sid} opened in {currency}, this operation is in {}",
                op.currency
            ),
            currency,
            op.currency,
        );
    }
}

fn out_of_order(op: &Operation, sid: &str, why: &str, at: &OpRef, emit: &mut Emit) {
    emit.mismatch(
        "SES001",
        at,
        format!("{} {why} (session {sid})", op.kind.name()),
        "open → adjustments/sales → count → close",
        op.kind.name(),
    );
}

fn opened_twice(sid: &str, at: &OpRef, emit: &mut Emit) {
    emit.mismatch(
        "SES001",
        at,
        format!("session {sid} is opened a second time"),
        "one session_open",
        "two",
    );
}

fn closed_uncounted(sid: &str, at: &OpRef, emit: &mut Emit) {
    emit.mismatch(
        "SES001",
        at,
        format!("session {sid} is closed without a cash count"),
        "session_cash_count before session_close",
        "none",
    );
}

impl Settled {
    fn of(s: &Session) -> Settled {
        Settled {
            currency: s.currency,
            opened: s.open.is_some(),
            counted: s.count.is_some(),
            closed: s.close.is_some(),
            order_reported: s.order_reported,
        }
    }

    /// The push-time checks of [`Sessions::push`], on the flags that are left.
    fn push(&mut self, op: &Operation, sid: &str, at: &OpRef, emit: &mut Emit) {
        currency_differs(op, sid, self.currency, at, emit);
        let order = order_of(
            self.closed,
            self.counted,
            self.opened,
            &mut self.order_reported,
            op.kind,
        );
        if let Some(why) = order {
            out_of_order(op, sid, why, at, emit);
        }
        match (&op.kind, &op.cash) {
            (OperationKind::SessionOpen, Some(CashEvent::Open { .. })) => {
                if self.opened {
                    opened_twice(sid, at, emit);
                }
                self.opened = true;
            }
            (OperationKind::SessionCashCount, Some(CashEvent::Count { .. })) => {
                self.counted = true;
            }
            (OperationKind::SessionClose, Some(CashEvent::Close { .. })) => {
                if !self.counted && order.is_none() {
                    closed_uncounted(sid, at, emit);
                }
                self.closed = true;
            }
            _ => {}
        }
    }
}

impl Sessions {
    /// The sessions continuing from an earlier run.
    pub fn resume(c: SessionsCarry) -> Sessions {
        let index = c
            .open
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.register(), s.id.clone()), i))
            .collect();
        let settled = c
            .settled
            .into_iter()
            .flat_map(|(register, by_id)| {
                by_id
                    .into_iter()
                    .map(move |(id, s)| ((register.clone(), id), s))
            })
            .collect();
        Sessions {
            sessions: c
                .open
                .into_iter()
                .map(|s| Slot::Held(Box::new(s)))
                .collect(),
            index,
            settled,
            previous: c.previous,
            ..Sessions::default()
        }
    }

    pub fn push(&mut self, op: &Operation, emit: &mut Emit) {
        let Some(sid) = &op.session_id else { return };
        let register = op.register_id.clone().unwrap_or_default();
        let at = OpRef::of(op);
        let key = (register, sid.clone());
        if !self.index.contains_key(&key)
            && let Some(settled) = self.settled.get_mut(&key)
        {
            settled.push(op, sid, &at, emit);
            return;
        }
        let i = *self.index.entry(key).or_insert_with(|| {
            grow_by_an_eighth(&mut self.sessions, 16);
            self.sessions.push(Slot::Held(Box::new(Session {
                id: sid.clone(),
                currency: op.currency,
                first: at.clone(),
                open: None,
                adjustments: Decimal::ZERO,
                cash: Decimal::ZERO,
                cash_out: Decimal::ZERO,
                count: None,
                close: None,
                order_reported: false,
            })));
            self.sessions.len() - 1
        });
        let Some(s) = self.held(i) else { return };
        currency_differs(op, &s.id, s.currency, &at, emit);
        let time = op.timestamps.effective();
        let order = order_of(
            s.close.is_some(),
            s.count.is_some(),
            s.open.is_some(),
            &mut s.order_reported,
            op.kind,
        );
        if let Some(why) = order {
            out_of_order(op, &s.id, why, &at, emit);
        }
        match (&op.kind, &op.cash) {
            (OperationKind::SessionOpen, Some(CashEvent::Open { opening_balance })) => {
                if s.open.is_some() {
                    opened_twice(&s.id, &at, emit);
                } else {
                    s.open = Some(Event {
                        at,
                        time,
                        value: *opening_balance,
                    });
                }
            }
            // The count freezes the drawer: nothing after it feeds the expected amount.
            (OperationKind::SessionCashAdjustment, Some(CashEvent::Movement { amount, .. }))
                if op.state == LifecycleState::Completed && s.count.is_none() =>
            {
                s.adjustments += *amount;
            }
            (
                OperationKind::SessionCashCount,
                Some(CashEvent::Count {
                    counted,
                    expected,
                    difference,
                }),
            ) => {
                s.count = Some(Event {
                    at,
                    time,
                    value: Count {
                        counted: *counted,
                        expected: *expected,
                        difference: *difference,
                        explained: !op.notes.is_empty(),
                    },
                });
            }
            (
                OperationKind::SessionClose,
                Some(CashEvent::Close {
                    business_date,
                    adjustment,
                }),
            ) => {
                if s.count.is_none() && order.is_none() {
                    closed_uncounted(&s.id, &at, emit);
                }
                s.close = Some(Event {
                    at,
                    time,
                    value: Close {
                        business_date: *business_date,
                        adjustment: *adjustment,
                    },
                });
            }
            _ if op.kind.moves_goods()
                && op.state == LifecycleState::Completed
                && op.kind != OperationKind::Training
                && s.count.is_none() =>
            {
                let (cash_in, cash_out) = op.drawer_cash();
                s.cash += cash_in - cash_out;
                s.cash_out += cash_out;
            }
            _ => {}
        }
        if s.close.is_some() {
            self.write_closed(i);
        }
    }

    /// Session `i` in memory, read back first if it was closed and written out.
    fn held(&mut self, i: usize) -> Option<&mut Session> {
        if let Slot::Written(..) = self.sessions[i] {
            let s = self.sessions[i].load(&mut self.closed)?.into_owned();
            self.sessions[i] = Slot::Held(Box::new(s));
        }
        match &mut self.sessions[i] {
            Slot::Held(s) => Some(s),
            Slot::Written(..) => None,
        }
    }

    /// Writes closed session `i` out of memory. An operation after the close reads it back
    /// (and writes it again): rare, and the order check reports it anyway (SES001).
    fn write_closed(&mut self, i: usize) {
        let Slot::Held(s) = &self.sessions[i] else {
            return;
        };
        // A session that cannot be written (it always can) simply stays in memory.
        let Ok(bytes) = serde_json::to_vec(s) else {
            return;
        };
        let Ok(len) = u32::try_from(bytes.len()) else {
            return;
        };
        let at = self.closed.append(&bytes);
        self.sessions[i] = Slot::Written(at, len);
    }

    /// The cash reconciliation of every session this run saw (carried-in ones included), per
    /// register in the order the sessions first appeared.
    pub fn reconciliations(&mut self) -> Vec<Reconciliation> {
        self.sessions
            .iter()
            .filter_map(|s| s.load(&mut self.closed).map(|s| s.reconciliation()))
            .collect()
    }

    /// Judges every session (SES002–SES006, SES008).
    pub fn finish(mut self, emit: &mut Emit) {
        for s in &self.sessions {
            if let Some(s) = s.load(&mut self.closed) {
                judge(&s, &mut self.previous, emit);
            }
        }
    }

    /// Judges the sessions a later run can no longer change as [`Sessions::finish`] does and
    /// hands on the others: per register, every session up to the last closed one is
    /// settled; the sessions after it stay open.
    pub fn finish_carry(mut self, emit: &mut Emit) -> SessionsCarry {
        // Every session is in the index under its register; a written-out one is closed.
        let mut register_of = vec![String::new(); self.sessions.len()];
        for ((register, _), &i) in &self.index {
            register_of[i].clone_from(register);
        }
        let mut last_closed: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in self.sessions.iter().enumerate() {
            let closed = match s {
                Slot::Held(s) => s.close.is_some(),
                Slot::Written(..) => true,
            };
            if closed {
                last_closed.insert(&register_of[i], i);
            }
        }
        let mut open = Vec::new();
        for (i, slot) in self.sessions.iter().enumerate() {
            let Some(s) = slot.load(&mut self.closed) else {
                continue;
            };
            let s = s.into_owned();
            let register = s.register();
            if last_closed.get(register.as_str()).is_some_and(|&l| i <= l) {
                judge(&s, &mut self.previous, emit);
                self.settled
                    .insert((register, s.id.clone()), Settled::of(&s));
            } else {
                open.push(s);
            }
        }
        let mut settled: BTreeMap<String, BTreeMap<String, Settled>> = BTreeMap::new();
        for ((register, id), s) in self.settled {
            settled.entry(register).or_default().insert(id, s);
        }
        SessionsCarry {
            open,
            previous: self.previous,
            settled,
        }
    }
}

/// Judges one session; `previous` is, per register, what the session before it left in the
/// drawer (SES004), and is moved on to this one.
fn judge(s: &Session, previous: &mut BTreeMap<String, (Decimal, String)>, emit: &mut Emit) {
    let tol = emit.config().tolerance.amount;
    let register = s.register();
    if let (Some(open), Some((left, prev_id))) = (&s.open, previous.get(&register))
        && !close(open.value, *left, tol)
    {
        emit.mismatch(
            "SES004",
            &open.at,
            format!(
                "session {} opens with {}, session {prev_id} left {left} in the drawer",
                s.id, open.value
            ),
            left,
            open.value,
        );
    }
    if let (Some(open), Some(count)) = (&s.open, &s.count) {
        let c = &count.value;
        let recomputed = open.value + s.cash + s.adjustments;
        if let Some(stated) = c.expected {
            if !close(stated, recomputed, tol) {
                emit.mismatch(
                        "SES002",
                        &count.at,
                        format!(
                            "expected_closing_amount {stated} is not opening {} + cash {} + adjustments {} = {recomputed}",
                            open.value, s.cash, s.adjustments
                        ),
                        recomputed,
                        stated,
                    );
            }
            if let Some(diff) = c.difference
                && !close(diff, c.counted - stated, tol)
            {
                emit.mismatch(
                    "SES003",
                    &count.at,
                    format!(
                        "closing_cashcount_diff is not counted {} − expected {stated}",
                        c.counted
                    ),
                    c.counted - stated,
                    diff,
                );
            }
        }
        let expected = c.expected.unwrap_or(recomputed);
        if !close(c.counted, expected, tol) && !c.explained {
            emit.mismatch(
                "SES008",
                &count.at,
                format!(
                    "counted {} differs from expected {expected} without a discrepancy_note",
                    c.counted
                ),
                expected,
                c.counted,
            );
        }
    }
    match &s.close {
        None => {
            let at = s.open.as_ref().map_or(&s.first, |o| &o.at);
            emit.finding(
                "SES005",
                at,
                format!("session {} is never closed", s.id),
                Some("a session_close".into()),
                Some("none".into()),
            );
        }
        Some(close_ev) => {
            if let (Some(bd), Some(open)) = (close_ev.value.business_date, &s.open) {
                let from = open.time.map(|t| t.0.date_naive());
                let to = close_ev.time.map(|t| t.0.date_naive());
                if let (Some(from), Some(to)) = (from, to)
                    && (bd < from || bd > to)
                {
                    emit.mismatch(
                        "SES006",
                        &close_ev.at,
                        format!(
                            "business_date {bd} is outside session {} ({from} to {to})",
                            s.id
                        ),
                        format!("{from} to {to}"),
                        bd,
                    );
                }
            }
        }
    }
    if let Some(count) = &s.count {
        let pulled = s
            .close
            .as_ref()
            .and_then(|c| c.value.adjustment)
            .unwrap_or_default();
        previous.insert(register, (count.value.counted + pulled, s.id.clone()));
    } else {
        previous.remove(&register);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Config;
    use serde_json::{Value, json};

    fn record(id: &str, kind: &str, session: &str, minute: u32, extra: Value) -> Value {
        let at = format!(
            "2026-03-02T{:02}:{:02}:00+01:00",
            8 + minute / 60,
            minute % 60
        );
        let mut op = json!({"id": id, "merchant_id": "m", "register_id": "r1", "session_id": session,
            "source": "POS", "status": "completed", "currency": "EUR", "resource_version": 1,
            "created_at": at, "updated_at": at, "completed_at": at, "type": kind});
        for (k, v) in extra.as_object().expect("object") {
            op[k] = v.clone();
        }
        op
    }

    fn read(records: &[Value]) -> Vec<Operation> {
        let text: Vec<String> = records.iter().map(Value::to_string).collect();
        let mut ops = Vec::new();
        crate::ingest::read_bytes(
            "t.ndjson",
            text.join("\n").as_bytes(),
            &mut |item| match item {
                crate::ingest::Item::Operation(op) => ops.push(*op),
                crate::ingest::Item::Reject(r) => panic!("rejected: {r:?}"),
            },
        );
        ops
    }

    /// A closed session leaves memory, an operation after its close reads it back, and the
    /// judging at the end works on what was read back: the late operation is out of order
    /// (SES001), the second session's opening matches what the first left (no SES004), and
    /// the reconciliation keeps every amount of the written-out session.
    #[test]
    fn closed_sessions_are_written_out_and_read_back_whole() {
        let ops = read(&[
            record(
                "o1",
                "session_open",
                "s1",
                0,
                json!({"opening_balance_amount": "100.00"}),
            ),
            record(
                "a1",
                "session_cash_adjustment",
                "s1",
                5,
                json!({"cash_amount": "10.00"}),
            ),
            record(
                "c1",
                "session_cash_count",
                "s1",
                60,
                json!({"counted_closing_amount": "110.00", "expected_closing_amount": "110.00", "closing_cashcount_diff": "0.00"}),
            ),
            record(
                "x1",
                "session_close",
                "s1",
                61,
                json!({"business_date": "2026-03-02"}),
            ),
            record(
                "late",
                "session_cash_adjustment",
                "s1",
                62,
                json!({"cash_amount": "5.00"}),
            ),
            record(
                "o2",
                "session_open",
                "s2",
                120,
                json!({"opening_balance_amount": "110.00"}),
            ),
            record(
                "c2",
                "session_cash_count",
                "s2",
                180,
                json!({"counted_closing_amount": "110.00", "expected_closing_amount": "110.00", "closing_cashcount_diff": "0.00"}),
            ),
            record(
                "x2",
                "session_close",
                "s2",
                181,
                json!({"business_date": "2026-03-02"}),
            ),
        ]);
        assert_eq!(ops.len(), 8);
        let config = Config::default();
        let mut found: Vec<(String, String)> = Vec::new();
        let mut sink =
            |f: Finding| found.push((f.code.to_string(), f.operation_id.unwrap_or_default()));
        let mut emit = Emit {
            config: &config,
            sink: &mut sink,
        };
        let mut sessions = Sessions::default();
        for op in &ops {
            sessions.push(op, &mut emit);
        }
        assert!(
            sessions
                .sessions
                .iter()
                .all(|s| matches!(s, Slot::Written(..)))
        );
        let r = sessions.reconciliations();
        assert_eq!(r.len(), 2);
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(
            (
                r[0].session.as_str(),
                r[0].opening,
                r[0].adjustments,
                r[0].counted,
                r[0].expected
            ),
            (
                "s1",
                Some(d("100.00")),
                d("10.00"),
                Some(d("110.00")),
                Some(d("110.00"))
            )
        );
        assert_eq!(r[0].status, SessionStatus::Closed);
        assert_eq!(r[1].opening, Some(d("110.00")));
        sessions.finish(&mut emit);
        assert_eq!(found, [("SES001".to_string(), "late".to_string())]);
    }
}
