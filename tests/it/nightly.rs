//! `fiskal audit --state`: a history split into three nights and audited night by night gives
//! the findings and exports of one run over all of it; a gap planted exactly at a night
//! boundary is found; re-running a night is byte-identical; the lock keeps a second run out;
//! the manifest names every output with its digest.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::util::{Workdir, fiskal, ndjson_files};

/// A synth history of `days` days over all regimes and both shapes.
fn history(w: &Workdir, days: u32) -> PathBuf {
    history_of(w, days, "mixed", "mixed")
}

fn history_of(w: &Workdir, days: u32, regime: &str, shape: &str) -> PathBuf {
    let dir = w.path("history");
    fiskal()
        .args([
            "synth",
            "--registers",
            "6",
            "--ops-per-day",
            "14",
            "--seed",
            "808",
        ])
        .args(["--regime", regime, "--shape", shape, "--days"])
        .arg(days.to_string())
        .arg("--out")
        .arg(&dir)
        .assert()
        .code(0);
    dir
}

/// The history's records per night (by the date of `created_at`, business hours are
/// daytime), one directory per night with the master data beside them.
fn split(history: &Path, w: &Workdir, skip: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    split_by(history, w, skip, &|created| created[..10].to_string())
}

/// [`split`], the night of a record being `night_of(created_at)` (nights in sorted order).
fn split_by(
    history: &Path,
    w: &Workdir,
    skip: &[&str],
    night_of: &dyn Fn(&str) -> String,
) -> (PathBuf, Vec<PathBuf>) {
    let all = w.path("all");
    std::fs::create_dir_all(&all).unwrap();
    std::fs::copy(history.join("masterdata.toml"), all.join("masterdata.toml")).unwrap();
    let mut nights: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let files = ndjson_files(history);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let mut whole = String::new();
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if skip.contains(&v["id"].as_str().unwrap()) {
                continue;
            }
            let day = night_of(v["created_at"].as_str().unwrap());
            let file = nights
                .entry(day)
                .or_default()
                .entry(name.clone())
                .or_default();
            file.push_str(line);
            file.push('\n');
            whole.push_str(line);
            whole.push('\n');
        }
        std::fs::write(all.join(&name), whole).unwrap();
    }
    let dirs = nights
        .into_iter()
        .enumerate()
        .map(|(i, (_, files))| {
            let d = w.path(&format!("night{}", i + 1));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(history.join("masterdata.toml"), d.join("masterdata.toml")).unwrap();
            for (name, text) in files {
                std::fs::write(d.join(name), text).unwrap();
            }
            d
        })
        .collect();
    (all, dirs)
}

fn audit(input: &Path, out: &Path, state: Option<&Path>) -> i32 {
    let mut c = fiskal();
    c.arg("audit").arg(input).arg("--out").arg(out);
    if let Some(s) = state {
        c.arg("--state").arg(s);
    }
    c.output().unwrap().status.code().unwrap()
}

/// What a finding is, apart from where it was read: code, severity, operation, expected,
/// found.
fn findings(out: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(out.join("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {} {} {}",
                v["code"], v["severity"], v["operation_id"], v["expected"], v["found"]
            )
        })
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Per register and table, the data rows of its DSFinV-K archives in the order given.
fn dsfinvk_rows(outs: &[&Path]) -> BTreeMap<(String, String), Vec<String>> {
    let mut rows: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for out in outs {
        for zip_path in files_under(&out.join("dsfinvk")) {
            let name = zip_path.file_name().unwrap().to_string_lossy().into_owned();
            let register = name.split('_').take(3).collect::<Vec<_>>().join("_");
            let mut z = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
            for i in 0..z.len() {
                let mut f = z.by_index(i).unwrap();
                let entry = f.name().unwrap().to_string();
                if !entry.ends_with(".csv") {
                    continue;
                }
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                rows.entry((register.clone(), entry))
                    .or_default()
                    .extend(text.lines().skip(1).map(str::to_string));
            }
        }
    }
    rows
}

/// Per cash box, the receipts of its DEP7 files in the order given.
fn dep7_receipts(outs: &[&Path]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in outs {
        for f in files_under(&o.join("dep7")) {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            for g in v["Belege-Gruppe"].as_array().unwrap() {
                for r in g["Belege-kompakt"].as_array().unwrap() {
                    out.entry(name.clone())
                        .or_default()
                        .push(r.as_str().unwrap().to_string());
                }
            }
        }
    }
    out
}

/// RT closings by file name, with their bytes.
fn rt_files(outs: &[&Path]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for o in outs {
        for f in files_under(&o.join("rt")) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(out.insert(name, std::fs::read(&f).unwrap()).is_none());
        }
    }
    out
}

#[test]
fn three_nights_equal_one_run() {
    let w = Workdir::new();
    let h = history(&w, 3);
    let (all, nights) = split(&h, &w, &[]);
    assert_eq!(nights.len(), 3);
    let one = w.path("out-all");
    let one_code = audit(&all, &one, None);
    let state = w.path("state");
    let outs: Vec<PathBuf> = (1..=3).map(|i| w.path(&format!("out{i}"))).collect();
    let mut codes = Vec::new();
    for (night, out) in nights.iter().zip(&outs) {
        codes.push(audit(night, out, Some(&state)));
    }
    assert_eq!(codes.iter().max().copied().unwrap(), one_code);

    let mut nightly = BTreeSet::new();
    for o in &outs {
        nightly.extend(findings(o));
    }
    assert_eq!(nightly, findings(&one));

    let outs_ref: Vec<&Path> = outs.iter().map(PathBuf::as_path).collect();
    let split_rows = dsfinvk_rows(&outs_ref);
    let one_rows = dsfinvk_rows(&[&one]);
    assert!(!one_rows.is_empty());
    assert_eq!(
        split_rows.keys().collect::<Vec<_>>(),
        one_rows.keys().collect::<Vec<_>>()
    );
    for (k, rows) in &one_rows {
        assert_eq!(&split_rows[k], rows, "{k:?}");
    }
    let dep7 = dep7_receipts(&[&one]);
    assert!(dep7.values().all(|r| r.len() > 10));
    assert_eq!(dep7_receipts(&outs_ref), dep7);
    let rt = rt_files(&[&one]);
    assert!(rt.len() >= 3, "{:?}", rt.keys());
    assert_eq!(rt_files(&outs_ref), rt);

    // Every night's DEP7 files verify clean on read-back, the later ones continuing the
    // chain of the earlier (no RKS020 "no Startbeleg", no RKS030 chain break).
    for o in &outs {
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(o.join("summary.json")).unwrap()).unwrap();
        for v in s["dep7"].as_array().unwrap() {
            assert_eq!(v["verification"]["errors"], 0, "{v}");
        }
    }
    let s3: serde_json::Value =
        serde_json::from_slice(&std::fs::read(outs[2].join("summary.json")).unwrap()).unwrap();
    assert_eq!(s3["state"]["generation"], 3);
    assert_eq!(s3["state"]["base"], 2);
}

#[test]
fn a_session_open_at_night_end_is_exported_when_it_closes() {
    let w = Workdir::new();
    // German registers recording sessions: each business day is one session and closing.
    let h = history_of(&w, 2, "kassensichv", "operations");
    // The nights end at noon, in the middle of each day's session.
    let (all, nights) = split_by(&h, &w, &[], &|created| {
        let noon = format!("{}T12:00:00+01:00", &created[..10]);
        let at = chrono::DateTime::parse_from_rfc3339(created).unwrap();
        let noon = chrono::DateTime::parse_from_rfc3339(&noon).unwrap();
        format!("{}{}", &created[..10], if at < noon { "a" } else { "b" })
    });
    assert_eq!(nights.len(), 4);
    let one = w.path("one");
    assert_eq!(audit(&all, &one, None), 0);
    let state = w.path("state");
    let outs: Vec<PathBuf> = (1..=4).map(|i| w.path(&format!("o{i}"))).collect();
    for (n, o) in nights.iter().zip(&outs) {
        assert_eq!(audit(n, o, Some(&state)), 0);
    }
    let state_of = |o: &Path| -> serde_json::Value {
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(o.join("summary.json")).unwrap()).unwrap();
        s["state"].clone()
    };
    // Morning nights close nothing: their operations wait in the state.
    let first = state_of(&outs[0]);
    assert!(
        first["operations_carried_out"].as_u64().unwrap() > 10,
        "{first}"
    );
    assert!(files_under(&outs[0].join("dsfinvk")).is_empty());
    let second = state_of(&outs[1]);
    assert_eq!(
        second["operations_carried_in"],
        first["operations_carried_out"]
    );
    assert_eq!(second["operations_carried_out"], 0);
    let outs_ref: Vec<&Path> = outs.iter().map(PathBuf::as_path).collect();
    let one_rows = dsfinvk_rows(&[&one]);
    assert_eq!(dsfinvk_rows(&outs_ref), one_rows);
    // Z_NR goes on across nights: closing 2 of each register was written by the fourth night.
    let closings: Vec<String> = dsfinvk_rows(&[&outs[3]])
        .into_iter()
        .filter(|((_, t), _)| t == "cashpointclosing.csv")
        .flat_map(|(_, rows)| rows)
        .collect();
    assert!(!closings.is_empty());
    assert!(
        closings.iter().all(|r| r.split(';').nth(2) == Some("2")),
        "{closings:?}"
    );
}

#[test]
fn gap_at_a_night_boundary_is_found() {
    let w = Workdir::new();
    let h = history(&w, 2);
    // The first operation of the second day of a register-shape German register.
    let first_of_day2 = std::fs::read_to_string(h.join("reg_de_01.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["created_at"].as_str().unwrap() >= "2026-03-03")
        .unwrap();
    let dropped = first_of_day2["id"].as_str().unwrap().to_string();
    let seq = first_of_day2["sequence_number"].as_u64().unwrap();
    let (all, nights) = split(&h, &w, &[&dropped]);
    let state = w.path("state");
    assert_eq!(audit(&nights[0], &w.path("o1"), Some(&state)), 0);
    assert_eq!(audit(&nights[1], &w.path("o2"), Some(&state)), 1);
    let second = findings(&w.path("o2"));
    let gap: Vec<&String> = second
        .iter()
        .filter(|f| f.starts_with("\"SEQ001\""))
        .collect();
    assert_eq!(gap.len(), 1, "{second:?}");
    // Named on the operation after the dropped one, expecting the dropped number.
    let next = format!("op_de01_{:06}", seq + 1);
    assert_eq!(
        gap[0],
        &format!("\"SEQ001\" \"error\" \"{next}\" \"{seq}\" \"{}\"", seq + 1)
    );
    assert!(findings(&w.path("o1")).is_empty());
    assert_eq!(audit(&all, &w.path("one"), None), 1);
    let mut nightly = findings(&w.path("o1"));
    nightly.extend(second);
    assert_eq!(nightly, findings(&w.path("one")));
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for p in files_under(dir) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            for (k, v) in tree(&p) {
                out.insert(format!("{name}/{k}"), v);
            }
        } else {
            out.insert(name, std::fs::read(&p).unwrap());
        }
    }
    out
}

/// The same files with the same bytes (naming the first that differs).
fn same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            tb[k] == *v,
            "{k} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn rerun_is_byte_identical_and_manifest_lists_outputs() {
    let w = Workdir::new();
    let h = history(&w, 2);
    let (_, nights) = split(&h, &w, &[]);
    let state = w.path("state");
    audit(&nights[0], &w.path("o1"), Some(&state));
    let first = audit(&nights[1], &w.path("o2"), Some(&state));
    let state_after = tree(&state.join("gen-000002"));
    let again = audit(&nights[1], &w.path("o2-again"), Some(&state));
    assert_eq!(first, again);
    same_tree(&w.path("o2"), &w.path("o2-again"));
    let now = tree(&state.join("gen-000002"));
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        state_after.keys().collect::<Vec<_>>()
    );
    for (k, v) in &now {
        assert!(
            state_after[k] == *v,
            "state file {k} differs after the re-run"
        );
    }
    assert_eq!(
        std::fs::read_to_string(state.join("current")).unwrap(),
        "2\n"
    );
    // Night 1 again, after night 2: refused, nothing counted twice.
    let o = fiskal()
        .arg("audit")
        .arg(&nights[0])
        .args(["--out"])
        .arg(w.path("o1-late"))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("audited as night 1 already"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("o2/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["tool"]["name"], "fiskal");
    assert_eq!(m["state"]["generation"], 2);
    assert_eq!(m["state"]["base"], 1);
    let outputs = m["outputs"].as_array().unwrap();
    let on_disk = tree(&w.path("o2"));
    // Every file written is listed (the manifest aside), with its size and digest.
    assert_eq!(outputs.len(), on_disk.len() - 1);
    for o in outputs {
        let bytes = &on_disk[o["path"].as_str().unwrap()];
        assert_eq!(o["bytes"], bytes.len());
        let (_, sha) = {
            let p = w.path("o2").join(o["path"].as_str().unwrap());
            fiskal::fsutil::sha256_file(&p).unwrap()
        };
        assert_eq!(o["sha256"], sha);
    }
    let inputs = m["inputs"]["files"].as_array().unwrap();
    assert_eq!(inputs.len(), 6);
    assert!(m["inputs"]["master_data"]["sha256"].as_str().unwrap().len() == 64);
}

#[test]
fn a_second_run_on_a_locked_state_is_refused() {
    let w = Workdir::new();
    let h = history(&w, 1);
    let state = w.path("state");
    std::fs::create_dir_all(&state).unwrap();
    // Held by this test's own process, which is alive.
    std::fs::write(state.join("lock"), format!("{}\n", std::process::id())).unwrap();
    let o = fiskal()
        .arg("audit")
        .arg(&h)
        .arg("--out")
        .arg(w.path("o"))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("another run is using this state directory"),
        "{err}"
    );
    assert!(!w.path("o/summary.json").exists());
    assert!(!state.join("current").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for p in files_under(from) {
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn state_summary(out: &Path) -> serde_json::Value {
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    s["state"].clone()
}

#[test]
fn overlapping_nights_audit_each_operation_once() {
    let w = Workdir::new();
    let h = history(&w, 2);
    let (_, nights) = split(&h, &w, &[]);
    let state = w.path("state");
    assert_eq!(audit(&nights[0], &w.path("o1"), Some(&state)), 0);
    // The second night's input repeats the whole first night, as an overlapping fetch window
    // would.
    let both = w.path("both");
    copy_dir(&nights[1], &both);
    let mut first_night = 0;
    for f in files_under(&nights[0]) {
        if f.extension().is_some_and(|e| e == "ndjson") {
            let text = std::fs::read_to_string(&f).unwrap();
            first_night += text.lines().count();
            std::fs::write(
                both.join(format!(
                    "earlier-{}",
                    f.file_name().unwrap().to_string_lossy()
                )),
                text,
            )
            .unwrap();
        }
    }
    assert_eq!(audit(&both, &w.path("o2"), Some(&state)), 0);
    let s = state_summary(&w.path("o2"));
    assert_eq!(s["operations_already_audited"], first_night);
    assert!(findings(&w.path("o2")).is_empty());
    // The same exports as without the overlap.
    let plain = w.path("state-plain");
    audit(&nights[0], &w.path("p1"), Some(&plain));
    audit(&nights[1], &w.path("p2"), Some(&plain));
    assert_eq!(
        dsfinvk_rows(&[&w.path("o2")]),
        dsfinvk_rows(&[&w.path("p2")])
    );
    assert_eq!(
        dep7_receipts(&[&w.path("o2")]),
        dep7_receipts(&[&w.path("p2")])
    );
    assert_eq!(rt_files(&[&w.path("o2")]), rt_files(&[&w.path("p2")]));
}

#[test]
fn final_night_reports_what_still_waits() {
    let w = Workdir::new();
    let h = history(&w, 2);
    // A return whose sale is left out of the input altogether.
    let (ret, sale) = std::fs::read_to_string(h.join("reg_de_01.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find_map(|v| {
            let orig = v["references"]["original_operation_id"]
                .as_str()?
                .to_string();
            Some((v["id"].as_str().unwrap().to_string(), orig))
        })
        .unwrap();
    let (all, nights) = split(&h, &w, &[&sale]);
    let ref001 = |out: &Path| -> Vec<String> {
        findings(out)
            .into_iter()
            .filter(|f| f.starts_with("\"REF001\""))
            .collect()
    };
    audit(&all, &w.path("one"), None);
    assert_eq!(ref001(&w.path("one")).len(), 1);
    assert!(ref001(&w.path("one"))[0].contains(&ret));

    let state = w.path("state");
    audit(&nights[0], &w.path("o1"), Some(&state));
    let kept = w.path("state-copy");
    copy_dir(&state, &kept);
    // An ordinary night: the sale may still come, so nothing is said yet.
    audit(&nights[1], &w.path("o2"), Some(&state));
    assert!(ref001(&w.path("o2")).is_empty());
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("o2/manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["state"]["carried"]["validator"]["deferred"]["references"],
        1
    );
    // The same night as the last: reported as one run reports it, and the nights together
    // give one run's findings.
    let o = fiskal()
        .arg("audit")
        .arg(&nights[1])
        .arg("--out")
        .arg(w.path("o2-final"))
        .arg("--state")
        .arg(&kept)
        .arg("--final")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(ref001(&w.path("o2-final")), ref001(&w.path("one")));
    let mut nightly = findings(&w.path("o1"));
    nightly.extend(findings(&w.path("o2-final")));
    assert_eq!(nightly, findings(&w.path("one")));
}
