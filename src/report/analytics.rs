//! Audit analytics: the single-pass aggregation behind the audit report (issue 9).
//!
//! [`Analytics`] takes the canonical operation stream one operation at a time
//! ([`Analytics::push`]) and keeps only aggregates: per register, per business day, per key
//! (VAT rate, payment method, cashier, hour, weekday, sequence range). Memory is bounded by
//! registers × days × keys, never by the number of operations, and two accumulators built over
//! disjoint parts of the stream (registers counted in parallel) combine with
//! [`Analytics::merge`] into what one pass over the whole stream gives. Every map is sorted
//! (a `BTreeMap`, or per day a [`KeyedSums`]), so the serialised form is deterministic.
//!
//! # What is counted where
//!
//! - **Business day and hour.** An operation counts for its effective timestamp
//!   (`Timestamps::effective`: completion, else start, else creation), read in the offset the
//!   source wrote it with: its local date, hour and weekday are those of the wall clock at the
//!   register as the source stated it. No time-zone database is consulted, so the same input
//!   always lands in the same day; a source that writes UTC (`Z`) is bucketed in UTC. An
//!   operation without any timestamp counts under the day [`UNDATED`].
//! - **Register.** `register_id`, or [`NO_REGISTER`] for operations without one (online).
//! - **Revenue** is the completed goods movements: sales, exchanges, deposits and deposit
//!   captures count positive, returns negative. Training operations are not fiscally relevant
//!   and are left out. Signs follow the RT exporter (`export::rt`): every line of a return is
//!   goods back; in any other operation a line is goods back when its role is `returned` or its
//!   gross is negative (v1.1 writes returned lines with negative amounts). Goods out count
//!   `+|amount|`, goods back `−|amount|`.
//! - **Voids.** A `void` operation cancels an earlier one, and a goods movement in state
//!   `voided` was annulled after the fact: both count as a void (Storno), with the cancelled
//!   gross, and neither adds to revenue. Whether the original of a `void` operation is still in
//!   revenue depends on the source; keeping every original to subtract it would need memory per
//!   operation, so revenue is what was completed and the voids are reported beside it.
//!   Operations in state `cancelled` were abandoned before completion (Abbruch) and are
//!   counted on their own.
//!
//! Amounts are `Decimal` throughout; only the Storno rate, a statistic, is a float.

use std::collections::BTreeMap;

use chrono::{Datelike, Timelike};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::model::keyed::KeyedSums;
use crate::model::templog::JsonLines;

use super::benford::Benford;
use crate::model::money::round_commercial;
use crate::model::{
    Direction, LifecycleState, Line, LineKind, LineRole, Operation, OperationKind, PaymentMethod,
};

/// The day key of operations without any timestamp.
pub const UNDATED: &str = "undated";
/// The register key of operations without a register.
pub const NO_REGISTER: &str = "-";
/// The cashier key of operations without a cashier.
pub const NO_CASHIER: &str = "-";
/// The VAT key of lines without any tax entry.
pub const UNTAXED: &str = "untaxed";
/// The VAT key of tips stated beside the lines (outside the scope of VAT).
pub const TIP: &str = "tip";

/// Everything the audit report aggregates, per register.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analytics {
    /// Per register id ([`NO_REGISTER`] for operations without one).
    pub registers: BTreeMap<String, RegisterAnalytics>,
    /// Operations left out because an amount is beyond [`AMOUNT_LIMIT`] (no till records
    /// such sums; they are the validator's to report).
    pub out_of_range: u64,
}

/// The largest amount, in absolute value, that is aggregated: 10^18. Sums of amounts this
/// large over more operations than any history holds stay far below what a `Decimal` holds
/// (about 7.9 × 10^28), so no sum can overflow.
pub const AMOUNT_LIMIT: Decimal = Decimal::from_parts(0xA764_0000, 0x0DE0_B6B3, 0, false, 0);

/// Whether every amount of `op` is within [`AMOUNT_LIMIT`].
fn in_range(op: &Operation) -> bool {
    let ok = |d: &Decimal| d.abs() <= AMOUNT_LIMIT;
    op.totals
        .as_ref()
        .is_none_or(|t| ok(&t.gross) && ok(&t.net) && ok(&t.tax))
        && op.tip.as_ref().is_none_or(ok)
        && op.lines.iter().all(|l| {
            ok(&l.total_gross)
                && ok(&l.quantity)
                && ok(&l.unit_price)
                && l.total_net.as_ref().is_none_or(ok)
                && l.taxes.iter().all(|x| ok(&x.tax_amount))
        })
        && op.payments.iter().all(|p| ok(&p.amount))
        && op.cart_discounts.iter().all(|c| ok(&c.amount))
}

/// One register's aggregates.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterAnalytics {
    /// Per business day (`YYYY-MM-DD`, local to the timestamp's offset, or [`UNDATED`]).
    pub days: BTreeMap<String, DayAnalytics>,
    /// Storno-Quote per Bediener: per cashier id, that cashier's sales, returns and voids.
    /// A cashier who voids or refunds far more often than colleagues at the same register is
    /// the classic pattern of takings removed after the customer has paid (sale rung up,
    /// cash taken, receipt voided), which auditors check in every Kassennachschau.
    pub cashiers: BTreeMap<String, CashierCounts>,
    /// Zeitreihenvergleich: completed sales per hour of day (0–23, local to the timestamp's
    /// offset). Auditors compare the time profile with opening hours and with other periods;
    /// sales outside opening hours, or hours that go quiet on some days only, point to
    /// unrecorded or deleted takings.
    pub sales_by_hour: BTreeMap<u8, SalesBucket>,
    /// Zeitreihenvergleich by weekday: completed sales per ISO weekday (1 = Monday … 7 =
    /// Sunday, local to the timestamp's offset). A weekday whose takings fall out of line with
    /// the others (a closing day with sales, a busy Saturday with few) is a reason to ask.
    pub sales_by_weekday: BTreeMap<u8, SalesBucket>,
    /// Runde Beträge: how many completed sales' stated totals are round. Takings invented
    /// after the fact are disproportionately round amounts.
    pub round_amounts: RoundAmounts,
    /// Belegnummernlücken: the register's sequence numbers seen, as ranges, with the gaps
    /// between them. Every receipt must be recorded (§ 146 AO, Einzelaufzeichnungspflicht); a
    /// missing number is a receipt that is not in the data.
    pub sequence: SequenceRanges,
    /// Benford first-digit tests over completed sales' stated gross totals (the receipt
    /// amounts the Summarische Risikoprüfung tests).
    pub benford_receipts: Benford,
    /// Benford tests over completed sales' line gross amounts.
    pub benford_lines: Benford,
}

/// One business day of one register.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayAnalytics {
    /// Revenue per VAT rate (the rate as a fraction, e.g. `0.19`; [`UNTAXED`] for lines
    /// without a tax entry; [`TIP`] for tips stated beside the lines), from the lines of
    /// completed goods movements, signed (returns negative), after cart discounts the source
    /// did not allocate to lines (see `Operation::cart_discount_shares`). This is the split the VAT return and the
    /// Z-report must agree with.
    pub revenue_by_rate: KeyedSums<VatAmounts>,
    /// The same revenue from the operations' stated totals (gross), signed. A difference from
    /// the sum over `revenue_by_rate` (a cash rounding adjustment, or totals that do not add
    /// up) is itself worth a look.
    pub gross_stated: Decimal,
    /// Payments per method (`cash`, `card`, …, `other:<name>`) of completed operations, in and
    /// out. The cash share is what the cash book (Kassenbuch) must reconcile with; a shift
    /// between methods is a Zeitreihen signal too.
    pub payments: KeyedSums<PaymentTotals>,
    /// Completed sales (kind `sale`), count and stated gross.
    pub sales: Counted,
    /// Completed returns: count and stated gross (positive, as stated). Returns without a
    /// customer are a known way to take cash out of the drawer.
    pub returns: Counted,
    /// Voids (Storni): `void` operations and goods movements in state `voided`, with the
    /// cancelled gross. A high Storno volume relative to sales is a central audit signal.
    pub voids: Counted,
    /// Goods movements abandoned before completion (state `cancelled`, Abbruch): receipts that
    /// were rung up and never finished; in bulk they can hide sales.
    pub cancelled: Counted,
}

/// Gross, net and tax of one VAT rate.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatAmounts {
    /// Gross.
    pub gross: Decimal,
    /// Net (the line's stated net, else gross minus tax).
    pub net: Decimal,
    /// Tax.
    pub tax: Decimal,
}

impl VatAmounts {
    /// Adds another rate's amounts.
    pub fn add(&mut self, other: &VatAmounts) {
        self.gross += other.gross;
        self.net += other.net;
        self.tax += other.tax;
    }
}

/// Payments of one method.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTotals {
    /// Number of payments in.
    pub n_in: u64,
    /// Amount in.
    pub amount_in: Decimal,
    /// Number of payments out.
    pub n_out: u64,
    /// Amount out.
    pub amount_out: Decimal,
}

/// A count with its gross.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// Number of operations.
    pub count: u64,
    /// Their gross, as stated.
    pub gross: Decimal,
}

impl Counted {
    fn add(&mut self, gross: Decimal) {
        self.count += 1;
        self.gross += gross;
    }

    /// Adds another count.
    pub fn merge(&mut self, other: &Counted) {
        self.count += other.count;
        self.gross += other.gross;
    }
}

/// Completed sales in one hour or weekday bucket.
pub type SalesBucket = Counted;

/// One cashier's operations at one register. (Read back, the serialised `storno_rate` is
/// ignored: it follows from the counts.)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CashierCounts {
    /// Completed sales.
    pub sales: u64,
    /// Completed returns.
    pub returns: u64,
    /// Voids (see [`DayAnalytics::voids`]).
    pub voids: u64,
    /// Abandoned operations (state `cancelled`).
    pub cancelled: u64,
}

impl CashierCounts {
    /// The Storno rate: voids plus returns per completed sale; `None` without sales.
    pub fn storno_rate(&self) -> Option<f64> {
        (self.sales > 0).then(|| (self.voids + self.returns) as f64 / self.sales as f64)
    }
}

impl Serialize for CashierCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out {
            sales: u64,
            returns: u64,
            voids: u64,
            cancelled: u64,
            storno_rate: Option<f64>,
        }
        Out {
            sales: self.sales,
            returns: self.returns,
            voids: self.voids,
            cancelled: self.cancelled,
            storno_rate: self.storno_rate(),
        }
        .serialize(s)
    }
}

/// Round receipt totals among completed sales.
///
/// Over `|stated gross|` of each completed sale: `n_zero` counts totals of zero (left out of
/// the rest); `whole` counts the non-zero totals without a fractional part (whole euros, or
/// whole units of the currency); `multiple_of_5` those whole totals divisible by 5, and
/// `multiple_of_10` those divisible by 10. The classes nest: `multiple_of_10 ≤ multiple_of_5 ≤
/// whole ≤ n_receipts − n_zero`. Uniformly spread cents make about 1 % of totals whole.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundAmounts {
    /// Completed sales seen (with stated totals).
    pub n_receipts: u64,
    /// Totals of zero.
    pub n_zero: u64,
    /// Non-zero whole totals.
    pub whole: u64,
    /// Whole totals divisible by 5.
    pub multiple_of_5: u64,
    /// Whole totals divisible by 10.
    pub multiple_of_10: u64,
}

impl RoundAmounts {
    fn add(&mut self, total: Decimal) {
        let total = total.abs();
        self.n_receipts += 1;
        if total.is_zero() {
            self.n_zero += 1;
            return;
        }
        if !total.fract().is_zero() {
            return;
        }
        self.whole += 1;
        if (total % Decimal::from(5)).is_zero() {
            self.multiple_of_5 += 1;
        }
        if (total % Decimal::TEN).is_zero() {
            self.multiple_of_10 += 1;
        }
    }

    /// Adds another register's classes.
    pub fn merge(&mut self, o: &RoundAmounts) {
        self.n_receipts += o.n_receipts;
        self.n_zero += o.n_zero;
        self.whole += o.whole;
        self.multiple_of_5 += o.multiple_of_5;
        self.multiple_of_10 += o.multiple_of_10;
    }
}

/// A compact set of sequence numbers: disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SequenceRanges {
    /// Start → end (inclusive); no two ranges overlap or touch.
    ranges: BTreeMap<u64, u64>,
    /// Numbers seen more than once.
    n_duplicates: u64,
}

impl SequenceRanges {
    /// Adds `n`.
    pub fn insert(&mut self, n: u64) {
        self.insert_range(n, n);
    }

    /// Adds every number in `start..=end`, counting those already present as duplicates.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        let (mut lo, mut hi) = (start, end);
        // Ranges that overlap or touch [start, end]: starting at most end + 1 and ending at
        // least start − 1.
        let touching: Vec<(u64, u64)> = self
            .ranges
            .range(..=end.saturating_add(1))
            .rev()
            .take_while(|(_, e)| **e >= start.saturating_sub(1))
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in touching {
            let overlap_lo = s.max(start);
            let overlap_hi = e.min(end);
            if overlap_lo <= overlap_hi {
                self.n_duplicates += overlap_hi - overlap_lo + 1;
            }
            lo = lo.min(s);
            hi = hi.max(e);
            self.ranges.remove(&s);
        }
        self.ranges.insert(lo, hi);
    }

    /// The ranges seen, ascending.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.ranges.iter().map(|(s, e)| (*s, *e)).collect()
    }

    /// The missing ranges between the first and the last number seen, ascending.
    pub fn gaps(&self) -> Vec<(u64, u64)> {
        self.ranges
            .iter()
            .zip(self.ranges.iter().skip(1))
            .map(|((_, e), (s, _))| (e + 1, s - 1))
            .collect()
    }

    /// Numbers missing between the first and the last seen.
    pub fn n_missing(&self) -> u64 {
        self.gaps().iter().map(|(s, e)| e - s + 1).sum()
    }

    /// Numbers seen more than once (each extra sighting counts).
    pub fn n_duplicates(&self) -> u64 {
        self.n_duplicates
    }

    /// Adds the numbers `other` saw and its duplicates, without counting those seen on both
    /// sides as more.
    pub fn union(&mut self, other: &SequenceRanges) {
        let n_duplicates = self.n_duplicates + other.n_duplicates;
        for (s, e) in &other.ranges {
            self.insert_range(*s, *e);
        }
        self.n_duplicates = n_duplicates;
    }

    /// Adds the numbers `other` saw, counting those seen on both sides as duplicates: the
    /// result equals having inserted all of them here.
    pub fn merge(&mut self, other: &SequenceRanges) {
        for (s, e) in &other.ranges {
            self.insert_range(*s, *e);
        }
        self.n_duplicates += other.n_duplicates;
    }
}

impl Serialize for SequenceRanges {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out {
            ranges: Vec<(u64, u64)>,
            gaps: Vec<(u64, u64)>,
            n_missing: u64,
            n_duplicates: u64,
        }
        Out {
            ranges: self.ranges(),
            gaps: self.gaps(),
            n_missing: self.n_missing(),
            n_duplicates: self.n_duplicates,
        }
        .serialize(s)
    }
}

/// Reads back what `serialize` wrote: the ranges and the duplicates (gaps and the number
/// missing follow from the ranges). Ranges that are not ascending, disjoint and apart are
/// refused, since the gaps between them would be nonsense.
impl<'de> Deserialize<'de> for SequenceRanges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct In {
            ranges: Vec<(u64, u64)>,
            n_duplicates: u64,
        }
        let i = In::deserialize(d)?;
        let apart = i
            .ranges
            .windows(2)
            .all(|w| w[0].1 < w[1].0.saturating_sub(1));
        if !apart || i.ranges.iter().any(|(s, e)| s > e) {
            return Err(serde::de::Error::custom(
                "sequence ranges must be ascending, disjoint and not adjacent",
            ));
        }
        Ok(SequenceRanges {
            ranges: i.ranges.into_iter().collect(),
            n_duplicates: i.n_duplicates,
        })
    }
}

/// How an operation counts for revenue: `Some(+1)` goods out, `Some(-1)` a return, `None` not
/// revenue.
fn revenue_sign(kind: OperationKind) -> Option<Decimal> {
    match kind {
        OperationKind::Sale
        | OperationKind::Exchange
        | OperationKind::Deposit
        | OperationKind::DepositCapture => Some(Decimal::ONE),
        OperationKind::Return => Some(Decimal::NEGATIVE_ONE),
        _ => None,
    }
}

/// The VAT key of a line: its (first) tax rate as a normalised fraction.
fn rate_key(line: &Line) -> String {
    match line.taxes.first() {
        Some(t) => t.rate.normalize().to_string(),
        None => UNTAXED.to_string(),
    }
}

/// A line's amounts after `share` of the cart discounts, signed as goods out (+) or goods
/// back (−). When a share applies, the tax shrinks in proportion (rounded half away from zero
/// to the cent) and the net is gross minus tax.
fn line_amounts(op: &Operation, line: &Line, share: Decimal) -> VatAmounts {
    let back = op.kind == OperationKind::Return
        || line.role == LineRole::Returned
        || line.total_gross.is_sign_negative();
    let sign = if back {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    };
    let stated_tax: Decimal = line.taxes.iter().map(|t| t.tax_amount.abs()).sum();
    let stated_gross = line.total_gross.abs();
    let (gross, net, tax) = if share.is_zero() || stated_gross.is_zero() {
        let net = line
            .total_net
            .map_or(stated_gross - stated_tax, |n| n.abs());
        (stated_gross, net, stated_tax)
    } else {
        let gross = stated_gross - share;
        let tax = stated_tax
            .checked_mul(gross)
            .and_then(|t| t.checked_div(stated_gross))
            .map_or(stated_tax, |t| round_commercial(t, 2));
        (gross, gross - tax, tax)
    };
    VatAmounts {
        gross: sign * gross,
        net: sign * net,
        tax: sign * tax,
    }
}

/// The stated gross of an operation: its totals, else the sum of its lines' gross.
fn stated_gross(op: &Operation) -> Decimal {
    match &op.totals {
        Some(t) => t.gross,
        None => op.lines.iter().map(|l| l.total_gross).sum(),
    }
}

fn method_name(m: &PaymentMethod) -> String {
    // Unknown methods are prefixed so that a source's own name cannot pose as a known one.
    match m {
        PaymentMethod::Other(s) => format!("other:{s}"),
        known => known.name().to_string(),
    }
}

impl Analytics {
    /// Counts one operation. (Sums use `Decimal` arithmetic, which overflows only beyond
    /// about 7.9 × 10^28, far past any amount ingest accepts from a register.)
    /// Returns whether the operation's amounts are within [`AMOUNT_LIMIT`], so that a caller
    /// summing the same amounts need not check them again.
    pub fn push(&mut self, op: &Operation) -> bool {
        let register = op.register_id.as_deref().unwrap_or(NO_REGISTER);
        let reg = self.registers.entry(register.to_string()).or_default();
        // Every operation takes a sequence number, training and oversized ones too: leaving
        // them out would show their numbers as gaps.
        if let Some(n) = op.sequence_number {
            reg.sequence.insert(n);
        }
        let ok = in_range(op);
        if op.kind == OperationKind::Training {
            return ok;
        }
        if !ok {
            self.out_of_range += 1;
            return false;
        }
        let at = op.timestamps.effective();
        let day_key = at.map_or_else(
            || UNDATED.to_string(),
            |t| t.0.date_naive().format("%Y-%m-%d").to_string(),
        );
        let cashier = op.cashier.as_ref().map_or(NO_CASHIER, |c| c.id.as_str());
        let day = reg.days.entry(day_key).or_default();

        let is_void = op.kind == OperationKind::Void
            || (op.kind.moves_goods() && op.state == LifecycleState::Voided);
        if is_void {
            day.voids.add(stated_gross(op).abs());
            reg.cashiers.entry(cashier.to_string()).or_default().voids += 1;
            return true;
        }
        if op.state == LifecycleState::Cancelled && op.kind.moves_goods() {
            day.cancelled.add(stated_gross(op).abs());
            reg.cashiers
                .entry(cashier.to_string())
                .or_default()
                .cancelled += 1;
            return true;
        }
        if op.state != LifecycleState::Completed {
            return true;
        }
        for p in &op.payments {
            let t = day.payments.slot(&method_name(&p.method));
            match p.direction {
                Direction::In => {
                    t.n_in += 1;
                    t.amount_in += p.amount;
                }
                Direction::Out => {
                    t.n_out += 1;
                    t.amount_out += p.amount;
                }
            }
        }
        let Some(sign) = revenue_sign(op.kind) else {
            return true;
        };
        let gross = stated_gross(op);
        // A return's stated total is positive on the wire (its kind says money out); a v1.1
        // exchange states its balance with its own sign.
        day.gross_stated += if sign.is_sign_negative() {
            -gross.abs()
        } else {
            gross
        };
        for (line, share) in op.lines.iter().zip(op.cart_discount_shares()) {
            day.revenue_by_rate
                .slot(&rate_key(line))
                .add(&line_amounts(op, line, share));
        }
        // A tip stated beside the lines is outside the scope of VAT; booked under its own key
        // so that the rates add up to what the customer paid.
        if let Some(tip) = op.tip.filter(|t| !t.is_zero())
            && !op.lines.iter().any(|l| l.kind == LineKind::Tip)
        {
            let tip = sign * tip.abs();
            day.revenue_by_rate.slot(TIP).add(&VatAmounts {
                gross: tip,
                net: tip,
                tax: Decimal::ZERO,
            });
        }
        match op.kind {
            OperationKind::Sale => {
                day.sales.add(gross);
                reg.cashiers.entry(cashier.to_string()).or_default().sales += 1;
                if let Some(t) = at {
                    let local = t.0;
                    let hour = local.hour() as u8;
                    let weekday = local.weekday().number_from_monday() as u8;
                    reg.sales_by_hour.entry(hour).or_default().add(gross);
                    reg.sales_by_weekday.entry(weekday).or_default().add(gross);
                }
                reg.round_amounts.add(gross);
                reg.benford_receipts.add(gross);
                for line in &op.lines {
                    reg.benford_lines.add(line.total_gross);
                }
            }
            OperationKind::Return => {
                day.returns.add(gross);
                reg.cashiers.entry(cashier.to_string()).or_default().returns += 1;
            }
            _ => {}
        }
        true
    }

    /// Adds another accumulator (over other operations, e.g. other registers counted in
    /// parallel); the result equals one pass over both streams.
    pub fn merge(&mut self, other: Analytics) {
        self.out_of_range += other.out_of_range;
        for (id, theirs) in other.registers {
            match self.registers.get_mut(&id) {
                None => {
                    self.registers.insert(id, theirs);
                }
                Some(mine) => mine.merge(theirs),
            }
        }
    }
}

/// Days counted while a history streams by, moved out of memory ([`Analytics::park`]) until
/// the report needs them ([`Analytics::unpark`]).
///
/// A register-day's aggregates are about a kilobyte, and there is one per register and
/// business day: 200 MB at ten million operations (633 registers × 316 days), held through
/// the whole run for a report built at its end. A register's operations come mostly in time
/// order, so each register's latest day is the one still growing; the others are written as
/// JSON lines to a temporary file and added back when the report is built. A day that comes
/// again after it was parked is counted anew and the two parts are added, which gives the
/// same sums: they are exact.
#[derive(Debug)]
pub struct ParkedDays(JsonLines);

impl Default for ParkedDays {
    fn default() -> Self {
        ParkedDays(JsonLines::new("report days"))
    }
}

impl ParkedDays {
    /// Whether no day is parked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One parked day: register, day key, aggregates.
#[derive(Serialize, Deserialize)]
struct ParkedDay<R, K, D> {
    r: R,
    d: K,
    a: D,
}

impl Analytics {
    /// Register-days held in memory.
    pub fn held_days(&self) -> usize {
        self.registers.values().map(|r| r.days.len()).sum()
    }

    /// Moves every register's days but its latest to `to`.
    pub fn park(&mut self, to: &mut ParkedDays) {
        for (id, reg) in &mut self.registers {
            let Some(latest) = reg.days.pop_last() else {
                continue;
            };
            for (day, a) in std::mem::take(&mut reg.days) {
                to.0.push(&ParkedDay {
                    r: id,
                    d: &day,
                    a: &a,
                });
            }
            reg.days.insert(latest.0, latest.1);
        }
    }

    /// Adds the days parked in `from` back; `from` is empty afterwards. An error if the
    /// temporary file cannot be read back whole: the report's sums would be short.
    pub fn unpark(&mut self, from: &mut ParkedDays) -> std::io::Result<()> {
        if from.is_empty() {
            return Ok(());
        }
        std::mem::take(from)
            .0
            .read_all(&mut |p: ParkedDay<String, String, DayAnalytics>| {
                self.registers
                    .entry(p.r)
                    .or_default()
                    .days
                    .entry(p.d)
                    .or_default()
                    .merge(&p.a);
            })
    }
}

impl RegisterAnalytics {
    fn merge(&mut self, other: RegisterAnalytics) {
        for (day, theirs) in other.days {
            self.days.entry(day).or_default().merge(&theirs);
        }
        for (id, c) in other.cashiers {
            let mine = self.cashiers.entry(id).or_default();
            mine.sales += c.sales;
            mine.returns += c.returns;
            mine.voids += c.voids;
            mine.cancelled += c.cancelled;
        }
        for (h, b) in other.sales_by_hour {
            self.sales_by_hour.entry(h).or_default().merge(&b);
        }
        for (w, b) in other.sales_by_weekday {
            self.sales_by_weekday.entry(w).or_default().merge(&b);
        }
        self.round_amounts.merge(&other.round_amounts);
        self.sequence.merge(&other.sequence);
        self.benford_receipts.merge(&other.benford_receipts);
        self.benford_lines.merge(&other.benford_lines);
    }
}

impl DayAnalytics {
    /// Adds another day (or register's day) into this one.
    pub fn merge(&mut self, other: &DayAnalytics) {
        for (rate, v) in &other.revenue_by_rate {
            self.revenue_by_rate.slot(rate).add(v);
        }
        self.gross_stated += other.gross_stated;
        for (m, p) in &other.payments {
            let mine = self.payments.slot(m);
            mine.n_in += p.n_in;
            mine.amount_in += p.amount_in;
            mine.n_out += p.n_out;
            mine.amount_out += p.amount_out;
        }
        self.sales.merge(&other.sales);
        self.returns.merge(&other.returns);
        self.voids.merge(&other.voids);
        self.cancelled.merge(&other.cancelled);
    }

    /// Gross revenue of the day from the lines: the sum over all rates.
    pub fn revenue_gross(&self) -> Decimal {
        self.revenue_by_rate.values().map(|v| v.gross).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal literal")
    }

    #[test]
    fn keyed_sums_stay_sorted_and_serialise_as_the_map_they_replace() {
        let mut k = KeyedSums::<Counted>::default();
        for (key, g) in [
            ("0.19", "1.00"),
            ("0.07", "2.00"),
            ("tip", "0.50"),
            ("0.19", "3.00"),
        ] {
            k.slot(key).add(d(g));
        }
        assert_eq!(k.len(), 3);
        assert_eq!(
            k["0.19"],
            Counted {
                count: 2,
                gross: d("4.00")
            }
        );
        let keys: Vec<&String> = k.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["0.07", "0.19", "tip"]);
        let map: BTreeMap<String, Counted> = (&k).into();
        let text = serde_json::to_string(&k).unwrap();
        assert_eq!(text, serde_json::to_string(&map).unwrap());
        let back: KeyedSums<Counted> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, k);
    }

    fn line(gross: &str, rate: &str, tax: &str) -> Line {
        Line {
            id: None,
            position: None,
            kind: LineKind::Item,
            role: LineRole::Sold,
            description: "x".into(),
            sku: None,
            gift_card_id: None,
            quantity: Decimal::ONE,
            unit: None,
            unit_price: d(gross),
            subtotal: None,
            discounts: Vec::new(),
            cart_allocations: Vec::new(),
            total_gross: d(gross),
            total_net: None,
            taxes: vec![LineTax {
                name: None,
                rate: d(rate),
                category: None,
                taxable_amount: None,
                tax_amount: d(tax),
            }],
        }
    }

    fn pay(method: PaymentMethod, direction: Direction, amount: &str) -> Payment {
        Payment::new(method, direction, d(amount))
    }

    /// A completed operation on register `reg` at `at` (RFC 3339) with `lines`, stated totals
    /// from the lines, paid in cash in full (out for a return).
    fn op(id: &str, kind: OperationKind, reg: &str, at: &str, lines: Vec<Line>) -> Operation {
        let gross: Decimal = lines.iter().map(|l| l.total_gross).sum();
        let tax: Decimal = lines
            .iter()
            .flat_map(|l| &l.taxes)
            .map(|t| t.tax_amount)
            .sum();
        let direction = if kind == OperationKind::Return {
            Direction::Out
        } else {
            Direction::In
        };
        Operation {
            register_id: Some(reg.into()),
            cashier: Some(Cashier {
                id: "c1".into(),
                name: None,
            }),
            timestamps: Timestamps {
                completed: Timestamp::parse(at),
                ..Timestamps::default()
            },
            lines,
            payments: vec![Payment {
                amount: gross,
                ..pay(PaymentMethod::Cash, direction, "0")
            }],
            totals: Some(Totals {
                gross,
                net: gross - tax,
                tax,
                ..Totals::default()
            }),
            ..Operation::bare(id, kind)
        }
    }

    fn day<'a>(a: &'a Analytics, reg: &str, day: &str) -> &'a DayAnalytics {
        &a.registers[reg].days[day]
    }

    /// A small history: two sales and a return on one day, a sale on the next.
    fn history() -> Vec<Operation> {
        let mut card = op(
            "s2",
            OperationKind::Sale,
            "r1",
            "2026-03-02T18:30:00+01:00",
            vec![line("10.00", "0.19", "1.60")],
        );
        card.payments = vec![pay(PaymentMethod::Card, Direction::In, "10.00")];
        card.sequence_number = Some(2);
        let mut s1 = op(
            "s1",
            OperationKind::Sale,
            "r1",
            "2026-03-02T09:15:00+01:00",
            vec![line("11.90", "0.19", "1.90"), line("5.35", "0.07", "0.35")],
        );
        s1.sequence_number = Some(1);
        let mut ret = op(
            "ret",
            OperationKind::Return,
            "r1",
            "2026-03-02T19:00:00+01:00",
            vec![line("5.35", "0.07", "0.35")],
        );
        ret.sequence_number = Some(3);
        // 23:30 at +01:00 is 22:30 UTC: still Monday 2 March locally, hour 23.
        let mut late = op(
            "s3",
            OperationKind::Sale,
            "r1",
            "2026-03-02T23:30:00+01:00",
            vec![line("20.00", "0.19", "3.19")],
        );
        late.sequence_number = Some(6);
        // 00:30 at +01:00 on Tuesday is Monday 23:30 UTC: it counts for Tuesday.
        let mut next = op(
            "s4",
            OperationKind::Sale,
            "r1",
            "2026-03-03T00:30:00+01:00",
            vec![line("7.00", "0.07", "0.46")],
        );
        next.sequence_number = Some(7);
        vec![s1, card, ret, late, next]
    }

    fn of(ops: &[Operation]) -> Analytics {
        let mut a = Analytics::default();
        for o in ops {
            a.push(o);
        }
        a
    }

    #[test]
    fn vat_sums_per_rate_per_day_are_exact_and_a_return_subtracts() {
        let a = of(&history());
        let mon = day(&a, "r1", "2026-03-02");
        assert_eq!(
            mon.revenue_by_rate["0.19"],
            VatAmounts {
                gross: d("41.90"),
                net: d("35.21"),
                tax: d("6.69"),
            }
        );
        // 5.35 sold and 5.35 returned at 7 %.
        assert_eq!(
            mon.revenue_by_rate["0.07"],
            VatAmounts {
                gross: d("0.00"),
                net: d("0.00"),
                tax: d("0.00"),
            }
        );
        assert_eq!(mon.revenue_gross(), d("41.90"));
        assert_eq!(mon.gross_stated, d("41.90"));
        assert_eq!(
            mon.sales,
            Counted {
                count: 3,
                gross: d("47.25")
            }
        );
        assert_eq!(
            mon.returns,
            Counted {
                count: 1,
                gross: d("5.35")
            }
        );
        let tue = day(&a, "r1", "2026-03-03");
        assert_eq!(tue.revenue_by_rate.len(), 1);
        assert_eq!(tue.revenue_by_rate["0.07"].gross, d("7.00"));
        assert_eq!(tue.revenue_by_rate["0.07"].tax, d("0.46"));
    }

    #[test]
    fn returned_lines_of_an_exchange_subtract() {
        let mut back = line("5.00", "0.19", "0.80");
        back.role = LineRole::Returned;
        let ex = op(
            "ex",
            OperationKind::Exchange,
            "r1",
            "2026-03-02T10:00:00+01:00",
            vec![line("8.00", "0.19", "1.28"), back],
        );
        let a = of(&[ex]);
        let v = day(&a, "r1", "2026-03-02").revenue_by_rate["0.19"];
        assert_eq!((v.gross, v.tax), (d("3.00"), d("0.48")));
    }

    #[test]
    fn payments_are_summed_by_method_and_direction() {
        let a = of(&history());
        let p = &day(&a, "r1", "2026-03-02").payments;
        assert_eq!(
            p["cash"],
            PaymentTotals {
                n_in: 2,
                amount_in: d("37.25"),
                n_out: 1,
                amount_out: d("5.35"),
            }
        );
        assert_eq!(p["card"].n_in, 1);
        assert_eq!(p["card"].amount_in, d("10.00"));
        assert_eq!(p["card"].n_out, 0);
        assert_eq!(p.keys().collect::<Vec<_>>(), ["card", "cash"]);
    }

    #[test]
    fn sales_fall_into_local_hour_and_weekday_buckets() {
        let a = of(&history());
        let r = &a.registers["r1"];
        let hours: Vec<(u8, u64)> = r.sales_by_hour.iter().map(|(h, b)| (*h, b.count)).collect();
        assert_eq!(hours, [(0, 1), (9, 1), (18, 1), (23, 1)]);
        assert_eq!(r.sales_by_hour[&9].gross, d("17.25"));
        // Monday (1) has three sales, Tuesday (2) one; the return is not a sale.
        assert_eq!(
            r.sales_by_weekday[&1],
            Counted {
                count: 3,
                gross: d("47.25")
            }
        );
        assert_eq!(
            r.sales_by_weekday[&2],
            Counted {
                count: 1,
                gross: d("7.00")
            }
        );
        assert_eq!(r.sales_by_weekday.len(), 2);
    }

    #[test]
    fn round_totals_are_counted_in_nested_classes() {
        let a = of(&history());
        // Totals 17.25, 10.00, 20.00, 7.00: three whole, two multiples of 5 and of 10.
        assert_eq!(
            a.registers["r1"].round_amounts,
            RoundAmounts {
                n_receipts: 4,
                n_zero: 0,
                whole: 3,
                multiple_of_5: 2,
                multiple_of_10: 2,
            }
        );
        let mut r = RoundAmounts::default();
        for t in ["15", "15.00", "0", "-25.00", "4.99"] {
            r.add(d(t));
        }
        assert_eq!(
            (r.n_zero, r.whole, r.multiple_of_5, r.multiple_of_10),
            (1, 3, 3, 0)
        );
    }

    #[test]
    fn a_gap_between_sequence_ranges_is_reported() {
        let a = of(&history());
        let seq = &a.registers["r1"].sequence;
        assert_eq!(seq.ranges(), [(1, 3), (6, 7)]);
        assert_eq!(seq.gaps(), [(4, 5)]);
        assert_eq!(seq.n_missing(), 2);
        assert_eq!(seq.n_duplicates(), 0);

        let mut s = SequenceRanges::default();
        for n in [10, 12, 11, 20, 12, 9] {
            s.insert(n);
        }
        assert_eq!(s.ranges(), [(9, 12), (20, 20)]);
        assert_eq!(s.gaps(), [(13, 19)]);
        assert_eq!(s.n_duplicates(), 1);
        s.insert_range(13, 21);
        assert_eq!(s.ranges(), [(9, 21)]);
        assert_eq!(s.n_duplicates(), 2);
    }

    #[test]
    fn voids_and_returns_count_per_cashier_against_sales() {
        let mut ops = history();
        let mut void = op(
            "v",
            OperationKind::Void,
            "r1",
            "2026-03-02T18:31:00+01:00",
            vec![],
        );
        void.totals = Some(Totals {
            gross: d("10.00"),
            ..Totals::default()
        });
        void.payments.clear();
        void.cashier = Some(Cashier {
            id: "c2".into(),
            name: None,
        });
        let mut voided = op(
            "s9",
            OperationKind::Sale,
            "r1",
            "2026-03-02T12:00:00+01:00",
            vec![line("3.00", "0.19", "0.48")],
        );
        voided.state = LifecycleState::Voided;
        ops.push(void);
        ops.push(voided);
        let a = of(&ops);
        let mon = day(&a, "r1", "2026-03-02");
        assert_eq!(
            mon.voids,
            Counted {
                count: 2,
                gross: d("13.00")
            }
        );
        // Voids add nothing to revenue or payments.
        assert_eq!(mon.revenue_gross(), d("41.90"));
        assert_eq!(mon.payments["cash"].n_in, 2);
        let c = &a.registers["r1"].cashiers;
        assert_eq!((c["c1"].sales, c["c1"].returns, c["c1"].voids), (4, 1, 1));
        assert_eq!(c["c1"].storno_rate(), Some(0.5));
        assert_eq!((c["c2"].sales, c["c2"].voids), (0, 1));
        assert_eq!(c["c2"].storno_rate(), None);
    }

    #[test]
    fn merging_two_halves_equals_the_whole() {
        let mut ops = history();
        let mut other = op(
            "o1",
            OperationKind::Sale,
            "r2",
            "2026-03-02T11:00:00+01:00",
            vec![line("12.00", "0.19", "1.92")],
        );
        other.sequence_number = Some(4);
        ops.push(other);
        let whole = of(&ops);
        // Split within a register too (sequence 1–3 and 6–7 on different sides, same days).
        let (left, right): (Vec<_>, Vec<_>) = ops
            .iter()
            .cloned()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let left: Vec<Operation> = left.into_iter().map(|(_, o)| o).collect();
        let right: Vec<Operation> = right.into_iter().map(|(_, o)| o).collect();
        let mut merged = of(&left);
        merged.merge(of(&right));
        assert_eq!(merged, whole);
        assert_eq!(
            serde_json::to_string(&merged).expect("serialises"),
            serde_json::to_string(&whole).expect("serialises")
        );
    }

    /// Parking after every operation, in either order (so that days come again after they
    /// were parked), and reading back gives what one pass in memory counts.
    #[test]
    fn parked_days_add_back_to_the_whole() {
        let ops = history();
        let whole = of(&ops);
        for ops in [ops.clone(), ops.iter().rev().cloned().collect()] {
            let (mut a, mut parked) = (Analytics::default(), ParkedDays::default());
            for o in &ops {
                a.push(o);
                a.park(&mut parked);
                assert!(a.registers.values().all(|r| r.days.len() <= 1));
            }
            assert!(!parked.is_empty());
            a.unpark(&mut parked).expect("reads back");
            assert!(parked.is_empty());
            assert_eq!(a, whole);
            assert_eq!(
                serde_json::to_string(&a).expect("serialises"),
                serde_json::to_string(&whole).expect("serialises")
            );
        }
    }

    #[test]
    fn serialisation_is_stable_whatever_the_input_order() {
        let ops = history();
        let forward = serde_json::to_string(&of(&ops)).expect("serialises");
        let reversed: Vec<Operation> = ops.into_iter().rev().collect();
        let backward = serde_json::to_string(&of(&reversed)).expect("serialises");
        assert_eq!(forward, backward);
        // Keys come out sorted: days, rates, hours.
        let v: serde_json::Value = serde_json::from_str(&forward).expect("json");
        let days: Vec<&String> = v["registers"]["r1"]["days"]
            .as_object()
            .expect("days")
            .keys()
            .collect();
        assert_eq!(days, ["2026-03-02", "2026-03-03"]);
        let i_07 = forward.find("\"0.07\"").expect("7 %");
        let i_19 = forward.find("\"0.19\"").expect("19 %");
        assert!(i_07 < i_19);
        assert!(forward.contains(r#""gaps":[[4,5]]"#), "{forward}");
        assert!(forward.contains(r#""storno_rate":0.25"#), "{forward}");
    }

    #[test]
    fn cart_discounts_spread_pro_rata_and_a_tip_books_outside_vat() {
        let mut sale = op(
            "cd",
            OperationKind::Sale,
            "r1",
            "2026-03-02T10:00:00+01:00",
            vec![line("11.90", "0.19", "1.90"), line("10.70", "0.07", "0.70")],
        );
        sale.cart_discounts = vec![CartDiscount {
            id: None,
            label: None,
            code: None,
            rate: None,
            amount: d("2.26"),
        }];
        sale.tip = Some(d("1.50"));
        let a = of(&[sale]);
        let r = &day(&a, "r1", "2026-03-02").revenue_by_rate;
        // 2.26 × 11.90 / 22.60 = 1.19 and 2.26 × 10.70 / 22.60 = 1.07, exactly.
        assert_eq!(
            r["0.19"],
            VatAmounts {
                gross: d("10.71"),
                net: d("9.00"),
                tax: d("1.71"),
            }
        );
        assert_eq!(
            r["0.07"],
            VatAmounts {
                gross: d("9.63"),
                net: d("9.00"),
                tax: d("0.63"),
            }
        );
        assert_eq!(r[TIP].gross, d("1.50"));
        assert_eq!(r[TIP].tax, Decimal::ZERO);
    }

    /// Gross revenue per register over all days equals the completed sales' stated totals
    /// minus the returns', computed here straight from the stream.
    #[test]
    fn demo_revenue_per_register_equals_stated_totals() {
        let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo"));
        let mut a = Analytics::default();
        let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut n_ops = 0;
        crate::ingest::read(&[dir], &mut |item| {
            if let crate::ingest::Item::Operation(op) = item {
                n_ops += 1;
                a.push(&op);
                if op.state != LifecycleState::Completed {
                    return;
                }
                let Some(t) = &op.totals else { return };
                let signed = match op.kind {
                    OperationKind::Sale
                    | OperationKind::Exchange
                    | OperationKind::Deposit
                    | OperationKind::DepositCapture => t.gross,
                    OperationKind::Return => -t.gross.abs(),
                    _ => return,
                };
                *expected
                    .entry(op.register_id.clone().unwrap_or_default())
                    .or_default() += signed;
            }
        })
        .expect("demo reads");
        assert!(n_ops > 100, "{n_ops} operations");
        assert_eq!(expected.len(), 6);
        for (reg, want) in &expected {
            let r = &a.registers[reg];
            let stated: Decimal = r.days.values().map(|d| d.gross_stated).sum();
            let lines: Decimal = r.days.values().map(DayAnalytics::revenue_gross).sum();
            assert_eq!(stated, *want, "{reg}: stated totals");
            assert_eq!(lines, *want, "{reg}: from the lines");
            assert!(!want.is_zero());
        }
    }

    /// Amounts no till records are left out and counted, so that no sum can overflow (two
    /// totals of 5 × 10^28 would overflow a Decimal).
    #[test]
    fn amounts_beyond_the_limit_are_counted_not_summed() {
        assert_eq!(AMOUNT_LIMIT.to_string(), "1000000000000000000");
        let mut a = Analytics::default();
        for id in ["h1", "h2"] {
            let mut o = op(
                id,
                OperationKind::Sale,
                "r",
                "2026-03-02T10:00:00+01:00",
                Vec::new(),
            );
            o.totals = Some(crate::model::Totals {
                gross: "50000000000000000000000000000".parse().unwrap(),
                ..crate::model::Totals::default()
            });
            a.push(&o);
        }
        assert_eq!(a.out_of_range, 2);
        // The register is known (its sequence numbers count), but nothing was summed.
        assert!(a.registers["r"].days.is_empty());
        let mut b = Analytics::default();
        b.merge(a);
        assert_eq!(b.out_of_range, 2);
    }
}
