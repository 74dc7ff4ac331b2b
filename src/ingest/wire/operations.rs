//! The `/operations` v1.1 shape: decimal-string amounts, `status`, `fiscal_information`.
//!
//! `fiscal_information` is read as one flat struct and dispatched on `regime` by hand rather
//! than through a serde-tagged enum: tagged enums buffer their content and lose the JSON path
//! of inner errors, and a rejection must name the exact field.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{DecStr, Num, Ts, WireTseEvent, foreign_cash, parse_record};
use crate::ingest::reject::{FieldError, RejectClass};
use crate::model::*;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Sale,
    Return,
    Exchange,
    SessionOpen,
    SessionCashAdjustment,
    SessionCashCount,
    SessionClose,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Open,
    Completed,
    Voided,
}

#[derive(Deserialize)]
enum Source {
    #[serde(rename = "POS")]
    Pos,
    #[serde(rename = "ONLINE")]
    Online,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(rename = "type")]
    kind: Kind,
    status: Status,
    currency: Currency,
    merchant_id: Option<String>,
    location_id: Option<String>,
    register_id: Option<String>,
    session_id: Option<String>,
    source: Option<Source>,
    external_id: Option<String>,
    resource_version: Option<u64>,
    fiscal_information: Option<WireFiscal>,
    completed_at: Option<Ts>,
    voided_at: Option<Ts>,
    void_reason: Option<String>,
    created_at: Option<Ts>,
    updated_at: Option<Ts>,
    note: Option<String>,
    pretax_amount: Option<DecStr>,
    tax_amount: Option<DecStr>,
    tip_amount: Option<DecStr>,
    total_amount: Option<DecStr>,
    line_items: Option<Vec<WireLine>>,
    payments: Option<Vec<WirePayment>>,
    cart_level_discounts: Option<Vec<WireCartDiscount>>,
    related_operation_id: Option<String>,
    external_related_operation: Option<WireExternal>,
    opening_balance_amount: Option<DecStr>,
    opening_note: Option<String>,
    cash_amount: Option<DecStr>,
    counted_closing_amount: Option<DecStr>,
    expected_closing_amount: Option<DecStr>,
    closing_cashcount_diff: Option<DecStr>,
    discrepancy_note: Option<String>,
    business_date: Option<String>,
    closing_adjustment_amount: Option<DecStr>,
    closing_adjustment_note: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LineType {
    Item,
    GiftCard,
}

#[derive(Deserialize)]
struct WireLine {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<LineType>,
    title: String,
    quantity: Num,
    unit_price: DecStr,
    total_amount: DecStr,
    sku_identifier: Option<String>,
    gift_card_id: Option<String>,
    taxes: Vec<WireTax>,
}

#[derive(Deserialize)]
struct WireTax {
    name: Option<String>,
    rate: DecStr,
    tax_amount: DecStr,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum PayStatus {
    Captured,
    Refunded,
}

#[derive(Deserialize)]
struct WirePayment {
    id: Option<String>,
    payment_id: Option<String>,
    method: String,
    amount: DecStr,
    currency: Option<Currency>,
    status: PayStatus,
    processor_reference: Option<String>,
    card_brand: Option<String>,
    gift_card_id: Option<String>,
}

#[derive(Deserialize)]
struct WireCartDiscount {
    id: Option<String>,
    description: Option<String>,
    amount: DecStr,
}

#[derive(Deserialize)]
struct WireExternal {
    external_operation_id: String,
}

#[derive(Deserialize)]
struct WireFiscal {
    regime: String,
    document_number: Option<String>,
    document_type: Option<String>,
    transmitted_at: Option<Ts>,
    tss_serial_number: Option<String>,
    pos_client_serial_number: Option<String>,
    signature_algorithm: Option<String>,
    time_format: Option<String>,
    start_event: Option<WireTseEvent>,
    end_event: Option<WireTseEvent>,
    verification: Option<WireVerification>,
    cashbox_id: Option<String>,
    certificate_serial: Option<String>,
    signature: Option<WireSignature>,
    rt_serial: Option<String>,
    rt_firmware: Option<String>,
    progressive_number: Option<u32>,
    daily_closing_number: Option<u32>,
    lottery_code: Option<String>,
}

#[derive(Deserialize)]
struct WireVerification {
    qr_data: Option<String>,
}

#[derive(Deserialize)]
struct WireSignature {
    signed_at: Option<Ts>,
    transaction_counter: Option<u64>,
    turnover_counter: Option<DecStr>,
    signature: Option<String>,
    certificate_serial: Option<String>,
}

/// Deserialises and normalises one `/operations` v1.1 record.
pub fn normalize(raw: &str, source: SourceLoc) -> Result<Operation, FieldError> {
    let r: Record = parse_record(raw)?;
    let kind = match r.kind {
        Kind::Sale => OperationKind::Sale,
        Kind::Return => OperationKind::Return,
        Kind::Exchange => OperationKind::Exchange,
        Kind::SessionOpen => OperationKind::SessionOpen,
        Kind::SessionCashAdjustment => OperationKind::SessionCashAdjustment,
        Kind::SessionCashCount => OperationKind::SessionCashCount,
        Kind::SessionClose => OperationKind::SessionClose,
    };
    let channel = match r.source {
        Some(Source::Online) => Channel::Online,
        Some(Source::Pos) | None => Channel::Pos,
    };
    if channel == Channel::Pos && r.register_id.is_none() {
        return Err(FieldError::new(
            RejectClass::MissingField,
            "/register_id",
            Some("a register id (required for source POS)".into()),
            Some("nothing".into()),
            "missing required field: register_id is required for source POS",
        ));
    }
    let cur = r.currency;
    let mut op = Operation {
        id: r.id,
        source,
        shape: WireShape::Operations,
        kind,
        state: match r.status {
            Status::Open => LifecycleState::Open,
            Status::Completed => LifecycleState::Completed,
            Status::Voided => LifecycleState::Voided,
        },
        channel,
        merchant_id: r.merchant_id,
        location_id: r.location_id,
        register_id: r.register_id,
        session_id: r.session_id,
        external_id: r.external_id,
        sequence_number: None,
        resource_version: r.resource_version,
        cashier: None,
        timestamps: Timestamps {
            created: r.created_at.map(|t| t.0),
            started: None,
            completed: r.completed_at.map(|t| t.0),
            voided: r.voided_at.map(|t| t.0),
            updated: r.updated_at.map(|t| t.0),
        },
        currency: cur,
        lines: Vec::new(),
        cart_discounts: Vec::new(),
        payments: Vec::new(),
        tip: None,
        totals: None,
        cash: None,
        references: References {
            original_operation_id: r.related_operation_id,
            external_operation_id: r
                .external_related_operation
                .map(|e| e.external_operation_id),
            reason: r.void_reason,
        },
        customer: None,
        notes: r.note.into_iter().collect(),
        fiscal_state: None,
        fiscal: r.fiscal_information.map(fiscal).transpose()?,
    };
    let need =
        |v: Option<DecStr>, field: &str| v.map(|d| d.0).ok_or_else(|| FieldError::missing(field));
    match kind {
        OperationKind::SessionOpen => {
            op.cash = Some(CashEvent::Open {
                opening_balance: need(r.opening_balance_amount, "/opening_balance_amount")?,
            });
            op.notes.extend(r.opening_note);
        }
        OperationKind::SessionCashAdjustment => {
            op.cash = Some(CashEvent::Movement {
                amount: need(r.cash_amount, "/cash_amount")?,
                reason: None,
            });
        }
        OperationKind::SessionCashCount => {
            op.cash = Some(CashEvent::Count {
                counted: need(r.counted_closing_amount, "/counted_closing_amount")?,
                expected: r.expected_closing_amount.map(|d| d.0),
                difference: r.closing_cashcount_diff.map(|d| d.0),
            });
            op.notes.extend(r.discrepancy_note);
        }
        OperationKind::SessionClose => {
            let business_date = r.business_date.as_deref().map(parse_date).transpose()?;
            op.cash = Some(CashEvent::Close {
                business_date,
                adjustment: r.closing_adjustment_amount.map(|d| d.0),
            });
            op.notes.extend(r.closing_adjustment_note);
        }
        _ => {
            let lines = r
                .line_items
                .ok_or_else(|| FieldError::missing("/line_items"))?;
            let returned_possible = kind == OperationKind::Exchange;
            op.lines = lines
                .into_iter()
                .map(|l| line(l, returned_possible))
                .collect();
            for (i, p) in r.payments.unwrap_or_default().into_iter().enumerate() {
                op.payments.push(payment(p, cur, i)?);
            }
            op.cart_discounts = r
                .cart_level_discounts
                .unwrap_or_default()
                .into_iter()
                .map(|d| CartDiscount {
                    id: d.id,
                    label: d.description,
                    code: None,
                    rate: None,
                    amount: d.amount.0,
                })
                .collect();
            op.tip = r.tip_amount.map(|d| d.0);
            op.totals = Some(Totals {
                gross: need(r.total_amount, "/total_amount")?,
                net: need(r.pretax_amount, "/pretax_amount")?,
                tax: need(r.tax_amount, "/tax_amount")?,
                ..Totals::default()
            });
        }
    }
    Ok(op)
}

fn parse_date(s: &str) -> Result<NaiveDate, FieldError> {
    // The OpenAPI example writes a full timestamp although the pattern says YYYY-MM-DD; the
    // date part is what the field means, so a midnight timestamp is accepted as that date.
    let date_part = s.split('T').next().unwrap_or(s);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            RejectClass::InvalidValue,
            "/business_date",
            Some("a date YYYY-MM-DD".into()),
            Some(format!("{s:?}")),
            format!("expected a date YYYY-MM-DD, found {s:?}"),
        )
    })
}

fn line(l: WireLine, returned_possible: bool) -> Line {
    let role = if returned_possible && l.quantity.0 < Decimal::ZERO {
        LineRole::Returned
    } else {
        LineRole::Sold
    };
    Line {
        id: l.id,
        position: None,
        kind: match l.kind {
            Some(LineType::GiftCard) => LineKind::GiftCard,
            Some(LineType::Item) | None => LineKind::Item,
        },
        role,
        description: l.title,
        sku: l.sku_identifier,
        gift_card_id: l.gift_card_id,
        quantity: l.quantity.0,
        unit: None,
        unit_price: l.unit_price.0,
        subtotal: None,
        discounts: Vec::new(),
        cart_allocations: Vec::new(),
        total_gross: l.total_amount.0,
        total_net: None,
        taxes: l
            .taxes
            .into_iter()
            .map(|t| LineTax {
                name: t.name,
                rate: t.rate.0,
                category: None,
                taxable_amount: None,
                tax_amount: t.tax_amount.0,
            })
            .collect(),
    }
}

fn payment(p: WirePayment, cur: Currency, idx: usize) -> Result<Payment, FieldError> {
    let foreign = foreign_cash(
        &p.method,
        p.currency,
        cur,
        &format!("/payments/{idx}/currency"),
    )?;
    let method = PaymentMethod::from_wire(&p.method);
    Ok(Payment {
        id: p.id.or(p.payment_id),
        method,
        direction: match p.status {
            PayStatus::Captured => Direction::In,
            PayStatus::Refunded => Direction::Out,
        },
        amount: p.amount.0,
        foreign_currency: foreign,
        tendered: None,
        change: None,
        reference: p.processor_reference,
        status: Some(match p.status {
            PayStatus::Captured => "captured".into(),
            PayStatus::Refunded => "refunded".into(),
        }),
        card_brand: p.card_brand,
        gift_card_id: p.gift_card_id,
    })
}

fn fiscal(f: WireFiscal) -> Result<Fiscal, FieldError> {
    let qr = f.verification.and_then(|v| v.qr_data);
    match f.regime.as_str() {
        "KassenSichV" => Ok(Fiscal::KassenSichV(TseFiscal {
            tse_serial: f.tss_serial_number,
            client_id: f.pos_client_serial_number,
            signature_algorithm: f.signature_algorithm,
            time_format: f.time_format,
            document_type: f.document_type,
            document_number: f.document_number,
            start: f.start_event.map(WireTseEvent::into_model),
            finish: f.end_event.map(WireTseEvent::into_model),
            qr_data: qr,
        })),
        "RKSV" => {
            let sig = f.signature;
            Ok(Fiscal::Rksv(RksvFiscal {
                cashbox_id: f.cashbox_id,
                document_number: f.document_number,
                document_type: f.document_type,
                certificate_serial: f
                    .certificate_serial
                    .or_else(|| sig.as_ref().and_then(|s| s.certificate_serial.clone())),
                signed_at: sig.as_ref().and_then(|s| s.signed_at).map(|t| t.0),
                transaction_counter: sig.as_ref().and_then(|s| s.transaction_counter),
                turnover_counter: sig.as_ref().and_then(|s| s.turnover_counter).map(|d| d.0),
                signature: sig.and_then(|s| s.signature),
                transmitted_at: f.transmitted_at.map(|t| t.0),
                qr_data: qr,
            }))
        }
        "RT" => {
            let sig = f.signature;
            Ok(Fiscal::Rt(RtFiscal {
                rt_serial: f.rt_serial,
                rt_firmware: f.rt_firmware,
                document_number: f.document_number,
                document_type: f.document_type,
                daily_closing_number: f.daily_closing_number,
                progressive_number: f.progressive_number,
                lottery_code: f.lottery_code,
                signed_at: sig.as_ref().and_then(|s| s.signed_at).map(|t| t.0),
                signature: sig.and_then(|s| s.signature),
                transmitted_at: f.transmitted_at.map(|t| t.0),
            }))
        }
        other => Err(FieldError::new(
            RejectClass::UnknownValue,
            "/fiscal_information/regime",
            Some("one of `KassenSichV`, `RKSV`, `RT`".into()),
            Some(format!("`{other}`")),
            format!("expected one of `KassenSichV`, `RKSV`, `RT`, found `{other}`"),
        )),
    }
}
