//! VAT (VAT001–VAT005): line tax, tax per rate, valid rates, vouchers, Natura codes.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::num::{close, mul_round, tax_in_gross};
use super::{Emit, FirstOf, OpRef};
use crate::model::money::round_commercial;
use crate::model::*;

pub(super) fn check(op: &Operation, regime: Option<Regime>, emit: &mut Emit) {
    if !op.kind.moves_goods() || op.lines.is_empty() {
        return;
    }
    let at = OpRef::of(op);
    let vtol = emit.config().tolerance.vat;
    let dp = op.currency.exponent();
    // v1.1 does not state how a cart discount was spread over the lines, so a line's taxable
    // amount is unknown there; the sum of the line taxes is still checked by TOT003.
    let per_line = op.shape != WireShape::Operations || op.cart_discounts.is_empty();
    let date = op.timestamps.effective().map(|t| t.0.date_naive());
    let mut tax_msgs = FirstOf::new();
    let mut rate_msgs = FirstOf::new();
    let mut voucher_msgs = FirstOf::new();
    let mut natura_msgs = FirstOf::new();
    for (i, l) in op.lines.iter().enumerate() {
        let name = format!("line {}", l.position.unwrap_or(i as u32 + 1));
        if l.kind == LineKind::GiftCard
            && l.taxes
                .iter()
                .any(|t| !t.rate.is_zero() || !t.tax_amount.is_zero())
        {
            let t = &l.taxes[0];
            voucher_msgs.add(
                format!("{name}: a multi-purpose voucher is sold with VAT"),
                "rate 0, tax 0".to_string(),
                format!("rate {}, tax {}", t.rate, t.tax_amount),
            );
        }
        for t in &l.taxes {
            if let (Some(country), Some(date)) = (regime, date)
                && !rate_valid(country, t.rate, date)
            {
                rate_msgs.add(
                    format!(
                        "{name}: rate {} is not a {} VAT rate on {date}",
                        t.rate,
                        country_name(country)
                    ),
                    valid_rates(country, date),
                    t.rate.to_string(),
                );
            }
            if regime == Some(Regime::Rt) && t.rate.is_zero() && !has_natura(t) {
                natura_msgs.add(
                    format!("{name}: 0 % line without a Natura code"),
                    "N1–N7".to_string(),
                    t.category
                        .clone()
                        .or(t.name.clone())
                        .unwrap_or_else(|| "none".into()),
                );
            }
        }
        if per_line
            && let [t] = l.taxes.as_slice()
            && let Some((problem, expected)) = line_tax(l.total_gross, t, dp, vtol)
        {
            tax_msgs.add(format!("{name}: {problem}"), expected, t.tax_amount);
        }
    }
    tax_msgs.emit("VAT001", &at, emit);
    if !per_line {
        rate_bounds(op, dp, vtol).emit("VAT002", &at, emit);
    }
    rate_msgs.emit("VAT003", &at, emit);
    voucher_msgs.emit("VAT004", &at, emit);
    natura_msgs.emit("VAT005", &at, emit);
}

/// v1.1 with cart-level discounts: the API does not say how the discount was spread over the
/// lines, so per rate the tax can only be bounded. With D the whole cart discount, the tax at
/// rate r lies between the tax contained in (gross_r − D) and in gross_r, widened by half a
/// minor unit per line for rounding.
fn rate_bounds(op: &Operation, dp: u32, tol: Decimal) -> FirstOf {
    let discount: Decimal = op.cart_discounts.iter().map(|d| d.amount).sum();
    let mut by_rate: Vec<(Decimal, Decimal, Decimal, u32)> = Vec::new();
    for l in &op.lines {
        if let [t] = l.taxes.as_slice() {
            match by_rate.iter_mut().find(|(r, ..)| *r == t.rate.normalize()) {
                Some(e) => {
                    e.1 += l.total_gross;
                    e.2 += t.tax_amount;
                    e.3 += 1;
                }
                None => by_rate.push((t.rate.normalize(), l.total_gross, t.tax_amount, 1)),
            }
        }
    }
    let mut msgs = FirstOf::new();
    for (rate, gross, tax, n) in by_rate {
        let slack = Decimal::new(5, dp + 1) * Decimal::from(n) + tol;
        let (Some(hi), Some(lo)) = (
            tax_in_gross(gross, rate, dp + 4),
            tax_in_gross((gross - discount).max(Decimal::ZERO), rate, dp + 4),
        ) else {
            continue;
        };
        if tax > hi + slack || tax < lo - slack {
            msgs.add(
                format!("rate {rate}: line taxes {tax} are outside what gross {gross} less up to {discount} of cart discount can carry"),
                format!("{} to {}", round_commercial(lo, dp), round_commercial(hi, dp)),
                tax.to_string(),
            );
        }
    }
    msgs
}

/// `None` when the stated tax matches either rounding method; otherwise the problem and the
/// tax recomputed from the gross.
fn line_tax(gross: Decimal, t: &LineTax, dp: u32, tol: Decimal) -> Option<(String, Decimal)> {
    let from_gross = tax_in_gross(gross, t.rate, dp)?;
    let net = t.taxable_amount.unwrap_or(gross - t.tax_amount);
    let from_net = mul_round(net, t.rate, dp)?;
    if close(t.tax_amount, from_gross, tol) || close(t.tax_amount, from_net, tol) {
        None
    } else {
        let problem = format!(
            "tax {} at rate {} on gross {gross} should be {from_gross}",
            t.tax_amount, t.rate
        );
        Some((problem, from_gross))
    }
}

fn has_natura(t: &LineTax) -> bool {
    let is_code = |s: &str| {
        let b = s.as_bytes();
        b.len() >= 2
            && b[0] == b'N'
            && (b'1'..=b'7').contains(&b[1])
            && (b.len() == 2
                || (b[2] == b'.' && b.len() > 3 && b[3..].iter().all(u8::is_ascii_digit)))
    };
    t.category.as_deref().is_some_and(is_code) || t.name.as_deref().is_some_and(is_code)
}

fn country_name(r: Regime) -> &'static str {
    match r {
        Regime::KassenSichV => "German",
        Regime::Rksv => "Austrian",
        Regime::Rt => "Italian",
    }
}

/// Valid rates in percent, per country and date.
fn rates(r: Regime, date: NaiveDate) -> Vec<Decimal> {
    let pct = |v: &[(i64, u32)]| {
        v.iter()
            .map(|&(m, s)| Decimal::new(m, s))
            .collect::<Vec<_>>()
    };
    match r {
        Regime::KassenSichV => {
            // Zweites Corona-Steuerhilfegesetz: 16 % and 5 % from 2020-07-01 to 2020-12-31.
            let cut_from = NaiveDate::from_ymd_opt(2020, 7, 1).expect("valid date");
            let cut_to = NaiveDate::from_ymd_opt(2020, 12, 31).expect("valid date");
            if (cut_from..=cut_to).contains(&date) {
                pct(&[(16, 0), (5, 0), (0, 0)])
            } else {
                pct(&[(19, 0), (7, 0), (0, 0)])
            }
        }
        Regime::Rksv => {
            let mut v = pct(&[(20, 0), (10, 0), (13, 0), (0, 0)]);
            if date >= NaiveDate::from_ymd_opt(2026, 7, 1).expect("valid date") {
                v.push(Decimal::new(49, 1));
            }
            v
        }
        Regime::Rt => pct(&[(22, 0), (10, 0), (5, 0), (4, 0), (0, 0)]),
    }
}

fn rate_valid(r: Regime, rate: Decimal, date: NaiveDate) -> bool {
    let pct = rate * Decimal::ONE_HUNDRED;
    rates(r, date)
        .iter()
        .any(|v| v.normalize() == pct.normalize())
}

fn valid_rates(r: Regime, date: NaiveDate) -> String {
    rates(r, date)
        .iter()
        .map(|v| format!("{v} %"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn rates_by_country_and_date() {
        let r = |s: &str| s.parse::<Decimal>().unwrap();
        assert!(rate_valid(Regime::KassenSichV, r("0.19"), d(2026, 3, 2)));
        assert!(!rate_valid(Regime::KassenSichV, r("0.16"), d(2026, 3, 2)));
        assert!(rate_valid(Regime::KassenSichV, r("0.16"), d(2020, 9, 1)));
        assert!(!rate_valid(Regime::KassenSichV, r("0.19"), d(2020, 9, 1)));
        assert!(!rate_valid(Regime::Rksv, r("0.049"), d(2026, 6, 30)));
        assert!(rate_valid(Regime::Rksv, r("0.049"), d(2026, 7, 1)));
        assert!(rate_valid(Regime::Rt, r("0.04"), d(2026, 3, 2)));
        assert!(!rate_valid(Regime::Rt, r("0.12"), d(2026, 3, 2)));
    }

    #[test]
    fn natura_codes() {
        let t = |c: &str| LineTax {
            name: None,
            rate: Decimal::ZERO,
            category: Some(c.into()),
            taxable_amount: None,
            tax_amount: Decimal::ZERO,
        };
        assert!(has_natura(&t("N4")));
        assert!(has_natura(&t("N2.2")));
        assert!(!has_natura(&t("N8")));
        assert!(!has_natura(&t("standard")));
    }

    #[test]
    fn both_rounding_methods_are_accepted() {
        let tax = |r: &str, t: &str| LineTax {
            name: None,
            rate: r.parse().unwrap(),
            category: None,
            taxable_amount: None,
            tax_amount: t.parse().unwrap(),
        };
        let g = |s: &str| s.parse::<Decimal>().unwrap();
        // 10.00 gross at 19 %: 1.60 from the gross; net 8.40 × 0.19 = 1.596 → 1.60.
        assert_eq!(
            line_tax(g("10.00"), &tax("0.19", "1.60"), 2, Decimal::ZERO),
            None
        );
        assert!(line_tax(g("10.00"), &tax("0.19", "1.61"), 2, Decimal::ZERO).is_some());
        // 0.05 gross at 19 %: 0.00798 → 0.01 from the gross; net-based with tax 0.00: 0.05 × 0.19 = 0.0095 → 0.01, so 0.00 is wrong both ways.
        assert!(line_tax(g("0.05"), &tax("0.19", "0.00"), 2, Decimal::ZERO).is_some());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn rate() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            Just("0.19"),
            Just("0.07"),
            Just("0.20"),
            Just("0.10"),
            Just("0.13"),
            Just("0.22"),
            Just("0.05"),
            Just("0.04")
        ]
        .prop_map(|s| s.parse::<Decimal>().unwrap())
    }

    fn tax(rate: Decimal, amount: Decimal) -> LineTax {
        LineTax {
            name: None,
            rate,
            category: None,
            taxable_amount: None,
            tax_amount: amount,
        }
    }

    proptest! {
        /// Whatever the gross, a tax computed by either accepted method passes VAT001.
        #[test]
        fn either_rounding_method_passes(cents in -1_000_000i64..1_000_000, r in rate()) {
            let gross = Decimal::new(cents, 2);
            let from_gross = tax_in_gross(gross, r, 2).unwrap();
            prop_assert_eq!(line_tax(gross, &tax(r, from_gross), 2, Decimal::ZERO), None);
        }

        /// One cent more than the tax from the gross is caught unless the net method happens
        /// to produce exactly that value.
        #[test]
        fn a_cent_off_both_methods_is_caught(cents in 1i64..1_000_000, r in rate()) {
            let gross = Decimal::new(cents, 2);
            let wrong = tax_in_gross(gross, r, 2).unwrap() + Decimal::new(1, 2);
            let by_net = mul_round(gross - wrong, r, 2).unwrap();
            let verdict = line_tax(gross, &tax(r, wrong), 2, Decimal::ZERO);
            prop_assert_eq!(verdict.is_none(), by_net == wrong);
        }
    }
}
