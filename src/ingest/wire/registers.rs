//! The register-scoped shape (`GET /registers/{registerId}/operations`).
//!
//! Amounts are integers in minor units, scaled here by the currency's ISO 4217 exponent. The
//! generic `fiscal` block is interpreted by its `regime` value (docs/input.md).

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Minor, Num, Ts, WireTseEvent, foreign_cash, parse_record};
use crate::ingest::reject::{FieldError, RejectClass};
use crate::model::money::checked_sum;
use crate::model::*;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Sale,
    Refund,
    Exchange,
    Void,
    CashMovement,
    Deposit,
    DepositCapture,
    Training,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Open,
    Completed,
    Cancelled,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireFiscalState {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: Kind,
    state: State,
    register_id: String,
    location_id: Option<String>,
    organization_id: Option<String>,
    external_id: Option<String>,
    sequence_number: Option<u64>,
    cashier: Option<WireCashier>,
    fiscal: Option<WireFiscal>,
    fiscal_state: Option<WireFiscalState>,
    references: Option<WireReferences>,
    metadata: Option<WireMetadata>,
    started_at: Option<Ts>,
    completed_at: Option<Ts>,
    created_at: Option<Ts>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct WireCashier {
    id: String,
    display_name: Option<String>,
}

/// `metadata` is free-form; the only key fiskal reads is the Italian lottery code, which the
/// register shape's generic fiscal block has no field for.
#[derive(Deserialize)]
struct WireMetadata {
    lottery_code: Option<String>,
}

#[derive(Deserialize)]
struct WireReferences {
    original_operation_id: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    currency: Option<Currency>,
    line_items: Option<Vec<WireLine>>,
    returned_line_items: Option<Vec<WireLine>>,
    new_line_items: Option<Vec<WireLine>>,
    cart_discounts: Option<Vec<WireCartDiscount>>,
    payments: Option<Vec<WirePayment>>,
    totals: Option<WireTotals>,
    customer: Option<WireCustomer>,
    notes: Option<Vec<WireNote>>,
    original_operation_id: Option<String>,
    amount: Option<Minor>,
    reason: Option<String>,
    note: Option<String>,
}

#[derive(Deserialize)]
struct WireLine {
    id: Option<String>,
    position: Option<u32>,
    description: Option<String>,
    quantity: Num,
    unit: Option<String>,
    unit_price_gross: Minor,
    product_ref: Option<String>,
    flags: Option<Vec<String>>,
    gift_card_id: Option<String>,
    subtotal_gross: Option<Minor>,
    line_discounts: Option<Vec<WireLineDiscount>>,
    cart_discount_allocations: Option<Vec<WireAllocation>>,
    total_gross: Minor,
    tax: WireTax,
    total_net: Option<Minor>,
}

#[derive(Deserialize)]
struct WireLineDiscount {
    id: Option<String>,
    source: Option<String>,
    label: Option<String>,
    rate: Option<Num>,
    amount: Minor,
}

#[derive(Deserialize)]
struct WireAllocation {
    discount_id: Option<String>,
    amount: Minor,
}

#[derive(Deserialize)]
struct WireTax {
    rate: Num,
    category: Option<String>,
    taxable_amount: Option<Minor>,
    tax_amount: Minor,
}

#[derive(Deserialize)]
struct WireCartDiscount {
    id: Option<String>,
    label: Option<String>,
    code: Option<String>,
    rate: Option<Num>,
    amount: Option<Minor>,
    total_amount: Option<Minor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireDirection {
    Inbound,
    Outbound,
}

#[derive(Deserialize)]
struct WirePayment {
    id: Option<String>,
    method: String,
    direction: WireDirection,
    amount: Minor,
    currency: Option<Currency>,
    reference: Option<String>,
    status: Option<String>,
    cash: Option<WireCash>,
    card: Option<WireScheme>,
    wallet: Option<WireScheme>,
    gift_card: Option<WireGiftCard>,
}

#[derive(Deserialize)]
struct WireCash {
    amount_tendered: Option<Minor>,
}

#[derive(Deserialize)]
struct WireScheme {
    scheme: Option<String>,
}

#[derive(Deserialize)]
struct WireGiftCard {
    gift_card_id: Option<String>,
}

#[derive(Deserialize)]
struct WireTotals {
    subtotal_gross: Option<Minor>,
    total_line_discounts: Option<Minor>,
    total_cart_discounts: Option<Minor>,
    rounding_adjustment: Option<Minor>,
    total_gross: Minor,
    total_net: Minor,
    total_tax: Minor,
    tax_breakdown: Option<Vec<WireBucket>>,
    net_payable: Option<Minor>,
}

#[derive(Deserialize)]
struct WireBucket {
    rate: Num,
    category: Option<String>,
    taxable_amount: Minor,
    tax_amount: Minor,
    total_gross: Option<Minor>,
}

#[derive(Deserialize)]
struct WireCustomer {
    id: Option<String>,
    display_name: Option<String>,
    tax_id: Option<String>,
    tax_id_type: Option<String>,
}

#[derive(Deserialize)]
struct WireNote {
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireFiscal {
    regime: String,
    document_type: Option<String>,
    fiscal_unit_id: Option<String>,
    document_number: Option<String>,
    transmitted_at: Option<Ts>,
    verification: Option<WireVerification>,
    tse_serial: Option<String>,
    client_id: Option<String>,
    signature_algorithm: Option<String>,
    time_format: Option<String>,
    start_event: Option<WireTseEvent>,
    end_event: Option<WireTseEvent>,
}

#[derive(Deserialize)]
struct WireVerification {
    qr_data: Option<String>,
}

/// Deserialises and normalises one register-scoped record.
pub fn normalize(raw: &str, source: SourceLoc) -> Result<Operation, FieldError> {
    let env: Envelope = parse_record(raw)?;
    let kind = match env.kind {
        Kind::Sale => OperationKind::Sale,
        Kind::Refund => OperationKind::Return,
        Kind::Exchange => OperationKind::Exchange,
        Kind::Void => OperationKind::Void,
        Kind::CashMovement => OperationKind::CashMovement,
        Kind::Deposit => OperationKind::Deposit,
        Kind::DepositCapture => OperationKind::DepositCapture,
        Kind::Training => OperationKind::Training,
    };
    let state = match env.state {
        State::Open => LifecycleState::Open,
        State::Completed => LifecycleState::Completed,
        State::Cancelled => LifecycleState::Cancelled,
    };
    let fiscal_state = env.fiscal_state.map(|s| match s {
        WireFiscalState::Pending => FiscalState::Pending,
        WireFiscalState::Succeeded => FiscalState::Succeeded,
        WireFiscalState::Failed => FiscalState::Failed,
    });
    let data = env.data;
    // A void carries no money of its own; everything else needs the currency of its amounts.
    let currency = match data.as_ref().and_then(|d| d.currency) {
        Some(c) => c,
        None if kind == OperationKind::Void => Currency::EUR,
        None if data.is_none() => return Err(FieldError::missing("/data")),
        None => return Err(FieldError::missing("/data/currency")),
    };
    let mut op = Operation {
        id: env.id,
        source,
        shape: WireShape::Register,
        kind,
        state,
        channel: Channel::Pos,
        merchant_id: env.organization_id,
        location_id: env.location_id,
        register_id: Some(env.register_id),
        session_id: None,
        external_id: env.external_id,
        sequence_number: env.sequence_number,
        resource_version: None,
        cashier: env.cashier.map(|c| Cashier {
            id: c.id,
            name: c.display_name,
        }),
        timestamps: Timestamps {
            created: env.created_at.map(|t| t.0),
            started: env.started_at.map(|t| t.0),
            completed: env.completed_at.map(|t| t.0),
            voided: None,
            updated: None,
        },
        currency,
        lines: Vec::new(),
        cart_discounts: Vec::new(),
        payments: Vec::new(),
        tip: None,
        totals: None,
        cash: None,
        references: References::default(),
        customer: None,
        notes: Vec::new(),
        fiscal_state,
        fiscal: env.fiscal.map(fiscal).transpose()?,
    };
    if let (Some(Fiscal::Rt(rt)), Some(code)) = (
        op.fiscal.as_mut(),
        env.metadata.and_then(|m| m.lottery_code),
    ) {
        rt.lottery_code = Some(code);
    }
    if let Some(r) = env.references {
        op.references.original_operation_id = r.original_operation_id;
        op.references.reason = r.reason;
    }
    if let Some(data) = data {
        fill_data(&mut op, data)?;
    }
    Ok(op)
}

fn fill_data(op: &mut Operation, data: Data) -> Result<(), FieldError> {
    let cur = op.currency;
    if op.references.original_operation_id.is_none() {
        op.references.original_operation_id = data.original_operation_id;
    }
    if op.references.reason.is_none() && op.kind != OperationKind::CashMovement {
        op.references.reason = data.reason.clone();
    }
    let mut lines = Vec::new();
    for (name, list, role) in [
        ("line_items", data.line_items, LineRole::Sold),
        (
            "returned_line_items",
            data.returned_line_items,
            LineRole::Returned,
        ),
        ("new_line_items", data.new_line_items, LineRole::Sold),
    ] {
        let _ = name;
        lines.extend(
            list.unwrap_or_default()
                .into_iter()
                .map(|l| line(l, role, cur)),
        );
    }
    let tips: Vec<Decimal> = lines
        .iter()
        .filter(|l| l.kind == LineKind::Tip)
        .map(|l| l.total_gross)
        .collect();
    if !tips.is_empty() {
        op.tip = Some(checked_sum(tips).ok_or_else(|| overflow("/data/line_items", "tip total"))?);
    }
    op.lines = lines;
    op.cart_discounts = data
        .cart_discounts
        .unwrap_or_default()
        .into_iter()
        .map(|d| CartDiscount {
            id: d.id,
            label: d.label,
            code: d.code,
            rate: d.rate.map(|r| r.0),
            amount: cur.from_minor(d.amount.or(d.total_amount).map_or(0, |m| m.0)),
        })
        .collect();
    for (i, p) in data.payments.unwrap_or_default().into_iter().enumerate() {
        op.payments.push(payment(p, cur, i)?);
    }
    op.totals = data.totals.map(|t| Totals {
        subtotal_gross: t.subtotal_gross.map(|m| cur.from_minor(m.0)),
        line_discounts: t.total_line_discounts.map(|m| cur.from_minor(m.0)),
        cart_discounts: t.total_cart_discounts.map(|m| cur.from_minor(m.0)),
        rounding_adjustment: t.rounding_adjustment.map(|m| cur.from_minor(m.0)),
        gross: cur.from_minor(t.total_gross.0),
        net: cur.from_minor(t.total_net.0),
        tax: cur.from_minor(t.total_tax.0),
        payable: t.net_payable.map(|m| cur.from_minor(m.0)),
        tax_breakdown: t
            .tax_breakdown
            .unwrap_or_default()
            .into_iter()
            .map(|b| TaxBucket {
                rate: b.rate.0,
                category: b.category,
                net: cur.from_minor(b.taxable_amount.0),
                tax: cur.from_minor(b.tax_amount.0),
                gross: b.total_gross.map(|m| cur.from_minor(m.0)),
            })
            .collect(),
    });
    op.customer = data.customer.map(|c| Customer {
        id: c.id,
        name: c.display_name,
        tax_id: c.tax_id,
        tax_id_type: c.tax_id_type,
    });
    op.notes = data
        .notes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.text)
        .collect();
    if op.kind == OperationKind::CashMovement {
        let amount = data
            .amount
            .ok_or_else(|| FieldError::missing("/data/amount"))?;
        op.cash = Some(CashEvent::Movement {
            amount: cur.from_minor(amount.0),
            reason: data.reason,
        });
        op.notes.extend(data.note);
    }
    Ok(())
}

fn line(l: WireLine, role: LineRole, cur: Currency) -> Line {
    let flags = l.flags.unwrap_or_default();
    let has = |f: &str| flags.iter().any(|x| x == f);
    let kind = if has("gift_card") {
        LineKind::GiftCard
    } else if has("tip") {
        LineKind::Tip
    } else if has("deposit") {
        LineKind::Deposit
    } else {
        LineKind::Item
    };
    Line {
        id: l.id,
        position: l.position,
        kind,
        role,
        description: l.description.unwrap_or_default(),
        sku: l.product_ref,
        gift_card_id: l.gift_card_id,
        quantity: l.quantity.0,
        unit: l.unit,
        unit_price: cur.from_minor(l.unit_price_gross.0),
        subtotal: l.subtotal_gross.map(|m| cur.from_minor(m.0)),
        discounts: l
            .line_discounts
            .unwrap_or_default()
            .into_iter()
            .map(|d| LineDiscount {
                id: d.id,
                label: d.label,
                source: d.source,
                rate: d.rate.map(|r| r.0),
                amount: cur.from_minor(d.amount.0),
            })
            .collect(),
        cart_allocations: l
            .cart_discount_allocations
            .unwrap_or_default()
            .into_iter()
            .map(|a| CartAllocation {
                discount_id: a.discount_id,
                amount: cur.from_minor(a.amount.0),
            })
            .collect(),
        total_gross: cur.from_minor(l.total_gross.0),
        total_net: l.total_net.map(|m| cur.from_minor(m.0)),
        taxes: vec![LineTax {
            name: None,
            rate: l.tax.rate.0,
            category: l.tax.category,
            taxable_amount: l.tax.taxable_amount.map(|m| cur.from_minor(m.0)),
            tax_amount: cur.from_minor(l.tax.tax_amount.0),
        }],
    }
}

fn payment(p: WirePayment, cur: Currency, idx: usize) -> Result<Payment, FieldError> {
    let foreign = foreign_cash(
        &p.method,
        p.currency,
        cur,
        &format!("/data/payments/{idx}/currency"),
    )?;
    let method = PaymentMethod::from_wire(&p.method);
    let tender_cur = foreign.unwrap_or(cur);
    let tendered = p
        .cash
        .as_ref()
        .and_then(|c| c.amount_tendered)
        .map(|m| tender_cur.from_minor(m.0));
    let amount = cur.from_minor(p.amount.0);
    let change = match (foreign, tendered) {
        (None, Some(t)) if t >= amount => Some(t - amount),
        _ => None,
    };
    Ok(Payment {
        id: p.id,
        method,
        direction: match p.direction {
            WireDirection::Inbound => Direction::In,
            WireDirection::Outbound => Direction::Out,
        },
        amount,
        foreign_currency: foreign,
        tendered,
        change,
        reference: p.reference,
        status: p.status,
        card_brand: p
            .card
            .and_then(|c| c.scheme)
            .or_else(|| p.wallet.and_then(|w| w.scheme)),
        gift_card_id: p.gift_card.and_then(|g| g.gift_card_id),
    })
}

fn fiscal(f: WireFiscal) -> Result<Fiscal, FieldError> {
    let qr = f.verification.and_then(|v| v.qr_data);
    match f.regime.to_ascii_lowercase().as_str() {
        "tse" | "kassensichv" => Ok(Fiscal::KassenSichV(TseFiscal {
            tse_serial: f.tse_serial,
            client_id: f.client_id,
            signature_algorithm: f.signature_algorithm,
            time_format: f.time_format,
            document_type: f.document_type,
            document_number: f.document_number,
            start: f.start_event.map(WireTseEvent::into_model),
            finish: f.end_event.map(WireTseEvent::into_model),
            qr_data: qr,
        })),
        "rksv" => {
            let end = f.end_event;
            Ok(Fiscal::Rksv(RksvFiscal {
                cashbox_id: f.fiscal_unit_id,
                document_number: f.document_number,
                document_type: f.document_type,
                certificate_serial: None,
                signed_at: end.as_ref().and_then(WireTseEvent::signed_at),
                transaction_counter: end.as_ref().and_then(WireTseEvent::transaction_counter),
                turnover_counter: None,
                signature: end.and_then(WireTseEvent::into_signature),
                transmitted_at: f.transmitted_at.map(|t| t.0),
                qr_data: qr,
            }))
        }
        "rt" => {
            let (z, progressive) = f
                .document_number
                .as_deref()
                .and_then(read_rt_number)
                .unzip();
            let end = f.end_event;
            Ok(Fiscal::Rt(RtFiscal {
                rt_serial: f.fiscal_unit_id,
                rt_firmware: None,
                document_number: f.document_number,
                document_type: f.document_type,
                daily_closing_number: z,
                progressive_number: progressive,
                lottery_code: None,
                signed_at: end.as_ref().and_then(WireTseEvent::signed_at),
                signature: end.and_then(WireTseEvent::into_signature),
                transmitted_at: f.transmitted_at.map(|t| t.0),
            }))
        }
        other => Err(FieldError::new(
            RejectClass::UnknownValue,
            "/fiscal/regime",
            Some("one of `tse`, `kassensichv`, `rksv`, `rt`".into()),
            Some(format!("`{other}`")),
            format!("expected one of `tse`, `kassensichv`, `rksv`, `rt`, found `{other}`"),
        )),
    }
}

/// Splits an RT document number `ZZZZ-NNNN` into its daily-closing and progressive numbers.
pub(crate) fn split_rt_number(s: &str) -> Option<(u32, u32)> {
    let (z, n) = s.split_once('-')?;
    let digits = |p: &str| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit());
    (digits(z) && digits(n))
        .then(|| (z.parse().ok(), n.parse().ok()))
        .and_then(|(a, b)| Some((a?, b?)))
}

/// The daily-closing and progressive numbers of an RT document number as the register shape
/// carries it: `ZZZZ-NNNN`, or its two parts without the zero padding (`12-7`). The validator
/// reports the form (RTD001); reading the parts all the same lets the counters count the
/// document, so one misprinted number is one finding and not also a gap at the next document.
fn read_rt_number(s: &str) -> Option<(u32, u32)> {
    split_rt_number(s).or_else(|| {
        let (z, n) = s.split_once('-')?;
        let digits = |p: &str| (1..=9).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        if !(digits(z) && digits(n)) {
            return None;
        }
        Some((z.parse().ok()?, n.parse().ok()?))
    })
}

pub(crate) fn overflow(field: &str, what: &str) -> FieldError {
    FieldError::new(
        RejectClass::Overflow,
        field,
        None,
        None,
        format!("{what} overflows"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_numbers_split() {
        assert_eq!(split_rt_number("0002-0003"), Some((2, 3)));
        assert_eq!(split_rt_number("2-3"), None);
        assert_eq!(split_rt_number("00a2-0003"), None);
    }

    #[test]
    fn unpadded_rt_numbers_are_read_too() {
        assert_eq!(read_rt_number("0002-0003"), Some((2, 3)));
        assert_eq!(read_rt_number("2-3"), Some((2, 3)));
        assert_eq!(read_rt_number("00012-0003"), Some((12, 3)));
        for bad in ["2/3", "-3", "2-", "00a2-0003", "1234567890-1"] {
            assert_eq!(read_rt_number(bad), None, "{bad}");
        }
    }
}
