//! `Kassenbeleg-V1` processData: what the TSE signed, read back, and what the operation's own
//! lines and payments say it should be.
//!
//! A valid signature only proves the TSE signed *some* amounts; the audit question is whether
//! they are the receipt's. DSFinV-K Anhang I (spec §4) fixes the format:
//! `<Vorgangstyp>^<gross per VAT slot>^<payments>`, five gross amounts in the order 19 %, 7 %,
//! 10.7 %, 5.5 %, 0 % (16 % and 5 % of 2020 H2 share the first two), payments
//! `<amount>:<Bar|Unbar>[:<currency>]` accumulated per type and currency. Amounts are compared
//! as decimals, so `5.0` and `5.00` agree; the notation itself is a separate question.
//!
//! What cannot be known from the operation is left unchecked rather than guessed: the euro
//! change of foreign-currency cash (the exchange rate is not in the API), a line whose VAT
//! rate has no slot (VAT003 reports the rate), and a void whose original is not in the input.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::model::money::checked_sum;
use crate::model::{
    Direction, LineKind, LineRole, Operation, OperationKind, PaymentMethod, WireShape,
};

/// Payment type of a processData entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PayType {
    /// Cash.
    Bar,
    /// Everything else (card, wallet, voucher, gift card…).
    Unbar,
}

/// A payment key: type and currency (`None` = the operation currency, EUR).
pub type PayKey = (PayType, Option<String>);

/// The amounts of a `Kassenbeleg-V1` processData.
#[derive(Debug, Clone, PartialEq)]
pub struct Kassenbeleg {
    /// Vorgangstyp (`Beleg`, `AVTraining`, `AVBelegabbruch`, …).
    pub vorgang: String,
    /// Gross per slot: 19 %, 7 %, 10.7 %, 5.5 %, 0 %.
    pub slots: [Decimal; 5],
    /// Payments summed per type and currency.
    pub payments: BTreeMap<PayKey, Decimal>,
}

/// The slot names, for messages.
pub const SLOT_NAMES: [&str; 5] = ["19 %", "7 %", "10.7 %", "5.5 %", "0 %"];

/// Parses a `Kassenbeleg-V1` processData. Errors say which part is malformed.
pub fn parse(pd: &str) -> Result<Kassenbeleg, String> {
    let parts: Vec<&str> = pd.split('^').collect();
    let [vorgang, amounts, payments] = parts[..] else {
        return Err(format!(
            "expected <Vorgangstyp>^<amounts>^<payments>, found {} part(s)",
            parts.len()
        ));
    };
    let mut slots = [Decimal::ZERO; 5];
    let values: Vec<&str> = amounts.split('_').collect();
    if values.len() != 5 {
        return Err(format!(
            "expected 5 gross amounts joined by '_', found {}",
            values.len()
        ));
    }
    for (slot, v) in slots.iter_mut().zip(&values) {
        *slot = v
            .parse()
            .map_err(|_| format!("gross amount {v:?} is not a decimal number"))?;
    }
    let mut pays = BTreeMap::new();
    if !payments.is_empty() {
        for entry in payments.split('_') {
            let fields: Vec<&str> = entry.split(':').collect();
            let (amount, kind, currency) = match fields[..] {
                [a, k] => (a, k, None),
                [a, k, c] => (a, k, Some(c.to_string())),
                _ => {
                    return Err(format!(
                        "payment {entry:?} is not <amount>:<Bar|Unbar>[:<currency>]"
                    ));
                }
            };
            let kind = match kind {
                "Bar" => PayType::Bar,
                "Unbar" => PayType::Unbar,
                other => return Err(format!("payment type {other:?} is neither Bar nor Unbar")),
            };
            let amount: Decimal = amount
                .parse()
                .map_err(|_| format!("payment amount {amount:?} is not a decimal number"))?;
            // EUR may be written out; it is the same entry as no currency.
            let currency = currency.filter(|c| c != "EUR");
            let sum = pays.entry((kind, currency)).or_insert(Decimal::ZERO);
            *sum = sum
                .checked_add(amount)
                .ok_or_else(|| format!("payments overflow at {entry:?}"))?;
        }
    }
    Ok(Kassenbeleg {
        vorgang: vorgang.to_string(),
        slots,
        payments: pays,
    })
}

/// What the operation says the TSE should have signed, with the parts it cannot know.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The Vorgangstypen that fit the operation (a void may be a negated `Beleg` or an
    /// `AVBelegstorno`).
    pub vorgang: &'static [&'static str],
    /// Gross per slot; `None` when a line's VAT rate has no slot, or when cart-level
    /// discounts of the /operations v1.1 shape leave the split per rate unknown.
    pub slots: Option<[Decimal; 5]>,
    /// The sum over all slots, where only that is known (v1.1 with cart-level discounts).
    pub slot_total: Option<Decimal>,
    /// Payments per type and currency; `None` when the operation signs none (training,
    /// aborted).
    pub payments: Option<BTreeMap<PayKey, Decimal>>,
    /// Keys whose amount the operation cannot determine (euro cash next to foreign cash, and
    /// foreign cash without its tendered amount).
    pub unknown: Vec<PayKey>,
}

/// How a receipt format sorts gross amounts into its five per-rate fields: the field of a VAT
/// rate (`None` for a rate the format has no field for) and the field of untaxed amounts
/// (tips, vouchers, cash movements). The German Kassenbeleg and the Austrian machine-readable
/// code differ only in this, so both rebuild their amounts through [`expected_in`].
#[derive(Clone, Copy)]
pub struct Slots {
    /// The field of a VAT rate.
    pub of: fn(Decimal) -> Option<usize>,
    /// The field of untaxed amounts.
    pub untaxed: usize,
}

/// The slots of `Kassenbeleg-V1`.
pub const KASSENBELEG: Slots = Slots {
    of: slot,
    untaxed: 4,
};

/// The Kassenbeleg slot of a German VAT rate.
fn slot(rate: Decimal) -> Option<usize> {
    let bp = rate.checked_mul(Decimal::from(1000))?.normalize();
    // Per mille: 19 % and 2020's 16 % are the general rate, 7 % and 5 % the reduced one.
    match bp.to_string().as_str() {
        "190" | "160" => Some(0),
        "70" | "50" => Some(1),
        "107" => Some(2),
        "55" => Some(3),
        "0" => Some(4),
        _ => None,
    }
}

impl Expected {
    /// The expectation with every amount negated (a void reverses its original).
    pub fn negated(&self) -> Expected {
        Expected {
            vorgang: &["Beleg", "AVBelegstorno"],
            slots: self.slots.map(|s| s.map(|x| -x)),
            slot_total: self.slot_total.map(|x| -x),
            payments: self
                .payments
                .as_ref()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), -*v)).collect()),
            unknown: self.unknown.clone(),
        }
    }

    /// Compares with what was signed; one message per difference.
    pub fn differences(&self, signed: &Kassenbeleg) -> Vec<String> {
        let mut out = Vec::new();
        if !self.vorgang.contains(&signed.vorgang.as_str()) {
            out.push(format!(
                "Vorgangstyp {} signed, the operation is {}",
                signed.vorgang,
                self.vorgang.join(" or ")
            ));
        }
        if let Some(slots) = &self.slots {
            for (i, (want, got)) in slots.iter().zip(&signed.slots).enumerate() {
                if want != got {
                    out.push(format!(
                        "gross at {} signed {got}, the lines sum to {want}",
                        SLOT_NAMES[i]
                    ));
                }
            }
        } else if let Some(want) = self.slot_total
            && let Some(got) = crate::model::money::checked_sum(signed.slots)
            && want != got
        {
            out.push(format!(
                "gross over all VAT slots signed {got}, the lines less cart discounts sum to {want}"
            ));
        }
        let empty = BTreeMap::new();
        let want = self.payments.as_ref().unwrap_or(&empty);
        let keys: std::collections::BTreeSet<&PayKey> =
            want.keys().chain(signed.payments.keys()).collect();
        for key in keys {
            if self.unknown.contains(key) {
                continue;
            }
            let w = want.get(key).copied().unwrap_or_default();
            let g = signed.payments.get(key).copied().unwrap_or_default();
            if w != g {
                let name = match key {
                    (PayType::Bar, None) => "Bar".to_string(),
                    (PayType::Unbar, None) => "Unbar".to_string(),
                    (PayType::Bar, Some(c)) => format!("Bar {c}"),
                    (PayType::Unbar, Some(c)) => format!("Unbar {c}"),
                };
                out.push(format!(
                    "{name} payments signed {g}, the operation's payments sum to {w}"
                ));
            }
        }
        out
    }
}

/// `*acc += v`; `None` on overflow (amounts are untrusted input).
fn add(acc: &mut Decimal, v: Decimal) -> Option<()> {
    *acc = acc.checked_add(v)?;
    Some(())
}

/// The gross of a goods operation per slot, signed as the TSE books it (sold positive,
/// returned negative, a return's lines negative): `(slots, None)` when the split per rate is
/// known, `(None, Some(total))` when only the total is (v1.1 cart-level discounts are not
/// allocated to lines in the API), `(None, None)` when neither is (a rate without a slot,
/// overflow).
fn line_slots(op: &Operation, fields: Slots) -> (Option<[Decimal; 5]>, Option<Decimal>) {
    let mut slots = [Decimal::ZERO; 5];
    let sign = if op.kind == OperationKind::Return {
        -Decimal::ONE
    } else {
        Decimal::ONE
    };
    let mut has_tip_line = false;
    let mut placed = true;
    for line in &op.lines {
        has_tip_line |= line.kind == LineKind::Tip;
        let s = match line.taxes.first() {
            Some(tax) => match (fields.of)(tax.rate) {
                Some(s) => s,
                None => {
                    // Counted somewhere so the total can still be judged.
                    placed = false;
                    0
                }
            },
            // Untaxed (tips, vouchers without a tax entry) count at 0 %.
            None => fields.untaxed,
        };
        // Register shape: returned lines are positive and their role says they come back;
        // v1.1: they carry a negative quantity and amount already.
        let role = if line.role == LineRole::Returned && op.shape == WireShape::Register {
            -Decimal::ONE
        } else {
            Decimal::ONE
        };
        if add(&mut slots[s], sign * role * line.total_gross).is_none() {
            return (None, None);
        }
    }
    if !has_tip_line && let Some(tip) = op.tip {
        // A tip for the staff is no supply: 0 % slot.
        if add(&mut slots[fields.untaxed], sign * tip).is_none() {
            return (None, None);
        }
    }
    let unallocated = op.shape == WireShape::Operations && !op.cart_discounts.is_empty();
    if !unallocated {
        return (placed.then_some(slots), None);
    }
    let total = checked_sum(slots).and_then(|t| {
        let discounts = checked_sum(op.cart_discounts.iter().map(|d| d.amount))?;
        t.checked_sub(sign * discounts)
    });
    (None, total)
}

/// The payments of an operation per type and currency, inbound positive.
fn payments(op: &Operation) -> (BTreeMap<PayKey, Decimal>, Vec<PayKey>) {
    let mut out = BTreeMap::new();
    let mut unknown = Vec::new();
    for p in &op.payments {
        let sign = match p.direction {
            Direction::In => Decimal::ONE,
            Direction::Out => -Decimal::ONE,
        };
        // v1.1 exchange legs carry the sign in the amount as well as in the status.
        let amount = sign * p.amount.abs();
        match (&p.method, p.foreign_currency) {
            (PaymentMethod::Cash, Some(cur)) => {
                let key = (PayType::Bar, Some(cur.code().to_string()));
                let known = p
                    .tendered
                    .and_then(|t| add(out.entry(key.clone()).or_insert(Decimal::ZERO), sign * t));
                if known.is_none() {
                    unknown.push(key);
                }
                // The change comes back in euro at a rate the API does not give.
                unknown.push((PayType::Bar, None));
            }
            (method, None) => {
                let key = if *method == PaymentMethod::Cash {
                    (PayType::Bar, None)
                } else {
                    (PayType::Unbar, None)
                };
                if add(out.entry(key.clone()).or_insert(Decimal::ZERO), amount).is_none() {
                    unknown.push(key);
                }
            }
            // Foreign currency is refused at ingest for anything but cash.
            (_, Some(cur)) => unknown.push((PayType::Unbar, Some(cur.code().to_string()))),
        }
    }
    out.retain(|_, v| !v.is_zero());
    (out, unknown)
}

/// What the TSE should have signed for `op`, or `None` when the operation implies no
/// expectation (a session record that books nothing, a void without its original, an open
/// operation).
/// `original` is the expectation of the operation a void cancels.
pub fn expected(op: &Operation, original: Option<&Expected>) -> Option<Expected> {
    expected_in(op, original, KASSENBELEG)
}

/// [`expected`] with the per-rate fields of another receipt format.
pub fn expected_in(op: &Operation, original: Option<&Expected>, fields: Slots) -> Option<Expected> {
    use crate::model::LifecycleState as S;
    match (op.kind, op.state) {
        (OperationKind::Void, S::Completed) => original.map(Expected::negated),
        (_, S::Cancelled) if op.kind.moves_goods() => Some(Expected {
            vorgang: &["AVBelegabbruch"],
            slots: Some([Decimal::ZERO; 5]),
            slot_total: None,
            payments: None,
            unknown: Vec::new(),
        }),
        (OperationKind::Training, S::Completed) => {
            let (slots, slot_total) = line_slots(op, fields);
            Some(Expected {
                vorgang: &["AVTraining"],
                slots,
                slot_total,
                payments: None,
                unknown: Vec::new(),
            })
        }
        (k, S::Completed | S::Voided) if k.moves_goods() => {
            let (p, unknown) = payments(op);
            let (slots, slot_total) = line_slots(op, fields);
            Some(Expected {
                vorgang: &["Beleg"],
                slots,
                slot_total,
                payments: Some(p),
                unknown,
            })
        }
        (
            OperationKind::CashMovement
            | OperationKind::SessionCashAdjustment
            | OperationKind::SessionOpen
            | OperationKind::SessionCashCount
            | OperationKind::SessionClose,
            S::Completed,
        ) => {
            let amount = op.cash.as_ref()?.booked_amount()?;
            let mut p = BTreeMap::new();
            if !amount.is_zero() {
                p.insert((PayType::Bar, None), amount);
            }
            // A cash movement, opening float, counted difference or closing pull books into
            // the till: a `Beleg` whose one line (Geldtransit, Anfangsbestand,
            // DifferenzSollIst, Privatentnahme…) is at USt-Schlüssel 5, i.e. the 0 % slot
            // (DSFinV-K BSP 06; spec dsfinvk.md §3.2, §5.1).
            let mut slots = [Decimal::ZERO; 5];
            slots[fields.untaxed] = amount;
            Some(Expected {
                vorgang: &["Beleg"],
                slots: Some(slots),
                slot_total: None,
                payments: Some(p),
                unknown: Vec::new(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_spec_examples() {
        let k = parse("Beleg^75.33_7.99_0.00_0.00_0.00^10.00:Bar_5.00:Unbar").unwrap();
        assert_eq!(k.vorgang, "Beleg");
        assert_eq!(k.slots[0], d("75.33"));
        assert_eq!(k.slots[1], d("7.99"));
        assert_eq!(k.payments[&(PayType::Bar, None)], d("10.00"));
        assert_eq!(k.payments[&(PayType::Unbar, None)], d("5.00"));

        // Several entries of one type accumulate; EUR written out is the default currency.
        let k =
            parse("Beleg^0.00_7.49_0.00_0.00_0.00^10.00:Bar_-2.51:Bar:EUR_20.00:Bar:CHF").unwrap();
        assert_eq!(k.payments[&(PayType::Bar, None)], d("7.49"));
        assert_eq!(k.payments[&(PayType::Bar, Some("CHF".into()))], d("20.00"));

        let k = parse("AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^").unwrap();
        assert!(k.payments.is_empty());
    }

    #[test]
    fn malformed_processdata_says_what_is_wrong() {
        for (pd, needle) in [
            ("Beleg^1.00_0.00^1.00:Bar", "5 gross amounts"),
            ("Beleg^1.00_0.00_0.00_0.00_0.00", "part(s)"),
            ("Beleg^1,00_0.00_0.00_0.00_0.00^1.00:Bar", "not a decimal"),
            (
                "Beleg^1.00_0.00_0.00_0.00_0.00^1.00:Karte",
                "neither Bar nor Unbar",
            ),
            (
                "Beleg^1.00_0.00_0.00_0.00_0.00^1.00",
                "<amount>:<Bar|Unbar>",
            ),
        ] {
            let e = parse(pd).unwrap_err();
            assert!(e.contains(needle), "{pd}: {e}");
        }
    }

    #[test]
    fn rates_map_to_their_slots() {
        assert_eq!(slot(d("0.19")), Some(0));
        assert_eq!(slot(d("0.190")), Some(0));
        assert_eq!(slot(d("0.16")), Some(0));
        assert_eq!(slot(d("0.07")), Some(1));
        assert_eq!(slot(d("0.05")), Some(1));
        assert_eq!(slot(d("0.107")), Some(2));
        assert_eq!(slot(d("0.055")), Some(3));
        assert_eq!(slot(d("0.00")), Some(4));
        assert_eq!(slot(d("0.17")), None);
    }

    #[test]
    fn differences_name_slot_and_payment() {
        let signed = parse("Beleg^1.19_0.00_0.00_0.00_0.00^1.19:Bar").unwrap();
        let mut pays = BTreeMap::new();
        pays.insert((PayType::Bar, None), d("1.19"));
        let mut e = Expected {
            vorgang: &["Beleg"],
            slots: Some([
                d("1.19"),
                Decimal::ZERO,
                Decimal::ZERO,
                Decimal::ZERO,
                Decimal::ZERO,
            ]),
            slot_total: None,
            payments: Some(pays.clone()),
            unknown: Vec::new(),
        };
        assert!(e.differences(&signed).is_empty());
        e.slots.as_mut().unwrap()[0] = d("1.20");
        pays.insert((PayType::Unbar, None), d("0.01"));
        e.payments = Some(pays);
        let diff = e.differences(&signed);
        assert_eq!(
            diff,
            [
                "gross at 19 % signed 1.19, the lines sum to 1.20",
                "Unbar payments signed 0, the operation's payments sum to 0.01"
            ]
        );
        // Unknown parts are skipped.
        e.unknown.push((PayType::Unbar, None));
        assert_eq!(e.differences(&signed).len(), 1);
        // A void reverses the original.
        let n = e.negated();
        assert_eq!(n.slots.unwrap()[0], d("-1.20"));
        assert!(n.vorgang.contains(&"AVBelegstorno"));
    }
}
