//! KassenSichV TSE signatures: every conformance QR vector against its expected verdict, and
//! the `fiskal verify tse-qr` command (exit codes, JSON lines, stdin).

use std::path::PathBuf;

use fiskal::regime::kassensichv::logmsg::{dtbs, hex};
use fiskal::regime::kassensichv::{ProcessDataEncoding, Verdict, parse_qr, verify};
use predicates::prelude::*;

use crate::util::{Workdir, fiskal, json_lines};

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
