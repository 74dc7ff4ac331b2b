//! The DSFinV-K export of the demo's German registers: snapshots of every table, determinism,
//! and the reconciliation rules V1–V13 / C1–C9 of the DSFinV-K spec §4 on our own output.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use fiskal::export::dsfinvk::tables::{self, TABLES, Table};
use fiskal::export::dsfinvk::{Collector, Export, Options, export};
use fiskal::model::masterdata::MasterData;
use rust_decimal::Decimal;

use crate::util::read;

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// The exports of the demo's KassenSichV registers, by register.
fn demo_exports(options: &Options) -> BTreeMap<String, Export> {
    let md = MasterData::load(&demo_dir().join("masterdata.toml")).unwrap();
    demo_exports_with(&md, options)
}

/// The exports of the demo's KassenSichV registers with master data `md`.
fn demo_exports_with(md: &MasterData, options: &Options) -> BTreeMap<String, Export> {
    let r = read(&[&demo_dir()]);
    // Spilling after 40 operations: the snapshots below are of archives built from operations
    // read back from the spill file (equal to those built in memory: `collect`'s tests).
    let spill_dir = tempfile::tempdir().unwrap();
    let mut c = Collector::spilling_after(spill_dir.path(), 40);
    for op in r.ops {
        c.push(op);
    }
    assert!(c.spilled());
    let collected = c.finish();
    collected
        .registers
        .into_iter()
        .map(|g| {
            let reg = g.register.clone();
            let ops = collected.spill.load(g).unwrap();
            let e = export(&reg, &ops, md, options).unwrap().unwrap();
            (reg, e)
        })
        .collect()
}

#[test]
fn demo_export_tables() {
    let exports = demo_exports(&Options::default());
    assert_eq!(
        exports.keys().collect::<Vec<_>>(),
        ["reg_de_01", "reg_de_02"]
    );
    for (reg, e) in &exports {
        for t in TABLES {
            let csv = String::from_utf8(e.csv(t).unwrap()).unwrap();
            insta::assert_snapshot!(format!("dsfinvk_{reg}_{}", t.file), csv);
        }
    }
}

/// index.xml of the demo export: the official file with the merchant as DataSupplier.
#[test]
fn demo_export_index_xml() {
    let exports = demo_exports(&Options::default());
    let e = &exports["reg_de_01"];
    let xml = String::from_utf8(e.index_xml().unwrap()).unwrap();
    let head: String = xml.lines().take(12).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!("dsfinvk_index_xml_head", head);
    let official = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/dsfinvk/index.xml"),
    )
    .unwrap();
    // Everything after DataSupplier is the official file.
    let tail = |s: &str| s[s.find("</DataSupplier>").unwrap()..].to_string();
    assert_eq!(tail(&xml), tail(&official));
}

/// Same input, same bytes: the archive does not depend on the clock or on run order.
#[test]
fn demo_export_is_deterministic() {
    let a = demo_exports(&Options::default());
    let b = demo_exports(&Options::default());
    for (reg, e) in &a {
        let (za, zb) = (e.to_zip().unwrap(), b[reg].to_zip().unwrap());
        assert!(za == zb, "{reg}: two runs gave different archives");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(za)).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        let mut want: Vec<String> = TABLES.iter().map(|t| t.file.to_string()).collect();
        want.push("index.xml".into());
        want.push("gdpdu-01-09-2004.dtd".into());
        assert_eq!(names, want);
    }
    assert_eq!(
        a["reg_de_01"].file_name(),
        "reg_de_01_2026-03-02_2026-03-03.zip"
    );
}

/// A table's rows as column name → cell text maps.
fn table_rows(e: &Export, t: &Table) -> Vec<HashMap<&'static str, String>> {
    e.rows(t)
        .iter()
        .map(|r| {
            t.columns
                .iter()
                .zip(r)
                .map(|(c, cell)| (c.name, cell.text()))
                .collect()
        })
        .collect()
}

fn dec(s: &str) -> Decimal {
    if s.is_empty() {
        Decimal::ZERO
    } else {
        s.parse().unwrap()
    }
}

type Zk = (String, String, String);

fn zk(r: &HashMap<&'static str, String>) -> Zk {
    (
        r["Z_KASSE_ID"].clone(),
        r["Z_ERSTELLUNG"].clone(),
        r["Z_NR"].clone(),
    )
}

/// Sums `value` of `rows` grouped by `key`.
fn sums<K: Ord>(
    rows: &[HashMap<&'static str, String>],
    filter: impl Fn(&HashMap<&'static str, String>) -> bool,
    key: impl Fn(&HashMap<&'static str, String>) -> K,
    value: &str,
) -> BTreeMap<K, Decimal> {
    let mut out = BTreeMap::new();
    for r in rows.iter().filter(|r| filter(r)) {
        *out.entry(key(r)).or_insert(Decimal::ZERO) += dec(&r[value]);
    }
    out
}

/// The reconciliation rules of the DSFinV-K spec §4 (V1–V13 per Vorgang, C1–C9 per closing)
/// hold on the demo export, checked directly on the rows.
#[test]
fn demo_export_reconciles() {
    let r = read(&[&demo_dir()]);
    for (reg, e) in demo_exports(&Options::default()) {
        let tx = table_rows(&e, &tables::TRANSACTIONS);
        let tvat = table_rows(&e, &tables::TRANSACTIONS_VAT);
        let pay = table_rows(&e, &tables::DATAPAYMENT);
        let lines = table_rows(&e, &tables::LINES);
        let lvat = table_rows(&e, &tables::LINES_VAT);
        let refs = table_rows(&e, &tables::REFERENCES);
        let ttse = table_rows(&e, &tables::TRANSACTIONS_TSE);
        let tse = table_rows(&e, &tables::TSE);
        let vat = table_rows(&e, &tables::VAT);
        let cpc = table_rows(&e, &tables::CASHPOINTCLOSING);
        let reg_rows = table_rows(&e, &tables::CASHREGISTER);
        let bc = table_rows(&e, &tables::BUSINESSCASES);
        let zp = table_rows(&e, &tables::PAYMENT);
        let cash = table_rows(&e, &tables::CASH_PER_CURRENCY);
        let bon = |r: &HashMap<&'static str, String>| (zk(r), r["BON_ID"].clone());
        let bon_typ: HashMap<(Zk, String), String> =
            tx.iter().map(|r| (bon(r), r["BON_TYP"].clone())).collect();
        let is_beleg = |r: &HashMap<&'static str, String>| bon_typ[&bon(r)] == "Beleg";
        // V1
        assert_eq!(
            bon_typ.len(),
            tx.len(),
            "{reg}: V1 BON_ID unique per closing"
        );
        let mut pos: BTreeMap<(Zk, String), Vec<u32>> = BTreeMap::new();
        for l in &lines {
            pos.entry(bon(l))
                .or_default()
                .push(l["POS_ZEILE"].parse().unwrap());
        }
        for (b, p) in &pos {
            assert_eq!(
                *p,
                (1..=p.len() as u32).collect::<Vec<_>>(),
                "{reg}: V1 {b:?}"
            );
        }
        let vat_per_bon = sums(&tvat, |_| true, bon, "BON_BRUTTO");
        let pay_per_bon = sums(&pay, |_| true, bon, "BASISWAEH_BETRAG");
        let lines_per_bon = sums(&lvat, |_| true, bon, "POS_BRUTTO");
        for t in &tx {
            let b = bon(t);
            let ums = dec(&t["UMS_BRUTTO"]);
            let zero = Decimal::ZERO;
            // V2, V6
            assert_eq!(
                ums,
                *vat_per_bon.get(&b).unwrap_or(&zero),
                "{reg}: V2 {b:?}"
            );
            assert_eq!(
                ums,
                *lines_per_bon.get(&b).unwrap_or(&zero),
                "{reg}: V6 {b:?}"
            );
            match t["BON_TYP"].as_str() {
                "Beleg" => {
                    // V3, V7
                    assert_eq!(ums, pay_per_bon[&b], "{reg}: V3 {b:?}");
                    assert!(pos.contains_key(&b), "{reg}: V7 Beleg without lines {b:?}");
                }
                "AVTraining" | "AVBelegabbruch" | "AVSachbezug" => {
                    assert!(!pay_per_bon.contains_key(&b), "{reg}: V7 paid {b:?}");
                }
                // V8
                "AVSonstige" => assert!(!t["BON_NAME"].is_empty(), "{reg}: V8"),
                _ => {}
            }
        }
        for v in &tvat {
            // V4
            assert_eq!(
                dec(&v["BON_BRUTTO"]),
                dec(&v["BON_NETTO"]) + dec(&v["BON_UST"]),
                "{reg}: V4"
            );
        }
        // V5
        let tvat_key = sums(
            &tvat,
            |_| true,
            |r| (bon(r), r["UST_SCHLUESSEL"].clone()),
            "BON_BRUTTO",
        );
        let lvat_key = sums(
            &lvat,
            |_| true,
            |r| (bon(r), r["UST_SCHLUESSEL"].clone()),
            "POS_BRUTTO",
        );
        assert_eq!(tvat_key, lvat_key, "{reg}: V5");
        // V9
        for l in &lines {
            if l["GV_TYP"].ends_with("aufloesung") {
                assert!(refs.iter().any(|r| bon(r) == bon(l)), "{reg}: V9");
            }
        }
        for r in &refs {
            let filled = ["REF_DATUM", "REF_Z_KASSE_ID", "REF_Z_NR"].map(|c| !r[c].is_empty());
            let want = r["REF_TYP"] == "Transaktion";
            assert_eq!(filled, [want; 3], "{reg}: V9 {r:?}");
            assert!(!r["REF_BON_ID"].is_empty());
        }
        // V10
        let vat_keys: BTreeSet<(Zk, String)> = vat
            .iter()
            .map(|r| (zk(r), r["UST_SCHLUESSEL"].clone()))
            .collect();
        for r in lvat.iter().chain(&tvat).chain(&bc) {
            assert!(
                vat_keys.contains(&(zk(r), r["UST_SCHLUESSEL"].clone())),
                "{reg}: V10"
            );
        }
        let tse_ids: BTreeSet<(Zk, String)> =
            tse.iter().map(|r| (zk(r), r["TSE_ID"].clone())).collect();
        for r in &ttse {
            assert!(
                tse_ids.contains(&(zk(r), r["TSE_ID"].clone())),
                "{reg}: V10 TSE"
            );
        }
        // V11
        for r in &lvat {
            if r["UST_SCHLUESSEL"] == "7" {
                assert!(
                    reg_rows
                        .iter()
                        .any(|c| zk(c) == zk(r) && c["KEINE_UST_ZUORDNUNG"] == "1")
                );
            }
        }
        // V12
        assert!(lines.iter().all(|l| l["P_STORNO"] != "1"), "{reg}: V12");
        // V13: every signed operation has its TSE transaction, whose processData agrees
        // with the Vorgang's type, amounts and payments.
        let signed = r
            .ops
            .iter()
            .filter(|o| o.register_id.as_deref() == Some(reg.as_str()) && o.fiscal.is_some())
            .count();
        assert_eq!(ttse.len(), signed, "{reg}: V13 TSE rows");
        for t in &ttse {
            let b = bon(t);
            let pd = &t["TSE_VORGANGSDATEN"];
            assert_eq!(t["TSE_TA_VORGANGSART"], "Kassenbeleg-V1");
            let parts: Vec<&str> = pd.split('^').collect();
            assert_eq!(parts[0], bon_typ[&b], "{reg}: V13 {b:?}");
            if parts[0] == "Beleg" {
                let slots: Decimal = parts[1].split('_').map(dec).sum();
                let tx_row = tx.iter().find(|x| bon(x) == b).unwrap();
                assert_eq!(slots, dec(&tx_row["UMS_BRUTTO"]), "{reg}: V13 slots {b:?}");
                let paid: Decimal = parts[2]
                    .split('_')
                    .filter(|p| !p.is_empty())
                    .map(|p| dec(p.split(':').next().unwrap()))
                    .sum();
                assert_eq!(paid, pay_per_bon[&b], "{reg}: V13 payments {b:?}");
            }
        }
        // C1
        let closings: BTreeSet<Zk> = tx.iter().map(zk).collect();
        for table in [&cpc, &table_rows(&e, &tables::LOCATION), &reg_rows] {
            let keys: Vec<Zk> = table.iter().map(zk).collect();
            assert_eq!(
                keys.iter().cloned().collect::<BTreeSet<_>>(),
                closings,
                "{reg}: C1"
            );
            assert_eq!(keys.len(), closings.len(), "{reg}: C1");
        }
        for c in &closings {
            assert!(vat.iter().any(|r| zk(r) == *c), "{reg}: C1 vat");
            let n = |t: &[HashMap<&'static str, String>]| t.iter().filter(|r| zk(r) == *c).count();
            assert!(
                n(&bc) > 0 && n(&zp) > 0 && n(&cash) > 0,
                "{reg}: C1 aggregates"
            );
        }
        // C2
        let line_sums = |col| {
            sums(
                &lvat,
                |r| is_beleg(r),
                |r| {
                    let l = lines
                        .iter()
                        .find(|l| bon(l) == bon(r) && l["POS_ZEILE"] == r["POS_ZEILE"])
                        .unwrap();
                    (zk(r), l["GV_TYP"].clone(), r["UST_SCHLUESSEL"].clone())
                },
                col,
            )
        };
        for (bc_col, l_col) in [
            ("Z_UMS_BRUTTO", "POS_BRUTTO"),
            ("Z_UMS_NETTO", "POS_NETTO"),
            ("Z_UST", "POS_UST"),
        ] {
            let got = sums(
                &bc,
                |_| true,
                |r| (zk(r), r["GV_TYP"].clone(), r["UST_SCHLUESSEL"].clone()),
                bc_col,
            );
            assert_eq!(got, line_sums(l_col), "{reg}: C2 {bc_col}");
        }
        // C3
        let key = |r: &HashMap<&'static str, String>| {
            (zk(r), r["ZAHLART_TYP"].clone(), r["ZAHLART_NAME"].clone())
        };
        assert_eq!(
            sums(&zp, |_| true, key, "Z_ZAHLART_BETRAG"),
            sums(&pay, |r| is_beleg(r), key, "BASISWAEH_BETRAG"),
            "{reg}: C3"
        );
        for c in &cpc {
            let k = zk(c);
            let total: Decimal = zp
                .iter()
                .filter(|r| zk(r) == k)
                .map(|r| dec(&r["Z_ZAHLART_BETRAG"]))
                .sum();
            let bar: Decimal = zp
                .iter()
                .filter(|r| zk(r) == k && r["ZAHLART_TYP"] == "Bar")
                .map(|r| dec(&r["Z_ZAHLART_BETRAG"]))
                .sum();
            // C4, C5
            assert_eq!(dec(&c["Z_SE_ZAHLUNGEN"]), total, "{reg}: C4");
            assert_eq!(dec(&c["Z_SE_BARZAHLUNGEN"]), bar, "{reg}: C5");
            // C6 (base currency only in the demo)
            let cash_sum: Decimal = cash
                .iter()
                .filter(|r| zk(r) == k)
                .map(|r| dec(&r["ZAHLART_BETRAG_WAEH"]))
                .sum();
            assert_eq!(cash_sum, bar, "{reg}: C6");
            // C7
            let bc_sum: Decimal = bc
                .iter()
                .filter(|r| zk(r) == k)
                .map(|r| dec(&r["Z_UMS_BRUTTO"]))
                .sum();
            assert_eq!(bc_sum, total, "{reg}: C7");
            // C8
            let ids: Vec<&String> = tx
                .iter()
                .filter(|r| zk(r) == k)
                .map(|r| &r["BON_ID"])
                .collect();
            assert_eq!(&c["Z_START_ID"], ids[0], "{reg}: C8");
            assert_eq!(&c["Z_ENDE_ID"], *ids.last().unwrap(), "{reg}: C8");
        }
        let nrs: Vec<String> = cpc.iter().map(|c| c["Z_NR"].clone()).collect();
        let want: Vec<String> = (1..=nrs.len()).map(|i| i.to_string()).collect();
        assert_eq!(nrs, want, "{reg}: C8 Z_NR");
        // C9: closing amounts as written have two decimals.
        for (t, cols) in [
            (
                &tables::CASHPOINTCLOSING,
                &["Z_SE_ZAHLUNGEN", "Z_SE_BARZAHLUNGEN"][..],
            ),
            (
                &tables::BUSINESSCASES,
                &["Z_UMS_BRUTTO", "Z_UMS_NETTO", "Z_UST"][..],
            ),
            (&tables::PAYMENT, &["Z_ZAHLART_BETRAG"][..]),
            (&tables::CASH_PER_CURRENCY, &["ZAHLART_BETRAG_WAEH"][..]),
        ] {
            let csv = String::from_utf8(e.csv(t).unwrap()).unwrap();
            let mut rows = csv.lines();
            let header: Vec<&str> = rows.next().unwrap().split(';').collect();
            for row in rows {
                let f: Vec<&str> = row.split(';').collect();
                for col in cols {
                    let v = f[header.iter().position(|h| h == col).unwrap()];
                    let (_, frac) = v.split_once(',').unwrap();
                    assert_eq!(frac.len(), 2, "{reg}: C9 {col} {v}");
                }
            }
        }
    }
}

/// `fiskal export dsfinvk`: exit 0 and one JSON object per archive; exit 2 without master
/// data for a register being exported; exit 1 when a record was rejected.
#[test]
fn export_command_exit_codes() {
    let w = crate::util::Workdir::new();
    let out = w.path("out");
    let assert = crate::util::fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["export", "dsfinvk", "fixtures/demo", "--json", "--out"])
        .arg(&out)
        .assert()
        .code(0);
    let lines = crate::util::json_lines(assert.get_output().stdout.clone());
    let archives: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "archive").collect();
    assert_eq!(archives.len(), 2);
    assert_eq!(archives[0]["register"], "reg_de_01");
    assert_eq!(archives[0]["closings"], 2);
    for a in &archives {
        assert!(Path::new(a["path"].as_str().unwrap()).is_file());
    }
    assert!(out.join("reg_de_02_2026-03-02_2026-03-03.zip").is_file());

    // Master data without the German registers: the Stamm tables cannot be filled.
    let md = MasterData::load(&demo_dir().join("masterdata.toml")).unwrap();
    let mut partial = md.clone();
    partial.registers.retain(|r| r.id != "reg_de_02");
    let md_path = w.write("md.toml", partial.to_toml());
    crate::util::fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "export",
            "dsfinvk",
            "fixtures/demo/reg_de_02.ndjson",
            "--out",
        ])
        .arg(w.path("out2"))
        .arg("--master-data")
        .arg(&md_path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "register reg_de_02: no master data",
        ));

    // A rejected record next to a good history: archives written, exit 1.
    let bad = w.write("bad.ndjson", "not json\n");
    crate::util::fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["export", "dsfinvk", "fixtures/demo/reg_de_01.ndjson"])
        .arg(&bad)
        .arg("--master-data")
        .arg(demo_dir().join("masterdata.toml"))
        .arg("--out")
        .arg(w.path("out3"))
        .assert()
        .code(1);
    assert!(w.path("out3/reg_de_01_2026-03-02_2026-03-03.zip").is_file());
}

/// The cut-off hour decides the business day of register-shape operations; a closing made on
/// a later date than the day it books states that day in Z_BUCHUNGSTAG.
#[test]
fn cutoff_hour_shifts_business_days() {
    let at0 = demo_exports(&Options { cutoff_hour: 0 });
    let at9 = demo_exports(&Options { cutoff_hour: 9 });
    let e0 = &at0["reg_de_01"];
    let e9 = &at9["reg_de_01"];
    // Register shape: the first operations of 2026-03-02 (before 09:00) now belong to
    // 2026-03-01, which becomes a closing of its own.
    assert_eq!(
        (e0.n_closings, e0.first_day.to_string()),
        (2, "2026-03-02".into())
    );
    assert_eq!(e9.first_day.to_string(), "2026-03-01");
    assert_eq!(e9.n_closings, 3);
    let first = &e9.rows(&tables::CASHPOINTCLOSING)[0];
    assert!(first[1].text().starts_with("2026-03-02T"), "{first:?}");
    assert_eq!(first[3].text(), "2026-03-01");
    assert_eq!(e0.rows(&tables::CASHPOINTCLOSING)[0][3].text(), "");
    // Session shape: closings follow the sessions whatever the cut-off.
    assert_eq!(at9["reg_de_02"].n_closings, 2);
}

/// The demo export through `fiskal verify dsfinvk`'s checks: every signature replays (the
/// session records that book into the till, opening float included, are TSE-secured too),
/// every reconciliation holds, and nothing is reported at all.
#[test]
fn demo_export_passes_the_export_checks() {
    use fiskal::export::dsfinvk::check::check_zip_bytes;
    for (reg, e) in demo_exports(&Options::default()) {
        let mut found = Vec::new();
        let summary = check_zip_bytes(e.to_zip().unwrap(), &mut |f| {
            found.push((f.code, f.file, f.line, f.column, f.expected));
        })
        .unwrap();
        assert!(summary.tse_verified > 20, "{reg}: {summary:?}");
        assert_eq!(
            summary.tse_verified, e.n_vorgaenge,
            "{reg}: every Vorgang is signed"
        );
        assert!(found.is_empty(), "{reg}: {found:#?}");
    }
}

/// The PyPI `dsfinvk` validator (pretix) accepts the demo export; the only remarks it prints
/// are about 5-decimal columns written with two (DSFinV-K 2.2 §4.1, docs/dsfinvk.md). Needs
/// `FISKAL_PYPI_DSFINVK_PYTHON` (set by `.ci/run`); skipped without it.
#[test]
fn demo_export_passes_the_pypi_validator() {
    let Ok(python) = std::env::var("FISKAL_PYPI_DSFINVK_PYTHON") else {
        println!("skipped: FISKAL_PYPI_DSFINVK_PYTHON is not set");
        return;
    };
    for (reg, e) in demo_exports(&Options::default()) {
        pypi_validate(&python, &reg, &e);
    }
}

/// Runs the PyPI validator on `e`: it must succeed, say something, and remark only on
/// 5-decimal columns.
fn pypi_validate(python: &str, reg: &str, e: &Export) {
    let dir = tempfile::tempdir().unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(e.to_zip().unwrap())).unwrap();
    zip.extract(dir.path()).unwrap();
    let out = std::process::Command::new(python)
        .args(["-m", "dsfinvk.validate"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{reg}: {text}");
    let remarks: Vec<&str> = text.lines().filter(|l| l.starts_with("Line ")).collect();
    assert!(
        !remarks.is_empty(),
        "{reg}: the validator said nothing: {text}"
    );
    for line in remarks {
        assert!(
            line.ends_with("is not a valid decimal with 5 places"),
            "{reg}: {line}"
        );
    }
    assert!(
        !text.contains("not found") && !text.contains("fields but"),
        "{reg}: {text}"
    );
}

/// A certificate longer than 2000 characters continues in TSE_ZERTIFIKAT_III, _IV …
/// (1000 characters each, DSFinV-K 2.2 §3.2.7 and Anhang E 7): tse.csv gains the columns,
/// index.xml declares them, the parts join to the certificate, and the export still passes
/// every check, the certificate's key included.
#[test]
fn long_certificates_continue_in_further_columns() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use fiskal::export::dsfinvk::check::check_zip_bytes;
    use fiskal::export::dsfinvk::tables::TSE;
    use fiskal::regime::kassensichv::sign::{TseCurve, TseSigner};

    let mut md = MasterData::load(&demo_dir().join("masterdata.toml")).unwrap();
    // A manufacturer CA issues each demo TSE a certificate with a long subject, as chains of
    // organisation names and policies make real ones: over 2,000 Base64 characters.
    let ca = TseSigner::from_seed(TseCurve::P256, b"test manufacturer CA");
    let mut certs = Vec::new();
    for tse in &mut md.tse {
        let key = B64.decode(&tse.public_key).unwrap();
        let curve = if key.len() == 65 {
            TseCurve::P256
        } else {
            TseCurve::BrainpoolP384r1
        };
        let subject = format!(
            "TSE {} {}",
            tse.serial,
            "Kassensicherungsverordnung ".repeat(50)
        );
        let der = ca.issue(
            "Test TSE CA",
            &subject,
            (curve, &key),
            ("250101000000Z", "341231235959Z"),
        );
        let cert = B64.encode(der);
        assert!((2001..3000).contains(&cert.len()), "{}", cert.len());
        tse.certificate = Some(cert.clone());
        certs.push(cert);
    }
    for (reg, e) in demo_exports_with(&md, &Options::default()) {
        let tse = String::from_utf8(e.csv(&TSE).unwrap()).unwrap();
        let mut lines = tse.split("\r\n");
        let header: Vec<&str> = lines.next().unwrap().split(';').collect();
        assert_eq!(header.len(), TSE.columns.len() + 1, "{reg}: {header:?}");
        assert_eq!(header.last(), Some(&"TSE_ZERTIFIKAT_III"));
        let rows: Vec<Vec<&str>> = lines
            .filter(|l| !l.is_empty())
            .map(|l| l.split(';').collect())
            .collect();
        assert!(!rows.is_empty());
        for row in &rows {
            let parts = &row[row.len() - 3..];
            assert_eq!(parts[0].chars().count(), 1000);
            assert_eq!(parts[1].chars().count(), 1000);
            assert!(
                certs.contains(&parts.concat()),
                "{reg}: parts do not join to a certificate"
            );
        }
        let xml = String::from_utf8(e.index_xml().unwrap()).unwrap();
        let declared = xml
            .split("<Name>TSE_ZERTIFIKAT_III</Name>")
            .nth(1)
            .and_then(|rest| rest.split("</VariableColumn>").next())
            .unwrap_or_default();
        assert!(
            declared.contains("<AlphaNumeric />")
                && declared.contains("<MaxLength>1000</MaxLength>"),
            "{reg}: index.xml does not declare TSE_ZERTIFIKAT_III"
        );
        let mut found = Vec::new();
        let summary = check_zip_bytes(e.to_zip().unwrap(), &mut |f| {
            found.push((f.code, f.file, f.line, f.column, f.expected));
        })
        .unwrap();
        assert_eq!(summary.tse_verified, e.n_vorgaenge, "{reg}");
        assert!(found.is_empty(), "{reg}: {found:#?}");
        // The PyPI validator reads the widened table through index.xml too.
        if let Ok(python) = std::env::var("FISKAL_PYPI_DSFINVK_PYTHON") {
            pypi_validate(&python, &reg, &e);
        }
    }
}

/// DSFinV-K CSV text split into records of fields: `;` between fields, CRLF after records,
/// `"` around a field that needs it and doubled inside. Written here, not taken from the
/// exporter, so that the totals are checked against the file and not against themselves.
fn parse_dsfinvk_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ';' if !quoted => record.push(std::mem::take(&mut field)),
            '\r' if !quoted && chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "last record without CRLF"
    );
    records
}

/// One table of the zip as rows of header name → value.
fn zip_table(
    zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>,
    file: &str,
) -> Vec<HashMap<String, String>> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(file).unwrap(), &mut text).unwrap();
    let mut records = parse_dsfinvk_csv(&text).into_iter();
    let header = records.next().unwrap();
    records
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{file}: {r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}

/// A DSFinV-K number (decimal comma) as a Decimal.
fn comma(s: &str) -> Decimal {
    s.replace(',', ".").parse().unwrap()
}

/// The closing totals each written archive carries are the figures of its cashpointclosing,
/// businesscases (the UST key's rate from its vat.csv) and transactions tables, read here
/// from the zip on disk; every rate's gross is its net plus tax.
#[test]
fn z_totals_are_what_the_written_archives_state() {
    use fiskal::cli::export::dsfinvk::write_all;
    use fiskal::export::{ZAmounts, ZTotals};
    let md = MasterData::load(&demo_dir().join("masterdata.toml")).unwrap();
    let mut c = Collector::default();
    for op in read(&[&demo_dir()]).ops {
        c.push(op);
    }
    let w = crate::util::Workdir::new();
    let dir = w.path("dsfinvk");
    std::fs::create_dir_all(&dir).unwrap();
    let archives = write_all(c.finish(), &md, &Options::default(), &dir).unwrap();
    assert_eq!(archives.len(), 2);
    for a in &archives {
        assert_eq!(a.z.len(), a.closings, "{}", a.register);
        let bytes = std::fs::read(&a.path).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let closings = zip_table(&mut zip, "cashpointclosing.csv");
        let cases = zip_table(&mut zip, "businesscases.csv");
        let transactions = zip_table(&mut zip, "transactions.csv");
        let vat = zip_table(&mut zip, "vat.csv");
        let want: Vec<ZTotals> = closings
            .iter()
            .map(|cl| {
                let z_nr = &cl["Z_NR"];
                let rate: HashMap<&str, String> = vat
                    .iter()
                    .filter(|v| &v["Z_NR"] == z_nr)
                    .map(|v| {
                        (
                            v["UST_SCHLUESSEL"].as_str(),
                            v["UST_SATZ"].replace(',', "."),
                        )
                    })
                    .collect();
                let mut by_rate: BTreeMap<String, ZAmounts> = BTreeMap::new();
                for b in cases.iter().filter(|b| &b["Z_NR"] == z_nr) {
                    let e = by_rate
                        .entry(rate[b["UST_SCHLUESSEL"].as_str()].clone())
                        .or_default();
                    e.gross += comma(&b["Z_UMS_BRUTTO"]);
                    e.net += comma(&b["Z_UMS_NETTO"]);
                    e.tax += comma(&b["Z_UST"]);
                }
                let day = match cl["Z_BUCHUNGSTAG"].as_str() {
                    "" => &cl["Z_ERSTELLUNG"][..10],
                    d => d,
                };
                ZTotals {
                    format: "dsfinvk",
                    register: cl["Z_KASSE_ID"].clone(),
                    device: None,
                    z_nr: z_nr.parse().unwrap(),
                    business_day: Some(day.parse().unwrap()),
                    gross: by_rate.values().map(|x| x.gross).sum(),
                    net: by_rate.values().map(|x| x.net).sum(),
                    tax: by_rate.values().map(|x| x.tax).sum(),
                    by_rate: by_rate.into(),
                    payments_total: comma(&cl["Z_SE_ZAHLUNGEN"]),
                    cash: comma(&cl["Z_SE_BARZAHLUNGEN"]),
                    documents: transactions.iter().filter(|t| &t["Z_NR"] == z_nr).count() as u64,
                    resi: None,
                    annulli: None,
                    file: a.path.clone(),
                }
            })
            .collect();
        assert_eq!(a.z, want, "{}", a.register);
        for z in &a.z {
            assert!(!z.by_rate.is_empty(), "{} Z {}", z.register, z.z_nr);
            for (rate, x) in &z.by_rate {
                assert_eq!(x.gross, x.net + x.tax, "{} Z {} {rate}", z.register, z.z_nr);
            }
            // In the demo every booking is paid, so the closing's turnover is its payments.
            assert_eq!(z.gross, z.payments_total, "{} Z {}", z.register, z.z_nr);
        }
        // summary.json and --json list the archive without the totals.
        let json = serde_json::to_value(a).unwrap();
        assert!(json.get("z").is_none(), "{json}");
    }
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let amounts = |g: &str, n: &str, t: &str| ZAmounts {
        gross: d(g),
        net: d(n),
        tax: d(t),
    };
    let z1 = &archives[0].z[0];
    assert_eq!(
        (z1.register.as_str(), z1.z_nr, z1.business_day),
        ("reg_de_01", 1, chrono::NaiveDate::from_ymd_opt(2026, 3, 2))
    );
    assert_eq!(
        BTreeMap::from(&z1.by_rate),
        BTreeMap::from([
            ("0.00".to_string(), amounts("39.24", "39.24", "0.00")),
            ("19.00".to_string(), amounts("30.27", "25.44", "4.83")),
            ("7.00".to_string(), amounts("50.86", "47.52", "3.34")),
        ])
    );
    assert_eq!(
        (z1.gross, z1.net, z1.tax),
        (d("120.37"), d("112.20"), d("8.17"))
    );
    assert_eq!((z1.payments_total, z1.cash), (d("120.37"), d("0.00")));
    assert_eq!(z1.documents, 14);
    let z = &archives[1].z[1];
    assert_eq!((z.z_nr, z.cash, z.documents), (2, d("159.18"), 14));
    assert!(
        z.file.ends_with("reg_de_02_2026-03-02_2026-03-03.zip"),
        "{}",
        z.file
    );
}

/// A closing that books an earlier day than it was made on takes that day from
/// Z_BUCHUNGSTAG.
#[test]
fn z_totals_take_the_business_day_from_z_buchungstag() {
    let at9 = demo_exports(&Options { cutoff_hour: 9 });
    let z = at9["reg_de_01"].z_totals();
    assert_eq!(z.len(), 3);
    assert_eq!(
        z[0].business_day,
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
    );
    assert_eq!(z[0].file, "");
    assert_eq!(
        z.iter().map(|z| z.documents).sum::<u64>(),
        at9["reg_de_01"].n_vorgaenge as u64
    );
}
