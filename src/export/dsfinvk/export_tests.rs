//! Tests of the mapping choices docs/dsfinvk-mapping.md lists that the demo does not show:
//! returns and voids with their references, gift cards, foreign cash, training, aborted
//! Vorgänge, cash counts, unclosed sessions and missing master data.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::tables::{self, Table};
use super::*;
use crate::model::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn md() -> MasterData {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/demo/masterdata.toml"
    ));
    toml::from_str(text).unwrap()
}

fn op(id: &str, kind: OperationKind, at: &str) -> Operation {
    let t = Timestamp::parse(at).unwrap();
    Operation {
        merchant_id: Some("mer_de".into()),
        location_id: Some("loc_de_01".into()),
        register_id: Some("reg_de_01".into()),
        cashier: Some(Cashier {
            id: "c1".into(),
            name: None,
        }),
        timestamps: Timestamps {
            completed: Some(t),
            ..Timestamps::default()
        },
        ..Operation::bare(id, kind)
    }
}

fn item(desc: &str, qty: &str, price: &str, total: &str, rate: &str, tax: &str) -> Line {
    Line {
        id: None,
        position: None,
        kind: LineKind::Item,
        role: LineRole::Sold,
        description: desc.into(),
        sku: Some("SKU".into()),
        gift_card_id: None,
        quantity: d(qty),
        unit: None,
        unit_price: d(price),
        subtotal: None,
        discounts: Vec::new(),
        cart_allocations: Vec::new(),
        total_gross: d(total),
        total_net: None,
        taxes: vec![LineTax {
            name: None,
            rate: d(rate),
            category: None,
            taxable_amount: None,
            tax_amount: d(tax),
        }],
    }
}

fn pay(method: PaymentMethod, direction: Direction, amount: &str) -> Payment {
    Payment::new(method, direction, d(amount))
}

fn totals(gross: &str) -> Option<Totals> {
    Some(Totals {
        gross: d(gross),
        ..Totals::default()
    })
}

fn sale(id: &str, at: &str) -> Operation {
    let mut o = op(id, OperationKind::Sale, at);
    o.lines = vec![item("Brot", "2", "5.95", "11.90", "0.07", "0.78")];
    o.payments = vec![pay(PaymentMethod::Cash, Direction::In, "11.90")];
    o.totals = totals("11.90");
    o
}

/// The cell of `column` in row `i` of `table`.
fn cell(e: &Export, table: &Table, i: usize, column: &str) -> String {
    let (idx, _) = table.column(column).unwrap();
    e.rows(table)[i][idx].text()
}

fn run(ops: &[Operation]) -> Export {
    export("reg_de_01", ops, &md(), &Options::default())
        .unwrap()
        .unwrap()
}

#[test]
fn returns_and_voids_are_negative_and_reference_their_original() {
    let s = sale("s1", "2026-03-02T09:00:00+01:00");
    let mut r = op("r1", OperationKind::Return, "2026-03-03T10:00:00+01:00");
    r.lines = s.lines.clone();
    r.payments = vec![pay(PaymentMethod::Cash, Direction::Out, "11.90")];
    r.totals = totals("11.90");
    r.references.original_operation_id = Some("s1".into());
    let mut v = op("v1", OperationKind::Void, "2026-03-03T11:00:00+01:00");
    v.references.original_operation_id = Some("s1".into());
    let e = run(&[s, r, v]);
    let tx = &tables::TRANSACTIONS;
    assert_eq!(e.n_closings, 2);
    // The return: UMS_BRUTTO, MENGE and payment negative.
    assert_eq!(cell(&e, tx, 1, "BON_ID"), "r1");
    assert_eq!(cell(&e, tx, 1, "UMS_BRUTTO"), "-11.90");
    assert_eq!(cell(&e, &tables::LINES, 1, "MENGE"), "-2");
    assert_eq!(
        cell(&e, &tables::DATAPAYMENT, 1, "BASISWAEH_BETRAG"),
        "-11.90"
    );
    // The void: a new Beleg negating the original, BON_STORNO 1.
    assert_eq!(cell(&e, tx, 2, "BON_ID"), "v1");
    assert_eq!(cell(&e, tx, 2, "BON_STORNO"), "1");
    assert_eq!(cell(&e, tx, 2, "BON_TYP"), "Beleg");
    assert_eq!(cell(&e, tx, 2, "UMS_BRUTTO"), "-11.90");
    assert_eq!(cell(&e, &tables::LINES_VAT, 2, "POS_BRUTTO"), "-11.90");
    // Both reference the sale in closing 1.
    let refs = &tables::REFERENCES;
    assert_eq!(e.rows(refs).len(), 2);
    for i in 0..2 {
        assert_eq!(cell(&e, refs, i, "REF_TYP"), "Transaktion");
        assert_eq!(cell(&e, refs, i, "REF_Z_NR"), "1");
        assert_eq!(cell(&e, refs, i, "REF_Z_KASSE_ID"), "reg_de_01");
        assert_eq!(cell(&e, refs, i, "REF_BON_ID"), "s1");
        assert_eq!(cell(&e, refs, i, "REF_DATUM"), "2026-03-02T09:00:00+01:00");
    }
}

#[test]
fn an_original_outside_the_export_is_an_external_reference() {
    let mut r = op("r1", OperationKind::Return, "2026-03-03T10:00:00+01:00");
    r.lines = vec![item("Brot", "1", "5.95", "5.95", "0.07", "0.39")];
    r.payments = vec![pay(PaymentMethod::Cash, Direction::Out, "5.95")];
    r.totals = totals("5.95");
    r.references.original_operation_id = Some("older".into());
    let e = run(&[r]);
    let refs = &tables::REFERENCES;
    assert_eq!(cell(&e, refs, 0, "REF_TYP"), "ExterneSonstige");
    assert_eq!(cell(&e, refs, 0, "REF_Z_NR"), "");
    assert_eq!(cell(&e, refs, 0, "REF_BON_ID"), "older");
}

#[test]
fn a_continued_export_numbers_on_and_references_the_earlier_closing() {
    // Night 1: the sale, in closing 1.
    let s = sale("s1", "2026-03-02T09:00:00+01:00");
    let first = export_continuing(
        "reg_de_01",
        std::slice::from_ref(&s),
        &md(),
        &Options::default(),
        &Continuation::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(first.continuation.last_z_nr, 1);
    assert_eq!(first.continuation.targets["s1"].z_nr, 1);
    // Night 2: the return, continuing from night 1.
    let mut r = op("r1", OperationKind::Return, "2026-03-03T10:00:00+01:00");
    r.lines = s.lines.clone();
    r.payments = vec![pay(PaymentMethod::Cash, Direction::Out, "11.90")];
    r.totals = totals("11.90");
    r.references.original_operation_id = Some("s1".into());
    let second = export_continuing(
        "reg_de_01",
        &[r],
        &md(),
        &Options::default(),
        &first.continuation,
    )
    .unwrap()
    .unwrap();
    let z = &tables::CASHPOINTCLOSING;
    assert_eq!(cell(&second, z, 0, "Z_NR"), "2");
    let refs = &tables::REFERENCES;
    assert_eq!(cell(&second, refs, 0, "REF_TYP"), "Transaktion");
    assert_eq!(cell(&second, refs, 0, "REF_Z_NR"), "1");
    assert_eq!(cell(&second, refs, 0, "REF_BON_ID"), "s1");
    assert_eq!(
        cell(&second, refs, 0, "REF_DATUM"),
        cell(&first, &tables::TRANSACTIONS, 0, "BON_ENDE")
    );
    // Only goods movements are carried on; the return joins them.
    assert_eq!(second.continuation.last_z_nr, 2);
    assert_eq!(
        second.continuation.targets.keys().collect::<Vec<_>>(),
        ["r1", "s1"]
    );
}

#[test]
fn gift_cards_foreign_cash_and_payment_types() {
    // A gift card sold (key 5) and one redeemed (a Mehrzweckgutschein line, not a payment).
    let mut s = sale("s1", "2026-03-02T09:00:00+01:00");
    let mut gc = item("Gutschein", "1", "20.00", "20.00", "0", "0");
    gc.kind = LineKind::GiftCard;
    gc.gift_card_id = Some("gc9".into());
    s.lines.push(gc);
    s.totals = totals("31.90");
    let mut redeem = pay(PaymentMethod::GiftCard, Direction::In, "10.00");
    redeem.gift_card_id = Some("gc1".into());
    let mut chf = pay(PaymentMethod::Cash, Direction::In, "11.90");
    chf.foreign_currency = Currency::parse("CHF");
    chf.tendered = Some(d("12.00"));
    let mut card = pay(PaymentMethod::Card, Direction::In, "10.00");
    card.card_brand = Some("girocard".into());
    s.payments = vec![redeem, chf, card];
    let e = run(&[s]);
    let lines = &tables::LINES;
    assert_eq!(cell(&e, lines, 1, "GV_TYP"), "MehrzweckgutscheinKauf");
    assert_eq!(cell(&e, lines, 1, "GUTSCHEIN_NR"), "gc9");
    assert_eq!(cell(&e, &tables::LINES_VAT, 1, "UST_SCHLUESSEL"), "5");
    assert_eq!(cell(&e, lines, 2, "GV_TYP"), "MehrzweckgutscheinEinloesung");
    assert_eq!(cell(&e, &tables::LINES_VAT, 2, "POS_BRUTTO"), "-10.00");
    // UMS_BRUTTO: the stated total less the redeemed gift card.
    assert_eq!(cell(&e, &tables::TRANSACTIONS, 0, "UMS_BRUTTO"), "21.90");
    let dp = &tables::DATAPAYMENT;
    assert_eq!(e.rows(dp).len(), 2);
    assert_eq!(cell(&e, dp, 0, "ZAHLART_TYP"), "Bar");
    assert_eq!(cell(&e, dp, 0, "ZAHLWAEH_CODE"), "CHF");
    assert_eq!(cell(&e, dp, 0, "ZAHLWAEH_BETRAG"), "12.00");
    assert_eq!(cell(&e, dp, 0, "BASISWAEH_BETRAG"), "11.90");
    assert_eq!(cell(&e, dp, 1, "ZAHLART_TYP"), "ECKarte");
    let cpc = &tables::CASH_PER_CURRENCY;
    assert_eq!(cell(&e, cpc, 0, "ZAHLART_WAEH"), "CHF");
    assert_eq!(cell(&e, cpc, 0, "ZAHLART_BETRAG_WAEH"), "12.00");

    for (method, brand, want) in [
        (PaymentMethod::Card, Some("Maestro"), "ECKarte"),
        (PaymentMethod::Card, Some("amex"), "Kreditkarte"),
        (PaymentMethod::Card, None, "Unbar"),
        (
            PaymentMethod::Wallet,
            Some("visa"),
            "ElZahlungsdienstleister",
        ),
        (PaymentMethod::Voucher, None, "Unbar"),
        (PaymentMethod::Online, None, "Unbar"),
        (PaymentMethod::Cash, None, "Bar"),
    ] {
        assert_eq!(mapping::payment_type(&method, brand).0, want, "{method:?}");
    }
}

#[test]
fn a_sale_paid_only_by_gift_card_has_payment_keine() {
    let mut s = sale("s1", "2026-03-02T09:00:00+01:00");
    s.payments = vec![pay(PaymentMethod::GiftCard, Direction::In, "11.90")];
    let e = run(&[s]);
    assert_eq!(cell(&e, &tables::TRANSACTIONS, 0, "UMS_BRUTTO"), "0.00");
    assert_eq!(cell(&e, &tables::DATAPAYMENT, 0, "ZAHLART_TYP"), "Keine");
    assert_eq!(cell(&e, &tables::DATAPAYMENT, 0, "BASISWAEH_BETRAG"), "0");
}

#[test]
fn training_and_aborted_vorgaenge_are_recorded_but_not_paid_nor_summed() {
    let s = sale("s1", "2026-03-02T09:00:00+01:00");
    let mut t = sale("t1", "2026-03-02T10:00:00+01:00");
    t.kind = OperationKind::Training;
    // Cancelled before the TSE started: nothing to record.
    let mut c = sale("c1", "2026-03-02T11:00:00+01:00");
    c.state = LifecycleState::Cancelled;
    let e = run(&[s, t, c]);
    assert_eq!(e.rows(&tables::TRANSACTIONS).len(), 2);
    assert_eq!(cell(&e, &tables::TRANSACTIONS, 1, "BON_TYP"), "AVTraining");
    assert_eq!(e.rows(&tables::DATAPAYMENT).len(), 1);
    assert_eq!(cell(&e, &tables::BUSINESSCASES, 0, "Z_UMS_BRUTTO"), "11.90");
    // A day with nothing to record gives no closing.
    let mut only = sale("c2", "2026-03-05T11:00:00+01:00");
    only.state = LifecycleState::Cancelled;
    let r = export("reg_de_01", &[only], &md(), &Options::default()).unwrap();
    assert!(r.is_none());
    // Without any signed operation KASSE_SERIENNR is the register's hardware serial.
    let e = run(&[sale("s3", "2026-03-02T09:00:00+01:00")]);
    assert_eq!(
        cell(&e, &tables::CASHREGISTER, 0, "KASSE_SERIENNR"),
        "DE01-48834564"
    );
}

#[test]
fn cash_movements_by_reason() {
    for (reason, amount, want) in [
        ("float", "100", "Geldtransit"),
        ("bank_deposit", "-300", "Geldtransit"),
        ("private_withdrawal", "-30", "Privatentnahme"),
        ("private_deposit", "1000", "Privateinlage"),
        ("expense", "-12", "Auszahlung"),
        ("other", "5", "Einzahlung"),
    ] {
        assert_eq!(mapping::movement_gv(Some(reason), d(amount)), want);
    }
    let mut m = op(
        "m1",
        OperationKind::CashMovement,
        "2026-03-02T08:00:00+01:00",
    );
    m.cash = Some(CashEvent::Movement {
        amount: d("-30.00"),
        reason: Some("private_withdrawal".into()),
    });
    let e = run(&[m]);
    assert_eq!(cell(&e, &tables::LINES, 0, "GV_TYP"), "Privatentnahme");
    assert_eq!(cell(&e, &tables::LINES_VAT, 0, "UST_SCHLUESSEL"), "5");
    assert_eq!(
        cell(&e, &tables::CASHPOINTCLOSING, 0, "Z_SE_BARZAHLUNGEN"),
        "-30.00"
    );
}

#[test]
fn sessions_give_closings_with_float_and_count_difference() {
    let ses = |mut o: Operation, s: &str| {
        o.shape = WireShape::Operations;
        o.session_id = Some(s.into());
        o.cashier = None;
        o
    };
    let mut open = ses(
        op(
            "o1",
            OperationKind::SessionOpen,
            "2026-03-02T08:00:00+01:00",
        ),
        "S1",
    );
    open.cash = Some(CashEvent::Open {
        opening_balance: d("100.00"),
    });
    let mut count = ses(
        op(
            "k1",
            OperationKind::SessionCashCount,
            "2026-03-02T19:00:00+01:00",
        ),
        "S1",
    );
    count.cash = Some(CashEvent::Count {
        counted: d("95.00"),
        expected: Some(d("100.00")),
        difference: None,
    });
    let mut close = ses(
        op(
            "x1",
            OperationKind::SessionClose,
            "2026-03-03T00:30:00+01:00",
        ),
        "S1",
    );
    close.cash = Some(CashEvent::Close {
        business_date: NaiveDate::from_ymd_opt(2026, 3, 2),
        adjustment: None,
    });
    let unclosed = ses(sale("s2", "2026-03-03T09:00:00+01:00"), "S2");
    let e = run(&[open, count, close, unclosed]);
    assert_eq!((e.n_closings, e.left_out), (1, 1));
    let cpc = &tables::CASHPOINTCLOSING;
    assert_eq!(
        cell(&e, cpc, 0, "Z_ERSTELLUNG"),
        "2026-03-03T00:30:00+01:00"
    );
    assert_eq!(cell(&e, cpc, 0, "Z_BUCHUNGSTAG"), "2026-03-02");
    assert_eq!(cell(&e, &tables::LINES, 0, "GV_TYP"), "Anfangsbestand");
    assert_eq!(cell(&e, &tables::LINES, 1, "GV_TYP"), "DifferenzSollIst");
    assert_eq!(cell(&e, &tables::LINES_VAT, 1, "POS_BRUTTO"), "-5.00");
    assert_eq!(
        cell(&e, &tables::TRANSACTIONS, 0, "BEDIENER_ID"),
        mapping::UNKNOWN_CASHIER
    );
    assert_eq!(cell(&e, cpc, 0, "Z_SE_BARZAHLUNGEN"), "95.00");
}

#[test]
fn missing_master_data_is_an_error_naming_what_is_missing() {
    let ops = [sale("s1", "2026-03-02T09:00:00+01:00")];
    let mut m = md();
    m.merchants.iter_mut().for_each(|x| x.tax_number = None);
    let err = export("reg_de_01", &ops, &m, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("STNR"), "{err}");
    let err = export("reg_xx", &ops, &md(), &Options::default()).unwrap_err();
    assert!(
        matches!(err, Error::MasterData { ref register, .. } if register == "reg_xx"),
        "{err}"
    );
    // A VAT rate without a DSFinV-K key names the operation and the line.
    let mut s = sale("s9", "2026-03-02T09:00:00+01:00");
    s.lines[0].taxes[0].rate = d("0.20");
    let err = export("reg_de_01", &[s], &md(), &Options::default()).unwrap_err();
    assert!(
        err.to_string().contains("s9") && err.to_string().contains("Brot"),
        "{err}"
    );
}

#[test]
fn mapping_docs_name_the_tests_they_cite() {
    let docs = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/dsfinvk-mapping.md"
    ));
    let tests = [
        include_str!("export_tests.rs"),
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/dsfinvk_export.rs"
        )),
    ]
    .concat();
    let mut n = 0;
    for cited in docs.split('[').skip(1).filter_map(|s| s.split_once(']')) {
        for name in cited.0.split(',').map(|s| s.trim()) {
            if name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                && !name.is_empty()
            {
                assert!(tests.contains(&format!("fn {name}(")), "no test {name}");
                n += 1;
            }
        }
    }
    assert!(n >= 10, "{n}");
    // Every GV_TYP and ZAHLART_TYP the mapping writes is documented.
    for v in [
        "Umsatz",
        "Rabatt",
        "Pfand",
        "PfandRueckzahlung",
        "MehrzweckgutscheinKauf",
        "MehrzweckgutscheinEinloesung",
        "TrinkgeldAN",
        "Anzahlungseinstellung",
        "Anfangsbestand",
        "Geldtransit",
        "Privatentnahme",
        "Privateinlage",
        "Lohnzahlung",
        "Einzahlung",
        "Auszahlung",
        "DifferenzSollIst",
        "Bar",
        "ECKarte",
        "Kreditkarte",
        "ElZahlungsdienstleister",
        "Unbar",
        "Keine",
    ] {
        assert!(docs.contains(&format!("`{v}`")), "{v}");
    }
}

#[test]
fn voided_v11_operations_prepayments_deposits_and_wages() {
    // A v1.1 sale voided afterwards: the original, then its unsigned reversal.
    let mut s = sale("s1", "2026-03-02T09:00:00+01:00");
    s.state = LifecycleState::Voided;
    s.timestamps.voided = Timestamp::parse("2026-03-02T09:05:00+01:00");
    // A prepayment, and a deposit line given back.
    let mut p = sale("p1", "2026-03-02T10:00:00+01:00");
    p.kind = OperationKind::Deposit;
    let mut r = sale("r1", "2026-03-02T11:00:00+01:00");
    r.kind = OperationKind::Return;
    r.lines[0].kind = LineKind::Deposit;
    r.payments[0].direction = Direction::Out;
    let mut w = op(
        "w1",
        OperationKind::CashMovement,
        "2026-03-02T12:00:00+01:00",
    );
    w.cash = Some(CashEvent::Movement {
        amount: d("-50.00"),
        reason: Some("wage".into()),
    });
    let e = run(&[s, p, r, w]);
    let tx = &tables::TRANSACTIONS;
    assert_eq!(cell(&e, tx, 1, "BON_ID"), "s1-storno");
    assert_eq!(cell(&e, tx, 1, "BON_STORNO"), "1");
    assert_eq!(cell(&e, tx, 1, "UMS_BRUTTO"), "-11.90");
    assert_eq!(cell(&e, tx, 1, "BON_ENDE"), "2026-03-02T09:05:00+01:00");
    assert_eq!(cell(&e, &tables::REFERENCES, 0, "REF_BON_ID"), "s1");
    let lines = &tables::LINES;
    assert_eq!(cell(&e, lines, 2, "GV_TYP"), "Anzahlungseinstellung");
    assert_eq!(cell(&e, lines, 3, "GV_TYP"), "PfandRueckzahlung");
    assert_eq!(cell(&e, lines, 4, "GV_TYP"), "Lohnzahlung");
}

#[test]
fn long_process_data_is_left_out_of_tse_vorgangsdaten() {
    let mut s = sale("s1", "2026-03-02T09:00:00+01:00");
    let pd = "Beleg^0.00_11.90_0.00_0.00_0.00^11.90:Bar".to_string();
    let qr = format!(
        "V0;K1;Kassenbeleg-V1;{pd};7;15;2026-03-02T08:00:00.000Z;2026-03-02T08:00:01.000Z;\
         ecdsa-plain-SHA256;unixTime;U0lH;S0VZ"
    );
    s.fiscal = Some(Fiscal::KassenSichV(TseFiscal {
        tse_serial: Some("AB01".into()),
        qr_data: Some(qr.clone()),
        ..TseFiscal::default()
    }));
    let e = run(std::slice::from_ref(&s));
    let tt = &tables::TRANSACTIONS_TSE;
    assert_eq!(cell(&e, tt, 0, "TSE_TANR"), "7");
    assert_eq!(cell(&e, tt, 0, "TSE_TA_SIGZ"), "15");
    assert_eq!(cell(&e, tt, 0, "TSE_TA_START"), "2026-03-02T08:00:00.000Z");
    assert_eq!(cell(&e, tt, 0, "TSE_VORGANGSDATEN"), pd);
    assert_eq!(cell(&e, &tables::TSE, 0, "TSE_SERIAL"), "ab01");
    assert_eq!(cell(&e, &tables::TSE, 0, "TSE_PUBLIC_KEY"), "S0VZ");
    // The client id the TSE signed for, here only in the QR code.
    assert_eq!(cell(&e, &tables::CASHREGISTER, 0, "KASSE_SERIENNR"), "K1");
    let long = format!(
        "Beleg^0.00_11.90_0.00_0.00_0.00^11.90:Bar{}",
        "_0.00:Unbar".repeat(100)
    );
    s.fiscal = Some(Fiscal::KassenSichV(TseFiscal {
        tse_serial: Some("AB01".into()),
        qr_data: Some(qr.replace(&pd, &long)),
        ..TseFiscal::default()
    }));
    let e = run(&[s]);
    assert_eq!(cell(&e, tt, 0, "TSE_VORGANGSDATEN"), "");
    assert_eq!(cell(&e, tt, 0, "TSE_TA_VORGANGSART"), "Kassenbeleg-V1");
}

/// The values of one example column of an official worked-example sheet, as
/// (IDEA table, column, occurrence, value) for every non-empty cell. The occurrence counts
/// the sheet's rows of that table and column, filled or not: the third `Bonpos GV_TYP` row
/// describes the Vorgang's third line.
fn example_values(tsv: &str, example: &str) -> Vec<(String, String, usize, String)> {
    let rows: Vec<Vec<&str>> = tsv.lines().map(|l| l.split('\t').collect()).collect();
    let head = rows
        .iter()
        .find(|r| r.contains(&example) && r.contains(&"DSFinV-K (nur Auszug)"))
        .expect("example column");
    let col = head.iter().position(|c| *c == example).unwrap();
    let header = rows.iter().find(|r| r.contains(&"Datei:")).unwrap();
    let file_col = header.iter().position(|c| *c == "Datei:").unwrap();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for r in &rows {
        let (Some(t), Some(c)) = (r.get(file_col), r.get(file_col + 1)) else {
            continue;
        };
        let (t, c) = (t.trim(), c.trim());
        if t.is_empty() || c.is_empty() || t == "Datei:" {
            continue;
        }
        let n = seen.entry((t.to_string(), c.to_string())).or_default();
        let v = r.get(col).map_or("", |v| v.trim());
        if !v.is_empty() {
            out.push((t.to_string(), c.to_string(), *n, v.to_string()));
        }
        *n += 1;
    }
    out
}

/// Official example 05 (DSFinV-K 2.2 Beispiele, spec §3.2 BSP 05): a private deposit and a
/// private withdrawal, rebuilt as cash movements; the TSE rows of the sheet are fictional
/// (no signature can match them) and are not compared.
#[test]
fn official_example_05_private_deposit_and_withdrawal() {
    let tsv = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/dsfinvk/examples/V_2_1_05_Privatvorgaenge.tsv"
    ));
    let cases = [
        (
            "Beispiel 5.1",
            "100127",
            "2018-05-24T08:29:12+02:00",
            "2018-05-24T08:30:12+02:00",
            "1000",
            "private_deposit",
            None,
        ),
        (
            "Beispiel 5.2",
            "100250",
            "2018-05-24T14:34:20+02:00",
            "2018-05-24T14:35:20+02:00",
            "-30",
            "private_withdrawal",
            Some("Kino Kinder"),
        ),
    ];
    for (example, id, start, end, amount, reason, note) in cases {
        let mut m = op(id, OperationKind::CashMovement, end);
        m.timestamps.started = Timestamp::parse(start);
        m.cash = Some(CashEvent::Movement {
            amount: d(amount),
            reason: Some(reason.into()),
        });
        m.notes = note.map(|n| vec![n.to_string()]).unwrap_or_default();
        let e = run(&[m]);
        compare_example(&e, tsv, example, &[]);
    }
}

/// Compares the export's rows of the example's Vorgang (by BON_ID; the first row for tables
/// without BON_ID; the k-th row of the Vorgang for the sheet's k-th row of a table and column)
/// with every value the sheet gives for `example`, except the TSE rows (their signatures are
/// invented) and the `skip`ped (table, column) pairs. The sheets print amounts as computed,
/// unrounded (42.016806722689076); such a value is compared rounded half-up to the decimals
/// fiskal wrote, and enumeration values ignoring case (`keine` for `Keine`).
fn compare_example(e: &Export, tsv: &str, example: &str, skip: &[(&str, &str)]) {
    let expected = example_values(tsv, example);
    let bon_id = expected
        .iter()
        .find(|(t, c, _, _)| t == "Bonkopf" && c == "BON_ID")
        .map(|(_, _, _, v)| v.clone())
        .unwrap();
    let mut n_checked = 0;
    for (table, column, k, want) in expected {
        if table == "TSE_Transaktionen" || skip.contains(&(table.as_str(), column.as_str())) {
            continue;
        }
        let t = tables::table_by_name(&table).unwrap();
        let row = match t.column("BON_ID") {
            Some(_) => (0..e.rows(t).len())
                .filter(|i| cell(e, t, *i, "BON_ID") == bon_id)
                .nth(k)
                .unwrap_or_else(|| panic!("{example}: no {table} row {k} for {bon_id}")),
            None => 0,
        };
        let got = cell(e, t, row, &column);
        let same = match (d_opt(&got), d_opt(&want)) {
            (Some(a), Some(b)) => {
                a == b
                    || (b.scale() > a.scale()
                        && a == b.round_dp_with_strategy(
                            a.scale(),
                            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                        ))
            }
            // The sheet's times have no offset; fiskal writes it (docs/dsfinvk.md).
            _ => {
                got == want
                    || got.starts_with(&format!("{want}+"))
                    || (tables::enum_for(t.file, &column).is_some()
                        && got.eq_ignore_ascii_case(&want))
            }
        };
        assert!(
            same,
            "{example} {table}.{column} #{k}: got {got:?}, sheet {want:?}"
        );
        n_checked += 1;
    }
    assert!(n_checked >= 12, "{example}: {n_checked}");
}

/// Official example 02 (BSP 02): a multi-purpose voucher sold for cash (2.1), then redeemed
/// against a restaurant bill of exactly its value (2.2), as a gift-card line and a gift-card
/// payment. Not compared, for reasons the OpenFiskal data cannot change: the redemption line's
/// ART_NR (the sheet repeats the voucher's article number 675549; a gift-card payment carries
/// only the card id, written as GUTSCHEIN_NR) and Bonpos_Preisfindung (fiskal writes price
/// parts only for discounted lines; docs/dsfinvk-mapping.md).
#[test]
fn official_example_02_multi_purpose_voucher() {
    let tsv = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/dsfinvk/examples/V_2_1_02_Mehrzweckgutscheine.tsv"
    ));
    let mut buy = op("30150", OperationKind::Sale, "2018-12-30T18:30:00+01:00");
    buy.timestamps.started = Timestamp::parse("2018-12-30T18:28:55+01:00");
    let mut voucher = item("Gutschein Mehrzweck", "1", "50", "50", "0", "0");
    voucher.kind = LineKind::GiftCard;
    voucher.sku = Some("675549".into());
    voucher.gift_card_id = Some("465".into());
    buy.lines = vec![voucher];
    buy.payments = vec![pay(PaymentMethod::Cash, Direction::In, "50")];
    buy.totals = totals("50");

    let mut dine = op("30600", OperationKind::Sale, "2019-01-06T19:45:12+01:00");
    dine.timestamps.started = Timestamp::parse("2019-01-06T19:44:03+01:00");
    dine.lines = [
        ("Rehbraten", "17.00", "2.71"),
        ("Hirschbraten", "19.50", "3.11"),
        ("Flasche Wein", "13.50", "2.16"),
    ]
    .iter()
    .map(|(text, gross, tax)| {
        let mut l = item(text, "1", gross, gross, "0.19", tax);
        l.sku = None;
        l
    })
    .collect();
    let mut redeem = pay(PaymentMethod::GiftCard, Direction::In, "50");
    redeem.gift_card_id = Some("465".into());
    dine.payments = vec![redeem];
    dine.totals = totals("50");

    let skip = [
        ("Bonpos", "ART_NR"),
        ("Bonpos_Preisfindung", "UST_SCHLUESSEL"),
        ("Bonpos_Preisfindung", "PF_BRUTTO"),
    ];
    compare_example(
        &run(&[buy.clone()]),
        tsv,
        "Beispiel 2.1",
        &[skip[1], skip[2]],
    );
    compare_example(&run(&[dine]), tsv, "Beispiel 2.2", &skip);
    // The voucher line's ART_NR is compared in 2.1: the sold voucher is an article.
    let e = run(&[buy]);
    assert_eq!(cell(&e, &tables::LINES, 0, "ART_NR"), "675549");
    assert_eq!(cell(&e, &tables::LINES, 0, "GUTSCHEIN_NR"), "465");
}

/// Official example 06 (BSP 06): change put into the till in the morning and cash taken to
/// the safe in the evening, as cash movements.
#[test]
fn official_example_06_change_and_cash_transit() {
    let tsv = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/dsfinvk/examples/V_2_1_06_Wechselgeld_Geldtransit.tsv"
    ));
    for (example, id, start, end, amount) in [
        (
            "Beispiel 6.1",
            "10230",
            "2018-03-21T06:30:54+01:00",
            "2018-03-21T06:30:55+01:00",
            "250",
        ),
        (
            "Beispiel 6.2",
            "10315",
            "2018-03-21T20:03:02+01:00",
            "2018-03-21T20:03:03+01:00",
            "-4200",
        ),
    ] {
        let mut m = op(id, OperationKind::CashMovement, end);
        m.timestamps.started = Timestamp::parse(start);
        m.cash = Some(CashEvent::Movement {
            amount: d(amount),
            reason: Some("safe".into()),
        });
        compare_example(&run(&[m]), tsv, example, &[]);
    }
}

/// Official example 07 (BSP 07): a counted drawer 87 € short, as a v1.1 session's cash count.
/// The sheet lists `Bar` under ZAHLART_NAME where every other example has it as ZAHLART_TYP;
/// fiskal writes ZAHLART_TYP `Bar` and no name, so that column is not compared.
#[test]
fn official_example_07_cash_difference() {
    let tsv = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/dsfinvk/examples/V_2_1_07_Differenzbetraege.tsv"
    ));
    let ses = |mut o: Operation| {
        o.shape = WireShape::Operations;
        o.session_id = Some("S".into());
        o
    };
    let mut open = ses(op(
        "20003300",
        OperationKind::SessionOpen,
        "2018-03-21T06:00:00+01:00",
    ));
    open.cash = Some(CashEvent::Open {
        opening_balance: d("0"),
    });
    let mut count = ses(op(
        "20003409",
        OperationKind::SessionCashCount,
        "2018-03-21T19:45:23+01:00",
    ));
    count.timestamps.started = Timestamp::parse("2018-03-21T19:45:22+01:00");
    count.cash = Some(CashEvent::Count {
        counted: d("4283.00"),
        expected: Some(d("4370.00")),
        difference: None,
    });
    let mut close = ses(op(
        "20003410",
        OperationKind::SessionClose,
        "2018-03-21T20:00:00+01:00",
    ));
    close.cash = Some(CashEvent::Close {
        business_date: None,
        adjustment: None,
    });
    let e = run(&[open, count, close]);
    compare_example(
        &e,
        tsv,
        "Beispiel 7",
        &[("Bonkopf_Zahlarten", "ZAHLART_NAME")],
    );
    assert_eq!(cell(&e, &tables::DATAPAYMENT, 1, "ZAHLART_TYP"), "Bar");
}

fn d_opt(s: &str) -> Option<Decimal> {
    s.parse().ok()
}
