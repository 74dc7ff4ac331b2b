//! Keys, reconciliation and TSE replay across the tables of an export (DSFinV-K spec §4, §5).
//!
//! Rows arrive one at a time, master data first ([`super::READ_ORDER`]). Per closing key the
//! state keeps what later rows and the final reconciliation need: the master data, one
//! [`Bon`] per Vorgang with its sums, and the closing aggregates as stated and as summed from
//! the Belege. Amounts are `Decimal`; a value that is not a number (already a DSF020 finding)
//! leaves the sums it belongs to unknown, and a rule with an unknown side is not judged.
//! Per-row rules report at once; rules over a whole Vorgang or closing report in
//! [`State::finish`], naming the row they are about.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};

use super::fields::{integer, lenient_number, show};
use super::{Ctx, Row};
use crate::export::dsfinvk::tables::Table;
use crate::model::money::round_commercial;
use crate::regime::kassensichv::dsfinvk::{self as tse_rows, TransactionsTse, Tse};
use crate::regime::kassensichv::process_data::{self, PayType};
use crate::regime::kassensichv::{Verdict, verify};

/// A closing key (Z_KASSE_ID, Z_ERSTELLUNG, Z_NR) as written.
type Zk = (String, String, String);

/// A sum that becomes unknown once a part is unknown.
type Sum = Option<Decimal>;

fn add(acc: &mut Sum, v: Sum) {
    *acc = match (*acc, v) {
        (Some(a), Some(b)) => a.checked_add(b),
        _ => None,
    };
}

/// An amount column: empty counts as zero (an empty Mussfeld is reported on its own).
fn amount(v: &str) -> Sum {
    if v.is_empty() {
        Some(Decimal::ZERO)
    } else {
        lenient_number(v)
    }
}

/// An optional amount column: empty is unknown.
fn maybe(v: &str) -> Sum {
    if v.is_empty() {
        None
    } else {
        lenient_number(v)
    }
}

/// Gross, net and VAT sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sums3([Sum; 3]);

impl Default for Sums3 {
    fn default() -> Self {
        Sums3([Some(Decimal::ZERO); 3])
    }
}

impl Sums3 {
    fn add(&mut self, other: [Sum; 3]) {
        for (a, b) in self.0.iter_mut().zip(other) {
            add(a, b);
        }
    }
}

/// One Vorgang.
#[derive(Debug, Default)]
struct Bon {
    line: u64,
    bon_typ: String,
    bon_name: bool,
    ums: Sum,
    terminal_id: String,
    /// Gross per VAT key, with the first transactions_vat line of the key.
    vat: BTreeMap<String, (Sum, u64)>,
    vat_sum: Sum,
    pay_sum: Sum,
    pay_rows: u64,
    paid_line: Option<u64>,
    pd_payments: BTreeMap<(PayType, Option<String>), Sum>,
    lines: BTreeMap<String, (String, String, String)>,
    pos_numbers: Vec<(u64, u64)>,
    line_gross: BTreeMap<String, (Sum, u64)>,
    line_gross_total: Sum,
    needs_ref: Option<u64>,
    has_ref: bool,
    p_storno: Option<u64>,
    tse_rows: u64,
}

impl Bon {
    fn new(line: u64) -> Bon {
        Bon {
            line,
            vat_sum: Some(Decimal::ZERO),
            pay_sum: Some(Decimal::ZERO),
            line_gross_total: Some(Decimal::ZERO),
            ..Bon::default()
        }
    }

    fn is_beleg(&self) -> bool {
        self.bon_typ == "Beleg"
    }
}

/// (GV_TYP, GV_NAME, AGENTUR_ID, UST_SCHLUESSEL) of businesscases.
type BcKey = (String, String, String, String);

/// One closing.
#[derive(Debug, Default)]
struct Closing {
    first_seen: Option<(&'static str, u64)>,
    cpc: Vec<u64>,
    loc: Vec<u64>,
    reg: Vec<u64>,
    start_end: Option<(String, String, u64)>,
    se_zahlungen: Sum,
    se_bar: Sum,
    kasse_seriennr: Option<String>,
    keine_ust: String,
    base_currency: String,
    slaves: BTreeMap<String, String>,
    tse: BTreeMap<String, Tse>,
    vat: BTreeMap<String, Sum>,
    agencies: BTreeSet<String>,
    bons: BTreeMap<String, Bon>,
    first_bon: Option<String>,
    last_bon: Option<String>,
    bc_expected: BTreeMap<BcKey, Sums3>,
    bc_stated: BTreeMap<BcKey, ([Sum; 3], u64)>,
    pay_expected: BTreeMap<(String, String), Sum>,
    pay_stated: BTreeMap<(String, String), (Sum, u64)>,
    cash_expected: BTreeMap<String, Sum>,
    cash_stated: BTreeMap<String, (Sum, u64)>,
    cash_base_total: Sum,
    aggregate_rows: [u64; 3],
    key7: Option<(&'static str, u64)>,
}

/// The state of the cross-table checks.
#[derive(Debug, Default)]
pub(crate) struct State {
    closings: BTreeMap<Zk, Closing>,
    z_nr: BTreeMap<String, Vec<(u64, u64)>>,
    /// TSE transactions whose signature verified.
    pub tse_verified: usize,
}

const GV_NEEDS_REFERENCE: [&str; 2] = ["Forderungsaufloesung", "Anzahlungsaufloesung"];
const UNPAID_TYPES: [&str; 3] = ["AVTraining", "AVBelegabbruch", "AVSachbezug"];

impl State {
    /// Number of closings seen.
    pub(crate) fn closings(&self) -> usize {
        self.closings.len()
    }

    /// Takes one data row of a DSFinV-K table.
    pub(crate) fn row(
        &mut self,
        table: &'static Table,
        line: u64,
        row: &Row<'_>,
        ctx: &mut Ctx<'_>,
    ) {
        let file = table.file;
        let zk = (
            row.get("Z_KASSE_ID").to_string(),
            row.get("Z_ERSTELLUNG").to_string(),
            row.get("Z_NR").to_string(),
        );
        let c = self.closings.entry(zk.clone()).or_insert_with(|| Closing {
            se_zahlungen: None,
            se_bar: None,
            cash_base_total: Some(Decimal::ZERO),
            base_currency: "EUR".into(),
            ..Closing::default()
        });
        c.first_seen.get_or_insert((file, line));
        let bon_id = row.get("BON_ID");
        // Receipt-level rows must belong to a Vorgang of transactions.csv.
        let needs_bon = !matches!(
            file,
            "transactions.csv"
                | "cashpointclosing.csv"
                | "location.csv"
                | "cashregister.csv"
                | "slaves.csv"
                | "pa.csv"
                | "tse.csv"
                | "vat.csv"
                | "businesscases.csv"
                | "payment.csv"
                | "cash_per_currency.csv"
        );
        if needs_bon && !c.bons.contains_key(bon_id) {
            ctx.report(
                "DSF115",
                file,
                Some(line),
                Some("BON_ID"),
                "a BON_ID of transactions.csv in the same closing",
                format!("{bon_id:?}"),
            );
        }
        let key_declared = |c: &Closing, ctx: &mut Ctx<'_>, column: &str, key: &str| {
            if !key.is_empty() && !c.vat.contains_key(key) {
                ctx.report(
                    "DSF110",
                    file,
                    Some(line),
                    Some(column),
                    "a UST_SCHLUESSEL of the closing's vat.csv",
                    format!("{key:?}"),
                );
            }
        };
        let agency_declared = |c: &Closing, ctx: &mut Ctx<'_>, a: &str| {
            if !a.is_empty() && a != "0" && !c.agencies.contains(a) {
                ctx.report(
                    "DSF110",
                    file,
                    Some(line),
                    Some("AGENTUR_ID"),
                    "an AGENTUR_ID of the closing's pa.csv",
                    format!("{a:?}"),
                );
            }
        };
        match file {
            "cashpointclosing.csv" => {
                c.cpc.push(line);
                c.start_end = Some((
                    row.get("Z_START_ID").to_string(),
                    row.get("Z_ENDE_ID").to_string(),
                    line,
                ));
                c.se_zahlungen = amount(row.get("Z_SE_ZAHLUNGEN"));
                c.se_bar = amount(row.get("Z_SE_BARZAHLUNGEN"));
                if let Some(n) = integer(&zk.2) {
                    self.z_nr.entry(zk.0.clone()).or_default().push((n, line));
                }
            }
            "location.csv" => c.loc.push(line),
            "cashregister.csv" => {
                c.reg.push(line);
                c.kasse_seriennr = Some(row.get("KASSE_SERIENNR").to_string());
                c.keine_ust = row.get("KEINE_UST_ZUORDNUNG").to_string();
                if !row.get("KASSE_BASISWAEH_CODE").is_empty() {
                    c.base_currency = row.get("KASSE_BASISWAEH_CODE").to_string();
                }
            }
            "slaves.csv" => {
                c.slaves.insert(
                    row.get("TERMINAL_ID").to_string(),
                    row.get("TERMINAL_SERIENNR").to_string(),
                );
            }
            "pa.csv" => {
                c.agencies.insert(row.get("AGENTUR_ID").to_string());
            }
            "tse.csv" => {
                let tse = Tse {
                    z_kasse_id: zk.0.clone(),
                    z_erstellung: zk.1.clone(),
                    z_nr: zk.2.clone(),
                    tse_id: row.get("TSE_ID").to_string(),
                    tse_serial: row.get("TSE_SERIAL").to_string(),
                    tse_sig_algo: row.get("TSE_SIG_ALGO").to_string(),
                    tse_zeitformat: row.get("TSE_ZEITFORMAT").to_string(),
                    tse_pd_encoding: row.get("TSE_PD_ENCODING").to_string(),
                    tse_public_key: row.get("TSE_PUBLIC_KEY").to_string(),
                };
                if let Some((expected, found)) = certificate_mismatch(row) {
                    ctx.report(
                        "DSF304",
                        file,
                        Some(line),
                        Some("TSE_ZERTIFIKAT_I"),
                        expected,
                        found,
                    );
                }
                c.tse.insert(tse.tse_id.clone(), tse);
            }
            "vat.csv" => {
                c.vat.insert(
                    row.get("UST_SCHLUESSEL").to_string(),
                    maybe(row.get("UST_SATZ")),
                );
            }
            "transactions.csv" => {
                if let Some(first) = c.bons.get(bon_id) {
                    ctx.report(
                        "DSF101",
                        file,
                        Some(line),
                        Some("BON_ID"),
                        format!(
                            "a BON_ID not used before in the closing (line {})",
                            first.line
                        ),
                        format!("{bon_id:?} again"),
                    );
                    return;
                }
                let mut bon = Bon::new(line);
                bon.bon_typ = row.get("BON_TYP").to_string();
                bon.bon_name = !row.get("BON_NAME").is_empty();
                bon.ums = amount(row.get("UMS_BRUTTO"));
                bon.terminal_id = row.get("TERMINAL_ID").to_string();
                c.bons.insert(bon_id.to_string(), bon);
                c.first_bon.get_or_insert_with(|| bon_id.to_string());
                c.last_bon = Some(bon_id.to_string());
            }
            "transactions_vat.csv" => {
                let key = row.get("UST_SCHLUESSEL");
                key_declared(c, ctx, "UST_SCHLUESSEL", key);
                if key == "7" {
                    c.key7.get_or_insert((file, line));
                }
                let brutto = amount(row.get("BON_BRUTTO"));
                let (netto, ust) = (amount(row.get("BON_NETTO")), amount(row.get("BON_UST")));
                if let (Some(b), Some(n), Some(u)) = (brutto, netto, ust)
                    && n.checked_add(u) != Some(b)
                {
                    ctx.report(
                        "DSF104",
                        file,
                        Some(line),
                        Some("BON_BRUTTO"),
                        format!(
                            "BON_NETTO + BON_UST = {}",
                            n.checked_add(u).map_or_else(|| "out of range".into(), show)
                        ),
                        show(b),
                    );
                }
                if let Some(bon) = c.bons.get_mut(bon_id) {
                    add(
                        &mut bon
                            .vat
                            .entry(key.to_string())
                            .or_insert((Some(Decimal::ZERO), line))
                            .0,
                        brutto,
                    );
                    add(&mut bon.vat_sum, brutto);
                }
            }
            "datapayment.csv" => {
                let typ = row.get("ZAHLART_TYP");
                let base = amount(row.get("BASISWAEH_BETRAG"));
                let code = row.get("ZAHLWAEH_CODE");
                let foreign = !code.is_empty() && code != c.base_currency;
                let currency = if code.is_empty() {
                    c.base_currency.clone()
                } else {
                    code.to_string()
                };
                let in_currency = if foreign {
                    amount(row.get("ZAHLWAEH_BETRAG"))
                } else {
                    base
                };
                let Some(bon) = c.bons.get_mut(bon_id) else {
                    return;
                };
                bon.pay_rows += 1;
                add(&mut bon.pay_sum, base);
                if typ != "Keine" && base != Some(Decimal::ZERO) {
                    bon.paid_line.get_or_insert(line);
                }
                if typ != "Keine" {
                    let kind = if typ == "Bar" {
                        PayType::Bar
                    } else {
                        PayType::Unbar
                    };
                    // processData names a currency only when it is not the euro.
                    let pd_currency = (currency != "EUR").then(|| currency.clone());
                    add(
                        bon.pd_payments
                            .entry((kind, pd_currency))
                            .or_insert(Some(Decimal::ZERO)),
                        in_currency,
                    );
                }
                if bon.is_beleg() {
                    add(
                        c.pay_expected
                            .entry((typ.to_string(), row.get("ZAHLART_NAME").to_string()))
                            .or_insert(Some(Decimal::ZERO)),
                        base,
                    );
                    if typ == "Bar" {
                        add(
                            c.cash_expected
                                .entry(currency)
                                .or_insert(Some(Decimal::ZERO)),
                            in_currency,
                        );
                        add(&mut c.cash_base_total, base);
                    }
                }
            }
            "lines.csv" => {
                agency_declared(c, ctx, row.get("AGENTUR_ID"));
                let Some(bon) = c.bons.get_mut(bon_id) else {
                    return;
                };
                let pos = row.get("POS_ZEILE");
                if bon.lines.contains_key(pos) {
                    ctx.report(
                        "DSF114",
                        file,
                        Some(line),
                        Some("POS_ZEILE"),
                        format!("a POS_ZEILE not used before in BON_ID {bon_id:?}"),
                        format!("{pos:?} again"),
                    );
                    return;
                }
                let agency = match row.get("AGENTUR_ID") {
                    "" => "0",
                    a => a,
                };
                let gv = row.get("GV_TYP");
                bon.lines.insert(
                    pos.to_string(),
                    (
                        gv.to_string(),
                        row.get("GV_NAME").to_string(),
                        agency.to_string(),
                    ),
                );
                if let Some(n) = integer(pos) {
                    bon.pos_numbers.push((n, line));
                }
                if GV_NEEDS_REFERENCE.contains(&gv) {
                    bon.needs_ref.get_or_insert(line);
                }
                if row.get("P_STORNO") == "1" {
                    bon.p_storno.get_or_insert(line);
                }
            }
            "lines_vat.csv" => {
                let key = row.get("UST_SCHLUESSEL");
                key_declared(c, ctx, "UST_SCHLUESSEL", key);
                if key == "7" {
                    c.key7.get_or_insert((file, line));
                }
                let Some(bon) = c.bons.get_mut(bon_id) else {
                    return;
                };
                let pos = row.get("POS_ZEILE");
                let Some(gv) = bon.lines.get(pos) else {
                    ctx.report(
                        "DSF115",
                        file,
                        Some(line),
                        Some("POS_ZEILE"),
                        format!("a POS_ZEILE of BON_ID {bon_id:?} in lines.csv"),
                        format!("{pos:?}"),
                    );
                    return;
                };
                let netto = maybe(row.get("POS_NETTO"));
                let ust = maybe(row.get("POS_UST"));
                // Net method: only NETTO and UST at line level (DSFinV-K spec §2.2).
                let brutto = match row.get("POS_BRUTTO") {
                    "" => netto.zip(ust).and_then(|(n, u)| n.checked_add(u)),
                    b => lenient_number(b),
                };
                let entry = bon
                    .line_gross
                    .entry(key.to_string())
                    .or_insert((Some(Decimal::ZERO), 0));
                add(&mut entry.0, brutto);
                entry.1 += 1;
                add(&mut bon.line_gross_total, brutto);
                if bon.is_beleg() {
                    let bc = (gv.0.clone(), gv.1.clone(), gv.2.clone(), key.to_string());
                    c.bc_expected
                        .entry(bc)
                        .or_default()
                        .add([brutto, netto, ust]);
                }
            }
            "itemamounts.csv" => key_declared(c, ctx, "UST_SCHLUESSEL", row.get("UST_SCHLUESSEL")),
            "subitems.csv" => {
                key_declared(c, ctx, "ZI_UST_SCHLUESSEL", row.get("ZI_UST_SCHLUESSEL"))
            }
            "references.csv" => {
                if let Some(bon) = c.bons.get_mut(bon_id) {
                    bon.has_ref = true;
                }
                let internal = row.get("REF_TYP") == "Transaktion";
                for column in ["REF_DATUM", "REF_Z_KASSE_ID", "REF_Z_NR", "REF_BON_ID"] {
                    let value = row.get(column);
                    if internal && value.is_empty() {
                        ctx.report(
                            "DSF109",
                            file,
                            Some(line),
                            Some(column),
                            "a value for REF_TYP Transaktion",
                            "empty",
                        );
                    } else if !internal && column != "REF_BON_ID" && !value.is_empty() {
                        ctx.report(
                            "DSF109",
                            file,
                            Some(line),
                            Some(column),
                            "empty for an external reference",
                            format!("{value:?}"),
                        );
                    }
                }
            }
            "businesscases.csv" => {
                c.aggregate_rows[0] += 1;
                key_declared(c, ctx, "UST_SCHLUESSEL", row.get("UST_SCHLUESSEL"));
                agency_declared(c, ctx, row.get("AGENTUR_ID"));
                let agency = match row.get("AGENTUR_ID") {
                    "" => "0",
                    a => a,
                };
                let key = (
                    row.get("GV_TYP").to_string(),
                    row.get("GV_NAME").to_string(),
                    agency.to_string(),
                    row.get("UST_SCHLUESSEL").to_string(),
                );
                let sums = [
                    amount(row.get("Z_UMS_BRUTTO")),
                    amount(row.get("Z_UMS_NETTO")),
                    amount(row.get("Z_UST")),
                ];
                c.bc_stated.insert(key, (sums, line));
            }
            "payment.csv" => {
                c.aggregate_rows[1] += 1;
                c.pay_stated.insert(
                    (
                        row.get("ZAHLART_TYP").to_string(),
                        row.get("ZAHLART_NAME").to_string(),
                    ),
                    (amount(row.get("Z_ZAHLART_BETRAG")), line),
                );
            }
            "cash_per_currency.csv" => {
                c.aggregate_rows[2] += 1;
                c.cash_stated.insert(
                    row.get("ZAHLART_WAEH").to_string(),
                    (amount(row.get("ZAHLART_BETRAG_WAEH")), line),
                );
            }
            "transactions_tse.csv" => {
                let tse_id = row.get("TSE_ID");
                if let Some(bon) = c.bons.get_mut(bon_id) {
                    bon.tse_rows += 1;
                }
                let Some(tse) = c.tse.get(tse_id) else {
                    ctx.report(
                        "DSF110",
                        file,
                        Some(line),
                        Some("TSE_ID"),
                        "a TSE_ID of the closing's tse.csv",
                        format!("{tse_id:?}"),
                    );
                    return;
                };
                if replay(c, tse, bon_id, line, row, ctx) {
                    self.tse_verified += 1;
                }
            }
            _ => {}
        }
    }

    /// The rules over whole Vorgänge and closings.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>) {
        for (zk, c) in &self.closings {
            finish_closing(zk, c, ctx);
        }
        for (kasse, numbers) in &mut self.z_nr {
            numbers.sort();
            for w in numbers.windows(2) {
                let ((prev, _), (next, line)) = (w[0], w[1]);
                if prev.checked_add(1) != Some(next) {
                    ctx.report(
                        "DSF210",
                        "cashpointclosing.csv",
                        Some(line),
                        Some("Z_NR"),
                        format!(
                            "Z_NR {} after {prev} for Z_KASSE_ID {kasse:?}",
                            prev.saturating_add(1)
                        ),
                        next.to_string(),
                    );
                }
            }
        }
    }
}

fn closing_name(zk: &Zk) -> String {
    format!("closing {}/{}/{}", zk.0, zk.1, zk.2)
}

fn differs(a: Sum, b: Sum) -> Option<(Decimal, Decimal)> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => Some((a, b)),
        _ => None,
    }
}

fn finish_closing(zk: &Zk, c: &Closing, ctx: &mut Ctx<'_>) {
    let name = closing_name(zk);
    let (seen_file, seen_line) = c.first_seen.unwrap_or(("cashpointclosing.csv", 0));
    // C1: one row each of the master data that describe the closing.
    for (file, lines) in [
        ("cashpointclosing.csv", &c.cpc),
        ("location.csv", &c.loc),
        ("cashregister.csv", &c.reg),
    ] {
        if lines.len() != 1 {
            let (file, line) = match lines.get(1) {
                Some(l) => (file, Some(*l)),
                None => (seen_file, Some(seen_line)),
            };
            ctx.report(
                "DSF201",
                file,
                line,
                None,
                format!("exactly one row of {} for {name}", file),
                format!("{} rows", lines.len()),
            );
        }
    }
    if c.vat.is_empty() {
        ctx.report(
            "DSF201",
            "vat.csv",
            None,
            None,
            format!("VAT keys for {name}"),
            "no rows",
        );
    }
    if c.aggregate_rows.iter().any(|n| *n > 0) {
        for (file, n) in ["businesscases.csv", "payment.csv", "cash_per_currency.csv"]
            .iter()
            .zip(c.aggregate_rows)
        {
            if n == 0 {
                ctx.report(
                    "DSF201",
                    file,
                    None,
                    None,
                    format!("rows for {name}"),
                    "no rows",
                );
            }
        }
    }
    // C8: the closing's first and last Vorgang.
    if let (Some((start, end, line)), Some(first), Some(last)) =
        (&c.start_end, &c.first_bon, &c.last_bon)
    {
        for (column, stated, actual) in [("Z_START_ID", start, first), ("Z_ENDE_ID", end, last)] {
            if stated != actual {
                ctx.report(
                    "DSF208",
                    "cashpointclosing.csv",
                    Some(*line),
                    Some(column),
                    format!("{actual:?}"),
                    format!("{stated:?}"),
                );
            }
        }
    }
    for (bon_id, bon) in &c.bons {
        finish_bon(bon_id, bon, c, ctx);
    }
    // V11.
    if let Some((file, line)) = c.key7
        && c.keine_ust != "1"
    {
        ctx.report(
            "DSF111",
            file,
            Some(line),
            Some("UST_SCHLUESSEL"),
            "KEINE_UST_ZUORDNUNG = 1 in cashregister.csv",
            format!("{:?}", c.keine_ust),
        );
    }
    // C2.
    let keys: BTreeSet<&BcKey> = c.bc_expected.keys().chain(c.bc_stated.keys()).collect();
    for key in keys {
        let expected = c.bc_expected.get(key).copied().unwrap_or_default().0;
        let (stated, line) = c
            .bc_stated
            .get(key)
            .map_or(([Some(Decimal::ZERO); 3], None), |(s, l)| (*s, Some(*l)));
        for ((column, e), s) in ["Z_UMS_BRUTTO", "Z_UMS_NETTO", "Z_UST"]
            .iter()
            .zip(expected)
            .zip(stated)
        {
            if let Some((e, s)) = differs(e, s) {
                ctx.report(
                    "DSF202",
                    "businesscases.csv",
                    line,
                    Some(column),
                    format!(
                        "{} for {}/{}/{}/{} ({name})",
                        show(e),
                        key.0,
                        key.1,
                        key.2,
                        key.3
                    ),
                    show(s),
                );
            }
        }
    }
    // C3.
    let keys: BTreeSet<&(String, String)> =
        c.pay_expected.keys().chain(c.pay_stated.keys()).collect();
    for key in keys {
        let e = c
            .pay_expected
            .get(key)
            .copied()
            .unwrap_or(Some(Decimal::ZERO));
        let (s, line) = c
            .pay_stated
            .get(key)
            .map_or((Some(Decimal::ZERO), None), |(s, l)| (*s, Some(*l)));
        if let Some((e, s)) = differs(e, s) {
            ctx.report(
                "DSF203",
                "payment.csv",
                line,
                Some("Z_ZAHLART_BETRAG"),
                format!("{} for {}/{} ({name})", show(e), key.0, key.1),
                show(s),
            );
        }
    }
    let cpc_line = c.start_end.as_ref().map(|s| s.2);
    if !c.cpc.is_empty() {
        // C4, C5.
        let mut all = Some(Decimal::ZERO);
        let mut bar = Some(Decimal::ZERO);
        for ((typ, _), (s, _)) in &c.pay_stated {
            add(&mut all, *s);
            if typ == "Bar" {
                add(&mut bar, *s);
            }
        }
        if let Some((e, s)) = differs(all, c.se_zahlungen) {
            ctx.report(
                "DSF204",
                "cashpointclosing.csv",
                cpc_line,
                Some("Z_SE_ZAHLUNGEN"),
                format!("Σ payment = {}", show(e)),
                show(s),
            );
        }
        if let Some((e, s)) = differs(bar, c.se_bar) {
            ctx.report(
                "DSF205",
                "cashpointclosing.csv",
                cpc_line,
                Some("Z_SE_BARZAHLUNGEN"),
                format!("Σ payment Bar = {}", show(e)),
                show(s),
            );
        }
        // C6, base-currency total.
        if let Some((e, s)) = differs(c.cash_base_total, c.se_bar) {
            ctx.report(
                "DSF206",
                "cashpointclosing.csv",
                cpc_line,
                Some("Z_SE_BARZAHLUNGEN"),
                format!("Σ Bar datapayment BASISWAEH_BETRAG = {}", show(e)),
                show(s),
            );
        }
        // C7.
        let mut gross = Some(Decimal::ZERO);
        for (s, _) in c.bc_stated.values() {
            add(&mut gross, s[0]);
        }
        if let Some((e, s)) = differs(gross, c.se_zahlungen) {
            ctx.report(
                "DSF207",
                "cashpointclosing.csv",
                cpc_line,
                Some("Z_SE_ZAHLUNGEN"),
                format!("Σ businesscases Z_UMS_BRUTTO = {}", show(e)),
                show(s),
            );
        }
    }
    // C6 per currency.
    let currencies: BTreeSet<&String> =
        c.cash_expected.keys().chain(c.cash_stated.keys()).collect();
    for cur in currencies {
        let e = c
            .cash_expected
            .get(cur)
            .copied()
            .unwrap_or(Some(Decimal::ZERO));
        let (s, line) = c
            .cash_stated
            .get(cur)
            .map_or((Some(Decimal::ZERO), None), |(s, l)| (*s, Some(*l)));
        if let Some((e, s)) = differs(e, s) {
            ctx.report(
                "DSF206",
                "cash_per_currency.csv",
                line,
                Some("ZAHLART_BETRAG_WAEH"),
                format!("{} {cur} ({name})", show(e)),
                show(s),
            );
        }
    }
}

fn finish_bon(bon_id: &str, bon: &Bon, c: &Closing, ctx: &mut Ctx<'_>) {
    const FILE: &str = "transactions.csv";
    let line = Some(bon.line);
    // V1: POS_ZEILE continuous.
    let mut numbers: Vec<(u64, u64)> = bon.pos_numbers.clone();
    numbers.sort();
    for w in numbers.windows(2) {
        if w[0].0.checked_add(1) != Some(w[1].0) {
            ctx.report(
                "DSF114",
                "lines.csv",
                Some(w[1].1),
                Some("POS_ZEILE"),
                format!(
                    "POS_ZEILE {} after {} in BON_ID {bon_id:?}",
                    w[0].0.saturating_add(1),
                    w[0].0
                ),
                w[1].0.to_string(),
            );
        }
    }
    // V2.
    if let Some((e, s)) = differs(bon.vat_sum, bon.ums) {
        ctx.report(
            "DSF102",
            FILE,
            line,
            Some("UMS_BRUTTO"),
            format!("Σ BON_BRUTTO = {}", show(e)),
            show(s),
        );
    }
    // V3.
    if (bon.is_beleg() || bon.pay_rows > 0)
        && let Some((e, s)) = differs(bon.pay_sum, bon.ums)
    {
        ctx.report(
            "DSF103",
            FILE,
            line,
            Some("UMS_BRUTTO"),
            format!("Σ BASISWAEH_BETRAG = {}", show(e)),
            show(s),
        );
    }
    // V5.
    for (key, (header, vat_line)) in &bon.vat {
        let (lines_sum, n) = bon
            .line_gross
            .get(key)
            .copied()
            .unwrap_or((Some(Decimal::ZERO), 0));
        let tolerance = Decimal::new(1, 2) * Decimal::from(n.max(1));
        if let Some((e, s)) = differs(lines_sum, *header)
            && e.checked_sub(s).is_none_or(|d| d.abs() > tolerance)
        {
            ctx.report(
                "DSF105",
                "transactions_vat.csv",
                Some(*vat_line),
                Some("BON_BRUTTO"),
                format!(
                    "Σ POS_BRUTTO = {} ± {} for BON_ID {bon_id:?}, key {key}",
                    show(e),
                    show(tolerance)
                ),
                show(s),
            );
        }
    }
    // V6.
    let rounded = bon.line_gross_total.map(|d| round_commercial(d, 2));
    if let Some((e, s)) = differs(rounded, bon.ums) {
        ctx.report(
            "DSF106",
            FILE,
            line,
            Some("UMS_BRUTTO"),
            format!("Σ line gross = {}", show(e)),
            show(s),
        );
    }
    // V7.
    if bon.is_beleg() && (bon.lines.is_empty() || bon.pay_rows == 0) {
        ctx.report(
            "DSF107",
            FILE,
            line,
            Some("BON_TYP"),
            "a Beleg with lines and payments",
            format!("{} lines, {} payments", bon.lines.len(), bon.pay_rows),
        );
    }
    if UNPAID_TYPES.contains(&bon.bon_typ.as_str())
        && let Some(pay_line) = bon.paid_line
    {
        ctx.report(
            "DSF107",
            "datapayment.csv",
            Some(pay_line),
            Some("BASISWAEH_BETRAG"),
            format!("no payment for {} BON_ID {bon_id:?}", bon.bon_typ),
            "a payment",
        );
    }
    // V8.
    if bon.bon_typ == "AVSonstige" && !bon.bon_name {
        ctx.report(
            "DSF108",
            FILE,
            line,
            Some("BON_NAME"),
            "a name for AVSonstige",
            "empty",
        );
    }
    // V9.
    if let Some(l) = bon.needs_ref
        && !bon.has_ref
    {
        ctx.report(
            "DSF109",
            "lines.csv",
            Some(l),
            Some("GV_TYP"),
            format!("a references.csv row for BON_ID {bon_id:?}"),
            "none",
        );
    }
    // V12.
    if let Some(l) = bon.p_storno
        && bon.tse_rows > 0
    {
        ctx.report(
            "DSF112",
            "lines.csv",
            Some(l),
            Some("P_STORNO"),
            "0 in a TSE-signed Vorgang (void with a negative line)",
            "1",
        );
    }
    // V13.
    if !c.tse.is_empty() && bon.tse_rows == 0 && bon.bon_typ != "AVBelegstorno" {
        ctx.report(
            "DSF113",
            FILE,
            line,
            Some("BON_ID"),
            format!("a transactions_tse.csv row for BON_ID {bon_id:?}"),
            "none",
        );
    }
}

/// The Kassenbeleg-V1 slot of a VAT key (DSFinV-K spec §5.1): keys by their number, vendor
/// keys from 1000 by the rate vat.csv states.
fn slot(key: &str, vat: &BTreeMap<String, Sum>) -> Option<usize> {
    let k = integer(key)?;
    match k {
        1 | 11 | 21 => Some(0),
        2 | 12 | 22 => Some(1),
        3 | 13 | 23 | 33 | 43 => Some(2),
        4 => Some(3),
        5..=8 => Some(4),
        1000.. => {
            let rate = (*vat.get(key)?)?.normalize().to_string();
            match rate.as_str() {
                "19" | "16" => Some(0),
                "7" | "5" => Some(1),
                "10.7" | "9.5" | "9" | "8.4" => Some(2),
                "5.5" => Some(3),
                "0" => Some(4),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A processData amount: two decimals, further ones cut, decimal point.
fn pd_amount(d: Decimal) -> String {
    let t = d.round_dp_with_strategy(2, RoundingStrategy::ToZero);
    let t = if t.is_zero() { Decimal::ZERO } else { t };
    format!("{t:.2}")
}

/// The Kassenbeleg-V1 processData of a Vorgang, from BON_TYP, transactions_vat and
/// datapayment; `None` when an amount or slot is unknown.
fn rebuild(bon: &Bon, vat: &BTreeMap<String, Sum>) -> Option<String> {
    let mut slots = [Decimal::ZERO; 5];
    for (key, (gross, _)) in &bon.vat {
        let s = slot(key, vat)?;
        slots[s] = slots[s].checked_add((*gross)?)?;
    }
    let gross: Vec<String> = slots.iter().map(|d| pd_amount(*d)).collect();
    let mut pays = Vec::new();
    for ((kind, currency), amount) in &bon.pd_payments {
        let amount = (*amount)?;
        if amount.is_zero() {
            continue;
        }
        let kind = match kind {
            PayType::Bar => "Bar",
            PayType::Unbar => "Unbar",
        };
        let mut p = format!("{}:{kind}", pd_amount(amount));
        if let Some(cur) = currency {
            p = format!("{p}:{cur}");
        }
        pays.push(p);
    }
    Some(format!(
        "{}^{}^{}",
        bon.bon_typ,
        gross.join("_"),
        pays.join("_")
    ))
}

/// Replays one TSE transaction; true when its signature verified.
fn replay(
    c: &Closing,
    tse: &Tse,
    bon_id: &str,
    line: u64,
    row: &Row<'_>,
    ctx: &mut Ctx<'_>,
) -> bool {
    const FILE: &str = "transactions_tse.csv";
    let bon = c.bons.get(bon_id);
    let client = bon
        .and_then(|b| {
            c.slaves
                .get(&b.terminal_id)
                .filter(|_| !b.terminal_id.is_empty())
        })
        .or(c.kasse_seriennr.as_ref())
        .cloned()
        .unwrap_or_default();
    let given = row.get("TSE_VORGANGSDATEN");
    let rebuilt = (row.get("TSE_TA_VORGANGSART") == "Kassenbeleg-V1")
        .then(|| bon.and_then(|b| rebuild(b, &c.vat)))
        .flatten();
    if let Some(rebuilt) = &rebuilt
        && !given.is_empty()
    {
        let same = match (process_data::parse(given), process_data::parse(rebuilt)) {
            (Ok(g), Ok(r)) => {
                g.vorgang == r.vorgang && g.slots == r.slots && g.payments == r.payments
            }
            _ => false,
        };
        if !same {
            ctx.report(
                "DSF303",
                FILE,
                Some(line),
                Some("TSE_VORGANGSDATEN"),
                rebuilt.clone(),
                given,
            );
        }
    }
    let data = if given.is_empty() {
        rebuilt
    } else {
        Some(given.to_string())
    };
    let ta = TransactionsTse {
        z_kasse_id: row.get("Z_KASSE_ID").to_string(),
        z_erstellung: row.get("Z_ERSTELLUNG").to_string(),
        z_nr: row.get("Z_NR").to_string(),
        bon_id: bon_id.to_string(),
        tse_id: row.get("TSE_ID").to_string(),
        tse_tanr: row.get("TSE_TANR").to_string(),
        tse_ta_ende: row.get("TSE_TA_ENDE").to_string(),
        tse_ta_vorgangsart: row.get("TSE_TA_VORGANGSART").to_string(),
        tse_ta_sigz: row.get("TSE_TA_SIGZ").to_string(),
        tse_ta_sig: row.get("TSE_TA_SIG").to_string(),
        tse_vorgangsdaten: data,
    };
    match tse_rows::signed_log(&ta, tse, &client) {
        Err(e) => {
            ctx.report(
                "DSF302",
                FILE,
                Some(line),
                None,
                "a log message that can be rebuilt",
                e.to_string(),
            );
            false
        }
        Ok(log) => {
            let v = verify(&log);
            if v.verdict == Verdict::Valid {
                return true;
            }
            ctx.report(
                "DSF301",
                FILE,
                Some(line),
                Some("TSE_TA_SIG"),
                "a signature that verifies with TSE_PUBLIC_KEY",
                if v.problems.is_empty() {
                    "invalid".to_string()
                } else {
                    v.problems.join("; ")
                },
            );
            false
        }
    }
}

/// Whether the certificate in TSE_ZERTIFIKAT_I, _II (and any further parts) certifies the key
/// in TSE_PUBLIC_KEY: `(expected, found)` when it cannot be read or holds another key, `None`
/// when it matches or no certificate is given (DSF025 reports a missing one).
fn certificate_mismatch(row: &Row<'_>) -> Option<(String, String)> {
    use crate::regime::kassensichv::export::cert;
    use crate::regime::kassensichv::qr::B64;
    use crate::regime::kassensichv::verify::PublicKey;
    use base64::Engine;
    let text = row.joined("TSE_ZERTIFIKAT_");
    if text.is_empty() {
        return None;
    }
    let expected = "a Base64 X.509 certificate of the key in TSE_PUBLIC_KEY";
    let der = match B64.decode(text.trim()) {
        Ok(d) => d,
        Err(e) => return Some((expected.into(), format!("not Base64: {e}"))),
    };
    let c = cert::read("TSE_ZERTIFIKAT", "", &der);
    let Some(cert_key) = c.key_hash else {
        return Some((expected.into(), c.problems.join("; ")));
    };
    let stated = B64
        .decode(row.get("TSE_PUBLIC_KEY"))
        .ok()
        .and_then(|k| PublicKey::read(&k).ok())
        .map(|k| crate::regime::kassensichv::logmsg::hex(&k.serial()));
    match stated {
        Some(k) if k == cert_key => None,
        Some(k) => Some((
            format!("the certificate's key (SHA-256 {k})"),
            format!("a certificate of another key (SHA-256 {cert_key})"),
        )),
        // An unreadable TSE_PUBLIC_KEY is reported by the signature replay.
        None => None,
    }
}
