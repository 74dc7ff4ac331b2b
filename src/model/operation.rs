//! One operation in canonical form: the single type every downstream stage reads.
//!
//! Both API shapes normalise into [`Operation`]. Amounts are exact decimals in the operation's
//! currency; signs follow the wire (a refund's lines and payments are positive, its kind says
//! it is money out) so that nothing is reinterpreted twice. Every record carries the
//! [`SourceLoc`] it came from, so any finding can point back to file and line.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Currency;
use super::source::SourceLoc;

/// Which wire shape a record came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireShape {
    /// `GET /registers/{registerId}/operations`: integer minor units, `state`, `data` block.
    Register,
    /// `/operations` v1.1: decimal strings, `status`, `fiscal_information`.
    Operations,
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// A sale of goods or services.
    Sale,
    /// Money and goods back to the customer (`refund` / `return`).
    Return,
    /// Goods back and new goods out in one operation.
    Exchange,
    /// Cancels an earlier operation (register shape `void`).
    Void,
    /// Cash into or out of the drawer without a sale.
    CashMovement,
    /// A customer prepayment (Anzahlung).
    Deposit,
    /// The sale that consumes an earlier prepayment.
    DepositCapture,
    /// A training operation (not fiscally relevant, still recorded).
    Training,
    /// A register session opens with its float.
    SessionOpen,
    /// Cash into or out of the drawer during a session.
    SessionCashAdjustment,
    /// The counted drawer at the end of a session.
    SessionCashCount,
    /// The session closes.
    SessionClose,
}

impl OperationKind {
    /// The snake_case name used in output.
    pub fn name(self) -> &'static str {
        match self {
            OperationKind::Sale => "sale",
            OperationKind::Return => "return",
            OperationKind::Exchange => "exchange",
            OperationKind::Void => "void",
            OperationKind::CashMovement => "cash_movement",
            OperationKind::Deposit => "deposit",
            OperationKind::DepositCapture => "deposit_capture",
            OperationKind::Training => "training",
            OperationKind::SessionOpen => "session_open",
            OperationKind::SessionCashAdjustment => "session_cash_adjustment",
            OperationKind::SessionCashCount => "session_cash_count",
            OperationKind::SessionClose => "session_close",
        }
    }

    /// Goods movements carry lines, payments and totals.
    pub fn moves_goods(self) -> bool {
        matches!(
            self,
            OperationKind::Sale
                | OperationKind::Return
                | OperationKind::Exchange
                | OperationKind::Deposit
                | OperationKind::DepositCapture
                | OperationKind::Training
        )
    }
}

/// Where an operation is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    /// Still being rung up.
    Open,
    /// Finalised; money moved.
    Completed,
    /// Abandoned before completion (register shape `cancelled`).
    Cancelled,
    /// Annulled after the fact (v1.1 `voided`).
    Voided,
}

impl LifecycleState {
    /// The snake_case name used in output.
    pub fn name(self) -> &'static str {
        match self {
            LifecycleState::Open => "open",
            LifecycleState::Completed => "completed",
            LifecycleState::Cancelled => "cancelled",
            LifecycleState::Voided => "voided",
        }
    }
}

/// Where the operation was rung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At a register.
    Pos,
    /// Online, without register or session.
    Online,
}

/// A point in time: UTC for comparisons, plus the offset the source wrote it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<FixedOffset>);

impl Timestamp {
    /// Parses RFC 3339 (`2026-03-02T09:15:00+01:00`, `…Z`).
    pub fn parse(s: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(s).ok().map(Timestamp)
    }

    /// The instant in UTC.
    pub fn utc(&self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }

    /// The offset from UTC the source gave, in seconds (0 for `Z`).
    pub fn source_offset_seconds(&self) -> i32 {
        self.0.offset().local_minus_utc()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Reads back what [`Serialize`] wrote (RFC 3339, offset kept), so that a serialised operation
/// round-trips exactly (the DSFinV-K collector's spill file relies on it).
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

/// The operation's timestamps as the source gave them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timestamps {
    /// When the record was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// When the (fiscal) start happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
    /// When the operation was completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<Timestamp>,
    /// When the operation was voided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voided: Option<Timestamp>,
    /// When the record last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
}

impl Timestamps {
    /// The time the operation counts for: completion, else start, else creation.
    pub fn effective(&self) -> Option<Timestamp> {
        self.completed.or(self.started).or(self.created)
    }
}

/// The canonical operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// The API's operation id.
    pub id: String,
    /// Where the record was read.
    pub source: SourceLoc,
    /// Which wire shape it came in.
    pub shape: WireShape,
    /// What it does.
    pub kind: OperationKind,
    /// Lifecycle state.
    pub state: LifecycleState,
    /// POS or online.
    pub channel: Channel,
    /// Merchant / organization id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// Location id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// Register id (None only for online operations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_id: Option<String>,
    /// Register session id (v1.1 shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The POS's own id for the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Register-scoped sequence number (register shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// Server-issued resource version (v1.1 shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<u64>,
    /// Who rang it up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cashier: Option<Cashier>,
    /// Timestamps.
    pub timestamps: Timestamps,
    /// Operation currency; every amount below is in it unless said otherwise.
    pub currency: Currency,
    /// Goods lines (sold and, in exchanges, returned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Line>,
    /// Cart-level discounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cart_discounts: Vec<CartDiscount>,
    /// Payments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<Payment>,
    /// Tip total (v1.1 `tip_amount`, or the sum of register-shape tip lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tip: Option<Decimal>,
    /// Totals as the source stated them (never recomputed here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    /// Cash-drawer data of session and cash-movement operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash: Option<CashEvent>,
    /// Links to other operations.
    #[serde(default, skip_serializing_if = "References::is_empty")]
    pub references: References,
    /// The customer, where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Whether fiscalisation succeeded (register shape `fiscal_state`; kept apart from the
    /// block because a failed fiscalisation has no block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiscal_state: Option<FiscalState>,
    /// The regime-typed fiscal block, where the operation was fiscalised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiscal: Option<Fiscal>,
}

impl Operation {
    /// What its cash payments put into and take out of the drawer: (in, out), both as
    /// absolute amounts in the operation currency. Foreign cash counts at its amount in the
    /// operation currency, the drawer's value, as the API's expected closing amount counts it.
    pub fn drawer_cash(&self) -> (Decimal, Decimal) {
        let mut cash = (Decimal::ZERO, Decimal::ZERO);
        for p in self
            .payments
            .iter()
            .filter(|p| p.method == PaymentMethod::Cash)
        {
            match p.direction {
                Direction::In => cash.0 += p.amount.abs(),
                Direction::Out => cash.1 += p.amount.abs(),
            }
        }
        cash
    }

    /// Each line's share of the cart-level discounts, which the v1.1 shape states for the
    /// whole cart and does not allocate to lines: pro rata by |gross|, cut to the cent, the
    /// cents left by rounding going to the largest lines first (ties: the earlier line), so the
    /// shares add up to the discount exactly. All zero when the lines carry their own
    /// allocations (the register shape, whose line totals are already after them) or there is
    /// no cart discount. The RT daily closing and the report's VAT split use it, so both split
    /// a receipt alike.
    pub fn cart_discount_shares(&self) -> Vec<Decimal> {
        let zero = vec![Decimal::ZERO; self.lines.len()];
        let discount: Decimal = self.cart_discounts.iter().map(|d| d.amount.abs()).sum();
        let gross: Vec<Decimal> = self.lines.iter().map(|l| l.total_gross.abs()).collect();
        let base: Decimal = gross.iter().sum();
        if discount.is_zero()
            || base.is_zero()
            || self.lines.iter().any(|l| !l.cart_allocations.is_empty())
        {
            return zero;
        }
        let mut shares: Vec<Decimal> = gross
            .iter()
            .map(|g| {
                (discount * g / base)
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
            })
            .collect();
        let mut rest = discount - shares.iter().copied().sum::<Decimal>();
        let mut order: Vec<usize> = (0..gross.len()).collect();
        order.sort_by(|a, b| gross[*b].cmp(&gross[*a]).then(a.cmp(b)));
        let cent = Decimal::new(1, 2);
        for i in order.iter().cycle().take(order.len() * 100) {
            if rest < cent {
                break;
            }
            shares[*i] += cent;
            rest -= cent;
        }
        shares
    }

    /// The fiscal regime, from the fiscal block.
    pub fn regime(&self) -> Option<Regime> {
        self.fiscal.as_ref().map(Fiscal::regime)
    }

    /// A completed EUR operation `id` of `kind` with nothing else set (no register, times,
    /// lines or fiscal block), from `t.ndjson`: what unit tests fill in.
    #[cfg(test)]
    pub(crate) fn bare(id: &str, kind: OperationKind) -> Operation {
        Operation {
            id: id.into(),
            source: SourceLoc::file(std::sync::Arc::from("t.ndjson"), None),
            shape: WireShape::Register,
            kind,
            state: LifecycleState::Completed,
            channel: Channel::Pos,
            merchant_id: None,
            location_id: None,
            register_id: None,
            session_id: None,
            external_id: None,
            sequence_number: None,
            resource_version: None,
            cashier: None,
            timestamps: Timestamps::default(),
            currency: Currency::parse("EUR").expect("EUR is an ISO 4217 code"),
            lines: Vec::new(),
            cart_discounts: Vec::new(),
            payments: Vec::new(),
            tip: None,
            totals: None,
            cash: None,
            references: References::default(),
            customer: None,
            notes: Vec::new(),
            fiscal_state: None,
            fiscal: None,
        }
    }
}

/// The cashier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cashier {
    /// Cashier id.
    pub id: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Ordinary goods or services.
    Item,
    /// A multi-purpose voucher sold (Mehrzweckgutschein; no VAT at sale).
    GiftCard,
    /// A returnable deposit (Pfand).
    Deposit,
    /// A tip for the staff.
    Tip,
}

/// Whether a line goes to or comes back from the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineRole {
    /// Goods out (sold).
    Sold,
    /// Goods back (returned, in an exchange).
    Returned,
}

/// One goods line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Line id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Position on the receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// What the line is.
    pub kind: LineKind,
    /// Sold or returned.
    pub role: LineRole,
    /// Description / title.
    pub description: String,
    /// Product reference / SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Gift card id for gift-card lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_card_id: Option<String>,
    /// Quantity (may be fractional for weighed goods; negative for returned v1.1 lines).
    pub quantity: Decimal,
    /// Unit of measure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Gross unit price.
    pub unit_price: Decimal,
    /// Gross before discounts (register shape `subtotal_gross`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<Decimal>,
    /// Line discounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<LineDiscount>,
    /// Shares of cart discounts allocated to this line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cart_allocations: Vec<CartAllocation>,
    /// Gross after all discounts.
    pub total_gross: Decimal,
    /// Net after all discounts, where stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_net: Option<Decimal>,
    /// Taxes on the line (usually one).
    pub taxes: Vec<LineTax>,
}

/// A line discount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineDiscount {
    /// Discount id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where it came from (manual, promotion…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Rate for percentage discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// Amount taken off.
    pub amount: Decimal,
}

/// A share of a cart discount carried by one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartAllocation {
    /// The cart discount's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_id: Option<String>,
    /// Amount of this line's share.
    pub amount: Decimal,
}

/// A tax on a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineTax {
    /// Tax name (v1.1; in Italy the Natura code for 0 % lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Rate as a fraction (`0.19`).
    pub rate: Decimal,
    /// Category (register shape; in Italy the Natura code for 0 % lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Net amount the tax is on, where stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxable_amount: Option<Decimal>,
    /// Tax amount.
    pub tax_amount: Decimal,
}

/// A cart-level discount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartDiscount {
    /// Discount id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Label / description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Coupon code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Rate for percentage discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// Amount taken off the cart (positive).
    pub amount: Decimal,
}

/// How a payment was made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Cash (Bar).
    Cash,
    /// Card (Unbar).
    Card,
    /// Mobile wallet.
    Wallet,
    /// Voucher (promotional / single-purpose).
    Voucher,
    /// Gift card (multi-purpose voucher).
    GiftCard,
    /// Online payment provider.
    Online,
    /// Anything else, kept verbatim.
    Other(String),
}

impl PaymentMethod {
    /// Maps the wire string (both shapes use the same names).
    pub fn from_wire(s: &str) -> PaymentMethod {
        match s {
            "cash" => PaymentMethod::Cash,
            "card" => PaymentMethod::Card,
            "wallet" => PaymentMethod::Wallet,
            "voucher" => PaymentMethod::Voucher,
            "gift_card" => PaymentMethod::GiftCard,
            "online" => PaymentMethod::Online,
            other => PaymentMethod::Other(other.to_string()),
        }
    }

    /// The name as the wire writes it (an unknown method as the source named it).
    pub fn name(&self) -> &str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::Wallet => "wallet",
            PaymentMethod::Voucher => "voucher",
            PaymentMethod::GiftCard => "gift_card",
            PaymentMethod::Online => "online",
            PaymentMethod::Other(s) => s,
        }
    }
}

/// Money in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money in (`inbound` / `captured`).
    In,
    /// Money out (`outbound` / `refunded`).
    Out,
}

/// One payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// Payment id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Method.
    pub method: PaymentMethod,
    /// In or out.
    pub direction: Direction,
    /// Amount in the operation currency.
    pub amount: Decimal,
    /// The tendered currency when it is not the operation's (foreign cash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign_currency: Option<Currency>,
    /// Cash handed over (in the foreign currency for foreign cash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tendered: Option<Decimal>,
    /// Change given back (cash in the operation currency only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Decimal>,
    /// PSP / processor reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Payment status as the source gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Card scheme / brand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_brand: Option<String>,
    /// Gift card id for gift-card payments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_card_id: Option<String>,
}

impl Payment {
    /// A payment of `amount` with nothing else stated.
    pub fn new(method: PaymentMethod, direction: Direction, amount: Decimal) -> Payment {
        Payment {
            id: None,
            method,
            direction,
            amount,
            foreign_currency: None,
            tendered: None,
            change: None,
            reference: None,
            status: None,
            card_brand: None,
            gift_card_id: None,
        }
    }
}

/// Totals as stated by the source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Gross before any discount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtotal_gross: Option<Decimal>,
    /// Sum of line discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_discounts: Option<Decimal>,
    /// Sum of cart discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_discounts: Option<Decimal>,
    /// Cash rounding adjustment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_adjustment: Option<Decimal>,
    /// Gross total (v1.1: `total_amount`, tip included).
    pub gross: Decimal,
    /// Net total (v1.1: `pretax_amount`).
    pub net: Decimal,
    /// Tax total.
    pub tax: Decimal,
    /// What the customer pays (register shape `net_payable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payable: Option<Decimal>,
    /// Per-rate breakdown, where stated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax_breakdown: Vec<TaxBucket>,
}

/// One rate of a tax breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxBucket {
    /// Rate as a fraction.
    pub rate: Decimal,
    /// Category (or Natura code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Net amount.
    pub net: Decimal,
    /// Tax amount.
    pub tax: Decimal,
    /// Gross amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gross: Option<Decimal>,
}

/// Cash-drawer data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CashEvent {
    /// A session opens with a float.
    Open {
        /// Opening balance.
        opening_balance: Decimal,
    },
    /// Cash moved in (positive) or out (negative) without a sale.
    Movement {
        /// Signed amount.
        amount: Decimal,
        /// Why (bank_deposit, float, expense…).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The drawer was counted.
    Count {
        /// Counted amount.
        counted: Decimal,
        /// What the system expected, where stated.
        #[serde(skip_serializing_if = "Option::is_none")]
        expected: Option<Decimal>,
        /// counted − expected as stated.
        #[serde(skip_serializing_if = "Option::is_none")]
        difference: Option<Decimal>,
    },
    /// The session closed.
    Close {
        /// Business date of the session.
        #[serde(skip_serializing_if = "Option::is_none")]
        business_date: Option<NaiveDate>,
        /// Cash pulled (negative) or added at close.
        #[serde(skip_serializing_if = "Option::is_none")]
        adjustment: Option<Decimal>,
    },
}

impl CashEvent {
    /// The amount the record books into the till as a business case of its own: the opening
    /// float (even an empty one), a movement, a counted difference (the stated difference,
    /// else counted − expected) or a closing adjustment. `None` when it books nothing: a
    /// count that matches or states nothing to compare, a close without adjustment.
    ///
    /// The DSFinV-K export writes one Vorgang per booked amount and the KassenSichV check
    /// expects the TSE to have signed exactly that amount, so both ask here.
    pub fn booked_amount(&self) -> Option<Decimal> {
        match self {
            CashEvent::Open { opening_balance } => Some(*opening_balance),
            CashEvent::Movement { amount, .. } => Some(*amount),
            CashEvent::Count {
                counted,
                expected,
                difference,
            } => match (difference, expected) {
                (Some(d), _) => Some(*d),
                (None, Some(e)) => counted.checked_sub(*e),
                (None, None) => None,
            }
            .filter(|d| !d.is_zero()),
            CashEvent::Close { adjustment, .. } => adjustment.filter(|a| !a.is_zero()),
        }
    }
}

/// Links to other operations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct References {
    /// The operation this one returns, exchanges, voids or captures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_operation_id: Option<String>,
    /// An original outside OpenFiskal (v1.1 `external_related_operation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_operation_id: Option<String>,
    /// Reason given (void reason, return reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl References {
    /// True when nothing is referenced.
    pub fn is_empty(&self) -> bool {
        self.original_operation_id.is_none()
            && self.external_operation_id.is_none()
            && self.reason.is_none()
    }
}

/// The customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tax id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    /// Kind of tax id (e.g. `codice_fiscale`, `vat_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_id_type: Option<String>,
}

/// The fiscal regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Regime {
    /// Germany.
    KassenSichV,
    /// Austria.
    #[serde(rename = "RKSV")]
    Rksv,
    /// Italy.
    #[serde(rename = "RT")]
    Rt,
}

impl Regime {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Regime::KassenSichV => "KassenSichV",
            Regime::Rksv => "RKSV",
            Regime::Rt => "RT",
        }
    }
}

/// Whether the fiscal device recorded the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FiscalState {
    /// Not yet attempted or in progress.
    Pending,
    /// Recorded.
    Succeeded,
    /// Failed (device unreachable, transmission error).
    Failed,
}

/// The regime-typed fiscal block.
// One per operation, never in large arrays of its own: boxing the TSE variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "regime")]
pub enum Fiscal {
    /// German TSE data.
    KassenSichV(TseFiscal),
    /// Austrian RKSV receipt data.
    #[serde(rename = "RKSV")]
    Rksv(RksvFiscal),
    /// Italian RT document data.
    #[serde(rename = "RT")]
    Rt(RtFiscal),
}

impl Fiscal {
    /// The regime of this block.
    pub fn regime(&self) -> Regime {
        match self {
            Fiscal::KassenSichV(_) => Regime::KassenSichV,
            Fiscal::Rksv(_) => Regime::Rksv,
            Fiscal::Rt(_) => Regime::Rt,
        }
    }
}

/// Germany: what the TSE signed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TseFiscal {
    /// TSE serial number (hex SHA-256 of the public key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tse_serial: Option<String>,
    /// Client id (Kassen-Seriennummer as signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Signature algorithm name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_algorithm: Option<String>,
    /// Log time format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_format: Option<String>,
    /// Document type (e.g. Kassenbeleg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// POS document number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// StartTransaction log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<TseEvent>,
    /// FinishTransaction log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish: Option<TseEvent>,
    /// The receipt QR payload (`V0;…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_data: Option<String>,
}

/// One TSE log event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TseEvent {
    /// Log time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
    /// The API's `transaction_counter` (whether transaction number or signature counter is
    /// resolved against the QR code by the KassenSichV verifier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_counter: Option<u64>,
    /// Signature, Base64 as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Public key, Base64 as given (v1.1 shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// processType, byte-exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_type: Option<String>,
    /// processData, byte-exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_data: Option<String>,
}

/// Austria: the signed receipt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RksvFiscal {
    /// Kassen-ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cashbox_id: Option<String>,
    /// Belegnummer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// Document type as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// Certificate serial (or key id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_serial: Option<String>,
    /// When the receipt was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
    /// Receipt counter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_counter: Option<u64>,
    /// Running turnover counter in the clear, where the API states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover_counter: Option<Decimal>,
    /// Signature as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// When the data reached the authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transmitted_at: Option<Timestamp>,
    /// The machine-readable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_data: Option<String>,
}

/// Italy: the commercial document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RtFiscal {
    /// Matricola of the RT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rt_serial: Option<String>,
    /// Firmware version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rt_firmware: Option<String>,
    /// `ZZZZ-NNNN` as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// Document type as given (VENDITA, RESO, ANNULLO…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// Z (daily closing) number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_closing_number: Option<u32>,
    /// Progressive number within the Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progressive_number: Option<u32>,
    /// Lottery code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lottery_code: Option<String>,
    /// When the document was sealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
    /// Seal as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// When the data reached the Agenzia delle Entrate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transmitted_at: Option<Timestamp>,
}
