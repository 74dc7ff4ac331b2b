//! Register sessions and cash counts (SES001–SES008), /operations v1.1 only: the
//! register-scoped shape has no sessions.
//!
//! Per session the state is a few sums and the four lifecycle events, so memory grows with
//! the number of sessions, not of operations.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::num::close;
use super::{Emit, OpRef};
use crate::model::*;

struct Event<T> {
    at: OpRef,
    time: Option<Timestamp>,
    value: T,
}

struct Count {
    counted: Decimal,
    expected: Option<Decimal>,
    difference: Option<Decimal>,
    explained: bool,
}

struct Close {
    business_date: Option<NaiveDate>,
    adjustment: Option<Decimal>,
}

struct Session {
    id: String,
    currency: Currency,
    first: OpRef,
    open: Option<Event<Decimal>>,
    adjustments: Decimal,
    cash: Decimal,
    count: Option<Event<Count>>,
    close: Option<Event<Close>>,
    order_reported: bool,
}

/// All sessions, per register in the order they first appeared.
#[derive(Default)]
pub(crate) struct Sessions {
    sessions: Vec<Session>,
    index: BTreeMap<(String, String), usize>,
}

impl Sessions {
    pub fn push(&mut self, op: &Operation, emit: &mut Emit) {
        let Some(sid) = &op.session_id else { return };
        let register = op.register_id.clone().unwrap_or_default();
        let at = OpRef::of(op);
        let i = *self
            .index
            .entry((register, sid.clone()))
            .or_insert_with(|| {
                self.sessions.push(Session {
                    id: sid.clone(),
                    currency: op.currency,
                    first: at.clone(),
                    open: None,
                    adjustments: Decimal::ZERO,
                    cash: Decimal::ZERO,
                    count: None,
                    close: None,
                    order_reported: false,
                });
                self.sessions.len() - 1
            });
        let s = &mut self.sessions[i];
        if op.currency != s.currency {
            emit.mismatch(
                "SES007",
                &at,
                format!(
                    "session {} opened in {}, this operation is in {}",
                    s.id, s.currency, op.currency
                ),
                s.currency,
                op.currency,
            );
        }
        let time = op.timestamps.effective();
        let order = if s.close.is_some() {
            Some("after the session was closed")
        } else if s.count.is_some() && op.kind != OperationKind::SessionClose {
            Some("after the cash count, where only session_close may follow")
        } else if s.open.is_none() && op.kind != OperationKind::SessionOpen && !s.order_reported {
            s.order_reported = true;
            Some("in a session that was never opened")
        } else {
            None
        };
        if let Some(why) = order {
            emit.mismatch(
                "SES001",
                &at,
                format!("{} {why} (session {})", op.kind.name(), s.id),
                "open → adjustments/sales → count → close",
                op.kind.name(),
            );
        }
        match (&op.kind, &op.cash) {
            (OperationKind::SessionOpen, Some(CashEvent::Open { opening_balance })) => {
                if s.open.is_some() {
                    emit.mismatch(
                        "SES001",
                        &at,
                        format!("session {} is opened a second time", s.id),
                        "one session_open",
                        "two",
                    );
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
                    emit.mismatch(
                        "SES001",
                        &at,
                        format!("session {} is closed without a cash count", s.id),
                        "session_cash_count before session_close",
                        "none",
                    );
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
                // Cash in the drawer: in +, out −; foreign cash at its amount in the operation
                // currency (the drawer's value), as the API's expected_closing_amount counts it.
                for p in op
                    .payments
                    .iter()
                    .filter(|p| p.method == PaymentMethod::Cash)
                {
                    match p.direction {
                        Direction::In => s.cash += p.amount.abs(),
                        Direction::Out => s.cash -= p.amount.abs(),
                    }
                }
            }
            _ => {}
        }
    }

    pub fn finish(self, emit: &mut Emit) {
        let tol = emit.config().tolerance.amount;
        // Previous session per register, for the carry-over of cash.
        let mut previous: BTreeMap<String, (Decimal, String)> = BTreeMap::new();
        for s in &self.sessions {
            let register = s.first.register.clone().unwrap_or_default();
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
                    emit.mismatch("SES008", &count.at, format!("counted {} differs from expected {expected} without a discrepancy_note", c.counted), expected, c.counted);
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
    }
}
