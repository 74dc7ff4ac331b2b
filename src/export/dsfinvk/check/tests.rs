//! The checker on a small valid export built with fiskal's own writer, then one corruption
//! per kind that must give exactly the expected finding at the expected place; and the
//! no-panic property on arbitrary bytes.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::export::dsfinvk::csv::{TableWriter, Value};
use crate::export::dsfinvk::index_xml::{DataSupplier, render};
use crate::export::dsfinvk::tables::TABLES;
use crate::regime::kassensichv::dsfinvk::{TransactionsTse, Tse, signed_log};
use crate::regime::kassensichv::logmsg::hex;
use crate::regime::kassensichv::sign::{TseCurve, TseSigner};

type Files = BTreeMap<String, Vec<u8>>;

const Z_ERSTELLUNG: &str = "2024-08-24T23:59:00+02:00";
const KASSE: &str = "K1";
const SERIENNR: &str = "SN-0001";

fn d(cents: i64) -> Value<'static> {
    Value::Dec(Decimal::new(cents, 2))
}

/// A row of `table` in column order from (column, value) pairs, closing key first.
fn row<'a>(table: &Table, z_nr: u32, vals: &[(&str, Value<'a>)]) -> Vec<Value<'a>> {
    table
        .columns
        .iter()
        .map(|c| match c.name {
            "Z_KASSE_ID" => Value::Text(KASSE),
            "Z_ERSTELLUNG" => Value::Text(Z_ERSTELLUNG),
            "Z_NR" => Value::Int(i64::from(z_nr)),
            name => vals
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Value::Empty, |(_, v)| *v),
        })
        .collect()
}

/// The signed transactions_tse value of one Vorgang.
fn signature(signer: &TseSigner, z_nr: u32, bon: &str, tanr: u32, pd: &str) -> String {
    let ta = TransactionsTse {
        z_kasse_id: KASSE.into(),
        z_erstellung: Z_ERSTELLUNG.into(),
        z_nr: z_nr.to_string(),
        bon_id: bon.into(),
        tse_id: "1".into(),
        tse_tanr: tanr.to_string(),
        tse_ta_ende: format!("2024-08-24T10:0{tanr}:40.000Z"),
        tse_ta_vorgangsart: "Kassenbeleg-V1".into(),
        tse_ta_sigz: (tanr * 2).to_string(),
        tse_ta_sig: "AAAA".into(),
        tse_vorgangsdaten: Some(pd.into()),
    };
    let log = signed_log(&ta, &tse_row(signer, z_nr), SERIENNR).unwrap();
    B64.encode(signer.sign(&log))
}

fn tse_row(signer: &TseSigner, z_nr: u32) -> Tse {
    Tse {
        z_kasse_id: KASSE.into(),
        z_erstellung: Z_ERSTELLUNG.into(),
        z_nr: z_nr.to_string(),
        tse_id: "1".into(),
        tse_serial: hex(signer.serial()),
        tse_sig_algo: signer.algorithm().name().into(),
        tse_zeitformat: "unixTime".into(),
        tse_pd_encoding: "UTF-8".into(),
        tse_public_key: B64.encode(signer.public_key()),
    }
}

fn certificate(signer: &TseSigner) -> String {
    B64.encode(signer.certificate("test TSE", "240101000000Z", "341231235959Z"))
}

const PD_CASH: &str = "Beleg^11.90_5.35_0.00_0.00_0.00^17.25:Bar";
const PD_CARD: &str = "Beleg^23.80_0.00_0.00_0.00_0.00^23.80:Unbar";

/// A valid export: per closing a cash sale with two VAT keys and a card sale, both signed.
fn export(z_nrs: &[u32]) -> Files {
    let signer = TseSigner::from_seed(TseCurve::P256, b"dsfinvk check test");
    let serial = hex(signer.serial());
    let key = B64.encode(signer.public_key());
    let cert = certificate(&signer);
    let mut rows: BTreeMap<&str, Vec<Vec<Value<'static>>>> = BTreeMap::new();
    let mut sigs = Vec::new();
    for &z in z_nrs {
        sigs.push((
            z,
            signature(&signer, z, "1", 1, PD_CASH),
            signature(&signer, z, "2", 2, PD_CARD),
        ));
    }
    let algo = signer.algorithm().name();
    for (z, sig1, sig2) in &sigs {
        let z = *z;
        let mut add = |t: &'static Table, vals: &[(&str, Value<'static>)]| {
            rows.entry(t.file).or_default().push(row(t, z, vals));
        };
        use crate::export::dsfinvk::tables::*;
        add(
            &CASHPOINTCLOSING,
            &[
                ("TAXONOMIE_VERSION", "2.4".into()),
                ("Z_START_ID", "1".into()),
                ("Z_ENDE_ID", "2".into()),
                ("NAME", "Muster GmbH".into()),
                ("STRASSE", "Weg 1".into()),
                ("PLZ", "10115".into()),
                ("ORT", "Berlin".into()),
                ("LAND", "DEU".into()),
                ("STNR", "1234567890".into()),
                ("Z_SE_ZAHLUNGEN", d(4105)),
                ("Z_SE_BARZAHLUNGEN", d(1725)),
            ],
        );
        add(
            &LOCATION,
            &[
                ("LOC_NAME", "Filiale".into()),
                ("LOC_STRASSE", "Weg 1".into()),
                ("LOC_PLZ", "10115".into()),
                ("LOC_ORT", "Berlin".into()),
                ("LOC_LAND", "DEU".into()),
            ],
        );
        add(
            &CASHREGISTER,
            &[
                ("KASSE_SERIENNR", SERIENNR.into()),
                ("KASSE_BASISWAEH_CODE", "EUR".into()),
                ("KEINE_UST_ZUORDNUNG", Value::flag(false)),
            ],
        );
        add(
            &TSE,
            &[
                ("TSE_ID", 1u32.into()),
                ("TSE_SERIAL", Value::Text(leak(&serial))),
                ("TSE_SIG_ALGO", algo.into()),
                ("TSE_ZEITFORMAT", "unixTime".into()),
                ("TSE_PD_ENCODING", "UTF-8".into()),
                ("TSE_PUBLIC_KEY", Value::Text(leak(&key))),
                ("TSE_ZERTIFIKAT_I", Value::Text(leak(&cert))),
            ],
        );
        add(
            &VAT,
            &[
                ("UST_SCHLUESSEL", 1u32.into()),
                ("UST_SATZ", d(1900)),
                ("UST_BESCHR", "Regelsteuersatz".into()),
            ],
        );
        add(
            &VAT,
            &[
                ("UST_SCHLUESSEL", 2u32.into()),
                ("UST_SATZ", d(700)),
                ("UST_BESCHR", "Ermäßigter Steuersatz".into()),
            ],
        );
        for (bon, nr, start, total) in [
            ("1", 1u32, "2024-08-24T12:00:00+02:00", 1725),
            ("2", 2, "2024-08-24T12:02:00+02:00", 2380),
        ] {
            add(
                &TRANSACTIONS,
                &[
                    ("BON_ID", bon.into()),
                    ("BON_NR", nr.into()),
                    ("BON_TYP", "Beleg".into()),
                    ("BON_STORNO", Value::flag(false)),
                    ("BON_START", start.into()),
                    ("BON_ENDE", start.into()),
                    ("BEDIENER_ID", "u1".into()),
                    ("UMS_BRUTTO", d(total)),
                    ("KUNDE_NAME", "Barverkauf".into()),
                    ("KUNDE_ID", "0".into()),
                    ("KUNDE_TYP", "Privat".into()),
                ],
            );
        }
        for (bon, k, b, n, u) in [
            ("1", 1u32, 1190, 1000, 190),
            ("1", 2, 535, 500, 35),
            ("2", 1, 2380, 2000, 380),
        ] {
            add(
                &TRANSACTIONS_VAT,
                &[
                    ("BON_ID", bon.into()),
                    ("UST_SCHLUESSEL", k.into()),
                    ("BON_BRUTTO", d(b)),
                    ("BON_NETTO", d(n)),
                    ("BON_UST", d(u)),
                ],
            );
        }
        add(
            &DATAPAYMENT,
            &[
                ("BON_ID", "1".into()),
                ("ZAHLART_TYP", "Bar".into()),
                ("ZAHLART_NAME", "Bargeld".into()),
                ("ZAHLWAEH_CODE", "EUR".into()),
                ("BASISWAEH_BETRAG", d(1725)),
            ],
        );
        add(
            &DATAPAYMENT,
            &[
                ("BON_ID", "2".into()),
                ("ZAHLART_TYP", "Kreditkarte".into()),
                ("ZAHLART_NAME", "Visa".into()),
                ("ZAHLWAEH_CODE", "EUR".into()),
                ("BASISWAEH_BETRAG", d(2380)),
            ],
        );
        for (bon, pos, text, k, b, n, u) in [
            ("1", "1", "Espresso", 1u32, 1190, 1000, 190),
            ("1", "2", "Croissant", 2, 535, 500, 35),
            ("2", "1", "Kaffeebohnen 1 kg", 1, 2380, 2000, 380),
        ] {
            add(
                &LINES,
                &[
                    ("BON_ID", bon.into()),
                    ("POS_ZEILE", pos.into()),
                    ("ARTIKELTEXT", text.into()),
                    ("GV_TYP", "Umsatz".into()),
                    ("INHAUS", Value::flag(true)),
                    ("P_STORNO", Value::flag(false)),
                    ("ART_NR", "A1".into()),
                    ("MENGE", Value::Dec(Decimal::ONE)),
                    ("STK_BR", d(b)),
                ],
            );
            add(
                &LINES_VAT,
                &[
                    ("BON_ID", bon.into()),
                    ("POS_ZEILE", pos.into()),
                    ("UST_SCHLUESSEL", k.into()),
                    ("POS_BRUTTO", d(b)),
                    ("POS_NETTO", d(n)),
                    ("POS_UST", d(u)),
                ],
            );
        }
        add(
            &BUSINESSCASES,
            &[
                ("GV_TYP", "Umsatz".into()),
                ("UST_SCHLUESSEL", 1u32.into()),
                ("Z_UMS_BRUTTO", d(3570)),
                ("Z_UMS_NETTO", d(3000)),
                ("Z_UST", d(570)),
            ],
        );
        add(
            &BUSINESSCASES,
            &[
                ("GV_TYP", "Umsatz".into()),
                ("UST_SCHLUESSEL", 2u32.into()),
                ("Z_UMS_BRUTTO", d(535)),
                ("Z_UMS_NETTO", d(500)),
                ("Z_UST", d(35)),
            ],
        );
        add(
            &PAYMENT,
            &[
                ("ZAHLART_TYP", "Bar".into()),
                ("ZAHLART_NAME", "Bargeld".into()),
                ("Z_ZAHLART_BETRAG", d(1725)),
            ],
        );
        add(
            &PAYMENT,
            &[
                ("ZAHLART_TYP", "Kreditkarte".into()),
                ("ZAHLART_NAME", "Visa".into()),
                ("Z_ZAHLART_BETRAG", d(2380)),
            ],
        );
        add(
            &CASH_PER_CURRENCY,
            &[
                ("ZAHLART_WAEH", "EUR".into()),
                ("ZAHLART_BETRAG_WAEH", d(1725)),
            ],
        );
        for (bon, tanr, pd, sig) in [("1", 1u32, PD_CASH, sig1), ("2", 2, PD_CARD, sig2)] {
            add(
                &TRANSACTIONS_TSE,
                &[
                    ("BON_ID", bon.into()),
                    ("TSE_ID", 1u32.into()),
                    ("TSE_TANR", tanr.into()),
                    (
                        "TSE_TA_START",
                        Value::Text(leak(&format!("2024-08-24T10:0{tanr}:00.000Z"))),
                    ),
                    (
                        "TSE_TA_ENDE",
                        Value::Text(leak(&format!("2024-08-24T10:0{tanr}:40.000Z"))),
                    ),
                    ("TSE_TA_VORGANGSART", "Kassenbeleg-V1".into()),
                    ("TSE_TA_SIGZ", (tanr * 2).into()),
                    ("TSE_TA_SIG", Value::Text(leak(sig))),
                    ("TSE_VORGANGSDATEN", pd.into()),
                ],
            );
        }
    }
    let mut files = Files::new();
    for t in TABLES {
        let mut w = TableWriter::new(t, Vec::new()).unwrap();
        for r in rows.get(t.file).into_iter().flatten() {
            w.write_row(r).unwrap();
        }
        files.insert(t.file.to_string(), w.finish().unwrap());
    }
    files.insert(
        super::super::DTD_FILE_NAME.into(),
        super::super::DTD.to_vec(),
    );
    files.insert(
        index_xml::FILE_NAME.into(),
        render(&DataSupplier::OFFICIAL, &TABLES).unwrap(),
    );
    files
}

/// Test data lives as long as the test binary; leaking keeps the row builder simple.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn run_dir(files: &Files) -> (Vec<Finding>, Summary) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let mut findings = Vec::new();
    let summary = check_path(dir.path(), &mut |f| findings.push(f)).unwrap();
    (findings, summary)
}

/// Replaces the `nth` (0-based) occurrence of `from` in `file`.
fn replace(files: &mut Files, file: &str, from: &str, to: &str, nth: usize) {
    let text = String::from_utf8(files[file].clone()).unwrap();
    let (pos, _) = text
        .match_indices(from)
        .nth(nth)
        .unwrap_or_else(|| panic!("{from:?} in {file}"));
    let mut out = text[..pos].to_string();
    out.push_str(to);
    out.push_str(&text[pos + from.len()..]);
    files.insert(file.to_string(), out.into_bytes());
}

/// (code, file, line, column) of every finding.
fn places(findings: &[Finding]) -> Vec<(&str, &str, Option<u64>, Option<&str>)> {
    findings
        .iter()
        .map(|f| (f.code, f.file.as_str(), f.line, f.column.as_deref()))
        .collect()
}

#[test]
fn valid_export_has_no_findings() {
    let (findings, summary) = run_dir(&export(&[1, 2]));
    assert_eq!(findings, []);
    assert_eq!(summary.closings, 2);
    assert_eq!(summary.tse_verified, 4);
    assert_eq!(summary.rows["transactions.csv"], 4);
}

#[test]
fn valid_zip_in_a_folder_has_no_findings() {
    let files = export(&[1]);
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, bytes) in &files {
        zip.start_file(
            format!("export/{name}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        io::Write::write_all(&mut zip, bytes).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let mut findings = Vec::new();
    let summary = check_zip_bytes(bytes, &mut |f| findings.push(f)).unwrap();
    assert_eq!(findings, []);
    assert_eq!(summary.tse_verified, 2);
}

fn one_corruption(edit: impl FnOnce(&mut Files)) -> Vec<Finding> {
    let mut files = export(&[1]);
    edit(&mut files);
    run_dir(&files).0
}

#[test]
fn changed_amount_breaks_reconciliation() {
    let f = one_corruption(|f| replace(f, "cash_per_currency.csv", "17,25", "17,35", 0));
    assert_eq!(
        places(&f),
        [(
            "DSF206",
            "cash_per_currency.csv",
            Some(2),
            Some("ZAHLART_BETRAG_WAEH")
        )]
    );
    assert_eq!(
        (f[0].expected.as_str(), f[0].found.as_str()),
        (
            "17,25 EUR (closing K1/2024-08-24T23:59:00+02:00/1)",
            "17,35"
        )
    );
}

#[test]
fn renamed_header_column() {
    let f = one_corruption(|f| replace(f, "lines.csv", "ARTIKELTEXT", "ARTIKEL_TEXT", 0));
    assert_eq!(
        places(&f),
        [("DSF013", "lines.csv", Some(1), Some("ARTIKELTEXT"))]
    );
    assert_eq!(f[0].found, "\"ARTIKEL_TEXT\"");
}

#[test]
fn bare_lf_names_its_line() {
    // The end of line 2 (the first Vorgang) of transactions.csv.
    let f = one_corruption(|f| replace(f, "transactions.csv", "\r\n", "\n", 1));
    assert_eq!(places(&f), [("DSF010", "transactions.csv", Some(2), None)]);
}

#[test]
fn over_long_text() {
    let f = one_corruption(|f| replace(f, "lines.csv", "Espresso", &"E".repeat(256), 0));
    assert_eq!(
        places(&f),
        [("DSF022", "lines.csv", Some(2), Some("ARTIKELTEXT"))]
    );
    assert_eq!(f[0].found, "256 characters");
}

#[test]
fn third_decimal_in_n2_column() {
    let f = one_corruption(|f| replace(f, "transactions.csv", "23,80", "23,800", 0));
    assert_eq!(
        places(&f),
        [("DSF021", "transactions.csv", Some(3), Some("UMS_BRUTTO"))]
    );
}

#[test]
fn unknown_bon_typ() {
    let f = one_corruption(|f| replace(f, "transactions.csv", ";Beleg;", ";Bleg;", 1));
    // The unknown type is reported where it is; as a consequence the Vorgang is no Beleg, so
    // the closing aggregates no longer match and the signed processData names another type.
    assert_eq!(
        places(&f)[0],
        ("DSF023", "transactions.csv", Some(3), Some("BON_TYP"))
    );
    let consequences = ["DSF202", "DSF203", "DSF303"];
    for p in &places(&f)[1..] {
        assert!(consequences.contains(&p.0), "unexpected {p:?}");
    }
    assert!(places(&f).contains(&(
        "DSF303",
        "transactions_tse.csv",
        Some(3),
        Some("TSE_VORGANGSDATEN")
    )));
}

#[test]
fn duplicate_bon_id() {
    let f = one_corruption(|f| {
        let text = String::from_utf8(f["transactions.csv"].clone()).unwrap();
        let last = text.lines().last().unwrap().to_string();
        f.insert(
            "transactions.csv".into(),
            format!("{text}{last}\r\n").into_bytes(),
        );
    });
    assert_eq!(
        places(&f),
        [("DSF101", "transactions.csv", Some(4), Some("BON_ID"))]
    );
}

#[test]
fn z_nr_gap() {
    let (f, _) = run_dir(&export(&[1, 3]));
    assert_eq!(
        places(&f),
        [("DSF210", "cashpointclosing.csv", Some(3), Some("Z_NR"))]
    );
}

#[test]
fn tampered_signature() {
    let f = one_corruption(|f| {
        let text = String::from_utf8(f["transactions_tse.csv"].clone()).unwrap();
        let line = text.lines().nth(1).unwrap();
        let sig = line.split(';').nth(10).unwrap();
        let first = if sig.starts_with('A') { "B" } else { "A" };
        let tampered = format!("{first}{}", &sig[1..]);
        replace(f, "transactions_tse.csv", sig, &tampered, 0);
    });
    assert_eq!(
        places(&f),
        [(
            "DSF301",
            "transactions_tse.csv",
            Some(2),
            Some("TSE_TA_SIG")
        )]
    );
}

#[test]
fn not_an_export_is_an_error() {
    assert!(matches!(
        check_zip_bytes(b"plain text".to_vec(), &mut |_| {}),
        Err(OpenError::NotAnExport { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        check_path(dir.path(), &mut |_| {}),
        Err(OpenError::NoIndex)
    ));
}

#[test]
fn pretix_output_has_its_known_deviations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/conformance/dsfinvk/pretix-2.4.0");
    let mut findings = Vec::new();
    let summary = check_path(&dir, &mut |f| findings.push(f)).unwrap();
    let missing: Vec<&str> = findings
        .iter()
        .filter(|f| f.code == "DSF001")
        .map(|f| f.file.as_str())
        .collect();
    // Files without rows are not written by pretix (DSFinV-K spec §9).
    assert_eq!(
        missing,
        [
            "slaves.csv",
            "pa.csv",
            "itemamounts.csv",
            "subitems.csv",
            "allocation_groups.csv",
            "references.csv"
        ]
    );
    let at = |code: &str, file: &str, line: u64, column: Option<&str>| {
        findings.iter().any(|f| {
            f.code == code
                && f.file == file
                && f.line == Some(line)
                && f.column.as_deref() == column
        })
    };
    // Thousands separators.
    assert!(at("DSF020", "transactions.csv", 2, Some("UMS_BRUTTO")));
    assert!(at("DSF020", "businesscases.csv", 2, Some("Z_UMS_BRUTTO")));
    // 16-column tse.csv against the official 11 columns.
    assert!(at("DSF013", "tse.csv", 1, None));
    assert!(at("DSF014", "tse.csv", 2, None));
    // 5 decimals in closing amounts.
    assert!(at("DSF209", "businesscases.csv", 2, Some("Z_UMS_BRUTTO")));
    // A placeholder signature cannot be replayed.
    assert!(at("DSF302", "transactions_tse.csv", 2, None));
    assert_eq!(summary.tse_verified, 0);
    // The fixture keeps only what pretix wrote; the DTD came from the caller.
    assert!(findings.iter().any(|f| f.code == "DSF009"));
    // With the grouping forgiven, the amounts themselves reconcile.
    for code in [
        "DSF102", "DSF103", "DSF104", "DSF106", "DSF202", "DSF203", "DSF204", "DSF205", "DSF206",
        "DSF207",
    ] {
        assert!(
            !summary.findings.contains_key(code),
            "{code}: {findings:#?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_zip_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
        let _ = check_zip_bytes(bytes, &mut |_| {});
    }

    #[test]
    fn arbitrary_csv_bytes_never_panic(
        file in proptest::sample::select(READ_ORDER.to_vec()),
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let mut files = export(&[1]);
        files.insert(file.to_string(), bytes);
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, b) in &files {
            zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
            io::Write::write_all(&mut zip, b).unwrap();
        }
        let _ = check_zip_bytes(zip.finish().unwrap().into_inner(), &mut |_| {});
    }
}

/// The PyPI package `dsfinvk` (pretix, DSFinV-K spec §8) as a second opinion, when
/// `FISKAL_PYPI_DSFINVK_PYTHON` names a Python that has it (`.ci/run` sets one up).
fn pypi_python() -> Option<String> {
    let python = std::env::var("FISKAL_PYPI_DSFINVK_PYTHON").ok();
    if python.is_none() {
        println!("skipped: FISKAL_PYPI_DSFINVK_PYTHON is not set");
    }
    python
}

/// Runs `python -m dsfinvk.validate DIR`: its exit status and output.
fn pypi_validate(python: &str, dir: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(python)
        .args(["-m", "dsfinvk.validate"])
        .arg(dir)
        .output()
        .expect("run the PyPI dsfinvk validator");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn pypi_validator_accepts_the_test_export() {
    let Some(python) = pypi_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &export(&[1, 2]) {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let (ok, text) = pypi_validate(&python, dir.path());
    assert!(ok, "{text}");
    // Its value complaints are printed, not returned. The only ones allowed are about 5-decimal
    // columns: it wants all 5 places written, fiskal writes amounts with two (DSFinV-K 2.2
    // §4.1, docs/dsfinvk.md "Accuracy 5").
    assert!(!text.contains("more than"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("Line ")) {
        assert!(
            line.ends_with("is not a valid decimal with 5 places"),
            "{line}"
        );
    }
}

#[test]
fn pypi_validator_sees_the_pretix_tse_csv_too() {
    let Some(python) = pypi_python() else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/conformance/dsfinvk/pretix-2.4.0");
    let (ok, text) = pypi_validate(&python, &dir);
    assert!(!ok);
    assert!(
        text.contains("tse.csv: Line 1: Row has 16 fields but index.xml defines 11 fields."),
        "{text}"
    );
}

#[test]
fn line_gross_far_from_header_is_a_v5_warning() {
    // The Croissant line's gross moves by 1,00: V5 names the transactions_vat row of key 2;
    // the lines' total then also misses UMS_BRUTTO (V6) and the closing's key-2 sum (C2).
    let f = one_corruption(|f| replace(f, "lines_vat.csv", "5,35;5,00", "6,35;5,00", 0));
    let p = places(&f);
    assert!(
        p.contains(&(
            "DSF105",
            "transactions_vat.csv",
            Some(3),
            Some("BON_BRUTTO")
        )),
        "{p:?}"
    );
    assert!(
        p.iter()
            .all(|x| ["DSF105", "DSF106", "DSF202"].contains(&x.0)),
        "{p:?}"
    );
    assert_eq!(
        f.iter().find(|x| x.code == "DSF105").unwrap().severity,
        Severity::Warning
    );
}

#[test]
fn huge_counters_do_not_overflow() {
    let mut files = export(&[1]);
    replace(
        &mut files,
        "lines.csv",
        ";1;;Espresso",
        ";18446744073709551615;;Espresso",
        0,
    );
    let (f, _) = run_dir(&files);
    assert!(places(&f).contains(&("DSF115", "lines_vat.csv", Some(2), Some("POS_ZEILE"))));
}

#[test]
fn line_gross_within_rounding_is_no_v5_finding() {
    // 0,01 off on one line: within V5's tolerance, but the lines' total misses UMS_BRUTTO (V6)
    // and the closing's key-2 sums (C2).
    let f = one_corruption(|f| replace(f, "lines_vat.csv", "5,35;5,00", "5,36;5,00", 0));
    let p = places(&f);
    assert!(!p.iter().any(|x| x.0 == "DSF105"), "{p:?}");
    assert!(
        p.contains(&("DSF106", "transactions.csv", Some(2), Some("UMS_BRUTTO"))),
        "{p:?}"
    );
}

#[test]
fn wrong_z_ende_id() {
    let f = one_corruption(|f| replace(f, "cashpointclosing.csv", ";1;2;Muster", ";1;3;Muster", 0));
    assert_eq!(
        places(&f),
        [("DSF208", "cashpointclosing.csv", Some(2), Some("Z_ENDE_ID"))]
    );
}

#[test]
fn empty_process_data_is_rebuilt_for_the_signature() {
    let f = one_corruption(|f| {
        replace(f, "transactions_tse.csv", PD_CASH, "", 0);
        replace(f, "transactions_tse.csv", PD_CARD, "", 0);
    });
    assert_eq!(f, []);
}

#[test]
fn a_terminals_vorgang_is_signed_with_the_terminal_serial() {
    // Vorgang 1 now comes from terminal T1, so the clientId is T1's serial; the signature was
    // made with the register's, so it no longer verifies.
    let f = one_corruption(|f| {
        replace(f, "transactions.csv", ";1;1;Beleg;;;", ";1;1;Beleg;;T1;", 0);
        let mut slaves = f["slaves.csv"].clone();
        slaves.extend_from_slice(format!("{KASSE};{Z_ERSTELLUNG};1;T1;;;SN-T1;;\r\n").as_bytes());
        f.insert("slaves.csv".into(), slaves);
    });
    assert_eq!(
        places(&f),
        [(
            "DSF301",
            "transactions_tse.csv",
            Some(2),
            Some("TSE_TA_SIG")
        )]
    );
}

/// One edit of one file and a finding it must produce (other consequences may follow).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    (
        &'static str,
        &'static str,
        Option<u64>,
        Option<&'static str>,
    ),
);

#[test]
fn each_corruption_reports_its_check_where_it_is() {
    let cases: &[Case] = &[
        (
            "transactions.csv",
            ";u1;",
            ";;",
            0,
            ("DSF024", "transactions.csv", Some(2), Some("BEDIENER_ID")),
        ),
        (
            "transactions.csv",
            "2024-08-24T12:00:00+02:00",
            "24.08.2024 12:00",
            0,
            ("DSF026", "transactions.csv", Some(2), Some("BON_START")),
        ),
        (
            "location.csv",
            ";DEU",
            ";DE",
            0,
            ("DSF028", "location.csv", Some(2), Some("LOC_LAND")),
        ),
        (
            "cashregister.csv",
            ";EUR;0",
            ";EUR;2",
            0,
            (
                "DSF029",
                "cashregister.csv",
                Some(2),
                Some("KEINE_UST_ZUORDNUNG"),
            ),
        ),
        (
            "vat.csv",
            "\r\n",
            "",
            2,
            ("DSF011", "vat.csv", Some(3), None),
        ),
        (
            "vat.csv",
            "Z_KASSE_ID",
            "\u{feff}Z_KASSE_ID",
            0,
            ("DSF012", "vat.csv", Some(1), None),
        ),
        (
            "lines.csv",
            "Croissant",
            "Crois\"sant",
            0,
            ("DSF015", "lines.csv", Some(3), None),
        ),
        (
            "lines.csv",
            "Umsatz;;1;0;;A1;;;;1,000;;;5,35",
            "Umsatz;;1;1;;A1;;;;1,000;;;5,35",
            0,
            ("DSF112", "lines.csv", Some(3), Some("P_STORNO")),
        ),
        (
            "vat.csv",
            "2;7,00",
            "12;7,00",
            0,
            (
                "DSF110",
                "transactions_vat.csv",
                Some(3),
                Some("UST_SCHLUESSEL"),
            ),
        ),
        (
            "location.csv",
            "Filiale",
            "Filiale;Weg 1;10115;Berlin;DEU;\r\nK1;2024-08-24T23:59:00+02:00;1;Filiale",
            0,
            ("DSF201", "location.csv", Some(3), None),
        ),
        (
            "payment.csv",
            "23,80",
            "23,90",
            0,
            (
                "DSF204",
                "cashpointclosing.csv",
                Some(2),
                Some("Z_SE_ZAHLUNGEN"),
            ),
        ),
        (
            "payment.csv",
            "17,25",
            "17,35",
            0,
            (
                "DSF205",
                "cashpointclosing.csv",
                Some(2),
                Some("Z_SE_BARZAHLUNGEN"),
            ),
        ),
        (
            "businesscases.csv",
            "35,70",
            "35,80",
            0,
            (
                "DSF207",
                "cashpointclosing.csv",
                Some(2),
                Some("Z_SE_ZAHLUNGEN"),
            ),
        ),
        (
            "transactions_vat.csv",
            "11,90;10,00;1,90",
            "11,90;10,00;1,80",
            0,
            (
                "DSF104",
                "transactions_vat.csv",
                Some(2),
                Some("BON_BRUTTO"),
            ),
        ),
        (
            "transactions.csv",
            "23,80",
            "23,70",
            0,
            ("DSF102", "transactions.csv", Some(3), Some("UMS_BRUTTO")),
        ),
        (
            "transactions.csv",
            "23,80",
            "23,70",
            0,
            ("DSF103", "transactions.csv", Some(3), Some("UMS_BRUTTO")),
        ),
        (
            "index.xml",
            "<Name>ARTIKELTEXT</Name>",
            "<Name>ARTIKEL</Name>",
            0,
            ("DSF005", "index.xml", None, Some("ARTIKELTEXT")),
        ),
        (
            "index.xml",
            "<URL>vat.csv</URL>",
            "<URL>ust.csv</URL>",
            0,
            ("DSF003", "index.xml", None, None),
        ),
        (
            "index.xml",
            "<URL>vat.csv</URL>",
            "<URL>ust.csv</URL>",
            0,
            ("DSF004", "index.xml", None, None),
        ),
        (
            "index.xml",
            "<DecimalSymbol>,</DecimalSymbol>",
            "<DecimalSymbol>.</DecimalSymbol>",
            0,
            ("DSF008", "index.xml", None, Some("DecimalSymbol")),
        ),
        (
            "index.xml",
            "<MaxLength>50</MaxLength>",
            "<MaxLength>40</MaxLength>",
            0,
            ("DSF007", "index.xml", None, Some("Z_KASSE_ID")),
        ),
        (
            "lines.csv",
            ";1;2;;Croissant",
            ";1;3;;Croissant",
            0,
            ("DSF114", "lines.csv", Some(3), Some("POS_ZEILE")),
        ),
    ];
    let base = export(&[1]);
    let mut extra = base.clone();
    extra.insert("notes.csv".into(), b"A\r\n".to_vec());
    assert_eq!(
        places(&run_dir(&extra).0),
        [("DSF002", "notes.csv", None, None)]
    );
    for (file, from, to, nth, want) in cases {
        let mut files = base.clone();
        replace(&mut files, file, from, to, *nth);
        let (f, _) = run_dir(&files);
        let p: Vec<_> = places(&f)
            .into_iter()
            .map(|(c, file, line, col)| {
                (c, file, if file == "index.xml" { None } else { line }, col)
            })
            .collect();
        assert!(
            p.contains(want),
            "{file}: {from:?} → {to:?}: want {want:?}, got {p:?}"
        );
    }
}

#[test]
fn v7_v8_v9_v11_v13() {
    let base = export(&[1]);
    let run = |edit: &dyn Fn(&mut Files)| {
        let mut files = base.clone();
        edit(&mut files);
        places(&run_dir(&files).0)
            .into_iter()
            .map(|(c, f, l, col)| (c.to_string(), f.to_string(), l, col.map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let has =
        |p: &[(String, String, Option<u64>, Option<String>)], code: &str, file: &str, line: u64| {
            p.iter()
                .any(|x| x.0 == code && x.1 == file && x.2 == Some(line))
        };
    // V7: a Beleg without payment.
    let p = run(&|f| {
        let text = String::from_utf8(f["datapayment.csv"].clone()).unwrap();
        let kept: String = text
            .split_inclusive("\r\n")
            .filter(|l| !l.contains(";2;Kreditkarte"))
            .collect();
        f.insert("datapayment.csv".into(), kept.into_bytes());
    });
    assert!(has(&p, "DSF107", "transactions.csv", 3), "{p:?}");
    // V8: AVSonstige without BON_NAME.
    let p = run(&|f| replace(f, "transactions.csv", ";Beleg;", ";AVSonstige;", 1));
    assert!(has(&p, "DSF108", "transactions.csv", 3), "{p:?}");
    // V9: a receivable settled without a reference.
    let p = run(&|f| replace(f, "lines.csv", ";Umsatz;", ";Forderungsaufloesung;", 2));
    assert!(has(&p, "DSF109", "lines.csv", 4), "{p:?}");
    // V11: key 7 without KEINE_UST_ZUORDNUNG.
    let p = run(&|f| {
        replace(f, "vat.csv", "2;7,00", "7;0,00", 0);
        replace(f, "transactions_vat.csv", ";1;2;5,35", ";1;7;5,35", 0);
    });
    assert!(has(&p, "DSF111", "transactions_vat.csv", 3), "{p:?}");
    // V13: a Vorgang without its TSE transaction.
    let p = run(&|f| {
        let text = String::from_utf8(f["transactions_tse.csv"].clone()).unwrap();
        let kept: String = text.split_inclusive("\r\n").take(2).collect();
        f.insert("transactions_tse.csv".into(), kept.into_bytes());
    });
    assert!(has(&p, "DSF113", "transactions.csv", 3), "{p:?}");
}

/// TSE_ZERTIFIKAT must certify TSE_PUBLIC_KEY: a certificate of another TSE's key, and one
/// that is not a certificate, are DSF304 on the tse.csv row; an empty one is DSF025 (info).
#[test]
fn certificate_of_another_key_is_found() {
    let base = export(&[1]);
    let ours = certificate(&TseSigner::from_seed(TseCurve::P256, b"dsfinvk check test"));
    let other = certificate(&TseSigner::from_seed(TseCurve::P256, b"another TSE"));
    for (to, want) in [
        (other.as_str(), "DSF304"),
        ("QUJD", "DSF304"),
        ("", "DSF025"),
    ] {
        let mut files = base.clone();
        replace(&mut files, "tse.csv", &ours, to, 0);
        let (f, _) = run_dir(&files);
        assert_eq!(
            places(&f),
            [(want, "tse.csv", Some(2), Some("TSE_ZERTIFIKAT_I"))],
            "{to:?}"
        );
    }
}

/// An empty "if available" Mussfeld is reported only where its row shows the data exists:
/// KUNDE_TYP beside a filled KUNDE_NAME; all three KUNDE_* empty is an anonymous sale.
#[test]
fn if_available_fields_are_judged_by_their_row() {
    let base = export(&[1]);
    let mut files = base.clone();
    replace(&mut files, "transactions.csv", ";Privat", ";", 0);
    assert_eq!(
        places(&run_dir(&files).0),
        [("DSF025", "transactions.csv", Some(2), Some("KUNDE_TYP"))]
    );
    let mut files = base.clone();
    for _ in 0..2 {
        replace(
            &mut files,
            "transactions.csv",
            ";Barverkauf;0;Privat",
            ";;;",
            0,
        );
    }
    assert_eq!(places(&run_dir(&files).0), []);
}
