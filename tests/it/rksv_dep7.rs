//! The DEP7 verifier on the RKSV conformance data (fixtures/conformance/rksv, cases.json):
//! every case gets its expected verdict, and for an invalid one the first error names the
//! expected error class (through `dep::ZTP_CLASSES`) at the expected receipt; then
//! `fiskal verify dep7` itself, with its trust store and its state across runs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use fiskal::model::Severity;
use fiskal::regime::rksv::dep::{self, Finding, KeyMaterial, Summary, Verifier};
use fiskal::regime::rksv::trust::TrustStore;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/rksv")
}

/// Cluster cases chain the DEPs of several registers of one closed system (the Startbeleg of
/// register k+1 chains to that of register k). That is a ztp extension no BMF text describes
/// (spec rksv.md §4.2); fiskal checks one register per run and does not claim these.
const NOT_CLAIMED: &[&str] = &["ztp/cluster_tests/"];

/// Cases whose verdict depends on a trust store: only checked with one. ztp's key store is
/// the case's crypto container, and so is its trust store: the container's certificates are
/// the anchors (spec rksv.md §4.5). For the open variant these are the generated roots
/// `generated/keys/devN.crt`; test_cert_untrusted leaves the root out (ztp `omitRootCert`),
/// so its container holds no certificate at all and nothing is trusted.
const NEEDS_TRUST: &[&str] = &["ztp/test_cert_untrusted"];

/// The anchors ztp used for a case: the certificates of its crypto container.
fn container_trust(keys: &KeyMaterial) -> TrustStore {
    TrustStore::new(keys.certificates().into_iter().cloned().collect())
}

fn has_container(case: &serde_json::Value) -> bool {
    !matches!(case.get("cryptoContainer"), Some(serde_json::Value::Null))
}

fn run_case(case: &serde_json::Value) -> (Vec<Finding>, Summary) {
    run_case_with(case, false)
}

/// Runs a case, with the trust check against its container's certificates when `trusted`.
fn run_case_with(case: &serde_json::Value, trusted: bool) -> (Vec<Finding>, Summary) {
    let dir = root().join(case["dir"].as_str().unwrap());
    let container = match case.get("cryptoContainer") {
        Some(serde_json::Value::String(p)) => Some(root().join(p)),
        Some(serde_json::Value::Null) => None,
        _ => Some(dir.join("cryptographicMaterialContainer.json")),
    };
    let mut keys = match container {
        Some(p) => KeyMaterial::from_container(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        None => KeyMaterial::default(),
    };
    if keys.aes_key.is_none()
        && let Some(from) = case.get("aesKeyFrom").and_then(|v| v.as_str())
    {
        let spec_file = from.split(' ').next().unwrap();
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root().join(spec_file)).unwrap()).unwrap();
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            spec["base64AesKey"].as_str().unwrap(),
        )
        .unwrap();
        keys.aes_key = Some(key.try_into().unwrap());
    }
    let trust = container_trust(&keys);
    let mut found = Vec::new();
    let mut sink = |f: Finding| found.push(f);
    let mut v = Verifier::new(&keys, &mut sink);
    if trusted {
        v = v.with_trust(&trust);
    }
    for f in case["files"].as_array().unwrap() {
        let name = f.as_str().unwrap();
        v.file(name, &std::fs::read(dir.join(name)).unwrap());
    }
    let summary = v.finish();
    (found, summary)
}

fn ztp_class(code: &str) -> &'static str {
    dep::ZTP_CLASSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("?", |(_, z)| z)
}

/// Why the findings of a case are not its expected verdict, or `None` when they are.
fn misjudged(
    name: &str,
    case: &serde_json::Value,
    found: &[Finding],
    summary: &Summary,
) -> Option<String> {
    let errors: Vec<&Finding> = found
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let expected = &case["expected"];
    match expected["valid"].as_bool() {
        Some(true) => errors
            .first()
            .map(|f| format!("{name}: expected valid, found {f:?}")),
        Some(false) => {
            let want = expected["error"].as_str().unwrap();
            let want_receipt = expected["receipt"].as_str();
            let Some(f) = errors.first() else {
                return Some(format!("{name}: expected {want}, found no error"));
            };
            let class = ztp_class(f.code);
            let receipt_ok = want_receipt.is_none_or(|r| f.receipt.as_deref() == Some(r));
            (class != want || !receipt_ok).then(|| {
                format!(
                    "{name}: expected {want} at {want_receipt:?}, first error {} ({class}) at {:?}: expected {}, found {}",
                    f.code, f.receipt, f.expected, f.found
                )
            })
        }
        // No key material: every signature is "not verifiable"; structure, chain and
        // counter must still hold.
        None => {
            assert_eq!(expected["structureChainCounterValid"], true, "{name}");
            if let Some(f) = errors.iter().find(|f| f.code != "RKS010") {
                return Some(format!("{name}: expected only missing keys, found {f:?}"));
            }
            (summary.receipts == 0
                || errors.len() as u64 != summary.receipts - summary.device_failed)
                .then(|| {
                    format!(
                        "{name}: every signed receipt lacks a key: {} of {}",
                        errors.len(),
                        summary.receipts
                    )
                })
        }
    }
}

/// Every claimed case gets its verdict without a trust store, and again with its
/// container's certificates as trust anchors (ztp's own setting); the trust-store cases get
/// theirs with it.
#[test]
fn every_conformance_case_gets_its_verdict() {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("cases.json")).unwrap()).unwrap();
    let cases = index["cases"].as_array().unwrap();
    let mut wrong = Vec::new();
    let (mut checked, mut not_claimed, mut checked_with_trust) = (0, 0, 0);
    let mut missing_data = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let name = format!(
            "{} {}",
            case["case"].as_str().unwrap(),
            case["variant"].as_str().unwrap_or("")
        );
        let starts = |list: &[&str]| {
            list.iter()
                .any(|p| case["case"].as_str().unwrap().starts_with(p))
        };
        if starts(NOT_CLAIMED) {
            not_claimed += 1;
            continue;
        }
        // boatpos szenario02 names the crypto container of the official open-S2 example, which
        // the conformance data does not hold (asit-example-0.7.1/SOURCES.md lists it, the
        // folder has only closed-S1).
        if let Some(p) = case.get("cryptoContainer").and_then(|v| v.as_str())
            && !root().join(p).exists()
        {
            missing_data.push(name);
            continue;
        }
        checked += 1;
        let needs_trust = starts(NEEDS_TRUST);
        if !needs_trust {
            let (found, summary) = run_case(case);
            seen.extend(found.iter().map(|f| f.code));
            wrong.extend(misjudged(&name, case, &found, &summary));
        }
        if has_container(case) {
            checked_with_trust += 1;
            let (found, summary) = run_case_with(case, true);
            seen.extend(found.iter().map(|f| f.code));
            wrong.extend(misjudged(
                &format!("{name} (trusted)"),
                case,
                &found,
                &summary,
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(missing_data, ["boatpos-example/szenario02 "]);
    assert_eq!(checked + not_claimed + missing_data.len(), cases.len());
    assert_eq!(not_claimed, 13, "cluster cases not claimed");
    assert_eq!(checked, 215);
    // All but the five official boatpos outputs that come without key material.
    assert_eq!(checked_with_trust, 210);
    // Every check fires somewhere in the conformance data, but for those the unit tests of
    // `regime::rksv::dep` and `regime::rksv::trust` exercise on purpose-made DEPs and
    // certificates: no case is too long or too early for the Prüftool (ztp checks neither),
    // and no case has a broken chain or a serial collision.
    let unseen: Vec<&str> = dep::CHECKS
        .iter()
        .map(|c| c.code)
        .filter(|c| !seen.contains(c))
        .collect();
    assert_eq!(
        unseen,
        [
            "RKS007", "RKS008", "RKS032", "RKS050", "RKS052", "RKS061", "RKS062"
        ],
        "seen: {seen:?}"
    );
}

/// The official closed-system example: all 81 receipts, the signatures that exist verify,
/// and the running counter ends at the official final value (spec rksv.md §8).
#[test]
fn official_closed_example_ends_at_its_final_counter() {
    let case = serde_json::json!({
        "dir": "asit-example-0.7.1/closed-S1",
        "files": ["dep-export.json"],
        "cryptoContainer": "asit-example-0.7.1/closed-S1/cryptographicMaterialContainer.json",
    });
    let (found, s) = run_case(&case);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(s.receipts, 81);
    assert_eq!(s.final_counter, 1_324_168);
    assert_eq!(s.signatures_valid + s.device_failed, 81);
    assert!(s.device_failed > 10, "{s:?}");
    assert_eq!(s.counters_checked, 81 - count_tra_sto(&case));
}

fn count_tra_sto(case: &serde_json::Value) -> u64 {
    let dir = root().join(case["dir"].as_str().unwrap());
    let dep: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dep-export.json")).unwrap()).unwrap();
    let mut n = 0;
    for g in dep["Belege-Gruppe"].as_array().unwrap() {
        for r in g["Belege-kompakt"].as_array().unwrap() {
            let payload = r.as_str().unwrap().split('.').nth(1).unwrap();
            let text =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                    .unwrap();
            let text = String::from_utf8(text).unwrap();
            let counter = text.split('_').nth(10).unwrap();
            if counter == "VFJB" || counter == "U1RP" {
                n += 1;
            }
        }
    }
    n
}

/// `fiskal verify dep7`: exit 0 on the official example, 1 with the finding when one receipt
/// is changed, 2 when the container cannot be read.
#[test]
fn verify_dep7_command() {
    let dir = root().join("asit-example-0.7.1/closed-S1");
    let container = dir.join("cryptographicMaterialContainer.json");
    let out = Command::cargo_bin("fiskal")
        .unwrap()
        .args(["verify", "dep7"])
        .arg(dir.join("dep-export.json"))
        .arg("--crypto")
        .arg(&container)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("81 receipts"), "{text}");
    assert!(text.contains("final 1324168 cents"), "{text}");

    // Drop the fifth receipt: the sixth no longer chains, and the counter goes on.
    let mut dep: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dep-export.json")).unwrap()).unwrap();
    dep["Belege-Gruppe"][0]["Belege-kompakt"]
        .as_array_mut()
        .unwrap()
        .remove(4);
    let work = tempfile::tempdir().unwrap();
    let cut = work.path().join("cut.json");
    std::fs::write(&cut, serde_json::to_vec(&dep).unwrap()).unwrap();
    let out = Command::cargo_bin("fiskal")
        .unwrap()
        .args(["verify", "dep7", "--format", "json"])
        .arg(&cut)
        .arg("--crypto")
        .arg(&container)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first = &lines[0];
    assert_eq!(first["code"], "RKS030", "{lines:#?}");
    assert_eq!(first["position"], 4);

    let bad = work.path().join("bad.json");
    std::fs::write(&bad, b"{\"base64AESKey\": 7}").unwrap();
    Command::cargo_bin("fiskal")
        .unwrap()
        .args(["verify", "dep7"])
        .arg(dir.join("dep-export.json"))
        .arg("--crypto")
        .arg(&bad)
        .assert()
        .code(2);
}

fn fiskal() -> Command {
    Command::cargo_bin("fiskal").unwrap()
}

/// The JSON lines of a `--format json` run.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `--trust`: ztp test_cert_untrusted (open) signs with a certificate issued by the
/// generated root of device 0, which the DEP group carries. Trusted with that root as
/// anchor, not with another; a trust file without a certificate is exit 2 naming it.
#[test]
fn verify_dep7_trust_command() {
    let dep = root().join("generated/ztp/test_cert_untrusted/open/dep-export.json");
    let keys = root().join("generated/keys");
    let out = fiskal()
        .args(["verify", "dep7"])
        .arg(&dep)
        .arg("--trust")
        .arg(keys.join("dev0.crt"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Several files after one --trust; the DEP may come last.
    let out = fiskal()
        .args(["verify", "dep7", "--format", "json", "--trust"])
        .arg(keys.join("dev1.crt"))
        .arg(keys.join("dev2.crt"))
        .arg("--")
        .arg(&dep)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["code"], "RKS060", "{lines:#?}");
    assert_eq!(lines[0]["group"], 0);
    assert!(
        lines[0]["found"]
            .as_str()
            .unwrap()
            .starts_with("certificate 27a214d7674a471381ed0ec813565816")
    );
    assert_eq!(lines.len(), 2, "one finding and the summary: {lines:#?}");

    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let out = fiskal()
        .args(["verify", "dep7"])
        .arg(&dep)
        .arg("--trust")
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty.pem"), "{err}");
}

/// closed-S1's receipts in order.
fn closed_s1_receipts() -> Vec<serde_json::Value> {
    let dir = root().join("asit-example-0.7.1/closed-S1");
    let dep: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dep-export.json")).unwrap()).unwrap();
    dep["Belege-Gruppe"][0]["Belege-kompakt"]
        .as_array()
        .unwrap()
        .clone()
}

/// A DEP7 file of `receipts` in one group without certificate.
fn write_dep(path: &Path, receipts: &[serde_json::Value]) {
    let dep = serde_json::json!({"Belege-Gruppe": [{
        "Signaturzertifikat": "", "Zertifizierungsstellen": [], "Belege-kompakt": receipts,
    }]});
    std::fs::write(path, serde_json::to_vec_pretty(&dep).unwrap()).unwrap();
}

/// Runs `verify dep7 --format json` on `dep` with closed-S1's container and `extra`.
fn verify_json(dep: &Path, extra: &[&std::ffi::OsStr]) -> (Option<i32>, Vec<serde_json::Value>) {
    let container = root().join("asit-example-0.7.1/closed-S1/cryptographicMaterialContainer.json");
    let out = fiskal()
        .args(["verify", "dep7", "--format", "json"])
        .arg(dep)
        .arg("--crypto")
        .arg(container)
        .args(extra)
        .output()
        .unwrap();
    (out.status.code(), json_lines(&out.stdout))
}

/// `--state-out` then `--state-in`: closed-S1 cut after receipt 40 and verified in two runs
/// is the official DEP verified in one; a second part that skips a receipt or repeats one
/// is caught at exactly that receipt.
#[test]
fn verify_dep7_state_across_runs() {
    let receipts = closed_s1_receipts();
    assert_eq!(receipts.len(), 81);
    let work = tempfile::tempdir().unwrap();
    let p = |name: &str| work.path().join(name);
    write_dep(&p("whole.json"), &receipts);
    write_dep(&p("part1.json"), &receipts[..40]);
    write_dep(&p("part2.json"), &receipts[40..]);
    // Part 2 without its first receipt (Receipt-ID-41), and part 2 led by part 1's last.
    write_dep(&p("skipped.json"), &receipts[41..]);
    write_dep(&p("repeated.json"), &receipts[39..]);

    let (code, whole) = verify_json(&p("whole.json"), &[]);
    assert_eq!(code, Some(0), "{whole:#?}");
    let whole_summary = whole.last().unwrap();
    assert_eq!(whole_summary["final_counter"], 1_324_168);

    let state = p("state.json");
    let (code, first) = verify_json(
        &p("part1.json"),
        &["--state-out".as_ref(), state.as_os_str()],
    );
    assert_eq!((code, first.len()), (Some(0), 1), "{first:#?}");
    let saved = std::fs::read(&state).unwrap();
    // Same input, same bytes.
    let again = p("again.json");
    verify_json(
        &p("part1.json"),
        &["--state-out".as_ref(), again.as_os_str()],
    );
    assert_eq!(std::fs::read(&again).unwrap(), saved);
    let text = String::from_utf8(saved.clone()).unwrap();
    assert!(text.contains("\"version\": 1"), "{text}");
    assert!(text.contains("\"receipt_ids\": 40"), "{text}");

    let end = p("end.json");
    let (code, second) = verify_json(
        &p("part2.json"),
        &[
            "--state-in".as_ref(),
            state.as_os_str(),
            "--state-out".as_ref(),
            end.as_os_str(),
        ],
    );
    assert_eq!(code, Some(0), "{second:#?}");
    assert_eq!(second.len(), 1, "no finding: {second:#?}");
    assert_eq!(second[0]["final_counter"], whole_summary["final_counter"]);
    assert_eq!(second[0]["receipts"], 41);
    // The state after both parts is the state after the whole DEP.
    let whole_state = p("whole-state.json");
    verify_json(
        &p("whole.json"),
        &["--state-out".as_ref(), whole_state.as_os_str()],
    );
    assert_eq!(
        std::fs::read(&end).unwrap(),
        std::fs::read(&whole_state).unwrap()
    );

    let (code, skipped) = verify_json(
        &p("skipped.json"),
        &["--state-in".as_ref(), state.as_os_str()],
    );
    assert_eq!(code, Some(1));
    assert_eq!(skipped[0]["code"], "RKS030", "{skipped:#?}");
    assert_eq!(skipped[0]["position"], 0);
    assert_eq!(skipped[0]["receipt"], "CASHBOX-DEMO-1-Receipt-ID-42");
    assert!(
        skipped[1..]
            .iter()
            .all(|f| f["code"] != "RKS030" || f["type"] == "dep7_summary"),
        "one break, one finding: {skipped:#?}"
    );

    let (code, repeated) = verify_json(
        &p("repeated.json"),
        &["--state-in".as_ref(), state.as_os_str()],
    );
    assert_eq!(code, Some(1));
    let duplicate: Vec<&serde_json::Value> =
        repeated.iter().filter(|f| f["code"] == "RKS040").collect();
    assert_eq!(duplicate.len(), 1, "{repeated:#?}");
    assert_eq!(duplicate[0]["position"], 0);
    assert_eq!(duplicate[0]["receipt"], "CASHBOX-DEMO-1-Receipt-ID-40");
}

/// A state file that is not one, or of another version, is exit 2 naming the file and what
/// is wrong.
#[test]
fn verify_dep7_refuses_a_bad_state_file() {
    let work = tempfile::tempdir().unwrap();
    let dep = work.path().join("dep.json");
    write_dep(&dep, &closed_s1_receipts()[..2]);
    let good = work.path().join("good.json");
    let (code, _) = verify_json(&dep, &["--state-out".as_ref(), good.as_os_str()]);
    assert_eq!(code, Some(0));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    v["version"] = 2.into();
    let newer = work.path().join("newer.json");
    std::fs::write(&newer, serde_json::to_vec(&v).unwrap()).unwrap();
    let garbage = work.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    for (file, says) in [
        (
            &newer,
            "state file version 2, but this fiskal reads version 1 only",
        ),
        (&garbage, "not a fiskal DEP7 state file"),
    ] {
        let out = fiskal()
            .args(["verify", "dep7"])
            .arg(&dep)
            .arg("--state-in")
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&*file.display().to_string()), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
