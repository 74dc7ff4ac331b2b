//! `fiskal export parquet` (cargo feature `parquet`): the demo's canonical data as five tables,
//! read back with polars and held against the wire records, `fiskal check`, and a second run.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use polars::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::util::{Workdir, fiskal, json_lines, ndjson_files, ops_sale};

const TABLES: [&str; 5] = ["operations", "lines", "payments", "sessions", "findings"];

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// Runs the export, expecting `code`; the `parquet_table` objects by table.
fn export(input: &Path, out: &Path, code: i32) -> BTreeMap<String, Value> {
    let o = fiskal()
        .args(["export", "parquet", "--json", "--quiet", "--out"])
        .arg(out)
        .arg(input)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    json_lines(o)
        .into_iter()
        .filter(|v| v["type"] == "parquet_table")
        .map(|v| (v["table"].as_str().unwrap().to_string(), v))
        .collect()
}

fn read(path: &Path) -> DataFrame {
    ParquetReader::new(File::open(path).unwrap())
        .finish()
        .unwrap()
}

fn dec(v: AnyValue<'_>) -> Option<Decimal> {
    match v {
        AnyValue::Decimal(x, _, scale) => Some(
            Decimal::try_from_i128_with_scale(x, scale as u32)
                .unwrap()
                .normalize(),
        ),
        AnyValue::Null => None,
        other => panic!("not a decimal: {other:?}"),
    }
}

fn text(v: AnyValue<'_>) -> Option<String> {
    match v {
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        AnyValue::Null => None,
        other => panic!("not a string: {other:?}"),
    }
}

/// Column `col` of `df` as `f` reads each value.
fn column<T>(df: &DataFrame, col: &str, f: impl Fn(AnyValue<'_>) -> T) -> Vec<T> {
    let c = df.column(col).unwrap();
    (0..df.height()).map(|i| f(c.get(i).unwrap())).collect()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// The demo's wire records, straight from the NDJSON files.
fn wire_records() -> Vec<Value> {
    ndjson_files(&demo())
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// Where a record keeps its goods and payments: `data` in the register shape, the record
/// itself in v1.1.
fn body(r: &Value) -> &Value {
    if r["data"].is_object() { &r["data"] } else { r }
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// A wire amount as a decimal: v1.1 strings as written, register-shape integers in cents.
fn wire_amount(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Some(d(s)),
        Value::Number(n) => Some(Decimal::new(n.as_i64().unwrap(), 2)),
        _ => None,
    }
}

#[test]
fn demo_tables_hold_the_demo_exactly_and_the_same_bytes_twice() {
    let w = Workdir::new();
    let files = export(&demo(), &w.path("a"), 0);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["findings", "lines", "operations", "payments", "sessions"]
    );

    // What `check` says of the same input, and what the wire records hold.
    let check = fiskal()
        .args(["check", "--json", "--quiet"])
        .arg(demo())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let check = json_lines(check);
    let accepted = check.iter().find(|v| v["accepted"].is_u64()).unwrap()["accepted"]
        .as_u64()
        .unwrap();
    let findings = check.iter().filter(|v| v["type"] == "finding").count();
    let wire = wire_records();
    let n_lines: usize = wire
        .iter()
        .map(|r| {
            let b = body(r);
            len(&b["line_items"]) + len(&b["new_line_items"]) + len(&b["returned_line_items"])
        })
        .sum();
    let n_payments: usize = wire.iter().map(|r| len(&body(r)["payments"])).sum();
    let n_sessions = wire.iter().filter(|r| r["type"] == "session_open").count();
    assert_eq!(
        (
            accepted,
            wire.len(),
            n_lines,
            n_payments,
            n_sessions,
            findings
        ),
        (177, 177, 380, 150, 6, 0)
    );

    let tables: BTreeMap<&str, DataFrame> = TABLES
        .iter()
        .map(|t| {
            let path = w.path("a").join(format!("{t}.parquet"));
            assert_eq!(files[*t]["path"], path.display().to_string());
            (*t, read(&path))
        })
        .collect();
    let heights: Vec<(usize, u64)> = TABLES
        .iter()
        .map(|t| (tables[t].height(), files[*t]["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        heights,
        [
            (177, 177),
            (n_lines, n_lines as u64),
            (n_payments, n_payments as u64),
            (n_sessions, n_sessions as u64),
            (findings, findings as u64)
        ]
    );

    // Every operation's stated gross total, exact, against its wire record.
    let ops = &tables["operations"];
    let ids = column(ops, "operation_id", text);
    let gross = column(ops, "total_gross", dec);
    let by_id: BTreeMap<&str, &Value> = wire
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    let mut compared = 0;
    for (id, g) in ids.iter().zip(&gross) {
        let r = by_id[id.as_deref().unwrap()];
        let stated = wire_amount(&r["total_amount"])
            .or_else(|| wire_amount(&r["data"]["totals"]["total_gross"]));
        if stated.is_some() {
            assert_eq!(*g, stated, "{id:?}");
            compared += 1;
        }
    }
    assert!(compared > 140, "{compared}");
    assert_eq!(
        ops.column("total_gross").unwrap().dtype(),
        &DataType::Decimal(38, 9)
    );

    // Two known operations, one of each shape, field by field.
    let row = |id: &str| ids.iter().position(|x| x.as_deref() == Some(id)).unwrap();
    let at = |col: &str, i: usize| ops.column(col).unwrap().get(i).unwrap().into_static();
    let v11 = row("op_de02_000002");
    assert_eq!(
        ["total_gross", "total_net", "total_tax", "tip"].map(|c| dec(at(c, v11))),
        [
            Some(d("54.28")),
            Some(d("54.00")),
            Some(d("0.28")),
            Some(d("0"))
        ]
    );
    assert_eq!(text(at("regime", v11)).as_deref(), Some("KassenSichV"));
    assert_eq!(at("tse_finish_counter", v11), AnyValue::UInt64(2));
    assert_eq!(
        text(at("session_id", v11)).as_deref(),
        Some("ses_de02_0001")
    );
    // 2026-03-02T09:03:11+01:00: the instant in UTC, the offset beside it.
    assert_eq!(
        at("completed_at", v11),
        AnyValue::Datetime(
            1_772_438_591_000_000,
            TimeUnit::Microseconds,
            Some(&TimeZone::UTC)
        )
        .into_static()
    );
    assert_eq!(at("completed_at_offset_s", v11), AnyValue::Int32(3600));
    let reg = row("op_de01_000002");
    assert_eq!(
        [
            "total_gross",
            "total_net",
            "total_tax",
            "subtotal_gross",
            "line_discounts"
        ]
        .map(|c| dec(at(c, reg))),
        [
            Some(d("0.45")),
            Some(d("0.42")),
            Some(d("0.03")),
            Some(d("0.89")),
            Some(d("0.44"))
        ]
    );
    assert_eq!(at("sequence_number", reg), AnyValue::UInt64(2));
    assert_eq!(at("completed_at_offset_s", reg), AnyValue::Int32(0));

    // Its line and payment.
    let lines = &tables["lines"];
    let line_ops = column(lines, "operation_id", text);
    let l = line_ops
        .iter()
        .position(|x| x.as_deref() == Some("op_de01_000002"))
        .unwrap();
    let lat = |col: &str| lines.column(col).unwrap().get(l).unwrap().into_static();
    assert_eq!(
        text(lat("description")).as_deref(),
        Some("Joghurt Natur 500 g")
    );
    assert_eq!(
        [
            "quantity",
            "unit_price",
            "discounts",
            "total_gross",
            "total_net",
            "total_tax",
            "vat_rate"
        ]
        .map(|c| dec(lat(c))),
        [
            Some(d("1")),
            Some(d("0.89")),
            Some(d("0.44")),
            Some(d("0.45")),
            Some(d("0.42")),
            Some(d("0.03")),
            Some(d("0.07"))
        ]
    );
    let payments = &tables["payments"];
    let p = column(payments, "operation_id", text)
        .iter()
        .position(|x| x.as_deref() == Some("op_de01_000002"))
        .unwrap();
    let pat = |col: &str| payments.column(col).unwrap().get(p).unwrap().into_static();
    assert_eq!(text(pat("method")).as_deref(), Some("wallet"));
    assert_eq!(text(pat("direction")).as_deref(), Some("in"));
    assert_eq!(dec(pat("amount")), Some(d("0.45")));

    // Every session: the recomputed expected cash and the difference to the count, against
    // what the wire count states (the demo's counts are right, so they agree).
    let sessions = &tables["sessions"];
    let session_ids = column(sessions, "session_id", text);
    let counted = column(sessions, "counted", dec);
    let expected = column(sessions, "expected", dec);
    let difference = column(sessions, "difference", dec);
    let status = column(sessions, "status", text);
    let mut differences = Vec::new();
    for (i, s) in session_ids.iter().enumerate() {
        let count = wire
            .iter()
            .find(|r| r["type"] == "session_cash_count" && r["session_id"] == s.as_deref().unwrap())
            .unwrap();
        assert_eq!(
            counted[i],
            wire_amount(&count["counted_closing_amount"]),
            "{s:?}"
        );
        assert_eq!(
            expected[i],
            wire_amount(&count["expected_closing_amount"]),
            "{s:?}"
        );
        assert_eq!(
            difference[i],
            wire_amount(&count["closing_cashcount_diff"]),
            "{s:?}"
        );
        assert_eq!(
            difference[i],
            Some(counted[i].unwrap() - expected[i].unwrap())
        );
        assert_eq!(status[i].as_deref(), Some("closed"));
        differences.push(difference[i].unwrap());
    }
    assert_eq!(differences.len(), 6);

    // A second run: the same bytes.
    export(&demo(), &w.path("b"), 0);
    for t in TABLES {
        let name = format!("{t}.parquet");
        assert_eq!(
            std::fs::read(w.path("a").join(&name)).unwrap(),
            std::fs::read(w.path("b").join(&name)).unwrap(),
            "{name}"
        );
    }
}

/// With planted anomalies: the findings table is `check`'s findings, in its order, and the
/// run exits 1 as `check` does.
#[test]
fn findings_table_is_what_check_finds() {
    let w = Workdir::new();
    let input = w.path("in");
    fiskal()
        .args([
            "synth",
            "--quiet",
            "--registers",
            "3",
            "--days",
            "2",
            "--shape",
            "mixed",
        ])
        .args(["--inject", "total-mismatch", "--inject", "cash-count-error"])
        .args(["--inject", "sequence-gap", "--out"])
        .arg(&input)
        .assert()
        .code(0);
    let check = fiskal()
        .args(["check", "--json", "--quiet"])
        .arg(&input)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let want: Vec<(String, String, Option<String>)> = json_lines(check)
        .into_iter()
        .filter(|v| v["type"] == "finding")
        .map(|v| {
            (
                v["code"].as_str().unwrap().to_string(),
                v["severity"].as_str().unwrap().to_string(),
                v["operation_id"].as_str().map(str::to_string),
            )
        })
        .collect();
    for code in ["TOT", "SES", "SEQ"] {
        assert!(
            want.iter().any(|(c, ..)| c.starts_with(code)),
            "{code}: {want:?}"
        );
    }
    let files = export(&input, &w.path("out"), 1);
    assert_eq!(files["findings"]["rows"], want.len() as u64);
    let f = read(&w.path("out/findings.parquet"));
    let got: Vec<(String, String, Option<String>)> = column(&f, "code", text)
        .into_iter()
        .zip(column(&f, "severity", text))
        .zip(column(&f, "operation_id", text))
        .map(|((c, s), o)| (c.unwrap(), s.unwrap(), o))
        .collect();
    assert_eq!(got, want);
}

/// A unit price with ten fraction digits has no exact decimal128(38, 9): exit 2 naming the
/// operation and the column, and no table is left behind.
#[test]
fn a_value_the_scale_cannot_hold_is_refused() {
    let w = Workdir::new();
    let sale = ops_sale("op_fine_price")
        .replace(r#""unit_price":"2.50""#, r#""unit_price":"2.5000000001""#);
    assert!(sale.contains("2.5000000001"));
    let input = w.write("in/ops.ndjson", format!("{}\n{sale}\n", ops_sale("op_ok")));
    let out = w.path("out");
    let o = fiskal()
        .args(["export", "parquet", "--quiet", "--out"])
        .arg(&out)
        .arg(&input)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.contains(
            "operation op_fine_price, line 0: unit_price = 2.5000000001 has 10 fraction digits"
        ),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}
