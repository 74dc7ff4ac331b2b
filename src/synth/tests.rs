//! End-to-end tests of `fiskal synth`: generate into temp dirs, re-read as plain JSON, and
//! re-check every documented identity independently of the generator's own arithmetic.
//!
//! The checker below is a small stand-in for the validator of a later issue: on a clean run it
//! must find nothing, and on an injected run exactly the planted anomalies, each at the
//! operation `_injected.json` names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::*;
use crate::model::masterdata::MasterData;
use crate::model::money::{Currency, parse_decimal_str, round_commercial};

fn opts(dir: &Path, seed: u64, regime: SynthRegime, shape: SynthShape) -> SynthOptions {
    SynthOptions {
        registers: 6,
        days: 3,
        ops_per_day: 40,
        seed,
        regime,
        shape,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        inject: vec![],
        out: dir.to_path_buf(),
    }
}

const ALL_ANOMALIES: [Anomaly; 8] = [
    Anomaly::TotalMismatch,
    Anomaly::TaxMismatch,
    Anomaly::SequenceGap,
    Anomaly::DuplicateId,
    Anomaly::CashCountError,
    Anomaly::DanglingReference,
    Anomaly::PaymentMismatch,
    Anomaly::FiscalCounterGap,
];

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn register_files(s: &SynthSummary) -> Vec<PathBuf> {
    s.files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "ndjson"))
        .cloned()
        .collect()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// A v1.1 amount: a decimal string with exactly two decimals.
fn amt(v: &Value) -> Decimal {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("amount {v} is not a string"));
    let (_, frac) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("amount {s:?} has no decimals"));
    assert_eq!(frac.len(), 2, "amount {s:?} must have two decimals");
    parse_decimal_str(s).unwrap()
}

/// A register-shape amount in EUR minor units.
fn minor(v: &Value) -> Decimal {
    Currency::EUR.from_minor(
        v.as_i64()
            .unwrap_or_else(|| panic!("minor units {v} are not an integer")),
    )
}

fn vat(gross: Decimal, rate: Decimal) -> Decimal {
    round_commercial(gross * rate / (Decimal::ONE + rate), 2)
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a string"))
}

/// DSFinV-K processData slot of a German rate.
fn de_slot(rate: Decimal) -> usize {
    match rate.to_string().as_str() {
        "0.19" => 0,
        "0.07" => 1,
        "0.00" => 4,
        r => panic!("unexpected German rate {r}"),
    }
}

/// RKSV amount field of an Austrian rate.
fn at_slot(rate: Decimal) -> usize {
    match rate.to_string().as_str() {
        "0.20" => 0,
        "0.10" => 1,
        "0.13" => 2,
        "0.00" => 3,
        r => panic!("unexpected Austrian rate {r}"),
    }
}

fn fmt2(x: Decimal, sep: char) -> String {
    // Decimal keeps the sign of −1 × 0; the wire never shows "-0.00".
    let x = if x.is_zero() { Decimal::ZERO } else { x };
    let t = format!("{:.2}", x);
    if sep == ',' { t.replace('.', ",") } else { t }
}

#[derive(Debug, Clone)]
#[allow(dead_code)] // `msg` is read through Debug in assertion messages.
struct Finding {
    register: String,
    op: String,
    code: &'static str,
    msg: String,
}

/// Per-register state of the checker.
#[derive(Default)]
struct Ctx {
    register: String,
    country: String,
    findings: Vec<Finding>,
    ids: BTreeSet<String>,
    last_seq: Option<i64>,
    // fiscal counters
    de_tx: Option<i64>,
    de_sig: Option<i64>,
    at_receipt: Option<i64>,
    at_turnover: Decimal,
    it_z: Option<i64>,
    it_p: i64,
    // cash
    drawer: Decimal,
    sale_cash: BTreeMap<String, Decimal>,
    sale_buckets: BTreeMap<String, [Decimal; 5]>,
    sale_pays: BTreeMap<String, [Decimal; 3]>,
    sessions: BTreeMap<String, Decimal>,
    last_instant: Option<chrono::DateTime<chrono::FixedOffset>>,
    // coverage
    types: BTreeSet<String>,
    item_rates: BTreeSet<String>,
    n_lottery: usize,
    n_cf: usize,
}

impl Ctx {
    fn find(&mut self, op: &str, code: &'static str, msg: String) {
        self.findings.push(Finding {
            register: self.register.clone(),
            op: op.to_string(),
            code,
            msg,
        });
    }
}

fn check_file(path: &Path, md: &MasterData) -> Ctx {
    let ops = read_lines(path);
    let register = path.file_stem().unwrap().to_str().unwrap().to_string();
    let mut cx = Ctx {
        country: register[4..6].to_uppercase(),
        register,
        ..Ctx::default()
    };
    assert!(
        md.register(&cx.register).is_some(),
        "{} missing from master data",
        cx.register
    );
    for op in &ops {
        let id = s(&op["id"]).to_string();
        if !cx.ids.insert(id.clone()) {
            cx.find(&id, "duplicate-id", "id seen before".into());
        }
        assert_eq!(s(&op["register_id"]), cx.register);
        let created = chrono::DateTime::parse_from_rfc3339(s(&op["created_at"])).unwrap();
        assert!(
            cx.last_instant.is_none_or(|t| t <= created),
            "{id}: created_at goes back"
        );
        cx.last_instant = Some(created);
        if op.get("object").is_some() {
            check_register_op(op, &mut cx, md);
        } else {
            check_v11_op(op, &mut cx, md);
        }
    }
    cx
}

// ---- register-scoped shape ------------------------------------------------------------------

const REGISTER_TYPES: [&str; 8] = [
    "sale",
    "refund",
    "exchange",
    "void",
    "cash_movement",
    "deposit",
    "deposit_capture",
    "training",
];
const V11_TYPES: [&str; 7] = [
    "sale",
    "return",
    "exchange",
    "session_open",
    "session_cash_adjustment",
    "session_cash_count",
    "session_close",
];

/// Checks a register-shape line list; returns (Σ gross, Σ tax, Σ net, Σ subtotal, Σ line disc,
/// Σ after line, Σ cart) and per-(rate, category) sums; records findings.
#[allow(clippy::type_complexity)]
fn register_lines(
    cx: &mut Ctx,
    id: &str,
    lines: &[Value],
) -> (
    [Decimal; 7],
    BTreeMap<(String, String), [Decimal; 3]>,
    BTreeMap<String, Decimal>,
) {
    let mut sums = [Decimal::ZERO; 7];
    let mut by_rate = BTreeMap::new();
    let mut alloc_by_discount: BTreeMap<String, Decimal> = BTreeMap::new();
    for l in lines {
        let qty = Decimal::from(l["quantity"].as_i64().unwrap());
        let unit = minor(&l["unit_price_gross"]);
        let sub = minor(&l["subtotal_gross"]);
        let ld: Decimal = arr(&l["line_discounts"])
            .iter()
            .map(|x| minor(&x["amount"]))
            .sum();
        let lda = minor(&l["line_discount_amount"]);
        let after = minor(&l["subtotal_after_line_discounts"]);
        let mut cda = Decimal::ZERO;
        for a in arr(&l["cart_discount_allocations"]) {
            *alloc_by_discount
                .entry(s(&a["discount_id"]).to_string())
                .or_default() += minor(&a["amount"]);
            cda += minor(&a["amount"]);
        }
        let cdisc = minor(&l["cart_discount_amount"]);
        let total = minor(&l["total_gross"]);
        let rate = d(s(&l["tax"]["rate"]));
        let tax = minor(&l["tax"]["tax_amount"]);
        let net = minor(&l["total_net"]);
        let taxable = minor(&l["tax"]["taxable_amount"]);
        let ok = sub == qty * unit
            && ld == lda
            && after == sub - lda
            && cda == cdisc
            && total == after - cdisc
            && net == total - tax
            && taxable == net;
        if !ok {
            cx.find(
                id,
                "line-arithmetic",
                format!("line {}: amounts do not add up", l["id"]),
            );
        }
        if tax != vat(total, rate) {
            cx.find(
                id,
                "tax",
                format!("line {}: tax {tax} != {}", l["id"], vat(total, rate)),
            );
        }
        let flags: Vec<&str> = l
            .get("flags")
            .map(|f| arr(f).iter().map(s).collect())
            .unwrap_or_default();
        if flags.contains(&"tip") || flags.contains(&"gift_card") {
            assert_eq!(rate, Decimal::ZERO, "{id}: tips and vouchers are not taxed");
        } else if !flags.contains(&"deposit") {
            cx.item_rates.insert(format!("{:.2}", rate));
        }
        let category = s(&l["tax"]["category"]).to_string();
        if cx.country == "IT" && rate.is_zero() {
            assert!(
                ["N2", "N4"].contains(&category.as_str()),
                "{id}: Italian 0 % needs a Natura code"
            );
        }
        for (i, x) in [total, tax, net, sub, lda, after, cdisc]
            .into_iter()
            .enumerate()
        {
            sums[i] += x;
        }
        let e = by_rate
            .entry((format!("{:.2}", rate), category))
            .or_insert([Decimal::ZERO; 3]);
        e[0] += taxable;
        e[1] += tax;
        e[2] += total;
    }
    (sums, by_rate, alloc_by_discount)
}

fn check_register_op(op: &Value, cx: &mut Ctx, md: &MasterData) {
    let id = s(&op["id"]).to_string();
    let ty = s(&op["type"]).to_string();
    let state = s(&op["state"]);
    assert!(REGISTER_TYPES.contains(&ty.as_str()), "{id}: type {ty}");
    assert_eq!(op["object"], "operation");
    for k in [
        "status",
        "source",
        "resource_version",
        "merchant_id",
        "fiscal_information",
    ] {
        assert!(
            op.get(k).is_none(),
            "{id}: {k} would make the record look like v1.1"
        );
    }
    assert!(op["data"].is_object());
    cx.types.insert(format!("{ty}/{state}"));
    for k in ["started_at", "created_at"] {
        assert!(s(&op[k]).ends_with('Z'), "{id}: {k} must be UTC");
    }
    let seq = op["sequence_number"].as_i64().unwrap();
    if let Some(last) = cx.last_seq
        && seq != last + 1
    {
        cx.find(&id, "sequence-gap", format!("sequence {last} → {seq}"));
    }
    cx.last_seq = Some(seq);
    if let Some(r) = op.get("references") {
        let orig = s(&r["original_operation_id"]);
        if !cx.ids.contains(orig) || orig == id {
            cx.find(
                &id,
                "dangling-reference",
                format!("{orig} is not an earlier operation"),
            );
        }
    }
    let data = &op["data"];
    let mut buckets = [Decimal::ZERO; 5];
    let mut cash = Decimal::ZERO;
    let mut has_foreign = false;
    let mut pays = [Decimal::ZERO; 3]; // Bar EUR (with change), Bar CHF, Unbar
    match ty.as_str() {
        "void" => {
            let orig = s(&op["references"]["original_operation_id"]);
            cash = -cx.sale_cash.get(orig).copied().unwrap_or_default();
            if let Some(b) = cx.sale_buckets.get(orig) {
                buckets = b.map(|x| -x);
            }
            if let Some(p) = cx.sale_pays.get(orig) {
                pays = p.map(|x| -x);
            }
        }
        "cash_movement" => {
            let a = minor(&data["amount"]);
            cx.drawer += a;
            if s(&data["reason"]) == "float" {
                cx.drawer = a;
            }
            if s(&data["reason"]) == "bank_deposit" && !cx.drawer.is_zero() {
                cx.find(
                    &id,
                    "cash-count-error",
                    format!("{} left in the drawer after the bank deposit", cx.drawer),
                );
            }
            pays[0] = a;
            if cx.country == "AT" {
                buckets[3] = a;
            }
        }
        _ => {
            let (new, returned, sign): (&[Value], &[Value], Decimal) = if ty == "exchange" {
                (
                    arr(&data["new_line_items"]),
                    arr(&data["returned_line_items"]),
                    Decimal::ONE,
                )
            } else {
                (
                    arr(&data["line_items"]),
                    &[],
                    if ty == "refund" {
                        -Decimal::ONE
                    } else {
                        Decimal::ONE
                    },
                )
            };
            let (a, ra, aa) = register_lines(cx, &id, new);
            let (b, rb, _) = register_lines(cx, &id, returned);
            let t = &data["totals"];
            let expect = |i: usize| a[i] - b[i];
            let ok = minor(&t["total_gross"]) == expect(0)
                && minor(&t["total_tax"]) == expect(1)
                && minor(&t["total_net"]) == expect(2)
                && minor(&t["subtotal_gross"]) == expect(3)
                && minor(&t["total_line_discounts"]) == expect(4)
                && minor(&t["subtotal_after_line_discounts"]) == expect(5)
                && minor(&t["total_cart_discounts"]) == expect(6)
                && minor(&t["subtotal_after_all_discounts"]) == expect(5) - expect(6)
                && minor(&t["rounding_adjustment"]).is_zero()
                && minor(&t["net_payable"]) == minor(&t["total_gross"]);
            if !ok {
                cx.find(
                    &id,
                    "total-mismatch",
                    format!(
                        "totals do not sum the lines (total_gross {} vs {})",
                        minor(&t["total_gross"]),
                        expect(0)
                    ),
                );
            }
            let mut rates = ra;
            for (k, v) in rb {
                let e = rates.entry(k).or_insert([Decimal::ZERO; 3]);
                for i in 0..3 {
                    e[i] -= v[i];
                }
            }
            let bd = arr(&t["tax_breakdown"]);
            let mut last_rate = Decimal::MAX;
            assert_eq!(
                bd.len(),
                rates.len(),
                "{id}: one breakdown row per (rate, category)"
            );
            for row in bd {
                let r = d(s(&row["rate"]));
                assert!(r <= last_rate, "{id}: breakdown sorted by rate descending");
                last_rate = r;
                let key = (format!("{:.2}", r), s(&row["category"]).to_string());
                let e = rates
                    .get(&key)
                    .unwrap_or_else(|| panic!("{id}: breakdown row {key:?}"));
                if [
                    minor(&row["taxable_amount"]),
                    minor(&row["tax_amount"]),
                    minor(&row["total_gross"]),
                ] != *e
                {
                    cx.find(&id, "breakdown", format!("breakdown {key:?} differs"));
                }
                let slot = if cx.country == "DE" {
                    de_slot(r)
                } else if cx.country == "AT" {
                    at_slot(r)
                } else {
                    0
                };
                buckets[slot] += sign * e[2];
            }
            for cd in data.get("cart_discounts").map_or(&[][..], |c| arr(c)) {
                let got = aa.get(s(&cd["id"])).copied().unwrap_or_default();
                if got != minor(&cd["amount"]) {
                    cx.find(
                        &id,
                        "allocation",
                        "cart discount allocations do not sum to the discount".into(),
                    );
                }
            }
            let mut net_paid = Decimal::ZERO;
            for p in arr(&data["payments"]) {
                let a = minor(&p["amount"]);
                let signed = if s(&p["direction"]) == "outbound" {
                    -a
                } else {
                    a
                };
                net_paid += signed;
                let method = s(&p["method"]);
                assert_ne!(a, Decimal::ZERO);
                assert!(a > Decimal::ZERO, "{id}: payment amounts are positive");
                if method == "cash" {
                    cash += signed;
                    if s(&p["currency"]) == "CHF" {
                        has_foreign = true;
                        let tendered = minor(&p["cash"]["amount_tendered"]);
                        pays[1] += tendered;
                        pays[0] += signed - round_commercial(tendered * d("1.065"), 2);
                    } else {
                        assert_eq!(s(&p["currency"]), "EUR");
                        if let Some(t) = p.get("cash") {
                            assert!(
                                minor(&t["amount_tendered"]) >= a,
                                "{id}: tendered covers the amount"
                            );
                        }
                        pays[0] += signed;
                    }
                } else {
                    assert_eq!(s(&p["currency"]), "EUR", "{id}: only cash may be foreign");
                    pays[2] += signed;
                }
                if ty == "refund" {
                    assert_eq!(s(&p["direction"]), "outbound");
                } else if ty != "exchange" {
                    assert_eq!(s(&p["direction"]), "inbound");
                }
            }
            let payable = minor(&t["net_payable"]);
            // Payments settle completed operations only; cancelled and open ones have none.
            if state == "completed" && net_paid != sign * payable {
                cx.find(
                    &id,
                    "payment-mismatch",
                    format!("payments {net_paid} vs net_payable {payable}"),
                );
            }
            if state != "completed" {
                assert!(
                    arr(&data["payments"]).is_empty(),
                    "{id}: {state} operations carry no payment"
                );
            }
            if let Some(c) = data.get("customer") {
                assert_eq!(c["tax_id_type"], "codice_fiscale");
                assert!(
                    op.get("metadata").is_none(),
                    "{id}: lottery code together with a codice fiscale"
                );
                cx.n_cf += 1;
            }
            if let Some(m) = op.get("metadata") {
                check_lottery(cx, &id, s(&m["lottery_code"]), arr(&data["payments"]));
            }
            if ty == "sale" && state == "completed" {
                cx.sale_cash.insert(id.clone(), cash);
                cx.sale_buckets.insert(id.clone(), buckets);
                cx.sale_pays.insert(id.clone(), pays);
            }
            if state == "completed" && ty != "training" {
                cx.drawer += cash;
            }
        }
    }
    if ty == "void" {
        // The void hands back the original sale's cash.
        cx.drawer += cash;
    }
    let fiscal = op.get("fiscal");
    match (cx.country.as_str(), fiscal) {
        (_, None) => {
            let unsigned_ok = cx.country == "IT"
                && (ty == "cash_movement" || ty == "training" || state != "completed")
                || cx.country == "AT" && state != "completed";
            assert!(
                unsigned_ok,
                "{id}: {ty}/{state} must be signed in {}",
                cx.country
            );
        }
        ("DE", Some(f)) => {
            assert_eq!(f["regime"], "tse");
            let n = f["start_event"]["transaction_counter"].as_i64().unwrap();
            check_de_counter(cx, &id, n);
            assert_eq!(
                s(&f["tse_serial"]),
                md.tse[tse_idx(md, s(&f["client_id"]))].serial
            );
            if let Some(e) = f.get("end_event") {
                assert_eq!(e["transaction_counter"].as_i64().unwrap(), n);
                let vorgang = s(&f["document_type"]);
                let pays = (!has_foreign && vorgang != "AVTraining" && vorgang != "AVBelegabbruch")
                    .then_some(pays);
                let expect_buckets = if vorgang == "AVBelegabbruch" || vorgang == "AVTransfer" {
                    [Decimal::ZERO; 5]
                } else {
                    buckets
                };
                check_de_qr(
                    cx,
                    md,
                    &id,
                    f,
                    e,
                    vorgang,
                    &expect_buckets,
                    pays,
                    &op["started_at"],
                    &op["completed_at"],
                );
            } else {
                assert_eq!(
                    state, "open",
                    "{id}: only the open operation lacks an end event"
                );
                assert_eq!(f.get("verification"), None);
            }
        }
        ("AT", Some(f)) => {
            assert_eq!(f["regime"], "rksv");
            let e = &f["end_event"];
            let n = e["transaction_counter"].as_i64().unwrap();
            check_at(
                cx,
                md,
                &id,
                s(&f["document_number"]),
                n,
                s(&f["document_type"]),
                s(&f["verification"]["qr_data"]),
                &buckets,
                None,
                s(&e["signed_at"]),
            );
        }
        ("IT", Some(f)) => {
            assert_eq!(f["regime"], "rt");
            let (z, p) = parse_rt_doc(s(&f["document_number"]));
            check_it(
                cx,
                md,
                &id,
                s(&f["fiscal_unit_id"]),
                z,
                p,
                z,
                p,
                s(&f["document_type"]),
                &ty,
            );
        }
        (c, Some(_)) => panic!("country {c}"),
    }
}

fn tse_idx(md: &MasterData, client: &str) -> usize {
    md.tse
        .iter()
        .position(|t| t.client_ids.iter().any(|c| c == client))
        .expect("client id in master data")
}

fn check_de_counter(cx: &mut Ctx, id: &str, n: i64) {
    if let Some(last) = cx.de_tx
        && n != last + 1
    {
        cx.find(
            id,
            "fiscal-counter-gap",
            format!("TSE transaction {last} → {n}"),
        );
    }
    cx.de_tx = Some(n);
}

#[allow(clippy::too_many_arguments)]
fn check_de_qr(
    cx: &mut Ctx,
    md: &MasterData,
    id: &str,
    f: &Value,
    e: &Value,
    vorgang: &str,
    buckets: &[Decimal; 5],
    pays: Option<[Decimal; 3]>,
    started: &Value,
    completed: &Value,
) {
    let qr = s(&f["verification"]["qr_data"]);
    let q: Vec<&str> = qr.split(';').collect();
    assert_eq!(q.len(), 12, "{id}: V0 QR has 12 fields");
    let tse = &md.tse[tse_idx(md, q[1])];
    assert_eq!(q[0], "V0");
    assert_eq!(q[2], "Kassenbeleg-V1");
    assert_eq!(q[3], s(&e["process_data"]));
    assert_eq!(q[4], e["transaction_counter"].to_string());
    let sig: i64 = q[5].parse().unwrap();
    if let Some(last) = cx.de_sig {
        assert!(sig > last, "{id}: signature counter increases");
    }
    cx.de_sig = Some(sig);
    let to_ms = |v: &Value| {
        let t = s(v);
        if t.ends_with('Z') {
            format!("{}.000Z", &t[..19])
        } else {
            let dt = chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .with_timezone(&chrono::Utc);
            dt.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
        }
    };
    if !started.is_null() {
        assert_eq!(q[6], to_ms(started), "{id}: QR start time");
    }
    if !completed.is_null() {
        assert_eq!(q[7], to_ms(completed), "{id}: QR log time");
    }
    assert_eq!(q[8], tse.signature_algorithm);
    assert_eq!(q[9], "unixTime");
    assert_eq!(q[10], s(&e["signature"]));
    assert_eq!(b64_decode(q[10]).len(), 64);
    assert_eq!(q[11], tse.public_key);
    let pk = b64_decode(q[11]);
    assert_eq!((pk.len(), pk[0]), (65, 4));
    assert_eq!(tse.serial, super::text::hex(&super::sha256::sha256(&pk)));
    let pd: Vec<&str> = q[3].split('^').collect();
    assert_eq!(pd.len(), 3);
    assert_eq!(pd[0], vorgang);
    let expect: Vec<String> = buckets.iter().map(|b| fmt2(*b, '.')).collect();
    if pd[1] != expect.join("_") {
        cx.find(
            id,
            "process-data",
            format!("buckets {} vs {}", pd[1], expect.join("_")),
        );
    }
    if let Some(p) = pays {
        let mut parts = Vec::new();
        for (a, suffix) in [(p[0], ":Bar"), (p[1], ":Bar:CHF"), (p[2], ":Unbar")] {
            if !a.is_zero() {
                parts.push(format!("{}{suffix}", fmt2(a, '.')));
            }
        }
        if pd[2] != parts.join("_") {
            cx.find(
                id,
                "process-data",
                format!("payments {} vs {}", pd[2], parts.join("_")),
            );
        }
    } else if vorgang != "Beleg" && vorgang != "AVTransfer" {
        assert_eq!(pd[2], "", "{id}: {vorgang} has no payment part");
    }
}

#[allow(clippy::too_many_arguments)]
fn check_at(
    cx: &mut Ctx,
    md: &MasterData,
    id: &str,
    doc: &str,
    n: i64,
    kind: &str,
    qr: &str,
    buckets: &[Decimal; 5],
    turnover: Option<Decimal>,
    signed_at: &str,
) {
    assert_eq!(doc, n.to_string());
    if let Some(last) = cx.at_receipt
        && n != last + 1
    {
        cx.find(
            id,
            "fiscal-counter-gap",
            format!("RKSV receipt {last} → {n}"),
        );
    }
    cx.at_receipt = Some(n);
    assert!(qr.starts_with('_'));
    let q: Vec<&str> = qr[1..].split('_').collect();
    assert_eq!(q.len(), 13, "{id}: RKSV code has 13 fields");
    let cb = md
        .rksv
        .iter()
        .find(|c| c.register_id == cx.register)
        .unwrap();
    assert_eq!((q[0], q[1], q[2]), ("R1-AT1", cb.cashbox_id.as_str(), doc));
    // Local time without zone, equal to the signing time in the location's zone.
    let local = chrono::DateTime::parse_from_rfc3339(signed_at)
        .unwrap()
        .with_timezone(&"Europe/Vienna".parse::<chrono_tz::Tz>().unwrap())
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    assert_eq!(q[3], local, "{id}: RKSV time is local");
    for a in &q[4..9] {
        let (int, frac) = a.trim_start_matches('-').split_once(',').unwrap();
        assert!(
            frac.len() == 2 && (int == "0" || !int.starts_with('0')),
            "{id}: amount {a}"
        );
    }
    let expect: Vec<String> = buckets.iter().map(|b| fmt2(*b, ',')).collect();
    if q[4..9] != expect.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        cx.find(id, "rksv-amounts", format!("{:?} vs {expect:?}", &q[4..9]));
    }
    match kind {
        "Stornobeleg" => assert_eq!(q[9], "U1RP"),
        "Trainingsbeleg" => assert_eq!(q[9], "VFJB"),
        _ => assert_eq!(b64_decode(q[9]).len(), 8),
    }
    if kind != "Trainingsbeleg" {
        cx.at_turnover += buckets.iter().copied().sum::<Decimal>();
    }
    if let Some(t) = turnover {
        assert_eq!(
            t, cx.at_turnover,
            "{id}: turnover counter is the running sum"
        );
    }
    assert_eq!(q[10], cb.certificate_serial);
    assert_eq!(b64_decode(q[11]).len(), 8);
    assert_eq!(b64_decode(q[12]).len(), 64);
}

fn parse_rt_doc(doc: &str) -> (i64, i64) {
    let (z, p) = doc.split_once('-').unwrap();
    assert!(
        z.len() == 4 && p.len() == 4,
        "document number {doc} is ZZZZ-NNNN"
    );
    (z.parse().unwrap(), p.parse().unwrap())
}

#[allow(clippy::too_many_arguments)]
fn check_it(
    cx: &mut Ctx,
    md: &MasterData,
    id: &str,
    serial: &str,
    z: i64,
    p: i64,
    doc_z: i64,
    doc_p: i64,
    doc_type: &str,
    ty: &str,
) {
    let dev = md.rt.iter().find(|r| r.register_id == cx.register).unwrap();
    assert_eq!(serial, dev.serial);
    let b = serial.as_bytes();
    let ok = b.len() == 11
        && b[..2]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[2].is_ascii_uppercase()
        && b[3..5]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[5..].iter().all(u8::is_ascii_digit);
    assert!(ok, "matricola {serial}");
    assert_eq!((z, p), (doc_z, doc_p));
    match cx.it_z {
        Some(last) if last == z && p != cx.it_p + 1 => {
            cx.find(
                id,
                "fiscal-counter-gap",
                format!("RT progressive {} → {p}", cx.it_p),
            );
        }
        Some(last) if last == z => {}
        Some(last) => {
            assert!(z > last, "{id}: daily closing numbers increase");
            if p != 1 {
                cx.find(
                    id,
                    "fiscal-counter-gap",
                    format!("RT day {z} starts at {p}"),
                );
            }
        }
        None => {}
    }
    cx.it_z = Some(z);
    cx.it_p = p;
    let expected = match ty {
        "void" => &["ANNULLO"][..],
        "refund" | "return" => &["RESO"][..],
        "exchange" => &["VENDITA", "RESO"][..],
        _ => &["VENDITA"][..],
    };
    assert!(expected.contains(&doc_type), "{id}: {ty} as {doc_type}");
}

fn check_lottery(cx: &mut Ctx, id: &str, code: &str, payments: &[Value]) {
    assert_eq!(cx.country, "IT");
    assert!(
        code.len() == 8
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{id}: {code}"
    );
    assert!(
        payments
            .iter()
            .all(|p| ["card", "wallet"].contains(&s(&p["method"]))),
        "{id}: lottery needs electronic payment"
    );
    cx.n_lottery += 1;
}

// ---- v1.1 shape -----------------------------------------------------------------------------

fn check_v11_op(op: &Value, cx: &mut Ctx, md: &MasterData) {
    let id = s(&op["id"]).to_string();
    let ty = s(&op["type"]).to_string();
    let status = s(&op["status"]).to_string();
    assert!(V11_TYPES.contains(&ty.as_str()), "{id}: type {ty}");
    for k in ["object", "state", "data", "sequence_number"] {
        assert!(
            op.get(k).is_none(),
            "{id}: {k} would make the record look register-scoped"
        );
    }
    assert_eq!(op["source"], "POS");
    assert_eq!(op["currency"], "EUR");
    assert!(op["resource_version"].as_i64().unwrap() >= 1);
    cx.types.insert(format!("{ty}/{status}"));
    for k in ["created_at", "updated_at", "completed_at", "voided_at"] {
        if let Some(t) = op.get(k) {
            let t = s(t);
            assert!(
                t.ends_with("+01:00") || t.ends_with("+02:00"),
                "{id}: {k} {t} carries the local offset"
            );
            let local_hour: u32 = t[11..13].parse().unwrap();
            assert!(
                (6..=22).contains(&local_hour),
                "{id}: {k} {t} outside business hours"
            );
        }
    }
    let session = s(&op["session_id"]).to_string();
    let mut buckets = [Decimal::ZERO; 5];
    let mut pays = [Decimal::ZERO; 3];
    let mut has_foreign = false;
    match ty.as_str() {
        "session_open" => {
            cx.sessions
                .insert(session.clone(), amt(&op["opening_balance_amount"]));
        }
        "session_cash_adjustment" => {
            let a = amt(&op["cash_amount"]);
            *cx.sessions.get_mut(&session).unwrap() += a;
            pays[0] = a;
            if cx.country == "AT" {
                buckets[3] = a;
            }
        }
        "session_cash_count" => {
            let counted = amt(&op["counted_closing_amount"]);
            let expected = amt(&op["expected_closing_amount"]);
            let diff = amt(&op["closing_cashcount_diff"]);
            assert!(counted >= Decimal::ZERO);
            assert_eq!(diff, counted - expected, "{id}: diff = counted − expected");
            let ours = cx.sessions[&session];
            if expected != ours {
                cx.find(
                    &id,
                    "cash-count-error",
                    format!("expected {expected}, recomputed {ours}"),
                );
            } else if !diff.is_zero() {
                assert!(
                    op.get("discrepancy_note").is_some(),
                    "{id}: a discrepancy is explained"
                );
            }
            cx.sessions.insert(session.clone(), counted);
        }
        "session_close" => {
            let bd = s(&op["business_date"]);
            assert!(s(&op["created_at"]).starts_with(bd));
            if let Some(a) = op.get("closing_adjustment_amount") {
                assert!(amt(a) < Decimal::ZERO, "{id}: closing pulls are negative");
            }
        }
        _ => {
            if let Some(r) = op.get("related_operation_id") {
                let orig = s(r);
                if !cx.ids.contains(orig) || orig == id {
                    cx.find(
                        &id,
                        "dangling-reference",
                        format!("{orig} is not an earlier operation"),
                    );
                }
            }
            let lines = arr(&op["line_items"]);
            let discounts: Decimal = arr(&op["cart_level_discounts"])
                .iter()
                .map(|c| amt(&c["amount"]))
                .sum();
            // Recompute the allocation: largest remainder over all lines (docs/synth.md).
            let totals: Vec<Decimal> = lines.iter().map(|l| amt(&l["total_amount"])).collect();
            let base: Decimal = totals.iter().copied().sum();
            let cents = |mut x: Decimal| {
                x.rescale(2);
                x.mantissa()
            };
            let mut alloc = vec![0i128; lines.len()];
            if !discounts.is_zero() {
                let (dd, bb) = (cents(discounts), cents(base));
                let mut rem = Vec::new();
                for (i, t) in totals.iter().enumerate() {
                    let num = dd * cents(*t);
                    alloc[i] = num / bb;
                    rem.push((-(num % bb), i));
                }
                let left = dd - alloc.iter().sum::<i128>();
                rem.sort();
                for &(_, i) in rem.iter().take(left as usize) {
                    alloc[i] += 1;
                }
            }
            let mut tax_sum = Decimal::ZERO;
            for (i, l) in lines.iter().enumerate() {
                let qty = Decimal::from(l["quantity"].as_i64().unwrap());
                if qty.is_sign_negative() {
                    assert_eq!(
                        ty, "exchange",
                        "{id}: only exchanges return lines with negative quantity"
                    );
                }
                if amt(&l["total_amount"]) != qty * amt(&l["unit_price"]) {
                    cx.find(
                        &id,
                        "line-arithmetic",
                        format!("line {}: total_amount != quantity × unit_price", l["id"]),
                    );
                }
                let taxes = arr(&l["taxes"]);
                assert_eq!(taxes.len(), 1);
                let rate = d(s(&taxes[0]["rate"]));
                let gross = totals[i] - Decimal::new(alloc[i] as i64, 2);
                let tax = amt(&taxes[0]["tax_amount"]);
                if tax != vat(gross, rate) {
                    cx.find(
                        &id,
                        "tax",
                        format!("line {}: tax {tax} != {}", l["id"], vat(gross, rate)),
                    );
                }
                tax_sum += tax;
                let name = s(&taxes[0]["name"]);
                if s(&l["type"]) == "gift_card" {
                    assert!(rate.is_zero() && tax.is_zero() && l.get("gift_card_id").is_some());
                } else {
                    cx.item_rates.insert(format!("{:.2}", rate));
                }
                if cx.country == "IT" && rate.is_zero() {
                    assert!(
                        ["N2", "N4"].contains(&name),
                        "{id}: Italian 0 % names its Natura code"
                    );
                }
                let slot = match cx.country.as_str() {
                    "DE" => de_slot(rate),
                    "AT" => at_slot(rate),
                    _ => 0,
                };
                buckets[slot] += gross;
            }
            let pretax = amt(&op["pretax_amount"]);
            let tax = amt(&op["tax_amount"]);
            let tip = amt(&op["tip_amount"]);
            let total = amt(&op["total_amount"]);
            if tax != tax_sum || base - discounts != pretax + tax {
                cx.find(
                    &id,
                    "tax",
                    format!("tax_amount {tax} vs Σ lines {tax_sum}; pretax {pretax}"),
                );
            }
            if total != pretax + tax + tip {
                cx.find(
                    &id,
                    "total-mismatch",
                    format!("total {total} != {pretax} + {tax} + {tip}"),
                );
            }
            buckets[if cx.country == "DE" { 4 } else { 3 }] += tip;
            if ty == "return" {
                buckets = buckets.map(|b| -b);
            }
            let mut paid = Decimal::ZERO;
            let mut cash = Decimal::ZERO;
            let mut electronic = true;
            for p in arr(&op["payments"]) {
                let a = amt(&p["amount"]);
                let st = s(&p["status"]);
                match ty.as_str() {
                    "sale" => assert_eq!(st, "captured"),
                    "return" => assert_eq!(st, "refunded"),
                    _ => assert_eq!(
                        st == "refunded",
                        a < Decimal::ZERO,
                        "{id}: exchange legs are signed"
                    ),
                }
                assert!(!a.is_zero());
                paid += a;
                let signed = if ty == "return" { -a } else { a };
                let method = s(&p["method"]);
                electronic &= ["card", "wallet"].contains(&method);
                if method == "cash" {
                    cash += signed;
                    if s(&p["currency"]) == "CHF" {
                        has_foreign = true;
                    } else {
                        pays[0] += signed;
                    }
                } else {
                    assert_eq!(s(&p["currency"]), "EUR");
                    pays[2] += signed;
                }
            }
            if status != "open" && paid != total {
                cx.find(
                    &id,
                    "payment-mismatch",
                    format!("payments {paid} vs total {total}"),
                );
            }
            if status == "open" {
                assert!(arr(&op["payments"]).is_empty() && op.get("fiscal_information").is_none());
            }
            if status == "voided" {
                assert!(op.get("voided_at").is_some() && op.get("void_reason").is_some());
            } else if status == "completed" {
                *cx.sessions.get_mut(&session).unwrap() += cash;
            }
            if let Some(l) = op
                .get("fiscal_information")
                .and_then(|f| f.get("lottery_code"))
            {
                assert!(
                    electronic && total >= Decimal::ONE,
                    "{id}: lottery needs ≥ 1.00 paid electronically"
                );
                check_lottery(cx, &id, s(l), arr(&op["payments"]));
            }
        }
    }
    let Some(f) = op.get("fiscal_information") else {
        // Session events are unsigned, except cash adjustments outside Italy (AVTransfer, RKSV
        // receipt); open operations are not signed yet.
        let unsigned_ok = status == "open"
            || (ty.starts_with("session_") && ty != "session_cash_adjustment")
            || (ty == "session_cash_adjustment" && cx.country == "IT");
        assert!(unsigned_ok, "{id}: {ty} must be signed in {}", cx.country);
        return;
    };
    match s(&f["regime"]) {
        "KassenSichV" => {
            assert_eq!(cx.country, "DE");
            let e = &f["end_event"];
            let n = e["transaction_counter"].as_i64().unwrap();
            check_de_counter(cx, &id, n);
            let tse = &md.tse[tse_idx(md, s(&f["pos_client_serial_number"]))];
            assert_eq!(s(&f["tss_serial_number"]), tse.serial);
            assert_eq!(s(&e["public_key"]), tse.public_key);
            let vorgang = s(&f["document_type"]);
            let expect_buckets = if vorgang == "AVTransfer" {
                [Decimal::ZERO; 5]
            } else {
                buckets
            };
            let pays = (!has_foreign).then_some(pays);
            check_de_qr(
                cx,
                md,
                &id,
                f,
                e,
                vorgang,
                &expect_buckets,
                pays,
                &f["start_event"]["signed_at"],
                &e["signed_at"],
            );
        }
        "RKSV" => {
            assert_eq!(cx.country, "AT");
            let sg = &f["signature"];
            let n = sg["transaction_counter"].as_i64().unwrap();
            let turnover = amt(&sg["turnover_counter"]);
            check_at(
                cx,
                md,
                &id,
                s(&f["document_number"]),
                n,
                s(&f["document_type"]),
                s(&f["verification"]["qr_data"]),
                &buckets,
                Some(turnover),
                s(&sg["signed_at"]),
            );
        }
        "RT" => {
            assert_eq!(cx.country, "IT");
            let (dz, dp) = parse_rt_doc(s(&f["document_number"]));
            let z = f["daily_closing_number"].as_i64().unwrap();
            let p = f["progressive_number"].as_i64().unwrap();
            check_it(
                cx,
                md,
                &id,
                s(&f["rt_serial"]),
                z,
                p,
                dz,
                dp,
                s(&f["document_type"]),
                &ty,
            );
        }
        r => panic!("{id}: regime {r}"),
    }
}

fn b64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    assert_eq!(s.len() % 4, 0, "Base64 {s:?} is padded");
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for &c in chunk {
            n <<= 6;
            if c == b'=' {
                pad += 1;
            } else {
                n |= A
                    .iter()
                    .position(|&a| a == c)
                    .unwrap_or_else(|| panic!("{s:?} is not Base64")) as u32;
            }
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    out
}

/// Runs the checker over a generated directory.
fn check_dir(summary: &SynthSummary, dir: &Path) -> Vec<Ctx> {
    let md = MasterData::load(&dir.join("masterdata.toml")).expect("master data loads and checks");
    assert_eq!(md.registers.len(), summary.per_register.len());
    register_files(summary)
        .iter()
        .map(|f| check_file(f, &md))
        .collect()
}

fn all_findings(cxs: &[Ctx]) -> Vec<Finding> {
    cxs.iter().flat_map(|c| c.findings.clone()).collect()
}

// ---- tests ----------------------------------------------------------------------------------

#[test]
fn same_seed_same_bytes_on_any_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut oa = opts(a.path(), 11, SynthRegime::Mixed, SynthShape::Mixed);
    oa.inject = ALL_ANOMALIES.to_vec();
    let mut ob = oa.clone();
    ob.out = b.path().to_path_buf();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let four = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let sa = one.install(|| generate(&oa, &|_| {})).unwrap();
    let sb = four.install(|| generate(&ob, &|_| {})).unwrap();
    assert_eq!(sa.files.len(), 8);
    for (fa, fb) in sa.files.iter().zip(&sb.files) {
        assert_eq!(fa.file_name(), fb.file_name());
        assert!(
            std::fs::read(fa).unwrap() == std::fs::read(fb).unwrap(),
            "{} differs",
            fa.display()
        );
    }
    assert_eq!(sa.per_register, sb.per_register);
}

#[test]
fn different_seed_different_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let sa = generate(
        &opts(a.path(), 1, SynthRegime::Mixed, SynthShape::Mixed),
        &|_| {},
    )
    .unwrap();
    let sb = generate(
        &opts(b.path(), 2, SynthRegime::Mixed, SynthShape::Mixed),
        &|_| {},
    )
    .unwrap();
    for (fa, fb) in sa.files.iter().zip(&sb.files) {
        if fa.file_name().unwrap() == INJECTED_FILE {
            continue;
        }
        assert!(
            std::fs::read(fa).unwrap() != std::fs::read(fb).unwrap(),
            "{} identical",
            fa.display()
        );
    }
}

#[test]
fn clean_history_satisfies_every_identity() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 5, SynthRegime::Mixed, SynthShape::Mixed);
    o.days = 4;
    o.ops_per_day = 60;
    let progressed = std::sync::atomic::AtomicU64::new(0);
    let summary = generate(&o, &|n| {
        progressed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(progressed.into_inner(), summary.n_operations);
    assert_eq!(
        summary.n_operations,
        summary.per_register.iter().map(|(_, n)| n).sum::<u64>()
    );
    assert!(summary.injected.is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(INJECTED_FILE))
            .unwrap()
            .trim(),
        "[]"
    );
    // Registers 0..6 under Mixed/Mixed cover every regime × shape pair once.
    let ids: Vec<&str> = summary
        .per_register
        .iter()
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "reg_de_01",
            "reg_at_01",
            "reg_it_01",
            "reg_de_02",
            "reg_at_02",
            "reg_it_02"
        ]
    );
    let cxs = check_dir(&summary, dir.path());
    let findings = all_findings(&cxs);
    assert!(
        findings.is_empty(),
        "clean data has findings: {findings:#?}"
    );
    for (cx, (_, n)) in cxs.iter().zip(&summary.per_register) {
        // Each register ran every day: goods operations plus opening and closing operations.
        assert!(
            *n as u32 >= o.days * o.ops_per_day,
            "{}: {n} operations",
            cx.register
        );
        assert!(cx.types.contains("sale/completed"));
        assert!(
            cx.types.contains("sale/open"),
            "{}: the last operation stays open",
            cx.register
        );
    }
}

#[test]
fn every_operation_kind_occurs_and_ids_follow_the_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 9, SynthRegime::Mixed, SynthShape::Mixed);
    o.days = 6;
    o.ops_per_day = 150;
    let summary = generate(&o, &|_| {}).unwrap();
    let cxs = check_dir(&summary, dir.path());
    assert!(all_findings(&cxs).is_empty());
    let mut register_kinds = BTreeSet::new();
    let mut v11_kinds = BTreeSet::new();
    let (mut lottery, mut cf) = (0, 0);
    for (cx, f) in cxs.iter().zip(register_files(&summary)) {
        let register_shape = read_lines(&f)[0].get("object").is_some();
        if register_shape {
            &mut register_kinds
        } else {
            &mut v11_kinds
        }
        .extend(cx.types.iter().cloned());
        lottery += cx.n_lottery;
        cf += cx.n_cf;
        for op in read_lines(&f) {
            let id = s(&op["id"]);
            let tag = format!("op_{}{}_", &cx.register[4..6], &cx.register[7..9]);
            assert!(id.starts_with(&tag) && id[tag.len()..].len() == 6, "{id}");
        }
    }
    for k in [
        "sale/completed",
        "sale/cancelled",
        "sale/open",
        "refund/completed",
        "exchange/completed",
        "void/completed",
        "cash_movement/completed",
        "deposit/completed",
        "deposit_capture/completed",
        "training/completed",
    ] {
        assert!(
            register_kinds.contains(k),
            "register shape never wrote {k}: {register_kinds:?}"
        );
    }
    for k in [
        "sale/completed",
        "sale/voided",
        "sale/open",
        "return/completed",
        "exchange/completed",
        "session_open/completed",
        "session_cash_adjustment/completed",
        "session_cash_count/completed",
        "session_close/completed",
    ] {
        assert!(
            v11_kinds.contains(k),
            "v1.1 shape never wrote {k}: {v11_kinds:?}"
        );
    }
    assert!(
        lottery > 0 && cf > 0,
        "Italian lottery codes ({lottery}) and codici fiscali ({cf}) both occur"
    );
    // Features the brief asks for, seen somewhere in the output.
    let all: String = register_files(&summary)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for needle in [
        "\"flags\":[\"tip\"]",
        "\"flags\":[\"gift_card\"]",
        "\"flags\":[\"deposit\"]",
        "\"method\":\"gift_card\"",
        "\"currency\":\"CHF\"",
        "\"tip_amount\":\"0.",
        "\"type\":\"gift_card\"",
        "\"cart_level_discounts\":[{",
        "\"cart_discount_allocations\":[{",
        "\"line_discounts\":[{",
        "\"reason\":\"bank_deposit\"",
        "\"reason\":\"expense\"",
        "\"discrepancy_note\"",
        "\"closing_adjustment_amount\":\"-",
        "Stornobeleg",
        "Trainingsbeleg",
        "AVTraining",
        "AVBelegabbruch",
        "AVTransfer",
        "ANNULLO",
        "RESO",
        "\"quantity\":-1",
    ] {
        assert!(all.contains(needle), "never wrote {needle}");
    }
}

#[test]
fn vat_rates_are_exactly_each_countrys_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 21, SynthRegime::Mixed, SynthShape::Mixed);
    o.days = 2;
    o.ops_per_day = 120;
    let summary = generate(&o, &|_| {}).unwrap();
    let cxs = check_dir(&summary, dir.path());
    for cx in &cxs {
        let expect: &[&str] = match cx.country.as_str() {
            "DE" => &["0.07", "0.19"],
            "AT" => &["0.00", "0.10", "0.13", "0.20"],
            _ => &["0.00", "0.04", "0.05", "0.10", "0.22"],
        };
        let seen: Vec<&str> = cx.item_rates.iter().map(String::as_str).collect();
        assert_eq!(seen, expect, "{}", cx.register);
    }
}

#[test]
fn single_regime_runs_and_dst_switch() {
    // 2026-03-29: Central European Summer Time starts; offsets must follow.
    for (regime, shape) in [
        (SynthRegime::Kassensichv, SynthShape::Operations),
        (SynthRegime::Rksv, SynthShape::Register),
        (SynthRegime::Rt, SynthShape::Operations),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), 3, regime, shape);
        o.registers = 2;
        o.start = chrono::NaiveDate::from_ymd_opt(2026, 3, 27).unwrap();
        o.days = 4;
        o.ops_per_day = 30;
        let summary = generate(&o, &|_| {}).unwrap();
        let cxs = check_dir(&summary, dir.path());
        assert!(all_findings(&cxs).is_empty(), "{:#?}", all_findings(&cxs));
        let text = std::fs::read_to_string(&register_files(&summary)[0]).unwrap();
        if shape == SynthShape::Operations {
            assert!(
                text.contains("2026-03-28T") && text.contains("+01:00") && text.contains("+02:00")
            );
        }
        let md = std::fs::read_to_string(dir.path().join("masterdata.toml")).unwrap();
        let md: MasterData = toml::from_str(&md).unwrap();
        assert_eq!(md.merchants.len(), 1);
        match regime {
            SynthRegime::Kassensichv => {
                let m = &md.merchants[0];
                assert!(m.tax_number.is_some() && m.vat_id.as_deref().unwrap().starts_with("DE"));
                assert_eq!(md.tse.len(), 2);
                assert!(
                    md.tse
                        .iter()
                        .all(|t| t.serial.len() == 64 && t.time_format == "unixTime")
                );
            }
            SynthRegime::Rksv => {
                assert!(
                    md.merchants[0]
                        .vat_id
                        .as_deref()
                        .unwrap()
                        .starts_with("ATU")
                );
                assert!(
                    md.rksv
                        .iter()
                        .all(|c| b64_decode(c.aes_key.as_deref().unwrap()).len() == 32)
                );
            }
            _ => {
                let m = &md.merchants[0];
                assert!(
                    m.vat_id.as_deref().unwrap().starts_with("IT")
                        && m.fiscal_code.as_ref().unwrap().len() == 16
                );
                assert!(md.rt.iter().all(|r| r.firmware.is_some()));
            }
        }
        for l in &md.locations {
            assert_eq!(
                l.time_zone,
                match regime {
                    SynthRegime::Kassensichv => "Europe/Berlin",
                    SynthRegime::Rksv => "Europe/Vienna",
                    _ => "Europe/Rome",
                }
            );
        }
    }
}

fn code_of(a: Anomaly) -> &'static str {
    match a {
        Anomaly::TotalMismatch => "total-mismatch",
        Anomaly::TaxMismatch => "tax",
        Anomaly::SequenceGap => "sequence-gap",
        Anomaly::DuplicateId => "duplicate-id",
        Anomaly::CashCountError => "cash-count-error",
        Anomaly::DanglingReference => "dangling-reference",
        Anomaly::PaymentMismatch => "payment-mismatch",
        Anomaly::FiscalCounterGap => "fiscal-counter-gap",
    }
}

/// Runs with every anomaly and checks that the checker finds exactly them, where
/// `_injected.json` says.
fn injected_run(regime: SynthRegime, shape: SynthShape) -> (SynthSummary, Vec<Finding>) {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 17, regime, shape);
    o.registers = 3;
    // Asked twice: planted once.
    o.inject = ALL_ANOMALIES
        .iter()
        .chain(&[Anomaly::TaxMismatch])
        .copied()
        .collect();
    let summary = generate(&o, &|_| {}).unwrap();
    let listed: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(INJECTED_FILE)).unwrap())
            .unwrap();
    assert_eq!(listed.len(), ALL_ANOMALIES.len());
    for (l, i) in listed.iter().zip(&summary.injected) {
        assert_eq!(s(&l["anomaly"]), anomaly_name(i.anomaly));
        assert_eq!(s(&l["operation_id"]), i.operation_id);
        assert!(!i.description.is_empty());
    }
    let findings = all_findings(&check_dir(&summary, dir.path()));
    (summary, findings)
}

fn assert_exactly_planted(
    summary: &SynthSummary,
    findings: &[Finding],
    substitutes: &[(Anomaly, &str)],
) {
    for i in &summary.injected {
        let code = substitutes
            .iter()
            .find(|(a, _)| *a == i.anomaly)
            .map_or(code_of(i.anomaly), |(_, c)| *c);
        assert!(
            findings
                .iter()
                .any(|f| f.register == i.register_id && f.op == i.operation_id && f.code == code),
            "{:?} not found at {} {}: {findings:#?}",
            i.anomaly,
            i.register_id,
            i.operation_id
        );
    }
    for f in findings {
        let planted = summary
            .injected
            .iter()
            .any(|i| i.register_id == f.register && i.operation_id == f.op);
        // A planted total/payment error also shows in the fiscal amounts derived from it.
        assert!(planted, "finding outside the planted anomalies: {f:#?}");
    }
}

#[test]
fn each_anomaly_is_where_injected_json_says() {
    let (summary, findings) = injected_run(SynthRegime::Mixed, SynthShape::Mixed);
    assert_exactly_planted(&summary, &findings, &[]);
    let dup = summary
        .injected
        .iter()
        .find(|i| i.anomaly == Anomaly::DuplicateId)
        .unwrap();
    assert!(
        summary
            .injected
            .iter()
            .filter(|i| i.operation_id == dup.operation_id)
            .count()
            == 1
    );
}

#[test]
fn anomalies_fall_back_when_the_shape_lacks_the_concept() {
    // v1.1 only: no sequence numbers → a fiscal counter skips instead.
    let (summary, findings) = injected_run(SynthRegime::Kassensichv, SynthShape::Operations);
    let seq = summary
        .injected
        .iter()
        .find(|i| i.anomaly == Anomaly::SequenceGap)
        .unwrap();
    assert!(
        seq.description.contains("fiscal counter skips one instead"),
        "{}",
        seq.description
    );
    assert_exactly_planted(
        &summary,
        &findings,
        &[(Anomaly::SequenceGap, "fiscal-counter-gap")],
    );
    // Register shape only: no cash counts → the bank deposit leaves cash behind instead.
    let (summary, findings) = injected_run(SynthRegime::Rt, SynthShape::Register);
    let cc = summary
        .injected
        .iter()
        .find(|i| i.anomaly == Anomaly::CashCountError)
        .unwrap();
    assert!(
        cc.description.contains("bank deposit"),
        "{}",
        cc.description
    );
    assert_exactly_planted(&summary, &findings, &[]);
}

#[test]
fn invalid_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (f, what) in [
        (
            Box::new(|o: &mut SynthOptions| o.registers = 0) as Box<dyn Fn(&mut SynthOptions)>,
            "--registers",
        ),
        (Box::new(|o: &mut SynthOptions| o.days = 0), "--days"),
        (
            Box::new(|o: &mut SynthOptions| o.ops_per_day = 100_000),
            "--ops-per-day",
        ),
        (
            Box::new(|o: &mut SynthOptions| {
                o.days = 1;
                o.inject = vec![Anomaly::CashCountError];
            }),
            "--days 2",
        ),
        (
            Box::new(|o: &mut SynthOptions| {
                o.days = 1;
                o.ops_per_day = 2;
                o.inject = ALL_ANOMALIES.to_vec();
                o.inject.retain(|a| *a != Anomaly::CashCountError);
            }),
            "too few operations",
        ),
    ] {
        let mut o = opts(dir.path(), 1, SynthRegime::Mixed, SynthShape::Mixed);
        f(&mut o);
        match generate(&o, &|_| {}) {
            Err(Error::InvalidOptions(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("{what}: {:?}", other.map(|s| s.n_operations)),
        }
    }
}

#[test]
fn catalog_text_needs_no_escaping_except_where_escaped() {
    // The JSON writer writes tokens verbatim and catalog text through its escaper; make sure the
    // tokens really are plain.
    for c in [
        catalog::Country::De,
        catalog::Country::At,
        catalog::Country::It,
    ] {
        let d = c.data();
        for r in d.rates {
            assert!(json::is_plain(r.wire) && json::is_plain(r.category) && json::is_plain(r.name));
        }
        for s in d.card_schemes.iter().chain(d.processors) {
            assert!(json::is_plain(s));
        }
    }
}

/// Throughput check: `cargo test --release --lib synth::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    // SYNTH_BENCH_DIR=/dev/shm separates CPU cost from disk bandwidth and fsync.
    let dir = match std::env::var("SYNTH_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    };
    // Warm up page cache and allocator so the first measured run is not penalised.
    let mut w = opts(
        &dir.path().join("t"),
        7,
        SynthRegime::Mixed,
        SynthShape::Mixed,
    );
    w.ops_per_day = 2000;
    generate(&w, &|_| {}).unwrap();
    let only = std::env::var("SYNTH_BENCH_SHAPE").ok();
    for shape in [
        SynthShape::Register,
        SynthShape::Operations,
        SynthShape::Mixed,
    ] {
        if only
            .as_deref()
            .is_some_and(|o| !format!("{shape:?}").eq_ignore_ascii_case(o))
        {
            continue;
        }
        for threads in [1usize, 2] {
            let mut o = opts(&dir.path().join("t"), 7, SynthRegime::Mixed, shape);
            o.days = 10;
            o.ops_per_day = 5000;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let t = std::time::Instant::now();
            let s = pool.install(|| generate(&o, &|_| {})).unwrap();
            let el = t.elapsed().as_secs_f64();
            let bytes: u64 = s
                .files
                .iter()
                .map(|f| std::fs::metadata(f).unwrap().len())
                .sum();
            println!(
                "{shape:?} threads={threads}: {} ops in {el:.2}s = {:.0} ops/s ({:.0} ops/s/thread), {:.0} MB, {:.0} B/op",
                s.n_operations,
                s.n_operations as f64 / el,
                s.n_operations as f64 / el / threads as f64,
                bytes as f64 / 1e6,
                bytes as f64 / s.n_operations as f64
            );
        }
    }
}
