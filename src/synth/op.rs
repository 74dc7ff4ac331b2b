//! One operation while it is being generated, independent of the wire shape.
//!
//! The simulator fills a [`Draft`] and a [`Cart`] (reused from operation to operation to keep
//! the hot path free of allocation); the two wire writers turn the same draft into the
//! register-scoped or the v1.1 JSON. Keeping business content shape-neutral is what makes the
//! two shapes of one seed describe comparable shops.

use super::cart::{CartDiscount, Line, Pay, Totals};
use super::fiscal::FiscalOut;
use super::masterdata::RegisterSpec;
use super::text::Sid;

// The generator speaks the canonical model's vocabulary; only the wire names differ per shape.
pub(crate) use crate::model::{LifecycleState as State, OperationKind as Kind};

/// The register-shape `type` of a kind.
pub(crate) fn register_wire(kind: Kind) -> &'static str {
    match kind {
        Kind::Sale => "sale",
        Kind::Return => "refund",
        Kind::Exchange => "exchange",
        Kind::Void => "void",
        Kind::CashMovement => "cash_movement",
        Kind::Deposit => "deposit",
        Kind::DepositCapture => "deposit_capture",
        Kind::Training => "training",
        _ => unreachable!("session operations exist only in the v1.1 shape"),
    }
}

/// The v1.1 `type` of a kind.
pub(crate) fn operations_wire(kind: Kind) -> &'static str {
    match kind {
        Kind::Sale => "sale",
        Kind::Return => "return",
        Kind::Exchange => "exchange",
        Kind::SessionOpen => "session_open",
        Kind::SessionCashAdjustment => "session_cash_adjustment",
        Kind::SessionCashCount => "session_cash_count",
        Kind::SessionClose => "session_close",
        _ => unreachable!("{kind:?} exists only in the register-scoped shape"),
    }
}

/// Everything about an operation except its lines, payments and fiscal block.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    /// Kind.
    pub kind: Kind,
    /// State.
    pub state: State,
    /// `op_de01_000123`.
    pub id: Sid,
    /// `de01_000123`: the id without its prefix, reused in line, payment and discount ids.
    pub suffix: Sid,
    /// The POS's own number for the operation.
    pub external_id: Sid,
    /// Register shape: sequence number.
    pub seq: u64,
    /// v1.1: session id.
    pub session: Sid,
    /// Index into the country's cashiers.
    pub cashier: usize,
    /// Start (epoch seconds).
    pub started: i64,
    /// Completion (epoch seconds).
    pub completed: i64,
    /// v1.1 voided sales: when.
    pub voided_at: i64,
    /// The referenced operation (returns, exchanges, voids, deposit captures).
    pub reference: Option<Sid>,
    /// Return / void reason.
    pub reason: Option<&'static str>,
    /// Free-text note.
    pub note: Option<&'static str>,
    /// Cash movement / adjustment amount in cents, signed (negative: out of the drawer).
    pub cash_amount: i64,
    /// Register shape cash movement reason.
    pub cash_reason: &'static str,
    /// v1.1 session open: float.
    pub opening: i64,
    /// v1.1 cash count: counted.
    pub counted: i64,
    /// v1.1 cash count: expected as written.
    pub expected: i64,
    /// v1.1 cash count: discrepancy note.
    pub discrepancy_note: Option<&'static str>,
    /// v1.1 session close: business date `YYYY-MM-DD`.
    pub business_date: Sid,
    /// v1.1 session close: signed closing adjustment.
    pub closing_adj: Option<i64>,
    /// v1.1 session close: note of the adjustment.
    pub closing_note: Option<&'static str>,
    /// Register shape: the buyer's codice fiscale (Italian "documento commerciale parlante").
    pub customer_cf: Option<Sid>,
    /// Italian lottery code.
    pub lottery: Option<Sid>,
    /// Completed but not fiscalised: register `fiscal_state: failed`, v1.1
    /// `fiscal_information: null` (the fiscal-failed anomaly).
    pub fiscal_failed: bool,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            kind: Kind::Sale,
            state: State::Completed,
            id: Sid::new(),
            suffix: Sid::new(),
            external_id: Sid::new(),
            seq: 0,
            session: Sid::new(),
            cashier: 0,
            started: 0,
            completed: 0,
            voided_at: 0,
            reference: None,
            reason: None,
            note: None,
            cash_amount: 0,
            cash_reason: "",
            opening: 0,
            counted: 0,
            expected: 0,
            discrepancy_note: None,
            business_date: Sid::new(),
            closing_adj: None,
            closing_note: None,
            customer_cf: None,
            lottery: None,
            fiscal_failed: false,
        }
    }
}

/// Lines, payments and totals of a goods operation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cart {
    /// Sold lines (for a return: the returned lines, with positive amounts).
    pub lines: Vec<Line>,
    /// Exchange: lines taken back (positive amounts; they count negative in the totals).
    pub returned: Vec<Line>,
    /// Cart discount, if any.
    pub discount: Option<CartDiscount>,
    /// v1.1 tip in cents (the register shape carries tips as a line).
    pub tip: i64,
    /// Payments.
    pub pays: Vec<Pay>,
    /// Totals over `lines` and `returned`.
    pub totals: Totals,
}

impl Cart {
    /// Empties the cart, keeping its allocations.
    pub(crate) fn clear(&mut self) {
        self.lines.clear();
        self.returned.clear();
        self.discount = None;
        self.tip = 0;
        self.pays.clear();
    }
}

/// What a wire writer needs to write one operation.
pub(crate) struct View<'a> {
    /// The register.
    pub spec: &'a RegisterSpec,
    /// The operation.
    pub draft: &'a Draft,
    /// Its lines and payments.
    pub cart: &'a Cart,
    /// Its fiscal block.
    pub fiscal: &'a FiscalOut,
    /// Local UTC offset of the day, seconds.
    pub offset: i32,
}
