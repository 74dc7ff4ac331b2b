//! The audit report as a browser sees it: the demo's report.html loaded in headless Chromium
//! with no console message, script error or failed load; its totals, registers and Benford
//! chart where the page puts them, with the values of report.json; and printable to PDF.
//!
//! The page is driven over the DevTools protocol (`--remote-debugging-pipe`) because Chromium's
//! stderr log does not report a resource that failed to load, and a missing image is exactly
//! what a self-contained page must not have.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Workdir, fiskal};

/// A hung browser fails the test instead of hanging CI.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The browser to use (`chromium`, or FISKAL_CHROMIUM), or None (with a note) when it is not
/// installed; CI sets FISKAL_BROWSER=1 after installing it, and then a missing browser is a
/// failure.
fn chromium() -> Option<String> {
    let bin = std::env::var("FISKAL_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
    let there = Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !there {
        assert!(
            std::env::var_os("FISKAL_BROWSER").is_none(),
            "{bin} is required (FISKAL_BROWSER is set) but not installed"
        );
        eprintln!("{bin} not installed: browser check skipped");
    }
    there.then_some(bin)
}

/// Flags for a browser that starts clean in a scratch profile (CI has no writable HOME and
/// a small /dev/shm) and fetches nothing of its own.
fn browser_args(profile: &Path) -> Vec<String> {
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Collects a child's pipe on a thread, so a chatty browser never blocks on a full pipe and
/// what it said so far can go into a failure message.
fn drain(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&buf);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            out.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

fn tail(buf: &Mutex<Vec<u8>>) -> String {
    let b = buf.lock().unwrap();
    let s = String::from_utf8_lossy(&b[b.len().saturating_sub(4000)..]);
    s.into_owned()
}

/// Waits for the child until `deadline`, killing it when it is not done by then.
fn wait_until(child: &mut Child, deadline: Instant, stderr: &Mutex<Vec<u8>>) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium still running after {TIMEOUT:?}; killed. stderr:\n{}",
                tail(stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One browser run with the flags given, to its end; its stderr on success.
fn run_browser(bin: &str, args: &[String]) -> String {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait_until(&mut child, Instant::now() + TIMEOUT, &stderr);
    assert!(status.success(), "chromium: {status}\n{}", tail(&stderr));
    tail(&stderr)
}

/// A browser driven over the DevTools protocol on a pipe: messages are JSON texts ended by a
/// NUL byte, read by the browser from its fd 3 and written to its fd 4.
struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    stderr: Arc<Mutex<Vec<u8>>>,
    next_id: u64,
    deadline: Instant,
    /// Every event received so far, in order.
    events: Vec<Value>,
}

impl Browser {
    fn start(bin: &str, profile: &Path) -> Browser {
        // The shell puts the test's pipes on fds 3 and 4, which std::process cannot do itself.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(bin)
            .args(browser_args(profile))
            .arg("--remote-debugging-pipe")
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let to = child.stdin.take().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let (tx, from) = mpsc::channel();
        std::thread::spawn(move || {
            let mut msg = Vec::new();
            while reader.read_until(0, &mut msg).unwrap_or(0) > 0 {
                if msg.last() == Some(&0) {
                    msg.pop();
                }
                let v: Value = serde_json::from_slice(&msg).expect("DevTools message is JSON");
                if tx.send(v).is_err() {
                    break;
                }
                msg.clear();
            }
        });
        Browser {
            child,
            to,
            from,
            stderr,
            next_id: 0,
            deadline: Instant::now() + TIMEOUT,
            events: Vec::new(),
        }
    }

    fn recv(&mut self) -> Value {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.from.recv_timeout(left) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no answer from chromium within {TIMEOUT:?}; killed. stderr:\n{}",
                tail(&self.stderr)
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "chromium closed the DevTools pipe. stderr:\n{}",
                tail(&self.stderr)
            ),
        }
    }

    /// Sends a command (to a page when `session` is given) and returns its result; events
    /// that arrive meanwhile are kept.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        if let Err(e) = self.to.write_all(&bytes).and_then(|()| self.to.flush()) {
            panic!("writing to chromium: {e}. stderr:\n{}", tail(&self.stderr));
        }
        loop {
            let v = self.recv();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// The index of the first event at or after `from` that `want` accepts, waiting for it.
    fn wait_for(&mut self, from: usize, want: impl Fn(&Value) -> bool) -> usize {
        if let Some(i) = self.events.iter().skip(from).position(&want) {
            return from + i;
        }
        loop {
            let v = self.recv();
            let found = want(&v);
            self.events.push(v);
            if found {
                return self.events.len() - 1;
            }
        }
    }

    fn close(mut self) {
        self.call(None, "Browser.close", json!({}));
        let status = wait_until(&mut self.child, self.deadline, &self.stderr);
        assert!(
            status.success(),
            "chromium: {status}\n{}",
            tail(&self.stderr)
        );
    }
}

/// A failed assertion must not leave a browser behind.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What loading a page showed: every problem the browser reported, and the value of
/// `probe` evaluated in the loaded page.
struct Loaded {
    problems: Vec<String>,
    probe: Value,
}

/// Loads `page` in a fresh browser, waits for its load event (after which every image and
/// style sheet has loaded or failed) and evaluates `probe` (a JavaScript expression) in it.
fn load(bin: &str, profile: &Path, page: &Path, probe: &str) -> Loaded {
    let mut b = Browser::start(bin, profile);
    let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
    let attached = b.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    let session = attached["sessionId"].as_str().unwrap().to_string();
    let s = Some(session.as_str());
    for domain in ["Runtime", "Log", "Network", "Page"] {
        b.call(s, &format!("{domain}.enable"), json!({}));
    }
    // A desktop window: the report's column is 1180 px wide plus padding, so this is the
    // narrowest screen it is laid out for without wrapping its own frame.
    b.call(
        s,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );
    let url = format!("file://{}", page.display());
    let nav = b.call(s, "Page.navigate", json!({"url": url}));
    assert!(nav.get("errorText").is_none(), "{url}: {nav}");
    // The load event of the page itself, not of the blank page the target started with.
    let navigated = b.wait_for(0, |v| {
        v["sessionId"] == session.as_str()
            && v["method"] == "Page.frameNavigated"
            && v["params"]["frame"]["url"] == url.as_str()
    });
    b.wait_for(navigated + 1, |v| {
        v["sessionId"] == session.as_str() && v["method"] == "Page.loadEventFired"
    });
    let probe = b.call(
        s,
        "Runtime.evaluate",
        json!({"expression": probe, "returnByValue": true}),
    );
    assert!(probe.get("exceptionDetails").is_none(), "probe: {probe}");
    let problems = problems(&b.events);
    b.close();
    Loaded {
        problems,
        probe: probe["result"]["value"].clone(),
    }
}

/// The console calls, uncaught exceptions, error and warning log entries (failed loads,
/// refused content, interventions) and failed requests among DevTools events.
fn problems(events: &[Value]) -> Vec<String> {
    let mut urls = std::collections::HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or("") {
            "Network.requestWillBeSent" => {
                urls.insert(p["requestId"].to_string(), p["request"]["url"].clone());
            }
            "Runtime.consoleAPICalled" => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a.get("value").unwrap_or(&a["description"]).to_string())
                    .collect();
                let kind = p["type"].as_str().unwrap_or("?");
                out.push(format!("console.{kind}: {}", args.join(" ")));
            }
            "Runtime.exceptionThrown" => out.push(format!(
                "uncaught: {} {}",
                p["exceptionDetails"]["text"], p["exceptionDetails"]["exception"]["description"]
            )),
            "Log.entryAdded" => {
                let entry = &p["entry"];
                if entry["level"] == "error" || entry["level"] == "warning" {
                    out.push(format!(
                        "{} {}: {} {}",
                        entry["source"], entry["level"], entry["text"], entry["url"]
                    ));
                }
            }
            "Network.loadingFailed" => out.push(format!(
                "failed load: {} {} {}",
                urls.get(&p["requestId"].to_string())
                    .unwrap_or(&Value::Null),
                p["errorText"],
                p["blockedReason"]
            )),
            "Network.responseReceived" if p["response"]["status"].as_u64() >= Some(400) => out
                .push(format!(
                    "HTTP {}: {}",
                    p["response"]["status"], p["response"]["url"]
                )),
            _ => {}
        }
    }
    out
}

/// `fiskal audit fixtures/demo` run from the crate root, as the README shows it; returns the
/// report directory and report.json.
fn demo_report(w: &Workdir) -> (PathBuf, Value) {
    let out = w.path("out");
    fiskal()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["audit", "fixtures/demo", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(0);
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    (out, serde_json::from_str(&json).unwrap())
}

/// What the tests read off the page, taken from the DOM the browser built and laid out.
const PROBE: &str = r#"(() => {
  const text = (root, sel) => { const e = root.querySelector(sel); return e === null ? null : e.textContent.trim(); };
  const benford = document.querySelector('svg[data-chart="benford-receipts-first-digit"]');
  return {
    scripts: document.scripts.length,
    verdict: document.getElementById('verdict')?.dataset.verdict ?? null,
    operations: text(document, '#total-operations'),
    totals: Object.fromEntries([...document.querySelectorAll('table.money-rates')].map(t =>
      [t.dataset.currency, { gross: text(t, '[data-total="gross"]'), net: text(t, '[data-total="net"]'), tax: text(t, '[data-total="tax"]') }])),
    registers: [...document.querySelectorAll('#registers tbody tr')].map(tr =>
      ({ register: tr.dataset.register, cells: [...tr.cells].map(c => c.textContent.trim()) })),
    charts: [...document.querySelectorAll('svg[data-chart]')].map(s => {
      const r = s.getBoundingClientRect();
      return { name: s.dataset.chart, svg: s instanceof SVGSVGElement, width: r.width, height: r.height };
    }),
    benford: benford && {
      bars: [...benford.querySelectorAll('rect.chart-bar')].map(r => ({
        label: r.dataset.label, value: r.dataset.value,
        highlight: r.classList.contains('chart-bar-highlight'), height: r.height.baseVal.value })),
      expected: [...benford.querySelectorAll('.chart-expected-mark')].map(l =>
        ({ label: l.dataset.label, expected: l.dataset.expected })),
    },
  };
})()"#;

#[test]
fn demo_report_loads_cleanly_and_shows_report_json_values() {
    let Some(bin) = chromium() else { return };
    let w = Workdir::new();
    let (out, report) = demo_report(&w);
    let page = load(&bin, &w.path("profile"), &out.join("report.html"), PROBE);
    assert_eq!(page.problems, Vec::<String>::new());
    let p = &page.probe;
    assert_eq!(p["scripts"], 0, "the report promises a page without script");

    assert_eq!(p["verdict"], report["verdict"]);
    assert_eq!(p["operations"], report["scope"]["accepted"].to_string());
    assert_eq!(report["scope"]["accepted"], 177);
    let currencies = report["money"]["currencies"].as_object().unwrap();
    assert!(currencies.contains_key("EUR"));
    assert_eq!(p["totals"].as_object().unwrap().len(), currencies.len());
    for (cur, t) in currencies {
        for k in ["gross", "net", "tax"] {
            assert_eq!(p["totals"][cur][k], t["revenue"][k], "{cur} {k}");
        }
    }

    // Every register, in report.json's order, with its operations in the Operations column.
    let shown = report["scope"]["registers"]["shown"].as_array().unwrap();
    assert_eq!(shown.len(), 6);
    let rows = p["registers"].as_array().unwrap();
    assert_eq!(rows.len(), shown.len());
    for (row, r) in rows.iter().zip(shown) {
        assert_eq!(row["register"], r["register"]);
        assert_eq!(row["cells"][0], r["register"]);
        assert_eq!(
            row["cells"][5],
            r["operations"].to_string(),
            "{}",
            r["register"]
        );
    }

    // Each chart is a laid-out SVG element, not text the parser gave up on.
    let charts = p["charts"].as_array().unwrap();
    assert!(charts.len() >= 5, "{charts:?}");
    for c in charts {
        assert_eq!(c["svg"], true, "{c}");
        assert!(c["width"].as_f64().unwrap() > 100.0, "{c}");
        assert!(c["height"].as_f64().unwrap() > 100.0, "{c}");
    }
    assert!(
        charts
            .iter()
            .any(|c| c["name"] == "benford-receipts-first-digit")
    );

    // The Benford bars carry report.json's observed counts, the highlighted ones are the
    // significant digits, and the expected marks are Benford's proportions.
    let test = &report["analytics"]["benford"][0];
    assert_eq!(test["subject"], "receipts");
    let digits = &test["first_digit"]["digits"];
    let n = test["first_digit"]["n"].as_u64().unwrap();
    let bars = p["benford"]["bars"].as_array().unwrap();
    let marks = p["benford"]["expected"].as_array().unwrap();
    assert_eq!(bars.len(), 9);
    assert_eq!(marks.len(), 9);
    for (d, (bar, mark)) in (1..=9).zip(bars.iter().zip(marks)) {
        let digit = &digits[d.to_string()];
        let observed = digit["observed"].as_u64().unwrap();
        assert_eq!(bar["label"], d.to_string());
        let value = bar["value"].as_str().unwrap();
        assert!(
            value.starts_with(&format!("{observed} of {n} (")),
            "digit {d}: {value}"
        );
        assert_eq!(bar["highlight"], digit["significant"], "digit {d}");
        assert_eq!(
            bar["height"].as_f64().unwrap() > 0.0,
            observed > 0,
            "digit {d}"
        );
        let expected = digit["expected_proportion"].as_f64().unwrap();
        assert_eq!(mark["label"], d.to_string());
        assert_eq!(mark["expected"], format!("{:.1}%", expected * 100.0));
    }
    // The demo's receipts are not Benford-like (few, small amounts): digit 1 stands out.
    assert_eq!(digits["1"]["observed"], 40);
    assert_eq!(bars[0]["highlight"], true);
}

#[test]
fn demo_report_fits_a_1280_px_window() {
    let Some(bin) = chromium() else { return };
    let w = Workdir::new();
    let (out, _) = demo_report(&w);
    // The outermost elements that stick out, not each of their rows and cells.
    let probe = r#"(() => {
      const width = document.documentElement.clientWidth;
      const out = e => e !== null && e.getBoundingClientRect().right > width;
      return [...document.querySelectorAll('body *')]
        .filter(e => out(e) && !out(e.parentElement))
        .map(e => `${e.tagName.toLowerCase()}#${e.id} ${Math.round(e.getBoundingClientRect().width)} px`);
    })()"#;
    let page = load(&bin, &w.path("profile"), &out.join("report.html"), probe);
    assert_eq!(
        page.probe,
        json!([]),
        "elements beyond the window's right edge"
    );
}

#[test]
fn detector_reports_console_errors_and_missing_images() {
    let Some(bin) = chromium() else { return };
    let w = Workdir::new();
    let page = w.write(
        "bad/page.html",
        r#"<!DOCTYPE html><html><head><title>bad</title></head><body><p>x</p>
<script>console.error("boom")</script><img src="missing.png"></body></html>"#,
    );
    let loaded = load(&bin, &w.path("profile"), &page, "document.title");
    assert_eq!(loaded.probe, "bad");
    let p = &loaded.problems;
    assert!(
        p.iter()
            .any(|m| m.starts_with("console.error:") && m.contains("boom")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("failed load") && m.contains("missing.png")),
        "{p:#?}"
    );
}

#[test]
fn demo_report_prints_to_pdf() {
    let Some(bin) = chromium() else { return };
    let w = Workdir::new();
    let (out, _) = demo_report(&w);
    let pdf = w.path("report.pdf");
    let mut args = browser_args(&w.path("profile"));
    args.extend([
        format!("--print-to-pdf={}", pdf.display()),
        "--no-pdf-header-footer".to_string(),
        format!("file://{}", out.join("report.html").display()),
    ]);
    let stderr = run_browser(&bin, &args);
    let bytes = std::fs::read(&pdf).unwrap_or_else(|e| panic!("{e}; chromium:\n{stderr}"));
    assert!(
        bytes.starts_with(b"%PDF-"),
        "{:?}",
        &bytes[..bytes.len().min(16)]
    );
    // The demo's report is about 9,000 px tall on screen: several printed pages, each a page
    // object (`/Type /Page`, not the `/Type /Pages` tree node).
    let pages = (0..bytes.len())
        .filter(|&i| {
            [&b"/Type /Page"[..], b"/Type/Page"]
                .iter()
                .any(|t| bytes[i..].starts_with(t) && bytes.get(i + t.len()) != Some(&b's'))
        })
        .count();
    assert!(pages >= 4, "{pages} pages");
}
