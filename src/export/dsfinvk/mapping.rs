//! One canonical operation as DSFinV-K Vorgänge: header, lines, payments, TSE transaction and
//! references, before they become table rows.
//!
//! Every choice below is listed with its spec section in docs/dsfinvk-mapping.md. Signs follow
//! DSFinV-K, not the wire: money to the customer and goods coming back are negative, so that a
//! Vorgang's lines, VAT rows and payments all sum to its UMS_BRUTTO (spec §4 V2, V3, V6).

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};

use super::Error;
use super::tables::{BON_TYP, ust_schluessel};
use crate::model::money::{checked_sum, round_commercial};
use crate::model::{
    CashEvent, Direction, Fiscal, LifecycleState, Line, LineKind, LineRole, Operation,
    OperationKind, PaymentMethod, WireShape,
};
use crate::regime::kassensichv::qr::split_qr;

/// Where an earlier Vorgang landed, for references.csv.
#[derive(Debug, Clone)]
pub struct Target {
    /// Z_NR of its closing.
    pub z_nr: u64,
    /// Its BON_ID.
    pub bon_id: String,
    /// Its BON_ENDE, as written.
    pub bon_ende: DateTime<FixedOffset>,
}

/// One line of a Vorgang.
#[derive(Debug, Clone, PartialEq)]
pub struct VLine {
    /// ARTIKELTEXT.
    pub text: String,
    /// GV_TYP.
    pub gv_typ: &'static str,
    /// GUTSCHEIN_NR.
    pub gutschein_nr: Option<String>,
    /// ART_NR.
    pub art_nr: Option<String>,
    /// MENGE (signed).
    pub menge: Option<Decimal>,
    /// EINHEIT.
    pub einheit: Option<String>,
    /// STK_BR.
    pub stk_br: Option<Decimal>,
    /// UST_SCHLUESSEL.
    pub key: u32,
    /// POS_BRUTTO.
    pub brutto: Decimal,
    /// POS_NETTO.
    pub netto: Decimal,
    /// POS_UST.
    pub ust: Decimal,
    /// itemamounts: base amount and discount (both signed), when a line discount applies.
    pub price_parts: Option<(Decimal, Decimal)>,
}

/// One payment row of a Vorgang.
#[derive(Debug, Clone, PartialEq)]
pub struct VPayment {
    /// ZAHLART_TYP.
    pub typ: &'static str,
    /// ZAHLART_NAME.
    pub name: Option<String>,
    /// ZAHLWAEH_CODE.
    pub currency: String,
    /// ZAHLWAEH_BETRAG, for foreign currency.
    pub foreign_amount: Option<Decimal>,
    /// BASISWAEH_BETRAG.
    pub base_amount: Decimal,
}

/// The TSE transaction of a Vorgang.
#[derive(Debug, Clone, PartialEq)]
pub struct VTse {
    /// TSE serial (hex), to find its TSE_ID.
    pub serial: String,
    /// Client id the TSE signed for.
    pub client_id: Option<String>,
    /// Algorithm and time format as the block or QR code states them.
    pub algorithm: Option<String>,
    /// logTime format.
    pub time_format: Option<String>,
    /// Public key as the block or QR code states it.
    pub public_key: Option<String>,
    /// TSE_TANR.
    pub tanr: u64,
    /// TSE_TA_START.
    pub start: DateTime<Utc>,
    /// TSE_TA_ENDE.
    pub end: DateTime<Utc>,
    /// TSE_TA_VORGANGSART.
    pub process_type: String,
    /// TSE_TA_SIGZ.
    pub sigz: u64,
    /// TSE_TA_SIG.
    pub signature: String,
    /// TSE_VORGANGSDATEN.
    pub process_data: Option<String>,
}

/// One reference row.
#[derive(Debug, Clone, PartialEq)]
pub struct VRef {
    /// REF_TYP.
    pub typ: &'static str,
    /// REF_NAME.
    pub name: Option<&'static str>,
    /// REF_DATUM, REF_Z_NR for a Transaktion.
    pub target: Option<(DateTime<FixedOffset>, u64)>,
    /// REF_BON_ID.
    pub bon_id: String,
}

/// One Vorgang (transactions.csv row and everything hanging off it).
#[derive(Debug, Clone, PartialEq)]
pub struct Vorgang {
    /// BON_ID.
    pub bon_id: String,
    /// BON_NR, when the operation carries its own number.
    pub bon_nr: Option<u64>,
    /// BON_TYP.
    pub bon_typ: &'static str,
    /// BON_STORNO.
    pub storno: bool,
    /// BON_START.
    pub start: DateTime<FixedOffset>,
    /// BON_ENDE.
    pub end: DateTime<FixedOffset>,
    /// BEDIENER_ID, BEDIENER_NAME.
    pub cashier: (String, Option<String>),
    /// UMS_BRUTTO.
    pub ums_brutto: Decimal,
    /// KUNDE_NAME, KUNDE_ID, KUNDE_USTID.
    pub customer: (Option<String>, Option<String>, Option<String>),
    /// BON_NOTIZ.
    pub notiz: Option<String>,
    /// Lines.
    pub lines: Vec<VLine>,
    /// Payments.
    pub payments: Vec<VPayment>,
    /// TSE transaction.
    pub tse: Option<VTse>,
    /// References.
    pub refs: Vec<VRef>,
}

impl Vorgang {
    /// Whether the Vorgang feeds the closing's aggregates (spec §4.1: `Beleg` only).
    pub fn is_beleg(&self) -> bool {
        self.bon_typ == "Beleg"
    }
}

/// BEDIENER_ID of an operation that names no cashier (session records of the v1.1 shape).
pub const UNKNOWN_CASHIER: &str = "unbekannt";

/// What the mapping needs besides the operation.
pub struct Context<'a> {
    /// The location's time zone.
    pub tz: Tz,
    /// Every operation of the register by id (originals of voids).
    pub by_id: &'a HashMap<&'a str, &'a Operation>,
    /// Where each operation's Vorgang landed.
    pub targets: &'a HashMap<&'a str, Target>,
}

impl Context<'_> {
    fn local(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&self.tz).fixed_offset()
    }
}

fn op_err(op: &Operation, message: impl Into<String>) -> Error {
    Error::Operation {
        operation: op.id.clone(),
        message: message.into(),
    }
}

fn neg_if(neg: bool, v: Decimal) -> Decimal {
    if neg { -v } else { v }
}

fn add(a: Decimal, b: Decimal, op: &Operation) -> Result<Decimal, Error> {
    a.checked_add(b)
        .ok_or_else(|| op_err(op, "amounts overflow"))
}

/// The Vorgänge of `op`: none for records that move no money and were never signed, one for
/// most, two for a v1.1 operation voided afterwards (the original and its reversal).
pub fn map_operation(op: &Operation, ctx: &Context<'_>) -> Result<Vec<Vorgang>, Error> {
    use LifecycleState as S;
    use OperationKind as K;
    let mut out = Vec::new();
    match (op.kind, op.state) {
        // Only a Vorgang whose TSE transaction had started must be recorded (spec §3.1).
        (k, S::Cancelled) if k.moves_goods() && tse_of(op)?.is_some() => {
            let mut v = header(op, ctx, "AVBelegabbruch")?;
            v.ums_brutto = Decimal::ZERO;
            out.push(v);
        }
        (K::Void, S::Completed) => {
            let original = op
                .references
                .original_operation_id
                .as_deref()
                .and_then(|id| ctx.by_id.get(id).copied());
            let mut v = match original {
                Some(orig) => {
                    let mut v = goods(orig, ctx, true)?;
                    let h = header(op, ctx, "Beleg")?;
                    v.bon_id = h.bon_id;
                    v.bon_nr = h.bon_nr;
                    v.start = h.start;
                    v.end = h.end;
                    v.cashier = h.cashier;
                    v.tse = h.tse;
                    v.refs = Vec::new();
                    v
                }
                None => goods(op, ctx, true)?,
            };
            v.bon_typ = signed_type(op).unwrap_or("Beleg");
            v.storno = true;
            v.refs = references(op, ctx);
            out.push(v);
        }
        (k, S::Completed | S::Voided) if k.moves_goods() => {
            let v = goods(op, ctx, false)?;
            if op.state == S::Voided {
                let mut reversal = goods(op, ctx, true)?;
                reversal.bon_id = format!("{}-storno", op.id);
                reversal.bon_nr = None;
                reversal.tse = None;
                reversal.storno = true;
                if let Some(t) = op.timestamps.voided {
                    reversal.start = ctx.local(t.utc());
                    reversal.end = reversal.start;
                }
                reversal.refs = vec![VRef {
                    typ: "Transaktion",
                    name: None,
                    target: None,
                    bon_id: v.bon_id.clone(),
                }];
                out.push(v);
                out.push(reversal);
            } else {
                out.push(v);
            }
        }
        (
            K::CashMovement
            | K::SessionCashAdjustment
            | K::SessionOpen
            | K::SessionCashCount
            | K::SessionClose,
            S::Completed,
        ) => {
            if let Some(cash) = &op.cash
                && let Some(amount) = cash.booked_amount()
            {
                let (gv, reason) = match cash {
                    CashEvent::Movement { reason, .. } => {
                        (movement_gv(reason.as_deref(), amount), reason.as_deref())
                    }
                    CashEvent::Open { .. } => ("Anfangsbestand", None),
                    CashEvent::Count { .. } => ("DifferenzSollIst", None),
                    CashEvent::Close { .. } => ("Geldtransit", None),
                };
                out.push(cash_vorgang(op, ctx, gv, amount, reason)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

/// GV_TYP of a cash movement by its reason (spec §3.2: cash-only business cases).
pub fn movement_gv(reason: Option<&str>, amount: Decimal) -> &'static str {
    match reason {
        Some("float" | "bank_deposit" | "bank_withdrawal" | "safe" | "transfer" | "change") => {
            "Geldtransit"
        }
        Some("private_withdrawal" | "owner_withdrawal") => "Privatentnahme",
        Some("private_deposit" | "owner_deposit") => "Privateinlage",
        Some("wage" | "salary" | "payroll") => "Lohnzahlung",
        _ if amount.is_sign_negative() => "Auszahlung",
        _ => "Einzahlung",
    }
}

/// The Vorgangstyp the TSE signed, when it is a BON_TYP.
fn signed_type(op: &Operation) -> Option<&'static str> {
    let Some(Fiscal::KassenSichV(t)) = &op.fiscal else {
        return None;
    };
    let finish = t.finish.as_ref()?;
    if finish.process_type.as_deref() != Some("Kassenbeleg-V1") {
        return None;
    }
    let pd = finish.process_data.as_deref()?;
    let vorgang = pd.split('^').next()?;
    BON_TYP.values.iter().copied().find(|v| *v == vorgang)
}

/// The header fields shared by every Vorgang of `op`; lines, payments and UMS_BRUTTO empty.
fn header(op: &Operation, ctx: &Context<'_>, default_type: &'static str) -> Result<Vorgang, Error> {
    let end = super::closing::effective_utc(op)?;
    let start = op
        .timestamps
        .started
        .or(op.timestamps.created)
        .map(|t| t.utc())
        .filter(|s| *s <= end)
        .unwrap_or(end);
    let customer = op.customer.as_ref();
    let notes: Vec<&str> = op
        .notes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Vorgang {
        bon_id: op.id.clone(),
        bon_nr: op.sequence_number,
        bon_typ: signed_type(op).unwrap_or(default_type),
        storno: false,
        start: ctx.local(start),
        end: ctx.local(end),
        cashier: match &op.cashier {
            Some(c) => (c.id.clone(), c.name.clone()),
            None => (UNKNOWN_CASHIER.to_string(), None),
        },
        ums_brutto: Decimal::ZERO,
        customer: (
            customer.and_then(|c| c.name.clone()),
            customer.and_then(|c| c.id.clone()),
            customer
                .filter(|c| c.tax_id_type.as_deref() == Some("vat_id"))
                .and_then(|c| c.tax_id.clone()),
        ),
        notiz: (!notes.is_empty()).then(|| notes.join("; ")),
        lines: Vec::new(),
        payments: Vec::new(),
        tse: tse_of(op)?,
        refs: Vec::new(),
    })
}

/// A Vorgang of one cash-only business case with key 5, paid in cash (spec §3.2).
fn cash_vorgang(
    op: &Operation,
    ctx: &Context<'_>,
    gv_typ: &'static str,
    amount: Decimal,
    reason: Option<&str>,
) -> Result<Vorgang, Error> {
    let mut v = header(op, ctx, "Beleg")?;
    v.ums_brutto = amount;
    v.lines.push(VLine {
        text: match reason {
            Some(r) => format!("{gv_typ} ({r})"),
            None => gv_typ.to_string(),
        },
        gv_typ,
        gutschein_nr: None,
        art_nr: None,
        menge: None,
        einheit: None,
        stk_br: None,
        key: 5,
        brutto: amount,
        netto: amount,
        ust: Decimal::ZERO,
        price_parts: None,
    });
    v.payments.push(VPayment {
        typ: "Bar",
        name: None,
        currency: op.currency.code().to_string(),
        foreign_amount: None,
        base_amount: amount,
    });
    Ok(v)
}

/// The date a line's VAT rate is judged by: the operation's local day.
fn supply_date(op: &Operation, ctx: &Context<'_>) -> Result<NaiveDate, Error> {
    Ok(ctx.local(super::closing::effective_utc(op)?).date_naive())
}

fn key_for(op: &Operation, line: &Line, rate: Decimal, date: NaiveDate) -> Result<u32, Error> {
    ust_schluessel(rate, date).ok_or_else(|| {
        op_err(
            op,
            format!(
                "line {:?}: VAT rate {rate} on {date} has no DSFinV-K key (UST_SCHLUESSEL)",
                line.description
            ),
        )
    })
}

/// A sale, return, exchange, deposit or training as a Vorgang; `negate` reverses every
/// amount (a void).
fn goods(op: &Operation, ctx: &Context<'_>, negate: bool) -> Result<Vorgang, Error> {
    let default_type = if op.kind == OperationKind::Training {
        "AVTraining"
    } else {
        "Beleg"
    };
    let mut v = header(op, ctx, default_type)?;
    let neg_op = (op.kind == OperationKind::Return) ^ negate;
    let date = supply_date(op, ctx)?;
    let allocations = cart_allocations(op)?;
    // Cart discount per key: gross and VAT, positive amounts taken off.
    let mut rabatt: Vec<(u32, Decimal, Decimal)> = Vec::new();
    let mut has_tip_line = false;
    for (idx, line) in op.lines.iter().enumerate() {
        has_tip_line |= line.kind == LineKind::Tip;
        // Register shape: returned lines are positive, their role says they come back; v1.1
        // lines carry the sign already.
        let role_neg = line.role == LineRole::Returned && op.shape == WireShape::Register;
        let neg = neg_op ^ role_neg;
        let rate = match line.taxes.as_slice() {
            [] => Decimal::ZERO,
            [first, rest @ ..] => {
                if rest.iter().any(|t| t.rate != first.rate) {
                    return Err(op_err(
                        op,
                        format!(
                            "line {:?} has several VAT rates; DSFinV-K lines have one",
                            line.description
                        ),
                    ));
                }
                first.rate
            }
        };
        let key = match line.kind {
            LineKind::GiftCard | LineKind::Tip => 5,
            _ if line.taxes.is_empty() => 5,
            _ => key_for(op, line, rate, date)?,
        };
        let tax = checked_sum(line.taxes.iter().map(|t| t.tax_amount))
            .ok_or_else(|| op_err(op, "tax amounts overflow"))?;
        let alloc = allocations.get(idx).copied().unwrap_or(Decimal::ZERO);
        let alloc_ust = if alloc.is_zero() {
            Decimal::ZERO
        } else {
            let divisor = add(Decimal::ONE, rate, op)?;
            let vat = alloc
                .checked_mul(rate)
                .and_then(|x| x.checked_div(divisor))
                .ok_or_else(|| op_err(op, "cart discount VAT overflows"))?;
            round_commercial(vat, 2)
        };
        // Register shape: the line total is after the cart discount; v1.1: before it.
        let pre_cart = if op.shape == WireShape::Register {
            add(line.total_gross, alloc, op)?
        } else {
            line.total_gross
        };
        let brutto = neg_if(neg, pre_cart);
        let ust = neg_if(neg, add(tax, alloc_ust, op)?);
        if !alloc.is_zero() {
            match rabatt.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, g, u)) => {
                    *g = add(*g, neg_if(neg, alloc), op)?;
                    *u = add(*u, neg_if(neg, alloc_ust), op)?;
                }
                None => rabatt.push((key, neg_if(neg, alloc), neg_if(neg, alloc_ust))),
            }
        }
        let line_discount = checked_sum(line.discounts.iter().map(|d| d.amount))
            .ok_or_else(|| op_err(op, "line discounts overflow"))?;
        let gv_typ = match (line.kind, op.kind) {
            (LineKind::GiftCard, _) => "MehrzweckgutscheinKauf",
            (LineKind::Tip, _) => "TrinkgeldAN",
            (LineKind::Deposit, _) if brutto.is_sign_negative() => "PfandRueckzahlung",
            (LineKind::Deposit, _) => "Pfand",
            (LineKind::Item, OperationKind::Deposit) => "Anzahlungseinstellung",
            (LineKind::Item, _) => "Umsatz",
        };
        // A sold voucher is an article of the till with its own number (BSP 02: ART_NR
        // 675549); a tip is not.
        let article = matches!(
            line.kind,
            LineKind::Item | LineKind::Deposit | LineKind::GiftCard
        );
        v.lines.push(VLine {
            text: line.description.clone(),
            gv_typ,
            gutschein_nr: line.gift_card_id.clone(),
            art_nr: line.sku.clone().filter(|_| article),
            menge: Some(neg_if(neg, line.quantity)),
            einheit: line.unit.clone().filter(|u| u != "piece"),
            stk_br: Some(line.unit_price),
            key,
            brutto,
            netto: brutto - ust,
            ust,
            price_parts: (!line_discount.is_zero()).then(|| {
                (
                    neg_if(neg, pre_cart.saturating_add(line_discount)),
                    neg_if(neg, -line_discount),
                )
            }),
        });
    }
    for (key, gross, vat) in rabatt {
        let label = op
            .cart_discounts
            .iter()
            .filter_map(|d| d.label.as_deref().or(d.code.as_deref()))
            .collect::<Vec<_>>()
            .join(", ");
        v.lines.push(VLine {
            text: if label.is_empty() {
                "Rabatt".into()
            } else {
                label
            },
            gv_typ: "Rabatt",
            gutschein_nr: None,
            art_nr: None,
            menge: None,
            einheit: None,
            stk_br: None,
            key,
            brutto: -gross,
            netto: vat - gross,
            ust: -vat,
            price_parts: None,
        });
    }
    if !has_tip_line && let Some(tip) = op.tip.filter(|t| !t.is_zero()) {
        let tip = neg_if(neg_op, tip);
        v.lines.push(VLine {
            text: "Trinkgeld".into(),
            gv_typ: "TrinkgeldAN",
            gutschein_nr: None,
            art_nr: None,
            menge: None,
            einheit: None,
            stk_br: None,
            key: 5,
            brutto: tip,
            netto: tip,
            ust: Decimal::ZERO,
            price_parts: None,
        });
    }
    // Payments; a gift card redeemed is no payment but a Mehrzweckgutschein line (BSP 02).
    let mut redeemed = Decimal::ZERO;
    for p in &op.payments {
        let out = p.direction == Direction::Out;
        let amount = neg_if(out ^ negate, p.amount.abs());
        if p.method == PaymentMethod::GiftCard {
            redeemed = add(redeemed, amount, op)?;
            v.lines.push(VLine {
                text: "Mehrzweckgutschein Einlösung".into(),
                gv_typ: "MehrzweckgutscheinEinloesung",
                gutschein_nr: p.gift_card_id.clone(),
                art_nr: None,
                menge: None,
                einheit: None,
                stk_br: None,
                key: 5,
                brutto: -amount,
                netto: -amount,
                ust: Decimal::ZERO,
                price_parts: None,
            });
            continue;
        }
        let (typ, name) = payment_type(&p.method, p.card_brand.as_deref());
        let (currency, foreign_amount) = match p.foreign_currency {
            Some(c) => (
                c.code().to_string(),
                p.tendered.map(|t| neg_if(out ^ negate, t.abs())),
            ),
            None => (op.currency.code().to_string(), None),
        };
        match v
            .payments
            .iter_mut()
            .find(|x| x.typ == typ && x.name == name && x.currency == currency)
        {
            Some(x) => {
                x.base_amount = add(x.base_amount, amount, op)?;
                if let (Some(a), Some(b)) = (x.foreign_amount, foreign_amount) {
                    x.foreign_amount = Some(add(a, b, op)?);
                }
            }
            None => v.payments.push(VPayment {
                typ,
                name,
                currency,
                foreign_amount,
                base_amount: amount,
            }),
        }
    }
    let stated = match &op.totals {
        Some(t) => neg_if(neg_op, t.gross),
        None => checked_sum(v.lines.iter().map(|l| l.brutto))
            .ok_or_else(|| op_err(op, "line amounts overflow"))?,
    };
    v.ums_brutto = stated
        .checked_sub(redeemed)
        .ok_or_else(|| op_err(op, "amounts overflow"))?;
    if matches!(v.bon_typ, "AVTraining" | "AVBelegabbruch" | "AVSachbezug") {
        // These Vorgänge must not be paid (spec §3.1).
        v.payments.clear();
    } else if v.payments.is_empty() {
        v.payments.push(VPayment {
            typ: "Keine",
            name: None,
            currency: op.currency.code().to_string(),
            foreign_amount: None,
            base_amount: Decimal::ZERO,
        });
    }
    if !negate {
        v.refs = references(op, ctx);
    }
    Ok(v)
}

/// ZAHLART_TYP and ZAHLART_NAME of a payment method (spec §3.3).
pub fn payment_type(method: &PaymentMethod, brand: Option<&str>) -> (&'static str, Option<String>) {
    let brand_name = brand.map(str::to_string);
    match method {
        PaymentMethod::Cash => ("Bar", None),
        PaymentMethod::Card => {
            let b = brand.unwrap_or("").to_ascii_lowercase();
            let typ = match b.as_str() {
                "girocard" | "maestro" | "vpay" | "v_pay" | "ec" => "ECKarte",
                "visa" | "mastercard" | "amex" | "american_express" | "diners" | "jcb"
                | "discover" | "unionpay" => "Kreditkarte",
                _ => "Unbar",
            };
            (typ, brand_name)
        }
        PaymentMethod::Wallet => ("ElZahlungsdienstleister", brand_name),
        PaymentMethod::Voucher => ("Unbar", Some("voucher".into())),
        PaymentMethod::GiftCard => ("Keine", None),
        PaymentMethod::Online => ("Unbar", Some("online".into())),
        PaymentMethod::Other(s) => ("Unbar", Some(s.clone())),
    }
}

/// References of an operation to the one it returns, exchanges, voids or captures.
fn references(op: &Operation, ctx: &Context<'_>) -> Vec<VRef> {
    let mut refs = Vec::new();
    if let Some(id) = op.references.original_operation_id.as_deref() {
        refs.push(match ctx.targets.get(id) {
            Some(t) => VRef {
                typ: "Transaktion",
                name: None,
                target: Some((t.bon_ende, t.z_nr)),
                bon_id: t.bon_id.clone(),
            },
            // The original is outside this export: name it, without a closing to point to.
            None => VRef {
                typ: "ExterneSonstige",
                name: Some("Ursprungsvorgang außerhalb des Exports"),
                target: None,
                bon_id: id.to_string(),
            },
        });
    }
    if let Some(id) = op.references.external_operation_id.as_deref() {
        refs.push(VRef {
            typ: "ExterneSonstige",
            name: Some("Externer Ursprungsvorgang"),
            target: None,
            bon_id: id.to_string(),
        });
    }
    refs
}

/// Each line's share of the cart discounts (positive), by line index.
///
/// The register shape states the shares per line. The v1.1 shape states only the cart
/// discount; it is spread over the goods lines in proportion to their amount, cent by cent
/// with the largest remainder (ties to the earlier line), as the POS does when it computes
/// the line VAT.
fn cart_allocations(op: &Operation) -> Result<Vec<Decimal>, Error> {
    let stated: Vec<Decimal> = op
        .lines
        .iter()
        .map(|l| checked_sum(l.cart_allocations.iter().map(|a| a.amount)))
        .collect::<Option<_>>()
        .ok_or_else(|| op_err(op, "cart discount shares overflow"))?;
    if op.shape == WireShape::Register || op.cart_discounts.is_empty() {
        return Ok(stated);
    }
    let amount = checked_sum(op.cart_discounts.iter().map(|d| d.amount))
        .ok_or_else(|| op_err(op, "cart discounts overflow"))?;
    let cents = |d: Decimal| -> Option<i128> {
        let c = d.checked_mul(Decimal::ONE_HUNDRED)?;
        if c.fract().is_zero() {
            i128::try_from(c).ok()
        } else {
            None
        }
    };
    let bad = || op_err(op, "cart discount or line amounts are not whole cents");
    let amount_c = cents(amount).ok_or_else(bad)?;
    let mut bases = Vec::with_capacity(op.lines.len());
    for l in &op.lines {
        let b = if l.kind == LineKind::Item {
            cents(l.total_gross).ok_or_else(bad)?.max(0)
        } else {
            -1
        };
        bases.push(b);
    }
    let total: i128 = bases.iter().filter(|b| **b >= 0).sum();
    let mut shares = vec![0i128; bases.len()];
    if total <= 0 || amount_c == 0 {
        return Ok(vec![Decimal::ZERO; bases.len()]);
    }
    let mut rems: Vec<i128> = vec![-1; bases.len()];
    let mut given = 0i128;
    for (i, b) in bases.iter().enumerate() {
        if *b < 0 {
            continue;
        }
        let num = amount_c.checked_mul(*b).ok_or_else(bad)?;
        shares[i] = num / total;
        rems[i] = num % total;
        given += shares[i];
    }
    for _ in 0..(amount_c - given).max(0) {
        let mut best: Option<usize> = None;
        for (i, r) in rems.iter().enumerate() {
            if *r >= 0 && best.is_none_or(|b| *r > rems[b]) {
                best = Some(i);
            }
        }
        let Some(b) = best else { break };
        shares[b] += 1;
        rems[b] = -1;
    }
    Ok(shares
        .into_iter()
        .map(|s| {
            Decimal::try_from_i128_with_scale(s, 2)
                .unwrap_or_default()
                .round_dp_with_strategy(2, RoundingStrategy::ToZero)
        })
        .collect())
}

/// The TSE transaction of an operation's fiscal block, when it is complete enough to fill
/// transactions_tse.csv (counters from the receipt QR code, spec §5.2).
fn tse_of(op: &Operation) -> Result<Option<VTse>, Error> {
    let Some(Fiscal::KassenSichV(t)) = &op.fiscal else {
        return Ok(None);
    };
    let Some(serial) = t.tse_serial.clone() else {
        return Ok(None);
    };
    let qr = t.qr_data.as_deref().and_then(|q| split_qr(q).ok());
    let finish = t.finish.clone().unwrap_or_default();
    let num = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok());
    let tanr = num(qr.as_ref().map(|q| q.transaction_number)).or(finish.transaction_counter);
    let sigz = num(qr.as_ref().map(|q| q.signature_counter));
    let qr_time = |s: Option<&str>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    };
    let end = finish
        .signed_at
        .map(|t| t.utc())
        .or_else(|| qr_time(qr.as_ref().map(|q| q.log_time)));
    let start = t
        .start
        .as_ref()
        .and_then(|s| s.signed_at)
        .map(|t| t.utc())
        .or_else(|| qr_time(qr.as_ref().map(|q| q.start_time)))
        .or(end);
    let process_type = finish
        .process_type
        .clone()
        .or_else(|| qr.as_ref().map(|q| q.process_type.to_string()));
    let signature = finish
        .signature
        .clone()
        .or_else(|| qr.as_ref().map(|q| q.signature.to_string()));
    let (Some(tanr), Some(sigz), Some(start), Some(end), Some(process_type), Some(signature)) =
        (tanr, sigz, start, end, process_type, signature)
    else {
        return Ok(None);
    };
    let process_data = finish
        .process_data
        .clone()
        .or_else(|| qr.as_ref().map(|q| q.process_data.to_string()))
        // TSE_VORGANGSDATEN is optional: left empty when it would not survive the column
        // (over 1000 characters, or blanks at either end, Anhang E 20).
        .filter(|pd| pd.chars().count() <= 1000 && pd.trim() == pd && !pd.is_empty());
    Ok(Some(VTse {
        serial,
        client_id: t
            .client_id
            .clone()
            .or_else(|| qr.as_ref().map(|q| q.client_id.to_string())),
        algorithm: t
            .signature_algorithm
            .clone()
            .or_else(|| qr.as_ref().map(|q| q.algorithm.to_string())),
        time_format: t
            .time_format
            .clone()
            .or_else(|| qr.as_ref().map(|q| q.time_format.to_string())),
        public_key: finish
            .public_key
            .clone()
            .or_else(|| qr.as_ref().map(|q| q.public_key.to_string())),
        tanr,
        start,
        end,
        process_type,
        sigz,
        signature,
        process_data,
    }))
}
