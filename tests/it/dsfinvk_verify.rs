//! `fiskal verify dsfinvk`: exit codes, the documented output, JSON lines.

use fiskal::export::dsfinvk::index_xml::{DataSupplier, render};

use crate::util::{Workdir, fiskal};

const PRETIX: &str = "fixtures/conformance/dsfinvk/pretix-2.4.0";

#[test]
fn docs_example_is_the_real_output() {
    let docs = include_str!("../../docs/dsfinvk.md");
    let start = docs
        .find("$ fiskal verify dsfinvk fixtures/conformance/dsfinvk/pretix-2.4.0\n")
        .expect("example in docs/dsfinvk.md");
    let block = &docs[start..];
    let body = &block[block.find('\n').unwrap() + 1..block.find("\n```").unwrap() + 1];
    let out = fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["verify", "dsfinvk", PRETIX])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap(), body);
}

#[test]
fn json_lines_are_findings_then_a_summary() {
    let out = fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["verify", "dsfinvk", PRETIX, "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, findings) = lines.split_last().unwrap();
    assert_eq!(summary["type"], "dsfinvk_summary");
    assert_eq!(summary["errors"], 17);
    assert_eq!(findings.len(), 27);
    let first = &findings[0];
    assert_eq!(first["type"], "dsfinvk_finding");
    assert_eq!(first["code"], "DSF001");
    assert_eq!(first["file"], "slaves.csv");
    assert!(findings.iter().any(|f| f["code"] == "DSF014"
        && f["file"] == "tse.csv"
        && f["line"] == 2
        && f["expected"] == "11 values"
        && f["found"] == "16 values"));
}

#[test]
fn only_warnings_exit_0() {
    // An index.xml listing no table: 20 warnings (DSF004), nothing of error severity.
    let w = Workdir::new();
    w.write(
        "export/index.xml",
        render(&DataSupplier::OFFICIAL, &[]).unwrap(),
    );
    fiskal()
        .args(["verify", "dsfinvk"])
        .arg(w.path("export"))
        .assert()
        .code(0);
}

#[test]
fn not_an_export_exits_2() {
    let w = Workdir::new();
    let file = w.write("notes.txt", "no zip");
    fiskal()
        .args(["verify", "dsfinvk"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("neither a directory nor a zip"));
    std::fs::create_dir(w.path("empty")).unwrap();
    fiskal()
        .args(["verify", "dsfinvk"])
        .arg(w.path("empty"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no index.xml"));
    w.write("broken/index.xml", "<DataSet><Media>");
    fiskal()
        .args(["verify", "dsfinvk"])
        .arg(w.path("broken"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("index.xml line"));
}
