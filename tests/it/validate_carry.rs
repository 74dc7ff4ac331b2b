//! The validator's carry across nightly runs (issue 8): three runs over a history split into
//! three consecutive parts, each resuming from the carry the one before saved, find what one
//! run over everything finds; a gap or chain break at the boundary between nights is
//! reported in the later night, on the operation one run names; and where a split run
//! cannot be one run (src/validate/carry.rs, "Where a split run differs"), the difference is
//! pinned here.
//!
//! Histories come from `fiskal::synth`, read back through ingest. Each register's operations
//! are cut into three consecutive parts (by business day, or at operation counts that fall
//! in the middle of a session); night *k* is part *k* of every register. "One run" is one
//! validator over the three nights' operations in the same order.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use fiskal::model::masterdata::MasterData;
use fiskal::model::{Finding, Fiscal, Operation, OperationKind, Severity, WireShape};
use fiskal::synth::{Anomaly, Injected, SynthOptions, SynthRegime, SynthShape, generate};
use fiskal::validate::{Carry, CarryError, Config, Validator};

use crate::util::{Workdir, read};

/// A finding without its source location: what must agree between one run and three.
type Key = (
    &'static str,
    Severity,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn key(f: &Finding) -> Key {
    (
        f.code,
        f.severity,
        f.operation_id.clone(),
        f.register_id.clone(),
        f.expected.clone(),
        f.found.clone(),
        f.message.clone(),
    )
}

fn keys(findings: &[Finding]) -> Vec<Key> {
    let mut v: Vec<Key> = findings.iter().map(key).collect();
    v.sort();
    v
}

struct History {
    ops: Vec<Operation>,
    md: MasterData,
    injected: Vec<Injected>,
}

fn history(
    dir: &Path,
    regime: SynthRegime,
    shape: SynthShape,
    registers: u32,
    days: u32,
    ops_per_day: u32,
    inject: Vec<Anomaly>,
) -> History {
    let opts = SynthOptions {
        registers,
        days,
        ops_per_day,
        seed: 8,
        regime,
        shape,
        start: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        inject,
        placeholder_tse_signatures: false,
        out: dir.to_path_buf(),
    };
    let summary = generate(&opts, &|_| {}).unwrap();
    let r = read(&[dir]);
    let duplicate = usize::from(summary.injected.iter().any(|i| i.rule.is_none()));
    assert_eq!(r.rejects.len(), duplicate, "{:#?}", r.rejects);
    History {
        ops: r.ops,
        md: MasterData::load(&dir.join("masterdata.toml")).unwrap(),
        injected: summary.injected,
    }
}

/// One validator over `ops`.
fn one_run(ops: &[Operation], md: Option<&MasterData>) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut v = Validator::with_master_data(Config::default(), md);
    for op in ops {
        v.push(op, &mut |f| found.push(f));
    }
    v.finish(&mut |f| found.push(f));
    found
}

/// How the last night ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    /// `finish_carry`, then `Carry::report_open` on the carry it returns.
    ReportOpen,
    /// `finish`.
    Finish,
}

/// What the nights reported, each on its own, and what the end reported.
struct Nights {
    per_night: Vec<Vec<Finding>>,
    at_end: Vec<Finding>,
    carries: Vec<Carry>,
}

impl Nights {
    fn all(&self) -> Vec<Finding> {
        self.per_night
            .iter()
            .flatten()
            .chain(&self.at_end)
            .cloned()
            .collect()
    }
}

/// Runs one validator per night, each resumed from the bytes the night before saved.
fn nights(parts: &[Vec<Operation>], md: Option<&MasterData>, end: End) -> Nights {
    let mut saved = Carry::default().to_bytes();
    let mut out = Nights {
        per_night: Vec::new(),
        at_end: Vec::new(),
        carries: Vec::new(),
    };
    for (i, part) in parts.iter().enumerate() {
        let carry = Carry::from_bytes(&saved).unwrap();
        let mut found = Vec::new();
        let mut v = Validator::resume(Config::default(), md, carry);
        for op in part {
            v.push(op, &mut |f| found.push(f));
        }
        if i + 1 == parts.len() && end == End::Finish {
            v.finish(&mut |f| found.push(f));
            out.per_night.push(found);
            return out;
        }
        let carry = v.finish_carry(&mut |f| found.push(f));
        saved = carry.to_bytes();
        let back = Carry::from_bytes(&saved).unwrap();
        assert_eq!(back, carry, "night {}: the carry survives its bytes", i + 1);
        assert_eq!(
            back.to_bytes(),
            saved,
            "night {}: same carry, same bytes",
            i + 1
        );
        out.per_night.push(found);
        out.carries.push(carry);
    }
    let last = out.carries.last().cloned().unwrap_or_default();
    last.report_open(Config::default(), md, &mut |f| out.at_end.push(f));
    out
}

/// Each register's operations in input order.
fn by_register(ops: &[Operation]) -> BTreeMap<String, Vec<Operation>> {
    let mut m: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    for op in ops {
        m.entry(op.register_id.clone().unwrap_or_default())
            .or_default()
            .push(op.clone());
    }
    m
}

/// Three nights: each register cut where `cuts` says (two positions in its operations).
fn split(ops: &[Operation], cuts: impl Fn(&[Operation]) -> (usize, usize)) -> Vec<Vec<Operation>> {
    let mut parts = vec![Vec::new(), Vec::new(), Vec::new()];
    for reg_ops in by_register(ops).values() {
        let (a, b) = cuts(reg_ops);
        assert!(a <= b && b <= reg_ops.len());
        parts[0].extend_from_slice(&reg_ops[..a]);
        parts[1].extend_from_slice(&reg_ops[a..b]);
        parts[2].extend_from_slice(&reg_ops[b..]);
    }
    parts
}

fn day(op: &Operation) -> NaiveDate {
    op.timestamps.effective().unwrap().0.date_naive()
}

/// Cuts by business day: the first night ends before `first`, the second before `second`.
fn by_day(first: NaiveDate, second: NaiveDate) -> impl Fn(&[Operation]) -> (usize, usize) {
    move |ops: &[Operation]| {
        let a = ops
            .iter()
            .position(|o| day(o) >= first)
            .unwrap_or(ops.len());
        let b = ops
            .iter()
            .position(|o| day(o) >= second)
            .unwrap_or(ops.len());
        (a, b.max(a))
    }
}

/// Cuts at fractions of each register's operations, moved by `offset`.
fn by_count(
    num_a: usize,
    num_b: usize,
    den: usize,
    offset: usize,
) -> impl Fn(&[Operation]) -> (usize, usize) {
    move |ops: &[Operation]| {
        let n = ops.len();
        let a = (n * num_a / den + offset).min(n);
        let b = (n * num_b / den + offset).clamp(a, n);
        (a, b)
    }
}

fn concat(parts: &[Vec<Operation>]) -> Vec<Operation> {
    parts.concat()
}

/// Every way of splitting `h` that the tests use, named.
fn splits(h: &History, days: u32) -> Vec<(String, Vec<Vec<Operation>>)> {
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let d = |n: u32| start + chrono::Days::new(u64::from(n));
    vec![
        (
            "by business day".into(),
            split(&h.ops, by_day(d(days / 3), d(2 * days / 3))),
        ),
        ("at thirds".into(), split(&h.ops, by_count(1, 2, 3, 0))),
        (
            "at thirds + 5 (mid-session)".into(),
            split(&h.ops, by_count(1, 2, 3, 5)),
        ),
        ("lopsided".into(), split(&h.ops, by_count(1, 9, 10, 1))),
        (
            "empty first night".into(),
            split(&h.ops, by_count(0, 1, 2, 0)),
        ),
    ]
}

/// Three nights find what one run finds, for every split and both ends.
fn assert_nights_are_one_run(h: &History, days: u32, what: &str) -> Vec<Finding> {
    let mut single_findings = Vec::new();
    for (name, parts) in splits(h, days) {
        let all = concat(&parts);
        assert_eq!(all.len(), h.ops.len());
        let single = one_run(&all, Some(&h.md));
        for end in [End::ReportOpen, End::Finish] {
            let n = nights(&parts, Some(&h.md), end);
            assert_eq!(
                keys(&n.all()),
                keys(&single),
                "{what}, split {name}, {end:?}: three nights differ from one run"
            );
        }
        single_findings = single;
    }
    single_findings
}

#[test]
fn three_nights_are_one_run_on_clean_histories() {
    let cases = [
        (SynthRegime::Kassensichv, SynthShape::Mixed, 2),
        (SynthRegime::Rksv, SynthShape::Mixed, 2),
        (SynthRegime::Rt, SynthShape::Mixed, 2),
        (SynthRegime::Mixed, SynthShape::Register, 3),
        (SynthRegime::Mixed, SynthShape::Operations, 3),
        (SynthRegime::Mixed, SynthShape::Mixed, 6),
    ];
    for (regime, shape, registers) in cases {
        let w = Workdir::new();
        let h = history(w.dir.path(), regime, shape, registers, 6, 12, Vec::new());
        let what = format!("{regime:?}/{shape:?}");
        let single = assert_nights_are_one_run(&h, 6, &what);
        assert_eq!(
            keys(&single),
            Vec::<Key>::new(),
            "{what}: the clean history is clean"
        );
    }
}

/// Not only three: a night per business day finds what one run finds.
#[test]
fn a_night_per_business_day_is_one_run() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Mixed,
        SynthShape::Mixed,
        6,
        6,
        20,
        Anomaly::ALL.to_vec(),
    );
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let mut parts = vec![Vec::new(); 6];
    for op in &h.ops {
        parts[(day(op) - start).num_days() as usize].push(op.clone());
    }
    let single = one_run(&concat(&parts), Some(&h.md));
    for end in [End::ReportOpen, End::Finish] {
        let n = nights(&parts, Some(&h.md), end);
        assert_eq!(keys(&n.all()), keys(&single), "{end:?}");
    }
    let planted = h.injected.iter().filter(|i| i.rule.is_some()).count();
    assert!(single.len() >= planted, "{single:#?}");
}

#[test]
fn three_nights_are_one_run_with_every_anomaly() {
    let w = Workdir::new();
    let inject = Anomaly::ALL.to_vec();
    let h = history(
        w.dir.path(),
        SynthRegime::Mixed,
        SynthShape::Mixed,
        6,
        6,
        20,
        inject,
    );
    let single = assert_nights_are_one_run(&h, 6, "mixed/mixed with anomalies");
    // Every planted rule is found, on its operation.
    for i in &h.injected {
        let Some(rule) = i.rule else { continue };
        assert!(
            single
                .iter()
                .any(|f| f.code == rule && f.operation_id.as_deref() == Some(&i.operation_id)),
            "{rule} on {} ({:?}) not found",
            i.operation_id,
            i.anomaly
        );
    }
    // Nothing is deferred that a later night cannot change: every finding comes in the night
    // of its operation, but for session findings (a session is judged in the night that
    // settles it) and the reference whose original never comes (at the end).
    for (name, parts) in splits(&h, 6) {
        let night_of: BTreeMap<&str, usize> = parts
            .iter()
            .enumerate()
            .flat_map(|(k, ops)| ops.iter().map(move |o| (o.id.as_str(), k)))
            .collect();
        let n = nights(&parts, Some(&h.md), End::ReportOpen);
        for (k, found) in n.per_night.iter().enumerate() {
            for f in found {
                let own = night_of[f.operation_id.as_deref().unwrap()];
                if f.code.starts_with("SES") {
                    assert!(k >= own, "{name}: {f} before its night");
                } else {
                    assert_eq!(k, own, "{name}: {f} not in its operation's night");
                }
            }
        }
        let at_end: Vec<&str> = n.at_end.iter().map(|f| f.code).collect();
        assert_eq!(at_end, ["REF001"], "{name}");
    }
    let parts = split(&h.ops, by_count(1, 2, 3, 5));
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    let dangling = h
        .injected
        .iter()
        .find(|i| i.anomaly == Anomaly::DanglingReference)
        .unwrap();
    let ref001: Vec<&Finding> = n.at_end.iter().filter(|f| f.code == "REF001").collect();
    assert_eq!(ref001.len(), 1, "{:#?}", n.at_end);
    assert_eq!(
        ref001[0].operation_id.as_deref(),
        Some(dangling.operation_id.as_str())
    );
    assert!(
        n.per_night.iter().flatten().all(|f| f.code != "REF001"),
        "a reference whose original may still come is not reported by a night"
    );
}

/// The German register-scoped register of a one-register history, cut by business day, and
/// the first operation of night 2 dropped: the gap is reported in night 2, on the operation
/// after it, with what one run says.
#[test]
fn a_gap_at_the_boundary_is_reported_in_night_two() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Kassensichv,
        SynthShape::Register,
        1,
        6,
        10,
        Vec::new(),
    );
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let mut parts = split(
        &h.ops,
        by_day(start + chrono::Days::new(2), start + chrono::Days::new(4)),
    );
    let dropped = parts[1].remove(0);
    let next = &parts[1][0];
    let counter = |op: &Operation| match &op.fiscal {
        Some(Fiscal::KassenSichV(t)) => t.finish.as_ref().unwrap().transaction_counter.unwrap(),
        _ => panic!("a TSE block"),
    };
    let seq = dropped.sequence_number.unwrap();
    assert_eq!(next.sequence_number, Some(seq + 1));
    assert_eq!(counter(next), counter(&dropped) + 1);

    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    // (code, operation, expected, found) of everything night 2 reported.
    let mut night2: Vec<[String; 4]> = n.per_night[1]
        .iter()
        .map(|f| {
            [
                f.code.to_string(),
                f.operation_id.clone().unwrap_or_default(),
                f.expected.clone().unwrap_or_default(),
                f.found.clone().unwrap_or_default(),
            ]
        })
        .collect();
    night2.sort();
    let c = counter(&dropped);
    let want = [
        [
            "FIS003".into(),
            next.id.clone(),
            c.to_string(),
            (c + 1).to_string(),
        ],
        [
            "SEQ001".into(),
            next.id.clone(),
            seq.to_string(),
            (seq + 1).to_string(),
        ],
    ];
    assert_eq!(night2, want);
    assert!(n.per_night[0].is_empty() && n.per_night[2].is_empty() && n.at_end.is_empty());
    assert_eq!(keys(&n.all()), keys(&one_run(&concat(&parts), Some(&h.md))));
    let seq001 = n.per_night[1].iter().find(|f| f.code == "SEQ001").unwrap();
    assert_eq!(
        seq001.message,
        format!("sequence numbers {seq} are missing before this operation")
    );
}

/// The same on an Austrian register: the receipt of the dropped operation is missing from
/// the cash box's chain, so the next receipt breaks it (RKS030) in night 2, with the chain
/// values one run names.
#[test]
fn an_rksv_chain_break_at_the_boundary_is_reported_in_night_two() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Rksv,
        SynthShape::Register,
        1,
        6,
        10,
        Vec::new(),
    );
    let mut parts = split(&h.ops, by_count(1, 2, 3, 3));
    let dropped = parts[1].remove(0);
    assert!(matches!(dropped.fiscal, Some(Fiscal::Rksv(_))));
    let next = parts[1][0].id.clone();
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    let single = one_run(&concat(&parts), Some(&h.md));
    assert_eq!(keys(&n.all()), keys(&single));
    assert!(n.per_night[0].is_empty() && n.per_night[2].is_empty() && n.at_end.is_empty());
    let codes: Vec<&str> = n.per_night[1]
        .iter()
        .filter(|f| f.operation_id.as_deref() == Some(next.as_str()))
        .map(|f| f.code)
        .collect();
    for code in ["RKS030", "FIS002", "SEQ001"] {
        assert!(codes.contains(&code), "{code} missing in {codes:?}");
    }
    let chain = n.per_night[1].iter().find(|f| f.code == "RKS030").unwrap();
    let chain1 = single.iter().find(|f| f.code == "RKS030").unwrap();
    assert_eq!(
        (&chain.expected, &chain.found, &chain.message),
        (&chain1.expected, &chain1.found, &chain1.message)
    );
    let Some(Fiscal::Rksv(r)) = &dropped.fiscal else {
        unreachable!()
    };
    let fis = n.per_night[1].iter().find(|f| f.code == "FIS002").unwrap();
    let dropped_no = r.transaction_counter.unwrap();
    assert_eq!(fis.expected, Some(dropped_no.to_string()));
    assert_eq!(fis.found, Some((dropped_no + 1).to_string()));
}

/// The last operation of night 1 repeated (as a new id) at the start of night 2: its TSE
/// signature counter repeats, and night 2 names the operation of night 1 that had it.
#[test]
fn a_repeated_tse_counter_at_the_boundary_names_the_earlier_operation() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Kassensichv,
        SynthShape::Operations,
        1,
        6,
        10,
        Vec::new(),
    );
    let mut parts = split(&h.ops, by_count(1, 2, 3, 2));
    let last = parts[0].last().unwrap().clone();
    assert_eq!(last.shape, WireShape::Operations);
    let mut again = last.clone();
    again.id = format!("{}_again", last.id);
    // Its external id would repeat too (SEQ004, named differently across nights).
    again.external_id = None;
    parts[1].insert(0, again.clone());
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    assert_eq!(keys(&n.all()), keys(&one_run(&concat(&parts), Some(&h.md))));
    let tse004 = n.per_night[1]
        .iter()
        .find(|f| f.code == "TSE004")
        .expect("TSE004 in night 2");
    assert_eq!(tse004.operation_id.as_deref(), Some(again.id.as_str()));
    assert!(
        tse004.message.contains(&format!("(operation {})", last.id)),
        "{}",
        tse004.message
    );
    let counter = tse004.found.clone().unwrap();
    assert_eq!(tse004.expected, Some(format!("> {counter}")));
    let fis001 = n.per_night[1].iter().find(|f| f.code == "FIS001").unwrap();
    assert_eq!(fis001.operation_id.as_deref(), Some(again.id.as_str()));
}

/// A return in night 1 whose sale comes only in night 2 waits for it (one run would resolve
/// it against the sale read later); a return whose sale never comes is REF001 at the end,
/// not in a night.
#[test]
fn a_return_waits_for_its_sale() {
    let w = Workdir::new();
    // v1.1: no sequence numbers, which a sale moved to a later night would break.
    let h = history(
        w.dir.path(),
        SynthRegime::Kassensichv,
        SynthShape::Operations,
        1,
        6,
        12,
        Vec::new(),
    );
    let mut parts = split(&h.ops, by_count(2, 5, 6, 0));
    let (i, sale_id) = parts[0]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, op)| {
            let target = op.references.original_operation_id.as_ref()?;
            (op.kind == OperationKind::Return).then(|| (i, target.clone()))
        })
        .expect("a return in night 1");
    let at = parts[0].iter().position(|o| o.id == sale_id).unwrap();
    assert!(at < i);
    let sale = parts[0].remove(at);
    parts[1].insert(0, sale);
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    assert_eq!(n.carries[0].overview()["deferred"]["references"], 1);
    assert_eq!(n.carries[1].overview()["deferred"]["references"], 0);
    assert_eq!(keys(&n.all()), keys(&one_run(&concat(&parts), Some(&h.md))));

    // Never coming: REF001 at the end, from the carry.
    let mut lost = parts.clone();
    lost[1].remove(0);
    let n = nights(&lost, Some(&h.md), End::ReportOpen);
    let single = one_run(&concat(&lost), Some(&h.md));
    assert_eq!(keys(&n.all()), keys(&single));
    let ref001: Vec<&Finding> = n.at_end.iter().filter(|f| f.code == "REF001").collect();
    assert_eq!(ref001.len(), 1);
    assert_eq!(ref001[0].found.as_deref(), Some(sale_id.as_str()));
    assert!(n.per_night.iter().flatten().all(|f| f.code != "REF001"));
}

/// A void in night 2 of a sale of night 1 is checked against what the carry kept of the sale
/// (TSE processData, RKSV amounts per rate, RT document): one run finds nothing on it, and
/// neither do the nights — a lossy carry would report the void's signed amounts as wrong.
#[test]
fn a_void_of_an_earlier_night_is_checked_against_the_carried_original() {
    for regime in [SynthRegime::Kassensichv, SynthRegime::Rksv, SynthRegime::Rt] {
        let w = Workdir::new();
        let h = history(
            w.dir.path(),
            regime,
            SynthShape::Register,
            1,
            8,
            40,
            Vec::new(),
        );
        let void_at = h
            .ops
            .iter()
            .position(|o| o.kind == OperationKind::Void)
            .expect("a void");
        let void = &h.ops[void_at];
        let original = void.references.original_operation_id.clone().unwrap();
        let original_at = h.ops.iter().position(|o| o.id == original).unwrap();
        assert!(original_at < void_at);
        let parts = split(&h.ops, |ops: &[Operation]| (void_at, ops.len()));
        let n = nights(&parts, Some(&h.md), End::ReportOpen);
        let single = one_run(&concat(&parts), Some(&h.md));
        assert_eq!(keys(&single), Vec::<Key>::new(), "{regime:?}");
        assert_eq!(keys(&n.all()), Vec::<Key>::new(), "{regime:?}");
        let indexed = &n.carries[0].overview()["indexed"];
        let kept = match regime {
            SynthRegime::Kassensichv => &indexed["tse_originals"],
            SynthRegime::Rksv => &indexed["rksv_originals"],
            _ => &indexed["rt_documents"],
        };
        assert!(kept.as_u64().unwrap() > 0, "{regime:?}: {indexed}");
        // The void's fiscal block says what it reverses: the negated amounts of the original.
        match (&void.fiscal, &h.ops[original_at].fiscal) {
            (Some(Fiscal::KassenSichV(v)), Some(Fiscal::KassenSichV(o))) => {
                let pd = |t: &fiskal::model::TseFiscal| {
                    t.finish.as_ref().unwrap().process_data.clone().unwrap()
                };
                assert_ne!(pd(v), pd(o));
            }
            (Some(Fiscal::Rksv(_)), Some(Fiscal::Rksv(_)))
            | (Some(Fiscal::Rt(_)), Some(Fiscal::Rt(_))) => {}
            other => panic!("{regime:?}: {other:?}"),
        }
    }
}

/// The same carry gives the same bytes, in another run too; bytes of another version or
/// format are refused with an error that says so.
#[test]
fn carry_bytes_round_trip_and_are_deterministic() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Mixed,
        SynthShape::Mixed,
        6,
        3,
        10,
        Vec::new(),
    );
    let parts = split(&h.ops, by_count(1, 2, 3, 5));
    let a = nights(&parts, Some(&h.md), End::ReportOpen);
    let b = nights(&parts, Some(&h.md), End::ReportOpen);
    for (x, y) in a.carries.iter().zip(&b.carries) {
        assert_eq!(x.to_bytes(), y.to_bytes());
        assert_eq!(Carry::from_bytes(&x.to_bytes()).unwrap(), *x);
    }
    let bytes = a.carries[1].to_bytes();
    assert!(!bytes.contains(&b'\n'), "compact JSON");
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["format"], "fiskal validator carry");
    assert_eq!(v["version"], Carry::VERSION);
    v["version"] = 2.into();
    let e = Carry::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(e, CarryError::Version { found: 2 });
    assert_eq!(
        e.to_string(),
        "validator carry version 2, but this fiskal reads version 1 only"
    );
    let e =
        Carry::from_bytes(b"{\"format\":\"fiskal rksv dep7 state\",\"version\":1}").unwrap_err();
    assert!(matches!(e, CarryError::NotCarry(_)), "{e}");
    let e = Carry::from_bytes(b"not json").unwrap_err();
    assert!(matches!(e, CarryError::NotCarry(_)), "{e}");
    // A damaged part is refused, not guessed at.
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["operations"] = "many".into();
    let e = Carry::from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(matches!(e, CarryError::Invalid(_)), "{e}");
    // One run's carry of the whole history equals three nights' carry (what the last night
    // hands on does not depend on how the history was cut).
    let mut whole = Validator::with_master_data(Config::default(), Some(&h.md));
    for op in concat(&parts) {
        whole.push(&op, &mut |_| {});
    }
    let whole = whole.finish_carry(&mut |_| {});
    assert_eq!(whole.overview(), a.carries[2].overview());
}

/// The overview names per register the last sequence number and the open sessions, and per
/// device the last counters, as the operations of night 1 left them.
#[test]
fn the_overview_names_the_last_counters() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Mixed,
        SynthShape::Mixed,
        6,
        3,
        10,
        Vec::new(),
    );
    let parts = split(&h.ops, by_count(1, 2, 3, 5));
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    let o = n.carries[0].overview();
    assert_eq!(o["operations"], parts[0].len());
    let night1 = by_register(&parts[0]);
    let mut seen = (0, 0, 0, 0, 0);
    for (register, ops) in &night1 {
        let r = &o["registers"][register];
        let last_seq = ops.iter().filter_map(|o| o.sequence_number).max();
        assert_eq!(
            r["last_sequence_number"],
            serde_json::json!(last_seq),
            "{register}"
        );
        // A cut in the middle of a session leaves it open.
        let last = ops.last().unwrap();
        let open: Vec<String> = match (&last.session_id, last.kind) {
            (Some(s), k) if k != OperationKind::SessionClose => vec![s.clone()],
            _ => Vec::new(),
        };
        assert_eq!(r["open_sessions"], serde_json::json!(open), "{register}");
        seen.4 += open.len();
        let last_fiscal = ops.iter().rev().find_map(|o| o.fiscal.as_ref()).unwrap();
        match last_fiscal {
            Fiscal::KassenSichV(t) => {
                let device = format!("TSE {}", t.tse_serial.as_ref().unwrap());
                let c = t.finish.as_ref().unwrap().transaction_counter.unwrap();
                assert_eq!(o["devices"][&device]["transaction_number"], c, "{device}");
                // The signature counter of the last signed operation: its QR code's.
                let last_qr = ops
                    .iter()
                    .rev()
                    .find_map(|o| match &o.fiscal {
                        Some(Fiscal::KassenSichV(t)) => t.qr_data.clone(),
                        _ => None,
                    })
                    .unwrap();
                let signature_counter: u64 = last_qr.rsplit(';').nth(6).unwrap().parse().unwrap();
                assert_eq!(
                    o["devices"][&device]["signature_counter"],
                    signature_counter
                );
                seen.0 += 1;
            }
            Fiscal::Rksv(r) => {
                let id = r.cashbox_id.as_ref().unwrap();
                let c = r
                    .transaction_counter
                    .or_else(|| r.document_number.as_ref()?.parse().ok())
                    .unwrap();
                assert_eq!(o["devices"][format!("cash box {id}")]["receipt_number"], c);
                let receipts = ops
                    .iter()
                    .filter(|o| matches!(o.fiscal, Some(Fiscal::Rksv(_))))
                    .count();
                let chain = &o["devices"][format!("cash box {id}")];
                assert_eq!(chain["chain_position"], receipts);
                assert_eq!(chain["last_receipt"], serde_json::json!(r.document_number));
                seen.1 += 1;
            }
            Fiscal::Rt(rt) => {
                let device = format!("RT {}", rt.rt_serial.as_ref().unwrap());
                let d = &o["devices"][&device];
                assert_eq!(d["daily_closing"], rt.daily_closing_number.unwrap());
                assert_eq!(d["progressive"], rt.progressive_number.unwrap());
                seen.2 += 1;
            }
        }
        seen.3 += usize::from(last_seq.is_some());
    }
    assert_eq!(seen.0 + seen.1 + seen.2, 6);
    assert_eq!((seen.0, seen.1, seen.2), (2, 2, 2));
    assert_eq!(
        seen.3, 3,
        "the three register-scoped registers have sequence numbers"
    );
    assert!(seen.4 >= 1, "some v1.1 session is cut in the middle");
    assert_eq!(o["deferred"]["open_sessions"], seen.4);
    // Deterministic: the same carry, the same overview text.
    assert_eq!(
        serde_json::to_string(&o).unwrap(),
        serde_json::to_string(&n.carries[0].overview()).unwrap()
    );
}

#[test]
fn has_operation_knows_earlier_nights() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Rt,
        SynthShape::Register,
        1,
        3,
        8,
        Vec::new(),
    );
    let parts = split(&h.ops, by_count(1, 2, 3, 0));
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    assert!(n.carries[0].has_operation(&parts[0][0].id));
    assert!(!n.carries[0].has_operation(&parts[1][0].id));
    assert!(n.carries[1].has_operation(&parts[1][0].id));
    assert!(!Carry::default().has_operation(&parts[0][0].id));
    assert_eq!(n.carries[2].operations(), h.ops.len() as u64);
}

// ---- Where a split run differs (src/validate/carry.rs); each pinned. ----

/// An operation of night 1 that arrives only in night 3 (its sequence number below the
/// register's last): night 1 reports the gap it leaves, night 3 does not take it back; a
/// repeated number that arrives late is SEQ002, naming "an operation of an earlier run".
#[test]
fn late_sequence_number_is_judged_for_reuse_only() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Rt,
        SynthShape::Register,
        1,
        6,
        10,
        Vec::new(),
    );
    let mut parts = split(&h.ops, by_count(1, 2, 3, 0));
    let late = parts[0].remove(5);
    let after = parts[0][5].id.clone();
    let mut copy = parts[0][2].clone();
    copy.id = format!("{}_copy", copy.id);
    copy.external_id = None;
    parts[2].push(late.clone());
    parts[2].push(copy.clone());
    let seq = |f: &Finding| f.code.starts_with("SEQ");
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    let split_seq: Vec<Key> = keys(&n.all())
        .into_iter()
        .filter(|k| k.0.starts_with("SEQ"))
        .collect();
    let single: Vec<Key> = keys(&one_run(&concat(&parts), Some(&h.md)))
        .into_iter()
        .filter(|k| k.0.starts_with("SEQ"))
        .collect();
    let s = late.sequence_number.unwrap();
    let c = copy.sequence_number.unwrap();
    let sev = Severity::Error;
    let reg = Some(late.register_id.clone().unwrap());
    // One run: only the repeated number, naming the operation that had it first.
    assert_eq!(
        single,
        vec![(
            "SEQ002",
            sev,
            Some(copy.id.clone()),
            reg.clone(),
            Some("a new sequence number".into()),
            Some(c.to_string()),
            format!("sequence_number {c} was already used by {}", parts[0][2].id),
        )]
    );
    // Three nights: the gap in night 1, and the repeat without the first operation's id.
    let mut want = vec![
        (
            "SEQ001",
            sev,
            Some(after.clone()),
            reg.clone(),
            Some(s.to_string()),
            Some((s + 1).to_string()),
            format!("sequence numbers {s} are missing before this operation"),
        ),
        (
            "SEQ002",
            sev,
            Some(copy.id.clone()),
            reg.clone(),
            Some("a new sequence number".into()),
            Some(c.to_string()),
            format!("sequence_number {c} was already used by an operation of an earlier run"),
        ),
    ];
    want.sort();
    assert_eq!(split_seq, want);
    assert!(n.per_night[0].iter().any(|f| f.code == "SEQ001"));
    assert!(n.per_night[2].iter().filter(|f| seq(f)).count() == 1);
}

/// An external id completed in night 1 and again in night 2: SEQ004 on the second, as in one
/// run, but its message says "in an earlier run" where one run names the first operation.
#[test]
fn external_id_reused_across_nights() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Kassensichv,
        SynthShape::Register,
        1,
        3,
        8,
        Vec::new(),
    );
    let mut parts = split(&h.ops, by_count(1, 2, 3, 0));
    let first = parts[0]
        .iter()
        .find(|o| o.external_id.is_some() && o.state == fiskal::model::LifecycleState::Completed)
        .unwrap()
        .clone();
    let ext = first.external_id.clone().unwrap();
    let second = parts[1]
        .iter_mut()
        .find(|o| o.state == fiskal::model::LifecycleState::Completed)
        .unwrap();
    second.external_id = Some(ext.clone());
    let second = second.id.clone();
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    let single = one_run(&concat(&parts), Some(&h.md));
    let only =
        |v: &[Finding]| -> Vec<Key> { keys(v).into_iter().filter(|k| k.0 == "SEQ004").collect() };
    let base = |message: String| {
        (
            "SEQ004",
            Severity::Error,
            Some(second.clone()),
            first.register_id.clone(),
            Some("an external_id completed once".to_string()),
            Some(ext.clone()),
            message,
        )
    };
    assert_eq!(
        only(&single),
        vec![base(format!(
            "external_id {ext} was already completed by {}",
            first.id
        ))]
    );
    assert_eq!(
        only(&n.per_night[1]),
        vec![base(format!(
            "external_id {ext} was already completed in an earlier run"
        ))]
    );
    // Everything else agrees.
    let rest =
        |v: &[Finding]| -> Vec<Key> { keys(v).into_iter().filter(|k| k.0 != "SEQ004").collect() };
    assert_eq!(rest(&n.all()), rest(&single));
}

/// Two sessions of a v1.1 register in night 1, the first one's close moved to night 2: at the
/// end of night 1 the later session is closed, so the first is settled as never closed
/// (SES005); its close in night 2 does not take that back. One run sees the close and
/// reports nothing.
#[test]
fn a_settled_session_is_not_judged_again() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Rksv,
        SynthShape::Operations,
        1,
        6,
        8,
        Vec::new(),
    );
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let mut parts = split(
        &h.ops,
        by_day(start + chrono::Days::new(2), start + chrono::Days::new(4)),
    );
    let close_at = parts[0]
        .iter()
        .position(|o| o.kind == OperationKind::SessionClose)
        .unwrap();
    let close = parts[0].remove(close_at);
    let session = close.session_id.clone().unwrap();
    let open = parts[0]
        .iter()
        .find(|o| o.kind == OperationKind::SessionOpen && o.session_id.as_ref() == Some(&session))
        .unwrap()
        .id
        .clone();
    parts[1].insert(0, close.clone());
    let n = nights(&parts, Some(&h.md), End::ReportOpen);
    let single = one_run(&concat(&parts), Some(&h.md));
    let ses = |v: &[Finding]| -> Vec<(&'static str, Option<String>)> {
        let mut k: Vec<_> = v
            .iter()
            .filter(|f| f.code.starts_with("SES"))
            .map(|f| (f.code, f.operation_id.clone()))
            .collect();
        k.sort();
        k
    };
    assert_eq!(ses(&single), vec![]);
    // The close pulled cash into the safe (a closing adjustment) or not: what the next
    // session opens with is compared with what the first left without its pull.
    let pulled = matches!(
        &close.cash,
        Some(fiskal::model::CashEvent::Close { adjustment: Some(a), .. }) if !a.is_zero()
    );
    let next_open = parts[0]
        .iter()
        .filter(|o| o.kind == OperationKind::SessionOpen)
        .map(|o| o.id.clone())
        .find(|id| *id != open)
        .unwrap();
    let mut want = vec![("SES005", Some(open.clone()))];
    if pulled {
        want.push(("SES004", Some(next_open)));
    }
    want.sort();
    assert_eq!(ses(&n.per_night[0]), want);
    assert_eq!(
        ses(&n.per_night[1]),
        vec![],
        "the late close is in order: no finding"
    );
    let rest = |v: &[Finding]| -> Vec<Key> {
        keys(v)
            .into_iter()
            .filter(|k| !k.0.starts_with("SES"))
            .collect()
    };
    assert_eq!(rest(&n.all()), rest(&single));
}

/// Without keys in the master data, RKS105 is said in the first night, counting that night's
/// receipts; one run counts all. Code, operation, expected and found agree.
#[test]
fn rks105_is_said_once_in_its_first_night() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Rksv,
        SynthShape::Register,
        1,
        3,
        8,
        Vec::new(),
    );
    let parts = split(&h.ops, by_count(1, 2, 3, 0));
    let n = nights(&parts, None, End::ReportOpen);
    let single = one_run(&concat(&parts), None);
    let rks105 = |v: &[Finding]| -> Vec<Finding> {
        v.iter().filter(|f| f.code == "RKS105").cloned().collect()
    };
    let (one, split) = (rks105(&single), rks105(&n.all()));
    assert_eq!((one.len(), split.len()), (1, 1));
    assert_eq!(rks105(&n.per_night[0]).len(), 1);
    let receipts = |ops: &[Operation]| {
        ops.iter()
            .filter(|o| matches!(o.fiscal, Some(Fiscal::Rksv(_))))
            .count()
    };
    let says = |n: usize| format!("so the signatures of its {n} receipt(s) cannot be verified");
    assert!(
        one[0].message.ends_with(&says(receipts(&h.ops))),
        "{}",
        one[0].message
    );
    assert!(
        split[0].message.ends_with(&says(receipts(&parts[0]))),
        "{}",
        split[0].message
    );
    let same = |f: &Finding| (f.operation_id.clone(), f.expected.clone(), f.found.clone());
    assert_eq!(same(&one[0]), same(&split[0]));
    let rest =
        |v: &[Finding]| -> Vec<Key> { keys(v).into_iter().filter(|k| k.0 != "RKS105").collect() };
    assert_eq!(rest(&n.all()), rest(&single));
}

/// The carry grows with the history, by about what the module documentation says per
/// operation (the index for later references dominates); printed for docs, bounded here.
#[test]
fn carry_size_per_operation() {
    let w = Workdir::new();
    let h = history(
        w.dir.path(),
        SynthRegime::Mixed,
        SynthShape::Mixed,
        6,
        10,
        40,
        Vec::new(),
    );
    let mut v = Validator::with_master_data(Config::default(), Some(&h.md));
    for op in &h.ops {
        v.push(op, &mut |_| {});
    }
    let carry = v.finish_carry(&mut |_| {});
    let bytes = carry.to_bytes();
    let per_op = bytes.len() as f64 / h.ops.len() as f64;
    let parts: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    for part in [
        "registers",
        "devices",
        "sessions",
        "references",
        "tse",
        "rksv",
        "rt",
    ] {
        let n = serde_json::to_vec(&parts[part]).unwrap().len();
        eprintln!(
            "{part}: {n} bytes, {:.1} per operation",
            n as f64 / h.ops.len() as f64
        );
    }
    eprintln!(
        "{} operations, {} bytes, {per_op:.1} per operation",
        h.ops.len(),
        bytes.len()
    );
    assert!(per_op < 400.0, "{per_op:.1} bytes per operation");
}
