//! End-to-end tests of `fiskal synth`: generate into temp dirs, re-read as plain JSON, and
//! re-check every documented identity independently of the generator's own arithmetic.
//!
//! The checker below is a small stand-in for the validator: it reports findings under the
//! validator's rule codes (`TOT003`, `SES002`, …; `DUP` for the readers' duplicate-id reject,
//! `CASH`/`QR`/`RKSV` for identities of docs/synth.md that no rule covers). On a clean run it
//! must find nothing, and on an injected run exactly one rule at each operation
//! `_injected.json` names, and nothing anywhere else.

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
        placeholder_tse_signatures: false,
        out: dir.to_path_buf(),
    }
}

const ALL_ANOMALIES: [Anomaly; 18] = Anomaly::ALL;

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

/// VAT001: the line's tax is the VAT contained in its gross, or (the other common way of
/// computing it) its net × rate.
fn vat_ok(gross: Decimal, tax: Decimal, rate: Decimal) -> bool {
    tax == vat(gross, rate) || tax == round_commercial((gross - tax) * rate, 2)
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a string"))
}

/// DSFinV-K processData slot of a German rate: 16 % and 5 % (2020) share the slots of 19 %
/// and 7 %; rates outside the set count as the general rate.
fn de_slot(rate: Decimal) -> usize {
    match rate.to_string().as_str() {
        "0.07" | "0.05" => 1,
        "0.00" => 4,
        _ => 0,
    }
}

/// RKSV amount field of an Austrian rate; other rates go to Besonders.
fn at_slot(rate: Decimal) -> usize {
    match rate.to_string().as_str() {
        "0.20" => 0,
        "0.10" => 1,
        "0.13" => 2,
        "0.00" => 3,
        _ => 4,
    }
}

/// VAT003: the rates a country has on a date (`YYYY-MM-DD`).
fn rate_valid(country: &str, date: &str, rate: Decimal) -> bool {
    let r = format!("{:.3}", rate);
    let ok: &[&str] = match country {
        "DE" if ("2020-07-01".."2021-01-01").contains(&date) => &["0.160", "0.050", "0.000"],
        "DE" => &["0.190", "0.070", "0.000"],
        "AT" if date >= "2026-07-01" => &["0.200", "0.100", "0.130", "0.000", "0.049"],
        "AT" => &["0.200", "0.100", "0.130", "0.000"],
        _ => &["0.220", "0.100", "0.050", "0.040", "0.000"],
    };
    ok.contains(&r.as_str())
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

/// What an operation sold, for later references to it.
#[derive(Default)]
struct Sold {
    kind: String,
    completed: bool,
    currency: String,
    /// Per product (sku, else description): (quantity, gross amount).
    by_product: BTreeMap<String, (Decimal, Decimal)>,
}

/// A v1.1 session as recomputed.
#[derive(Default)]
struct Session {
    open_op: String,
    date: String,
    currency: String,
    /// Opening + cash of completed, non-voided operations + adjustments so far.
    expected: Decimal,
    counted: Option<Decimal>,
    closing_adj: Decimal,
    closed: bool,
}

/// Per-register state of the checker.
#[derive(Default)]
struct Ctx {
    register: String,
    country: String,
    findings: Vec<Finding>,
    all_ids: BTreeSet<String>,
    ids: BTreeSet<String>,
    last_seq: Option<i64>,
    seqs: BTreeSet<i64>,
    prev_created: Option<chrono::DateTime<chrono::FixedOffset>>,
    external_ids: BTreeSet<String>,
    // fiscal counters
    de_tx: Option<i64>,
    de_sig: Option<i64>,
    at_receipt: Option<i64>,
    at_turnover: Decimal,
    /// The JWS of the register's last RKSV receipt, which the next one chains to.
    at_prev_jws: Option<String>,
    it_z: Option<i64>,
    it_p: i64,
    // register-shape cash
    drawer: Decimal,
    sale_cash: BTreeMap<String, Decimal>,
    sale_buckets: BTreeMap<String, [Decimal; 5]>,
    sale_pays: BTreeMap<String, [Decimal; 3]>,
    // references
    sold: BTreeMap<String, Sold>,
    returned: BTreeMap<String, BTreeMap<String, (Decimal, Decimal)>>,
    voided: BTreeSet<String>,
    // v1.1 sessions, in opening order
    sessions: BTreeMap<String, Session>,
    session_order: Vec<String>,
    // coverage
    types: BTreeSet<String>,
    item_rates: BTreeSet<String>,
    n_lottery: usize,
    n_cf: usize,
    /// Largest |tax − taxable × rate| of a breakdown row, in units of its VAT002 bound.
    vat002_worst: f64,
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

    /// REF001/REF002/REF005 for a reference from `id` (in `currency`, if it has one) to
    /// `orig`; true when `orig` is a known earlier operation.
    fn reference(&mut self, id: &str, orig: &str, currency: Option<&str>) -> bool {
        if !self.all_ids.contains(orig) {
            self.find(id, "REF001", format!("{orig} is not an operation"));
            return false;
        }
        if orig == id || !self.ids.contains(orig) {
            self.find(id, "REF002", format!("{orig} is not earlier"));
            return false;
        }
        if let (Some(c), Some(o)) = (currency, self.sold.get(orig))
            && !o.currency.is_empty()
            && o.currency != c
        {
            self.find(id, "REF005", format!("{c} vs {}", o.currency));
        }
        true
    }

    /// REF003: adds what `id` takes back from `orig` and checks it against what `orig` sold.
    fn take_back(&mut self, id: &str, orig: &str, back: &BTreeMap<String, (Decimal, Decimal)>) {
        let Some(sold) = self.sold.get(orig) else {
            return;
        };
        let mut over = Vec::new();
        let cum = self.returned.entry(orig.to_string()).or_default();
        for (k, (q, a)) in back {
            let e = cum.entry(k.clone()).or_default();
            e.0 += q;
            e.1 += a;
            let (sq, sa) = sold.by_product.get(k).copied().unwrap_or_default();
            if e.0 > sq || e.1 > sa {
                over.push(format!("{k}: {} / {} back of {sq} / {sa} sold", e.0, e.1));
            }
        }
        if !over.is_empty() {
            self.find(id, "REF003", over.join("; "));
        }
    }

    fn de_counter(&mut self, id: &str, n: i64) {
        match self.de_tx {
            Some(last) if n <= last => {
                self.find(id, "FIS001", format!("TSE transaction {last} → {n}"))
            }
            Some(last) if n != last + 1 => {
                self.find(id, "FIS003", format!("TSE transaction {last} → {n}"))
            }
            _ => {}
        }
        self.de_tx = Some(n);
    }
}

fn created(op: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s(&op["created_at"])).unwrap()
}

fn check_file(path: &Path, md: &MasterData) -> Ctx {
    let ops = read_lines(path);
    let register = path.file_stem().unwrap().to_str().unwrap().to_string();
    let mut cx = Ctx {
        country: register[4..6].to_uppercase(),
        register,
        all_ids: ops.iter().map(|o| s(&o["id"]).to_string()).collect(),
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
            cx.find(
                &id,
                "DUP",
                "id seen before (rejected by the readers)".into(),
            );
        }
        assert_eq!(s(&op["register_id"]), cx.register);
        let t = created(op);
        if cx.prev_created.is_some_and(|p| t < p) {
            cx.find(
                &id,
                "SEQ003",
                format!("created_at {t} before the previous operation"),
            );
        }
        cx.prev_created = Some(t);
        let completed =
            op.get("state").or(op.get("status")).and_then(Value::as_str) == Some("completed");
        if completed
            && let Some(e) = op.get("external_id")
            && !cx.external_ids.insert(s(e).to_string())
        {
            cx.find(&id, "SEQ004", format!("external_id {e} seen before"));
        }
        if op.get("object").is_some() {
            check_register_op(op, &mut cx, md);
        } else {
            check_v11_op(op, &mut cx, md);
        }
    }
    let open: Vec<String> = cx
        .session_order
        .iter()
        .filter(|k| !cx.sessions[*k].closed)
        .map(|k| cx.sessions[k].open_op.clone())
        .collect();
    for op in open {
        cx.find(&op, "SES005", "session never closed".into());
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

/// Sums of a register-shape line list.
#[derive(Default)]
struct LineSums {
    /// total_gross, tax, total_net, subtotal_gross, line discounts, after line discounts,
    /// cart discounts.
    sums: [Decimal; 7],
    /// Per (rate, category): taxable, tax, gross, number of lines.
    by_rate: BTreeMap<(String, String), [Decimal; 4]>,
    /// Per cart discount id: Σ allocations.
    allocs: BTreeMap<String, Decimal>,
    /// Per product: (quantity, gross).
    by_product: BTreeMap<String, (Decimal, Decimal)>,
}

/// Checks a register-shape line list (TOT001, VAT001, VAT003–VAT005) and sums it.
fn register_lines(cx: &mut Ctx, id: &str, date: &str, lines: &[Value]) -> LineSums {
    let mut out = LineSums::default();
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
            *out.allocs
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
                "TOT001",
                format!("line {}: amounts do not add up", l["id"]),
            );
        }
        if !vat_ok(total, tax, rate) {
            cx.find(
                id,
                "VAT001",
                format!("line {}: tax {tax} != {}", l["id"], vat(total, rate)),
            );
        }
        if !rate_valid(&cx.country, date, rate) {
            cx.find(id, "VAT003", format!("line {}: rate {rate}", l["id"]));
        }
        let flags: Vec<&str> = l
            .get("flags")
            .map(|f| arr(f).iter().map(s).collect())
            .unwrap_or_default();
        if flags.contains(&"gift_card") && !(rate.is_zero() && tax.is_zero()) {
            cx.find(id, "VAT004", format!("line {}: taxed voucher", l["id"]));
        }
        if flags.contains(&"tip") || flags.contains(&"gift_card") {
            assert_eq!(rate, Decimal::ZERO, "{id}: tips and vouchers are not taxed");
        } else if !flags.contains(&"deposit") {
            cx.item_rates.insert(format!("{:.2}", rate));
        }
        let category = s(&l["tax"]["category"]).to_string();
        if cx.country == "IT"
            && rate.is_zero()
            && !(category.len() == 2 && ("N1"..="N7").contains(&category.as_str()))
        {
            cx.find(id, "VAT005", format!("line {}: 0 % as {category}", l["id"]));
        }
        for (i, x) in [total, tax, net, sub, lda, after, cdisc]
            .into_iter()
            .enumerate()
        {
            out.sums[i] += x;
        }
        let e = out
            .by_rate
            .entry((format!("{:.2}", rate), category))
            .or_insert([Decimal::ZERO; 4]);
        e[0] += taxable;
        e[1] += tax;
        e[2] += total;
        e[3] += Decimal::ONE;
        let key = l
            .get("product_ref")
            .map_or_else(|| s(&l["description"]).to_string(), |p| s(p).to_string());
        let p = out.by_product.entry(key).or_default();
        p.0 += qty;
        p.1 += total;
    }
    out
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
    assert_eq!(op["started_at"], op["created_at"]);
    let date = s(&op["created_at"])[..10].to_string();
    let seq = op["sequence_number"].as_i64().unwrap();
    if !cx.seqs.insert(seq) {
        cx.find(&id, "SEQ002", format!("sequence {seq} seen before"));
    } else if let Some(last) = cx.last_seq
        && seq != last + 1
    {
        cx.find(&id, "SEQ001", format!("sequence {last} → {seq}"));
    }
    cx.last_seq = Some(seq);
    if state == "open" {
        cx.find(&id, "LIF001", "operation still open".into());
    }
    let data = &op["data"];
    let currency = data.get("currency").map(|c| s(c).to_string());
    let orig = op
        .get("references")
        .map(|r| s(&r["original_operation_id"]).to_string());
    let known = match &orig {
        Some(o) => cx.reference(&id, o, currency.as_deref()),
        None => {
            assert!(
                !["refund", "exchange", "void", "deposit_capture"].contains(&ty.as_str()),
                "{id}: {ty} without a reference"
            );
            false
        }
    };
    let mut buckets = [Decimal::ZERO; 5];
    let mut cash = Decimal::ZERO;
    let mut has_foreign = false;
    let mut pays = [Decimal::ZERO; 3]; // Bar EUR (with change), Bar CHF, Unbar
    let goods = !["void", "cash_movement"].contains(&ty.as_str());
    match ty.as_str() {
        "void" => {
            let orig = orig.expect("checked above");
            if known {
                let target = &cx.sold[&orig];
                if cx.voided.contains(&orig) || target.kind != "sale" || !target.completed {
                    cx.find(&id, "REF004", format!("{orig} cannot be voided"));
                }
                cx.voided.insert(orig.clone());
            }
            cash = -cx.sale_cash.get(&orig).copied().unwrap_or_default();
            if let Some(b) = cx.sale_buckets.get(&orig) {
                buckets = b.map(|x| -x);
            }
            if let Some(p) = cx.sale_pays.get(&orig) {
                pays = p.map(|x| -x);
            }
            // The void hands back the original sale's cash.
            cx.drawer += cash;
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
                    "CASH",
                    format!("{} left in the drawer after the bank deposit", cx.drawer),
                );
            }
            pays[0] = a;
            // RKSV: the Null field; TSE: the 0 % slot of a Geldtransit Beleg.
            match cx.country.as_str() {
                "AT" => buckets[3] = a,
                "DE" => buckets[4] = a,
                _ => {}
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
            let a = register_lines(cx, &id, &date, new);
            let b = register_lines(cx, &id, &date, returned);
            let t = &data["totals"];
            let expect = |i: usize| a.sums[i] - b.sums[i];
            let sums_ok = minor(&t["total_gross"]) == expect(0)
                && minor(&t["total_tax"]) == expect(1)
                && minor(&t["total_net"]) == expect(2)
                && minor(&t["subtotal_gross"]) == expect(3)
                && minor(&t["total_line_discounts"]) == expect(4)
                && minor(&t["subtotal_after_line_discounts"]) == expect(5)
                && minor(&t["total_cart_discounts"]) == expect(6);
            if !sums_ok {
                cx.find(
                    &id,
                    "TOT003",
                    format!(
                        "totals do not sum the lines (total_gross {} vs {})",
                        minor(&t["total_gross"]),
                        expect(0)
                    ),
                );
            }
            let internal_ok = minor(&t["total_gross"])
                == minor(&t["total_net"]) + minor(&t["total_tax"])
                && minor(&t["subtotal_after_all_discounts"]) + minor(&t["rounding_adjustment"])
                    == minor(&t["total_gross"])
                && minor(&t["net_payable"]) == minor(&t["total_gross"]);
            assert!(minor(&t["rounding_adjustment"]).is_zero());
            if !internal_ok {
                cx.find(&id, "TOT004", "totals disagree among themselves".into());
            }
            let mut rates = a.by_rate;
            for (k, v) in b.by_rate {
                let e = rates.entry(k).or_insert([Decimal::ZERO; 4]);
                for i in 0..3 {
                    e[i] -= v[i];
                }
                e[3] += v[3];
            }
            let bd = arr(&t["tax_breakdown"]);
            let mut last_rate = Decimal::MAX;
            let mut rows = BTreeSet::new();
            let mut rows_ok = bd.len() == rates.len();
            for row in bd {
                let r = d(s(&row["rate"]));
                assert!(r <= last_rate, "{id}: breakdown sorted by rate descending");
                last_rate = r;
                let key = (format!("{:.2}", r), s(&row["category"]).to_string());
                let got = [
                    minor(&row["taxable_amount"]),
                    minor(&row["tax_amount"]),
                    minor(&row["total_gross"]),
                ];
                let Some(e) = rates.get(&key) else {
                    rows_ok = false;
                    continue;
                };
                rows_ok &= rows.insert(key.clone()) && got[..] == e[..3];
                // VAT002: each line's tax is within half a cent × (1 + r) of its net × r.
                let bound = e[3] * d("0.005") * (Decimal::ONE + r);
                let dev = (got[1] - got[0] * r).abs();
                if dev > bound {
                    cx.find(
                        &id,
                        "VAT002",
                        format!("breakdown {key:?}: tax {} vs net × rate", got[1]),
                    );
                }
                let ratio = f64::try_from(dev / bound).unwrap_or(0.0);
                cx.vat002_worst = cx.vat002_worst.max(ratio);
                let slot = match cx.country.as_str() {
                    "DE" => de_slot(r),
                    "AT" => at_slot(r),
                    _ => 0,
                };
                buckets[slot] += sign * got[2];
            }
            if !rows_ok {
                cx.find(
                    &id,
                    "TOT005",
                    "tax_breakdown rows differ from the lines".into(),
                );
            }
            for cd in data.get("cart_discounts").map_or(&[][..], |c| arr(c)) {
                let got = a.allocs.get(s(&cd["id"])).copied().unwrap_or_default();
                if got != minor(&cd["amount"]) {
                    cx.find(
                        &id,
                        "TOT002",
                        "cart discount allocations do not sum to the discount".into(),
                    );
                }
            }
            let mut net_paid = Decimal::ZERO;
            for p in arr(&data["payments"]) {
                let a = minor(&p["amount"]);
                let out = s(&p["direction"]) == "outbound";
                let signed = if out { -a } else { a };
                net_paid += signed;
                let method = s(&p["method"]);
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
                        if let Some(t) = p.get("cash")
                            && minor(&t["amount_tendered"]) < a
                        {
                            cx.find(&id, "PAY003", "tendered below the amount".into());
                        }
                        pays[0] += signed;
                    }
                } else {
                    assert_eq!(s(&p["currency"]), "EUR", "{id}: only cash may be foreign");
                    pays[2] += signed;
                }
                if ty == "refund" && !out || !["refund", "exchange"].contains(&ty.as_str()) && out {
                    cx.find(&id, "PAY002", format!("{ty} pays {}", s(&p["direction"])));
                }
            }
            let payable = minor(&t["net_payable"]);
            // Payments settle completed operations only; cancelled and open ones have none.
            if state == "completed" && net_paid != sign * payable {
                cx.find(
                    &id,
                    "PAY001",
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
            if known && (ty == "refund" || ty == "exchange") {
                let back = if ty == "refund" {
                    &a.by_product
                } else {
                    &b.by_product
                };
                cx.take_back(&id, orig.as_deref().unwrap(), back);
            }
            cx.sold.entry(id.clone()).or_insert(Sold {
                kind: ty.clone(),
                completed: state == "completed",
                currency: currency.clone().unwrap_or_default(),
                by_product: a.by_product,
            });
        }
    }
    let fiscal = op.get("fiscal");
    let fiscal_state = op.get("fiscal_state").map(s);
    let lif002 = goods
        && ty != "training"
        && state == "completed"
        && (fiscal.is_none() || matches!(fiscal_state, Some("pending" | "failed")));
    if lif002 {
        cx.find(&id, "LIF002", format!("not fiscalised ({fiscal_state:?})"));
    }
    match (cx.country.as_str(), fiscal) {
        (_, None) => {
            let unsigned_ok = cx.country == "IT"
                && (ty == "cash_movement" || ty == "training" || state != "completed")
                || cx.country == "AT" && state != "completed"
                || lif002;
            assert!(
                unsigned_ok,
                "{id}: {ty}/{state} must be signed in {}",
                cx.country
            );
        }
        ("DE", Some(f)) => {
            assert_eq!(f["regime"], "tse");
            let n = f["start_event"]["transaction_counter"].as_i64().unwrap();
            cx.de_counter(&id, n);
            assert_eq!(
                s(&f["tse_serial"]),
                md.tse[tse_idx(md, s(&f["client_id"]))].serial
            );
            if let Some(e) = f.get("end_event") {
                assert_eq!(e["transaction_counter"].as_i64().unwrap(), n);
                assert_eq!(fiscal_state, Some("succeeded"));
                assert_eq!(f["start_event"]["signed_at"], op["started_at"]);
                if state == "completed" {
                    assert_eq!(e["signed_at"], op["completed_at"]);
                }
                let vorgang = s(&f["document_type"]);
                let pays = (!has_foreign && vorgang != "AVTraining" && vorgang != "AVBelegabbruch")
                    .then_some(pays);
                let expect_buckets = if vorgang == "AVBelegabbruch" {
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
                    "{id}: only an open operation lacks an end event"
                );
                assert_eq!(fiscal_state, Some("pending"));
                assert_eq!(f.get("verification"), None);
            }
        }
        ("AT", Some(f)) => {
            assert_eq!(f["regime"], "rksv");
            let e = &f["end_event"];
            assert_eq!(e["signed_at"], op["completed_at"]);
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
            assert_eq!(f["end_event"]["signed_at"], op["completed_at"]);
            check_transmitted(&id, &f["transmitted_at"], &f["end_event"]["signed_at"]);
            let (z, p) = parse_rt_doc(cx, &id, s(&f["document_number"]));
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

/// RT documents reach the agency after the day's closing, every day, the last one included.
fn check_transmitted(id: &str, transmitted: &Value, signed: &Value) {
    assert!(
        transmitted.is_string(),
        "{id}: RT document without transmitted_at"
    );
    let t = chrono::DateTime::parse_from_rfc3339(s(transmitted)).unwrap();
    let sg = chrono::DateTime::parse_from_rfc3339(s(signed)).unwrap();
    assert!(t > sg, "{id}: transmitted before it was signed");
}
fn tse_idx(md: &MasterData, client: &str) -> usize {
    md.tse
        .iter()
        .position(|t| t.client_ids.iter().any(|c| c == client))
        .expect("client id in master data")
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
    assert_eq!(q[11], tse.public_key);
    let pk = b64_decode(q[11]);
    // P-256 TSEs sign with SHA-256 (64-byte r||s), brainpoolP384r1 ones with SHA-384.
    let (key_len, sig_len) = match q[8] {
        "ecdsa-plain-SHA256" => (65, 64),
        _ => (97, 96),
    };
    assert_eq!((pk.len(), pk[0]), (key_len, 4));
    assert_eq!(b64_decode(q[10]).len(), sig_len);
    assert_eq!(
        tse.serial,
        super::text::hex(&<sha2::Sha256 as sha2::Digest>::digest(&pk))
    );
    // The finish signature, replayed from the QR code; the start signature (register shape
    // only) from the start event, signed just before with the preceding counter.
    use crate::regime::kassensichv::{Verdict, parse_qr, verify};
    let finish = parse_qr(qr).unwrap();
    let v = verify(&finish);
    if v.verdict != Verdict::Valid {
        cx.find(id, "TSE001", format!("finish signature: {:?}", v.problems));
    }
    let start_event = &f["start_event"];
    if !start_event["signature"].is_null() {
        let mut start = finish.clone();
        start.operation_type = "StartTransaction".into();
        start.process_data = s(&start_event["process_data"]).to_string();
        start.signature_counter -= 1;
        start.log_time = chrono::DateTime::parse_from_rfc3339(s(&start_event["signed_at"]))
            .unwrap()
            .to_utc();
        start.signature = b64_decode(s(&start_event["signature"]));
        let v = verify(&start);
        assert_eq!(v.verdict, Verdict::Valid, "{id}: start signature {v:?}");
    }
    let pd: Vec<&str> = q[3].split('^').collect();
    assert_eq!(pd.len(), 3);
    assert_eq!(pd[0], vorgang);
    let expect: Vec<String> = buckets.iter().map(|b| fmt2(*b, '.')).collect();
    if pd[1] != expect.join("_") {
        cx.find(
            id,
            "TSE002",
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
                "TSE002",
                format!("payments {} vs {}", pd[2], parts.join("_")),
            );
        }
    } else if vorgang != "Beleg" {
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
    match cx.at_receipt {
        Some(last) if n <= last => cx.find(id, "FIS001", format!("RKSV receipt {last} → {n}")),
        Some(last) if n != last + 1 => cx.find(id, "FIS002", format!("RKSV receipt {last} → {n}")),
        _ => {}
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
    assert_eq!(
        (q[0], q[1], q[2]),
        ("R1-AT100", cb.cashbox_id.as_str(), doc)
    );
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
        cx.find(id, "RKSV", format!("{:?} vs {expect:?}", &q[4..9]));
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
    at_crypto(cx, cb, id, kind, qr, &q, buckets);
}

/// The RKSV cryptography of one receipt, recomputed from rksv.md §4: the chaining value over
/// the previous receipt's JWS (the Kassen-ID for the Startbeleg, which must come first and
/// carry nothing), the decrypted counter against the running sum, and the ES256 signature
/// with the key of the master data's certificate.
fn at_crypto(
    cx: &mut Ctx,
    cb: &crate::model::masterdata::RksvCashbox,
    id: &str,
    kind: &str,
    qr: &str,
    q: &[&str],
    buckets: &[Decimal; 5],
) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::Digest;
    let (payload, sig_b64) = qr.rsplit_once('_').unwrap();
    let sig = b64_decode(sig_b64);
    assert_eq!(sig.len(), 64, "{id}: signed, not failed");
    let jws_head = format!("eyJhbGciOiJFUzI1NiJ9.{}", URL_SAFE_NO_PAD.encode(payload));
    let jws = format!("{jws_head}.{}", URL_SAFE_NO_PAD.encode(&sig));
    let chain_input = match cx.at_prev_jws.replace(jws) {
        None => {
            assert_eq!(
                kind, "Startbeleg",
                "{id}: the first receipt is the Startbeleg"
            );
            assert!(
                buckets.iter().all(|b| b.is_zero()),
                "{id}: Startbeleg amounts"
            );
            cb.cashbox_id.clone()
        }
        Some(prev) => {
            assert_ne!(kind, "Startbeleg", "{id}: a second Startbeleg");
            prev
        }
    };
    let chain = sha2::Sha256::digest(chain_input.as_bytes());
    assert_eq!(b64_decode(q[11]), &chain[..8], "{id}: chaining value");
    if !matches!(kind, "Stornobeleg" | "Trainingsbeleg") {
        let key: [u8; 32] = b64_decode(cb.aes_key.as_deref().unwrap())
            .try_into()
            .unwrap();
        let iv = sha2::Sha256::digest(format!("{}{}", cb.cashbox_id, q[2]).as_bytes());
        let ks = {
            use aes::cipher::{BlockCipherEncrypt, KeyInit};
            let mut block: [u8; 16] = iv[..16].try_into().unwrap();
            aes::Aes256::new(&key.into()).encrypt_block((&mut block).into());
            block
        };
        let plain: Vec<u8> = b64_decode(q[9])
            .iter()
            .zip(ks)
            .map(|(c, k)| c ^ k)
            .collect();
        let cents = i64::from_be_bytes(plain.try_into().unwrap());
        assert_eq!(
            Decimal::new(cents, 2),
            cx.at_turnover,
            "{id}: decrypted counter is the running sum"
        );
    }
    let der = b64_decode(cb.certificate.as_deref().unwrap());
    let key = crate::regime::rksv::crypto::read_certificate(&der)
        .unwrap()
        .key
        .unwrap();
    assert!(
        key.verify_es256(jws_head.as_bytes(), &sig),
        "{id}: ES256 signature"
    );
}

/// The closing and progressive numbers of an RT document number; RTD001 when it is not
/// `ZZZZ-NNNN` (its parts are still read, as ingest reads them).
fn parse_rt_doc(cx: &mut Ctx, id: &str, doc: &str) -> (i64, i64) {
    let (z, p) = doc.split_once('-').unwrap();
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    assert!(digits(z) && digits(p), "{id}: document number {doc}");
    if z.len() != 4 || p.len() != 4 {
        cx.find(
            id,
            "RTD001",
            format!("document number {doc} is not ZZZZ-NNNN"),
        );
    }
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
    if (z, p) != (doc_z, doc_p) {
        cx.find(
            id,
            "RTD002",
            format!("counters ({z}, {p}), document number ({doc_z}, {doc_p})"),
        );
    }
    match cx.it_z {
        Some(last) if z < last || z == last && p <= cx.it_p => {
            cx.find(
                id,
                "FIS001",
                format!("RT ({last}, {}) → ({z}, {p})", cx.it_p),
            );
        }
        Some(last) if last == z && p != cx.it_p + 1 => {
            cx.find(id, "FIS002", format!("RT progressive {} → {p}", cx.it_p));
        }
        Some(last) if last == z => {}
        Some(last) if z != last + 1 || p != 1 => {
            cx.find(
                id,
                "FIS002",
                format!("RT daily closing {last} → {z}, starting at {p}"),
            );
        }
        Some(_) => {}
        None if p != 1 => cx.find(id, "FIS002", format!("RT day {z} starts at {p}")),
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
    let currency = s(&op["currency"]).to_string();
    assert_eq!(currency, "EUR");
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
    let date = s(&op["created_at"])[..10].to_string();
    if status == "open" {
        cx.find(&id, "LIF001", "operation still open".into());
    }
    let session = s(&op["session_id"]).to_string();
    // SES001: only a session that is open (and, after its count, only its close) takes
    // operations.
    let phase_ok = match cx.sessions.get(&session) {
        None => ty == "session_open",
        Some(_) if ty == "session_open" => false,
        Some(x) if x.closed => false,
        Some(x) if x.counted.is_some() => ty == "session_close",
        Some(_) => true,
    };
    if !phase_ok {
        cx.find(&id, "SES001", format!("{ty} out of order in {session}"));
    }
    let mut buckets = [Decimal::ZERO; 5];
    let mut pays = [Decimal::ZERO; 3];
    let mut has_foreign = false;
    let goods = ["sale", "return", "exchange"].contains(&ty.as_str());
    match ty.as_str() {
        "session_open" => {
            let opening = amt(&op["opening_balance_amount"]);
            // SES004: the drawer carries over from the previous session.
            if let Some(prev) = cx.session_order.last().map(|k| &cx.sessions[k]) {
                let carried = prev.counted.map_or(prev.expected, |c| c + prev.closing_adj);
                if opening != carried {
                    cx.find(
                        &id,
                        "SES004",
                        format!("opening {opening}, previous session left {carried}"),
                    );
                }
            }
            // The opening float is a Vorgang (Anfangsbestand) the German TSE signs as a
            // Beleg in the 0 % slot.
            if cx.country == "DE" {
                buckets[4] = opening;
                pays[0] = opening;
            }
            if !cx.sessions.contains_key(&session) {
                cx.session_order.push(session.clone());
                cx.sessions.insert(
                    session.clone(),
                    Session {
                        open_op: id.clone(),
                        date: date.clone(),
                        currency: currency.clone(),
                        expected: opening,
                        ..Session::default()
                    },
                );
            }
        }
        "session_cash_adjustment" => {
            let a = amt(&op["cash_amount"]);
            if let Some(x) = cx.sessions.get_mut(&session) {
                x.expected += a;
            }
            pays[0] = a;
            // RKSV: the Null field; TSE: the 0 % slot of a Geldtransit Beleg.
            match cx.country.as_str() {
                "AT" => buckets[3] = a,
                "DE" => buckets[4] = a,
                _ => {}
            }
        }
        "session_cash_count" => {
            let counted = amt(&op["counted_closing_amount"]);
            let expected = amt(&op["expected_closing_amount"]);
            let diff = amt(&op["closing_cashcount_diff"]);
            assert!(counted >= Decimal::ZERO);
            let ours = cx.sessions.get(&session).map(|x| x.expected);
            if ours.is_some_and(|o| o != expected) {
                cx.find(
                    &id,
                    "SES002",
                    format!("expected {expected}, recomputed {ours:?}"),
                );
            }
            if diff != counted - expected {
                cx.find(
                    &id,
                    "SES003",
                    format!("diff {diff} != {counted} − {expected}"),
                );
            }
            if counted != expected && op.get("discrepancy_note").is_none() {
                cx.find(&id, "SES008", "unexplained discrepancy".into());
            }
            if let Some(x) = cx.sessions.get_mut(&session) {
                x.counted = Some(counted);
            }
            // A counted difference is a Vorgang (DifferenzSollIst), signed in Germany.
            if cx.country == "DE" {
                buckets[4] = diff;
                pays[0] = diff;
            }
        }
        "session_close" => {
            let bd = s(&op["business_date"]).to_string();
            let adj = op.get("closing_adjustment_amount").map(amt);
            if let Some(a) = adj {
                assert!(a < Decimal::ZERO, "{id}: closing pulls are negative");
                // The pull is a Vorgang (Geldtransit), signed in Germany.
                if cx.country == "DE" {
                    buckets[4] = a;
                    pays[0] = a;
                }
            }
            if let Some(x) = cx.sessions.get_mut(&session) {
                x.closed = true;
                x.closing_adj = adj.unwrap_or_default();
                let open_date = x.date.clone();
                if bd != open_date || date != open_date {
                    cx.find(
                        &id,
                        "SES006",
                        format!("business_date {bd}, session of {open_date}"),
                    );
                }
            }
        }
        _ => {
            let orig = op.get("related_operation_id").map(|r| s(r).to_string());
            let known = match &orig {
                Some(o) => cx.reference(&id, o, Some(&currency)),
                None => {
                    assert_eq!(ty, "sale", "{id}: {ty} without a reference");
                    false
                }
            };
            if cx
                .sessions
                .get(&session)
                .is_some_and(|x| x.currency != currency)
            {
                cx.find(&id, "SES007", format!("{currency} in {session}"));
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
            let mut sold = BTreeMap::new();
            let mut back = BTreeMap::new();
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
                        "TOT001",
                        format!("line {}: total_amount != quantity × unit_price", l["id"]),
                    );
                }
                let taxes = arr(&l["taxes"]);
                assert_eq!(taxes.len(), 1);
                let rate = d(s(&taxes[0]["rate"]));
                let gross = totals[i] - Decimal::new(alloc[i] as i64, 2);
                let tax = amt(&taxes[0]["tax_amount"]);
                if !vat_ok(gross, tax, rate) {
                    cx.find(
                        &id,
                        "VAT001",
                        format!("line {}: tax {tax} != {}", l["id"], vat(gross, rate)),
                    );
                }
                if !rate_valid(&cx.country, &date, rate) {
                    cx.find(&id, "VAT003", format!("line {}: rate {rate}", l["id"]));
                }
                tax_sum += tax;
                let name = s(&taxes[0]["name"]);
                if s(&l["type"]) == "gift_card" {
                    assert!(l.get("gift_card_id").is_some());
                    if !(rate.is_zero() && tax.is_zero()) {
                        cx.find(&id, "VAT004", format!("line {}: taxed voucher", l["id"]));
                    }
                } else {
                    cx.item_rates.insert(format!("{:.2}", rate));
                }
                if cx.country == "IT"
                    && rate.is_zero()
                    && !(name.len() == 2 && ("N1"..="N7").contains(&name))
                {
                    cx.find(&id, "VAT005", format!("line {}: 0 % as {name}", l["id"]));
                }
                let slot = match cx.country.as_str() {
                    "DE" => de_slot(rate),
                    "AT" => at_slot(rate),
                    _ => 0,
                };
                buckets[slot] += gross;
                let key = l
                    .get("sku_identifier")
                    .map_or_else(|| s(&l["title"]).to_string(), |p| s(p).to_string());
                let returned = ty == "return" || qty.is_sign_negative();
                let e: &mut (Decimal, Decimal) = if returned {
                    back.entry(key).or_default()
                } else {
                    sold.entry(key).or_default()
                };
                e.0 += qty.abs();
                e.1 += gross.abs();
            }
            let pretax = amt(&op["pretax_amount"]);
            let tax = amt(&op["tax_amount"]);
            let tip = amt(&op["tip_amount"]);
            let total = amt(&op["total_amount"]);
            if tax != tax_sum || base - discounts != pretax + tax {
                cx.find(
                    &id,
                    "TOT003",
                    format!("tax_amount {tax} vs Σ lines {tax_sum}; pretax {pretax}"),
                );
            }
            if total != pretax + tax + tip {
                cx.find(
                    &id,
                    "TOT004",
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
                let direction_ok = match ty.as_str() {
                    "sale" => st == "captured",
                    "return" => st == "refunded",
                    _ => (st == "refunded") == (a < Decimal::ZERO),
                };
                if !direction_ok {
                    cx.find(&id, "PAY002", format!("{ty} leg {st} {a}"));
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
                cx.find(&id, "PAY001", format!("payments {paid} vs total {total}"));
            }
            if status == "open" {
                assert!(arr(&op["payments"]).is_empty() && op.get("fiscal_information").is_none());
            }
            if status == "voided" {
                assert!(op.get("voided_at").is_some() && op.get("void_reason").is_some());
                assert!(op["voided_at"].as_str() >= op["completed_at"].as_str());
            } else if status == "completed"
                && let Some(x) = cx.sessions.get_mut(&session)
            {
                x.expected += cash;
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
            if known {
                cx.take_back(&id, orig.as_deref().unwrap(), &back);
            }
            cx.sold.entry(id.clone()).or_insert(Sold {
                kind: ty.clone(),
                completed: status == "completed",
                currency: currency.clone(),
                by_product: sold,
            });
        }
    }
    let fiscal = op.get("fiscal_information").filter(|f| !f.is_null());
    let lif002 = goods && status != "open" && fiscal.is_none();
    if lif002 {
        cx.find(&id, "LIF002", "not fiscalised".into());
    }
    let Some(f) = fiscal else {
        // Session events are unsigned, except cash adjustments outside Italy (TSE Beleg, RKSV
        // receipt) and, in Germany, every session event that books into the till: the opening
        // float, a counted difference, a closing pull. Open operations are not signed yet.
        let books = match ty.as_str() {
            "session_open" => true,
            "session_cash_count" => !amt(&op["closing_cashcount_diff"]).is_zero(),
            "session_close" => op.get("closing_adjustment_amount").is_some(),
            _ => false,
        };
        let unsigned_ok = status == "open"
            || lif002
            || (ty.starts_with("session_")
                && ty != "session_cash_adjustment"
                && !(books && cx.country == "DE"))
            || (ty == "session_cash_adjustment" && cx.country == "IT");
        assert!(unsigned_ok, "{id}: {ty} must be signed in {}", cx.country);
        return;
    };
    match s(&f["regime"]) {
        "KassenSichV" => {
            assert_eq!(cx.country, "DE");
            let e = &f["end_event"];
            assert_eq!(f["start_event"]["signed_at"], op["created_at"]);
            assert_eq!(e["signed_at"], op["completed_at"]);
            let n = e["transaction_counter"].as_i64().unwrap();
            cx.de_counter(&id, n);
            let tse = &md.tse[tse_idx(md, s(&f["pos_client_serial_number"]))];
            assert_eq!(s(&f["tss_serial_number"]), tse.serial);
            assert_eq!(s(&e["public_key"]), tse.public_key);
            let vorgang = s(&f["document_type"]);
            let expect_buckets = buckets;
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
            assert_eq!(sg["signed_at"], op["completed_at"]);
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
            assert_eq!(f["signature"]["signed_at"], op["completed_at"]);
            check_transmitted(&id, &f["transmitted_at"], &f["signature"]["signed_at"]);
            let (dz, dp) = parse_rt_doc(cx, &id, s(&f["document_number"]));
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
            !cx.types.iter().any(|t| t.ends_with("/open")),
            "{}: nothing is left open",
            cx.register
        );
        assert!(cx.vat002_worst <= 1.0);
    }
    // Every day closes, the last one included.
    for f in register_files(&summary) {
        let ops = read_lines(&f);
        let last = ops.last().unwrap();
        let register_shape = last.get("object").is_some();
        if register_shape {
            assert_eq!(last["data"]["reason"], "bank_deposit", "{}", f.display());
        } else {
            assert_eq!(last["type"], "session_close", "{}", f.display());
            let closes = ops.iter().filter(|o| o["type"] == "session_close").count();
            assert_eq!(closes as u32, o.days);
        }
    }
}

#[test]
fn tiny_days_stay_in_order() {
    // One or two goods operations a day: the mid-day cash operation still follows the opening.
    for (seed, ops_per_day) in [(1, 1), (2, 1), (3, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), seed, SynthRegime::Mixed, SynthShape::Mixed);
        o.days = 6;
        o.ops_per_day = ops_per_day;
        let summary = generate(&o, &|_| {}).unwrap();
        let cxs = check_dir(&summary, dir.path());
        assert!(all_findings(&cxs).is_empty(), "{:#?}", all_findings(&cxs));
    }
}

#[test]
fn cash_carries_over_between_v11_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 8, SynthRegime::Mixed, SynthShape::Operations);
    o.registers = 3;
    o.days = 8;
    o.ops_per_day = 30;
    let summary = generate(&o, &|_| {}).unwrap();
    let cxs = check_dir(&summary, dir.path());
    assert!(all_findings(&cxs).is_empty(), "{:#?}", all_findings(&cxs));
    let (mut pulls, mut carried) = (0, 0);
    for f in register_files(&summary) {
        let ops = read_lines(&f);
        let mut left: Option<Decimal> = None;
        let mut counted = Decimal::ZERO;
        for op in &ops {
            match s(&op["type"]) {
                "session_open" => {
                    let opening = amt(&op["opening_balance_amount"]);
                    match left {
                        // The first session starts from a fresh float.
                        None => assert!([d("100"), d("150"), d("200")].contains(&opening)),
                        Some(l) => {
                            assert_eq!(opening, l, "{}", s(&op["id"]));
                            carried += 1;
                        }
                    }
                }
                "session_cash_count" => counted = amt(&op["counted_closing_amount"]),
                "session_close" => {
                    let adj = op
                        .get("closing_adjustment_amount")
                        .map_or(Decimal::ZERO, amt);
                    if !adj.is_zero() {
                        pulls += 1;
                        // Whole tens, leaving at least the float behind.
                        assert!((adj / d("10")).fract().is_zero());
                        assert!(counted + adj >= d("100"));
                    }
                    left = Some(counted + adj);
                }
                _ => {}
            }
        }
    }
    assert!(
        carried == 3 * 7 && pulls > 0,
        "{carried} carried, {pulls} pulls"
    );
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
        // A German cash movement: a Beleg with its amount in the 0 % slot only.
        "Beleg^0.00_0.00_0.00_0.00_",
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

/// Whether a register file is in the register-scoped shape.
fn register_shapes(summary: &SynthSummary) -> BTreeMap<String, bool> {
    register_files(summary)
        .iter()
        .map(|f| {
            let first = read_lines(f).remove(0);
            (
                f.file_stem().unwrap().to_str().unwrap().to_string(),
                first.get("object").is_some(),
            )
        })
        .collect()
}

/// The rule each planted anomaly must break, derived independently of the generator's own
/// `rule` field (`DUP`: the readers' duplicate-id reject).
fn expected_rule(i: &Injected, register_shape: bool) -> &'static str {
    let counter_gap = if i.register_id.starts_with("reg_de") {
        "FIS003"
    } else {
        "FIS002"
    };
    match i.anomaly {
        Anomaly::TotalMismatch if register_shape => "TOT003",
        Anomaly::TotalMismatch => "TOT004",
        Anomaly::TaxMismatch => "VAT001",
        Anomaly::SequenceGap if register_shape => "SEQ001",
        Anomaly::SequenceGap | Anomaly::FiscalCounterGap => counter_gap,
        Anomaly::DuplicateId => "DUP",
        Anomaly::CashCountError => "SES002",
        Anomaly::DanglingReference => "REF001",
        Anomaly::PaymentMismatch => "PAY001",
        Anomaly::OpenAtEnd => "LIF001",
        Anomaly::UnclosedSession => "SES005",
        Anomaly::ClockBackwards => "SEQ003",
        Anomaly::FiscalFailed => "LIF002",
        Anomaly::OverReturn => "REF003",
        Anomaly::VatRate => "VAT003",
        Anomaly::DoubleVoid => "REF004",
        Anomaly::BadSignature => "TSE001",
        Anomaly::WrongProcessData => "TSE002",
        Anomaly::RtDocumentNumber if register_shape => "RTD001",
        Anomaly::RtDocumentNumber => "RTD002",
    }
}

/// Asserts that every planted anomaly shows as exactly its one rule at exactly its operation,
/// and that nothing else is found.
fn assert_exactly_planted(summary: &SynthSummary, cxs: &[Ctx]) {
    let shapes = register_shapes(summary);
    let mut at: BTreeMap<(String, String), BTreeSet<&'static str>> = BTreeMap::new();
    for f in all_findings(cxs) {
        at.entry((f.register.clone(), f.op.clone()))
            .or_default()
            .insert(f.code);
    }
    let findings = all_findings(cxs);
    for i in &summary.injected {
        let want = expected_rule(i, shapes[&i.register_id]);
        assert_eq!(
            i.rule,
            (want != "DUP").then_some(want),
            "{:?}: rule in _injected.json",
            i.anomaly
        );
        let got = at
            .remove(&(i.register_id.clone(), i.operation_id.clone()))
            .unwrap_or_default();
        assert_eq!(
            got,
            BTreeSet::from([want]),
            "{:?} at {} {}: {findings:#?}",
            i.anomaly,
            i.register_id,
            i.operation_id
        );
    }
    assert!(
        at.is_empty(),
        "findings outside the planted anomalies: {at:#?}"
    );
}

/// Generates with `anomalies` (plus one asked twice, planted once) and checks that
/// `_injected.json` lists each once, in the order asked.
fn injected_run(
    regime: SynthRegime,
    shape: SynthShape,
    anomalies: &[Anomaly],
) -> (tempfile::TempDir, SynthSummary, Vec<Ctx>) {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 17, regime, shape);
    o.registers = 3;
    o.inject = anomalies.iter().chain(&anomalies[..1]).copied().collect();
    let summary = generate(&o, &|_| {}).unwrap();
    let listed: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(INJECTED_FILE)).unwrap())
            .unwrap();
    assert_eq!(listed.len(), anomalies.len());
    for ((l, i), a) in listed.iter().zip(&summary.injected).zip(anomalies) {
        assert_eq!(i.anomaly, *a);
        assert_eq!(s(&l["anomaly"]), anomaly_name(i.anomaly));
        assert_eq!(s(&l["operation_id"]), i.operation_id);
        assert_eq!(l["rule"].as_str(), i.rule);
        assert!(!i.description.is_empty());
    }
    let cxs = check_dir(&summary, dir.path());
    (dir, summary, cxs)
}

fn planted(summary: &SynthSummary, a: Anomaly) -> &Injected {
    summary.injected.iter().find(|i| i.anomaly == a).unwrap()
}

/// The operations of the register carrying `i`, and the index of its operation.
fn ops_around(dir: &Path, i: &Injected) -> (Vec<Value>, usize) {
    let ops = read_lines(&dir.join(format!("{}.ndjson", i.register_id)));
    let k = ops
        .iter()
        .rposition(|o| s(&o["id"]) == i.operation_id)
        .unwrap();
    (ops, k)
}

#[test]
fn each_anomaly_is_where_injected_json_says() {
    let (dir, summary, cxs) = injected_run(SynthRegime::Mixed, SynthShape::Mixed, &ALL_ANOMALIES);
    assert_exactly_planted(&summary, &cxs);
    let dir = dir.path();
    let dup = planted(&summary, Anomaly::DuplicateId);
    assert_eq!(
        summary
            .injected
            .iter()
            .filter(|i| i.operation_id == dup.operation_id)
            .count(),
        1
    );
    // open-at-end: register 0's last goods operation; only the day's closing follows it.
    let open = planted(&summary, Anomaly::OpenAtEnd);
    assert_eq!(open.register_id, "reg_de_01");
    let (ops, k) = ops_around(dir, open);
    assert_eq!(ops[k]["state"], "open");
    assert_eq!(ops[k]["fiscal_state"], "pending");
    assert!(ops[k]["fiscal"].get("end_event").is_none());
    assert_eq!(ops.len(), k + 2);
    assert_eq!(ops[k + 1]["data"]["reason"], "bank_deposit");
    // clock-backwards: exactly two hours before the operation before it.
    let back = planted(&summary, Anomaly::ClockBackwards);
    let (ops, k) = ops_around(dir, back);
    assert_eq!(
        created(&ops[k - 1]) - created(&ops[k]),
        chrono::TimeDelta::hours(2)
    );
    assert_eq!(
        ops[k]["sequence_number"].as_i64().unwrap(),
        ops[k - 1]["sequence_number"].as_i64().unwrap() + 1
    );
    // fiscal-failed: no fiscal block, fiscal_state failed; the counters run on without a gap.
    let failed = planted(&summary, Anomaly::FiscalFailed);
    let (ops, k) = ops_around(dir, failed);
    assert!(ops[k].get("fiscal").is_none());
    assert_eq!(ops[k]["fiscal_state"], "failed");
    assert_eq!(ops[k]["state"], "completed");
    // vat-rate: 16 % in Germany in 2026.
    let rate = planted(&summary, Anomaly::VatRate);
    let (ops, k) = ops_around(dir, rate);
    assert_eq!(ops[k]["data"]["line_items"][0]["tax"]["rate"], "0.16");
    assert!(s(&ops[k]["fiscal"]["end_event"]["process_data"]).starts_with("Beleg^"));
    // double-void: the second of two voids of one sale.
    let dv = planted(&summary, Anomaly::DoubleVoid);
    let (ops, k) = ops_around(dir, dv);
    let target = &ops[k]["references"]["original_operation_id"];
    assert!(
        ops[..k]
            .iter()
            .any(|o| o["type"] == "void" && &o["references"]["original_operation_id"] == target)
    );
    // unclosed-session (v1.1, register 1): a session_open whose session is never counted or
    // closed; the next session opens with the drawer as it was.
    let unclosed = planted(&summary, Anomaly::UnclosedSession);
    assert_eq!(unclosed.register_id, "reg_at_01");
    let (ops, k) = ops_around(dir, unclosed);
    assert_eq!(ops[k]["type"], "session_open");
    let ses = &ops[k]["session_id"];
    assert!(
        ops.iter().filter(|o| &o["session_id"] == ses).all(|o| ![
            "session_cash_count",
            "session_close"
        ]
        .contains(&s(&o["type"])))
    );
    // cash-count-error lands on the next day then, in the same register.
    let cc = planted(&summary, Anomaly::CashCountError);
    let (ops, k) = ops_around(dir, cc);
    assert_eq!(cc.register_id, "reg_at_01");
    assert!(ops[k].get("discrepancy_note").is_some());
}

#[test]
fn every_regime_and_shape_plants_each_anomaly_as_one_rule() {
    for regime in [SynthRegime::Kassensichv, SynthRegime::Rksv, SynthRegime::Rt] {
        for shape in [SynthShape::Register, SynthShape::Operations] {
            let fits = |a: &Anomaly| {
                let tse = [Anomaly::BadSignature, Anomaly::WrongProcessData].contains(a);
                (regime == SynthRegime::Kassensichv || !tse)
                    && (regime == SynthRegime::Rt || *a != Anomaly::RtDocumentNumber)
                    && match shape {
                        SynthShape::Register => {
                            ![Anomaly::CashCountError, Anomaly::UnclosedSession].contains(a)
                        }
                        _ => *a != Anomaly::DoubleVoid,
                    }
            };
            let (anomalies, refused): (Vec<Anomaly>, Vec<Anomaly>) =
                ALL_ANOMALIES.iter().partition(|a| fits(a));
            let (_dir, summary, cxs) = injected_run(regime, shape, &anomalies);
            assert_exactly_planted(&summary, &cxs);
            if shape == SynthShape::Operations {
                // v1.1 only: no sequence numbers → a fiscal counter skips instead.
                let seq = planted(&summary, Anomaly::SequenceGap);
                assert!(
                    seq.description.contains("fiscal counter skips one instead"),
                    "{}",
                    seq.description
                );
            }
            for a in refused {
                let dir = tempfile::tempdir().unwrap();
                let mut o = opts(dir.path(), 1, regime, shape);
                o.inject = vec![a];
                match generate(&o, &|_| {}) {
                    Err(Error::InvalidOptions(m)) => assert!(m.contains("needs a"), "{m}"),
                    other => panic!("{a:?}: {:?}", other.map(|s| s.n_operations)),
                }
            }
        }
    }
}

#[test]
fn anomalies_that_need_an_earlier_sale_write_one_when_none_fits() {
    // One business day of three goods operations: the planted slot is the second, so the
    // original sale often has to be written on the spot.
    let mut fallbacks = 0;
    for seed in 1..=16 {
        for a in [Anomaly::OverReturn, Anomaly::DoubleVoid] {
            let dir = tempfile::tempdir().unwrap();
            let mut o = opts(dir.path(), seed, SynthRegime::Mixed, SynthShape::Register);
            o.registers = 1;
            o.days = 1;
            o.ops_per_day = 3;
            o.inject = vec![a];
            let summary = generate(&o, &|_| {}).unwrap();
            assert_exactly_planted(&summary, &check_dir(&summary, dir.path()));
            let (ops, k) = ops_around(dir.path(), &summary.injected[0]);
            let target = &ops[k]["references"]["original_operation_id"];
            let before = if a == Anomaly::DoubleVoid { 2 } else { 1 };
            if &ops[k - before]["id"] == target {
                fallbacks += 1;
            }
        }
    }
    assert!(fallbacks > 0);
}

#[test]
fn german_rates_follow_the_2020_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 6, SynthRegime::Kassensichv, SynthShape::Mixed);
    o.registers = 2;
    o.start = chrono::NaiveDate::from_ymd_opt(2020, 6, 29).unwrap();
    o.days = 4;
    o.ops_per_day = 60;
    let summary = generate(&o, &|_| {}).unwrap();
    let cxs = check_dir(&summary, dir.path());
    assert!(all_findings(&cxs).is_empty(), "{:#?}", all_findings(&cxs));
    for cx in &cxs {
        let seen: Vec<&str> = cx.item_rates.iter().map(String::as_str).collect();
        assert_eq!(seen, ["0.05", "0.07", "0.16", "0.19"], "{}", cx.register);
    }
}

#[test]
fn german_vat_rate_anomaly_avoids_the_2020_rates() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(
        dir.path(),
        4,
        SynthRegime::Kassensichv,
        SynthShape::Operations,
    );
    o.registers = 1;
    o.start = chrono::NaiveDate::from_ymd_opt(2020, 8, 3).unwrap();
    o.inject = vec![Anomaly::VatRate];
    let summary = generate(&o, &|_| {}).unwrap();
    assert_exactly_planted(&summary, &check_dir(&summary, dir.path()));
    let (ops, k) = ops_around(dir.path(), &summary.injected[0]);
    assert_eq!(ops[k]["line_items"][0]["taxes"][0]["rate"], "0.12");
}

#[test]
fn cash_count_error_needs_one_day_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 2, SynthRegime::Rksv, SynthShape::Operations);
    o.registers = 1;
    o.days = 1;
    o.inject = vec![Anomaly::CashCountError, Anomaly::OpenAtEnd];
    let summary = generate(&o, &|_| {}).unwrap();
    assert_exactly_planted(&summary, &check_dir(&summary, dir.path()));
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
                o.inject = vec![Anomaly::UnclosedSession];
            }),
            "--days 2",
        ),
        (
            Box::new(|o: &mut SynthOptions| {
                o.shape = SynthShape::Operations;
                o.inject = vec![Anomaly::DoubleVoid];
            }),
            "register-scoped register",
        ),
        (
            Box::new(|o: &mut SynthOptions| {
                o.shape = SynthShape::Register;
                o.inject = vec![Anomaly::CashCountError];
            }),
            "v1.1 register",
        ),
        (
            Box::new(|o: &mut SynthOptions| {
                o.days = 1;
                o.ops_per_day = 2;
                o.inject = vec![Anomaly::TotalMismatch];
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

/// A run of RKSV receipts of every kind, from both the real cash box and the placeholder
/// path.
fn rksv_pair() -> (
    crate::regime::rksv::sign::Cashbox,
    Vec<crate::regime::rksv::sign::Signed>,
    Vec<crate::regime::rksv::sign::Signed>,
) {
    use crate::regime::rksv::sign::{Cashbox, Chain, Input, Kind};
    let cashbox = Cashbox::from_seed("AT-KASSE-07", b"placeholder seed", [9; 32]);
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(9, 15, 7)
        .unwrap();
    let ids: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
    let kinds = [
        (Kind::Start, [0; 5]),
        (Kind::Standard, [1200, 550, 0, 10_000, 490]),
        (Kind::Training, [999, 0, 0, 0, 0]),
        (Kind::Storno, [-1200, 0, 0, 0, 0]),
        (Kind::Null, [0; 5]),
        (Kind::Standard, [0, -550, 0, 0, 0]),
        (Kind::Null, [0; 5]),
    ];
    let inputs: Vec<Input<'_>> = kinds
        .iter()
        .zip(&ids)
        .map(|((kind, amounts), id)| Input {
            kind: *kind,
            receipt_id: id,
            date,
            amounts: *amounts,
            device_failed: false,
        })
        .collect();
    let mut chain = Chain::default();
    let real = inputs.iter().map(|i| cashbox.sign(&mut chain, i)).collect();
    let mut chain = Chain::default();
    let fake = inputs
        .iter()
        .map(|i| cashbox.sign_placeholder(&mut chain, i))
        .collect();
    (cashbox, real, fake)
}

/// DEP7 verification of `jws` with `cashbox`'s keys: findings as (code, receipt) and the
/// summary.
fn verify_rksv(
    cashbox: &crate::regime::rksv::sign::Cashbox,
    jws: &[String],
    skip_signatures: bool,
) -> (
    Vec<(&'static str, Option<String>)>,
    crate::regime::rksv::dep::Summary,
) {
    let mut keys = crate::regime::rksv::dep::KeyMaterial::default();
    keys.aes_key = Some(*cashbox.aes_key());
    keys.insert(
        cashbox.serial(),
        crate::regime::rksv::crypto::PublicKey::from_sec1(cashbox.public_key()).unwrap(),
    );
    keys.skip_signatures = skip_signatures;
    let mut findings = Vec::new();
    let mut sink = |f: crate::regime::rksv::dep::Finding| findings.push((f.code, f.receipt));
    let mut v = crate::regime::rksv::dep::Verifier::new(&keys, &mut sink);
    v.receipts_at("t", 0, jws);
    let summary = v.finish();
    (findings, summary)
}

#[test]
fn placeholder_rksv_receipts_differ_from_signed_ones_only_in_signature_and_chain() {
    use crate::regime::rksv::receipt::{parse_jws, parse_qr, to_jws};
    let (cashbox, real, fake) = rksv_pair();
    // The Startbeleg chains to the Kassen-ID, so its payload is the signed one exactly.
    assert_eq!(
        parse_jws(&real[0].jws).unwrap().payload,
        parse_jws(&fake[0].jws).unwrap().payload
    );
    for (r, f) in real.iter().zip(&fake) {
        assert_eq!(r.counter, f.counter);
        let (mut r, mut f) = (parse_jws(&r.jws).unwrap(), parse_jws(&f.jws).unwrap());
        assert_eq!(f.signature.len(), 64, "an ES256 r‖s is 64 bytes");
        assert_ne!(r.signature, f.signature);
        for x in [&mut r, &mut f] {
            x.chain = [0; 8];
            x.signature.clear();
            x.payload.clear();
        }
        assert_eq!(r, f);
    }
    for f in &fake {
        assert_eq!(to_jws(&parse_qr(&f.qr).unwrap()), f.jws, "QR and JWS agree");
    }
    let jws: Vec<String> = fake.iter().map(|s| s.jws.clone()).collect();
    // Chain, counter and format verify; only the signatures do not.
    let (findings, summary) = verify_rksv(&cashbox, &jws, true);
    assert_eq!(findings, []);
    assert_eq!(summary.final_counter, real.last().unwrap().counter);
    assert!(summary.counters_checked > 0);
    let (findings, summary) = verify_rksv(&cashbox, &jws, false);
    assert_eq!(summary.signatures_valid, 0);
    let expected: Vec<(&str, Option<String>)> =
        (1..=7).map(|i| ("RKS011", Some(i.to_string()))).collect();
    assert_eq!(findings, expected);
    // The real ones pass with signatures, so the findings above are the placeholders'.
    let jws: Vec<String> = real.iter().map(|s| s.jws.clone()).collect();
    assert_eq!(verify_rksv(&cashbox, &jws, false).0, []);
}

#[test]
fn placeholder_signatures_are_deterministic_and_change_only_signed_registers() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let mut oa = opts(a.path(), 13, SynthRegime::Mixed, SynthShape::Mixed);
    oa.days = 2;
    oa.inject = ALL_ANOMALIES.to_vec();
    oa.placeholder_tse_signatures = true;
    let ob = SynthOptions {
        out: b.path().to_path_buf(),
        ..oa.clone()
    };
    let oc = SynthOptions {
        out: c.path().to_path_buf(),
        placeholder_tse_signatures: false,
        ..oa.clone()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let sa = one.install(|| generate(&oa, &|_| {})).unwrap();
    let sb = generate(&ob, &|_| {}).unwrap();
    let sc = generate(&oc, &|_| {}).unwrap();
    assert_eq!(sa.per_register, sc.per_register);
    for ((fa, fb), fc) in sa.files.iter().zip(&sb.files).zip(&sc.files) {
        let name = fa.file_name().unwrap().to_str().unwrap().to_string();
        let (ba, bb, bc) = (
            std::fs::read(fa).unwrap(),
            std::fs::read(fb).unwrap(),
            std::fs::read(fc).unwrap(),
        );
        assert!(ba == bb, "{name}: same seed, different bytes");
        // Italian RT seals were never signed; German and Austrian files carry placeholders.
        let signed = name.starts_with("reg_de_") || name.starts_with("reg_at_");
        assert_eq!(ba != bc, signed, "{name}");
    }
    // The Austrian receipts in the files carry 64-byte placeholders that fail ES256.
    let md = MasterData::load(&a.path().join("masterdata.toml")).unwrap();
    let mut receipts = 0;
    for f in register_files(&sa)
        .iter()
        .filter(|f| f.to_str().unwrap().contains("reg_at_"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let cb = md
            .rksv
            .iter()
            .find(|cb| f.file_stem().unwrap().to_str() == Some(cb.register_id.as_str()))
            .unwrap();
        let der = b64_decode(cb.certificate.as_deref().unwrap());
        let key = crate::regime::rksv::crypto::read_certificate(&der)
            .unwrap()
            .key
            .unwrap();
        for qr in text.split('"').filter(|s| s.starts_with("_R1-AT100_")) {
            let r = crate::regime::rksv::receipt::parse_qr(qr).unwrap();
            assert_eq!(r.signature.len(), 64);
            assert!(!key.verify_es256(r.signing_input().as_bytes(), &r.signature));
            receipts += 1;
        }
    }
    assert!(receipts > 50, "{receipts} RKSV receipts");
}
