//! The binary: exit codes, human and JSON-lines output.

use predicates::prelude::*;

use crate::util::{Workdir, fiskal, json_lines, reg_sale};

#[test]
fn clean_input_exits_0() {
    let w = Workdir::new();
    let p = w.write("a.ndjson", reg_sale("a"));
    fiskal()
        .arg("check")
        .arg(&p)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "operations: 1 accepted (1 without fiscal block), 0 rejected",
        ));
}

#[test]
fn rejected_records_exit_1_and_are_listed() {
    let w = Workdir::new();
    let p = w.write("a.ndjson", format!("{}\n{{\"id\":\"b\"\n", reg_sale("a")));
    fiskal()
        .arg("check")
        .arg(&p)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "rejected: {}:2: malformed JSON",
            p.display()
        )));
}

#[test]
fn nothing_readable_exits_2() {
    fiskal()
        .args(["check", "/nonexistent/fiskal-input"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: no input could be read: /nonexistent/fiskal-input",
        ));
}

#[test]
fn usage_errors_exit_2() {
    fiskal()
        .args(["check", "--no-such-flag", "x"])
        .assert()
        .code(2);
    fiskal().arg("check").assert().code(2);
}

#[test]
fn broken_master_data_exits_2_naming_the_problem() {
    let w = Workdir::new();
    let p = w.write("d/a.ndjson", reg_sale("a"));
    w.write("d/masterdata.toml", "[[locations]]\nid = \"l\"\nmerchant_id = \"nope\"\nname = \"x\"\nstreet = \"s\"\npostal_code = \"1\"\ncity = \"c\"\ncountry = \"DE\"\ntime_zone = \"Europe/Nowhere\"\n");
    let _ = p;
    fiskal()
        .arg("check")
        .arg(w.path("d"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown merchant_id \"nope\""))
        .stderr(predicate::str::contains(
            "\"Europe/Nowhere\" is not an IANA time zone name",
        ));
}

#[test]
fn json_lines_mode() {
    let w = Workdir::new();
    let p = w.write("a.ndjson", format!("{}\n[1]\n", reg_sale("a")));
    let out = fiskal()
        .arg("check")
        .arg(&p)
        .arg("--json")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(out);
    assert_eq!(lines[0]["type"], "reject");
    assert_eq!(lines[0]["class"], "wrong_type");
    assert_eq!(lines[0]["location"]["line"], 2);
    assert_eq!(lines[1]["type"], "summary");
    assert_eq!(lines[1]["accepted"], 1);
    assert_eq!(lines[1]["rejected"], 1);
    assert_eq!(lines[2]["type"], "findings_summary");
    assert_eq!(lines[2]["errors"], 0);
    assert_eq!(lines[3]["type"], "master_data");
}

#[test]
fn audit_writes_summary_and_rejects_atomically() {
    let w = Workdir::new();
    let p = w.write("a.ndjson", format!("{}\nnot json\n", reg_sale("a")));
    let out = w.path("out");
    fiskal()
        .arg("audit")
        .arg(&p)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["input"]["accepted"], 1);
    assert_eq!(
        summary["master_data"]["registers_without_master_data"],
        serde_json::json!(["reg_1"])
    );
    let rejects = std::fs::read_to_string(out.join("rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 1);
    assert!(rejects.contains("\"class\":\"malformed_json\""));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        [
            "findings.jsonl",
            "manifest.json",
            "rejects.jsonl",
            "report.html",
            "report.json",
            "report.md",
            "summary.json"
        ],
        "no temporary files left"
    );
}
