//! RKSV from operation histories: synthetic cash boxes sign genuine receipts, `check` replays
//! them (signature, chain, counter, amounts per rate), and `export dep7` writes DEP7 files that
//! the verifier passes clean — while every fault planted in a history or an export is found at
//! exactly its receipt.

use std::path::Path;

use fiskal::regime::rksv::dep::{Finding, KeyMaterial, Summary, Verifier};
use fiskal::synth::{Anomaly, SynthOptions, SynthRegime, SynthShape, generate};

use crate::util::{Workdir, finding_keys, fiskal, json_lines};

fn synth(dir: &Path, shape: SynthShape, days: u32, inject: Vec<Anomaly>) {
    generate(
        &SynthOptions {
            registers: 2,
            days,
            ops_per_day: 25,
            seed: 11,
            regime: SynthRegime::Rksv,
            shape,
            // Across a month end, so that a Monatsbeleg follows the Startbeleg.
            start: chrono::NaiveDate::from_ymd_opt(2026, 6, 29).unwrap(),
            inject,
            placeholder_tse_signatures: false,
            out: dir.to_path_buf(),
        },
        &|_| {},
    )
    .unwrap();
}

/// `(code, operation id)` of every finding `fiskal check` reports.
fn check(dir: &Path) -> Vec<(String, String)> {
    let out = fiskal()
        .arg("check")
        .arg(dir)
        .arg("--json")
        .output()
        .unwrap();
    finding_keys(out.stdout)
}

fn export(input: &Path, out: &Path) -> Vec<serde_json::Value> {
    let o = fiskal()
        .args(["export", "dep7", "--json", "--out"])
        .arg(out)
        .arg(input)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    json_lines(o)
        .into_iter()
        .filter(|v| v["type"] == "dep7")
        .collect()
}

/// The AES key of cash box `cashbox` from the synthetic master data.
fn aes_key(dir: &Path, cashbox: &str) -> [u8; 32] {
    let md: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.join("masterdata.toml")).unwrap()).unwrap();
    let entry = md["rksv"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cashbox_id"].as_str() == Some(cashbox))
        .unwrap();
    let key = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        entry["aes_key"].as_str().unwrap(),
    )
    .unwrap();
    key.try_into().unwrap()
}

/// Verifies DEP7 bytes with the AES key; the signing certificate comes from the DEP's group.
fn verify(dep: &[u8], aes: [u8; 32]) -> (Vec<Finding>, Summary) {
    let mut keys = KeyMaterial::default();
    keys.aes_key = Some(aes);
    let mut found = Vec::new();
    let mut sink = |f: Finding| found.push(f);
    let mut v = Verifier::new(&keys, &mut sink);
    v.file("dep.json", dep);
    let s = v.finish();
    (found, s)
}

fn receipts(dep: &serde_json::Value) -> Vec<String> {
    dep["Belege-Gruppe"][0]["Belege-kompakt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn with_receipts(dep: &serde_json::Value, r: Vec<String>) -> Vec<u8> {
    let mut d = dep.clone();
    d["Belege-Gruppe"][0]["Belege-kompakt"] = r.into();
    serde_json::to_vec(&d).unwrap()
}

/// `(code, receipt id)` pairs, in the verifier's order.
fn codes(found: &[Finding]) -> Vec<(&str, &str)> {
    found
        .iter()
        .map(|f| (f.code, f.receipt.as_deref().unwrap_or("")))
        .collect()
}

#[test]
fn synthetic_histories_check_clean_and_export_verified_dep7_files() {
    for shape in [SynthShape::Register, SynthShape::Operations] {
        let w = Workdir::new();
        let input = w.path("in");
        synth(&input, shape, 3, Vec::new());
        assert_eq!(check(&input), [], "{shape:?}");
        let files = export(&input, &w.path("dep7"));
        assert_eq!(files.len(), 2, "{shape:?}");
        for f in &files {
            let v = &f["verification"];
            let n = f["receipts"].as_u64().unwrap();
            // Three days of 25 goods operations plus cash movements and null receipts.
            assert!(n > 75, "{shape:?}: {n} receipts");
            assert_eq!(v["signatures_valid"].as_u64(), Some(n), "{shape:?} {f}");
            assert_eq!(v["errors"], 0);
            assert_eq!(v["warnings"], 0);
            assert_eq!(f["findings"], serde_json::json!({}));
            // Counters are decrypted wherever the receipt is not training or storno.
            assert!(v["counters_checked"].as_u64().unwrap() > n / 2);
            let dep: serde_json::Value =
                serde_json::from_slice(&std::fs::read(f["path"].as_str().unwrap()).unwrap())
                    .unwrap();
            let r = receipts(&dep);
            // The Startbeleg and, on 2026-07-01, the Monatsbeleg: all five amounts zero.
            let nulls: Vec<usize> = r
                .iter()
                .enumerate()
                .filter(|(_, j)| payload(j).contains("_0,00_0,00_0,00_0,00_0,00_"))
                .map(|(i, _)| i)
                .collect();
            assert!(nulls.len() >= 2 && nulls[0] == 0, "{shape:?}: {nulls:?}");
            assert!(r.iter().any(|j| payload(j).contains("_VFJB_")) || n < 100);
        }
    }
}

fn payload(jws: &str) -> String {
    let p = jws.split('.').nth(1).unwrap();
    String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).unwrap(),
    )
    .unwrap()
}

#[test]
fn faults_planted_in_an_exported_dep_are_found_at_their_receipt() {
    let w = Workdir::new();
    let input = w.path("in");
    synth(&input, SynthShape::Operations, 2, Vec::new());
    let files = export(&input, &w.path("dep7"));
    let f = &files[0];
    let aes = aes_key(&input, f["cashbox"].as_str().unwrap());
    let bytes = std::fs::read(f["path"].as_str().unwrap()).unwrap();
    let dep: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let r = receipts(&dep);
    let id = |i: usize| payload(&r[i]).split('_').nth(3).unwrap().to_string();
    let (clean, s) = verify(&bytes, aes);
    assert_eq!(clean, []);
    assert_eq!(s.receipts as usize, r.len());

    // A dropped receipt: the next one chains to a receipt that is not there and its counter
    // lacks the dropped amounts (unless those were zero or training).
    let mut dropped = r.clone();
    dropped.remove(5);
    let (found, _) = verify(&with_receipts(&dep, dropped), aes);
    assert_eq!(codes(&found)[0], ("RKS030", id(6).as_str()));
    assert!(found.iter().all(|f| f.receipt.as_deref() == Some(&id(6))));

    // Two receipts swapped: both break the chain.
    let mut swapped = r.clone();
    swapped.swap(7, 8);
    let (found, _) = verify(&with_receipts(&dep, swapped), aes);
    let chain: Vec<(&str, &str)> = codes(&found)
        .into_iter()
        .filter(|c| c.0 == "RKS030")
        .collect();
    assert_eq!(
        chain,
        [
            ("RKS030", id(8).as_str()),
            ("RKS030", id(7).as_str()),
            ("RKS030", id(9).as_str())
        ]
    );

    // A receipt repeated: the id is used twice and the copy does not chain.
    let mut repeated = r.clone();
    repeated.insert(4, r[3].clone());
    let (found, _) = verify(&with_receipts(&dep, repeated), aes);
    let c = codes(&found);
    assert!(c.contains(&("RKS040", id(3).as_str())), "{c:?}");

    // An amount changed after signing: the signature no longer holds.
    let mut altered = r.clone();
    let (h, rest) = r[10].split_once('.').unwrap();
    let (p, sig) = rest.split_once('.').unwrap();
    let text = payload(&r[10]);
    let mut fields: Vec<String> = text.split('_').map(str::to_string).collect();
    fields[5] = "999,99".into();
    let changed = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        fields.join("_"),
    );
    assert_ne!(changed, p);
    altered[10] = format!("{h}.{changed}.{sig}");
    let (found, _) = verify(&with_receipts(&dep, altered), aes);
    let c = codes(&found);
    assert!(c.contains(&("RKS011", id(10).as_str())), "{c:?}");

    // Without the Startbeleg the first receipt does not chain to the Kassen-ID.
    let (found, _) = verify(&with_receipts(&dep, r[1..].to_vec()), aes);
    assert_eq!(codes(&found)[0], ("RKS020", id(1).as_str()));

    // A wrong AES key: every decrypted counter but the first is off, reported once each.
    let mut wrong = aes;
    wrong[0] ^= 1;
    let (found, _) = verify(&bytes, wrong);
    assert!(!found.is_empty() && found.iter().all(|f| f.code == "RKS031"));
}

#[test]
fn faults_planted_in_a_history_are_found_at_their_operation() {
    let w = Workdir::new();
    let input = w.path("in");
    synth(
        &input,
        SynthShape::Register,
        2,
        vec![Anomaly::FiscalCounterGap],
    );
    let injected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(input.join("_injected.json")).unwrap()).unwrap();
    let gap_op = injected[0]["operation_id"].as_str().unwrap().to_string();
    // A skipped receipt number is a gap in the numbering, not a broken chain: the chain runs
    // over the receipts themselves.
    assert_eq!(check(&input), [("FIS002".to_string(), gap_op)]);

    // Change one receipt's amount in the history's code: its signature fails, its amounts no
    // longer match its operation's, and the next receipt no longer chains to it.
    let file = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let (k, target) = lines
        .iter()
        .enumerate()
        .skip(10)
        .find(|(_, l)| l.contains("\"type\":\"sale\"") && l.contains("R1-AT100"))
        .map(|(k, l)| (k, l.clone()))
        .unwrap();
    let op_id = serde_json::from_str::<serde_json::Value>(&target).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let code_at = target.find("_R1-AT100_").unwrap();
    let amounts_at = code_at + target[code_at..].match_indices('_').nth(4).unwrap().0 + 1;
    let mut tampered = target.clone();
    tampered.insert(amounts_at, '1');
    lines[k] = tampered;
    let next_op = lines[k + 1..]
        .iter()
        .find(|l| l.contains("R1-AT100"))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .unwrap();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let found = check(&input);
    let at = |code: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|(c, _)| c == code)
            .map(|(_, o)| o.as_str())
            .collect()
    };
    assert_eq!(at("RKS011"), [op_id.as_str()]);
    assert_eq!(at("RKS103"), [op_id.as_str()]);
    assert_eq!(at("RKS030"), [next_op.as_str()]);
}

#[test]
fn the_demo_dep7_export_is_stable() {
    let w = Workdir::new();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let files = export(&demo, &w.path("dep7"));
    assert_eq!(files.len(), 2);
    for f in files {
        let name = Path::new(f["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(f["path"].as_str().unwrap()).unwrap();
        insta::assert_snapshot!(format!("demo_{name}"), text);
    }
}
