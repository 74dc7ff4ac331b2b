//! KassenSichV in `fiskal check`: synthetic German histories carry genuine signatures of both
//! TSE families, every one of them verifies, and the signature rules see what master data
//! supplies and what it does not.

use std::path::Path;

use fiskal::regime::kassensichv::{Curve, Verdict, parse_qr, verify};
use fiskal::synth::{SynthOptions, SynthRegime, SynthShape, generate};
use serde_json::Value;

use crate::util::{Workdir, fiskal, json_file, json_lines, ndjson_files};

fn german(out: &Path, seed: u64) -> SynthOptions {
    SynthOptions {
        registers: 4,
        days: 2,
        ops_per_day: 15,
        seed,
        regime: SynthRegime::Kassensichv,
        shape: SynthShape::Mixed,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        inject: Vec::new(),
        placeholder_tse_signatures: false,
        out: out.to_path_buf(),
    }
}

fn records(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for f in ndjson_files(dir) {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            out.push(serde_json::from_str(line).unwrap());
        }
    }
    out
}

fn qr_of(op: &Value) -> Option<&str> {
    op["fiscal"]["verification"]["qr_data"]
        .as_str()
        .or(op["fiscal_information"]["verification"]["qr_data"].as_str())
}

/// Every receipt QR code synth writes verifies, on both TSE curves.
#[test]
fn synth_signatures_verify_one_hundred_percent() {
    let w = Workdir::new();
    let out = w.path("de");
    generate(&german(&out, 3), &|_| {}).unwrap();
    let mut curves = std::collections::BTreeMap::new();
    let mut n = 0;
    for op in records(&out) {
        let Some(qr) = qr_of(&op) else { continue };
        let v = verify(&parse_qr(qr).unwrap());
        assert_eq!(v.verdict, Verdict::Valid, "{}: {v:?}", op["id"]);
        *curves.entry(format!("{:?}", v.curve.unwrap())).or_insert(0) += 1;
        n += 1;
    }
    assert!(n > 100, "only {n} signed receipts");
    assert_eq!(
        curves.keys().cloned().collect::<Vec<_>>(),
        [
            format!("{:?}", Curve::BrainpoolP384r1),
            format!("{:?}", Curve::P256)
        ]
    );

    let run = fiskal()
        .arg("check")
        .arg(&out)
        .arg("--json")
        .assert()
        .code(0);
    let lines = json_lines(run.get_output().stdout.clone());
    assert!(lines.iter().all(|l| l["type"] != "finding"));
}

/// A v1.1 block without key and algorithm (the older API shape) is verified with the key from
/// master data as far as it goes; without master data the key is what TSE007 reports missing.
#[test]
fn master_data_supplies_the_key_of_older_blocks() {
    let w = Workdir::new();
    let out = w.path("de");
    generate(&german(&out, 5), &|_| {}).unwrap();
    // reg_de_02 is the v1.1 register (brainpoolP384r1): drop key, algorithm and QR code.
    let path = out.join("reg_de_02.ndjson");
    let mut stripped = String::new();
    let mut signed = 0;
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let mut op: Value = serde_json::from_str(line).unwrap();
        if let Some(f) = op["fiscal_information"].as_object_mut() {
            f.remove("signature_algorithm");
            f.remove("time_format");
            f.remove("verification");
            f["end_event"].as_object_mut().unwrap().remove("public_key");
            signed += 1;
        }
        stripped.push_str(&op.to_string());
        stripped.push('\n');
    }
    assert!(signed > 10);
    let data = w.write("in/reg_de_02.ndjson", stripped);

    // Master data fills in key, algorithm and time format; what is still missing then is the
    // signature counter, which only a QR code carries (the block's one counter is the
    // transaction number), and TSE007 names it.
    let md = out.join("masterdata.toml");
    let with_md = fiskal()
        .arg("check")
        .arg(&data)
        .arg("--master-data")
        .arg(&md)
        .arg("--json")
        .assert()
        .code(0);
    let findings: Vec<Value> = json_lines(with_md.get_output().stdout.clone())
        .into_iter()
        .filter(|l| l["type"] == "finding")
        .collect();
    assert_eq!(findings.len(), signed, "{findings:#?}");
    assert!(
        findings.iter().all(|f| f["code"] == "TSE007"
            && f["severity"] == "warning"
            && f["found"] == "missing: signatureCounter"),
        "{:#?}",
        findings[0]
    );

    // Without master data key, algorithm and time format are missing too.
    let without = fiskal()
        .arg("check")
        .arg(&data)
        .arg("--json")
        .assert()
        .code(0);
    let findings: Vec<Value> = json_lines(without.get_output().stdout.clone())
        .into_iter()
        .filter(|l| l["type"] == "finding")
        .collect();
    assert_eq!(findings.len(), signed);
    assert!(
        findings.iter().all(|f| f["code"] == "TSE007"
            && f["found"]
                == "missing: signatureCounter, signatureAlgorithm, logTimeFormat, publicKey"),
        "{:#?}",
        findings[0]
    );
}

/// Codes of the findings in an audit directory's findings.jsonl.
fn finding_codes(dir: &Path) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(dir.join("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `--no-signatures` leaves out the signature verification and nothing else: a flipped
/// signature bit goes unreported, the counter gap and the wrong signed amounts do not; a
/// history with placeholder signatures fails verification unless it is skipped.
#[test]
fn no_signatures_skips_only_the_signatures() {
    let w = Workdir::new();
    let hist = w.path("hist");
    fiskal()
        .args([
            "synth",
            "--registers",
            "6",
            "--days",
            "2",
            "--ops-per-day",
            "12",
        ])
        .args([
            "--regime", "mixed", "--shape", "mixed", "--seed", "5", "--quiet",
        ])
        .args([
            "--inject",
            "bad-signature",
            "--inject",
            "fiscal-counter-gap",
        ])
        .args(["--inject", "wrong-process-data", "--out"])
        .arg(&hist)
        .assert()
        .success();
    let planted = json_file(&hist.join("_injected.json"));
    let planted = planted.as_array().unwrap();
    let rule = |a: &str| {
        planted
            .iter()
            .find(|p| p["anomaly"] == a)
            .unwrap_or_else(|| panic!("{a} planted"))["rule"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (with, without) = (w.path("with"), w.path("without"));
    fiskal()
        .args(["audit", "--quiet", "--out"])
        .arg(&with)
        .arg(&hist)
        .assert()
        .code(1);
    fiskal()
        .args(["audit", "--quiet", "--no-signatures", "--out"])
        .arg(&without)
        .arg(&hist)
        .assert()
        .code(1);
    let (a, b) = (finding_codes(&with), finding_codes(&without));
    assert!(
        a.contains("TSE001") && !b.contains("TSE001"),
        "{a:?} / {b:?}"
    );
    for kept in [rule("fiscal-counter-gap"), rule("wrong-process-data")] {
        assert!(
            a.contains(&kept) && b.contains(&kept),
            "{kept}: {a:?} / {b:?}"
        );
    }
    // The DEP7 files written are verified without signatures too.
    let summary = json_file(&without.join("summary.json"));
    for d in summary["dep7"].as_array().unwrap() {
        assert_eq!(d["verification"]["signatures_valid"], 0);
        assert!(d["verification"]["counters_checked"].as_u64().unwrap() > 0);
    }

    let fast = w.path("fast");
    fiskal()
        .args([
            "synth",
            "--registers",
            "3",
            "--days",
            "1",
            "--ops-per-day",
            "10",
        ])
        .args(["--regime", "kassensichv", "--seed", "5", "--quiet"])
        .args(["--placeholder-tse-signatures", "--out"])
        .arg(&fast)
        .assert()
        .success();
    fiskal()
        .args(["check", "--quiet", "--no-signatures"])
        .arg(&fast)
        .assert()
        .code(0);
    let out = fiskal()
        .args(["check", "--json"])
        .arg(&fast)
        .assert()
        .code(1);
    let failed = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .filter(|l| l.contains("\"TSE001\""))
        .count();
    assert!(failed > 10, "every placeholder signature fails: {failed}");
}
