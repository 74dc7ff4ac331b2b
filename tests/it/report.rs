//! The audit report: snapshots of the demo's Markdown and JSON, its figures tied to the data
//! and to the files written, what a history with planted anomalies shows, `fiskal report`,
//! and determinism.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Workdir, fiskal, json_file as json, read};
use fiskal::model::Fiscal;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fiskal audit fixtures/demo --out OUT`, run from the crate root so that the inputs are
/// listed by the relative paths a user types.
fn audit_demo(out: &Path) {
    fiskal()
        .current_dir(root())
        .args(["audit", "fixtures/demo", "--quiet", "--out"])
        .arg(out)
        .assert()
        .success();
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .unwrap()
}

#[test]
fn demo_report_markdown_and_json() {
    let w = Workdir::new();
    let out = w.path("out");
    audit_demo(&out);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    insta::assert_snapshot!("demo_report_md", md);
    insta::assert_snapshot!("demo_report_json", report);
}

#[test]
fn demo_report_figures_tie_to_the_data_and_the_files() {
    let w = Workdir::new();
    let out = w.path("out");
    audit_demo(&out);
    let r = json(&out.join("report.json"));
    let ops = read(&[&root().join("fixtures/demo")]).ops;

    assert_eq!(r["scope"]["accepted"], ops.len() as u64);
    assert_eq!(r["verdict"], "clean");

    // Money: per register, per day and per currency are three sums of the same figures.
    let eur = &r["money"]["currencies"]["EUR"]["revenue"];
    let by_register: Decimal = r["money"]["registers"]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| dec(&x["revenue"]["gross"]))
        .sum();
    let by_day: Decimal = r["money"]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| dec(&x["revenue"]["gross"]))
        .sum();
    assert_eq!(dec(&eur["gross"]), by_register);
    assert_eq!(dec(&eur["gross"]), by_day);
    assert_eq!(dec(&eur["gross"]), dec(&eur["net"]) + dec(&eur["tax"]));
    assert!(dec(&eur["gross"]) > Decimal::ZERO);

    // Devices: each device's operations are the operations whose block names it.
    let mut per_device: BTreeMap<String, u64> = BTreeMap::new();
    for op in &ops {
        let id = match &op.fiscal {
            Some(Fiscal::KassenSichV(t)) => t.tse_serial.clone(),
            Some(Fiscal::Rksv(k)) => k.cashbox_id.clone(),
            Some(Fiscal::Rt(t)) => t.rt_serial.clone(),
            None => None,
        };
        if let Some(id) = id {
            *per_device.entry(id).or_default() += 1;
        }
    }
    let devices: BTreeMap<String, u64> = r["devices"]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["device"].as_str().unwrap().to_string(),
                d["operations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(devices, per_device);

    // Sessions: one reconciliation per session opened.
    let opened = ops
        .iter()
        .filter(|o| o.kind == fiskal::model::OperationKind::SessionOpen)
        .count() as u64;
    assert_eq!(r["cash"]["sessions"]["total"], opened);

    // Closings: as many as the archives and daily closings the summary lists.
    let summary = json(&out.join("summary.json"));
    let dsfinvk_closings: u64 = summary["dsfinvk"]["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["closings"].as_u64().unwrap())
        .sum();
    let rt_closings = summary["rt"]["closings"].as_array().unwrap().len() as u64;
    assert_eq!(
        r["closings"]["closings"]["total"],
        dsfinvk_closings + rt_closings
    );

    // Files: every export listed with the digest of its bytes on disk, and the manifest lists
    // the report files themselves.
    let exports = r["exports"].as_array().unwrap();
    assert!(exports.iter().any(|f| f["path"] == "summary.json"));
    assert!(
        exports
            .iter()
            .any(|f| f["path"].as_str().unwrap().ends_with(".zip"))
    );
    for f in exports {
        let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"], bytes.len() as u64);
        assert_eq!(f["sha256"], hex(&Sha256::digest(&bytes)), "{}", f["path"]);
    }
    let manifest = json(&out.join("manifest.json"));
    for name in ["report.html", "report.md", "report.json"] {
        let entry = manifest["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == name)
            .unwrap_or_else(|| panic!("{name} not in the manifest"));
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(entry["sha256"], hex(&Sha256::digest(&bytes)));
    }

    // The HTML carries the same figures and the charts.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(&format!(
        "data-total=\"gross\">{}<",
        eur["gross"].as_str().unwrap()
    )));
    for chart in [
        "benford-receipts-first-digit",
        "benford-receipts-first-two-digits",
        "cash-difference",
        "sales-by-hour",
        "revenue",
    ] {
        assert!(html.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    // Self-contained: no script, nothing loaded from elsewhere (the SVG namespace URI is a
    // name, not a link).
    assert!(!html.contains("<script"), "the report has no script");
    assert!(!html.contains("src="), "the report loads no resource");
    assert!(!html.contains("href=\"http") && !html.contains("url("));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The injected anomalies, as synth lists them.
fn injected(dir: &Path) -> Vec<Value> {
    json(&dir.join("_injected.json"))
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn planted_anomalies_show_where_an_auditor_looks() {
    let w = Workdir::new();
    let hist = w.path("hist");
    fiskal()
        .args([
            "synth",
            "--registers",
            "3",
            "--days",
            "3",
            "--ops-per-day",
            "16",
        ])
        .args([
            "--regime", "mixed", "--shape", "mixed", "--seed", "7", "--quiet",
        ])
        .args(["--inject", "sequence-gap", "--inject", "cash-count-error"])
        .args([
            "--inject",
            "bad-signature",
            "--inject",
            "fiscal-counter-gap",
        ])
        .arg("--out")
        .arg(&hist)
        .assert()
        .success();
    let planted = injected(&hist);
    let out = w.path("out");
    fiskal()
        .args(["audit", "--quiet", "--out"])
        .arg(&out)
        .arg(&hist)
        .assert()
        .code(1);
    let r = json(&out.join("report.json"));
    assert_eq!(r["verdict"], "errors");

    // Rules: errors first, each planted rule with the planted operation among its examples.
    let rules = r["findings"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["severity"], "error");
    for p in &planted {
        let code = p["rule"].as_str().unwrap();
        let rule = rules
            .iter()
            .find(|x| x["code"] == code)
            .unwrap_or_else(|| panic!("{code} not in the report"));
        let op = p["operation_id"].as_str().unwrap();
        assert!(
            rule["examples"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["operation_id"] == op),
            "{code}: {op} not among the examples"
        );
    }

    // The registers with an error-severity anomaly are marked so.
    let registers = r["scope"]["registers"]["shown"].as_array().unwrap();
    for p in &planted {
        let reg = p["register_id"].as_str().unwrap();
        let row = registers.iter().find(|x| x["register"] == reg).unwrap();
        assert_ne!(row["verdict"], "clean", "{reg}");
    }

    // The sequence gap: the register, one number missing.
    let gap = planted
        .iter()
        .find(|p| p["anomaly"] == "sequence-gap")
        .unwrap();
    let gaps = &r["analytics"]["sequence_gaps"]["shown"];
    let row = gaps
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["register"] == gap["register_id"])
        .expect("the register with the gap is listed");
    assert_eq!(row["missing"], 1);

    // The bad signature: one failed signature on the first German register's TSE.
    let bad = planted
        .iter()
        .find(|p| p["anomaly"] == "bad-signature")
        .unwrap();
    let tse = r["devices"]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["regime"] == "KassenSichV"
                && d["registers"]
                    .as_array()
                    .unwrap()
                    .contains(&bad["register_id"])
        })
        .unwrap();
    assert_eq!(tse["failed"], 1);
    assert_eq!(
        tse["verified"].as_u64().unwrap() + 1,
        tse["signed"].as_u64().unwrap()
    );
    // Devices with problems come first.
    assert_ne!(r["devices"]["shown"][0]["findings"], serde_json::json!({}));

    // The stated expected cash is 10.00 above the recomputed one on the planted count.
    let sessions = r["cash"]["sessions"]["shown"].as_array().unwrap();
    let off: Vec<&Value> = sessions
        .iter()
        .filter(|s| {
            s.get("expected_stated")
                .is_some_and(|e| e != &s["expected"])
        })
        .collect();
    assert_eq!(off.len(), 1, "{off:#?}");
    assert_eq!(
        dec(&off[0]["expected_stated"]) - dec(&off[0]["expected"]),
        Decimal::TEN
    );

    // The Markdown names every planted rule too.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for p in &planted {
        assert!(md.contains(&format!("### {} ·", p["rule"].as_str().unwrap())));
    }
}

#[test]
fn report_command_writes_the_audit_report_without_exports() {
    let w = Workdir::new();
    let audit = w.path("audit");
    audit_demo(&audit);
    let out = w.path("report");
    let assert = fiskal()
        .current_dir(root())
        .args(["report", "fixtures/demo", "--json", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let lines = crate::util::json_lines(assert.get_output().stdout.clone());
    let written = lines.iter().find(|l| l["type"] == "report").unwrap();
    assert_eq!(written["verdict"], "clean");
    assert_eq!(written["files"].as_array().unwrap().len(), 3);
    let a = json(&audit.join("report.json"));
    let r = json(&out.join("report.json"));
    for key in ["scope", "findings", "money", "cash", "devices", "analytics"] {
        assert_eq!(a[key], r[key], "{key}");
    }
    assert_eq!(r["exports"], serde_json::json!([]));
    assert_eq!(r["closings"]["closings"]["total"], 0);
    assert!(
        std::fs::read_to_string(out.join("report.html"))
            .unwrap()
            .contains("No closings were exported")
    );
}

#[test]
fn the_same_input_gives_the_same_report_bytes() {
    let w = Workdir::new();
    let (a, b) = (w.path("a"), w.path("b"));
    audit_demo(&a);
    audit_demo(&b);
    for name in ["report.html", "report.md", "report.json"] {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{name} differs between two runs"
        );
    }
}

#[test]
fn top_bounds_every_list_and_counts_the_rest() {
    let w = Workdir::new();
    let out = w.path("out");
    fiskal()
        .current_dir(root())
        .args(["report", "fixtures/demo", "--top", "2", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let r = json(&out.join("report.json"));
    assert_eq!(r["top"], 2);
    let registers = &r["scope"]["registers"];
    assert_eq!(registers["shown"].as_array().unwrap().len(), 2);
    assert_eq!(registers["total"], 6);
    assert_eq!(registers["omitted"], 4);
    assert_eq!(r["devices"]["omitted"], 4);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("_4 more registers not listed (6 in all; the report lists the first 2)._"));
}
