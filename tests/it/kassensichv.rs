//! KassenSichV TSE signatures: every conformance QR vector and every log of the synthetic TAR
//! exports against its expected verdict, counter gaps in altered exports, and the
//! `fiskal verify tse-qr` / `tse-tar` commands (exit codes, JSON lines, stdin, a snapshot).

use std::path::PathBuf;

use base64::Engine;
use fiskal::regime::kassensichv::export::message::{self, ProcessDataForm};
use fiskal::regime::kassensichv::export::{Gap, LogVerdict, tar};
use fiskal::regime::kassensichv::logmsg::{dtbs, hex};
use fiskal::regime::kassensichv::{ProcessDataEncoding, Verdict, parse_qr, verify, verify_export};
use predicates::prelude::*;
use sha2::Digest;

use crate::util::{Workdir, fiskal, json_lines};

/// Base64 as the conformance files write it.
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn dir(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/conformance/kassensichv")
        .join(folder)
}

fn read(folder: &str, file: &str) -> String {
    std::fs::read_to_string(dir(folder).join(file)).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// One vector: the QR string and what must come out.
struct Case {
    id: String,
    qr: String,
    verdict: Verdict,
    curve: Option<String>,
    tbs_hex: Option<String>,
    ber: bool,
}

fn check(case: &Case) {
    let log = parse_qr(&case.qr).unwrap_or_else(|e| panic!("{}: {e}", case.id));
    let v = verify(&log);
    assert_eq!(v.verdict, case.verdict, "{}: {v:#?}", case.id);
    if let Some(curve) = &case.curve {
        assert_eq!(
            v.curve.map(|c| c.name()),
            Some(curve.as_str()),
            "{}",
            case.id
        );
    }
    if let Some(tbs) = &case.tbs_hex {
        let serial = unhex(v.serial.as_deref().unwrap());
        let pd = if case.ber {
            ProcessDataEncoding::BerIndefinite
        } else {
            ProcessDataEncoding::DerPrimitive
        };
        assert_eq!(
            &hex(&dtbs(&log, &serial, log.time_format, pd)),
            tbs,
            "{}",
            case.id
        );
    }
    match case.verdict {
        Verdict::Valid => {
            let m = v.matched.unwrap();
            assert_eq!(m.time_format, log.time_format, "{}", case.id);
            let want = if case.ber {
                ProcessDataEncoding::BerIndefinite
            } else {
                ProcessDataEncoding::DerPrimitive
            };
            assert_eq!(m.process_data, want, "{}", case.id);
        }
        Verdict::Invalid => {
            assert!(
                !v.attempts.is_empty() && v.attempts.iter().all(|a| !a.verified),
                "{}",
                case.id
            );
            assert!(v.tbs_hex.is_some(), "{}", case.id);
        }
    }
}

fn tsv_cases(folder: &str) -> Vec<Case> {
    let qrs: Vec<String> = read(folder, "qr.txt").lines().map(str::to_string).collect();
    let tsv = read(folder, "expected.tsv");
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cases: Vec<Case> = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let line: usize = f[col("qr_line")].parse().unwrap();
            Case {
                id: f[col("id")].to_string(),
                qr: qrs[line - 1].clone(),
                verdict: match f[col("verified_here")] {
                    "valid" => Verdict::Valid,
                    "INVALID" => Verdict::Invalid,
                    other => panic!("unknown verdict {other}"),
                },
                curve: Some(f[col("curve")].to_string()),
                tbs_hex: Some(f[col("tbs_hex")].to_string()),
                ber: false,
            }
        })
        .collect();
    assert_eq!(
        cases.len(),
        qrs.len(),
        "{folder}: every QR line has a verdict"
    );
    cases
}

#[test]
fn berohndo_vectors() {
    let cases = tsv_cases("qr-berohndo");
    assert_eq!(cases.len(), 2);
    cases.iter().for_each(check);
}

#[test]
fn fiskaltrust_vectors_including_the_edited_negative_one() {
    let cases = tsv_cases("qr-fiskaltrust-interface-doc");
    assert_eq!(cases.len(), 14);
    assert_eq!(
        cases
            .iter()
            .filter(|c| c.verdict == Verdict::Invalid)
            .count(),
        1
    );
    cases.iter().for_each(check);
}

#[test]
fn synthetic_vectors() {
    let json: serde_json::Value =
        serde_json::from_str(&read("synthetic", "expected.json")).unwrap();
    let qrs: Vec<String> = read("synthetic", "qr.txt")
        .lines()
        .map(str::to_string)
        .collect();
    let vectors = json["qr_and_message_vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), qrs.len());
    let mut by_verdict = [0usize; 2];
    for (v, qr) in vectors.iter().zip(&qrs) {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        assert_eq!(
            s("qr").as_deref(),
            Some(qr.as_str()),
            "qr.txt and expected.json agree"
        );
        let expected = s("expected").unwrap();
        let curve = s("curve").unwrap();
        let ber = expected.contains("indefinite");
        let verdict = if expected == "valid" || ber {
            Verdict::Valid
        } else {
            assert_eq!(expected, "invalid");
            Verdict::Invalid
        };
        by_verdict[verdict as usize] += 1;
        check(&Case {
            id: s("id").unwrap(),
            qr: qr.clone(),
            verdict,
            curve: Some(curve),
            tbs_hex: s("tbs_hex"),
            ber,
        });
    }
    assert_eq!(by_verdict, [6, 5], "valid, invalid");
}

#[test]
fn cli_all_valid_exits_0() {
    fiskal()
        .args(["verify", "tse-qr"])
        .arg(dir("qr-berohndo").join("qr.txt"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "line 2: valid (brainpoolP384r1, ecdsa-plain-SHA384, logTime unixTime",
        ))
        .stdout(predicate::str::contains(
            "2 QR codes: 2 valid, 0 invalid, 0 unparsable",
        ));
}

#[test]
fn cli_invalid_line_exits_1_with_diagnostics() {
    fiskal()
        .args(["verify", "tse-qr"])
        .arg(dir("qr-fiskaltrust-interface-doc").join("qr.txt"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "line 1: INVALID (secp256r1, ecdsa-plain-SHA256)",
        ))
        .stdout(predicate::str::contains(
            "to-be-signed (primary attempt): 020102060904007f000703070101",
        ))
        .stdout(predicate::str::contains(
            "tried secp256r1 / utcTime / processData der_primitive: no",
        ))
        .stdout(predicate::str::contains("14 QR codes: 13 valid, 1 invalid"));
}

#[test]
fn cli_json_lines_from_stdin_skip_blank_lines() {
    let qr = read("qr-berohndo", "qr.txt");
    let first = qr.lines().next().unwrap();
    let input = format!(
        "\n{first}\r\n\nV0;broken\n{}\n",
        first.replace("21.42:Unbar", "21.43:Unbar")
    );
    let out = fiskal()
        .args(["verify", "tse-qr", "-", "--json"])
        .write_stdin(input)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(out);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["type"], "tse_qr");
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[0]["verdict"], "valid");
    assert_eq!(lines[0]["curve"], "secp256r1");
    assert_eq!(lines[0]["matched"]["process_data"], "der_primitive");
    assert_eq!(lines[1]["line"], 4);
    assert_eq!(lines[1]["verdict"], "unparsable");
    assert!(lines[1]["error"].as_str().unwrap().contains("12"));
    assert_eq!(lines[2]["line"], 5);
    assert_eq!(lines[2]["verdict"], "invalid");
    assert_eq!(lines[2]["attempts"].as_array().unwrap().len(), 6);
    assert!(lines[2]["tbs_hex"].as_str().unwrap().starts_with("020102"));
    assert_eq!(lines[3]["type"], "tse_qr_summary");
    assert_eq!(lines[3]["lines"], 3);
    assert_eq!(lines[3]["valid"], 1);
    assert_eq!(lines[3]["invalid"], 1);
    assert_eq!(lines[3]["unparsable"], 1);
}

#[test]
fn cli_unreadable_file_exits_2() {
    fiskal()
        .args(["verify", "tse-qr", "/nonexistent/receipts.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/receipts.txt",
        ));
    fiskal().args(["verify", "tse-qr"]).assert().code(2);
}

#[test]
fn cli_empty_input_is_clean() {
    let w = Workdir::new();
    let p = w.write("empty.txt", "\n\n");
    fiskal()
        .args(["verify", "tse-qr"])
        .arg(&p)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 QR codes"));
}

// ---- TSE TAR exports ----

const TAMPERED_FILE: &str = "Unixt_1717236063_Sig-2_Log-Tra_No-1_Finish_Client-KASSE-01.log";

fn tar_bytes(file: &str) -> Vec<u8> {
    std::fs::read(dir("synthetic").join(file)).unwrap()
}

/// The archive without the entry `name`: whole 512-byte blocks are copied, so the result is a
/// valid tar without writing a header.
fn without_entry(tar: &[u8], name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = 0;
    while tar[offset..offset + 512].iter().any(|b| *b != 0) {
        let header = &tar[offset..offset + 512];
        let end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let size_text = std::str::from_utf8(&header[124..135]).unwrap();
        let size = usize::from_str_radix(size_text.trim_matches(['\0', ' ']), 8).unwrap();
        let len = 512 + size.div_ceil(512) * 512;
        if &header[..end] != name.as_bytes() {
            out.extend_from_slice(&tar[offset..offset + len]);
        }
        offset += len;
    }
    out.extend([0u8; 1024]);
    out
}

/// Every log of both synthetic exports gets the verdict, and every field the value,
/// `expected.json` gives; the signed bytes and signature come from the stored file.
#[test]
fn tar_export_conformance() {
    let json: serde_json::Value =
        serde_json::from_str(&read("synthetic", "expected.json")).unwrap();
    let t = &json["tar_export"];
    let expected = t["logs"].as_array().unwrap();
    assert_eq!(expected.len(), 4);
    let tampered = t["tampered_variant"]["file"].as_str().unwrap();
    assert_eq!(tampered, TAMPERED_FILE);
    assert!(
        t["tampered_variant"]["expected"]
            .as_str()
            .unwrap()
            .starts_with("invalid")
    );
    let serial = t["tse_serial_hex"].as_str().unwrap();
    let key = B64
        .decode(t["tse_public_key_b64"].as_str().unwrap())
        .unwrap();
    assert_eq!(hex(&sha2::Sha256::digest(&key)), serial);

    for (archive, invalid_file) in [
        ("synthetic_export.tar", None),
        ("synthetic_export_tampered.tar", Some(tampered)),
    ] {
        let bytes = tar_bytes(archive);
        let report = verify_export(&bytes).unwrap();
        assert_eq!(report.logs.len(), expected.len(), "{archive}");
        assert_eq!(report.tses.len(), 1);
        let tse = &report.tses[0];
        assert_eq!(tse.serial, serial);
        assert_eq!(tse.curve.map(|c| c.name()), t["tse_curve"].as_str());
        assert_eq!((tse.counter_first, tse.counter_last), (1, 4));
        assert!(tse.gaps.is_empty() && tse.repeats.is_empty() && tse.problems.is_empty());
        assert_eq!((tse.transactions, tse.transactions_finished), (2, 2));
        let ca = report
            .certificates
            .iter()
            .find(|c| c.key_hash.as_deref() != Some(serial))
            .unwrap();
        assert_eq!(ca.curve.map(|c| c.name()), t["ca_curve"].as_str());
        assert!(report.certificates.iter().all(|c| c.problems.is_empty()));

        let entries = tar::entries(&bytes).unwrap();
        for want in expected {
            let s = |k: &str| want[k].as_str().unwrap();
            let n = |k: &str| want[k].as_u64().unwrap();
            let file = s("file");
            let log = report.logs.iter().find(|l| l.file == file).unwrap();
            let want_verdict = if Some(file) == invalid_file {
                LogVerdict::Invalid
            } else {
                assert_eq!(s("expected"), "valid");
                LogVerdict::Valid
            };
            assert_eq!(log.verdict, want_verdict, "{archive} {file}: {log:#?}");
            assert!(log.problems.is_empty(), "{archive} {file}: {log:#?}");
            let v = log.signature.as_ref().unwrap();
            assert_eq!(v.curve.map(|c| c.name()), t["tse_curve"].as_str());
            assert_eq!(v.tbs_hex.is_some(), want_verdict == LogVerdict::Invalid);

            let f = log.fields.as_ref().unwrap();
            assert_eq!(f.operation_type.as_deref(), Some(s("operationType")));
            assert_eq!(f.client_id.as_deref(), Some(s("clientId")));
            assert_eq!(f.process_type.as_deref(), Some(s("processType")));
            assert_eq!(f.transaction_number, Some(n("transactionNumber")));
            assert_eq!(f.signature_counter, n("signatureCounter"));
            assert_eq!(f.log_time.timestamp() as u64, n("logTime_unix"));
            assert_eq!(f.serial, serial);
            assert_eq!(f.algorithm, t["signature_algorithm"].as_str().unwrap());
            let form = match s("processData_encoding") {
                "DER-primitive" => ProcessDataForm::Primitive,
                "BER-constructed-indefinite" => ProcessDataForm::ConstructedIndefinite,
                other => panic!("unknown encoding {other}"),
            };
            assert_eq!(f.process_data_form, Some(form));
            if want_verdict == LogVerdict::Valid {
                assert_eq!(f.process_data.as_deref(), Some(s("processData")));
            } else {
                // What was changed after signing (spec: 11.90 -> 11.80).
                assert_eq!(
                    f.process_data.as_deref(),
                    Some(s("processData").replacen("11.90", "11.80", 1).as_str())
                );
            }

            let entry = entries.iter().find(|e| e.name == file).unwrap();
            let m = message::parse(entry.data).unwrap();
            assert_eq!(B64.encode(&m.signature), s("signature_b64"));
        }
        let c = report.counts();
        let n_invalid = usize::from(invalid_file.is_some());
        assert_eq!(
            (c.valid, c.invalid, c.problems),
            (4 - n_invalid, n_invalid, 0)
        );
        assert_eq!(report.is_clean(), invalid_file.is_none());
    }
}

/// A log removed from the middle of an export leaves a signatureCounter gap between its
/// neighbours; the transaction it started is reported as having no Start.
#[test]
fn tar_export_missing_log_is_a_gap() {
    let bytes = without_entry(
        &tar_bytes("synthetic_export.tar"),
        "Unixt_1717236120_Sig-3_Log-Tra_No-2_Start_Client-KASSE-01.log",
    );
    let report = verify_export(&bytes).unwrap();
    assert_eq!(report.logs.len(), 3);
    let tse = &report.tses[0];
    assert_eq!(
        tse.gaps,
        [Gap {
            after: 2,
            before: 4,
            missing: 1,
            after_file: TAMPERED_FILE.into(),
            before_file: "Unixt_1717236123_Sig-4_Log-Tra_No-2_Finish_Client-KASSE-01.log".into(),
        }]
    );
    assert_eq!(
        tse.problems,
        [format!(
            "signatureCounter gap: 1 missing between 2 ({TAMPERED_FILE}) and 4 (Unixt_1717236123_Sig-4_Log-Tra_No-2_Finish_Client-KASSE-01.log)"
        )]
    );
    assert_eq!(
        tse.notes,
        ["no Start log in this export for 1 transaction(s) (started before it?): 2"]
    );
    assert_eq!(report.counts().valid, 3);
    assert!(!report.is_clean());
}

/// Rewriting a stored signatureCounter (4 -> 6): the signature fails, the file name no longer
/// agrees, and the counters show a gap of exactly the two skipped values.
#[test]
fn tar_export_rewritten_counter() {
    let mut bytes = tar_bytes("synthetic_export.tar");
    // signatureCounter 4 (02 01 04) followed by logTime 1717236123 (02 04 66 5A F1 9B).
    let pattern = [0x02, 0x01, 0x04, 0x02, 0x04, 0x66, 0x5A, 0xF1, 0x9B];
    let at = bytes.windows(9).position(|w| w == pattern).unwrap();
    bytes[at + 2] = 0x06;
    let report = verify_export(&bytes).unwrap();
    let file = "Unixt_1717236123_Sig-4_Log-Tra_No-2_Finish_Client-KASSE-01.log";
    let log = report.logs.iter().find(|l| l.file == file).unwrap();
    assert_eq!(log.verdict, LogVerdict::Invalid);
    assert_eq!(
        log.problems,
        ["file name says Sig-4, the message has signatureCounter 6"]
    );
    let tse = &report.tses[0];
    assert_eq!(
        tse.gaps
            .iter()
            .map(|g| (g.after, g.before, g.missing, g.before_file.as_str()))
            .collect::<Vec<_>>(),
        [(3, 6, 2, file)]
    );
    assert_eq!((tse.counter_first, tse.counter_last), (1, 6));
}

/// Without the TSE's certificate no log can be verified; a signature algorithm this build
/// does not implement makes the log unsupported, not invalid.
#[test]
fn tar_export_missing_certificate_and_unknown_algorithm() {
    let tse_cert = "42B8EA73525EFC28A892423FE5665E5B7AFFC03254AD02E81C7DC5FC61F2C3E7_X509.der";
    let report =
        verify_export(&without_entry(&tar_bytes("synthetic_export.tar"), tse_cert)).unwrap();
    assert!(report.logs.iter().all(|l| l.verdict == LogVerdict::Invalid
        && l.signature.is_none()
        && l.problems
            == ["no certificate in the export holds the key of serialNumber 42b8ea73525efc28a892423fe5665e5b7affc03254ad02e81c7dc5fc61f2c3e7"]));
    assert_eq!(report.tses[0].certificate, None);
    assert!(report.tses[0].problems[0].starts_with("no certificate in the export"));

    let mut bytes = tar_bytes("synthetic_export.tar");
    // ecdsa-plain-SHA384 (…04 01 04) -> ecdsa-plain-SHA3-256 (…04 01 09) in every log.
    let oid = [
        0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x04,
    ];
    let mut n = 0;
    while let Some(at) = bytes.windows(12).position(|w| w == oid) {
        bytes[at + 11] = 0x09;
        n += 1;
    }
    assert_eq!(n, 4);
    let report = verify_export(&bytes).unwrap();
    for log in &report.logs {
        assert_eq!(log.verdict, LogVerdict::Unsupported);
        assert_eq!(
            log.problems,
            [
                "signature algorithm 0.4.0.127.0.7.1.1.4.1.9 is not one this build verifies (ecdsa-plain-SHA224/256/384/512)"
            ]
        );
        assert_eq!(
            log.fields.as_ref().unwrap().algorithm,
            "0.4.0.127.0.7.1.1.4.1.9"
        );
    }
    assert_eq!(report.counts().unsupported, 4);
    assert!(!report.is_clean());
}

#[test]
fn cli_tse_tar_valid_export_exits_0() {
    let out = fiskal()
        .current_dir(dir("synthetic"))
        .args(["verify", "tse-tar", "synthetic_export.tar"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(
        "4 log messages: 4 valid, 0 invalid, 0 unsupported, 0 unparsable; TSEs: 1; other problems: 0"
    ));
    insta::assert_snapshot!("tse_tar_valid_export", text);
}

#[test]
fn cli_tse_tar_tampered_export_exits_1_with_diagnostics() {
    fiskal()
        .current_dir(dir("synthetic"))
        .args(["verify", "tse-tar", "synthetic_export_tampered.tar"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "{TAMPERED_FILE}: signature INVALID (brainpoolP384r1, ecdsa-plain-SHA384)\n  problem: signature does not verify over the stored to-be-signed bytes (brainpoolP384r1 with a plain signature)"
        )))
        .stdout(predicate::str::contains(
            "key serial (SHA-256 of point): 42b8ea73525efc28a892423fe5665e5b7affc03254ad02e81c7dc5fc61f2c3e7",
        ))
        .stdout(predicate::str::contains(
            "to-be-signed (stored bytes): 020102060904007f000703070101801146696e697368",
        ))
        .stdout(predicate::str::contains("4 valid").not())
        .stdout(predicate::str::contains(
            "logs: 4 (4 transaction, 0 system, 0 audit): 3 valid, 1 invalid, 0 unsupported",
        ));
}

#[test]
fn cli_tse_tar_json_lines() {
    let out = fiskal()
        .args(["verify", "tse-tar", "--json"])
        .arg(dir("synthetic").join("synthetic_export_tampered.tar"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(out);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "tse_tar_log",
            "tse_tar_log",
            "tse_tar_log",
            "tse_tar_log",
            "tse_tar_certificate",
            "tse_tar_certificate",
            "tse_tar_tse",
            "tse_tar_summary"
        ]
    );
    let bad = &lines[1];
    assert_eq!(bad["file"], TAMPERED_FILE);
    assert_eq!(bad["verdict"], "invalid");
    assert_eq!(bad["kind"], "transaction");
    assert_eq!(bad["operation_type"], "FinishTransaction");
    assert_eq!(bad["signature_counter"], 2);
    assert_eq!(bad["transaction_number"], 1);
    assert_eq!(bad["log_time"], "2024-06-01T10:01:03Z");
    assert_eq!(bad["time_format"], "unixTime");
    assert_eq!(bad["process_data_form"], "primitive");
    assert_eq!(bad["signature"]["verdict"], "invalid");
    assert_eq!(bad["signature"]["curve"], "brainpoolP384r1");
    assert_eq!(bad["signature"]["key_format"], "spki");
    assert!(
        bad["signature"]["tbs_hex"]
            .as_str()
            .unwrap()
            .starts_with("020102")
    );
    let ber = &lines[3];
    assert_eq!(ber["verdict"], "valid");
    assert_eq!(ber["process_data_form"], "constructed_indefinite");
    assert_eq!(ber["process_data_chunks"], 1);
    assert!(ber["signature"].get("tbs_hex").is_none());
    let tse = &lines[6];
    assert_eq!(tse["counter_first"], 1);
    assert_eq!(tse["counter_last"], 4);
    assert_eq!(tse["gaps"], serde_json::json!([]));
    assert_eq!(tse["clients"], serde_json::json!(["KASSE-01"]));
    assert_eq!(tse["valid"], 3);
    assert_eq!(tse["invalid"], 1);
    let summary = &lines[7];
    assert_eq!(summary["logs"], 4);
    assert_eq!(summary["invalid"], 1);
    assert_eq!(summary["tses"], 1);
    assert_eq!(summary["problems"], 0);
    assert_eq!(summary["info"]["manufacturer"], "none");
}

#[test]
fn cli_tse_tar_gap_exits_1_and_is_named() {
    let w = Workdir::new();
    let p = w.write(
        "gap.tar",
        without_entry(
            &tar_bytes("synthetic_export.tar"),
            "Unixt_1717236120_Sig-3_Log-Tra_No-2_Start_Client-KASSE-01.log",
        ),
    );
    let out = fiskal()
        .args(["verify", "tse-tar", "--json"])
        .arg(&p)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    fiskal()
        .args(["verify", "tse-tar"])
        .arg(&p)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "  signatureCounter: 1 to 4, gaps: 1, repeated: 0",
        ))
        .stdout(predicate::str::contains(format!(
            "  problem: signatureCounter gap: 1 missing between 2 ({TAMPERED_FILE}) and 4"
        )))
        .stdout(predicate::str::contains(
            "  note: no Start log in this export for 1 transaction(s) (started before it?): 2",
        ))
        .stdout(predicate::str::contains("other problems: 1"));
    let lines = json_lines(out);
    let tse = lines.iter().find(|l| l["type"] == "tse_tar_tse").unwrap();
    assert_eq!(
        tse["gaps"],
        serde_json::json!([{
            "after": 2,
            "before": 4,
            "missing": 1,
            "after_file": TAMPERED_FILE,
            "before_file": "Unixt_1717236123_Sig-4_Log-Tra_No-2_Finish_Client-KASSE-01.log"
        }])
    );
}

#[test]
fn cli_tse_tar_unreadable_input_exits_2() {
    fiskal()
        .args(["verify", "tse-tar", "/nonexistent/export.tar"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/export.tar",
        ));
    fiskal()
        .args(["verify", "tse-tar"])
        .arg(dir("synthetic").join("qr.txt"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not a readable tar archive: header at byte 0",
        ));
    let w = Workdir::new();
    let empty = w.write("empty.tar", "");
    fiskal()
        .args(["verify", "tse-tar"])
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the file is empty"));
    let certs_only = without_entry(
        &without_entry(
            &without_entry(
                &without_entry(
                    &tar_bytes("synthetic_export.tar"),
                    "Unixt_1717236060_Sig-1_Log-Tra_No-1_Start_Client-KASSE-01.log",
                ),
                TAMPERED_FILE,
            ),
            "Unixt_1717236120_Sig-3_Log-Tra_No-2_Start_Client-KASSE-01.log",
        ),
        "Unixt_1717236123_Sig-4_Log-Tra_No-2_Finish_Client-KASSE-01.log",
    );
    let p = w.write("certs.tar", certs_only);
    fiskal()
        .args(["verify", "tse-tar"])
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no TSE log message (*.log) among the 3 files",
        ));
    fiskal().args(["verify", "tse-tar"]).assert().code(2);
}

#[test]
fn cli_tse_tar_reads_stdin() {
    fiskal()
        .args(["verify", "tse-tar", "-"])
        .write_stdin(tar_bytes("synthetic_export.tar"))
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("-: 7 files, 4 log messages"));
}
