//! The RT daily closing verifier on the conformance data (fixtures/conformance/rt): the real
//! device-signed samples verify and chain to their CAs, a changed digit breaks the digest and
//! only that, the synthetic sample fails, the sums hold on the real values; then
//! `fiskal verify rt-xml` itself: exit codes, JSON lines and `--compare`.

use std::path::{Path, PathBuf};

use fiskal::model::Severity;
use fiskal::regime::rt::cert::{self, Certificate, SignerKind};
use fiskal::regime::rt::dsig::Status;
use fiskal::regime::rt::verify::{ChainStatus, SerialSource};
use fiskal::regime::rt::{Options, Report, verify};

use crate::util::{Workdir, fiskal, json_lines};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/rt")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("samples/dati").join(name)).unwrap()
}

fn sample_path(name: &str) -> PathBuf {
    root().join("samples/dati").join(name)
}

fn ca(name: &str) -> Vec<Certificate> {
    cert::read_certificates(&std::fs::read(root().join("ca").join(name)).unwrap()).unwrap()
}

const PROD: &str = "prod_ca_servizio_ae_corrispettivi_iva.pem";
const SOGEI_TEST: &str = "test_ca_sogei_test.pem";
const SOGEI_CA_TEST: &str = "test_sogei_certification_authority_test.pem";
const CNR_7CIMG: &str = "RT_7CIMG990005_24_02_2020__16_16_07_5.xml";
const CNR_SERVER: &str = "RT_192.168.1.133_13_04_2017__15_54_46_16.xml";
const CNR_LUG: &str = "rt_lug_2020.xml";
const INVALID: &str = "INVALID_synthetic_unsigned.xml";

fn with(anchors: &[&str]) -> Options {
    Options {
        anchors: anchors.iter().flat_map(|a| ca(a)).collect(),
        serial: None,
    }
}

fn errors(r: &Report) -> Vec<&'static str> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code)
        .collect()
}

/// Each real sample, with only the CA that issued its certificate: seal valid, chain trusted
/// to that CA, a device certificate whose CN is the matricola. The one warning is RTX024:
/// every laboratory sample is dated before its certificate's notBefore (re-signed test files).
#[test]
fn every_real_sample_verifies_and_chains_to_its_ca() {
    let cases = [
        (
            CNR_7CIMG,
            PROD,
            "7CIMG990005",
            "CN=CA Servizio AE Corrispettivi IVA,OU=Servizio AE Corrispettivi IVA,O=Agenzia delle Entrate,C=IT",
        ),
        (
            CNR_SERVER,
            SOGEI_TEST,
            "80M08002493",
            "CN=CA Sogei Test,O=Sogei,C=IT",
        ),
        (
            CNR_LUG,
            SOGEI_CA_TEST,
            "72MAA000001",
            "CN=Sogei Certification Authority Test,O=Sogei,C=IT",
        ),
    ];
    for (name, anchor, cn, anchor_subject) in cases {
        let r = verify(&sample(name), &with(&[anchor]));
        assert_eq!(
            (r.digest, r.signature),
            (Status::Valid, Status::Valid),
            "{name}"
        );
        assert_eq!(
            r.chain,
            ChainStatus::Trusted {
                anchor: anchor_subject.into()
            },
            "{name}"
        );
        let signer = r.signer.as_ref().unwrap();
        assert_eq!(signer.kind, SignerKind::Device, "{name}");
        assert_eq!(
            signer.subject,
            format!("CN={cn},OU=Servizio AE Corrispettivi IVA,O=Agenzia delle Entrate,C=IT")
        );
        assert_eq!(signer.key, "RSA 2048");
        assert_eq!(r.codes(), ["RTX024"], "{name}: {:#?}", r.findings);
        assert!(r.is_valid(), "{name}");
    }
}

/// The production sample does not chain to the test CAs, and a test sample not to the
/// production CA: the chain check is real.
#[test]
fn a_sample_does_not_chain_to_another_ca() {
    let r = verify(&sample(CNR_7CIMG), &with(&[SOGEI_TEST, SOGEI_CA_TEST]));
    assert_eq!(r.chain, ChainStatus::Untrusted);
    assert_eq!(errors(&r), ["RTX020"]);
    let f = r.findings.iter().find(|f| f.code == "RTX020").unwrap();
    assert_eq!(
        f.found,
        "issuer CN=CA Servizio AE Corrispettivi IVA,OU=Servizio AE Corrispettivi IVA,O=Agenzia delle Entrate,C=IT, not among them"
    );
    let r = verify(&sample(CNR_LUG), &with(&[PROD]));
    assert_eq!(errors(&r), ["RTX020"]);
    // Without CAs nothing is said about the chain but that it was not checked.
    let r = verify(&sample(CNR_LUG), &Options::default());
    assert_eq!(r.chain, ChainStatus::NotChecked);
    assert_eq!(errors(&r), Vec::<&str>::new());
}

/// The CN is compared with --serial, else with IdDispositivo, else checked for its form.
#[test]
fn the_cn_is_the_matricola() {
    let r = verify(&sample(CNR_SERVER), &Options::default());
    let expected = r.expected_serial.unwrap();
    assert_eq!(
        (expected.value.as_str(), expected.source),
        ("80M08002493", SerialSource::IdDispositivo)
    );
    let wrong = Options {
        serial: Some("80M08002494".into()),
        ..Options::default()
    };
    let r = verify(&sample(CNR_SERVER), &wrong);
    assert_eq!(errors(&r), ["RTX022"]);
    let f = r.findings.iter().find(|f| f.code == "RTX022").unwrap();
    assert_eq!(
        (f.expected.as_str(), f.found.as_str()),
        ("CN=80M08002494 (--serial)", "CN=80M08002493")
    );
    // No Dispositivo in this one: the form is checked, and 7CIMG990005 has it.
    let r = verify(&sample(CNR_7CIMG), &Options::default());
    assert!(r.expected_serial.is_none());
    assert!(!r.codes().contains(&"RTX023"));
}

/// 8.20 → 8.21 in the production sample: the digest fails (RTX013, with the recomputed and
/// the stored digest), the signature still verifies, nothing else is wrong.
#[test]
fn one_changed_digit_fails_on_the_digest_only() {
    let text = String::from_utf8(sample(CNR_7CIMG)).unwrap();
    let changed = text.replacen(
        "<Ammontare>8.20</Ammontare>",
        "<Ammontare>8.21</Ammontare>",
        1,
    );
    assert_ne!(changed, text);
    let r = verify(changed.as_bytes(), &with(&[PROD]));
    assert_eq!((r.digest, r.signature), (Status::Invalid, Status::Valid));
    assert_eq!(errors(&r), ["RTX013"]);
    assert_eq!(
        r.chain,
        ChainStatus::Trusted {
            anchor: r.signer.as_ref().unwrap().issuer.clone()
        }
    );
    let f = &r.findings[0];
    assert_eq!(
        f.found,
        "DigestValue YeBjqv+FmSqC9fLlznQh62rmRZj0V+t4JIpWlczVwsg="
    );
    assert!(f.expected.starts_with("DigestValue ") && f.expected.contains("without its signature"));
}

/// The CNR synthetic instance: no signature (RTX010, and the schema's missing ds:Signature)
/// and the eight value errors xmllint finds.
#[test]
fn the_synthetic_invalid_sample_fails() {
    let r = verify(&sample(INVALID), &with(&[PROD]));
    assert_eq!(
        (r.digest, r.signature),
        (Status::NotChecked, Status::NotChecked)
    );
    assert!(r.signer.is_none());
    assert_eq!(
        errors(&r),
        [
            "RTX010", "RTX032", "RTX040", "RTX040", "RTX040", "RTX040", "RTX041", "RTX045",
            "RTX045", "RTX045"
        ]
    );
    assert!(!r.is_valid());
}

/// The sums on the real values: 8.20 at 22 % has 1.804 of tax, written 1.80 (10.00 gross);
/// 0.82 at 22 % has 0.1804, written 0.18 (1.00 gross); a 7.0 Natura row of 1.00 is all
/// ImportoParziale.
#[test]
fn arithmetic_holds_on_the_samples_and_fails_when_changed() {
    let r = verify(&sample(CNR_7CIMG), &Options::default());
    let c = r.closing.as_ref().unwrap();
    let row = &c.rows[1];
    assert_eq!(row.key(), "IVA 22.00");
    assert_eq!(
        (
            row.imposta.unwrap().to_string(),
            row.ammontare.unwrap().to_string()
        ),
        ("1.80".into(), "8.20".into())
    );
    assert_eq!(c.rows[0].key(), "Natura N4");
    let r = verify(&sample(CNR_SERVER), &Options::default());
    let row = &r.closing.as_ref().unwrap().rows[0];
    assert_eq!(
        (
            row.imposta.unwrap().to_string(),
            row.ammontare.unwrap().to_string()
        ),
        ("0.18".into(), "0.82".into())
    );
    assert!(!r.codes().iter().any(|c| c.starts_with("RTX05")));

    // Imposta 1.83 instead of 1.80 on the 6.0 row: a warning with the recomputed tax.
    let text = String::from_utf8(sample(CNR_7CIMG)).unwrap();
    let r = verify(
        text.replace("<Imposta>1.80</Imposta>", "<Imposta>1.83</Imposta>")
            .as_bytes(),
        &Options::default(),
    );
    let f = r.findings.iter().find(|f| f.code == "RTX052").unwrap();
    assert_eq!(
        f.expected,
        "1.80 = round half up (Ammontare 8.20 × 22.00 / 100 = 1.804) ±0.01"
    );
    assert_eq!(f.severity, Severity::Warning);
    // 1.81 is within the cent scorporo allows.
    let r = verify(
        text.replace("<Imposta>1.80</Imposta>", "<Imposta>1.81</Imposta>")
            .as_bytes(),
        &Options::default(),
    );
    assert!(!r.codes().contains(&"RTX052"));

    // rt_lug_2020 (7.0): Ammontare 1.00 = ImportoParziale; change the part and it no longer adds up.
    let text = String::from_utf8(sample(CNR_LUG)).unwrap();
    let r = verify(
        text.replace(
            "<ImportoParziale>1.00</ImportoParziale>",
            "<ImportoParziale>0.90</ImportoParziale>",
        )
        .as_bytes(),
        &Options::default(),
    );
    let f = r.findings.iter().find(|f| f.code == "RTX050").unwrap();
    assert_eq!(
        f.expected,
        "Ammontare = 0.90 = ImportoParziale 0.90 (±0.01)"
    );
    assert_eq!(f.found, "Ammontare 1.00");
}

fn generated(name: &str) -> PathBuf {
    root().join("generated").join(name)
}

/// A closing sealed by a merchant's seal (as fiskal's rebuilt closings are): the seal
/// verifies, the signer is "other seal" (RTX025, info), no CN check applies, and the chain
/// holds to its own CA but not to AdE's.
#[test]
fn another_seal_is_told_from_a_device() {
    let bytes = std::fs::read(generated("spec5_other_seal.xml")).unwrap();
    let own = Options {
        anchors: cert::read_certificates(&std::fs::read(generated("test_ca.pem")).unwrap())
            .unwrap(),
        serial: Some("96IAB000123".into()),
    };
    let r = verify(&bytes, &own);
    assert_eq!((r.digest, r.signature), (Status::Valid, Status::Valid));
    let signer = r.signer.as_ref().unwrap();
    assert_eq!(signer.kind, SignerKind::OtherSeal);
    assert_eq!(
        signer.subject,
        "CN=Esempio S.r.l. sigillo,O=Esempio S.r.l.,C=IT"
    );
    assert_eq!(r.codes(), ["RTX025"]);
    assert_eq!(r.findings[0].severity, Severity::Info);
    assert!(r.is_valid());
    assert_eq!(
        r.chain,
        ChainStatus::Trusted {
            anchor: "CN=fiskal test CA,O=fiskal tests,C=IT".into()
        }
    );
    let r = verify(&bytes, &with(&[PROD]));
    assert_eq!(errors(&r), ["RTX020"]);

    // A certificate of the device form that AdE did not issue: a device by its subject, so
    // its CN is checked, and the AdE chain fails.
    let bytes = std::fs::read(generated("spec5_device_like.xml")).unwrap();
    let r = verify(
        &bytes,
        &Options {
            serial: Some("96IAB000123".into()),
            ..with(&[PROD])
        },
    );
    assert_eq!(r.signer.as_ref().unwrap().kind, SignerKind::Device);
    assert_eq!(r.codes(), ["RTX020"]);
    let r = verify(
        &bytes,
        &Options {
            serial: Some("7CIMG990005".into()),
            ..Options::default()
        },
    );
    assert_eq!(r.codes(), ["RTX022"]);
}

// --- The command. ---

#[test]
fn cli_exit_0_on_the_real_samples_with_their_cas() {
    let out = fiskal()
        .args(["verify", "rt-xml"])
        .arg(sample_path(CNR_7CIMG))
        .arg(sample_path(CNR_SERVER))
        .arg(sample_path(CNR_LUG))
        .arg("--ca")
        .args([PROD, SOGEI_TEST, SOGEI_CA_TEST].map(|c| root().join("ca").join(c)))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("RTX024 warning ×3"), "{stdout}");
    assert!(
        stdout.contains("3 files, 3 valid: 0 errors, 3 warnings"),
        "{stdout}"
    );
    assert!(
        stdout.contains("chain trusted (CN=CA Servizio AE Corrispettivi IVA"),
        "{stdout}"
    );
    assert!(!stdout.contains("not checked: no --ca"), "{stdout}");
}

#[test]
fn cli_json_lines_per_finding_file_and_summary() {
    let out = fiskal()
        .args(["verify", "rt-xml", "--format", "json"])
        .arg(sample_path(CNR_SERVER))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(out.stdout);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["rt_xml_finding", "rt_xml_file", "rt_xml_summary"]);
    assert_eq!(lines[0]["code"], "RTX024");
    assert_eq!(lines[0]["severity"], "warning");
    assert_eq!(
        lines[0]["path"],
        "/p:DatiCorrispettivi/ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate"
    );
    assert!(lines[0]["file"].as_str().unwrap().ends_with(CNR_SERVER));
    let file = &lines[1];
    assert_eq!(file["digest"], "valid");
    assert_eq!(file["signature"], "valid");
    assert_eq!(file["signer"]["kind"], "device");
    assert_eq!(
        file["signer"]["subject"],
        "CN=80M08002493,OU=Servizio AE Corrispettivi IVA,O=Agenzia delle Entrate,C=IT"
    );
    assert_eq!(file["chain"]["status"], "not_checked");
    assert_eq!(file["expected_serial"]["value"], "80M08002493");
    assert_eq!(file["expected_serial"]["source"], "id_dispositivo");
    assert_eq!(file["progressivo"], "000184");
    assert_eq!(file["riepiloghi"], 1);
    assert_eq!(
        (file["errors"].as_u64(), file["warnings"].as_u64()),
        (Some(0), Some(1))
    );
    let summary = &lines[2];
    assert_eq!(summary["chain_checked"], false);
    assert_eq!(
        (summary["files"].as_u64(), summary["valid"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn cli_exit_1_on_a_tampered_or_invalid_file() {
    let w = Workdir::new();
    let text = String::from_utf8(sample(CNR_7CIMG)).unwrap();
    let tampered = w.write(
        "tampered.xml",
        text.replacen(
            "<Ammontare>3.00</Ammontare>",
            "<Ammontare>3.01</Ammontare>",
            1,
        ),
    );
    let out = fiskal()
        .args(["verify", "rt-xml", "--json"])
        .arg(&tampered)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(out.stdout);
    let codes: Vec<&str> = lines.iter().filter_map(|l| l["code"].as_str()).collect();
    assert_eq!(codes, ["RTX013", "RTX024"]);
    let file = lines.iter().find(|l| l["type"] == "rt_xml_file").unwrap();
    assert_eq!(
        (file["digest"].as_str(), file["signature"].as_str()),
        (Some("invalid"), Some("valid"))
    );

    let out = fiskal()
        .args(["verify", "rt-xml"])
        .arg(sample_path(INVALID))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("RTX010 error ×1"), "{stdout}");
    assert!(stdout.contains("INVALID_synthetic_unsigned.xml:36 /r:DatiCorrispettivi/InterventoTecnico/IdIVALaboratorio/IdCodice: expected 11 characters, found \"str1234\""), "{stdout}");
    assert!(
        stdout.contains("certificate chains not checked: no --ca given"),
        "{stdout}"
    );

    // Not XML at all is a finding too, not an input error.
    let junk = w.write("junk.xml", "not xml");
    let out = fiskal()
        .args(["verify", "rt-xml", "--json"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(out.stdout);
    assert_eq!(lines[0]["code"], "RTX001");
    assert_eq!(
        lines[0]["found"],
        "line 1, column 1: text outside the root element"
    );
}

#[test]
fn cli_exit_2_on_unreadable_input_or_usage() {
    let w = Workdir::new();
    let out = fiskal()
        .args(["verify", "rt-xml"])
        .arg(w.path("missing.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let bad_ca = w.write("ca.pem", "no certificate here");
    let out = fiskal()
        .args(["verify", "rt-xml"])
        .arg(sample_path(CNR_LUG))
        .arg("--ca")
        .arg(&bad_ca)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ca"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = fiskal()
        .args(["verify", "rt-xml"])
        .arg(sample_path(CNR_LUG))
        .arg(sample_path(CNR_7CIMG))
        .arg("--compare")
        .arg(sample_path(CNR_LUG))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give one FILE, not 2"));
    let out = fiskal().args(["verify", "rt-xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--compare`: the same file has no differences; a rebuilt file with a cent more tax and a
/// different Ammontare gets RTX061 and RTX060, reported against the other file with the
/// device's value as expected.
#[test]
fn cli_compare_lists_the_differences() {
    let out = fiskal()
        .args(["verify", "rt-xml", "--json"])
        .arg(sample_path(CNR_7CIMG))
        .arg("--compare")
        .arg(sample_path(CNR_7CIMG))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(out.stdout);
    let cmp = lines
        .iter()
        .find(|l| l["type"] == "rt_xml_comparison")
        .unwrap();
    assert_eq!(cmp["differences"], 0);

    let w = Workdir::new();
    let text = String::from_utf8(sample(CNR_7CIMG)).unwrap();
    let ours = w.write(
        "ours.xml",
        text.replace("<Imposta>1.80</Imposta>", "<Imposta>1.81</Imposta>")
            .replace("<Ammontare>3.00</Ammontare>", "<Ammontare>2.00</Ammontare>"),
    );
    let out = fiskal()
        .args(["verify", "rt-xml", "--json"])
        .arg(sample_path(CNR_7CIMG))
        .arg("--compare")
        .arg(&ours)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(out.stdout);
    let diffs: Vec<(&str, &str, &str, &str)> = lines
        .iter()
        .filter(|l| l["code"].as_str().is_some_and(|c| c.starts_with("RTX06")))
        .map(|l| {
            assert!(l["file"].as_str().unwrap().ends_with("ours.xml"));
            (
                l["code"].as_str().unwrap(),
                l["path"].as_str().unwrap(),
                l["expected"].as_str().unwrap(),
                l["found"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        diffs,
        [
            (
                "RTX060",
                "/p:DatiCorrispettivi/DatiRT/Riepilogo[Natura N4]/Ammontare",
                "3.00",
                "2.00"
            ),
            (
                "RTX061",
                "/p:DatiCorrispettivi/DatiRT/Riepilogo[IVA 22.00]/IVA/Imposta",
                "1.80",
                "1.81"
            ),
        ]
    );
    let cmp = lines
        .iter()
        .find(|l| l["type"] == "rt_xml_comparison")
        .unwrap();
    assert_eq!(
        (
            cmp["differences"].as_u64(),
            cmp["errors"].as_u64(),
            cmp["warnings"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
}
