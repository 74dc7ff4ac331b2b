//! `fiskal fetch` against a fake OpenFiskal API on 127.0.0.1 that serves synth histories in
//! both shapes with cursor pagination, and injects the faults of a real network: 429 with
//! Retry-After, 500/503, dropped and cut-short connections, responses slower than the read
//! timeout, malformed pages, expired cursors, operations served twice.
//!
//! The server is plain `std::net` rather than tiny_http, because dropping a connection
//! mid-response is the point of several faults. Every response carries `Connection: close`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fiskal::model::masterdata::MasterData;
use fiskal::synth::{SynthOptions, SynthRegime, SynthShape, generate};
use serde_json::Value;

use crate::util::{Workdir, fiskal, json_lines};

/// A key no test output may ever contain.
const KEY: &str = "ofk_test_Zq8vN3xK7pLmW2rT";

// ---------------------------------------------------------------------------------------
// Served histories

struct History {
    /// Per register, its operations as JSON lines in listing order.
    registers: Vec<(String, Vec<String>)>,
    masterdata: String,
}

fn history(shape: SynthShape) -> &'static History {
    static REG: OnceLock<History> = OnceLock::new();
    static OPS: OnceLock<History> = OnceLock::new();
    let cell = match shape {
        SynthShape::Operations => &OPS,
        _ => &REG,
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(
            &SynthOptions {
                registers: 3,
                days: 2,
                ops_per_day: 12,
                seed: 808,
                regime: SynthRegime::Mixed,
                shape,
                start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                inject: Vec::new(),
                placeholder_tse_signatures: false,
                out: dir.path().to_path_buf(),
            },
            &|_| {},
        )
        .unwrap();
        let registers = summary
            .per_register
            .iter()
            .map(|(id, n)| {
                let text =
                    std::fs::read_to_string(dir.path().join(format!("{id}.ndjson"))).unwrap();
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                assert_eq!(lines.len() as u64, *n);
                (id.clone(), lines)
            })
            .collect();
        History {
            registers,
            masterdata: std::fs::read_to_string(dir.path().join("masterdata.toml")).unwrap(),
        }
    })
}

fn id_of(line: &str) -> String {
    serde_json::from_str::<Value>(line).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn version_of(v: &Value) -> u64 {
    v["resource_version"].as_u64().unwrap_or(0)
}

/// Per id the copy a correct fetch keeps: highest `resource_version`, ties to the later.
fn expected(served: &[(String, Vec<String>)]) -> BTreeMap<String, String> {
    let mut keep: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for (_, lines) in served {
        for line in lines {
            let v: Value = serde_json::from_str(line).unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            let version = version_of(&v);
            match keep.get(&id) {
                Some((kept, _)) if *kept > version => {}
                _ => {
                    keep.insert(id, (version, line.clone()));
                }
            }
        }
    }
    keep.into_iter().map(|(id, (_, l))| (id, l)).collect()
}

/// Checks a dump holds exactly the expected copies, once each, in the documented order.
fn assert_dump(dump: &Path, want: &BTreeMap<String, String>) {
    let text = std::fs::read_to_string(dump).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut got: BTreeMap<String, String> = BTreeMap::new();
    for l in &lines {
        assert!(
            got.insert(id_of(l), l.to_string()).is_none(),
            "id twice in dump: {}",
            id_of(l)
        );
    }
    assert_eq!(got.len(), want.len(), "distinct ids");
    for (id, line) in want {
        assert_eq!(got.get(id), Some(line), "kept copy of {id}");
    }
    let keys: Vec<(String, bool, u64, String)> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let seq = v["sequence_number"].as_u64();
            (
                v["register_id"].as_str().unwrap_or("").to_string(),
                seq.is_none(),
                seq.unwrap_or(0),
                v["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "order: register, sequence_number, id");
}

// ---------------------------------------------------------------------------------------
// The fake API

#[derive(Clone, Debug)]
enum Fault {
    /// A full response with this status, optional Retry-After, and body.
    Status(u16, Option<&'static str>, String),
    /// Read the request, close without a byte.
    Drop,
    /// Announce 4000 bytes, send a few, close.
    CutShort,
    /// Answer correctly, but only after this long.
    Slow(Duration),
    /// A 200 whose body is this (not a list page).
    Malformed(&'static str),
    /// 410 cursor_expired, on the first request from here on that carries a cursor.
    CursorExpired,
    /// A valid page whose next cursor is the cursor requested.
    SameCursor,
}

#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    path: String,
    query: BTreeMap<String, String>,
    headers: HashMap<String, String>,
}

struct State {
    shape: SynthShape,
    registers: Vec<(String, Vec<String>)>,
    /// Request number (1-based) → fault.
    faults: BTreeMap<usize, Fault>,
    /// A fault served on every request.
    always: Option<Fault>,
    /// After this many pages, every page waits this long.
    slow_after: Option<(usize, Duration)>,
    /// Put this into the data of every page (a server echoing the key).
    echo_key_in_pages: bool,
    pages_served: usize,
    log: Vec<Seen>,
}

struct Api {
    base: String,
    state: Arc<Mutex<State>>,
}

enum Action {
    Respond {
        status: u16,
        extra: Vec<(&'static str, String)>,
        body: String,
        delay: Duration,
    },
    Drop,
    CutShort,
}

impl Api {
    fn start(shape: SynthShape, registers: Vec<(String, Vec<String>)>) -> Api {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            shape,
            registers,
            faults: BTreeMap::new(),
            always: None,
            slow_after: None,
            echo_key_in_pages: false,
            pages_served: 0,
            log: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = shared.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        Api {
            base: format!("http://127.0.0.1:{port}/v1"),
            state,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn log(&self) -> Vec<Seen> {
        self.with(|s| s.log.clone())
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query: BTreeMap<String, String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), decode(v))
        })
        .collect();
    let action = {
        let mut st = state.lock().unwrap();
        st.log.push(Seen {
            at: Instant::now(),
            path: path.to_string(),
            query: query.clone(),
            headers: headers.clone(),
        });
        let n = st.log.len();
        st.act(n, path, &query, &headers)
    };
    let mut stream = stream;
    match action {
        Action::Drop => {}
        Action::CutShort => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n{\"object\":\"list\",\"data\":[",
            );
        }
        Action::Respond {
            status,
            extra,
            body,
            delay,
        } => {
            std::thread::sleep(delay);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    }
    let _ = stream.flush();
}

fn error_dto(code: &str, message: &str) -> String {
    serde_json::json!({"code": code, "message": message, "retryable": false}).to_string()
}

fn page(records: &[String], cursor: Option<String>) -> String {
    format!(
        "{{\"object\":\"list\",\"data\":[{}],\"cursor\":{}}}",
        records.join(","),
        serde_json::to_string(&cursor).unwrap()
    )
}

impl State {
    fn act(
        &mut self,
        n: usize,
        path: &str,
        query: &BTreeMap<String, String>,
        headers: &HashMap<String, String>,
    ) -> Action {
        let ok = |status, body| Action::Respond {
            status,
            extra: Vec::new(),
            body,
            delay: Duration::ZERO,
        };
        let fault = match self.faults.get(&n).cloned().or(self.always.clone()) {
            Some(f @ (Fault::CursorExpired | Fault::SameCursor))
                if !query.contains_key("cursor") =>
            {
                // Not applicable yet: move it on to the next request.
                self.faults.remove(&n);
                self.faults.insert(n + 1, f);
                None
            }
            f => f,
        };
        let mut delay = Duration::ZERO;
        match fault {
            Some(Fault::Status(status, retry_after, body)) => {
                return Action::Respond {
                    status,
                    extra: retry_after
                        .map(|r| vec![("Retry-After", r.to_string())])
                        .unwrap_or_default(),
                    body,
                    delay,
                };
            }
            Some(Fault::Drop) => return Action::Drop,
            Some(Fault::CutShort) => return Action::CutShort,
            Some(Fault::Malformed(body)) => return ok(200, body.to_string()),
            Some(Fault::CursorExpired) => {
                return ok(
                    410,
                    error_dto("cursor_expired", "The cursor has expired; list again."),
                );
            }
            Some(Fault::SameCursor) => {
                return ok(200, page(&[], query.get("cursor").cloned()));
            }
            Some(Fault::Slow(d)) => delay = d,
            None => {}
        }
        let auth = headers.get("authorization").cloned().unwrap_or_default();
        if auth != format!("Bearer {KEY}") {
            let shown = auth.strip_prefix("Bearer ").unwrap_or(&auth);
            return ok(
                401,
                error_dto("unauthorized", &format!("API key {shown} is not valid")),
            );
        }
        let limit: usize = query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(50);
        let offset = |prefix: char| -> Option<usize> {
            match query.get("cursor") {
                None => Some(0),
                Some(c) => c.strip_prefix(prefix)?.parse().ok(),
            }
        };
        let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
        let listing: Vec<String> = match (self.shape, segments.as_slice()) {
            (SynthShape::Register, ["registers"]) => {
                let Some(from) = offset('r') else {
                    return ok(400, error_dto("invalid_request", "bad cursor"));
                };
                let ids: Vec<String> = self
                    .registers
                    .iter()
                    .map(|(id, _)| format!("{{\"id\":\"{id}\",\"object\":\"register\"}}"))
                    .collect();
                let to = (from + limit).min(ids.len());
                let next = (to < ids.len()).then(|| format!("r{to}"));
                return ok(200, page(&ids[from..to], next));
            }
            (SynthShape::Register, ["registers", reg, "operations"]) => {
                match self.registers.iter().find(|(id, _)| id == reg) {
                    Some((_, lines)) => lines.clone(),
                    None => return ok(404, error_dto("not_found", "No such register.")),
                }
            }
            (SynthShape::Operations, ["operations"]) => match query.get("register_id") {
                Some(reg) => match self.registers.iter().find(|(id, _)| id == reg) {
                    Some((_, lines)) => lines.clone(),
                    None => return ok(404, error_dto("not_found", "No such register.")),
                },
                None => self
                    .registers
                    .iter()
                    .flat_map(|(_, l)| l.iter().cloned())
                    .collect(),
            },
            _ => return ok(404, error_dto("not_found", "No such route.")),
        };
        let Some(from) = offset('o') else {
            return ok(400, error_dto("invalid_cursor", "Unknown cursor."));
        };
        let to = (from + limit).min(listing.len());
        let next = (to < listing.len()).then(|| format!("o{to}"));
        let mut records = listing[from.min(to)..to].to_vec();
        if self.echo_key_in_pages {
            records.push(format!("{{\"id\":\"op_echo\",\"note\":\"{KEY}\"}}"));
        }
        self.pages_served += 1;
        if let Some((after, d)) = self.slow_after
            && self.pages_served > after
        {
            delay = delay.max(d);
        }
        Action::Respond {
            status: 200,
            extra: Vec::new(),
            body: page(&records, next),
            delay,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running fiskal

/// `fiskal fetch` against `api` with fast retries and a fixed jitter seed.
fn fetch_cmd(api: &Api, key: Option<&str>) -> assert_cmd::Command {
    let mut c = fiskal();
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ] {
        c.env_remove(v);
    }
    match key {
        Some(k) => c.env("OPENFISKAL_API_KEY", k),
        None => c.env_remove("OPENFISKAL_API_KEY"),
    };
    c.args([
        "fetch",
        "--base-url",
        &api.base,
        "--backoff-ms",
        "1",
        "--max-backoff-ms",
        "150",
        "--jitter-seed",
        "3",
        "--read-timeout",
        "2",
        "--connect-timeout",
        "2",
    ]);
    c
}

fn register_ids(h: &History) -> Vec<String> {
    h.registers.iter().map(|(id, _)| id.clone()).collect()
}

/// Asserts the key appears in none of these texts.
fn assert_no_key(what: &str, text: &str) {
    assert!(!text.contains(KEY), "the API key appears in {what}");
}

fn summary(stdout: Vec<u8>) -> Value {
    json_lines(stdout)
        .into_iter()
        .find(|v| v["type"] == "fetch")
        .expect("a fetch summary line")
}

// ---------------------------------------------------------------------------------------
// Tests

/// Every fault kind is retried or restarted, and the dump still holds each served operation
/// exactly once, byte for byte as served; the headers reached the server and the key
/// reached nothing else.
#[test]
fn register_shape_survives_every_fault_and_keeps_each_operation_once() {
    let h = history(SynthShape::Register);
    let mut served = h.registers.clone();
    // An operation listed twice, as when a page boundary moves between requests.
    let dup = served[0].1[3].clone();
    served[0].1.insert(20, dup);
    let api = Api::start(SynthShape::Register, served.clone());
    api.with(|s| {
        s.faults = BTreeMap::from([
            (
                2,
                Fault::Status(
                    429,
                    Some("1"),
                    error_dto("rate_limit_exceeded", "Too many requests."),
                ),
            ),
            (4, Fault::Status(500, None, "oops".into())),
            (
                5,
                Fault::Status(503, None, error_dto("unavailable", "Try later.")),
            ),
            (7, Fault::Drop),
            (9, Fault::CutShort),
            (11, Fault::Slow(Duration::from_secs(3))),
            (
                13,
                Fault::Malformed("{\"object\":\"list\",\"data\":[{\"id\":\"op_x\"}"),
            ),
            (16, Fault::CursorExpired),
        ])
    });
    let w = Workdir::new();
    let dump = w.path("out/dump.ndjson");
    let mut args = vec![
        "--limit",
        "10",
        "--organization",
        "org_test",
        "--json",
        "--out",
    ];
    args.push(dump.to_str().unwrap());
    args.push("--register");
    let ids = register_ids(h);
    args.extend(ids.iter().map(String::as_str));
    let out = fetch_cmd(&api, Some(KEY)).args(&args).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout.clone()).unwrap(),
        String::from_utf8(out.stderr.clone()).unwrap(),
    );
    assert!(out.status.success(), "{stderr}");
    let s = summary(out.stdout);
    assert_eq!(
        s["retries"],
        serde_json::json!({"rate_limited": 1, "server_error": 2, "timeout": 1, "connection": 2, "malformed": 1})
    );
    assert_eq!(s["restarts"], 1);
    assert_eq!(s["resumed"], false);
    let want = expected(&served);
    assert_eq!(s["records_written"], want.len() as u64);
    let fetched = s["records_fetched"].as_u64().unwrap();
    assert_eq!(
        s["duplicates_dropped"].as_u64().unwrap(),
        fetched - want.len() as u64
    );
    // The restart re-read pages: more duplicates than the one served twice.
    assert!(fetched > want.len() as u64 + 1, "{s}");
    assert_dump(&dump, &want);
    // No side files remain.
    assert!(!w.path("out/dump.ndjson.partial").exists());
    assert!(!w.path("out/dump.ndjson.checkpoint.json").exists());

    let log = api.log();
    // Retry-After: 1 second, capped at --max-backoff-ms 150: the retry came no sooner.
    assert!(log[2].at - log[1].at >= Duration::from_millis(150));
    for r in &log {
        assert_eq!(r.headers["authorization"], format!("Bearer {KEY}"));
        assert_eq!(r.headers["openfiskal-organization"], "org_test");
        assert_eq!(r.query["limit"], "10");
    }
    assert!(log.iter().all(|r| r.path.starts_with("/v1/registers/")));
    assert_no_key("stdout", &stdout);
    assert_no_key("stderr", &stderr);
    assert_no_key("the dump", &std::fs::read_to_string(&dump).unwrap());
}

/// v1.1: an operation served again with a higher `resource_version` keeps the higher one,
/// whether it comes later or earlier; filters, limit, register filter and the merchant
/// header are passed through.
#[test]
fn operations_shape_keeps_the_highest_resource_version_and_passes_filters() {
    let h = history(SynthShape::Operations);
    let mut served = h.registers.clone();
    let bump = |line: &str| {
        assert!(line.contains("\"resource_version\":1,"));
        line.replacen("\"resource_version\":1,", "\"resource_version\":2,", 1)
    };
    // Updated while the listing runs: version 1 early, version 2 on a later page.
    let later = bump(&served[0].1[2]);
    served[0].1.push(later.clone());
    // Version 2 first, then a stale version 1 copy on a later page.
    let first = bump(&served[1].1[20]);
    served[1].1.insert(1, first.clone());
    let api = Api::start(SynthShape::Operations, served.clone());
    let w = Workdir::new();
    let dump = w.path("dump.ndjson");
    let mut args = vec![
        "--api",
        "operations",
        "--limit",
        "7",
        "--organization",
        "mer_x",
        "--type",
        "sale",
        "--state",
        "completed",
        "--from",
        "2026-03-01T00:00:00+01:00",
        "--to",
        "2026-04-01T00:00:00Z",
        "--json",
        "--out",
    ];
    args.push(dump.to_str().unwrap());
    args.push("--register");
    let ids = register_ids(h);
    args.extend(ids.iter().map(String::as_str));
    let out = fetch_cmd(&api, Some(KEY)).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(out.stdout);
    assert_eq!(s["duplicates_dropped"], 2);
    assert_eq!(s["api"], "operations");
    let want = expected(&served);
    assert_dump(&dump, &want);
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.lines().any(|l| l == later));
    assert!(text.lines().any(|l| l == first));
    let v2 = |lines: &mut dyn Iterator<Item = &str>| {
        lines
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["resource_version"] == 2)
            .count()
    };
    let generated_v2 = v2(&mut h
        .registers
        .iter()
        .flat_map(|(_, l)| l.iter().map(String::as_str)));
    assert_eq!(v2(&mut text.lines()), generated_v2 + 2);

    let log = api.log();
    for r in &log {
        assert_eq!(r.path, "/v1/operations");
        assert_eq!(r.headers["x-openfiskal-merchant"], "mer_x");
        assert_eq!(r.headers["authorization"], format!("Bearer {KEY}"));
        assert_eq!(r.query["type"], "sale");
        assert_eq!(r.query["state"], "completed");
        assert_eq!(r.query["from"], "2026-03-01T00:00:00+01:00");
        assert_eq!(r.query["to"], "2026-04-01T00:00:00Z");
        assert_eq!(r.query["limit"], "7");
    }
    let asked: Vec<&str> = log
        .iter()
        .map(|r| r.query["register_id"].as_str())
        .collect();
    let mut distinct = asked.clone();
    distinct.dedup();
    assert_eq!(distinct, ids);
}

/// `--all-registers`: the register shape reads the paged register list first, the v1.1
/// shape lists /operations without a register filter; both fetch everything served.
#[test]
fn all_registers_in_both_shapes() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    let w = Workdir::new();
    let dump = w.path("reg.ndjson");
    fetch_cmd(&api, Some(KEY))
        .args([
            "--all-registers",
            "--limit",
            "2",
            "--out",
            dump.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert_dump(&dump, &expected(&h.registers));
    let log = api.log();
    // Three registers at two per page: two pages of the list, then the operations.
    assert_eq!(log[0].path, "/v1/registers");
    assert_eq!(log[1].path, "/v1/registers");
    assert_eq!(log[1].query["cursor"], "r2");
    assert!(log[2..].iter().all(|r| r.path.ends_with("/operations")));

    let h = history(SynthShape::Operations);
    let api = Api::start(SynthShape::Operations, h.registers.clone());
    let dump = w.path("ops.ndjson");
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--api", "operations", "--all-registers", "--json", "--out"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(summary(out.stdout)["listings"], 1);
    assert_dump(&dump, &expected(&h.registers));
    assert!(
        api.log()
            .iter()
            .all(|r| r.path == "/v1/operations" && !r.query.contains_key("register_id"))
    );
}

/// The dump is a fiskal input: `check` and `audit` read every served operation, reject
/// none, and find nothing of error severity in the clean synth history.
#[test]
fn fetched_dumps_read_back_through_check_and_audit() {
    for (shape, api_flag) in [
        (SynthShape::Register, "registers"),
        (SynthShape::Operations, "operations"),
    ] {
        let h = history(shape);
        let api = Api::start(shape, h.registers.clone());
        let w = Workdir::new();
        let dump = w.path("dump.ndjson");
        fetch_cmd(&api, Some(KEY))
            .args(["--api", api_flag, "--all-registers", "--out"])
            .arg(&dump)
            .assert()
            .success();
        let served: usize = h.registers.iter().map(|(_, l)| l.len()).sum();

        let out = fiskal()
            .args(["check", "--json"])
            .arg(&dump)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines = json_lines(out.stdout);
        let s = lines.iter().find(|v| v["type"] == "summary").unwrap();
        assert_eq!(s["accepted"], served as u64);
        assert_eq!(s["rejected"], 0);
        for (id, ops) in &h.registers {
            assert_eq!(s["by_register"][id]["operations"], ops.len() as u64);
        }

        let md = w.write("masterdata.toml", &h.masterdata);
        let out_dir = w.path("audit");
        fiskal()
            .args(["audit", "--master-data"])
            .arg(&md)
            .arg(&dump)
            .arg("--out")
            .arg(&out_dir)
            .assert()
            .code(0);
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["input"]["accepted"], served as u64, "{api_flag}");
    }
}

/// 401 stops at once (one request, no retry) with the ErrorDto's code and message, exit 2;
/// the key the server echoes in its message is redacted. 400, 403, 404, 409 and 422 stop
/// the same way.
#[test]
fn unauthorized_stops_at_once_with_code_and_message() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    let w = Workdir::new();
    let wrong = "ofk_test_WRONG_9f8e7d6c";
    let out = fetch_cmd(&api, Some(wrong))
        .args(["--register", "reg_de_01", "--out"])
        .arg(w.path("d.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "GET {}/registers/reg_de_01/operations?limit=200: HTTP 401 unauthorized: API key [REDACTED] is not valid",
            api.base
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "{stderr}");
    assert_eq!(api.log().len(), 1);
    assert!(!w.path("d.ndjson").exists());

    // Other client errors stop as well: 404 with its code.
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--register", "reg_nowhere", "--out"])
        .arg(w.path("e.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("HTTP 404 not_found: No such register."),
        "{stderr}"
    );
    assert_eq!(api.log().len(), 2);
    for (status, code) in [
        (400, "invalid_request"),
        (403, "forbidden"),
        (409, "conflict"),
        (422, "regime_validation_failed"),
    ] {
        let n = api.log().len();
        api.with(|s| {
            s.faults.insert(
                n + 1,
                Fault::Status(status, None, error_dto(code, "Refused.")),
            )
        });
        let out = fetch_cmd(&api, Some(KEY))
            .args(["--register", "reg_de_01", "--out"])
            .arg(w.path(&format!("{status}.ndjson")))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(&format!("HTTP {status} {code}: Refused.")),
            "{stderr}"
        );
        assert_eq!(api.log().len(), n + 1, "no retry after {status}");
    }
}

/// Without OPENFISKAL_API_KEY nothing is requested and nothing is written: exit 2.
#[test]
fn missing_key_is_a_usage_error() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    let w = Workdir::new();
    for key in [None, Some("")] {
        let out = fetch_cmd(&api, key)
            .args(["--register", "reg_de_01", "--out"])
            .arg(w.path("d.ndjson"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("OPENFISKAL_API_KEY is not set"), "{stderr}");
    }
    let out = fetch_cmd(&api, Some("ofk with space"))
        .args(["--register", "reg_de_01", "--out"])
        .arg(w.path("d.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("not visible ASCII"), "{stderr}");
    assert!(!stderr.contains("with space"), "{stderr}");
    assert!(api.log().is_empty());
    assert_eq!(std::fs::read_dir(w.dir.path()).unwrap().count(), 0);
}

/// Kill the process mid-fetch: no dump appears, and running the same command again (after a
/// half-written page was left in the partial file) gives the bytes of a clean fetch.
#[test]
fn kill_and_resume_gives_the_bytes_of_a_clean_fetch() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    api.with(|s| s.slow_after = Some((6, Duration::from_millis(250))));
    let w = Workdir::new();
    let dump = w.path("dump.ndjson");
    let checkpoint = w.path("dump.ndjson.checkpoint.json");
    let partial = w.path("dump.ndjson.partial");
    let args: Vec<String> = [
        "fetch",
        "--base-url",
        &api.base,
        "--all-registers",
        "--limit",
        "5",
        "--json",
        "--read-timeout",
        "5",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dump.display().to_string()])
    .collect();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("fiskal"));
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ] {
        child.env_remove(v);
    }
    let mut child = child
        .args(&args)
        .env("OPENFISKAL_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(8);
    let pages_done = || -> u64 {
        std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| {
                v["listings"]
                    .as_array()
                    .map(|l| l.iter().map(|l| l["pages"].as_u64().unwrap_or(0)).sum())
            })
            .unwrap_or(0)
    };
    while pages_done() < 8 {
        assert!(Instant::now() < deadline, "no progress in the checkpoint");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(
        !dump.exists(),
        "a dump appeared before the fetch was complete"
    );
    let cp_text = std::fs::read_to_string(&checkpoint).unwrap();
    assert_no_key("the checkpoint", &cp_text);
    assert_no_key(
        "the partial file",
        &std::fs::read_to_string(&partial).unwrap(),
    );
    let cp: Value = serde_json::from_str(&cp_text).unwrap();
    // The partial file holds at least what the checkpoint vouches for (more when the kill
    // came between a page's append and its checkpoint).
    assert!(cp["partial_len"].as_u64().unwrap() <= std::fs::metadata(&partial).unwrap().len());
    assert!(cp["partial_len"].as_u64().unwrap() > 0);
    // A page the killed run had half written.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&partial)
        .unwrap();
    f.write_all(b"{\"id\":\"op_half\",\"object\":\"oper")
        .unwrap();
    drop(f);

    api.with(|s| s.slow_after = None);
    let before = api.log().len();
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--all-registers", "--limit", "5", "--json", "--out"])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = summary(out.stdout);
    assert_eq!(resumed["resumed"], true);
    // The resumed run did not start over: it asked for fewer pages than a whole fetch.
    let whole_pages = h
        .registers
        .iter()
        .map(|(_, l)| l.len().div_ceil(5))
        .sum::<usize>();
    assert!(api.log().len() - before < whole_pages);
    assert!(!checkpoint.exists() && !partial.exists());

    let clean = w.path("clean.ndjson");
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--all-registers", "--limit", "5", "--json", "--out"])
        .arg(&clean)
        .output()
        .unwrap();
    assert!(out.status.success());
    let fresh = summary(out.stdout);
    assert_eq!(
        std::fs::read(&dump).unwrap(),
        std::fs::read(&clean).unwrap()
    );
    assert_dump(&dump, &expected(&h.registers));
    // The resumed fetch counts the same pages and records as the clean one.
    assert_eq!(resumed["pages"], fresh["pages"]);
    assert_eq!(resumed["records_fetched"], fresh["records_fetched"]);
    assert_eq!(resumed["pages"], whole_pages as u64);
}

/// An existing dump is replaced only by a complete one: a fetch that stops leaves it as it
/// was.
#[test]
fn an_existing_dump_is_replaced_only_by_a_complete_fetch() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    let w = Workdir::new();
    let dump = w.path("d.ndjson");
    let n_ops = h.registers[2].1.len();
    assert_eq!(h.registers[2].0, "reg_it_01");
    let run = || {
        fetch_cmd(&api, Some(KEY))
            .args(["--register", "reg_it_01", "--limit", "10", "--out"])
            .arg(&dump)
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success());
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.starts_with(&format!(
            "fetched 1 listings (1 registers): {} pages, {n_ops} records, 0 duplicates dropped; wrote {n_ops} operations to {}\n",
            n_ops.div_ceil(10),
            dump.display()
        )),
        "{human}"
    );
    assert!(human.contains("\ntook "), "{human}");
    let first = std::fs::read(&dump).unwrap();
    let n = api.log().len();
    api.with(|s| {
        s.faults
            .insert(n + 2, Fault::Status(500, None, String::new()))
    });
    api.with(|s| {
        s.faults.insert(
            n + 3,
            Fault::Status(422, None, error_dto("invalid_filter", "No.")),
        )
    });
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 422 invalid_filter: No."));
    assert_eq!(std::fs::read(&dump).unwrap(), first);
    let out = run();
    assert!(out.status.success());
    // The resumed run reports the retry of the run that stopped.
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(human.contains("\nresumed from a checkpoint\n"), "{human}");
    assert!(
        human.contains("retries: 0 rate limited, 1 server errors, 0 timeouts"),
        "{human}"
    );
    assert_eq!(std::fs::read(&dump).unwrap(), first);
}

/// A page that names the requested cursor as the next one would loop forever: the run stops.
#[test]
fn a_page_naming_itself_as_next_stops_the_run() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    api.with(|s| s.faults.insert(2, Fault::SameCursor));
    let w = Workdir::new();
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--register", "reg_de_01", "--limit", "10", "--out"])
        .arg(w.path("d.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "GET {}/registers/reg_de_01/operations?limit=10&cursor=o10: the next cursor is the one just requested",
            api.base
        )),
        "{stderr}"
    );
    assert_eq!(api.log().len(), 2);
}

/// A checkpoint belongs to one query: other options are refused (naming what differs), the
/// same options resume.
#[test]
fn resume_with_other_options_is_refused() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    // The first run stops at its third request, leaving a checkpoint.
    api.with(|s| {
        s.faults.insert(
            3,
            Fault::Status(403, None, error_dto("forbidden", "Not yours.")),
        )
    });
    let w = Workdir::new();
    let dump = w.path("d.ndjson");
    let base = |c: &mut assert_cmd::Command| {
        c.args([
            "--register",
            "reg_de_01",
            "reg_at_01",
            "--limit",
            "10",
            "--out",
        ])
        .arg(&dump);
    };
    let mut first = fetch_cmd(&api, Some(KEY));
    base(&mut first);
    let out = first.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("HTTP 403 forbidden: Not yours."),
        "{stderr}"
    );
    assert!(stderr.contains("the same command resumes"), "{stderr}");
    assert!(w.path("d.ndjson.checkpoint.json").exists());

    let mut other = fetch_cmd(&api, Some(KEY));
    base(&mut other);
    let out = other.args(["--type", "sale"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr
            .contains("belongs to a fetch with other options (--type was not given, now \"sale\")"),
        "{stderr}"
    );
    assert!(
        stderr.contains("d.ndjson.partial to start over"),
        "{stderr}"
    );

    let mut same = fetch_cmd(&api, Some(KEY));
    base(&mut same);
    let out = same.arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(out.stdout)["resumed"], true);
    let served: Vec<(String, Vec<String>)> = h.registers[..2].to_vec();
    assert_dump(&dump, &expected(&served));
}

/// A page that stays malformed stops the run after --max-retries, naming the URL and the
/// JSON error.
#[test]
fn a_page_that_stays_malformed_stops_with_url_and_json_error() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    api.with(|s| s.always = Some(Fault::Malformed("{\"object\":\"list\",\"data\":[{\"id\":")));
    let w = Workdir::new();
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--register", "reg_de_01", "--max-retries", "2", "--out"])
        .arg(w.path("d.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "GET {}/registers/reg_de_01/operations?limit=200: gave up after 3 attempts, the last one: malformed page: not a list page: EOF while parsing a value at line 1 column",
            api.base
        )),
        "{stderr}"
    );
    assert_eq!(api.log().len(), 3);
}

/// The run's retry budget ends a server that keeps failing, however many retries a single
/// request may have; the key the server echoes in its error body is redacted.
#[test]
fn the_retry_budget_bounds_a_failing_server() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    api.with(|s| {
        s.always = Some(Fault::Status(
            503,
            None,
            error_dto("unavailable", &format!("down, and your key {KEY} is noted")),
        ))
    });
    let w = Workdir::new();
    let out = fetch_cmd(&api, Some(KEY))
        .args([
            "--register",
            "reg_de_01",
            "--max-retries",
            "100",
            "--retry-budget",
            "5",
            "--out",
        ])
        .arg(w.path("d.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("the run's retry budget (--retry-budget 5) is spent; the last failure: server error: HTTP 503 unavailable: down, and your key [REDACTED] is noted"),
        "{stderr}"
    );
    assert_no_key("stderr", &stderr);
    assert_eq!(api.log().len(), 6);
    let cp = std::fs::read_to_string(w.path("d.ndjson.checkpoint.json")).unwrap();
    assert_no_key("the checkpoint", &cp);
}

/// A page that contains the key is never written anywhere: the run stops.
#[test]
fn a_page_echoing_the_key_is_refused() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    api.with(|s| s.echo_key_in_pages = true);
    let w = Workdir::new();
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--register", "reg_de_01", "--out"])
        .arg(w.path("d.ndjson"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("the response contains the API key"),
        "{stderr}"
    );
    assert_no_key("stderr", &stderr);
    for entry in std::fs::read_dir(w.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        assert_no_key(
            &p.display().to_string(),
            &std::fs::read_to_string(&p).unwrap(),
        );
    }
    assert!(!w.path("d.ndjson").exists());
}

/// --master-data-out: a commented skeleton that says it is not valid yet, lists exactly the
/// values no operation shows, and once those are supplied loads as master data whose
/// observed values are those of the generator's own master data.
#[test]
fn master_data_skeleton_lists_what_is_missing_and_loads_once_completed() {
    let h = history(SynthShape::Register);
    let api = Api::start(SynthShape::Register, h.registers.clone());
    let w = Workdir::new();
    let md_path = w.path("md.toml");
    let out = fetch_cmd(&api, Some(KEY))
        .args(["--all-registers", "--json", "--out"])
        .arg(w.path("d.ndjson"))
        .arg("--master-data-out")
        .arg(&md_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = summary(out.stdout);
    let missing: Vec<&str> = s["master_data_missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let truth: MasterData = toml::from_str(&h.masterdata).unwrap();
    let mut expected_missing = Vec::new();
    let mut merchants: Vec<&str> = truth.merchants.iter().map(|m| m.id.as_str()).collect();
    merchants.sort();
    for m in merchants {
        for k in ["name", "street", "postal_code", "city", "country"] {
            expected_missing.push(format!("merchants[{m}].{k}"));
        }
    }
    let mut locations: Vec<&str> = truth.locations.iter().map(|l| l.id.as_str()).collect();
    locations.sort();
    for l in locations {
        for k in [
            "name",
            "street",
            "postal_code",
            "city",
            "country",
            "time_zone",
        ] {
            expected_missing.push(format!("locations[{l}].{k}"));
        }
    }
    let mut registers: Vec<&str> = truth.registers.iter().map(|r| r.id.as_str()).collect();
    registers.sort();
    for r in registers {
        for k in [
            "brand",
            "model",
            "serial",
            "software_brand",
            "software_version",
            "base_currency",
        ] {
            expected_missing.push(format!("registers[{r}].{k}"));
        }
    }
    assert_eq!(missing, expected_missing);

    let text = std::fs::read_to_string(&md_path).unwrap();
    assert!(text.starts_with("## NOT A VALID MASTER-DATA FILE YET"));
    assert_no_key("the skeleton", &text);
    // As written, it holds no master data at all...
    assert_eq!(
        toml::from_str::<MasterData>(&text).unwrap(),
        MasterData::default()
    );
    // ...and uncommented but not filled in, loading it fails.
    let uncommented: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect::<Vec<_>>()
        .join("\n");
    let bare = w.write("bare.toml", &uncommented);
    assert!(MasterData::load(&bare).is_err());
    // Filled in, it loads, and what it claims matches the generator's master data.
    let filled: String = uncommented
        .lines()
        .map(|l| {
            if !l.contains("## MISSING") {
                return l.to_string();
            }
            let fill = match l.split(" = ").next().unwrap() {
                "country" => "\"DE\"",
                "time_zone" => "\"Europe/Berlin\"",
                "base_currency" => "\"EUR\"",
                _ => "\"supplied\"",
            };
            l.replacen("\"\"", fill, 1)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let md = MasterData::load(&w.write("filled.toml", &filled)).unwrap();
    for r in &md.registers {
        assert_eq!(truth.register(&r.id).unwrap().location_id, r.location_id);
    }
    for l in &md.locations {
        assert_eq!(truth.location(&l.id).unwrap().merchant_id, l.merchant_id);
    }
    let strip = |m: &MasterData| {
        let mut tse: Vec<_> = m
            .tse
            .iter()
            .map(|t| {
                (
                    t.serial.clone(),
                    t.client_ids.clone(),
                    t.public_key.clone(),
                    t.signature_algorithm.clone(),
                    t.time_format.clone(),
                )
            })
            .collect();
        tse.sort();
        let mut rksv: Vec<_> = m
            .rksv
            .iter()
            .map(|c| {
                (
                    c.cashbox_id.clone(),
                    c.register_id.clone(),
                    c.certificate_serial.clone(),
                )
            })
            .collect();
        rksv.sort();
        let mut rt: Vec<_> =
            m.rt.iter()
                .map(|d| (d.serial.clone(), d.register_id.clone()))
                .collect();
        rt.sort();
        (tse, rksv, rt)
    };
    assert_eq!(strip(&md), strip(&truth));
}
