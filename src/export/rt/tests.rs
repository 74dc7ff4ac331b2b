use rust_decimal::Decimal;

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn rate(p: &str) -> Key {
    Key::Rate(std::cmp::Reverse(d(p)))
}

/// rt.md §5's worked example: 22 % with one annullo and one reso, 10 % with a part not
/// collected (here left in the sales, as fiskal has no non-riscosso data), N4 exempt.
#[test]
fn rows_follow_the_scorporo_of_the_spec_example() {
    let r = Row::of(
        &rate("22.00"),
        &Sums {
            sales: d("610.00"),
            resi: d("12.20"),
            annulli: d("24.40"),
        },
    );
    assert_eq!(r.imposta, Some(d("103.40")));
    assert_eq!(r.importo_parziale, d("470.00"));
    assert_eq!((r.resi, r.annulli), (d("10.00"), d("20.00")));
    assert_eq!(r.ammontare, d("500.00"));
    let n = Row::of(
        &Key::Natura("N4".into()),
        &Sums {
            sales: d("40.00"),
            ..Sums::default()
        },
    );
    assert_eq!(
        (n.imposta, n.ammontare, n.importo_parziale),
        (None, d("40.00"), d("40.00"))
    );
}

/// Real AdE-portal files quoted in rt.md §1.4: 1768.00 at 10 % gives 160.73 / 1607.27, and
/// 2570.20 gives 233.65 / 2336.55; 10.00 at 22 % gives 1.80.
#[test]
fn rows_match_real_closings() {
    for (gross, p, tax, net) in [
        ("1768.00", "10.00", "160.73", "1607.27"),
        ("2570.20", "10.00", "233.65", "2336.55"),
        ("10.00", "22.00", "1.80", "8.20"),
    ] {
        let r = Row::of(
            &rate(p),
            &Sums {
                sales: d(gross),
                ..Sums::default()
            },
        );
        assert_eq!((r.imposta, r.importo_parziale), (Some(d(tax)), d(net)));
        assert_eq!(r.ammontare, d(net));
    }
}

proptest::proptest! {
    /// Every rate row satisfies the identities a checker applies (rt.md §1.4): Ammontare =
    /// ImportoParziale + resi + annulli, and Imposta + ImportoParziale = the collected gross.
    #[test]
    fn rate_rows_add_up(s in 0i64..10_000_000, r in 0i64..1_000_000, a in 0i64..1_000_000,
                        p in proptest::sample::select(vec!["22.00", "10.00", "5.00", "4.00"])) {
        let sums = Sums { sales: Decimal::new(s, 2), resi: Decimal::new(r, 2), annulli: Decimal::new(a, 2) };
        let row = Row::of(&rate(p), &sums);
        proptest::prop_assert_eq!(row.ammontare, row.importo_parziale + row.resi + row.annulli);
        proptest::prop_assert_eq!(row.imposta.unwrap() + row.importo_parziale, sums.sales - sums.resi - sums.annulli);
        let rate = d(p);
        let exact = (sums.sales - sums.resi - sums.annulli) * rate / (Decimal::ONE_HUNDRED + rate);
        proptest::prop_assert!((row.imposta.unwrap() - exact).abs() <= d("0.005"));
    }
}

#[test]
fn the_demo_seal_signs_deterministically() {
    let seal = Seal::from_master_data(&seal::demo()).unwrap();
    let a = seal.sign(b"x");
    assert_eq!(a.len(), 256);
    assert_eq!(a, seal.sign(b"x"));
    assert_ne!(a, seal.sign(b"y"));
    assert!(
        Seal::from_master_data(&crate::model::masterdata::RtSeal {
            label: None,
            private_key: "nothing".into(),
            certificate: String::new(),
        })
        .is_err()
    );
}

fn line(total: &str, rate: &str, natura: Option<&str>) -> crate::model::Line {
    use crate::model::*;
    Line {
        id: None,
        position: None,
        kind: LineKind::Item,
        role: LineRole::Sold,
        description: "x".into(),
        sku: None,
        gift_card_id: None,
        quantity: Decimal::ONE,
        unit: None,
        unit_price: d(total),
        subtotal: None,
        discounts: Vec::new(),
        cart_allocations: Vec::new(),
        total_gross: d(total),
        total_net: None,
        taxes: vec![LineTax {
            name: None,
            rate: d(rate),
            category: natura.map(str::to_string),
            taxable_amount: None,
            tax_amount: Decimal::ZERO,
        }],
    }
}

/// A document of closing `z`, progressive `n`, of `kind` with `lines`, paid by `method`.
fn document(
    id: &str,
    kind: crate::model::OperationKind,
    doc_type: &str,
    z: u32,
    n: u32,
    lines: Vec<crate::model::Line>,
    method: crate::model::PaymentMethod,
) -> crate::model::Operation {
    use crate::model::*;
    let total: Decimal = lines.iter().map(|l| l.total_gross).sum();
    let direction = if doc_type == "VENDITA" {
        Direction::In
    } else {
        Direction::Out
    };
    Operation {
        timestamps: Timestamps {
            completed: Timestamp::parse(&format!("2026-03-02T{:02}:00:00+01:00", 8 + n)),
            ..Timestamps::default()
        },
        lines,
        payments: vec![Payment::new(method, direction, total)],
        fiscal: Some(Fiscal::Rt(RtFiscal {
            rt_serial: Some("99IEB000001".into()),
            document_number: Some(format!("{z:04}-{n:04}")),
            document_type: Some(doc_type.into()),
            daily_closing_number: Some(z),
            progressive_number: Some(n),
            ..RtFiscal::default()
        })),
        ..Operation::bare(id, kind)
    }
}

/// A closing with a sale, its annullo, a reso and a second sale; then the next closing starts
/// and the first is written with resi and annulli per key and the sale payments only.
#[test]
fn resi_and_annulli_count_per_key_and_a_new_closing_writes_the_last() {
    use crate::model::{OperationKind as K, PaymentMethod as P};
    let seal = Seal::from_master_data(&seal::demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::new(dir.path(), None, &seal);
    let ops = [
        document(
            "s1",
            K::Sale,
            "VENDITA",
            7,
            1,
            vec![line("12.20", "0.22", None), line("5.00", "0", Some("N4"))],
            P::Card,
        ),
        document("a1", K::Void, "ANNULLO", 7, 2, Vec::new(), P::Card),
        document(
            "r1",
            K::Return,
            "RESO",
            7,
            3,
            vec![line("2.44", "0.22", None)],
            P::Cash,
        ),
        document(
            "s2",
            K::Sale,
            "VENDITA",
            7,
            4,
            vec![line("24.40", "0.22", None)],
            P::Cash,
        ),
        document(
            "s3",
            K::Sale,
            "VENDITA",
            8,
            1,
            vec![line("1.10", "0.10", None)],
            P::Cash,
        ),
    ];
    let mut ops = ops.to_vec();
    ops[1].references.original_operation_id = Some("s1".into());
    for op in &ops[..4] {
        w.push(op);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "closing 7 still open"
    );
    w.push(&ops[4]);
    assert!(dir.path().join("99IEB000001_0007.xml").exists());
    let (files, skipped) = w.finish().unwrap();
    assert_eq!(skipped, []);
    let z: Vec<(u32, u64, usize)> = files
        .iter()
        .map(|f| (f.daily_closing_number, f.documents, f.rows))
        .collect();
    assert_eq!(z, [(7, 4, 2), (8, 1, 1)]);
    let xml = std::fs::read_to_string(dir.path().join("99IEB000001_0007.xml")).unwrap();
    let values = |name: &str| -> Vec<String> {
        xml.split(&format!("<{name}>"))
            .skip(1)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .collect()
    };
    // 22 %: sales 36.60, annullo 12.20, reso 2.44 → collected 21.96 → Imposta 3.96.
    assert_eq!(values("AliquotaIVA"), ["22.00"]);
    assert_eq!(values("Imposta"), ["3.96"]);
    assert_eq!(values("ImportoParziale"), ["18.00", "0.00"]);
    assert_eq!(values("TotaleAmmontareResi"), ["2.00"]);
    assert_eq!(values("TotaleAmmontareAnnulli"), ["10.00", "5.00"]);
    assert_eq!(values("Ammontare"), ["30.00", "5.00"]);
    assert_eq!(values("Natura"), ["N4"]);
    // Payments of the sale documents only: the card sale and the cash sale.
    assert_eq!(values("PagatoContanti"), ["24.40"]);
    assert_eq!(values("PagatoElettronico"), ["17.20"]);
    assert_eq!(values("NumeroDocCommerciali"), ["4"]);

    // The totals for the report: the collected gross per key, resi and annulli at their net
    // as the rows state them, and with neither a register on the documents nor master data
    // the matricola stands for the register.
    let z = files[0].z.as_ref().unwrap();
    let amounts = |g: &str, n: &str, t: &str| crate::export::ZAmounts {
        gross: d(g),
        net: d(n),
        tax: d(t),
    };
    assert_eq!(
        BTreeMap::from(&z.by_rate),
        BTreeMap::from([
            ("22.00".to_string(), amounts("21.96", "18.00", "3.96")),
            ("N4".to_string(), amounts("0.00", "0.00", "0.00")),
        ])
    );
    assert_eq!((z.gross, z.net, z.tax), (d("21.96"), d("18.00"), d("3.96")));
    assert_eq!((z.resi, z.annulli), (Some(d("2.00")), Some(d("15.00"))));
    assert_eq!((z.payments_total, z.cash), (d("41.60"), d("24.40")));
    assert_eq!((z.documents, z.z_nr), (4, 7));
    assert_eq!(
        (z.register.as_str(), z.device.as_deref()),
        ("99IEB000001", Some("99IEB000001"))
    );
    assert_eq!(z.business_day, chrono::NaiveDate::from_ymd_opt(2026, 3, 2));
    assert_eq!(z.file, files[0].path);
    let mut moved = files[0].clone();
    moved.set_path("rt/99IEB000001_0007.xml".into());
    assert_eq!(moved.z.unwrap().file, "rt/99IEB000001_0007.xml");
}

/// The register of a closing's totals: the documents' own, else the master data's for the RT.
#[test]
fn closing_totals_name_the_register_of_the_documents_or_of_the_master_data() {
    use crate::model::{OperationKind as K, PaymentMethod as P};
    let seal = Seal::from_master_data(&seal::demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let md = MasterData {
        rt: vec![crate::model::masterdata::RtDevice {
            serial: "99IEB000001".into(),
            register_id: "reg_md".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let sale = |z: u32| {
        document(
            "s",
            K::Sale,
            "VENDITA",
            z,
            1,
            vec![line("1.22", "0.22", None)],
            P::Cash,
        )
    };
    let mut w = Writer::new(dir.path(), Some(&md), &seal);
    let mut own = sale(1);
    own.register_id = Some("reg_doc".into());
    w.push(&own);
    w.push(&sale(2));
    let (files, _) = w.finish().unwrap();
    let registers: Vec<&str> = files
        .iter()
        .map(|f| f.z.as_ref().unwrap().register.as_str())
        .collect();
    assert_eq!(registers, ["reg_doc", "reg_md"]);
}

#[test]
fn an_annullo_of_an_unknown_document_is_left_out_and_a_line_without_natura_is_refused() {
    use crate::model::{OperationKind as K, PaymentMethod as P};
    let seal = Seal::from_master_data(&seal::demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::new(dir.path(), None, &seal);
    let mut void = document("a1", K::Void, "ANNULLO", 1, 1, Vec::new(), P::Cash);
    void.references.original_operation_id = Some("elsewhere".into());
    w.push(&void);
    let (_, skipped) = w.finish().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, "a1");

    let mut w = Writer::new(dir.path(), None, &seal);
    w.push(&document(
        "s1",
        K::Sale,
        "VENDITA",
        1,
        1,
        vec![line("5.00", "0", None)],
        P::Cash,
    ));
    let e = w.finish().unwrap_err().to_string();
    assert!(e.contains("operation s1") && e.contains("Natura"), "{e}");
}

#[test]
fn cart_discounts_are_spread_pro_rata_to_the_cent() {
    use crate::model::{CartDiscount, OperationKind};
    let mut op = crate::model::Operation::bare("s", OperationKind::Sale);
    op.lines = vec![line("10.00", "0.22", None), line("5.00", "0.10", None)];
    op.cart_discounts = vec![CartDiscount {
        id: None,
        label: None,
        code: None,
        rate: None,
        amount: d("1.00"),
    }];
    assert_eq!(allocate_cart_discounts(&op), [d("9.33"), d("4.67")]);
}

/// A nightly run goes on from the night before: an annullo takes the split of a sale sealed
/// the night before, and a document of a closing already written is left out and reported.
#[test]
fn a_resumed_writer_takes_earlier_splits_and_leaves_out_sealed_closings() {
    use crate::model::{OperationKind as K, PaymentMethod as P};
    let seal = Seal::from_master_data(&seal::demo()).unwrap();
    let night1 = tempfile::tempdir().unwrap();
    let mut w = Writer::new(night1.path(), None, &seal);
    w.push(&document(
        "s1",
        K::Sale,
        "VENDITA",
        7,
        1,
        vec![line("12.20", "0.22", None), line("5.00", "0", Some("N4"))],
        P::Card,
    ));
    let (files, _, carry) = w.finish_carry().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(carry.written["99IEB000001"], 7);
    // Through its serialised form, as the state directory keeps it.
    let carry: Carry = serde_json::from_slice(&serde_json::to_vec(&carry).unwrap()).unwrap();

    let night2 = tempfile::tempdir().unwrap();
    let mut w = Writer::resume(night2.path(), None, &seal, carry);
    let late = document(
        "s0",
        K::Sale,
        "VENDITA",
        7,
        2,
        vec![line("1.00", "0.22", None)],
        P::Cash,
    );
    let mut void = document("a1", K::Void, "ANNULLO", 8, 1, Vec::new(), P::Card);
    void.references.original_operation_id = Some("s1".into());
    w.push(&late);
    w.push(&void);
    let (files, skipped, carry) = w.finish_carry().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, "s0");
    assert!(
        skipped[0].1.contains("written by an earlier run"),
        "{}",
        skipped[0].1
    );
    assert_eq!(files.len(), 1);
    assert_eq!(carry.written["99IEB000001"], 8);
    let xml = std::fs::read_to_string(night2.path().join("99IEB000001_0008.xml")).unwrap();
    // The annullo cancels the 22 % and the N4 part of s1, as it would in one run.
    assert!(
        xml.contains("<TotaleAmmontareAnnulli>10.00</TotaleAmmontareAnnulli>"),
        "{xml}"
    );
    assert!(
        xml.contains("<TotaleAmmontareAnnulli>5.00</TotaleAmmontareAnnulli>"),
        "{xml}"
    );
}
