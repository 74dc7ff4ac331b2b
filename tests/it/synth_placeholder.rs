//! `fiskal synth --placeholder-signatures`: German and Austrian signatures become placeholder
//! bytes and nothing else changes, so `check --no-signatures` finds in such data exactly what
//! it finds in signed data of the same seed, and `check` with signatures rejects every
//! placeholder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::{Workdir, finding_keys, fiskal, json_lines};

fn synth(w: &Workdir, name: &str, regime: &str, inject: &[&str], flag: Option<&str>) -> PathBuf {
    let out = w.path(name);
    let mut cmd = fiskal();
    cmd.args([
        "synth",
        "--registers",
        "6",
        "--days",
        "2",
        "--ops-per-day",
        "15",
        "--shape",
        "mixed",
        "--seed",
        "21",
        "--quiet",
        "--regime",
        regime,
    ]);
    for a in inject {
        cmd.args(["--inject", a]);
    }
    cmd.args(flag).arg("--out").arg(&out).assert().success();
    out
}

/// (code, operation id) of every finding `check` reports.
fn findings(dir: &Path, no_signatures: bool) -> BTreeSet<(String, String)> {
    let mut cmd = fiskal();
    cmd.args(["check", "--json"]);
    if no_signatures {
        cmd.arg("--no-signatures");
    }
    let out = cmd.arg(dir).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    finding_keys(out.stdout)
}

fn codes(f: &BTreeSet<(String, String)>) -> BTreeSet<&str> {
    f.iter().map(|(c, _)| c.as_str()).collect()
}

#[test]
fn without_signatures_placeholder_data_checks_like_signed_data() {
    let w = Workdir::new();
    for (regime, inject) in [
        (
            "mixed",
            &[
                "bad-signature",
                "fiscal-counter-gap",
                "wrong-process-data",
                "sequence-gap",
            ][..],
        ),
        ("rksv", &["fiscal-counter-gap", "total-mismatch"][..]),
    ] {
        let signed = synth(&w, &format!("{regime}-signed"), regime, inject, None);
        let fake = synth(
            &w,
            &format!("{regime}-fake"),
            regime,
            inject,
            Some("--placeholder-signatures"),
        );
        let (a, b) = (findings(&signed, true), findings(&fake, true));
        assert!(a.len() >= inject.len() - 1, "{regime}: {a:?}");
        assert_eq!(a, b, "{regime}");
    }
}

#[test]
fn with_signatures_every_placeholder_fails() {
    let w = Workdir::new();
    let signed = synth(&w, "signed", "mixed", &[], None);
    let fake = synth(&w, "fake", "mixed", &[], Some("--placeholder-signatures"));
    assert_eq!(findings(&signed, false), BTreeSet::new());
    assert_eq!(findings(&fake, true), BTreeSet::new());
    let found = findings(&fake, false);
    assert_eq!(codes(&found), BTreeSet::from(["RKS011", "TSE001"]));
    // One RKS011 per Austrian receipt: every operation with an RKSV code.
    let mut receipts = BTreeSet::new();
    for f in std::fs::read_dir(&fake).unwrap() {
        let path = f.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("reg_at_")
        {
            continue;
        }
        for op in json_lines(std::fs::read(&path).unwrap()) {
            if op.to_string().contains("\"_R1-AT100_") {
                receipts.insert(op["id"].as_str().unwrap().to_string());
            }
        }
    }
    let rks: BTreeSet<String> = found
        .iter()
        .filter(|(c, _)| c == "RKS011")
        .map(|(_, id)| id.clone())
        .collect();
    assert!(receipts.len() > 50, "{receipts:?}");
    assert_eq!(rks, receipts);
    // The old flag name still works and means the same.
    let old = synth(
        &w,
        "old",
        "mixed",
        &[],
        Some("--placeholder-tse-signatures"),
    );
    for f in std::fs::read_dir(&fake).unwrap() {
        let name = f.unwrap().file_name();
        assert_eq!(
            std::fs::read(fake.join(&name)).unwrap(),
            std::fs::read(old.join(&name)).unwrap(),
            "{name:?}"
        );
    }
}

#[test]
fn same_seed_same_placeholder_bytes() {
    let w = Workdir::new();
    let flag = Some("--placeholder-signatures");
    let a = synth(&w, "a", "mixed", &["fiscal-counter-gap"], flag);
    let b = synth(&w, "b", "mixed", &["fiscal-counter-gap"], flag);
    let mut n = 0;
    for f in std::fs::read_dir(&a).unwrap() {
        let name = f.unwrap().file_name();
        assert!(
            std::fs::read(a.join(&name)).unwrap() == std::fs::read(b.join(&name)).unwrap(),
            "{name:?} differs"
        );
        n += 1;
    }
    assert_eq!(n, 8);
}
