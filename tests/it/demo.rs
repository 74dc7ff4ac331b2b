//! The bundled demo: reproducible from `fiskal synth`, read clean, snapshotted record by record.

use std::path::{Path, PathBuf};

use fiskal::synth::{SynthOptions, SynthRegime, SynthShape, generate};

use crate::util::{Workdir, fiskal, read};

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// The command documented in fixtures/demo/README.md.
fn demo_options(out: &Path) -> SynthOptions {
    SynthOptions {
        registers: 6,
        days: 2,
        ops_per_day: 12,
        seed: 20260302,
        regime: SynthRegime::Mixed,
        shape: SynthShape::Mixed,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        inject: Vec::new(),
        placeholder_tse_signatures: false,
        out: out.to_path_buf(),
    }
}

#[test]
fn demo_is_exactly_what_synth_generates() {
    let w = Workdir::new();
    let out = w.path("demo");
    generate(&demo_options(&out), &|_| {}).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in &names {
        let fresh = std::fs::read(out.join(name)).unwrap();
        let committed = std::fs::read(demo_dir().join(name))
            .unwrap_or_else(|_| panic!("fixtures/demo/{name} missing"));
        assert!(
            fresh == committed,
            "fixtures/demo/{name} differs from a fresh `fiskal synth` run"
        );
    }
}

#[test]
fn demo_reads_clean_and_covers_every_regime_and_shape() {
    let r = read(&[&demo_dir()]);
    assert!(r.rejects.is_empty(), "{:#?}", r.rejects);
    let combos: std::collections::BTreeSet<(String, String)> = r
        .ops
        .iter()
        .filter_map(|o| Some((format!("{:?}", o.regime()?), format!("{:?}", o.shape))))
        .collect();
    assert_eq!(combos.len(), 6, "{combos:?}");
}

/// One snapshot per register: each normalised record as one JSON line, so a change in the
/// model or in normalisation shows up as a reviewable diff of exactly the records it touches.
#[test]
fn normalised_demo_records() {
    let r = read(&[&demo_dir()]);
    let mut by_register: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for op in &r.ops {
        let mut v = serde_json::to_value(op).unwrap();
        let file = v["source"]["file"].as_str().unwrap().to_string();
        v["source"]["file"] = file.rsplit('/').next().unwrap().into();
        by_register
            .entry(op.register_id.clone().unwrap_or_default())
            .or_default()
            .push(v.to_string());
    }
    assert_eq!(by_register.len(), 6);
    for (register, lines) in by_register {
        insta::assert_snapshot!(format!("demo_normalised_{register}"), lines.join("\n"));
    }
}

#[test]
fn check_on_demo_output() {
    let out = fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "fixtures/demo"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("demo_check", String::from_utf8(out).unwrap());
}

#[test]
fn audit_on_demo_is_clean_and_byte_identical_across_runs() {
    let w = Workdir::new();
    for dir in ["a", "b"] {
        fiskal()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["audit", "fixtures/demo", "--out"])
            .arg(w.path(dir))
            .assert()
            .code(0);
    }
    let a = std::fs::read_to_string(w.path("a/summary.json")).unwrap();
    let b = std::fs::read_to_string(w.path("b/summary.json")).unwrap();
    assert_eq!(a, b);
    assert_eq!(std::fs::read(w.path("a/rejects.jsonl")).unwrap(), b"");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["input"]["rejected"], 0);
    assert_eq!(
        v["master_data"]["registers_without_master_data"],
        serde_json::json!([])
    );
    // The German registers' DSFinV-K archives, listed in the summary, same bytes each run.
    let archives = v["dsfinvk"]["archives"].as_array().unwrap();
    assert_eq!(archives.len(), 2);
    for a in archives {
        let rel = a["path"].as_str().unwrap();
        let (x, y) = (
            std::fs::read(w.path("a").join(rel)).unwrap(),
            std::fs::read(w.path("b").join(rel)).unwrap(),
        );
        assert!(x == y, "{rel} differs between runs");
    }
    // The Austrian DEP7 files and the Italian daily closings, same bytes each run.
    let written: Vec<&str> = v["dep7"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v["rt"]["closings"].as_array().unwrap())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(written.len(), 6);
    for rel in written {
        let (x, y) = (
            std::fs::read(w.path("a").join(rel)).unwrap(),
            std::fs::read(w.path("b").join(rel)).unwrap(),
        );
        assert!(x == y, "{rel} differs between runs");
    }
    insta::assert_snapshot!("demo_audit_summary", a);
}
