//! Writes a draft as one line of the `/operations` v1.1 shape.
//!
//! Field names follow docs/input.md ("`/operations` v1.1 shape") and the OpenAPI document 004:
//! amounts are decimal strings with exactly two decimals, timestamps carry the local offset,
//! session events are operations of their own, and `fiscal_information` is discriminated by
//! `regime` (`KassenSichV`, `RKSV`, `RT`). Absent optional fields are omitted.

use super::cart::{Line, LineKind, Method, Pay};
use super::fiscal::{DE_PROCESS_TYPE, DE_TIME_FORMAT, Signed};
use super::json::{Json, k};
use super::op::{Kind, State, View};
use super::text::{Sid, Stamps, TsStyle};
use super::wire_register::{gift_card_id, sub_id};

/// `sign` is −1 for the returned lines of an exchange, which carry a negative quantity.
fn line(w: &mut Json<'_>, v: &View<'_>, l: &Line, tail: &'static str, pos: usize, sign: i64) {
    let d = v.draft;
    w.elem();
    w.open();
    w.f_sid(k!("id"), &sub_id("li", &d.suffix, tail, pos));
    w.f_str(
        k!("type"),
        if l.kind == LineKind::GiftCard {
            "gift_card"
        } else {
            "item"
        },
    );
    w.f_text(k!("title"), l.name);
    w.f_int(k!("quantity"), sign * l.qty);
    w.f_amt(k!("unit_price"), l.unit);
    w.f_amt(k!("total_amount"), sign * l.subtotal);
    w.f_text(k!("sku_identifier"), l.sku);
    if l.gift_card != 0 {
        w.f_sid(k!("gift_card_id"), &gift_card_id(&v.spec.tag, l.gift_card));
    }
    w.f_arr(k!("taxes"));
    w.elem();
    w.open();
    w.f_sid(k!("id"), &sub_id("tax", &d.suffix, tail, pos));
    w.f_text(k!("name"), l.rate.name);
    w.f_str(k!("rate"), l.rate.wire);
    w.f_amt(k!("tax_amount"), sign * l.tax);
    w.close();
    w.close_arr();
    w.close();
}

fn payment(w: &mut Json<'_>, v: &View<'_>, p: &Pay, i: usize, exchange: bool, processed_at: &Sid) {
    let d = v.draft;
    let cd = v.spec.country.data();
    let electronic = matches!(p.method, Method::Card | Method::Wallet);
    w.elem();
    w.open();
    w.f_sid(k!("id"), &sub_id("pay", &d.suffix, "", i + 1));
    let mut psp = Sid::new();
    psp.push_str("psp-")
        .push_small(&d.suffix)
        .push_byte(b'-')
        .push_num(i as u64 + 1, 1);
    w.f_sid(k!("payment_id"), &psp);
    w.f_str(k!("method"), p.method.wire());
    // Exchange legs are signed (negative = paid out); sale and return legs are positive and the
    // status gives the direction (OpenAPI `Payment.status`).
    w.f_amt(k!("amount"), if exchange { p.signed() } else { p.amount });
    w.f_str(k!("currency"), if p.foreign { "CHF" } else { "EUR" });
    w.f_str(
        k!("status"),
        if p.outbound { "refunded" } else { "captured" },
    );
    if electronic {
        w.f_str(
            k!("processor"),
            cd.processors[p.auth as usize % cd.processors.len()],
        );
        w.f_str(k!("card_brand"), p.scheme);
        let mut r = Sid::new();
        r.push_str("ref_").push_num(u64::from(p.auth), 8);
        w.f_sid(k!("processor_reference"), &r);
    }
    w.f_sid(k!("processed_at"), processed_at);
    if p.method == Method::GiftCard {
        w.f_sid(k!("gift_card_id"), &gift_card_id(&v.spec.tag, p.gift_card));
    }
    w.close();
}

fn fiscal_information(w: &mut Json<'_>, v: &View<'_>, st: &mut Stamps) {
    let f = v.fiscal;
    let id = &v.spec.identity;
    let mut ts = |secs: i64| st.get(secs);
    if f.signed == Signed::None {
        return;
    }
    w.f_obj(k!("fiscal_information"));
    match f.signed {
        Signed::De => {
            w.f_str(k!("regime"), "KassenSichV");
            w.f_sid(k!("document_number"), &f.doc_number);
            w.f_str(k!("document_type"), f.doc_type);
            w.f_str(k!("tss_serial_number"), &id.tse_serial);
            w.f_str(k!("pos_client_serial_number"), &id.client_id);
            w.f_str(k!("signature_algorithm"), id.tse_algorithm());
            w.f_str(k!("time_format"), DE_TIME_FORMAT);
            w.f_obj(k!("start_event"));
            w.f_sid(k!("signed_at"), &ts(f.start_secs));
            w.close();
            w.f_obj(k!("end_event"));
            w.f_sid(k!("signed_at"), &ts(f.end_secs));
            w.f_int(k!("transaction_counter"), f.counter as i64);
            w.f_sid(k!("signature"), &f.end_sig);
            w.f_str(k!("public_key"), &id.public_key);
            w.f_str(k!("process_type"), DE_PROCESS_TYPE);
            w.f_str(k!("process_data"), &f.process_data);
            w.close();
            w.f_obj(k!("verification"));
            w.f_str(k!("qr_data"), &f.qr);
            w.close();
        }
        Signed::At => {
            w.f_str(k!("regime"), "RKSV");
            w.f_sid(k!("document_number"), &f.doc_number);
            w.f_str(k!("document_type"), f.doc_type);
            w.f_str(k!("cashbox_id"), &id.cashbox_id);
            w.f_str(k!("certificate_serial"), &id.cert_serial);
            w.f_obj(k!("signature"));
            w.f_sid(k!("signed_at"), &ts(f.end_secs));
            w.f_int(k!("transaction_counter"), f.counter as i64);
            w.f_amt(k!("turnover_counter"), f.turnover);
            w.f_sid(k!("signature"), &f.end_sig);
            w.f_str(k!("certificate_serial"), &id.cert_serial);
            w.close();
            w.f_obj(k!("verification"));
            w.f_str(k!("qr_data"), &f.qr);
            w.close();
        }
        Signed::It => {
            w.f_str(k!("regime"), "RT");
            w.f_sid(k!("document_number"), &f.doc_number);
            w.f_str(k!("document_type"), f.doc_type);
            if let Some(t) = f.transmitted {
                w.f_sid(k!("transmitted_at"), &ts(t));
            }
            w.f_str(k!("rt_serial"), &id.matricola);
            w.f_str(k!("rt_firmware"), &id.firmware);
            w.f_int(k!("progressive_number"), f.counter as i64);
            w.f_int(k!("daily_closing_number"), i64::from(f.z));
            if let Some(l) = &v.draft.lottery {
                w.f_sid(k!("lottery_code"), l);
            }
            w.f_obj(k!("signature"));
            w.f_sid(k!("signed_at"), &ts(f.end_secs));
            w.f_sid(k!("signature"), &f.end_sig);
            w.close();
        }
        Signed::None => unreachable!(),
    }
    w.close();
}

/// Writes `v` as one JSON line (without the newline) to `out`.
pub(crate) fn write(out: &mut Vec<u8>, v: &View<'_>) {
    let d = v.draft;
    let mut st = Stamps::new(v.offset, TsStyle::Offset);
    let completed = st.get(d.completed);
    let mut w = Json::new(out);
    w.open();
    w.f_sid(k!("id"), &d.id);
    w.f_str(k!("merchant_id"), &v.spec.merchant_id);
    w.f_str(k!("location_id"), &v.spec.location_id);
    w.f_str(k!("register_id"), &v.spec.register_id);
    w.f_sid(k!("session_id"), &d.session);
    w.f_str(k!("source"), "POS");
    let (status, updated) = match d.state {
        State::Open => ("open", d.started),
        State::Completed | State::Cancelled => ("completed", d.completed),
        State::Voided => ("voided", d.voided_at),
    };
    w.f_str(k!("status"), status);
    w.f_str(k!("currency"), "EUR");
    w.f_sid(k!("external_id"), &d.external_id);
    w.f_int(
        k!("resource_version"),
        if d.state == State::Voided { 2 } else { 1 },
    );
    if d.fiscal_failed {
        w.key(k!("fiscal_information"));
        w.null();
    } else {
        fiscal_information(&mut w, v, &mut st);
    }
    if d.state != State::Open {
        w.f_sid(k!("completed_at"), &completed);
    }
    if d.state == State::Voided {
        w.f_sid(k!("voided_at"), &st.get(d.voided_at));
        w.f_opt_text(k!("void_reason"), d.reason);
    }
    w.f_sid(k!("created_at"), &st.get(d.started));
    w.f_sid(k!("updated_at"), &st.get(updated));
    w.f_str(k!("type"), super::op::operations_wire(d.kind));
    match d.kind {
        Kind::SessionOpen => {
            w.f_amt(k!("opening_balance_amount"), d.opening);
            w.f_opt_text(k!("opening_note"), d.note);
        }
        Kind::SessionCashAdjustment => {
            w.f_amt(k!("cash_amount"), d.cash_amount);
            w.f_opt_text(k!("note"), d.note);
        }
        Kind::SessionCashCount => {
            w.f_amt(k!("counted_closing_amount"), d.counted);
            w.f_amt(k!("expected_closing_amount"), d.expected);
            w.f_amt(k!("closing_cashcount_diff"), d.counted - d.expected);
            w.f_opt_text(k!("discrepancy_note"), d.discrepancy_note);
        }
        Kind::SessionClose => {
            w.f_sid(k!("business_date"), &d.business_date);
            if let Some(a) = d.closing_adj {
                w.f_amt(k!("closing_adjustment_amount"), a);
            }
            w.f_opt_text(k!("closing_adjustment_note"), d.closing_note);
        }
        _ => {
            let t = &v.cart.totals;
            w.f_opt_text(k!("note"), d.note);
            w.f_amt(k!("pretax_amount"), t.gross - t.tax);
            w.f_amt(k!("tax_amount"), t.tax);
            w.f_amt(k!("tip_amount"), v.cart.tip);
            w.f_amt(k!("total_amount"), t.payable);
            w.f_arr(k!("line_items"));
            for (i, l) in v.cart.returned.iter().enumerate() {
                line(&mut w, v, l, "r", i + 1, -1);
            }
            for (i, l) in v.cart.lines.iter().enumerate() {
                line(&mut w, v, l, "", i + 1, 1);
            }
            w.close_arr();
            w.f_arr(k!("payments"));
            let exchange = d.kind == Kind::Exchange;
            for (i, p) in v.cart.pays.iter().enumerate() {
                payment(&mut w, v, p, i, exchange, &completed);
            }
            w.close_arr();
            w.f_arr(k!("cart_level_discounts"));
            if let Some(c) = v.cart.discount {
                w.elem();
                w.open();
                w.f_sid(k!("id"), &sub_id("cdsc", &d.suffix, "", 1));
                w.f_text(k!("description"), c.label);
                w.f_amt(k!("amount"), c.amount);
                w.close();
            }
            w.close_arr();
            if let Some(r) = &d.reference {
                w.f_sid(k!("related_operation_id"), r);
            }
        }
    }
    w.close();
}
