//! `fiskal export rt` on the demo: one sealed COR10 XML per RT and daily closing, valid
//! against the AdE schema (xmllint), its seal verified by xmlsec1, its totals those of the
//! documents, the same bytes every run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use rust_decimal::Decimal;

use crate::util::{Workdir, fiskal, json_lines, read};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

fn export(input: &Path, out: &Path) -> Vec<serde_json::Value> {
    let o = fiskal()
        .args(["export", "rt", "--json", "--out"])
        .arg(out)
        .arg(input)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    json_lines(o)
        .into_iter()
        .filter(|v| v["type"] == "rt_closing")
        .collect()
}

fn field(xml: &str, name: &str) -> Vec<Decimal> {
    let open = format!("<{name}>");
    xml.split(&open)
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].parse().unwrap())
        .collect()
}

/// Whether the XML tools must be there (CI sets FISKAL_XML_TOOLS=1 after installing them);
/// elsewhere a missing tool skips its check with a note.
fn tool(name: &str) -> bool {
    let there = Command::new(name).arg("--version").output().is_ok();
    if !there {
        assert!(
            std::env::var_os("FISKAL_XML_TOOLS").is_none(),
            "{name} is required (FISKAL_XML_TOOLS is set) but not installed"
        );
        eprintln!("{name} not installed: check skipped");
    }
    there
}

#[test]
fn demo_closings_match_their_documents_and_are_stable() {
    let w = Workdir::new();
    let files = export(&demo(), &w.path("a"));
    let ids: Vec<(String, u64)> = files
        .iter()
        .map(|f| {
            (
                f["rt_serial"].as_str().unwrap().to_string(),
                f["daily_closing_number"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("72IMA856946".to_string(), 250),
            ("72IMA856946".to_string(), 251),
            ("99IEB409160".to_string(), 383),
            ("99IEB409160".to_string(), 384)
        ]
    );
    // Read back through the verifier: valid, no findings.
    for f in &files {
        assert_eq!(f["valid"], true, "{f}");
        assert_eq!(f["findings"], serde_json::json!({}), "{f}");
    }
    // Independently of the exporter: per closing, the documents and what was paid on the
    // sale documents (rt.md §1.4).
    let ops = read(&[&demo()]).ops;
    for f in &files {
        let (serial, z) = (
            f["rt_serial"].as_str().unwrap(),
            f["daily_closing_number"].as_u64().unwrap(),
        );
        let docs: Vec<_> = ops
            .iter()
            .filter(|o| match &o.fiscal {
                Some(fiskal::model::Fiscal::Rt(r)) => {
                    r.rt_serial.as_deref() == Some(serial)
                        && r.daily_closing_number == Some(z as u32)
                }
                _ => false,
            })
            .collect();
        let paid: Decimal = docs
            .iter()
            .filter(|o| {
                matches!(&o.fiscal, Some(fiskal::model::Fiscal::Rt(r)) if r.document_type.as_deref() == Some("VENDITA"))
            })
            .flat_map(|o| &o.payments)
            .filter(|p| p.direction == fiskal::model::Direction::In)
            .map(|p| p.amount.abs())
            .sum();
        let xml = std::fs::read_to_string(f["path"].as_str().unwrap()).unwrap();
        assert_eq!(
            field(&xml, "NumeroDocCommerciali"),
            [Decimal::from(docs.len())]
        );
        let totals = field(&xml, "PagatoContanti")[0] + field(&xml, "PagatoElettronico")[0];
        assert_eq!(totals, paid, "{serial} {z}");
        // Each rate row's tax is the scorporo of its collected gross, and every row adds up.
        let collected: Decimal = field(&xml, "ImportoParziale").iter().sum::<Decimal>()
            + field(&xml, "Imposta").iter().sum::<Decimal>();
        assert!(
            collected > Decimal::ZERO && collected <= paid,
            "{serial} {z}: {collected}"
        );
    }
    // Same input, same bytes.
    let again = export(&demo(), &w.path("b"));
    for (a, b) in files.iter().zip(&again) {
        let (x, y) = (
            std::fs::read(a["path"].as_str().unwrap()).unwrap(),
            std::fs::read(b["path"].as_str().unwrap()).unwrap(),
        );
        assert!(x == y, "{} differs between runs", a["path"]);
    }
    for f in &files {
        let path = f["path"].as_str().unwrap();
        let name = Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(
            format!("demo_rt_{name}"),
            std::fs::read_to_string(path).unwrap()
        );
    }
}

#[test]
fn demo_closings_validate_against_the_schema_and_their_seal_verifies_with_xmlsec1() {
    let w = Workdir::new();
    let files = export(&demo(), &w.path("rt"));
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/conformance/rt/xsd/CorrispettiviTypes_v1.0.xsd");
    for f in &files {
        let path = f["path"].as_str().unwrap();
        if tool("xmllint") {
            let o = Command::new("xmllint")
                .args(["--noout", "--nonet", "--schema"])
                .arg(&xsd)
                .arg(path)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{path}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        if tool("xmlsec1") {
            let verify = |p: &str| {
                Command::new("xmlsec1")
                    .args(["--verify", "--insecure", "--enabled-key-data", "x509", p])
                    .output()
                    .unwrap()
            };
            let o = verify(path);
            assert!(
                o.status.success(),
                "{path}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            // One digit changed in a signed amount: the digest no longer holds.
            let text = std::fs::read_to_string(path).unwrap();
            let at = text.find("<ImportoParziale>").unwrap() + "<ImportoParziale>".len();
            let mut bad = text.clone();
            let digit = if &text[at..at + 1] == "9" { "8" } else { "9" };
            bad.replace_range(at..at + 1, digit);
            let bad_path = w.write("bad.xml", bad);
            let o = verify(bad_path.to_str().unwrap());
            assert!(!o.status.success(), "a changed amount still verifies");
        }
    }
}

#[test]
fn without_a_seal_nothing_is_written_and_the_reason_is_given() {
    let w = Workdir::new();
    let md = std::fs::read_to_string(demo().join("masterdata.toml")).unwrap();
    let cut = md
        .find("[rt_seal]")
        .expect("the demo master data has a seal");
    let end = md[cut..].find("\n[").map_or(md.len(), |e| cut + e + 1);
    let md = format!("{}{}", &md[..cut], &md[end..]);
    let md_path = w.write("md.toml", md);
    let o = fiskal()
        .args(["export", "rt", "--out"])
        .arg(w.path("out"))
        .arg("--master-data")
        .arg(&md_path)
        .arg(demo().join("reg_it_01.ndjson"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(o).unwrap();
    assert!(err.contains("no [rt_seal]"), "{err}");
    assert!(!w.path("out").join("99IEB409160_0383.xml").exists());
}

/// fiskal's own verifier on its reconstructions: digest and seal valid, no finding but the
/// note that the seal is not a device's; and against the device-signed closing of the same
/// day, `compare` lists what differs.
#[test]
fn demo_closings_pass_our_verifier_as_another_seal() {
    use fiskal::regime::rt::cert::SignerKind;
    use fiskal::regime::rt::{Options, verify};
    let w = Workdir::new();
    for f in export(&demo(), &w.path("rt")) {
        let bytes = std::fs::read(f["path"].as_str().unwrap()).unwrap();
        let r = verify(&bytes, &Options::default());
        let codes: Vec<&str> = r.findings.iter().map(|x| x.code).collect();
        assert_eq!(codes, ["RTX025"], "{}", f["path"]);
        assert!(r.is_valid());
        assert_eq!(r.signer.unwrap().kind, SignerKind::OtherSeal);
    }
}

/// What a COR10 XML states of its closing, read with quick-xml: per Riepilogo its key
/// (`AliquotaIVA` or `Natura`) and amounts, the Totali, `Progressivo` and the date of
/// `DataOraRilevazione`.
#[derive(Debug, Default)]
struct Stated {
    progressivo: u64,
    day: Option<chrono::NaiveDate>,
    rows: Vec<BTreeMap<String, String>>,
    totali: BTreeMap<String, String>,
}

fn stated(xml: &str) -> Stated {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Stated::default();
    let mut path: Vec<String> = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if name == "Riepilogo" {
                    out.rows.push(BTreeMap::new());
                }
                path.push(name);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let text = t.into_inner().trim().to_string();
                let Some(name) = path.last() else { continue };
                if text.is_empty() {
                    continue;
                }
                if path.iter().any(|p| p == "Riepilogo") {
                    out.rows.last_mut().unwrap().insert(name.clone(), text);
                } else if path.iter().any(|p| p == "Totali") {
                    out.totali.insert(name.clone(), text);
                } else if name == "Progressivo" {
                    out.progressivo = text.parse().unwrap();
                } else if name == "DataOraRilevazione" {
                    out.day = Some(
                        chrono::DateTime::parse_from_rfc3339(&text)
                            .unwrap()
                            .date_naive(),
                    );
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The closing totals each written closing carries are the figures of its XML, read here
/// from the file: per key net = ImportoParziale, tax = Imposta, gross their sum; the payments
/// and documents of Totali; resi and annulli summed over the rows.
#[test]
fn z_totals_are_what_the_written_xml_states() {
    use fiskal::export::rt::Writer;
    use fiskal::export::{ZAmounts, ZTotals};
    use fiskal::model::masterdata::MasterData;
    let md = MasterData::load(&demo().join("masterdata.toml")).unwrap();
    let seal = fiskal::cli::export::rt::seal(Some(&md)).unwrap();
    let w = Workdir::new();
    let dir = w.path("rt");
    std::fs::create_dir_all(&dir).unwrap();
    let ops = read(&[&demo()]).ops;
    let mut writer = Writer::new(&dir, Some(&md), &seal);
    for op in &ops {
        writer.push(op);
    }
    let (files, left_out) = writer.finish().unwrap();
    assert_eq!(left_out, []);
    assert_eq!(files.len(), 4);
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    for f in &files {
        let z = f.z.as_ref().unwrap();
        let s = stated(&std::fs::read_to_string(&f.path).unwrap());
        let mut by_rate = BTreeMap::new();
        let (mut resi, mut annulli) = (Decimal::ZERO, Decimal::ZERO);
        for row in &s.rows {
            let key = row
                .get("AliquotaIVA")
                .or(row.get("Natura"))
                .unwrap()
                .clone();
            let net = d(&row["ImportoParziale"]);
            let tax = row.get("Imposta").map_or(Decimal::ZERO, |t| d(t));
            let amounts = ZAmounts {
                gross: net + tax,
                net,
                tax,
            };
            assert!(by_rate.insert(key, amounts).is_none(), "{}", f.path);
            resi += row
                .get("TotaleAmmontareResi")
                .map_or(Decimal::ZERO, |t| d(t));
            annulli += row
                .get("TotaleAmmontareAnnulli")
                .map_or(Decimal::ZERO, |t| d(t));
        }
        // The register is the one the closing's documents were recorded on.
        let registers: BTreeSet<&str> = ops
            .iter()
            .filter(|o| match &o.fiscal {
                Some(fiskal::model::Fiscal::Rt(r)) => {
                    r.rt_serial.as_deref() == Some(f.rt_serial.as_str())
                        && r.daily_closing_number == Some(f.daily_closing_number)
                }
                _ => false,
            })
            .filter_map(|o| o.register_id.as_deref())
            .collect();
        assert_eq!(registers.len(), 1, "{registers:?}");
        let (cash, electronic) = (
            d(&s.totali["PagatoContanti"]),
            d(&s.totali["PagatoElettronico"]),
        );
        let want = ZTotals {
            format: "rt",
            register: registers.first().unwrap().to_string(),
            device: Some(f.rt_serial.clone()),
            z_nr: s.progressivo,
            business_day: s.day,
            gross: by_rate.values().map(|x: &ZAmounts| x.gross).sum(),
            net: by_rate.values().map(|x: &ZAmounts| x.net).sum(),
            tax: by_rate.values().map(|x: &ZAmounts| x.tax).sum(),
            by_rate: by_rate.into(),
            payments_total: cash + electronic,
            cash,
            documents: s.totali["NumeroDocCommerciali"].parse().unwrap(),
            resi: Some(resi),
            annulli: Some(annulli),
            file: f.path.clone(),
        };
        assert_eq!(*z, want, "{}", f.path);
        assert_eq!(z.z_nr, u64::from(f.daily_closing_number));
        for (key, x) in &z.by_rate {
            assert_eq!(x.gross, x.net + x.tax, "{} {key}", f.path);
        }
        // The payments are those of the sale documents: they cover the collected gross and
        // the resi and annulli on top of it.
        assert!(z.payments_total >= z.gross, "{}", f.path);
        let json = serde_json::to_value(f).unwrap();
        assert!(json.get("z").is_none(), "{json}");
    }
    let z = files[0].z.as_ref().unwrap();
    assert_eq!(
        (z.register.as_str(), z.device.as_deref(), z.z_nr),
        ("reg_it_02", Some("72IMA856946"), 250)
    );
    assert_eq!(z.business_day, chrono::NaiveDate::from_ymd_opt(2026, 3, 2));
    assert_eq!(
        z.by_rate["22.00"],
        ZAmounts {
            gross: d("43.45"),
            net: d("35.61"),
            tax: d("7.84")
        }
    );
    assert_eq!(
        z.by_rate["N2"],
        ZAmounts {
            gross: d("20.00"),
            net: d("20.00"),
            tax: d("0.00")
        }
    );
    assert_eq!(z.by_rate.len(), 6);
    assert_eq!((z.gross, z.tax), (d("126.10"), d("10.01")));
    assert_eq!((z.payments_total, z.cash), (d("126.10"), d("46.25")));
    assert_eq!(
        (z.documents, z.resi, z.annulli),
        (12, Some(d("0")), Some(d("0")))
    );
    // A closing with resi: their net is carried, and the payments exceed the collected gross.
    let with_resi: Vec<_> = files
        .iter()
        .filter_map(|f| f.z.as_ref())
        .filter(|z| z.resi != Some(Decimal::ZERO))
        .collect();
    assert!(!with_resi.is_empty());
    assert!(with_resi.iter().all(|z| z.payments_total > z.gross));
}
