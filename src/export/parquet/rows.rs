//! The five tables' columns, declared once (docs/parquet.md is checked against them), and how
//! a canonical record becomes their rows.

use super::Error;
use super::table::{Col, Ctx, Table, Type};
use crate::model::*;
use crate::validate::{Reconciliation, SessionStatus};

use Type::{Bool, Date, Decimal as Dec, Str, Timestamp as Ts, U32, U64};

const fn col(name: &'static str, ty: Type, doc: &'static str) -> Col {
    Col { name, ty, doc }
}

/// `operations.parquet`: one row per operation.
pub const OPERATIONS: &[Col] = &[
    col("operation_id", Str, "the API's operation id"),
    col("source_file", Str, "the input file it was read from"),
    col("source_entry", Str, "the entry inside a zip archive"),
    col("source_line", U64, "1-based line of the record (NDJSON)"),
    col(
        "source_index",
        U64,
        "0-based index of the top-level value or array element",
    ),
    col(
        "source_pointer",
        Str,
        "JSON pointer inside a list page (`/data/3`)",
    ),
    col(
        "shape",
        Str,
        "wire shape: `register` or `operations` (v1.1)",
    ),
    col(
        "kind",
        Str,
        "`sale`, `return`, `exchange`, `void`, `cash_movement`, `deposit`, `deposit_capture`, `training`, `session_open`, `session_cash_adjustment`, `session_cash_count`, `session_close`",
    ),
    col("state", Str, "`open`, `completed`, `cancelled`, `voided`"),
    col("channel", Str, "`pos` or `online`"),
    col("merchant_id", Str, "merchant / organization id"),
    col("location_id", Str, "location id"),
    col(
        "register_id",
        Str,
        "register id (none for online operations)",
    ),
    col("session_id", Str, "register session id (v1.1)"),
    col("external_id", Str, "the POS's own order id"),
    col(
        "sequence_number",
        U64,
        "register-scoped sequence number (register shape)",
    ),
    col(
        "resource_version",
        U64,
        "server-issued resource version (v1.1)",
    ),
    col("cashier_id", Str, "who rang it up"),
    col("created_at", Ts, "record created"),
    col("started_at", Ts, "(fiscal) start"),
    col("completed_at", Ts, "completed"),
    col("voided_at", Ts, "voided"),
    col("updated_at", Ts, "record last changed"),
    col(
        "currency",
        Str,
        "ISO 4217 code; every amount of the operation, its lines and payments is in it",
    ),
    col("subtotal_gross", Dec, "stated gross before any discount"),
    col("line_discounts", Dec, "stated sum of line discounts"),
    col("cart_discounts", Dec, "stated sum of cart discounts"),
    col("rounding_adjustment", Dec, "stated cash rounding"),
    col(
        "total_gross",
        Dec,
        "stated gross total (v1.1 `total_amount`, tip included); null when the operation states no totals",
    ),
    col("total_net", Dec, "stated net total"),
    col("total_tax", Dec, "stated tax total"),
    col(
        "payable",
        Dec,
        "stated amount payable (register shape `net_payable`)",
    ),
    col("tip", Dec, "tip total"),
    col(
        "cash_event",
        Str,
        "cash-drawer event: `open`, `movement`, `count`, `close`",
    ),
    col("cash_opening_balance", Dec, "`open`: the float"),
    col(
        "cash_movement_amount",
        Dec,
        "`movement`: signed amount (in > 0, out < 0)",
    ),
    col("cash_movement_reason", Str, "`movement`: why"),
    col("cash_counted", Dec, "`count`: counted amount"),
    col("cash_expected", Dec, "`count`: expected amount as stated"),
    col(
        "cash_difference",
        Dec,
        "`count`: counted − expected as stated",
    ),
    col(
        "cash_business_date",
        Date,
        "`close`: the session's business date",
    ),
    col(
        "cash_close_adjustment",
        Dec,
        "`close`: cash pulled (< 0) or added",
    ),
    col(
        "original_operation_id",
        Str,
        "the operation this one returns, exchanges, voids or captures",
    ),
    col(
        "external_operation_id",
        Str,
        "an original outside OpenFiskal",
    ),
    col("reference_reason", Str, "reason given for the reference"),
    col(
        "fiscal_state",
        Str,
        "`pending`, `succeeded`, `failed` (register shape)",
    ),
    col(
        "regime",
        Str,
        "`KassenSichV`, `RKSV`, `RT`: the fiscal block's; null without one",
    ),
    col(
        "fiscal_device_id",
        Str,
        "TSE serial (KassenSichV), Kassen-ID (RKSV), matricola (RT)",
    ),
    col(
        "fiscal_document_number",
        Str,
        "the fiscal block's document number (RT: `ZZZZ-NNNN`)",
    ),
    col(
        "fiscal_document_type",
        Str,
        "the fiscal block's document type",
    ),
    col(
        "fiscal_signed_at",
        Ts,
        "KassenSichV: FinishTransaction log time; RKSV: receipt signed; RT: document sealed",
    ),
    col(
        "fiscal_transmitted_at",
        Ts,
        "RKSV, RT: when the data reached the authority",
    ),
    col(
        "tse_client_id",
        Str,
        "KassenSichV: client id (Kassen-Seriennummer) as signed",
    ),
    col(
        "tse_start_counter",
        U64,
        "KassenSichV: StartTransaction `transaction_counter`",
    ),
    col(
        "tse_start_signed_at",
        Ts,
        "KassenSichV: StartTransaction log time",
    ),
    col(
        "tse_finish_counter",
        U64,
        "KassenSichV: FinishTransaction `transaction_counter`",
    ),
    col("rksv_receipt_counter", U64, "RKSV: receipt counter"),
    col(
        "rksv_turnover_counter",
        Dec,
        "RKSV: running turnover counter in the clear, where stated",
    ),
    col(
        "rksv_certificate_serial",
        Str,
        "RKSV: certificate serial or key id",
    ),
    col("rt_closing_number", U32, "RT: daily closing (Z) number"),
    col(
        "rt_progressive_number",
        U32,
        "RT: progressive number within the closing",
    ),
];

/// `lines.parquet`: one row per goods line.
pub const LINES: &[Col] = &[
    col(
        "operation_id",
        Str,
        "the operation (join with `operations`)",
    ),
    col(
        "line_index",
        U32,
        "0-based place among the operation's lines",
    ),
    col("line_id", Str, "line id"),
    col("position", U32, "position on the receipt, where given"),
    col("kind", Str, "`item`, `gift_card`, `deposit` (Pfand), `tip`"),
    col(
        "role",
        Str,
        "`sold` or `returned` (goods back in an exchange)",
    ),
    col("description", Str, "description / title"),
    col("sku", Str, "product reference"),
    col("gift_card_id", Str, "gift card id of a gift-card line"),
    col(
        "quantity",
        Dec,
        "quantity (fractional for weighed goods; negative for returned v1.1 lines)",
    ),
    col("unit", Str, "unit of measure"),
    col("unit_price", Dec, "gross unit price"),
    col("subtotal", Dec, "gross before discounts (register shape)"),
    col(
        "discounts",
        Dec,
        "sum of the line's own discounts; null when it has none",
    ),
    col(
        "cart_allocations",
        Dec,
        "sum of the cart-discount shares allocated to the line; null when none",
    ),
    col("total_gross", Dec, "gross after all discounts"),
    col("total_net", Dec, "net after all discounts, where stated"),
    col(
        "total_tax",
        Dec,
        "sum of the line's tax amounts; null when it has no tax",
    ),
    col("taxes", U32, "number of taxes on the line (usually 1)"),
    col(
        "vat_rate",
        Dec,
        "VAT rate as a fraction (`0.19`) of the line's one tax; null when it has none or several",
    ),
    col(
        "tax_category",
        Str,
        "category or Natura code of the one tax",
    ),
    col("tax_name", Str, "name of the one tax (v1.1)"),
    col(
        "taxable_amount",
        Dec,
        "net amount the one tax is on, where stated",
    ),
];

/// `payments.parquet`: one row per payment.
pub const PAYMENTS: &[Col] = &[
    col(
        "operation_id",
        Str,
        "the operation (join with `operations`)",
    ),
    col(
        "payment_index",
        U32,
        "0-based place among the operation's payments",
    ),
    col("payment_id", Str, "payment id"),
    col(
        "method",
        Str,
        "`cash`, `card`, `wallet`, `voucher`, `gift_card`, `online`, or any other wire value verbatim",
    ),
    col(
        "direction",
        Str,
        "`in` (from the customer) or `out` (to the customer)",
    ),
    col("amount", Dec, "amount in the operation's currency"),
    col(
        "foreign_currency",
        Str,
        "the tendered currency when it is not the operation's",
    ),
    col(
        "tendered",
        Dec,
        "cash handed over (in the foreign currency for foreign cash)",
    ),
    col("change", Dec, "change given back"),
    col("reference", Str, "PSP / processor reference"),
    col("status", Str, "payment status as the source gave it"),
    col("card_brand", Str, "card scheme"),
    col("gift_card_id", Str, "gift card id of a gift-card payment"),
];

/// `sessions.parquet`: one row per register session (v1.1 shape).
pub const SESSIONS: &[Col] = &[
    col("register_id", Str, "register"),
    col("session_id", Str, "session"),
    col("currency", Str, "ISO 4217 code"),
    col("opened_at", Ts, "session opened"),
    col("counted_at", Ts, "cash counted"),
    col("closed_at", Ts, "session closed"),
    col("business_date", Date, "business date the close names"),
    col(
        "opening",
        Dec,
        "opening float; null when the session was never opened",
    ),
    col(
        "cash_in",
        Dec,
        "cash taken in by completed goods movements before the count",
    ),
    col(
        "cash_out",
        Dec,
        "cash paid out by completed goods movements before the count",
    ),
    col(
        "adjustments",
        Dec,
        "completed cash adjustments (drops, pay-ins, pay-outs) before the count",
    ),
    col(
        "expected",
        Dec,
        "opening + cash_in − cash_out + adjustments, recomputed by fiskal; null without an opening",
    ),
    col(
        "expected_stated",
        Dec,
        "the expected amount the source stated with its count",
    ),
    col("counted", Dec, "cash counted"),
    col("difference", Dec, "counted − expected (the recomputed one)"),
    col(
        "explained",
        Bool,
        "whether the count carries a note explaining a difference",
    ),
    col(
        "status",
        Str,
        "`open` (not counted), `counted` (not closed), `closed`",
    ),
];

/// `findings.parquet`: one row per validation finding.
pub const FINDINGS: &[Col] = &[
    col("code", Str, "rule code (docs/rules.md)"),
    col("severity", Str, "`info`, `warning`, `error`"),
    col("operation_id", Str, "the operation the finding is about"),
    col("register_id", Str, "its register"),
    col("source_file", Str, "where the operation was read"),
    col("source_entry", Str, "the entry inside a zip archive"),
    col("source_line", U64, "1-based line (NDJSON)"),
    col(
        "source_index",
        U64,
        "0-based index of the top-level value or array element",
    ),
    col("message", Str, "what is wrong, in a sentence"),
    col("expected", Str, "what the rule expected"),
    col("found", Str, "what the data says"),
];

fn shape_name(s: WireShape) -> &'static str {
    match s {
        WireShape::Register => "register",
        WireShape::Operations => "operations",
    }
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Pos => "pos",
        Channel::Online => "online",
    }
}

fn fiscal_state_name(s: FiscalState) -> &'static str {
    match s {
        FiscalState::Pending => "pending",
        FiscalState::Succeeded => "succeeded",
        FiscalState::Failed => "failed",
    }
}

fn line_kind_name(k: LineKind) -> &'static str {
    match k {
        LineKind::Item => "item",
        LineKind::GiftCard => "gift_card",
        LineKind::Deposit => "deposit",
        LineKind::Tip => "tip",
    }
}

fn line_role_name(r: LineRole) -> &'static str {
    match r {
        LineRole::Sold => "sold",
        LineRole::Returned => "returned",
    }
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::In => "in",
        Direction::Out => "out",
    }
}

fn status_name(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Open => "open",
        SessionStatus::Counted => "counted",
        SessionStatus::Closed => "closed",
    }
}

/// A sum the model does not state, or an error naming the operation when it overflows.
fn sum(
    values: impl IntoIterator<Item = rust_decimal::Decimal>,
    ctx: Ctx<'_>,
    column: &str,
) -> Result<Option<rust_decimal::Decimal>, Error> {
    let mut values = values.into_iter().peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    money::checked_sum(values)
        .map(Some)
        .ok_or_else(|| Error::Unrepresentable {
            context: ctx.to_string(),
            column: column.to_string(),
            value: "the sum".to_string(),
            why: "overflows a decimal".to_string(),
        })
}

/// The operation's row.
pub fn operation(t: &mut Table, op: &Operation) -> Result<(), Error> {
    let mut r = t.row(Ctx::Operation(&op.id));
    let src = &op.source;
    r.str(Some(&op.id));
    r.str(Some(&src.file));
    r.str(src.entry.as_deref());
    r.u64(src.line);
    r.u64(src.index);
    r.str(Some(src.pointer.as_str()).filter(|p| !p.is_empty()));
    r.str(Some(shape_name(op.shape)));
    r.str(Some(op.kind.name()));
    r.str(Some(op.state.name()));
    r.str(Some(channel_name(op.channel)));
    r.str(op.merchant_id.as_deref());
    r.str(op.location_id.as_deref());
    r.str(op.register_id.as_deref());
    r.str(op.session_id.as_deref());
    r.str(op.external_id.as_deref());
    r.u64(op.sequence_number);
    r.u64(op.resource_version);
    r.str(op.cashier.as_ref().map(|c| c.id.as_str()));
    let ts = &op.timestamps;
    for t in [
        &ts.created,
        &ts.started,
        &ts.completed,
        &ts.voided,
        &ts.updated,
    ] {
        r.ts(t.as_ref())?;
    }
    r.str(Some(op.currency.code()));
    let totals = op.totals.as_ref();
    r.dec(totals.and_then(|t| t.subtotal_gross))?;
    r.dec(totals.and_then(|t| t.line_discounts))?;
    r.dec(totals.and_then(|t| t.cart_discounts))?;
    r.dec(totals.and_then(|t| t.rounding_adjustment))?;
    r.dec(totals.map(|t| t.gross))?;
    r.dec(totals.map(|t| t.net))?;
    r.dec(totals.map(|t| t.tax))?;
    r.dec(totals.and_then(|t| t.payable))?;
    r.dec(op.tip)?;
    cash(&mut r, op.cash.as_ref())?;
    let refs = &op.references;
    r.str(refs.original_operation_id.as_deref());
    r.str(refs.external_operation_id.as_deref());
    r.str(refs.reason.as_deref());
    r.str(op.fiscal_state.map(fiscal_state_name));
    fiscal(&mut r, op.fiscal.as_ref())?;
    r.end()
}

fn cash(r: &mut super::table::Row<'_>, c: Option<&CashEvent>) -> Result<(), Error> {
    let (mut opening, mut movement, mut reason) = (None, None, None);
    let (mut counted, mut expected, mut difference) = (None, None, None);
    let (mut business_date, mut adjustment) = (None, None);
    let event = c.map(|c| match c {
        CashEvent::Open { opening_balance } => {
            opening = Some(*opening_balance);
            "open"
        }
        CashEvent::Movement {
            amount,
            reason: why,
        } => {
            movement = Some(*amount);
            reason = why.as_deref();
            "movement"
        }
        CashEvent::Count {
            counted: c,
            expected: e,
            difference: d,
        } => {
            (counted, expected, difference) = (Some(*c), *e, *d);
            "count"
        }
        CashEvent::Close {
            business_date: b,
            adjustment: a,
        } => {
            (business_date, adjustment) = (*b, *a);
            "close"
        }
    });
    r.str(event);
    r.dec(opening)?;
    r.dec(movement)?;
    r.str(reason);
    r.dec(counted)?;
    r.dec(expected)?;
    r.dec(difference)?;
    r.date(business_date);
    r.dec(adjustment)
}

fn fiscal(r: &mut super::table::Row<'_>, f: Option<&Fiscal>) -> Result<(), Error> {
    let (tse, rksv, rt) = match f {
        Some(Fiscal::KassenSichV(t)) => (Some(t), None, None),
        Some(Fiscal::Rksv(k)) => (None, Some(k), None),
        Some(Fiscal::Rt(i)) => (None, None, Some(i)),
        None => (None, None, None),
    };
    r.str(f.map(|f| f.regime().name()));
    r.str(
        tse.and_then(|t| t.tse_serial.as_deref())
            .or(rksv.and_then(|k| k.cashbox_id.as_deref()))
            .or(rt.and_then(|i| i.rt_serial.as_deref())),
    );
    r.str(
        tse.and_then(|t| t.document_number.as_deref())
            .or(rksv.and_then(|k| k.document_number.as_deref()))
            .or(rt.and_then(|i| i.document_number.as_deref())),
    );
    r.str(
        tse.and_then(|t| t.document_type.as_deref())
            .or(rksv.and_then(|k| k.document_type.as_deref()))
            .or(rt.and_then(|i| i.document_type.as_deref())),
    );
    let finish = tse.and_then(|t| t.finish.as_ref());
    let start = tse.and_then(|t| t.start.as_ref());
    r.ts(finish
        .and_then(|e| e.signed_at.as_ref())
        .or(rksv.and_then(|k| k.signed_at.as_ref()))
        .or(rt.and_then(|i| i.signed_at.as_ref())))?;
    r.ts(rksv
        .and_then(|k| k.transmitted_at.as_ref())
        .or(rt.and_then(|i| i.transmitted_at.as_ref())))?;
    r.str(tse.and_then(|t| t.client_id.as_deref()));
    r.u64(start.and_then(|e| e.transaction_counter));
    r.ts(start.and_then(|e| e.signed_at.as_ref()))?;
    r.u64(finish.and_then(|e| e.transaction_counter));
    r.u64(rksv.and_then(|k| k.transaction_counter));
    r.dec(rksv.and_then(|k| k.turnover_counter))?;
    r.str(rksv.and_then(|k| k.certificate_serial.as_deref()));
    r.u32(rt.and_then(|i| i.daily_closing_number));
    r.u32(rt.and_then(|i| i.progressive_number));
    Ok(())
}

/// The operation's line rows.
pub fn lines(t: &mut Table, op: &Operation) -> Result<(), Error> {
    for (i, l) in op.lines.iter().enumerate() {
        let ctx = Ctx::Item(&op.id, "line", i);
        let discounts = sum(l.discounts.iter().map(|d| d.amount), ctx, "discounts")?;
        let allocations = sum(
            l.cart_allocations.iter().map(|a| a.amount),
            ctx,
            "cart_allocations",
        )?;
        let tax = sum(l.taxes.iter().map(|x| x.tax_amount), ctx, "total_tax")?;
        let one = match l.taxes.as_slice() {
            [one] => Some(one),
            _ => None,
        };
        let mut r = t.row(ctx);
        r.str(Some(&op.id));
        r.u32(Some(index(i)));
        r.str(l.id.as_deref());
        r.u32(l.position);
        r.str(Some(line_kind_name(l.kind)));
        r.str(Some(line_role_name(l.role)));
        r.str(Some(&l.description));
        r.str(l.sku.as_deref());
        r.str(l.gift_card_id.as_deref());
        r.dec(Some(l.quantity))?;
        r.str(l.unit.as_deref());
        r.dec(Some(l.unit_price))?;
        r.dec(l.subtotal)?;
        r.dec(discounts)?;
        r.dec(allocations)?;
        r.dec(Some(l.total_gross))?;
        r.dec(l.total_net)?;
        r.dec(tax)?;
        r.u32(Some(index(l.taxes.len())));
        r.dec(one.map(|x| x.rate))?;
        r.str(one.and_then(|x| x.category.as_deref()));
        r.str(one.and_then(|x| x.name.as_deref()));
        r.dec(one.and_then(|x| x.taxable_amount))?;
        r.end()?;
    }
    Ok(())
}

/// The operation's payment rows.
pub fn payments(t: &mut Table, op: &Operation) -> Result<(), Error> {
    for (i, p) in op.payments.iter().enumerate() {
        let mut r = t.row(Ctx::Item(&op.id, "payment", i));
        r.str(Some(&op.id));
        r.u32(Some(index(i)));
        r.str(p.id.as_deref());
        r.str(Some(p.method.name()));
        r.str(Some(direction_name(p.direction)));
        r.dec(Some(p.amount))?;
        r.str(p.foreign_currency.as_ref().map(|c| c.code()));
        r.dec(p.tendered)?;
        r.dec(p.change)?;
        r.str(p.reference.as_deref());
        r.str(p.status.as_deref());
        r.str(p.card_brand.as_deref());
        r.str(p.gift_card_id.as_deref());
        r.end()?;
    }
    Ok(())
}

/// A session's row.
pub fn session(t: &mut Table, s: &Reconciliation) -> Result<(), Error> {
    let mut r = t.row(Ctx::Session(&s.session));
    r.str(Some(s.register.as_str()).filter(|r| !r.is_empty()));
    r.str(Some(&s.session));
    r.str(Some(s.currency.code()));
    r.ts(s.opened_at.as_ref())?;
    r.ts(s.counted_at.as_ref())?;
    r.ts(s.closed_at.as_ref())?;
    r.date(s.business_date);
    r.dec(s.opening)?;
    r.dec(Some(s.cash_in))?;
    r.dec(Some(s.cash_out))?;
    r.dec(Some(s.adjustments))?;
    r.dec(s.expected)?;
    r.dec(s.expected_stated)?;
    r.dec(s.counted)?;
    r.dec(s.difference)?;
    r.bool(s.explained);
    r.str(Some(status_name(s.status)));
    r.end()
}

/// A finding's row.
pub fn finding(t: &mut Table, f: &Finding) -> Result<(), Error> {
    let n = t.rows();
    let mut r = t.row(Ctx::Finding(n));
    let loc = f.location.as_ref();
    r.str(Some(f.code));
    r.str(Some(f.severity.name()));
    r.str(f.operation_id.as_deref());
    r.str(f.register_id.as_deref());
    r.str(loc.map(|l| &*l.file));
    r.str(loc.and_then(|l| l.entry.as_deref()));
    r.u64(loc.and_then(|l| l.line));
    r.u64(loc.and_then(|l| l.index));
    r.str(Some(&f.message));
    r.str(f.expected.as_deref());
    r.str(f.found.as_deref());
    r.end()
}

/// A line's or payment's place (or a count of taxes).
fn index(i: usize) -> u32 {
    // 2^32 lines of at least a hundred bytes each could not be held in memory to get here.
    u32::try_from(i).expect("fewer than 2^32 items in one operation")
}
