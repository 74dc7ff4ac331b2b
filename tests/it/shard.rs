//! `fiskal audit --shard I/N` and `fiskal merge`: N shard processes and their merge give what
//! one process gives (docs/sharding.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Workdir, fiskal, json_file as json};

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn exports(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|(p, _)| {
            ["dsfinvk/", "dep7/", "rt/"]
                .iter()
                .any(|d| p.starts_with(d))
        })
        .collect()
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// A history of eight registers over all regimes and both shapes with planted anomalies,
/// plus a file with a malformed record and a repeated operation.
fn history(w: &Workdir) -> PathBuf {
    let hist = w.path("hist");
    fiskal()
        .args([
            "synth",
            "--registers",
            "8",
            "--days",
            "2",
            "--ops-per-day",
            "14",
        ])
        .args([
            "--regime", "mixed", "--shape", "mixed", "--seed", "11", "--quiet",
        ])
        .args(["--inject", "sequence-gap", "--inject", "cash-count-error"])
        .args([
            "--inject",
            "bad-signature",
            "--inject",
            "fiscal-counter-gap",
        ])
        .args(["--inject", "duplicate-id", "--inject", "dangling-reference"])
        .args([
            "--inject",
            "total-mismatch",
            "--inject",
            "rt-document-number",
        ])
        .arg("--out")
        .arg(&hist)
        .assert()
        .success();
    let some_file = std::fs::read_dir(&hist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .min()
        .unwrap();
    let first_line = std::fs::read_to_string(&some_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    w.write(
        "hist/zz_extra.ndjson",
        format!("{{\"id\": \"broken\", \"type\": \n{first_line}\n"),
    );
    hist
}

fn audit(hist: &Path, out: &Path, extra: &[&str]) -> i32 {
    let a = fiskal()
        .args(["audit", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg(hist)
        .assert();
    a.get_output().status.code().unwrap()
}

/// The report without what differs by construction: the digests of findings.jsonl and
/// rejects.jsonl (their lines come shard by shard).
fn report_without_line_files(dir: &Path) -> Value {
    let mut r = json(&dir.join("report.json"));
    r["exports"]
        .as_array_mut()
        .unwrap()
        .retain(|f| !["findings.jsonl", "rejects.jsonl"].contains(&f["path"].as_str().unwrap()));
    r
}

fn manifest_without_line_files(dir: &Path) -> Value {
    let mut m = json(&dir.join("manifest.json"));
    m["outputs"].as_array_mut().unwrap().retain(|f| {
        ![
            "findings.jsonl",
            "rejects.jsonl",
            "report.html",
            "report.md",
            "report.json",
        ]
        .contains(&f["path"].as_str().unwrap())
    });
    m
}

#[test]
fn shards_and_merge_equal_one_process() {
    let w = Workdir::new();
    let hist = history(&w);
    let single = w.path("single");
    let single_code = audit(&hist, &single, &[]);
    assert_eq!(single_code, 1, "the planted anomalies are errors");

    for n in [1u32, 3] {
        let mut dirs = Vec::new();
        let mut registers: BTreeSet<String> = BTreeSet::new();
        let mut accepted = 0;
        for i in 0..n {
            let dir = w.path(&format!("shards{n}/{i}"));
            audit(&hist, &dir, &["--shard", &format!("{i}/{n}")]);
            let s = json(&dir.join("summary.json"));
            if n > 1 {
                let other = s["input"]["files"]["other_shards"].as_u64().unwrap_or(0);
                let whole = json(&single.join("summary.json"))["input"]["accepted"]
                    .as_u64()
                    .unwrap();
                assert!(
                    other + s["input"]["accepted"].as_u64().unwrap() >= whole,
                    "shard {i}: what it kept and what it left cover the input"
                );
            }
            accepted += s["input"]["accepted"].as_u64().unwrap();
            for r in s["input"]["by_register"].as_object().unwrap().keys() {
                assert!(registers.insert(r.clone()), "register {r} in two shards");
            }
            if n > 1 {
                assert!(dir.join("shard.json").is_file());
            }
            dirs.push(dir);
        }
        let s1 = json(&single.join("summary.json"));
        assert_eq!(accepted, s1["input"]["accepted"].as_u64().unwrap());
        assert_eq!(
            registers,
            s1["input"]["by_register"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>()
        );
        if n == 1 {
            // One shard of one is the whole run; it has nothing to merge with.
            assert_eq!(exports(&dirs[0]), exports(&single));
            continue;
        }
        let merged = w.path(&format!("merged{n}"));
        let code = fiskal()
            .args(["merge", "--quiet", "--out"])
            .arg(&merged)
            .args(dirs.iter().rev())
            .assert()
            .get_output()
            .status
            .code()
            .unwrap();
        assert_eq!(code, single_code);

        let (a, b) = (exports(&single), exports(&merged));
        assert!(!a.is_empty());
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "the same export files"
        );
        for (path, bytes) in &a {
            assert!(b[path] == *bytes, "{path} differs after the merge");
        }
        assert_eq!(
            sorted_lines(&single.join("findings.jsonl")),
            sorted_lines(&merged.join("findings.jsonl"))
        );
        assert_eq!(
            sorted_lines(&single.join("rejects.jsonl")),
            sorted_lines(&merged.join("rejects.jsonl"))
        );
        let rejected = s1["input"]["rejected"].as_u64().unwrap();
        assert!(rejected >= 2, "the malformed record and the repeated one");
        assert_eq!(
            std::fs::read_to_string(single.join("summary.json")).unwrap(),
            std::fs::read_to_string(merged.join("summary.json")).unwrap(),
            "summary.json byte for byte"
        );
        assert_eq!(
            report_without_line_files(&single),
            report_without_line_files(&merged)
        );
        assert_eq!(
            manifest_without_line_files(&single),
            manifest_without_line_files(&merged)
        );
        let md = std::fs::read_to_string(merged.join("report.md")).unwrap();
        assert!(md.contains(&s1["input"]["accepted"].to_string()));
    }
}

#[test]
fn merge_refuses_incomplete_or_changed_shards() {
    let w = Workdir::new();
    let hist = w.path("hist");
    fiskal()
        .args([
            "synth",
            "--registers",
            "6",
            "--days",
            "1",
            "--ops-per-day",
            "8",
        ])
        .args(["--regime", "mixed", "--seed", "3", "--quiet", "--out"])
        .arg(&hist)
        .assert()
        .success();
    let dirs: Vec<PathBuf> = (0..2)
        .map(|i| {
            let d = w.path(&format!("s{i}"));
            audit(&hist, &d, &["--shard", &format!("{i}/2")]);
            d
        })
        .collect();
    let refused = |args: &[&Path], what: &str| {
        let out = fiskal()
            .arg("merge")
            .arg("--out")
            .arg(w.path("m"))
            .args(args)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(what), "expected {what:?} in {err}");
    };
    refused(&[&dirs[0]], "shard(s) 1/2 missing");
    refused(&[&dirs[0], &dirs[0]], "are both shard 0/2");
    refused(&[&hist], "has no shard.json");

    // A shard of another split.
    let other = w.path("other");
    audit(&hist, &other, &["--shard", "1/3"]);
    refused(&[&dirs[0], &other], "split the registers the same way");

    // An export changed after its shard wrote it.
    let victim = exports(&dirs[0])
        .into_keys()
        .chain(exports(&dirs[1]).into_keys())
        .next()
        .expect("some export");
    let owner = dirs.iter().find(|d| d.join(&victim).is_file()).unwrap();
    let mut bytes = std::fs::read(owner.join(&victim)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(owner.join(&victim), bytes).unwrap();
    refused(&[&dirs[0], &dirs[1]], "was changed or is damaged");
    assert!(
        !w.path("m").join(&victim).exists(),
        "nothing of a refused export is left behind"
    );
}

#[test]
fn shard_flag_is_checked() {
    for bad in ["3/3", "1", "a/2", "0/0"] {
        let out = fiskal()
            .args(["check", "fixtures/demo", "--shard", bad])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains("shard") || err.contains("I/N"), "{bad}: {err}");
    }
    // Shards of the demo together read every operation once.
    let mut total = 0;
    for i in 0..4 {
        let out = fiskal()
            .args([
                "check",
                "fixtures/demo",
                "--json",
                "--shard",
                &format!("{i}/4"),
            ])
            .assert();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        let summary = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["type"] == "summary")
            .expect("a summary line");
        total += summary["accepted"].as_u64().unwrap();
    }
    let whole = fiskal().args(["check", "fixtures/demo", "--json"]).assert();
    let text = String::from_utf8_lossy(&whole.get_output().stdout).into_owned();
    let summary = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap();
    assert_eq!(total, summary["accepted"].as_u64().unwrap());
}

/// The shell script of a deploy/k8s Job: the block under `args: - |`.
fn job_script(yaml: &str) -> String {
    let start = yaml.find("- |\n").expect("an args block") + 4;
    let block: Vec<&str> = yaml[start..]
        .lines()
        .take_while(|l| l.starts_with("              ") || l.trim().is_empty())
        .collect();
    block
        .iter()
        .map(|l| l.get(14..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The env value of `name` in a Job manifest.
fn job_env(yaml: &str, name: &str) -> String {
    let at = yaml
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("env {name}"));
    let value = yaml[at..].lines().nth(1).unwrap().trim();
    value
        .strip_prefix("value: ")
        .unwrap()
        .trim_matches('"')
        .to_string()
}

#[test]
fn kubernetes_jobs_run_as_written() {
    let audit_yaml = std::fs::read_to_string("deploy/k8s/audit-job.yaml").unwrap();
    let merge_yaml = std::fs::read_to_string("deploy/k8s/merge-job.yaml").unwrap();
    assert!(audit_yaml.contains("completionMode: Indexed"));
    let shards = job_env(&audit_yaml, "SHARDS");
    assert!(audit_yaml.contains(&format!("completions: {shards}\n")));
    assert_eq!(job_env(&merge_yaml, "SHARDS"), shards);
    assert_eq!(
        format!("{}/shards", job_env(&merge_yaml, "OUT")),
        job_env(&audit_yaml, "OUT"),
        "the merge reads where the shards write"
    );

    // Each pod's script, as Kubernetes would run it for its index, with the binary on PATH.
    let w = Workdir::new();
    let bin = assert_cmd::cargo::cargo_bin("fiskal");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = w.path("data/out");
    let n: u32 = 3;
    for i in 0..n {
        let status = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(job_script(&audit_yaml))
            .env("PATH", &path)
            .env("SHARDS", n.to_string())
            .env("IN", "fixtures/demo")
            .env("OUT", out.join("shards"))
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "shard {i}: {status}");
        assert!(out.join(format!("shards/{i}/shard.json")).is_file());
        assert!(out.join(format!("shards/{i}.jsonl")).is_file());
    }
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(job_script(&merge_yaml))
        .env("PATH", &path)
        .env("SHARDS", n.to_string())
        .env("OUT", &out)
        .status()
        .unwrap();
    assert!(status.success(), "merge: {status}");
    let single = w.path("single");
    audit(Path::new("fixtures/demo"), &single, &[]);
    assert_eq!(exports(&out.join("audit")), exports(&single));
    assert_eq!(
        std::fs::read_to_string(out.join("audit/summary.json")).unwrap(),
        std::fs::read_to_string(single.join("summary.json")).unwrap()
    );

    // A pod that fails (a shard index beyond the count: exit 2) fails its index.
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(job_script(&audit_yaml))
        .env("PATH", &path)
        .env("SHARDS", "2")
        .env("IN", "fixtures/demo")
        .env("OUT", out.join("shards"))
        .env("JOB_COMPLETION_INDEX", "2")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
