//! Every rule fires on a history built to break exactly it, and stays quiet on the clean one.
//!
//! The clean base is built by small builders that compute consistent amounts (German and
//! Italian registers in the register-scoped shape, an Austrian register with two sessions and
//! an Italian one without in the /operations shape). Each case mutates a copy and must produce
//! exactly one new finding: its rule, on its operation.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use fiskal::model::masterdata::{MasterData, RksvCashbox};
use fiskal::model::money::round_commercial;
use fiskal::regime::kassensichv::sign::{TseCurve, TseSigner};
use fiskal::regime::kassensichv::{SignedLog, TimeFormat};
use fiskal::regime::rksv::sign::{Cashbox, Chain, Input, Kind};
use fiskal::validate::{Config, Validator, catalog, validate_all};

use crate::util::{Workdir, read};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// One line: description, quantity, unit price in cents, rate, category, flags.
#[derive(Clone)]
struct L(
    &'static str,
    i64,
    i64,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

fn ts(minute: i64) -> String {
    format!("2026-03-02T{:02}:{:02}:00Z", 8 + minute / 60, minute % 60)
}

/// Lines with cart allocation (largest remainder), tax from gross, and their sums.
fn reg_lines(lines: &[L], cart: i64, returned: bool) -> (Vec<Value>, [i64; 6], Vec<Value>) {
    let subs: Vec<i64> = lines.iter().map(|l| l.1 * l.2).collect();
    let base: i64 = subs.iter().sum();
    let mut alloc: Vec<i64> = subs
        .iter()
        .map(|s| if base == 0 { 0 } else { cart * s / base })
        .collect();
    let mut rems: Vec<(i64, usize)> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| (-(cart * s % base.max(1)), i))
        .collect();
    rems.sort();
    let missing = cart - alloc.iter().sum::<i64>();
    for &(_, i) in rems.iter().take(missing as usize) {
        alloc[i] += 1;
    }
    let mut out = Vec::new();
    let mut sums = [0i64; 6]; // subtotal, cart, gross, tax, net, (unused)
    let mut buckets: Vec<(String, Option<&str>, i64, i64, i64)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let total = subs[i] - alloc[i];
        let r = dec(l.3);
        let tax = round_commercial(Decimal::from(total) * r / (Decimal::ONE + r), 0)
            .to_i64()
            .unwrap();
        let net = total - tax;
        let mut line = json!({
            "id": format!("li_{i}"), "position": i + 1, "description": l.0, "product_ref": l.0, "quantity": l.1,
            "unit_price_gross": l.2, "flags": l.5, "subtotal_gross": subs[i], "total_gross": total,
            "tax": {"rate": l.3, "category": l.4, "taxable_amount": net, "tax_amount": tax}, "total_net": net
        });
        if cart > 0 {
            line["cart_discount_allocations"] =
                json!([{"discount_id": "cd_1", "amount": alloc[i]}]);
        }
        if l.5.contains(&"gift_card") {
            line["gift_card_id"] = json!("gc_1");
        }
        out.push(line);
        let s = if returned { -1 } else { 1 };
        for (k, v) in [subs[i], alloc[i], total, tax, net].into_iter().enumerate() {
            sums[k] += s * v;
        }
        match buckets.iter_mut().find(|b| b.0 == l.3 && b.1 == l.4) {
            Some(b) => {
                b.2 += s * net;
                b.3 += s * tax;
                b.4 += s * total;
            }
            None => buckets.push((l.3.to_string(), l.4, s * net, s * tax, s * total)),
        }
    }
    let rows = buckets
        .into_iter()
        .map(|(rate, cat, net, tax, gross)| json!({"rate": rate, "category": cat, "taxable_amount": net, "tax_amount": tax, "total_gross": gross}))
        .collect();
    (out, sums, rows)
}

struct Goods<'a> {
    id: &'a str,
    kind: &'a str,
    register: &'a str,
    seq: u64,
    minute: i64,
    lines: Vec<L>,
    returned: Vec<L>,
    cart: i64,
    method: &'a str,
    tendered: Option<i64>,
    fiscal: Value,
    reference: Option<&'a str>,
}

fn reg_goods(g: Goods) -> Value {
    let (mut items, sums, mut rows) = reg_lines(&g.lines, g.cart, false);
    let mut totals = sums;
    let mut data = json!({"currency": "EUR"});
    if !g.returned.is_empty() {
        let (back, back_sums, back_rows) = reg_lines(&g.returned, 0, true);
        for k in 0..6 {
            totals[k] += back_sums[k];
        }
        data["returned_line_items"] = json!(back);
        data["new_line_items"] = json!(items);
        items = Vec::new();
        // One breakdown row per rate: returned lines net against new ones.
        for r in back_rows {
            match rows
                .iter_mut()
                .find(|x| x["rate"] == r["rate"] && x["category"] == r["category"])
            {
                Some(x) => {
                    for k in ["taxable_amount", "tax_amount", "total_gross"] {
                        x[k] = json!(x[k].as_i64().unwrap() + r[k].as_i64().unwrap());
                    }
                }
                None => rows.push(r),
            }
        }
    }
    if items.is_empty() && g.returned.is_empty() {
        data["line_items"] = json!([]);
    } else if g.returned.is_empty() {
        data["line_items"] = json!(items);
    }
    if g.cart > 0 {
        data["cart_discounts"] = json!([{"id": "cd_1", "label": "SAVE", "amount": g.cart}]);
    }
    let gross = totals[2];
    data["totals"] = json!({
        "subtotal_gross": totals[0], "total_line_discounts": 0, "total_cart_discounts": totals[1],
        "rounding_adjustment": 0, "total_gross": gross, "total_net": totals[4], "total_tax": totals[3],
        "tax_breakdown": rows, "net_payable": gross
    });
    let refund = g.kind == "refund";
    let mut pay = json!({"id": "p1", "method": g.method, "direction": if refund || gross < 0 { "outbound" } else { "inbound" }, "amount": gross.abs(), "currency": "EUR"});
    if let Some(t) = g.tendered {
        pay["cash"] = json!({"amount_tendered": t});
    }
    data["payments"] = json!([pay]);
    let mut op = json!({
        "id": g.id, "object": "operation", "type": g.kind, "state": "completed", "register_id": g.register,
        "external_id": format!("bon-{}", g.id), "sequence_number": g.seq, "started_at": ts(g.minute),
        "created_at": ts(g.minute), "completed_at": ts(g.minute + 1), "fiscal": g.fiscal, "fiscal_state": "succeeded", "data": data
    });
    if let Some(r) = g.reference {
        op["references"] = json!({"original_operation_id": r});
    }
    op
}

fn tse(counter: u64, minute: i64) -> Value {
    json!({"regime": "tse", "tse_serial": "abcd", "client_id": "K1", "end_event": {"signed_at": ts(minute + 1), "transaction_counter": counter}})
}

fn rt(z: u32, p: u32, minute: i64) -> Value {
    rt_doc("99IEB019690", z, p, minute, "VENDITA")
}

/// An RT fiscal block of the register shape: matricola, `ZZZZ-NNNN`, document type.
fn rt_doc(serial: &str, z: u32, p: u32, minute: i64, doc_type: &str) -> Value {
    json!({"regime": "rt", "fiscal_unit_id": serial, "document_number": format!("{z:04}-{p:04}"), "document_type": doc_type, "end_event": {"signed_at": ts(minute + 1)}})
}

/// The RT of the second Italian register, which takes back documents of the first one.
const IT2: &str = "80IEB000042";

#[allow(clippy::too_many_arguments)]
fn sale(
    id: &'static str,
    seq: u64,
    minute: i64,
    lines: Vec<L>,
    cart: i64,
    method: &'static str,
    tendered: Option<i64>,
    fiscal: Value,
) -> Value {
    reg_goods(Goods {
        id,
        kind: "sale",
        register: "reg_de",
        seq,
        minute,
        lines,
        returned: vec![],
        cart,
        method,
        tendered,
        fiscal,
        reference: None,
    })
}

/// German register, register-scoped shape.
fn german() -> Vec<Value> {
    let brot = L("Brot", 2, 250, "0.07", None, &[]);
    let kaffee = L("Kaffee", 1, 300, "0.19", None, &[]);
    vec![
        sale(
            "S1",
            1,
            0,
            vec![brot.clone(), kaffee],
            50,
            "cash",
            Some(1000),
            tse(1, 0),
        ),
        sale(
            "S2",
            2,
            10,
            vec![L("Kuchen", 1, 350, "0.07", None, &[])],
            0,
            "card",
            None,
            tse(2, 10),
        ),
        sale(
            "S3",
            3,
            20,
            vec![L("Tee", 1, 200, "0.19", None, &[])],
            0,
            "cash",
            Some(200),
            tse(3, 20),
        ),
        reg_goods(Goods {
            id: "R1",
            kind: "refund",
            register: "reg_de",
            seq: 4,
            minute: 30,
            lines: vec![L("Brot", 1, 250, "0.07", None, &[])],
            returned: vec![],
            cart: 0,
            method: "cash",
            tendered: None,
            fiscal: tse(4, 30),
            reference: Some("S1"),
        }),
        json!({"id": "V1", "object": "operation", "type": "void", "state": "completed", "register_id": "reg_de", "sequence_number": 5,
               "created_at": ts(40), "started_at": ts(40), "completed_at": ts(41), "references": {"original_operation_id": "S2"}, "fiscal": tse(5, 40), "data": {"reason": "mistake"}}),
        reg_goods(Goods {
            id: "E1",
            kind: "exchange",
            register: "reg_de",
            seq: 6,
            minute: 50,
            lines: vec![L("Kakao", 1, 250, "0.19", None, &[])],
            returned: vec![L("Tee", 1, 200, "0.19", None, &[])],
            cart: 0,
            method: "card",
            tendered: None,
            fiscal: tse(6, 50),
            reference: Some("S3"),
        }),
        sale("S5", 7, 60, vec![brot], 0, "card", None, tse(7, 60)),
        sale(
            "G1",
            8,
            70,
            vec![L(
                "Gutschein",
                1,
                2000,
                "0",
                Some("not_taxable"),
                &["gift_card"],
            )],
            0,
            "card",
            None,
            tse(8, 70),
        ),
    ]
}

/// Italian register, register-scoped shape.
fn italian() -> Vec<Value> {
    let it = |id: &'static str, seq: u64, minute: i64, l: L, z: u32, p: u32| {
        reg_goods(Goods {
            id,
            kind: "sale",
            register: "reg_it",
            seq,
            minute,
            lines: vec![l],
            returned: vec![],
            cart: 0,
            method: "card",
            tendered: None,
            fiscal: rt(z, p, minute),
            reference: None,
        })
    };
    vec![
        it(
            "T1",
            1,
            0,
            L("Giornale", 1, 150, "0", Some("N4"), &[]),
            1,
            1,
        ),
        it("T2", 2, 10, L("Penna", 1, 100, "0.22", None, &[]), 1, 2),
        it("T3", 3, 20, L("Quaderno", 1, 300, "0.22", None, &[]), 2, 1),
        // A second register and RT: a reso and an annullo of the first RT's documents, then a
        // sale to a buyer who gives a codice fiscale ("documento commerciale parlante").
        it2_reso("T3", L("Quaderno", 1, 300, "0.22", None, &[])),
        json!({"id": "U2", "object": "operation", "type": "void", "state": "completed", "register_id": "reg_it2", "sequence_number": 2,
               "created_at": ts(90), "started_at": ts(90), "completed_at": ts(91), "references": {"original_operation_id": "T2"},
               "fiscal": rt_doc(IT2, 7, 2, 90, "ANNULLO"), "data": {"reason": "errore"}}),
        {
            let mut op = reg_goods(Goods {
                id: "U3",
                kind: "sale",
                register: "reg_it2",
                seq: 3,
                minute: 100,
                lines: vec![L("Penna", 2, 100, "0.22", None, &[])],
                returned: vec![],
                cart: 0,
                method: "card",
                tendered: None,
                fiscal: rt_doc(IT2, 7, 3, 100, "VENDITA"),
                reference: None,
            });
            op["data"]["customer"] = json!({"id": "cus_1", "tax_id": "RSSMRA80A01H501U", "tax_id_type": "codice_fiscale"});
            op
        },
        // A third register in the /operations shape, whose RT block states the counters besides
        // the printed number: a card sale with a lottery code.
        italian_v11(),
    ]
}

/// U1: the second Italian register's reso of `line` from `original`, paid back to the card.
fn it2_reso(original: &'static str, line: L) -> Value {
    reg_goods(Goods {
        id: "U1",
        kind: "refund",
        register: "reg_it2",
        seq: 1,
        minute: 80,
        lines: vec![line],
        returned: vec![],
        cart: 0,
        method: "card",
        tendered: None,
        fiscal: rt_doc(IT2, 7, 1, 80, "RESO"),
        reference: Some(original),
    })
}

/// W1: an Italian sale of the /operations shape with a lottery code, outside any session.
fn italian_v11() -> Value {
    let at = "2026-03-02T11:00:00+01:00";
    json!({"id": "W1", "merchant_id": "m_it", "register_id": "reg_it3", "source": "POS", "status": "completed",
        "currency": "EUR", "resource_version": 1, "created_at": at, "updated_at": at, "completed_at": at, "type": "sale",
        "pretax_amount": "1.64", "tax_amount": "0.36", "tip_amount": "0.00", "total_amount": "2.00",
        "line_items": [{"id": "w", "type": "item", "title": "Penna", "quantity": 2, "unit_price": "1.00", "total_amount": "2.00",
            "sku_identifier": "Penna", "taxes": [{"id": "tw", "name": "IVA", "rate": "0.22", "tax_amount": "0.36"}]}],
        "cart_level_discounts": [],
        "payments": [{"id": "p", "payment_id": "p", "method": "card", "amount": "2.00", "currency": "EUR", "status": "captured"}],
        "fiscal_information": {"regime": "RT", "rt_serial": "72MAA000003", "document_number": "0012-0001", "document_type": "VENDITA",
            "daily_closing_number": 12, "progressive_number": 1, "lottery_code": "AB12CD34", "signature": {"signed_at": at}}})
}

fn local(day: u32, h: u32, m: u32) -> String {
    format!("2026-03-{day:02}T{h:02}:{m:02}:00+01:00")
}

fn v11(id: &str, kind: &str, session: &str, at: String, extra: Value) -> Value {
    let mut op = json!({"id": id, "merchant_id": "m_at", "register_id": "reg_at", "session_id": session, "source": "POS",
        "status": "completed", "currency": "EUR", "resource_version": 1, "created_at": at, "updated_at": at, "completed_at": at, "type": kind});
    for (k, v) in extra.as_object().unwrap() {
        op[k] = v.clone();
    }
    op
}

fn rksv(n: u64, at: &str) -> Value {
    json!({"regime": "RKSV", "cashbox_id": "AT-1", "document_number": n.to_string(), "document_type": "Standardbeleg",
           "signature": {"signed_at": at, "transaction_counter": n, "turnover_counter": "0.00", "signature": "x"}})
}

/// Austrian register, /operations v1.1, two sessions.
fn austrian() -> Vec<Value> {
    let line = |id: &str, title: &str, q: i64, price: &str, total: &str, rate: &str, tax: &str| {
        json!({"id": id, "type": "item", "title": title, "quantity": q, "unit_price": price, "total_amount": total, "sku_identifier": title,
               "taxes": [{"id": format!("t{id}"), "name": "USt", "rate": rate, "tax_amount": tax}]})
    };
    let pay = |method: &str, amount: &str, status: &str| json!([{"id": "p", "payment_id": "p", "method": method, "amount": amount, "currency": "EUR", "status": status}]);
    let goods = |id: &str,
                 kind: &str,
                 s: &str,
                 at: String,
                 n: u64,
                 lines: Value,
                 cart: Value,
                 pretax: &str,
                 tax: &str,
                 total: &str,
                 pays: Value,
                 extra: Value| {
        let mut op = v11(
            id,
            kind,
            s,
            at.clone(),
            json!({"pretax_amount": pretax, "tax_amount": tax, "tip_amount": "0.00", "total_amount": total,
            "line_items": lines, "cart_level_discounts": cart, "payments": pays, "fiscal_information": rksv(n, &at)}),
        );
        for (k, v) in extra.as_object().unwrap() {
            op[k] = v.clone();
        }
        op
    };
    vec![
        // The register's first receipt, the Startbeleg, goes with the first session record.
        v11(
            "O1",
            "session_open",
            "ses_1",
            local(2, 8, 0),
            json!({"opening_balance_amount": "100.00", "fiscal_information": rksv(0, &local(2, 8, 0))}),
        ),
        goods(
            "P1",
            "sale",
            "ses_1",
            local(2, 9, 0),
            1,
            json!([line("a", "Schal", 1, "12.00", "12.00", "0.20", "2.00")]),
            json!([]),
            "10.00",
            "2.00",
            "12.00",
            pay("cash", "12.00", "captured"),
            json!({}),
        ),
        goods(
            "P2",
            "sale",
            "ses_1",
            local(2, 9, 30),
            2,
            json!([
                line("b", "Buch", 1, "20.00", "20.00", "0.10", "1.64"),
                line("c", "Karte", 2, "2.50", "5.00", "0.20", "0.75")
            ]),
            json!([{"id": "cd", "description": "SAVE", "amount": "2.50"}]),
            "20.11",
            "2.39",
            "22.50",
            pay("card", "22.50", "captured"),
            json!({}),
        ),
        goods(
            "P3",
            "return",
            "ses_1",
            local(2, 10, 0),
            3,
            json!([line("d", "Schal", 1, "12.00", "12.00", "0.20", "2.00")]),
            json!([]),
            "10.00",
            "2.00",
            "12.00",
            pay("cash", "12.00", "refunded"),
            json!({"related_operation_id": "P1"}),
        ),
        v11(
            "A1",
            "session_cash_adjustment",
            "ses_1",
            local(2, 11, 0),
            json!({"cash_amount": "-5.00"}),
        ),
        v11(
            "C1",
            "session_cash_count",
            "ses_1",
            local(2, 18, 0),
            json!({"counted_closing_amount": "95.00", "expected_closing_amount": "95.00", "closing_cashcount_diff": "0.00"}),
        ),
        v11(
            "X1",
            "session_close",
            "ses_1",
            local(2, 18, 5),
            json!({"business_date": "2026-03-02", "closing_adjustment_amount": "-45.00"}),
        ),
        v11(
            "O2",
            "session_open",
            "ses_2",
            local(3, 8, 0),
            json!({"opening_balance_amount": "50.00"}),
        ),
        goods(
            "P4",
            "sale",
            "ses_2",
            local(3, 9, 0),
            4,
            json!([line("e", "Brot", 1, "8.00", "8.00", "0.10", "0.73")]),
            json!([]),
            "7.27",
            "0.73",
            "8.00",
            pay("cash", "8.00", "captured"),
            json!({}),
        ),
        v11(
            "C2",
            "session_cash_count",
            "ses_2",
            local(3, 18, 0),
            json!({"counted_closing_amount": "58.00", "expected_closing_amount": "58.00", "closing_cashcount_diff": "0.00"}),
        ),
        v11(
            "X2",
            "session_close",
            "ses_2",
            local(3, 18, 5),
            json!({"business_date": "2026-03-03"}),
        ),
    ]
}

struct Base {
    de: Vec<Value>,
    it: Vec<Value>,
    at: Vec<Value>,
    /// A mutation of the German operations after the TSE signed them (the TSE cases); the
    /// other cases break the data before signing, as a POS would that signs what it has.
    after_signing: Option<fn(&mut Vec<Value>)>,
    /// The same for the Austrian operations after the cash box signed them.
    at_after_signing: Option<fn(&mut Vec<Value>)>,
    /// Amounts the cash box adds to what it signs for an operation (the RKS103 case).
    at_skew: Option<(&'static str, [i64; 5])>,
    /// Whether the master data holds the cash box's certificate.
    at_key: bool,
}

fn base() -> Base {
    Base {
        de: german(),
        it: italian(),
        at: austrian(),
        after_signing: None,
        at_after_signing: None,
        at_skew: None,
        at_key: true,
    }
}

/// The test cash box of the Austrian register.
fn test_cashbox() -> Cashbox {
    Cashbox::from_seed("AT-1", b"validate base", [9; 32])
}

/// RKSV amount fields of an Austrian operation in cents, computed here from the JSON (spec
/// rksv.md §2.3): gross per rate, returns negative, a cart discount off the first line's
/// field (the validator knows only the total then), cash movements at Null, session records
/// zero.
fn rksv_amounts(op: &Value) -> [i64; 5] {
    let c = |v: &Value| {
        (dec(v.as_str().unwrap()) * Decimal::ONE_HUNDRED)
            .to_i64()
            .unwrap()
    };
    let mut f = [0i64; 5];
    let sign = if op["type"] == "return" { -1 } else { 1 };
    let field = |rate: &str| match rate {
        "0.20" => 0,
        "0.10" => 1,
        "0.13" => 2,
        "0.00" => 3,
        _ => 4,
    };
    let lines = op["line_items"].as_array().cloned().unwrap_or_default();
    for l in &lines {
        f[field(l["taxes"][0]["rate"].as_str().unwrap())] += sign * c(&l["total_amount"]);
    }
    for d in op["cart_level_discounts"].as_array().into_iter().flatten() {
        f[field(lines[0]["taxes"][0]["rate"].as_str().unwrap())] -= sign * c(&d["amount"]);
    }
    if op["type"] == "session_cash_adjustment" {
        f[3] += c(&op["cash_amount"]);
    }
    f
}

/// Signs the Austrian receipts as the cash box would and writes code, signature, serial and
/// clear turnover counter into each fiscal block.
fn sign_austrian(at: &mut [Value], skew: Option<(&str, [i64; 5])>) {
    let cashbox = test_cashbox();
    let mut chain = Chain::default();
    for op in at.iter_mut() {
        if op["fiscal_information"]["regime"] != "RKSV" {
            continue;
        }
        let mut amounts = rksv_amounts(op);
        if let Some((id, delta)) = skew
            && op["id"] == id
        {
            for (a, d) in amounts.iter_mut().zip(delta) {
                *a += d;
            }
        }
        let kind = if op["type"] == "session_open" && chain == Chain::default() {
            Kind::Start
        } else {
            Kind::Standard
        };
        let f = &op["fiscal_information"];
        let at_time = op["completed_at"].as_str().unwrap()[..19].to_string();
        let receipt_id = f["document_number"].as_str().unwrap().to_string();
        let signed = cashbox.sign(
            &mut chain,
            &Input {
                kind,
                receipt_id: &receipt_id,
                date: chrono::NaiveDateTime::parse_from_str(&at_time, "%Y-%m-%dT%H:%M:%S").unwrap(),
                amounts,
                device_failed: false,
            },
        );
        let f = &mut op["fiscal_information"];
        f["certificate_serial"] = json!(cashbox.serial());
        f["signature"]["signature"] = json!(signed.qr.rsplit('_').next().unwrap());
        f["signature"]["certificate_serial"] = json!(cashbox.serial());
        f["signature"]["turnover_counter"] =
            json!(Decimal::from_i128_with_scale(signed.counter, 2).to_string());
        f["verification"] = json!({ "qr_data": signed.qr });
    }
}

/// Master data with the cash box's AES key and, unless `key` is false, its certificate.
fn austrian_master_data(key: bool) -> MasterData {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let c = test_cashbox();
    MasterData {
        rksv: vec![RksvCashbox {
            cashbox_id: "AT-1".into(),
            register_id: "reg_at".into(),
            aes_key: Some(b64(c.aes_key())),
            certificate: key.then(|| b64(&c.certificate())),
            certificate_serial: c.serial().into(),
            public_key: None,
            ca_certificates: Vec::new(),
        }],
        ..MasterData::default()
    }
}

/// The test TSE of the German register.
fn test_tse() -> TseSigner {
    TseSigner::from_seed(TseCurve::P256, b"validate base")
}

fn cents(v: &Value) -> i64 {
    v.as_i64().unwrap_or_default()
}

fn amount(c: i64) -> String {
    format!(
        "{}{}.{:02}",
        if c < 0 { "-" } else { "" },
        c.abs() / 100,
        c.abs() % 100
    )
}

/// Kassenbeleg-V1 amounts of a register-shape operation, computed here from the JSON
/// (DSFinV-K Anhang I): gross per VAT slot and payments per type, in cents.
fn kassenbeleg(
    op: &Value,
    originals: &std::collections::HashMap<String, ([i64; 5], [i64; 2])>,
) -> ([i64; 5], [i64; 2]) {
    let d = &op["data"];
    if op["type"] == "void" {
        let (s, p) = originals[op["references"]["original_operation_id"].as_str().unwrap()];
        return (s.map(|x| -x), p.map(|x| -x));
    }
    let sign = if op["type"] == "refund" { -1 } else { 1 };
    let mut slots = [0i64; 5];
    let slot = |rate: &str| match rate {
        "0.19" => 0,
        "0.07" => 1,
        _ => 4,
    };
    for (key, role) in [
        ("line_items", 1),
        ("new_line_items", 1),
        ("returned_line_items", -1),
    ] {
        for l in d[key].as_array().into_iter().flatten() {
            slots[slot(l["tax"]["rate"].as_str().unwrap())] +=
                sign * role * cents(&l["total_gross"]);
        }
    }
    let mut pays = [0i64; 2];
    for p in d["payments"].as_array().into_iter().flatten() {
        let dir = if p["direction"] == "outbound" { -1 } else { 1 };
        pays[usize::from(p["method"] != "cash")] += dir * cents(&p["amount"]);
    }
    (slots, pays)
}

/// `2026-03-02T08:00:00Z` as the QR code writes it.
fn qr_time(t: &Value) -> String {
    t.as_str().unwrap().replace('Z', ".000Z")
}

/// Signs one German operation's finish (signature counter `sig`) over its end_event's
/// processData and writes signature, serial and QR code.
fn tse_sign(op: &mut Value, tse: &TseSigner, sig: u64) {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let f = &op["fiscal"];
    let end = &f["end_event"];
    let log = SignedLog {
        operation_type: "FinishTransaction".into(),
        client_id: "K1".into(),
        process_type: "Kassenbeleg-V1".into(),
        process_data: end["process_data"].as_str().unwrap().to_string(),
        transaction_number: end["transaction_counter"].as_u64().unwrap(),
        signature_counter: sig,
        log_time: chrono::DateTime::parse_from_rfc3339(end["signed_at"].as_str().unwrap())
            .unwrap()
            .to_utc(),
        algorithm: tse.algorithm(),
        time_format: TimeFormat::UnixTime,
        signature: Vec::new(),
        public_key: Vec::new(),
        stated_serial: None,
    };
    let signature = b64(&tse.sign(&log));
    let qr = format!(
        "V0;K1;Kassenbeleg-V1;{};{};{sig};{};{};{};unixTime;{signature};{}",
        log.process_data,
        log.transaction_number,
        qr_time(&f["start_event"]["signed_at"]),
        qr_time(&end["signed_at"]),
        tse.algorithm().name(),
        b64(tse.public_key())
    );
    let f = &mut op["fiscal"];
    f["tse_serial"] = json!(fiskal::regime::kassensichv::logmsg::hex(tse.serial()));
    f["signature_algorithm"] = json!(tse.algorithm().name());
    f["time_format"] = json!("unixTime");
    f["end_event"]["signature"] = json!(signature);
    f["verification"] = json!({ "qr_data": qr });
}

/// Fills the German operations' fiscal blocks as the TSE would: processData from the
/// operation, start event, signatures (counter 2 × transaction number) and QR code.
fn sign_german(de: &mut [Value]) {
    let tse = test_tse();
    let mut originals = std::collections::HashMap::new();
    // A TSE counts every signature, whatever the transaction numbers say: start 2n − 1,
    // finish 2n for the n-th transaction.
    let mut n = 0;
    for op in de.iter_mut() {
        if op["fiscal"]["regime"] != "tse" {
            continue;
        }
        n += 1;
        let (slots, pays) = kassenbeleg(op, &originals);
        originals.insert(op["id"].as_str().unwrap().to_string(), (slots, pays));
        let mut pd = format!("Beleg^{}^", slots.map(amount).join("_"));
        let entries: Vec<String> = [(pays[0], "Bar"), (pays[1], "Unbar")]
            .iter()
            .filter(|(c, _)| *c != 0)
            .map(|(c, t)| format!("{}:{t}", amount(*c)))
            .collect();
        pd.push_str(&entries.join("_"));
        let started = op["started_at"].clone();
        let f = &mut op["fiscal"];
        f["start_event"] = json!({ "signed_at": started });
        f["end_event"]["process_type"] = json!("Kassenbeleg-V1");
        f["end_event"]["process_data"] = json!(pd);
        tse_sign(op, &tse, 2 * n);
    }
}

fn findings(b: &Base) -> Vec<(String, String)> {
    let w = Workdir::new();
    let mut paths = Vec::new();
    let mut de = b.de.clone();
    sign_german(&mut de);
    if let Some(mutate) = b.after_signing {
        mutate(&mut de);
    }
    let mut at = b.at.clone();
    sign_austrian(&mut at, b.at_skew);
    if let Some(mutate) = b.at_after_signing {
        mutate(&mut at);
    }
    for (name, ops) in [("de.ndjson", &de), ("it.ndjson", &b.it), ("at.ndjson", &at)] {
        let text: String = ops.iter().map(|v| v.to_string() + "\n").collect();
        paths.push(w.write(name, text));
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let r = read(&refs);
    assert!(r.rejects.is_empty(), "{:#?}", r.rejects);
    let md = austrian_master_data(b.at_key);
    let mut v = Validator::with_master_data(Config::default(), Some(&md));
    let mut out = Vec::new();
    for op in &r.ops {
        v.push(op, &mut |f| out.push(f));
    }
    v.finish(&mut |f| out.push(f));
    out.into_iter()
        .map(|f| (f.code.to_string(), f.operation_id.unwrap_or_default()))
        .collect()
}

fn find<'a>(ops: &'a mut [Value], id: &str) -> &'a mut Value {
    ops.iter_mut()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no op {id}"))
}

fn add(v: &mut Value, delta: i64) {
    *v = json!(v.as_i64().unwrap() + delta);
}

/// Re-rates the single line of a register-shape operation, keeping every amount consistent.
fn rerate(op: &mut Value, rate: &str) {
    let line = &mut op["data"]["line_items"][0];
    let total = line["total_gross"].as_i64().unwrap();
    let r = dec(rate);
    let tax = round_commercial(Decimal::from(total) * r / (Decimal::ONE + r), 0)
        .to_i64()
        .unwrap();
    line["tax"]["rate"] = json!(rate);
    line["tax"]["tax_amount"] = json!(tax);
    line["tax"]["taxable_amount"] = json!(total - tax);
    line["total_net"] = json!(total - tax);
    let category = line["tax"]["category"].clone();
    let t = &mut op["data"]["totals"];
    t["total_tax"] = json!(tax);
    t["total_net"] = json!(total - tax);
    t["tax_breakdown"] = json!([{"rate": rate, "category": category, "taxable_amount": total - tax, "tax_amount": tax, "total_gross": total}]);
}

type Mutation = fn(&mut Base);

fn cases() -> Vec<(&'static str, &'static str, Mutation)> {
    vec![
        ("TOT001", "S3", |b| {
            add(
                &mut find(&mut b.de, "S3")["data"]["line_items"][0]["subtotal_gross"],
                1,
            );
            add(
                &mut find(&mut b.de, "S3")["data"]["totals"]["subtotal_gross"],
                1,
            );
        }),
        ("TOT002", "S1", |b| {
            add(
                &mut find(&mut b.de, "S1")["data"]["cart_discounts"][0]["amount"],
                1,
            )
        }),
        ("TOT003", "S2", |b| {
            let d = &mut find(&mut b.de, "S2")["data"];
            for k in ["total_gross", "total_net", "net_payable"] {
                add(&mut d["totals"][k], 1);
            }
            add(&mut d["payments"][0]["amount"], 1);
        }),
        ("TOT004", "S2", |b| {
            let d = &mut find(&mut b.de, "S2")["data"];
            add(&mut d["totals"]["net_payable"], 1);
            add(&mut d["payments"][0]["amount"], 1);
        }),
        ("TOT004", "P4", |b| {
            let op = find(&mut b.at, "P4");
            op["total_amount"] = json!("8.01");
            op["payments"][0]["amount"] = json!("8.01");
            let c2 = find(&mut b.at, "C2");
            c2["expected_closing_amount"] = json!("58.01");
            c2["closing_cashcount_diff"] = json!("-0.01");
            c2["discrepancy_note"] = json!("one cent short");
        }),
        ("TOT005", "S1", |b| {
            add(
                &mut find(&mut b.de, "S1")["data"]["totals"]["tax_breakdown"][0]["total_gross"],
                1,
            )
        }),
        ("PAY001", "S2", |b| {
            add(
                &mut find(&mut b.de, "S2")["data"]["payments"][0]["amount"],
                100,
            )
        }),
        ("PAY002", "P2", |b| {
            find(&mut b.at, "P2")["payments"][0]["status"] = json!("refunded")
        }),
        ("PAY003", "S1", |b| {
            find(&mut b.de, "S1")["data"]["payments"][0]["cash"]["amount_tendered"] = json!(100)
        }),
        ("VAT001", "S3", |b| {
            let d = &mut find(&mut b.de, "S3")["data"];
            add(&mut d["line_items"][0]["tax"]["tax_amount"], 1);
            add(&mut d["line_items"][0]["tax"]["taxable_amount"], -1);
            add(&mut d["line_items"][0]["total_net"], -1);
            add(&mut d["totals"]["total_tax"], 1);
            add(&mut d["totals"]["total_net"], -1);
            add(&mut d["totals"]["tax_breakdown"][0]["tax_amount"], 1);
            add(&mut d["totals"]["tax_breakdown"][0]["taxable_amount"], -1);
        }),
        ("VAT002", "P2", |b| {
            let op = find(&mut b.at, "P2");
            op["line_items"][0]["taxes"][0]["tax_amount"] = json!("0.64");
            op["tax_amount"] = json!("1.39");
            op["pretax_amount"] = json!("21.11");
        }),
        ("VAT003", "T2", |b| rerate(find(&mut b.it, "T2"), "0.12")),
        ("VAT004", "G1", |b| rerate(find(&mut b.de, "G1"), "0.19")),
        ("VAT005", "T1", |b| {
            let d = &mut find(&mut b.it, "T1")["data"];
            d["line_items"][0]["tax"]["category"] = Value::Null;
            d["totals"]["tax_breakdown"][0]["category"] = Value::Null;
        }),
        ("SES001", "A9", |b| {
            let late = v11(
                "A9",
                "session_cash_adjustment",
                "ses_1",
                local(2, 18, 1),
                json!({"cash_amount": "10.00"}),
            );
            b.at.insert(6, late);
        }),
        ("SES002", "C1", |b| {
            let c = find(&mut b.at, "C1");
            c["expected_closing_amount"] = json!("105.00");
            c["closing_cashcount_diff"] = json!("-10.00");
            c["discrepancy_note"] = json!("short");
        }),
        ("SES003", "C1", |b| {
            find(&mut b.at, "C1")["closing_cashcount_diff"] = json!("1.00")
        }),
        ("SES004", "O2", |b| {
            find(&mut b.at, "O2")["opening_balance_amount"] = json!("60.00");
            let c = find(&mut b.at, "C2");
            c["counted_closing_amount"] = json!("68.00");
            c["expected_closing_amount"] = json!("68.00");
        }),
        ("SES005", "O2", |b| b.at.retain(|v| v["id"] != "X2")),
        ("SES006", "X1", |b| {
            find(&mut b.at, "X1")["business_date"] = json!("2026-03-05")
        }),
        ("SES007", "A1", |b| {
            find(&mut b.at, "A1")["currency"] = json!("CHF")
        }),
        ("SES008", "C1", |b| {
            let c = find(&mut b.at, "C1");
            c["counted_closing_amount"] = json!("94.00");
            c["closing_cashcount_diff"] = json!("-1.00");
            find(&mut b.at, "X1")["closing_adjustment_amount"] = json!("-44.00");
        }),
        ("SEQ001", "S3", |b| {
            for v in b.de.iter_mut().skip(2) {
                add(&mut v["sequence_number"], 1);
            }
        }),
        ("SEQ002", "S3", |b| {
            for v in b.de.iter_mut().skip(2) {
                add(&mut v["sequence_number"], -1);
            }
        }),
        ("SEQ003", "S3", |b| {
            let op = find(&mut b.de, "S3");
            for k in ["started_at", "created_at"] {
                op[k] = json!("2026-03-02T07:00:00Z");
            }
        }),
        ("SEQ004", "S2", |b| {
            find(&mut b.de, "S2")["external_id"] = json!("bon-S1")
        }),
        ("FIS001", "G1", |b| {
            find(&mut b.de, "G1")["fiscal"]["end_event"]["transaction_counter"] = json!(7)
        }),
        ("FIS002", "T3", |b| {
            find(&mut b.it, "T3")["fiscal"]["document_number"] = json!("0002-0002")
        }),
        ("RTD001", "U3", |b| {
            // Unpadded: the parts still read as closing 7, document 3, so the counters run on.
            find(&mut b.it, "U3")["fiscal"]["document_number"] = json!("7-3")
        }),
        ("RTD002", "W1", |b| {
            find(&mut b.it, "W1")["fiscal_information"]["document_number"] = json!("0012-0002")
        }),
        ("RTD003", "U3", |b| {
            find(&mut b.it, "U3")["fiscal"]["document_type"] = json!("RESO")
        }),
        ("RTD004", "U1", |b| {
            // A reso of the German register's S5 (which sold two Brot), at an Italian rate.
            *find(&mut b.it, "U1") = it2_reso("S5", L("Brot", 1, 250, "0.04", None, &[]));
        }),
        ("RTD005", "U2", |b| {
            // The annullo cancels T3, of which U1 already took the Quaderno back.
            find(&mut b.it, "U2")["references"]["original_operation_id"] = json!("T3")
        }),
        ("RTD006", "W1", |b| {
            find(&mut b.it, "W1")["fiscal_information"]["lottery_code"] = json!("AB12CD3")
        }),
        ("RTD007", "W1", |b| {
            find(&mut b.it, "W1")["fiscal_information"]["lottery_code"] = json!("ab12cd34")
        }),
        ("RTD008", "W1", |b| {
            find(&mut b.it, "W1")["payments"][0]["method"] = json!("cash")
        }),
        ("RTD009", "U3", |b| {
            find(&mut b.it, "U3")["metadata"] = json!({"lottery_code": "AB12CD34"})
        }),
        ("RTD010", "W1", |b| {
            find(&mut b.it, "W1")["fiscal_information"]["rt_serial"] = json!("RT-0003")
        }),
        ("FIS002", "P4", |b| {
            let f = &mut find(&mut b.at, "P4")["fiscal_information"];
            f["document_number"] = json!("5");
            f["signature"]["transaction_counter"] = json!(5);
        }),
        ("RKS101", "P4", |b| {
            // The last receipt, so that no later one misses it in the chain.
            b.at_after_signing = Some(|at| {
                let f = &mut find(at, "P4")["fiscal_information"];
                f.as_object_mut().unwrap().remove("verification");
            })
        }),
        ("RKS102", "P2", |b| {
            b.at_after_signing =
                Some(|at| find(at, "P2")["fiscal_information"]["certificate_serial"] = json!("abc"))
        }),
        ("RKS103", "P1", |b| {
            // The cash box signs 1.00 at 10 % that the operation books at 20 %.
            b.at_skew = Some(("P1", [-100, 100, 0, 0, 0]))
        }),
        ("RKS104", "P3", |b| {
            b.at_after_signing = Some(|at| {
                find(at, "P3")["fiscal_information"]["signature"]["turnover_counter"] =
                    json!("99.99")
            })
        }),
        ("RKS105", "O1", |b| b.at_key = false),
        ("RKS011", "P4", |b| {
            // A signature that is not the cash box's: another receipt's. On the last receipt,
            // so that no later one chains over the changed string.
            b.at_after_signing = Some(|at| {
                let other = find(at, "P1")["fiscal_information"]["verification"]["qr_data"]
                    .as_str()
                    .unwrap()
                    .rsplit('_')
                    .next()
                    .unwrap()
                    .to_string();
                let f = &mut find(at, "P4")["fiscal_information"]["verification"]["qr_data"];
                let code = f.as_str().unwrap();
                let (payload, _) = code.rsplit_once('_').unwrap();
                *f = json!(format!("{payload}_{other}"));
            })
        }),
        ("FIS003", "G1", |b| {
            find(&mut b.de, "G1")["fiscal"]["end_event"]["transaction_counter"] = json!(9)
        }),
        ("REF001", "R1", |b| {
            find(&mut b.de, "R1")["references"]["original_operation_id"] = json!("S404")
        }),
        ("REF002", "R1", |b| {
            find(&mut b.de, "R1")["references"]["original_operation_id"] = json!("S5")
        }),
        ("REF003", "R1", |b| {
            let op = find(&mut b.de, "R1");
            let fixed = reg_goods(Goods {
                id: "R1",
                kind: "refund",
                register: "reg_de",
                seq: 4,
                minute: 30,
                lines: vec![L("Brot", 3, 250, "0.07", None, &[])],
                returned: vec![],
                cart: 0,
                method: "cash",
                tendered: None,
                fiscal: tse(4, 30),
                reference: Some("S1"),
            });
            *op = fixed;
        }),
        ("REF004", "V2", |b| {
            let mut v2 = find(&mut b.de, "V1").clone();
            v2["id"] = json!("V2");
            v2["sequence_number"] = json!(9);
            v2["fiscal"] = tse(9, 80);
            for k in ["created_at", "started_at"] {
                v2[k] = json!(ts(80));
            }
            v2["completed_at"] = json!(ts(81));
            b.de.push(v2);
        }),
        ("REF005", "P3", |b| {
            // A return in francs outside any session: only its currency differs from the sale's.
            let op = find(&mut b.at, "P3");
            op["currency"] = json!("CHF");
            op["payments"][0]["currency"] = json!("CHF");
            op.as_object_mut().unwrap().remove("session_id");
            // Without the refund the first session's drawer keeps 12.00 more.
            let c = find(&mut b.at, "C1");
            c["counted_closing_amount"] = json!("107.00");
            c["expected_closing_amount"] = json!("107.00");
            find(&mut b.at, "X1")["closing_adjustment_amount"] = json!("-57.00");
        }),
        ("LIF001", "S5", |b| {
            let op = find(&mut b.de, "S5");
            op["state"] = json!("open");
            op.as_object_mut().unwrap().remove("completed_at");
        }),
        ("LIF002", "S2", |b| {
            find(&mut b.de, "S2")["fiscal_state"] = json!("failed")
        }),
        ("TSE001", "S2", |b| {
            // One bit of the signature, in the block and the QR code alike.
            b.after_signing = Some(|de| {
                let op = find(de, "S2");
                let sig = op["fiscal"]["end_event"]["signature"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let flipped = format!(
                    "{}{}",
                    if sig.starts_with('A') { "B" } else { "A" },
                    &sig[1..]
                );
                let qr = op["fiscal"]["verification"]["qr_data"]
                    .as_str()
                    .unwrap()
                    .replace(&sig, &flipped);
                op["fiscal"]["end_event"]["signature"] = json!(flipped);
                op["fiscal"]["verification"]["qr_data"] = json!(qr);
            })
        }),
        ("TSE002", "S3", |b| {
            // A valid signature over 1.00 more than the sale.
            b.after_signing = Some(|de| {
                let op = find(de, "S3");
                op["fiscal"]["end_event"]["process_data"] =
                    json!("Beleg^3.00_0.00_0.00_0.00_0.00^3.00:Bar");
                tse_sign(op, &test_tse(), 6);
            })
        }),
        ("TSE003", "S1", |b| {
            // The printed start time is not the stored one (it is not signed).
            b.after_signing = Some(|de| {
                let op = find(de, "S1");
                let qr = op["fiscal"]["verification"]["qr_data"]
                    .as_str()
                    .unwrap()
                    .replace("T08:00:00.000Z", "T07:59:00.000Z");
                op["fiscal"]["verification"]["qr_data"] = json!(qr);
            })
        }),
        ("TSE004", "S5", |b| {
            // S5 signed with E1's signature counter.
            b.after_signing = Some(|de| tse_sign(find(de, "S5"), &test_tse(), 12))
        }),
        ("TSE005", "G1", |b| {
            // The TSE started the transaction a minute after it finished, at the time the
            // operation says it started.
            b.after_signing = Some(|de| {
                let op = find(de, "G1");
                op["started_at"] = json!(ts(72));
                op["created_at"] = json!(ts(72));
                op["fiscal"]["start_event"]["signed_at"] = json!(ts(72));
                tse_sign(op, &test_tse(), 16);
            })
        }),
        ("TSE006", "S2", |b| {
            // Signed an hour after the operation completed.
            b.after_signing = Some(|de| {
                let op = find(de, "S2");
                op["fiscal"]["end_event"]["signed_at"] = json!(ts(71));
                tse_sign(op, &test_tse(), 4);
            })
        }),
        ("TSE007", "R1", |b| {
            // Neither the block nor a QR code carries the signature.
            b.after_signing = Some(|de| {
                let op = find(de, "R1");
                let f = op["fiscal"].as_object_mut().unwrap();
                f.remove("verification");
                f["end_event"].as_object_mut().unwrap().remove("signature");
            })
        }),
        ("LIF002", "S5", |b| {
            let op = find(&mut b.de, "S5");
            op.as_object_mut().unwrap().remove("fiscal");
            find(&mut b.de, "G1")["fiscal"]["end_event"]["transaction_counter"] = json!(7);
        }),
    ]
}

#[test]
fn the_clean_base_has_no_findings() {
    assert_eq!(findings(&base()), Vec::<(String, String)>::new());
}

#[test]
fn each_rule_fires_exactly_on_its_operation() {
    let mut failures = Vec::new();
    for (code, op, mutate) in cases() {
        let mut b = base();
        mutate(&mut b);
        let got = findings(&b);
        if got != vec![(code.to_string(), op.to_string())] {
            failures.push(format!("{code} on {op}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_of_the_catalog_has_a_case() {
    let covered: BTreeSet<&str> = cases().into_iter().map(|c| c.0).collect();
    let missing: Vec<&str> = catalog::RULES
        .iter()
        .map(|r| r.code)
        .filter(|c| *c != "ING001" && !covered.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a firing case: {missing:?}"
    );
}

#[test]
fn disabled_rules_and_severity_overrides_apply() {
    let mut b = base();
    find(&mut b.de, "S5")["state"] = json!("open");
    let w = Workdir::new();
    let p = w.write(
        "de.ndjson",
        b.de.iter()
            .map(|v| v.to_string() + "\n")
            .collect::<String>(),
    );
    let ops = read(&[&p]).ops;
    let cfg = |toml: &str| {
        let c = w.write("fiskal.toml", toml);
        Config::load(&c).unwrap()
    };
    let open = |c: Config| {
        validate_all(&ops, c)
            .into_iter()
            .filter(|f| f.code == "LIF001")
            .map(|f| f.severity)
            .collect::<Vec<_>>()
    };
    assert_eq!(open(Config::default()), [fiskal::model::Severity::Warning]);
    assert_eq!(
        open(cfg("[rules.severity]\nLIF001 = \"error\"\n")),
        [fiskal::model::Severity::Error]
    );
    assert!(open(cfg("[rules]\ndisabled = [\"LIF001\"]\n")).is_empty());
}

#[test]
fn vat_tolerance_is_configurable() {
    let mut b = base();
    let mutate = cases().into_iter().find(|c| c.0 == "VAT001").unwrap().2;
    mutate(&mut b);
    sign_german(&mut b.de);
    let w = Workdir::new();
    let p = w.write(
        "de.ndjson",
        b.de.iter()
            .map(|v| v.to_string() + "\n")
            .collect::<String>(),
    );
    let ops = read(&[&p]).ops;
    let c = Config::load(&w.write("fiskal.toml", "[tolerance]\nvat = \"0.01\"\n")).unwrap();
    assert!(validate_all(&ops, c).is_empty());
    assert_eq!(validate_all(&ops, Config::default()).len(), 1);
}
