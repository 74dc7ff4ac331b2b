//! A history large enough that the run's per-operation indexes spill to their temporary
//! files (first locations of ids, ids of sequenced operations, reference targets): what
//! they read back must name the right operations at the right places.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{Workdir, fiskal, json_file, json_lines, ndjson_files};

/// Every record of the history by (file, line): its id.
fn ids_by_line(dir: &Path) -> HashMap<(String, u64), String> {
    let mut out = HashMap::new();
    for path in ndjson_files(dir) {
        let name = format!("hist/{}", path.file_name().unwrap().to_str().unwrap());
        for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            let v: Value = serde_json::from_str(line).unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            out.insert((name.clone(), i as u64 + 1), id);
        }
    }
    out
}

/// Gives two completed operations of one register the external id of its first completed
/// one, the first of them more than a chunk (256 records) after it: returns the external id,
/// the first operation's id and the two others' ids in input order.
fn repeat_external_ids(dir: &Path) -> (String, String, Vec<String>) {
    for path in ndjson_files(dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let records: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let completed: Vec<usize> = (0..records.len())
            .filter(|&i| {
                records[i]["state"] == "completed" && records[i]["external_id"].is_string()
            })
            .collect();
        if completed.len() < 500 {
            continue;
        }
        let (a, later) = (completed[0], [completed[300], completed[450]]);
        let ext_of = |i: usize| records[i]["external_id"].as_str().unwrap().to_string();
        let ext = ext_of(a);
        // Edited as text, so that every other byte (amounts above all) stays as synth wrote it.
        for &i in &later {
            let (from, to) = (
                format!("\"external_id\":\"{}\"", ext_of(i)),
                format!("\"external_id\":\"{ext}\""),
            );
            assert_eq!(lines[i].matches(&from).count(), 1, "{}", lines[i]);
            lines[i] = lines[i].replace(&from, &to);
        }
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let id = |i: usize| records[i]["id"].as_str().unwrap().to_string();
        return (ext, id(a), later.iter().map(|&i| id(i)).collect());
    }
    panic!("no register with 500 completed operations carrying an external id");
}

#[test]
fn findings_of_a_spilled_history_name_the_right_operations() {
    let w = Workdir::new();
    let hist = w.path("hist");
    let anomalies = [
        "sequence-gap",
        "duplicate-id",
        "over-return",
        "double-void",
        "dangling-reference",
        "clock-backwards",
        "fiscal-counter-gap",
        "total-mismatch",
    ];
    fiskal()
        .args([
            "synth",
            "--registers",
            "4",
            "--days",
            "12",
            "--ops-per-day",
            "60",
        ])
        .args(["--regime", "mixed", "--shape", "mixed", "--seed", "3"])
        .args(["--placeholder-signatures", "--quiet", "--out"])
        .arg(&hist)
        .args(anomalies.iter().flat_map(|a| ["--inject", a]))
        .assert()
        .success();
    let repeats = repeat_external_ids(&hist);
    let ids = ids_by_line(&hist);
    // Thousands of operations: beyond the 64 KiB the temporary logs buffer in memory.
    assert!(ids.len() > 2500, "{} operations", ids.len());

    let out = w.path("out");
    fiskal()
        .current_dir(w.path(""))
        .args(["audit", "hist", "--no-signatures", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(1);
    let findings = json_lines(std::fs::read(out.join("findings.jsonl")).unwrap());
    let at = |v: &Value| {
        (
            v["file"].as_str().unwrap().to_string(),
            v["line"].as_u64().unwrap(),
        )
    };
    // Every finding names an operation at the line that holds it.
    let mut checked = 0;
    for f in &findings {
        if let (Some(id), Some(loc)) = (f["operation_id"].as_str(), f.get("location")) {
            assert_eq!(ids.get(&at(loc)).map(String::as_str), Some(id), "{f}");
            checked += 1;
        }
    }
    assert!(checked >= anomalies.len(), "{checked} findings checked");

    // Every planted anomaly is found at its operation.
    let planted = json_file(&hist.join("_injected.json"));
    for p in planted.as_array().unwrap() {
        // The duplicate is a rejection (below), not a finding.
        let Some(rule) = p["rule"].as_str() else {
            assert_eq!(p["anomaly"], "duplicate-id");
            continue;
        };
        let op = p["operation_id"].as_str();
        assert!(
            findings
                .iter()
                .any(|f| f["code"] == rule && f["operation_id"].as_str() == op),
            "{rule} at {op:?} not found: {p}"
        );
    }

    // External ids completed again, judged from the register's chunks at the end: each repeat
    // names the first completion, and they come in input order.
    let seq004: Vec<(&str, &str)> = findings
        .iter()
        .filter(|f| f["code"] == "SEQ004")
        .map(|f| {
            (
                f["operation_id"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    let (ext, first, later) = &repeats;
    let expected: Vec<(&str, String)> = later
        .iter()
        .map(|id| {
            (
                id.as_str(),
                format!("external_id {ext} was already completed by {first}"),
            )
        })
        .collect();
    assert_eq!(
        seq004,
        expected
            .iter()
            .map(|(id, m)| (*id, m.as_str()))
            .collect::<Vec<_>>()
    );

    // The duplicate is refused naming where its id was first read: the line before it.
    let rejects = json_lines(std::fs::read(out.join("rejects.jsonl")).unwrap());
    let dup = rejects
        .iter()
        .find(|r| r["class"] == "duplicate_id")
        .expect("the duplicate is refused");
    let (file, line) = at(&dup["location"]);
    let id = dup["record_id"].as_str().unwrap();
    assert_eq!(ids[&(file.clone(), line)], id);
    assert_eq!(ids[&(file.clone(), line - 1)], id);
    assert_eq!(
        dup["message"],
        format!("duplicate id {id}, first read at {file}:{}", line - 1)
    );
}
