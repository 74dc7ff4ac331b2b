//! Writes a draft as one line of the register-scoped shape (`GET /registers/{id}/operations`).
//!
//! Field names and nesting follow docs/input.md ("Register-scoped shape") and the API
//! documents 001/003: integer minor units, UTC timestamps with `Z`, a `data` block per type,
//! one generic `fiscal` block whose `regime` is `tse`, `rksv` or `rt`. Absent optional fields
//! are omitted rather than written as `null`.

use super::cart::{Line, LineKind, Method, Pay, Totals};
use super::fiscal::{DE_PROCESS_TYPE, DE_TIME_FORMAT, Signed};
use super::json::{Json, Key, k};
use super::op::{Kind, State, View};
use super::text::{Sid, SmallStr, Stamps, TsStyle};

/// `<prefix>_<suffix>_<tail><n>`, e.g. `li_de01_000123_2` or `li_de01_000123_r1`.
pub(crate) fn sub_id(prefix: &str, suffix: &Sid, tail: &str, n: usize) -> Sid {
    let mut s = Sid::new();
    s.push_str(prefix)
        .push_byte(b'_')
        .push_small(suffix)
        .push_byte(b'_')
        .push_str(tail);
    s.push_num(n as u64, 1);
    s
}

/// `gc_de01_000042`.
pub(crate) fn gift_card_id(tag: &str, n: u64) -> Sid {
    let mut s = Sid::new();
    s.push_str("gc_")
        .push_str(tag)
        .push_byte(b'_')
        .push_num(n, 6);
    s
}

/// Four digits, zero-padded.
pub(crate) fn last4(n: u16) -> SmallStr<8> {
    let mut s = SmallStr::<8>::new();
    s.push_num(u64::from(n % 10_000), 4);
    s
}

/// Six-digit authorization code.
pub(crate) fn auth_code(n: u32) -> SmallStr<8> {
    let mut s = SmallStr::<8>::new();
    s.push_num(u64::from(n % 1_000_000), 6);
    s
}

fn flags(kind: LineKind) -> Option<&'static str> {
    match kind {
        LineKind::Pfand => Some("deposit"),
        LineKind::GiftCard => Some("gift_card"),
        LineKind::Tip => Some("tip"),
        LineKind::Item | LineKind::DepositOrder | LineKind::DepositRedeem => None,
    }
}

fn line(w: &mut Json<'_>, v: &View<'_>, l: &Line, tail: &'static str, pos: usize) {
    let d = v.draft;
    w.elem();
    w.open();
    w.f_sid(k!("id"), &sub_id("li", &d.suffix, tail, pos));
    w.f_int(k!("position"), pos as i64);
    w.f_text(k!("description"), l.name);
    w.f_int(k!("quantity"), l.qty);
    w.f_str(k!("unit"), "piece");
    w.f_int(k!("unit_price_gross"), l.unit);
    w.f_text(k!("product_ref"), l.sku);
    if let Some(f) = flags(l.kind) {
        w.f_arr(k!("flags"));
        w.elem();
        w.str(f);
        w.close_arr();
    }
    if l.gift_card != 0 {
        w.f_sid(k!("gift_card_id"), &gift_card_id(&v.spec.tag, l.gift_card));
    }
    w.f_int(k!("subtotal_gross"), l.subtotal);
    w.f_arr(k!("line_discounts"));
    if let Some(ld) = l.discount {
        w.elem();
        w.open();
        w.f_sid(k!("id"), &sub_id("ldsc", &d.suffix, tail, pos));
        w.f_str(k!("source"), ld.source);
        w.f_str(
            k!("type"),
            if ld.rate.is_some() {
                "percentage"
            } else {
                "fixed"
            },
        );
        w.f_text(k!("label"), ld.label);
        w.f_opt_str(k!("rate"), ld.rate);
        w.f_int(k!("amount"), ld.amount);
        w.close();
    }
    w.close_arr();
    w.f_int(k!("line_discount_amount"), l.discount_amount());
    w.f_int(k!("subtotal_after_line_discounts"), l.after_line);
    w.f_arr(k!("cart_discount_allocations"));
    if let (Some(cd), true) = (v.cart.discount, l.cart_alloc != 0) {
        w.elem();
        w.open();
        w.f_sid(k!("discount_id"), &sub_id("cdsc", &d.suffix, "", 1));
        w.f_text(k!("label"), cd.label);
        w.f_int(k!("amount"), l.cart_alloc);
        w.close();
    }
    w.close_arr();
    w.f_int(k!("cart_discount_amount"), l.cart_alloc);
    w.f_int(k!("total_gross"), l.total);
    w.f_obj(k!("tax"));
    w.f_str(k!("rate"), l.rate.wire);
    w.f_str(k!("category"), l.rate.category);
    w.key(k!("included_in_price"));
    w.bool(true);
    w.f_int(k!("taxable_amount"), l.net());
    w.f_int(k!("tax_amount"), l.tax);
    w.close();
    w.f_int(k!("total_net"), l.net());
    w.close();
}

fn lines(w: &mut Json<'_>, v: &View<'_>, key: Key, ls: &[Line], tail: &'static str) {
    w.f_arr(key);
    for (i, l) in ls.iter().enumerate() {
        line(w, v, l, tail, i + 1);
    }
    w.close_arr();
}

fn payment(w: &mut Json<'_>, v: &View<'_>, p: &Pay, i: usize) {
    w.elem();
    w.open();
    w.f_sid(k!("id"), &sub_id("pay", &v.draft.suffix, "", i + 1));
    w.f_str(k!("method"), p.method.wire());
    w.f_str(
        k!("direction"),
        if p.outbound { "outbound" } else { "inbound" },
    );
    w.f_int(k!("amount"), p.amount);
    w.f_str(k!("currency"), if p.foreign { "CHF" } else { "EUR" });
    w.f_str(k!("status"), "approved");
    match p.method {
        Method::Cash => {
            if p.tendered != 0 {
                w.f_obj(k!("cash"));
                w.f_int(k!("amount_tendered"), p.tendered);
                w.close();
            }
        }
        Method::Card => {
            w.f_obj(k!("card"));
            w.f_str(k!("scheme"), p.scheme);
            w.f_sid(k!("last4"), &last4(p.last4));
            w.f_sid(k!("authorization_code"), &auth_code(p.auth));
            w.f_str(k!("terminal_id"), "T-0001");
            w.close();
        }
        Method::Wallet => {
            w.f_obj(k!("wallet"));
            w.f_str(
                k!("provider"),
                if p.auth.is_multiple_of(2) {
                    "apple_pay"
                } else {
                    "google_pay"
                },
            );
            w.f_str(k!("scheme"), p.scheme);
            w.f_sid(k!("last4"), &last4(p.last4));
            w.f_sid(k!("authorization_code"), &auth_code(p.auth));
            w.close();
        }
        Method::GiftCard => {
            w.f_obj(k!("gift_card"));
            w.f_sid(k!("gift_card_id"), &gift_card_id(&v.spec.tag, p.gift_card));
            w.f_sid(k!("last4"), &last4((p.gift_card % 10_000) as u16));
            w.close();
        }
    }
    w.close();
}

fn payments(w: &mut Json<'_>, v: &View<'_>) {
    w.f_arr(k!("payments"));
    for (i, p) in v.cart.pays.iter().enumerate() {
        payment(w, v, p, i);
    }
    w.close_arr();
}

fn totals(w: &mut Json<'_>, t: &Totals) {
    w.f_obj(k!("totals"));
    w.f_int(k!("subtotal_gross"), t.subtotal);
    w.f_int(k!("total_line_discounts"), t.line_discounts);
    w.f_int(k!("subtotal_after_line_discounts"), t.after_line);
    w.f_int(k!("total_cart_discounts"), t.cart_discounts);
    w.f_int(k!("subtotal_after_all_discounts"), t.after_all);
    w.f_int(k!("rounding_adjustment"), 0);
    w.f_int(k!("total_gross"), t.gross);
    w.f_int(k!("total_net"), t.net);
    w.f_int(k!("total_tax"), t.tax);
    w.f_arr(k!("tax_breakdown"));
    for b in &t.breakdown {
        w.elem();
        w.open();
        w.f_str(k!("rate"), b.rate.wire);
        w.f_str(k!("category"), b.rate.category);
        w.f_int(k!("taxable_amount"), b.taxable);
        w.f_int(k!("tax_amount"), b.tax);
        w.f_int(k!("total_gross"), b.gross);
        w.close();
    }
    w.close_arr();
    w.f_int(k!("net_payable"), t.payable);
    w.close();
}

fn fiscal(w: &mut Json<'_>, v: &View<'_>, st: &mut Stamps) {
    let f = v.fiscal;
    let id = &v.spec.identity;
    let mut ts = |secs: i64| st.get(secs);
    if f.signed == Signed::None {
        return;
    }
    w.f_obj(k!("fiscal"));
    match f.signed {
        Signed::De => {
            w.f_str(k!("regime"), "tse");
            w.f_str(k!("document_type"), f.doc_type);
            w.f_sid(k!("document_number"), &f.doc_number);
            w.f_str(k!("tse_serial"), &id.tse_serial);
            w.f_str(k!("client_id"), &id.client_id);
            w.f_str(k!("signature_algorithm"), id.tse_algorithm());
            w.f_str(k!("time_format"), DE_TIME_FORMAT);
            w.f_obj(k!("start_event"));
            w.f_sid(k!("signed_at"), &ts(f.start_secs));
            w.f_int(k!("transaction_counter"), f.counter as i64);
            w.f_sid(k!("signature"), &f.start_sig);
            w.f_str(k!("process_type"), DE_PROCESS_TYPE);
            w.f_str(k!("process_data"), "");
            w.close();
            if f.finished {
                w.f_obj(k!("end_event"));
                w.f_sid(k!("signed_at"), &ts(f.end_secs));
                w.f_int(k!("transaction_counter"), f.counter as i64);
                w.f_sid(k!("signature"), &f.end_sig);
                w.f_str(k!("process_type"), DE_PROCESS_TYPE);
                w.f_str(k!("process_data"), &f.process_data);
                w.close();
                w.f_obj(k!("verification"));
                w.f_str(k!("qr_data"), &f.qr);
                w.close();
            }
        }
        Signed::At => {
            w.f_str(k!("regime"), "rksv");
            w.f_str(k!("document_type"), f.doc_type);
            w.f_sid(k!("document_number"), &f.doc_number);
            w.f_str(k!("fiscal_unit_id"), &id.cashbox_id);
            w.f_obj(k!("end_event"));
            w.f_sid(k!("signed_at"), &ts(f.end_secs));
            w.f_int(k!("transaction_counter"), f.counter as i64);
            w.f_sid(k!("signature"), &f.end_sig);
            w.close();
            w.f_obj(k!("verification"));
            w.f_str(k!("qr_data"), &f.qr);
            w.close();
        }
        Signed::It => {
            w.f_str(k!("regime"), "rt");
            w.f_str(k!("document_type"), f.doc_type);
            w.f_sid(k!("document_number"), &f.doc_number);
            w.f_str(k!("fiscal_unit_id"), &id.matricola);
            if let Some(t) = f.transmitted {
                w.f_sid(k!("transmitted_at"), &ts(t));
            }
            w.f_obj(k!("end_event"));
            w.f_sid(k!("signed_at"), &ts(f.end_secs));
            w.f_sid(k!("signature"), &f.end_sig);
            w.close();
        }
        Signed::None => unreachable!(),
    }
    w.close();
    let state = if f.finished { "succeeded" } else { "pending" };
    w.f_str(k!("fiscal_state"), state);
}

/// Writes `v` as one JSON line (without the newline) to `out`.
pub(crate) fn write(out: &mut Vec<u8>, v: &View<'_>) {
    let d = v.draft;
    let cd = v.spec.country.data();
    let mut st = Stamps::new(0, TsStyle::Utc);
    let started = st.get(d.started);
    let mut w = Json::new(out);
    w.open();
    w.f_sid(k!("id"), &d.id);
    w.f_str(k!("object"), "operation");
    w.f_str(k!("type"), super::op::register_wire(d.kind));
    w.f_str(
        k!("state"),
        match d.state {
            State::Open => "open",
            State::Completed | State::Voided => "completed",
            State::Cancelled => "cancelled",
        },
    );
    w.f_str(k!("register_id"), &v.spec.register_id);
    w.f_str(k!("location_id"), &v.spec.location_id);
    w.f_str(k!("organization_id"), &v.spec.merchant_id);
    w.f_sid(k!("external_id"), &d.external_id);
    w.f_int(k!("sequence_number"), d.seq as i64);
    w.f_obj(k!("cashier"));
    let mut cashier_id = Sid::new();
    cashier_id
        .push_str("cashier_")
        .push_str(&v.spec.tag)
        .push_byte(b'_')
        .push_num(d.cashier as u64 + 1, 1);
    w.f_sid(k!("id"), &cashier_id);
    w.f_text(k!("display_name"), cd.cashiers[d.cashier]);
    w.close();
    fiscal(&mut w, v, &mut st);
    if d.fiscal_failed {
        w.f_str(k!("fiscal_state"), "failed");
    } else if v.fiscal.signed == Signed::None && d.state == State::Open {
        w.f_str(k!("fiscal_state"), "pending");
    }
    if let Some(r) = &d.reference {
        w.f_obj(k!("references"));
        w.f_sid(k!("original_operation_id"), r);
        w.f_opt_text(k!("reason"), d.reason);
        w.close();
    }
    if let Some(l) = &d.lottery {
        w.f_obj(k!("metadata"));
        w.f_sid(k!("lottery_code"), l);
        w.close();
    }
    w.f_sid(k!("started_at"), &started);
    if d.state == State::Completed {
        w.f_sid(k!("completed_at"), &st.get(d.completed));
    }
    w.f_sid(k!("created_at"), &started);
    w.f_obj(k!("data"));
    match d.kind {
        Kind::Void => w.f_opt_text(k!("reason"), d.reason),
        Kind::CashMovement => {
            w.f_str(k!("currency"), "EUR");
            w.f_int(k!("amount"), d.cash_amount);
            w.f_str(k!("reason"), d.cash_reason);
            w.f_opt_text(k!("note"), d.note);
        }
        Kind::Exchange => {
            w.f_str(k!("currency"), "EUR");
            if let Some(r) = &d.reference {
                w.f_sid(k!("original_operation_id"), r);
            }
            lines(&mut w, v, k!("returned_line_items"), &v.cart.returned, "r");
            lines(&mut w, v, k!("new_line_items"), &v.cart.lines, "");
            payments(&mut w, v);
            totals(&mut w, &v.cart.totals);
        }
        _ => {
            w.f_str(k!("currency"), "EUR");
            lines(&mut w, v, k!("line_items"), &v.cart.lines, "");
            w.f_arr(k!("cart_discounts"));
            if let Some(c) = v.cart.discount {
                w.elem();
                w.open();
                w.f_sid(k!("id"), &sub_id("cdsc", &d.suffix, "", 1));
                w.f_str(k!("source"), c.source);
                w.f_str(
                    k!("type"),
                    if c.rate.is_some() {
                        "percentage"
                    } else {
                        "fixed"
                    },
                );
                w.f_text(k!("label"), c.label);
                w.f_opt_str(k!("code"), c.code);
                w.f_opt_str(k!("rate"), c.rate);
                w.f_str(k!("allocation_method"), "proportional");
                w.f_int(k!("amount"), c.amount);
                w.f_int(k!("total_amount"), c.amount);
                w.close();
            }
            w.close_arr();
            payments(&mut w, v);
            totals(&mut w, &v.cart.totals);
            if let Some(cf) = &d.customer_cf {
                w.f_obj(k!("customer"));
                let mut id = Sid::new();
                id.push_str("cus_")
                    .push_str(&cf.as_str()[..6])
                    .push_str(&cf.as_str()[12..15]);
                w.f_sid(k!("id"), &id);
                w.f_sid(k!("tax_id"), cf);
                w.f_str(k!("tax_id_type"), "codice_fiscale");
                w.close();
            }
            if let Some(text) = d.note {
                w.f_arr(k!("notes"));
                w.elem();
                w.open();
                w.f_str(k!("type"), "custom");
                w.f_text(k!("text"), text);
                w.close();
                w.close_arr();
            }
        }
    }
    w.close();
    w.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_ids_are_compact() {
        let s = Sid::from_str("de01_000123");
        assert_eq!(sub_id("li", &s, "", 2).as_str(), "li_de01_000123_2");
        assert_eq!(sub_id("li", &s, "r", 1).as_str(), "li_de01_000123_r1");
        assert_eq!(gift_card_id("de01", 42).as_str(), "gc_de01_000042");
        assert_eq!(last4(7).as_str(), "0007");
    }
}
