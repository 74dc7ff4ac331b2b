//! Receipt arithmetic shared by both wire shapes: lines, discounts, VAT, totals, payments.
//!
//! All amounts are integer cents (EUR); every VAT amount goes through
//! [`round_commercial`] (half away from zero), the one rounding rule of the crate. The
//! identities the validator checks (docs/synth.md) hold by construction here, so the wire
//! writers only copy numbers and never compute.

use rust_decimal::Decimal;

use super::catalog::Rate;
use crate::model::money::round_commercial;

/// What a line is, beyond an ordinary supply of goods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Goods or a service.
    Item,
    /// Returnable-bottle deposit (Pfand), at the rate of its drink; register flag `deposit`.
    Pfand,
    /// Multi-purpose voucher sold (0 %, not a supply); register flag `gift_card`.
    GiftCard,
    /// Tip for the staff (0 %); register flag `tip`.
    Tip,
    /// Down payment (Anzahlung) on a special order, at the rate of the future supply.
    DepositOrder,
    /// Offsets an earlier down payment at collection (quantity −1).
    DepositRedeem,
}

/// A discount on one line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineDiscount {
    /// Receipt label.
    pub label: &'static str,
    /// `manual`, `promotion`, `employee`.
    pub source: &'static str,
    /// Percentage rate as a decimal string, or `None` for a fixed amount.
    pub rate: Option<&'static str>,
    /// The discount in cents (positive).
    pub amount: i64,
}

/// One receipt line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    /// What the line is.
    pub kind: LineKind,
    /// Receipt text.
    pub name: &'static str,
    /// Article number.
    pub sku: &'static str,
    /// Index into the country's products, or `u16::MAX` for lines without a product.
    pub product: u16,
    /// Quantity (negative only for `DepositRedeem` and for returned lines of a v1.1 exchange).
    pub qty: i64,
    /// Gross unit price in cents.
    pub unit: i64,
    /// The VAT rate.
    pub rate: &'static Rate,
    /// Gift card number for `GiftCard` lines (0 otherwise).
    pub gift_card: u64,
    /// Optional line discount (register shape only).
    pub discount: Option<LineDiscount>,
    /// Share of the cart discount, in cents.
    pub cart_alloc: i64,
    /// `qty × unit`.
    pub subtotal: i64,
    /// `subtotal − line discount`.
    pub after_line: i64,
    /// `after_line − cart_alloc`: the gross the VAT is computed on.
    pub total: i64,
    /// VAT contained in `total`.
    pub tax: i64,
}

impl Line {
    /// A line before its amounts are computed.
    pub(crate) fn new(
        kind: LineKind,
        name: &'static str,
        sku: &'static str,
        product: u16,
        qty: i64,
        unit: i64,
        rate: &'static Rate,
    ) -> Line {
        Line {
            kind,
            name,
            sku,
            product,
            qty,
            unit,
            rate,
            gift_card: 0,
            discount: None,
            cart_alloc: 0,
            subtotal: 0,
            after_line: 0,
            total: 0,
            tax: 0,
        }
    }

    /// Net amount (`total − tax`).
    pub(crate) fn net(&self) -> i64 {
        self.total - self.tax
    }

    /// The line discount in cents (0 when none).
    pub(crate) fn discount_amount(&self) -> i64 {
        self.discount.map_or(0, |d| d.amount)
    }

    /// Computes subtotal, totals and VAT from quantity, price and discounts.
    pub(crate) fn compute(&mut self, vat: &mut VatCache) {
        self.subtotal = self.qty * self.unit;
        self.after_line = self.subtotal - self.discount_amount();
        self.total = self.after_line - self.cart_alloc;
        self.tax = vat.get(self.total, self.rate);
    }

    /// Whether a cart discount may be spread onto this line (goods only: a voucher, a tip or
    /// a bottle deposit is never discounted).
    pub(crate) fn takes_cart_discount(&self) -> bool {
        self.kind == LineKind::Item
    }
}

/// The VAT contained in a gross amount: `round_commercial(gross × rate / (1 + rate), 2)`.
///
/// Computed exactly in `Decimal`: at 20 % and 4 % a gross amount can contain exactly half a
/// cent of VAT (3 cents × 0.20 / 1.20 = 0.005), and only the exact quotient rounds that half
/// away from zero as the rule requires.
pub(crate) fn vat_included(gross: i64, rate: &Rate) -> i64 {
    if rate.percent == 0 || gross == 0 {
        return 0;
    }
    let r = Decimal::new(i64::from(rate.percent), 2);
    let tax = round_commercial(Decimal::new(gross, 2) * r / (Decimal::ONE + r), 2);
    to_cents(tax)
}

/// Remembers recent results of [`vat_included`]: gross amounts repeat constantly (the catalog
/// has a few dozen prices), and the exact decimal division is the costliest step of a line.
pub(crate) struct VatCache {
    slots: Vec<(i64, u32, i64)>,
}

impl VatCache {
    const BITS: u32 = 12;

    /// An empty cache.
    pub(crate) fn new() -> VatCache {
        VatCache {
            slots: vec![(i64::MIN, 0, 0); 1 << Self::BITS],
        }
    }

    /// `vat_included(gross, rate)`.
    pub(crate) fn get(&mut self, gross: i64, rate: &Rate) -> i64 {
        if rate.percent == 0 || gross == 0 {
            return 0;
        }
        let h =
            (gross as u64 ^ (u64::from(rate.percent) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.slots[(h >> (64 - Self::BITS)) as usize];
        if slot.0 == gross && slot.1 == rate.percent {
            return slot.2;
        }
        let tax = vat_included(gross, rate);
        *slot = (gross, rate.percent, tax);
        tax
    }
}

/// A decimal with at most two fraction digits as integer cents.
pub(crate) fn to_cents(mut d: Decimal) -> i64 {
    d.rescale(2);
    i64::try_from(d.mantissa()).expect("amounts stay far below i64::MAX cents")
}

/// `round_commercial(cents × rate)` for a percentage given in whole percent.
pub(crate) fn percent_of(cents: i64, percent: i64) -> i64 {
    to_cents(round_commercial(
        Decimal::new(cents, 2) * Decimal::new(percent, 2),
        2,
    ))
}

/// A discount on the whole cart, spread over the goods lines.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CartDiscount {
    /// Receipt label.
    pub label: &'static str,
    /// Coupon code, if any.
    pub code: Option<&'static str>,
    /// `coupon`, `loyalty`, `manual`.
    pub source: &'static str,
    /// Percentage rate as a decimal string, or `None` for a fixed amount.
    pub rate: Option<&'static str>,
    /// The discount in cents (positive).
    pub amount: i64,
}

/// Spreads `amount` over the lines that take cart discounts, proportionally to their
/// amount after line discounts (largest-remainder method).
///
/// Each line gets `floor(amount × base_i / Σ base)`; the cents still missing go, one each, to
/// the lines with the largest remainders, ties to the earlier line. The shares therefore sum
/// to `amount` exactly and no line gets more than its base when `amount ≤ Σ base`.
pub(crate) fn allocate_cart_discount(lines: &mut [Line], amount: i64) {
    let base: i128 = lines
        .iter()
        .filter(|l| l.takes_cart_discount())
        .map(|l| i128::from(l.qty * l.unit - l.discount_amount()))
        .sum();
    for l in lines.iter_mut() {
        l.cart_alloc = 0;
    }
    if amount == 0 || base == 0 {
        return;
    }
    assert!(lines.len() <= 16, "carts have at most 16 lines");
    let mut rems = [0i128; 16];
    let mut given = 0i64;
    for (i, l) in lines.iter_mut().enumerate() {
        if !l.takes_cart_discount() {
            rems[i] = -1;
            continue;
        }
        let b = i128::from(l.qty * l.unit - l.discount_amount());
        let num = i128::from(amount) * b;
        l.cart_alloc = (num / base) as i64;
        rems[i] = num % base;
        given += l.cart_alloc;
    }
    for _ in 0..(amount - given) {
        let mut best = usize::MAX;
        for i in 0..lines.len() {
            if rems[i] >= 0 && (best == usize::MAX || rems[i] > rems[best]) {
                best = i;
            }
        }
        lines[best].cart_alloc += 1;
        // Each line receives at most one extra cent.
        rems[best] = -1;
    }
}

/// One row of the VAT breakdown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Breakdown {
    /// The rate (its wire string and category form the key).
    pub rate: &'static Rate,
    /// Σ net.
    pub taxable: i64,
    /// Σ VAT.
    pub tax: i64,
    /// Σ gross.
    pub gross: i64,
}

/// Receipt totals, each the signed sum over the lines (returned lines of an exchange count
/// negative).
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    /// Σ `qty × unit`.
    pub subtotal: i64,
    /// Σ line discounts.
    pub line_discounts: i64,
    /// Σ after line discounts.
    pub after_line: i64,
    /// Σ cart discount shares.
    pub cart_discounts: i64,
    /// `after_line − cart_discounts`.
    pub after_all: i64,
    /// Σ line totals (= `after_all`).
    pub gross: i64,
    /// Σ line VAT.
    pub tax: i64,
    /// Σ line net.
    pub net: i64,
    /// Per (rate, category), sorted by rate descending, then category.
    pub breakdown: Vec<Breakdown>,
    /// What the customer pays (negative: is paid out); `gross` (+ tip in the v1.1 shape).
    pub payable: i64,
}

impl Totals {
    /// Sums `lines` (sign +1) and `returned` (sign −1).
    pub(crate) fn compute(&mut self, lines: &[Line], returned: &[Line]) {
        *self = Totals {
            breakdown: std::mem::take(&mut self.breakdown),
            ..Totals::default()
        };
        self.breakdown.clear();
        for (sign, set) in [(1i64, lines), (-1i64, returned)] {
            for l in set {
                self.subtotal += sign * l.subtotal;
                self.line_discounts += sign * l.discount_amount();
                self.after_line += sign * l.after_line;
                self.cart_discounts += sign * l.cart_alloc;
                self.gross += sign * l.total;
                self.tax += sign * l.tax;
                self.net += sign * l.net();
                match self
                    .breakdown
                    .iter_mut()
                    .find(|b| b.rate.wire == l.rate.wire && b.rate.category == l.rate.category)
                {
                    Some(b) => {
                        b.taxable += sign * l.net();
                        b.tax += sign * l.tax;
                        b.gross += sign * l.total;
                    }
                    None => self.breakdown.push(Breakdown {
                        rate: l.rate,
                        taxable: sign * l.net(),
                        tax: sign * l.tax,
                        gross: sign * l.total,
                    }),
                }
            }
        }
        self.after_all = self.after_line - self.cart_discounts;
        self.payable = self.gross;
        self.breakdown.sort_by(|a, b| {
            b.rate
                .percent
                .cmp(&a.rate.percent)
                .then_with(|| a.rate.category.cmp(b.rate.category))
        });
    }
}

/// How a payment was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Cash, EUR or foreign.
    Cash,
    /// Debit or credit card.
    Card,
    /// Mobile wallet.
    Wallet,
    /// Redemption of a multi-purpose gift card.
    GiftCard,
}

impl Method {
    /// The wire name (both shapes).
    pub(crate) fn wire(self) -> &'static str {
        match self {
            Method::Cash => "cash",
            Method::Card => "card",
            Method::Wallet => "wallet",
            Method::GiftCard => "gift_card",
        }
    }
}

/// EUR per CHF for foreign-cash payments (fixed; the generator models no exchange-rate
/// history).
pub(crate) const CHF_EUR_RATE_PERMYRIAD: i64 = 10_650;

/// EUR cents for `chf` CHF cents at the fixed rate, rounded commercially.
pub(crate) fn chf_to_eur(chf: i64) -> i64 {
    to_cents(round_commercial(
        Decimal::new(chf, 2) * Decimal::new(CHF_EUR_RATE_PERMYRIAD, 4),
        2,
    ))
}

/// One payment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pay {
    /// Method.
    pub method: Method,
    /// Amount in EUR cents, always positive; `outbound` gives the direction.
    pub amount: i64,
    /// Money out of the shop (refunds).
    pub outbound: bool,
    /// Cash handed over, in the payment currency's cents (0 for non-cash).
    pub tendered: i64,
    /// Foreign (CHF) cash.
    pub foreign: bool,
    /// Card or wallet scheme.
    pub scheme: &'static str,
    /// Last four digits of card or gift card.
    pub last4: u16,
    /// Authorization code.
    pub auth: u32,
    /// Redeemed gift card number (0 otherwise).
    pub gift_card: u64,
}

impl Pay {
    /// A payment with only method, amount and direction set.
    pub(crate) fn new(method: Method, amount: i64, outbound: bool) -> Pay {
        Pay {
            method,
            amount,
            outbound,
            tendered: 0,
            foreign: false,
            scheme: "",
            last4: 0,
            auth: 0,
            gift_card: 0,
        }
    }

    /// Signed amount: positive in, negative out.
    pub(crate) fn signed(&self) -> i64 {
        if self.outbound {
            -self.amount
        } else {
            self.amount
        }
    }
}

/// Payments summarised for DSFinV-K processData: cash EUR, cash CHF, non-cash EUR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PaySummary {
    /// Σ EUR cash (signed). Change returned for foreign cash counts here, negative.
    pub bar_eur: i64,
    /// Σ CHF cash tendered (signed, CHF cents).
    pub bar_chf: i64,
    /// Σ everything that is not cash (signed).
    pub unbar: i64,
}

impl PaySummary {
    /// Summarises `pays`.
    pub(crate) fn of(pays: &[Pay]) -> PaySummary {
        let mut s = PaySummary::default();
        for p in pays {
            let sign = if p.outbound { -1 } else { 1 };
            match (p.method, p.foreign) {
                (Method::Cash, false) => s.bar_eur += p.signed(),
                (Method::Cash, true) => {
                    // The customer hands over CHF and gets the change in EUR.
                    s.bar_chf += sign * p.tendered;
                    s.bar_eur -= sign * (chf_to_eur(p.tendered) - p.amount);
                }
                _ => s.unbar += p.signed(),
            }
        }
        s
    }

    /// The summary with every amount negated (a void reverses its sale).
    pub(crate) fn negated(self) -> PaySummary {
        PaySummary {
            bar_eur: -self.bar_eur,
            bar_chf: -self.bar_chf,
            unbar: -self.unbar,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::catalog::Country;

    fn rate(c: Country, percent: u32) -> &'static Rate {
        c.data()
            .rates
            .iter()
            .find(|r| r.percent == percent)
            .unwrap()
    }

    #[test]
    fn vat_rounds_exact_halves_away_from_zero() {
        // 0.03 × 0.20 / 1.20 = 0.005 exactly.
        assert_eq!(vat_included(3, rate(Country::At, 20)), 1);
        assert_eq!(vat_included(-3, rate(Country::At, 20)), -1);
        // 0.13 × 0.04 / 1.04 = 0.005 exactly.
        assert_eq!(vat_included(13, rate(Country::It, 4)), 1);
        assert_eq!(vat_included(2916, rate(Country::De, 19)), 466);
        assert_eq!(vat_included(2916, rate(Country::De, 0)), 0);
        assert_eq!(vat_included(3240, rate(Country::De, 7)), 212);
    }

    #[test]
    fn vat_cache_agrees_with_direct_computation() {
        let mut vat = VatCache::new();
        for c in [Country::De, Country::At, Country::It] {
            for r in c.data().rates {
                for g in (-5000..5000).step_by(7) {
                    assert_eq!(vat.get(g, r), vat_included(g, r));
                    assert_eq!(vat.get(g, r), vat_included(g, r));
                }
            }
        }
    }

    #[test]
    fn cart_discount_allocation_sums_exactly() {
        let r = rate(Country::De, 19);
        let mut lines = [
            Line::new(LineKind::Item, "a", "a", 0, 1, 333, r),
            Line::new(LineKind::Pfand, "p", "p", 0, 1, 25, r),
            Line::new(LineKind::Item, "b", "b", 0, 3, 111, r),
            Line::new(LineKind::Item, "c", "c", 0, 1, 1, r),
        ];
        allocate_cart_discount(&mut lines, 100);
        let s: i64 = lines.iter().map(|l| l.cart_alloc).sum();
        assert_eq!(s, 100);
        assert_eq!(lines[1].cart_alloc, 0, "deposits are not discounted");
        // 100 × 333/667 = 49.93 → 49 (+1), 100 × 333/667 → 49 (+1 tie goes to the earlier), 100 × 1/667 → 0
        assert_eq!(
            [
                lines[0].cart_alloc,
                lines[2].cart_alloc,
                lines[3].cart_alloc
            ],
            [50, 50, 0]
        );
    }

    #[test]
    fn totals_sum_lines_and_sort_breakdown() {
        let mut lines = vec![
            Line::new(LineKind::Item, "a", "a", 0, 2, 119, rate(Country::De, 7)),
            Line::new(LineKind::Item, "b", "b", 0, 1, 595, rate(Country::De, 19)),
        ];
        let mut vat = VatCache::new();
        for l in &mut lines {
            l.compute(&mut vat);
        }
        let mut t = Totals::default();
        t.compute(&lines, &[]);
        assert_eq!(t.gross, 833);
        assert_eq!(t.tax, lines[0].tax + lines[1].tax);
        assert_eq!(t.breakdown[0].rate.percent, 19);
        assert_eq!(t.net + t.tax, t.gross);
    }

    #[test]
    fn foreign_cash_change_is_negative_eur_cash() {
        let mut p = Pay::new(Method::Cash, 2340, false);
        p.foreign = true;
        p.tendered = 3000;
        let s = PaySummary::of(&[p]);
        assert_eq!(s.bar_chf, 3000);
        // 30 CHF = 31.95 EUR; change 8.55 EUR.
        assert_eq!(s.bar_eur, -855);
    }
}
