//! `fiskal synth`: deterministic, realistic, and read back by ingest with zero rejects.

use std::collections::BTreeSet;
use std::path::Path;

use fiskal::ingest::RejectClass;
use fiskal::model::{Regime, WireShape};
use fiskal::synth::{Anomaly, SynthOptions, SynthRegime, SynthShape, SynthSummary, generate};

use crate::util::{Workdir, fiskal, json_lines, read};

fn opts(out: &Path, regime: SynthRegime, shape: SynthShape, seed: u64) -> SynthOptions {
    SynthOptions {
        registers: 3,
        days: 2,
        ops_per_day: 25,
        seed,
        regime,
        shape,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        inject: Vec::new(),
        placeholder_tse_signatures: false,
        out: out.to_path_buf(),
    }
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let w = Workdir::new();
    let (a, b, c) = (w.path("a"), w.path("b"), w.path("c"));
    generate(
        &opts(&a, SynthRegime::Mixed, SynthShape::Mixed, 42),
        &|_| {},
    )
    .unwrap();
    generate(
        &opts(&b, SynthRegime::Mixed, SynthShape::Mixed, 42),
        &|_| {},
    )
    .unwrap();
    generate(
        &opts(&c, SynthRegime::Mixed, SynthShape::Mixed, 43),
        &|_| {},
    )
    .unwrap();
    let (fa, fb, fc) = (files_of(&a), files_of(&b), files_of(&c));
    assert!(
        fa.len() >= 4,
        "{:?}",
        fa.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(fa, fb, "same seed must give byte-identical files");
    assert_ne!(fa, fc, "another seed must give other data");
}

fn regime_of(r: SynthRegime) -> Regime {
    match r {
        SynthRegime::Kassensichv => Regime::KassenSichV,
        SynthRegime::Rksv => Regime::Rksv,
        SynthRegime::Rt => Regime::Rt,
        SynthRegime::Mixed => unreachable!(),
    }
}

#[test]
fn every_regime_and_shape_reads_back_with_zero_rejects() {
    for regime in [SynthRegime::Kassensichv, SynthRegime::Rksv, SynthRegime::Rt] {
        for shape in [SynthShape::Register, SynthShape::Operations] {
            let w = Workdir::new();
            let out = w.path("s");
            let summary: SynthSummary = generate(&opts(&out, regime, shape, 9), &|_| {}).unwrap();
            let r = read(&[&out]);
            assert!(
                r.rejects.is_empty(),
                "{regime:?}/{shape:?}: {:#?}",
                &r.rejects[..r.rejects.len().min(3)]
            );
            assert_eq!(
                r.ops.len() as u64,
                summary.n_operations,
                "{regime:?}/{shape:?}"
            );
            let want_shape = if shape == SynthShape::Register {
                WireShape::Register
            } else {
                WireShape::Operations
            };
            assert!(r.ops.iter().all(|o| o.shape == want_shape));
            let regimes: BTreeSet<Regime> = r.ops.iter().filter_map(|o| o.regime()).collect();
            assert_eq!(
                regimes,
                BTreeSet::from([regime_of(regime)]),
                "{regime:?}/{shape:?}"
            );
            let registers: BTreeSet<&str> = r
                .ops
                .iter()
                .filter_map(|o| o.register_id.as_deref())
                .collect();
            assert_eq!(registers.len(), 3);
            // Realistic variety: more than sales alone.
            let kinds: BTreeSet<&str> = r.ops.iter().map(|o| o.kind.name()).collect();
            assert!(
                kinds.contains("sale") && kinds.contains("return"),
                "{kinds:?}"
            );
            if shape == SynthShape::Operations {
                assert!(
                    kinds.contains("session_open") && kinds.contains("session_cash_count"),
                    "{kinds:?}"
                );
            }
        }
    }
}

#[test]
fn injected_duplicate_id_is_rejected_on_read() {
    let w = Workdir::new();
    let out = w.path("s");
    let mut o = opts(&out, SynthRegime::Kassensichv, SynthShape::Register, 5);
    o.inject = vec![Anomaly::DuplicateId, Anomaly::TotalMismatch];
    let summary = generate(&o, &|_| {}).unwrap();
    assert_eq!(summary.injected.len(), 2);
    let dup = summary
        .injected
        .iter()
        .find(|i| i.anomaly == Anomaly::DuplicateId)
        .unwrap();
    let r = read(&[&out]);
    let rej = r.only_reject();
    assert_eq!(rej.class, RejectClass::DuplicateId);
    assert_eq!(rej.record_id.as_deref(), Some(dup.operation_id.as_str()));
    // The total mismatch is well-formed: read, left for the validator.
    let tm = summary
        .injected
        .iter()
        .find(|i| i.anomaly == Anomaly::TotalMismatch)
        .unwrap();
    assert!(r.ops.iter().any(|op| op.id == tm.operation_id));
}

#[test]
fn cli_synth_is_deterministic_and_reports_json() {
    let w = Workdir::new();
    let run = |dir: &str| {
        let out = fiskal()
            .args([
                "synth",
                "--registers",
                "2",
                "--days",
                "1",
                "--ops-per-day",
                "5",
                "--seed",
                "3",
                "--json",
                "--out",
            ])
            .arg(w.path(dir))
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["type"], "synth");
        assert!(v["operations"].as_u64().unwrap() >= 10);
        files_of(&w.path(dir))
    };
    assert_eq!(run("x"), run("y"));
}

fn mixed(out: &Path, seed: u64, inject: Vec<Anomaly>) -> SynthOptions {
    SynthOptions {
        registers: 6,
        days: 3,
        ops_per_day: 20,
        seed,
        regime: SynthRegime::Mixed,
        shape: SynthShape::Mixed,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        inject,
        placeholder_tse_signatures: false,
        out: out.to_path_buf(),
    }
}

fn findings_of(dir: &Path) -> Vec<(String, String)> {
    let r = read(&[dir]);
    assert!(r.rejects.is_empty(), "{:#?}", r.rejects);
    // With the master data synth wrote, as `check DIR` reads it: it holds the RKSV cash
    // boxes' certificates, which the receipts do not carry.
    let md = fiskal::model::masterdata::MasterData::load(&dir.join("masterdata.toml")).unwrap();
    let mut v = fiskal::validate::Validator::with_master_data(
        fiskal::validate::Config::default(),
        Some(&md),
    );
    let mut out = Vec::new();
    for op in &r.ops {
        v.push(op, &mut |f| out.push(f));
    }
    v.finish(&mut |f| out.push(f));
    out.into_iter()
        .map(|f| (f.code.to_string(), f.operation_id.unwrap_or_default()))
        .collect()
}

/// For every anomaly synth can plant, validation reports exactly its rule on exactly the
/// planted operation, and nothing else.
#[test]
fn every_injected_anomaly_is_found_exactly_where_it_was_planted() {
    use clap::ValueEnum;
    let mut failures = Vec::new();
    for anomaly in Anomaly::value_variants()
        .iter()
        .copied()
        .filter(|a| *a != Anomaly::DuplicateId)
    {
        let w = Workdir::new();
        let out = w.path("s");
        let summary = generate(&mixed(&out, 5, vec![anomaly]), &|_| {}).unwrap();
        let [planted] = summary.injected.as_slice() else {
            panic!("{anomaly:?}: {} planted", summary.injected.len())
        };
        let rule = planted
            .rule
            .unwrap_or_else(|| panic!("{anomaly:?} names no rule"));
        let want = vec![(rule.to_string(), planted.operation_id.clone())];
        let got = findings_of(&out);
        if got != want {
            failures.push(format!("{anomaly:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]

    /// Clean synthetic histories of any seed satisfy every rule.
    #[test]
    fn clean_synth_has_no_findings(seed in proptest::prelude::any::<u64>()) {
        let w = Workdir::new();
        let out = w.path("s");
        generate(&mixed(&out, seed, Vec::new()), &|_| {}).unwrap();
        let got = findings_of(&out);
        proptest::prop_assert!(got.is_empty(), "seed {}: {:?}", seed, &got[..got.len().min(5)]);
    }
}

#[test]
fn cli_check_reports_an_injected_anomaly_with_exit_1() {
    let w = Workdir::new();
    let out = w.path("s");
    generate(&mixed(&out, 8, vec![Anomaly::TotalMismatch]), &|_| {}).unwrap();
    let stdout = fiskal()
        .arg("check")
        .arg(&out)
        .arg("--format")
        .arg("json")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(stdout);
    let findings: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "finding").collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["severity"], "error");
    assert!(findings[0]["location"]["line"].as_u64().is_some());
    let summary = lines
        .iter()
        .find(|l| l["type"] == "findings_summary")
        .unwrap();
    assert_eq!(summary["errors"], 1);
}
