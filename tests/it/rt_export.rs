//! `fiskal export rt` on the demo: one sealed COR10 XML per RT and daily closing, valid
//! against the AdE schema (xmllint), its seal verified by xmlsec1, its totals those of the
//! documents, the same bytes every run.

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
