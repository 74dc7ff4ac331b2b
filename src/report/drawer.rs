//! The drawer recomputed operation by operation, for the days on which it went negative.
//!
//! A drawer cannot pay out cash it does not hold. When the balance recomputed from the
//! session's opening float, its cash sales and refunds and its cash movements falls below
//! zero, takings were recorded too low or not at all before the payout (Kassenfehlbetrag,
//! the classic sign that the records are not kassensturzfähig, BFH X R 20/13). Only v1.1
//! sessions state an opening float; a register-shape history has no drawer to recompute and
//! is left out rather than assumed to start at zero.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::NegativeCashDay;
use crate::model::{CashEvent, LifecycleState, Operation, OperationKind};

/// Per register the running balance, and the negative days found.
#[derive(Default, Serialize, Deserialize)]
pub struct Drawer {
    /// Register → balance since the session's opening (`None` outside a session).
    balance: BTreeMap<String, Option<Decimal>>,
    /// (register, day) → lowest balance and the operation after which it was reached.
    #[serde(with = "pairs")]
    negative: BTreeMap<(String, String), (Decimal, String)>,
}

/// A map as a list of `[key, value]`: JSON keys can only be strings.
mod pairs {
    use super::*;

    pub fn serialize<S, K, V>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        K: Serialize,
        V: Serialize,
    {
        s.collect_seq(map)
    }

    pub fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

impl Drawer {
    /// Follows one operation (call only for operations whose amounts are in range).
    pub fn push(&mut self, op: &Operation) {
        let Some(register) = &op.register_id else {
            return;
        };
        if op.session_id.is_none() {
            return;
        }
        let balance = self.balance.entry(register.clone()).or_default();
        match (&op.kind, &op.cash) {
            (OperationKind::SessionOpen, Some(CashEvent::Open { opening_balance })) => {
                *balance = Some(*opening_balance);
                return;
            }
            (OperationKind::SessionCashCount, Some(CashEvent::Count { counted, .. })) => {
                *balance = Some(*counted);
                return;
            }
            (OperationKind::SessionClose, _) => {
                *balance = None;
                return;
            }
            (OperationKind::SessionCashAdjustment, Some(CashEvent::Movement { amount, .. }))
                if op.state == LifecycleState::Completed =>
            {
                if let Some(b) = balance {
                    *b += *amount;
                }
            }
            _ if op.kind.moves_goods()
                && op.state == LifecycleState::Completed
                && op.kind != OperationKind::Training =>
            {
                if let Some(b) = balance {
                    let (cash_in, cash_out) = op.drawer_cash();
                    *b += cash_in - cash_out;
                }
            }
            _ => return,
        }
        let Some(b) = *balance else { return };
        if b.is_sign_negative() && !b.is_zero() {
            let day = op
                .timestamps
                .effective()
                .map_or_else(|| "undated".to_string(), |t| t.0.date_naive().to_string());
            let e = self
                .negative
                .entry((register.clone(), day))
                .or_insert((b, op.id.clone()));
            if b < e.0 {
                *e = (b, op.id.clone());
            }
        }
    }

    /// Adds what `other` followed. Precondition: the two followed disjoint sets of registers
    /// (a drawer's balance needs its register's operations in order).
    pub fn merge(&mut self, other: Drawer) {
        self.balance.extend(other.balance);
        self.negative.extend(other.negative);
    }

    /// The negative days, largest shortfall first (then register and day).
    pub fn finish(self) -> Vec<NegativeCashDay> {
        let mut days: Vec<NegativeCashDay> = self
            .negative
            .into_iter()
            .map(
                |((register, day), (lowest, operation_id))| NegativeCashDay {
                    register,
                    day,
                    lowest,
                    operation_id,
                },
            )
            .collect();
        days.sort_by(|a, b| {
            a.lowest
                .cmp(&b.lowest)
                .then_with(|| a.register.cmp(&b.register))
                .then_with(|| a.day.cmp(&b.day))
        });
        days
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::model::{Direction, Payment, PaymentMethod, Timestamp};

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn op(id: &str, kind: OperationKind, at: &str) -> Operation {
        let mut op = Operation::bare(id, kind);
        op.register_id = Some("r1".into());
        op.session_id = Some("s1".into());
        op.timestamps.completed = Timestamp::parse(at);
        op
    }

    fn cash(id: &str, kind: OperationKind, dir: Direction, amount: &str, at: &str) -> Operation {
        let mut o = op(id, kind, at);
        o.payments
            .push(Payment::new(PaymentMethod::Cash, dir, d(amount)));
        o
    }

    #[test]
    fn a_payout_beyond_the_float_and_takings_is_a_negative_day() {
        let mut dr = Drawer::default();
        let mut open = op("o", OperationKind::SessionOpen, "2026-03-02T08:00:00+01:00");
        open.cash = Some(CashEvent::Open {
            opening_balance: d("50.00"),
        });
        dr.push(&open);
        dr.push(&cash(
            "s",
            OperationKind::Sale,
            Direction::In,
            "20.00",
            "2026-03-02T09:00:00+01:00",
        ));
        dr.push(&cash(
            "r",
            OperationKind::Return,
            Direction::Out,
            "80.00",
            "2026-03-02T10:00:00+01:00",
        ));
        dr.push(&cash(
            "r2",
            OperationKind::Return,
            Direction::Out,
            "5.00",
            "2026-03-02T10:30:00+01:00",
        ));
        dr.push(&cash(
            "s2",
            OperationKind::Sale,
            Direction::In,
            "100.00",
            "2026-03-02T11:00:00+01:00",
        ));
        let days = dr.finish();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].day, "2026-03-02");
        assert_eq!(days[0].lowest, d("-15.00"));
        assert_eq!(days[0].operation_id, "r2");
    }

    #[test]
    fn without_an_opening_float_nothing_is_assumed() {
        let mut dr = Drawer::default();
        dr.push(&cash(
            "r",
            OperationKind::Return,
            Direction::Out,
            "80.00",
            "2026-03-02T10:00:00+01:00",
        ));
        assert!(dr.finish().is_empty());
    }
}
